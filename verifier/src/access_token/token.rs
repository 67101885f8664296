//! RFC 9068 JWT access tokens: parse (untrusted), then validate into [`AccessToken`].

use serde_json::{Map, Value};

use super::error::AccessTokenError;
use super::jwk_set::JwkSet;
use crate::alg::Algorithm;
use crate::jws::CompactJws;

/// The `typ` of an RFC 9068 access token (`application/at+jwt` is accepted too).
pub const AT_JWT_TYP: &str = "at+jwt";

/// Default largest access token accepted, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Default clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_ACCESS_TOKEN_SKEW_SECS: u64 = 60;

/// Deepest JSON nesting in a token header or payload (nested `act` chains included).
const MAX_TOKEN_DEPTH: usize = 16;

/// Most entries in `aud` or `scope`.
const MAX_LIST_ENTRIES: usize = 64;

/// A parsed access token whose signature and claims are not checked yet.
///
/// Its issuer and key id are untrusted hints, useful only to pick which
/// authorization server's keys to validate it with. `Debug` shows the algorithm
/// and key id only: never the claims or the token.
#[derive(Clone)]
pub struct UnverifiedAccessToken<'a> {
    jws: CompactJws<'a>,
}

impl std::fmt::Debug for UnverifiedAccessToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedAccessToken")
            .field("alg", &self.jws.alg)
            .field("kid", &self.jws.kid)
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedAccessToken<'a> {
    /// Parses a compact JWS of at most `max_bytes` bytes. Only the structure is
    /// checked here: a JWS whose header and payload are JSON objects and whose `alg`
    /// is one agentid knows.
    ///
    /// # Errors
    /// [`AccessTokenError::TooLarge`], [`AccessTokenError::Malformed`],
    /// [`AccessTokenError::AlgorithmNotAllowed`].
    pub fn parse(token: &'a str, max_bytes: usize) -> Result<Self, AccessTokenError> {
        if token.len() > max_bytes {
            return Err(AccessTokenError::TooLarge);
        }
        let jws =
            CompactJws::parse(token, MAX_TOKEN_DEPTH, "access token").map_err(
                |error| match error {
                    crate::VerifyError::AlgorithmNotAllowed(_) => {
                        AccessTokenError::AlgorithmNotAllowed
                    }
                    _ => {
                        AccessTokenError::Malformed("not a compact JWS with JSON header and claims")
                    }
                },
            )?;
        Ok(UnverifiedAccessToken { jws })
    }

    /// The `iss` claim, unverified.
    pub fn unverified_issuer(&self) -> Option<&str> {
        self.jws.payload.get("iss").and_then(Value::as_str)
    }

    /// The header `kid`, unverified.
    pub fn kid(&self) -> Option<&str> {
        self.jws.kid.as_deref()
    }
}

/// A validated access token. Only [`AccessTokenValidator::validate`] builds one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccessToken {
    /// `iss`: the authorization server.
    pub issuer: String,
    /// `sub`: the agent (its DID in agentid tokens).
    pub subject: String,
    /// `client_id`.
    pub client_id: String,
    /// `aud`, as one or more entries (one of them is this resource).
    pub audience: Vec<String>,
    /// `jti`.
    pub jti: String,
    /// `iat`.
    pub issued_at: u64,
    /// `exp`.
    pub expires_at: u64,
    /// `nbf`, when present.
    pub not_before: Option<u64>,
    /// `scope`, split on spaces (empty when absent).
    pub scope: Vec<String>,
    /// `cnf.jkt`: the RFC 7638 thumbprint of the DPoP key the token is bound to.
    pub jkt: Option<String>,
    /// `act`: the RFC 8693 actor chain (who delegated to `sub`), unparsed.
    pub act: Option<Value>,
    /// `on_behalf_of`: the principal.
    pub on_behalf_of: Option<String>,
    /// `task_id`.
    pub task_id: Option<String>,
    /// `constraints`: the limits the resource is to enforce (e.g. `max_amount`).
    pub constraints: Option<Map<String, Value>>,
    /// The header `alg` the signature was checked with.
    pub algorithm: Algorithm,
    /// The header `kid`.
    pub kid: String,
}

impl AccessToken {
    /// True when `scope` holds exactly `wanted`.
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.iter().any(|granted| granted == wanted)
    }

    /// True when the token is sender-constrained (`cnf.jkt`): it may only be used
    /// with a DPoP proof of that key.
    pub fn is_dpop_bound(&self) -> bool {
        self.jkt.is_some()
    }
}

/// Checks access tokens for one resource from one authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenValidator {
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    clock_skew_secs: u64,
    max_token_bytes: usize,
}

impl AccessTokenValidator {
    /// A validator for tokens issued by `issuer` (compared exactly with `iss`) for
    /// the resource `audience` (one `aud` entry must equal it exactly). Defaults:
    /// ES256 and EdDSA, 60 s of clock skew, tokens up to 8 KiB.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        AccessTokenValidator {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA],
            clock_skew_secs: DEFAULT_ACCESS_TOKEN_SKEW_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Sets the algorithms accepted (the allow-list within [`Algorithm`]).
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets the clock skew tolerated, in seconds.
    pub fn with_clock_skew(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// Sets the largest token accepted, in bytes.
    pub fn with_max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The issuer this validator accepts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The resource this validator accepts tokens for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The largest token accepted, in bytes.
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// Parses and validates `token` with `keys` at time `now` (seconds).
    ///
    /// # Errors
    /// See [`AccessTokenValidator::validate_parsed`].
    pub fn validate(
        &self,
        token: &str,
        keys: &JwkSet,
        now: u64,
    ) -> Result<AccessToken, AccessTokenError> {
        self.validate_parsed(
            UnverifiedAccessToken::parse(token, self.max_token_bytes)?,
            keys,
            now,
        )
    }

    /// Validates a parsed token (RFC 9068 §4), in this order: header `typ`
    /// (`at+jwt`), `alg` on the allow-list, `kid` present and in `keys`, the
    /// signature, then the claims: `iss` equal to the issuer, `aud` (a string or an
    /// array) holding the audience, `exp` and `iat` present, `exp`, `nbf` and `iat`
    /// against `now` with the clock skew, `sub`, `client_id` and `jti` non-empty
    /// strings, `scope` a space-separated string of RFC 6749 §3.3 scope tokens, and
    /// `cnf` either absent or `{"jkt": …}`.
    ///
    /// # Errors
    /// [`AccessTokenError`]: [`UnknownKey`](AccessTokenError::UnknownKey) when the
    /// `kid` is not in `keys` (the caller may refetch them), the others as named.
    pub fn validate_parsed(
        &self,
        token: UnverifiedAccessToken<'_>,
        keys: &JwkSet,
        now: u64,
    ) -> Result<AccessToken, AccessTokenError> {
        let jws = token.jws;
        match jws.typ.as_deref() {
            Some(typ)
                if typ.eq_ignore_ascii_case(AT_JWT_TYP)
                    || typ.eq_ignore_ascii_case("application/at+jwt") => {}
            _ => return Err(AccessTokenError::UnexpectedType),
        }
        if !self.algorithms.contains(&jws.alg) {
            return Err(AccessTokenError::AlgorithmNotAllowed);
        }
        let kid = jws.kid.ok_or(AccessTokenError::MissingKid)?;
        let key = keys.get(&kid).ok_or(AccessTokenError::UnknownKey)?;
        key.verify(jws.alg, jws.signing_input.as_bytes(), &jws.signature)
            .map_err(|_| AccessTokenError::InvalidSignature)?;

        let claims = jws.payload;
        if required_string(&claims, "iss")? != self.issuer {
            return Err(AccessTokenError::IssuerMismatch);
        }
        let audience = audience(&claims)?;
        if !audience.iter().any(|entry| *entry == self.audience) {
            return Err(AccessTokenError::AudienceMismatch);
        }
        let expires_at =
            numeric_date(&claims, "exp")?.ok_or(AccessTokenError::MissingClaim("exp"))?;
        let issued_at =
            numeric_date(&claims, "iat")?.ok_or(AccessTokenError::MissingClaim("iat"))?;
        let not_before = numeric_date(&claims, "nbf")?;
        let skew = self.clock_skew_secs;
        if now > expires_at.saturating_add(skew) {
            return Err(AccessTokenError::Expired);
        }
        if [Some(issued_at), not_before]
            .iter()
            .flatten()
            .any(|from| *from > now.saturating_add(skew))
        {
            return Err(AccessTokenError::NotYetValid);
        }
        let subject = required_string(&claims, "sub")?.to_owned();
        let client_id = required_string(&claims, "client_id")?.to_owned();
        let jti = required_string(&claims, "jti")?.to_owned();
        let scope = scope(&claims)?;
        let jkt = confirmation(&claims)?;
        let on_behalf_of = optional_string(&claims, "on_behalf_of")?;
        let task_id = optional_string(&claims, "task_id")?;
        let act = match claims.get("act") {
            None => None,
            Some(act @ Value::Object(_)) => Some(act.clone()),
            Some(_) => return Err(AccessTokenError::Malformed("act must be an object")),
        };
        let constraints = match claims.get("constraints") {
            None => None,
            Some(Value::Object(constraints)) => Some(constraints.clone()),
            Some(_) => return Err(AccessTokenError::Malformed("constraints must be an object")),
        };
        Ok(AccessToken {
            issuer: self.issuer.clone(),
            subject,
            client_id,
            audience: audience.into_iter().map(str::to_owned).collect(),
            jti,
            issued_at,
            expires_at,
            not_before,
            scope,
            jkt,
            act,
            on_behalf_of,
            task_id,
            constraints,
            algorithm: jws.alg,
            kid,
        })
    }
}

fn required_string<'c>(
    claims: &'c Map<String, Value>,
    name: &'static str,
) -> Result<&'c str, AccessTokenError> {
    match claims.get(name) {
        None => Err(AccessTokenError::MissingClaim(name)),
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(_) => Err(AccessTokenError::Malformed(
            "iss, sub, client_id and jti must be non-empty strings",
        )),
    }
}

fn optional_string(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, AccessTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(AccessTokenError::Malformed(
            "on_behalf_of and task_id must be strings",
        )),
    }
}

fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, AccessTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or(AccessTokenError::Malformed(
            "exp, iat and nbf must be whole non-negative seconds",
        )),
    }
}

fn audience(claims: &Map<String, Value>) -> Result<Vec<&str>, AccessTokenError> {
    const SHAPE: &str = "aud must be a string or an array of strings";
    match claims.get("aud") {
        None => Err(AccessTokenError::MissingClaim("aud")),
        Some(Value::String(aud)) => Ok(vec![aud]),
        Some(Value::Array(entries)) if entries.len() <= MAX_LIST_ENTRIES => entries
            .iter()
            .map(|entry| entry.as_str().ok_or(AccessTokenError::Malformed(SHAPE)))
            .collect(),
        Some(_) => Err(AccessTokenError::Malformed(SHAPE)),
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, separated by one space.
fn scope(claims: &Map<String, Value>) -> Result<Vec<String>, AccessTokenError> {
    const SHAPE: &str = "scope must be space-separated RFC 6749 scope tokens";
    let text = match claims.get("scope") {
        None => return Ok(Vec::new()),
        Some(Value::String(text)) => text,
        Some(_) => return Err(AccessTokenError::Malformed(SHAPE)),
    };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let tokens: Vec<&str> = text.split(' ').collect();
    let valid = |token: &&str| {
        !token.is_empty()
            && token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    };
    if tokens.len() > MAX_LIST_ENTRIES || !tokens.iter().all(valid) {
        return Err(AccessTokenError::Malformed(SHAPE));
    }
    Ok(tokens.into_iter().map(str::to_owned).collect())
}

fn confirmation(claims: &Map<String, Value>) -> Result<Option<String>, AccessTokenError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let cnf = cnf
        .as_object()
        .ok_or(AccessTokenError::Malformed("cnf must be an object"))?;
    if cnf.keys().any(|method| method != "jkt") {
        return Err(AccessTokenError::UnsupportedConfirmation);
    }
    match cnf.get("jkt") {
        Some(Value::String(jkt)) if !jkt.is_empty() => Ok(Some(jkt.clone())),
        _ => Err(AccessTokenError::UnsupportedConfirmation),
    }
}
