//! The DCQL examples of OpenID4VP 1.0 (§6.1.1, §7.3, §7.4, Appendix B.3.2, Appendix
//! D), from `vectors/openid4vp-dcql/` (its README names each file's source), read by
//! `agentid_verifier::dcql`: every query is valid and survives `to_value`, every
//! pointer selects what the text says, and the queries match the credentials they
//! describe.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use agentid_verifier::dcql::{evaluate, select, Candidate, DcqlQuery, SD_JWT_VC_FORMAT};
use serde_json::{json, Value};

const PID: &str = "https://credentials.example.com/identity_credential";

fn vector(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "vectors",
        "openid4vp-dcql",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn query(name: &str) -> DcqlQuery {
    let query = DcqlQuery::parse(&vector(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
    let again = DcqlQuery::from_value(&query.to_value()).unwrap();
    assert_eq!(again, query, "{name} does not survive to_value");
    query
}

fn held(vct: &str, claims: Value) -> Candidate {
    Candidate::sd_jwt_vc(vct, claims).with_holder_binding(true)
}

fn disclosed(selection: &agentid_verifier::dcql::Selection, id: &str) -> Vec<String> {
    selection.credentials[id][0]
        .disclose
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn section_7_3_claims_path_pointer_example() {
    let vector: Value = serde_json::from_slice(&vector("claims_path_pointer.json")).unwrap();
    let query = json!({"credentials": [{
        "id": "arthur", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]},
        "claims": vector["pointers"].as_array().unwrap().iter()
            .map(|pointer| json!({"path": pointer["path"]}))
            .collect::<Vec<_>>()
    }]});
    let query = DcqlQuery::from_value(&query).unwrap();
    let claims = query.credentials()[0].claims().unwrap();
    for (claim, expected) in claims.iter().zip(vector["pointers"].as_array().unwrap()) {
        let selected: Vec<Value> = claim
            .path()
            .select(&vector["credential"])
            .unwrap()
            .into_iter()
            .map(|found| json!([found.path.to_string(), found.value]))
            .collect();
        assert_eq!(
            Value::Array(selected),
            expected["selects"],
            "{}",
            claim.path()
        );
    }
    let candidates = [held(PID, vector["credential"].clone())];
    assert!(evaluate(&query, &candidates).can_be_satisfied);
}

#[test]
fn section_7_4_simple_against_the_appendix_b_3_2_credential() {
    let query = query("simple.json");
    let credential: Value = serde_json::from_slice(&vector("sd_jwt_vc_unsecured.json")).unwrap();
    let vct = credential["vct"].as_str().unwrap().to_owned();
    let vct = vct.as_str();
    // The example credential has no address: the query cannot be met.
    assert!(!evaluate(&query, &[held(vct, credential.clone())]).can_be_satisfied);
    let mut with_address = credential;
    with_address["address"] = json!({"street_address": "42 Market Street", "locality": "X"});
    let candidates = [held(vct, with_address)];
    assert_eq!(evaluate(&query, &candidates).matches["my_credential"], [0]);
    let selection = select(&query, &candidates).unwrap();
    assert_eq!(
        disclosed(&selection, "my_credential"),
        ["family_name", "given_name", "address.street_address"]
    );
}

#[test]
fn section_6_1_1_trusted_authorities() {
    let vector: Value = serde_json::from_slice(&vector("trusted_authorities.json")).unwrap();
    for entry in vector["entries"].as_array().unwrap() {
        let query = DcqlQuery::from_value(&json!({"credentials": [{
            "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]},
            "trusted_authorities": [entry]
        }]}))
        .unwrap();
        let kind = entry["type"].as_str().unwrap();
        let value = entry["values"][0].as_str().unwrap();
        let certified = held(PID, json!({})).with_authority(kind, value);
        let other = held(PID, json!({})).with_authority(kind, "b3RoZXI");
        assert_eq!(
            evaluate(&query, &[other, certified]).matches["pid"],
            [1],
            "{kind}"
        );
    }
}

#[test]
fn appendix_d_simple_mdoc() {
    let query = query("simple_mdoc.json");
    let mdl = &query.credentials()[0];
    assert_eq!(mdl.format(), "mso_mdoc");
    assert_eq!(mdl.meta()["doctype_value"], json!("org.iso.7367.1.mVRC"));
    assert_eq!(mdl.claims().unwrap().len(), 2);
    // agentid holds SD-JWT VCs only: an mdoc query matches none of them.
    let candidates = [held(
        PID,
        json!({"org.iso.7367.1": {"vehicle_holder": "A"}}),
    )];
    assert!(!evaluate(&query, &candidates).can_be_satisfied);
}

#[test]
fn appendix_d_multi_credentials() {
    let query = query("multi_credentials.json");
    let formats: Vec<&str> = query.credentials().iter().map(|c| c.format()).collect();
    assert_eq!(formats, [SD_JWT_VC_FORMAT, "mso_mdoc"]);
    let pid = held(
        PID,
        json!({"given_name": "J", "family_name": "D", "address": {"street_address": "S"}}),
    );
    let result = evaluate(&query, &[pid]);
    assert_eq!(result.matches["pid"], [0]);
    // Both are required (no credential_sets), and the mdoc cannot be delivered.
    assert!(!result.can_be_satisfied);
}

#[test]
fn appendix_d_credentials_alternatives() {
    let query = query("credentials_alternatives.json");
    let sets = query.credential_sets().unwrap();
    assert!(sets[0].required());
    assert!(!sets[1].required());
    let person = json!({"given_name": "J", "family_name": "D"});
    let residence = json!({"postal_code": "1", "locality": "L", "region": "R"});
    let candidates = [
        held(
            "https://credentials.example.com/reduced_identity_credential",
            person,
        ),
        held("https://cred.example/residence_credential", residence),
        held(
            "https://company.example/company_rewards",
            json!({"rewards_number": 7}),
        ),
    ];
    let result = evaluate(&query, &candidates);
    assert!(result.can_be_satisfied);
    assert_eq!(result.credential_sets, [true, true]);
    let selection = select(&query, &candidates).unwrap();
    assert_eq!(selection.credential_sets, [Some(2), Some(0)]);
    let ids: Vec<&String> = selection.credentials.keys().collect();
    assert_eq!(
        ids,
        ["nice_to_have", "pid_reduced_cred_1", "pid_reduced_cred_2"]
    );
    assert_eq!(
        disclosed(&selection, "pid_reduced_cred_2"),
        ["postal_code", "locality", "region"]
    );
}

#[test]
fn appendix_d_complex_mdoc() {
    let query = query("complex_mdoc.json");
    // The same claim ids in different credential queries are fine (§6.3: unique
    // within one claims array).
    assert_eq!(query.credentials().len(), 4);
    assert_eq!(query.credential_sets().unwrap().len(), 2);
    assert!(!evaluate(&query, &[held(PID, json!({}))]).can_be_satisfied);
}

#[test]
fn appendix_d_claims_alternatives() {
    let query = query("claims_alternatives.json");
    let full = json!({"family_name": "D", "postal_code": "1", "locality": "L", "region": "R",
        "date_of_birth": "1990-01-01"});
    let postal_only =
        json!({"family_name": "D", "postal_code": "1", "date_of_birth": "1990-01-01"});
    let selection = select(&query, &[held(PID, full)]).unwrap();
    assert_eq!(selection.credentials["pid"][0].claim_set, Some(0));
    assert_eq!(
        disclosed(&selection, "pid"),
        ["family_name", "locality", "region", "date_of_birth"]
    );
    let selection = select(&query, &[held(PID, postal_only)]).unwrap();
    assert_eq!(selection.credentials["pid"][0].claim_set, Some(1));
    assert_eq!(
        disclosed(&selection, "pid"),
        ["family_name", "postal_code", "date_of_birth"]
    );
    let neither = json!({"family_name": "D", "date_of_birth": "1990-01-01"});
    assert!(select(&query, &[held(PID, neither)]).is_err());
}

#[test]
fn appendix_d_value_matching_simple() {
    let query = query("value_matching_simple.json");
    let person = |family: &str, postal: Value| {
        held(
            PID,
            json!({"family_name": family, "given_name": "J", "address": {"street_address": "S"},
                "postal_code": postal}),
        )
    };
    let candidates = [
        person("Doe", json!("90210")),
        person("Doe", json!("90211")),
        person("Roe", json!("90210")),
        person("Doe", json!("90212")),
        person("Doe", json!(90210)),
    ];
    assert_eq!(
        evaluate(&query, &candidates).matches["my_credential"],
        [0, 1]
    );
}
