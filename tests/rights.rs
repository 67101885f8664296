//! Every rights claim is enforced, fail closed (issue 11, items 1, 2 and 4): the
//! credential's `audience`, every constraint (an unknown one denies), resources as
//! parsed URLs, and the documented meaning of an absent or empty claim. Credentials
//! are signed by hand (common::forge) so that rights the wallet's issuer would
//! refuse to write can be tried too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::authorize::{authorize, Action, Denied};
use agentid_verifier::{BatchItem, PresentationRequest, RejectionKind, Verified, VerifyError};
use common::forge::Forge;
use common::{AUDIENCE, NONCE, NOW};
use serde_json::{json, Value};

/// A task presentation whose rights claims are `rights` (merged into the payload),
/// made for `audience`, and its verdict on the single and the batch path (which
/// must agree).
fn present(forge: &Forge, rights: Value, audience: &str) -> Result<Verified, VerifyError> {
    let mut payload = forge.payload();
    payload["on_behalf_of"] = json!("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
    for (name, value) in rights.as_object().unwrap() {
        payload[name] = value.clone();
    }
    let without_kb = forge.credential(&forge.header(), &payload, &[]);
    let mut kb = forge.kb_payload(&without_kb);
    kb["aud"] = json!(audience);
    let presentation = forge.bind(&without_kb, &json!({"alg": "EdDSA", "typ": "kb+jwt"}), &kb);
    let request = PresentationRequest::new(audience, NONCE);
    let verifier = forge.verifier();
    let single = verifier.verify_presentation(&presentation, &request, NOW);
    let batch = verifier
        .verify_batch(
            &[BatchItem {
                presentation: &presentation,
                request: &request,
            }],
            NOW,
        )
        .remove(0);
    assert_eq!(
        single.as_ref().err(),
        batch.as_ref().err(),
        "single and batch agree"
    );
    single
}

fn refund(amount: f64) -> Action {
    Action::new("refunds:write", "https://shop.example/orders/1234")
        .with_amount(amount, Some("EUR"))
}

fn task(extra: Value) -> Value {
    let mut rights =
        json!({"scope": ["refunds:write"], "resources": ["https://shop.example/orders/"]});
    for (name, value) in extra.as_object().unwrap() {
        rights[name] = value.clone();
    }
    rights
}

#[test]
fn a_credential_is_accepted_only_by_the_verifiers_in_its_audience() {
    let forge = Forge::new();
    let bank_a = task(json!({"audience": [AUDIENCE]}));
    assert!(present(&forge, bank_a.clone(), AUDIENCE).is_ok());
    // Issued for bank A, bound correctly to bank B: refused at bank B.
    let at_b = present(&forge, bank_a, "https://bank-b.example").unwrap_err();
    assert_eq!(
        at_b,
        VerifyError::AudienceNotAllowed("https://bank-b.example".into())
    );
    assert_eq!(at_b.kind(), RejectionKind::Policy);
    // Compared exactly, as RFC 7519 compares aud values.
    for near in [
        "https://payments.bank.example/",
        "HTTPS://payments.bank.example",
        "https://payments.bank.example.evil",
    ] {
        assert!(
            present(&forge, task(json!({"audience": [AUDIENCE]})), near).is_err(),
            "{near}"
        );
    }
    // Absent: any verifier. Empty: none.
    assert!(present(&forge, task(json!({})), "https://bank-b.example").is_ok());
    assert!(matches!(
        present(&forge, task(json!({"audience": []})), AUDIENCE),
        Err(VerifyError::AudienceNotAllowed(_))
    ));
    // Not a list of strings: malformed, never ignored.
    for bad in [json!(AUDIENCE), json!([1]), json!({"aud": AUDIENCE})] {
        assert!(matches!(
            present(&forge, task(json!({"audience": bad})), AUDIENCE),
            Err(VerifyError::Malformed(_))
        ));
    }
}

#[test]
fn constraints_the_verifier_does_not_understand_deny() {
    let forge = Forge::new();
    for unknown in [
        json!({"max_items": 3}),
        json!({"max_amount": 50, "merchant": "shop.example"}),
        json!({"max_amount_per_day": 100}),
    ] {
        let verified = present(&forge, task(json!({"constraints": unknown})), AUDIENCE).unwrap();
        assert!(
            matches!(
                authorize(&verified, &refund(1.0), None),
                Err(Denied::UnknownConstraint(_))
            ),
            "{unknown}"
        );
    }
    // Absent constraints: no limits beyond scope and resources.
    let verified = present(&forge, task(json!({})), AUDIENCE).unwrap();
    assert!(authorize(&verified, &refund(1e9), None).is_ok());
    // Known constraints of the wrong type deny rather than mean "unlimited".
    for malformed in [
        json!({"max_amount": "50"}),
        json!({"max_amount": -1}),
        json!({"approval_above": null}),
        json!({"currency": 978}),
    ] {
        let verified = present(&forge, task(json!({"constraints": malformed})), AUDIENCE).unwrap();
        assert!(
            matches!(
                authorize(&verified, &refund(1.0), None),
                Err(Denied::MalformedConstraint(_))
            ),
            "{malformed}"
        );
    }
}

#[test]
fn amounts_in_another_currency_are_denied() {
    let forge = Forge::new();
    let verified = present(
        &forge,
        task(json!({"constraints": {"max_amount": 50, "currency": "EUR"}})),
        AUDIENCE,
    )
    .unwrap();
    assert!(authorize(&verified, &refund(45.0), None).is_ok());
    let in_usd = Action::new("refunds:write", "https://shop.example/orders/1234")
        .with_amount(45.0, Some("USD"));
    assert_eq!(
        authorize(&verified, &in_usd, None),
        Err(Denied::Currency {
            expected: "EUR".into(),
            found: Some("USD".into())
        })
    );
    let unstated =
        Action::new("refunds:write", "https://shop.example/orders/1234").with_amount(45.0, None);
    assert!(matches!(
        authorize(&verified, &unstated, None),
        Err(Denied::Currency { found: None, .. })
    ));
    // An action without an amount involves no currency.
    let read = Action::new("refunds:write", "https://shop.example/orders/1234");
    assert!(authorize(&verified, &read, None).is_ok());
}

#[test]
fn resources_are_compared_as_parsed_urls() {
    let forge = Forge::new();
    let verified = present(&forge, task(json!({})), AUDIENCE).unwrap();
    let at = |resource: &str| {
        authorize(
            &verified,
            &Action::new("refunds:write", resource).with_amount(1.0, Some("EUR")),
            None,
        )
    };
    for inside in [
        "https://shop.example/orders/1234",
        "https://SHOP.EXAMPLE/orders/1234",
        "https://shop.example:443/orders/1234?expand=items",
    ] {
        assert!(at(inside).is_ok(), "{inside}");
    }
    // A WHATWG parser drops tab, CR and LF, so these are /admin to a server.
    for outside in [
        "https://shop.example/orders/1234/.\t./.\t./admin",
        "https://shop.example/orders/1234/.\r./.\n./admin",
        "https://shop.example/orders/\t../admin",
        "https://shop.example/orders/1234\u{0}",
        "https://user:secret@shop.example/orders/1234",
        "https://shop.example/orders/..%2fadmin",
        "https://shop.example/orders/1234/..%5C..%5Cadmin",
        "https://shop.example:8443/orders/1234",
        "http://shop.example/orders/1234",
        "https://shop.example/orders-archive/1",
    ] {
        assert!(
            matches!(at(outside), Err(Denied::Resource(_))),
            "{outside:?}"
        );
    }
    // A granted prefix the parser would change grants nothing at all.
    let sneaky = present(
        &forge,
        task(json!({"resources": ["https://shop.example/orders/\t../"]})),
        AUDIENCE,
    )
    .unwrap();
    assert!(matches!(
        authorize(
            &sneaky,
            &Action::new("refunds:write", "https://shop.example/admin"),
            None
        ),
        Err(Denied::Resource(_))
    ));
    // Empty resources: none.
    let nothing = present(&forge, task(json!({"resources": []})), AUDIENCE).unwrap();
    assert!(matches!(
        authorize(&nothing, &refund(1.0), None),
        Err(Denied::Resource(_))
    ));
    // Absent resources: any.
    let anywhere = present(&forge, json!({"scope": ["refunds:write"]}), AUDIENCE).unwrap();
    assert!(authorize(
        &anywhere,
        &Action::new("refunds:write", "https://elsewhere.example/x").with_amount(1.0, None),
        None
    )
    .is_ok());
}
