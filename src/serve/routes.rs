//! The routes and their handlers. [`ROUTES`] is the one list of what the service
//! serves: the router is built from it, and a test checks that the OpenAPI
//! document describes exactly these operations.

use std::time::{Duration, Instant};

use agentid_verifier::{BatchItem, PresentationRequest, Verified, VerifyError};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::health;
use super::limits::Slot;
use super::openapi;
use super::request::{ApiJson, BatchRequest, VerifyRequest};
use super::Shared;
use crate::verify_cmd::rejection_json;

/// An HTTP method a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
}

impl Method {
    /// The name as an OpenAPI path item's key.
    #[cfg(test)]
    pub(super) fn openapi_key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
        }
    }
}

/// What a route does.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Verify,
    VerifyBatch,
    Health,
    OpenApi,
}

/// One operation the service serves.
#[derive(Debug, Clone, Copy)]
pub(super) struct Route {
    pub(super) method: Method,
    pub(super) path: &'static str,
    endpoint: Endpoint,
}

/// Every route the service serves.
pub(super) const ROUTES: [Route; 4] = [
    Route {
        method: Method::Post,
        path: "/v1/presentations/verify",
        endpoint: Endpoint::Verify,
    },
    Route {
        method: Method::Post,
        path: "/v1/presentations/verify-batch",
        endpoint: Endpoint::VerifyBatch,
    },
    Route {
        method: Method::Get,
        path: "/healthz",
        endpoint: Endpoint::Health,
    },
    Route {
        method: Method::Get,
        path: "/openapi.json",
        endpoint: Endpoint::OpenApi,
    },
];

impl Route {
    fn handler(self) -> MethodRouter<Shared> {
        let method = self.method.filter();
        match self.endpoint {
            Endpoint::Verify => on(method, verify),
            Endpoint::VerifyBatch => on(method, verify_batch),
            Endpoint::Health => on(method, healthz),
            Endpoint::OpenApi => on(method, openapi_document),
        }
    }
}

/// The routes of [`ROUTES`], with the 404 and 405 answers in the common shape.
pub(super) fn router() -> Router<Shared> {
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handler())
        })
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `GET /healthz`: `ok`, or `degraded` with the status lists the service may not
/// use (always 200; see [`health`]).
async fn healthz(State(service): State<Shared>) -> Json<Value> {
    Json(health::report(
        &service.verifier(),
        agentid_wallet::unix_now(),
    ))
}

/// `GET /openapi.json`: the service's OpenAPI 3.1 description.
async fn openapi_document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::DOCUMENT,
    )
}

/// Authorization of the request's action, if it names one.
///
/// This is where `agentid_verifier::authorize` goes: after verification, decide
/// `item.action` (read with `Action::from_json` or `Action::parse`) for the
/// verified presentation, with `item.approval` verified as a credential from the
/// root principal (as `verify --action --approval` does). Until then a request
/// naming an action is refused (501) rather than answered as if the action had
/// been checked.
fn check_authorization_available(item: &VerifyRequest) -> Result<(), ApiError> {
    if item.action.is_some() || item.approval.is_some() {
        return Err(ApiError::AuthorizationUnavailable);
    }
    Ok(())
}

/// `POST /v1/presentations/verify`: one verdict. A presentation that fails
/// verification is a valid request: 200 with `"valid": false`.
async fn verify(
    State(service): State<Shared>,
    Slot(slot): Slot,
    ApiJson(item): ApiJson<VerifyRequest>,
) -> Result<Json<Value>, ApiError> {
    service.check_audience(&item.audience)?;
    check_authorization_available(&item)?;
    let verifier = service.verifier();
    let (verdict, elapsed) = tokio::task::spawn_blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _slot = slot;
        let started = Instant::now();
        let request = PresentationRequest::new(item.audience, item.nonce);
        let now = agentid_wallet::unix_now();
        let verdict = verifier.verify_presentation(&item.presentation, &request, now);
        (verdict, started.elapsed())
    })
    .await
    .map_err(internal_error)?;
    log_decision(&verdict, elapsed, "verify", 1);
    Ok(Json(verdict_json(&verdict)))
}

/// `POST /v1/presentations/verify-batch`: one verdict per item, in order.
async fn verify_batch(
    State(service): State<Shared>,
    Slot(slot): Slot,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Json<Value>, ApiError> {
    let count = batch.items.len();
    for item in &batch.items {
        service.check_audience(&item.audience)?;
        check_authorization_available(item)?;
    }
    tracing::debug!(items = count, "batch started");
    let verifier = service.verifier();
    let (verdicts, elapsed) = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let started = Instant::now();
        let (presentations, requests): (Vec<String>, Vec<PresentationRequest>) = batch
            .items
            .into_iter()
            .map(|item| {
                (
                    item.presentation,
                    PresentationRequest::new(item.audience, item.nonce),
                )
            })
            .unzip();
        let items: Vec<BatchItem<'_>> = presentations
            .iter()
            .zip(&requests)
            .map(|(presentation, request)| BatchItem {
                presentation,
                request,
            })
            .collect();
        let now = agentid_wallet::unix_now();
        let verdicts = verifier.verify_batch(&items, now);
        (verdicts, started.elapsed())
    })
    .await
    .map_err(internal_error)?;
    if verdicts.len() != count {
        tracing::error!(
            items = count,
            verdicts = verdicts.len(),
            "batch verifier returned the wrong number of verdicts"
        );
        return Err(ApiError::Internal);
    }
    for verdict in &verdicts {
        log_decision(verdict, elapsed, "verify-batch", count);
    }
    let results: Vec<Value> = verdicts.iter().map(verdict_json).collect();
    Ok(Json(json!({"results": results})))
}

fn verdict_json(verdict: &Result<Verified, VerifyError>) -> Value {
    match verdict {
        Ok(verified) => json!({"valid": true, "verified": verified}),
        Err(error) => rejection_json(error),
    }
}

/// One line per verdict. `elapsed_us` is the time of the verification call: for a
/// batch item, of the whole batch (`batch_size` items).
fn log_decision(
    verdict: &Result<Verified, VerifyError>,
    elapsed: Duration,
    endpoint: &'static str,
    batch_size: usize,
) {
    let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    match verdict {
        Ok(verified) => tracing::info!(
            endpoint,
            issuer = verified.issuer.as_str(),
            vct = verified.vct.as_deref(),
            valid = true,
            elapsed_us,
            batch_size,
            "decision"
        ),
        Err(error) => tracing::info!(
            endpoint,
            valid = false,
            kind = error.kind().as_str(),
            elapsed_us,
            batch_size,
            "decision"
        ),
    }
}

fn internal_error(error: tokio::task::JoinError) -> ApiError {
    tracing::error!(panic = error.is_panic(), "verification task failed");
    ApiError::Internal
}
