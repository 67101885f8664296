//! OpenID4VCI 1.0 key proofs (`proofs.jwt`, Appendix F.1): the checks of §8.2.1.1
//! that need no state.
//!
//! A wallet proves it holds the key a credential will be bound to by signing a JWT
//! (`typ: openid4vci-proof+jwt`) for the credential issuer (`aud`), recently
//! (`iat`), over the issuer's `c_nonce` (`nonce`). The key is in the header: a
//! `jwk`, or a `kid` that is a did:key DID URL (resolved offline). [`verify_key_proof`]
//! checks all of that and returns the key; that the nonce was issued and is spent
//! once needs state and is the caller's job.

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::alg::Algorithm;
use crate::did_key;
use crate::jws::CompactJws;
use crate::key::PublicKey;

/// `typ` of an OpenID4VCI key proof (Appendix F.1).
pub const KEY_PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Longest key proof accepted, in bytes.
pub const MAX_KEY_PROOF_BYTES: usize = 8 * 1024;

/// Deepest JSON nesting in a proof's header or payload.
const MAX_DEPTH: usize = 8;

/// Longest `aud`, `nonce` or `kid`, in bytes.
const MAX_CLAIM_BYTES: usize = 2048;

/// What a key proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct KeyProofCheck<'a> {
    /// The credential issuer identifier: the proof's `aud`.
    pub issuer: &'a str,
    /// The `c_nonce` the issuer handed out, when it requires one.
    pub nonce: Option<&'a str>,
    /// The current time, in seconds.
    pub now: u64,
    /// How old a proof may be, in seconds (its `iat`).
    pub max_age_secs: u64,
    /// Clock difference tolerated either way, in seconds.
    pub skew_secs: u64,
}

/// A key proof that passed every stateless check.
#[derive(Debug, Clone)]
pub struct VerifiedKeyProof {
    /// The key the credential is to be bound to.
    pub key: PublicKey,
    /// The holder's DID, when the proof named its key by a did:key `kid`.
    pub did: Option<String>,
    /// The proof's `nonce`, if it carries one.
    pub nonce: Option<String>,
    /// When the proof was made.
    pub issued_at: u64,
}

/// Why a key proof was refused (OpenID4VCI error `invalid_proof`, or
/// `invalid_nonce` for [`KeyProofError::WrongNonce`]). Messages name the rule, never
/// a value from the proof.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyProofError {
    /// Not a well-formed proof.
    #[error("malformed key proof: {0}")]
    Malformed(String),
    /// The `typ` header is not `openid4vci-proof+jwt`.
    #[error("the key proof's typ is not openid4vci-proof+jwt")]
    WrongType,
    /// Not ES256, EdDSA or ES256K, or not the key's algorithm.
    #[error("the key proof's algorithm is not accepted (ES256, EdDSA or ES256K)")]
    AlgorithmNotAllowed,
    /// No usable key in the header: neither a `jwk` nor a did:key `kid`, both, an
    /// `x5c`, or a key carrying private material.
    #[error("the key proof names no usable key: {0}")]
    InvalidKey(String),
    /// The signature does not verify with the named key.
    #[error("the key proof's signature does not verify")]
    BadSignature,
    /// `aud` is not this credential issuer.
    #[error("the key proof is for another credential issuer")]
    WrongAudience,
    /// `iat` is older than the window allows.
    #[error("the key proof is too old")]
    Stale,
    /// `iat` is in the future beyond the clock skew.
    #[error("the key proof is issued in the future")]
    FromTheFuture,
    /// The issuer requires a nonce and the proof's is missing or another.
    #[error("the key proof does not carry the issuer's c_nonce")]
    WrongNonce,
}

/// Checks `proof` for the issuer `check` describes.
///
/// # Errors
/// The first [`KeyProofError`] found.
pub fn verify_key_proof(
    proof: &str,
    check: &KeyProofCheck<'_>,
) -> Result<VerifiedKeyProof, KeyProofError> {
    if proof.len() > MAX_KEY_PROOF_BYTES {
        return Err(KeyProofError::Malformed(format!(
            "longer than {MAX_KEY_PROOF_BYTES} bytes"
        )));
    }
    let jws = CompactJws::parse(proof, MAX_DEPTH, "key proof").map_err(|error| match error {
        crate::VerifyError::AlgorithmNotAllowed(_) => KeyProofError::AlgorithmNotAllowed,
        _ => KeyProofError::Malformed("not a compact JWS with JSON header and payload".into()),
    })?;
    if jws.typ.as_deref() != Some(KEY_PROOF_TYP) {
        return Err(KeyProofError::WrongType);
    }
    if !matches!(
        jws.alg,
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::ES256K
    ) {
        return Err(KeyProofError::AlgorithmNotAllowed);
    }
    if jws.x5c.is_some() {
        return Err(KeyProofError::InvalidKey(
            "x5c key proofs are not supported; use jwk or a did:key kid".into(),
        ));
    }
    let (key, did) = match (&jws.jwk, jws.kid.as_deref()) {
        (Some(jwk), None) => (
            PublicKey::from_jwk(jwk)
                .map_err(|error| KeyProofError::InvalidKey(error.to_string()))?,
            None,
        ),
        (None, Some(kid)) => {
            if kid.len() > MAX_CLAIM_BYTES {
                return Err(KeyProofError::InvalidKey("kid is too long".into()));
            }
            let did = did_key::did_from_key_id(kid)
                .map_err(|error| KeyProofError::InvalidKey(error.to_string()))?;
            let key = did_key::decode(did)
                .map_err(|error| KeyProofError::InvalidKey(error.to_string()))?;
            (key, Some(did.to_owned()))
        }
        (Some(_), Some(_)) => {
            return Err(KeyProofError::InvalidKey(
                "kid must not be present with jwk (Appendix F.1)".into(),
            ))
        }
        (None, None) => return Err(KeyProofError::InvalidKey("no jwk and no kid".into())),
    };
    if key.algorithm() != jws.alg {
        return Err(KeyProofError::AlgorithmNotAllowed);
    }
    key.verify(jws.alg, jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| KeyProofError::BadSignature)?;

    let claims = &jws.payload;
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => same_issuer(aud, check.issuer),
        Some(Value::Array(auds)) if auds.len() <= 16 => auds.iter().any(|aud| {
            aud.as_str()
                .is_some_and(|aud| same_issuer(aud, check.issuer))
        }),
        _ => {
            return Err(KeyProofError::Malformed(
                "aud must be the credential issuer".into(),
            ))
        }
    };
    if !audience_ok {
        return Err(KeyProofError::WrongAudience);
    }
    let issued_at = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or_else(|| KeyProofError::Malformed("iat must be whole seconds".into()))?;
    if issued_at > check.now.saturating_add(check.skew_secs) {
        return Err(KeyProofError::FromTheFuture);
    }
    if issued_at.saturating_add(check.max_age_secs + check.skew_secs) < check.now {
        return Err(KeyProofError::Stale);
    }
    let nonce = optional_text(claims, "nonce")?;
    if let Some(expected) = check.nonce {
        match nonce {
            Some(nonce) if bool::from(nonce.as_bytes().ct_eq(expected.as_bytes())) => {}
            _ => return Err(KeyProofError::WrongNonce),
        }
    }
    Ok(VerifiedKeyProof {
        key,
        did,
        nonce: nonce.map(str::to_owned),
        issued_at,
    })
}

/// Credential issuer identifiers compare as strings (§12.2.1); a trailing slash is
/// forgiven, as wallets differ on it.
fn same_issuer(aud: &str, issuer: &str) -> bool {
    aud.trim_end_matches('/') == issuer.trim_end_matches('/')
}

fn optional_text<'c>(
    claims: &'c Map<String, Value>,
    name: &str,
) -> Result<Option<&'c str>, KeyProofError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if value.len() <= MAX_CLAIM_BYTES => Ok(Some(value)),
        Some(_) => Err(KeyProofError::Malformed(format!(
            "{name} must be a short string"
        ))),
    }
}

#[cfg(test)]
#[path = "key_proof_tests.rs"]
mod tests;
