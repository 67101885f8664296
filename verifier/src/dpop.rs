//! DPoP proofs (RFC 9449): the checks of §4.3 that need no state.
//!
//! A proof is a JWT (`typ: dpop+jwt`) signed with the key in its own `jwk` header,
//! naming the HTTP method (`htm`) and URL (`htu`) of one request, when it was made
//! (`iat`), a unique `jti`, and, when it comes with an access token, that token's
//! hash (`ath`). [`verify_dpop_proof`] checks all of that; remembering `jti`s to
//! refuse a replayed proof needs state and is the caller's job (the window a `jti`
//! must be remembered for is the `iat` window, `max_age_secs + 2 * skew_secs`).
//!
//! A sender-constrained token carries `cnf.jkt`, the RFC 7638 thumbprint of the
//! proof key ([`jwk_thumbprint`]); compare it with [`VerifiedDpop::is_bound_to`],
//! which does so in constant time.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use url::Url;

use crate::alg::Algorithm;
use crate::encoding::b64url_encode;
use crate::jws::CompactJws;
use crate::key::PublicKey;

/// `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";

/// Longest DPoP proof accepted, in bytes: a P-256 proof with an access-token hash
/// and a nonce is about 700.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Deepest JSON nesting in a proof's header or payload.
const MAX_DEPTH: usize = 8;

/// Longest `jti`, `htm`, `htu` and `nonce`, in bytes.
const MAX_CLAIM_BYTES: usize = 2048;

/// The request a DPoP proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct DpopCheck<'a> {
    /// The request's HTTP method (`GET`, `POST`, …), compared exactly (§4.3 step 8).
    pub method: &'a str,
    /// The request's URL as the server knows itself (not the `Host` header); query
    /// and fragment are ignored on both sides (§4.3 step 9).
    pub url: &'a str,
    /// The access token the proof accompanies: its hash must be the proof's `ath`.
    /// `None` at a token endpoint, where the proof must not carry one.
    pub access_token: Option<&'a str>,
    /// The nonce the server handed out (`DPoP-Nonce`), when it requires one.
    pub nonce: Option<&'a str>,
    /// The current time, in seconds.
    pub now: u64,
    /// How old a proof may be, in seconds (its `iat`).
    pub max_age_secs: u64,
    /// Clock difference tolerated either way, in seconds.
    pub skew_secs: u64,
}

/// A proof that passed every stateless check.
#[derive(Debug, Clone)]
pub struct VerifiedDpop {
    /// The RFC 7638 thumbprint of the proof key, as `cnf.jkt` carries it.
    pub jkt: String,
    /// The proof's unique identifier: remember it for the `iat` window to refuse replays.
    pub jti: String,
    /// When the proof was made.
    pub issued_at: u64,
    /// The proof key.
    pub key: PublicKey,
}

impl VerifiedDpop {
    /// Whether the proof key is the one a token is bound to (`cnf.jkt`), compared in
    /// constant time.
    pub fn is_bound_to(&self, jkt: &str) -> bool {
        self.jkt.as_bytes().ct_eq(jkt.as_bytes()).into()
    }
}

/// Why a DPoP proof was refused. Messages name the rule, never a value from the proof.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Not a well-formed proof: not a JWT, a claim missing or of the wrong type, too large.
    #[error("malformed DPoP proof: {0}")]
    Malformed(String),
    /// The `typ` header is not `dpop+jwt`.
    #[error("the DPoP proof's typ is not dpop+jwt")]
    WrongType,
    /// The algorithm is not on the allow-list, or does not fit the key.
    #[error("the DPoP proof's algorithm is not accepted")]
    AlgorithmNotAllowed,
    /// The `jwk` header is missing, not a supported public key, or holds private material.
    #[error("the DPoP proof's jwk header is not a usable public key: {0}")]
    InvalidKey(String),
    /// The signature does not verify with the proof's own key.
    #[error("the DPoP proof's signature does not verify")]
    BadSignature,
    /// `htm` is not the request's method.
    #[error("the DPoP proof is for another HTTP method")]
    WrongMethod,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof is for another URL")]
    WrongUrl,
    /// `iat` is older than the window allows.
    #[error("the DPoP proof is too old")]
    Stale,
    /// `iat` is in the future beyond the clock skew.
    #[error("the DPoP proof is issued in the future")]
    FromTheFuture,
    /// An access token was presented and the proof's `ath` is missing or not its hash;
    /// or no token was presented and the proof carries an `ath`.
    #[error("the DPoP proof's ath does not match the access token")]
    WrongAccessToken,
    /// The server requires a nonce and the proof's is missing or another.
    #[error("the DPoP proof does not carry the server's nonce")]
    WrongNonce,
}

/// Checks `proof` for the request `check` describes (RFC 9449 §4.3, steps 2–12).
///
/// # Errors
/// The first [`DpopError`] found.
pub fn verify_dpop_proof(proof: &str, check: &DpopCheck<'_>) -> Result<VerifiedDpop, DpopError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::Malformed(format!(
            "longer than {MAX_PROOF_BYTES} bytes"
        )));
    }
    let jws = CompactJws::parse(proof, MAX_DEPTH, "DPoP proof").map_err(|error| match error {
        crate::VerifyError::AlgorithmNotAllowed(_) => DpopError::AlgorithmNotAllowed,
        _ => DpopError::Malformed("not a compact JWS with JSON header and payload".into()),
    })?;
    if jws.typ.as_deref() != Some(DPOP_TYP) {
        return Err(DpopError::WrongType);
    }
    if !matches!(
        jws.alg,
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::ES256K
    ) {
        return Err(DpopError::AlgorithmNotAllowed);
    }
    let jwk = jws
        .jwk
        .as_ref()
        .ok_or_else(|| DpopError::InvalidKey("missing".into()))?;
    let key = PublicKey::from_jwk(jwk).map_err(|error| DpopError::InvalidKey(error.to_string()))?;
    if key.algorithm() != jws.alg {
        return Err(DpopError::AlgorithmNotAllowed);
    }
    key.verify(jws.alg, jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| DpopError::BadSignature)?;

    let claims = &jws.payload;
    let jti = text(claims, "jti")?;
    if jti.is_empty() {
        return Err(DpopError::Malformed("jti is empty".into()));
    }
    if text(claims, "htm")? != check.method {
        return Err(DpopError::WrongMethod);
    }
    if !same_target(text(claims, "htu")?, check.url) {
        return Err(DpopError::WrongUrl);
    }
    let issued_at = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or_else(|| DpopError::Malformed("iat must be whole seconds".into()))?;
    if issued_at > check.now.saturating_add(check.skew_secs) {
        return Err(DpopError::FromTheFuture);
    }
    if issued_at.saturating_add(check.max_age_secs + check.skew_secs) < check.now {
        return Err(DpopError::Stale);
    }
    let ath = optional_text(claims, "ath")?;
    match (check.access_token, ath) {
        (None, None) => {}
        (Some(token), Some(ath)) if equal(ath, &access_token_hash(token)) => {}
        _ => return Err(DpopError::WrongAccessToken),
    }
    if let Some(expected) = check.nonce {
        match optional_text(claims, "nonce")? {
            Some(nonce) if equal(nonce, expected) => {}
            _ => return Err(DpopError::WrongNonce),
        }
    }
    Ok(VerifiedDpop {
        jkt: jwk_thumbprint(&key),
        jti: jti.to_owned(),
        issued_at,
        key,
    })
}

/// The RFC 7638 JWK thumbprint of `key` (SHA-256, base64url): the required members
/// in lexicographic order, no whitespace.
pub fn jwk_thumbprint(key: &PublicKey) -> String {
    let jwk = key.to_jwk();
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    let canonical = match key {
        PublicKey::Ed25519(_) => format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
            member("crv"),
            member("kty"),
            member("x")
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            member("crv"),
            member("kty"),
            member("x"),
            member("y")
        ),
    };
    b64url_encode(&Sha256::digest(canonical.as_bytes()))
}

/// The `ath` of an access token: base64url SHA-256 of its ASCII text (§4.2).
pub fn access_token_hash(access_token: &str) -> String {
    b64url_encode(&Sha256::digest(access_token.as_bytes()))
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, DpopError> {
    optional_text(claims, name)?.ok_or_else(|| DpopError::Malformed(format!("{name} is missing")))
}

fn optional_text<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, DpopError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if value.len() <= MAX_CLAIM_BYTES => Ok(Some(value)),
        Some(Value::String(_)) => Err(DpopError::Malformed(format!(
            "{name} is longer than {MAX_CLAIM_BYTES} bytes"
        ))),
        Some(_) => Err(DpopError::Malformed(format!("{name} must be a string"))),
    }
}

fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Whether two URLs name the same target once parsed (WHATWG: scheme and host
/// lower-cased, default port dropped, dot segments resolved), query and fragment
/// ignored (§4.3 step 9). A URL that does not parse matches nothing.
fn same_target(htu: &str, url: &str) -> bool {
    let strip = |text: &str| {
        let mut url = Url::parse(text).ok()?;
        if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        url.set_query(None);
        url.set_fragment(None);
        Some(url)
    };
    match (strip(htu), strip(url)) {
        (Some(htu), Some(url)) => htu == url,
        _ => false,
    }
}

#[cfg(test)]
#[path = "dpop_tests.rs"]
mod tests;
