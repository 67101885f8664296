//! The parameter rules of §5 (and §8.2, §8.3), shared by request objects, requests
//! by value, and the Verifier's builder.

use serde_json::{Map, Value};
use url::Url;

use super::{
    AuthorizationRequest, ClientMetadata, RequestOptions, ResponseMode, MAX_NONCE_LEN,
    RESPONSE_TYPE_VP_TOKEN,
};
use crate::error::truncate;
use crate::oid4vp::client_id::{ClientId, ClientIdPrefix};
use crate::oid4vp::error::RequestError;
use crate::oid4vp::transaction_data::{TransactionData, MAX_TRANSACTION_DATA};

impl AuthorizationRequest {
    /// Checks request parameters (from a request object's claims or the URL) against
    /// §5; the signature, if any, was checked by the caller.
    pub(crate) fn from_parameters(
        params: &Map<String, Value>,
        options: &RequestOptions,
    ) -> Result<Self, RequestError> {
        let client_id = ClientId::parse(
            string(params, "client_id")?.ok_or(RequestError::MissingParameter("client_id"))?,
        )?;
        if options.haip && client_id.prefix() != ClientIdPrefix::X509Hash {
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
            None if client_id.prefix() == ClientIdPrefix::RedirectUri => {
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
