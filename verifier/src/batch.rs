//! The batch path: every check but the signatures for N presentations, then all
//! Ed25519 signatures in randomized batches (terms that share a key merged), the
//! ECDSA signatures one by one, and the predicate proofs, spread over the cores.
//!
//! A failed batch is split in halves until the failing presentations are isolated;
//! those are then checked one signature at a time, in the single path's order, so
//! every item gets exactly the verdict [`Verifier::verify_presentation`] gives it.

use ed25519_zebra::batch;
use rand_core::OsRng;

use crate::alg::Algorithm;
use crate::error::VerifyError;
use crate::key::{ed25519_signature, PublicKey};
use crate::verify::{Checked, PresentationRequest, Verified, Verifier};

/// One presentation of a batch and the request it answers.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    /// The presentation (`<JWT>~<D>…~<KB-JWT>`).
    pub presentation: &'a str,
    /// The audience and nonce it must be bound to.
    pub request: &'a PresentationRequest,
}

/// Most items one call verifies; larger inputs are refused item by item.
pub const MAX_BATCH: usize = 65_536;
/// Fewest items worth a thread of their own.
const MIN_ITEMS_PER_THREAD: usize = 32;
/// Groups smaller than this are not batched: their items are checked one by one.
const MIN_GROUP: usize = 4;

/// The state of one item between the phases.
enum Slot {
    /// A structural check failed: the verdict is known.
    Failed(VerifyError),
    /// Structurally valid; signatures and proofs pending.
    Pending(Box<Checked>),
}

impl Verifier {
    /// Verifies many presentations at once. The result has one verdict per item, in
    /// order, each equal to what [`verify_presentation`](Self::verify_presentation)
    /// returns for it.
    pub fn verify_batch(
        &self,
        items: &[BatchItem<'_>],
        now: u64,
    ) -> Vec<Result<Verified, VerifyError>> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        self.verify_batch_on(items, now, cores)
    }

    /// [`verify_batch`](Self::verify_batch) on at most `threads` threads (1: on the
    /// calling thread only), for callers that schedule their own work.
    pub fn verify_batch_on(
        &self,
        items: &[BatchItem<'_>],
        now: u64,
        threads: usize,
    ) -> Vec<Result<Verified, VerifyError>> {
        if items.len() > MAX_BATCH {
            return items
                .iter()
                .map(|_| {
                    Err(VerifyError::LimitExceeded(format!(
                        "more than {MAX_BATCH} items in one batch"
                    )))
                })
                .collect();
        }
        // Below this many items per thread, spawning costs more than it saves.
        let threads = threads.clamp(1, items.len().div_ceil(MIN_ITEMS_PER_THREAD).max(1));
        let chunk = items.len().div_ceil(threads).max(1);
        if threads <= 1 {
            return self.verify_chunk(items, now);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| scope.spawn(move || self.verify_chunk(part, now)))
                .collect();
            handles
                .into_iter()
                .zip(items.chunks(chunk))
                .flat_map(|(handle, part)| {
                    // A panicking thread still yields one verdict per item of its
                    // share, so verdicts never shift onto other items.
                    handle.join().unwrap_or_else(|_| {
                        part.iter()
                            .map(|_| {
                                Err(VerifyError::malformed(
                                    "internal error in a verification thread",
                                ))
                            })
                            .collect()
                    })
                })
                .collect()
        })
    }

    /// The batch path for one thread's share.
    fn verify_chunk(
        &self,
        items: &[BatchItem<'_>],
        now: u64,
    ) -> Vec<Result<Verified, VerifyError>> {
        let slots: Vec<Slot> = items
            .iter()
            .map(
                |item| match self.check(item.presentation, Some(item.request), now) {
                    Ok(checked) => Slot::Pending(Box::new(checked)),
                    Err(error) => Slot::Failed(error),
                },
            )
            .collect();

        // Each item's Ed25519 signatures as batch entries, hashed once; `None` when
        // one cannot be an entry (it then fails on the single path).
        let entries: Vec<Option<Vec<batch::Item>>> = slots.iter().map(ed25519_entries).collect();
        let batchable: Vec<usize> = (0..slots.len()).filter(|&i| entries[i].is_some()).collect();
        let mut ed25519_valid = vec![false; slots.len()];
        bisect(&batchable, &mut ed25519_valid, &|indices| {
            batch_passes(
                indices
                    .iter()
                    .filter_map(|&i| entries[i].as_ref())
                    .flatten(),
            )
        });

        slots
            .into_iter()
            .zip(ed25519_valid)
            .map(|(slot, ed25519_verified)| match slot {
                Slot::Failed(error) => Err(error),
                Slot::Pending(checked) if ed25519_verified => checked.finish_skipping_ed25519(),
                // Not in a passing batch: every signature again, one by one, in order.
                Slot::Pending(checked) => checked.finish(),
            })
            .collect()
    }
}

/// Marks `valid[i]` for every index in a group whose batch passes. A failing group
/// is halved: a passing half is marked and the search goes on in the other; when
/// both halves fail, failures are widespread and the items are left to the single
/// path, which bounds the cost of an all-invalid batch to about twice the single
/// path's signature work. Groups under [`MIN_GROUP`] are left to the single path.
fn bisect(indices: &[usize], valid: &mut [bool], batch_ok: &dyn Fn(&[usize]) -> bool) {
    if indices.len() < MIN_GROUP {
        return;
    }
    if batch_ok(indices) {
        mark(indices, valid);
    } else {
        search_failed(indices, valid, batch_ok);
    }
}

/// `indices` is known to fail as a whole.
fn search_failed(indices: &[usize], valid: &mut [bool], batch_ok: &dyn Fn(&[usize]) -> bool) {
    if indices.len() < 2 * MIN_GROUP {
        return;
    }
    let (left, right) = indices.split_at(indices.len() / 2);
    if batch_ok(left) {
        mark(left, valid);
        search_failed(right, valid, batch_ok);
    } else if batch_ok(right) {
        mark(right, valid);
        search_failed(left, valid, batch_ok);
    }
}

fn mark(indices: &[usize], valid: &mut [bool]) {
    for &index in indices {
        valid[index] = true;
    }
}

/// Verifies many Ed25519 signatures `(key, message, signature)` with the batch
/// path (randomized batches, same-key terms merged, bisection on failure) and
/// returns one verdict per item: the batch's own verdict (a failing item ends
/// in a batch of one). Both this and [`PublicKey::verify`] follow the ZIP-215
/// rules, so the verdicts agree; the tests check it on the ed25519-speccheck cases.
pub fn verify_ed25519_batch(items: &[(&PublicKey, &[u8], &[u8])]) -> Vec<bool> {
    let mut valid = vec![false; items.len()];
    let entries: Vec<Option<batch::Item>> = items
        .iter()
        .map(|(key, message, signature)| batch_item(key, message, signature))
        .collect();
    let candidates: Vec<usize> = (0..items.len()).filter(|&i| entries[i].is_some()).collect();
    let batch_ok =
        |indices: &[usize]| batch_passes(indices.iter().filter_map(|&i| entries[i].as_ref()));
    bisect(&candidates, &mut valid, &batch_ok);
    // What bisection left to the single path is decided here by batches of one, so
    // every verdict comes from the batch equation.
    for &index in &candidates {
        if !valid[index] {
            valid[index] = batch_ok(&[index]);
        }
    }
    valid
}

/// One Ed25519 signature as a batch entry (its challenge hashed once); `None` for
/// another key type or a signature of the wrong length.
fn batch_item(key: &PublicKey, message: &[u8], signature: &[u8]) -> Option<batch::Item> {
    let PublicKey::Ed25519(key) = key else {
        return None;
    };
    let signature = ed25519_signature(signature).ok()?;
    Some(batch::Item::from((
        ed25519_zebra::VerificationKeyBytes::from(*key),
        signature,
        message,
    )))
}

/// One randomized batch over `entries` (ZIP-215; entries under the same key share
/// one term of the batch equation).
fn batch_passes<'i>(entries: impl Iterator<Item = &'i batch::Item>) -> bool {
    let mut verifier = batch::Verifier::new();
    for entry in entries {
        verifier.queue(entry.clone());
    }
    verifier.verify(OsRng).is_ok()
}

/// The Ed25519 signatures of a pending item as batch entries.
fn ed25519_entries(slot: &Slot) -> Option<Vec<batch::Item>> {
    let Slot::Pending(checked) = slot else {
        return None;
    };
    checked
        .signatures
        .iter()
        .filter(|signature| signature.alg == Algorithm::EdDSA)
        .map(|signature| batch_item(&signature.key, &signature.message, &signature.signature))
        .collect()
}
