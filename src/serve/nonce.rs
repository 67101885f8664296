//! Server nonces (the token endpoint's, the issuer's `c_nonce`s): stateless to hand
//! out, single use to spend.
//!
//! A nonce is `base64url(expiry (8 bytes, big-endian seconds) || 16 random bytes ||
//! HMAC-SHA-256(key, expiry || random) truncated to 16 bytes)`, the key derived from
//! the state secret ([`crate::oid4vp::secret::StateSecret::nonce_key`]). Handing one
//! out writes nothing, so the unauthenticated nonce endpoint cannot fill the store;
//! any node sharing the secret checks it; spending it records its digest in the
//! state store until it expires ([`crate::serve::state::marks`]), only once the
//! presentation carrying it verified.

use agentid_verifier::b64url_encode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

const RANDOM_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
const NONCE_BYTES: usize = 8 + RANDOM_BYTES + TAG_BYTES;

/// Makes and checks nonces under one key.
pub(super) struct NonceKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(…)")
    }
}

impl NonceKey {
    pub(super) fn new(key: Zeroizing<[u8; 32]>) -> Self {
        NonceKey { key }
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_BYTES] {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    /// A fresh nonce that expires at `expires_at`.
    pub(super) fn issue(&self, expires_at: u64) -> String {
        let mut bytes = [0u8; NONCE_BYTES];
        bytes[..8].copy_from_slice(&expires_at.to_be_bytes());
        OsRng.fill_bytes(&mut bytes[8..8 + RANDOM_BYTES]);
        let tag = self.tag(&bytes[..8 + RANDOM_BYTES]);
        bytes[8 + RANDOM_BYTES..].copy_from_slice(&tag);
        b64url_encode(&bytes)
    }

    /// The expiry of `nonce` if this key made it and it has not expired at `now`.
    pub(super) fn check(&self, nonce: &str, now: u64) -> Option<u64> {
        if nonce.len() > 64 {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()?;
        if bytes.len() != NONCE_BYTES {
            return None;
        }
        let (body, tag) = bytes.split_at(8 + RANDOM_BYTES);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_ref()).ok()?;
        mac.update(body);
        // Constant time, on the truncated tag.
        mac.verify_truncated_left(tag).ok()?;
        let expires_at = u64::from_be_bytes(body[..8].try_into().ok()?);
        (now < expires_at).then_some(expires_at)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_nonce_checks_under_its_key_until_it_expires() {
        let key = NonceKey::new(Zeroizing::new([1u8; 32]));
        let nonce = key.issue(1_000);
        assert_eq!(key.check(&nonce, 999), Some(1_000));
        assert_eq!(key.check(&nonce, 1_000), None);
        assert_ne!(key.issue(1_000), nonce, "random part");
        let other = NonceKey::new(Zeroizing::new([2u8; 32]));
        assert_eq!(other.check(&nonce, 999), None);
        // Any changed character: no longer this key's (the expiry is authenticated).
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&nonce)
            .unwrap();
        bytes[7] ^= 1;
        assert_eq!(key.check(&b64url_encode(&bytes), 999), None);
        for junk in ["", "x", &"A".repeat(54), &"A".repeat(100), "!!!!"] {
            assert_eq!(key.check(junk, 0), None);
        }
    }
}
