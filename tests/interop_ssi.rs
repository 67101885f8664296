//! Interop with SpruceID's `ssi-sd-jwt` 0.6, both directions:
//!
//! - A: ssi decodes, reveals and verifies SD-JWT VCs issued by agentid (EdDSA, ES256,
//!   ES256K), with every disclosure and with a subset, and checks agentid's KB-JWT;
//!   the revealed claims must equal what agentid's own verifier reveals.
//! - B: agentid verifies SD-JWTs concealed and signed by ssi (same three algorithms),
//!   and rejects one whose disclosure was altered.
//!
//! ssi's async functions never pause (no I/O behind a JWK resolver), so a std-only
//! `block_on` runs them.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use agentid_verifier::{
    Algorithm, Policy, PresentationRequest, TrustStore, Verifier, VerifyError, SD_JWT_VC_TYP,
};
use agentid_wallet::{present, unix_now, CredentialRequest, Issuer, SigningKey};
use common::{interop_schemas, INTEROP_VCT};
use serde_json::{json, Map, Value};
use ssi_jwk::JWK;
use ssi_jws::{JwsPayload, JwsSigner};
use ssi_sd_jwt::{DecodedSdJwt, JsonPointerBuf, SdAlg, SdJwt, SdJwtPayload};

/// Claims agentid reports in `Verified`'s own fields rather than in `claims`.
const REGISTERED: [&str; 9] = [
    "iss", "sub", "iat", "nbf", "exp", "jti", "vct", "cnf", "status",
];

const ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES256K];

/// Runs a future that never returns `Pending` (ssi's signing and verification with
/// an in-memory JWK).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an ssi future paused; block_on cannot drive it"),
    }
}

fn ssi_jwk(jwk: &Value) -> JWK {
    serde_json::from_value(jwk.clone()).unwrap()
}

/// Splits revealed claims into (registered, other), the way agentid reports them.
fn without_registered(claims: &Value) -> Map<String, Value> {
    let mut claims = claims.as_object().unwrap().clone();
    for name in REGISTERED {
        claims.remove(name);
    }
    claims
}

fn task_claims() -> Map<String, Value> {
    json!({
        "task": {"id": "T-42", "purpose": "refund order 1234"},
        "roles": ["refunds:write", "orders:read"],
        "sites": ["https://shop.example/orders/1234"],
        "verifiers": ["https://payments.example"],
        "limits": {"currency": "EUR", "max_amount": 120.5},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .unwrap()
    .clone()
}

fn issue(alg: Algorithm, holder: &SigningKey, now: u64) -> (Issuer, String) {
    let issuer = Issuer::from_did_key(SigningKey::generate(alg))
        .unwrap()
        .with_schemas(interop_schemas());
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: INTEROP_VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims: task_claims(),
                disclosable: vec![
                    "task.purpose".parse().unwrap(),
                    "roles[*]".parse().unwrap(),
                    "sites".parse().unwrap(),
                    "limits".parse().unwrap(),
                    "on_behalf_of".parse().unwrap(),
                ],
                lifetime_secs: 15 * 60,
                committed: Vec::new(),
            },
            now,
        )
        .unwrap();
    (issuer, credential.sd_jwt)
}

/// ssi's view of an SD-JWT without KB: decode, reveal, verify against `issuer_jwk`;
/// returns the revealed claims as JSON.
fn ssi_reveal_verify(sd_jwt: &str, issuer_jwk: &JWK) -> Value {
    let sd_jwt = SdJwt::new(sd_jwt).unwrap();
    let (revealed, verification) = block_on(sd_jwt.decode_reveal_verify_any(issuer_jwk))
        .unwrap_or_else(|error| panic!("ssi could not verify agentid's SD-JWT: {error}"));
    assert_eq!(verification, Ok(()), "ssi rejected agentid's SD-JWT");
    serde_json::to_value(revealed.claims()).unwrap()
}

#[test]
fn ssi_verifies_sd_jwt_vcs_issued_by_agentid() {
    let now = unix_now();
    for alg in ALGORITHMS {
        let holder = SigningKey::generate(alg);
        let (issuer, sd_jwt) = issue(alg, &holder, now);
        let issuer_jwk = ssi_jwk(&issuer.public_key().to_jwk());

        let mut trust = TrustStore::new();
        trust.add_did(issuer.id()).unwrap();
        let verifier = Verifier::new(trust, Policy::default());

        // Every disclosure.
        let ours = verifier.verify_credential(&sd_jwt, now).unwrap();
        let theirs = ssi_reveal_verify(&sd_jwt, &issuer_jwk);
        assert_eq!(without_registered(&theirs), ours.claims, "{alg}");
        assert_eq!(
            Value::Object(ours.claims.clone()),
            Value::Object(task_claims())
        );
        assert_eq!(theirs["iss"], json!(issuer.id()), "{alg}");
        assert_eq!(theirs["sub"], json!(ours.subject), "{alg}");
        assert_eq!(theirs["jti"], json!(ours.credential_id), "{alg}");
        assert_eq!(theirs["vct"], json!(ours.vct), "{alg}");
        assert_eq!(theirs["iat"], json!(ours.issued_at), "{alg}");
        assert_eq!(theirs["nbf"], json!(ours.not_before), "{alg}");
        assert_eq!(theirs["exp"], json!(ours.expires_at), "{alg}");
        assert_eq!(theirs["cnf"]["jwk"], holder.public_key().to_jwk(), "{alg}");

        // A subset: agentid's presentation (which ssi also checks, KB-JWT included),
        // then the same disclosures without the KB-JWT.
        let request = PresentationRequest::new("https://payments.example", "n-0S6_WzA2Mj");
        let disclose = ["task.purpose".parse().unwrap(), "roles[1]".parse().unwrap()];
        let presentation = present(&sd_jwt, &holder, &disclose, &request, now).unwrap();
        let ours_kb = verifier
            .verify_presentation(&presentation, &request, now)
            .unwrap();
        ssi_check_key_binding(&presentation, &holder, &request);

        let subset = &presentation[..=presentation.rfind('~').unwrap()];
        let ours = verifier.verify_credential(subset, now).unwrap();
        assert_eq!(ours.claims, ours_kb.claims, "{alg}");
        let theirs = ssi_reveal_verify(subset, &issuer_jwk);
        assert_eq!(without_registered(&theirs), ours.claims, "{alg}");
        assert_eq!(
            Value::Object(ours.claims),
            json!({
                "task": {"id": "T-42", "purpose": "refund order 1234"},
                "roles": ["orders:read"],
                "verifiers": ["https://payments.example"]
            }),
            "{alg}"
        );

        // ssi refuses the credential under another key.
        let other = ssi_jwk(&SigningKey::generate(alg).public_key().to_jwk());
        // ssi reports a bad signature as an `Err`, not as `Ok(Err(_))`.
        let verdict = block_on(
            SdJwt::new(&sd_jwt)
                .unwrap()
                .decode_reveal_verify_any(&other),
        );
        assert!(
            !matches!(verdict, Ok((_, Ok(())))),
            "{alg}: ssi accepted a wrong key"
        );
    }
}

/// ssi-sd-jwt has no one-call presentation verifier: decode the KB-JWT, verify its
/// signature and header with the holder's key, and check `sd_hash`, `aud`, `nonce`.
fn ssi_check_key_binding(presentation: &str, holder: &SigningKey, request: &PresentationRequest) {
    let sd_jwt = SdJwt::new(presentation).unwrap();
    let kb = sd_jwt.decode_kb().unwrap().expect("a KB-JWT");
    let holder_jwk = ssi_jwk(&holder.public_key().to_jwk());
    let verification = block_on(kb.verify(&holder_jwk)).unwrap();
    assert_eq!(verification, Ok(()), "ssi rejected agentid's KB-JWT");
    let payload = &kb.signing_bytes.payload;
    assert!(payload.sd_hash.verify(SdAlg::Sha256, sd_jwt));
    assert_eq!(payload.aud, request.audience);
    assert_eq!(payload.nonce.0, request.nonce);
}

const SSI_ISSUER: &str = "https://ssi-issuer.example";

fn ssi_key(alg: Algorithm) -> JWK {
    match alg {
        Algorithm::EdDSA => JWK::generate_ed25519().unwrap(),
        Algorithm::ES256K => JWK::generate_secp256k1(),
        _ => JWK::generate_p256(),
    }
}

fn ssi_claims(now: u64) -> Value {
    json!({
        "iss": SSI_ISSUER,
        "sub": "did:example:agent-7",
        "iat": now,
        "exp": now + 600,
        "given_name": "Ada",
        "email": "ada@example.com",
        "address": {"street_address": "1 Main St", "locality": "Springfield", "country": "US"},
        "nationalities": ["DE", "FR", "US"],
        "plain": true
    })
}

const SSI_POINTERS: [&str; 5] = [
    "/given_name",
    "/email",
    "/address/locality",
    "/address",
    "/nationalities/1",
];

/// An SD-JWT payload signed under a `typ` header. ssi's `SdJwtPayload` writes no
/// `typ`; an ssi user who issues SD-JWT VCs sets one this way.
struct Typed<'a>(SdJwtPayload, &'a str);

impl JwsPayload for Typed<'_> {
    fn typ(&self) -> Option<&str> {
        Some(self.1)
    }

    fn payload_bytes(&self) -> Cow<'_, [u8]> {
        self.0.payload_bytes()
    }
}

/// Conceals `pointers` of `claims` and signs with ssi, under `typ` if given.
///
/// This is the body of `SdJwtBuf::conceal_and_sign` (`SdJwtPayload::conceal`, then
/// `JwsSigner::sign_into_decoded`): that function takes an `ssi_jwt::JWTClaims`,
/// and `ssi-jwt` is not a dev-dependency of this package, so the type cannot be
/// named here; `JWTClaims` serializes to the same JSON object.
fn ssi_issue(claims: &Value, pointers: &[&str], key: &JWK, typ: Option<&str>) -> String {
    let pointers: Vec<JsonPointerBuf> = pointers
        .iter()
        .map(|pointer| JsonPointerBuf::new(pointer.to_string()).unwrap())
        .collect();
    let (payload, disclosures) = SdJwtPayload::conceal(claims, SdAlg::Sha256, &pointers).unwrap();
    let jwt = match typ {
        None => block_on(key.sign_into_decoded(payload)).unwrap(),
        Some(typ) => block_on(key.sign_into_decoded(Typed(payload, typ)))
            .unwrap()
            .map(|typed| typed.0),
    };
    DecodedSdJwt { jwt, disclosures }
        .into_encoded()
        .into_string()
}

fn pinned_ssi_issuer(key: &JWK) -> TrustStore {
    let mut trust = TrustStore::new();
    trust
        .add_pinned_jwk(SSI_ISSUER, &serde_json::to_value(key.to_public()).unwrap())
        .unwrap();
    trust
}

fn header(sd_jwt: &str) -> Value {
    serde_json::from_slice(&base64_url_decode(sd_jwt.split('.').next().unwrap())).unwrap()
}

#[test]
fn agentid_verifies_sd_jwts_issued_by_ssi() {
    let now = unix_now();
    for alg in ALGORITHMS {
        let key = ssi_key(alg);
        let claims = ssi_claims(now);
        let sd_jwt = ssi_issue(&claims, &SSI_POINTERS, &key, Some("example+sd-jwt"));
        let sd_jwt = sd_jwt.as_str();
        assert_eq!(
            header(sd_jwt),
            json!({"alg": alg.as_str(), "typ": "example+sd-jwt"}),
            "{alg}"
        );
        // ssi agrees with itself.
        assert_eq!(ssi_reveal_verify(sd_jwt, &key.to_public()), claims, "{alg}");

        let policy = Policy::default().with_accepted_typs(["example+sd-jwt"]);
        let verifier = Verifier::new(pinned_ssi_issuer(&key), policy.clone());
        let verified = verifier
            .verify_credential(sd_jwt, now)
            .unwrap_or_else(|error| panic!("{alg}: agentid rejected ssi's SD-JWT: {error}"));
        assert_eq!(verified.issuer, SSI_ISSUER);
        assert_eq!(verified.algorithm, alg);
        assert_eq!(verified.subject.as_deref(), Some("did:example:agent-7"));
        assert_eq!(verified.issued_at, Some(now));
        assert_eq!(verified.expires_at, Some(now + 600));
        assert_eq!(verified.key_binding, None);
        assert_eq!(verified.claims, without_registered(&claims), "{alg}");

        // Without the disclosures of `given_name` and `nationalities[1]`, both sides
        // reveal the same rest.
        let kept: Vec<&str> = sd_jwt
            .trim_end_matches('~')
            .split('~')
            .enumerate()
            .filter(|(index, part)| {
                *index == 0 || {
                    let decoded = String::from_utf8(base64_url_decode(part)).unwrap();
                    !(decoded.contains("\"given_name\"") || decoded.contains("\"FR\""))
                }
            })
            .map(|(_, part)| part)
            .collect();
        let subset = format!("{}~", kept.join("~"));
        assert_eq!(subset.matches('~').count(), SSI_POINTERS.len() - 1);
        let verified = verifier.verify_credential(&subset, now).unwrap();
        let theirs = ssi_reveal_verify(&subset, &key.to_public());
        assert_eq!(without_registered(&theirs), verified.claims, "{alg}");
        assert!(!verified.claims.contains_key("given_name"));
        assert_eq!(verified.claims["nationalities"], json!(["DE", "US"]));

        // One byte of one disclosure changed: rejected. A changed base64url
        // character usually breaks the JSON; a changed byte of the decoded
        // disclosure, re-encoded, must fail the digest check.
        for index in 1..=SSI_POINTERS.len() {
            let tampered = tamper_disclosure(sd_jwt, index, false);
            assert!(
                verifier.verify_credential(&tampered, now).is_err(),
                "{alg}: agentid accepted an altered disclosure: {tampered}"
            );
            let tampered = tamper_disclosure(sd_jwt, index, true);
            let verdict = verifier.verify_credential(&tampered, now);
            assert!(
                matches!(verdict, Err(VerifyError::InvalidDisclosure(_))),
                "{alg}: {verdict:?} for an altered disclosure: {tampered}"
            );
        }
        // A wrong pinned key: rejected.
        let wrong = Verifier::new(pinned_ssi_issuer(&ssi_key(alg)), policy);
        assert!(wrong.verify_credential(sd_jwt, now).is_err(), "{alg}");
    }
}

/// An SD-JWT VC (`typ: dc+sd-jwt`, `vct`) issued by ssi passes agentid's default
/// policy.
#[test]
fn agentid_verifies_sd_jwt_vcs_issued_by_ssi_under_the_default_policy() {
    let now = unix_now();
    for alg in ALGORITHMS {
        let key = ssi_key(alg);
        let mut claims = ssi_claims(now);
        claims["vct"] = json!("https://credentials.example/identity");
        let sd_jwt = ssi_issue(&claims, &SSI_POINTERS, &key, Some(SD_JWT_VC_TYP));
        let verifier = Verifier::new(pinned_ssi_issuer(&key), Policy::default());
        let verified = verifier
            .verify_credential(&sd_jwt, now)
            .unwrap_or_else(|error| panic!("{alg}: agentid rejected ssi's SD-JWT VC: {error}"));
        assert_eq!(
            verified.vct.as_deref(),
            Some("https://credentials.example/identity")
        );
        assert_eq!(verified.claims, without_registered(&claims), "{alg}");
    }
}

/// ssi's default output has no `typ` header at all; `Policy::with_missing_typ_accepted`
/// is meant for exactly that.
#[test]
fn agentid_verifies_untyped_sd_jwts_issued_by_ssi_when_the_policy_allows() {
    let now = unix_now();
    for alg in ALGORITHMS {
        let key = ssi_key(alg);
        let claims = ssi_claims(now);
        let sd_jwt = ssi_issue(&claims, &SSI_POINTERS, &key, None);
        assert_eq!(header(&sd_jwt), json!({"alg": alg.as_str()}), "{alg}");
        let policy = Policy::default().with_missing_typ_accepted(true);
        let verifier = Verifier::new(pinned_ssi_issuer(&key), policy);
        let verified = verifier
            .verify_credential(&sd_jwt, now)
            .unwrap_or_else(|error| panic!("{alg}: agentid rejected ssi's SD-JWT: {error}"));
        assert_eq!(verified.claims, without_registered(&claims), "{alg}");
        // Still refused by default.
        let strict = Verifier::new(pinned_ssi_issuer(&key), Policy::default());
        assert!(strict.verify_credential(&sd_jwt, now).is_err(), "{alg}");
    }
}

/// Changes one byte in the middle of disclosure `index` (index of the part of the
/// `~`-separated SD-JWT): a base64url character, or with `decoded` a byte of the
/// decoded JSON (then re-encoded, so that the disclosure stays well-formed).
fn tamper_disclosure(sd_jwt: &str, index: usize, decoded: bool) -> String {
    let mut parts: Vec<String> = sd_jwt.split('~').map(str::to_owned).collect();
    let mut bytes = if decoded {
        base64_url_decode(&parts[index])
    } else {
        parts[index].clone().into_bytes()
    };
    // The last character of the salt (the first JSON string): still valid JSON.
    let at = if decoded {
        bytes.iter().skip(2).position(|b| *b == b'"').unwrap() + 1
    } else {
        bytes.len() / 2
    };
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    parts[index] = if decoded {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)
    } else {
        String::from_utf8(bytes).unwrap()
    };
    let tampered = parts.join("~");
    assert_ne!(tampered, sd_jwt);
    tampered
}

fn base64_url_decode(input: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(input)
        .unwrap()
}
