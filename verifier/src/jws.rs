//! Compact JWS (RFC 7515 §7.1) parsing. Nothing here trusts the token: the header
//! only ever names an algorithm from the allow-list and a key id to check.

use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::encoding::{b64url_decode, decode_json_object};
use crate::error::VerifyError;

/// A parsed, unverified compact JWS.
#[derive(Debug, Clone)]
pub(crate) struct CompactJws<'a> {
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the bytes that were signed.
    pub(crate) signing_input: &'a str,
    pub(crate) alg: Algorithm,
    pub(crate) typ: Option<String>,
    pub(crate) kid: Option<String>,
    /// The `x5c` header (RFC 7515 §4.1.6), unparsed.
    pub(crate) x5c: Option<Value>,
    /// The `jwk` header (RFC 7515 §4.1.3), unparsed: only DPoP proofs carry their key.
    pub(crate) jwk: Option<Value>,
    pub(crate) payload: Map<String, Value>,
    pub(crate) signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Parses `header.payload.signature`. `what` names the token in errors.
    pub(crate) fn parse(token: &'a str, max_depth: usize, what: &str) -> Result<Self, VerifyError> {
        let mut parts = token.splitn(4, '.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::malformed(format!(
                "{what} is not a compact JWS"
            )));
        };
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        let header = decode_json_object(header_b64, max_depth, &format!("{what} header"))?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => Algorithm::from_header(alg)?,
            _ => return Err(VerifyError::malformed(format!("{what} header has no alg"))),
        };
        if header.contains_key("crit") {
            // RFC 7515 §4.1.11: no extension is understood here, so none may be critical.
            return Err(VerifyError::malformed(format!(
                "{what} header lists critical extensions this verifier does not support"
            )));
        }
        let typ = optional_string(&header, "typ", what)?;
        let kid = optional_string(&header, "kid", what)?;
        let x5c = header.get("x5c").cloned();
        let jwk = header.get("jwk").cloned();
        let payload = decode_json_object(payload_b64, max_depth, &format!("{what} payload"))?;
        let signature = b64url_decode(signature_b64, &format!("{what} signature"))?;
        Ok(CompactJws {
            signing_input,
            alg,
            typ,
            kid,
            x5c,
            jwk,
            payload,
            signature,
        })
    }
}

fn optional_string(
    header: &Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<Option<String>, VerifyError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(VerifyError::malformed(format!(
            "{what} header {name} must be a string (RFC 7515 §4.1)"
        ))),
    }
}

/// Reads an optional NumericDate claim. agentid accepts whole, non-negative seconds only.
pub(crate) fn numeric_date(
    payload: &Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<Option<u64>, VerifyError> {
    match payload.get(name) {
        None => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            VerifyError::malformed(format!("{what} {name} must be a whole number of seconds"))
        }),
    }
}

/// Checks the optional `exp` and `nbf` of a token with validity rules of its own (a
/// KB-JWT, a delegation hop). RFC 7519 §4.1.4–4.1.5: a JWT must not be accepted after
/// its `exp` or before its `nbf`, whoever signed it; like every NumericDate here, a
/// value that is not whole non-negative seconds is malformed.
pub(crate) fn check_token_window(
    payload: &Map<String, Value>,
    what: &str,
    now: u64,
    skew: u64,
) -> Result<(), VerifyError> {
    let expires_at = numeric_date(payload, "exp", what)?;
    let not_before = numeric_date(payload, "nbf", what)?;
    check_window(expires_at, &[not_before], now, skew)
}

/// The validity rule every token shares: not after `expires_at`, not before any of
/// `valid_from`, each with `skew` seconds of tolerance.
pub(crate) fn check_window(
    expires_at: Option<u64>,
    valid_from: &[Option<u64>],
    now: u64,
    skew: u64,
) -> Result<(), VerifyError> {
    if let Some(exp) = expires_at.filter(|exp| now > exp.saturating_add(skew)) {
        return Err(VerifyError::Expired { expired_at: exp });
    }
    match valid_from
        .iter()
        .flatten()
        .find(|from| **from > now.saturating_add(skew))
    {
        Some(&from) => Err(VerifyError::NotYetValid { valid_from: from }),
        None => Ok(()),
    }
}

/// Reads an optional string claim.
pub(crate) fn string_claim<'p>(
    payload: &'p Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<Option<&'p str>, VerifyError> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(VerifyError::malformed(format!(
            "{what} {name} must be a string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_token_past_its_exp_or_before_its_nbf_is_refused() {
        let now = 1_800_000_000;
        let check = |value: Value| check_token_window(&payload(value), "KB-JWT", now, 60);
        assert_eq!(check(json!({})), Ok(()));
        assert_eq!(check(json!({"exp": now + 600, "nbf": now - 600})), Ok(()));
        assert_eq!(
            check(json!({"exp": now - 60, "nbf": now + 60})),
            Ok(()),
            "within the skew"
        );
        assert_eq!(
            check(json!({"exp": now - 3600})),
            Err(VerifyError::Expired {
                expired_at: now - 3600
            })
        );
        assert_eq!(
            check(json!({"nbf": now + 3600})),
            Err(VerifyError::NotYetValid {
                valid_from: now + 3600
            })
        );
        for malformed in [json!(1.8e9), json!("1800000600"), json!(-1), json!(null)] {
            assert!(
                matches!(
                    check(json!({"exp": malformed})),
                    Err(VerifyError::Malformed(_))
                ),
                "exp {malformed}"
            );
            assert!(
                matches!(
                    check(json!({"nbf": malformed})),
                    Err(VerifyError::Malformed(_))
                ),
                "nbf {malformed}"
            );
        }
    }
}
