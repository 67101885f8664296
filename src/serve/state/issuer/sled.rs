//! The issuer's state in the sled database of the state store (one node).
//!
//! Trees, every change one transaction over those it touches, then a flush before
//! the change is acknowledged:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `agentid_issuer_credentials` | `jti` | the [`IssuedRecord`], JSON |
//! | `agentid_issuer_entries` | list (4, BE) ‖ idx (4, BE) | `jti`: an entry is used once, ever |
//! | `agentid_issuer_seq` | seq (8, BE) | `jti`, in issuance order |
//! | `agentid_issuer_marked` | list ‖ idx | the entry's value, for entries not VALID |
//! | `agentid_issuer_lists` | list (4, BE) | revision (8, BE) |
//! | `agentid_issuer_offers` | `c` ‖ SHA-256(code), `t` ‖ SHA-256(token) | the offer, JSON; the code's digest |
//! | `agentid_issuer_audit` | seq (8, BE) | the [`AuditRecord`], JSON |

use ::sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use ::sled::Transactional;
use serde::{Deserialize, Serialize};

use super::super::sled_store::SledStateStore;
use super::{
    AuditRecord, CredentialStatus, IssuedRecord, IssuerStoreError, ListSnapshot, OfferRecord,
    RedeemedOffer, StateError, StatusChange,
};

const CREDENTIALS: &str = "agentid_issuer_credentials";
const ENTRIES: &str = "agentid_issuer_entries";
const SEQ: &str = "agentid_issuer_seq";
const MARKED: &str = "agentid_issuer_marked";
const LISTS: &str = "agentid_issuer_lists";
const OFFERS: &str = "agentid_issuer_offers";
const AUDIT: &str = "agentid_issuer_audit";

/// The issuer's trees. Clones share them.
#[derive(Clone)]
pub(crate) struct SledIssuerStore {
    state: SledStateStore,
    db: ::sled::Db,
    credentials: ::sled::Tree,
    entries: ::sled::Tree,
    seq: ::sled::Tree,
    marked: ::sled::Tree,
    lists: ::sled::Tree,
    offers: ::sled::Tree,
    audit: ::sled::Tree,
}

impl std::fmt::Debug for SledIssuerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledIssuerStore").finish_non_exhaustive()
    }
}

/// An offer as stored.
#[derive(Serialize, Deserialize)]
struct StoredOffer {
    caller: String,
    created_at: u64,
    expires_at: u64,
    sealed: Vec<u8>,
    /// `offered`, `redeemed` or `issued`.
    phase: String,
    token_expires_at: Option<u64>,
    jti: Option<String>,
}

type TxResult<T> = Result<T, ConflictableTransactionError<IssuerStoreError>>;

fn abort<T>(error: IssuerStoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(error))
}

fn from_transaction(error: TransactionError<IssuerStoreError>) -> IssuerStoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StateError::from(error).into(),
    }
}

fn entry_key(list: u32, idx: u32) -> [u8; 8] {
    let mut key = [0u8; 8];
    key[..4].copy_from_slice(&list.to_be_bytes());
    key[4..].copy_from_slice(&idx.to_be_bytes());
    key
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, IssuerStoreError> {
    serde_json::to_vec(value).map_err(|error| StateError::Backend(error.to_string()).into())
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, IssuerStoreError> {
    serde_json::from_slice(bytes).map_err(|_| StateError::Corrupt("issuer record".into()).into())
}

fn u64_of(bytes: &[u8]) -> Result<u64, IssuerStoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| StateError::Corrupt("malformed number".into()).into())
}

/// Appends an audit entry inside a transaction, under a sequence number drawn
/// before it (sled's id generator must not run inside a transaction).
fn audit_in(audit: &TransactionalTree, seq: u64, record: &AuditRecord) -> TxResult<()> {
    let mut record = record.clone();
    record.seq = seq;
    let body = encode(&record).map_err(ConflictableTransactionError::Abort)?;
    audit.insert(&seq.to_be_bytes(), body)?;
    Ok(())
}

impl SledIssuerStore {
    pub(super) async fn open(state: SledStateStore) -> Result<Self, IssuerStoreError> {
        let db = state.inner.db.clone();
        let open = |name: &str| db.open_tree(name).map_err(StateError::from);
        Ok(SledIssuerStore {
            credentials: open(CREDENTIALS)?,
            entries: open(ENTRIES)?,
            seq: open(SEQ)?,
            marked: open(MARKED)?,
            lists: open(LISTS)?,
            offers: open(OFFERS)?,
            audit: open(AUDIT)?,
            db,
            state,
        })
    }

    /// A fresh sequence number (increasing; gaps where a transaction aborted).
    fn next_id(&self) -> Result<u64, IssuerStoreError> {
        Ok(self.db.generate_id().map_err(StateError::from)? + 1)
    }

    /// Runs `work` on the blocking pool; with `flush`, makes it durable first.
    async fn run<T: Send + 'static>(
        &self,
        flush: bool,
        work: impl FnOnce(&SledIssuerStore) -> Result<T, IssuerStoreError> + Send + 'static,
    ) -> Result<T, IssuerStoreError> {
        let store = self.clone();
        // The state store's runner flushes the whole database after the work.
        let outcome = self.state.run(flush, move |_| Ok(work(&store))).await?;
        outcome
    }

    pub(super) async fn current_list(&self) -> Result<u32, IssuerStoreError> {
        self.run(false, |store| {
            let last = store.lists.last().map_err(StateError::from)?;
            match last {
                Some((key, _)) => <[u8; 4]>::try_from(key.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StateError::Corrupt("malformed list key".into()).into()),
                None => Ok(1),
            }
        })
        .await
    }

    pub(super) async fn open_list(&self, list: u32, _now: u64) -> Result<(), IssuerStoreError> {
        self.run(true, move |store| {
            store
                .lists
                .compare_and_swap(
                    list.to_be_bytes(),
                    None as Option<&[u8]>,
                    Some(&0u64.to_be_bytes()),
                )
                .map_err(StateError::from)?
                // Already there: another open made it.
                .ok();
            Ok(())
        })
        .await
    }

    pub(super) async fn lists(&self) -> Result<Vec<u32>, IssuerStoreError> {
        self.run(false, |store| {
            store
                .lists
                .iter()
                .keys()
                .map(|key| {
                    let key = key.map_err(StateError::from)?;
                    <[u8; 4]>::try_from(key.as_ref())
                        .map(u32::from_be_bytes)
                        .map_err(|_| StateError::Corrupt("malformed list key".into()).into())
                })
                .collect()
        })
        .await
    }

    pub(super) async fn record_issued(
        &self,
        record: &IssuedRecord,
        offer_token: Option<[u8; 32]>,
    ) -> Result<u64, IssuerStoreError> {
        let record = record.clone();
        self.run(true, move |store| {
            let seq = store.next_id()?;
            let audit_seq = store.next_id()?;
            let mut record = record;
            record.seq = seq;
            let body = encode(&record)?;
            let audit = AuditRecord {
                seq: 0,
                at: record.issued_at,
                action: "issue".into(),
                caller: record.caller.clone(),
                jti: Some(record.jti.clone()),
            };
            (
                &store.credentials,
                &store.entries,
                &store.seq,
                &store.lists,
                &store.offers,
                &store.audit,
            )
                .transaction(|(credentials, entries, seqs, lists, offers, audit_tree)| {
                    if lists.get(record.list.to_be_bytes())?.is_none() {
                        return abort(StateError::InvalidRequest("no such status list").into());
                    }
                    let entry = entry_key(record.list, record.idx);
                    if entries.get(entry)?.is_some() {
                        return abort(IssuerStoreError::IndexTaken);
                    }
                    if credentials.get(record.jti.as_bytes())?.is_some() {
                        return abort(StateError::Duplicate.into());
                    }
                    if let Some(token) = offer_token {
                        take_redeemed(offers, &token, &record.jti, record.issued_at)?;
                    }
                    credentials.insert(record.jti.as_bytes(), body.as_slice())?;
                    entries.insert(&entry, record.jti.as_bytes())?;
                    seqs.insert(&seq.to_be_bytes(), record.jti.as_bytes())?;
                    audit_in(audit_tree, audit_seq, &audit)?;
                    Ok(())
                })
                .map_err(from_transaction)?;
            Ok(seq)
        })
        .await
    }

    pub(super) async fn set_status(
        &self,
        jti: &str,
        to: CredentialStatus,
        caller: &str,
        now: u64,
    ) -> Result<StatusChange, IssuerStoreError> {
        let (jti, caller) = (jti.to_owned(), caller.to_owned());
        self.run(true, move |store| {
            let audit_seq = store.next_id()?;
            (
                &store.credentials,
                &store.marked,
                &store.lists,
                &store.audit,
            )
                .transaction(|(credentials, marked, lists, audit_tree)| {
                    let Some(body) = credentials.get(jti.as_bytes())? else {
                        return abort(IssuerStoreError::UnknownCredential);
                    };
                    let mut record: IssuedRecord =
                        decode(&body).map_err(ConflictableTransactionError::Abort)?;
                    let change = StatusChange {
                        list: record.list,
                        from: record.status,
                        to,
                    };
                    if record.status == to {
                        return Ok(change);
                    }
                    if record.status == CredentialStatus::Revoked {
                        return abort(IssuerStoreError::Final);
                    }
                    record.status = to;
                    record.status_changed_at = Some(now);
                    let body = encode(&record).map_err(ConflictableTransactionError::Abort)?;
                    credentials.insert(jti.as_bytes(), body)?;
                    let entry = entry_key(record.list, record.idx);
                    match to {
                        CredentialStatus::Valid => {
                            marked.remove(&entry)?;
                        }
                        other => {
                            marked.insert(&entry, &[other.value()])?;
                        }
                    }
                    let revision = match lists.get(record.list.to_be_bytes())? {
                        Some(bytes) => {
                            u64_of(&bytes).map_err(ConflictableTransactionError::Abort)?
                        }
                        None => 0,
                    };
                    lists.insert(&record.list.to_be_bytes(), &(revision + 1).to_be_bytes())?;
                    let action = match to {
                        CredentialStatus::Valid => "resume",
                        CredentialStatus::Revoked => "revoke",
                        CredentialStatus::Suspended => "suspend",
                    };
                    audit_in(
                        audit_tree,
                        audit_seq,
                        &AuditRecord {
                            seq: 0,
                            at: now,
                            action: action.into(),
                            caller: caller.clone(),
                            jti: Some(jti.clone()),
                        },
                    )?;
                    Ok(change)
                })
                .map_err(from_transaction)
        })
        .await
    }

    pub(super) async fn get(&self, jti: &str) -> Result<Option<IssuedRecord>, IssuerStoreError> {
        let jti = jti.to_owned();
        self.run(false, move |store| {
            store
                .credentials
                .get(jti.as_bytes())
                .map_err(StateError::from)?
                .map(|body| decode(&body))
                .transpose()
        })
        .await
    }

    pub(super) async fn page(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<IssuedRecord>, IssuerStoreError> {
        self.run(false, move |store| {
            let start = after.saturating_add(1).to_be_bytes();
            let mut records = Vec::new();
            for entry in store.seq.range(start..).take(limit) {
                let (_, jti) = entry.map_err(StateError::from)?;
                if let Some(body) = store.credentials.get(&jti).map_err(StateError::from)? {
                    records.push(decode(&body)?);
                }
            }
            Ok(records)
        })
        .await
    }

    pub(super) async fn revision(&self, list: u32) -> Result<Option<u64>, IssuerStoreError> {
        self.run(false, move |store| {
            store
                .lists
                .get(list.to_be_bytes())
                .map_err(StateError::from)?
                .map(|bytes| u64_of(&bytes))
                .transpose()
        })
        .await
    }

    pub(super) async fn snapshot(
        &self,
        list: u32,
    ) -> Result<Option<ListSnapshot>, IssuerStoreError> {
        self.run(false, move |store| {
            // Revision first: entries read after it are at least as new.
            let Some(revision) = store
                .lists
                .get(list.to_be_bytes())
                .map_err(StateError::from)?
            else {
                return Ok(None);
            };
            let revision = u64_of(&revision)?;
            let mut entries = Vec::new();
            for entry in store.marked.scan_prefix(list.to_be_bytes()) {
                let (key, value) = entry.map_err(StateError::from)?;
                let idx = key
                    .get(4..8)
                    .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                    .map(u32::from_be_bytes)
                    .ok_or_else(|| StateError::Corrupt("malformed entry key".into()))?;
                let value = *value
                    .first()
                    .ok_or_else(|| StateError::Corrupt("empty entry".into()))?;
                entries.push((idx, value));
            }
            Ok(Some(ListSnapshot { revision, entries }))
        })
        .await
    }

    pub(super) async fn insert_offer(&self, offer: &OfferRecord) -> Result<(), IssuerStoreError> {
        let offer = offer.clone();
        self.run(true, move |store| {
            let stored = StoredOffer {
                caller: offer.caller.clone(),
                created_at: offer.created_at,
                expires_at: offer.expires_at,
                sealed: offer.sealed.clone(),
                phase: "offered".into(),
                token_expires_at: None,
                jti: None,
            };
            let body = encode(&stored)?;
            let key = offer_key(b'c', &offer.code_digest);
            let audit_seq = store.next_id()?;
            (&store.offers, &store.audit)
                .transaction(|(offers, audit_tree)| {
                    if offers.get(key)?.is_some() {
                        return abort(StateError::Duplicate.into());
                    }
                    offers.insert(&key[..], body.as_slice())?;
                    audit_in(
                        audit_tree,
                        audit_seq,
                        &AuditRecord {
                            seq: 0,
                            at: offer.created_at,
                            action: "offer".into(),
                            caller: offer.caller.clone(),
                            jti: None,
                        },
                    )
                })
                .map_err(from_transaction)
        })
        .await
    }

    pub(super) async fn redeem_offer(
        &self,
        code_digest: &[u8; 32],
        token_digest: &[u8; 32],
        token_expires_at: u64,
        now: u64,
    ) -> Result<OfferRecord, IssuerStoreError> {
        let (code_digest, token_digest) = (*code_digest, *token_digest);
        self.run(true, move |store| {
            let key = offer_key(b'c', &code_digest);
            let audit_seq = store.next_id()?;
            (&store.offers, &store.audit)
                .transaction(|(offers, audit_tree)| {
                    let Some(body) = offers.get(key)? else {
                        return abort(IssuerStoreError::OfferUnusable);
                    };
                    let mut stored: StoredOffer =
                        decode(&body).map_err(ConflictableTransactionError::Abort)?;
                    if stored.phase != "offered" || stored.expires_at <= now {
                        return abort(IssuerStoreError::OfferUnusable);
                    }
                    stored.phase = "redeemed".into();
                    stored.token_expires_at = Some(token_expires_at);
                    let body = encode(&stored).map_err(ConflictableTransactionError::Abort)?;
                    offers.insert(&key[..], body)?;
                    offers.insert(&offer_key(b't', &token_digest)[..], &code_digest[..])?;
                    audit_in(
                        audit_tree,
                        audit_seq,
                        &AuditRecord {
                            seq: 0,
                            at: now,
                            action: "redeem".into(),
                            caller: stored.caller.clone(),
                            jti: None,
                        },
                    )?;
                    Ok(offer_record(code_digest, stored))
                })
                .map_err(from_transaction)
        })
        .await
    }

    pub(super) async fn offer_by_token(
        &self,
        token_digest: &[u8; 32],
        now: u64,
    ) -> Result<RedeemedOffer, IssuerStoreError> {
        let token_digest = *token_digest;
        self.run(false, move |store| {
            let code = store
                .offers
                .get(offer_key(b't', &token_digest))
                .map_err(StateError::from)?
                .ok_or(IssuerStoreError::OfferUnusable)?;
            let code_digest = <[u8; 32]>::try_from(code.as_ref())
                .map_err(|_| StateError::Corrupt("malformed offer index".into()))?;
            let body = store
                .offers
                .get(offer_key(b'c', &code_digest))
                .map_err(StateError::from)?
                .ok_or(IssuerStoreError::OfferUnusable)?;
            let stored: StoredOffer = decode(&body)?;
            let token_expires_at = stored.token_expires_at.unwrap_or(0);
            if token_expires_at <= now {
                return Err(IssuerStoreError::OfferUnusable);
            }
            let issued_jti = stored.jti.clone();
            Ok(RedeemedOffer {
                offer: offer_record(code_digest, stored),
                token_expires_at,
                issued_jti,
            })
        })
        .await
    }

    pub(super) async fn audit(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, IssuerStoreError> {
        self.run(false, move |store| {
            let start = after.saturating_add(1).to_be_bytes();
            store
                .audit
                .range(start..)
                .take(limit)
                .map(|entry| {
                    let (_, body) = entry.map_err(StateError::from)?;
                    decode(&body)
                })
                .collect()
        })
        .await
    }
}

/// Inside the issuing transaction: `redeemed → issued` for the offer the token is
/// bound to, while the token works.
fn take_redeemed(
    offers: &TransactionalTree,
    token: &[u8; 32],
    jti: &str,
    now: u64,
) -> TxResult<()> {
    let Some(code) = offers.get(offer_key(b't', token))? else {
        return abort(IssuerStoreError::OfferUnusable);
    };
    let key = {
        let mut key = vec![b'c'];
        key.extend_from_slice(&code);
        key
    };
    let Some(body) = offers.get(&key)? else {
        return abort(IssuerStoreError::OfferUnusable);
    };
    let mut stored: StoredOffer = decode(&body).map_err(ConflictableTransactionError::Abort)?;
    if stored.phase != "redeemed" || stored.token_expires_at.is_none_or(|exp| exp <= now) {
        return abort(IssuerStoreError::OfferUnusable);
    }
    stored.phase = "issued".into();
    stored.jti = Some(jti.to_owned());
    let body = encode(&stored).map_err(ConflictableTransactionError::Abort)?;
    offers.insert(key, body)?;
    Ok(())
}

fn offer_key(tag: u8, digest: &[u8; 32]) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = tag;
    key[1..].copy_from_slice(digest);
    key
}

fn offer_record(code_digest: [u8; 32], stored: StoredOffer) -> OfferRecord {
    OfferRecord {
        code_digest,
        caller: stored.caller,
        created_at: stored.created_at,
        expires_at: stored.expires_at,
        sealed: stored.sealed,
    }
}
