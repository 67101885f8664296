//! The store's limits: sizes, counts, batch sizes, pool size and timeouts, each with
//! a default and a ceiling checked when the store opens.

use std::time::Duration;

use super::StateError;

/// The largest pool [`StateLimits::pool_max_size`] (or the `pool_max_size` URL
/// parameter) may ask for.
pub(crate) const MAX_POOL_SIZE: usize = 256;
/// The largest [`StateLimits::max_blob_bytes`]: a request or verdict blob is a
/// sealed request description, not a document store.
pub(crate) const MAX_BLOB_BYTES: usize = 16 * 1024 * 1024;
/// The largest [`StateLimits::sweep_batch`].
pub(crate) const MAX_SWEEP_BATCH: u32 = 100_000;

/// What one store accepts and how long it waits. Every field has a default
/// ([`StateLimits::default`]); [`super::StateStore::open`] refuses zero values and
/// values above the ceilings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateLimits {
    /// The largest request or verdict blob, in bytes. Default 64 KiB.
    pub(crate) max_blob_bytes: usize,
    /// How many unexpired requests the store holds at most; `insert` answers
    /// [`StateError::Full`] beyond. Default 100 000. Exact for sled; for PostgreSQL
    /// it is checked by the inserting statement, so nodes inserting at the same
    /// moment may overshoot it by at most one request each.
    pub(crate) max_open_requests: u64,
    /// How many requests one `sweep` call deletes at most. Default 1 000.
    pub(crate) sweep_batch: u32,
    /// PostgreSQL: connections in the pool at most. Default 8; the `pool_max_size`
    /// URL parameter overrides it.
    pub(crate) pool_max_size: usize,
    /// PostgreSQL: the time to open one connection (TCP connect, startup and
    /// authentication). Default 5 s; the `connect_timeout` URL parameter overrides
    /// the TCP part.
    pub(crate) connect_timeout: Duration,
    /// PostgreSQL: the time one statement may take, enforced by the server
    /// (`statement_timeout`) and by the client, and the time to wait for a free
    /// connection of the pool. Default 5 s.
    pub(crate) statement_timeout: Duration,
}

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            max_blob_bytes: 64 * 1024,
            max_open_requests: 100_000,
            sweep_batch: 1_000,
            pool_max_size: 8,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

impl StateLimits {
    /// Refuses zero and out-of-range values.
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidConfig`] naming the field.
    pub(crate) fn check(&self) -> Result<(), StateError> {
        let refuse = |what: &str| Err(StateError::InvalidConfig(what.to_owned()));
        if self.max_blob_bytes == 0 || self.max_blob_bytes > MAX_BLOB_BYTES {
            return refuse("max_blob_bytes must be between 1 and 16 MiB");
        }
        if self.max_open_requests == 0 {
            return refuse("max_open_requests must be at least 1");
        }
        if self.sweep_batch == 0 || self.sweep_batch > MAX_SWEEP_BATCH {
            return refuse("sweep_batch must be between 1 and 100000");
        }
        if self.pool_max_size == 0 || self.pool_max_size > MAX_POOL_SIZE {
            return refuse("pool_max_size must be between 1 and 256");
        }
        if self.connect_timeout.is_zero() || self.statement_timeout.is_zero() {
            return refuse("timeouts must be positive");
        }
        Ok(())
    }

    /// Refuses a blob above [`StateLimits::max_blob_bytes`].
    pub(super) fn check_blob(&self, what: &'static str, blob: &[u8]) -> Result<(), StateError> {
        if blob.len() > self.max_blob_bytes {
            return Err(StateError::TooLarge {
                what,
                len: blob.len(),
                max: self.max_blob_bytes,
            });
        }
        Ok(())
    }
}
