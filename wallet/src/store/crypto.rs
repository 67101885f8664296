//! The wallet's cryptography at rest: Argon2id key derivation, XChaCha20-Poly1305
//! sealing with associated data, and keyed tags for lookups.

use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::kdf::KdfParams;
use super::StoreError;

/// Bytes of an XChaCha20-Poly1305 nonce.
const NONCE_LEN: usize = 24;
/// Bytes of a keyed lookup tag.
pub(crate) const TAG_LEN: usize = 16;

/// A 256-bit symmetric key. Zeroized on drop; `Debug` prints nothing of it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub(crate) fn random() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        SecretKey(key)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt("key length".into()))?;
        Ok(SecretKey(array))
    }

    /// Declassifying: the raw key, only to be sealed under another key.
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// Derives a key from a passphrase with Argon2id.
    pub(crate) fn derive(
        passphrase: &[u8],
        salt: &[u8],
        params: &KdfParams,
    ) -> Result<Self, StoreError> {
        params.check()?;
        let argon_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(|error| StoreError::InvalidKdfParams(error.to_string()))?;
        let argon = Argon2::new(Argon2Algorithm::Argon2id, Version::V0x13, argon_params);
        let mut key = [0u8; 32];
        argon
            .hash_password_into(passphrase, salt, &mut key)
            .map_err(|error| StoreError::InvalidKdfParams(error.to_string()))?;
        Ok(SecretKey(key))
    }

    /// Derives an independent subkey for one purpose (HKDF-SHA256).
    pub(crate) fn subkey(&self, label: &str) -> Self {
        let hkdf = Hkdf::<Sha256>::new(None, &self.0);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
        let _ = hkdf.expand(label.as_bytes(), &mut key);
        SecretKey(key)
    }

    /// Encrypts `plaintext` with a fresh random nonce; `aad` binds it to its place.
    /// Output: nonce ‖ ciphertext ‖ tag.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce only fails past 2^38 bytes.
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts what [`seal`](Self::seal) produced under the same `aad`.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(StoreError::Corrupt("sealed record too short".into()));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| StoreError::Tampered)?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| StoreError::Tampered)
    }

    /// A keyed tag (HMAC-SHA256, truncated to 128 bits): equal inputs give equal
    /// tags, and nobody without the key learns anything from a tag.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

/// HMAC accepts keys of any length.
#[cold]
fn unreachable_hmac() -> ! {
    unreachable!("HMAC-SHA256 accepts a 32-byte key")
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_only_with_the_same_key_and_aad() {
        let key = SecretKey::random();
        let sealed = key.seal(b"credential\0a", b"secret claims");
        assert_eq!(
            key.open(b"credential\0a", &sealed)
                .expect("opens")
                .as_slice(),
            b"secret claims"
        );
        assert!(matches!(
            key.open(b"credential\0b", &sealed),
            Err(StoreError::Tampered)
        ));
        assert!(matches!(
            SecretKey::random().open(b"credential\0a", &sealed),
            Err(StoreError::Tampered)
        ));
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(matches!(
            key.open(b"credential\0a", &flipped),
            Err(StoreError::Tampered)
        ));
    }

    #[test]
    fn subkeys_and_tags_are_independent() {
        let key = SecretKey::random();
        assert_ne!(key.subkey("a").expose(), key.subkey("b").expose());
        assert_ne!(key.tag(&[b"ab", b"c"]), key.tag(&[b"a", b"bc"]));
        assert_eq!(key.tag(&[b"x"]), key.tag(&[b"x"]));
    }

    #[test]
    fn kdf_parameters_below_the_minimum_are_refused() {
        let weak = KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        assert!(SecretKey::derive(b"pw", b"saltsaltsaltsalt", &weak).is_err());
        let a = SecretKey::derive(b"pw", b"saltsaltsaltsalt", &KdfParams::MINIMUM).expect("derive");
        let b = SecretKey::derive(b"pw", b"saltsaltsaltsalt", &KdfParams::MINIMUM).expect("derive");
        assert_eq!(a.expose(), b.expose());
    }
}
