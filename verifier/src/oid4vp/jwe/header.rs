//! The protected header: the members decryption acts on, and P-256 JWKs.

use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde_json::{Map, Value};

use super::{Enc, JweError, ALG_ECDH_ES};
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::truncate;

/// The public JWK of a P-256 key: `{kty, crv, x, y}`.
pub fn public_jwk(key: &p256::PublicKey) -> Value {
    let point = key.to_encoded_point(false);
    let mut jwk = Map::new();
    jwk.insert("kty".into(), "EC".into());
    jwk.insert("crv".into(), "P-256".into());
    if let (Some(x), Some(y)) = (point.x(), point.y()) {
        jwk.insert("x".into(), b64url_encode(x).into());
        jwk.insert("y".into(), b64url_encode(y).into());
    }
    Value::Object(jwk)
}

/// Reads a public P-256 JWK (`kty: EC`, `crv: P-256`, 32-byte `x` and `y` on the
/// curve); a JWK with private material (`d`) is refused.
pub(crate) fn p256_from_jwk(jwk: &Value) -> Result<p256::PublicKey, String> {
    let obj = jwk.as_object().ok_or("not a JSON object")?;
    if obj.contains_key("d") {
        return Err("it carries private key material (d)".into());
    }
    let member = |name: &str| obj.get(name).and_then(Value::as_str);
    if member("kty") != Some("EC") || member("crv") != Some("P-256") {
        return Err("kty must be EC and crv P-256".into());
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    for name in ["x", "y"] {
        let coordinate = member(name)
            .and_then(|text| b64url_decode(text, name).ok())
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| format!("{name} must be 32 bytes of base64url"))?;
        sec1.extend_from_slice(&coordinate);
    }
    p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| "the point is not on P-256".into())
}

/// The protected header members this module acts on.
pub(super) struct Header {
    pub(super) enc: Enc,
    pub(super) epk: p256::PublicKey,
    pub(super) kid: Option<String>,
    pub(super) apu: Vec<u8>,
    pub(super) apv: Vec<u8>,
}

impl Header {
    pub(super) fn read(
        header: &Map<String, Value>,
        accepted_enc: &[Enc],
    ) -> Result<Self, JweError> {
        match header.get("alg") {
            Some(Value::String(alg)) if alg == ALG_ECDH_ES => {}
            Some(Value::String(alg)) => return Err(JweError::UnsupportedAlgorithm(truncate(alg))),
            _ => return Err(JweError::Malformed("the header has no string alg".into())),
        }
        let enc = match header.get("enc") {
            Some(Value::String(name)) => Enc::from_name(name)
                .filter(|enc| accepted_enc.contains(enc))
                .ok_or_else(|| JweError::EncNotAccepted(truncate(name)))?,
            _ => return Err(JweError::Malformed("the header has no string enc".into())),
        };
        if header.contains_key("zip") {
            return Err(JweError::Compressed);
        }
        if header.contains_key("crit") {
            return Err(JweError::CriticalHeader);
        }
        let epk = header
            .get("epk")
            .ok_or_else(|| JweError::InvalidEphemeralKey("the header has no epk".into()))?;
        let epk = p256_from_jwk(epk).map_err(JweError::InvalidEphemeralKey)?;
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(JweError::Malformed("kid must be a string".into())),
        };
        Ok(Header {
            enc,
            epk,
            kid,
            apu: optional_b64(header, "apu")?.unwrap_or_default(),
            apv: optional_b64(header, "apv")?.unwrap_or_default(),
        })
    }
}

pub(super) fn optional_b64(
    header: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<u8>>, JweError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => decode(text, name).map(Some),
        Some(_) => Err(JweError::Malformed(format!("{name} must be a string"))),
    }
}

pub(super) fn decode(text: &str, what: &str) -> Result<Vec<u8>, JweError> {
    b64url_decode(text, what)
        .map_err(|_| JweError::Malformed(format!("the {what} is not base64url")))
}
