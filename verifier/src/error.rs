//! Why a presentation was rejected.
//!
//! The variants separate "could not check" (malformed input, an issuer nobody trusts)
//! from "checked and invalid" (a bad signature, a broken binding, an expired
//! credential). Signature failures never say which byte was wrong.

use thiserror::Error;

/// Which signature in a presentation failed to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureRole {
    /// The issuer's signature over the credential.
    Issuer,
    /// The holder's signature over the key-binding JWT.
    KeyBinding,
    /// The issuer's signature over a status list token.
    StatusList,
    /// A delegating agent's signature over a delegation hop.
    Delegation,
}

impl std::fmt::Display for SignatureRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureRole::Issuer => "issuer",
            SignatureRole::KeyBinding => "key-binding",
            SignatureRole::StatusList => "status list",
            SignatureRole::Delegation => "delegation",
        })
    }
}

/// The broad class of a rejection, for callers that route on it (exit codes, HTTP
/// status, metrics) without matching every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The input is not a well-formed SD-JWT or breaks a limit: it could not be checked.
    Malformed,
    /// The issuer is not in the trust store, or its key does not match the header.
    UntrustedIssuer,
    /// A signature does not verify.
    InvalidSignature,
    /// The presentation is not bound to this request or this holder (audience,
    /// nonce, `sd_hash`, missing key binding).
    InvalidBinding,
    /// The credential or key binding is outside its validity window.
    Expired,
    /// The credential is not valid yet.
    NotYetValid,
    /// The input is well formed but a policy of the verifier refuses it (`typ`,
    /// `alg`, disclosure rules, predicates on claims without a commitment), or a
    /// rights claim of the issuer does (an `audience` that excludes this verifier, a
    /// delegation that widens its parent).
    Policy,
    /// A zero-knowledge proof does not verify.
    InvalidProof,
    /// The status list says the credential is revoked, suspended or otherwise not
    /// valid.
    Revoked,
    /// The credential's status could not be learned: no status list for its URI, a
    /// list that is stale, expired, issued in the future, or signed by an issuer that
    /// may not speak for this credential. Not a revocation: the operator has a list to
    /// fetch. Refused because verifiers fail closed.
    StatusUnknown,
}

impl RejectionKind {
    /// A stable, machine-readable name (`malformed`, `untrusted_issuer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionKind::Malformed => "malformed",
            RejectionKind::UntrustedIssuer => "untrusted_issuer",
            RejectionKind::InvalidSignature => "invalid_signature",
            RejectionKind::InvalidBinding => "invalid_binding",
            RejectionKind::Expired => "expired",
            RejectionKind::NotYetValid => "not_yet_valid",
            RejectionKind::Policy => "policy",
            RejectionKind::InvalidProof => "invalid_proof",
            RejectionKind::Revoked => "revoked",
            RejectionKind::StatusUnknown => "status_unknown",
        }
    }
}

/// A presentation or credential was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input could not be parsed, or breaks a structural rule of RFC 7515 / RFC 9901.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The input is larger, deeper or longer than the verifier's limits allow.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The algorithm in a JWS header is not on the allow-list (`none`, HMAC, RSA, …).
    #[error("algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    /// The `typ` header is not one the verifier accepts.
    #[error("unexpected typ {found:?} (expected {expected})")]
    UnexpectedType {
        /// What the header said (`None` when absent).
        found: Option<String>,
        /// What was accepted.
        expected: String,
    },
    /// The issuer is not in the trust store.
    #[error("untrusted issuer {0}")]
    UntrustedIssuer(String),
    /// The header's `kid` does not name the trusted issuer's key.
    #[error("kid does not match the issuer: {0}")]
    KeyIdMismatch(String),
    /// A signature did not verify.
    #[error("invalid {0} signature")]
    InvalidSignature(SignatureRole),
    /// A disclosure breaks RFC 9901 §7.1 (unreferenced, repeated digest, name
    /// collision, `_sd` or `...` misuse).
    #[error("invalid disclosure: {0}")]
    InvalidDisclosure(String),
    /// The credential's `exp` has passed (allowing for clock skew).
    #[error("credential expired at {}", crate::timefmt::rfc3339(*expired_at))]
    Expired {
        /// The `exp` claim, in seconds since the Unix epoch.
        expired_at: u64,
    },
    /// The credential's `nbf` (or `iat`) lies in the future (allowing for clock skew).
    #[error("credential not valid before {}", crate::timefmt::rfc3339(*valid_from))]
    NotYetValid {
        /// The `nbf` or `iat` claim, in seconds since the Unix epoch.
        valid_from: u64,
    },
    /// A key-binding JWT was required and is missing.
    #[error("key binding required but the presentation has no KB-JWT")]
    MissingKeyBinding,
    /// A key-binding JWT is present where none was expected (an issued credential).
    #[error("unexpected KB-JWT: an issued credential carries no key binding")]
    UnexpectedKeyBinding,
    /// The credential has no usable `cnf.jwk` holder key.
    #[error("credential has no usable holder key (cnf.jwk): {0}")]
    MissingHolderKey(String),
    /// The KB-JWT is for another audience.
    #[error("key binding audience mismatch")]
    AudienceMismatch,
    /// The credential's `audience` rights claim (or a delegation's) does not name
    /// the verifier the presentation was made for.
    #[error("the credential may not be presented to {0}")]
    AudienceNotAllowed(String),
    /// The KB-JWT answers another request.
    #[error("key binding nonce mismatch")]
    NonceMismatch,
    /// The KB-JWT's `sd_hash` does not cover the presented credential and disclosures.
    #[error("key binding sd_hash mismatch")]
    SdHashMismatch,
    /// A predicate cannot be checked: unknown claim, no issuer-signed commitment,
    /// a malformed commitment, or too many predicates.
    #[error("invalid predicate: {0}")]
    InvalidPredicate(String),
    /// The aggregated range proof does not verify for these statements.
    #[error("predicate proof does not verify")]
    InvalidPredicateProof,
    /// The status list says the credential is revoked, suspended or otherwise not valid.
    #[error("credential revoked: {0}")]
    Revoked(String),
    /// The credential references a status list the verifier has no fresh copy of.
    #[error("status unknown: {0}")]
    StatusUnknown(String),
    /// A delegation hop grants more than its parent (the field is named).
    #[error("delegation widens its parent's rights: {0}")]
    DelegationWidened(String),
    /// A delegation chain hands rights back to a key already in it.
    #[error("delegation chain contains a cycle")]
    DelegationCycle,
    /// The KB-JWT's `transaction_data_hashes` do not acknowledge exactly the
    /// transaction data of the request (OpenID4VP 1.0 §8.4, Appendix B.3.3.1): a
    /// hash missing, extra, out of order or wrong, or an unsupported algorithm.
    #[error("transaction data not acknowledged: {0}")]
    TransactionDataMismatch(String),
    /// The KB-JWT's `iat` is too old or in the future.
    #[error("key binding issued at {} is outside the accepted window", crate::timefmt::rfc3339(*iat))]
    StaleKeyBinding {
        /// The KB-JWT's `iat`.
        iat: u64,
    },
}

impl VerifyError {
    /// The broad class of this rejection.
    pub fn kind(&self) -> RejectionKind {
        match self {
            VerifyError::Malformed(_) | VerifyError::LimitExceeded(_) => RejectionKind::Malformed,
            VerifyError::AlgorithmNotAllowed(_)
            | VerifyError::UnexpectedType { .. }
            | VerifyError::InvalidDisclosure(_)
            | VerifyError::InvalidPredicate(_)
            | VerifyError::DelegationWidened(_)
            | VerifyError::AudienceNotAllowed(_)
            | VerifyError::DelegationCycle => RejectionKind::Policy,
            VerifyError::InvalidPredicateProof => RejectionKind::InvalidProof,
            VerifyError::Revoked(_) => RejectionKind::Revoked,
            VerifyError::StatusUnknown(_) => RejectionKind::StatusUnknown,
            VerifyError::UntrustedIssuer(_) | VerifyError::KeyIdMismatch(_) => {
                RejectionKind::UntrustedIssuer
            }
            VerifyError::InvalidSignature(_) => RejectionKind::InvalidSignature,
            VerifyError::Expired { .. } | VerifyError::StaleKeyBinding { .. } => {
                RejectionKind::Expired
            }
            VerifyError::NotYetValid { .. } => RejectionKind::NotYetValid,
            VerifyError::MissingKeyBinding
            | VerifyError::UnexpectedKeyBinding
            | VerifyError::MissingHolderKey(_)
            | VerifyError::AudienceMismatch
            | VerifyError::NonceMismatch
            | VerifyError::SdHashMismatch
            | VerifyError::TransactionDataMismatch(_) => RejectionKind::InvalidBinding,
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        VerifyError::Malformed(msg.into())
    }

    pub(crate) fn disclosure(msg: impl Into<String>) -> Self {
        VerifyError::InvalidDisclosure(msg.into())
    }
}

/// A key, DID or trust-store entry could not be decoded. This is configuration or
/// input error, not a verdict on a presentation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The did:key identifier is not valid (prefix, multibase, multicodec, length).
    #[error("invalid did:key: {0}")]
    InvalidDid(String),
    /// The multicodec names a key type this crate does not support.
    #[error("unsupported key type (multicodec 0x{0:x})")]
    UnsupportedCodec(u64),
    /// The bytes are not a valid point on the curve, or a weak (small-order) key.
    #[error("invalid public key: {0}")]
    InvalidKey(String),
    /// The JWK is malformed or of an unsupported type.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),
    /// A trust file could not be read as the expected JSON.
    #[error("invalid trust store: {0}")]
    InvalidTrustStore(String),
}

/// At most 128 characters of untrusted text, for an error message: untrusted strings
/// are echoed in errors only in part.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(128).collect()
}
