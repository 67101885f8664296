//! RFC 8785 (JSON Canonicalization Scheme): actions are compared and approved in
//! canonical form, so the canonicalizer must produce exactly the RFC's output.
//!
//! - The RFC's own test data (cyberphone/json-canonicalization `testdata/`, in
//!   `$AGENTID_EXTERNAL_VECTORS/jcs/{input,output}`): every input canonicalizes to
//!   its output, byte for byte. Without the variable the test prints a note and passes.
//! - RFC 8785 §3.2.2.3 number examples, transcribed below.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use agentid_verifier::authorize::{canonical_json, Action};
use serde_json::{json, Value};

fn external_vectors() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("AGENTID_EXTERNAL_VECTORS")?);
    if dir.as_os_str().is_empty() {
        return None;
    }
    Some(if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    })
}

#[test]
fn rfc8785_test_data_canonicalizes_byte_for_byte() {
    let Some(dir) = external_vectors() else {
        eprintln!("skipped: AGENTID_EXTERNAL_VECTORS is not set (RFC 8785 test data)");
        return;
    };
    let inputs = dir.join("jcs/input");
    let mut names: Vec<_> = std::fs::read_dir(&inputs)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 6, "expected the RFC's six test files");
    for name in names {
        let input: Value =
            serde_json::from_slice(&std::fs::read(inputs.join(&name)).unwrap()).unwrap();
        let expected = std::fs::read(dir.join("jcs/output").join(&name)).unwrap();
        let expected = String::from_utf8(expected).unwrap();
        assert_eq!(
            canonical_json(&input).unwrap(),
            expected.trim_end_matches('\n'),
            "{name:?}"
        );
    }
}

#[test]
fn rfc8785_section_3_2_2_3_numbers() {
    // RFC 8785 §3.2.2.3, "Serialization of Numbers" (a selection of Appendix B).
    for (number, expected) in [
        (json!(0.0), "0"),
        (json!(-0.0), "0"),
        (json!(1e21), "1e+21"),
        (json!(1e-7), "1e-7"),
        (json!(333333333.3333333), "333333333.3333333"),
        (json!(4.5), "4.5"),
        (json!(50.0), "50"),
        (json!(9007199254740992.0), "9007199254740992"),
    ] {
        assert_eq!(canonical_json(&number).unwrap(), expected, "{number}");
    }
}

#[test]
fn an_action_is_the_same_whatever_its_json_spelling() {
    let spellings = [
        r#"{"scope":"refunds:write","resource":"https://shop.example/orders/1","amount":50,"currency":"EUR"}"#,
        r#"{ "currency": "EUR", "amount": 50.0, "resource": "https://shop.example/orders/1", "scope": "refunds:write" }"#,
        r#"{"amount":5e1,"scope":"refunds:write","currency":"EUR","resource":"https://shop.example/orders/1"}"#,
        r#"{"amount":50,"scope":"refunds\u003awrite","currency":"EUR","resource":"https://shop.example/orders/1"}"#,
    ];
    let digests: Vec<String> = spellings
        .iter()
        .map(|text| Action::parse(text).unwrap().digest())
        .collect();
    assert!(
        digests.windows(2).all(|pair| pair[0] == pair[1]),
        "{digests:?}"
    );
    assert_eq!(
        Action::parse(spellings[0]).unwrap().canonical_json(),
        r#"{"amount":50,"currency":"EUR","resource":"https://shop.example/orders/1","scope":"refunds:write"}"#
    );
}
