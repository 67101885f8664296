//! The parameter rules every request meets (§5.1, §5.2, §5.6, §8.2, §8.3), checked
//! through unsigned `redirect_uri` requests (no signature in the way) and the builder.

use serde_json::json;

use super::*;
use crate::oid4vp::error::RequestError;
use crate::oid4vp::transaction_data::{TransactionData, MAX_TRANSACTION_DATA};

fn client_id() -> ClientId {
    ClientId::parse(&format!("redirect_uri:{RESPONSE_URI}")).unwrap()
}

fn base() -> Map<String, Value> {
    request(&client_id(), RESPONSE_URI).claims()
}

fn check(params: &Map<String, Value>) -> Result<AuthorizationRequest, RequestError> {
    check_with(params, &options())
}

fn check_with(
    params: &Map<String, Value>,
    options: &RequestOptions,
) -> Result<AuthorizationRequest, RequestError> {
    AuthorizationRequest::from_parameters(params, options)
}

fn malformed(result: Result<AuthorizationRequest, RequestError>) -> bool {
    matches!(result, Err(RequestError::Malformed(_)))
}

#[test]
fn a_complete_request_passes_and_round_trips_through_its_claims() {
    let built = request(&client_id(), RESPONSE_URI);
    let mut again = check(&built.claims()).unwrap();
    // iat/exp/aud are request object claims, read by the object check.
    assert_eq!(again.issued_at(), None);
    again.issued_at = built.issued_at();
    again.expires_at = built.expires_at();
    again.audience = built.audience.clone();
    assert_eq!(again, built);
    assert_eq!(built.response_mode(), ResponseMode::DirectPostJwt);
    assert_eq!(built.dcql_query(), &dcql());
    assert!(built.transaction_data().is_empty());
}

#[test]
fn section_5_6_and_8_2_response_type_and_mode() {
    assert_eq!(
        check(&with(&base(), "response_type", json!("vp_token id_token"))),
        Err(RequestError::Unsupported {
            parameter: "response_type",
            value: "vp_token id_token".into()
        })
    );
    assert_eq!(
        check(&with(&base(), "response_type", Value::Null)),
        Err(RequestError::MissingParameter("response_type"))
    );
    for mode in ["fragment", "query", "dc_api.jwt", "form_post"] {
        assert!(matches!(
            check(&with(&base(), "response_mode", json!(mode))),
            Err(RequestError::Unsupported {
                parameter: "response_mode",
                ..
            })
        ));
    }
    let plain = check(&with(&base(), "response_mode", json!("direct_post"))).unwrap();
    assert_eq!(plain.response_mode(), ResponseMode::DirectPost);
    // HAIP 1.0 §5.1: direct_post.jwt only (and x509_hash, so this redirect_uri
    // request fails first on its prefix).
    assert!(matches!(
        check_with(&base(), &RequestOptions::haip()),
        Err(RequestError::NotHaip(_))
    ));
    // redirect_uri is not a parameter of direct_post (§8.2).
    assert!(malformed(check(&with(
        &base(),
        "redirect_uri",
        json!(RESPONSE_URI)
    ))));
}

#[test]
fn section_8_2_response_uri_is_https_without_fragment() {
    let x509 = ClientId::x509_hash(&[1, 2, 3]);
    let params = |uri: &str| {
        with(
            &with(&base(), "client_id", json!(x509.as_str())),
            "response_uri",
            json!(uri),
        )
    };
    assert!(check(&params("https://verifier.example/post?session=1")).is_ok());
    for bad in [
        "http://verifier.example/post",
        "https://verifier.example/post#frag",
        "ftp://verifier.example/post",
        "/post",
        "data:text/plain,x",
    ] {
        assert!(malformed(check(&params(bad))), "{bad}");
    }
    let allowed = options().with_http_response_uri_allowed(true);
    assert!(check_with(&params("http://127.0.0.1:8080/post"), &allowed).is_ok());
    assert_eq!(
        check(&with(&params("x"), "response_uri", Value::Null)),
        Err(RequestError::MissingParameter("response_uri"))
    );
    // A redirect_uri client may omit it: its identifier is the Response URI.
    let implied = check(&with(&base(), "response_uri", Value::Null)).unwrap();
    assert_eq!(implied.response_uri().as_str(), RESPONSE_URI);
}

#[test]
fn section_5_2_nonce_and_state_are_url_safe_ascii() {
    assert_eq!(
        check(&with(&base(), "nonce", Value::Null)),
        Err(RequestError::MissingParameter("nonce"))
    );
    for bad in [
        json!(""),
        json!("a b"),
        json!("ü"),
        json!("a+b"),
        json!(7),
        json!("x".repeat(513)),
    ] {
        assert!(
            check(&with(&base(), "nonce", bad.clone())).is_err(),
            "nonce {bad}"
        );
        assert!(
            check(&with(&base(), "state", bad.clone())).is_err(),
            "state {bad}"
        );
    }
    assert!(check(&with(&base(), "nonce", json!("aZ09-._~"))).is_ok());
    let stateless = check(&with(&base(), "state", Value::Null)).unwrap();
    assert_eq!(stateless.state(), None);
}

#[test]
fn section_5_1_dcql_query_and_not_scope() {
    assert_eq!(
        check(&with(&base(), "dcql_query", Value::Null)),
        Err(RequestError::MissingParameter("dcql_query"))
    );
    assert!(malformed(check(&with(&base(), "dcql_query", json!("{}")))));
    assert!(malformed(check(&with(
        &base(),
        "scope",
        json!("com.example.id")
    ))));
    assert!(matches!(
        check(&with(
            &with(&base(), "dcql_query", Value::Null),
            "scope",
            json!("com.example.id")
        )),
        Err(RequestError::Unsupported {
            parameter: "scope",
            ..
        })
    ));
}

#[test]
fn section_5_1_and_8_3_client_metadata() {
    let metadata = |value: Value| check(&with(&base(), "client_metadata", value));
    assert_eq!(
        check(&with(&base(), "client_metadata", Value::Null)),
        Err(RequestError::MissingParameter("client_metadata"))
    );
    let key = p256::SecretKey::random(&mut OsRng);
    let mut jwk = crate::oid4vp::jwe::public_jwk(&key.public_key());
    jwk["kid"] = json!("k1");
    jwk["alg"] = json!("ECDH-ES");
    let formats = json!(vp_formats());
    let invalid = |result: Result<AuthorizationRequest, RequestError>| {
        matches!(result, Err(RequestError::InvalidClientMetadata(_)))
    };
    // A usable key, with use absent or enc.
    let ok = metadata(json!({"jwks": {"keys": [jwk]}, "vp_formats_supported": formats})).unwrap();
    assert_eq!(ok.client_metadata().encryption_key().unwrap().kid(), "k1");
    assert_eq!(ok.client_metadata().enc_values_supported(), ["A128GCM"]);
    // direct_post.jwt needs a usable key: a sig key, one without alg, an X25519 key
    // are skipped, and then none is left.
    let mut sig = jwk.clone();
    sig["use"] = json!("sig");
    let mut no_alg = jwk.clone();
    no_alg.as_object_mut().unwrap().remove("alg");
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "x": b64url_encode(&[9; 32]), "kid": "x", "alg": "ECDH-ES"});
    for keys in [json!([sig]), json!([no_alg]), json!([x25519])] {
        assert!(
            invalid(metadata(
                json!({"jwks": {"keys": keys}, "vp_formats_supported": formats})
            )),
            "{keys}"
        );
    }
    assert!(invalid(metadata(json!({"vp_formats_supported": formats}))));
    // Every JWK has a unique kid and no private part.
    let mut no_kid = jwk.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut private = jwk.clone();
    private["d"] = json!(b64url_encode(&key.to_bytes()));
    for keys in [
        json!([no_kid]),
        json!([jwk, jwk]),
        json!([private]),
        json!([]),
        json!("k"),
    ] {
        assert!(
            invalid(metadata(
                json!({"jwks": {"keys": keys}, "vp_formats_supported": formats})
            )),
            "{keys}"
        );
    }
    // enc values: a non-empty list with one supported value.
    for values in [
        json!([]),
        json!(["A128CBC-HS256"]),
        json!("A128GCM"),
        json!([1]),
    ] {
        assert!(
            invalid(metadata(json!({
                "jwks": {"keys": [jwk]}, "vp_formats_supported": formats,
                "encrypted_response_enc_values_supported": values
            }))),
            "{values}"
        );
    }
    // vp_formats_supported is required.
    for formats in [json!(null), json!({}), json!([])] {
        let mut value = json!({"jwks": {"keys": [jwk]}});
        if !formats.is_null() {
            value["vp_formats_supported"] = formats;
        }
        assert!(invalid(metadata(value)));
    }
    assert!(invalid(metadata(json!("{}"))));
    // A direct_post request needs no key.
    let plain = with(&base(), "response_mode", json!("direct_post"));
    assert!(check(&with(
        &plain,
        "client_metadata",
        json!({"vp_formats_supported": formats})
    ))
    .is_ok());
}

#[test]
fn haip_1_0_section_5_verifiers_list_both_enc_values_and_wallets_prefer_a256gcm() {
    let x509 = ClientId::x509_hash(&[1, 2, 3]);
    let key = p256::SecretKey::random(&mut OsRng);
    let build = |values: &[Enc]| {
        let metadata = ClientMetadata::new(vp_formats())
            .with_encryption_key("k", key.public_key())
            .with_enc_values(values);
        AuthorizationRequest::builder(
            &x509,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            "n",
            dcql(),
            &metadata,
        )
        .validity(NOW, NOW + 60)
        .build(&RequestOptions::haip())
    };
    assert!(build(&[Enc::A128GCM, Enc::A256GCM]).is_ok());
    assert!(matches!(
        build(&[Enc::A128GCM]),
        Err(RequestError::NotHaip(_))
    ));
    let both = build(&[Enc::A256GCM, Enc::A128GCM]).unwrap();
    let metadata = both.client_metadata();
    assert_eq!(
        metadata.choose_enc(&[Enc::A128GCM, Enc::A256GCM]),
        Some(Enc::A256GCM)
    );
    assert_eq!(metadata.choose_enc(&[Enc::A128GCM]), Some(Enc::A128GCM));
    let only128 = ClientMetadata::new(vp_formats());
    assert_eq!(only128.choose_enc(&[Enc::A256GCM]), None);
}

fn td(value: Value) -> TransactionData {
    TransactionData::encode(value.as_object().unwrap()).unwrap()
}

#[test]
fn section_5_1_transaction_data_of_known_types_naming_dcql_queries() {
    let payment = td(json!({"type": "payment", "credential_ids": ["task"], "amount": "10.00"}));
    let params = with(&base(), "transaction_data", json!([payment.encoded()]));
    // Not understood by default: refused (§5.1).
    assert!(matches!(
        check(&params),
        Err(RequestError::InvalidTransactionData(_))
    ));
    let knowing = options().with_transaction_data_types(["payment"]);
    let accepted = check_with(&params, &knowing).unwrap();
    assert_eq!(accepted.transaction_data(), std::slice::from_ref(&payment));
    assert_eq!(accepted.transaction_data()[0].encoded(), payment.encoded());
    assert_eq!(
        accepted.claims()["transaction_data"],
        json!([payment.encoded()])
    );

    let refused = |value: Value| {
        matches!(
            check_with(&with(&base(), "transaction_data", value), &knowing),
            Err(RequestError::InvalidTransactionData(_))
        )
    };
    let other_query = td(json!({"type": "payment", "credential_ids": ["unknown_query"]}));
    let other_type = td(json!({"type": "qes", "credential_ids": ["task"]}));
    let sha512 = td(
        json!({"type": "payment", "credential_ids": ["task"], "transaction_data_hashes_alg": ["sha-512"]}),
    );
    assert!(refused(json!([other_query.encoded()])));
    assert!(refused(json!([other_type.encoded()])));
    assert!(refused(json!([sha512.encoded()])));
    assert!(refused(json!([])));
    assert!(refused(json!(payment.encoded())));
    assert!(refused(json!([7])));
    assert!(refused(json!(["%%%"])));
    let many = vec![json!(payment.encoded()); MAX_TRANSACTION_DATA + 1];
    assert!(matches!(
        check_with(
            &with(&base(), "transaction_data", Value::Array(many)),
            &knowing
        ),
        Err(RequestError::LimitExceeded(_))
    ));
    // The builder carries them.
    let built = AuthorizationRequest::builder(
        &client_id(),
        ResponseMode::DirectPost,
        RESPONSE_URI,
        "n",
        dcql(),
        &metadata(),
    )
    .transaction_data(std::slice::from_ref(&payment))
    .build(&knowing)
    .unwrap();
    assert_eq!(built.transaction_data()[0].hash(), payment.hash());
}

#[test]
fn the_builder_refuses_what_a_wallet_refuses() {
    let build = |nonce: &str, uri: &str| {
        AuthorizationRequest::builder(
            &client_id(),
            ResponseMode::DirectPost,
            uri,
            nonce,
            dcql(),
            &metadata(),
        )
        .build(&options())
    };
    assert!(build("n-1", RESPONSE_URI).is_ok());
    assert!(build("not url safe", RESPONSE_URI).is_err());
    assert!(matches!(
        build("n-1", "https://client.example.org/elsewhere"),
        Err(RequestError::ResponseUriMismatch(_))
    ));
    let no_key = ClientMetadata::new(vp_formats());
    assert!(matches!(
        AuthorizationRequest::builder(
            &client_id(),
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            "n",
            dcql(),
            &no_key
        )
        .build(&options()),
        Err(RequestError::InvalidClientMetadata(_))
    ));
}
