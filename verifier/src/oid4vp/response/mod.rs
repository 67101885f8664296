//! The Authorization Response at the Response URI (OpenID4VP 1.0 §8.1–§8.3): the
//! form body of `direct_post` (`vp_token` = a JSON-encoded object, `state`) and of
//! `direct_post.jwt` (`response` = a JWE whose plaintext is the JSON object with
//! `vp_token` and `state`), and the same bodies built on the Wallet's side.
//!
//! `vp_token` maps each DCQL Credential Query id to a non-empty array of
//! presentations (§8.1); presentations are read as strings (SD-JWT VC, Appendix B.3).
//! Whether they answer the query is the DCQL module's question, not this one's.
//! An Authorization Error Response (`error`, §8.5) is returned as
//! [`ResponseError::ErrorResponse`]; `direct_post.jwt` Wallets may send one
//! unencrypted (§8.3.1).

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::ResponseError;
use super::jwe::{self, Enc, JweLimits};
use super::request::{AuthorizationRequest, ResponseMode};
use crate::encoding::parse_json;
use crate::error::truncate;

/// Bounds on a response body, checked before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseLimits {
    /// Longest form body, in bytes. Default 1 MiB (percent-encoding can triple a
    /// presentation).
    pub max_body_bytes: usize,
    /// Most Credential Query ids in `vp_token`. Default 32.
    pub max_credential_queries: usize,
    /// Most presentations for one Credential Query. Default 16.
    pub max_presentations_per_query: usize,
    /// Deepest JSON nesting of `vp_token` or the decrypted payload. Default 8.
    pub max_json_depth: usize,
    /// Limits on the JWE of `direct_post.jwt`.
    pub jwe: JweLimits,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits {
            max_body_bytes: 1024 * 1024,
            max_credential_queries: 32,
            max_presentations_per_query: 16,
            max_json_depth: 8,
            jwe: JweLimits::default(),
        }
    }
}

impl ResponseLimits {
    /// Returns the limits with `max_body_bytes` set.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Returns the limits with `max_credential_queries` set.
    pub fn with_max_credential_queries(mut self, count: usize) -> Self {
        self.max_credential_queries = count;
        self
    }

    /// Returns the limits with `max_presentations_per_query` set.
    pub fn with_max_presentations_per_query(mut self, count: usize) -> Self {
        self.max_presentations_per_query = count;
        self
    }

    /// Returns the limits with `max_json_depth` set.
    pub fn with_max_json_depth(mut self, depth: usize) -> Self {
        self.max_json_depth = depth;
        self
    }

    /// Returns the limits with other JWE limits.
    pub fn with_jwe(mut self, jwe: JweLimits) -> Self {
        self.jwe = jwe;
        self
    }
}

/// An Authorization Response, its `vp_token` well formed. Presentations are not
/// verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// Credential Query id → the presentations answering it (at least one each).
    pub vp_token: BTreeMap<String, Vec<String>>,
    /// The request's `state`, returned.
    pub state: Option<String>,
}

impl AuthorizationResponse {
    /// The response as a JSON object: the plaintext of `direct_post.jwt` (§8.3).
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("vp_token".into(), vp_token_json(&self.vp_token));
        if let Some(state) = &self.state {
            object.insert("state".into(), state.clone().into());
        }
        Value::Object(object)
    }

    /// The `direct_post` form body (§8.2): `vp_token` JSON-encoded, and `state`.
    pub fn to_direct_post_form(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("vp_token", &vp_token_json(&self.vp_token).to_string());
        if let Some(state) = &self.state {
            form.append_pair("state", state);
        }
        form.finish()
    }

    /// The `direct_post.jwt` form body (§8.3.1): `response` = the JSON object
    /// encrypted to `recipient` (its JWK's `kid` in the JWE header).
    ///
    /// # Errors
    /// [`ResponseError::Encryption`] if encryption fails (not expected).
    pub fn to_direct_post_jwt_form(
        &self,
        recipient: &p256::PublicKey,
        kid: Option<&str>,
        enc: Enc,
    ) -> Result<String, ResponseError> {
        let jwe = jwe::encrypt(recipient, kid, enc, self.to_json().to_string().as_bytes())?;
        Ok(url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response", &jwe)
            .finish())
    }

    /// The form body answering `request` in its response mode: for
    /// `direct_post.jwt`, encrypted to the request's first usable key with the `enc`
    /// that both the request and `wallet_enc` support, `A256GCM` first (HAIP 1.0 §5).
    ///
    /// # Errors
    /// [`ResponseError::Malformed`] when the request has no usable key or no shared
    /// `enc` (a checked request always has both).
    pub fn to_form_for(
        &self,
        request: &AuthorizationRequest,
        wallet_enc: &[Enc],
    ) -> Result<String, ResponseError> {
        match request.response_mode() {
            ResponseMode::DirectPostJwt => {
                let metadata = request.client_metadata();
                let key = metadata.encryption_key().ok_or_else(|| {
                    ResponseError::Malformed("the request has no encryption key".into())
                })?;
                let enc = metadata.choose_enc(wallet_enc).ok_or_else(|| {
                    ResponseError::Malformed("no enc shared with the request".into())
                })?;
                self.to_direct_post_jwt_form(key.public_key(), Some(key.kid()), enc)
            }
            _ => Ok(self.to_direct_post_form()),
        }
    }
}

/// An Authorization Error Response body (§8.2, §8.5).
pub fn error_response_form(error: &str, description: Option<&str>, state: Option<&str>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("error", error);
    if let Some(description) = description {
        form.append_pair("error_description", description);
    }
    if let Some(state) = state {
        form.append_pair("state", state);
    }
    form.finish()
}

/// Reads a `direct_post` body (§8.2).
///
/// # Errors
/// [`ResponseError::ErrorResponse`] for an error response; otherwise the rule broken.
pub fn parse_direct_post(
    body: &str,
    limits: &ResponseLimits,
) -> Result<AuthorizationResponse, ResponseError> {
    let form = read_form(body, limits)?;
    let vp_token = form
        .get("vp_token")
        .ok_or(ResponseError::MissingParameter("vp_token"))?;
    let vp_token = parse_json(vp_token.as_bytes(), limits.max_json_depth, "vp_token")
        .map_err(json_error("vp_token"))?;
    Ok(AuthorizationResponse {
        vp_token: read_vp_token(&vp_token, limits)?,
        state: form.get("state").cloned(),
    })
}

/// Reads a `direct_post.jwt` body (§8.3.1): decrypts `response` with `key`
/// (accepting `accepted_enc`), checks that the JWE names `expected_kid` when given,
/// and reads the plaintext's `vp_token` and `state`.
///
/// # Errors
/// [`ResponseError::Encryption`] when the JWE does not decrypt or breaks the JWE
/// profile, [`ResponseError::WrongKey`] for another `kid`,
/// [`ResponseError::ErrorResponse`] for an (unencrypted) error response; otherwise
/// the rule broken.
pub fn parse_direct_post_jwt(
    body: &str,
    key: &p256::SecretKey,
    expected_kid: Option<&str>,
    accepted_enc: &[Enc],
    limits: &ResponseLimits,
) -> Result<AuthorizationResponse, ResponseError> {
    let form = read_form(body, limits)?;
    let response = form
        .get("response")
        .ok_or(ResponseError::MissingParameter("response"))?;
    let decrypted = jwe::decrypt_with_header(response, key, accepted_enc, &limits.jwe)?;
    if let Some(expected) = expected_kid {
        if decrypted.kid() != Some(expected) {
            return Err(ResponseError::WrongKey(format!(
                "the JWE kid is {:?}, not {expected:?}",
                decrypted.kid().map(truncate)
            )));
        }
    }
    let payload = match parse_json(
        decrypted.plaintext(),
        limits.max_json_depth,
        "encrypted response",
    )
    .map_err(json_error("the encrypted response"))?
    {
        Value::Object(payload) => payload,
        _ => {
            return Err(ResponseError::Malformed(
                "the encrypted response is not a JSON object".into(),
            ))
        }
    };
    if let Some(error) = error_in(&payload) {
        return Err(error);
    }
    let vp_token = payload
        .get("vp_token")
        .ok_or(ResponseError::MissingParameter("vp_token"))?;
    let state = match payload.get("state") {
        None => None,
        Some(Value::String(state)) => Some(state.clone()),
        Some(_) => return Err(ResponseError::Malformed("state is not a string".into())),
    };
    Ok(AuthorizationResponse {
        vp_token: read_vp_token(vp_token, limits)?,
        state,
    })
}

/// The form parameters, each at most once; an error response is returned as such.
fn read_form(
    body: &str,
    limits: &ResponseLimits,
) -> Result<BTreeMap<String, String>, ResponseError> {
    if body.len() > limits.max_body_bytes {
        return Err(ResponseError::LimitExceeded(format!(
            "the body is longer than {} bytes",
            limits.max_body_bytes
        )));
    }
    let mut form = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        if form.len() >= 16 {
            return Err(ResponseError::LimitExceeded(
                "more than 16 form parameters".into(),
            ));
        }
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(ResponseError::Malformed(format!(
                "the parameter {} appears more than once",
                truncate(&name)
            )));
        }
    }
    let as_json: Map<String, Value> = form
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    match error_in(&as_json) {
        Some(error) => Err(error),
        None => Ok(form),
    }
}

/// An Authorization Error Response (`error`), if the parameters are one.
fn error_in(params: &Map<String, Value>) -> Option<ResponseError> {
    let text = |name: &str| params.get(name).and_then(Value::as_str).map(truncate);
    params.get("error").map(|_| ResponseError::ErrorResponse {
        error: text("error").unwrap_or_default(),
        description: text("error_description"),
        state: text("state"),
    })
}

/// `vp_token` (§8.1): a non-empty object of Credential Query ids, each with a
/// non-empty array of string presentations.
fn read_vp_token(
    value: &Value,
    limits: &ResponseLimits,
) -> Result<BTreeMap<String, Vec<String>>, ResponseError> {
    let malformed = |reason: String| ResponseError::Malformed(reason);
    let object = value
        .as_object()
        .filter(|object| !object.is_empty())
        .ok_or_else(|| malformed("vp_token must be a non-empty JSON object (§8.1)".into()))?;
    if object.len() > limits.max_credential_queries {
        return Err(ResponseError::LimitExceeded(format!(
            "vp_token answers more than {} Credential Queries",
            limits.max_credential_queries
        )));
    }
    let mut vp_token = BTreeMap::new();
    for (id, presentations) in object {
        if id.is_empty() {
            return Err(malformed(
                "vp_token has an empty Credential Query id".into(),
            ));
        }
        let items = presentations
            .as_array()
            .filter(|items| !items.is_empty())
            .ok_or_else(|| {
                malformed(format!(
                    "vp_token[{}] must be a non-empty array (§8.1)",
                    truncate(id)
                ))
            })?;
        if items.len() > limits.max_presentations_per_query {
            return Err(ResponseError::LimitExceeded(format!(
                "vp_token[{}] holds more than {} presentations",
                truncate(id),
                limits.max_presentations_per_query
            )));
        }
        let strings = items
            .iter()
            .map(|item| item.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                malformed(format!(
                    "vp_token[{}] holds a presentation that is not a non-empty string (dc+sd-jwt, B.3)",
                    truncate(id)
                ))
            })?;
        vp_token.insert(id.clone(), strings);
    }
    Ok(vp_token)
}

fn vp_token_json(vp_token: &BTreeMap<String, Vec<String>>) -> Value {
    Value::Object(
        vp_token
            .iter()
            .map(|(id, presentations)| (id.clone(), presentations.clone().into()))
            .collect(),
    )
}

fn json_error(what: &'static str) -> impl Fn(crate::VerifyError) -> ResponseError {
    move |error| match error {
        crate::VerifyError::LimitExceeded(reason) => ResponseError::LimitExceeded(reason),
        _ => ResponseError::Malformed(format!("{what} is not JSON")),
    }
}
