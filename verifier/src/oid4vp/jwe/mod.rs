//! Compact JWE (RFC 7516 §7.1) with `alg: ECDH-ES` in Direct Key Agreement mode
//! (RFC 7518 §4.6) on P-256, and `enc` `A128GCM` or `A256GCM` (RFC 7518 §5.3): the
//! encryption of OpenID4VP 1.0 §8.3 responses, as HAIP 1.0 §5 requires it.
//!
//! - The content encryption key is the Concat KDF output (RFC 7518 §4.6.2) over the
//!   ECDH shared secret, with AlgorithmID = the `enc` value and PartyUInfo /
//!   PartyVInfo = the decoded `apu` / `apv` when the header carries them.
//! - The additional authenticated data is the ASCII of the encoded protected header
//!   (RFC 7516 §5.1 step 14): changing any header byte breaks the tag.
//! - ECDH runs on RustCrypto `p256`, AES-GCM on `ring`; nothing here is hand-made
//!   but the KDF framing.
//!
//! Decryption refuses, before any key agreement: input over
//! [`JweLimits::max_compact_bytes`], a protected header over
//! [`JweLimits::max_header_bytes`] or nested deeper than
//! [`JweLimits::max_header_depth`], any `alg` but `ECDH-ES`, an `enc` outside the
//! caller's list, `zip` (compression), `crit`, a non-empty encrypted key, and an
//! `epk` that is not a P-256 point. A wrong key and any altered part give the same
//! opaque [`JweError::DecryptionFailed`].
//!
//! Limitation: `ring` does not zeroize its expanded AES key schedule when the key is
//! dropped; the derived key bytes held here are zeroized.

mod header;
mod kdf;
#[cfg(test)]
mod tests;
mod types;

use rand_core::{OsRng, RngCore as _};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::encoding::{b64url_encode, parse_json};
use header::{decode, optional_b64, Header};

pub(crate) use header::p256_from_jwk;
pub use header::public_jwk;
pub use types::{Decrypted, Enc, JweError, JweLimits};

/// The only key management algorithm: ECDH-ES, Direct Key Agreement.
pub const ALG_ECDH_ES: &str = "ECDH-ES";
/// AES-GCM authentication tag length (RFC 7518 §5.3: 128 bits).
const TAG_LEN: usize = 16;

/// Encrypts `plaintext` to `recipient` with a fresh ephemeral P-256 key and a fresh
/// 96-bit IV. The protected header is `{alg: ECDH-ES, enc, kid?, epk}`: `kid` names
/// the recipient's key, as OpenID4VP 1.0 §8.3 requires when the chosen JWK has one.
///
/// # Errors
/// [`JweError::EncryptionFailed`] if the AEAD refuses (not expected).
pub fn encrypt(
    recipient: &p256::PublicKey,
    kid: Option<&str>,
    enc: Enc,
    plaintext: &[u8],
) -> Result<String, JweError> {
    let ephemeral = p256::SecretKey::random(&mut OsRng);
    let mut iv = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut iv);
    let mut header = Map::new();
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    seal(recipient, header, enc, plaintext, &ephemeral, iv)
}

/// The encryption with every input given: `header` holds the members besides
/// `alg`, `enc` and `epk` (`kid`; in tests also `apu`/`apv`, which then enter the
/// KDF as they would on the receiving side).
fn seal(
    recipient: &p256::PublicKey,
    mut header: Map<String, Value>,
    enc: Enc,
    plaintext: &[u8],
    ephemeral: &p256::SecretKey,
    iv: [u8; NONCE_LEN],
) -> Result<String, JweError> {
    header.insert("alg".into(), ALG_ECDH_ES.into());
    header.insert("enc".into(), enc.as_str().into());
    header.insert("epk".into(), public_jwk(&ephemeral.public_key()));
    let apu = optional_b64(&header, "apu")?.unwrap_or_default();
    let apv = optional_b64(&header, "apv")?.unwrap_or_default();
    let header_b64 = b64url_encode(Value::Object(header).to_string().as_bytes());
    let shared = p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), recipient.as_affine());
    let cek = kdf::concat_kdf(
        shared.raw_secret_bytes(),
        enc.as_str(),
        &apu,
        &apv,
        enc.key_len(),
    );
    let key = aead_key(enc, &cek).map_err(|_| JweError::EncryptionFailed("bad key".into()))?;
    let mut in_out = Zeroizing::new(plaintext.to_vec());
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header_b64.as_bytes()),
            in_out.as_mut_slice(),
        )
        .map_err(|_| JweError::EncryptionFailed("plaintext too long".into()))?;
    // BASE64URL(header) . (empty encrypted key) . IV . ciphertext . tag
    Ok(format!(
        "{header_b64}..{}.{}.{}",
        b64url_encode(&iv),
        b64url_encode(&in_out),
        b64url_encode(tag.as_ref())
    ))
}

/// Decrypts a compact JWE addressed to `recipient`, accepting only the `enc`
/// values in `accepted_enc`.
///
/// # Errors
/// A [`JweError`] naming the refused member, or [`JweError::DecryptionFailed`].
pub fn decrypt(
    compact: &str,
    recipient: &p256::SecretKey,
    accepted_enc: &[Enc],
    limits: &JweLimits,
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    decrypt_with_header(compact, recipient, accepted_enc, limits).map(Decrypted::into_plaintext)
}

/// [`decrypt`], also returning the header's `enc` and `kid`.
///
/// # Errors
/// As [`decrypt`].
pub fn decrypt_with_header(
    compact: &str,
    recipient: &p256::SecretKey,
    accepted_enc: &[Enc],
    limits: &JweLimits,
) -> Result<Decrypted, JweError> {
    if compact.len() > limits.max_compact_bytes {
        return Err(JweError::LimitExceeded(format!(
            "the JWE is longer than {} bytes",
            limits.max_compact_bytes
        )));
    }
    let mut parts = compact.split('.');
    let (
        Some(header_b64),
        Some(encrypted_key),
        Some(iv_b64),
        Some(ciphertext_b64),
        Some(tag_b64),
        None,
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return Err(JweError::Malformed(
            "not a compact JWE (five parts, RFC 7516 §7.1)".into(),
        ));
    };
    // Base64 grows by 4/3: refuse an oversized header before decoding it.
    if header_b64.len() > limits.max_header_bytes.saturating_mul(4) / 3 + 4 {
        return Err(JweError::LimitExceeded(format!(
            "the protected header is larger than {} bytes",
            limits.max_header_bytes
        )));
    }
    let header_bytes = decode(header_b64, "protected header")?;
    if header_bytes.len() > limits.max_header_bytes {
        return Err(JweError::LimitExceeded(format!(
            "the protected header is larger than {} bytes",
            limits.max_header_bytes
        )));
    }
    let header = match parse_json(&header_bytes, limits.max_header_depth, "JWE header") {
        Ok(Value::Object(header)) => header,
        Ok(_) => {
            return Err(JweError::Malformed(
                "the header is not a JSON object".into(),
            ))
        }
        Err(crate::VerifyError::LimitExceeded(message)) => {
            return Err(JweError::LimitExceeded(message))
        }
        Err(_) => return Err(JweError::Malformed("the header is not JSON".into())),
    };
    let header = Header::read(&header, accepted_enc)?;
    if !encrypted_key.is_empty() {
        return Err(JweError::EncryptedKeyPresent);
    }
    let iv: [u8; NONCE_LEN] = decode(iv_b64, "IV")?
        .try_into()
        .map_err(|_| JweError::Malformed("the IV must be 96 bits (RFC 7518 §5.3)".into()))?;
    let tag = decode(tag_b64, "authentication tag")?;
    if tag.len() != TAG_LEN {
        return Err(JweError::Malformed(
            "the authentication tag must be 128 bits (RFC 7518 §5.3)".into(),
        ));
    }
    let ciphertext = decode(ciphertext_b64, "ciphertext")?;
    let mut in_out = Zeroizing::new(Vec::with_capacity(ciphertext.len() + TAG_LEN));
    in_out.extend_from_slice(&ciphertext);
    in_out.extend_from_slice(&tag);

    let shared = p256::ecdh::diffie_hellman(recipient.to_nonzero_scalar(), header.epk.as_affine());
    let cek = kdf::concat_kdf(
        shared.raw_secret_bytes(),
        header.enc.as_str(),
        &header.apu,
        &header.apv,
        header.enc.key_len(),
    );
    let key = aead_key(header.enc, &cek).map_err(|_| JweError::DecryptionFailed)?;
    let plaintext_len = key
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header_b64.as_bytes()),
            in_out.as_mut_slice(),
        )
        .map_err(|_| JweError::DecryptionFailed)?
        .len();
    in_out.truncate(plaintext_len);
    Ok(Decrypted {
        enc: header.enc,
        kid: header.kid,
        plaintext: in_out,
    })
}
fn aead_key(enc: Enc, cek: &[u8]) -> Result<LessSafeKey, ring::error::Unspecified> {
    UnboundKey::new(enc.aead(), cek).map(LessSafeKey::new)
}
