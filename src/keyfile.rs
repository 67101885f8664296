//! Private keys from PEM files: the authorization server's token key, an issuer
//! caller's assertion key.

use std::path::Path;

use agentid_verifier::Algorithm;
use agentid_wallet::SigningKey;
use zeroize::Zeroizing;

use crate::error::CliError;

/// Largest key file read, in bytes.
const MAX_KEY_FILE_BYTES: usize = 16 * 1024;

/// Reads a PKCS#8 PEM private key: P-256 (ES256; SEC1 PEM too) or Ed25519 (EdDSA).
pub(crate) fn read_private_key(path: &Path) -> Result<SigningKey, CliError> {
    use p256::pkcs8::der::Decode as _;
    if let Ok(key) = crate::oid4vp::identity::read_p256_key(path) {
        return Ok(key);
    }
    let bytes = Zeroizing::new(crate::io::read_bounded(
        &path.to_string_lossy(),
        MAX_KEY_FILE_BYTES,
    )?);
    let refused = || {
        CliError::usage(format!(
            "{}: not a P-256 or Ed25519 private key in PKCS#8 PEM",
            path.display()
        ))
    };
    let pem = std::str::from_utf8(&bytes).map_err(|_| refused())?;
    let (label, document) = p256::pkcs8::SecretDocument::from_pem(pem).map_err(|_| refused())?;
    if label != "PRIVATE KEY" {
        return Err(refused());
    }
    let info = p256::pkcs8::PrivateKeyInfo::from_der(document.as_bytes()).map_err(|_| refused())?;
    // RFC 8410: id-Ed25519, the key an OCTET STRING of 32 bytes inside the field.
    const ED25519: p256::pkcs8::ObjectIdentifier =
        p256::pkcs8::ObjectIdentifier::new_unwrap("1.3.101.112");
    if info.algorithm.oid != ED25519 {
        return Err(refused());
    }
    let seed = match info.private_key {
        [0x04, 0x20, seed @ ..] if seed.len() == 32 => Zeroizing::new(seed.to_vec()),
        _ => return Err(refused()),
    };
    SigningKey::from_secret_bytes(Algorithm::EdDSA, &seed)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}
