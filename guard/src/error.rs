//! The guard's errors: misconfiguration ([`ConfigError`]), and the refusals it answers
//! requests with ([`Refusal`]).

use thiserror::Error;

/// The guard cannot be built from this configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The resource identifier is not usable.
    #[error("the resource URL {0}")]
    Resource(&'static str),
    /// No issuer is configured and direct presentations are off: nothing could pass.
    #[error("no authorization server is configured and direct presentations are off")]
    NoIssuer,
    /// An issuer identifier or JWKS URI is not usable.
    #[error("issuer {issuer}: {reason}")]
    Issuer {
        /// The issuer as configured.
        issuer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// A bound is zero.
    #[error("{0} must be at least 1")]
    ZeroBound(&'static str),
}

/// Which authorization scheme a request used, so a refusal's error goes on that
/// scheme's challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750).
    Bearer,
    /// `Authorization: DPoP` (RFC 9449).
    DPoP,
    /// `Authorization: AgentID` (direct presentation, see [`crate::direct`]).
    AgentId,
}

/// Why the guard refused a request. Each maps to one status, one
/// `WWW-Authenticate` error and one JSON body (see the crate docs' table). The
/// descriptions are fixed text: nothing a client sent is echoed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No credentials: 401, challenges without an error code (RFC 6750 §3.1).
    #[error("this resource needs an access token")]
    Unauthenticated,
    /// A malformed request (two `Authorization` headers, a token that is not
    /// `token68`, a JSON-RPC body that is not JSON): 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The token is invalid, expired, for another audience, or used with the wrong
    /// scheme: 401 `invalid_token`.
    #[error("{description}")]
    InvalidToken {
        /// The scheme the request used.
        scheme: Scheme,
        /// Fixed text.
        description: String,
    },
    /// The DPoP proof is missing, invalid, for another request or replayed: 401
    /// `invalid_dpop_proof` (RFC 9449 §7.1).
    #[error("{0}")]
    InvalidDpopProof(String),
    /// The token lacks a scope the request needs: 403 `insufficient_scope` with the
    /// scopes needed (none when no scope can grant it, e.g. an unknown tool).
    #[error("{description}")]
    InsufficientScope {
        /// The scheme the request used.
        scheme: Scheme,
        /// The scopes the request needs.
        scope: Vec<String>,
        /// Fixed text.
        description: &'static str,
    },
    /// The JSON-RPC body is larger than the guard reads: 413.
    #[error("the request body is larger than this server reads")]
    BodyTooLarge,
    /// The guard cannot decide now (the authorization server's keys cannot be
    /// fetched, the replay cache is full): 503 with `Retry-After`.
    #[error("{0}")]
    Unavailable(&'static str),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Refusal::Unauthenticated
            | Refusal::InvalidToken { .. }
            | Refusal::InvalidDpopProof(_) => StatusCode::UNAUTHORIZED,
            Refusal::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Refusal::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The OAuth error code of the body (and of the challenge, where there is one).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unauthenticated => "unauthorized",
            Refusal::InvalidRequest(_) => "invalid_request",
            Refusal::InvalidToken { .. } => "invalid_token",
            Refusal::InvalidDpopProof(_) => "invalid_dpop_proof",
            Refusal::InsufficientScope { .. } => "insufficient_scope",
            Refusal::BodyTooLarge => "request_too_large",
            Refusal::Unavailable(_) => "temporarily_unavailable",
        }
    }

    pub(crate) fn invalid_token(scheme: Scheme, description: impl Into<String>) -> Self {
        Refusal::InvalidToken {
            scheme,
            description: description.into(),
        }
    }
}
