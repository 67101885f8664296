//! The service's one error type and its one wire shape.
//!
//! Every refusal is an [`ApiError`]: a handler's (wrong audience, too many items), a
//! limit layer's (body timeout, byte budget, request timeout) and the framework's
//! (unknown route, wrong method, body not JSON). One [`IntoResponse`] answers each
//! with its status and `{"code": "<stable_snake_case>", "message": "<human text>"}`
//! as `application/json`. The code is the contract (listed in the OpenAPI
//! document's `ErrorCode`); the message is for people and never quotes the request: no
//! presentation, claim, nonce or member value, only positions and member names.
//!
//! Verdicts are not errors: a presentation that fails verification, or whose action
//! is denied, is answered 200 with `{"valid": false, "kind", "reason"}`.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A request the service refuses.
#[derive(Debug)]
pub(super) enum ApiError {
    /// No route at this path (404).
    NotFound,
    /// The path exists, not with this method (405; `Allow` lists the methods).
    MethodNotAllowed,
    /// The body is not declared as JSON (415).
    UnsupportedMediaType,
    /// The body is not JSON (400), at this position.
    MalformedJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The body could not be read: the connection failed before it ended (400).
    UnreadableBody,
    /// The JSON does not have the request's shape (422). The message names the
    /// member (as a JSON pointer) and what was expected, never the value sent.
    InvalidRequest(String),
    /// A batch with more items than one request may carry (422).
    TooManyItems {
        /// Items sent.
        count: usize,
        /// Items allowed.
        limit: usize,
    },
    /// The request names an audience this service does not answer to (422).
    AudienceNotServed,
    /// The body is larger than the limit (413).
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive within the body timeout (408).
    BodyTimeout {
        /// The timeout.
        limit: Duration,
    },
    /// Every verification slot stayed taken for the whole queue wait (503).
    Busy,
    /// The request bodies being buffered already use the byte budget (503).
    BufferBudget,
    /// The request was not answered within the request timeout (503).
    TimedOut {
        /// The timeout.
        limit: Duration,
    },
    /// A fault of the service (500).
    Internal,
    /// No OpenID4VP request with this id: never made, or swept (404).
    UnknownRequest,
    /// The OpenID4VP result key is missing or wrong (401).
    Unauthorized,
    /// The OpenID4VP request was already used this way, or expired (410).
    Gone(String),
    /// The request-state store cannot be reached (503).
    StateUnavailable,
}

/// Every `code` the service answers with: the OpenAPI document's `ErrorCode`, as
/// the tests check.
#[cfg(test)]
pub(super) const CODES: [&str; 18] = [
    "not_found",
    "method_not_allowed",
    "unsupported_media_type",
    "malformed_json",
    "unreadable_body",
    "invalid_request",
    "too_many_items",
    "audience_not_served",
    "body_too_large",
    "body_timeout",
    "busy",
    "buffer_budget_exhausted",
    "timed_out",
    "internal",
    "unknown_request",
    "unauthorized",
    "gone",
    "state_unavailable",
];

impl ApiError {
    /// A 422 naming what is wrong with the request's shape.
    pub(super) fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest(message.into())
    }

    pub(super) fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MalformedJson { .. } | ApiError::UnreadableBody => StatusCode::BAD_REQUEST,
            ApiError::InvalidRequest(_)
            | ApiError::TooManyItems { .. }
            | ApiError::AudienceNotServed => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Busy | ApiError::BufferBudget | ApiError::TimedOut { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::UnknownRequest => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::StateUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable, machine-readable name of the refusal.
    pub(super) fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::MalformedJson { .. } => "malformed_json",
            ApiError::UnreadableBody => "unreadable_body",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::TooManyItems { .. } => "too_many_items",
            ApiError::AudienceNotServed => "audience_not_served",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::BodyTimeout { .. } => "body_timeout",
            ApiError::Busy => "busy",
            ApiError::BufferBudget => "buffer_budget_exhausted",
            ApiError::TimedOut { .. } => "timed_out",
            ApiError::Internal => "internal",
            ApiError::UnknownRequest => "unknown_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Gone(_) => "gone",
            ApiError::StateUnavailable => "state_unavailable",
        }
    }

    /// True when the refusal comes before the body was read to its end.
    fn leaves_body_unread(&self) -> bool {
        matches!(
            self,
            ApiError::BodyTooLarge { .. }
                | ApiError::BodyTimeout { .. }
                | ApiError::BufferBudget
                | ApiError::UnreadableBody
        )
    }

    /// The human account. Built only from the service's own words, numbers and
    /// member names: nothing the client sent is quoted.
    pub(super) fn message(&self) -> String {
        match self {
            ApiError::NotFound => "no such route".to_owned(),
            ApiError::MethodNotAllowed => {
                "method not allowed on this route; see the Allow header".to_owned()
            }
            ApiError::UnsupportedMediaType => {
                "the body must be JSON: content-type application/json".to_owned()
            }
            ApiError::MalformedJson { line, column } => {
                format!("the body is not valid JSON (line {line}, column {column})")
            }
            ApiError::UnreadableBody => "the body could not be read to its end".to_owned(),
            ApiError::InvalidRequest(message) => message.clone(),
            ApiError::TooManyItems { count, limit } => {
                format!("{count} items: at most {limit} per request")
            }
            ApiError::AudienceNotServed => "audience is not this service's".to_owned(),
            ApiError::BodyTooLarge { limit } => {
                format!("the body is larger than {limit} bytes")
            }
            ApiError::BodyTimeout { limit } => {
                format!("the body did not arrive within {} ms", limit.as_millis())
            }
            ApiError::Busy => "busy: every verification slot is taken; retry shortly".to_owned(),
            ApiError::BufferBudget => {
                "busy: too many request bodies are being read; retry shortly".to_owned()
            }
            ApiError::TimedOut { limit } => format!(
                "the request was not answered within {} ms; retry shortly",
                limit.as_millis()
            ),
            ApiError::Internal => "internal error".to_owned(),
            ApiError::UnknownRequest => {
                "no such request (never made, or expired and removed)".to_owned()
            }
            ApiError::Unauthorized => {
                "the result key is missing or wrong (Authorization: Bearer <result_key>)".to_owned()
            }
            ApiError::Gone(why) => why.clone(),
            ApiError::StateUnavailable => {
                "the request state store is unavailable; retry shortly".to_owned()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::info!(
            status = status.as_u16(),
            code = self.code(),
            "request refused"
        );
        let mut response = (
            status,
            Json(json!({"code": self.code(), "message": self.message()})),
        )
            .into_response();
        let headers = response.headers_mut();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.leaves_body_unread() {
            // The connection cannot carry another request after it.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// The answer to an error from a layer's service: the request timeout's, or an
/// unexpected one (500).
pub(super) fn from_layer(error: &tower::BoxError, request_timeout: Duration) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::TimedOut {
            limit: request_timeout,
        }
    } else {
        tracing::error!("layer failed");
        ApiError::Internal
    }
}
