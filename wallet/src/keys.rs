//! Signing keys: Ed25519, secp256k1 and P-256, with did:key identities.

use agentid_verifier::{Algorithm, KeyError, PublicKey};
use rand_core::OsRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::WalletError;

/// A private signing key.
///
/// Invariants: the secret never appears in `Debug` output (only the algorithm and
/// the DID), it is zeroized when the key is dropped (the inner `ed25519-dalek`,
/// `k256` and `p256` types do so), and equality is constant-time. There is no
/// `Clone`: a secret has one owner.
pub struct SigningKey {
    secret: Secret,
    public: PublicKey,
}

enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl SigningKey {
    /// Generates a fresh key from the operating system's random number generator.
    pub fn generate(alg: Algorithm) -> Self {
        loop {
            let secret = match alg {
                Algorithm::EdDSA => {
                    Secret::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
                }
                Algorithm::ES256K => Secret::Secp256k1(k256::ecdsa::SigningKey::random(&mut OsRng)),
                // `Algorithm` is non-exhaustive; every other variant is P-256.
                _ => Secret::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            };
            // A random key whose public half the verifier would refuse (probability
            // about 2^-250) is drawn again.
            if let Ok(key) = Self::from_secret(secret) {
                return key;
            }
        }
    }

    /// Rebuilds a key from its secret bytes: a 32-byte Ed25519 seed, or a 32-byte
    /// big-endian ECDSA scalar.
    ///
    /// # Errors
    /// [`KeyError::InvalidKey`] if the bytes are not a valid secret for `alg`.
    pub fn from_secret_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        let invalid = || KeyError::InvalidKey(format!("not a valid {alg} secret key"));
        let secret = match alg {
            Algorithm::EdDSA => {
                let seed: Zeroizing<[u8; 32]> =
                    Zeroizing::new(bytes.try_into().map_err(|_| invalid())?);
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            Algorithm::ES256K => Secret::Secp256k1(
                k256::ecdsa::SigningKey::from_slice(bytes).map_err(|_| invalid())?,
            ),
            _ => Secret::P256(p256::ecdsa::SigningKey::from_slice(bytes).map_err(|_| invalid())?),
        };
        Self::from_secret(secret)
    }

    fn from_secret(secret: Secret) -> Result<Self, KeyError> {
        let public = match &secret {
            Secret::Ed25519(key) => PublicKey::ed25519_from_bytes(key.verifying_key().as_bytes())?,
            Secret::Secp256k1(key) => PublicKey::Secp256k1(*key.verifying_key()),
            Secret::P256(key) => PublicKey::P256(*key.verifying_key()),
        };
        Ok(SigningKey { secret, public })
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` and returns the JWS signature bytes (64 bytes for every
    /// supported algorithm; ECDSA signatures are `r || s` with low `s`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(message).to_bytes().to_vec()
            }
            Secret::Secp256k1(key) => {
                use k256::ecdsa::signature::Signer as _;
                let signature: k256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
            Secret::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(message);
                // Low s, as for secp256k1: verifiers that insist on it accept ours.
                signature
                    .normalize_s()
                    .unwrap_or(signature)
                    .to_bytes()
                    .to_vec()
            }
        }
    }

    /// The key's did:key, derived with `ssi`'s did:key method.
    ///
    /// # Errors
    /// [`WalletError::Key`] if `ssi` cannot encode the key (not expected for the
    /// supported curves).
    pub fn did(&self) -> Result<String, WalletError> {
        crate::did::did_key(&self.public)
    }

    /// The secret bytes (Ed25519 seed or ECDSA scalar), in a buffer that zeroizes
    /// itself. Declassifying: callers must only pass the result to an encrypted store
    /// or a test.
    pub fn expose_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match &self.secret {
            Secret::Ed25519(key) => key.to_bytes().to_vec(),
            Secret::Secp256k1(key) => key.to_bytes().to_vec(),
            Secret::P256(key) => key.to_bytes().to_vec(),
        })
    }
}

impl ConstantTimeEq for SigningKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        let same_alg = Choice::from(u8::from(self.algorithm() == other.algorithm()));
        same_alg
            & self
                .expose_secret_bytes()
                .as_slice()
                .ct_eq(other.expose_secret_bytes().as_slice())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Public part only: the algorithm and the did:key.
        write!(
            f,
            "SigningKey({}, {})",
            self.algorithm(),
            agentid_verifier::did_key::encode(&self.public)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_have_low_s_on_both_curves() {
        let p256_key = SigningKey::generate(Algorithm::ES256);
        let k256_key = SigningKey::generate(Algorithm::ES256K);
        for n in 0u32..64 {
            let message = n.to_be_bytes();
            let p256_sig = p256::ecdsa::Signature::from_slice(&p256_key.sign(&message)).unwrap();
            assert!(p256_sig.normalize_s().is_none(), "P-256 high s at {n}");
            let k256_sig = k256::ecdsa::Signature::from_slice(&k256_key.sign(&message)).unwrap();
            assert!(k256_sig.normalize_s().is_none(), "secp256k1 high s at {n}");
        }
    }

    #[test]
    fn debug_prints_no_secret() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256K, Algorithm::ES256] {
            let key = SigningKey::generate(alg);
            let debug = format!("{key:?}");
            let secret = key.expose_secret_bytes();
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!debug.contains(&hex), "{debug}");
            assert!(!debug.contains(&agentid_verifier::b64url_encode(&secret)));
            assert!(!debug.contains(&format!("{:?}", secret.as_slice())));
            assert!(debug.contains("did:key:z"));
        }
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256K, Algorithm::ES256] {
            let key = SigningKey::generate(alg);
            let signature = key.sign(b"message");
            assert_eq!(signature.len(), 64);
            assert!(key.public_key().verify(alg, b"message", &signature).is_ok());
            assert!(key
                .public_key()
                .verify(alg, b"messagf", &signature)
                .is_err());
        }
    }

    #[test]
    fn secret_bytes_round_trip_and_compare_in_constant_time() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256K, Algorithm::ES256] {
            let key = SigningKey::generate(alg);
            let again =
                SigningKey::from_secret_bytes(alg, &key.expose_secret_bytes()).expect("valid");
            assert!(bool::from(key.ct_eq(&again)));
            assert!(!bool::from(key.ct_eq(&SigningKey::generate(alg))));
        }
        assert!(SigningKey::from_secret_bytes(Algorithm::ES256, &[0u8; 32]).is_err());
    }
}
