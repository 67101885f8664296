//! Invocation URLs (§5.4, §5.10, RFC 9101 §5).

use serde_json::json;

use super::*;
use crate::oid4vp::error::RequestError;

#[test]
fn section_5_4_request_by_reference() {
    let reference = parse_request_uri(
        "openid4vp://?client_id=x509_hash%3AUvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk\
         &request_uri=https%3A%2F%2Fclient.example.org%2Frequest%2Fvapof4ql2i7m41m68uep\
         &request_uri_method=post",
    )
    .unwrap();
    let RequestReference::ByReference {
        client_id,
        request_uri,
        method,
    } = reference
    else {
        panic!("{reference:?}")
    };
    assert_eq!(
        client_id,
        "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"
    );
    assert_eq!(
        request_uri.as_str(),
        "https://client.example.org/request/vapof4ql2i7m41m68uep"
    );
    assert_eq!(method, RequestUriMethod::Post);
    // get, and the default; haip-vp:// and claimed https URLs read the same way.
    for uri in [
        "haip-vp://?client_id=x&request_uri=https://v.example/r&request_uri_method=get",
        "https://wallet.example/authorize?client_id=x&request_uri=https://v.example/r",
        "openid4vp:?client_id=x&request_uri=https://v.example/r",
    ] {
        assert!(
            matches!(
                parse_request_uri(uri),
                Ok(RequestReference::ByReference {
                    method: RequestUriMethod::Get,
                    ..
                })
            ),
            "{uri}"
        );
    }
}

#[test]
fn section_5_1_request_uri_rules() {
    let refused = |uri: &str| parse_request_uri(uri).unwrap_err();
    assert_eq!(
        refused("openid4vp://?request_uri=https://v.example/r"),
        RequestError::MissingParameter("client_id")
    );
    let method =
        refused("openid4vp://?client_id=x&request_uri=https://v.example/r&request_uri_method=PUT");
    assert_eq!(method.error_code(), "invalid_request_uri_method");
    assert!(matches!(
        refused("openid4vp://?client_id=x&request_uri=https://v.example/r&request_uri_method=POST"),
        RequestError::Unsupported { .. }
    ));
    for malformed in [
        "openid4vp://?client_id=x&request_uri=http://v.example/r",
        "openid4vp://?client_id=x&request_uri=not%20a%20url",
        "openid4vp://?client_id=x&request_uri=https://v.example/r&request=eyJ",
        "openid4vp://?client_id=x&client_id=y&request_uri=https://v.example/r",
        "openid4vp://?client_id=x&request_uri_method=get",
        "not a url",
    ] {
        assert!(
            matches!(refused(malformed), RequestError::Malformed(_)),
            "{malformed}"
        );
    }
    let local = options().with_http_response_uri_allowed(true);
    assert!(parse_request_uri_with(
        "openid4vp://?client_id=x&request_uri=http://127.0.0.1/r",
        &local
    )
    .is_ok());
    let long = format!(
        "openid4vp://?client_id={}",
        "a".repeat(MAX_REQUEST_URI_BYTES)
    );
    assert!(matches!(refused(&long), RequestError::LimitExceeded(_)));
}

#[test]
fn rfc_9101_request_object_by_value() {
    let reference =
        parse_request_uri("openid4vp://?client_id=x509_hash%3Aab&request=eyJh.eyJi.c2ln").unwrap();
    assert_eq!(
        reference,
        RequestReference::Object {
            client_id: "x509_hash:ab".into(),
            request: "eyJh.eyJi.c2ln".into()
        }
    );
}

#[test]
fn section_5_4_unsigned_parameters_by_value_for_redirect_uri_only() {
    let client_id = ClientId::parse(&format!("redirect_uri:{RESPONSE_URI}")).unwrap();
    let built = AuthorizationRequest::builder(
        &client_id,
        ResponseMode::DirectPost,
        RESPONSE_URI,
        "n-1",
        dcql(),
        &metadata(),
    )
    .state("s")
    .build(&options())
    .unwrap();
    let uri = format!("openid4vp://?{}", built.to_query());
    let RequestReference::ByValue(by_value) = parse_request_uri(&uri).unwrap() else {
        panic!("not by value")
    };
    // JSON-valued parameters arrive decoded.
    assert_eq!(by_value.parameters()["dcql_query"], dcql());
    let checked = by_value.verify(&options()).unwrap();
    assert_eq!(checked, built.clone().without_object_claims());
    assert!(matches!(
        by_value.verify(&RequestOptions::haip()),
        Err(RequestError::NotHaip(_))
    ));

    // Another prefix by value: it must be a signed request object.
    let pki = pki("client.example.org", false);
    let x509 = ClientId::x509_hash(&pki.leaf_der);
    let signed_kind = request(&x509, RESPONSE_URI);
    let uri = format!("openid4vp://?{}", signed_kind.to_query());
    let RequestReference::ByValue(by_value) = parse_request_uri(&uri).unwrap() else {
        panic!("not by value")
    };
    assert_eq!(
        by_value.verify(&options()),
        Err(RequestError::SignatureRequired("x509_hash"))
    );

    // JSON parameters that are not JSON, or too deep.
    for (name, value) in [
        ("dcql_query", "{"),
        (
            "client_metadata",
            "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
        ),
    ] {
        let uri = format!("openid4vp://?client_id=redirect_uri%3Ax&{name}={value}");
        assert!(parse_request_uri(&uri).is_err(), "{name}");
    }
    let params = json!({"client_id": 7});
    let by_value = ByValueRequest {
        params: params.as_object().cloned().unwrap(),
    };
    assert!(matches!(
        by_value.verify(&options()),
        Err(RequestError::Malformed(_))
    ));
}

impl AuthorizationRequest {
    /// The request as read from a URL, which carries no iat/exp/aud.
    fn without_object_claims(mut self) -> Self {
        self.issued_at = None;
        self.expires_at = None;
        self.audience = None;
        self
    }
}
