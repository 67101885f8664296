//! The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A §5.8.1, single-step, SHA-256),
//! as ECDH-ES in Direct Key Agreement mode uses it: the derived key is the content
//! encryption key.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Derives `key_len` bytes (at most 32: one SHA-256 round, enough for A128GCM and
/// A256GCM) from the shared secret `z`.
///
/// `OtherInfo` = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo, where each
/// of the first three is a 32-bit big-endian length followed by the bytes
/// (AlgorithmID is the `enc` value in Direct Key Agreement mode, PartyUInfo and
/// PartyVInfo the decoded `apu` and `apv`, empty when absent) and SuppPubInfo is the
/// key length in bits, 32-bit big-endian. SuppPrivInfo is empty.
pub(super) fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut hash = Sha256::new();
    // The round counter: one round, since key_len ≤ 32.
    hash.update(1u32.to_be_bytes());
    hash.update(z);
    for field in [algorithm_id.as_bytes(), apu, apv] {
        hash.update(length_prefix(field.len()));
        hash.update(field);
    }
    hash.update(length_prefix(key_len * 8));
    let digest = Zeroizing::new(<[u8; 32]>::from(hash.finalize()));
    Zeroizing::new(digest[..key_len.min(32)].to_vec())
}

/// A 32-bit big-endian length. Every length here is bounded by the header limit,
/// far below 2^32; a larger one saturates rather than wraps.
fn length_prefix(len: usize) -> [u8; 4] {
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}
