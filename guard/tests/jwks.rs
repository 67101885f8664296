//! The JWKS cache against a real local JWKS server: rotation, the bogus-kid
//! refetch bound, discovery, an unreachable authorization server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use agentid_guard::{GuardConfig, GuardLayer, IssuerConfig, JwksSource};
use agentid_verifier::Algorithm;
use agentid_wallet::SigningKey;
use common::*;
use serde_json::json;

async fn status(app: &App, token: &str) -> u16 {
    app.client
        .get(app.url("/mcp"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn rotation_a_new_key_is_fetched_on_first_sight_and_a_withdrawn_one_stops_working() {
    let mut auth = AuthServer::start().await;
    let options = AppOptions {
        min_refetch: Duration::from_millis(300),
        ..AppOptions::default()
    };
    let app = App::start(&auth, options).await;
    let claims = auth.claims(&app.resource, "tools:read");
    let old = auth.token(&claims);
    assert_eq!(status(&app, &old).await, 200);
    assert_eq!(auth.hits(), 1);
    assert_eq!(status(&app, &old).await, 200);
    assert_eq!(auth.hits(), 1, "served from the cache");

    // The AS rotates: the new key alone is published.
    let new_key = SigningKey::generate(Algorithm::ES256);
    *auth.published.lock().unwrap() = vec![public_jwk(&new_key)];
    tokio::time::sleep(Duration::from_millis(350)).await;
    let old_key = std::mem::replace(&mut auth.key, new_key);
    let new = auth.token(&claims);
    assert_eq!(status(&app, &new).await, 200, "unknown kid: one refetch");
    assert_eq!(auth.hits(), 2);
    // The withdrawn key's tokens: its kid is no longer in the set.
    let withdrawn = auth.token_with(&old_key, &claims);
    assert_eq!(status(&app, &withdrawn).await, 401);
}

#[tokio::test]
async fn a_flood_of_made_up_kids_costs_the_authorization_server_one_fetch_per_interval() {
    let auth = AuthServer::start().await;
    let options = AppOptions {
        min_refetch: Duration::from_secs(1),
        ..AppOptions::default()
    };
    let app = App::start(&auth, options).await;
    let claims = auth.claims(&app.resource, "tools:read");
    assert_eq!(status(&app, &auth.token(&claims)).await, 200);
    assert_eq!(auth.hits(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // 25 at once, past the interval: they queue on the fetch lock; one fetches, the
    // others reuse its set.
    let tokens: Vec<String> = (0..25)
        .map(|_| auth.token_with(&SigningKey::generate(Algorithm::ES256), &claims))
        .collect();
    let statuses = futures::future::join_all(tokens.iter().map(|token| status(&app, token))).await;
    assert!(statuses.iter().all(|status| *status == 401));
    assert_eq!(auth.hits(), 2, "one refetch for the whole burst");
    // 25 more within the interval: no fetch at all.
    for _ in 0..25 {
        let bogus = SigningKey::generate(Algorithm::ES256);
        assert_eq!(status(&app, &auth.token_with(&bogus, &claims)).await, 401);
    }
    assert_eq!(auth.hits(), 2);
    // The real key still works meanwhile.
    assert_eq!(status(&app, &auth.token(&claims)).await, 200);
}

#[tokio::test]
async fn rfc8414_discovery_finds_the_jwks_uri() {
    let auth = AuthServer::start().await;
    let options = AppOptions {
        discover: true,
        ..AppOptions::default()
    };
    let app = App::start(&auth, options).await;
    let token = auth.token(&auth.claims(&app.resource, "tools:read"));
    assert_eq!(status(&app, &token).await, 200);
    assert_eq!(auth.hits(), 1);
}

#[tokio::test]
async fn an_unreachable_authorization_server_is_503_not_a_pass() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", app_listener.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let jwks = url::Url::parse(&format!("{dead}/jwks")).unwrap();
    let config = GuardConfig::new(&resource)
        .unwrap()
        .with_issuer(IssuerConfig::new(&dead, JwksSource::Uri(jwks)))
        .with_jwks_options(jwks_options(Duration::from_secs(30)));
    let app = axum::Router::new()
        .route("/mcp", axum::routing::get(|| async { "secret" }))
        .layer(GuardLayer::new(config).unwrap());
    tokio::spawn(async move { axum::serve(app_listener, app).await });
    let key = SigningKey::generate(Algorithm::ES256);
    let now = now();
    let claims = json!({"iss": dead, "sub": "a", "client_id": "a", "aud": resource,
                        "iat": now, "exp": now + 60, "jti": "j"});
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid(&key)});
    let token = sign(&key, &header, &claims);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .get(format!("{base}/mcp"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn two_issuers_each_token_checked_with_its_own_issuers_keys() {
    let first = AuthServer::start().await;
    let second = AuthServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let config = GuardConfig::new(&resource)
        .unwrap()
        .with_issuer(IssuerConfig::new(
            &first.issuer,
            JwksSource::Uri(first.jwks_uri()),
        ))
        .with_issuer(IssuerConfig::new(&second.issuer, JwksSource::Discover))
        .with_jwks_options(jwks_options(Duration::from_secs(30)));
    let app = axum::Router::new()
        .route("/mcp", axum::routing::get(|| async { "ok" }))
        .layer(GuardLayer::new(config).unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let status = |token: String| {
        let request = client.get(&resource).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(first.token(&first.claims(&resource, ""))).await, 200);
    assert_eq!(
        status(second.token(&second.claims(&resource, ""))).await,
        200
    );
    // Signed by the first issuer's key, claiming to be from the second: checked
    // with the second's keys, where that kid is unknown.
    let forged = first.token(&second.claims(&resource, ""));
    assert_eq!(status(forged).await, 401);
}
