//! Unit tests of the DCQL module, by role: reading queries (every refusal rule),
//! matching and selection, checking responses.

mod evaluate;
mod parse;
mod response;
mod roundtrip;

use serde_json::{json, Value};

use super::DcqlQuery;

pub(super) const VCT: &str = "https://credentials.example.com/identity_credential";

/// A credential query for `dc+sd-jwt` with these extra members.
pub(super) fn credential(id: &str, extra: Value) -> Value {
    let mut query = json!({"id": id, "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}});
    if let (Some(query), Value::Object(extra)) = (query.as_object_mut(), extra) {
        query.extend(extra);
    }
    query
}

/// A query of these credential queries.
pub(super) fn query_of(credentials: Vec<Value>) -> DcqlQuery {
    DcqlQuery::from_value(&json!({ "credentials": credentials })).unwrap()
}
