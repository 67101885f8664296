//! The verifier service's authorization-server role: an agent trades a presentation
//! of its credential for an OAuth access token a tool server accepts (RFC 8693
//! token exchange, RFC 9068 JWT access tokens, RFC 8707 resources, RFC 9449 DPoP).
//!
//! - `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata.
//! - `GET /v1/oauth/jwks`: the signing keys, current and previous.
//! - `POST /v1/oauth/nonce`: a single-use nonce for the presentation's KB-JWT.
//! - `POST /v1/oauth/token`: the exchange.
//!
//! A token is granted only within the credential's effective rights
//! ([`agentid_verifier::grant`]); status lists and the verifier's policy apply as
//! at `/v1/presentations/verify`. `docs/oauth.md` lists every claim and where it
//! comes from. One file per role: [`setup`] (flags and keys; nonces are [`crate::serve::nonce`]),
//! [`token_request`] (the form), [`mint`] (the token), [`endpoints`] (handlers),
//! [`errors`] (the OAuth error shape).

pub(super) mod endpoints;
mod errors;
mod mint;
pub(super) mod setup;
mod token_request;

use std::time::Duration;

use agentid_verifier::PublicKey;
use agentid_wallet::SigningKey;

use super::state::StateStore;
use crate::serve::nonce::NonceKey;

/// How old a DPoP proof at the token endpoint may be, in seconds.
const DPOP_MAX_AGE_SECS: u64 = 60;
/// Clock difference tolerated on DPoP proofs, in seconds.
const DPOP_SKEW_SECS: u64 = 5;

/// The role's configuration and state.
pub(super) struct Authz {
    /// The issuer identifier, without a trailing slash.
    pub(super) issuer: String,
    /// Signs access tokens.
    signer: SigningKey,
    /// The signer's `kid` (its RFC 7638 thumbprint).
    kid: String,
    /// Published keys that no longer sign, with their `kid`s.
    previous: Vec<(String, PublicKey)>,
    /// Used nonces and DPoP `jti`s.
    pub(super) store: StateStore,
    nonces: NonceKey,
    max_ttl: Duration,
    nonce_ttl: Duration,
    require_dpop: bool,
}

impl std::fmt::Debug for Authz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authz")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Authz {
    fn token_endpoint(&self) -> String {
        format!("{}/v1/oauth/token", self.issuer)
    }

    fn jwks_uri(&self) -> String {
        format!("{}/v1/oauth/jwks", self.issuer)
    }

    fn nonce_endpoint(&self) -> String {
        format!("{}/v1/oauth/nonce", self.issuer)
    }
}

/// Sweeps expired marks (used nonces, DPoP `jti`s) once a minute.
pub(super) async fn sweep_marks(store: StateStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        loop {
            match store.sweep_marks(agentid_wallet::unix_now()).await {
                Ok(0) => break,
                Ok(removed) => tracing::debug!(removed, "swept used nonces and jtis"),
                Err(error) => {
                    tracing::warn!(%error, "sweeping used nonces failed");
                    break;
                }
            }
        }
    }
}
