//! Strict decoding of the text encodings SD-JWT is built from: base64url without
//! padding, and JSON with a nesting limit.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::error::VerifyError;

/// Decodes base64url without padding. Non-canonical trailing bits are refused, so
/// every byte string has exactly one accepted encoding.
pub(crate) fn b64url_decode(input: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(input)
        .map_err(|_| VerifyError::malformed(format!("{what} is not base64url without padding")))
}

/// Encodes bytes as base64url without padding.
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Returns the deepest nesting of arrays and objects in `json`, scanning bytes only.
///
/// Run before `serde_json` so a hostile input cannot make the parser recurse deeply.
pub(crate) fn json_depth_exceeds(json: &[u8], max_depth: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses JSON after checking its nesting depth.
pub(crate) fn parse_json(bytes: &[u8], max_depth: usize, what: &str) -> Result<Value, VerifyError> {
    if json_depth_exceeds(bytes, max_depth) {
        return Err(VerifyError::LimitExceeded(format!(
            "{what} nests deeper than {max_depth}"
        )));
    }
    serde_json::from_slice(bytes)
        .map_err(|_| VerifyError::malformed(format!("{what} is not valid JSON")))
}

/// Decodes a base64url segment and parses it as a JSON object.
pub(crate) fn decode_json_object(
    segment: &str,
    max_depth: usize,
    what: &str,
) -> Result<serde_json::Map<String, Value>, VerifyError> {
    let bytes = b64url_decode(segment, what)?;
    match parse_json(&bytes, max_depth, what)? {
        Value::Object(map) => Ok(map),
        _ => Err(VerifyError::malformed(format!(
            "{what} is not a JSON object"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_nesting_outside_strings_only() {
        assert!(!json_depth_exceeds(br#"{"a":"[[[[[[["}"#, 1));
        assert!(json_depth_exceeds(br#"{"a":[1]}"#, 1));
        assert!(!json_depth_exceeds(br#"{"a":[1]}"#, 2));
        assert!(!json_depth_exceeds(br#"{"a":"\"[[["}"#, 1));
    }

    #[test]
    fn json_at_the_depth_limit_parses_and_one_deeper_is_refused() {
        let at_limit = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(parse_json(at_limit.as_bytes(), 32, "x").is_ok());
        let over = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(matches!(
            parse_json(over.as_bytes(), 32, "x"),
            Err(VerifyError::LimitExceeded(_))
        ));
    }

    #[test]
    fn base64_with_padding_or_loose_trailing_bits_is_refused() {
        assert!(b64url_decode("YQ", "x").is_ok());
        assert!(b64url_decode("YQ==", "x").is_err());
        assert!(b64url_decode("YR", "x").is_err());
        assert!(b64url_decode("Y+", "x").is_err());
    }
}
