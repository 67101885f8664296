// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn section_5_9_prefixes_are_read_and_others_refused() {
    let cases = [
        (
            "decentralized_identifier:did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            ClientIdPrefix::DecentralizedIdentifier,
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        ),
        (
            "x509_san_dns:client.example.org",
            ClientIdPrefix::X509SanDns,
            "client.example.org",
        ),
        (
            "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            ClientIdPrefix::X509Hash,
            "Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
        ),
        (
            "redirect_uri:https://client.example.org/cb",
            ClientIdPrefix::RedirectUri,
            "https://client.example.org/cb",
        ),
    ];
    for (text, prefix, value) in cases {
        let id = ClientId::parse(text).unwrap();
        assert_eq!(
            (id.prefix(), id.value(), id.as_str()),
            (prefix, value, text)
        );
        assert_eq!(id.to_string(), text);
    }
    for unknown in [
        "verifier_attestation:verifier.example",
        "openid_federation:https://federation-verifier.example.com",
        "origin:https://verifier.example.com",
        "https://client.example.org/cb",
        ":x",
    ] {
        assert!(
            matches!(
                ClientId::parse(unknown),
                Err(RequestError::UnknownPrefix(_))
            ),
            "{unknown}"
        );
    }
    assert_eq!(
        ClientId::parse("example-client"),
        Err(RequestError::PreRegisteredClient)
    );
    for invalid in [
        "x509_san_dns:client.example.org/path",
        "x509_san_dns:-bad.example",
        "x509_san_dns:",
        "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZsz",
        "x509_hash:not base64",
        "decentralized_identifier:did:key",
        "decentralized_identifier:example:123",
        "redirect_uri:/relative",
    ] {
        assert!(
            matches!(
                ClientId::parse(invalid),
                Err(RequestError::InvalidClientId(_))
            ),
            "{invalid}"
        );
    }
    assert!(matches!(
        ClientId::parse(&format!("x509_san_dns:{}", "a".repeat(MAX_CLIENT_ID_LEN))),
        Err(RequestError::LimitExceeded(_))
    ));
}

#[test]
fn response_uri_rules_of_san_dns_and_redirect_uri() {
    let check = |id: &str, uri: &str| {
        ClientId::parse(id)
            .unwrap()
            .check_response_uri(uri, &Url::parse(uri).unwrap())
    };
    assert!(check(
        "x509_san_dns:client.example.org",
        "https://client.example.org/post"
    )
    .is_ok());
    assert!(check(
        "x509_san_dns:client.example.org",
        "https://CLIENT.example.org/post"
    )
    .is_ok());
    assert!(check(
        "x509_san_dns:client.example.org",
        "https://evil.example/post"
    )
    .is_err());
    assert!(check(
        "x509_san_dns:client.example.org",
        "https://client.example.org.evil.example/post"
    )
    .is_err());
    assert!(check(
        "redirect_uri:https://client.example.org/post",
        "https://client.example.org/post"
    )
    .is_ok());
    assert!(check(
        "redirect_uri:https://client.example.org/post",
        "https://client.example.org/other"
    )
    .is_err());
    assert!(check(
        "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
        "https://any.example/"
    )
    .is_ok());
}
