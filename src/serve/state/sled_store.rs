//! The embedded backend: one sled tree in a directory, for one node.
//!
//! Every step is one sled transaction on the tree (read the record, apply
//! [`rules::next_phase`], write it back), run on the blocking pool; a step is
//! acknowledged only after a flush has put it on disk, so an acknowledged
//! insert or transition survives a crash. sled holds the directory's lock: a
//! second process (or a second open in this one) is refused with
//! [`StateError::Unavailable`].
//!
//! The open-request limit is exact: an in-memory count of stored requests per
//! expiry second, rebuilt from the expiry index at open, is checked and updated
//! under one lock together with the insert's transaction.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use ::sled::transaction::{ConflictableTransactionError, TransactionError};

use super::codec::{self, Record};
use super::rules::{self, Step};
use super::{OpenRequest, Phase, RequestStatus, StateDigest, StateError, StateLimits};

/// sled's page cache (its default is 1 GiB).
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// The tree's name in the sled database.
pub(super) const TREE: &str = "agentid_oid4vp_requests";

/// A request-state store in a sled database. Clones share it.
#[derive(Clone)]
pub(crate) struct SledStateStore {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for SledStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStateStore").finish_non_exhaustive()
    }
}

pub(super) struct Inner {
    /// Kept open for the tree's lifetime.
    pub(super) db: ::sled::Db,
    tree: ::sled::Tree,
    /// Values used once (token-endpoint nonces, DPoP `jti`s): [`super::marks`].
    pub(super) marks: ::sled::Tree,
    limits: StateLimits,
    /// Stored requests by expiry second. Held across every insert and sweep
    /// transaction so the count and the tree agree.
    expiries: Mutex<BTreeMap<u64, u64>>,
}

impl Inner {
    fn expiries(&self) -> MutexGuard<'_, BTreeMap<u64, u64>> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.expiries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An abort carrying our error out of a sled transaction.
fn abort<T>(error: StateError) -> Result<T, ConflictableTransactionError<StateError>> {
    Err(ConflictableTransactionError::Abort(error))
}

fn from_transaction(error: TransactionError<StateError>) -> StateError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => error.into(),
    }
}

impl SledStateStore {
    /// Opens (or creates) the store in `dir`.
    pub(super) async fn open(dir: &Path, limits: StateLimits) -> Result<Self, StateError> {
        let dir = dir.to_path_buf();
        let inner = tokio::task::spawn_blocking(move || {
            let inner = open_blocking(&dir, limits)?;
            inner.tree.flush()?;
            Ok::<_, StateError>(inner)
        })
        .await
        .map_err(|error| StateError::Backend(format!("open task failed: {error}")))??;
        Ok(SledStateStore {
            inner: Arc::new(inner),
        })
    }

    /// Runs `work` on the blocking pool, then flushes when `work` wrote.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        flush: bool,
        work: impl FnOnce(&Inner) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, StateError> {
        let inner = Arc::clone(&self.inner);
        // The flush runs on the blocking pool with the write, not as sled 0.34's
        // `flush_async`: under concurrent writers that future can stay pending
        // for ever (seen here: the service stalled after 17 requests from 8
        // keep-alive clients).
        tokio::task::spawn_blocking(move || {
            let value = work(&inner)?;
            if flush {
                // One database: flushing either tree makes every write durable.
                inner.tree.flush()?;
            }
            Ok(value)
        })
        .await
        .map_err(|error| StateError::Backend(format!("storage task failed: {error}")))?
    }

    pub(super) async fn insert(&self, request: &OpenRequest) -> Result<(), StateError> {
        rules::check_new(request, &self.inner.limits)?;
        let record = Record {
            request: request.clone(),
            phase: Phase::Created,
            verdict: None,
        };
        self.run(true, move |inner| insert_blocking(inner, &record))
            .await
    }

    pub(super) async fn take_request_object(
        &self,
        id: &str,
        now: u64,
    ) -> Result<OpenRequest, StateError> {
        rules::lookup_id(id)?;
        let id = id.to_owned();
        self.run(true, move |inner| {
            step_blocking(inner, &id, Step::TakeRequestObject, now, None, None)
        })
        .await
    }

    pub(super) async fn begin_response(
        &self,
        id: &str,
        state: &StateDigest,
        now: u64,
    ) -> Result<OpenRequest, StateError> {
        rules::lookup_id(id)?;
        let (id, state) = (id.to_owned(), *state);
        self.run(true, move |inner| {
            step_blocking(inner, &id, Step::BeginResponse, now, Some(&state), None)
        })
        .await
    }

    pub(super) async fn finish(&self, id: &str, verdict: &[u8]) -> Result<(), StateError> {
        rules::lookup_id(id)?;
        self.inner.limits.check_blob("verdict", verdict)?;
        let (id, verdict) = (id.to_owned(), verdict.to_vec());
        self.run(true, move |inner| {
            step_blocking(inner, &id, Step::Finish, 0, None, Some(verdict)).map(|_| ())
        })
        .await
    }

    pub(super) async fn result(&self, id: &str) -> Result<RequestStatus, StateError> {
        rules::lookup_id(id)?;
        let id = id.to_owned();
        self.run(false, move |inner| {
            let bytes = inner
                .tree
                .get(codec::record_key(&id))?
                .ok_or(StateError::NotFound)?;
            let record = Record::decode(&id, &bytes)?;
            Ok(RequestStatus {
                phase: record.phase,
                verdict: record.verdict,
                expires_at: record.request.expires_at,
            })
        })
        .await
    }

    pub(super) async fn sweep(&self, now: u64, retention_secs: u64) -> Result<u64, StateError> {
        let cutoff = now.saturating_sub(retention_secs);
        self.run(true, move |inner| sweep_blocking(inner, cutoff))
            .await
    }

    pub(super) async fn health(&self) -> Result<(), StateError> {
        self.run(false, |inner| {
            inner.tree.get(codec::VERSION_KEY)?;
            Ok(())
        })
        .await
    }
}

fn open_blocking(dir: &Path, limits: StateLimits) -> Result<Inner, StateError> {
    std::fs::create_dir_all(dir).map_err(|error| {
        StateError::Unavailable(format!("cannot create the directory: {error}"))
    })?;
    let db = ::sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_BYTES)
        .open()
        .map_err(|error| match error {
            ::sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                StateError::Unavailable("the directory is in use by another process".into())
            }
            other => other.into(),
        })?;
    let tree = db.open_tree(TREE)?;
    let marks = db.open_tree(super::marks::SLED_TREE)?;
    match tree.get(codec::VERSION_KEY)? {
        None => {
            tree.insert(codec::VERSION_KEY, &codec::FORMAT.to_be_bytes())?;
        }
        Some(bytes) => {
            let found = <[u8; 4]>::try_from(bytes.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|_| StateError::Corrupt("malformed schema version".into()))?;
            if found > codec::FORMAT {
                return Err(StateError::SchemaTooNew {
                    found: i64::from(found),
                    supported: i64::from(codec::FORMAT),
                });
            }
        }
    }
    let mut expiries = BTreeMap::new();
    for entry in tree.scan_prefix([codec::EXPIRY]) {
        let (key, _) = entry?;
        let (expires_at, _) = codec::parse_expiry_key(&key)?;
        *expiries.entry(expires_at).or_insert(0u64) += 1;
    }
    Ok(Inner {
        db,
        tree,
        marks,
        limits,
        expiries: Mutex::new(expiries),
    })
}

fn insert_blocking(inner: &Inner, record: &Record) -> Result<(), StateError> {
    let request = &record.request;
    let key = codec::record_key(&request.id);
    let index = codec::expiry_key(request.expires_at, &request.id);
    let value = record.encode()?;
    let mut expiries = inner.expiries();
    let max_open = inner.limits.max_open_requests;
    let open: u64 = expiries
        .range(request.created_at.saturating_add(1)..)
        .map(|(_, count)| count)
        .sum();
    if open >= max_open {
        return Err(StateError::Full { max_open });
    }
    inner
        .tree
        .transaction(|tx| {
            if tx.get(key.as_slice())?.is_some() {
                return abort(StateError::Duplicate);
            }
            tx.insert(key.as_slice(), value.as_slice())?;
            tx.insert(index.as_slice(), &[] as &[u8])?;
            Ok(())
        })
        .map_err(from_transaction)?;
    *expiries.entry(request.expires_at).or_insert(0) += 1;
    Ok(())
}

/// One step on the record of `id`, in one transaction.
fn step_blocking(
    inner: &Inner,
    id: &str,
    step: Step,
    now: u64,
    state: Option<&StateDigest>,
    verdict: Option<Vec<u8>>,
) -> Result<OpenRequest, StateError> {
    let key = codec::record_key(id);
    inner
        .tree
        .transaction(|tx| {
            let Some(bytes) = tx.get(key.as_slice())? else {
                return abort(StateError::NotFound);
            };
            let mut record = match Record::decode(id, &bytes) {
                Ok(record) => record,
                Err(error) => return abort(error),
            };
            let matches = || state.is_some_and(|state| record.request.state_digest.matches(state));
            match rules::next_phase(step, record.phase, record.request.expires_at, now, matches) {
                Ok(next) => record.phase = next,
                Err(error) => return abort(error),
            }
            if step == Step::Finish {
                record.verdict.clone_from(&verdict);
            }
            let value = match record.encode() {
                Ok(value) => value,
                Err(error) => return abort(error),
            };
            tx.insert(key.as_slice(), value)?;
            Ok(record.request)
        })
        .map_err(from_transaction)
}

fn sweep_blocking(inner: &Inner, cutoff: u64) -> Result<u64, StateError> {
    let batch = usize::try_from(inner.limits.sweep_batch).unwrap_or(usize::MAX);
    let end = codec::expiry_key(cutoff.saturating_add(1), "");
    // Held from the scan on, so concurrent sweeps take turns and the count stays
    // exact.
    let mut expiries = inner.expiries();
    let mut due = Vec::new();
    for entry in inner.tree.range(vec![codec::EXPIRY]..end).take(batch) {
        let (key, _) = entry?;
        let (expires_at, id) = codec::parse_expiry_key(&key)?;
        due.push((key.to_vec(), expires_at, codec::record_key(id)));
    }
    if due.is_empty() {
        return Ok(0);
    }
    let removed = inner
        .tree
        .transaction(|tx| {
            let mut removed = Vec::with_capacity(due.len());
            for (index, expires_at, record) in &due {
                if tx.remove(index.as_slice())?.is_some() {
                    removed.push(*expires_at);
                }
                tx.remove(record.as_slice())?;
            }
            Ok::<_, ConflictableTransactionError<StateError>>(removed)
        })
        .map_err(from_transaction)?;
    for expires_at in &removed {
        if let Some(count) = expiries.get_mut(expires_at) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                expiries.remove(expires_at);
            }
        }
    }
    Ok(u64::try_from(removed.len()).unwrap_or(u64::MAX))
}
