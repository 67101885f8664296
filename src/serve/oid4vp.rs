//! The verifier service's OpenID4VP 1.0 role: a caller asks for a request, a
//! wallet fetches it and answers, the caller reads the verdict (or is called back).
//!
//! - `POST /v1/oid4vp/requests` (caller): a DCQL query, optional transaction data,
//!   response mode and callback → the authorization request URI, the request id and
//!   the bearer key that reads its result.
//! - `GET /v1/oid4vp/requests/{id}/object` (wallet, `request_uri`): the signed
//!   request object, once.
//! - `POST /v1/oid4vp/responses/{id}` (wallet, `response_uri`): one response, by
//!   `direct_post` or `direct_post.jwt`, answered 200 `{}` or 400 with an OAuth
//!   error (`invalid_request`, …).
//! - `GET /v1/oid4vp/requests/{id}` (caller, `Authorization: Bearer <result_key>`):
//!   pending, expired, or the verdict.
//!
//! Every transition is one atomic step of the state store, so any node behind a load
//! balancer can take any step. Nothing kept is readable at rest: request details
//! and verdicts are sealed under the state secret, and response keys are derived,
//! not stored. Logs name the request id, the verdict and its kind, never a claim,
//! nonce, state or presentation.

use std::sync::Arc;
use std::time::Duration;

use agentid_verifier::dcql::DcqlQuery;
use agentid_verifier::oid4vp::TransactionData;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::request::ApiJson;
use super::state::{OpenRequest, Phase, StateDigest, StateError, StateStore};
use super::Shared;
use crate::oid4vp::check::{read_response, verdict_json, verify_vp_token, Refusal};
use crate::oid4vp::http::{HttpClient, HttpOptions};
use crate::oid4vp::identity::RequestSigner;
use crate::oid4vp::secret::StateSecret;
use crate::oid4vp::session::{
    make_request, random_token, response_kid, Endpoints, NewRequest, RequestDetails, DIRECT_POST,
    DIRECT_POST_JWT,
};

/// Largest response body read from a callback.
const MAX_CALLBACK_ANSWER_BYTES: usize = 16 * 1024;

/// The OpenID4VP role's configuration and state.
pub(super) struct Oid4vp {
    /// The URL wallets reach this service at, without a trailing slash.
    pub(super) public_url: String,
    /// Who signs request objects.
    pub(super) signer: RequestSigner,
    /// Open requests.
    pub(super) store: StateStore,
    /// Seals state; derives response keys and result keys.
    pub(super) secret: StateSecret,
    /// Longest request lifetime.
    pub(super) ttl: Duration,
    /// How long a verdict stays readable after its request expired.
    pub(super) retention: Duration,
    /// Calls callbacks back.
    pub(super) http: HttpClient,
}

impl Oid4vp {
    /// The callback client: http allowed (callers are on the operator's network).
    pub(super) fn callback_client() -> Result<HttpClient, crate::error::CliError> {
        HttpClient::new(&HttpOptions {
            allow_http: true,
            tls_ca: Vec::new(),
        })
    }
}

fn role(service: &Shared) -> Result<&Oid4vp, ApiError> {
    service.oid4vp.as_deref().ok_or(ApiError::NotFound)
}

fn now() -> u64 {
    agentid_wallet::unix_now()
}

/// The body of `POST /v1/oid4vp/requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateRequest {
    dcql_query: Value,
    #[serde(default)]
    transaction_data: Vec<serde_json::Map<String, Value>>,
    #[serde(default)]
    response_mode: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    ttl_secs: Option<u64>,
}

impl super::request::FromJson for CreateRequest {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        serde_json::from_value(value).map_err(|error| {
            // serde names unknown and missing members; anything else could quote a
            // value sent, so it is described, not repeated.
            let text = error.to_string();
            if text.starts_with("unknown field") || text.starts_with("missing field") {
                ApiError::InvalidRequest(text)
            } else {
                ApiError::InvalidRequest(
                    "the body is {dcql_query, transaction_data?, response_mode?, callback_url?, \
                     ttl_secs?}: a member has the wrong type"
                        .into(),
                )
            }
        })
    }
}

/// `POST /v1/oid4vp/requests`.
pub(super) async fn create(
    State(service): State<Shared>,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let role = role(&service)?;
    let dcql_query = DcqlQuery::from_value(&body.dcql_query)
        .map_err(|e| ApiError::InvalidRequest(format!("/dcql_query: {e}")))?;
    let mut transaction_data = Vec::new();
    for (index, object) in body.transaction_data.iter().enumerate() {
        let data = TransactionData::encode(object)
            .map_err(|e| ApiError::InvalidRequest(format!("/transaction_data/{index}: {e}")))?;
        if let Some(unknown) = data
            .credential_ids()
            .iter()
            .find(|id| dcql_query.credential(id).is_none())
        {
            return Err(ApiError::InvalidRequest(format!(
                "/transaction_data/{index}: credential id {unknown:?} is not a credential query"
            )));
        }
        transaction_data.push(data);
    }
    let response_mode = body
        .response_mode
        .unwrap_or_else(|| DIRECT_POST_JWT.to_owned());
    if response_mode != DIRECT_POST && response_mode != DIRECT_POST_JWT {
        return Err(ApiError::InvalidRequest(
            "/response_mode: direct_post or direct_post.jwt".into(),
        ));
    }
    if let Some(url) = &body.callback_url {
        role.http
            .check_url(url)
            .map_err(|_| ApiError::InvalidRequest("/callback_url: an http(s) URL".into()))?;
    }
    let max_ttl = role.ttl.as_secs();
    let ttl_secs = body.ttl_secs.unwrap_or(max_ttl);
    if ttl_secs == 0 || ttl_secs > max_ttl {
        return Err(ApiError::InvalidRequest(format!(
            "/ttl_secs: 1 to {max_ttl} (the service's --request-ttl)"
        )));
    }
    let new = NewRequest {
        dcql_query,
        transaction_data,
        response_mode,
        callback_url: body.callback_url,
        ttl_secs,
    };
    let id = random_token();
    let endpoints = Endpoints {
        response_uri: format!("{}/v1/oid4vp/responses/{id}", role.public_url),
        request_uri: role
            .signer
            .signs()
            .then(|| format!("{}/v1/oid4vp/requests/{id}/object", role.public_url)),
    };
    let at = now();
    let details = make_request(id.clone(), &new, &endpoints, &role.signer, &role.secret, at)
        .map_err(|e| {
            tracing::error!(error = %e, "the request this service built fails a wallet's checks");
            ApiError::Internal
        })?;
    let sealed = serde_json::to_vec(&details).map_err(|_| ApiError::Internal)?;
    let open = OpenRequest {
        id: id.clone(),
        state_digest: StateDigest::of_state(&details.state),
        created_at: at,
        expires_at: details.expires_at,
        request: role.secret.seal(&id, &sealed),
    };
    role.store.insert(&open).await.map_err(state_error)?;
    tracing::info!(request = %id, mode = %details.response_mode, "oid4vp request created");
    let answer = json!({
        "id": id,
        "client_id": details.client_id,
        "authorization_request_uri": details.authorization_request_uri,
        "request_uri": endpoints.request_uri,
        "response_uri": endpoints.response_uri,
        "response_mode": details.response_mode,
        "expires_at": details.expires_at,
        "result_uri": format!("{}/v1/oid4vp/requests/{id}", role.public_url),
        "result_key": role.secret.result_key(&id).as_str(),
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /v1/oid4vp/requests/{id}/object`: the request object, served once.
pub(super) async fn request_object(
    State(service): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let role = role(&service)?;
    let open = role
        .store
        .take_request_object(&id, now())
        .await
        .map_err(state_error)?;
    let details = unseal(role, &open)?;
    let object = details.request_object.ok_or(ApiError::UnknownRequest)?;
    Ok((
        [(header::CONTENT_TYPE, "application/oauth-authz-req+jwt")],
        object,
    )
        .into_response())
}

/// `GET /v1/oid4vp/requests/{id}`: the result, for the holder of its result key.
pub(super) async fn result(
    State(service): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let role = role(&service)?;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = role.secret.result_key(&id);
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ApiError::Unauthorized);
    }
    let status = role.store.result(&id).await.map_err(state_error)?;
    let verdict = match &status.verdict {
        Some(sealed) => {
            let opened = role
                .secret
                .open(&id, sealed)
                .map_err(|_| ApiError::Internal)?;
            Some(serde_json::from_slice::<Value>(&opened).map_err(|_| ApiError::Internal)?)
        }
        None => None,
    };
    let at = now();
    let state = match (&verdict, status.phase) {
        (Some(verdict), _) => verdict
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_owned(),
        (None, _) if at >= status.expires_at => "expired".to_owned(),
        (None, Phase::Responding) => "checking".to_owned(),
        (None, _) => "pending".to_owned(),
    };
    Ok(Json(json!({
        "id": id,
        "status": state,
        "phase": status.phase.as_str(),
        "expires_at": status.expires_at,
        "verdict": verdict,
    })))
}

/// `POST /v1/oid4vp/responses/{id}`: the wallet's one response.
pub(super) async fn response(
    State(service): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if service.oid4vp.is_none() {
        // Off: like every other OpenID4VP route, no such route.
        return ApiError::NotFound.into_response();
    }
    match receive(&service, &id, &headers, &body).await {
        Ok(()) => (StatusCode::OK, Json(json!({}))).into_response(),
        Err(refusal) => oauth_error(&refusal),
    }
}

async fn receive(
    service: &Shared,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    let role = role(service).map_err(|_| Refusal::new("invalid_request", "OpenID4VP is off"))?;
    let form_declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !form_declared {
        return Err(Refusal::new(
            "invalid_request",
            "a response is application/x-www-form-urlencoded (OpenID4VP 1.0 §8.2)",
        ));
    }
    let received = read_response(body, &role.secret.response_key(id), &response_kid(id))?;
    let Some(state) = received.state.clone() else {
        return Err(Refusal::new("invalid_request", "the response has no state"));
    };
    let at = now();
    // The one atomic step: only the first response with the request's state, before
    // expiry, goes on; any other is refused and changes nothing.
    let open = role
        .store
        .begin_response(id, &StateDigest::of_state(&state), at)
        .await
        .map_err(|e| Refusal::new("invalid_request", state_refusal(&e)))?;
    let details = unseal(role, &open).map_err(|_| Refusal::new("server_error", "stored state"))?;
    let verifier = service.verifier();
    let mode_is_right = (details.response_mode == DIRECT_POST_JWT) == received.encrypted;
    let checked = if let Some(error) = received.wallet_error {
        Err(Refusal::new(
            "wallet_error",
            format!("the wallet answered {error}"),
        ))
    } else if !mode_is_right {
        Err(Refusal::new(
            "invalid_request",
            format!(
                "the request asked for response_mode {}",
                details.response_mode
            ),
        ))
    } else {
        let vp_token = received.vp_token.unwrap_or_default();
        let details_for_check = details.clone();
        tokio::task::spawn_blocking(move || {
            verify_vp_token(&verifier, &details_for_check, &vp_token, at)
        })
        .await
        .unwrap_or_else(|_| Err(Refusal::new("server_error", "verification failed to run")))
    };
    let verdict = verdict_json(&checked, at);
    let sealed = role.secret.seal(id, verdict.to_string().as_bytes());
    role.store
        .finish(id, &sealed)
        .await
        .map_err(|e| Refusal::new("server_error", e.to_string()))?;
    tracing::info!(
        request = %id,
        verdict = verdict.get("status").and_then(serde_json::Value::as_str).unwrap_or_default(),
        kind = checked.as_ref().err().map(|r| r.kind).unwrap_or_default(),
        "oid4vp response"
    );
    if let Some(url) = details.callback_url.clone() {
        let http = role.http.clone();
        let body = json!({"id": id, "verdict": verdict});
        let id = id.to_owned();
        tokio::spawn(async move {
            match http.post_json(&url, &body, MAX_CALLBACK_ANSWER_BYTES).await {
                Ok(answer) if (200..300).contains(&answer.status) => {}
                Ok(answer) => {
                    tracing::warn!(request = %id, status = answer.status, "callback refused")
                }
                Err(error) => {
                    tracing::warn!(request = %id, error = %error.message, "callback failed")
                }
            }
        });
    }
    checked.map(|_| ())
}

fn unseal(role: &Oid4vp, open: &OpenRequest) -> Result<RequestDetails, ApiError> {
    let opened = role
        .secret
        .open(&open.id, &open.request)
        .map_err(|_| ApiError::Internal)?;
    serde_json::from_slice(&opened).map_err(|_| ApiError::Internal)
}

fn state_refusal(error: &StateError) -> String {
    match error {
        StateError::NotFound => "no such request".into(),
        StateError::StateMismatch => "the state is not this request's".into(),
        StateError::AlreadyAnswered => "the request was already answered".into(),
        StateError::Expired => "the request expired".into(),
        other => format!("the request state is unavailable: {other}"),
    }
}

fn state_error(error: StateError) -> ApiError {
    match error {
        StateError::NotFound => ApiError::UnknownRequest,
        StateError::AlreadyServed | StateError::AlreadyAnswered | StateError::Expired => {
            ApiError::Gone(error.to_string())
        }
        StateError::Full { .. } => ApiError::Busy,
        other => {
            tracing::error!(error = %other, "request state store");
            ApiError::StateUnavailable
        }
    }
}

/// An OAuth error answer (RFC 6749 §5.2 shape), as wallets expect from the
/// response endpoint.
fn oauth_error(refusal: &Refusal) -> Response {
    let code = match refusal.kind {
        "server_error" => "server_error",
        _ => "invalid_request",
    };
    let status = if code == "server_error" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(json!({"error": code, "error_description": refusal.reason})),
    )
        .into_response()
}

/// Sweeps requests expired past the retention, once a minute.
pub(super) async fn sweep_expired(role: Arc<Oid4vp>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match role.store.sweep(now(), role.retention.as_secs()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "swept expired oid4vp requests"),
            Err(error) => tracing::warn!(%error, "sweeping oid4vp requests failed"),
        }
    }
}

#[cfg(test)]
mod send_checks {
    fn is_send<T: Send>(_: T) {}

    #[allow(dead_code, clippy::diverging_sub_expression)]
    fn futures_are_send(
        service: super::Shared,
        store: &super::StateStore,
        open: &super::OpenRequest,
    ) {
        is_send(store.insert(open));
        is_send(store.begin_response("a", &super::StateDigest::of_state("s"), 0));
        is_send(store.take_request_object("a", 0));
        is_send(store.result("a"));
        is_send(store.finish("a", b""));
        let _ = service;
    }
}
