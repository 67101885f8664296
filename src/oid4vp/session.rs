//! One OpenID4VP request, from the verifier's side: what it asks, what is kept of it
//! until the answer, and the request object the wallet fetches.
//!
//! A request is made of the caller's DCQL query and transaction data plus what the
//! verifier picks: a random id (the URLs), `state`, `nonce` (128 bits each) and, for
//! `direct_post.jwt`, the request's own response-encryption key (derived from the
//! state secret and the id, never stored). Everything a response is checked against
//! is kept in [`RequestDetails`], sealed under the state secret.

use agentid_verifier::b64url_encode;
use agentid_verifier::dcql::DcqlQuery;
use agentid_verifier::oid4vp::jwe::{public_jwk, Enc};
use agentid_verifier::oid4vp::TransactionData;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::identity::RequestSigner;
use super::secret::StateSecret;

/// The `aud` of a request object for a wallet found without discovery (OpenID4VP
/// 1.0 §5.8, static discovery metadata).
pub(crate) const SELF_ISSUED_AUDIENCE: &str = "https://self-issued.me/v2";
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
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    b64url_encode(&bytes)
}

/// SHA-256 of `text`, base64url.
pub(crate) fn digest(text: &str) -> String {
    b64url_encode(&Sha256::digest(text.as_bytes()))
}

/// The key id of a request's response-encryption key.
pub(crate) fn response_kid(id: &str) -> String {
    format!("resp-{}", digest(id).get(..16).unwrap_or_default())
}

/// Makes a request: picks state and nonce, builds and signs the request object.
pub(crate) fn make_request(
    id: String,
    new: &NewRequest,
    endpoints: &Endpoints,
    signer: &RequestSigner,
    secret: &StateSecret,
    now: u64,
) -> RequestDetails {
    let client_id = signer.client_id(&endpoints.response_uri);
    let nonce = random_token();
    let state = random_token();
    let expires_at = now.saturating_add(new.ttl_secs);
    let mut client_metadata = Map::new();
    let formats = json!({
        "dc+sd-jwt": {"sd-jwt_alg_values": ACCEPTED_ALGS, "kb-jwt_alg_values": ACCEPTED_ALGS}
    });
    client_metadata.insert("vp_formats_supported".into(), formats);
    if new.response_mode == DIRECT_POST_JWT {
        let public = secret.response_key(&id).public_key();
        let mut jwk = public_jwk(&public);
        if let Some(object) = jwk.as_object_mut() {
            object.insert("kid".into(), response_kid(&id).into());
            object.insert("use".into(), "enc".into());
            object.insert("alg".into(), "ECDH-ES".into());
        }
        client_metadata.insert("jwks".into(), json!({ "keys": [jwk] }));
        let encs: Vec<&str> = RESPONSE_ENCS.iter().map(|enc| enc.as_str()).collect();
        client_metadata.insert(
            "encrypted_response_enc_values_supported".into(),
            json!(encs),
        );
    }
    let mut claims = Map::new();
    claims.insert("client_id".into(), client_id.clone().into());
    claims.insert("response_type".into(), "vp_token".into());
    claims.insert("response_mode".into(), new.response_mode.clone().into());
    claims.insert("response_uri".into(), endpoints.response_uri.clone().into());
    claims.insert("nonce".into(), nonce.clone().into());
    claims.insert("state".into(), state.clone().into());
    claims.insert("dcql_query".into(), new.dcql_query.to_value());
    claims.insert("client_metadata".into(), Value::Object(client_metadata));
    let transaction_data: Vec<String> = new
        .transaction_data
        .iter()
        .map(|data| data.encoded().to_owned())
        .collect();
    if !transaction_data.is_empty() {
        claims.insert("transaction_data".into(), json!(transaction_data));
    }
    let request_object = if signer.signs() {
        claims.insert("aud".into(), SELF_ISSUED_AUDIENCE.into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), expires_at.into());
        signer.sign(&claims)
    } else {
        None
    };
    let authorization_request_uri = match (&request_object, &endpoints.request_uri) {
        (Some(_), Some(request_uri)) => format!(
            "openid4vp://?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client_id)
                .append_pair("request_uri", request_uri)
                .finish()
        ),
        (Some(object), None) => format!(
            "openid4vp://?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client_id)
                .append_pair("request", object)
                .finish()
        ),
        // Unsigned (`redirect_uri:`): every parameter by value, objects JSON-encoded.
        (None, _) => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in &claims {
                match value {
                    Value::String(text) => query.append_pair(name, text),
                    other => query.append_pair(name, &other.to_string()),
                };
            }
            format!("openid4vp://?{}", query.finish())
        }
    };
    RequestDetails {
        id,
        client_id,
        nonce,
        state,
        response_mode: new.response_mode.clone(),
        response_uri: endpoints.response_uri.clone(),
        dcql_query: new.dcql_query.to_value(),
        transaction_data,
        request_object,
        authorization_request_uri,
        created_at: now,
        expires_at,
        callback_url: new.callback_url.clone(),
    }
}
