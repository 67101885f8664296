//! The one error type of the request-state store.
//!
//! Three families, kept apart so the service can answer each correctly:
//!
//! - **refusals** of a transition the request does not allow (`NotFound`,
//!   `AlreadyServed`, `AlreadyAnswered`, `StateMismatch`, `Expired`): the wallet's or
//!   the caller's fault, nothing was changed;
//! - **misuse** by the service itself (`NotResponding`, `Duplicate`, `InvalidRequest`,
//!   `InvalidConfig`, `TlsUnsupported`) and **limits** (`TooLarge`, `Full`);
//! - **could not check** (`Unavailable`, `SchemaTooNew`, `Corrupt`, `Backend`): the
//!   storage failed; the outcome of the operation is unknown only for `Unavailable`
//!   and `Backend` on a write (a statement may have committed before the connection
//!   dropped), and the request's phase then tells.
//!
//! No message quotes a stored blob, a state, its digest or a connection string (which
//! may carry a password).

use thiserror::Error;

/// Why a request-state operation did not happen.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(crate) enum StateError {
    /// No request with this id (never created, swept, or an id that cannot exist).
    #[error("no such request")]
    NotFound,
    /// The request object was already served: `request_uri` is single use.
    #[error("the request object was already served")]
    AlreadyServed,
    /// A response to this request was already received (it is being checked or was
    /// answered): `response_uri` takes one response.
    #[error("the request was already answered")]
    AlreadyAnswered,
    /// The response carries another `state`. The request is unchanged and still
    /// takes its response.
    #[error("the response's state does not match the request's")]
    StateMismatch,
    /// The request expired (its `expires_at` is not after the time given).
    #[error("the request expired")]
    Expired,
    /// `finish` on a request whose response was not begun (misuse by the service).
    #[error("the request has no response being checked")]
    NotResponding,
    /// `insert` with an id the store already holds; the stored request is unchanged.
    #[error("a request with this id already exists")]
    Duplicate,
    /// `insert` refused: the store holds its maximum of unexpired requests.
    #[error("the store holds its maximum of {max_open} unexpired requests")]
    Full {
        /// The limit in force ([`super::StateLimits::max_open_requests`]).
        max_open: u64,
    },
    /// A blob larger than [`super::StateLimits::max_blob_bytes`].
    #[error("the {what} is {len} bytes, above the limit of {max}")]
    TooLarge {
        /// Which blob: `request` or `verdict`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A request the store cannot hold (an id outside the allowed alphabet or
    /// length, times out of order or range).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The store's location or limits are not usable. The message never quotes the
    /// connection string.
    #[error("invalid state store configuration: {0}")]
    InvalidConfig(String),
    /// The connection string asks for TLS to PostgreSQL, which this build does not
    /// speak; refused rather than connecting in plaintext.
    #[error(
        "TLS to PostgreSQL is not supported ({0}); connect over loopback, a Unix \
         socket or a private network with sslmode=disable"
    )]
    TlsUnsupported(String),
    /// The database was written by a newer agentid: this one refuses to touch it.
    #[error("the state schema is version {found}; this agentid supports up to {supported}")]
    SchemaTooNew {
        /// The version the database holds.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The storage cannot be reached or did not answer in time (connect or statement
    /// timeout, pool exhausted, directory locked by another process).
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// A stored record is not in the expected form.
    #[error("corrupt state record: {0}")]
    Corrupt(String),
    /// The storage failed otherwise.
    #[error("state store error: {0}")]
    Backend(String),
}

impl From<sled::Error> for StateError {
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Corruption { .. } => StateError::Corrupt(error.to_string()),
            sled::Error::Io(_) => StateError::Unavailable(error.to_string()),
            other => StateError::Backend(other.to_string()),
        }
    }
}
