//! The URL that invokes the Wallet (OpenID4VP 1.0 §5.4, §9; `openid4vp://`,
//! `haip-vp://` or a claimed https URL: only the query is read). It refers to a
//! request object (`request_uri`, RFC 9101 §5.2), carries one (`request`, RFC 9101
//! §5.1), or carries the parameters themselves, JSON-valued ones JSON-encoded (§5.1).

use serde_json::{Map, Value};
use url::Url;

use super::{AuthorizationRequest, RequestOptions};
use crate::encoding::parse_json;
use crate::error::truncate;
use crate::oid4vp::client_id::ClientId;
use crate::oid4vp::error::RequestError;

/// Longest invocation URL read by [`parse_request_uri`], in bytes.
pub const MAX_REQUEST_URI_BYTES: usize = 32 * 1024;
/// Parameters whose URL values are JSON (§5.1).
const JSON_PARAMETERS: [&str; 3] = ["dcql_query", "client_metadata", "transaction_data"];
/// Most parameters read from one URL.
const MAX_PARAMETERS: usize = 64;

/// How to fetch a request object from `request_uri` (§5.1 `request_uri_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestUriMethod {
    /// HTTP GET (RFC 9101), the default.
    Get,
    /// HTTP POST with the Wallet's metadata (§5.10). A Wallet that does not support
    /// it may fetch with GET instead (§5).
    Post,
}

/// What an invocation URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestReference {
    /// A request object to fetch from `request_uri`; check it with
    /// [`super::verify_request_object`] passing `client_id`.
    ByReference {
        /// The URL's `client_id`.
        client_id: String,
        /// Where the request object is.
        request_uri: Url,
        /// How to fetch it.
        method: RequestUriMethod,
    },
    /// A request object passed by value (`request`); check it with
    /// [`super::verify_request_object`] passing `client_id`.
    Object {
        /// The URL's `client_id`.
        client_id: String,
        /// The request object.
        request: String,
    },
    /// Unsigned parameters in the URL.
    ByValue(ByValueRequest),
}

/// The parameters of a request passed in the URL, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByValueRequest {
    pub(super) params: Map<String, Value>,
}

impl ByValueRequest {
    /// The parameters as read (JSON ones decoded).
    pub fn parameters(&self) -> &Map<String, Value> {
        &self.params
    }

    /// Checks the parameters as an unsigned request: only a `redirect_uri` client
    /// may send one (§5.9.3); every other prefix requires a signed request object.
    ///
    /// # Errors
    /// [`RequestError::SignatureRequired`] for a prefix that requires a signature,
    /// [`RequestError::NotHaip`] under HAIP (signed requests only), or the rule of
    /// §5 that is broken.
    pub fn verify(&self, options: &RequestOptions) -> Result<AuthorizationRequest, RequestError> {
        let client_id = match self.params.get("client_id") {
            Some(Value::String(id)) => ClientId::parse(id)?,
            Some(_) => return Err(RequestError::Malformed("client_id is not a string".into())),
            None => return Err(RequestError::MissingParameter("client_id")),
        };
        if client_id.prefix().requires_signature() {
            return Err(RequestError::SignatureRequired(client_id.prefix().as_str()));
        }
        if options.haip {
            return Err(RequestError::NotHaip(
                "requests must be signed request objects fetched from request_uri (HAIP 1.0 §5.1)"
                    .into(),
            ));
        }
        AuthorizationRequest::from_parameters(&self.params, options)
    }
}

/// Reads an invocation URL with the default options (an https `request_uri`).
///
/// # Errors
/// As [`parse_request_uri_with`].
pub fn parse_request_uri(uri: &str) -> Result<RequestReference, RequestError> {
    parse_request_uri_with(uri, &RequestOptions::default())
}

/// Reads an invocation URL. `request_uri` must be https (or http when
/// [`RequestOptions::allow_http_response_uri`] allows http for local tests).
///
/// # Errors
/// [`RequestError::LimitExceeded`] past [`MAX_REQUEST_URI_BYTES`] (or the options'
/// `max_request_bytes`, if smaller); [`RequestError::Malformed`] for a URL that does
/// not parse, a repeated parameter, `request` and `request_uri` together, or
/// `request_uri_method` without `request_uri`; [`RequestError::MissingParameter`]
/// for a reference without `client_id`; [`RequestError::Unsupported`] for a
/// `request_uri_method` other than `get` and `post`.
pub fn parse_request_uri_with(
    uri: &str,
    options: &RequestOptions,
) -> Result<RequestReference, RequestError> {
    let max = MAX_REQUEST_URI_BYTES.min(options.limits.max_request_bytes);
    if uri.len() > max {
        return Err(RequestError::LimitExceeded(format!(
            "the request URL is longer than {max} bytes"
        )));
    }
    let url = Url::parse(uri).map_err(|_| RequestError::Malformed("not a URL".into()))?;
    let mut params: Map<String, Value> = Map::new();
    for (name, value) in url.query_pairs() {
        if params.len() >= MAX_PARAMETERS {
            return Err(RequestError::LimitExceeded(format!(
                "more than {MAX_PARAMETERS} parameters"
            )));
        }
        // RFC 6749 §3.1: a parameter is sent at most once.
        if params
            .insert(name.to_string(), Value::String(value.into_owned()))
            .is_some()
        {
            return Err(RequestError::Malformed(format!(
                "the parameter {} appears more than once (RFC 6749 §3.1)",
                truncate(&name)
            )));
        }
    }
    let text = |name: &str| params.get(name).and_then(Value::as_str);
    let method = match text("request_uri_method") {
        None | Some("get") => RequestUriMethod::Get,
        Some("post") => RequestUriMethod::Post,
        Some(other) => {
            return Err(RequestError::Unsupported {
                parameter: "request_uri_method",
                value: truncate(other),
            })
        }
    };
    let client_id = text("client_id").map(str::to_owned);
    match (text("request_uri"), text("request")) {
        (Some(_), Some(_)) => Err(RequestError::Malformed(
            "request and request_uri must not both be present (RFC 9101 §5)".into(),
        )),
        (Some(request_uri), None) => {
            let request_uri = Url::parse(request_uri)
                .map_err(|_| RequestError::Malformed("request_uri is not a URL".into()))?;
            let scheme_ok = match request_uri.scheme() {
                "https" => true,
                "http" => options.allow_http_response_uri,
                _ => false,
            };
            if !scheme_ok {
                return Err(RequestError::Malformed("request_uri must be https".into()));
            }
            Ok(RequestReference::ByReference {
                client_id: client_id.ok_or(RequestError::MissingParameter("client_id"))?,
                request_uri,
                method,
            })
        }
        (None, _) if params.contains_key("request_uri_method") => Err(RequestError::Malformed(
            "request_uri_method without request_uri (§5.1)".into(),
        )),
        (None, Some(request)) => Ok(RequestReference::Object {
            client_id: client_id.ok_or(RequestError::MissingParameter("client_id"))?,
            request: request.to_owned(),
        }),
        (None, None) => {
            for name in JSON_PARAMETERS {
                if let Some(Value::String(json)) = params.get(name) {
                    let value = parse_json(json.as_bytes(), options.limits.max_json_depth, name)
                        .map_err(|error| match error {
                            crate::VerifyError::LimitExceeded(reason) => {
                                RequestError::LimitExceeded(reason)
                            }
                            _ => RequestError::Malformed(format!("{name} is not JSON")),
                        })?;
                    params.insert(name.to_owned(), value);
                }
            }
            Ok(RequestReference::ByValue(ByValueRequest { params }))
        }
    }
}
