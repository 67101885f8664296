//! Requests, checked at the edge: the documented JSON shape (the OpenAPI
//! document's `VerifyRequest` and `BatchRequest`) or a typed refusal.
//!
//! The body is first read as JSON (400 with the position if it is not), then walked
//! member by member: a refusal names the member by JSON pointer (`/items/3/nonce`)
//! and what was expected, never the value it found, nor the name of a member the
//! schema does not know. serde's derived messages quote the input
//! (`invalid type: string "eyJ…"`) and let an array stand for a struct, so the
//! shapes are read by hand here.
//!
//! An `action` is read into an [`Action`]: its shape is checked here (so a refusal
//! names the member), its meaning (a currency needs an amount, an amount is a finite
//! number at least 0) by [`Action::parse`] and [`Action::from_json`]. The text form
//! is the one the document's pattern describes (`ACTION_TEXT_PATTERN`).

use agentid_verifier::authorize::{Action, InvalidAction};
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

/// Most digits an amount of the text form has before, and after, the point.
const MAX_AMOUNT_DIGITS: usize = 15;

/// The text form of an action, as the OpenAPI document's `Action` states it:
/// `SCOPE RESOURCE [AMOUNT [CURRENCY]]`, words of visible ASCII separated by
/// spaces, SCOPE not starting with `{`, AMOUNT decimal digits (at most
/// [`MAX_AMOUNT_DIGITS`] before and after the point), CURRENCY three capital
/// letters. It is the CLI's `--action` text in its plain spelling: each such text
/// reads with [`Action::parse`], and anything else (other whitespace, `1e3`, `+5`,
/// an IRI with non-ASCII letters) goes in the object form. Exact, so that a
/// generator of schema-valid requests and the service agree on every text:
/// [`is_action_text`] is the check, and the tests hold the two together.
#[cfg(test)]
pub(super) const ACTION_TEXT_PATTERN: &str =
    "^[!-z|-~][!-~]* +[!-~]+( +[0-9]{1,15}(\\.[0-9]{1,15})?( +[A-Z]{3})?)?$";

/// One presentation and the request it answers.
#[derive(Debug)]
pub(super) struct VerifyRequest {
    pub(super) presentation: String,
    pub(super) audience: String,
    pub(super) nonce: String,
    /// The action the presenter asks to do, authorized after verification.
    pub(super) action: Option<Action>,
    /// The principal's approval credential for that action (never without one).
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
        let action_at = members.pointer("action");
        let action = match members.take("action") {
            None => None,
            Some(action) => Some(read_action(&action, &action_at)?),
        };
        let approval_at = members.pointer("approval");
        let approval = members.text("approval", None)?;
        members.finish(VERIFY_MEMBERS)?;
        // The schema's `dependentRequired`: an approval approves the action named.
        if approval.is_some() && action.is_none() {
            return Err(ApiError::invalid(format!(
                "`{approval_at}` needs `{action_at}` (the action it approves)"
            )));
        }
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

/// An action, as the schema's `Action`: text of at most [`MAX_ACTION_CHARS`] in
/// the text form (`ACTION_TEXT_PATTERN`), or `{"scope", "resource", "amount"?,
/// "currency"?}` with non-empty texts, an amount at least 0 and a currency of three
/// capital letters that comes with an amount, nothing else.
fn read_action(action: &Value, at: &str) -> Result<Action, ApiError> {
    match action {
        Value::String(text) => {
            check_length(text, at, 1, MAX_ACTION_CHARS)?;
            if !is_action_text(text) {
                return Err(ApiError::invalid(format!(
                    "`{at}` must be 'SCOPE RESOURCE [AMOUNT [CURRENCY]]' (visible ASCII words \
                     separated by spaces, AMOUNT decimal digits with at most \
                     {MAX_AMOUNT_DIGITS} before and after the point, CURRENCY three capital \
                     letters) or an object"
                )));
            }
            Action::parse(text).map_err(|error| invalid_action(at, &error))
        }
        Value::Object(map) => {
            check_action_object(map, at)?;
            Action::from_json(action).map_err(|error| invalid_action(at, &error))
        }
        other => Err(ApiError::invalid(format!(
            "`{at}` must be a string or an object, not {}",
            kind(other)
        ))),
    }
}

/// The members of an action object, one by one, named by pointer.
fn check_action_object(map: &Map<String, Value>, at: &str) -> Result<(), ApiError> {
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
    match map.get("currency") {
        None => {}
        Some(Value::String(currency)) if !is_currency(currency) => {
            return Err(ApiError::invalid(format!(
                "`{at}/currency` must be three capital letters (ISO 4217)"
            )))
        }
        Some(Value::String(_)) if !map.contains_key("amount") => {
            return Err(ApiError::invalid(format!(
                "`{at}/currency` needs `{at}/amount` (the amount it is the currency of)"
            )))
        }
        Some(Value::String(_)) => {}
        Some(other) => return Err(not_a_string(&format!("{at}/currency"), other)),
    }
    if map
        .keys()
        .any(|name| !matches!(name.as_str(), "scope" | "resource" | "amount" | "currency"))
    {
        return Err(unknown_member(at, "scope, resource, amount, currency"));
    }
    Ok(())
}

/// True when `text` matches `ACTION_TEXT_PATTERN`, the document's pattern for the
/// text form.
pub(super) fn is_action_text(text: &str) -> bool {
    if text.starts_with(' ')
        || text.ends_with(' ')
        || !text.bytes().all(|byte| matches!(byte, b' '..=b'~'))
    {
        return false;
    }
    let words: Vec<&str> = text.split(' ').filter(|word| !word.is_empty()).collect();
    match words.as_slice() {
        [scope, _resource, rest @ ..] if !scope.starts_with('{') => match rest {
            [] => true,
            [amount] => is_amount(amount),
            [amount, currency] => is_amount(amount) && is_currency(currency),
            _ => false,
        },
        _ => false,
    }
}

/// Decimal digits, with an optional fraction: `20`, `20.5`.
fn is_amount(word: &str) -> bool {
    let digits = |part: &str| {
        (1..=MAX_AMOUNT_DIGITS).contains(&part.len())
            && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    match word.split_once('.') {
        None => digits(word),
        Some((whole, fraction)) => digits(whole) && digits(fraction),
    }
}

/// Three capital letters (ISO 4217).
fn is_currency(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|byte| byte.is_ascii_uppercase())
}

/// An action whose shape is right and whose meaning is not. [`InvalidAction`]'s
/// text names the rule broken; after the checks above it can only be one the
/// shape does not show.
fn invalid_action(at: &str, error: &InvalidAction) -> ApiError {
    ApiError::invalid(format!("`{at}`: {error}"))
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
