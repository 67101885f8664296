//! The verifier service's state secret: what lets several nodes share request state
//! without anything readable at rest.
//!
//! One 32-byte secret (a file the operator gives every node, or, for a single node
//! with embedded state, one generated beside it) derives, with HKDF-SHA-256:
//! - the key sealing each stored request and verdict (XChaCha20-Poly1305, the
//!   request id as associated data, so a blob cannot be moved to another request);
//! - each request's response-encryption key (P-256, HAIP's "fresh key per
//!   request"), rebuilt from the request id when the response arrives, so no
//!   private key is ever stored;
//! - the key authenticating the authorization server's token-request nonces.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::CliError;

/// Length of the secret, in bytes.
const SECRET_BYTES: usize = 32;
/// Length of an XChaCha20 nonce.
const NONCE_BYTES: usize = 24;

/// The state secret. Never printed; zeroized on drop.
pub(crate) struct StateSecret {
    secret: Zeroizing<[u8; SECRET_BYTES]>,
    seal_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for StateSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSecret(…)")
    }
}

/// A sealed blob could not be opened: it was altered, belongs to another request,
/// or was sealed under another secret.
#[derive(Debug, thiserror::Error)]
#[error("stored request state does not open under this node's state secret")]
pub(crate) struct Unsealable;

impl StateSecret {
    /// Reads the secret from `path` (32 random bytes, or their base64url or hex form).
    pub(crate) fn read(path: &Path) -> Result<Self, CliError> {
        let raw = Zeroizing::new(crate::io::read_bounded(&path.to_string_lossy(), 256)?);
        let text = std::str::from_utf8(&raw).map(str::trim).unwrap_or_default();
        let decoded: Option<Zeroizing<Vec<u8>>> = if raw.len() == SECRET_BYTES {
            Some(Zeroizing::new(raw.to_vec()))
        } else {
            decode_hex(text).or_else(|| {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text.trim_end_matches('='))
                    .ok()
                    .map(Zeroizing::new)
            })
        };
        let bytes = decoded
            .filter(|bytes| bytes.len() == SECRET_BYTES)
            .ok_or_else(|| {
                CliError::usage(format!(
                    "{}: a state secret is 32 bytes (raw, base64url or hex)",
                    path.display()
                ))
            })?;
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        secret.copy_from_slice(&bytes);
        Ok(Self::from_bytes(secret))
    }

    /// Reads the secret at `path`, or creates it (mode 0600) when it does not exist:
    /// for a single node whose embedded state lives beside it.
    pub(crate) fn read_or_create(path: &Path) -> Result<Self, CliError> {
        if !path.exists() {
            let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
            OsRng.fill_bytes(secret.as_mut());
            write_private(path, secret.as_ref())?;
        }
        Self::read(path)
    }

    fn from_bytes(secret: Zeroizing<[u8; SECRET_BYTES]>) -> Self {
        let mut seal_key = Zeroizing::new([0u8; 32]);
        expand(
            secret.as_ref(),
            b"agentid oid4vp state seal v1",
            seal_key.as_mut(),
        );
        StateSecret { secret, seal_key }
    }

    /// A fresh secret in memory (tests and `request create`).
    pub(crate) fn generate() -> Self {
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        OsRng.fill_bytes(secret.as_mut());
        Self::from_bytes(secret)
    }

    /// Seals `plaintext` for the request `id`.
    pub(crate) fn seal(&self, id: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.seal_key.as_ref().into());
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let sealed = cipher.encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: id.as_bytes(),
            },
        );
        // Encryption with a valid key and nonce cannot fail; an empty blob would
        // fail to open, never be mistaken for data.
        let mut out = nonce.to_vec();
        out.extend(sealed.unwrap_or_default());
        out
    }

    /// Opens a blob sealed for the request `id`.
    pub(crate) fn open(&self, id: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Unsealable> {
        if sealed.len() < NONCE_BYTES {
            return Err(Unsealable);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Unsealable)?;
        let cipher = XChaCha20Poly1305::new(self.seal_key.as_ref().into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: id.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Unsealable)
    }

    /// The bearer secret that reads request `id`'s result: derived, so every node
    /// can check it and none stores it.
    pub(crate) fn result_key(&self, id: &str) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        let mut info = b"agentid oid4vp result key v1 ".to_vec();
        info.extend_from_slice(id.as_bytes());
        expand(self.secret.as_ref(), &info, bytes.as_mut());
        Zeroizing::new(agentid_verifier::b64url_encode(bytes.as_ref()))
    }

    /// The key the authorization server's nonces are authenticated with: the same on
    /// every node holding this secret, so any node checks a nonce another made.
    pub(crate) fn nonce_key(&self) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        expand(
            self.secret.as_ref(),
            b"agentid authz nonce key v1",
            key.as_mut(),
        );
        key
    }

    /// The key the issuer service's `c_nonce`s are authenticated with (another
    /// key than the authorization server's: a nonce of one is never one of the other).
    pub(crate) fn credential_nonce_key(&self) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        expand(
            self.secret.as_ref(),
            b"agentid issuer c_nonce key v1",
            key.as_mut(),
        );
        key
    }

    /// The response-encryption key of request `id`: the same on every node holding
    /// this secret, different for every request.
    pub(crate) fn response_key(&self, id: &str) -> p256::SecretKey {
        let mut counter = 0u32;
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            let mut info = b"agentid oid4vp response key v1 ".to_vec();
            info.extend_from_slice(&counter.to_be_bytes());
            info.extend_from_slice(id.as_bytes());
            expand(self.secret.as_ref(), &info, bytes.as_mut());
            // Out-of-range scalars (probability ~2^-32) are drawn again.
            if let Ok(key) = p256::SecretKey::from_slice(bytes.as_ref()) {
                return key;
            }
            counter = counter.wrapping_add(1);
        }
    }
}

fn expand(secret: &[u8], info: &[u8], out: &mut [u8]) {
    let hkdf = Hkdf::<Sha256>::new(None, secret);
    // 32 bytes is far below HKDF-SHA-256's 8160-byte ceiling.
    let _ = hkdf.expand(info, out);
}

fn decode_hex(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(Zeroizing::new(bytes))
}

/// Writes a new file readable by its owner only (never over an existing one).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| CliError::failed(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_blob_opens_only_for_its_request_and_secret() {
        let secret = StateSecret::generate();
        let sealed = secret.seal("req-1", b"dcql and nonce");
        assert_eq!(
            secret.open("req-1", &sealed).unwrap().as_slice(),
            b"dcql and nonce"
        );
        assert!(secret.open("req-2", &sealed).is_err());
        assert!(StateSecret::generate().open("req-1", &sealed).is_err());
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(secret.open("req-1", &altered).is_err());
        assert!(secret.open("req-1", &sealed[..10]).is_err());
    }

    #[test]
    fn response_keys_are_per_request_and_reproducible() {
        let secret = StateSecret::generate();
        assert_eq!(
            secret.response_key("a").to_bytes(),
            secret.response_key("a").to_bytes()
        );
        assert_ne!(
            secret.response_key("a").to_bytes(),
            secret.response_key("b").to_bytes()
        );
    }

    #[test]
    fn a_secret_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let first = StateSecret::read_or_create(&path).unwrap();
        let second = StateSecret::read_or_create(&path).unwrap();
        assert_eq!(
            first.response_key("x").to_bytes(),
            second.response_key("x").to_bytes()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(StateSecret::read(&path).is_err());
    }
}
