#![allow(clippy::unwrap_used)]

use p256::ecdsa::signature::Signer as _;
use serde_json::json;

use super::*;
use crate::encoding::b64url_encode;

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://issuer.example";
const NONCE: &str = "c-nonce-1";

fn key(seed: u8) -> (p256::ecdsa::SigningKey, PublicKey) {
    let secret = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    (secret, PublicKey::p256_from_sec1(point.as_bytes()).unwrap())
}

fn sign(header: &Value, claims: &Value, secret: &p256::ecdsa::SigningKey) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let signature: p256::ecdsa::Signature = secret.sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature.to_bytes()))
}

fn proof(edit: impl Fn(&mut Value, &mut Value)) -> String {
    let (secret, public) = key(1);
    let mut header = json!({"alg": "ES256", "typ": KEY_PROOF_TYP, "jwk": public.to_jwk()});
    let mut claims = json!({"aud": ISSUER, "iat": NOW, "nonce": NONCE});
    edit(&mut header, &mut claims);
    sign(&header, &claims, &secret)
}

fn check() -> KeyProofCheck<'static> {
    KeyProofCheck {
        issuer: ISSUER,
        nonce: Some(NONCE),
        now: NOW,
        max_age_secs: 300,
        skew_secs: 5,
    }
}

fn refusal(proof: &str) -> KeyProofError {
    verify_key_proof(proof, &check()).unwrap_err()
}

#[test]
fn a_jwk_proof_returns_the_key_to_bind() {
    let verified = verify_key_proof(&proof(|_, _| {}), &check()).unwrap();
    assert_eq!(verified.key, key(1).1);
    assert_eq!(verified.did, None);
    assert_eq!(verified.nonce.as_deref(), Some(NONCE));
}

#[test]
fn a_did_key_kid_names_the_key_and_the_holder() {
    let did = did_key::encode(&key(1).1);
    let fragment = did.trim_start_matches("did:key:").to_owned();
    let proof = proof(|header, _| {
        header.as_object_mut().unwrap().remove("jwk");
        header["kid"] = json!(format!("{did}#{fragment}"));
    });
    let verified = verify_key_proof(&proof, &check()).unwrap();
    assert_eq!(verified.did.as_deref(), Some(did.as_str()));
    assert_eq!(verified.key, key(1).1);
}

#[test]
fn a_proof_signed_by_another_key_than_it_names_is_refused() {
    let (_, other) = key(2);
    assert_eq!(
        refusal(&proof(|header, _| header["jwk"] = other.to_jwk())),
        KeyProofError::BadSignature
    );
    let did = did_key::encode(&other);
    assert_eq!(
        refusal(&proof(|header, _| {
            header.as_object_mut().unwrap().remove("jwk");
            header["kid"] = json!(did);
        })),
        KeyProofError::BadSignature
    );
}

#[test]
fn nonce_audience_and_time_are_checked() {
    assert_eq!(
        refusal(&proof(|_, claims| claims["nonce"] = json!("stale-nonce"))),
        KeyProofError::WrongNonce
    );
    assert_eq!(
        refusal(&proof(|_, claims| {
            claims.as_object_mut().unwrap().remove("nonce");
        })),
        KeyProofError::WrongNonce
    );
    assert_eq!(
        refusal(&proof(
            |_, claims| claims["aud"] = json!("https://other.example")
        )),
        KeyProofError::WrongAudience
    );
    assert_eq!(
        refusal(&proof(|_, claims| claims["iat"] = json!(NOW - 3600))),
        KeyProofError::Stale
    );
    assert_eq!(
        refusal(&proof(|_, claims| claims["iat"] = json!(NOW + 60))),
        KeyProofError::FromTheFuture
    );
    assert!(matches!(
        refusal(&proof(|_, claims| {
            claims.as_object_mut().unwrap().remove("aud");
        })),
        KeyProofError::Malformed(_)
    ));
}

#[test]
fn the_header_must_name_exactly_one_usable_key() {
    let did = did_key::encode(&key(1).1);
    assert!(matches!(
        refusal(&proof(|header, _| header["kid"] = json!(did))),
        KeyProofError::InvalidKey(_)
    ));
    assert!(matches!(
        refusal(&proof(|header, _| {
            header.as_object_mut().unwrap().remove("jwk");
        })),
        KeyProofError::InvalidKey(_)
    ));
    assert!(matches!(
        refusal(&proof(|header, _| header["jwk"]["d"] = json!("AAAA"))),
        KeyProofError::InvalidKey(_)
    ));
    assert!(matches!(
        refusal(&proof(|header, _| header["x5c"] = json!(["MIIB"]))),
        KeyProofError::InvalidKey(_)
    ));
    assert!(matches!(
        refusal(&proof(|header, _| {
            header.as_object_mut().unwrap().remove("jwk");
            header["kid"] = json!("https://keys.example/1");
        })),
        KeyProofError::InvalidKey(_)
    ));
}

#[test]
fn type_and_algorithm_are_checked() {
    assert_eq!(
        refusal(&proof(|header, _| header["typ"] = json!("JWT"))),
        KeyProofError::WrongType
    );
    assert_eq!(
        refusal(&proof(|header, _| header["alg"] = json!("EdDSA"))),
        KeyProofError::AlgorithmNotAllowed
    );
    assert_eq!(
        refusal(&proof(|header, _| header["alg"] = json!("HS256"))),
        KeyProofError::AlgorithmNotAllowed
    );
}
