//! Requests, checked at the edge: the documented JSON shape (the OpenAPI
//! document's `VerifyRequest` and `BatchRequest`) or a typed refusal.
//!
//! The body is first read as JSON (400 with the position if it is not), then walked
//! member by member: a refusal names the member by JSON pointer (`/items/3/nonce`)
//! and what was expected, never the value it found, nor the name of a member the
//! schema does not know. serde's derived messages quote the input
//! (`invalid type: string "eyJ…"`) and let an array stand for a struct, so the
//! shapes are read by hand here.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use super::error::ApiError;

/// Most presentations one batch request may carry.
pub(super) const MAX_BATCH_ITEMS: usize = 1024;

/// Longest `audience` and `nonce`, in characters.
pub(super) const MAX_TEXT_CHARS: usize = 4096;

/// Longest action (its text form, and its `scope` and `resource`), in characters.
pub(super) const MAX_ACTION_CHARS: usize = 4096;

/// One presentation and the request it answers.
#[derive(Debug)]
pub(super) struct VerifyRequest {
    pub(super) presentation: String,
    pub(super) audience: String,
    pub(super) nonce: String,
    /// The action the presenter asks to do: `{"scope", "resource", "amount"?}` or the
    /// text `SCOPE RESOURCE [AMOUNT]`; its shape is checked here, its meaning by
    /// `agentid_verifier::Action` when authorization is wired in.
    pub(super) action: Option<Value>,
    /// The principal's approval credential for that action.
    pub(super) approval: Option<String>,
}

/// Many presentations, each with its own audience and nonce.
#[derive(Debug)]
pub(super) struct BatchRequest {
    pub(super) items: Vec<VerifyRequest>,
}

/// A request body read from its JSON.
pub(super) trait FromJson: Sized {
    /// Reads the request from the body's JSON value.
    fn from_json(value: Value) -> Result<Self, ApiError>;
}

/// A JSON request body, or the refusal: 415 (not declared JSON), 400 (not JSON),
/// 422 (not the shape). The body was read and bounded by the limit layers.
pub(super) struct ApiJson<T>(pub(super) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: FromJson,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::UnreadableBody)?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|error| ApiError::MalformedJson {
                line: error.line(),
                column: error.column(),
            })?;
        T::from_json(value).map(ApiJson)
    }
}

/// `application/json`, or any `application/…+json`, parameters aside.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(Ok(value)) = headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

const VERIFY_MEMBERS: &str = "presentation, audience, nonce, action, approval";

impl FromJson for VerifyRequest {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        VerifyRequest::at(value, String::new())
    }
}

impl VerifyRequest {
    fn at(value: Value, at: String) -> Result<Self, ApiError> {
        let mut members = Members::of(value, at)?;
        let presentation = members.required_text("presentation", None)?;
        let audience = members.required_text("audience", Some(MAX_TEXT_CHARS))?;
        let nonce = members.required_text("nonce", Some(MAX_TEXT_CHARS))?;
        let action = match members.take("action") {
            None => None,
            Some(action) => Some(check_action(action, &members.pointer("action"))?),
        };
        let approval = members.text("approval", None)?;
        members.finish(VERIFY_MEMBERS)?;
        Ok(VerifyRequest {
            presentation,
            audience,
            nonce,
            action,
            approval,
        })
    }
}

impl FromJson for BatchRequest {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut members = Members::of(value, String::new())?;
        let items = match members.take("items") {
            None => return Err(missing("/items")),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "`/items` must be an array, not {}",
                    kind(&other)
                )))
            }
        };
        members.finish("items")?;
        if items.len() > MAX_BATCH_ITEMS {
            return Err(ApiError::TooManyItems {
                count: items.len(),
                limit: MAX_BATCH_ITEMS,
            });
        }
        let items = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| VerifyRequest::at(item, format!("/items/{index}")))
            .collect::<Result<_, _>>()?;
        Ok(BatchRequest { items })
    }
}

/// An action's shape, as the schema's `Action`: non-empty text of at most
/// [`MAX_ACTION_CHARS`], or `{"scope", "resource", "amount"?}` with non-empty texts
/// and an amount at least 0, nothing else.
fn check_action(action: Value, at: &str) -> Result<Value, ApiError> {
    match &action {
        Value::String(text) => {
            check_length(text, at, 1, MAX_ACTION_CHARS)?;
        }
        Value::Object(map) => {
            for name in ["scope", "resource"] {
                let at = format!("{at}/{name}");
                match map.get(name) {
                    None => return Err(missing(&at)),
                    Some(Value::String(text)) => check_length(text, &at, 1, MAX_ACTION_CHARS)?,
                    Some(other) => return Err(not_a_string(&at, other)),
                }
            }
            match map.get("amount") {
                None => {}
                Some(Value::Number(amount)) if amount.as_f64().is_some_and(|a| a >= 0.0) => {}
                Some(Value::Number(_)) => {
                    return Err(ApiError::invalid(format!(
                        "`{at}/amount` must be at least 0"
                    )))
                }
                Some(other) => {
                    return Err(ApiError::invalid(format!(
                        "`{at}/amount` must be a number, not {}",
                        kind(other)
                    )))
                }
            }
            if map
                .keys()
                .any(|name| !matches!(name.as_str(), "scope" | "resource" | "amount"))
            {
                return Err(unknown_member(at, "scope, resource, amount"));
            }
        }
        other => {
            return Err(ApiError::invalid(format!(
                "`{at}` must be a string or an object, not {}",
                kind(other)
            )))
        }
    }
    Ok(action)
}

/// The members of one JSON object, taken one by one; `at` is its JSON pointer.
struct Members {
    map: Map<String, Value>,
    at: String,
}

impl Members {
    fn of(value: Value, at: String) -> Result<Self, ApiError> {
        match value {
            Value::Object(map) => Ok(Members { map, at }),
            other => Err(ApiError::invalid(format!(
                "{} must be an object, not {}",
                describe(&at),
                kind(&other)
            ))),
        }
    }

    fn pointer(&self, name: &str) -> String {
        format!("{}/{name}", self.at)
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    /// An optional string member, at most `max_chars` long.
    fn text(&mut self, name: &str, max_chars: Option<usize>) -> Result<Option<String>, ApiError> {
        let at = self.pointer(name);
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(text)) => {
                if let Some(max) = max_chars {
                    check_length(&text, &at, 0, max)?;
                }
                Ok(Some(text))
            }
            Some(other) => Err(not_a_string(&at, &other)),
        }
    }

    fn required_text(&mut self, name: &str, max_chars: Option<usize>) -> Result<String, ApiError> {
        self.text(name, max_chars)?
            .ok_or_else(|| missing(&self.pointer(name)))
    }

    /// Refuses members left over: the schema does not know them.
    fn finish(self, allowed: &str) -> Result<(), ApiError> {
        if self.map.is_empty() {
            Ok(())
        } else {
            Err(unknown_member(&self.at, allowed))
        }
    }
}

fn check_length(text: &str, at: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let chars = text.chars().count();
    if chars < min {
        Err(ApiError::invalid(format!("`{at}` must not be empty")))
    } else if chars > max {
        Err(ApiError::invalid(format!(
            "`{at}` is longer than {max} characters"
        )))
    } else {
        Ok(())
    }
}

fn missing(at: &str) -> ApiError {
    ApiError::invalid(format!("`{at}` is missing"))
}

fn not_a_string(at: &str, found: &Value) -> ApiError {
    ApiError::invalid(format!("`{at}` must be a string, not {}", kind(found)))
}

/// The unknown member is not named: its name is the client's text.
fn unknown_member(at: &str, allowed: &str) -> ApiError {
    ApiError::invalid(format!(
        "{} has a member the schema does not define (allowed: {allowed})",
        describe(at)
    ))
}

fn describe(at: &str) -> String {
    if at.is_empty() {
        "the body".to_owned()
    } else {
        format!("`{at}`")
    }
}

/// The JSON type of `value`, never the value.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
