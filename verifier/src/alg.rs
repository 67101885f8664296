//! The JWS algorithms agentid accepts.

use crate::error::VerifyError;

/// A JWS signature algorithm on the allow-list.
///
/// `none`, HMAC (`HS*`) and RSA are never accepted: a verifier that trusts a public
/// key must not let the token choose a symmetric or unsigned check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8037). The RFC 9864 name `Ed25519` is accepted as a synonym.
    EdDSA,
    /// ECDSA over secp256k1 with SHA-256 (RFC 8812).
    ES256K,
    /// ECDSA over P-256 with SHA-256 (RFC 7518).
    ES256,
}

impl Algorithm {
    /// The name this crate writes in JWS headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256K => "ES256K",
            Algorithm::ES256 => "ES256",
        }
    }

    /// Reads an `alg` header value.
    ///
    /// # Errors
    /// [`VerifyError::AlgorithmNotAllowed`] for anything off the allow-list.
    pub fn from_header(alg: &str) -> Result<Self, VerifyError> {
        match alg {
            "EdDSA" | "Ed25519" => Ok(Algorithm::EdDSA),
            "ES256K" => Ok(Algorithm::ES256K),
            "ES256" => Ok(Algorithm::ES256),
            other => Err(VerifyError::AlgorithmNotAllowed(
                other.chars().take(32).collect(),
            )),
        }
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_hmac_and_rsa_are_refused() {
        for alg in [
            "none", "None", "HS256", "HS512", "RS256", "PS256", "ES384", "",
        ] {
            assert!(
                matches!(
                    Algorithm::from_header(alg),
                    Err(VerifyError::AlgorithmNotAllowed(_))
                ),
                "{alg} must be refused"
            );
        }
    }

    #[test]
    fn rfc9864_ed25519_name_is_accepted() {
        assert_eq!(Algorithm::from_header("Ed25519"), Ok(Algorithm::EdDSA));
    }
}
