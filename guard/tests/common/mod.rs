//! Shared test setup: an authorization server's keys and JWKS over real HTTP, a
//! guarded axum app on an ephemeral port, tokens and DPoP proofs minted with real keys
//! following docs/oauth.md (the issue 14 contract).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentid_guard::{
    AccessToken, GuardConfig, GuardLayer, IssuerConfig, JwksOptions, JwksSource, RouteScopes,
    ToolScopes,
};
use agentid_verifier::{b64url_encode, jwk_thumbprint, Algorithm};
use agentid_wallet::SigningKey;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signs a compact JWS with `key` (header and claims as given).
pub fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature))
}

pub fn kid(key: &SigningKey) -> String {
    jwk_thumbprint(key.public_key())
}

pub fn public_jwk(key: &SigningKey) -> Value {
    let mut jwk = key.public_key().to_jwk();
    jwk["kid"] = json!(kid(key));
    jwk["alg"] = json!(key.algorithm().as_str());
    jwk["use"] = json!("sig");
    jwk
}

/// An authorization server: its keys, served as a JWKS (and RFC 8414 metadata) on
/// 127.0.0.1, with a count of JWKS requests.
pub struct AuthServer {
    pub issuer: String,
    pub key: SigningKey,
    pub published: Arc<Mutex<Vec<Value>>>,
    pub jwks_hits: Arc<AtomicUsize>,
}

impl AuthServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let key = SigningKey::generate(Algorithm::ES256);
        let published = Arc::new(Mutex::new(vec![public_jwk(&key)]));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let (keys, hits) = (Arc::clone(&published), Arc::clone(&jwks_hits));
        let metadata = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/v1/oauth/jwks"),
            "token_endpoint": format!("{issuer}/v1/oauth/token"),
        });
        let app = Router::new()
            .route(
                "/v1/oauth/jwks",
                get(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let keys = keys.lock().unwrap().clone();
                    async move { Json(json!({ "keys": keys })) }
                }),
            )
            .route(
                "/.well-known/oauth-authorization-server",
                get(move || async move { Json(metadata) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        AuthServer {
            issuer,
            key,
            published,
            jwks_hits,
        }
    }

    pub fn jwks_uri(&self) -> url::Url {
        url::Url::parse(&format!("{}/v1/oauth/jwks", self.issuer)).unwrap()
    }

    pub fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    /// The claims of a valid token for `resource`.
    pub fn claims(&self, resource: &str, scope: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer, "sub": "did:key:z6Mkagent", "client_id": "did:key:z6Mkagent",
            "aud": resource, "iat": now, "exp": now + 300, "jti": b64url_encode(&now.to_be_bytes()),
            "scope": scope,
        })
    }

    pub fn token_with(&self, key: &SigningKey, claims: &Value) -> String {
        let header = json!({"alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": kid(key)});
        sign(key, &header, claims)
    }

    pub fn token(&self, claims: &Value) -> String {
        self.token_with(&self.key, claims)
    }
}

/// Test-friendly JWKS options: http allowed, a short refetch interval.
pub fn jwks_options(min_refetch: Duration) -> JwksOptions {
    let mut options = JwksOptions::default();
    options.allow_http = true;
    options.min_refetch_interval = min_refetch;
    options
}

/// A guarded app on 127.0.0.1: `/mcp` (POST, GET) and `/orders` (GET, POST).
pub struct App {
    pub resource: String,
    pub base: String,
    pub client: reqwest::Client,
}

pub struct AppOptions {
    pub dpop_required: bool,
    pub min_refetch: Duration,
    pub replay_capacity: usize,
    pub discover: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            dpop_required: false,
            min_refetch: Duration::from_millis(200),
            replay_capacity: 1000,
            discover: false,
        }
    }
}

async fn whoami(Extension(token): Extension<AccessToken>) -> Json<Value> {
    Json(json!({"sub": token.subject, "scope": token.scope, "jkt": token.jkt}))
}

async fn echo(Extension(token): Extension<AccessToken>, body: String) -> Json<Value> {
    Json(json!({"sub": token.subject, "body": body}))
}

impl App {
    pub async fn start(auth: &AuthServer, options: AppOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let resource = format!("{base}/mcp");
        let source = if options.discover {
            JwksSource::Discover
        } else {
            JwksSource::Uri(auth.jwks_uri())
        };
        let config = GuardConfig::new(&resource)
            .unwrap()
            .with_issuer(IssuerConfig::new(&auth.issuer, source))
            .with_scopes_supported(["tools:read", "tools:write", "orders:read"])
            .with_dpop_required(options.dpop_required)
            .with_replay_capacity(options.replay_capacity)
            .with_jwks_options(jwks_options(options.min_refetch))
            .with_routes(RouteScopes::new().public("/health").route(
                None,
                "/orders",
                ["orders:read"],
            ))
            .with_tools(
                ToolScopes::new()
                    .tool("lookup_order", "tools:read")
                    .tool("refund_order", "tools:write"),
            );
        let guard = GuardLayer::new(config).unwrap();
        let app = Router::new()
            .route("/mcp", post(echo).get(whoami))
            .route("/orders", get(whoami))
            .route("/health", get(|| async { "ok" }))
            .layer(guard);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        App {
            resource,
            base,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn tool_call(name: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": name, "arguments": {"order": "A-1"}}})
    .to_string()
}

/// The `WWW-Authenticate` values of a response.
pub fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

pub async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// Asserts a 401 `invalid_token` on the challenge of `scheme`.
pub async fn assert_invalid_token(response: reqwest::Response, scheme: &str) {
    assert_eq!(response.status(), 401);
    let challenges = challenges(&response);
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with(&format!("{scheme} error=\"invalid_token\""))),
        "{challenges:?}"
    );
    assert!(challenges
        .iter()
        .all(|c| c.contains("resource_metadata=\"")));
    assert_eq!(body(response).await["error"], "invalid_token");
}
