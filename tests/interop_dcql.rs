//! Differential test of `agentid_verifier::dcql` against the npm package `dcql` 3.0.0
//! (OpenWallet Foundation, `DcqlQuery.parse` + `validate` + `query`), the reference
//! implementation of OpenID4VP 1.0 DCQL.
//!
//! The corpus `tests/dcql/corpus.json` holds queries (valid and invalid) with
//! credentials in a neutral shape; `tests/peers/dcql_eval.mjs` runs them through the
//! package, loaded from `$AGENTID_NPM_PEERS/node_modules` (a directory whose
//! `package.json` pins `dcql` 3.0.0). Both sides must agree on: whether the query is
//! valid, `can_be_satisfied`, the matching credentials of each credential query, and
//! which credential sets are met. Without `AGENTID_NPM_PEERS` the comparison prints
//! `skipped: AGENTID_NPM_PEERS unset` and passes.
//!
//! Cases marked `known_difference` are those where the package departs from the
//! specification and agentid follows it (the reason cites the section): they must
//! still differ, and agentid's answer must be their `agentid_expected`, which is
//! checked without the package too.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use agentid_verifier::dcql::{evaluate, Candidate, DcqlQuery};
use serde_json::Value;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dcql/corpus.json");
const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/dcql_eval.mjs");
/// The version the corpus was checked against.
const DCQL_VERSION: &str = "3.0.0";

/// What one side says about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    valid: bool,
    can_be_satisfied: bool,
    matches: BTreeMap<String, Vec<usize>>,
    credential_sets: Vec<bool>,
}

impl Answer {
    fn invalid() -> Self {
        Answer {
            valid: false,
            can_be_satisfied: false,
            matches: BTreeMap::new(),
            credential_sets: Vec::new(),
        }
    }

    /// Equal as far as the comparison goes: two refusals agree whatever the reason.
    fn agrees_with(&self, other: &Answer) -> bool {
        if !self.valid || !other.valid {
            return self.valid == other.valid;
        }
        self == other
    }
}

fn corpus() -> Value {
    serde_json::from_str(&std::fs::read_to_string(CORPUS).unwrap()).unwrap()
}

fn cases(corpus: &Value) -> &[Value] {
    corpus["cases"].as_array().unwrap()
}

fn name(case: &Value) -> &str {
    case["name"].as_str().unwrap()
}

/// A neutral credential as agentid's [`Candidate`] (defaults as the corpus says).
fn candidate(neutral: &Value) -> Candidate {
    let format = neutral["format"].as_str().unwrap_or("dc+sd-jwt");
    let vct = neutral["vct"].as_str().unwrap();
    let claims = neutral
        .get("claims")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let mut candidate = Candidate::new(format, vct, claims)
        .with_holder_binding(neutral["holder_bound"].as_bool().unwrap_or(true));
    if let Some(committed) = neutral["committed"].as_array() {
        candidate = candidate.with_committed(committed.iter().map(|claim| claim.as_str().unwrap()));
    }
    if let Some(authority) = neutral.get("authority") {
        let kind = authority["type"].as_str().unwrap();
        for value in authority["values"].as_array().unwrap() {
            candidate = candidate.with_authority(kind, value.as_str().unwrap());
        }
    }
    candidate
}

fn agentid(case: &Value) -> Answer {
    let Ok(query) = DcqlQuery::from_value(&case["query"]) else {
        return Answer::invalid();
    };
    let candidates: Vec<Candidate> = case["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(candidate)
        .collect();
    let result = evaluate(&query, &candidates);
    Answer {
        valid: true,
        can_be_satisfied: result.can_be_satisfied,
        matches: result.matches,
        credential_sets: result.credential_sets,
    }
}

/// An answer as JSON (dcql_eval.mjs's output, a case's `agentid_expected`).
fn read_answer(value: &Value) -> Answer {
    if !value["valid"].as_bool().unwrap() {
        return Answer::invalid();
    }
    Answer {
        valid: true,
        can_be_satisfied: value["can_be_satisfied"].as_bool().unwrap(),
        matches: serde_json::from_value(value["matches"].clone()).unwrap(),
        credential_sets: value
            .get("credential_sets")
            .map(|sets| serde_json::from_value(sets.clone()).unwrap())
            .unwrap_or_default(),
    }
}

#[test]
fn the_corpus_covers_valid_and_invalid_queries() {
    let corpus = corpus();
    let cases = cases(&corpus);
    let mut names: Vec<&str> = cases.iter().map(name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let refused = cases
        .iter()
        .filter(|case| case.get("known_difference").is_none() && !agentid(case).valid)
        .count();
    assert!(refused >= 15, "{refused} invalid queries");
    for case in cases {
        let answer = agentid(case);
        if name(case).starts_with("invalid_") {
            assert!(!answer.valid, "{} is accepted", name(case));
        }
    }
}

#[test]
fn known_differences_follow_the_specification() {
    let corpus = corpus();
    let known: Vec<&Value> = cases(&corpus)
        .iter()
        .filter(|case| case.get("known_difference").is_some())
        .collect();
    for case in &known {
        let expected = read_answer(&case["agentid_expected"]);
        assert_eq!(agentid(case), expected, "{}", name(case));
    }
    println!(
        "{} known differences answered as the specification says",
        known.len()
    );
}

/// dcql's answers, one per case in order, or `None` when the peer is not configured.
fn dcql_answers(corpus_text: &str) -> Option<(String, Vec<Value>)> {
    let peers = match std::env::var("AGENTID_NPM_PEERS") {
        Ok(peers) if !peers.is_empty() => peers,
        _ => {
            println!("skipped: AGENTID_NPM_PEERS unset");
            return None;
        }
    };
    let mut child = Command::new("node")
        .arg(PEER)
        .env("AGENTID_NPM_PEERS", &peers)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run node: {error}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(corpus_text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "dcql_eval.mjs failed with {peers}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    let version = answer["version"].as_str().unwrap().to_owned();
    Some((version, answer["results"].as_array().unwrap().clone()))
}

#[test]
fn agentid_and_dcql_agree() {
    let corpus_text = std::fs::read_to_string(CORPUS).unwrap();
    let Some((version, results)) = dcql_answers(&corpus_text) else {
        return;
    };
    assert_eq!(
        version, DCQL_VERSION,
        "the corpus was checked against dcql@{DCQL_VERSION}"
    );
    let corpus: Value = serde_json::from_str(&corpus_text).unwrap();
    let cases = cases(&corpus);
    assert_eq!(results.len(), cases.len());

    let mut agree = 0;
    let mut disagreements = Vec::new();
    let mut known = Vec::new();
    for (case, result) in cases.iter().zip(&results) {
        assert_eq!(result["name"].as_str(), Some(name(case)));
        let ours = agentid(case);
        let theirs = read_answer(result);
        let same = ours.agrees_with(&theirs);
        match case.get("known_difference") {
            Some(reason) => {
                assert!(
                    !same,
                    "{}: marked as a known difference, but dcql now agrees ({reason})",
                    name(case)
                );
                known.push(name(case));
            }
            None if same => agree += 1,
            None => disagreements.push(format!(
                "{}: agentid {ours:?}, dcql {theirs:?} {}",
                name(case),
                result["error"].as_str().unwrap_or("")
            )),
        }
    }
    println!(
        "dcql differential: {} cases, agentid and dcql@{version} agree on {agree}",
        cases.len()
    );
    println!(
        "known differences ({}, agentid follows the specification): {}",
        known.len(),
        known.join(", ")
    );
    assert!(
        disagreements.is_empty(),
        "agentid and dcql@{version} disagree:\n{}",
        disagreements.join("\n")
    );
}
