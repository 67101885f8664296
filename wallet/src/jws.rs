//! Compact JWS signing.

use agentid_verifier::b64url_encode;
use serde_json::{Map, Value};

use crate::keys::SigningKey;

/// Signs `payload` under `header` (which must already hold `alg`) and returns the
/// compact serialization.
pub(crate) fn sign_compact(
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
    key: &SigningKey,
) -> String {
    let mut token = b64url_encode(Value::Object(header.clone()).to_string().as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(
        Value::Object(payload.clone()).to_string().as_bytes(),
    ));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(&signature));
    token
}

/// A JWS header with `alg` and `typ`.
pub(crate) fn header(key: &SigningKey, typ: &str) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("alg".into(), key.algorithm().as_str().into());
    header.insert("typ".into(), typ.into());
    header
}
