//! The service's limits: what one connection, one request and all requests
//! together may hold. They are layers and extractors composed once, in
//! [`super::router`] and [`super::listener`], not checks inside the handlers.
//!
//! | limit | default | flag | when reached |
//! |---|---|---|---|
//! | open connections | 512 | `--max-connections` | further ones wait in the listen backlog, not accepted |
//! | header read time | 10 s | `--header-timeout-ms` | the connection is closed (also idle keep-alive) |
//! | body size | 1 MiB | `--max-body-bytes` | 413 `body_too_large` |
//! | body read time | 10 s | `--body-timeout-ms` | 408 `body_timeout` |
//! | bytes buffered, all requests | 64 MiB | `--max-buffered-bytes` | 503 `buffer_budget_exhausted` |
//! | request time | 30 s | `--request-timeout-ms` | 503 `timed_out` |
//! | verifications at once | 2 per core | `--max-concurrent` | wait `--queue-wait-ms`, then 503 `busy` |

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use super::Shared;
use crate::cli::HttpLimitArgs;
use crate::error::CliError;

/// The limits in force, from the command line.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    pub(super) header_timeout: Duration,
    pub(super) body_timeout: Duration,
    pub(super) request_timeout: Duration,
    pub(super) max_connections: u32,
    pub(super) max_body_bytes: usize,
    pub(super) max_buffered_bytes: usize,
}

impl Limits {
    pub(super) fn from_args(args: &HttpLimitArgs) -> Result<Self, CliError> {
        if args.max_buffered_bytes < args.max_body_bytes {
            return Err(CliError::usage(format!(
                "--max-buffered-bytes {} is less than --max-body-bytes {}: no body of the \
                 largest size could ever be read",
                args.max_buffered_bytes, args.max_body_bytes
            )));
        }
        Ok(Limits {
            header_timeout: Duration::from_millis(args.header_timeout_ms),
            body_timeout: Duration::from_millis(args.body_timeout_ms),
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            max_connections: args.max_connections,
            max_body_bytes: args.max_body_bytes,
            max_buffered_bytes: args.max_buffered_bytes,
        })
    }
}

/// The bytes of request bodies being read and held, bounded across all requests.
#[derive(Debug, Clone)]
pub(super) struct BodyBudget {
    bytes: Arc<Semaphore>,
    max_body_bytes: usize,
    body_timeout: Duration,
}

impl BodyBudget {
    pub(super) fn new(limits: &Limits) -> Self {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(
                limits.max_buffered_bytes.min(Semaphore::MAX_PERMITS),
            )),
            max_body_bytes: limits.max_body_bytes,
            body_timeout: limits.body_timeout,
        }
    }
}

/// Reads the whole body before the request goes on, within three limits: its size
/// (413, refused from `Content-Length` before reading when it says so), its time
/// (408) and the byte budget shared by all requests (503). A request is charged
/// its `Content-Length`, or the largest body without one, before a byte is read,
/// and holds the charge until its answer is ready. The handlers' extractors then
/// parse bytes already in memory.
pub(super) async fn buffer_body(
    State(budget): State<BodyBudget>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = body.size_hint().upper();
    let limit = budget.max_body_bytes;
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::BodyTooLarge { limit }.into_response();
    }
    let charge = declared.map_or(limit, |length| length as usize);
    let charge = u32::try_from(charge).unwrap_or(u32::MAX);
    let Ok(_charge) = Arc::clone(&budget.bytes).try_acquire_many_owned(charge) else {
        return ApiError::BufferBudget.into_response();
    };
    let read = tokio::time::timeout(budget.body_timeout, Limited::new(body, limit).collect());
    let bytes = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return ApiError::BodyTooLarge { limit }.into_response()
        }
        Ok(Err(_)) => return ApiError::UnreadableBody.into_response(),
        Err(_) => {
            return ApiError::BodyTimeout {
                limit: budget.body_timeout,
            }
            .into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A verification slot, held until the verification is done: the extractor that
/// bounds how many run at once. It waits up to the queue wait for a slot, then
/// refuses (503): under overload the service sheds requests instead of queueing
/// without bound.
pub(super) struct Slot(pub(super) OwnedSemaphorePermit);

impl FromRequestParts<Shared> for Slot {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, service: &Shared) -> Result<Self, ApiError> {
        let slot = Arc::clone(&service.slots).acquire_owned();
        match tokio::time::timeout(service.queue_wait, slot).await {
            Ok(Ok(permit)) => Ok(Slot(permit)),
            _ => Err(ApiError::Busy),
        }
    }
}
