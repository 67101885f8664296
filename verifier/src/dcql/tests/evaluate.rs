//! Matching (§6.4, §7.1.1) and the wallet's selection (§6.4.1, §6.4.2).

use serde_json::{json, Value};

use super::{credential, query_of, VCT};
use crate::dcql::{evaluate, select, Candidate, DcqlQuery, Unsatisfiable};

fn held(claims: Value) -> Candidate {
    Candidate::sd_jwt_vc(VCT, claims).with_holder_binding(true)
}

fn matches(query: &DcqlQuery, candidates: &[Candidate], id: &str) -> Vec<usize> {
    evaluate(query, candidates).matches[id].clone()
}

fn texts(paths: &[crate::ClaimPath]) -> Vec<String> {
    paths.iter().map(ToString::to_string).collect()
}

#[test]
fn format_vct_and_holder_binding() {
    let query = query_of(vec![credential("pid", json!({}))]);
    let candidates = [
        held(json!({})),
        Candidate::sd_jwt_vc("https://other.example/vct", json!({})).with_holder_binding(true),
        Candidate::new("jwt_vc_json", VCT, json!({})).with_holder_binding(true),
        Candidate::sd_jwt_vc(VCT, json!({})),
    ];
    assert_eq!(matches(&query, &candidates, "pid"), [0]);
    let lax = query_of(vec![credential(
        "pid",
        json!({"require_cryptographic_holder_binding": false}),
    )]);
    assert_eq!(matches(&lax, &candidates, "pid"), [0, 3]);
    let mdoc = query_of(vec![credential(
        "m",
        json!({"format": "mso_mdoc", "meta": {"doctype_value": "org.iso.18013.5.1.mDL"}}),
    )]);
    assert!(matches(&mdoc, &candidates, "m").is_empty());
}

#[test]
fn values_match_in_type_and_value() {
    let query = |values: Value| {
        query_of(vec![credential(
            "pid",
            json!({"claims": [{"path": ["v"], "values": values}]}),
        )])
    };
    let candidates = [
        held(json!({"v": "1"})),
        held(json!({"v": 1})),
        held(json!({"v": true})),
        held(json!({"v": 1.0})),
        held(json!({"v": [1]})),
    ];
    assert_eq!(matches(&query(json!([1])), &candidates, "pid"), [1, 3]);
    assert_eq!(matches(&query(json!(["1"])), &candidates, "pid"), [0]);
    assert_eq!(matches(&query(json!([true])), &candidates, "pid"), [2]);
    assert_eq!(
        matches(&query(json!([false, "2"])), &candidates, "pid"),
        Vec::<usize>::new()
    );
}

#[test]
fn a_pointer_selecting_several_elements_matches_when_one_does() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [{"path": ["nationalities", null], "values": ["DE"]}]}),
    )]);
    let candidates = [
        held(json!({"nationalities": ["FR", "DE"]})),
        held(json!({"nationalities": ["FR"]})),
        held(json!({"nationalities": []})),
        held(json!({"nationalities": "DE"})),
    ];
    assert_eq!(matches(&query, &candidates, "pid"), [0]);
    let selection = select(&query, &candidates).unwrap();
    // Only the matching element is disclosed.
    assert_eq!(
        texts(&selection.credentials["pid"][0].disclose),
        ["nationalities[1]"]
    );
}

#[test]
fn trusted_authorities_match_a_type_and_value() {
    let query = query_of(vec![credential(
        "pid",
        json!({"trusted_authorities": [
            {"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]},
            {"type": "etsi_tl", "values": ["https://lotl.example.com"]}
        ]}),
    )]);
    let candidates = [
        held(json!({})),
        held(json!({})).with_authority("aki", "s9tIpPmhxdiuNkHMEWNpYim8S8Y"),
        held(json!({})).with_authority("etsi_tl", "https://lotl.example.com"),
        held(json!({})).with_authority("openid_federation", "https://lotl.example.com"),
    ];
    assert_eq!(matches(&query, &candidates, "pid"), [1, 2]);
}

#[test]
fn claim_sets_take_the_first_satisfiable_one() {
    // Appendix D, claims_alternatives.json.
    let query = query_of(vec![credential(
        "pid",
        json!({
            "claims": [
                {"id": "a", "path": ["family_name"]},
                {"id": "b", "path": ["postal_code"]},
                {"id": "c", "path": ["locality"]},
                {"id": "d", "path": ["region"]},
                {"id": "e", "path": ["date_of_birth"]}
            ],
            "claim_sets": [["a", "c", "d", "e"], ["a", "b", "e"]]
        }),
    )]);
    let everything = json!({"family_name": "Doe", "postal_code": "90210", "locality": "X",
        "region": "Y", "date_of_birth": "1990-01-01", "given_name": "J"});
    let no_region = json!({"family_name": "Doe", "postal_code": "90210", "locality": "X",
        "date_of_birth": "1990-01-01"});
    let candidates = [
        held(everything),
        held(no_region),
        held(json!({"family_name": "Doe"})),
    ];
    assert_eq!(matches(&query, &candidates, "pid"), [0, 1]);
    let selection = select(&query, &candidates).unwrap();
    let chosen = &selection.credentials["pid"][0];
    assert_eq!(chosen.candidate, 0);
    assert_eq!(chosen.claim_set, Some(0));
    assert_eq!(
        texts(&chosen.disclose),
        ["family_name", "locality", "region", "date_of_birth"]
    );
    let second = select(&query, &candidates[1..]).unwrap();
    assert_eq!(second.credentials["pid"][0].claim_set, Some(1));
    assert_eq!(
        texts(&second.credentials["pid"][0].disclose),
        ["family_name", "postal_code", "date_of_birth"]
    );
}

#[test]
fn no_claims_selects_nothing_disclosable() {
    let query = query_of(vec![credential("pid", json!({}))]);
    let selection = select(&query, &[held(json!({"given_name": "J"}))]).unwrap();
    assert!(selection.credentials["pid"][0].disclose.is_empty());
}

#[test]
fn selected_paths_are_minimal() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [{"path": ["address", "street_address"]}, {"path": ["address"]},
            {"path": ["degrees", null, "type"]}]}),
    )]);
    let candidates = [held(json!({
        "address": {"street_address": "42 Market Street", "locality": "Milliways"},
        "degrees": [{"type": "BSc"}, {"university": "U"}, {"type": "MSc"}]
    }))];
    let selection = select(&query, &candidates).unwrap();
    assert_eq!(
        texts(&selection.credentials["pid"][0].disclose),
        ["address", "degrees[0].type", "degrees[2].type"]
    );
}

#[test]
fn multiple_selects_every_match() {
    let one = query_of(vec![credential("pid", json!({}))]);
    let many = query_of(vec![credential("pid", json!({"multiple": true}))]);
    let candidates = [held(json!({})), held(json!({}))];
    assert_eq!(
        select(&one, &candidates).unwrap().credentials["pid"].len(),
        1
    );
    assert_eq!(
        select(&many, &candidates).unwrap().credentials["pid"].len(),
        2
    );
}

#[test]
fn credential_sets_required_and_optional() {
    // Appendix D, credentials_alternatives.json, shortened.
    let vct = |vct: &str| json!({"meta": {"vct_values": [vct]}});
    let query = DcqlQuery::from_value(&json!({
        "credentials": [
            credential("pid", vct("pid")),
            credential("other_pid", vct("other")),
            credential("reduced_1", vct("r1")),
            credential("reduced_2", vct("r2")),
            credential("nice_to_have", vct("nice"))
        ],
        "credential_sets": [
            {"options": [["pid"], ["other_pid"], ["reduced_1", "reduced_2"]]},
            {"required": false, "options": [["nice_to_have"]]}
        ]
    }))
    .unwrap();
    let of = |vct: &str| Candidate::sd_jwt_vc(vct, json!({})).with_holder_binding(true);

    let reduced = [of("r1"), of("r2")];
    let result = evaluate(&query, &reduced);
    assert!(result.can_be_satisfied);
    assert_eq!(result.credential_sets, [true, false]);
    let selection = select(&query, &reduced).unwrap();
    assert_eq!(selection.credential_sets, [Some(2), None]);
    assert_eq!(
        selection.credentials.keys().collect::<Vec<_>>(),
        ["reduced_1", "reduced_2"]
    );

    let all = [of("nice"), of("other"), of("r1")];
    let selection = select(&query, &all).unwrap();
    assert_eq!(selection.credential_sets, [Some(1), Some(0)]);
    assert_eq!(
        selection.credentials.keys().collect::<Vec<_>>(),
        ["nice_to_have", "other_pid"]
    );

    let only_optional = [of("nice"), of("r1")];
    assert!(!evaluate(&query, &only_optional).can_be_satisfied);
    assert_eq!(
        select(&query, &only_optional),
        Err(Unsatisfiable::CredentialSet { index: 0 })
    );
}

#[test]
fn without_credential_sets_every_query_is_required() {
    let query = query_of(vec![
        credential("a", json!({})),
        credential("b", json!({"meta": {"vct_values": ["b"]}})),
    ]);
    let candidates = [held(json!({}))];
    assert!(!evaluate(&query, &candidates).can_be_satisfied);
    assert_eq!(
        select(&query, &candidates),
        Err(Unsatisfiable::CredentialQuery { id: "b".into() })
    );
}

#[test]
fn predicates_need_a_commitment_and_a_true_statement() {
    let query = query_of(vec![credential(
        "pid",
        json!({"claims": [
            {"path": ["given_name"]},
            {"path": ["birthdate"], "agentid_predicate": "birthdate <= 2008-11-22"}
        ]}),
    )]);
    let adult = json!({"given_name": "J", "birthdate": "1990-05-01"});
    let minor = json!({"given_name": "J", "birthdate": "2012-05-01"});
    let candidates = [
        held(adult.clone()),
        held(minor).with_committed(["birthdate"]),
        held(adult).with_committed(["birthdate"]),
    ];
    assert_eq!(matches(&query, &candidates, "pid"), [2]);
    let selection = select(&query, &candidates).unwrap();
    let chosen = &selection.credentials["pid"][0];
    assert_eq!(texts(&chosen.disclose), ["given_name"]);
    assert_eq!(chosen.predicates.len(), 1);
    assert_eq!(chosen.predicates[0].claim, "birthdate");
}
