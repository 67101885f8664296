//! Values that may be used once: the authorization server's nonces and the DPoP
//! proof `jti`s it accepted, the issuer's caller-assertion `jti`s and `c_nonce`s. Each is kept, as the SHA-256 of its text, until it
//! would have expired anyway; [`StateStore::mark_used`] records one atomically
//! across every node sharing the store and answers whether it was new.
//!
//! A mark is written only after the request carrying it verified (a presentation
//! from a trusted issuer, a DPoP proof signed by its key), so the marks stored are
//! bounded by the exchanges that succeed within one nonce lifetime; a refusal never
//! writes one. Expired marks are deleted by [`StateStore::sweep_marks`].
//!
//! sled: one tree, `m` + kind + digest → expiry, and `x` + expiry + kind + digest
//! as the expiry index, written in one transaction. PostgreSQL: one table, one
//! `INSERT … ON CONFLICT DO NOTHING`, whose row count says whether the mark is new.

use ::sled::transaction::ConflictableTransactionError;
use sha2::{Digest, Sha256};

use super::sled_store::SledStateStore;
use super::{StateError, StateStore};

/// The sled tree holding the marks.
pub(super) const SLED_TREE: &str = "agentid_used_once";

/// The PostgreSQL table holding the marks.
pub(super) const PG_TABLE: &str = "CREATE TABLE IF NOT EXISTS agentid_used_once (
    kind TEXT NOT NULL,
    digest BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, digest)
)";

/// Its expiry index, for the sweep.
pub(super) const PG_INDEX: &str = "CREATE INDEX IF NOT EXISTS agentid_used_once_expires_at \
                                   ON agentid_used_once (expires_at)";

const PG_MARK: &str = "INSERT INTO agentid_used_once (kind, digest, expires_at) \
    VALUES ($1, $2, $3) ON CONFLICT (kind, digest) DO NOTHING";
const PG_SWEEP: &str = "DELETE FROM agentid_used_once WHERE ctid IN \
    (SELECT ctid FROM agentid_used_once WHERE expires_at <= $1 LIMIT $2)";

/// Most marks one sweep deletes.
const SWEEP_BATCH: usize = 10_000;

/// What a mark is of: the same text used as a nonce and as a `jti` are two marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkKind {
    /// A nonce from the token endpoint's nonce endpoint.
    TokenNonce,
    /// The `jti` of a DPoP proof accepted at the token endpoint.
    DpopJti,
    /// A caller's client-assertion `jti` at the issuer service.
    CallerAssertion,
    /// A `c_nonce` from the issuer's OpenID4VCI nonce endpoint.
    CredentialNonce,
}

impl MarkKind {
    fn name(self) -> &'static str {
        match self {
            MarkKind::TokenNonce => "token_nonce",
            MarkKind::DpopJti => "dpop_jti",
            MarkKind::CallerAssertion => "caller_assertion",
            MarkKind::CredentialNonce => "c_nonce",
        }
    }

    fn tag(self) -> u8 {
        match self {
            MarkKind::TokenNonce => b'n',
            MarkKind::DpopJti => b'j',
            MarkKind::CallerAssertion => b'a',
            MarkKind::CredentialNonce => b'c',
        }
    }
}

impl StateStore {
    /// Records that `value` of `kind` was used, to be remembered until `expires_at`;
    /// `Ok(true)` the first time, `Ok(false)` ever after (until swept). Durable when
    /// it returns.
    ///
    /// # Errors
    ///
    /// A storage error: the caller must then refuse, never assume the value new.
    pub(crate) async fn mark_used(
        &self,
        kind: MarkKind,
        value: &str,
        expires_at: u64,
    ) -> Result<bool, StateError> {
        let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        match self {
            StateStore::Embedded(store) => sled_mark(store, kind, digest, expires_at).await,
            StateStore::Postgres(store) => {
                let client = store.client().await?;
                let expires_at = i64::try_from(expires_at).unwrap_or(i64::MAX);
                let rows = store
                    .execute(
                        &client,
                        PG_MARK,
                        &[&kind.name(), &digest.as_slice(), &expires_at],
                    )
                    .await?;
                Ok(rows == 1)
            }
        }
    }

    /// Deletes at most one batch of marks expired at `now`; returns how many.
    ///
    /// # Errors
    ///
    /// A storage error.
    pub(crate) async fn sweep_marks(&self, now: u64) -> Result<u64, StateError> {
        match self {
            StateStore::Embedded(store) => sled_sweep(store, now).await,
            StateStore::Postgres(store) => {
                let client = store.client().await?;
                let now = i64::try_from(now).unwrap_or(i64::MAX);
                let batch = i64::try_from(SWEEP_BATCH).unwrap_or(i64::MAX);
                store.execute(&client, PG_SWEEP, &[&now, &batch]).await
            }
        }
    }
}

fn mark_key(kind: MarkKind, digest: &[u8; 32]) -> Vec<u8> {
    let mut key = Vec::with_capacity(34);
    key.push(b'm');
    key.push(kind.tag());
    key.extend_from_slice(digest);
    key
}

fn expiry_key(expires_at: u64, kind: MarkKind, digest: &[u8; 32]) -> Vec<u8> {
    let mut key = Vec::with_capacity(42);
    key.push(b'x');
    key.extend_from_slice(&expires_at.to_be_bytes());
    key.push(kind.tag());
    key.extend_from_slice(digest);
    key
}

async fn sled_mark(
    store: &SledStateStore,
    kind: MarkKind,
    digest: [u8; 32],
    expires_at: u64,
) -> Result<bool, StateError> {
    store
        .run(true, move |inner| {
            let key = mark_key(kind, &digest);
            let index = expiry_key(expires_at, kind, &digest);
            inner
                .marks
                .transaction(|tx| {
                    if tx.get(key.as_slice())?.is_some() {
                        return Ok(false);
                    }
                    tx.insert(key.as_slice(), &expires_at.to_be_bytes())?;
                    tx.insert(index.as_slice(), &[] as &[u8])?;
                    Ok::<_, ConflictableTransactionError<StateError>>(true)
                })
                .map_err(|error| match error {
                    ::sled::transaction::TransactionError::Abort(error) => error,
                    ::sled::transaction::TransactionError::Storage(error) => error.into(),
                })
        })
        .await
}

async fn sled_sweep(store: &SledStateStore, now: u64) -> Result<u64, StateError> {
    store
        .run(true, move |inner| {
            let mut end = vec![b'x'];
            end.extend_from_slice(&now.saturating_add(1).to_be_bytes());
            let mut removed = 0u64;
            for entry in inner.marks.range(vec![b'x']..end).take(SWEEP_BATCH) {
                let (index, _) = entry?;
                // `x` + expiry (8) + tag + digest → `m` + tag + digest.
                let mut key = vec![b'm'];
                key.extend_from_slice(index.get(9..).unwrap_or_default());
                inner.marks.remove(&key)?;
                inner.marks.remove(&index)?;
                removed += 1;
            }
            Ok(removed)
        })
        .await
}
