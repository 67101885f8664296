//! The token endpoint's refusals: RFC 6749 §5.2 JSON (`error`,
//! `error_description`), never cached.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// One OAuth error answer.
#[derive(Debug)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    /// The RFC 6749 / 8693 / 8707 / 9449 error code.
    pub(crate) code: &'static str,
    /// Why, for the developer: names the rule, never a value from the request.
    pub(crate) description: String,
}

impl OAuthError {
    fn bad(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
        }
    }

    /// The request is malformed, or the subject token is invalid or unacceptable
    /// by policy (RFC 8693 §2.2.2).
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad("invalid_request", description)
    }

    /// Only token exchange is served.
    pub(crate) fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::bad("unsupported_grant_type", description)
    }

    /// The resource is unacceptable (RFC 8707 §2, RFC 8693 §2.2.2).
    pub(crate) fn invalid_target(description: impl Into<String>) -> Self {
        Self::bad("invalid_target", description)
    }

    /// A scope asked for is malformed or beyond the credential's (RFC 6749 §5.2).
    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::bad("invalid_scope", description)
    }

    /// The DPoP proof is invalid (RFC 9449 §5).
    pub(crate) fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::bad("invalid_dpop_proof", description)
    }

    /// The state store does not answer: try again later (RFC 6749 §4.1.2.1's code).
    pub(crate) fn temporarily_unavailable() -> Self {
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: "the authorization server's state store is unavailable".into(),
        }
    }

    /// Something on this side failed.
    pub(crate) fn server_error() -> Self {
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            description: "the authorization server failed; see its log".into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({"error": self.code, "error_description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}
