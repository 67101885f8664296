//! Caller authentication by signed JWT: RFC 7523 client assertions and SPIFFE
//! JWT-SVIDs, the checks that need no state.
//!
//! A service that acts only for known callers (the issuer service mints only for an
//! orchestrator it knows) takes `Authorization: Bearer <JWT>`, where the JWT is one
//! of two shapes:
//!
//! - **A client assertion** (RFC 7523 §3): `iss` and `sub` the caller's id, `aud`
//!   the service's URL, `exp`, `iat`, and a `jti` the service accepts once. It is
//!   signed by a key the operator configured for that caller ([`CallerKeys::add_caller`]).
//! - **A SPIFFE JWT-SVID** (SPIFFE JWT-SVID §3): `sub` a SPIFFE ID
//!   (`spiffe://trust-domain/path`), `aud`, `exp`; its `kid` names a JWT authority in
//!   the trust bundle of the ID's trust domain ([`CallerKeys::add_spiffe_authority`]).
//!   The SPIFFE ID must also be a configured caller ([`CallerKeys::allow_spiffe_id`]):
//!   a trust domain holds many workloads, and only those named may call. An SVID
//!   is a bearer token reused until it expires, so it need not carry a `jti`; when it
//!   does, it is single-use like an assertion.
//!
//! [`verify_client_assertion`] returns the caller and the `jti` to spend; refusing
//! a replayed `jti` needs state and is the caller's job, for as long as the
//! assertion could still be accepted (its `exp` plus the clock skew).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use thiserror::Error;

use crate::alg::Algorithm;
use crate::jws::CompactJws;
use crate::key::PublicKey;

/// Longest assertion accepted, in bytes.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// Deepest JSON nesting in an assertion's header or payload.
const MAX_DEPTH: usize = 8;

/// Longest caller id, `jti` or audience, in bytes.
const MAX_CLAIM_BYTES: usize = 2048;

/// `typ` values that name another kind of token: a DPoP proof, a status list, a
/// key proof or an access token presented as an assertion is refused, so a token
/// made for one protocol is never accepted by another.
const FOREIGN_TYPS: [&str; 7] = [
    "dpop+jwt",
    "statuslist+jwt",
    "openid4vci-proof+jwt",
    "at+jwt",
    "kb+jwt",
    "dc+sd-jwt",
    "vc+sd-jwt",
];

/// The keys callers sign with, from the operator's configuration.
#[derive(Debug, Clone, Default)]
pub struct CallerKeys {
    /// Caller id → its keys, each with the `kid` it must name (if configured).
    callers: HashMap<String, Vec<(Option<String>, PublicKey)>>,
    /// SPIFFE IDs allowed to call.
    spiffe_ids: HashSet<String>,
    /// Trust domain → `kid` → JWT authority.
    spiffe_authorities: HashMap<String, HashMap<String, PublicKey>>,
}

impl CallerKeys {
    /// No callers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key of the caller `id`; with `kid`, an assertion signed by it must name
    /// that `kid`. A caller may have several keys (rotation).
    pub fn add_caller(&mut self, id: impl Into<String>, kid: Option<String>, key: PublicKey) {
        self.callers.entry(id.into()).or_default().push((kid, key));
    }

    /// Allows the SPIFFE ID `id` (`spiffe://trust-domain/path`) to call with a
    /// JWT-SVID.
    ///
    /// # Errors
    /// [`AssertionError::Malformed`] if `id` is not a SPIFFE ID.
    pub fn allow_spiffe_id(&mut self, id: &str) -> Result<(), AssertionError> {
        trust_domain(id)?;
        self.spiffe_ids.insert(id.to_owned());
        Ok(())
    }

    /// Adds a JWT authority (a key of the trust bundle, `use: jwt-svid`) of
    /// `trust_domain`, under its `kid`.
    pub fn add_spiffe_authority(
        &mut self,
        trust_domain: impl Into<String>,
        kid: impl Into<String>,
        key: PublicKey,
    ) {
        self.spiffe_authorities
            .entry(trust_domain.into())
            .or_default()
            .insert(kid.into(), key);
    }

    /// How many callers (assertion callers and SPIFFE IDs) are configured.
    pub fn len(&self) -> usize {
        self.callers.len() + self.spiffe_ids.len()
    }

    /// Whether no caller is configured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is a configured caller.
    pub fn knows(&self, id: &str) -> bool {
        self.callers.contains_key(id) || self.spiffe_ids.contains(id)
    }
}

/// What an assertion must be for.
#[derive(Debug, Clone, Copy)]
pub struct AssertionCheck<'a> {
    /// The service's own identifier: `aud` must be it or contain it.
    pub audience: &'a str,
    /// The current time, in seconds.
    pub now: u64,
    /// The longest an assertion may live (`exp − iat`, or for an SVID without `iat`,
    /// `exp − now`), in seconds: a leaked assertion is useless soon.
    pub max_lifetime_secs: u64,
    /// Clock difference tolerated either way, in seconds.
    pub skew_secs: u64,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionKind {
    /// An RFC 7523 client assertion signed by a configured caller key.
    ClientAssertion,
    /// A SPIFFE JWT-SVID signed by a trust bundle's JWT authority.
    JwtSvid,
}

/// An assertion that passed every stateless check.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    /// The caller's id (`iss` of an assertion, the SPIFFE ID of an SVID).
    pub caller: String,
    /// The `jti` to accept once; always present for a client assertion.
    pub jti: Option<String>,
    /// Its `exp`: remember the `jti` until then (plus the skew).
    pub expires_at: u64,
    /// How the caller authenticated.
    pub kind: AssertionKind,
}

/// Why an assertion was refused. Messages name the rule, never a value from the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Not a well-formed assertion: not a JWT, a claim missing or of the wrong type.
    #[error("malformed client assertion: {0}")]
    Malformed(String),
    /// The token's `typ` names another kind of token.
    #[error("the token is not a client assertion (its typ names another kind of token)")]
    WrongType,
    /// Not signed with ES256, EdDSA or ES256K, or not with the key's algorithm.
    #[error("the client assertion's algorithm is not accepted (ES256, EdDSA or ES256K)")]
    AlgorithmNotAllowed,
    /// The caller (or the SPIFFE ID) is not configured, or no key matches its `kid`.
    #[error("unknown caller")]
    UnknownCaller,
    /// The signature does not verify with the caller's key.
    #[error("the client assertion's signature does not verify")]
    BadSignature,
    /// `aud` is not this service.
    #[error("the client assertion is for another audience")]
    WrongAudience,
    /// `exp` has passed.
    #[error("the client assertion has expired")]
    Expired,
    /// `iat` (or `nbf`) is in the future beyond the clock skew.
    #[error("the client assertion is issued in the future")]
    FromTheFuture,
    /// It lives longer than the service allows.
    #[error("the client assertion lives longer than {0} s")]
    TooLongLived(u64),
}

/// Checks `token` against the configured `keys` for the service `check` describes.
///
/// # Errors
/// The first [`AssertionError`] found.
pub fn verify_client_assertion(
    token: &str,
    keys: &CallerKeys,
    check: &AssertionCheck<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    if token.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::Malformed(format!(
            "longer than {MAX_ASSERTION_BYTES} bytes"
        )));
    }
    let jws =
        CompactJws::parse(token, MAX_DEPTH, "client assertion").map_err(|error| match error {
            crate::VerifyError::AlgorithmNotAllowed(_) => AssertionError::AlgorithmNotAllowed,
            _ => AssertionError::Malformed("not a compact JWS with JSON header and payload".into()),
        })?;
    if jws.typ.as_deref().is_some_and(|typ| {
        FOREIGN_TYPS
            .iter()
            .any(|foreign| typ.eq_ignore_ascii_case(foreign))
    }) {
        return Err(AssertionError::WrongType);
    }
    if !matches!(
        jws.alg,
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::ES256K
    ) {
        return Err(AssertionError::AlgorithmNotAllowed);
    }
    let claims = &jws.payload;
    let subject = text(claims, "sub")?;
    let issuer = optional_text(claims, "iss")?;
    let (caller, key, kind) = match issuer {
        Some(issuer) if keys.callers.contains_key(issuer) => {
            // RFC 7523 §3 B: for client authentication, `sub` is the client itself.
            if subject != issuer {
                return Err(AssertionError::Malformed(
                    "sub must equal iss (RFC 7523 §3)".into(),
                ));
            }
            let key = caller_key(keys, issuer, jws.kid.as_deref())?;
            (issuer, key, AssertionKind::ClientAssertion)
        }
        _ if subject.starts_with("spiffe://") => {
            if !keys.spiffe_ids.contains(subject) {
                return Err(AssertionError::UnknownCaller);
            }
            let domain = trust_domain(subject)?;
            let kid = jws.kid.as_deref().ok_or_else(|| {
                AssertionError::Malformed("a JWT-SVID names its authority by kid".into())
            })?;
            let key = keys
                .spiffe_authorities
                .get(domain)
                .and_then(|authorities| authorities.get(kid))
                .ok_or(AssertionError::UnknownCaller)?;
            (subject, key, AssertionKind::JwtSvid)
        }
        _ => return Err(AssertionError::UnknownCaller),
    };
    if key.algorithm() != jws.alg {
        return Err(AssertionError::AlgorithmNotAllowed);
    }
    key.verify(jws.alg, jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| AssertionError::BadSignature)?;

    if !audience_matches(claims.get("aud"), check.audience)? {
        return Err(AssertionError::WrongAudience);
    }
    let expires_at =
        date(claims, "exp")?.ok_or_else(|| AssertionError::Malformed("no exp".into()))?;
    if check.now > expires_at.saturating_add(check.skew_secs) {
        return Err(AssertionError::Expired);
    }
    let issued_at = date(claims, "iat")?;
    let not_before = date(claims, "nbf")?;
    let latest = check.now.saturating_add(check.skew_secs);
    if issued_at.is_some_and(|iat| iat > latest) || not_before.is_some_and(|nbf| nbf > latest) {
        return Err(AssertionError::FromTheFuture);
    }
    let jti = optional_text(claims, "jti")?.map(str::to_owned);
    if kind == AssertionKind::ClientAssertion {
        if issued_at.is_none() {
            return Err(AssertionError::Malformed("no iat".into()));
        }
        if jti.as_deref().is_none_or(str::is_empty) {
            return Err(AssertionError::Malformed(
                "no jti: a client assertion is accepted once".into(),
            ));
        }
    }
    let lifetime = expires_at.saturating_sub(issued_at.unwrap_or(check.now));
    if lifetime > check.max_lifetime_secs.saturating_add(check.skew_secs) {
        return Err(AssertionError::TooLongLived(check.max_lifetime_secs));
    }
    Ok(VerifiedAssertion {
        caller: caller.to_owned(),
        jti,
        expires_at,
        kind,
    })
}

/// The caller's key for `kid`: the one configured under that `kid`, else (no `kid`
/// in the token) the caller's only key.
fn caller_key<'k>(
    keys: &'k CallerKeys,
    caller: &str,
    kid: Option<&str>,
) -> Result<&'k PublicKey, AssertionError> {
    let candidates = keys
        .callers
        .get(caller)
        .ok_or(AssertionError::UnknownCaller)?;
    let found = match kid {
        Some(kid) => candidates
            .iter()
            .find(|(configured, _)| configured.as_deref() == Some(kid))
            .or_else(|| match candidates.as_slice() {
                // A caller with one key and no configured kid may name any kid.
                [(None, _)] => candidates.first(),
                _ => None,
            }),
        None => match candidates.as_slice() {
            [only] => Some(only),
            _ => None,
        },
    };
    found
        .map(|(_, key)| key)
        .ok_or(AssertionError::UnknownCaller)
}

/// The trust domain of a SPIFFE ID (SPIFFE ID §2).
fn trust_domain(id: &str) -> Result<&str, AssertionError> {
    let rest = id
        .strip_prefix("spiffe://")
        .ok_or_else(|| AssertionError::Malformed("not a SPIFFE ID".into()))?;
    let domain = rest.split('/').next().unwrap_or_default();
    let valid = !domain.is_empty()
        && domain.len() <= 255
        && domain
            .bytes()
            .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_'));
    if !valid || id.len() > MAX_CLAIM_BYTES || id.contains(['?', '#']) {
        return Err(AssertionError::Malformed("not a SPIFFE ID".into()));
    }
    Ok(domain)
}

/// Whether `aud` (a string or an array of strings) names `audience`.
fn audience_matches(aud: Option<&Value>, audience: &str) -> Result<bool, AssertionError> {
    let same = |value: &str| value.trim_end_matches('/') == audience.trim_end_matches('/');
    match aud {
        Some(Value::String(value)) => Ok(same(value)),
        Some(Value::Array(values)) if !values.is_empty() && values.len() <= 16 => {
            Ok(values.iter().any(|value| value.as_str().is_some_and(same)))
        }
        _ => Err(AssertionError::Malformed(
            "aud must be a string or a short array of strings".into(),
        )),
    }
}

fn text<'c>(claims: &'c Map<String, Value>, name: &str) -> Result<&'c str, AssertionError> {
    optional_text(claims, name)?.ok_or_else(|| AssertionError::Malformed(format!("no {name}")))
}

fn optional_text<'c>(
    claims: &'c Map<String, Value>,
    name: &str,
) -> Result<Option<&'c str>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if value.len() <= MAX_CLAIM_BYTES => Ok(Some(value)),
        Some(Value::String(_)) => Err(AssertionError::Malformed(format!("{name} is too long"))),
        Some(_) => Err(AssertionError::Malformed(format!(
            "{name} must be a string"
        ))),
    }
}

fn date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| AssertionError::Malformed(format!("{name} must be whole seconds"))),
    }
}

#[cfg(test)]
#[path = "client_assertion_tests.rs"]
mod tests;
