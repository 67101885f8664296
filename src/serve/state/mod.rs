//! The request-state store of the OpenID4VP verifier service: what a verifier node
//! remembers between creating an authorization request and reading its result.
//!
//! A request lives through four phases, each step taken once, atomically, across
//! every node sharing the store:
//!
//! ```text
//! insert ──▶ Created ──take_request_object──▶ RequestServed
//!               │                                  │
//!               └──────────begin_response──────────┴──▶ Responding ──finish──▶ Answered
//! ```
//!
//! `take_request_object` serves the request object at `request_uri` once;
//! `begin_response` admits exactly one response at `response_uri`, before expiry and
//! only with the request's `state` (a wrong `state` changes nothing); `finish`
//! stores the verdict; `result` reads the phase and verdict; `sweep` deletes requests
//! expired longer than the retention. The request details and the verdict are
//! opaque blobs the caller seals; the store keeps the `state` only as its SHA-256
//! ([`StateDigest`]).
//!
//! Two backends behind one enum ([`StateStore`], no trait objects): sled for one
//! node (a directory, [`sled_store`]), PostgreSQL for several nodes behind a load
//! balancer (one table, each step one conditional `UPDATE`, [`pg_store`]). Both pass one conformance suite
//! (`tests/`). `docs/state.md` describes the schema, retention and sharing.
//!
//! One file per role: [`request`] (what is stored of a request), [`rules`] (the
//! transitions, shared by both backends), [`limits`], [`error`],
//! [`marks`] (values used once: nonces, DPoP `jti`s), [`sled_store`] with its record [`codec`], and [`pg_store`] with its [`pg_config`]
//! (connection strings, TLS refusal), [`pg_schema`] (the schema and its version)
//! and [`pg_rows`] (errors and rows).

mod codec;
mod error;
pub(crate) mod issuer;
mod limits;
pub(crate) mod marks;
mod pg_config;
mod pg_rows;
mod pg_schema;
mod pg_store;
mod request;
mod rules;
mod sled_store;
#[cfg(test)]
mod tests;

use std::path::Path;

pub(crate) use error::StateError;
pub(crate) use limits::StateLimits;
#[allow(
    unused_imports,
    reason = "the bounds of the endpoints' command-line flags"
)]
pub(crate) use limits::{MAX_BLOB_BYTES, MAX_POOL_SIZE, MAX_SWEEP_BATCH};
pub(crate) use pg_store::PgStateStore;
pub(crate) use request::{OpenRequest, Phase, RequestStatus, StateDigest};
#[allow(unused_imports, reason = "the endpoints check ids from URLs with them")]
pub(crate) use rules::{valid_id, MAX_ID_LEN};
pub(crate) use sled_store::SledStateStore;

/// The request-state store, embedded or shared. Clones share one store (one sled
/// database, one connection pool).
#[derive(Debug, Clone)]
pub(crate) enum StateStore {
    /// One node: a sled database in a directory.
    Embedded(SledStateStore),
    /// Several nodes: one PostgreSQL table.
    Postgres(PgStateStore),
}

/// Whether `location` names a PostgreSQL database.
pub(crate) fn is_postgres_url(location: &str) -> bool {
    let lower = |prefix: &str| {
        location
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    lower("postgres://") || lower("postgresql://")
}

impl StateStore {
    /// Opens the store at `location`: a `postgres://` or `postgresql://` URL (see
    /// `docs/state.md` for its parameters), otherwise a directory for sled, created
    /// if missing. Creates the schema if missing.
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidConfig`] for bad limits or a bad URL,
    /// [`StateError::TlsUnsupported`] for a URL asking for TLS,
    /// [`StateError::Unavailable`] when the database cannot be reached in time or
    /// the directory is held by another process, [`StateError::SchemaTooNew`] for a
    /// store written by a newer agentid.
    pub(crate) async fn open(location: &str, limits: StateLimits) -> Result<Self, StateError> {
        limits.check()?;
        if location.is_empty() {
            return Err(StateError::InvalidConfig("the location is empty".into()));
        }
        if is_postgres_url(location) {
            Ok(StateStore::Postgres(
                PgStateStore::connect(location, limits).await?,
            ))
        } else if location.contains("://") {
            // Likely a mistyped URL: refuse it rather than make a directory of it.
            Err(StateError::InvalidConfig(
                "unknown URL scheme (expected postgres:// or postgresql://, or a directory)".into(),
            ))
        } else {
            Ok(StateStore::Embedded(
                SledStateStore::open(Path::new(location), limits).await?,
            ))
        }
    }

    /// Stores a new request in [`Phase::Created`]; durable when it returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`StateError::Duplicate`], [`StateError::Full`], [`StateError::TooLarge`],
    /// [`StateError::InvalidRequest`], or a storage error.
    pub(crate) async fn insert(&self, request: &OpenRequest) -> Result<(), StateError> {
        match self {
            StateStore::Embedded(store) => store.insert(request).await,
            StateStore::Postgres(store) => store.insert(request).await,
        }
    }

    /// `Created → RequestServed`, once: the request to serve at `request_uri`.
    ///
    /// # Errors
    ///
    /// [`StateError::NotFound`], [`StateError::AlreadyServed`],
    /// [`StateError::AlreadyAnswered`] (a response came first),
    /// [`StateError::Expired`], or a storage error.
    pub(crate) async fn take_request_object(
        &self,
        id: &str,
        now: u64,
    ) -> Result<OpenRequest, StateError> {
        match self {
            StateStore::Embedded(store) => store.take_request_object(id, now).await,
            StateStore::Postgres(store) => store.take_request_object(id, now).await,
        }
    }

    /// `Created | RequestServed → Responding`, once, before expiry and only with the
    /// request's state: admits the one response to check.
    ///
    /// # Errors
    ///
    /// [`StateError::NotFound`], [`StateError::AlreadyAnswered`],
    /// [`StateError::Expired`], [`StateError::StateMismatch`] (the request is
    /// unchanged), or a storage error.
    pub(crate) async fn begin_response(
        &self,
        id: &str,
        state: &StateDigest,
        now: u64,
    ) -> Result<OpenRequest, StateError> {
        match self {
            StateStore::Embedded(store) => store.begin_response(id, state, now).await,
            StateStore::Postgres(store) => store.begin_response(id, state, now).await,
        }
    }

    /// `Responding → Answered`: stores the sealed verdict.
    ///
    /// # Errors
    ///
    /// [`StateError::NotFound`], [`StateError::AlreadyAnswered`],
    /// [`StateError::NotResponding`], [`StateError::TooLarge`], or a storage error.
    pub(crate) async fn finish(&self, id: &str, verdict: &[u8]) -> Result<(), StateError> {
        match self {
            StateStore::Embedded(store) => store.finish(id, verdict).await,
            StateStore::Postgres(store) => store.finish(id, verdict).await,
        }
    }

    /// The request's phase, verdict and expiry.
    ///
    /// # Errors
    ///
    /// [`StateError::NotFound`] or a storage error.
    pub(crate) async fn result(&self, id: &str) -> Result<RequestStatus, StateError> {
        match self {
            StateStore::Embedded(store) => store.result(id).await,
            StateStore::Postgres(store) => store.result(id).await,
        }
    }

    /// Deletes at most [`StateLimits::sweep_batch`] requests whose
    /// `expires_at + retention_secs <= now`, whatever their phase; returns how many.
    /// Call again while it returns the full batch.
    ///
    /// # Errors
    ///
    /// A storage error; the requests deleted before it stay deleted.
    pub(crate) async fn sweep(&self, now: u64, retention_secs: u64) -> Result<u64, StateError> {
        match self {
            StateStore::Embedded(store) => store.sweep(now, retention_secs).await,
            StateStore::Postgres(store) => store.sweep(now, retention_secs).await,
        }
    }

    /// Whether the store answers: a read (sled), a query of the schema version
    /// (PostgreSQL).
    ///
    /// # Errors
    ///
    /// [`StateError::Unavailable`], [`StateError::SchemaTooNew`] (a newer node
    /// upgraded the schema), or another storage error.
    pub(crate) async fn health(&self) -> Result<(), StateError> {
        match self {
            StateStore::Embedded(store) => store.health().await,
            StateStore::Postgres(store) => store.health().await,
        }
    }
}
