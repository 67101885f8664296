//! did:key identifiers, derived with `ssi`'s did:key method (`did-method-key`).
//!
//! The verifier decodes did:key on its own (it must not depend on `ssi`); a test
//! checks that the two always agree.

use agentid_verifier::{KeyError, PublicKey};
use did_method_key::DIDKey;

use crate::error::WalletError;

/// The did:key of a public key.
///
/// # Errors
/// [`WalletError::Key`] if `ssi` cannot represent the key.
pub fn did_key(key: &PublicKey) -> Result<String, WalletError> {
    let jwk: ssi_jwk::JWK = serde_json::from_value(key.to_jwk())
        .map_err(|error| KeyError::InvalidJwk(error.to_string()))?;
    let did = DIDKey::generate(&jwk).map_err(|error| KeyError::InvalidDid(error.to_string()))?;
    Ok(did.to_string())
}

/// The DID URL naming the key of a did:key (`did:key:z…#z…`), as a JWS `kid`.
///
/// # Errors
/// [`WalletError::Key`] if `ssi` cannot represent the key.
pub fn did_key_url(key: &PublicKey) -> Result<String, WalletError> {
    let jwk: ssi_jwk::JWK = serde_json::from_value(key.to_jwk())
        .map_err(|error| KeyError::InvalidJwk(error.to_string()))?;
    let url =
        DIDKey::generate_url(&jwk).map_err(|error| KeyError::InvalidDid(error.to_string()))?;
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;
    use agentid_verifier::Algorithm;

    #[test]
    fn ssi_and_the_verifier_agree_on_did_key() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256K, Algorithm::ES256] {
            for _ in 0..16 {
                let key = SigningKey::generate(alg);
                let did = did_key(key.public_key()).expect("ssi encodes it");
                assert_eq!(did, agentid_verifier::did_key::encode(key.public_key()));
                assert_eq!(
                    &agentid_verifier::did_key::decode(&did).expect("decodes"),
                    key.public_key()
                );
                let url = did_key_url(key.public_key()).expect("ssi encodes it");
                assert_eq!(url, format!("{did}#{}", &did["did:key:".len()..]));
            }
        }
    }
}
