//! Verifier metadata passed in the request (`client_metadata`, OpenID4VP 1.0 §5.1,
//! §11.1): the response encryption keys (§8.3), the accepted `enc` values, and the
//! credential formats the Verifier takes.

use serde_json::{Map, Value};

use crate::error::truncate;
use crate::oid4vp::error::RequestError;
use crate::oid4vp::jwe::{self, Enc, ALG_ECDH_ES};

/// Most JWKs a `client_metadata.jwks` may hold.
pub const MAX_JWKS_KEYS: usize = 8;

/// A response encryption key of the Verifier: a P-256 JWK with `alg: ECDH-ES`, a
/// `kid`, and `use` absent or `enc` (§8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    kid: String,
    key: p256::PublicKey,
}

impl EncryptionKey {
    /// The key id, which the JWE header repeats (§8.3).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key to encrypt the response to.
    pub fn public_key(&self) -> &p256::PublicKey {
        &self.key
    }

    /// The JWK as the request carries it.
    pub fn to_jwk(&self) -> Value {
        let mut jwk = jwe::public_jwk(&self.key);
        jwk["kid"] = self.kid.clone().into();
        jwk["use"] = "enc".into();
        jwk["alg"] = ALG_ECDH_ES.into();
        jwk
    }
}

/// `client_metadata`, checked: every JWK has a `kid` (unique), none carries private
/// material, `encrypted_response_enc_values_supported` is a non-empty array when
/// present, and `vp_formats_supported` is a non-empty object (the prefixes supported
/// here have no other source of Verifier metadata, §5.9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    encryption_keys: Vec<EncryptionKey>,
    enc_values_supported: Vec<String>,
    vp_formats_supported: Map<String, Value>,
}

impl ClientMetadata {
    /// Metadata for a request: the formats the Verifier accepts, no encryption key
    /// yet, `enc` values defaulting to `A128GCM`.
    pub fn new(vp_formats_supported: Map<String, Value>) -> Self {
        ClientMetadata {
            encryption_keys: Vec::new(),
            enc_values_supported: vec![Enc::A128GCM.as_str().to_owned()],
            vp_formats_supported,
        }
    }

    /// Returns the metadata with an (ephemeral, per request: HAIP 1.0 §5) response
    /// encryption key.
    pub fn with_encryption_key(mut self, kid: impl Into<String>, key: p256::PublicKey) -> Self {
        self.encryption_keys.push(EncryptionKey {
            kid: kid.into(),
            key,
        });
        self
    }

    /// Returns the metadata listing these `enc` values (HAIP 1.0 §5: both
    /// `A128GCM` and `A256GCM`).
    pub fn with_enc_values(mut self, values: &[Enc]) -> Self {
        self.enc_values_supported = values.iter().map(|enc| enc.as_str().to_owned()).collect();
        self
    }

    /// Reads `client_metadata`.
    ///
    /// # Errors
    /// [`RequestError::InvalidClientMetadata`] for a rule of §5.1 broken.
    pub fn parse(value: &Value) -> Result<Self, RequestError> {
        let invalid = |reason: &str| RequestError::InvalidClientMetadata(reason.to_owned());
        let object = value
            .as_object()
            .ok_or_else(|| invalid("not a JSON object"))?;
        let mut encryption_keys = Vec::new();
        if let Some(jwks) = object.get("jwks") {
            let keys = jwks
                .get("keys")
                .and_then(Value::as_array)
                .filter(|keys| !keys.is_empty())
                .ok_or_else(|| invalid("jwks must hold a non-empty keys array"))?;
            if keys.len() > MAX_JWKS_KEYS {
                return Err(invalid(&format!(
                    "jwks holds more than {MAX_JWKS_KEYS} keys"
                )));
            }
            let mut kids = Vec::with_capacity(keys.len());
            for jwk in keys {
                let kid = jwk
                    .get("kid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("every JWK in jwks must have a kid (§5.1)"))?;
                if kids.contains(&kid) {
                    return Err(invalid("two JWKs in jwks share a kid (§5.1)"));
                }
                kids.push(kid);
                if jwk.get("d").is_some() {
                    return Err(invalid("a JWK in jwks carries private key material"));
                }
                if let Some(key) = usable_encryption_key(jwk) {
                    encryption_keys.push(EncryptionKey {
                        kid: kid.to_owned(),
                        key,
                    });
                }
            }
        }
        let enc_values_supported = match object.get("encrypted_response_enc_values_supported") {
            None => vec![Enc::A128GCM.as_str().to_owned()],
            Some(value) => value
                .as_array()
                .filter(|values| !values.is_empty())
                .and_then(|values| {
                    values
                        .iter()
                        .map(|enc| enc.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    invalid("encrypted_response_enc_values_supported must be a non-empty array of strings")
                })?,
        };
        let vp_formats_supported = object
            .get("vp_formats_supported")
            .and_then(Value::as_object)
            .filter(|formats| !formats.is_empty())
            .cloned()
            .ok_or_else(|| invalid("vp_formats_supported must be a non-empty object (§11.1)"))?;
        Ok(ClientMetadata {
            encryption_keys,
            enc_values_supported,
            vp_formats_supported,
        })
    }

    /// The metadata as the request carries it.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        if !self.encryption_keys.is_empty() {
            let keys: Vec<Value> = self
                .encryption_keys
                .iter()
                .map(EncryptionKey::to_jwk)
                .collect();
            object.insert("jwks".into(), serde_json::json!({ "keys": keys }));
        }
        object.insert(
            "encrypted_response_enc_values_supported".into(),
            self.enc_values_supported.clone().into(),
        );
        object.insert(
            "vp_formats_supported".into(),
            Value::Object(self.vp_formats_supported.clone()),
        );
        Value::Object(object)
    }

    /// The first usable response encryption key (§8.3: P-256, `ECDH-ES`, `use`
    /// absent or `enc`). Keys of other types are skipped, as the Wallet may.
    pub fn encryption_key(&self) -> Option<&EncryptionKey> {
        self.encryption_keys.first()
    }

    /// The usable response encryption keys.
    pub fn encryption_keys(&self) -> &[EncryptionKey] {
        &self.encryption_keys
    }

    /// `encrypted_response_enc_values_supported`, or its default `["A128GCM"]`.
    pub fn enc_values_supported(&self) -> &[String] {
        &self.enc_values_supported
    }

    /// The `enc` a Wallet supporting `wallet` should use: `A256GCM` when both sides
    /// support it (HAIP 1.0 §5), else `A128GCM`; `None` when nothing is shared.
    pub fn choose_enc(&self, wallet: &[Enc]) -> Option<Enc> {
        [Enc::A256GCM, Enc::A128GCM].into_iter().find(|enc| {
            wallet.contains(enc) && self.enc_values_supported.iter().any(|v| v == enc.as_str())
        })
    }

    /// `vp_formats_supported`.
    pub fn vp_formats_supported(&self) -> &Map<String, Value> {
        &self.vp_formats_supported
    }

    /// The rules `direct_post.jwt` adds (§8.3): a usable key and a supported `enc`.
    pub(crate) fn check_encryption(&self, haip: bool) -> Result<(), RequestError> {
        if self.encryption_keys.is_empty() {
            return Err(RequestError::InvalidClientMetadata(
                "direct_post.jwt needs a P-256 ECDH-ES key with a kid in jwks (§8.3)".into(),
            ));
        }
        if self.choose_enc(&[Enc::A128GCM, Enc::A256GCM]).is_none() {
            return Err(RequestError::InvalidClientMetadata(format!(
                "no supported enc among {}",
                truncate(&self.enc_values_supported.join(", "))
            )));
        }
        if haip
            && [Enc::A128GCM, Enc::A256GCM]
                .iter()
                .any(|enc| !self.enc_values_supported.iter().any(|v| v == enc.as_str()))
        {
            return Err(RequestError::NotHaip(
                "encrypted_response_enc_values_supported must list A128GCM and A256GCM (HAIP 1.0 §5)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The key of a JWK fit for response encryption (§8.3), if it is one.
fn usable_encryption_key(jwk: &Value) -> Option<p256::PublicKey> {
    let use_ok = jwk.get("use").is_none_or(|value| value == "enc");
    let alg_ok = jwk.get("alg").is_some_and(|value| value == ALG_ECDH_ES);
    if !(use_ok && alg_ok) {
        return None;
    }
    jwe::p256_from_jwk(jwk).ok()
}
