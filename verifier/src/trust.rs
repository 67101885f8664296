//! The trust store: which issuers the verifier accepts, and with which keys.

use std::collections::HashMap;

use serde_json::Value;

use crate::did_key;
use crate::encoding::parse_json;
use crate::error::{truncate, KeyError, VerifyError};
use crate::key::PublicKey;
use crate::x509::X509Anchor;

/// Largest trust file accepted, in bytes.
pub const MAX_TRUST_FILE_BYTES: usize = 1024 * 1024;
/// Deepest JSON nesting accepted in a trust file.
pub const MAX_TRUST_FILE_DEPTH: usize = 16;

/// One trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    id: String,
    key: PublicKey,
    /// The `kid` pinned with the key, if the trust entry's JWK carried one.
    pinned_kid: Option<String>,
    from_did: bool,
    /// Other signers whose status list tokens speak for this issuer's credentials.
    status_providers: Vec<String>,
}

impl TrustedIssuer {
    /// The issuer identifier (`iss`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The issuer's public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Signers (besides the issuer itself) whose status list tokens apply to this
    /// issuer's credentials: the trust file's `status_providers`.
    pub fn status_providers(&self) -> &[String] {
        &self.status_providers
    }

    /// A did:key signer, its key read from the DID.
    fn from_did(did: &str) -> Result<Self, KeyError> {
        Ok(TrustedIssuer {
            id: did.to_owned(),
            key: did_key::decode(did)?,
            pinned_kid: None,
            from_did: true,
            status_providers: Vec::new(),
        })
    }

    /// Checks a JWS `kid` header against this issuer.
    ///
    /// For a did:key issuer, `kid` may be absent, the DID itself, or the DID URL
    /// `did:key:z…#z…` naming its only key. For an issuer with a pinned JWK that
    /// carries a `kid`, a `kid` header must equal it.
    fn check_kid(&self, kid: Option<&str>) -> Result<(), VerifyError> {
        let Some(kid) = kid else { return Ok(()) };
        let consistent = if self.from_did {
            let did = if let Some(fragment) = kid.strip_prefix('#') {
                // A relative DID URL: the fragment must name the issuer's key.
                self.id
                    .strip_prefix("did:key:")
                    .filter(|id| *id == fragment)
                    .map(|_| self.id.as_str())
            } else {
                did_key::did_from_key_id(kid).ok()
            };
            did == Some(self.id.as_str())
        } else {
            self.pinned_kid
                .as_deref()
                .is_none_or(|pinned| pinned == kid)
        };
        if consistent {
            Ok(())
        } else {
            Err(VerifyError::KeyIdMismatch(truncate(kid)))
        }
    }
}

/// Issuers the verifier accepts, each with its key. Lookups are by exact `iss`; keys
/// trusted without an identifier (roots of AP2 mandate chains, which carry no `iss`)
/// are found by the header's `kid` or tried in turn.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    issuers: HashMap<String, TrustedIssuer>,
    keys: Vec<TrustedIssuer>,
    anchors: Vec<X509Anchor>,
}

/// Most key-only entries tried for a JWT without `kid`: beyond that the trust file
/// must give the keys a `kid` (each try is a signature verification).
pub const MAX_KEYS_TRIED_WITHOUT_KID: usize = 8;

/// The RFC 7638 JWK thumbprint of a key (SHA-256, base64url).
pub fn jwk_thumbprint(key: &PublicKey) -> String {
    // `to_jwk` holds exactly the required members in lexicographic order, and
    // serde_json writes them without whitespace: the RFC 7638 input.
    crate::sd_jwt::sha256_b64(&key.to_jwk().to_string())
}

impl TrustStore {
    /// An empty trust store: it accepts no issuer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts a did:key issuer; its key is read from the DID itself.
    ///
    /// # Errors
    /// A [`KeyError`] if the DID is not a valid, supported did:key.
    pub fn add_did(&mut self, did: &str) -> Result<(), KeyError> {
        self.issuers
            .insert(did.to_owned(), TrustedIssuer::from_did(did)?);
        Ok(())
    }

    /// Lets status list tokens signed by `provider` speak for the credentials of the
    /// trusted issuer `issuer` (by default only the issuer's own tokens do).
    ///
    /// # Errors
    /// [`KeyError::InvalidTrustStore`] if `issuer` is not trusted.
    pub fn add_status_provider(&mut self, issuer: &str, provider: &str) -> Result<(), KeyError> {
        let entry = self.issuers.get_mut(issuer).ok_or_else(|| {
            KeyError::InvalidTrustStore(format!("{issuer}: not a trusted issuer"))
        })?;
        if !entry.status_providers.iter().any(|known| known == provider) {
            entry.status_providers.push(provider.to_owned());
        }
        Ok(())
    }

    /// Trusts a key on its own, with no issuer identifier: a JWT without `iss` whose
    /// header `kid` names it (the JWK's own `kid`, or its RFC 7638 thumbprint) — or,
    /// without `kid`, whose signature it verifies — is trusted as signed by it. What
    /// AP2 mandate roots need: they carry no `iss`.
    ///
    /// # Errors
    /// A [`KeyError`] if the JWK is invalid.
    pub fn add_key(&mut self, jwk: &Value) -> Result<(), KeyError> {
        let key = PublicKey::from_jwk(jwk)?;
        let pinned_kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        let id = format!(
            "urn:ietf:params:oauth:jwk-thumbprint:sha-256:{}",
            jwk_thumbprint(&key)
        );
        if self.keys.iter().any(|known| known.id == id) {
            return Ok(());
        }
        self.keys.push(TrustedIssuer {
            id,
            key,
            pinned_kid,
            from_did: false,
            status_providers: Vec::new(),
        });
        Ok(())
    }

    /// The key-only entries that may have signed a JWT with this header `kid`: the
    /// one whose `kid` or thumbprint it names, or — without `kid` — every entry (at
    /// most [`MAX_KEYS_TRIED_WITHOUT_KID`]).
    pub(crate) fn keys_for(&self, kid: Option<&str>) -> Result<Vec<&TrustedIssuer>, VerifyError> {
        let found: Vec<&TrustedIssuer> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|entry| {
                    entry.pinned_kid.as_deref() == Some(kid)
                        || entry.id.rsplit(':').next() == Some(kid)
                })
                .collect(),
            None => {
                if self.keys.len() > MAX_KEYS_TRIED_WITHOUT_KID {
                    return Err(VerifyError::UntrustedIssuer(
                        "a root without kid, and more trusted keys than are tried without one"
                            .into(),
                    ));
                }
                self.keys.iter().collect()
            }
        };
        if found.is_empty() {
            return Err(VerifyError::UntrustedIssuer(match kid {
                Some(kid) => format!("no trusted key with kid {}", truncate(kid)),
                None => "no trusted key".into(),
            }));
        }
        Ok(found)
    }

    /// Trusts an X.509 CA certificate as an anchor for `x5c` chains (of AP2 mandate
    /// roots): see [`crate::x509`].
    pub fn add_x509_anchor(&mut self, anchor: X509Anchor) {
        if !self.anchors.contains(&anchor) {
            self.anchors.push(anchor);
        }
    }

    /// The X.509 trust anchors.
    pub(crate) fn x509_anchors(&self) -> &[X509Anchor] {
        &self.anchors
    }

    /// Trusts an issuer identified by a URL (or any non-DID string), with a pinned JWK.
    ///
    /// # Errors
    /// A [`KeyError`] if the JWK is invalid, or `id` is a DID (DIDs carry their key).
    pub fn add_pinned_jwk(&mut self, id: &str, jwk: &Value) -> Result<(), KeyError> {
        if id.starts_with("did:") {
            return Err(KeyError::InvalidTrustStore(format!(
                "{id}: a DID issuer takes its key from the DID, not a pinned JWK"
            )));
        }
        let key = PublicKey::from_jwk(jwk)?;
        let pinned_kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        self.issuers.insert(
            id.to_owned(),
            TrustedIssuer {
                id: id.to_owned(),
                key,
                pinned_kid,
                from_did: false,
                status_providers: Vec::new(),
            },
        );
        Ok(())
    }

    /// Reads a trust file: `{"issuers": [{"id": "did:key:…"}, {"id": "https://…", "jwk": {…}}, {"jwk": {…}}]}`
    /// (the last form: a key trusted on its own, see [`TrustStore::add_key`]).
    /// An entry may name `"status_providers": ["did:key:…", …]`: signers whose status
    /// list tokens apply to that issuer's credentials besides its own.
    ///
    /// # Errors
    /// [`KeyError::InvalidTrustStore`] for a file that is too large, not JSON, or
    /// not of that shape; another [`KeyError`] for an invalid DID or JWK.
    pub fn from_json(bytes: &[u8]) -> Result<Self, KeyError> {
        let invalid = |msg: &str| KeyError::InvalidTrustStore(msg.to_owned());
        if bytes.len() > MAX_TRUST_FILE_BYTES {
            return Err(invalid("larger than 1 MiB"));
        }
        let value = parse_json(bytes, MAX_TRUST_FILE_DEPTH, "trust file")
            .map_err(|error| KeyError::InvalidTrustStore(error.to_string()))?;
        let entries = value
            .get("issuers")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("expected {\"issuers\": [...]}"))?;
        let mut store = TrustStore::new();
        for entry in entries {
            if let Some(pem) = entry.get("x509_anchor") {
                let pem = pem
                    .as_str()
                    .ok_or_else(|| invalid("x509_anchor is not a PEM string"))?;
                if entry.as_object().is_some_and(|map| map.len() != 1) {
                    return Err(invalid("an x509_anchor entry holds just \"x509_anchor\""));
                }
                store.add_x509_anchor(X509Anchor::from_pem(pem)?);
                continue;
            }
            if entry.get("id").is_none() {
                // A key trusted on its own (AP2 roots carry no iss).
                let jwk = entry.get("jwk").ok_or_else(|| {
                    invalid("every entry needs an \"id\", or a \"jwk\" trusted on its own")
                })?;
                if entry.as_object().is_some_and(|map| map.len() != 1) {
                    return Err(invalid("a key-only entry holds just \"jwk\""));
                }
                store.add_key(jwk)?;
                continue;
            }
            let id = entry
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("every issuer needs a string \"id\""))?;
            match (id.starts_with("did:"), entry.get("jwk")) {
                (true, None) => store.add_did(id)?,
                (false, Some(jwk)) => store.add_pinned_jwk(id, jwk)?,
                (true, Some(_)) => {
                    return Err(KeyError::InvalidTrustStore(format!(
                        "{id}: a DID issuer takes its key from the DID; remove \"jwk\""
                    )))
                }
                (false, None) => {
                    return Err(KeyError::InvalidTrustStore(format!(
                        "{id}: an issuer that is not a DID needs a pinned \"jwk\""
                    )))
                }
            }
            match entry.get("status_providers") {
                None => {}
                Some(Value::Array(providers)) => {
                    for provider in providers {
                        let provider =
                            provider.as_str().filter(|p| !p.is_empty()).ok_or_else(|| {
                                invalid(
                                    "status_providers holds a value that is not a non-empty string",
                                )
                            })?;
                        store.add_status_provider(id, provider)?;
                    }
                }
                Some(_) => return Err(invalid("status_providers is not an array")),
            }
        }
        Ok(store)
    }

    /// True when `iss` is a trusted issuer.
    pub fn trusts(&self, iss: &str) -> bool {
        self.issuers.contains_key(iss)
    }

    /// The number of trusted issuers and key-only entries.
    pub fn len(&self) -> usize {
        self.issuers.len() + self.keys.len() + self.anchors.len()
    }

    /// True when nothing is trusted.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty() && self.keys.is_empty() && self.anchors.is_empty()
    }

    /// The status providers of `issuer` (empty for an unknown issuer).
    pub(crate) fn status_providers(&self, issuer: &str) -> &[String] {
        self.issuers
            .get(issuer)
            .map(TrustedIssuer::status_providers)
            .unwrap_or_default()
    }

    /// The key that signed a status list token: a trusted issuer's, or a did:key's
    /// own. A did:key signer need not be trusted as an issuer, because its tokens only
    /// ever apply to what it issued itself (lists are kept by signer, see
    /// [`crate::StatusLists`]) or to issuers that name it as their status provider:
    /// a sub-agent that delegated a hop, a principal who issued an approval.
    pub(crate) fn resolve_status_signer(
        &self,
        iss: &str,
        kid: Option<&str>,
    ) -> Result<std::borrow::Cow<'_, TrustedIssuer>, VerifyError> {
        match self.resolve(iss, kid) {
            Ok(issuer) => Ok(std::borrow::Cow::Borrowed(issuer)),
            Err(VerifyError::UntrustedIssuer(_)) if iss.starts_with("did:key:") => {
                let signer = TrustedIssuer::from_did(iss)
                    .map_err(|_| VerifyError::UntrustedIssuer(truncate(iss)))?;
                signer.check_kid(kid)?;
                Ok(std::borrow::Cow::Owned(signer))
            }
            Err(error) => Err(error),
        }
    }

    /// Finds the trusted issuer for `iss` and checks the header's `kid` against it,
    /// also accepting `extra` (an issuer trusted for one check only: the principal
    /// whose approval a presentation carries).
    pub(crate) fn resolve_with<'a>(
        &'a self,
        iss: &str,
        kid: Option<&str>,
        extra: Option<&'a TrustedIssuer>,
    ) -> Result<&'a TrustedIssuer, VerifyError> {
        match extra {
            Some(extra) if extra.id == iss => {
                extra.check_kid(kid)?;
                Ok(extra)
            }
            _ => self.resolve(iss, kid),
        }
    }

    /// A did:key issuer trusted for one check (see [`TrustStore::resolve_with`]).
    pub(crate) fn did_issuer(did: &str) -> Result<TrustedIssuer, KeyError> {
        TrustedIssuer::from_did(did)
    }

    /// Finds the trusted issuer for `iss` and checks the header's `kid` against it.
    pub(crate) fn resolve(
        &self,
        iss: &str,
        kid: Option<&str>,
    ) -> Result<&TrustedIssuer, VerifyError> {
        let issuer = self
            .issuers
            .get(iss)
            .ok_or_else(|| VerifyError::UntrustedIssuer(truncate(iss)))?;
        issuer.check_kid(kid)?;
        Ok(issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DID: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";

    #[test]
    fn trust_file_accepts_dids_and_pinned_jwks() {
        let file = format!(
            r#"{{"issuers":[{{"id":"{DID}"}},{{"id":"https://example.com/issuer","jwk":{{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}}}}]}}"#
        );
        let store = TrustStore::from_json(file.as_bytes()).expect("valid trust file");
        assert_eq!(store.len(), 2);
        assert!(store.resolve("https://example.com/issuer", None).is_ok());
        assert!(matches!(
            store.resolve("https://evil.example", None),
            Err(VerifyError::UntrustedIssuer(_))
        ));
    }

    #[test]
    fn did_issuer_kid_must_name_its_key() {
        let mut store = TrustStore::new();
        store.add_did(DID).expect("valid did");
        let fragment = &DID["did:key:".len()..];
        assert!(store.resolve(DID, None).is_ok());
        assert!(store
            .resolve(DID, Some(&format!("{DID}#{fragment}")))
            .is_ok());
        assert!(store.resolve(DID, Some(&format!("#{fragment}"))).is_ok());
        assert!(matches!(
            store.resolve(DID, Some("did:key:z6MkOther#z6MkOther")),
            Err(VerifyError::KeyIdMismatch(_))
        ));
    }

    #[test]
    fn malformed_trust_files_are_refused() {
        for bad in [
            &b"[]"[..],
            br#"{"issuers":[{"id":"https://x"}]}"#,
            br#"{"issuers":[{"id":"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp","jwk":{}}]}"#,
            br#"{"issuers":[{}]}"#,
            b"not json",
        ] {
            assert!(TrustStore::from_json(bad).is_err());
        }
    }
}
