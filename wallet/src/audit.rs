//! The append-only, hash-chained audit log.
//!
//! Each entry carries the SHA-256 of the previous entry; the head (sequence number
//! and hash of the last entry) is kept in its own record. Verification walks the
//! chain from the first entry and compares the end with the head, so an edited,
//! removed, inserted or reordered entry — or a truncated tail — is detected.
//! Entries are sealed like every other record: editing one needs the data key.

use agentid_verifier::b64url_encode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::store::{Batch, Kind, Store, StoreError};

/// The hash before the first entry.
const GENESIS: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// The meta record holding the head.
const HEAD_ID: &[u8] = b"audit-head";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditAction {
    /// The wallet was created.
    Init,
    /// A key was generated.
    KeyNew,
    /// A credential was issued by this wallet.
    Issue,
    /// A credential was verified and stored.
    Receive,
    /// A presentation was made.
    Present,
    /// Expired credentials and their task keys were destroyed.
    Purge,
    /// The passphrase changed (the data key was re-sealed).
    Rekey,
    /// A backup was written.
    Export,
    /// The wallet was restored from a backup.
    Import,
    /// A narrower part of a credential was delegated to a sub-agent.
    Delegate,
    /// An issued credential was revoked in the issuer's status list.
    Revoke,
    /// The issuer's status list token was published.
    StatusPublish,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    /// What happened.
    pub action: AuditAction,
    /// Which credential, to whom, which claims: never claim values or secrets.
    pub details: Value,
    /// Hash of the previous entry.
    pub prev: String,
    /// Hash of this entry (over every other field).
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    next_seq: u64,
    hash: String,
}

/// Why the audit log does not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// An entry's hash, sequence or link is wrong.
    #[error("audit log broken at entry {seq}: {reason}")]
    Broken {
        /// The entry (or expected entry) where the chain breaks.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The store failed (including a sealed entry failing authentication).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn entry_hash(seq: u64, at: u64, action: AuditAction, details: &Value, prev: &str) -> String {
    // serde_json maps are sorted, so this serialization is canonical.
    let canonical = serde_json::json!({
        "seq": seq, "at": at, "action": action, "details": details, "prev": prev
    })
    .to_string();
    b64url_encode(&Sha256::digest(canonical.as_bytes()))
}

fn read_head(store: &Store) -> Result<Head, StoreError> {
    match store.get(Kind::Meta, HEAD_ID)? {
        None => Ok(Head {
            next_seq: 0,
            hash: GENESIS.into(),
        }),
        Some(body) => {
            serde_json::from_slice(&body).map_err(|_| StoreError::Corrupt("audit head".into()))
        }
    }
}

/// Adds the next entry (and the new head) to `batch`. The caller holds the
/// wallet's lock, so no other writer can interleave.
pub(crate) fn append(
    store: &Store,
    batch: &mut Batch,
    at: u64,
    action: AuditAction,
    details: Value,
) -> Result<(), StoreError> {
    append_many(store, batch, at, [(action, details)])
}

/// Adds several chained entries (and the final head) to `batch`.
pub(crate) fn append_many(
    store: &Store,
    batch: &mut Batch,
    at: u64,
    events: impl IntoIterator<Item = (AuditAction, Value)>,
) -> Result<(), StoreError> {
    let mut head = read_head(store)?;
    for (action, details) in events {
        let hash = entry_hash(head.next_seq, at, action, &details, &head.hash);
        let entry = AuditEntry {
            seq: head.next_seq,
            at,
            action,
            details,
            prev: head.hash,
            hash: hash.clone(),
        };
        let body =
            serde_json::to_vec(&entry).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        store.put(batch, Kind::Audit, &entry.seq.to_be_bytes(), &body);
        head = Head {
            next_seq: entry.seq + 1,
            hash,
        };
    }
    let head_body =
        serde_json::to_vec(&head).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    store.put(batch, Kind::Meta, HEAD_ID, &head_body);
    Ok(())
}

/// Reads every entry in order, checking nothing.
pub(crate) fn entries(store: &Store) -> Result<Vec<AuditEntry>, AuditError> {
    store
        .scan(Kind::Audit)
        .map(|record| {
            let record = record?;
            serde_json::from_slice(&record.body).map_err(|_| AuditError::Broken {
                seq: seq_of(&record.id),
                reason: "unreadable entry".into(),
            })
        })
        .collect()
}

fn seq_of(id: &[u8]) -> u64 {
    id.try_into().map(u64::from_be_bytes).unwrap_or(u64::MAX)
}

/// Verifies the whole chain and returns the number of entries.
pub(crate) fn verify(store: &Store) -> Result<u64, AuditError> {
    // Every wallet logs its creation, so a wallet without a head has lost its log
    // (removing every entry and the head would otherwise read as an empty, intact log).
    if store.get(Kind::Meta, HEAD_ID)?.is_none() {
        return Err(AuditError::Broken {
            seq: 0,
            reason: "the audit log is missing".into(),
        });
    }
    let head = read_head(store)?;
    let mut expected_seq = 0u64;
    let mut prev = GENESIS.to_owned();
    for record in store.scan(Kind::Audit) {
        let record = record?;
        let broken = |reason: &str| AuditError::Broken {
            seq: expected_seq,
            reason: reason.into(),
        };
        let entry: AuditEntry =
            serde_json::from_slice(&record.body).map_err(|_| broken("unreadable entry"))?;
        if seq_of(&record.id) != entry.seq {
            return Err(broken("entry stored under another position"));
        }
        if entry.seq != expected_seq {
            return Err(broken("entry missing or out of order"));
        }
        if entry.prev != prev {
            return Err(broken("does not link to the previous entry"));
        }
        if entry.hash
            != entry_hash(
                entry.seq,
                entry.at,
                entry.action,
                &entry.details,
                &entry.prev,
            )
        {
            return Err(broken("content does not match its hash (edited)"));
        }
        prev = entry.hash;
        expected_seq += 1;
    }
    if head.next_seq != expected_seq || head.hash != prev {
        return Err(AuditError::Broken {
            seq: expected_seq,
            reason: "entries missing at the end (truncated)".into(),
        });
    }
    Ok(expected_seq)
}
