//! DPoP proofs (RFC 9449) made with the wallet's keys: an agent proving, on each
//! request, that it holds the key its access token is bound to.

use agentid_verifier::b64url_encode;
use agentid_verifier::dpop::{access_token_hash, DPOP_TYP};
use rand_core::{OsRng, RngCore};
use serde_json::{Map, Value};

use crate::jws::{header, sign_compact};
use crate::keys::SigningKey;

/// Signs a DPoP proof for one request: `method` and `url` of the request (query
/// and fragment are dropped from `htu`, §4.2), the access token it accompanies
/// (`ath`; `None` at a token endpoint), the server's `DPoP-Nonce` if it asked for
/// one, and a fresh random `jti`. `now` is the proof's `iat`.
pub fn sign_dpop_proof(
    key: &SigningKey,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
    now: u64,
) -> String {
    let mut header = header(key, DPOP_TYP);
    header.insert("jwk".into(), key.public_key().to_jwk());
    let mut jti = [0u8; 16];
    OsRng.fill_bytes(&mut jti);
    let htu = url.split(['?', '#']).next().unwrap_or_default();
    let mut claims = Map::new();
    claims.insert("jti".into(), b64url_encode(&jti).into());
    claims.insert("htm".into(), method.into());
    claims.insert("htu".into(), htu.into());
    claims.insert("iat".into(), Value::from(now));
    if let Some(token) = access_token {
        claims.insert("ath".into(), access_token_hash(token).into());
    }
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    sign_compact(&header, &claims, key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use agentid_verifier::dpop::{jwk_thumbprint, verify_dpop_proof, DpopCheck, DpopError};
    use agentid_verifier::Algorithm;

    fn check<'a>(url: &'a str, token: Option<&'a str>) -> DpopCheck<'a> {
        DpopCheck {
            method: "POST",
            url,
            access_token: token,
            nonce: None,
            now: 1_800_000_000,
            max_age_secs: 60,
            skew_secs: 5,
        }
    }

    #[test]
    fn a_proof_made_here_verifies_for_its_request_only() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let key = SigningKey::generate(alg);
            let url = "https://tools.example/mcp";
            let proof = sign_dpop_proof(
                &key,
                "POST",
                "https://tools.example/mcp?x=1#f",
                Some("tok"),
                None,
                1_800_000_000,
            );
            let verified = verify_dpop_proof(&proof, &check(url, Some("tok"))).unwrap();
            assert_eq!(verified.jkt, jwk_thumbprint(key.public_key()));
            assert!(verified.is_bound_to(&jwk_thumbprint(key.public_key())));
            assert_eq!(
                verify_dpop_proof(&proof, &check(url, Some("other"))).unwrap_err(),
                DpopError::WrongAccessToken
            );
            assert_eq!(
                verify_dpop_proof(&proof, &check("https://tools.example/other", Some("tok")))
                    .unwrap_err(),
                DpopError::WrongUrl
            );
        }
    }
}
