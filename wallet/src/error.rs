//! Errors of the wallet crate.

use agentid_verifier::{InvalidClaimPath, KeyError, VerifyError};
use thiserror::Error;

/// Something the wallet refused or could not do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The claims do not satisfy the JSON Schema of their credential type.
    #[error("claims do not match the schema for {vct}: {details}")]
    InvalidClaims {
        /// The credential type.
        vct: String,
        /// Each violation, with its location in the claims.
        details: String,
    },
    /// No schema governs this credential type, so nothing of that type is issued.
    #[error("no schema for credential type {0:?} (known types: {1})")]
    UnknownCredentialType(String, String),
    /// A schema file is unusable.
    #[error("invalid schema {name}: {reason}")]
    InvalidSchema {
        /// The schema file or type.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A claim path could not be read.
    #[error(transparent)]
    InvalidClaimPath(#[from] InvalidClaimPath),
    /// A path names no claim in the credential.
    #[error("no claim at {0}")]
    NoSuchClaim(String),
    /// The request is inconsistent (reserved claim names, lifetimes out of range, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A credential or presentation failed verification.
    #[error("verification failed: {0}")]
    Verify(#[from] VerifyError),
    /// A key or DID could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The encrypted store failed or refused (wrong passphrase, wallet in use, …).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The audit log does not verify.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// No record with this id.
    #[error("not found: {0}")]
    NotFound(String),
    /// The credential is not bound to any key of this wallet.
    #[error("credential not bound to this wallet: {0}")]
    NotBoundToWallet(String),
    /// The wallet already holds this credential (same `jti`), under this id.
    #[error("already in the wallet as {0}")]
    AlreadyHeld(String),
    /// The credential has expired.
    #[error("credential {0} has expired")]
    Expired(String),
    /// The holder was asked to prove a statement that is false for its value.
    #[error("cannot prove {0}: the statement is false for the committed value")]
    FalseStatement(String),
    /// An OpenID4VP request could not be made or is refused.
    #[error(transparent)]
    Oid4vp(#[from] agentid_verifier::oid4vp::RequestError),
    /// The presenting key is not the one the credential is bound to.
    #[error("this key is not the credential's holder key (cnf)")]
    NotHolderKey,
    /// No credential held answers a required part of a query (OpenID4VP 1.0 §6.4.2).
    #[error("the wallet cannot answer the query: {0}")]
    Unanswerable(String),
}

impl WalletError {
    pub(crate) fn request(msg: impl Into<String>) -> Self {
        WalletError::InvalidRequest(msg.into())
    }
}
