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

// ---------------------------------------------------------------------------------
// Roots that carry an X.509 chain (`x5c`), trusted through an `x509_anchor`
// ---------------------------------------------------------------------------------

struct Pki {
    anchor_pem: String,
    chain: Vec<String>,
    leaf: rcgen::KeyPair,
}

/// A root CA, optionally an intermediate, and a leaf valid from `from` to `until`
/// (years), the leaf allowed `leaf_usages`.
fn pki(intermediate: bool, from: i32, until: i32, leaf_usages: Vec<rcgen::KeyUsagePurpose>) -> Pki {
    use base64::Engine as _;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca = |name: &str, path: BasicConstraints| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(path);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        params
    };
    let root_key = KeyPair::generate_for(alg).unwrap();
    let root_params = ca("AP2 test root", BasicConstraints::Unconstrained);
    let root_cert = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);
    let mut chain = Vec::new();
    let leaf = KeyPair::generate_for(alg).unwrap();
    let mut leaf_params = CertificateParams::new(vec!["user.example".to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "AP2 user");
    leaf_params.key_usages = leaf_usages;
    leaf_params.not_before = rcgen::date_time_ymd(from, 1, 1);
    leaf_params.not_after = rcgen::date_time_ymd(until, 1, 1);
    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
    if intermediate {
        let mid_key = KeyPair::generate_for(alg).unwrap();
        let mid_params = ca("AP2 test intermediate", BasicConstraints::Constrained(0));
        let mid_cert = mid_params.signed_by(&mid_key, &root_issuer).unwrap();
        let mid_issuer = Issuer::new(mid_params, mid_key);
        let leaf_cert = leaf_params.signed_by(&leaf, &mid_issuer).unwrap();
        chain.push(b64(leaf_cert.der()));
        chain.push(b64(mid_cert.der()));
    } else {
        let leaf_cert = leaf_params.signed_by(&leaf, &root_issuer).unwrap();
        chain.push(b64(leaf_cert.der()));
    }
    Pki {
        anchor_pem: root_cert.pem(),
        chain,
        leaf,
    }
}

/// A mandate root signed by the PKI's leaf key, carrying its x5c.
fn x5c_root(pki: &Pki, holder: &SigningKey) -> String {
    use rcgen::SigningKey as _;
    let header = json!({"alg": "ES256", "typ": "example+sd-jwt", "x5c": pki.chain});
    let disclosed = disclosure(&json!(["salt", open_mandate(holder)]));
    let payload =
        json!({"delegate_payload": [{"...": sha256_b64(&disclosed)}], "_sd_alg": "sha-256"});
    let input = format!(
        "{}.{}",
        agentid_verifier::b64url_encode(header.to_string().as_bytes()),
        agentid_verifier::b64url_encode(payload.to_string().as_bytes())
    );
    let der = pki.leaf.sign(input.as_bytes()).unwrap();
    let raw = p256::ecdsa::Signature::from_der(&der).unwrap().to_bytes();
    format!(
        "{input}.{}~{disclosed}~",
        agentid_verifier::b64url_encode(&raw)
    )
}

fn anchored(pki: &Pki) -> Verifier {
    let trust = json!({"issuers": [{"x509_anchor": pki.anchor_pem}]});
    Verifier::new(
        TrustStore::from_json(trust.to_string().as_bytes()).unwrap(),
        Policy::default().with_clock_skew(300),
    )
}

#[test]
fn a_root_with_an_x5c_chain_to_a_trusted_anchor_verifies() {
    use rcgen::KeyUsagePurpose::DigitalSignature;
    let parties = new_parties();
    for intermediate in [false, true] {
        let pki = pki(intermediate, 2020, 2035, vec![DigitalSignature]);
        let root = x5c_root(&pki, &parties.agent);
        let closed = hop(
            &parties.agent,
            "kb+sd-jwt",
            &root,
            closed_mandate(),
            AUD,
            NONCE,
        );
        let verified = anchored(&pki)
            .verify_mandate_chain(&join(&[root, closed]), &request(), NOW)
            .unwrap();
        assert_eq!(
            verified.root_signer, "x509:CN=AP2 test root",
            "{intermediate}"
        );
    }
}

#[test]
fn x5c_chains_are_refused_for_every_path_validation_rule() {
    use rcgen::KeyUsagePurpose::{DigitalSignature, KeyAgreement};
    let parties = new_parties();
    let refused = |pki: &Pki, verifier: &Verifier| {
        let root = x5c_root(pki, &parties.agent);
        let closed = hop(
            &parties.agent,
            "kb+sd-jwt",
            &root,
            closed_mandate(),
            AUD,
            NONCE,
        );
        verifier
            .verify_mandate_chain(&join(&[root, closed]), &request(), NOW)
            .unwrap_err()
    };
    // Another anchor than the one the chain ends at.
    let good = pki(true, 2020, 2035, vec![DigitalSignature]);
    let other = pki(false, 2020, 2035, vec![DigitalSignature]);
    assert!(matches!(
        refused(&good, &anchored(&other)),
        VerifyError::UntrustedIssuer(_)
    ));
    // No anchor at all in the trust file.
    let plain = Verifier::new(TrustStore::new(), Policy::default());
    assert!(matches!(
        refused(&good, &plain),
        VerifyError::UntrustedIssuer(_)
    ));
    // A leaf that expired, or is not valid yet (NOW is 2027-01-15).
    let expired = pki(false, 2020, 2026, vec![DigitalSignature]);
    assert!(matches!(
        refused(&expired, &anchored(&expired)),
        VerifyError::Expired { .. }
    ));
    let early = pki(false, 2028, 2035, vec![DigitalSignature]);
    assert!(matches!(
        refused(&early, &anchored(&early)),
        VerifyError::NotYetValid { .. }
    ));
    // A leaf whose key may not sign.
    let agreement = pki(false, 2020, 2035, vec![KeyAgreement]);
    assert!(matches!(
        refused(&agreement, &anchored(&agreement)),
        VerifyError::UntrustedIssuer(_)
    ));
    // A chain with the intermediate missing.
    let mut gap = pki(true, 2020, 2035, vec![DigitalSignature]);
    gap.chain.truncate(1);
    assert!(matches!(
        refused(&gap, &anchored(&gap)),
        VerifyError::UntrustedIssuer(_)
    ));
    // A leaf posing as an issuer: leaf ~ leaf.
    let mut loop_chain = pki(false, 2020, 2035, vec![DigitalSignature]);
    loop_chain.chain.push(loop_chain.chain[0].clone());
    assert!(matches!(
        refused(&loop_chain, &anchored(&loop_chain)),
        VerifyError::UntrustedIssuer(_)
    ));
    // Garbage and too many certificates.
    let mut garbage = pki(false, 2020, 2035, vec![DigitalSignature]);
    garbage.chain = vec!["not base64!".into()];
    assert!(matches!(
        refused(&garbage, &anchored(&garbage)),
        VerifyError::Malformed(_)
    ));
    let mut long = pki(false, 2020, 2035, vec![DigitalSignature]);
    long.chain = vec![long.chain[0].clone(); 6];
    assert!(matches!(
        refused(&long, &anchored(&long)),
        VerifyError::LimitExceeded(_)
    ));
    // A trust file anchor that is not a certificate.
    assert!(TrustStore::from_json(br#"{"issuers": [{"x509_anchor": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}]}"#).is_err());
}

/// Rule (issue 12, item 4): the wallet signs AP2 mandates with ES256 whatever the
/// key type it would otherwise use, and refuses any other key; what it signs is a
/// chain agentid's AP2 profile verifies (tests/interop_ap2.rs: and the SDK).
#[test]
fn the_wallet_signs_ap2_mandates_with_es256_only() {
    use agentid_wallet::ap2::{close_mandate, create_open_mandate, delegate_mandate};
    use agentid_wallet::HopBinding;
    let parties = new_parties();
    let open = json!({"vct": "mandate.payment.open.1", "constraints": []});
    let root = create_open_mandate(&parties.user, &open, parties.agent.public_key()).unwrap();
    for binding in [HopBinding::SdHash, HopBinding::IssuerJwtHash] {
        let delegated = delegate_mandate(
            &root,
            &parties.agent,
            &open,
            parties.sub.public_key(),
            "https://sub.example",
            "n0",
            binding,
            NOW,
        )
        .unwrap();
        let chain = close_mandate(
            &delegated,
            &parties.sub,
            &closed_mandate(),
            AUD,
            NONCE,
            binding,
            NOW,
        )
        .unwrap();
        let trust = TrustStore::from_json(
            json!({"issuers": [{"jwk": parties.user.public_key().to_jwk()}]})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        let verified = Verifier::new(trust, Policy::default())
            .verify_mandate_chain(&chain, &request(), NOW)
            .unwrap();
        assert_eq!(verified.payloads.len(), 3);
        assert_eq!(verified.payloads[2]["transaction_id"], "tx_1");
    }
    // An EdDSA key signs no mandate; nor does a mandate of the wrong kind pass.
    let eddsa = SigningKey::generate(Algorithm::EdDSA);
    let refused = create_open_mandate(&eddsa, &open, parties.agent.public_key()).unwrap_err();
    assert!(refused.to_string().contains("ES256"), "{refused}");
    assert!(create_open_mandate(&parties.user, &open, eddsa.public_key()).is_err());
    assert!(
        create_open_mandate(&parties.user, &closed_mandate(), parties.agent.public_key()).is_err()
    );
    assert!(close_mandate(
        &root,
        &eddsa,
        &closed_mandate(),
        AUD,
        NONCE,
        HopBinding::SdHash,
        NOW
    )
    .is_err());
    assert!(close_mandate(
        &root,
        &parties.agent,
        &open,
        AUD,
        NONCE,
        HopBinding::SdHash,
        NOW
    )
    .is_err());
}

/// `agentid verify CHAIN --profile ap2`: a valid chain exits 0, a closed mandate
/// outside its open mandate's constraints exits 1 with the violation, and the
/// profile needs --audience and --nonce (exit 2).
#[test]
fn the_cli_verifies_mandate_chains_with_profile_ap2() {
    use agentid_wallet::ap2::{close_mandate, create_open_mandate};
    use agentid_wallet::HopBinding;
    let parties = new_parties();
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    std::fs::write(
        &trust,
        json!({"issuers": [{"jwk": parties.user.public_key().to_jwk()}]}).to_string(),
    )
    .unwrap();
    let now = agentid_wallet::unix_now();
    let open = json!({"vct": "mandate.payment.open.1", "constraints": [
        {"type": "payment.amount_range", "currency": "USD", "min": 100, "max": 5000}]});
    let root = create_open_mandate(&parties.user, &open, parties.agent.public_key()).unwrap();
    let run = |amount: u64, extra: &[&str]| {
        let mut closed = closed_mandate();
        closed["payment_amount"]["amount"] = json!(amount);
        let chain = close_mandate(
            &root,
            &parties.agent,
            &closed,
            AUD,
            NONCE,
            HopBinding::SdHash,
            now,
        )
        .unwrap();
        let file = dir.path().join(format!("chain-{amount}"));
        std::fs::write(&file, chain).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_agentid"))
            .arg("verify")
            .arg(&file)
            .args(["--profile", "ap2", "--trust"])
            .arg(&trust)
            .args(extra)
            .output()
            .unwrap()
    };
    let ok = run(4000, &["--audience", AUD, "--nonce", NONCE]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("VALID AP2 mandate chain"));
    let over = run(9000, &["--audience", AUD, "--nonce", NONCE, "--json"]);
    assert_eq!(over.status.code(), Some(1));
    let answer: Value = serde_json::from_slice(&over.stdout).unwrap();
    assert_eq!(answer["kind"], "mandate_refused");
    assert!(
        answer["reason"].as_str().unwrap().contains("9000"),
        "{answer}"
    );
    let wrong_nonce = run(4000, &["--audience", AUD, "--nonce", "other"]);
    assert_eq!(wrong_nonce.status.code(), Some(1));
    assert_eq!(run(4000, &[]).status.code(), Some(2));
}

/// `agentid mandate open|close` sign with the wallet's P-256 keys, say so, refuse an
/// EdDSA key, and produce what `verify --profile ap2` accepts.
#[test]
fn the_cli_signs_mandates_with_es256_keys_of_the_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let run = |wallet: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_agentid"))
            .env("AGENTID_PASSPHRASE", "a long passphrase")
            .arg("--wallet")
            .arg(dir.path().join(wallet))
            .args(args)
            .args(
                ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"]
                    .iter()
                    .filter(|_| args[0] == "init"),
            )
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let text = |output: std::process::Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    text(run("user", &["init"]));
    text(run("agent", &["init"]));
    let user_key = text(run(
        "user",
        &["key", "new", "--task", "ap2", "--alg", "es256"],
    ));
    let agent_key = text(run(
        "agent",
        &["key", "new", "--task", "ap2", "--alg", "es256"],
    ));
    let eddsa_key = text(run(
        "agent",
        &["key", "new", "--task", "other", "--alg", "eddsa"],
    ));
    std::fs::write(
        dir.path().join("open.json"),
        json!({"vct": "mandate.payment.open.1", "constraints": []}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("closed.json"), closed_mandate().to_string()).unwrap();
    let opened = run(
        "user",
        &[
            "mandate",
            "open",
            "--key",
            &user_key,
            "--to",
            &agent_key,
            "--mandate",
            "open.json",
        ],
    );
    assert!(String::from_utf8_lossy(&opened.stderr).contains("ES256"));
    std::fs::write(dir.path().join("root.sd-jwt"), text(opened)).unwrap();
    let refused = run(
        "agent",
        &[
            "mandate",
            "close",
            "--chain",
            "root.sd-jwt",
            "--key",
            &eddsa_key,
            "--mandate",
            "closed.json",
            "--audience",
            AUD,
            "--nonce",
            NONCE,
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ES256"));
    let closed = text(run(
        "agent",
        &[
            "mandate",
            "close",
            "--chain",
            "root.sd-jwt",
            "--key",
            &agent_key,
            "--mandate",
            "closed.json",
            "--audience",
            AUD,
            "--nonce",
            NONCE,
        ],
    ));
    std::fs::write(dir.path().join("chain.sd-jwt"), closed).unwrap();
    let user_jwk = agentid_verifier::did_key::decode(&user_key)
        .unwrap()
        .to_jwk();
    std::fs::write(
        dir.path().join("trust.json"),
        json!({"issuers": [{"jwk": user_jwk}]}).to_string(),
    )
    .unwrap();
    let verified = text(run(
        "agent",
        &[
            "verify",
            "chain.sd-jwt",
            "--profile",
            "ap2",
            "--trust",
            "trust.json",
            "--audience",
            AUD,
            "--nonce",
            NONCE,
        ],
    ));
    assert!(
        verified.starts_with("VALID AP2 mandate chain"),
        "{verified}"
    );
}
