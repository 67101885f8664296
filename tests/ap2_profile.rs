//! AP2 v0.2 mandate chains (`Verifier::verify_mandate_chain`, `verify --profile ap2`),
//! built here in the exact shape the AP2 SDK emits (root `typ: example+sd-jwt`, no
//! `iss`/`exp`, the holder key in `delegate_payload[0].cnf`; `kb+sd-jwt(+kb)` hops),
//! so the profile is tested on every machine; tests/interop_ap2.rs runs the SDK
//! itself. Each refusal is named after the rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::{
    jwk_thumbprint, sha256_b64, Algorithm, BatchItem, Policy, PresentationRequest, SignatureRole,
    TrustStore, Verifier, VerifyError,
};
use agentid_wallet::{cnf, SigningKey};
use common::{disclosure, sign_token, NOW};
use serde_json::{json, Value};

const AUD: &str = "https://merchant.example";
const NONCE: &str = "n-ap2";

struct Parties {
    user: SigningKey,
    agent: SigningKey,
    sub: SigningKey,
}

fn new_parties() -> Parties {
    Parties {
        user: SigningKey::generate(Algorithm::ES256),
        agent: SigningKey::generate(Algorithm::ES256),
        sub: SigningKey::generate(Algorithm::ES256),
    }
}

/// `JWT~<d>~` whose one delegate_payload disclosure is `object`.
fn token(signer: &SigningKey, header: Value, mut payload: Value, object: Value) -> String {
    let disclosed = disclosure(&json!(["salt", object]));
    payload["delegate_payload"] = json!([{"...": sha256_b64(&disclosed)}]);
    payload["_sd_alg"] = json!("sha-256");
    format!("{}~{disclosed}~", sign_token(signer, &header, &payload))
}

fn open_mandate(holder: &SigningKey) -> Value {
    json!({"vct": "mandate.payment.open.1", "constraints": [], "cnf": cnf(holder.public_key())})
}

fn closed_mandate() -> Value {
    json!({"vct": "mandate.payment.1", "transaction_id": "tx_1",
        "payee": {"id": "shop", "name": "Shop"}, "payment_amount": {"amount": 5000, "currency": "USD"},
        "payment_instrument": {"id": "123", "type": "credit"}})
}

fn root(parties: &Parties, kid: Option<&str>) -> String {
    let mut header = json!({"alg": "ES256", "typ": "example+sd-jwt"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    token(
        &parties.user,
        header,
        json!({}),
        open_mandate(&parties.agent),
    )
}

fn hop(
    signer: &SigningKey,
    typ: &str,
    previous: &str,
    object: Value,
    aud: &str,
    nonce: &str,
) -> String {
    token(
        signer,
        json!({"alg": "ES256", "typ": typ}),
        json!({"iat": NOW, "aud": aud, "nonce": nonce, "sd_hash": sha256_b64(previous)}),
        object,
    )
}

fn join(segments: &[String]) -> String {
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i < last {
                s[..s.len() - 1].to_owned()
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("~~")
}

/// root ~~ closed mandate signed by the agent.
fn chain(parties: &Parties) -> String {
    let root = root(parties, Some("user-key"));
    let closed = hop(
        &parties.agent,
        "kb+sd-jwt",
        &root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    join(&[root, closed])
}

fn trust(parties: &Parties) -> TrustStore {
    let mut jwk = parties.user.public_key().to_jwk();
    jwk["kid"] = json!("user-key");
    TrustStore::from_json(json!({"issuers": [{"jwk": jwk}]}).to_string().as_bytes()).unwrap()
}

fn verifier(parties: &Parties) -> Verifier {
    Verifier::new(trust(parties), Policy::default().with_clock_skew(300))
}

fn request() -> PresentationRequest {
    PresentationRequest::new(AUD, NONCE)
}

#[test]
fn an_sdk_shaped_chain_verifies_with_one_payload_per_token() {
    let parties = new_parties();
    let verified = verifier(&parties)
        .verify_mandate_chain(&chain(&parties), &request(), NOW)
        .unwrap();
    assert_eq!(verified.payloads.len(), 2);
    assert_eq!(verified.payloads[0]["vct"], "mandate.payment.open.1");
    assert_eq!(verified.payloads[1]["transaction_id"], "tx_1");
    assert_eq!(verified.presenter_key, *parties.agent.public_key());
    assert!(verified
        .root_signer
        .ends_with(&jwk_thumbprint(parties.user.public_key())));
}

#[test]
fn a_delegation_hop_hands_the_mandate_to_the_next_key() {
    let parties = new_parties();
    let root = root(&parties, Some("user-key"));
    let delegation = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &root,
        open_mandate(&parties.sub),
        "sub",
        "n0",
    );
    let closed = hop(
        &parties.sub,
        "kb+sd-jwt",
        &delegation,
        closed_mandate(),
        AUD,
        NONCE,
    );
    let text = join(&[root.clone(), delegation.clone(), closed]);
    let verified = verifier(&parties)
        .verify_mandate_chain(&text, &request(), NOW)
        .unwrap();
    assert_eq!(verified.payloads.len(), 3);
    assert_eq!(verified.presenter_key, *parties.sub.public_key());
    // The closed mandate signed by the agent instead of its delegate: refused.
    let wrong_signer = hop(
        &parties.agent,
        "kb+sd-jwt",
        &delegation,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert_eq!(
        verifier(&parties)
            .verify_mandate_chain(&join(&[root, delegation, wrong_signer]), &request(), NOW)
            .unwrap_err(),
        VerifyError::InvalidSignature(SignatureRole::Delegation)
    );
}

#[test]
fn a_root_key_is_trusted_by_kid_thumbprint_or_alone() {
    let parties = new_parties();
    let thumbprint = jwk_thumbprint(parties.user.public_key());
    for kid in [Some("user-key"), Some(thumbprint.as_str()), None] {
        let root = root(&parties, kid);
        let closed = hop(
            &parties.agent,
            "kb+sd-jwt",
            &root,
            closed_mandate(),
            AUD,
            NONCE,
        );
        assert!(
            verifier(&parties)
                .verify_mandate_chain(&join(&[root, closed]), &request(), NOW)
                .is_ok(),
            "{kid:?}"
        );
    }
    // A root signed by a key nobody trusts, under a kid the trust file does not know.
    let stranger = new_parties();
    let root = root(&stranger, Some("stranger"));
    let closed = hop(
        &stranger.agent,
        "kb+sd-jwt",
        &root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert!(matches!(
        verifier(&parties).verify_mandate_chain(&join(&[root, closed]), &request(), NOW),
        Err(VerifyError::UntrustedIssuer(_))
    ));
    // The same, claiming the trusted kid: the signature refuses it.
    let root = root_signed_as(&stranger, "user-key");
    let closed = hop(
        &stranger.agent,
        "kb+sd-jwt",
        &root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert_eq!(
        verifier(&parties)
            .verify_mandate_chain(&join(&[root, closed]), &request(), NOW)
            .unwrap_err(),
        VerifyError::InvalidSignature(SignatureRole::Issuer)
    );
}

fn root_signed_as(parties: &Parties, kid: &str) -> String {
    root(parties, Some(kid))
}

#[test]
fn the_closed_mandate_is_bound_to_one_verifier_and_its_predecessor() {
    let parties = new_parties();
    let v = verifier(&parties);
    let text = chain(&parties);
    assert_eq!(
        v.verify_mandate_chain(
            &text,
            &PresentationRequest::new("https://other.example", NONCE),
            NOW
        )
        .unwrap_err(),
        VerifyError::AudienceMismatch
    );
    assert_eq!(
        v.verify_mandate_chain(&text, &PresentationRequest::new(AUD, "other"), NOW)
            .unwrap_err(),
        VerifyError::NonceMismatch
    );
    // Bound to another root (same holder, another mandate).
    let other_root = token(
        &parties.user,
        json!({"alg": "ES256", "typ": "example+sd-jwt", "kid": "user-key"}),
        json!({"iat": NOW}),
        open_mandate(&parties.agent),
    );
    let closed = hop(
        &parties.agent,
        "kb+sd-jwt",
        &other_root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    let spliced = join(&[root(&parties, Some("user-key")), closed]);
    assert_eq!(
        v.verify_mandate_chain(&spliced, &request(), NOW)
            .unwrap_err(),
        VerifyError::SdHashMismatch
    );
    // Every byte of the chain matters.
    for position in (0..text.len()).step_by(7) {
        let mut bytes = text.clone().into_bytes();
        bytes[position] ^= 0x01;
        let Ok(mutant) = String::from_utf8(bytes) else {
            continue;
        };
        assert!(
            v.verify_mandate_chain(&mutant, &request(), NOW).is_err(),
            "byte {position}"
        );
    }
}

#[test]
fn hop_types_and_holder_keys_follow_the_delegate_sd_jwt_rules() {
    let parties = new_parties();
    let v = verifier(&parties);
    let root = root(&parties, Some("user-key"));
    // A terminal typ on a hop that names a further holder, and the reverse.
    let with_cnf = hop(
        &parties.agent,
        "kb+sd-jwt",
        &root,
        open_mandate(&parties.sub),
        AUD,
        NONCE,
    );
    assert!(v
        .verify_mandate_chain(&join(&[root.clone(), with_cnf]), &request(), NOW)
        .is_err());
    let intermediate_last = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert!(matches!(
        v.verify_mandate_chain(&join(&[root.clone(), intermediate_last]), &request(), NOW),
        Err(VerifyError::UnexpectedType { .. })
    ));
    // A root without a holder key.
    let no_cnf = token(
        &parties.user,
        json!({"alg": "ES256", "typ": "example+sd-jwt", "kid": "user-key"}),
        json!({}),
        json!({"vct": "mandate.payment.open.1", "constraints": []}),
    );
    let closed = hop(
        &parties.agent,
        "kb+sd-jwt",
        &no_cnf,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert!(matches!(
        v.verify_mandate_chain(&join(&[no_cnf, closed]), &request(), NOW),
        Err(VerifyError::MissingHolderKey(_))
    ));
    // A hop posing as the root (its typ is a hop's).
    let as_root = hop(
        &parties.user,
        "kb+sd-jwt+kb",
        "x",
        open_mandate(&parties.agent),
        AUD,
        NONCE,
    );
    let closed = hop(
        &parties.agent,
        "kb+sd-jwt",
        &as_root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert!(matches!(
        v.verify_mandate_chain(&join(&[as_root, closed]), &request(), NOW),
        Err(VerifyError::UnexpectedType { .. })
    ));
}

#[test]
fn expired_mandates_are_refused_with_the_sdk_skew() {
    let parties = new_parties();
    let v = verifier(&parties);
    let mut open = open_mandate(&parties.agent);
    open["exp"] = json!(NOW - 301);
    let root = token(
        &parties.user,
        json!({"alg": "ES256", "typ": "example+sd-jwt", "kid": "user-key"}),
        json!({}),
        open.clone(),
    );
    let closed = hop(
        &parties.agent,
        "kb+sd-jwt",
        &root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert!(matches!(
        v.verify_mandate_chain(&join(&[root, closed]), &request(), NOW),
        Err(VerifyError::Expired { .. })
    ));
    open["exp"] = json!(NOW - 299);
    let root = token(
        &parties.user,
        json!({"alg": "ES256", "typ": "example+sd-jwt", "kid": "user-key"}),
        json!({}),
        open,
    );
    let closed = hop(
        &parties.agent,
        "kb+sd-jwt",
        &root,
        closed_mandate(),
        AUD,
        NONCE,
    );
    assert!(v
        .verify_mandate_chain(&join(&[root, closed]), &request(), NOW)
        .is_ok());
}

#[test]
fn agentid_chains_and_mandate_chains_do_not_pass_for_each_other() {
    let parties = new_parties();
    let text = chain(&parties);
    // The agentid pipeline refuses a mandate chain (no iss, not an SD-JWT VC).
    assert!(verifier(&parties)
        .verify_presentation(&text, &request(), NOW)
        .is_err());
    // The batch path has no mandate mode: it refuses it the same way.
    let results = verifier(&parties).verify_batch(
        &[BatchItem {
            presentation: &text,
            request: &request(),
        }],
        NOW,
    );
    assert!(results[0].is_err());
}
