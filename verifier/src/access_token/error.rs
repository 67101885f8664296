//! Why a JWK set or an access token was refused.
//!
//! The messages are fixed text: they never echo a token's header, claims or
//! signature, so they are safe to log and to send back in `error_description`.

use thiserror::Error;

/// A JWK set (RFC 7517 §5) could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The document is larger than [`super::MAX_JWKS_BYTES`].
    #[error("JWK set is larger than the limit")]
    TooLarge,
    /// The document is not a JSON object with a `keys` array, or nests too deeply.
    #[error("JWK set is malformed: {0}")]
    Malformed(&'static str),
    /// More entries than [`super::MAX_JWKS_KEYS`].
    #[error("JWK set has more keys than the limit")]
    TooManyKeys,
    /// Two usable keys share a `kid`: which one signs a token would be ambiguous.
    #[error("JWK set has two keys with the same kid")]
    DuplicateKid,
    /// No entry is a usable signature key (supported type, `kid`, `use` = `sig`).
    #[error("JWK set has no usable signature key")]
    NoUsableKey,
}

/// An access token was refused.
///
/// "Could not check" ([`Malformed`](Self::Malformed), [`UnknownKey`](Self::UnknownKey))
/// is distinct from "checked and invalid" (signature, issuer, audience, time).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// Longer than the validator's `max_token_bytes`.
    #[error("access token is larger than the limit")]
    TooLarge,
    /// Not a compact JWS, or a header or claim of the wrong shape.
    #[error("access token is malformed: {0}")]
    Malformed(&'static str),
    /// The header `typ` is not `at+jwt` (RFC 9068 §2.1).
    #[error("access token typ must be at+jwt (RFC 9068 §2.1)")]
    UnexpectedType,
    /// The header `alg` is not on the validator's allow-list.
    #[error("access token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header has no `kid`.
    #[error("access token header has no kid")]
    MissingKid,
    /// No key of the JWK set has the header's `kid`. The authorization server may
    /// have rotated its keys: the caller may refetch the JWK set (rate-limited) and
    /// try again.
    #[error("access token is signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify with the named key (or the key's type does not
    /// match `alg`).
    #[error("access token signature is invalid")]
    InvalidSignature,
    /// `iss` is not the configured issuer.
    #[error("access token is from another issuer")]
    IssuerMismatch,
    /// `aud` does not contain this resource.
    #[error("access token is for another audience")]
    AudienceMismatch,
    /// `exp` has passed (allowing for clock skew).
    #[error("access token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (allowing for clock skew).
    #[error("access token is not valid yet")]
    NotYetValid,
    /// A claim RFC 9068 §2.2 requires is absent.
    #[error("access token has no {0} claim (RFC 9068 §2.2)")]
    MissingClaim(&'static str),
    /// `cnf` names a confirmation method other than `jkt` (e.g. mTLS `x5t#S256`):
    /// the token is bound to something this validator cannot check.
    #[error("access token is bound by an unsupported confirmation method")]
    UnsupportedConfirmation,
}
