//! One OpenID4VP request, from the verifier's side: what it asks, what is kept of it
//! until the answer, and the request object the wallet fetches.
//!
//! A request is made of the caller's DCQL query and transaction data plus what the
//! verifier picks: a random id (the URLs), `state`, `nonce` (128 bits each) and, for
//! `direct_post.jwt`, the request's own response-encryption key (derived from the
//! state secret and the id, never stored). Everything a response is checked against
//! is kept in [`RequestDetails`], sealed under the state secret.

use agentid_verifier::b64url_encode;
use agentid_verifier::dcql::{DcqlQuery, SD_JWT_VC_FORMAT};
use agentid_verifier::oid4vp::jwe::Enc;
use agentid_verifier::oid4vp::request::ClientMetadata;
use agentid_verifier::oid4vp::{
    AuthorizationRequest, ClientId, RequestError, RequestOptions, ResponseMode, TransactionData,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::identity::RequestSigner;
use super::secret::StateSecret;

/// Response modes this verifier asks for.
pub(crate) const DIRECT_POST: &str = "direct_post";
/// The encrypted response mode (HAIP's).
pub(crate) const DIRECT_POST_JWT: &str = "direct_post.jwt";
/// The content encryptions a wallet may choose for `direct_post.jwt`.
pub(crate) const RESPONSE_ENCS: [Enc; 2] = [Enc::A128GCM, Enc::A256GCM];
/// Algorithms this verifier accepts for SD-JWT VC issuer signatures and KB-JWTs.
const ACCEPTED_ALGS: [&str; 3] = ["ES256", "EdDSA", "ES256K"];

/// What is kept of a request until its response (sealed at rest).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RequestDetails {
    /// The request id (in the URLs).
    pub(crate) id: String,
    /// The client identifier, prefix included: every KB-JWT's `aud`.
    pub(crate) client_id: String,
    /// The nonce every KB-JWT must carry.
    pub(crate) nonce: String,
    /// The state the response must return.
    pub(crate) state: String,
    /// `direct_post` or `direct_post.jwt`.
    pub(crate) response_mode: String,
    /// Where the wallet posts.
    pub(crate) response_uri: String,
    /// The DCQL query, as sent.
    pub(crate) dcql_query: Value,
    /// The transaction data strings, as sent.
    #[serde(default)]
    pub(crate) transaction_data: Vec<String>,
    /// The signed request object (absent for unsigned, by-value requests).
    pub(crate) request_object: Option<String>,
    /// The authorization request URI handed to the wallet.
    pub(crate) authorization_request_uri: String,
    /// When it was made and until when it may be answered (seconds since the epoch).
    pub(crate) created_at: u64,
    /// Expiry.
    pub(crate) expires_at: u64,
    /// Where to post the verdict, if the caller asked.
    #[serde(default)]
    pub(crate) callback_url: Option<String>,
}

/// What the caller asks for.
#[derive(Debug, Clone)]
pub(crate) struct NewRequest {
    /// The checked DCQL query.
    pub(crate) dcql_query: DcqlQuery,
    /// Checked transaction data.
    pub(crate) transaction_data: Vec<TransactionData>,
    /// `direct_post` or `direct_post.jwt`.
    pub(crate) response_mode: String,
    /// Where the verdict goes, if anywhere.
    pub(crate) callback_url: Option<String>,
    /// Lifetime, in seconds.
    pub(crate) ttl_secs: u64,
}

/// Where the request lives on the web.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    /// The response URI for this request.
    pub(crate) response_uri: String,
    /// The request URI the wallet fetches the request object from (`None`: by value).
    pub(crate) request_uri: Option<String>,
}

/// 128 random bits, base64url: ids, states and nonces.
pub(crate) fn random_token() -> String {
    b64url_encode(&agentid_wallet::store::random_token())
}

/// SHA-256 of `text`, base64url.
pub(crate) fn digest(text: &str) -> String {
    b64url_encode(&Sha256::digest(text.as_bytes()))
}

/// The key id of a request's response-encryption key.
pub(crate) fn response_kid(id: &str) -> String {
    format!("resp-{}", digest(id).get(..16).unwrap_or_default())
}

/// Makes a request: picks state and nonce, builds it with the verifier crate's
/// builder (which applies the checks a wallet applies, so nothing is sent that a
/// wallet would refuse), and signs the request object.
///
/// # Errors
/// The [`RequestError`] a wallet would answer (a misconfiguration: the caller's
/// inputs were checked before).
pub(crate) fn make_request(
    id: String,
    new: &NewRequest,
    endpoints: &Endpoints,
    signer: &RequestSigner,
    secret: &StateSecret,
    now: u64,
) -> Result<RequestDetails, RequestError> {
    let client_id = ClientId::parse(&signer.client_id(&endpoints.response_uri))?;
    let nonce = random_token();
    let state = random_token();
    let expires_at = now.saturating_add(new.ttl_secs);
    let mut formats = Map::new();
    formats.insert(
        SD_JWT_VC_FORMAT.into(),
        json!({"sd-jwt_alg_values": ACCEPTED_ALGS, "kb-jwt_alg_values": ACCEPTED_ALGS}),
    );
    let mut metadata = ClientMetadata::new(formats);
    let mode = if new.response_mode == DIRECT_POST_JWT {
        metadata = metadata
            .with_encryption_key(response_kid(&id), secret.response_key(&id).public_key())
            .with_enc_values(&RESPONSE_ENCS);
        ResponseMode::DirectPostJwt
    } else {
        ResponseMode::DirectPost
    };
    let builder = AuthorizationRequest::builder(
        &client_id,
        mode,
        &endpoints.response_uri,
        &nonce,
        new.dcql_query.to_value(),
        &metadata,
    )
    .state(&state);
    let builder = if new.transaction_data.is_empty() {
        builder
    } else {
        builder.transaction_data(&new.transaction_data)
    };
    let builder = if signer.signs() {
        builder.validity(now, expires_at)
    } else {
        // An unsigned request travels by value: no request object claims.
        builder.audience(None)
    };
    let types: Vec<String> = new
        .transaction_data
        .iter()
        .map(|data| data.transaction_type().to_owned())
        .collect();
    let options = RequestOptions::default()
        .with_http_response_uri_allowed(true)
        .with_transaction_data_types(types);
    let request = builder.build(&options)?;
    let request_object = signer.sign(&request)?;
    let link = |name: &str, value: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client_id.as_str())
            .append_pair(name, value)
            .finish()
    };
    let query = match (&request_object, &endpoints.request_uri) {
        (Some(_), Some(request_uri)) => link("request_uri", request_uri),
        (Some(object), None) => link("request", object),
        (None, _) => request.to_query(),
    };
    Ok(RequestDetails {
        id,
        client_id: client_id.as_str().to_owned(),
        nonce,
        state,
        response_mode: new.response_mode.clone(),
        response_uri: endpoints.response_uri.clone(),
        dcql_query: new.dcql_query.to_value(),
        transaction_data: new
            .transaction_data
            .iter()
            .map(|data| data.encoded().to_owned())
            .collect(),
        request_object,
        authorization_request_uri: format!("openid4vp://?{query}"),
        created_at: now,
        expires_at,
        callback_url: new.callback_url.clone(),
    })
}
