#![allow(clippy::unwrap_used)]

use p256::ecdsa::signature::Signer as _;
use serde_json::json;

use super::*;

const NOW: u64 = 1_800_000_000;
const URL: &str = "https://tools.example/mcp";

/// A P-256 key and its public half, as a holder's wallet would have it.
fn key() -> (p256::ecdsa::SigningKey, PublicKey) {
    let secret = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    let public = PublicKey::p256_from_sec1(point.as_bytes()).unwrap();
    (secret, public)
}

fn sign(header: Value, claims: Value, secret: &p256::ecdsa::SigningKey) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let signature: p256::ecdsa::Signature = secret.sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature.to_bytes()))
}

fn proof_with(header_edit: impl Fn(&mut Value), claims_edit: impl Fn(&mut Value)) -> String {
    let (secret, public) = key();
    let mut header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public.to_jwk()});
    let mut claims = json!({
        "jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": NOW,
        "ath": access_token_hash("token-1"),
    });
    header_edit(&mut header);
    claims_edit(&mut claims);
    sign(header, claims, &secret)
}

fn check() -> DpopCheck<'static> {
    DpopCheck {
        method: "POST",
        url: URL,
        access_token: Some("token-1"),
        nonce: None,
        now: NOW,
        max_age_secs: 60,
        skew_secs: 5,
    }
}

fn refusal(proof: &str, check: &DpopCheck<'_>) -> DpopError {
    verify_dpop_proof(proof, check).unwrap_err()
}

#[test]
fn a_proof_for_this_request_verifies_and_names_its_key() {
    let proof = proof_with(|_| {}, |_| {});
    let verified = verify_dpop_proof(&proof, &check()).unwrap();
    assert_eq!(verified.jti, "e1j3V_bKic8-LAEB");
    assert_eq!(verified.issued_at, NOW);
    assert_eq!(verified.jkt, jwk_thumbprint(&key().1));
    assert!(verified.is_bound_to(&verified.jkt.clone()));
    assert!(!verified.is_bound_to("another-thumbprint"));
    // The request URL's query and fragment do not count, nor does spelling that
    // parses to the same URL.
    for url in [
        "https://tools.example/mcp?session=1",
        "HTTPS://Tools.Example:443/mcp",
        "https://tools.example/a/../mcp#x",
    ] {
        let check = DpopCheck { url, ..check() };
        assert!(verify_dpop_proof(&proof, &check).is_ok(), "{url}");
    }
}

#[test]
fn the_rfc_7638_thumbprint_example_matches() {
    // RFC 7638 §3.1 uses an RSA key; RFC 8037 §A.3 gives the Ed25519 one.
    let jwk = json!({"kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    let key = PublicKey::from_jwk(&jwk).unwrap();
    assert_eq!(
        jwk_thumbprint(&key),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn a_proof_for_another_request_is_refused() {
    let proof = proof_with(|_| {}, |_| {});
    let get = DpopCheck {
        method: "GET",
        ..check()
    };
    assert_eq!(refusal(&proof, &get), DpopError::WrongMethod);
    for url in [
        "https://tools.example/mcp/other",
        "https://tools.example:8443/mcp",
        "http://tools.example/mcp",
        "https://evil.example/mcp",
        "not a url",
    ] {
        let check = DpopCheck { url, ..check() };
        assert_eq!(refusal(&proof, &check), DpopError::WrongUrl, "{url}");
    }
    let other_token = DpopCheck {
        access_token: Some("token-2"),
        ..check()
    };
    assert_eq!(refusal(&proof, &other_token), DpopError::WrongAccessToken);
    let at_token_endpoint = DpopCheck {
        access_token: None,
        ..check()
    };
    assert_eq!(
        refusal(&proof, &at_token_endpoint),
        DpopError::WrongAccessToken
    );
    let without_ath = proof_with(|_| {}, |c| drop(c.as_object_mut().unwrap().remove("ath")));
    assert_eq!(refusal(&without_ath, &check()), DpopError::WrongAccessToken);
}

#[test]
fn a_stale_or_future_proof_is_refused() {
    let old = proof_with(|_| {}, |c| c["iat"] = json!(NOW - 66));
    assert_eq!(refusal(&old, &check()), DpopError::Stale);
    let edge = proof_with(|_| {}, |c| c["iat"] = json!(NOW - 65));
    assert!(verify_dpop_proof(&edge, &check()).is_ok());
    let future = proof_with(|_| {}, |c| c["iat"] = json!(NOW + 6));
    assert_eq!(refusal(&future, &check()), DpopError::FromTheFuture);
    let text_iat = proof_with(|_| {}, |c| c["iat"] = json!("1800000000"));
    assert!(matches!(
        refusal(&text_iat, &check()),
        DpopError::Malformed(_)
    ));
}

#[test]
fn the_server_nonce_must_be_carried() {
    let with_nonce = DpopCheck {
        nonce: Some("n-1"),
        ..check()
    };
    let proof = proof_with(|_| {}, |_| {});
    assert_eq!(refusal(&proof, &with_nonce), DpopError::WrongNonce);
    let other = proof_with(|_| {}, |c| c["nonce"] = json!("n-2"));
    assert_eq!(refusal(&other, &with_nonce), DpopError::WrongNonce);
    let right = proof_with(|_| {}, |c| c["nonce"] = json!("n-1"));
    assert!(verify_dpop_proof(&right, &with_nonce).is_ok());
}

#[test]
fn a_proof_that_is_not_a_dpop_jwt_of_its_own_key_is_refused() {
    let typ = proof_with(|h| h["typ"] = json!("JWT"), |_| {});
    assert_eq!(refusal(&typ, &check()), DpopError::WrongType);
    let hs256 = proof_with(|h| h["alg"] = json!("HS256"), |_| {});
    assert_eq!(refusal(&hs256, &check()), DpopError::AlgorithmNotAllowed);
    let none = proof_with(|h| h["alg"] = json!("none"), |_| {});
    assert_eq!(refusal(&none, &check()), DpopError::AlgorithmNotAllowed);
    let eddsa_label = proof_with(|h| h["alg"] = json!("EdDSA"), |_| {});
    assert_eq!(
        refusal(&eddsa_label, &check()),
        DpopError::AlgorithmNotAllowed
    );
    let no_jwk = proof_with(|h| drop(h.as_object_mut().unwrap().remove("jwk")), |_| {});
    assert!(matches!(
        refusal(&no_jwk, &check()),
        DpopError::InvalidKey(_)
    ));
    let private = proof_with(|h| h["jwk"]["d"] = json!("c2VjcmV0"), |_| {});
    assert!(matches!(
        refusal(&private, &check()),
        DpopError::InvalidKey(_)
    ));
    let other_key = PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}))
    .unwrap();
    let p256_other = {
        let secret = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        PublicKey::p256_from_sec1(point.as_bytes()).unwrap()
    };
    let swapped = proof_with(|h| h["jwk"] = p256_other.to_jwk(), |_| {});
    assert_eq!(refusal(&swapped, &check()), DpopError::BadSignature);
    let mismatched = proof_with(|h| h["jwk"] = other_key.to_jwk(), |_| {});
    assert_eq!(
        refusal(&mismatched, &check()),
        DpopError::AlgorithmNotAllowed
    );
    let mut tampered = proof_with(|_| {}, |_| {});
    tampered.push('A');
    assert!(verify_dpop_proof(&tampered, &check()).is_err());
}

#[test]
fn malformed_and_oversized_proofs_are_refused_without_panicking() {
    for proof in ["", "a.b", "a.b.c", "....", &"x".repeat(MAX_PROOF_BYTES + 1)] {
        assert!(
            matches!(refusal(proof, &check()), DpopError::Malformed(_)),
            "{}",
            proof.len()
        );
    }
    let no_jti = proof_with(|_| {}, |c| drop(c.as_object_mut().unwrap().remove("jti")));
    assert!(matches!(
        refusal(&no_jti, &check()),
        DpopError::Malformed(_)
    ));
    let long_htu = proof_with(|_| {}, |c| c["htu"] = json!("h".repeat(4096)));
    assert!(matches!(
        refusal(&long_htu, &check()),
        DpopError::Malformed(_)
    ));
    let numeric_htm = proof_with(|_| {}, |c| c["htm"] = json!(1));
    assert!(matches!(
        refusal(&numeric_htm, &check()),
        DpopError::Malformed(_)
    ));
}
