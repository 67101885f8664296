//! An agent that calls an MCP tool with its agentid credential.
//!
//! 1. Asks the tool server for its RFC 9728 metadata (from the `resource_metadata` of
//!    its 401 challenge) to learn the authorization server, then that server's
//!    RFC 8414 metadata for its nonce and token endpoints.
//! 2. Presents its credential to the authorization server (KB-JWT `aud` = the
//!    issuer, `nonce` fresh from the nonce endpoint) in an RFC 8693 token exchange for
//!    the tool server (`resource`) and `scope`; with `--dpop`, with a DPoP proof so
//!    the token is bound to a key only this process holds.
//! 3. Calls the tool over MCP streamable HTTP (rmcp), each request carrying the
//!    token (and, with `--dpop`, a fresh proof for that request).
//!
//! ```text
//! AGENTID_PASSPHRASE=… cargo run -p agentid-guard --example mcp_agent -- \
//!     --wallet ./agent-wallet --credential <id> \
//!     --resource http://127.0.0.1:8480/mcp --scope tools:read \
//!     --tool lookup_order --arguments '{"order":"A-1"}' --dpop
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use agentid_verifier::{Algorithm, PresentationRequest};
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::{unix_now, Passphrase, SigningKey, Wallet};
use clap::Parser;
use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::{CallToolRequestParams, ClientJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt as _;
use serde_json::Value;

/// The RFC 8693 subject token type of an agentid presentation.
const SUBJECT_TOKEN_TYPE: &str = "urn:agentid:params:oauth:token-type:sd-jwt-presentation";

/// Largest metadata or token response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Command line.
#[derive(Parser)]
struct Args {
    /// The agent's wallet directory (passphrase in AGENTID_PASSPHRASE).
    #[arg(long)]
    wallet: std::path::PathBuf,
    /// The id of the credential to present.
    #[arg(long)]
    credential: String,
    /// The MCP server's resource identifier (its MCP endpoint URL).
    #[arg(long)]
    resource: String,
    /// The authorization server (issuer URL); found from the resource's metadata when absent.
    #[arg(long = "authorization-server")]
    authorization_server: Option<String>,
    /// Scopes to ask for (space-separated).
    #[arg(long)]
    scope: String,
    /// The tool to call.
    #[arg(long)]
    tool: String,
    /// The tool's arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    arguments: String,
    /// Ask for a DPoP-bound token and prove possession on every request.
    #[arg(long)]
    dpop: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()?;

    let issuer = match &args.authorization_server {
        Some(issuer) => issuer.clone(),
        None => discover_authorization_server(&http, &args.resource).await?,
    };
    // RFC 8414 §3.1: the well-known path goes between the issuer's origin and path.
    let issuer_url = url::Url::parse(&issuer)?;
    let metadata_url = format!(
        "{}/.well-known/oauth-authorization-server{}",
        issuer_url.origin().ascii_serialization(),
        issuer_url.path().trim_end_matches('/')
    );
    let metadata = get_json(&http, &metadata_url).await?;
    if metadata["issuer"].as_str() != Some(issuer.as_str()) {
        return Err(
            "the authorization server's metadata names another issuer (RFC 8414 §3.3)".into(),
        );
    }
    let endpoint = |name: &str| -> Result<String, Box<dyn std::error::Error>> {
        Ok(metadata
            .get(name)
            .and_then(Value::as_str)
            .ok_or(format!("the authorization server's metadata has no {name}"))?
            .to_owned())
    };
    let (nonce_endpoint, token_endpoint) =
        (endpoint("nonce_endpoint")?, endpoint("token_endpoint")?);

    // The presentation, bound to the authorization server and one of its nonces.
    let nonce = post(&http, &nonce_endpoint, None, None).await?;
    let nonce = nonce["nonce"].as_str().ok_or("no nonce")?.to_owned();
    let passphrase = Passphrase::new(std::env::var("AGENTID_PASSPHRASE").unwrap_or_default());
    let mut wallet = Wallet::open(&args.wallet, &passphrase)?;
    let presentation = wallet.present(
        &args.credential,
        &[],
        &PresentationRequest::new(&issuer, &nonce),
        unix_now(),
    )?;

    // The token exchange (RFC 8693), optionally DPoP-bound (RFC 9449 §5).
    let dpop_key = args.dpop.then(|| SigningKey::generate(Algorithm::ES256));
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        )
        .append_pair("subject_token", &presentation)
        .append_pair("subject_token_type", SUBJECT_TOKEN_TYPE)
        .append_pair("resource", &args.resource)
        .append_pair("scope", &args.scope)
        .finish();
    let proof = dpop_key
        .as_ref()
        .map(|key| sign_dpop_proof(key, "POST", &token_endpoint, None, None, unix_now()));
    let answer = post(&http, &token_endpoint, Some(form), proof).await?;
    let access_token = answer["access_token"]
        .as_str()
        .ok_or_else(|| format!("no token: {}", answer["error_description"]))?
        .to_owned();
    eprintln!(
        "got a {} token for {} (scope {}, expires in {} s)",
        answer["token_type"], args.resource, answer["scope"], answer["expires_in"]
    );

    // The tool call over MCP.
    let arguments: serde_json::Map<String, Value> = serde_json::from_str(&args.arguments)?;
    let call = CallToolRequestParams::new(args.tool.clone()).with_arguments(arguments);
    let result = match dpop_key {
        Some(key) => {
            let client = DpopHttpClient {
                inner: reqwest::Client::new(),
                key: Arc::new(key),
                token: access_token,
            };
            let transport = StreamableHttpClientTransport::with_client(
                client,
                StreamableHttpClientTransportConfig::with_uri(args.resource.as_str()),
            );
            let service = ().serve(transport).await?;
            let result = service.call_tool(call).await?;
            service.cancel().await?;
            result
        }
        None => {
            let transport = StreamableHttpClientTransport::from_config(
                StreamableHttpClientTransportConfig::with_uri(args.resource.as_str())
                    .auth_header(access_token),
            );
            let service = ().serve(transport).await?;
            let result = service.call_tool(call).await?;
            service.cancel().await?;
            result
        }
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// RFC 9728 §5: the `resource_metadata` of the resource's 401 challenge, then its
/// `authorization_servers[0]`.
async fn discover_authorization_server(
    http: &reqwest::Client,
    resource: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let response = http.get(resource).send().await?;
    let metadata_url = response
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let start = value.find("resource_metadata=\"")? + "resource_metadata=\"".len();
            let end = value[start..].find('"')?;
            Some(value[start..start + end].to_owned())
        })
        .ok_or("the resource's 401 names no resource_metadata")?;
    let metadata = get_json(http, &metadata_url).await?;
    if metadata["resource"].as_str() != Some(resource) {
        return Err("the metadata is for another resource (RFC 9728 §3.3)".into());
    }
    Ok(metadata["authorization_servers"][0]
        .as_str()
        .ok_or("the metadata names no authorization server")?
        .to_owned())
}

async fn read_json(response: reqwest::Response) -> Result<Value, Box<dyn std::error::Error>> {
    if response.content_length().unwrap_or(0) > MAX_RESPONSE_BYTES as u64 {
        return Err("response too large".into());
    }
    let bytes = response.bytes().await?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err("response too large".into());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
    read_json(http.get(url).send().await?).await
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    form: Option<String>,
    dpop: Option<String>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut request = http.post(url);
    if let Some(form) = form {
        request = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
    }
    if let Some(proof) = dpop {
        request = request.header("dpop", proof);
    }
    read_json(request.send().await?).await
}

/// rmcp's reqwest client, sending `Authorization: DPoP <token>` and a fresh DPoP
/// proof for each request (RFC 9449 §7.1).
#[derive(Clone)]
struct DpopHttpClient {
    inner: reqwest::Client,
    key: Arc<SigningKey>,
    token: String,
}

impl DpopHttpClient {
    fn headers(
        &self,
        method: &str,
        uri: &str,
        mut headers: HashMap<HeaderName, HeaderValue>,
    ) -> HashMap<HeaderName, HeaderValue> {
        let proof = sign_dpop_proof(&self.key, method, uri, Some(&self.token), None, unix_now());
        if let (Ok(authorization), Ok(proof)) = (
            HeaderValue::from_str(&format!("DPoP {}", self.token)),
            HeaderValue::from_str(&proof),
        ) {
            headers.insert(http::header::AUTHORIZATION, authorization);
            headers.insert(HeaderName::from_static("dpop"), proof);
        }
        headers
    }
}

impl StreamableHttpClient for DpopHttpClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let headers = self.headers("POST", &uri, custom_headers);
        self.inner
            .post_message_with_response_limits(uri, message, session_id, None, headers, limits)
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        let headers = self.headers("DELETE", &uri, custom_headers);
        self.inner
            .delete_session(uri, session_id, None, headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<
        BoxStream<'static, Result<sse_stream::Sse, SseError>>,
        StreamableHttpError<Self::Error>,
    > {
        let headers = self.headers("GET", &uri, custom_headers);
        self.inner
            .get_stream(uri, session_id, last_event_id, None, headers)
            .await
    }
}
