//! The guard's 400/401/403 for bearer tokens over real HTTP (RFC 6750 §3,
//! RFC 9728 §5.1), scopes per route and per tool, the metadata, and the happy paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::{b64url_encode, Algorithm};
use agentid_wallet::SigningKey;
use common::*;
use serde_json::json;

#[tokio::test]
async fn rfc6750_section3_no_token_is_401_with_resource_metadata_and_no_error_code() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let response = app.client.get(app.url("/mcp")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", app.base);
    assert_eq!(
        challenges(&response),
        [
            format!("Bearer resource_metadata=\"{metadata}\""),
            format!("DPoP algs=\"ES256 EdDSA\", resource_metadata=\"{metadata}\""),
        ]
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = body(response).await;
    assert_eq!(body["error"], "unauthorized");
    assert!(body["error_description"].is_string());
    // A scheme the guard does not speak counts as no credentials.
    let response = app
        .client
        .get(app.url("/mcp"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(!challenges(&response)[0].contains("error="));
}

#[tokio::test]
async fn malformed_badly_signed_and_foreign_tokens_are_401_invalid_token() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let claims = auth.claims(&app.resource, "tools:read");
    let good = auth.token(&claims);
    let (input, _) = good.rsplit_once('.').unwrap();
    let other_key = SigningKey::generate(Algorithm::ES256);
    let mut foreign_iss = claims.clone();
    foreign_iss["iss"] = json!("https://other-as.example");
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!("http://127.0.0.1:1/mcp");
    let mut expired = claims.clone();
    expired["iat"] = json!(now() - 1000);
    expired["exp"] = json!(now() - 600);
    let mut not_yet = claims.clone();
    not_yet["nbf"] = json!(now() + 600);
    let cases = [
        ("malformed", "abc.def".to_owned()),
        ("not a JWS at all", "secret-token-value".to_owned()),
        (
            "bad signature",
            format!("{input}.{}", b64url_encode(&[1u8; 64])),
        ),
        ("other key", auth.token_with(&other_key, &claims)),
        ("other key under the AS's kid", {
            let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid(&auth.key)});
            sign(&other_key, &header, &claims)
        }),
        ("other issuer", auth.token(&foreign_iss)),
        ("other audience", auth.token(&other_aud)),
        ("expired", auth.token(&expired)),
        ("not yet valid", auth.token(&not_yet)),
    ];
    for (case, token) in cases {
        let response = app
            .client
            .get(app.url("/mcp"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let text = format!("{:?}", response.headers());
        assert!(!text.contains("secret-token-value"), "{case}: token echoed");
        assert_invalid_token(response, "Bearer").await;
    }
    // And the good one passes.
    let response = app
        .client
        .get(app.url("/mcp"))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["sub"], "did:key:z6Mkagent");
}

#[tokio::test]
async fn rfc6750_section3_1_two_authorization_headers_are_400_invalid_request() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let token = auth.token(&auth.claims(&app.resource, ""));
    let response = app
        .client
        .get(app.url("/mcp"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(challenges(&response)[0].starts_with("Bearer error=\"invalid_request\""));
    assert_eq!(body(response).await["error"], "invalid_request");
}

#[tokio::test]
async fn rfc6750_section3_1_missing_route_scope_is_403_naming_it() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let token = auth.token(&auth.claims(&app.resource, "tools:read"));
    let response = app
        .client
        .get(app.url("/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let challenge = &challenges(&response)[0];
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"orders:read\""), "{challenge}");
    assert_eq!(body(response).await["error"], "insufficient_scope");
    let token = auth.token(&auth.claims(&app.resource, "orders:read"));
    let response = app
        .client
        .get(app.url("/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A public route needs nothing.
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn per_tool_scopes_single_batch_unknown_and_the_body_handed_on_untouched() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let reader = auth.token(&auth.claims(&app.resource, "tools:read"));
    let post = |token: &str, body: String| {
        app.client
            .post(app.url("/mcp"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let call = tool_call("lookup_order");
    let response = post(&reader, call.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(response).await["body"],
        call,
        "the body reaches the handler as sent"
    );

    let response = post(&reader, tool_call("refund_order")).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(challenges(&response)[0].contains("scope=\"tools:write\""));

    let batch = format!(
        "[{},{}]",
        tool_call("lookup_order"),
        tool_call("refund_order")
    );
    let response = post(&reader, batch.clone()).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(challenges(&response)[0].contains("scope=\"tools:read tools:write\""));
    let both = auth.token(&auth.claims(&app.resource, "tools:read tools:write"));
    assert_eq!(post(&both, batch).await.unwrap().status(), 200);

    let response = post(&both, tool_call("drop_tables")).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(!challenges(&response)[0].contains("scope="));

    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    assert_eq!(post(&reader, list).await.unwrap().status(), 200);
    assert_eq!(
        post(&reader, "{not json".into()).await.unwrap().status(),
        400
    );
    let huge = format!("[{}]", vec![tool_call("lookup_order"); 12_000].join(","));
    assert!(huge.len() > agentid_guard::DEFAULT_MAX_MCP_BODY_BYTES);
    assert_eq!(post(&reader, huge).await.unwrap().status(), 413);
    // Without a token the body is not read at all: 401, not 413 or 400.
    let response = app
        .client
        .post(app.url("/mcp"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn rfc9728_section3_metadata_at_the_root_and_path_inserted_urls() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(
            body(response).await,
            json!({
                "resource": app.resource,
                "authorization_servers": [auth.issuer],
                "scopes_supported": ["tools:read", "tools:write", "orders:read"],
                "bearer_methods_supported": ["header"],
                "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
                "dpop_bound_access_tokens_required": false,
            })
        );
    }
    let response = app
        .client
        .post(app.url("/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}
