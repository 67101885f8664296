#![allow(clippy::unwrap_used)]

use p256::ecdsa::signature::Signer as _;
use serde_json::json;

use super::*;
use crate::encoding::b64url_encode;

const NOW: u64 = 1_800_000_000;
const AUDIENCE: &str = "https://issuer.example";
const CALLER: &str = "orchestrator";
const SPIFFE_ID: &str = "spiffe://example.org/orchestrator";

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

fn keys() -> CallerKeys {
    let mut keys = CallerKeys::new();
    keys.add_caller(CALLER, None, key(1).1);
    keys.allow_spiffe_id(SPIFFE_ID).unwrap();
    keys.add_spiffe_authority("example.org", "authority-1", key(2).1);
    keys
}

fn check() -> AssertionCheck<'static> {
    AssertionCheck {
        audience: AUDIENCE,
        now: NOW,
        max_lifetime_secs: 300,
        skew_secs: 5,
    }
}

fn assertion(edit: impl Fn(&mut Value, &mut Value)) -> String {
    let mut header = json!({"alg": "ES256", "typ": "JWT"});
    let mut claims = json!({
        "iss": CALLER, "sub": CALLER, "aud": AUDIENCE,
        "iat": NOW, "exp": NOW + 60, "jti": "a-1",
    });
    edit(&mut header, &mut claims);
    sign(&header, &claims, &key(1).0)
}

fn svid(edit: impl Fn(&mut Value, &mut Value)) -> String {
    let mut header = json!({"alg": "ES256", "typ": "JWT", "kid": "authority-1"});
    let mut claims = json!({"sub": SPIFFE_ID, "aud": [AUDIENCE], "exp": NOW + 120});
    edit(&mut header, &mut claims);
    sign(&header, &claims, &key(2).0)
}

fn refusal(token: &str) -> AssertionError {
    verify_client_assertion(token, &keys(), &check()).unwrap_err()
}

#[test]
fn a_client_assertion_names_its_caller_and_jti() {
    let verified = verify_client_assertion(&assertion(|_, _| {}), &keys(), &check()).unwrap();
    assert_eq!(verified.caller, CALLER);
    assert_eq!(verified.jti.as_deref(), Some("a-1"));
    assert_eq!(verified.expires_at, NOW + 60);
    assert_eq!(verified.kind, AssertionKind::ClientAssertion);
}

#[test]
fn a_jwt_svid_of_an_allowed_spiffe_id_is_accepted_without_jti() {
    let verified = verify_client_assertion(&svid(|_, _| {}), &keys(), &check()).unwrap();
    assert_eq!(verified.caller, SPIFFE_ID);
    assert_eq!(verified.jti, None);
    assert_eq!(verified.kind, AssertionKind::JwtSvid);
}

#[test]
fn unknown_callers_are_refused() {
    assert_eq!(
        refusal(&assertion(|_, claims| {
            claims["iss"] = json!("stranger");
            claims["sub"] = json!("stranger");
        })),
        AssertionError::UnknownCaller
    );
    // A workload of a trusted domain that is not itself a caller.
    assert_eq!(
        refusal(&svid(
            |_, claims| claims["sub"] = json!("spiffe://example.org/other")
        )),
        AssertionError::UnknownCaller
    );
    // An SVID naming an authority the bundle does not hold.
    assert_eq!(
        refusal(&svid(|header, _| header["kid"] = json!("authority-9"))),
        AssertionError::UnknownCaller
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let mut header = json!({"alg": "ES256"});
    let claims = json!({"iss": CALLER, "sub": CALLER, "aud": AUDIENCE, "iat": NOW, "exp": NOW + 60, "jti": "x"});
    header["typ"] = json!("JWT");
    assert_eq!(
        refusal(&sign(&header, &claims, &key(3).0)),
        AssertionError::BadSignature
    );
    // The SPIFFE authority's key does not sign for the RFC 7523 caller either.
    assert_eq!(
        refusal(&sign(&header, &claims, &key(2).0)),
        AssertionError::BadSignature
    );
}

#[test]
fn audience_time_and_lifetime_are_checked() {
    assert_eq!(
        refusal(&assertion(
            |_, claims| claims["aud"] = json!("https://other.example")
        )),
        AssertionError::WrongAudience
    );
    assert_eq!(
        refusal(&assertion(|_, claims| claims["exp"] = json!(NOW - 10))),
        AssertionError::Expired
    );
    assert_eq!(
        refusal(&assertion(|_, claims| claims["iat"] = json!(NOW + 60))),
        AssertionError::FromTheFuture
    );
    assert_eq!(
        refusal(&assertion(|_, claims| claims["exp"] = json!(NOW + 3600))),
        AssertionError::TooLongLived(300)
    );
    assert_eq!(
        refusal(&svid(|_, claims| claims["exp"] = json!(NOW + 3600))),
        AssertionError::TooLongLived(300)
    );
    // A trailing slash on either side is the same audience.
    verify_client_assertion(
        &assertion(|_, claims| claims["aud"] = json!(format!("{AUDIENCE}/"))),
        &keys(),
        &check(),
    )
    .unwrap();
}

#[test]
fn a_client_assertion_needs_sub_iat_and_jti() {
    for edit in [
        (|_: &mut Value, claims: &mut Value| claims["sub"] = json!("someone-else"))
            as fn(&mut Value, &mut Value),
        |_, claims| {
            claims.as_object_mut().unwrap().remove("iat");
        },
        |_, claims| {
            claims.as_object_mut().unwrap().remove("jti");
        },
        |_, claims| claims["jti"] = json!(""),
        |_, claims| {
            claims.as_object_mut().unwrap().remove("exp");
        },
        |_, claims| claims["exp"] = json!("soon"),
    ] {
        assert!(matches!(
            refusal(&assertion(edit)),
            AssertionError::Malformed(_)
        ));
    }
}

#[test]
fn tokens_of_other_protocols_and_algorithms_are_refused() {
    for typ in [
        "dpop+jwt",
        "openid4vci-proof+jwt",
        "at+jwt",
        "statuslist+jwt",
    ] {
        assert_eq!(
            refusal(&assertion(|header, _| header["typ"] = json!(typ))),
            AssertionError::WrongType,
            "{typ}"
        );
    }
    // The header says EdDSA; the caller's key is P-256.
    assert_eq!(
        refusal(&assertion(|header, _| header["alg"] = json!("EdDSA"))),
        AssertionError::AlgorithmNotAllowed
    );
    assert_eq!(
        refusal(&assertion(|header, _| header["alg"] = json!("none"))),
        AssertionError::AlgorithmNotAllowed
    );
    assert!(matches!(refusal("not.a.jwt"), AssertionError::Malformed(_)));
    assert!(matches!(
        refusal(&"a".repeat(MAX_ASSERTION_BYTES + 1)),
        AssertionError::Malformed(_)
    ));
}

#[test]
fn a_caller_with_several_keys_is_told_apart_by_kid() {
    let mut keys = CallerKeys::new();
    keys.add_caller(CALLER, Some("k1".into()), key(1).1);
    keys.add_caller(CALLER, Some("k2".into()), key(4).1);
    let claims = json!({"iss": CALLER, "sub": CALLER, "aud": AUDIENCE, "iat": NOW, "exp": NOW + 60, "jti": "x"});
    let signed = sign(&json!({"alg": "ES256", "kid": "k2"}), &claims, &key(4).0);
    assert_eq!(
        verify_client_assertion(&signed, &keys, &check())
            .unwrap()
            .caller,
        CALLER
    );
    let no_kid = sign(&json!({"alg": "ES256"}), &claims, &key(4).0);
    assert_eq!(
        verify_client_assertion(&no_kid, &keys, &check()).unwrap_err(),
        AssertionError::UnknownCaller
    );
}

#[test]
fn spiffe_ids_are_checked_when_configured() {
    let mut keys = CallerKeys::new();
    for bad in [
        "https://example.org/x",
        "spiffe://",
        "spiffe://Example.org/x",
        "spiffe://a/b?c",
    ] {
        assert!(keys.allow_spiffe_id(bad).is_err(), "{bad}");
    }
    keys.allow_spiffe_id(SPIFFE_ID).unwrap();
    assert!(keys.knows(SPIFFE_ID));
    assert_eq!(keys.len(), 1);
}
