//! The issuer service's refusals, in the two wire shapes its callers expect.
//!
//! The agentid API (`/v1/credentials…`, `/v1/offers`) answers like the verifier
//! service: `{"code": "<stable_snake_case>", "message": "<human text>"}`. The
//! OpenID4VCI and OAuth endpoints answer as their specifications say:
//! `{"error": "<registered code>", "error_description": "…"}` (RFC 6749 §5.2,
//! OpenID4VCI 1.0 §8.3.1.2), with `WWW-Authenticate` on 401 (RFC 6750 §3). No
//! message quotes a claim, a code, a nonce or a token.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::serve::state::issuer::IssuerStoreError;
use crate::serve::state::StateError;

/// A refusal of the agentid API.
#[derive(Debug)]
pub(super) enum ApiRefusal {
    /// No or a bad caller assertion (401).
    Unauthenticated(String),
    /// The caller may not do this (403).
    Forbidden(String),
    /// The request is malformed or asks for what the schema or rules refuse (422).
    Invalid(String),
    /// No such credential or list (404).
    NotFound,
    /// No route at this path (404).
    NoRoute,
    /// The credential is revoked; it cannot change (409).
    Conflict(String),
    /// The store cannot be reached (503).
    Unavailable,
    /// A fault of the service (500).
    Internal,
}

impl ApiRefusal {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiRefusal::Unauthenticated(why) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", why.clone())
            }
            ApiRefusal::Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", why.clone()),
            ApiRefusal::Invalid(why) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                why.clone(),
            ),
            ApiRefusal::NotFound => (
                StatusCode::NOT_FOUND,
                "unknown_credential",
                "no such credential or status list here".into(),
            ),
            ApiRefusal::NoRoute => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint (docs/issuer.md lists them)".into(),
            ),
            ApiRefusal::Conflict(why) => (StatusCode::CONFLICT, "conflict", why.clone()),
            ApiRefusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "state_unavailable",
                "the issuer's store cannot be reached; try again".into(),
            ),
            ApiRefusal::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the service failed".into(),
            ),
        }
    }
}

impl From<IssuerStoreError> for ApiRefusal {
    fn from(error: IssuerStoreError) -> Self {
        match error {
            IssuerStoreError::UnknownCredential => ApiRefusal::NotFound,
            IssuerStoreError::Final => ApiRefusal::Conflict(error.to_string()),
            IssuerStoreError::Store(StateError::Unavailable(why)) => {
                tracing::warn!(error = %why, "issuer store unavailable");
                ApiRefusal::Unavailable
            }
            other => {
                tracing::error!(error = %other, "issuer store failed");
                ApiRefusal::Internal
            }
        }
    }
}

impl IntoResponse for ApiRefusal {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut response =
            (status, Json(json!({"code": code, "message": message}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A refusal of an OAuth or OpenID4VCI endpoint.
#[derive(Debug)]
pub(super) struct OauthRefusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OauthRefusal {
    /// 400 with a registered `error` code.
    pub(super) fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        OauthRefusal {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// 401 `invalid_token` (RFC 6750 §3.1).
    pub(super) fn invalid_token(description: impl Into<String>) -> Self {
        OauthRefusal {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: description.into(),
        }
    }

    /// 503 (the store), or 500.
    pub(super) fn from_store(error: IssuerStoreError) -> Self {
        let unavailable = matches!(error, IssuerStoreError::Store(StateError::Unavailable(_)));
        tracing::error!(error = %error, "issuer store failed");
        OauthRefusal {
            status: if unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            error: if unavailable {
                "temporarily_unavailable"
            } else {
                "server_error"
            },
            description: "the issuer's store failed; try again".into(),
        }
    }
}

impl IntoResponse for OauthRefusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Bearer error=\"{}\"", self.error);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}
