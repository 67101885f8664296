//! Property: what [`select`] chooses, presented as a holder presents it (every member
//! and element selectively disclosable, so everything revealed is a disclosure and
//! arrays shrink to the revealed elements), passes [`check_response`].

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{credential, VCT};
use crate::dcql::{check_response, select, Candidate, DcqlQuery, PresentedCredential};
use crate::path::{ClaimPath, PathSegment};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        (-2i64..3).prop_map(Value::from),
        prop::sample::select(vec!["a", "b", "DE"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), inner, 0..3)
                .prop_map(|map| Value::Object(
                    map.into_iter()
                        .map(|(key, value)| (key.to_owned(), value))
                        .collect()
                )),
        ]
    })
}

fn claims_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(vec!["a", "b", "c"]),
        json_value(),
        0..4,
    )
    .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// Every path into `value` with its value (the root excluded).
fn paths(value: &Value, here: &mut Vec<Value>, out: &mut Vec<(Vec<Value>, Value)>) {
    let children: Vec<(Value, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (json!(k), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (json!(i), v))
            .collect(),
        _ => Vec::new(),
    };
    for (segment, child) in children {
        here.push(segment);
        out.push((here.clone(), child.clone()));
        paths(child, here, out);
        here.pop();
    }
}

/// Claims with claims queries drawn from their own paths: indices sometimes turned
/// into null, values sometimes the claim's own (when it is a string, an integer or a
/// boolean), sometimes another.
fn claims_and_queries() -> impl Strategy<Value = (Value, Vec<Value>)> {
    claims_object().prop_flat_map(|claims| {
        let mut all = Vec::new();
        paths(&claims, &mut Vec::new(), &mut all);
        let all = if all.is_empty() {
            vec![(vec![json!("a")], json!(null))]
        } else {
            all
        };
        let picks = prop::collection::vec((0..all.len(), any::<bool>(), 0u8..3), 1..4);
        (Just(claims), Just(all), picks).prop_map(|(claims, all, picks)| {
            let queries = picks
                .into_iter()
                .filter_map(|(pick, nulls, values)| {
                    let (path, value) = all.get(pick)?;
                    let path: Vec<Value> = path
                        .iter()
                        .map(|segment| {
                            if nulls && segment.is_u64() {
                                json!(null)
                            } else {
                                segment.clone()
                            }
                        })
                        .collect();
                    let own = matches!(value, Value::String(_) | Value::Bool(_)) || value.is_i64();
                    Some(match values {
                        1 if own => json!({"path": path, "values": [value]}),
                        2 => json!({"path": path, "values": ["DE", 0]}),
                        _ => json!({"path": path}),
                    })
                })
                .collect();
            (claims, queries)
        })
    })
}

/// The holder's view of `value` at issued path `here` (revealed path `shown`),
/// keeping the claims at `keep`, their ancestors and everything inside them.
fn reveal(
    value: &Value,
    here: &[PathSegment],
    shown: &[PathSegment],
    keep: &[ClaimPath],
    disclosed: &mut Vec<ClaimPath>,
) -> Option<Value> {
    let issued = ClaimPath::from_segments(here.to_vec());
    let inside = keep.iter().any(|path| path.is_prefix_of(&issued));
    let above = keep.iter().any(|path| issued.is_prefix_of(path));
    if !inside && !above {
        return None;
    }
    if !here.is_empty() {
        disclosed.push(ClaimPath::from_segments(shown.to_vec()));
    }
    let child = |segment: PathSegment, shown_segment: PathSegment| {
        let mut issued = here.to_vec();
        issued.push(segment);
        let mut revealed = shown.to_vec();
        revealed.push(shown_segment);
        (issued, revealed)
    };
    Some(match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, member) in map {
                let (issued, revealed) =
                    child(PathSegment::Key(key.clone()), PathSegment::Key(key.clone()));
                if let Some(member) = reveal(member, &issued, &revealed, keep, disclosed) {
                    out.insert(key.clone(), member);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let (issued, revealed) =
                    child(PathSegment::Index(index), PathSegment::Index(out.len()));
                if let Some(item) = reveal(item, &issued, &revealed, keep, disclosed) {
                    out.push(item);
                }
            }
            Value::Array(out)
        }
        scalar => scalar.clone(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_select_chooses_passes_check_response(
        (claims, queries) in claims_and_queries(),
    ) {
        // Distinct paths only: §6.1 forbids the same claim twice.
        let mut seen = Vec::new();
        let queries: Vec<Value> = queries
            .into_iter()
            .filter(|query| {
                let fresh = !seen.contains(&query["path"]);
                seen.push(query["path"].clone());
                fresh
            })
            .collect();
        let query = DcqlQuery::from_value(&json!({
            "credentials": [credential("pid", json!({ "claims": queries }))]
        }))
        .unwrap();
        let candidates = [Candidate::sd_jwt_vc(VCT, claims.clone()).with_holder_binding(true)];
        let Ok(selection) = select(&query, &candidates) else {
            return Ok(());
        };
        let chosen = &selection.credentials["pid"][0];
        let mut disclosed = Vec::new();
        let shown = reveal(&claims, &[], &[], &chosen.disclose, &mut disclosed)
            .and_then(|view| view.as_object().cloned())
            .unwrap_or_default();
        let presented = PresentedCredential::new("dc+sd-jwt", Some(VCT.into()), shown)
            .with_holder_binding(true)
            .with_disclosed(disclosed);
        let response = BTreeMap::from([("pid".to_owned(), vec![presented])]);
        prop_assert_eq!(check_response(&query, &response), Ok(()));
    }
}
