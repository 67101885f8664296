//! Sender-constrained tokens at the resource (RFC 9449 §7): the token's `cnf.jkt`
//! must be the key of a fresh, unreplayed proof for this request.

use agentid_verifier::access_token::AccessToken;
use agentid_verifier::dpop::{verify_dpop_proof, DpopCheck, VerifiedDpop};

use crate::error::{Refusal, Scheme};
use crate::state::{now, GuardState};

/// What the guard needs to know about how a token was presented.
pub(crate) fn check_presentation(
    state: &GuardState,
    token: &AccessToken,
    scheme: Scheme,
) -> Result<(), Refusal> {
    match (scheme, token.is_dpop_bound()) {
        // RFC 9449 §7.1: a DPoP-bound token used as a bearer token is refused.
        (Scheme::Bearer, true) => Err(Refusal::invalid_token(
            Scheme::Bearer,
            "this token is DPoP-bound: present it with the DPoP scheme and a proof",
        )),
        (Scheme::Bearer, false) if state.config.dpop_required => Err(Refusal::invalid_token(
            Scheme::Bearer,
            "this resource accepts DPoP-bound tokens only",
        )),
        (Scheme::DPoP, false) => Err(Refusal::invalid_token(
            Scheme::DPoP,
            "the token is not DPoP-bound: present it with the Bearer scheme",
        )),
        _ => Ok(()),
    }
}

/// Checks the proof of a DPoP-bound token for `method` and `url` (RFC 9449 §4.3 and
/// §7.1): signature, `htm`, `htu`, `iat` window, `ath` of this token, its key the
/// token's `cnf.jkt`, then its `jti` recorded (a replay is refused).
pub(crate) fn check_proof(
    state: &GuardState,
    token: &AccessToken,
    raw_token: &str,
    proof: Option<&str>,
    method: &str,
    url: &str,
) -> Result<VerifiedDpop, Refusal> {
    let proof =
        proof.ok_or_else(|| Refusal::InvalidDpopProof("a DPoP proof is required".into()))?;
    let config = &state.config;
    let now = now();
    let verified = verify_dpop_proof(
        proof,
        &DpopCheck {
            method,
            url,
            access_token: Some(raw_token),
            nonce: None,
            now,
            max_age_secs: config.dpop_max_age_secs,
            skew_secs: config.dpop_skew_secs,
        },
    )
    .map_err(|error| Refusal::InvalidDpopProof(error.to_string()))?;
    let bound = token
        .jkt
        .as_deref()
        .is_some_and(|jkt| verified.is_bound_to(jkt));
    if !bound {
        return Err(Refusal::InvalidDpopProof(
            "the DPoP proof is not made with the key the token is bound to".into(),
        ));
    }
    // Kept until the proof would be refused as stale anyway.
    let expires_at = verified
        .issued_at
        .saturating_add(config.dpop_max_age_secs)
        .saturating_add(config.dpop_skew_secs);
    state.record_once(
        &[b"dpop", verified.jkt.as_bytes(), verified.jti.as_bytes()],
        expires_at,
        Refusal::InvalidDpopProof("the DPoP proof was already used".into()),
    )?;
    Ok(verified)
}
