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
        let threads = threads.clamp(1, items.len().max(1));
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
                .flat_map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        vec![Err(VerifyError::malformed(
                            "internal error in a verification thread",
                        ))]
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

        // Items whose Ed25519 signatures all verified in a batch.
        let pending: Vec<usize> = (0..slots.len())
            .filter(|&i| matches!(slots[i], Slot::Pending(_)))
            .collect();
        let mut ed25519_valid = vec![false; slots.len()];
        bisect(&pending, &mut ed25519_valid, &|indices| {
            ed25519_batch(&slots, indices)
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

/// Marks `valid[i]` for every index in a passing group; a failing group is split in
/// halves until the failing indices stand alone (and stay `false`).
fn bisect(indices: &[usize], valid: &mut [bool], batch_ok: &dyn Fn(&[usize]) -> bool) {
    if indices.is_empty() {
        return;
    }
    if batch_ok(indices) {
        for &index in indices {
            valid[index] = true;
        }
    } else if indices.len() > 1 {
        let (left, right) = indices.split_at(indices.len() / 2);
        bisect(left, valid, batch_ok);
        bisect(right, valid, batch_ok);
    }
}

/// Verifies many Ed25519 signatures `(key, message, signature)` with the batch
/// path (randomized batches, same-key terms merged, bisection on failure) and
/// returns one verdict per item: the batch's own verdict (a failing item ends
/// in a batch of one). Both this and [`PublicKey::verify`] follow the ZIP-215
/// rules, so the verdicts agree; the tests check it on the ed25519-speccheck cases.
pub fn verify_ed25519_batch(items: &[(&PublicKey, &[u8], &[u8])]) -> Vec<bool> {
    let mut valid = vec![false; items.len()];
    let candidates: Vec<usize> = (0..items.len())
        .filter(|&i| matches!(items[i].0, PublicKey::Ed25519(_)) && items[i].2.len() == 64)
        .collect();
    bisect(&candidates, &mut valid, &|indices| {
        let mut verifier = batch::Verifier::new();
        for &index in indices {
            let (PublicKey::Ed25519(key), message, signature) = items[index] else {
                return false;
            };
            let Ok(signature) = ed25519_signature(signature) else {
                return false;
            };
            verifier.queue((
                ed25519_zebra::VerificationKeyBytes::from(*key),
                signature,
                message,
            ));
        }
        verifier.verify(OsRng).is_ok()
    });
    valid
}

/// True when every Ed25519 signature of the items at `indices` verifies, in one
/// randomized batch (ZIP-215; signatures under the same key share one term).
fn ed25519_batch(slots: &[Slot], indices: &[usize]) -> bool {
    let mut verifier = batch::Verifier::new();
    for &index in indices {
        let Slot::Pending(checked) = &slots[index] else {
            continue;
        };
        for signature in checked
            .signatures
            .iter()
            .filter(|s| s.alg == Algorithm::EdDSA)
        {
            let PublicKey::Ed25519(key) = &signature.key else {
                return false;
            };
            let Ok(sig) = ed25519_signature(&signature.signature) else {
                return false;
            };
            verifier.queue((
                ed25519_zebra::VerificationKeyBytes::from(*key),
                sig,
                &signature.message,
            ));
        }
    }
    verifier.verify(OsRng).is_ok()
}
