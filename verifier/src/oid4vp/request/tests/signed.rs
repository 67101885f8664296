//! Signed and unsigned request objects under each Client Identifier Prefix rule
//! (§5.9.3), HAIP 1.0 §5 on top.

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
fn section_5_9_3_x509_hash_request_signed_by_the_hashed_leaf_is_accepted() {
    for intermediate in [false, true] {
        let pki = pki("client.example.org", intermediate);
        let client_id = ClientId::x509_hash(&pki.leaf_der);
        let built = request(&client_id, RESPONSE_URI);
        let input = built
            .signing_input(Algorithm::ES256, None, Some(&pki.chain))
            .unwrap();
        let jwt = signed_request_object(&input, &rcgen_es256(&pki.leaf, input.as_bytes()));
        let checked = verify(&jwt, client_id.as_str(), std::slice::from_ref(&pki.anchor)).unwrap();
        assert_eq!(checked, built);
        assert_eq!(checked.client_id(), &client_id);
        assert_eq!(checked.nonce(), "n-0S6_WzA2Mj");
        assert_eq!(checked.state(), Some("s-1"));
        assert_eq!(checked.response_uri().as_str(), RESPONSE_URI);
        assert_eq!(checked.expires_at(), Some(NOW + 300));
        assert_eq!(checked.audience(), Some(SELF_ISSUED_AUDIENCE));
        // HAIP 1.0 §5: x509_hash, ES256, direct_post.jwt, both enc values, the anchor
        // outside x5c, a leaf that is not self-signed.
        let haip = verify_request_object(
            &jwt,
            Some(client_id.as_str()),
            std::slice::from_ref(&pki.anchor),
            NOW,
            &RequestOptions::haip(),
        );
        assert!(haip.is_ok(), "{haip:?}");
        // Without a URL client_id (the caller had none) the object's is used.
        assert!(verify_request_object(
            &jwt,
            None,
            std::slice::from_ref(&pki.anchor),
            NOW,
            &options()
        )
        .is_ok());
    }
}

#[test]
fn section_5_9_3_x509_hash_of_another_certificate_is_refused() {
    let pki = pki("client.example.org", false);
    let other = pki_leaf_hash_of_other();
    let claims = request(&other, RESPONSE_URI).claims();
    assert_eq!(
        verify(
            &x509_object(&pki, &claims),
            other.as_str(),
            std::slice::from_ref(&pki.anchor)
        ),
        Err(RequestError::HashMismatch)
    );
}

fn pki_leaf_hash_of_other() -> ClientId {
    ClientId::x509_hash(&pki("client.example.org", false).leaf_der)
}

#[test]
fn section_5_9_3_x509_san_dns_needs_the_san_and_the_response_uri_host() {
    let pki = pki("client.example.org", true);
    let client_id = ClientId::parse("x509_san_dns:client.example.org").unwrap();
    let claims = request(&client_id, RESPONSE_URI).claims();
    let jwt = x509_object(&pki, &claims);
    assert!(verify(&jwt, client_id.as_str(), std::slice::from_ref(&pki.anchor)).is_ok());

    // A DNS name the leaf does not carry.
    let other = ClientId::parse("x509_san_dns:other.example.org").unwrap();
    let claims = request(&other, "https://other.example.org/post").claims();
    assert_eq!(
        verify(
            &x509_object(&pki, &claims),
            other.as_str(),
            std::slice::from_ref(&pki.anchor)
        ),
        Err(RequestError::SanMismatch("other.example.org".into()))
    );
    // The leaf's name, but a response_uri on another host (the builder refuses it
    // too; here it is forged).
    let forged = with(
        &request(&client_id, RESPONSE_URI).claims(),
        "response_uri",
        json!("https://attacker.example/post"),
    );
    assert!(matches!(
        verify(
            &x509_object(&pki, &forged),
            client_id.as_str(),
            std::slice::from_ref(&pki.anchor)
        ),
        Err(RequestError::ResponseUriMismatch(_))
    ));
    assert!(matches!(
        AuthorizationRequest::builder(
            &client_id,
            ResponseMode::DirectPost,
            "https://attacker.example/post",
            "n",
            dcql(),
            &metadata()
        )
        .build(&options()),
        Err(RequestError::ResponseUriMismatch(_))
    ));
}

#[test]
fn x5c_chains_must_reach_a_trust_anchor() {
    let pki = pki("client.example.org", true);
    let stranger = super::pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let jwt = x509_object(&pki, &request(&client_id, RESPONSE_URI).claims());
    for (anchors, reason) in [
        (
            vec![stranger.anchor.clone()],
            "the chain does not end at a trusted anchor",
        ),
        (vec![], "no X.509 trust anchor is configured"),
    ] {
        assert_eq!(
            verify(&jwt, client_id.as_str(), &anchors),
            Err(RequestError::UntrustedChain(reason.into()))
        );
    }
    // Expired by the time of the check.
    assert!(matches!(
        verify_request_object(
            &jwt,
            None,
            std::slice::from_ref(&pki.anchor),
            2_100_000_000,
            &options().with_require_expiry(false).with_clock_skew(u64::MAX / 2)
        ),
        Err(RequestError::UntrustedChain(reason)) if reason == "a certificate expired at 2035-01-01T00:00:00Z"
    ));
    // No x5c at all.
    let header = json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP});
    let bare = sign_with(&header, &request(&client_id, RESPONSE_URI).claims(), |m| {
        rcgen_es256(&pki.leaf, m)
    });
    assert_eq!(
        verify(&bare, client_id.as_str(), std::slice::from_ref(&pki.anchor)),
        Err(RequestError::MissingParameter("x5c header"))
    );
    // x5c that is not an array of certificates.
    let header = json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "x5c": ["AAAA"]});
    let junk = sign_with(&header, &request(&client_id, RESPONSE_URI).claims(), |m| {
        rcgen_es256(&pki.leaf, m)
    });
    assert!(matches!(
        verify(&junk, client_id.as_str(), std::slice::from_ref(&pki.anchor)),
        Err(RequestError::Malformed(_))
    ));
}

#[test]
fn haip_1_0_section_5_refuses_the_anchor_in_x5c_and_self_signed_leaves() {
    let haip = RequestOptions::haip();
    // The root inside x5c: valid OpenID4VP, not HAIP.
    let pki = pki("client.example.org", false);
    let client_id = ClientId::x509_hash(&pki.leaf_der);
    let claims = request(&client_id, RESPONSE_URI).claims();
    let mut with_root = pki.chain.clone();
    with_root.push(pki.root_b64.clone());
    let header = json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "x5c": with_root});
    let jwt = sign_with(&header, &claims, |m| rcgen_es256(&pki.leaf, m));
    let anchors = [pki.anchor.clone()];
    assert!(verify(&jwt, client_id.as_str(), &anchors).is_ok());
    assert!(matches!(
        verify_request_object(&jwt, None, &anchors, NOW, &haip),
        Err(RequestError::NotHaip(reason)) if reason.contains("inside x5c")
    ));
    // A self-signed leaf trusted directly.
    let own = self_signed("client.example.org");
    let client_id = ClientId::x509_hash(&own.leaf_der);
    let jwt = x509_object(&own, &request(&client_id, RESPONSE_URI).claims());
    let anchors = [own.anchor.clone()];
    assert!(verify(&jwt, client_id.as_str(), &anchors).is_ok());
    assert!(matches!(
        verify_request_object(&jwt, None, &anchors, NOW, &haip),
        Err(RequestError::NotHaip(reason)) if reason.contains("self-signed")
    ));
}

#[test]
fn section_5_9_3_decentralized_identifier_is_signed_by_the_did_key_named_in_kid() {
    let signer = did_signer();
    let client_id = ClientId::parse(&format!("decentralized_identifier:{}", signer.did)).unwrap();
    let built = request(&client_id, RESPONSE_URI);
    let input = built
        .signing_input(Algorithm::EdDSA, Some(&signer.kid()), None)
        .unwrap();
    let jwt = signed_request_object(&input, &signer.sign(input.as_bytes()));
    assert_eq!(verify(&jwt, client_id.as_str(), &[]), Ok(built.clone()));
    // HAIP takes x509_hash only.
    assert!(matches!(
        verify_request_object(&jwt, None, &[], NOW, &RequestOptions::haip()),
        Err(RequestError::NotHaip(_) | RequestError::AlgorithmNotAllowed(_))
    ));

    let claims = built.claims();
    let object = |header: Value| sign_with(&header, &claims, |m| signer.sign(m));
    let refused = |header: Value| verify(&object(header), client_id.as_str(), &[]);
    // No kid; the kid of another DID; a fragment that is not the key.
    assert!(matches!(
        refused(json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP})),
        Err(RequestError::KeyMismatch(_))
    ));
    let other = did_signer();
    assert!(matches!(
        refused(json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP, "kid": other.kid()})),
        Err(RequestError::KeyMismatch(_))
    ));
    assert!(matches!(
        refused(
            json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP, "kid": format!("{}#key-1", signer.did)})
        ),
        Err(RequestError::KeyMismatch(_))
    ));
    assert!(matches!(
        refused(json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP, "kid": signer.did})),
        Err(RequestError::KeyMismatch(_))
    ));
    // ES256 named for an Ed25519 key.
    assert!(matches!(
        refused(json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "kid": signer.kid()})),
        Err(RequestError::KeyMismatch(_))
    ));
    // Signed by another key under the right kid.
    let header = json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP, "kid": signer.kid()});
    let forged = sign_with(&header, &claims, |m| other.sign(m));
    assert_eq!(
        verify(&forged, client_id.as_str(), &[]),
        Err(RequestError::BadSignature)
    );
    // A DID method that cannot be resolved offline.
    let web = ClientId::parse("decentralized_identifier:did:web:client.example.org").unwrap();
    let web_claims = request(&web, RESPONSE_URI).claims();
    let header =
        json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP, "kid": "did:web:client.example.org#k"});
    assert!(matches!(
        verify(
            &sign_with(&header, &web_claims, |m| signer.sign(m)),
            web.as_str(),
            &[]
        ),
        Err(RequestError::UnsupportedDidMethod(_))
    ));
}

#[test]
fn a_p256_did_key_signs_with_es256() {
    use p256::ecdsa::signature::Signer as _;
    let key = p256::ecdsa::SigningKey::random(&mut OsRng);
    let did = crate::did_key::encode(&PublicKey::P256(*key.verifying_key()));
    let client_id = ClientId::parse(&format!("decentralized_identifier:{did}")).unwrap();
    let built = request(&client_id, RESPONSE_URI);
    let kid = format!("{did}#{}", &did["did:key:".len()..]);
    let input = built
        .signing_input(Algorithm::ES256, Some(&kid), None)
        .unwrap();
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    let jwt = signed_request_object(&input, &signature.to_bytes());
    assert_eq!(verify(&jwt, client_id.as_str(), &[]), Ok(built));
}

#[test]
fn section_5_9_3_redirect_uri_requests_are_unsigned_and_signed_prefixes_are_not() {
    let client_id = ClientId::parse(&format!("redirect_uri:{RESPONSE_URI}")).unwrap();
    let built = request(&client_id, RESPONSE_URI);
    let unsigned = built.unsigned_request_object().unwrap();
    assert!(unsigned.ends_with('.'));
    assert_eq!(
        verify(&unsigned, client_id.as_str(), &[]),
        Ok(built.clone())
    );
    assert_eq!(
        built.signing_input(Algorithm::ES256, None, None),
        Err(RequestError::SignedWhenUnsignedRequired)
    );
    // Signed anyway.
    let signer = did_signer();
    let header = json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP, "kid": signer.kid()});
    let signed = sign_with(&header, &built.claims(), |m| signer.sign(m));
    assert_eq!(
        verify(&signed, client_id.as_str(), &[]),
        Err(RequestError::SignedWhenUnsignedRequired)
    );
    // alg none with a signature.
    let header = json!({"alg": "none", "typ": REQUEST_OBJECT_TYP});
    let odd = sign_with(&header, &built.claims(), |_| vec![1, 2, 3]);
    assert!(matches!(
        verify(&odd, client_id.as_str(), &[]),
        Err(RequestError::Malformed(_))
    ));
    // A response_uri other than the client identifier's.
    let forged = with(
        &built.claims(),
        "response_uri",
        json!("https://client.example.org/other"),
    );
    let header = json!({"alg": "none", "typ": REQUEST_OBJECT_TYP});
    assert!(matches!(
        verify(
            &sign_with(&header, &forged, |_| Vec::new()),
            client_id.as_str(),
            &[]
        ),
        Err(RequestError::ResponseUriMismatch(_))
    ));
    // HAIP: signed requests only.
    assert!(matches!(
        verify_request_object(&unsigned, None, &[], NOW, &RequestOptions::haip()),
        Err(RequestError::NotHaip(_))
    ));
    // A signed prefix, unsigned.
    let pki = pki("client.example.org", false);
    let hash_id = ClientId::x509_hash(&pki.leaf_der);
    let claims = request(&hash_id, RESPONSE_URI).claims();
    let none = sign_with(
        &json!({"alg": "none", "typ": REQUEST_OBJECT_TYP}),
        &claims,
        |_| Vec::new(),
    );
    assert_eq!(
        verify(&none, hash_id.as_str(), std::slice::from_ref(&pki.anchor)),
        Err(RequestError::SignatureRequired("x509_hash"))
    );
    assert_eq!(
        request(&hash_id, RESPONSE_URI).unsigned_request_object(),
        Err(RequestError::SignatureRequired("x509_hash"))
    );
}
