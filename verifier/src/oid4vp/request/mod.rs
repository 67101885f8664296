//! The Authorization Request (OpenID4VP 1.0 §5) as a checked type.
//!
//! A Wallet gets one from [`verify_request_object`] (a signed request object,
//! fetched from `request_uri` or passed as `request`) or from
//! [`ByValueRequest::verify`] (unsigned parameters in the URL, `redirect_uri` prefix
//! only); [`parse_request_uri`] says which it is. A Verifier builds one with
//! [`AuthorizationRequest::builder`], which runs the same checks, and signs
//! [`AuthorizationRequest::signing_input`].
//!
//! What every request must satisfy (§5.1, §5.2, §5.6, §8.2, §8.3):
//! `response_type` = `vp_token`; `response_mode` `direct_post` or `direct_post.jwt`;
//! a `response_uri` (https unless [`RequestOptions::allow_http_response_uri`], no
//! fragment) and no `redirect_uri`; a `nonce` and an optional `state` of URL-safe
//! ASCII; a `dcql_query` object and no `scope`; `client_metadata` with a non-empty
//! `vp_formats_supported` and, for `direct_post.jwt`, a P-256 `ECDH-ES` key with a
//! `kid` and a supported `enc`; `transaction_data` entries of known types whose
//! `credential_ids` name DCQL Credential Queries.

mod metadata;
mod object;
#[cfg(test)]
mod tests;
mod uri;

use serde_json::{Map, Value};
use url::Url;

use super::client_id::ClientId;
use super::error::RequestError;
use super::transaction_data::{TransactionData, MAX_TRANSACTION_DATA};
use crate::error::truncate;

pub use metadata::{ClientMetadata, EncryptionKey, MAX_JWKS_KEYS};
pub use object::{signed_request_object, verify_request_object, REQUEST_OBJECT_TYP};
pub use uri::{
    parse_request_uri, parse_request_uri_with, ByValueRequest, RequestReference, RequestUriMethod,
    MAX_REQUEST_URI_BYTES,
};

/// The only `response_type` (§5.6).
pub const RESPONSE_TYPE_VP_TOKEN: &str = "vp_token";
/// The `aud` of a request object under static discovery (§5.8).
pub const SELF_ISSUED_AUDIENCE: &str = "https://self-issued.me/v2";
/// Longest `nonce` or `state` read.
pub const MAX_NONCE_LEN: usize = 512;

/// How the Wallet returns the response (§8.2, §8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseMode {
    /// `direct_post`: the response parameters in a form POST to `response_uri`.
    DirectPost,
    /// `direct_post.jwt`: the same, encrypted to the Verifier as one JWE in
    /// `response` (HAIP 1.0 §5.1 requires it).
    DirectPostJwt,
}

impl ResponseMode {
    /// The `response_mode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::DirectPost => "direct_post",
            ResponseMode::DirectPostJwt => "direct_post.jwt",
        }
    }
}

/// Bounds on a request, checked before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    /// Longest request object (or request URI), in bytes. Default 64 KiB.
    pub max_request_bytes: usize,
    /// Deepest JSON nesting (header, payload, decoded parameters). Default 16: a
    /// DCQL query with claim paths and value lists nests about 6 deep.
    pub max_json_depth: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_request_bytes: 64 * 1024,
            max_json_depth: 16,
        }
    }
}

/// What the Wallet accepts besides the specification's rules. Build with
/// [`RequestOptions::default`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Accept an `http` `response_uri` (local tests). Default false: https only.
    pub allow_http_response_uri: bool,
    /// Tolerated clock difference for `exp`, `iat` and `nbf`, in seconds. Default 60.
    pub clock_skew_secs: u64,
    /// Refuse signed request objects without `exp`. Default true.
    pub require_expiry: bool,
    /// Accepted `aud` values of request objects (when present). Default
    /// `["https://self-issued.me/v2"]` (§5.8, static discovery).
    pub accepted_audiences: Vec<String>,
    /// Transaction data types this Wallet understands. Default none: a request
    /// carrying `transaction_data` is refused (§5.1).
    pub transaction_data_types: Vec<String>,
    /// The `wallet_nonce` the Wallet sent with `request_uri_method=post` (§5.10);
    /// the request object must carry it.
    pub expected_wallet_nonce: Option<String>,
    /// Also apply HAIP 1.0 §5 and §7: signed requests only, `x509_hash` only, ES256
    /// only, `direct_post.jwt` only, both `A128GCM` and `A256GCM` listed, no trust
    /// anchor inside `x5c`, no self-signed request certificate. Default false.
    pub haip: bool,
    /// Input limits.
    pub limits: RequestLimits,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            allow_http_response_uri: false,
            clock_skew_secs: 60,
            require_expiry: true,
            accepted_audiences: vec![SELF_ISSUED_AUDIENCE.to_owned()],
            transaction_data_types: Vec::new(),
            expected_wallet_nonce: None,
            haip: false,
            limits: RequestLimits::default(),
        }
    }
}

impl RequestOptions {
    /// The HAIP 1.0 profile on top of the defaults.
    pub fn haip() -> Self {
        RequestOptions {
            haip: true,
            ..Self::default()
        }
    }

    /// Returns the options accepting (or not) an `http` `response_uri`.
    pub fn with_http_response_uri_allowed(mut self, allowed: bool) -> Self {
        self.allow_http_response_uri = allowed;
        self
    }

    /// Returns the options with another clock skew, in seconds.
    pub fn with_clock_skew(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// Returns the options with `exp` required or optional.
    pub fn with_require_expiry(mut self, required: bool) -> Self {
        self.require_expiry = required;
        self
    }

    /// Returns the options accepting these request object audiences.
    pub fn with_accepted_audiences<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        audiences: I,
    ) -> Self {
        self.accepted_audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the options understanding these transaction data types.
    pub fn with_transaction_data_types<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        types: I,
    ) -> Self {
        self.transaction_data_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the options expecting this `wallet_nonce`.
    pub fn with_expected_wallet_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.expected_wallet_nonce = Some(nonce.into());
        self
    }

    /// Returns the options with other limits.
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// A checked Authorization Request: only this module builds one, after every rule
/// above (and, for a request object, its signature per the client identifier
/// prefix) held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    client_id: ClientId,
    response_mode: ResponseMode,
    response_uri: Url,
    response_uri_raw: String,
    nonce: String,
    state: Option<String>,
    dcql_query: Value,
    client_metadata: ClientMetadata,
    transaction_data: Vec<TransactionData>,
    issued_at: Option<u64>,
    expires_at: Option<u64>,
    audience: Option<String>,
    wallet_nonce: Option<String>,
}

impl AuthorizationRequest {
    /// Starts a request, as a Verifier builds it.
    pub fn builder(
        client_id: &ClientId,
        response_mode: ResponseMode,
        response_uri: &str,
        nonce: &str,
        dcql_query: Value,
        client_metadata: &ClientMetadata,
    ) -> AuthorizationRequestBuilder {
        let mut params = Map::new();
        params.insert("client_id".into(), client_id.as_str().into());
        params.insert("response_type".into(), RESPONSE_TYPE_VP_TOKEN.into());
        params.insert("response_mode".into(), response_mode.as_str().into());
        params.insert("response_uri".into(), response_uri.into());
        params.insert("nonce".into(), nonce.into());
        params.insert("dcql_query".into(), dcql_query);
        params.insert("client_metadata".into(), client_metadata.to_json());
        AuthorizationRequestBuilder {
            params,
            issued_at: None,
            expires_at: None,
            audience: Some(SELF_ISSUED_AUDIENCE.to_owned()),
        }
    }

    /// Checks request parameters (from a request object's claims or the URL) against
    /// §5; the signature, if any, was checked by the caller.
    pub(crate) fn from_parameters(
        params: &Map<String, Value>,
        options: &RequestOptions,
    ) -> Result<Self, RequestError> {
        let client_id = ClientId::parse(
            string(params, "client_id")?.ok_or(RequestError::MissingParameter("client_id"))?,
        )?;
        if options.haip && client_id.prefix() != super::ClientIdPrefix::X509Hash {
            return Err(RequestError::NotHaip(format!(
                "the client identifier prefix is {}, not x509_hash (HAIP 1.0 §5)",
                client_id.prefix()
            )));
        }
        match string(params, "response_type")? {
            Some(RESPONSE_TYPE_VP_TOKEN) => {}
            Some(other) => return Err(unsupported("response_type", other)),
            None => return Err(RequestError::MissingParameter("response_type")),
        }
        let response_mode = match string(params, "response_mode")? {
            Some("direct_post") => ResponseMode::DirectPost,
            Some("direct_post.jwt") => ResponseMode::DirectPostJwt,
            Some(other) => return Err(unsupported("response_mode", other)),
            None => return Err(RequestError::MissingParameter("response_mode")),
        };
        if options.haip && response_mode != ResponseMode::DirectPostJwt {
            return Err(RequestError::NotHaip(
                "the response mode must be direct_post.jwt (HAIP 1.0 §5.1)".into(),
            ));
        }
        if params.contains_key("redirect_uri") {
            return Err(RequestError::Malformed(
                "redirect_uri must not be present with direct_post (§8.2)".into(),
            ));
        }
        // A redirect_uri client identifier is the Response URI, which may then be
        // omitted (§5.9.3).
        let response_uri_raw = match string(params, "response_uri")? {
            Some(uri) => uri.to_owned(),
            None if client_id.prefix() == super::ClientIdPrefix::RedirectUri => {
                client_id.value().to_owned()
            }
            None => return Err(RequestError::MissingParameter("response_uri")),
        };
        let response_uri = read_response_uri(&response_uri_raw, options)?;
        client_id.check_response_uri(&response_uri_raw, &response_uri)?;
        let nonce = url_safe(params, "nonce")?.ok_or(RequestError::MissingParameter("nonce"))?;
        let state = url_safe(params, "state")?;
        if params.contains_key("scope") {
            return Err(match params.get("dcql_query") {
                Some(_) => RequestError::Malformed(
                    "a request carries dcql_query or scope, not both (§5.1)".into(),
                ),
                None => unsupported("scope", string(params, "scope")?.unwrap_or_default()),
            });
        }
        let dcql_query = match params.get("dcql_query") {
            Some(query @ Value::Object(_)) => query.clone(),
            Some(_) => {
                return Err(RequestError::Malformed(
                    "dcql_query is not an object".into(),
                ))
            }
            None => return Err(RequestError::MissingParameter("dcql_query")),
        };
        let client_metadata = ClientMetadata::parse(
            params
                .get("client_metadata")
                .ok_or(RequestError::MissingParameter("client_metadata"))?,
        )?;
        if response_mode == ResponseMode::DirectPostJwt {
            client_metadata.check_encryption(options.haip)?;
        }
        let transaction_data =
            read_transaction_data(params.get("transaction_data"), &dcql_query, options)?;
        let wallet_nonce = string(params, "wallet_nonce")?.map(str::to_owned);
        if let Some(expected) = &options.expected_wallet_nonce {
            if wallet_nonce.as_ref() != Some(expected) {
                return Err(RequestError::Malformed(
                    "the request object does not carry the wallet_nonce sent (§5.10.1)".into(),
                ));
            }
        }
        Ok(AuthorizationRequest {
            client_id,
            response_mode,
            response_uri,
            response_uri_raw,
            nonce: nonce.to_owned(),
            state: state.map(str::to_owned),
            dcql_query,
            client_metadata,
            transaction_data,
            issued_at: None,
            expires_at: None,
            audience: None,
            wallet_nonce,
        })
    }

    /// The request's parameters as request object claims (§5, RFC 9101 §4).
    pub fn claims(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("client_id".into(), self.client_id.as_str().into());
        claims.insert("response_type".into(), RESPONSE_TYPE_VP_TOKEN.into());
        claims.insert("response_mode".into(), self.response_mode.as_str().into());
        claims.insert("response_uri".into(), self.response_uri_raw.clone().into());
        claims.insert("nonce".into(), self.nonce.clone().into());
        if let Some(state) = &self.state {
            claims.insert("state".into(), state.clone().into());
        }
        claims.insert("dcql_query".into(), self.dcql_query.clone());
        claims.insert("client_metadata".into(), self.client_metadata.to_json());
        if !self.transaction_data.is_empty() {
            let encoded: Vec<Value> = self
                .transaction_data
                .iter()
                .map(|entry| entry.encoded().into())
                .collect();
            claims.insert("transaction_data".into(), encoded.into());
        }
        if let Some(nonce) = &self.wallet_nonce {
            claims.insert("wallet_nonce".into(), nonce.clone().into());
        }
        for (name, value) in [("iat", self.issued_at), ("exp", self.expires_at)] {
            if let Some(value) = value {
                claims.insert(name.into(), value.into());
            }
        }
        if let Some(audience) = &self.audience {
            claims.insert("aud".into(), audience.clone().into());
        }
        claims
    }

    /// The parameters of an unsigned request passed by value in the URL (§5.4):
    /// `dcql_query`, `client_metadata` and `transaction_data` JSON-encoded, as
    /// `application/x-www-form-urlencoded`. Only `redirect_uri` requests may travel so.
    pub fn to_query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.claims() {
            if matches!(name.as_str(), "iat" | "exp" | "aud") {
                continue;
            }
            match value {
                Value::String(text) => query.append_pair(&name, &text),
                other => query.append_pair(&name, &other.to_string()),
            };
        }
        query.finish()
    }

    /// The client identifier.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The response mode.
    pub fn response_mode(&self) -> ResponseMode {
        self.response_mode
    }

    /// Where the Wallet posts the response.
    pub fn response_uri(&self) -> &Url {
        &self.response_uri
    }

    /// The nonce the presentations' key bindings must carry.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The state the response returns, if any.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The DCQL query, unchecked here (the DCQL module reads it).
    pub fn dcql_query(&self) -> &Value {
        &self.dcql_query
    }

    /// The Verifier's metadata.
    pub fn client_metadata(&self) -> &ClientMetadata {
        &self.client_metadata
    }

    /// The transaction data, in request order.
    pub fn transaction_data(&self) -> &[TransactionData] {
        &self.transaction_data
    }

    /// The request object's `iat`, if signed and present.
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }

    /// The request object's `exp`, if signed and present.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// The request object's accepted `aud`, if present.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The request object's `wallet_nonce`, if present.
    pub fn wallet_nonce(&self) -> Option<&str> {
        self.wallet_nonce.as_deref()
    }
}

/// A Verifier's request under construction; [`build`](Self::build) runs the checks
/// a Wallet runs, so a Verifier cannot send what a Wallet would refuse.
#[derive(Debug, Clone)]
pub struct AuthorizationRequestBuilder {
    params: Map<String, Value>,
    issued_at: Option<u64>,
    expires_at: Option<u64>,
    audience: Option<String>,
}

impl AuthorizationRequestBuilder {
    /// Sets `state`.
    pub fn state(mut self, state: &str) -> Self {
        self.params.insert("state".into(), state.into());
        self
    }

    /// Sets `transaction_data`.
    pub fn transaction_data(mut self, entries: &[TransactionData]) -> Self {
        let encoded: Vec<Value> = entries.iter().map(|entry| entry.encoded().into()).collect();
        self.params
            .insert("transaction_data".into(), encoded.into());
        self
    }

    /// Sets `wallet_nonce` (the answer to a `request_uri_method=post` fetch).
    pub fn wallet_nonce(mut self, nonce: &str) -> Self {
        self.params.insert("wallet_nonce".into(), nonce.into());
        self
    }

    /// Sets the request object's `iat` and `exp`.
    pub fn validity(mut self, issued_at: u64, expires_at: u64) -> Self {
        self.issued_at = Some(issued_at);
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the request object's `aud` (default `https://self-issued.me/v2`), or
    /// leaves it out.
    pub fn audience(mut self, audience: Option<&str>) -> Self {
        self.audience = audience.map(str::to_owned);
        self
    }

    /// Checks the request as a Wallet with `options` would.
    ///
    /// # Errors
    /// The [`RequestError`] a Wallet would answer.
    pub fn build(self, options: &RequestOptions) -> Result<AuthorizationRequest, RequestError> {
        let mut request = AuthorizationRequest::from_parameters(&self.params, options)?;
        request.issued_at = self.issued_at;
        request.expires_at = self.expires_at;
        request.audience = self.audience;
        Ok(request)
    }
}

fn unsupported(parameter: &'static str, value: &str) -> RequestError {
    RequestError::Unsupported {
        parameter,
        value: truncate(value),
    }
}

fn string<'p>(params: &'p Map<String, Value>, name: &str) -> Result<Option<&'p str>, RequestError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(RequestError::Malformed(format!("{name} is not a string"))),
    }
}

/// `nonce` and `state`: ASCII URL-safe characters only (§5.2).
fn url_safe<'p>(
    params: &'p Map<String, Value>,
    name: &str,
) -> Result<Option<&'p str>, RequestError> {
    let Some(text) = string(params, name)? else {
        return Ok(None);
    };
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if text.is_empty() || text.len() > MAX_NONCE_LEN || !text.bytes().all(safe) {
        return Err(RequestError::Malformed(format!(
            "{name} must be 1 to {MAX_NONCE_LEN} URL-safe ASCII characters (§5.2)"
        )));
    }
    Ok(Some(text))
}

fn read_response_uri(raw: &str, options: &RequestOptions) -> Result<Url, RequestError> {
    let uri = Url::parse(raw)
        .map_err(|_| RequestError::Malformed("response_uri is not an absolute URL".into()))?;
    let scheme_ok = match uri.scheme() {
        "https" => true,
        "http" => options.allow_http_response_uri,
        _ => false,
    };
    if !scheme_ok || uri.host_str().is_none() {
        return Err(RequestError::Malformed(
            "response_uri must be an https URL (§14.4)".into(),
        ));
    }
    if uri.fragment().is_some() {
        return Err(RequestError::Malformed(
            "response_uri must not have a fragment (RFC 6749 §3.1.2)".into(),
        ));
    }
    Ok(uri)
}

fn read_transaction_data(
    value: Option<&Value>,
    dcql_query: &Value,
    options: &RequestOptions,
) -> Result<Vec<TransactionData>, RequestError> {
    let invalid = |reason: String| RequestError::InvalidTransactionData(reason);
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let entries = value
        .as_array()
        .filter(|entries| !entries.is_empty())
        .ok_or_else(|| invalid("transaction_data must be a non-empty array of strings".into()))?;
    if entries.len() > MAX_TRANSACTION_DATA {
        return Err(RequestError::LimitExceeded(format!(
            "more than {MAX_TRANSACTION_DATA} transaction_data entries"
        )));
    }
    let query_ids: Vec<&str> = dcql_query
        .get("credentials")
        .and_then(Value::as_array)
        .map(|queries| {
            queries
                .iter()
                .filter_map(|query| query.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let encoded = entry
                .as_str()
                .ok_or_else(|| invalid(format!("entry {index} is not a string")))?;
            let parsed = TransactionData::parse(encoded)?;
            if !options
                .transaction_data_types
                .iter()
                .any(|known| known == parsed.transaction_type())
            {
                return Err(invalid(format!(
                    "entry {index} has the unknown type {:?}",
                    truncate(parsed.transaction_type())
                )));
            }
            if let Some(unknown) = parsed
                .credential_ids()
                .iter()
                .find(|id| !query_ids.contains(&id.as_str()))
            {
                return Err(invalid(format!(
                    "entry {index} names {:?}, which no DCQL Credential Query has as id",
                    truncate(unknown)
                )));
            }
            if !parsed.allows_sha256() {
                return Err(invalid(format!(
                    "entry {index} does not allow sha-256, the only supported hash (B.3.3.1)"
                )));
            }
            Ok(parsed)
        })
        .collect()
}
