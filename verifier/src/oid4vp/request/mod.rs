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
mod options;
mod parameters;
#[cfg(test)]
mod tests;
mod uri;

use serde_json::{Map, Value};
use url::Url;

use super::client_id::ClientId;
use super::error::RequestError;
use super::transaction_data::TransactionData;

pub use metadata::{ClientMetadata, EncryptionKey, MAX_JWKS_KEYS};
pub use object::{signed_request_object, verify_request_object, REQUEST_OBJECT_TYP};
pub use options::{RequestLimits, RequestOptions};
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
