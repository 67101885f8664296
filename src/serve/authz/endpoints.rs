//! The authorization server's handlers: metadata, JWKS, nonce, token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentid_verifier::authorize::Denied;
use agentid_verifier::dpop::{verify_dpop_proof, DpopCheck};
use agentid_verifier::grant::{grant_token, presented_nonce, Grant, TokenAsk};
use agentid_verifier::{PresentationRequest, Verified};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::OAuthError;
use super::mint::mint;
use super::token_request::{
    TokenRequest, ACCESS_TOKEN_TYPE, PRESENTATION_TOKEN_TYPE, TOKEN_EXCHANGE,
};
use super::{Authz, DPOP_MAX_AGE_SECS, DPOP_SKEW_SECS};
use crate::serve::error::ApiError;
use crate::serve::limits::Slot;
use crate::serve::state::marks::MarkKind;
use crate::serve::Shared;

fn role(service: &Shared) -> Result<Arc<Authz>, ApiError> {
    service.authz.clone().ok_or(ApiError::NotFound)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub(in crate::serve) async fn metadata(
    State(service): State<Shared>,
) -> Result<Response, ApiError> {
    let role = role(&service)?;
    let algs = ["ES256", "EdDSA"];
    let body = json!({
        "issuer": role.issuer,
        "token_endpoint": role.token_endpoint(),
        // RFC 8414 requires it and MCP clients (the Python SDK's OAuthMetadata) refuse
        // metadata without it; it answers every request `unsupported_response_type`.
        "authorization_endpoint": format!("{}/v1/oauth/authorize", role.issuer),
        "jwks_uri": role.jwks_uri(),
        "nonce_endpoint": role.nonce_endpoint(),
        "grant_types_supported": [TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["none"],
        // No authorization endpoint: nothing is asked of a browser.
        "response_types_supported": [],
        "dpop_signing_alg_values_supported": algs,
        "token_endpoint_auth_signing_alg_values_supported": [],
        "agentid_subject_token_types_supported": [PRESENTATION_TOKEN_TYPE],
        "agentid_issued_token_types_supported": [ACCESS_TOKEN_TYPE],
        "agentid_access_token_signing_alg": role.signer.algorithm().as_str(),
        "agentid_dpop_required": role.require_dpop,
    });
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response())
}

/// `GET /v1/oauth/authorize`: there is no browser flow here; every request is
/// refused (RFC 6749 §4.1.2.1 `unsupported_response_type`, answered directly: no
/// redirect URI is trusted).
pub(in crate::serve) async fn authorize(State(service): State<Shared>) -> Response {
    if let Err(error) = role(&service) {
        return error.into_response();
    }
    OAuthError {
        status: StatusCode::BAD_REQUEST,
        code: "unsupported_response_type",
        description: "no authorization-code flow: agents get tokens by token exchange at the \
                      token endpoint"
            .into(),
    }
    .into_response()
}

/// `GET /v1/oauth/jwks`: the signing key and the previous keys still published.
pub(in crate::serve) async fn jwks(State(service): State<Shared>) -> Result<Response, ApiError> {
    let role = role(&service)?;
    let alg = |key: &agentid_verifier::PublicKey| key.algorithm().as_str();
    let entry = |kid: &str, key: &agentid_verifier::PublicKey| {
        let mut jwk = key.to_jwk();
        if let Some(object) = jwk.as_object_mut() {
            object.insert("kid".into(), kid.into());
            object.insert("alg".into(), alg(key).into());
            object.insert("use".into(), "sig".into());
        }
        jwk
    };
    let mut keys = vec![entry(&role.kid, role.signer.public_key())];
    keys.extend(role.previous.iter().map(|(kid, key)| entry(kid, key)));
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::CONTENT_TYPE, "application/jwk-set+json"),
        ],
        Json(json!({ "keys": keys })).to_string(),
    )
        .into_response())
}

/// `POST /v1/oauth/nonce`: a fresh single-use nonce.
pub(in crate::serve) async fn nonce(State(service): State<Shared>) -> Result<Response, ApiError> {
    let role = role(&service)?;
    let ttl = role.nonce_ttl.as_secs();
    let nonce = role.nonces.issue(now().saturating_add(ttl));
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "nonce": nonce, "expires_in": ttl })),
    )
        .into_response())
}

/// `POST /v1/oauth/token`: a token exchange (RFC 8693).
pub(in crate::serve) async fn token(
    State(service): State<Shared>,
    Slot(slot): Slot,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let role = match role(&service) {
        Ok(role) => role,
        Err(error) => return error.into_response(),
    };
    let started = Instant::now();
    match exchange(&service, &role, &headers, &body, slot).await {
        Ok(answer) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(answer),
        )
            .into_response(),
        Err(error) => {
            tracing::info!(
                endpoint = "token",
                valid = false,
                error = error.code,
                elapsed_us = micros(started.elapsed()),
                "decision"
            );
            error.into_response()
        }
    }
}

async fn exchange(
    service: &Shared,
    role: &Authz,
    headers: &HeaderMap,
    body: &[u8],
    slot: tokio::sync::OwnedSemaphorePermit,
) -> Result<Value, OAuthError> {
    let started = Instant::now();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value.split(';').next().is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form {
        return Err(OAuthError::invalid_request(
            "a token request is application/x-www-form-urlencoded (RFC 6749 §3.2)",
        ));
    }
    let request = TokenRequest::parse(body)?;
    let at = now();
    let proof = check_dpop(role, headers, at)?;
    let nonce = presented_nonce(&request.subject_token).ok_or_else(|| {
        OAuthError::invalid_request(
            "the presentation carries no nonce: get one from the nonce endpoint",
        )
    })?;
    let nonce_expires_at = role.nonces.check(&nonce, at).ok_or_else(|| {
        OAuthError::invalid_request(
            "the presentation's nonce is not one this server issued, or it expired",
        )
    })?;
    let verifier = service.verifier();
    let issuer = role.issuer.clone();
    let (subject_token, resource, scopes) = (
        request.subject_token,
        request.resource.clone(),
        request.scopes,
    );
    let decided = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let binding = PresentationRequest::new(issuer, nonce.clone());
        let verified = verifier
            .verify_presentation(&subject_token, &binding, at)
            .map_err(|error| {
                OAuthError::invalid_request(format!(
                    "presentation refused ({}): {}",
                    error.kind().as_str(),
                    crate::timefmt::reason(&error)
                ))
            })?;
        let ask = TokenAsk {
            scopes: &scopes,
            resource: &resource,
        };
        let grant = grant_token(&verified, &ask).map_err(refusal)?;
        Ok::<(Verified, Grant, String), OAuthError>((verified, grant, nonce))
    })
    .await
    .map_err(|_| OAuthError::server_error())??;
    let (verified, grant, nonce) = decided;
    // Spent only now: a refused request leaves its nonce unspent and writes nothing.
    if !mark(role, MarkKind::TokenNonce, &nonce, nonce_expires_at).await? {
        return Err(OAuthError::invalid_request(
            "the presentation's nonce was already used",
        ));
    }
    if let Some(proof) = &proof {
        let remembered_until = proof
            .issued_at
            .saturating_add(DPOP_MAX_AGE_SECS + 2 * DPOP_SKEW_SECS);
        if !mark(role, MarkKind::DpopJti, &proof.jti, remembered_until).await? {
            return Err(OAuthError::invalid_dpop_proof(
                "the DPoP proof was already used",
            ));
        }
    }
    if grant.expires_at <= at {
        return Err(OAuthError::invalid_request(
            "the credential's rights have expired",
        ));
    }
    let jkt = proof.as_ref().map(|proof| proof.jkt.as_str());
    let minted = mint(role, &grant, &request.resource, jkt, at);
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    tracing::info!(
        endpoint = "token",
        issuer = verified.issuer.as_str(),
        vct = verified.vct.as_deref(),
        valid = true,
        authorized = true,
        jti = minted.jti.as_str(),
        sub = grant.subject.as_str(),
        delegated = !grant.actors.is_empty(),
        token_type,
        expires_in = minted.expires_at - at,
        elapsed_us = micros(started.elapsed()),
        "decision"
    );
    Ok(json!({
        "access_token": minted.token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": token_type,
        "expires_in": minted.expires_at - at,
        "scope": grant.scopes.join(" "),
    }))
}

/// The request's DPoP proof, checked (RFC 9449 §4.3), or `None` without one.
fn check_dpop(
    role: &Authz,
    headers: &HeaderMap,
    at: u64,
) -> Result<Option<agentid_verifier::dpop::VerifiedDpop>, OAuthError> {
    let mut proofs = headers.get_all("dpop").iter();
    let Some(proof) = proofs.next() else {
        if role.require_dpop {
            return Err(OAuthError::invalid_dpop_proof(
                "this server issues only DPoP-bound tokens: send a DPoP proof",
            ));
        }
        return Ok(None);
    };
    if proofs.next().is_some() {
        return Err(OAuthError::invalid_dpop_proof("more than one DPoP header"));
    }
    let proof = proof
        .to_str()
        .map_err(|_| OAuthError::invalid_dpop_proof("the DPoP header is not ASCII"))?;
    let endpoint = role.token_endpoint();
    let check = DpopCheck {
        method: "POST",
        url: &endpoint,
        access_token: None,
        nonce: None,
        now: at,
        max_age_secs: DPOP_MAX_AGE_SECS,
        skew_secs: DPOP_SKEW_SECS,
    };
    verify_dpop_proof(proof, &check)
        .map(Some)
        .map_err(|error| OAuthError::invalid_dpop_proof(error.to_string()))
}

async fn mark(role: &Authz, kind: MarkKind, value: &str, until: u64) -> Result<bool, OAuthError> {
    role.store
        .mark_used(kind, value, until)
        .await
        .map_err(|error| {
            tracing::error!(%error, "authorization server state store");
            OAuthError::temporarily_unavailable()
        })
}

/// The OAuth error for a denied grant: the scope (`invalid_scope`), the resource or
/// audience (`invalid_target`), anything else about the credential
/// (`invalid_request`, RFC 8693 §2.2.2).
fn refusal(denied: Denied) -> OAuthError {
    let description = format!("not granted: {denied}");
    match denied {
        Denied::Scope(_) => OAuthError::invalid_scope(description),
        Denied::Resource(_) | Denied::Audience(_) => OAuthError::invalid_target(description),
        _ => OAuthError::invalid_request(description),
    }
}

fn now() -> u64 {
    agentid_wallet::unix_now()
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}
