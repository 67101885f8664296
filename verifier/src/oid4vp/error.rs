//! Why an OpenID4VP authorization request or response was refused.

use thiserror::Error;

use super::jwe::JweError;

/// An authorization request (or request object) the Wallet refuses. Each variant
/// names one rule; [`RequestError::error_code`] gives the OAuth / OpenID4VP 1.0 §8.5
/// error code a Wallet sends back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not parseable (URL, JWS, JSON), or a parameter of the wrong form.
    #[error("malformed authorization request: {0}")]
    Malformed(String),
    /// Larger or deeper than the limits allow.
    #[error("authorization request limit exceeded: {0}")]
    LimitExceeded(String),
    /// A required parameter is absent.
    #[error("the authorization request has no {0}")]
    MissingParameter(&'static str),
    /// The request object's `typ` is not `oauth-authz-req+jwt` (§5).
    #[error("request object typ {found:?} is not oauth-authz-req+jwt (OpenID4VP 1.0 §5)")]
    UnexpectedType {
        /// What the header said (`None` when absent).
        found: Option<String>,
    },
    /// The request object's `alg` is off the allow-list (ES256, EdDSA; ES256 only
    /// under HAIP 1.0 §7).
    #[error("request object alg {0:?} is not allowed")]
    AlgorithmNotAllowed(String),
    /// The request object's signature does not verify. Deliberately says no more.
    #[error("the request object's signature does not verify")]
    BadSignature,
    /// The client identifier prefix is not one this Wallet supports (§5.9.3):
    /// `decentralized_identifier`, `x509_san_dns`, `x509_hash`, `redirect_uri`.
    #[error("unsupported client identifier prefix {0:?} (OpenID4VP 1.0 §5.9.3)")]
    UnknownPrefix(String),
    /// A client identifier without a prefix names a pre-registered client (§5.9.2),
    /// which this Wallet does not support.
    #[error("client identifier without a prefix (a pre-registered client, §5.9.2): not supported")]
    PreRegisteredClient,
    /// The client identifier does not fit its prefix (not a DNS name, not a
    /// SHA-256 hash, not a DID, not a URL).
    #[error("invalid client identifier: {0}")]
    InvalidClientId(String),
    /// A `decentralized_identifier` of a DID method that cannot be resolved offline.
    #[error("DID method of {0:?} is not supported: only did:key is resolved (offline)")]
    UnsupportedDidMethod(String),
    /// The `client_id` of the request object differs from the one in the URL (§5.10.1).
    #[error("client_id mismatch: the URL names {url:?}, the request object {object:?}")]
    ClientIdMismatch {
        /// The `client_id` URL parameter.
        url: String,
        /// The request object's `client_id` claim.
        object: String,
    },
    /// The prefix requires a signed request object, and the request is unsigned.
    #[error("client identifier prefix {0} requires a signed request object (§5.9.3)")]
    SignatureRequired(&'static str),
    /// A `redirect_uri` request was signed: it must be unsigned (§5.9.3), since no
    /// key of the Verifier can be trusted.
    #[error("requests with the redirect_uri prefix must be unsigned (OpenID4VP 1.0 §5.9.3)")]
    SignedWhenUnsignedRequired,
    /// The signing key is not the client identifier's (`kid` not a DID URL of the
    /// DID, `alg` that does not fit the key).
    #[error("the request object's key does not belong to the client identifier: {0}")]
    KeyMismatch(String),
    /// The `x5c` chain does not validate to a trust anchor (or breaks HAIP 1.0 §5).
    #[error("untrusted x5c chain: {0}")]
    UntrustedChain(String),
    /// `x509_san_dns`: the leaf certificate has no dNSName SAN equal to the value.
    #[error("the leaf certificate has no dNSName SAN {0:?} (x509_san_dns, §5.9.3)")]
    SanMismatch(String),
    /// `x509_hash`: the value is not the hash of the leaf certificate.
    #[error("x509_hash does not match the leaf certificate (§5.9.3)")]
    HashMismatch,
    /// The `response_uri` does not fit the client identifier (its host for
    /// `x509_san_dns`, the whole URI for `redirect_uri`).
    #[error("response_uri does not match the client identifier: {0}")]
    ResponseUriMismatch(String),
    /// The request object's `exp` has passed (allowing for clock skew).
    #[error("the request object expired at {}", crate::timefmt::rfc3339(*expired_at))]
    Expired {
        /// The `exp` claim.
        expired_at: u64,
    },
    /// The request object's `iat` or `nbf` lies in the future (allowing for skew).
    #[error("the request object is not valid before {}", crate::timefmt::rfc3339(*valid_from))]
    NotYetValid {
        /// The `iat` or `nbf` claim.
        valid_from: u64,
    },
    /// The request object's `aud` is not this Wallet (`https://self-issued.me/v2`
    /// for static discovery, §5.8).
    #[error("request object audience {0:?} is not accepted (OpenID4VP 1.0 §5.8)")]
    AudienceMismatch(String),
    /// A parameter value this Wallet does not support (`response_type`,
    /// `response_mode`, `request_uri_method`, `scope`).
    #[error("unsupported {parameter} {value:?}")]
    Unsupported {
        /// The parameter.
        parameter: &'static str,
        /// Its value (truncated).
        value: String,
    },
    /// `client_metadata` breaks §5.1 / §8.3 (no usable encryption key, …).
    #[error("invalid client_metadata: {0}")]
    InvalidClientMetadata(String),
    /// `transaction_data` breaks §5.1 or names a type this Wallet does not know.
    #[error("invalid transaction_data: {0}")]
    InvalidTransactionData(String),
    /// The request is valid OpenID4VP but breaks HAIP 1.0, which the options ask for.
    #[error("not allowed by HAIP 1.0: {0}")]
    NotHaip(String),
}

impl RequestError {
    /// The error code of the Authorization Error Response (RFC 6749 §4.1.2.1,
    /// RFC 9101 §6.3, OpenID4VP 1.0 §8.5).
    pub fn error_code(&self) -> &'static str {
        match self {
            RequestError::Unsupported {
                parameter: "request_uri_method",
                ..
            } => "invalid_request_uri_method",
            RequestError::InvalidTransactionData(_) => "invalid_transaction_data",
            RequestError::InvalidClientMetadata(_) => "invalid_client",
            RequestError::UnexpectedType { .. }
            | RequestError::AlgorithmNotAllowed(_)
            | RequestError::BadSignature
            | RequestError::KeyMismatch(_)
            | RequestError::UntrustedChain(_)
            | RequestError::SanMismatch(_)
            | RequestError::HashMismatch
            | RequestError::Expired { .. }
            | RequestError::NotYetValid { .. }
            | RequestError::AudienceMismatch(_) => "invalid_request_object",
            _ => "invalid_request",
        }
    }
}

/// An authorization response the Verifier refuses (OpenID4VP 1.0 §8.1–§8.3), or the
/// Wallet's error response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Not a form body, or a parameter of the wrong form.
    #[error("malformed authorization response: {0}")]
    Malformed(String),
    /// Larger or deeper than the limits allow.
    #[error("authorization response limit exceeded: {0}")]
    LimitExceeded(String),
    /// A required parameter is absent.
    #[error("the authorization response has no {0}")]
    MissingParameter(&'static str),
    /// The encrypted response (`direct_post.jwt`) did not decrypt, or was encrypted
    /// to another key.
    #[error("encrypted response: {0}")]
    Encryption(#[from] JweError),
    /// The response was encrypted to another key than the one expected (its JWE
    /// `kid`, §8.3).
    #[error("encrypted response for another key: {0}")]
    WrongKey(String),
    /// The Wallet answered with an Authorization Error Response (§8.5).
    #[error("the wallet returned {error}{}", described(.description.as_deref()))]
    ErrorResponse {
        /// The `error` code.
        error: String,
        /// The `error_description`, if any (truncated).
        description: Option<String>,
        /// The `state`, if any.
        state: Option<String>,
    },
}

fn described(description: Option<&str>) -> String {
    description
        .map(|text| format!(": {text}"))
        .unwrap_or_default()
}
