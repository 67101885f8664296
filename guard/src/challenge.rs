//! Refusals on the wire: status, `WWW-Authenticate` challenges (RFC 6750 §3,
//! RFC 9449 §7.1, RFC 9728 §5.1) and a JSON body `{error, error_description}`.

use axum::body::Body;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::Response;
use serde_json::json;

use crate::error::{Refusal, Scheme};
use crate::metadata::DPOP_ALGS;

/// What every challenge carries.
pub(crate) struct Challenges<'a> {
    /// The RFC 9728 metadata URL.
    pub(crate) metadata_url: &'a str,
    /// Whether DPoP is required (then no Bearer token can pass, but the Bearer
    /// challenge stays: MCP clients read `resource_metadata` from it).
    pub(crate) dpop_required: bool,
    /// A fresh direct-mode nonce, when direct presentations are on.
    pub(crate) direct_nonce: Option<String>,
}

/// A quoted-string (RFC 9110 §5.6.4) of fixed or configured text.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// The error parameters for the challenge of `scheme`, if this refusal has any.
fn error_params(refusal: &Refusal, scheme: Scheme) -> Vec<(&'static str, String)> {
    let description = refusal.to_string();
    match refusal {
        Refusal::InvalidToken { scheme: used, .. } if *used == scheme => vec![
            ("error", "invalid_token".into()),
            ("error_description", description),
        ],
        Refusal::InsufficientScope {
            scheme: used,
            scope,
            ..
        } if *used == scheme => {
            let mut params = vec![
                ("error", "insufficient_scope".into()),
                ("error_description", description),
            ];
            if !scope.is_empty() {
                params.push(("scope", scope.join(" ")));
            }
            params
        }
        Refusal::InvalidDpopProof(_) if scheme == Scheme::DPoP => vec![
            ("error", "invalid_dpop_proof".into()),
            ("error_description", description),
        ],
        Refusal::InvalidRequest(_) if scheme == Scheme::Bearer => vec![
            ("error", "invalid_request".into()),
            ("error_description", description),
        ],
        _ => Vec::new(),
    }
}

fn challenge(name: &str, mut params: Vec<(&'static str, String)>) -> Option<HeaderValue> {
    let text = if params.is_empty() {
        name.to_owned()
    } else {
        let joined: Vec<String> = params
            .drain(..)
            .map(|(key, value)| format!("{key}={}", quoted(&value)))
            .collect();
        format!("{name} {}", joined.join(", "))
    };
    HeaderValue::from_str(&text).ok()
}

/// The response for `refusal`.
pub(crate) fn respond(refusal: &Refusal, challenges: &Challenges<'_>) -> Response<Body> {
    let status = refusal.status();
    let body = json!({
        "error": refusal.code(),
        "error_description": refusal.to_string(),
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if matches!(refusal, Refusal::Unavailable(_)) {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
    }
    if !matches!(status.as_u16(), 400 | 401 | 403) {
        return response;
    }
    let metadata = ("resource_metadata", challenges.metadata_url.to_owned());
    let refusal_scheme = |scheme| error_params(refusal, scheme);

    let mut bearer = refusal_scheme(Scheme::Bearer);
    bearer.push(metadata.clone());
    let mut dpop = refusal_scheme(Scheme::DPoP);
    dpop.push(("algs", DPOP_ALGS.join(" ")));
    dpop.push(metadata.clone());
    let mut values = vec![challenge("Bearer", bearer), challenge("DPoP", dpop)];
    if challenges.dpop_required {
        // RFC 9449 §7.1: the DPoP challenge first when DPoP is what is wanted.
        values.swap(0, 1);
    }
    if let Some(nonce) = &challenges.direct_nonce {
        let mut direct = refusal_scheme(Scheme::AgentId);
        direct.push(("nonce", nonce.clone()));
        direct.push(metadata);
        values.push(challenge("AgentID", direct));
    }
    for value in values.into_iter().flatten() {
        headers.append(WWW_AUTHENTICATE, value);
    }
    response
}
