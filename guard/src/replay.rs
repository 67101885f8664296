//! The bounded replay cache of DPoP proof `jti`s and direct-mode nonces.
//!
//! Entries are SHA-256 digests (32 bytes whatever the input) kept until the moment
//! the proof or nonce would be refused as stale anyway. When the cache holds its
//! maximum of unexpired entries, a new one is **refused** (the request gets 503 and
//! `Retry-After`), never let through unrecorded: a full cache cannot become a replay.
//! Size it as (requests per second) × (DPoP window + skew), e.g. 100 000 entries for
//! 300 requests/s over a 305 s window (about 10 MB).

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Why a value was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotRecorded {
    /// Seen before, within its lifetime.
    Replayed,
    /// The cache is full of unexpired entries.
    Full,
}

type Key = [u8; 32];

#[derive(Default)]
struct Entries {
    seen: HashSet<Key>,
    by_expiry: BTreeSet<(u64, Key)>,
}

/// Values seen, each until its expiry.
pub(crate) struct ReplayCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> Self {
        ReplayCache {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Records `parts` (hashed together, each length-prefixed) until `expires_at`.
    pub(crate) fn record(
        &self,
        parts: &[&[u8]],
        expires_at: u64,
        now: u64,
    ) -> Result<(), NotRecorded> {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        let key: Key = hasher.finalize().into();
        let mut entries = match self.entries.lock() {
            Ok(entries) => entries,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Drop what has expired: each entry leaves once, so the cost is amortized.
        while let Some(&(expiry, old)) = entries.by_expiry.first() {
            if expiry >= now {
                break;
            }
            entries.by_expiry.pop_first();
            entries.seen.remove(&old);
        }
        if entries.seen.contains(&key) {
            return Err(NotRecorded::Replayed);
        }
        if entries.seen.len() >= self.capacity {
            return Err(NotRecorded::Full);
        }
        entries.seen.insert(key);
        entries.by_expiry.insert((expires_at, key));
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .map(|e| e.seen.len())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_refused_until_it_expires_and_a_full_cache_refuses_new_ones() {
        let cache = ReplayCache::new(2);
        assert_eq!(cache.record(&[b"k", b"a"], 100, 10), Ok(()));
        assert_eq!(
            cache.record(&[b"k", b"a"], 100, 11),
            Err(NotRecorded::Replayed)
        );
        // Length prefixes: ("ka", "") is not ("k", "a").
        assert_eq!(cache.record(&[b"ka", b""], 50, 12), Ok(()));
        assert_eq!(cache.record(&[b"k", b"b"], 100, 13), Err(NotRecorded::Full));
        assert_eq!(
            cache.record(&[b"k", b"a"], 100, 13),
            Err(NotRecorded::Replayed)
        );
        // Once the second entry expired there is room again; the first is still held.
        assert_eq!(cache.record(&[b"k", b"b"], 100, 51), Ok(()));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.record(&[b"k", b"a"], 100, 99),
            Err(NotRecorded::Replayed)
        );
        assert_eq!(cache.record(&[b"k", b"a"], 200, 101), Ok(()));
    }
}
