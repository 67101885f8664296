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

mod kdf;
#[cfg(test)]
mod tests;

use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rand_core::{OsRng, RngCore as _};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM, NONCE_LEN};
use serde_json::{Map, Value};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::encoding::{b64url_decode, b64url_encode, parse_json};
use crate::error::truncate;

/// The only key management algorithm: ECDH-ES, Direct Key Agreement.
pub const ALG_ECDH_ES: &str = "ECDH-ES";
/// AES-GCM authentication tag length (RFC 7518 §5.3: 128 bits).
const TAG_LEN: usize = 16;

/// A content encryption algorithm (RFC 7518 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Enc {
    /// AES-GCM with a 128-bit key: OpenID4VP's default (§5.1,
    /// `encrypted_response_enc_values_supported`).
    A128GCM,
    /// AES-GCM with a 256-bit key: HAIP 1.0 §5 has Verifiers support it and Wallets
    /// prefer it when both are offered.
    A256GCM,
}

impl Enc {
    /// The `enc` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Enc::A128GCM => "A128GCM",
            Enc::A256GCM => "A256GCM",
        }
    }

    /// Reads an `enc` value; `None` for anything else (`A128CBC-HS256`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "A128GCM" => Some(Enc::A128GCM),
            "A256GCM" => Some(Enc::A256GCM),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Enc::A128GCM => 16,
            Enc::A256GCM => 32,
        }
    }

    fn aead(self) -> &'static ring::aead::Algorithm {
        match self {
            Enc::A128GCM => &AES_128_GCM,
            Enc::A256GCM => &AES_256_GCM,
        }
    }
}

impl std::fmt::Display for Enc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bounds on a JWE to decrypt, checked before any decoding or key agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JweLimits {
    /// Longest compact JWE read, in bytes. Default 512 KiB: a response carrying a
    /// few presentations of the default 64 KiB limit each.
    pub max_compact_bytes: usize,
    /// Largest decoded protected header, in bytes. Default 4 KiB (an `epk`, a
    /// `kid`, `apu` and `apv` fit in a few hundred).
    pub max_header_bytes: usize,
    /// Deepest nesting of the protected header. Default 4 (the header holds one
    /// object, `epk`).
    pub max_header_depth: usize,
}

impl Default for JweLimits {
    fn default() -> Self {
        JweLimits {
            max_compact_bytes: 512 * 1024,
            max_header_bytes: 4 * 1024,
            max_header_depth: 4,
        }
    }
}

impl JweLimits {
    /// Returns the limits with `max_compact_bytes` set.
    pub fn with_max_compact_bytes(mut self, bytes: usize) -> Self {
        self.max_compact_bytes = bytes;
        self
    }

    /// Returns the limits with `max_header_bytes` set.
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Returns the limits with `max_header_depth` set.
    pub fn with_max_header_depth(mut self, depth: usize) -> Self {
        self.max_header_depth = depth;
        self
    }
}

/// Why a JWE was not made or not opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JweError {
    /// Not a compact JWE, or a member has the wrong form (RFC 7516 §7.1, §4.1).
    #[error("malformed JWE: {0}")]
    Malformed(String),
    /// The JWE or its header is larger or deeper than [`JweLimits`] allow.
    #[error("JWE limit exceeded: {0}")]
    LimitExceeded(String),
    /// The `alg` is not `ECDH-ES` (the only one supported, RFC 7518 §4.6).
    #[error("JWE alg {0:?} is not supported: only ECDH-ES (RFC 7518 §4.6)")]
    UnsupportedAlgorithm(String),
    /// The `enc` is not one the caller accepts.
    #[error("JWE enc {0:?} is not accepted")]
    EncNotAccepted(String),
    /// The header carries `zip`: compressed plaintexts are refused (a decompression
    /// bomb would pass every size limit).
    #[error("JWE is compressed (zip): refused")]
    Compressed,
    /// The header lists critical extensions (RFC 7516 §4.1.13); none is supported.
    #[error("JWE header lists critical extensions (crit) that are not supported")]
    CriticalHeader,
    /// The encrypted key part is not empty, as Direct Key Agreement requires
    /// (RFC 7518 §4.6).
    #[error("JWE encrypted key must be empty for ECDH-ES (RFC 7518 §4.6)")]
    EncryptedKeyPresent,
    /// The `epk` is missing or not a P-256 public key on the curve.
    #[error("JWE epk is not a P-256 public key: {0}")]
    InvalidEphemeralKey(String),
    /// The tag does not verify: a wrong key or an altered JWE. Deliberately says no
    /// more.
    #[error("JWE does not decrypt (wrong key, or the JWE was altered)")]
    DecryptionFailed,
    /// Encryption could not run (API misuse, not attacker input).
    #[error("JWE encryption failed: {0}")]
    EncryptionFailed(String),
}

/// A decrypted JWE: the plaintext and the header members a caller may check.
///
/// `Debug` prints the plaintext's length only; the plaintext is zeroized on drop.
pub struct Decrypted {
    enc: Enc,
    kid: Option<String>,
    plaintext: Zeroizing<Vec<u8>>,
}

impl Decrypted {
    /// The content encryption algorithm the JWE used.
    pub fn enc(&self) -> Enc {
        self.enc
    }

    /// The header's `kid`: which of the recipient's keys the sender chose
    /// (OpenID4VP 1.0 §8.3 has it copied from the chosen JWK).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The plaintext.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The plaintext, by value (still zeroized on drop).
    pub fn into_plaintext(self) -> Zeroizing<Vec<u8>> {
        self.plaintext
    }
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("enc", &self.enc)
            .field("kid", &self.kid)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

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

/// The public JWK of a P-256 key: `{kty, crv, x, y}`.
pub fn public_jwk(key: &p256::PublicKey) -> Value {
    let point = key.to_encoded_point(false);
    let mut jwk = Map::new();
    jwk.insert("kty".into(), "EC".into());
    jwk.insert("crv".into(), "P-256".into());
    if let (Some(x), Some(y)) = (point.x(), point.y()) {
        jwk.insert("x".into(), b64url_encode(x).into());
        jwk.insert("y".into(), b64url_encode(y).into());
    }
    Value::Object(jwk)
}

/// Reads a public P-256 JWK (`kty: EC`, `crv: P-256`, 32-byte `x` and `y` on the
/// curve); a JWK with private material (`d`) is refused.
pub(crate) fn p256_from_jwk(jwk: &Value) -> Result<p256::PublicKey, String> {
    let obj = jwk.as_object().ok_or("not a JSON object")?;
    if obj.contains_key("d") {
        return Err("it carries private key material (d)".into());
    }
    let member = |name: &str| obj.get(name).and_then(Value::as_str);
    if member("kty") != Some("EC") || member("crv") != Some("P-256") {
        return Err("kty must be EC and crv P-256".into());
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    for name in ["x", "y"] {
        let coordinate = member(name)
            .and_then(|text| b64url_decode(text, name).ok())
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| format!("{name} must be 32 bytes of base64url"))?;
        sec1.extend_from_slice(&coordinate);
    }
    p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| "the point is not on P-256".into())
}

/// The protected header members this module acts on.
struct Header {
    enc: Enc,
    epk: p256::PublicKey,
    kid: Option<String>,
    apu: Vec<u8>,
    apv: Vec<u8>,
}

impl Header {
    fn read(header: &Map<String, Value>, accepted_enc: &[Enc]) -> Result<Self, JweError> {
        match header.get("alg") {
            Some(Value::String(alg)) if alg == ALG_ECDH_ES => {}
            Some(Value::String(alg)) => return Err(JweError::UnsupportedAlgorithm(truncate(alg))),
            _ => return Err(JweError::Malformed("the header has no string alg".into())),
        }
        let enc = match header.get("enc") {
            Some(Value::String(name)) => Enc::from_name(name)
                .filter(|enc| accepted_enc.contains(enc))
                .ok_or_else(|| JweError::EncNotAccepted(truncate(name)))?,
            _ => return Err(JweError::Malformed("the header has no string enc".into())),
        };
        if header.contains_key("zip") {
            return Err(JweError::Compressed);
        }
        if header.contains_key("crit") {
            return Err(JweError::CriticalHeader);
        }
        let epk = header
            .get("epk")
            .ok_or_else(|| JweError::InvalidEphemeralKey("the header has no epk".into()))?;
        let epk = p256_from_jwk(epk).map_err(JweError::InvalidEphemeralKey)?;
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(JweError::Malformed("kid must be a string".into())),
        };
        Ok(Header {
            enc,
            epk,
            kid,
            apu: optional_b64(header, "apu")?.unwrap_or_default(),
            apv: optional_b64(header, "apv")?.unwrap_or_default(),
        })
    }
}

fn optional_b64(header: &Map<String, Value>, name: &str) -> Result<Option<Vec<u8>>, JweError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => decode(text, name).map(Some),
        Some(_) => Err(JweError::Malformed(format!("{name} must be a string"))),
    }
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, JweError> {
    b64url_decode(text, what)
        .map_err(|_| JweError::Malformed(format!("the {what} is not base64url")))
}

fn aead_key(enc: Enc, cek: &[u8]) -> Result<LessSafeKey, ring::error::Unspecified> {
    UnboundKey::new(enc.aead(), cek).map(LessSafeKey::new)
}
