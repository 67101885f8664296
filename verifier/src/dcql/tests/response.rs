//! The verifier's check of a response (§6.4, §8.1), from [`PresentedCredential`]s
//! built by hand and from a credential verified end to end.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{credential, query_of, VCT};
use crate::dcql::{check_response, DcqlQuery, DcqlViolation, PresentedCredential};
use crate::predicate::{ProvenPredicate, ValueEncoding};
use crate::ClaimPath;

fn shown(claims: Value, disclosed: &[&str]) -> PresentedCredential {
    let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
    PresentedCredential::new("dc+sd-jwt", Some(VCT.into()), claims)
        .with_holder_binding(true)
        .with_disclosed(
            disclosed
                .iter()
                .map(|path| path.parse::<ClaimPath>().unwrap())
                .collect(),
        )
}

fn response(
    entries: Vec<(&str, Vec<PresentedCredential>)>,
) -> BTreeMap<String, Vec<PresentedCredential>> {
    entries
        .into_iter()
        .map(|(id, presented)| (id.to_owned(), presented))
        .collect()
}

fn simple() -> DcqlQuery {
    // §7.4, simple.json.
    query_of(vec![credential(
        "my_credential",
        json!({"claims": [
            {"path": ["family_name"]},
            {"path": ["given_name"]},
            {"path": ["address", "street_address"]}
        ]}),
    )])
}

fn answer() -> Value {
    json!({"family_name": "Doe", "given_name": "John", "birthdate": "1940-01-01",
        "address": {"street_address": "42 Market Street"}})
}

#[test]
fn a_minimal_answer_passes() {
    let presented = shown(
        answer(),
        &[
            "family_name",
            "given_name",
            "address",
            "address.street_address",
        ],
    );
    assert_eq!(
        check_response(
            &simple(),
            &response(vec![("my_credential", vec![presented])])
        ),
        Ok(())
    );
}

#[test]
fn an_unrequested_disclosure_is_refused_by_path_never_by_value() {
    let presented = shown(answer(), &["family_name", "given_name", "birthdate"]);
    let refused = check_response(
        &simple(),
        &response(vec![("my_credential", vec![presented])]),
    )
    .unwrap_err();
    assert_eq!(
        refused,
        DcqlViolation::NotRequested {
            id: "my_credential".into(),
            presentation: 0,
            path: "birthdate".into()
        }
    );
    assert!(!refused.to_string().contains("1940"));
}

#[test]
fn disclosures_requested_by_another_query_are_allowed() {
    let query = query_of(vec![
        credential("a", json!({"claims": [{"path": ["family_name"]}]})),
        credential("b", json!({"claims": [{"path": ["nationalities", 0]}]})),
    ]);
    let first = shown(
        json!({"family_name": "Doe", "nationalities": ["DE"]}),
        &["family_name", "nationalities[0]"],
    );
    let second = shown(json!({"nationalities": ["DE"]}), &["nationalities[0]"]);
    assert_eq!(
        check_response(
            &query,
            &response(vec![("a", vec![first]), ("b", vec![second])])
        ),
        Ok(())
    );
}

#[test]
fn array_element_disclosures_count() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [{"path": ["degrees", null, "type"]}]}),
    )]);
    let claims = json!({"degrees": [{"type": "BSc", "university": "U"}]});
    let ok = shown(claims.clone(), &["degrees[0]", "degrees[0].type"]);
    assert_eq!(
        check_response(&query, &response(vec![("pid", vec![ok])])),
        Ok(())
    );
    let over = shown(
        claims,
        &["degrees[0]", "degrees[0].type", "degrees[0].university"],
    );
    assert!(matches!(
        check_response(&query, &response(vec![("pid", vec![over])])),
        Err(DcqlViolation::NotRequested { path, .. }) if path == "degrees[0].university"
    ));
}

#[test]
fn entries_must_name_queries_and_respect_multiple() {
    let query = simple();
    let good = || shown(answer(), &[]);
    assert!(matches!(
        check_response(&query, &response(vec![("my_credential", vec![good()]), ("other", vec![good()])])),
        Err(DcqlViolation::UnknownQuery { id }) if id == "other"
    ));
    assert!(matches!(
        check_response(&query, &response(vec![("my_credential", vec![])])),
        Err(DcqlViolation::EmptyEntry { .. })
    ));
    assert!(matches!(
        check_response(
            &query,
            &response(vec![("my_credential", vec![good(), good()])])
        ),
        Err(DcqlViolation::TooManyPresentations { count: 2, .. })
    ));
    assert!(matches!(
        check_response(&query, &response(vec![])),
        Err(DcqlViolation::MissingCredential { id }) if id == "my_credential"
    ));
    let many = query_of(vec![credential("pid", json!({"multiple": true}))]);
    let lots = (0..=crate::dcql::MAX_PRESENTATIONS_PER_QUERY)
        .map(|_| good())
        .collect();
    assert!(matches!(
        check_response(&many, &response(vec![("pid", lots)])),
        Err(DcqlViolation::PresentationLimit { .. })
    ));
    assert_eq!(
        check_response(&many, &response(vec![("pid", vec![good(), good()])])),
        Ok(())
    );
}

#[test]
fn each_presentation_must_match_its_query() {
    let query = simple();
    let check = |presented: PresentedCredential| {
        check_response(&query, &response(vec![("my_credential", vec![presented])]))
    };
    let wrong_vct = PresentedCredential::new(
        "dc+sd-jwt",
        Some("https://other.example".into()),
        answer().as_object().cloned().unwrap(),
    )
    .with_holder_binding(true);
    assert!(matches!(
        check(wrong_vct),
        Err(DcqlViolation::VctMismatch { .. })
    ));
    let wrong_format = PresentedCredential::new(
        "mso_mdoc",
        Some(VCT.into()),
        answer().as_object().cloned().unwrap(),
    );
    assert!(matches!(
        check(wrong_format),
        Err(DcqlViolation::FormatMismatch { .. })
    ));
    let unbound = shown(answer(), &[]).with_holder_binding(false);
    assert!(matches!(
        check(unbound),
        Err(DcqlViolation::HolderBindingMissing { .. })
    ));
    let missing = shown(json!({"family_name": "Doe", "given_name": "John"}), &[]);
    assert!(matches!(
        check(missing),
        Err(DcqlViolation::ClaimMissing { path, .. }) if path == r#"["address","street_address"]"#
    ));
}

#[test]
fn values_and_indices_in_presentations() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [{"path": ["nationalities", 1], "values": ["DE"]}]}),
    )]);
    let check =
        |claims: Value| check_response(&query, &response(vec![("pid", vec![shown(claims, &[])])]));
    // The element issued at index 1 shows at 0 when element 0 stays concealed.
    assert_eq!(check(json!({"nationalities": ["DE"]})), Ok(()));
    assert!(matches!(
        check(json!({"nationalities": ["FR"]})),
        Err(DcqlViolation::ClaimMissing { .. })
    ));
}

#[test]
fn any_satisfied_claim_set_is_accepted() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [{"id": "over", "path": ["age_over_18"], "values": [true]},
            {"id": "dob", "path": ["birthdate"]}],
            "claim_sets": [["over"], ["dob"]]}),
    )]);
    let check = |claims: Value, disclosed: &[&str]| {
        check_response(
            &query,
            &response(vec![("pid", vec![shown(claims, disclosed)])]),
        )
    };
    assert_eq!(
        check(json!({"birthdate": "1990-01-01"}), &["birthdate"]),
        Ok(())
    );
    assert_eq!(
        check(json!({"age_over_18": true}), &["age_over_18"]),
        Ok(())
    );
    assert!(matches!(
        check(json!({"age_over_18": false}), &["age_over_18"]),
        Err(DcqlViolation::NoClaimSetSatisfied { .. })
    ));
}

#[test]
fn credential_sets_in_responses() {
    let vct = json!({"meta": {"vct_values": [VCT]}});
    let query = DcqlQuery::from_value(&json!({
        "credentials": [credential("a", vct.clone()), credential("b", vct.clone()),
            credential("c", vct.clone()), credential("d", vct)],
        "credential_sets": [
            {"options": [["a"], ["b", "c"]]},
            {"required": false, "options": [["d"]]}
        ]
    }))
    .unwrap();
    let good = || vec![shown(json!({}), &[])];
    let check = |ids: &[&str]| {
        check_response(
            &query,
            &response(ids.iter().map(|id| (*id, good())).collect()),
        )
    };
    assert_eq!(check(&["a"]), Ok(()));
    assert_eq!(check(&["b", "c", "d"]), Ok(()));
    assert_eq!(
        check(&["d"]),
        Err(DcqlViolation::CredentialSetUnmet { index: 0 })
    );
    assert_eq!(
        check(&["a", "b"]),
        Err(DcqlViolation::NotRequestedCredential { id: "b".into() })
    );
}

fn proven(max: &str) -> ProvenPredicate {
    ProvenPredicate {
        claim: "birthdate".into(),
        min: None,
        max: crate::predicate::date_to_days(max),
        encoding: ValueEncoding::Date,
    }
}

#[test]
fn predicates_must_be_proven_and_their_claim_kept_concealed() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [{"path": ["birthdate"], "agentid_predicate": "birthdate <= 2008-11-22"}]}),
    )]);
    let check = |presented: PresentedCredential| {
        check_response(&query, &response(vec![("pid", vec![presented])]))
    };
    assert_eq!(
        check(shown(json!({}), &[]).with_predicates(vec![proven("2008-01-01")])),
        Ok(())
    );
    assert!(matches!(
        check(shown(json!({}), &[]).with_predicates(vec![proven("2009-01-01")])),
        Err(DcqlViolation::PredicateNotProven { .. })
    ));
    let mut as_integer = proven("2008-01-01");
    as_integer.encoding = ValueEncoding::Integer;
    assert!(matches!(
        check(shown(json!({}), &[]).with_predicates(vec![as_integer])),
        Err(DcqlViolation::PredicateNotProven { .. })
    ));
    assert!(matches!(
        check(
            shown(json!({"birthdate": "1990-01-01"}), &["birthdate"])
                .with_predicates(vec![proven("2008-01-01")])
        ),
        Err(DcqlViolation::PredicateClaimDisclosed { .. })
    ));
}

/// A credential signed here (Ed25519), verified by [`crate::Verifier`], read by
/// [`PresentedCredential::from_verified`] and checked.
#[test]
fn from_a_verified_credential() {
    use crate::{b64url_encode, did_key, sha256_b64, Policy, PublicKey, TrustStore, Verifier};

    let signing = ed25519_zebra::SigningKey::from([7u8; 32]);
    let public =
        PublicKey::ed25519_from_bytes(ed25519_zebra::VerificationKey::from(&signing).as_ref())
            .unwrap();
    let did = did_key::encode(&public);
    let disclosure = |value: Value| b64url_encode(value.to_string().as_bytes());
    let given = disclosure(json!(["salt-1", "given_name", "John"]));
    let german = disclosure(json!(["salt-2", "DE"]));
    let payload = json!({
        "iss": did, "vct": VCT, "iat": 1_700_000_000u64, "exp": 1_900_000_000u64,
        "family_name": "Doe",
        "_sd": [sha256_b64(&given)],
        "nationalities": [{"...": sha256_b64(&german)}, "FR"]
    });
    let header = json!({"alg": "EdDSA", "typ": "dc+sd-jwt"});
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    let signature = signing.sign(input.as_bytes());
    let jwt = format!("{input}.{}", b64url_encode(&signature.to_bytes()));
    let mut trust = TrustStore::new();
    trust.add_did(&did).unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let verified = verifier
        .verify_credential(&format!("{jwt}~{given}~{german}~"), 1_800_000_000)
        .unwrap();
    let paths: Vec<String> = verified
        .disclosed_paths
        .iter()
        .map(ToString::to_string)
        .collect();
    // Visible members are walked before the `_sd` digests.
    assert_eq!(paths, ["nationalities[0]", "given_name"]);

    let presented = PresentedCredential::from_verified(&verified);
    assert!(!presented.holder_bound);
    assert_eq!(presented.claims["iss"], json!(did));
    let query = query_of(vec![credential(
        "pid",
        json!({"require_cryptographic_holder_binding": false,
            "claims": [{"path": ["given_name"]}, {"path": ["nationalities", null], "values": ["DE"]},
                {"path": ["iss"], "values": [did]}]}),
    )]);
    let entry = || response(vec![("pid", vec![presented.clone()])]);
    assert_eq!(check_response(&query, &entry()), Ok(()));
    let narrower = query_of(vec![credential(
        "pid",
        json!({"require_cryptographic_holder_binding": false, "claims": [{"path": ["family_name"]}]}),
    )]);
    assert!(matches!(
        check_response(&narrower, &entry()),
        Err(DcqlViolation::NotRequested { path, .. }) if path == "nationalities[0]"
    ));
}
