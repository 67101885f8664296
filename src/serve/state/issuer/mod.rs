//! The issuer service's state: what it issued, its status lists, its credential
//! offers and its audit log, behind one interface with two backends.
//!
//! - **Issued records** ([`IssuedRecord`]): one per credential, by `jti`, with its
//!   status list entry, type, subject, caller, times and status. Never a claim
//!   value and never the credential: only its holder keeps that.
//! - **Status lists**: numbered from 1; each has a `revision`, raised by every
//!   status change of one of its entries, in the same transaction, so a node that
//!   publishes a list reads the revision and knows whether its signed token is
//!   current. An entry `(list, idx)` belongs to at most one credential, ever: the
//!   store refuses a second with [`IssuerStoreError::IndexTaken`] (a unique key), so
//!   nodes allocating at random at once never hand out one index twice.
//! - **Offers** (OpenID4VCI pre-authorized code): keyed by the SHA-256 of the code,
//!   sealed by the caller; `offered → redeemed` once (the token), `redeemed →
//!   issued` once, in the transaction that records the credential.
//! - **Audit**: one entry per issuance, status change, offer and redemption, in the
//!   transaction of the change it records.
//!
//! [`IssuerStore`] is an enum over [`sled`] (one node; the default) and [`pg`]
//! (several nodes on one PostgreSQL database); both pass one conformance suite
//! (`tests.rs`). It shares the open [`StateStore`] with the used-once marks
//! (caller `jti`s, `c_nonce`s): one sled database, or one connection pool.
//! `docs/state.md` gives the schema.

mod pg;
mod sled;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use super::{StateError, StateLimits, StateStore};

/// A credential's state, as its status list entry says (draft-ietf-oauth-status-list
/// §7.1, two bits per entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CredentialStatus {
    /// 0x00.
    Valid,
    /// 0x01, for good.
    Revoked,
    /// 0x02, until resumed.
    Suspended,
}

impl CredentialStatus {
    /// The entry's value in the status list.
    pub(crate) fn value(self) -> u8 {
        match self {
            CredentialStatus::Valid => 0,
            CredentialStatus::Revoked => 1,
            CredentialStatus::Suspended => 2,
        }
    }

    /// Its name in records and on the wire.
    pub(crate) fn name(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "valid",
            CredentialStatus::Revoked => "revoked",
            CredentialStatus::Suspended => "suspended",
        }
    }

    fn parse(name: &str) -> Result<Self, StateError> {
        match name {
            "valid" => Ok(CredentialStatus::Valid),
            "revoked" => Ok(CredentialStatus::Revoked),
            "suspended" => Ok(CredentialStatus::Suspended),
            _ => Err(StateError::Corrupt("unknown credential status".into())),
        }
    }
}

/// What the service remembers of a credential it issued: no claim value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IssuedRecord {
    /// Position in issuance order (assigned by the store; gaps allowed).
    #[serde(default)]
    pub(crate) seq: u64,
    pub(crate) jti: String,
    pub(crate) list: u32,
    pub(crate) idx: u32,
    pub(crate) vct: String,
    pub(crate) subject: String,
    /// The caller that asked for it (a caller id, SPIFFE ID, or `oid4vci:<caller>`
    /// for a redeemed offer).
    pub(crate) caller: String,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) status: CredentialStatus,
    /// When the status last changed.
    #[serde(default)]
    pub(crate) status_changed_at: Option<u64>,
}

/// A credential offer awaiting redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfferRecord {
    /// SHA-256 of the pre-authorized code.
    pub(crate) code_digest: [u8; 32],
    pub(crate) caller: String,
    pub(crate) created_at: u64,
    /// The code is redeemable until then.
    pub(crate) expires_at: u64,
    /// The offer's details, sealed by the caller (they hold claim values).
    pub(crate) sealed: Vec<u8>,
}

/// A redeemed offer, found by its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedeemedOffer {
    pub(crate) offer: OfferRecord,
    /// The access token works until then.
    pub(crate) token_expires_at: u64,
    /// The credential it was redeemed for, once issued.
    pub(crate) issued_jti: Option<String>,
}

/// A status list's entries that are not VALID, and the revision they are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListSnapshot {
    pub(crate) revision: u64,
    /// `(idx, value)`, by index.
    pub(crate) entries: Vec<(u32, u8)>,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    #[serde(default)]
    pub(crate) seq: u64,
    pub(crate) at: u64,
    /// `issue`, `revoke`, `suspend`, `resume`, `offer` or `redeem`.
    pub(crate) action: String,
    pub(crate) caller: String,
    /// The credential concerned, when there is one.
    pub(crate) jti: Option<String>,
}

/// Why an issuer-state operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IssuerStoreError {
    /// The store itself (unreachable, corrupt, misconfigured).
    #[error(transparent)]
    Store(#[from] StateError),
    /// The status list entry already belongs to a credential: allocate another.
    #[error("the status list entry is taken")]
    IndexTaken,
    /// No credential with this `jti` was issued here.
    #[error("no credential with this jti was issued here")]
    UnknownCredential,
    /// A revoked credential stays revoked.
    #[error("the credential is revoked, for good")]
    Final,
    /// No unexpired offer for this code or token, or it was used already.
    #[error("the offer is unknown, expired or already used")]
    OfferUnusable,
}

/// What a status change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusChange {
    pub(crate) list: u32,
    pub(crate) from: CredentialStatus,
    pub(crate) to: CredentialStatus,
}

/// Most records one page of [`IssuerStore::page`] returns.
pub(crate) const MAX_PAGE: usize = 1_000;

/// The issuer's state, embedded or shared. Clones share one store.
#[derive(Debug, Clone)]
pub(crate) enum IssuerStore {
    /// One node: trees in the sled database of the state store.
    Embedded(sled::SledIssuerStore),
    /// Several nodes: tables in the PostgreSQL database of the state store.
    Postgres(pg::PgIssuerStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            IssuerStore::Embedded($store) => $call,
            IssuerStore::Postgres($store) => $call,
        }
    };
}

impl IssuerStore {
    /// Opens the issuer's state at `location` (a directory or a `postgres://` URL,
    /// as [`StateStore::open`]), creating its trees or tables, and list 1, if
    /// missing. Returns the store and the state store it shares (for the marks).
    ///
    /// # Errors
    /// As [`StateStore::open`]; [`StateError::SchemaTooNew`] for a newer schema.
    pub(crate) async fn open(
        location: &str,
        limits: StateLimits,
        now: u64,
    ) -> Result<(Self, StateStore), IssuerStoreError> {
        let state = StateStore::open(location, limits).await?;
        let store = match &state {
            StateStore::Embedded(inner) => {
                IssuerStore::Embedded(sled::SledIssuerStore::open(inner.clone()).await?)
            }
            StateStore::Postgres(inner) => {
                IssuerStore::Postgres(pg::PgIssuerStore::open(inner.clone()).await?)
            }
        };
        store.open_list(1, now).await?;
        Ok((store, state))
    }

    /// The highest list number: where new credentials get their entries.
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn current_list(&self) -> Result<u32, IssuerStoreError> {
        dispatch!(self, store => store.current_list().await)
    }

    /// Creates list `list` if it does not exist (any node may, at once).
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn open_list(&self, list: u32, now: u64) -> Result<(), IssuerStoreError> {
        dispatch!(self, store => store.open_list(list, now).await)
    }

    /// Every list number, ascending.
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn lists(&self) -> Result<Vec<u32>, IssuerStoreError> {
        dispatch!(self, store => store.lists().await)
    }

    /// Records a credential just signed, with its audit entry; durable when it
    /// returns `Ok` (the seq assigned). With `offer_token`, also moves that redeemed
    /// offer to `issued`, in the same transaction.
    ///
    /// # Errors
    /// [`IssuerStoreError::IndexTaken`] (sign again with another entry),
    /// [`IssuerStoreError::OfferUnusable`] (the offer was used meanwhile), or a
    /// storage error; nothing is recorded then.
    pub(crate) async fn record_issued(
        &self,
        record: &IssuedRecord,
        offer_token: Option<[u8; 32]>,
    ) -> Result<u64, IssuerStoreError> {
        if record.list == 0 || record.idx >= agentid_wallet::STATUS_LIST_ENTRIES {
            return Err(StateError::InvalidRequest("status entry out of range").into());
        }
        dispatch!(self, store => store.record_issued(record, offer_token).await)
    }

    /// Sets the status of the credential `jti` (revoked is final), raising its
    /// list's revision, with an audit entry by `caller`; durable when it returns.
    /// Setting the status it has changes nothing and writes no audit entry.
    ///
    /// # Errors
    /// [`IssuerStoreError::UnknownCredential`], [`IssuerStoreError::Final`], or a
    /// storage error.
    pub(crate) async fn set_status(
        &self,
        jti: &str,
        to: CredentialStatus,
        caller: &str,
        now: u64,
    ) -> Result<StatusChange, IssuerStoreError> {
        dispatch!(self, store => store.set_status(jti, to, caller, now).await)
    }

    /// The record of `jti`, if issued here.
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn get(&self, jti: &str) -> Result<Option<IssuedRecord>, IssuerStoreError> {
        dispatch!(self, store => store.get(jti).await)
    }

    /// Up to `limit` (≤ [`MAX_PAGE`]) records with `seq > after`, in issuance order.
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn page(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<IssuedRecord>, IssuerStoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        dispatch!(self, store => store.page(after, limit).await)
    }

    /// List `list`'s revision, or `None` if there is no such list.
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn revision(&self, list: u32) -> Result<Option<u64>, IssuerStoreError> {
        dispatch!(self, store => store.revision(list).await)
    }

    /// List `list`'s entries that are not VALID, at a revision at least the one
    /// returned (never older entries under a newer revision).
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn snapshot(
        &self,
        list: u32,
    ) -> Result<Option<ListSnapshot>, IssuerStoreError> {
        dispatch!(self, store => store.snapshot(list).await)
    }

    /// Stores a new offer, with its audit entry.
    ///
    /// # Errors
    /// A storage error ([`StateError::Duplicate`] for a code already stored).
    pub(crate) async fn insert_offer(&self, offer: &OfferRecord) -> Result<(), IssuerStoreError> {
        dispatch!(self, store => store.insert_offer(offer).await)
    }

    /// `offered → redeemed`, once, before the offer expires: binds the access token
    /// (its SHA-256) to the offer until `token_expires_at`.
    ///
    /// # Errors
    /// [`IssuerStoreError::OfferUnusable`] for an unknown, expired or used code.
    pub(crate) async fn redeem_offer(
        &self,
        code_digest: &[u8; 32],
        token_digest: &[u8; 32],
        token_expires_at: u64,
        now: u64,
    ) -> Result<OfferRecord, IssuerStoreError> {
        dispatch!(self, store => store.redeem_offer(code_digest, token_digest, token_expires_at, now).await)
    }

    /// The redeemed offer the access token (its SHA-256) is bound to, while the
    /// token works.
    ///
    /// # Errors
    /// [`IssuerStoreError::OfferUnusable`] for an unknown or expired token.
    pub(crate) async fn offer_by_token(
        &self,
        token_digest: &[u8; 32],
        now: u64,
    ) -> Result<RedeemedOffer, IssuerStoreError> {
        dispatch!(self, store => store.offer_by_token(token_digest, now).await)
    }

    /// Up to `limit` (≤ [`MAX_PAGE`]) audit entries with `seq > after`, in order.
    ///
    /// # Errors
    /// A storage error.
    pub(crate) async fn audit(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, IssuerStoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        dispatch!(self, store => store.audit(after, limit).await)
    }
}
