// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand_core::OsRng;
use serde_json::json;

use super::*;
use crate::encoding::b64url_decode;
use crate::oid4vp::jwe::JweError;

const BOTH: [Enc; 2] = [Enc::A128GCM, Enc::A256GCM];

fn response() -> AuthorizationResponse {
    AuthorizationResponse {
        vp_token: BTreeMap::from([
            (
                "task".to_owned(),
                vec!["eyJ0eXAi.e30.c2ln~WyJz~eyJ0.e30.c2ln".to_owned()],
            ),
            ("id_card".to_owned(), vec!["a~".to_owned(), "b~".to_owned()]),
        ]),
        state: Some("s-1".into()),
    }
}

fn limits() -> ResponseLimits {
    ResponseLimits::default()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    form.finish()
}

#[test]
fn section_8_2_direct_post_round_trip() {
    let body = response().to_direct_post_form();
    assert!(body.starts_with("vp_token=%7B"));
    assert_eq!(parse_direct_post(&body, &limits()), Ok(response()));
    let stateless = AuthorizationResponse {
        state: None,
        ..response()
    };
    assert_eq!(
        parse_direct_post(&stateless.to_direct_post_form(), &limits()),
        Ok(stateless)
    );
    // Unknown parameters are ignored (§8.2).
    let extra = format!("{body}&iss=https%3A%2F%2Fwallet.example");
    assert_eq!(parse_direct_post(&extra, &limits()), Ok(response()));
}

#[test]
fn section_8_1_vp_token_shape() {
    let refused = |vp_token: Value| {
        parse_direct_post(&form(&[("vp_token", &vp_token.to_string())]), &limits())
    };
    for bad in [
        json!({}),
        json!([]),
        json!("x"),
        json!({"task": []}),
        json!({"task": "eyJ"}),
        json!({"task": [{"jwt": "eyJ"}]}),
        json!({"task": [""]}),
        json!({"": ["eyJ"]}),
    ] {
        assert!(
            matches!(refused(bad.clone()), Err(ResponseError::Malformed(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        parse_direct_post(&form(&[("vp_token", "{not json")]), &limits()),
        Err(ResponseError::Malformed(_))
    ));
    assert_eq!(
        parse_direct_post(&form(&[("state", "s")]), &limits()),
        Err(ResponseError::MissingParameter("vp_token"))
    );
    assert!(matches!(
        parse_direct_post(&form(&[("vp_token", "{}"), ("vp_token", "{}")]), &limits()),
        Err(ResponseError::Malformed(_))
    ));
}

#[test]
fn section_8_5_error_responses_are_reported() {
    let body = error_response_form(
        "invalid_request",
        Some("unsupported client_id_prefix"),
        Some("s-1"),
    );
    let expected = ResponseError::ErrorResponse {
        error: "invalid_request".into(),
        description: Some("unsupported client_id_prefix".into()),
        state: Some("s-1".into()),
    };
    assert_eq!(parse_direct_post(&body, &limits()), Err(expected.clone()));
    // direct_post.jwt Wallets may send errors unencrypted (§8.3.1).
    let key = p256::SecretKey::random(&mut OsRng);
    assert_eq!(
        parse_direct_post_jwt(&body, &key, None, &BOTH, &limits()),
        Err(expected.clone())
    );
    assert_eq!(
        expected.to_string(),
        "the wallet returned invalid_request: unsupported client_id_prefix"
    );
}

#[test]
fn section_8_3_1_direct_post_jwt_round_trip_for_both_enc_values() {
    let key = p256::SecretKey::random(&mut OsRng);
    for enc in BOTH {
        let body = response()
            .to_direct_post_jwt_form(&key.public_key(), Some("enc-1"), enc)
            .unwrap();
        assert!(body.starts_with("response=eyJ"));
        let parsed = parse_direct_post_jwt(&body, &key, Some("enc-1"), &[enc], &limits());
        assert_eq!(parsed, Ok(response()));
        // Encrypted to "enc-1", expected under another kid.
        assert!(matches!(
            parse_direct_post_jwt(&body, &key, Some("enc-2"), &BOTH, &limits()),
            Err(ResponseError::WrongKey(_))
        ));
        // Another key.
        let other = p256::SecretKey::random(&mut OsRng);
        assert_eq!(
            parse_direct_post_jwt(&body, &other, None, &BOTH, &limits()),
            Err(ResponseError::Encryption(JweError::DecryptionFailed))
        );
    }
    // No kid in the JWE, one expected.
    let body = response()
        .to_direct_post_jwt_form(&key.public_key(), None, Enc::A128GCM)
        .unwrap();
    assert!(matches!(
        parse_direct_post_jwt(&body, &key, Some("enc-1"), &BOTH, &limits()),
        Err(ResponseError::WrongKey(_))
    ));
    assert_eq!(
        parse_direct_post_jwt("vp_token=%7B%7D", &key, None, &BOTH, &limits()),
        Err(ResponseError::MissingParameter("response"))
    );
}

#[test]
fn section_8_3_the_printed_encrypted_response_reads() {
    let path = format!(
        "{}/../vectors/oid4vp-1.0-8.3-encrypted-response.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let d = b64url_decode(vector["recipient_jwk"]["d"].as_str().unwrap(), "d").unwrap();
    let key = p256::SecretKey::from_slice(&d).unwrap();
    let body = form(&[("response", vector["response"].as_str().unwrap())]);
    let parsed = parse_direct_post_jwt(&body, &key, Some("ac"), &BOTH, &limits()).unwrap();
    let expected: BTreeMap<String, Vec<String>> =
        serde_json::from_value(vector["vp_token"].clone()).unwrap();
    assert_eq!(parsed.vp_token, expected);
    assert_eq!(parsed.state, None);
}

#[test]
fn the_wallet_answers_in_the_requests_mode() {
    use crate::oid4vp::client_id::ClientId;
    use crate::oid4vp::request::{ClientMetadata, RequestOptions};
    let key = p256::SecretKey::random(&mut OsRng);
    let formats = json!({"dc+sd-jwt": {}}).as_object().cloned().unwrap();
    let metadata = ClientMetadata::new(formats)
        .with_encryption_key("eph-1", key.public_key())
        .with_enc_values(&BOTH);
    let client_id = ClientId::x509_hash(b"leaf");
    let dcql = json!({"credentials": [{"id": "task", "format": "dc+sd-jwt"}]});
    for mode in [ResponseMode::DirectPost, ResponseMode::DirectPostJwt] {
        let request = AuthorizationRequest::builder(
            &client_id,
            mode,
            "https://verifier.example/post",
            "n",
            dcql.clone(),
            &metadata,
        )
        .build(&RequestOptions::default())
        .unwrap();
        let body = response().to_form_for(&request, &BOTH).unwrap();
        let parsed = match mode {
            ResponseMode::DirectPost => parse_direct_post(&body, &limits()),
            _ => {
                let jwe = body.strip_prefix("response=").unwrap();
                let opened =
                    jwe::decrypt_with_header(jwe, &key, &BOTH, &JweLimits::default()).unwrap();
                // HAIP 1.0 §5: A256GCM when both sides support it; the key's kid.
                assert_eq!(opened.enc(), Enc::A256GCM);
                assert_eq!(opened.kid(), Some("eph-1"));
                parse_direct_post_jwt(&body, &key, Some("eph-1"), &BOTH, &limits())
            }
        };
        assert_eq!(parsed, Ok(response()));
    }
}

#[test]
fn decrypted_payloads_are_checked_like_forms() {
    let key = p256::SecretKey::random(&mut OsRng);
    let body = |plaintext: &Value| {
        let jwe = jwe::encrypt(
            &key.public_key(),
            None,
            Enc::A128GCM,
            plaintext.to_string().as_bytes(),
        )
        .unwrap();
        form(&[("response", &jwe)])
    };
    let parse =
        |plaintext: Value| parse_direct_post_jwt(&body(&plaintext), &key, None, &BOTH, &limits());
    assert!(parse(json!({"vp_token": {"q": ["p"]}, "state": "s"})).is_ok());
    // vp_token as a JSON-encoded string is the form encoding, not the JWT payload's.
    assert!(matches!(
        parse(json!({"vp_token": "{\"q\":[\"p\"]}"})),
        Err(ResponseError::Malformed(_))
    ));
    assert_eq!(
        parse(json!({"state": "s"})),
        Err(ResponseError::MissingParameter("vp_token"))
    );
    assert!(matches!(
        parse(json!({"vp_token": {"q": ["p"]}, "state": 1})),
        Err(ResponseError::Malformed(_))
    ));
    assert!(matches!(
        parse(json!(["vp_token"])),
        Err(ResponseError::Malformed(_))
    ));
    assert!(matches!(
        parse(json!({"error": "access_denied"})),
        Err(ResponseError::ErrorResponse { .. })
    ));
}

#[test]
fn responses_are_bounded() {
    let body = response().to_direct_post_form();
    let tight = limits().with_max_body_bytes(body.len() - 1);
    assert!(matches!(
        parse_direct_post(&body, &tight),
        Err(ResponseError::LimitExceeded(_))
    ));
    assert!(parse_direct_post(&body, &limits().with_max_body_bytes(body.len())).is_ok());
    assert!(matches!(
        parse_direct_post(&body, &limits().with_max_credential_queries(1)),
        Err(ResponseError::LimitExceeded(_))
    ));
    assert!(matches!(
        parse_direct_post(&body, &limits().with_max_presentations_per_query(1)),
        Err(ResponseError::LimitExceeded(_))
    ));
    let deep = format!("{}{}", "[".repeat(20), "]".repeat(20));
    assert!(matches!(
        parse_direct_post(&form(&[("vp_token", &deep)]), &limits()),
        Err(ResponseError::LimitExceeded(_))
    ));
    let many: Vec<(String, String)> = (0..20).map(|i| (format!("p{i}"), "v".to_owned())).collect();
    let pairs: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert!(matches!(
        parse_direct_post(&form(&pairs), &limits()),
        Err(ResponseError::LimitExceeded(_))
    ));
    // The JWE limit applies inside direct_post.jwt.
    let key = p256::SecretKey::random(&mut OsRng);
    let body = response()
        .to_direct_post_jwt_form(&key.public_key(), None, Enc::A128GCM)
        .unwrap();
    let small = limits().with_jwe(JweLimits::default().with_max_compact_bytes(100));
    assert!(matches!(
        parse_direct_post_jwt(&body, &key, None, &BOTH, &small),
        Err(ResponseError::Encryption(JweError::LimitExceeded(_)))
    ));
}
