//! Compact JWS signing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::keys::SigningKey;

/// Signs `payload` under `header` (which must already hold `alg`) and returns the
/// compact serialization.
pub(crate) fn sign_compact(
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
    key: &SigningKey,
) -> String {
    sign_under_encoded_header(&encode_header(header), payload, key)
}

/// The base64url of `header`'s JSON, the first part of a compact JWS: an issuer
/// signing many credentials under one header encodes it once.
pub(crate) fn encode_header(header: &Map<String, Value>) -> String {
    URL_SAFE_NO_PAD.encode(compact_json(header))
}

/// [`sign_compact`] under a header already encoded by [`encode_header`].
pub(crate) fn sign_under_encoded_header(
    encoded_header: &str,
    payload: &Map<String, Value>,
    key: &SigningKey,
) -> String {
    let payload = compact_json(payload);
    // base64url is 4 characters per 3 bytes; room for the two dots and a 64-byte
    // signature (86 characters) too, so the token is built in one allocation.
    let mut token = String::with_capacity(encoded_header.len() + payload.len() * 4 / 3 + 96);
    token.push_str(encoded_header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    token
}

/// The compact JSON text of `value`, the same bytes as `Value`'s `Display`, written
/// from a borrow (no copy of the claims into a `Value` first). Only for JSON data
/// (`Value`, `Map<String, Value>`, strings and sequences of them), which cannot fail
/// to serialize.
pub(crate) fn compact_json(value: &impl Serialize) -> Vec<u8> {
    let mut json = Vec::with_capacity(256);
    serde_json::to_writer(&mut json, value).unwrap_or_else(|_| {
        unreachable!("JSON values with string keys always serialize into a Vec")
    });
    json
}

/// A JWS header with `alg` and `typ`.
pub(crate) fn header(key: &SigningKey, typ: &str) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("alg".into(), key.algorithm().as_str().into());
    header.insert("typ".into(), typ.into());
    header
}
