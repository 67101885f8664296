//! Request object checks that do not depend on the prefix (§5, §5.8, §5.10.1,
//! RFC 9101): `alg` allow-list, `typ`, `client_id` equality, signature coverage,
//! time claims, `aud`, limits, `wallet_nonce`.

use serde_json::json;

use super::*;
use crate::alg::Algorithm;
use crate::oid4vp::error::RequestError;

fn verify(
    jwt: &str,
    client_id: &str,
    anchors: &[X509Anchor],
) -> Result<AuthorizationRequest, RequestError> {
    verify_request_object(jwt, Some(client_id), anchors, NOW, &options())
}

#[test]
fn algorithms_off_the_allow_list_and_wrong_typ_are_refused() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let claims = request(&client_id, RESPONSE_URI).claims();
    let anchors = [pki.anchor.clone()];
    for alg in ["ES256K", "HS256", "RS256", "ES384", "PS256"] {
        let header = json!({"alg": alg, "typ": REQUEST_OBJECT_TYP, "x5c": pki.chain});
        let jwt = sign_with(&header, &claims, |m| rcgen_es256(&pki.leaf, m));
        assert_eq!(
            verify(&jwt, client_id.as_str(), &anchors),
            Err(RequestError::AlgorithmNotAllowed(alg.into()))
        );
    }
    for typ in [
        json!(null),
        json!("JWT"),
        json!("oauth-authz-req+JWT"),
        json!(1),
    ] {
        let mut header = json!({"alg": "ES256", "x5c": pki.chain});
        if !typ.is_null() {
            header["typ"] = typ.clone();
        }
        let jwt = sign_with(&header, &claims, |m| rcgen_es256(&pki.leaf, m));
        assert!(
            matches!(
                verify(&jwt, client_id.as_str(), &anchors),
                Err(RequestError::UnexpectedType { .. })
            ),
            "{typ}"
        );
    }
    let header =
        json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "x5c": pki.chain, "crit": ["b64"]});
    let jwt = sign_with(&header, &claims, |m| rcgen_es256(&pki.leaf, m));
    assert!(matches!(
        verify(&jwt, client_id.as_str(), &anchors),
        Err(RequestError::Malformed(_))
    ));
    assert_eq!(
        request(&client_id, RESPONSE_URI).signing_input(Algorithm::ES256K, None, None),
        Err(RequestError::AlgorithmNotAllowed("ES256K".into()))
    );
}

#[test]
fn section_5_10_1_client_id_must_equal_the_url_one() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let jwt = x509_object(&pki, &request(&client_id, RESPONSE_URI).claims());
    // Even the same value without its prefix differs.
    for url in [client_id.value(), "x509_san_dns:client.example.org"] {
        assert!(matches!(
            verify(&jwt, url, std::slice::from_ref(&pki.anchor)),
            Err(RequestError::ClientIdMismatch { .. })
        ));
    }
}

#[test]
fn every_byte_of_a_signed_request_object_is_covered() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let jwt = x509_object(&pki, &request(&client_id, RESPONSE_URI).claims());
    let anchors = [pki.anchor.clone()];
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    let mut flipped = signature.to_owned();
    let first = flipped.remove(0);
    flipped.insert(0, if first == 'A' { 'B' } else { 'A' });
    assert_eq!(
        verify(&format!("{input}.{flipped}"), client_id.as_str(), &anchors),
        Err(RequestError::BadSignature)
    );
    // A payload claim changed after signing.
    let (header, _) = input.split_once('.').unwrap();
    let changed = with(
        &request(&client_id, RESPONSE_URI).claims(),
        "nonce",
        json!("other"),
    );
    let tampered = format!(
        "{header}.{}.{signature}",
        b64url_encode(Value::Object(changed).to_string().as_bytes())
    );
    assert_eq!(
        verify(&tampered, client_id.as_str(), &anchors),
        Err(RequestError::BadSignature)
    );
    // Truncated or extended structures.
    for bad in [input.to_owned(), format!("{jwt}.x"), String::new()] {
        assert!(matches!(
            verify(&bad, client_id.as_str(), &anchors),
            Err(RequestError::Malformed(_))
        ));
    }
}

#[test]
fn rfc_9101_time_claims_exp_iat_and_nbf() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let anchors = [pki.anchor.clone()];
    let claims = request(&client_id, RESPONSE_URI).claims();
    let at = |claims: &Map<String, Value>, now: u64, options: &RequestOptions| {
        verify_request_object(&x509_object(&pki, claims), None, &anchors, now, options)
    };
    let exp = NOW + 300;
    assert!(at(&claims, exp + 60, &options()).is_ok(), "within the skew");
    assert_eq!(
        at(&claims, exp + 61, &options()),
        Err(RequestError::Expired { expired_at: exp })
    );
    let no_exp = with(&claims, "exp", Value::Null);
    assert_eq!(
        at(&no_exp, NOW, &options()),
        Err(RequestError::MissingParameter("exp"))
    );
    assert!(at(&no_exp, NOW, &options().with_require_expiry(false)).is_ok());
    let future = with(&claims, "iat", json!(NOW + 61));
    assert_eq!(
        at(&future, NOW, &options()),
        Err(RequestError::NotYetValid {
            valid_from: NOW + 61
        })
    );
    let nbf = with(&claims, "nbf", json!(NOW + 3600));
    assert_eq!(
        at(&nbf, NOW, &options()),
        Err(RequestError::NotYetValid {
            valid_from: NOW + 3600
        })
    );
    for bad in [json!("1800000300"), json!(-1), json!(1.8e9)] {
        assert!(matches!(
            at(&with(&claims, "exp", bad), NOW, &options()),
            Err(RequestError::Malformed(_))
        ));
    }
}

#[test]
fn section_5_8_aud_is_self_issued_when_present() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let anchors = [pki.anchor.clone()];
    let claims = request(&client_id, RESPONSE_URI).claims();
    let check = |claims: &Map<String, Value>, options: &RequestOptions| {
        verify_request_object(&x509_object(&pki, claims), None, &anchors, NOW, options)
    };
    assert!(check(&with(&claims, "aud", Value::Null), &options()).is_ok());
    assert!(check(
        &with(
            &claims,
            "aud",
            json!(["https://other.example", SELF_ISSUED_AUDIENCE])
        ),
        &options()
    )
    .is_ok());
    assert!(matches!(
        check(
            &with(&claims, "aud", json!("https://wallet.example")),
            &options()
        ),
        Err(RequestError::AudienceMismatch(_))
    ));
    // Dynamic discovery: the Wallet's issuer identifier.
    let wallet = options().with_accepted_audiences(["https://wallet.example"]);
    assert!(check(
        &with(&claims, "aud", json!("https://wallet.example")),
        &wallet
    )
    .is_ok());
    assert!(matches!(
        check(&with(&claims, "aud", json!(7)), &options()),
        Err(RequestError::Malformed(_))
    ));
    // iss is ignored (§5).
    assert!(check(&with(&claims, "iss", json!("anyone")), &options()).is_ok());
}

#[test]
fn request_objects_are_bounded_in_size_and_depth() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let anchors = [pki.anchor.clone()];
    let jwt = x509_object(&pki, &request(&client_id, RESPONSE_URI).claims());
    let exact = RequestLimits::default().with_max_request_bytes(jwt.len());
    assert!(
        verify_request_object(&jwt, None, &anchors, NOW, &options().with_limits(exact)).is_ok()
    );
    let limits = RequestLimits::default().with_max_request_bytes(jwt.len() - 1);
    assert!(matches!(
        verify_request_object(&jwt, None, &anchors, NOW, &options().with_limits(limits)),
        Err(RequestError::LimitExceeded(_))
    ));
    let deep = with(
        &request(&client_id, RESPONSE_URI).claims(),
        "verifier_info",
        serde_json::from_str(&format!("{}{}", "[".repeat(20), "]".repeat(20))).unwrap(),
    );
    assert!(matches!(
        verify_request_object(&x509_object(&pki, &deep), None, &anchors, NOW, &options()),
        Err(RequestError::LimitExceeded(_))
    ));
}

#[test]
fn section_5_10_1_wallet_nonce_must_be_echoed() {
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let anchors = [pki.anchor.clone()];
    let claims = request(&client_id, RESPONSE_URI).claims();
    let expecting = options().with_expected_wallet_nonce("qPmxiNFCR3QTm19POc8u");
    let check = |claims: &Map<String, Value>| {
        verify_request_object(&x509_object(&pki, claims), None, &anchors, NOW, &expecting)
    };
    assert!(matches!(check(&claims), Err(RequestError::Malformed(_))));
    let echoed = check(&with(
        &claims,
        "wallet_nonce",
        json!("qPmxiNFCR3QTm19POc8u"),
    ))
    .unwrap();
    assert_eq!(echoed.wallet_nonce(), Some("qPmxiNFCR3QTm19POc8u"));
    assert!(matches!(
        check(&with(&claims, "wallet_nonce", json!("other"))),
        Err(RequestError::Malformed(_))
    ));
}

#[test]
fn errors_map_to_the_section_8_5_codes() {
    assert_eq!(
        RequestError::BadSignature.error_code(),
        "invalid_request_object"
    );
    assert_eq!(
        RequestError::UnknownPrefix("x".into()).error_code(),
        "invalid_request"
    );
    assert_eq!(
        RequestError::InvalidTransactionData("x".into()).error_code(),
        "invalid_transaction_data"
    );
    assert_eq!(
        RequestError::Unsupported {
            parameter: "request_uri_method",
            value: "put".into()
        }
        .error_code(),
        "invalid_request_uri_method"
    );
}
