//! The guard (`agentid-guard`) against this crate's authorization server: tokens the
//! real token endpoint issues are accepted by the guard for their resource and scope,
//! DPoP-bound ones only with a proof, and refused otherwise. The two halves of
//! docs/oauth.md checked against each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "token_exchange/harness.rs"]
mod harness;

use std::time::Duration;

use agentid_guard::{
    AccessToken, GuardConfig, GuardLayer, IssuerConfig, JwksOptions, JwksSource, ToolScopes,
};
use agentid_verifier::dpop::jwk_thumbprint;
use agentid_verifier::Algorithm;
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::SigningKey;
use axum::body::Body;
use axum::routing::post;
use axum::{Extension, Json, Router};
use harness::*;
use http_body_util::BodyExt as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tower::ServiceExt as _;

/// The guarded tool server for TOOLS, keys from the node's JWKS.
fn guarded(node: &Node) -> Router {
    let mut jwks = JwksOptions::default();
    jwks.allow_http = true;
    jwks.min_refetch_interval = Duration::from_millis(100);
    let jwks_uri = url::Url::parse(&node.url("/v1/oauth/jwks")).unwrap();
    let config = GuardConfig::new(TOOLS)
        .unwrap()
        .with_issuer(IssuerConfig::new(ISSUER, JwksSource::Uri(jwks_uri)))
        .with_jwks_options(jwks)
        .with_tools(
            ToolScopes::new()
                .tool("lookup_order", "tools:read")
                .tool("refund_order", "tools:write"),
        );
    async fn tool(Extension(token): Extension<AccessToken>) -> Json<Value> {
        Json(json!({
            "sub": token.subject, "scope": token.scope, "task_id": token.task_id,
            "on_behalf_of": token.on_behalf_of, "jkt": token.jkt,
        }))
    }
    Router::new()
        .route("/mcp", post(tool))
        .layer(GuardLayer::new(config).unwrap())
}

fn call(name: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}}).to_string()
}

async fn send(app: &Router, headers: &[(&str, String)], body: String) -> (u16, Value) {
    let mut request = axum::http::Request::post("/mcp").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn embedded(world: &World) -> Node {
    let state = world.path("state");
    Node::start(world, state.to_str().unwrap(), None, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_the_token_endpoint_opens_the_tools_its_scope_names_at_the_guard() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let world = World::new();
    let node = embedded(&world);
    let app = guarded(&node);
    let presentation = world.present(&node.nonce().await);
    let (status, body) = node
        .exchange(&presentation, TOOLS, "tools:read", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = text(&body, "access_token");
    let bearer = [("authorization", format!("Bearer {token}"))];

    let (status, seen) = send(&app, &bearer, call("lookup_order")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["sub"], world.agent.did().unwrap().as_str());
    assert_eq!(seen["scope"], json!(["tools:read"]));
    assert_eq!(seen["task_id"], "T-42");
    assert_eq!(seen["on_behalf_of"], PRINCIPAL);

    let (status, refused) = send(&app, &bearer, call("refund_order")).await;
    assert_eq!(status, 403);
    assert_eq!(refused["error"], "insufficient_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_bound_token_needs_its_proof_at_the_guard() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let world = World::new();
    let node = embedded(&world);
    let app = guarded(&node);
    let key = SigningKey::generate(Algorithm::ES256);
    let presentation = world.present(&node.nonce().await);
    let proof = sign_dpop_proof(&key, "POST", TOKEN_ENDPOINT, None, None, now());
    let (status, body) = node
        .exchange(&presentation, TOOLS, "tools:read", Some(&proof))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let token = text(&body, "access_token");

    let proof = sign_dpop_proof(&key, "POST", TOOLS, Some(&token), None, now());
    let headers = [
        ("authorization", format!("DPoP {token}")),
        ("dpop", proof.clone()),
    ];
    let (status, seen) = send(&app, &headers, call("lookup_order")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["jkt"], jwk_thumbprint(key.public_key()));
    // The same proof again, the token as Bearer, and no proof: all refused.
    assert_eq!(send(&app, &headers, call("lookup_order")).await.0, 401);
    let bearer = [("authorization", format!("Bearer {token}"))];
    assert_eq!(send(&app, &bearer, call("lookup_order")).await.0, 401);
    let no_proof = [("authorization", format!("DPoP {token}"))];
    let (status, refused) = send(&app, &no_proof, call("lookup_order")).await;
    assert_eq!(status, 401);
    assert_eq!(refused["error"], "invalid_dpop_proof");
}
