//! One test per rejection reason of the verifier (RFC 9901 §7 and the SD-JWT VC
//! draft), each on an input that differs from a valid one in that one respect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::{
    sha256_b64, Algorithm, Policy, PresentationRequest, RejectionKind, SignatureRole, TrustStore,
    Verifier, VerifyError,
};
use agentid_wallet::{did_key_url, SigningKey};
use common::forge::Forge;
use common::*;
use serde_json::{json, Value};

fn with(mut value: Value, name: &str, member: Value) -> Value {
    value[name] = member;
    value
}

fn without(mut value: Value, name: &str) -> Value {
    value.as_object_mut().expect("object").remove(name);
    value
}

#[test]
fn the_forged_baseline_is_valid() {
    let forge = Forge::new();
    let d = disclosure(&json!(["salt", "given_name", "Alice"]));
    let payload = with(forge.payload(), "_sd", json!([sha256_b64(&d)]));
    let verified = forge
        .verify(&forge.present(&forge.header(), &payload, &[d]))
        .expect("valid");
    assert_eq!(verified.claims["given_name"], "Alice");
}

#[test]
fn malformed_input_is_could_not_check() {
    let forge = Forge::new();
    let verifier = forge.verifier();
    for input in [
        "",
        "~",
        "abc",
        "a.b~",
        "a.b.c.d~",
        "!!!.###.$$$~",
        "e30.e30.AA~x.y",
    ] {
        let error = verifier
            .verify_presentation(input, &request(), NOW)
            .expect_err(input);
        assert_eq!(error.kind(), RejectionKind::Malformed, "{input}: {error}");
    }
    // Registered claims of the wrong type.
    for (name, value) in [
        ("iss", json!(7)),
        ("exp", json!(1.5)),
        ("exp", json!("soon")),
        ("iat", json!(-1)),
    ] {
        let token = forge.present(&forge.header(), &with(forge.payload(), name, value), &[]);
        assert!(
            matches!(forge.verify(&token), Err(VerifyError::Malformed(_))),
            "{name}"
        );
    }
    let token = forge.present(&forge.header(), &without(forge.payload(), "iss"), &[]);
    assert!(matches!(
        forge.verify(&token),
        Err(VerifyError::Malformed(_))
    ));
    // RFC 7515 §4.1.4: kid is a string; §4.1.11: unknown critical extensions are refused.
    for header in [
        with(forge.header(), "kid", json!(42)),
        with(forge.header(), "crit", json!(["b64"])),
    ] {
        let token = forge.present(&header, &forge.payload(), &[]);
        assert!(
            matches!(forge.verify(&token), Err(VerifyError::Malformed(_))),
            "{header}"
        );
    }
}

#[test]
fn algorithms_off_the_allow_list_are_refused() {
    let forge = Forge::new();
    for alg in ["none", "HS256", "RS256", "ES384"] {
        let header = with(forge.header(), "alg", json!(alg));
        let token = forge.present(&header, &forge.payload(), &[]);
        assert!(
            matches!(
                forge.verify(&token),
                Err(VerifyError::AlgorithmNotAllowed(_))
            ),
            "{alg}"
        );
    }
    // `alg: none` with an empty signature, the classic downgrade.
    let header = b64(&json!({"alg": "none", "typ": "dc+sd-jwt"}));
    let token = format!("{header}.{}.~", b64(&forge.payload()));
    assert!(matches!(
        forge.verifier().verify_credential(&token, NOW),
        Err(VerifyError::AlgorithmNotAllowed(_))
    ));
}

fn relaxed_trust(forge: &Forge) -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add_did(&forge.issuer_did).expect("trust");
    trust
}

fn b64(value: &Value) -> String {
    agentid_verifier::b64url_encode(value.to_string().as_bytes())
}

#[test]
fn typ_must_be_dc_sd_jwt_unless_the_caller_allows_another() {
    let forge = Forge::new();
    for header in [
        with(forge.header(), "typ", json!("vc+sd-jwt")),
        without(forge.header(), "typ"),
    ] {
        let token = forge.present(&header, &forge.payload(), &[]);
        assert!(
            matches!(
                forge.verify(&token),
                Err(VerifyError::UnexpectedType { .. })
            ),
            "{header}"
        );
    }
    let token = forge.present(
        &with(forge.header(), "typ", json!("example+sd-jwt")),
        &forge.payload(),
        &[],
    );
    let mut trust = TrustStore::new();
    trust.add_did(&forge.issuer_did).expect("trust");
    let relaxed = Verifier::new(
        trust,
        Policy::default().with_accepted_typs(["example+sd-jwt"]),
    );
    assert!(relaxed.verify_presentation(&token, &request(), NOW).is_ok());
    let untyped = forge.present(&without(forge.header(), "typ"), &forge.payload(), &[]);
    assert!(matches!(
        relaxed.verify_presentation(&untyped, &request(), NOW),
        Err(VerifyError::UnexpectedType { .. })
    ));
    let lenient = Verifier::new(
        relaxed_trust(&forge),
        Policy::default().with_missing_typ_accepted(true),
    );
    assert!(lenient
        .verify_presentation(&untyped, &request(), NOW)
        .is_ok());
    // The KB-JWT must be typed kb+jwt.
    let without_kb = forge.credential(&forge.header(), &forge.payload(), &[]);
    let token = forge.bind(
        &without_kb,
        &json!({"alg": "EdDSA", "typ": "JWT"}),
        &forge.kb_payload(&without_kb),
    );
    assert!(matches!(
        forge.verify(&token),
        Err(VerifyError::UnexpectedType { .. })
    ));
}

#[test]
fn untrusted_issuer_and_inconsistent_kid_are_refused() {
    let forge = Forge::new();
    let token = forge.present(&forge.header(), &forge.payload(), &[]);
    let stranger = Forge::new();
    let error = stranger.verify(&token).expect_err("not trusted");
    assert!(matches!(error, VerifyError::UntrustedIssuer(_)));
    assert_eq!(error.kind(), RejectionKind::UntrustedIssuer);

    let other_kid = did_key_url(stranger.issuer.public_key()).expect("kid");
    let token = forge.present(
        &with(forge.header(), "kid", json!(other_kid)),
        &forge.payload(),
        &[],
    );
    assert!(matches!(
        forge.verify(&token),
        Err(VerifyError::KeyIdMismatch(_))
    ));

    // A trusted DID claimed as iss, but the JWT signed by another key.
    let mut payload = forge.payload();
    payload["iss"] = json!(forge.issuer_did);
    let mut forged = Forge::new();
    forged.issuer_did.clone_from(&forge.issuer_did);
    let token = Forge {
        holder: SigningKey::generate(Algorithm::EdDSA),
        ..forged
    }
    .present(&without(forge.header(), "kid"), &payload, &[]);
    assert!(matches!(
        forge.verify(&token),
        Err(VerifyError::InvalidSignature(SignatureRole::Issuer))
    ));
}

#[test]
fn signatures_that_do_not_verify_are_refused_by_role() {
    let fixture = fixture(Algorithm::EdDSA);
    let presentation = fixture.present(&["on_behalf_of"]);
    // Re-encode the issuer payload with one claim changed, keeping the signature.
    let (jwt, rest) = presentation.split_once('~').expect("sd-jwt");
    let parts: Vec<&str> = jwt.split('.').collect();
    let payload: Value = serde_json::from_slice(&base64_decode(parts[1])).expect("json");
    let tampered = with(payload, "scope", json!(["refunds:write", "admin"]));
    let forged = format!("{}.{}.{}~{rest}", parts[0], b64(&tampered), parts[2]);
    // The sd_hash no longer matches either, but signatures come last; re-bind to be sure
    // the issuer signature is what fails.
    let without_kb = &forged[..=forged.rfind('~').expect("~")];
    let kb = sign_token(
        &fixture.agent,
        &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
        &json!({"iat": NOW, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": sha256_b64(without_kb)}),
    );
    let rebound = format!("{without_kb}{kb}");
    assert!(matches!(
        fixture
            .verifier
            .verify_presentation(&rebound, &request(), NOW),
        Err(VerifyError::InvalidSignature(SignatureRole::Issuer))
    ));

    // A KB-JWT signed by another key than cnf.
    let thief = SigningKey::generate(Algorithm::EdDSA);
    let without_kb = &presentation[..=presentation.rfind('~').expect("~")];
    let kb = sign_token(
        &thief,
        &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
        &json!({"iat": NOW, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": sha256_b64(without_kb)}),
    );
    let error = fixture
        .verifier
        .verify_presentation(&format!("{without_kb}{kb}"), &request(), NOW)
        .expect_err("wrong holder");
    assert_eq!(
        error,
        VerifyError::InvalidSignature(SignatureRole::KeyBinding)
    );
    assert_eq!(error.kind(), RejectionKind::InvalidSignature);
}

fn base64_decode(segment: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url")
}

#[test]
fn rfc9901_section_7_1_disclosure_rules() {
    let forge = Forge::new();
    let name = disclosure(&json!(["s1", "given_name", "Alice"]));
    let element = disclosure(&json!(["s2", "EU"]));
    let check = |payload: Value, disclosures: &[String], what: &str| {
        let token = forge.present(&forge.header(), &payload, disclosures);
        let error = forge.verify(&token).expect_err(what);
        assert!(
            matches!(error, VerifyError::InvalidDisclosure(_)),
            "{what}: {error}"
        );
        assert_eq!(error.kind(), RejectionKind::Policy);
    };
    let sd = |digests: Value| with(forge.payload(), "_sd", digests);

    check(
        forge.payload(),
        std::slice::from_ref(&name),
        "a disclosure no digest references",
    );
    check(
        sd(json!([sha256_b64(&name)])),
        &[name.clone(), name.clone()],
        "the same disclosure twice",
    );
    check(
        sd(json!([sha256_b64(&name), sha256_b64(&name)])),
        std::slice::from_ref(&name),
        "a digest appearing twice",
    );
    check(
        with(
            sd(json!([sha256_b64(&name)])),
            "nested",
            json!({"_sd": [sha256_b64(&name)]}),
        ),
        std::slice::from_ref(&name),
        "a digest appearing twice in different objects",
    );
    check(
        with(
            sd(json!([sha256_b64(&name)])),
            "given_name",
            json!("Mallory"),
        ),
        std::slice::from_ref(&name),
        "a disclosed name colliding with a visible claim",
    );
    check(
        sd(json!(sha256_b64(&name))),
        std::slice::from_ref(&name),
        "_sd not an array",
    );
    check(sd(json!([42])), &[], "_sd holding a non-string");
    check(
        sd(json!([sha256_b64(&element)])),
        std::slice::from_ref(&element),
        "an array-element disclosure in _sd",
    );
    check(
        with(
            forge.payload(),
            "regions",
            json!([{"...": sha256_b64(&name)}]),
        ),
        std::slice::from_ref(&name),
        "an object-property disclosure in an array",
    );
    check(
        with(
            forge.payload(),
            "regions",
            json!([{"...": sha256_b64(&element), "extra": 1}]),
        ),
        std::slice::from_ref(&element),
        "an array placeholder with other members",
    );
    check(
        with(forge.payload(), "odd", json!({"...": "x"})),
        &[],
        "'...' outside an array",
    );
    let reserved = disclosure(&json!(["s3", "_sd", ["x"]]));
    check(
        sd(json!([sha256_b64(&reserved)])),
        std::slice::from_ref(&reserved),
        "a disclosure named _sd",
    );
    check(
        with(forge.payload(), "_sd_alg", json!("sha-512")),
        &[],
        "an unsupported _sd_alg",
    );

    // The valid forms of the same shapes are accepted.
    let payload = with(
        sd(json!([sha256_b64(&name)])),
        "regions",
        json!([{"...": sha256_b64(&element)}, "US"]),
    );
    let verified = forge
        .verify(&forge.present(&forge.header(), &payload, &[name, element]))
        .expect("valid");
    assert_eq!(verified.claims["regions"], json!(["EU", "US"]));
}

#[test]
fn validity_window_with_clock_skew() {
    let forge = Forge::new();
    let verify_at = |payload: Value, now: u64| {
        let without_kb = forge.credential(&forge.header(), &payload, &[]);
        let kb = json!({"iat": now, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": sha256_b64(&without_kb)});
        let token = forge.bind(&without_kb, &json!({"alg": "EdDSA", "typ": "kb+jwt"}), &kb);
        forge
            .verifier()
            .verify_presentation(&token, &request(), now)
    };
    let exp = NOW + 600;
    assert!(
        verify_at(forge.payload(), exp + 60).is_ok(),
        "60 s of skew is tolerated"
    );
    let error = verify_at(forge.payload(), exp + 61).expect_err("expired");
    assert_eq!(error, VerifyError::Expired { expired_at: exp });
    assert_eq!(error.kind(), RejectionKind::Expired);

    let future = with(forge.payload(), "nbf", json!(NOW + 3600));
    let error = verify_at(future, NOW).expect_err("not yet valid");
    assert_eq!(
        error,
        VerifyError::NotYetValid {
            valid_from: NOW + 3600
        }
    );
    assert_eq!(error.kind(), RejectionKind::NotYetValid);
    let issued_in_future = with(forge.payload(), "iat", json!(NOW + 3600));
    assert!(matches!(
        verify_at(issued_in_future, NOW),
        Err(VerifyError::NotYetValid { .. })
    ));
    let no_exp = without(forge.payload(), "exp");
    assert!(
        matches!(verify_at(no_exp, NOW), Err(VerifyError::Malformed(_))),
        "exp is required by default"
    );
}

#[test]
fn key_binding_rules() {
    let fixture = fixture(Algorithm::ES256);
    let presentation = fixture.present(&["on_behalf_of"]);
    let verifier = &fixture.verifier;
    assert!(verifier
        .verify_presentation(&presentation, &request(), NOW)
        .is_ok());

    let other_audience = PresentationRequest::new("https://other.example", NONCE);
    assert_eq!(
        verifier
            .verify_presentation(&presentation, &other_audience, NOW)
            .expect_err("aud"),
        VerifyError::AudienceMismatch
    );
    let other_nonce = PresentationRequest::new(AUDIENCE, "another");
    let error = verifier
        .verify_presentation(&presentation, &other_nonce, NOW)
        .expect_err("nonce");
    assert_eq!(error, VerifyError::NonceMismatch);
    assert_eq!(error.kind(), RejectionKind::InvalidBinding);

    // Dropping a disclosure after the holder signed breaks sd_hash.
    let mut parts: Vec<&str> = presentation.split('~').collect();
    parts.remove(1);
    let dropped = parts.join("~");
    assert_eq!(
        verifier
            .verify_presentation(&dropped, &request(), NOW)
            .expect_err("sd_hash"),
        VerifyError::SdHashMismatch
    );

    // Freshness: older than 5 minutes (plus skew), or from the future.
    assert!(verifier
        .verify_presentation(&presentation, &request(), NOW + 360)
        .is_ok());
    assert!(matches!(
        verifier.verify_presentation(&presentation, &request(), NOW + 361),
        Err(VerifyError::StaleKeyBinding { .. })
    ));
    let from_the_future = agentid_wallet::present(
        &fixture.credential,
        &fixture.agent,
        &["on_behalf_of".parse().expect("path")],
        &request(),
        NOW + 120,
    )
    .expect("present");
    assert!(matches!(
        verifier.verify_presentation(&from_the_future, &request(), NOW),
        Err(VerifyError::StaleKeyBinding { .. })
    ));

    // A presentation needs a KB-JWT; an issued credential must not carry one.
    assert_eq!(
        verifier
            .verify_presentation(&fixture.credential, &request(), NOW)
            .expect_err("no kb"),
        VerifyError::MissingKeyBinding
    );
    assert_eq!(
        verifier
            .verify_credential(&presentation, NOW)
            .expect_err("kb"),
        VerifyError::UnexpectedKeyBinding
    );
    let verified = verifier
        .verify_credential(&fixture.credential, NOW)
        .expect("issued credential");
    assert!(
        verified.key_binding.is_none(),
        "holder binding was not checked"
    );

    // A credential without cnf cannot be presented with key binding.
    let forge = Forge::new();
    let without_kb = forge.credential(&forge.header(), &without(forge.payload(), "cnf"), &[]);
    let token = forge.bind(
        &without_kb,
        &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
        &forge.kb_payload(&without_kb),
    );
    assert!(matches!(
        forge.verify(&token),
        Err(VerifyError::MissingHolderKey(_))
    ));
    let bad_cnf = with(
        forge.payload(),
        "cnf",
        json!({"jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
    );
    assert!(matches!(
        forge.verify(&forge.present(&forge.header(), &bad_cnf, &[])),
        Err(VerifyError::MissingHolderKey(_))
    ));
    // KB-JWT claims are required.
    for missing in ["iat", "aud", "nonce", "sd_hash"] {
        let without_kb = forge.credential(&forge.header(), &forge.payload(), &[]);
        let kb = without(forge.kb_payload(&without_kb), missing);
        let token = forge.bind(&without_kb, &json!({"alg": "EdDSA", "typ": "kb+jwt"}), &kb);
        assert!(
            matches!(forge.verify(&token), Err(VerifyError::Malformed(_))),
            "{missing}"
        );
    }
}

#[test]
fn undisclosed_claims_never_reach_the_verified_result() {
    let fixture = fixture(Algorithm::ES256K);
    let verified = fixture
        .verifier
        .verify_presentation(&fixture.present(&["task.purpose"]), &request(), NOW)
        .expect("valid");
    assert!(verified.claims["task"].get("purpose").is_some());
    assert!(!verified.claims.contains_key("on_behalf_of"));
    let verified = fixture
        .verifier
        .verify_presentation(&fixture.present(&[]), &request(), NOW)
        .expect("valid");
    assert!(!verified.claims.contains_key("task"));
    assert!(!verified.claims.contains_key("on_behalf_of"));
    assert!(verified.claims.contains_key("constraints"));
    assert!(!verified.claims.contains_key("_sd"));
    let text = serde_json::to_string(&verified).expect("json");
    assert!(!text.contains("refund order 1234"), "{text}");
}
