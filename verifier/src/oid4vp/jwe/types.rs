//! The JWE vocabulary: `enc` values, limits, errors, and the decrypted result.

use ring::aead::{AES_128_GCM, AES_256_GCM};
use thiserror::Error;
use zeroize::Zeroizing;

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

    pub(super) fn key_len(self) -> usize {
        match self {
            Enc::A128GCM => 16,
            Enc::A256GCM => 32,
        }
    }

    pub(super) fn aead(self) -> &'static ring::aead::Algorithm {
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
    pub(super) enc: Enc,
    pub(super) kid: Option<String>,
    pub(super) plaintext: Zeroizing<Vec<u8>>,
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
