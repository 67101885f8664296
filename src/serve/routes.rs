//! The routes and their handlers. [`ROUTES`] is the one list of what the service
//! serves: the router is built from it, and a test checks that the OpenAPI
//! document describes exactly these operations.

use std::time::{Duration, Instant};

use agentid_verifier::authorize::Action;
use agentid_verifier::{BatchItem, PresentationRequest};
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
use crate::decision::Decision;

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
    Oid4vpCreate,
    Oid4vpRequestObject,
    Oid4vpResult,
    Oid4vpResponse,
    AuthzMetadata,
    AuthzAuthorize,
    AuthzJwks,
    AuthzNonce,
    AuthzToken,
}

/// One operation the service serves.
#[derive(Debug, Clone, Copy)]
pub(super) struct Route {
    pub(super) method: Method,
    pub(super) path: &'static str,
    endpoint: Endpoint,
}

/// Every route the service serves.
pub(super) const ROUTES: [Route; 13] = [
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
    Route {
        method: Method::Post,
        path: "/v1/oid4vp/requests",
        endpoint: Endpoint::Oid4vpCreate,
    },
    Route {
        method: Method::Get,
        path: "/v1/oid4vp/requests/{id}/object",
        endpoint: Endpoint::Oid4vpRequestObject,
    },
    Route {
        method: Method::Get,
        path: "/v1/oid4vp/requests/{id}",
        endpoint: Endpoint::Oid4vpResult,
    },
    Route {
        method: Method::Post,
        path: "/v1/oid4vp/responses/{id}",
        endpoint: Endpoint::Oid4vpResponse,
    },
    Route {
        method: Method::Get,
        path: "/.well-known/oauth-authorization-server",
        endpoint: Endpoint::AuthzMetadata,
    },
    Route {
        method: Method::Get,
        path: "/v1/oauth/authorize",
        endpoint: Endpoint::AuthzAuthorize,
    },
    Route {
        method: Method::Get,
        path: "/v1/oauth/jwks",
        endpoint: Endpoint::AuthzJwks,
    },
    Route {
        method: Method::Post,
        path: "/v1/oauth/nonce",
        endpoint: Endpoint::AuthzNonce,
    },
    Route {
        method: Method::Post,
        path: "/v1/oauth/token",
        endpoint: Endpoint::AuthzToken,
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
            Endpoint::Oid4vpCreate => on(method, super::oid4vp::create),
            Endpoint::Oid4vpRequestObject => on(method, super::oid4vp::request_object),
            Endpoint::Oid4vpResult => on(method, super::oid4vp::result),
            Endpoint::Oid4vpResponse => on(method, super::oid4vp::response),
            Endpoint::AuthzMetadata => on(method, super::authz::endpoints::metadata),
            Endpoint::AuthzAuthorize => on(method, super::authz::endpoints::authorize),
            Endpoint::AuthzJwks => on(method, super::authz::endpoints::jwks),
            Endpoint::AuthzNonce => on(method, super::authz::endpoints::nonce),
            Endpoint::AuthzToken => on(method, super::authz::endpoints::token),
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
    let mut report = health::report(&service.verifier(), agentid_wallet::unix_now());
    let store = match (&service.oid4vp, &service.authz) {
        (Some(role), _) => Some(&role.store),
        (None, Some(role)) => Some(&role.store),
        (None, None) => None,
    };
    if let Some(store) = store {
        // A state store that does not answer takes the OpenID4VP role down, not
        // plain verification: degraded, still 200.
        let ok = store.health().await.is_ok();
        if let Some(object) = report.as_object_mut() {
            object.insert(
                "oid4vp_state".into(),
                if ok { "ok" } else { "unavailable" }.into(),
            );
            if !ok {
                object.insert("status".into(), "degraded".into());
                object.entry("status_lists").or_insert_with(|| json!([]));
            }
        }
    }
    Json(report)
}

/// `GET /openapi.json`: the service's OpenAPI 3.1 description.
async fn openapi_document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::DOCUMENT,
    )
}

/// `POST /v1/presentations/verify`: one decision. A presentation that fails
/// verification, or whose action is denied, is a valid request: 200 with
/// `"valid": false` (see [`crate::decision`] for the shapes).
async fn verify(
    State(service): State<Shared>,
    Slot(slot): Slot,
    ApiJson(item): ApiJson<VerifyRequest>,
) -> Result<Json<Value>, ApiError> {
    service.check_audience(&item.audience)?;
    let verifier = service.verifier();
    let asked = item.action.is_some();
    let (decision, elapsed) = tokio::task::spawn_blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _slot = slot;
        let started = Instant::now();
        let request = PresentationRequest::new(item.audience, item.nonce);
        let now = agentid_wallet::unix_now();
        let verdict = verifier.verify_presentation(&item.presentation, &request, now);
        let decision = Decision::decide(
            &verifier,
            verdict,
            item.action.as_ref(),
            item.approval.as_deref(),
            now,
        );
        (decision, started.elapsed())
    })
    .await
    .map_err(internal_error)?;
    log_decision(&decision, asked, elapsed, "verify", 1);
    Ok(Json(decision.to_json(true)))
}

/// What an item asks beyond verification: its action and the approval of it.
struct Ask {
    action: Option<Action>,
    approval: Option<String>,
}

/// `POST /v1/presentations/verify-batch`: one decision per item, in order. The
/// presentations are verified together; then each item's action, if it names one,
/// is authorized with its own approval.
async fn verify_batch(
    State(service): State<Shared>,
    Slot(slot): Slot,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Json<Value>, ApiError> {
    let count = batch.items.len();
    for item in &batch.items {
        service.check_audience(&item.audience)?;
    }
    tracing::debug!(items = count, "batch started");
    let verifier = service.verifier();
    let decided = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let started = Instant::now();
        let mut presentations = Vec::with_capacity(count);
        let mut requests = Vec::with_capacity(count);
        let mut asks = Vec::with_capacity(count);
        for item in batch.items {
            presentations.push(item.presentation);
            requests.push(PresentationRequest::new(item.audience, item.nonce));
            asks.push(Ask {
                action: item.action,
                approval: item.approval,
            });
        }
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
        if verdicts.len() != count {
            return Err(verdicts.len());
        }
        let decisions: Vec<(Decision, bool)> = verdicts
            .into_iter()
            .zip(asks)
            .map(|(verdict, ask)| {
                let decision = Decision::decide(
                    &verifier,
                    verdict,
                    ask.action.as_ref(),
                    ask.approval.as_deref(),
                    now,
                );
                (decision, ask.action.is_some())
            })
            .collect();
        Ok((decisions, started.elapsed()))
    })
    .await
    .map_err(internal_error)?;
    let (decisions, elapsed) = decided.map_err(|verdicts| {
        tracing::error!(
            items = count,
            verdicts,
            "batch verifier returned the wrong number of verdicts"
        );
        ApiError::Internal
    })?;
    for (decision, asked) in &decisions {
        log_decision(decision, *asked, elapsed, "verify-batch", count);
    }
    let results: Vec<Value> = decisions
        .iter()
        .map(|(decision, _)| decision.to_json(true))
        .collect();
    Ok(Json(json!({"results": results})))
}

/// One line per decision: the issuer and `vct` when verified, the rejection kind
/// (`denied` for an action denied) when not, and, when the item named an action,
/// whether it was `authorized`. Never the action (its resource or amount), a
/// claim, a nonce or the presentation. `elapsed_us` is the time of the decision
/// (verification and authorization): for a batch item, of the whole batch
/// (`batch_size` items).
fn log_decision(
    decision: &Decision,
    asked: bool,
    elapsed: Duration,
    endpoint: &'static str,
    batch_size: usize,
) {
    let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let authorized = asked.then_some(matches!(decision, Decision::Allowed { .. }));
    match decision {
        Decision::Allowed { verified, .. } => tracing::info!(
            endpoint,
            issuer = verified.issuer.as_str(),
            vct = verified.vct.as_deref(),
            valid = true,
            authorized,
            elapsed_us,
            batch_size,
            "decision"
        ),
        refused => tracing::info!(
            endpoint,
            valid = false,
            kind = refused.kind(),
            authorized,
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
