//! One OpenID4VP 1.0 exchange through the pure layer, end to end: a Verifier builds
//! and signs a request object (decentralized_identifier, direct_post.jwt, an
//! ephemeral encryption key, transaction data); the Wallet reads the invocation URL,
//! checks the request object, presents an SD-JWT VC bound to the client identifier
//! and nonce, acknowledging the transaction data, and encrypts the response; the
//! Verifier decrypts it and verifies the presentation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agentid_verifier::oid4vp::jwe::Enc;
use agentid_verifier::oid4vp::request::{
    parse_request_uri, verify_request_object, ClientMetadata, RequestReference,
};
use agentid_verifier::oid4vp::response::{parse_direct_post_jwt, ResponseLimits};
use agentid_verifier::oid4vp::{
    AuthorizationRequest, AuthorizationResponse, ClientId, RequestError, RequestOptions,
    ResponseMode, TransactionData,
};
use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::oid4vp::sign_request_object;
use agentid_wallet::{present, CredentialRequest, Issuer, SigningKey, WalletError, TASK_VCT};
use rand_core::OsRng;
use serde_json::json;

const NOW: u64 = 1_800_000_000;
const RESPONSE_URI: &str = "https://verifier.example/post";
const BOTH: [Enc; 2] = [Enc::A128GCM, Enc::A256GCM];

fn options() -> RequestOptions {
    RequestOptions::default().with_transaction_data_types(["payment"])
}

fn dcql() -> serde_json::Value {
    json!({"credentials": [{
        "id": "task", "format": "dc+sd-jwt",
        "meta": {"vct_values": [TASK_VCT]},
        "claims": [{"path": ["scope"]}]
    }]})
}

fn vp_formats() -> serde_json::Map<String, serde_json::Value> {
    json!({"dc+sd-jwt": {"sd-jwt_alg_values": ["EdDSA", "ES256"], "kb-jwt_alg_values": ["EdDSA", "ES256"]}})
        .as_object()
        .cloned()
        .unwrap()
}

#[test]
fn a_signed_request_an_encrypted_response_and_a_verified_presentation() {
    for verifier_alg in [Algorithm::EdDSA, Algorithm::ES256] {
        // The Verifier: a did:key client, an ephemeral response key, a payment.
        let verifier_key = SigningKey::generate(verifier_alg);
        let client_id = ClientId::parse(&format!(
            "decentralized_identifier:{}",
            verifier_key.did().unwrap()
        ))
        .unwrap();
        let response_key = p256::SecretKey::random(&mut OsRng);
        let metadata = ClientMetadata::new(vp_formats())
            .with_encryption_key("eph-1", response_key.public_key())
            .with_enc_values(&BOTH);
        let payment = TransactionData::encode(
            json!({"type": "payment", "credential_ids": ["task"], "amount": "42.00", "currency": "EUR"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let request = AuthorizationRequest::builder(
            &client_id,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            "n-0S6_WzA2Mj",
            dcql(),
            &metadata,
        )
        .state("st-77")
        .transaction_data(std::slice::from_ref(&payment))
        .validity(NOW, NOW + 300)
        .build(&options())
        .unwrap();
        let request_object = sign_request_object(&request, &verifier_key, None).unwrap();
        let invocation = format!(
            "openid4vp://?client_id={}&request_uri=https%3A%2F%2Fverifier.example%2Frequest%2F1",
            url_encode(client_id.as_str())
        );

        // The Wallet: read the URL, "fetch" and check the request object.
        let RequestReference::ByReference {
            client_id: url_client_id,
            ..
        } = parse_request_uri(&invocation).unwrap()
        else {
            panic!("by reference")
        };
        let checked =
            verify_request_object(&request_object, Some(&url_client_id), &[], NOW, &options())
                .unwrap();
        assert_eq!(checked, request);
        assert_eq!(checked.transaction_data()[0].object()["amount"], "42.00");

        // The holder presents its credential to the client identifier (B.3.6).
        let (trust, holder, credential) = issued();
        let transaction_data: Vec<String> = checked
            .transaction_data()
            .iter()
            .map(|entry| entry.encoded().to_owned())
            .collect();
        let presentation_request =
            PresentationRequest::new(checked.client_id().as_str(), checked.nonce())
                .with_transaction_data(transaction_data.clone());
        let presentation = present(&credential, &holder, &[], &presentation_request, NOW).unwrap();
        let response = AuthorizationResponse {
            vp_token: [("task".to_owned(), vec![presentation])].into(),
            state: checked.state().map(str::to_owned),
        };
        let body = response.to_form_for(&checked, &BOTH).unwrap();

        // The Verifier: decrypt, match the state, verify each presentation.
        let received = parse_direct_post_jwt(
            &body,
            &response_key,
            Some("eph-1"),
            &BOTH,
            &ResponseLimits::default(),
        )
        .unwrap();
        assert_eq!(received, response);
        assert_eq!(received.state.as_deref(), request.state());
        let expected = PresentationRequest::new(request.client_id().as_str(), request.nonce())
            .with_transaction_data(transaction_data);
        let verified = Verifier::new(trust, Policy::default())
            .verify_presentation(&received.vp_token["task"][0], &expected, NOW)
            .unwrap();
        let binding = verified.key_binding.unwrap();
        assert_eq!(binding.audience, client_id.as_str());
        assert_eq!(binding.transaction_data_hashes, vec![payment.hash()]);
    }
}

#[test]
fn sign_request_object_refuses_keys_and_prefixes_it_cannot_sign_for() {
    let key = SigningKey::generate(Algorithm::EdDSA);
    let metadata = ClientMetadata::new(vp_formats());
    let build = |client_id: &ClientId| {
        AuthorizationRequest::builder(
            client_id,
            ResponseMode::DirectPost,
            RESPONSE_URI,
            "n",
            dcql(),
            &metadata,
        )
        .validity(NOW, NOW + 60)
        .build(&RequestOptions::default())
        .unwrap()
    };
    // Another key's DID.
    let other = SigningKey::generate(Algorithm::EdDSA);
    let theirs = ClientId::parse(&format!(
        "decentralized_identifier:{}",
        other.did().unwrap()
    ))
    .unwrap();
    assert!(matches!(
        sign_request_object(&build(&theirs), &key, None),
        Err(WalletError::InvalidRequest(_))
    ));
    // secp256k1 is not on the request object allow-list.
    let k1 = SigningKey::generate(Algorithm::ES256K);
    let k1_id =
        ClientId::parse(&format!("decentralized_identifier:{}", k1.did().unwrap())).unwrap();
    assert!(matches!(
        sign_request_object(&build(&k1_id), &k1, None),
        Err(WalletError::InvalidRequest(_))
    ));
    // x509 without its chain; redirect_uri at all.
    let hash = ClientId::x509_hash(b"certificate");
    assert!(matches!(
        sign_request_object(&build(&hash), &SigningKey::generate(Algorithm::ES256), None),
        Err(WalletError::InvalidRequest(_))
    ));
    let redirect = ClientId::parse(&format!("redirect_uri:{RESPONSE_URI}")).unwrap();
    assert!(matches!(
        sign_request_object(&build(&redirect), &key, None),
        Err(WalletError::Oid4vp(
            RequestError::SignedWhenUnsignedRequired
        ))
    ));
}

/// A trusted issuer, a holder key and a credential bound to it.
fn issued() -> (TrustStore, SigningKey, String) {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let holder = SigningKey::generate(Algorithm::ES256);
    let claims = json!({
        "task": {"id": "T-9", "purpose": "pay"},
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
    (trust, holder, credential)
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
