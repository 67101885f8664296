//! Direct presentation mode: an agent presents its agentid credential to the tool
//! server itself, with no authorization server (offline verification).
//!
//! Wire format:
//!
//! 1. Every 401 of a guard with direct mode on carries a challenge
//!    `WWW-Authenticate: AgentID nonce="<nonce>", resource_metadata="<url>"`. The nonce
//!    is stateless: base64url of `issued_at (8 bytes, big-endian) ‖ random (16) ‖
//!    HMAC-SHA-256(secret, "agentid-guard/nonce/v1" ‖ resource ‖ issued_at ‖
//!    random)[..16]`, valid for [`DirectMode::with_nonce_ttl`] seconds (default 120).
//! 2. The agent makes an SD-JWT+KB presentation (or a delegation chain) whose KB-JWT
//!    has `aud` = the guard's resource identifier and `nonce` = that nonce, and sends
//!    `Authorization: AgentID <presentation>` with `AgentID-Nonce: <nonce>`.
//! 3. The guard checks the nonce's MAC and age, verifies the presentation with its
//!    [`Verifier`] (trust store, status lists, policy) for that audience and nonce,
//!    records the nonce as used (the replay cache: single use), and authorizes each
//!    scope the request needs with [`authorize`] for the action
//!    `{scope, resource: <the request URL>}` — the credential's `scope`, `resources`,
//!    `audience` and `constraints` rights all apply. The handler finds a
//!    [`DirectPresentation`] in the request's extensions.

use std::sync::Arc;

use agentid_verifier::authorize::{authorize, Action};
use agentid_verifier::{b64url_encode, PresentationRequest, Verified, Verifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Refusal, Scheme};
use crate::state::{now, GuardState};

/// The request header carrying the nonce the presentation answers.
pub const NONCE_HEADER: &str = "agentid-nonce";

/// The HMAC label of direct-mode nonces, versioned.
const NONCE_LABEL: &[u8] = b"agentid-guard/nonce/v1";

/// How long a nonce is accepted by default, in seconds.
pub const DEFAULT_NONCE_TTL_SECS: u64 = 120;

/// Direct presentation mode: a verifier and the nonce secret.
#[derive(Clone)]
pub struct DirectMode {
    verifier: Arc<Verifier>,
    secret: Arc<Zeroizing<[u8; 32]>>,
    nonce_ttl_secs: u64,
}

impl std::fmt::Debug for DirectMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectMode")
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
            .finish_non_exhaustive()
    }
}

/// A presentation the guard verified and authorized, in the request's extensions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DirectPresentation {
    /// The verified presentation.
    pub verified: Verified,
    /// The scopes it was authorized for on this request.
    pub scopes: Vec<String>,
}

impl DirectMode {
    /// Presentations verified with `verifier`, nonces under a fresh random secret
    /// (several guard instances behind one name need [`DirectMode::with_secret`]).
    pub fn new(verifier: Verifier) -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(secret.as_mut());
        DirectMode {
            verifier: Arc::new(verifier),
            secret: Arc::new(secret),
            nonce_ttl_secs: DEFAULT_NONCE_TTL_SECS,
        }
    }

    /// Uses `secret` for the nonces' MAC (shared by every instance of the server).
    pub fn with_secret(mut self, secret: [u8; 32]) -> Self {
        self.secret = Arc::new(Zeroizing::new(secret));
        self
    }

    /// How long a nonce is accepted, in seconds.
    pub fn with_nonce_ttl(mut self, secs: u64) -> Self {
        self.nonce_ttl_secs = secs;
        self
    }

    fn tag(&self, resource: &str, issued_at: [u8; 8], random: &[u8]) -> [u8; 16] {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret[..]) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm is unreachable.
            Err(_) => return [0u8; 16],
        };
        mac.update(NONCE_LABEL);
        mac.update(&(resource.len() as u64).to_be_bytes());
        mac.update(resource.as_bytes());
        mac.update(&issued_at);
        mac.update(random);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }

    /// A fresh nonce for `resource`.
    pub(crate) fn issue_nonce(&self, resource: &str, now: u64) -> String {
        let issued_at = now.to_be_bytes();
        let mut random = [0u8; 16];
        OsRng.fill_bytes(&mut random);
        let mut nonce = Vec::with_capacity(40);
        nonce.extend_from_slice(&issued_at);
        nonce.extend_from_slice(&random);
        nonce.extend_from_slice(&self.tag(resource, issued_at, &random));
        b64url_encode(&nonce)
    }

    /// When the nonce stops being accepted, if it is one of ours and still fresh.
    fn nonce_expiry(&self, nonce: &str, resource: &str, now: u64) -> Option<u64> {
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if bytes.len() != 40 {
            return None;
        }
        let issued_at: [u8; 8] = bytes[..8].try_into().ok()?;
        let expected = self.tag(resource, issued_at, &bytes[8..24]);
        if !bool::from(expected.ct_eq(&bytes[24..])) {
            return None;
        }
        let issued_at = u64::from_be_bytes(issued_at);
        let expires_at = issued_at.saturating_add(self.nonce_ttl_secs);
        (issued_at <= now.saturating_add(5) && now <= expires_at).then_some(expires_at)
    }
}

fn refused(description: impl Into<String>) -> Refusal {
    Refusal::invalid_token(Scheme::AgentId, description)
}

/// Verifies a direct presentation and authorizes it for `scopes` at `url`.
pub(crate) fn admit(
    state: &GuardState,
    direct: &DirectMode,
    presentation: &str,
    nonce: Option<&str>,
    scopes: &[String],
    url: &str,
) -> Result<DirectPresentation, Refusal> {
    let resource = state.config.resource();
    let nonce = nonce.ok_or_else(|| refused("an AgentID-Nonce header is required"))?;
    let now = now();
    let expires_at = direct
        .nonce_expiry(nonce, resource, now)
        .ok_or_else(|| refused("the nonce is not one this server issued, or it expired"))?;
    let request = PresentationRequest::new(resource, nonce);
    let verified = direct
        .verifier
        .verify_presentation(presentation, &request, now)
        .map_err(|error| refused(format!("presentation refused: {}", error.kind().as_str())))?;
    state.record_once(
        &[b"direct-nonce", nonce.as_bytes()],
        expires_at,
        refused("the nonce was already used"),
    )?;
    for scope in scopes {
        if authorize(&verified, &Action::new(scope.as_str(), url), None).is_err() {
            return Err(Refusal::InsufficientScope {
                scheme: Scheme::AgentId,
                scope: scopes.to_vec(),
                description: "the credential does not grant the scope this request needs",
            });
        }
    }
    Ok(DirectPresentation {
        verified,
        scopes: scopes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_bound_to_the_secret_the_resource_and_their_lifetime() {
        let direct = DirectMode::new(Verifier::new(
            agentid_verifier::TrustStore::new(),
            agentid_verifier::Policy::default(),
        ));
        let nonce = direct.issue_nonce("https://tools.example/mcp", 1000);
        assert_eq!(
            direct.nonce_expiry(&nonce, "https://tools.example/mcp", 1000),
            Some(1120)
        );
        assert_eq!(
            direct.nonce_expiry(&nonce, "https://tools.example/mcp", 1121),
            None
        );
        assert_eq!(
            direct.nonce_expiry(&nonce, "https://other.example/mcp", 1000),
            None
        );
        let other = direct.clone().with_secret([9; 32]);
        assert_eq!(
            other.nonce_expiry(&nonce, "https://tools.example/mcp", 1000),
            None
        );
        let mut tampered = nonce.into_bytes();
        tampered[3] ^= 1;
        let tampered = String::from_utf8(tampered).unwrap_or_default();
        assert_eq!(
            direct.nonce_expiry(&tampered, "https://tools.example/mcp", 1000),
            None
        );
    }
}
