//! What the store keeps of a request: the request as created ([`OpenRequest`]),
//! its `state` as a digest ([`StateDigest`]), its [`Phase`], and what `result`
//! reads ([`RequestStatus`]). None of them prints a blob or a digest.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of a request's `state`. The store never holds the state itself;
/// digests compare in constant time and print nothing.
#[derive(Clone, Copy)]
pub(crate) struct StateDigest([u8; 32]);

impl StateDigest {
    /// The digest of `state` as the wallet returns it.
    pub(crate) fn of_state(state: &str) -> Self {
        StateDigest(Sha256::digest(state.as_bytes()).into())
    }

    /// A digest computed elsewhere (or read back from storage).
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        StateDigest(bytes)
    }

    /// The digest's bytes, to store them. A digest of a random `state` reveals
    /// nothing that helps forge a response: a match needs the state itself.
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality.
    pub(crate) fn matches(&self, other: &StateDigest) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl fmt::Debug for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateDigest(..)")
    }
}

/// A request as created and as handed back by the steps that admit it.
#[derive(Clone)]
pub(crate) struct OpenRequest {
    /// The random transaction id the request's URLs carry (see [`super::valid_id`]).
    pub(crate) id: String,
    /// The SHA-256 of the request's `state`.
    pub(crate) state_digest: StateDigest,
    /// When it was created (Unix seconds).
    pub(crate) created_at: u64,
    /// The first second at which it no longer admits a step (Unix seconds): it is
    /// open while `now < expires_at`.
    pub(crate) expires_at: u64,
    /// The request details (nonce, client id, DCQL query, …), sealed by the caller;
    /// at most [`super::StateLimits::max_blob_bytes`].
    pub(crate) request: Vec<u8>,
}

impl fmt::Debug for OpenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenRequest")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("request_len", &self.request.len())
            .finish_non_exhaustive()
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Stored; neither the request object nor a response seen.
    Created,
    /// The request object was served.
    RequestServed,
    /// One response was admitted and is being checked.
    Responding,
    /// The verdict is stored.
    Answered,
}

impl Phase {
    /// The name stored in PostgreSQL's `phase` column.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::RequestServed => "request_served",
            Phase::Responding => "responding",
            Phase::Answered => "answered",
        }
    }

    /// The phase a stored name stands for.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            Phase::Created,
            Phase::RequestServed,
            Phase::Responding,
            Phase::Answered,
        ]
        .into_iter()
        .find(|phase| phase.as_str() == name)
    }
}

/// What `result` reads: the phase, the verdict once answered, and the expiry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RequestStatus {
    /// The phase.
    pub(crate) phase: Phase,
    /// The sealed verdict, present exactly when the phase is [`Phase::Answered`].
    pub(crate) verdict: Option<Vec<u8>>,
    /// The request's expiry (Unix seconds).
    pub(crate) expires_at: u64,
}

impl fmt::Debug for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestStatus")
            .field("phase", &self.phase)
            .field("verdict_len", &self.verdict.as_ref().map(Vec::len))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
