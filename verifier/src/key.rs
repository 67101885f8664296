//! Public keys: JWK and did:key forms, and signature verification.

use std::sync::OnceLock;

use ed25519_zebra::VerificationKey as Ed25519Key;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::KeyError;

/// A public key of one of the supported types.
///
/// Every constructor validates the key: Ed25519 points must decompress and not be
/// of small order; ECDSA points must lie on their curve.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// An Ed25519 key (JWS `EdDSA`).
    Ed25519(Ed25519Key),
    /// A secp256k1 key (JWS `ES256K`).
    Secp256k1(k256::ecdsa::VerifyingKey),
    /// A P-256 key (JWS `ES256`).
    P256(p256::ecdsa::VerifyingKey),
}

/// A signature did not verify. Deliberately carries no detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureInvalid;

impl PublicKey {
    /// The JWS algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::EdDSA,
            PublicKey::Secp256k1(_) => Algorithm::ES256K,
            PublicKey::P256(_) => Algorithm::ES256,
        }
    }

    /// Builds an Ed25519 key from its 32-byte encoding.
    ///
    /// # Errors
    /// [`KeyError::InvalidKey`] if the bytes do not decompress or the point has small order.
    pub fn ed25519_from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::InvalidKey("Ed25519 key must be 32 bytes".into()))?;
        // Both checks work on the encoding, so a key costs one decompression (the
        // one verification needs anyway): holder keys are read on the hot path.
        if !ed25519_canonical_y(&array) {
            return Err(KeyError::InvalidKey(
                "non-canonical Ed25519 encoding".into(),
            ));
        }
        if ed25519_small_order_y(&array) {
            return Err(KeyError::InvalidKey("Ed25519 key of small order".into()));
        }
        let key = Ed25519Key::try_from(array)
            .map_err(|_| KeyError::InvalidKey("not an Ed25519 point".into()))?;
        Ok(PublicKey::Ed25519(key))
    }

    /// Builds a secp256k1 key from a SEC1 encoding (compressed or not).
    ///
    /// # Errors
    /// [`KeyError::InvalidKey`] if the bytes are not a point on the curve.
    pub fn secp256k1_from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .map(PublicKey::Secp256k1)
            .map_err(|_| KeyError::InvalidKey("not a secp256k1 point".into()))
    }

    /// Builds a P-256 key from a SEC1 encoding (compressed or not).
    ///
    /// # Errors
    /// [`KeyError::InvalidKey`] if the bytes are not a point on the curve.
    pub fn p256_from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .map(PublicKey::P256)
            .map_err(|_| KeyError::InvalidKey("not a P-256 point".into()))
    }

    /// Reads a public JWK (RFC 7517 / RFC 8037): `OKP`/`Ed25519`, `EC`/`secp256k1`,
    /// `EC`/`P-256`.
    ///
    /// # Errors
    /// [`KeyError::InvalidJwk`] for other key types, missing members, or a JWK that
    /// carries private material (`d`): a public key slot never accepts a secret.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| KeyError::InvalidJwk("not a JSON object".into()))?;
        if obj.contains_key("d") {
            return Err(KeyError::InvalidJwk("contains private key material".into()));
        }
        let member = |name: &str| -> Result<&str, KeyError> {
            obj.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| KeyError::InvalidJwk(format!("missing string member {name:?}")))
        };
        let coordinate = |name: &str| -> Result<Vec<u8>, KeyError> {
            let bytes = b64url_decode(member(name)?, name)
                .map_err(|_| KeyError::InvalidJwk(format!("{name} is not base64url")))?;
            if bytes.len() != 32 {
                return Err(KeyError::InvalidJwk(format!("{name} must be 32 bytes")));
            }
            Ok(bytes)
        };
        match (member("kty")?, member("crv")?) {
            ("OKP", "Ed25519") => Self::ed25519_from_bytes(&coordinate("x")?),
            ("EC", crv @ ("secp256k1" | "P-256")) => {
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(0x04);
                sec1.extend_from_slice(&coordinate("x")?);
                sec1.extend_from_slice(&coordinate("y")?);
                if crv == "P-256" {
                    Self::p256_from_sec1(&sec1)
                } else {
                    Self::secp256k1_from_sec1(&sec1)
                }
            }
            (kty, crv) => Err(KeyError::InvalidJwk(format!(
                "unsupported key type {kty}/{crv}"
            ))),
        }
    }

    /// The public JWK, members in lexicographic order (as RFC 7638 thumbprints need).
    pub fn to_jwk(&self) -> Value {
        let mut jwk = Map::new();
        match self {
            PublicKey::Ed25519(key) => {
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("kty".into(), "OKP".into());
                jwk.insert("x".into(), b64url_encode(&<[u8; 32]>::from(*key)).into());
            }
            PublicKey::Secp256k1(key) => {
                let point = key.to_encoded_point(false);
                ec_members(&mut jwk, "secp256k1", point.as_bytes());
            }
            PublicKey::P256(key) => {
                let point = key.to_encoded_point(false);
                ec_members(&mut jwk, "P-256", point.as_bytes());
            }
        }
        Value::Object(jwk)
    }

    /// The compressed key bytes as did:key encodes them (32 bytes for Ed25519,
    /// 33-byte SEC1 compressed points for the ECDSA curves).
    pub fn to_compressed_bytes(&self) -> Vec<u8> {
        match self {
            PublicKey::Ed25519(key) => <[u8; 32]>::from(*key).to_vec(),
            PublicKey::Secp256k1(key) => key.to_encoded_point(true).as_bytes().to_vec(),
            PublicKey::P256(key) => key.to_encoded_point(true).as_bytes().to_vec(),
        }
    }

    /// Verifies a JWS signature (`alg` taken from the header) over `message`.
    ///
    /// Rules, the same on the single and the batch path:
    /// - Ed25519: the ZIP-215 rules (`ed25519-zebra`): canonical `S`, any
    ///   decodable `R`, the cofactored equation `[8][S]B = [8]R + [8][k]A`, which
    ///   batch verification computes identically. Keys were checked when read
    ///   (canonical encoding, not of small order).
    /// - ES256K and ES256: the 64-byte `r || s` form of RFC 7518 §3.4. A high `s` is
    ///   accepted (RFC 8812 does not require low-S, and common signers do not
    ///   normalise); P-256 verification runs on `ring`, which is several times faster
    ///   than the pure-Rust implementation.
    ///
    /// # Errors
    /// [`SignatureInvalid`] when the algorithm does not match the key or the signature
    /// does not verify.
    pub fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureInvalid> {
        if alg != self.algorithm() {
            return Err(SignatureInvalid);
        }
        match self {
            PublicKey::Ed25519(key) => {
                let signature = ed25519_signature(signature)?;
                key.verify(&signature, message)
                    .map_err(|_| SignatureInvalid)
            }
            PublicKey::Secp256k1(key) => {
                use k256::ecdsa::signature::Verifier as _;
                let signature =
                    k256::ecdsa::Signature::from_slice(signature).map_err(|_| SignatureInvalid)?;
                let signature = signature.normalize_s().unwrap_or(signature);
                key.verify(message, &signature)
                    .map_err(|_| SignatureInvalid)
            }
            PublicKey::P256(key) => {
                if signature.len() != 64 {
                    return Err(SignatureInvalid);
                }
                let point = key.to_encoded_point(false);
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    point.as_bytes(),
                )
                .verify(message, signature)
                .map_err(|_| SignatureInvalid)
            }
        }
    }
}

/// True when the encoded y coordinate is below p = 2^255 − 19: one key, one
/// encoding (a non-canonical y would give the same key two names).
fn ed25519_canonical_y(encoding: &[u8; 32]) -> bool {
    // y ≥ p exactly when the low byte is ≥ 0xed and every other bit of y is set.
    let all_ones = encoding[1..31].iter().all(|&byte| byte == 0xff) && encoding[31] & 0x7f == 0x7f;
    !(all_ones && encoding[0] >= 0xed)
}

/// True when the point has small order. The eight torsion points have five y
/// coordinates; comparing y (sign bit cleared) also catches the x = 0 points
/// written with a sign bit.
fn ed25519_small_order_y(encoding: &[u8; 32]) -> bool {
    static TORSION_Y: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    let torsion = TORSION_Y.get_or_init(|| {
        curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|point| {
                let mut y = point.compress().to_bytes();
                y[31] &= 0x7f;
                y
            })
            .collect()
    });
    let mut y = *encoding;
    y[31] &= 0x7f;
    torsion.contains(&y)
}

/// An Ed25519 signature from its 64 bytes.
pub(crate) fn ed25519_signature(
    bytes: &[u8],
) -> Result<ed25519_zebra::Signature, SignatureInvalid> {
    let array: [u8; 64] = bytes.try_into().map_err(|_| SignatureInvalid)?;
    Ok(ed25519_zebra::Signature::from_bytes(&array))
}

fn ec_members(jwk: &mut Map<String, Value>, crv: &str, uncompressed: &[u8]) {
    // An uncompressed SEC1 point is 0x04 || x (32) || y (32).
    let (x, y) = uncompressed[1..].split_at(32);
    jwk.insert("crv".into(), crv.into());
    jwk.insert("kty".into(), "EC".into());
    jwk.insert("x".into(), b64url_encode(x).into());
    jwk.insert("y".into(), b64url_encode(y).into());
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({}, {})",
            self.algorithm(),
            crate::did_key::encode(self)
        )
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_jwk().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jwk_with_private_member_is_refused() {
        let jwk = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert!(matches!(
            PublicKey::from_jwk(&jwk),
            Err(KeyError::InvalidJwk(_))
        ));
    }

    #[test]
    fn ec_point_off_the_curve_is_refused() {
        let jwk = json!({"kty":"EC","crv":"P-256","x":b64url_encode(&[1u8;32]),"y":b64url_encode(&[2u8;32])});
        assert!(PublicKey::from_jwk(&jwk).is_err());
    }

    #[test]
    fn encoding_checks_match_the_curve_arithmetic() {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        for point in curve25519_dalek::constants::EIGHT_TORSION {
            let encoding = point.compress().to_bytes();
            assert!(ed25519_small_order_y(&encoding));
            assert!(PublicKey::ed25519_from_bytes(&encoding).is_err());
        }
        // p − 1 (= −1, order 2) is canonical; p itself and p + 1 are not.
        let mut p_minus_1 = [0xff; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        assert!(ed25519_canonical_y(&p_minus_1));
        let (mut p, mut p_plus_1) = (p_minus_1, p_minus_1);
        p[0] = 0xed;
        p_plus_1[0] = 0xee;
        assert!(!ed25519_canonical_y(&p) && !ed25519_canonical_y(&p_plus_1));
        // p + 1 decodes (as y = 1, the identity) and would otherwise alias it.
        assert!(CompressedEdwardsY(p_plus_1).decompress().is_some());
        assert!(PublicKey::ed25519_from_bytes(&p_plus_1).is_err());
        // A random valid key passes both.
        let key = curve25519_dalek::constants::ED25519_BASEPOINT_POINT
            .compress()
            .to_bytes();
        assert!(ed25519_canonical_y(&key) && !ed25519_small_order_y(&key));
        assert!(PublicKey::ed25519_from_bytes(&key).is_ok());
    }

    #[test]
    fn small_order_ed25519_key_is_refused() {
        // The identity point encodes as 0x01 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::ed25519_from_bytes(&identity).is_err());
    }

    #[test]
    fn jwk_round_trips_for_every_curve() {
        let jwks = [
            json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
            json!({"crv":"P-256","kty":"EC","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}),
        ];
        for jwk in jwks {
            let key = PublicKey::from_jwk(&jwk).expect("valid JWK");
            assert_eq!(key.to_jwk(), jwk);
        }
    }
}
