//! The suite's harness: a store on each backend, fresh for every test, and the
//! helpers the tests share.

use std::future::Future;

use rand_core::{OsRng, RngCore};

use crate::serve::state::{OpenRequest, Phase, StateDigest, StateError, StateLimits, StateStore};

/// A fixed clock: the suite passes times explicitly.
pub(super) const T0: u64 = 1_700_000_000;
const STATE: &str = "state-of-the-request";

/// 16 random bytes as hex.
pub(in crate::serve::state) fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A request open from `created_at` until `expires_at`, with the state [`STATE`].
pub(super) fn request(created_at: u64, expires_at: u64) -> OpenRequest {
    let id = random_hex();
    OpenRequest {
        request: format!("sealed details of {id}").into_bytes(),
        id,
        state_digest: StateDigest::of_state(STATE),
        created_at,
        expires_at,
    }
}

pub(super) fn right() -> StateDigest {
    StateDigest::of_state(STATE)
}

pub(super) fn wrong() -> StateDigest {
    StateDigest::of_state("another-state")
}

/// The phase and verdict of `id`.
pub(super) async fn phase(store: &StateStore, id: &str) -> (Phase, Option<Vec<u8>>) {
    let status = store.result(id).await.unwrap();
    (status.phase, status.verdict)
}

pub(super) fn same(a: &OpenRequest, b: &OpenRequest) -> bool {
    a.id == b.id
        && a.state_digest.matches(&b.state_digest)
        && a.created_at == b.created_at
        && a.expires_at == b.expires_at
        && a.request == b.request
}

/// Where a test's store lives, and how to open it again.
pub(super) struct Harness {
    /// What [`StateStore::open`] gets.
    pub(super) location: String,
    pub(super) limits: StateLimits,
    store: Option<StateStore>,
    /// The PostgreSQL schema, for backend-specific checks.
    pub(super) schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    pub(super) fn store(&self) -> &StateStore {
        self.store.as_ref().unwrap()
    }

    pub(super) fn is_postgres(&self) -> bool {
        self.schema.is_some()
    }

    /// Opens the store at this location. sled's directory lock is released a moment
    /// after the last handle drops (its thread pool lets go of it), so a reopen
    /// retries briefly while the lock is still held.
    pub(super) async fn open(&self, limits: StateLimits) -> Result<StateStore, StateError> {
        let mut tries = 0;
        loop {
            match StateStore::open(&self.location, limits).await {
                Err(StateError::Unavailable(_)) if !self.is_postgres() && tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    /// Drops the harness's handle (sled: releases the directory, a moment later).
    pub(super) fn close(&mut self) {
        self.store = None;
    }

    /// Closes the store (sled) or starts another node on it (PostgreSQL) and
    /// continues with the new handle, under `limits`.
    pub(super) async fn reopen_with(&mut self, limits: StateLimits) {
        self.store = None;
        self.limits = limits;
        self.store = Some(self.open(limits).await.unwrap());
    }

    pub(super) async fn reopen(&mut self) {
        self.reopen_with(self.limits).await;
    }

    /// `n` handles on the store: clones of the one handle for sled (one process
    /// owns a sled directory), `n` separate stores, each with its own pool, for
    /// PostgreSQL (like `n` nodes).
    pub(super) async fn nodes(&self, n: usize) -> Vec<StateStore> {
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            if self.is_postgres() {
                nodes.push(self.open(self.limits).await.unwrap());
            } else {
                nodes.push(self.store().clone());
            }
        }
        nodes
    }
}

/// Runs `test` on a store in a fresh temporary directory.
pub(super) async fn on_sled<F, Fut>(test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("state").to_str().unwrap().to_owned();
    let limits = StateLimits::default();
    let store = StateStore::open(&location, limits).await.unwrap();
    assert!(matches!(store, StateStore::Embedded(_)));
    test(Harness {
        location,
        limits,
        store: Some(store),
        schema: None,
        _dir: Some(dir),
    })
    .await;
}

/// The database `AGENTID_TEST_POSTGRES` names, or `None` after saying the test is
/// skipped.
pub(in crate::serve::state) fn postgres_url() -> Option<String> {
    let url = std::env::var("AGENTID_TEST_POSTGRES").ok();
    if url.is_none() {
        println!("skipped: AGENTID_TEST_POSTGRES unset");
    }
    url
}

/// `url` with its sessions' `search_path` set to `schema`.
pub(in crate::serve::state) fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{schema}")
}

/// An administrative connection to the test database.
pub(in crate::serve::state) async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Runs `test` on a store in a fresh schema, then drops the schema, whether the
/// test passed or panicked.
pub(super) async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Harness) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let schema = format!("agentid_test_{}", random_hex());
    let admin = admin(&url).await;
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let location = with_search_path(&url, &schema);
    let test_schema = schema.clone();
    let outcome = tokio::spawn(async move {
        let limits = StateLimits::default();
        let store = StateStore::open(&location, limits).await.unwrap();
        assert!(matches!(store, StateStore::Postgres(_)));
        test(Harness {
            location,
            limits,
            store: Some(store),
            schema: Some(test_schema),
            _dir: None,
        })
        .await;
    })
    .await;
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
