//! Reading queries: defaults, round trips, and one test per refusal rule, each
//! checking the member the error names (OpenID4VP 1.0 §6, §7, Appendix B).

use serde_json::{json, Value};

use super::{credential, VCT};
use crate::dcql::{
    ClaimValue, DcqlError, DcqlQuery, PointerSegment, MAX_CLAIMS, MAX_CREDENTIAL_QUERIES,
    MAX_QUERY_BYTES, MAX_QUERY_DEPTH, MAX_QUERY_VALUES, MAX_VALUES,
};

/// The member named by the refusal of `query`.
fn refused(query: Value) -> String {
    match DcqlQuery::from_value(&query) {
        Ok(_) => panic!("accepted: {query}"),
        Err(error) => {
            assert!(!error.to_string().is_empty());
            error.member().unwrap_or("").to_owned()
        }
    }
}

fn one(extra: Value) -> Value {
    json!({"credentials": [credential("pid", extra)]})
}

#[test]
fn defaults_of_section_6_1_and_6_2() {
    let query = DcqlQuery::from_value(&json!({
        "credentials": [credential("pid", json!({}))],
        "credential_sets": [{"options": [["pid"]]}],
        "unknown": {"ignored": true}
    }))
    .unwrap();
    let pid = &query.credentials()[0];
    assert!(!pid.multiple());
    assert!(pid.require_cryptographic_holder_binding());
    assert_eq!(pid.vct_values(), Some(&[VCT.to_owned()][..]));
    assert!(pid.claims().is_none());
    assert!(query.credential_sets().unwrap()[0].required());
}

#[test]
fn to_value_round_trips_and_writes_defaults() {
    let query = DcqlQuery::from_value(&json!({"credentials": [credential("pid", json!({
        "trusted_authorities": [{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],
        "claims": [
            {"id": "a", "path": ["nationalities", null], "values": ["DE", 7, true]},
            {"id": "b", "path": ["birthdate"], "agentid_predicate": "birthdate <= 2008-11-22"}
        ],
        "claim_sets": [["a", "b"], ["b"]],
        "extra": 1
    }))], "credential_sets": [{"options": [["pid"]], "required": false}]}))
    .unwrap();
    let value = query.to_value();
    assert_eq!(value["credentials"][0]["multiple"], json!(false));
    assert_eq!(
        value["credentials"][0]["require_cryptographic_holder_binding"],
        json!(true)
    );
    assert!(value["credentials"][0].get("extra").is_none());
    assert_eq!(
        value["credentials"][0]["claims"][1]["agentid_predicate"],
        json!("birthdate <= 2008-11-22")
    );
    assert_eq!(DcqlQuery::from_value(&value).unwrap(), query);
    assert_eq!(serde_json::to_value(&query).unwrap(), value);
    let claims = query.credentials()[0].claims().unwrap();
    assert_eq!(
        claims[0].values().unwrap(),
        [
            ClaimValue::String("DE".into()),
            ClaimValue::Integer(7),
            ClaimValue::Bool(true)
        ]
    );
    assert_eq!(claims[0].path().segments()[1], PointerSegment::All);
}

#[test]
fn limits_on_the_text() {
    let big = vec![b' '; MAX_QUERY_BYTES + 1];
    assert_eq!(
        DcqlQuery::parse(&big),
        Err(DcqlError::TooLarge {
            limit: MAX_QUERY_BYTES
        })
    );
    let deep = format!(
        "{}{}",
        "[".repeat(MAX_QUERY_DEPTH + 1),
        "]".repeat(MAX_QUERY_DEPTH + 1)
    );
    assert_eq!(
        DcqlQuery::parse(deep.as_bytes()),
        Err(DcqlError::TooDeep {
            limit: MAX_QUERY_DEPTH
        })
    );
    assert_eq!(
        DcqlQuery::parse(b"{\"credentials\": ["),
        Err(DcqlError::NotJson)
    );
    let text = serde_json::to_vec(&one(json!({}))).unwrap();
    assert!(DcqlQuery::parse(&text).is_ok());
}

#[test]
fn limits_on_a_value() {
    let mut deep = json!({});
    for _ in 0..MAX_QUERY_DEPTH {
        deep = json!({ "d": deep });
    }
    assert!(matches!(
        DcqlQuery::from_value(&one(json!({"meta": {"vct_values": [VCT], "x": deep}}))),
        Err(DcqlError::TooDeep { .. })
    ));
    let wide = Value::Array(vec![json!(0); MAX_QUERY_VALUES]);
    assert!(matches!(
        DcqlQuery::from_value(&one(json!({"extra": wide}))),
        Err(DcqlError::TooManyValues { .. })
    ));
}

#[test]
fn limits_on_counts() {
    let credentials: Vec<Value> = (0..=MAX_CREDENTIAL_QUERIES)
        .map(|index| credential(&format!("c{index}"), json!({})))
        .collect();
    assert_eq!(
        refused(json!({ "credentials": credentials })),
        "credentials"
    );
    let claims: Vec<Value> = (0..=MAX_CLAIMS)
        .map(|index| json!({"path": [format!("c{index}")]}))
        .collect();
    assert_eq!(
        refused(one(json!({ "claims": claims }))),
        "credentials[0].claims"
    );
    let values = vec![json!(1); MAX_VALUES + 1];
    assert_eq!(
        refused(one(json!({"claims": [{"path": ["a"], "values": values}]}))),
        "credentials[0].claims[0].values"
    );
}

#[test]
fn the_top_level_needs_non_empty_credentials() {
    assert_eq!(refused(json!([])), "query");
    assert_eq!(refused(json!({})), "credentials");
    assert_eq!(refused(json!({"credentials": []})), "credentials");
    assert_eq!(refused(json!({"credentials": {}})), "credentials");
    assert_eq!(refused(json!({"credentials": [7]})), "credentials[0]");
}

#[test]
fn credential_query_ids() {
    for bad in [json!(""), json!("a b"), json!("é"), json!(7), json!(null)] {
        let mut query = credential("x", json!({}));
        query["id"] = bad;
        assert_eq!(
            refused(json!({ "credentials": [query] })),
            "credentials[0].id"
        );
    }
    let mut no_id = credential("x", json!({}));
    no_id.as_object_mut().unwrap().remove("id");
    assert_eq!(
        refused(json!({ "credentials": [no_id] })),
        "credentials[0].id"
    );
    let long = "a".repeat(crate::dcql::MAX_ID_BYTES + 1);
    assert_eq!(
        refused(json!({"credentials": [credential(&long, json!({}))]})),
        "credentials[0].id"
    );
    assert_eq!(
        refused(json!({"credentials": [credential("a", json!({})), credential("a", json!({}))]})),
        "credentials[1].id"
    );
}

#[test]
fn format_and_meta_are_required() {
    let mut no_format = credential("pid", json!({}));
    no_format.as_object_mut().unwrap().remove("format");
    assert_eq!(
        refused(json!({ "credentials": [no_format] })),
        "credentials[0].format"
    );
    assert_eq!(refused(one(json!({"format": 1}))), "credentials[0].format");
    assert_eq!(refused(one(json!({"format": ""}))), "credentials[0].format");
    let mut no_meta = credential("pid", json!({}));
    no_meta.as_object_mut().unwrap().remove("meta");
    assert_eq!(
        refused(json!({ "credentials": [no_meta] })),
        "credentials[0].meta"
    );
    assert_eq!(refused(one(json!({"meta": []}))), "credentials[0].meta");
}

#[test]
fn vct_values_of_appendix_b_3_5() {
    for bad in [
        json!({}),
        json!({"vct_values": []}),
        json!({"vct_values": "x"}),
    ] {
        assert_eq!(
            refused(one(json!({ "meta": bad }))),
            "credentials[0].meta.vct_values"
        );
    }
    assert_eq!(
        refused(one(json!({"meta": {"vct_values": [VCT, 3]}}))),
        "credentials[0].meta.vct_values[1]"
    );
    assert_eq!(
        refused(one(json!({"meta": {"vct_values": [""]}}))),
        "credentials[0].meta.vct_values[0]"
    );
}

#[test]
fn meta_of_other_formats_in_appendix_b() {
    let mdoc = |meta: Value| one(json!({"format": "mso_mdoc", "meta": meta}));
    assert_eq!(
        refused(mdoc(json!({}))),
        "credentials[0].meta.doctype_value"
    );
    assert_eq!(
        refused(mdoc(json!({"doctype_value": 1}))),
        "credentials[0].meta.doctype_value"
    );
    let w3c = |meta: Value| one(json!({"format": "jwt_vc_json", "meta": meta}));
    assert_eq!(refused(w3c(json!({}))), "credentials[0].meta.type_values");
    assert_eq!(
        refused(w3c(json!({"type_values": [[]]}))),
        "credentials[0].meta.type_values[0]"
    );
    assert_eq!(
        refused(w3c(json!({"type_values": [["a", 1]]}))),
        "credentials[0].meta.type_values[0][1]"
    );
    // Formats the specification does not define follow the generic rules only.
    assert!(DcqlQuery::from_value(&one(json!({"format": "example+format", "meta": {}}))).is_ok());
    assert!(
        DcqlQuery::from_value(&mdoc(json!({"doctype_value": "org.iso.18013.5.1.mDL"}))).is_ok()
    );
}

#[test]
fn booleans_must_be_booleans() {
    assert_eq!(
        refused(one(json!({"multiple": "yes"}))),
        "credentials[0].multiple"
    );
    assert_eq!(
        refused(one(json!({"require_cryptographic_holder_binding": 1}))),
        "credentials[0].require_cryptographic_holder_binding"
    );
    assert_eq!(
        refused(json!({"credentials": [credential("a", json!({}))],
            "credential_sets": [{"options": [["a"]], "required": "no"}]})),
        "credential_sets[0].required"
    );
    assert_eq!(
        refused(one(
            json!({"format": "mso_mdoc", "meta": {"doctype_value": "d"},
            "claims": [{"path": ["n", "e"], "intent_to_retain": "y"}]})
        )),
        "credentials[0].claims[0].intent_to_retain"
    );
}

#[test]
fn trusted_authorities_of_section_6_1_1() {
    let at = |authorities: Value| refused(one(json!({ "trusted_authorities": authorities })));
    assert_eq!(at(json!([])), "credentials[0].trusted_authorities");
    assert_eq!(at(json!({})), "credentials[0].trusted_authorities");
    assert_eq!(at(json!([1])), "credentials[0].trusted_authorities[0]");
    assert_eq!(
        at(json!([{"values": ["a"]}])),
        "credentials[0].trusted_authorities[0].type"
    );
    assert_eq!(
        at(json!([{"type": "aki"}])),
        "credentials[0].trusted_authorities[0].values"
    );
    assert_eq!(
        at(json!([{"type": "aki", "values": []}])),
        "credentials[0].trusted_authorities[0].values"
    );
    assert_eq!(
        at(json!([{"type": "aki", "values": [1]}])),
        "credentials[0].trusted_authorities[0].values[0]"
    );
    assert_eq!(
        at(json!([{"type": "aki", "values": ["not base64!"]}])),
        "credentials[0].trusted_authorities[0].values[0]"
    );
    assert_eq!(
        at(json!([{"type": "etsi_tl", "values": ["ftp://lotl.example"]}])),
        "credentials[0].trusted_authorities[0].values[0]"
    );
    assert_eq!(
        at(json!([{"type": "openid_federation", "values": ["not a url"]}])),
        "credentials[0].trusted_authorities[0].values[0]"
    );
    // Types are extensible (§6.1.1 lists the ones it defines).
    assert!(DcqlQuery::from_value(&one(json!({
        "trusted_authorities": [{"type": "example_registry", "values": ["anything"]}]
    })))
    .is_ok());
}

#[test]
fn claims_queries_of_section_6_3() {
    let at = |claims: Value| refused(one(json!({ "claims": claims })));
    assert_eq!(at(json!([])), "credentials[0].claims");
    assert_eq!(at(json!("a")), "credentials[0].claims");
    assert_eq!(at(json!([[]])), "credentials[0].claims[0]");
    assert_eq!(at(json!([{}])), "credentials[0].claims[0].path");
    assert_eq!(at(json!([{"path": []}])), "credentials[0].claims[0].path");
    assert_eq!(
        at(json!([{"path": ["a", -1]}])),
        "credentials[0].claims[0].path[1]"
    );
    assert_eq!(
        at(json!([{"path": ["a", 0.5]}])),
        "credentials[0].claims[0].path[1]"
    );
    assert_eq!(
        at(json!([{"path": [true]}])),
        "credentials[0].claims[0].path[0]"
    );
    assert_eq!(
        at(json!([{"id": "a b", "path": ["a"]}])),
        "credentials[0].claims[0].id"
    );
    assert_eq!(
        at(json!([{"id": "x", "path": ["a"]}, {"id": "x", "path": ["b"]}])),
        "credentials[0].claims[1].id"
    );
    assert_eq!(
        at(json!([{"path": ["a", null]}, {"path": ["a", null]}])),
        "credentials[0].claims[1].path"
    );
}

#[test]
fn values_of_section_6_3() {
    let at = |values: Value| refused(one(json!({"claims": [{"path": ["a"], "values": values}]})));
    assert_eq!(at(json!([])), "credentials[0].claims[0].values");
    assert_eq!(at(json!("DE")), "credentials[0].claims[0].values");
    assert_eq!(at(json!([null])), "credentials[0].claims[0].values[0]");
    assert_eq!(at(json!(["a", 1.5])), "credentials[0].claims[0].values[1]");
    assert_eq!(at(json!([{}])), "credentials[0].claims[0].values[0]");
    assert_eq!(at(json!([[1]])), "credentials[0].claims[0].values[0]");
}

#[test]
fn claim_sets_of_section_6_1_and_6_4_1() {
    let claims = json!([{"id": "a", "path": ["a"]}, {"id": "b", "path": ["b"]}]);
    let at = |sets: Value| refused(one(json!({"claims": claims, "claim_sets": sets})));
    assert_eq!(at(json!([])), "credentials[0].claim_sets");
    assert_eq!(at(json!([[]])), "credentials[0].claim_sets[0]");
    assert_eq!(at(json!(["a"])), "credentials[0].claim_sets[0]");
    assert_eq!(at(json!([["a"], ["c"]])), "credentials[0].claim_sets[1][0]");
    assert_eq!(at(json!([["a", 1]])), "credentials[0].claim_sets[0][1]");
    assert_eq!(
        refused(one(json!({"claim_sets": [["a"]]}))),
        "credentials[0].claim_sets"
    );
    assert_eq!(
        refused(one(
            json!({"claims": [{"id": "a", "path": ["a"]}, {"path": ["b"]}],
            "claim_sets": [["a"]]})
        )),
        "credentials[0].claims[1].id"
    );
}

#[test]
fn credential_sets_of_section_6_2() {
    let at = |sets: Value| {
        refused(json!({"credentials": [credential("a", json!({}))], "credential_sets": sets}))
    };
    assert_eq!(at(json!([])), "credential_sets");
    assert_eq!(at(json!({})), "credential_sets");
    assert_eq!(at(json!([[]])), "credential_sets[0]");
    assert_eq!(at(json!([{}])), "credential_sets[0].options");
    assert_eq!(at(json!([{"options": []}])), "credential_sets[0].options");
    assert_eq!(
        at(json!([{"options": [[]]}])),
        "credential_sets[0].options[0]"
    );
    assert_eq!(
        at(json!([{"options": ["a"]}])),
        "credential_sets[0].options[0]"
    );
    assert_eq!(
        at(json!([{"options": [["a", "b"]]}])),
        "credential_sets[0].options[0][1]"
    );
    assert_eq!(
        at(json!([{"options": [[1]]}])),
        "credential_sets[0].options[0][0]"
    );
}

#[test]
fn agentid_predicate_rules() {
    let at = |claim: Value| refused(one(json!({ "claims": [claim] })));
    assert_eq!(
        at(
            json!({"path": ["birthdate"], "values": ["x"], "agentid_predicate": "birthdate <= 2008-11-22"})
        ),
        "credentials[0].claims[0].agentid_predicate"
    );
    assert_eq!(
        at(json!({"path": ["birthdate"], "agentid_predicate": 18})),
        "credentials[0].claims[0].agentid_predicate"
    );
    assert_eq!(
        at(json!({"path": ["birthdate"], "agentid_predicate": "age >= 18"})),
        "credentials[0].claims[0].agentid_predicate"
    );
    assert_eq!(
        at(json!({"path": ["birth"], "agentid_predicate": "birthdate <= 2008-11-22"})),
        "credentials[0].claims[0].agentid_predicate"
    );
    let query = DcqlQuery::from_value(&one(json!({"claims": [
        {"path": ["birthdate"], "agentid_predicate": "birthdate <= 2008-11-22"}
    ]})))
    .unwrap();
    let predicate = query.credentials()[0].claims().unwrap()[0]
        .predicate()
        .unwrap();
    assert_eq!(
        predicate.predicate().max,
        crate::predicate::date_to_days("2008-11-22")
    );
}
