//! Transaction data (OpenID4VP 1.0 §8.4, Appendix B.3.3.1) end to end: the holder's
//! KB-JWT carries `transaction_data_hashes` for the request's `transaction_data`, and
//! the verifier accepts exactly those hashes, in order — refusing them missing,
//! extra, reordered, wrong, or under another hash algorithm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agentid_verifier::oid4vp::TransactionData;
use agentid_verifier::{
    b64url_encode, sha256_b64, Algorithm, Policy, PresentationRequest, TrustStore, Verifier,
    VerifyError,
};
use agentid_wallet::{present, CredentialRequest, Issuer, SigningKey, WalletError, TASK_VCT};
use serde_json::{json, Map, Value};

const NOW: u64 = 1_800_000_000;
const AUDIENCE: &str = "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk";
const NONCE: &str = "n-0S6_WzA2Mj";

struct Setup {
    verifier: Verifier,
    holder: SigningKey,
    credential: String,
}

fn setup(alg: Algorithm) -> Setup {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let holder = SigningKey::generate(alg);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "pay invoice 77"},
        "scope": ["payments:write"],
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec!["on_behalf_of".parse().unwrap()],
                lifetime_secs: 600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    Setup {
        verifier: Verifier::new(trust, Policy::default()),
        holder,
        credential,
    }
}

fn entry(value: Value) -> String {
    TransactionData::encode(value.as_object().unwrap())
        .unwrap()
        .encoded()
        .to_owned()
}

fn payment(amount: &str) -> String {
    entry(json!({"type": "payment", "credential_ids": ["task"], "amount": amount}))
}

fn request(transaction_data: &[String]) -> PresentationRequest {
    PresentationRequest::new(AUDIENCE, NONCE).with_transaction_data(transaction_data.to_vec())
}

fn presented(setup: &Setup, transaction_data: &[String]) -> String {
    present(
        &setup.credential,
        &setup.holder,
        &[],
        &request(transaction_data),
        NOW,
    )
    .unwrap()
}

fn kb_payload(presentation: &str) -> Map<String, Value> {
    let kb = presentation.rsplit('~').next().unwrap();
    let payload = kb.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The presentation with its KB-JWT re-signed over `payload`.
fn with_kb_payload(setup: &Setup, presentation: &str, payload: &Map<String, Value>) -> String {
    let (without_kb, _) = presentation.rsplit_once('~').unwrap();
    let header = json!({"alg": setup.holder.algorithm().as_str(), "typ": "kb+jwt"});
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(Value::Object(payload.clone()).to_string().as_bytes())
    );
    let signature = b64url_encode(&setup.holder.sign(input.as_bytes()));
    format!("{without_kb}~{input}.{signature}")
}

fn mismatch(result: Result<agentid_verifier::Verified, VerifyError>) -> String {
    match result {
        Err(VerifyError::TransactionDataMismatch(reason)) => reason,
        other => panic!("expected TransactionDataMismatch, got {other:?}"),
    }
}

#[test]
fn b_3_3_1_hashes_are_over_the_strings_as_received_in_order() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let setup = setup(alg);
        let data = [payment("10.00"), payment("20.00")];
        let presentation = presented(&setup, &data);
        let payload = kb_payload(&presentation);
        let expected: Vec<Value> = data.iter().map(|d| sha256_b64(d).into()).collect();
        assert_eq!(payload["transaction_data_hashes"], Value::Array(expected));
        assert!(payload.get("transaction_data_hashes_alg").is_none());
        let verified = setup
            .verifier
            .verify_presentation(&presentation, &request(&data), NOW)
            .unwrap();
        let binding = verified.key_binding.unwrap();
        assert_eq!(
            binding.transaction_data_hashes,
            data.iter().map(|d| sha256_b64(d)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn no_transaction_data_means_no_hashes_and_existing_presentations_still_verify() {
    let setup = setup(Algorithm::EdDSA);
    let presentation = presented(&setup, &[]);
    assert!(kb_payload(&presentation)
        .get("transaction_data_hashes")
        .is_none());
    let verified = setup
        .verifier
        .verify_presentation(&presentation, &request(&[]), NOW)
        .unwrap();
    assert!(verified
        .key_binding
        .unwrap()
        .transaction_data_hashes
        .is_empty());
}

#[test]
fn hashes_missing_extra_reordered_or_for_other_data_are_refused() {
    let setup = setup(Algorithm::ES256);
    let data = [payment("10.00"), payment("20.00")];
    let presentation = presented(&setup, &data);
    let verify = |expected: &[String]| {
        setup
            .verifier
            .verify_presentation(&presentation, &request(expected), NOW)
    };
    // Extra: the KB-JWT acknowledges data the verifier did not send.
    assert!(mismatch(verify(&[])).contains("sent no transaction data"));
    // Reordered, one fewer, other data.
    assert!(mismatch(verify(&[data[1].clone(), data[0].clone()])).contains("[0]"));
    assert!(mismatch(verify(&data[..1])).contains("2 transaction_data_hashes for 1"));
    assert!(mismatch(verify(&[data[0].clone(), payment("20.01")])).contains("[1]"));
    // Missing: a presentation made without the data.
    let without = presented(&setup, &[]);
    assert!(mismatch(
        setup
            .verifier
            .verify_presentation(&without, &request(&data), NOW)
    )
    .contains("carries no transaction_data_hashes"));
}

#[test]
fn the_hash_algorithm_is_sha_256_and_named_when_the_request_lists_algorithms() {
    let setup = setup(Algorithm::EdDSA);
    let listed = entry(json!({
        "type": "payment", "credential_ids": ["task"],
        "transaction_data_hashes_alg": ["sha-512", "sha-256"]
    }));
    let presentation = presented(&setup, std::slice::from_ref(&listed));
    let payload = kb_payload(&presentation);
    assert_eq!(payload["transaction_data_hashes_alg"], "sha-256");
    let data = [listed];
    assert!(setup
        .verifier
        .verify_presentation(&presentation, &request(&data), NOW)
        .is_ok());

    // Required when the request listed algorithms: dropping it is refused.
    let mut dropped = payload.clone();
    dropped.remove("transaction_data_hashes_alg");
    let forged = with_kb_payload(&setup, &presentation, &dropped);
    assert!(mismatch(
        setup
            .verifier
            .verify_presentation(&forged, &request(&data), NOW)
    )
    .contains("must name transaction_data_hashes_alg"));

    // Another algorithm is not supported.
    let mut other = payload.clone();
    other.insert("transaction_data_hashes_alg".into(), "sha-512".into());
    let forged = with_kb_payload(&setup, &presentation, &other);
    assert!(mismatch(
        setup
            .verifier
            .verify_presentation(&forged, &request(&data), NOW)
    )
    .contains("not supported"));

    // A request allowing only sha-512: the holder refuses to present.
    let sha512_only = entry(json!({
        "type": "payment", "credential_ids": ["task"], "transaction_data_hashes_alg": ["sha-512"]
    }));
    assert!(matches!(
        present(
            &setup.credential,
            &setup.holder,
            &[],
            &request(&[sha512_only]),
            NOW
        ),
        Err(WalletError::InvalidRequest(_))
    ));
}

#[test]
fn malformed_hashes_and_malformed_transaction_data_are_refused() {
    let setup = setup(Algorithm::EdDSA);
    let data = [payment("5")];
    let presentation = presented(&setup, &data);
    for bad in [json!([]), json!("hash"), json!([1])] {
        let mut payload = kb_payload(&presentation);
        payload.insert("transaction_data_hashes".into(), bad.clone());
        let forged = with_kb_payload(&setup, &presentation, &payload);
        assert!(
            matches!(
                setup
                    .verifier
                    .verify_presentation(&forged, &request(&data), NOW),
                Err(VerifyError::Malformed(_))
            ),
            "{bad}"
        );
    }
    // An algorithm without hashes.
    let mut payload = kb_payload(&presented(&setup, &[]));
    payload.insert("transaction_data_hashes_alg".into(), "sha-256".into());
    let forged = with_kb_payload(&setup, &presented(&setup, &[]), &payload);
    assert!(mismatch(
        setup
            .verifier
            .verify_presentation(&forged, &request(&[]), NOW)
    )
    .contains("without transaction_data_hashes"));
    // The holder refuses transaction data that breaks §5.1.
    for bad in [
        b64url_encode(b"{\"type\":\"payment\"}"),
        "not base64url!".to_owned(),
    ] {
        assert!(matches!(
            present(&setup.credential, &setup.holder, &[], &request(&[bad]), NOW),
            Err(WalletError::InvalidRequest(_))
        ));
    }
}
