//! A JWK set (RFC 7517 §5) of signature keys, each named by its `kid`.

use serde_json::Value;

use super::error::JwksError;
use crate::encoding::parse_json;
use crate::key::PublicKey;

/// Largest JWK set document accepted, in bytes (64 KiB: some thirty EC keys with
/// generous extra members).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Most entries a JWK set may hold, usable or not.
pub const MAX_JWKS_KEYS: usize = 32;

/// Deepest JSON nesting in a JWK set document (`{"keys":[{...,"key_ops":[...]}]}` is 3).
const MAX_JWKS_DEPTH: usize = 8;

/// Longest `kid` kept; a longer one makes the entry unusable.
const MAX_KID_BYTES: usize = 256;

/// The signature keys of an authorization server, by `kid`.
///
/// Invariants: every key has a non-empty `kid` of at most 256 bytes, no two keys
/// share one, and there are at most [`MAX_JWKS_KEYS`] keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<(String, PublicKey)>,
}

impl JwkSet {
    /// An empty set: it verifies nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a JWK set document.
    ///
    /// Following RFC 7517 §5 ("implementations SHOULD ignore JWKs within a JWK Set
    /// that use "kty" values that are not understood by them, that are missing
    /// required members, or for which values are out of the supported ranges"),
    /// an entry is skipped, not fatal, when its key type or curve is unsupported, its
    /// key does not decode, it has no string `kid`, its `use` is not `sig`, its
    /// `key_ops` do not include `verify`, or its `alg` is not the algorithm of its
    /// key. A set with no usable key at all is an error, as is a set where two
    /// usable keys share a `kid`. An entry with private material (`d`) is skipped.
    ///
    /// # Errors
    /// [`JwksError`]: too large, too many entries, malformed JSON, a duplicate
    /// `kid`, or no usable key.
    pub fn from_json(bytes: &[u8]) -> Result<Self, JwksError> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        let document = parse_json(bytes, MAX_JWKS_DEPTH, "JWK set")
            .map_err(|_| JwksError::Malformed("not JSON within the depth limit"))?;
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::Malformed("no keys array"))?;
        if entries.len() > MAX_JWKS_KEYS {
            return Err(JwksError::TooManyKeys);
        }
        let mut set = JwkSet::new();
        for entry in entries {
            if let Some((kid, key)) = usable_entry(entry) {
                set.insert(kid, key)?;
            }
        }
        if set.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(set)
    }

    /// Adds a key under `kid`.
    ///
    /// # Errors
    /// [`JwksError::DuplicateKid`] when the `kid` is taken, [`JwksError::TooManyKeys`]
    /// past [`MAX_JWKS_KEYS`], [`JwksError::Malformed`] for an empty or overlong `kid`.
    pub fn insert(&mut self, kid: impl Into<String>, key: PublicKey) -> Result<(), JwksError> {
        let kid = kid.into();
        if kid.is_empty() || kid.len() > MAX_KID_BYTES {
            return Err(JwksError::Malformed("kid is empty or too long"));
        }
        if self.get(&kid).is_some() {
            return Err(JwksError::DuplicateKid);
        }
        if self.keys.len() >= MAX_JWKS_KEYS {
            return Err(JwksError::TooManyKeys);
        }
        self.keys.push((kid, key));
        Ok(())
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys
            .iter()
            .find(|(name, _)| name == kid)
            .map(|(_, key)| key)
    }

    /// The `kid`s, in document order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(kid, _)| kid.as_str())
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The `kid` and key of a usable signature-key entry, or `None` to skip it.
fn usable_entry(entry: &Value) -> Option<(String, PublicKey)> {
    let object = entry.as_object()?;
    let kid = object.get("kid")?.as_str()?;
    if kid.is_empty() || kid.len() > MAX_KID_BYTES {
        return None;
    }
    match object.get("use") {
        None => {}
        Some(Value::String(usage)) if usage == "sig" => {}
        Some(_) => return None,
    }
    if let Some(ops) = object.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    // `from_jwk` refuses private material, unknown types and invalid points.
    let key = PublicKey::from_jwk(entry).ok()?;
    if let Some(alg) = object.get("alg") {
        if alg.as_str() != Some(key.algorithm().as_str()) {
            return None;
        }
    }
    Some((kid.to_owned(), key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const ED: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const P256_X: &str = "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ";
    const P256_Y: &str = "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8";

    fn parse(value: Value) -> Result<JwkSet, JwksError> {
        JwkSet::from_json(value.to_string().as_bytes())
    }

    #[test]
    fn rfc7517_section5_unusable_entries_are_ignored() {
        let set = parse(json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED, "kid": "enc", "use": "enc"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED},
            {"kty": "OKP", "crv": "Ed25519", "x": ED, "kid": "wrap", "key_ops": ["wrapKey"]},
            {"kty": "OKP", "crv": "Ed25519", "x": ED, "kid": "alg", "alg": "ES256"},
            {"kty": "EC", "crv": "P-256", "x": P256_X, "y": "AAAA", "kid": "bad-point"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED, "kid": "ed", "use": "sig", "alg": "EdDSA"},
            {"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y, "kid": "p256", "key_ops": ["verify"]}
        ]}))
        .unwrap();
        assert_eq!(set.kids().collect::<Vec<_>>(), ["ed", "p256"]);
        assert!(set.get("rsa").is_none() && set.get("enc").is_none());
    }

    #[test]
    fn a_set_without_usable_keys_duplicates_or_too_many_is_refused() {
        assert_eq!(
            parse(json!({"keys": [{"kty": "RSA", "kid": "a"}]})),
            Err(JwksError::NoUsableKey)
        );
        assert_eq!(parse(json!({"keys": []})), Err(JwksError::NoUsableKey));
        assert!(matches!(
            parse(json!({"nokeys": []})),
            Err(JwksError::Malformed(_))
        ));
        assert!(matches!(parse(json!([1])), Err(JwksError::Malformed(_))));
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": ED, "kid": "same"});
        assert_eq!(
            parse(json!({"keys": [ed.clone(), ed.clone()]})),
            Err(JwksError::DuplicateKid)
        );
        let many: Vec<Value> = (0..=MAX_JWKS_KEYS)
            .map(|i| json!({"kty": "OKP", "crv": "Ed25519", "x": ED, "kid": i.to_string()}))
            .collect();
        assert_eq!(parse(json!({ "keys": many })), Err(JwksError::TooManyKeys));
        assert_eq!(
            JwkSet::from_json(&vec![b' '; MAX_JWKS_BYTES + 1]),
            Err(JwksError::TooLarge)
        );
        let deep = format!("{{\"keys\":{}{}}}", "[".repeat(20), "]".repeat(20));
        assert!(matches!(
            JwkSet::from_json(deep.as_bytes()),
            Err(JwksError::Malformed(_))
        ));
    }
}
