//! DPoP-bound tokens at the guard over real HTTP (RFC 9449 §7): a fresh proof for
//! this request, of the token's key, used once; bound tokens never as Bearer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::dpop::jwk_thumbprint;
use agentid_verifier::Algorithm;
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::SigningKey;
use common::*;
use serde_json::json;

struct Bound {
    key: SigningKey,
    token: String,
}

fn bound_token(auth: &AuthServer, resource: &str, scope: &str) -> Bound {
    let key = SigningKey::generate(Algorithm::EdDSA);
    let mut claims = auth.claims(resource, scope);
    claims["cnf"] = json!({"jkt": jwk_thumbprint(key.public_key())});
    Bound {
        token: auth.token(&claims),
        key,
    }
}

#[tokio::test]
async fn rfc9449_section7_dpop_bound_tokens_need_a_fresh_proof_for_this_request() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let bound = bound_token(&auth, &app.resource, "tools:read");
    let url = app.url("/mcp");
    let proof = |method: &str, url: &str, token: &str, iat: u64| {
        sign_dpop_proof(&bound.key, method, url, Some(token), None, iat)
    };
    let get = |token: &str, proof: Option<String>| {
        let mut request = app
            .client
            .get(app.url("/mcp"))
            .header("authorization", format!("DPoP {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send()
    };
    // The happy path, with a query string (htu ignores it).
    let response = app
        .client
        .get(format!("{url}?page=2"))
        .header("authorization", format!("DPoP {}", bound.token))
        .header("dpop", proof("GET", &url, &bound.token, now()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(response).await["jkt"],
        jwk_thumbprint(bound.key.public_key())
    );

    let other = bound_token(&auth, &app.resource, "tools:read");
    let other_key_proof = sign_dpop_proof(&other.key, "GET", &url, Some(&bound.token), None, now());
    let cases = [
        ("no proof", None),
        ("garbage proof", Some("not-a-proof".to_owned())),
        (
            "another URL",
            Some(proof("GET", &app.url("/orders"), &bound.token, now())),
        ),
        (
            "another origin",
            Some(proof("GET", "http://evil.example/mcp", &bound.token, now())),
        ),
        (
            "another method",
            Some(proof("POST", &url, &bound.token, now())),
        ),
        (
            "another token (ath)",
            Some(proof("GET", &url, &other.token, now())),
        ),
        (
            "stale iat",
            Some(proof("GET", &url, &bound.token, now() - 3600)),
        ),
        (
            "iat in the future",
            Some(proof("GET", &url, &bound.token, now() + 3600)),
        ),
        ("another key than cnf.jkt", Some(other_key_proof)),
    ];
    for (case, proof) in cases {
        let response = get(&bound.token, proof).await.unwrap();
        assert_eq!(response.status(), 401, "{case}");
        let challenges = challenges(&response);
        assert!(
            challenges
                .iter()
                .any(|c| c.starts_with("DPoP error=\"invalid_dpop_proof\"")),
            "{case}: {challenges:?}"
        );
        assert_eq!(
            body(response).await["error"],
            "invalid_dpop_proof",
            "{case}"
        );
    }

    // RFC 9449 §4.3 check 1: one DPoP header, not two.
    let response = app
        .client
        .get(&url)
        .header("authorization", format!("DPoP {}", bound.token))
        .header("dpop", proof("GET", &url, &bound.token, now()))
        .header("dpop", proof("GET", &url, &bound.token, now()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(body(response).await["error"], "invalid_dpop_proof");

    // A replayed proof: the first use passes, the second is refused.
    let once = proof("GET", &url, &bound.token, now());
    assert_eq!(
        get(&bound.token, Some(once.clone()))
            .await
            .unwrap()
            .status(),
        200
    );
    let replay = get(&bound.token, Some(once)).await.unwrap();
    assert_eq!(replay.status(), 401);
    assert_eq!(body(replay).await["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn rfc9449_section7_1_a_bound_token_used_as_bearer_and_an_unbound_one_as_dpop_are_refused() {
    let auth = AuthServer::start().await;
    let app = App::start(&auth, AppOptions::default()).await;
    let bound = bound_token(&auth, &app.resource, "tools:read");
    let response = app
        .client
        .get(app.url("/mcp"))
        .bearer_auth(&bound.token)
        .send()
        .await
        .unwrap();
    assert_invalid_token(response, "Bearer").await;

    let unbound = auth.token(&auth.claims(&app.resource, "tools:read"));
    let key = SigningKey::generate(Algorithm::ES256);
    let response = app
        .client
        .get(app.url("/mcp"))
        .header("authorization", format!("DPoP {unbound}"))
        .header(
            "dpop",
            sign_dpop_proof(&key, "GET", &app.url("/mcp"), Some(&unbound), None, now()),
        )
        .send()
        .await
        .unwrap();
    assert_invalid_token(response, "DPoP").await;
}

#[tokio::test]
async fn dpop_required_refuses_bearer_tokens_and_puts_the_dpop_challenge_first() {
    let auth = AuthServer::start().await;
    let options = AppOptions {
        dpop_required: true,
        ..AppOptions::default()
    };
    let app = App::start(&auth, options).await;
    let unbound = auth.token(&auth.claims(&app.resource, "tools:read"));
    let response = app
        .client
        .get(app.url("/mcp"))
        .bearer_auth(&unbound)
        .send()
        .await
        .unwrap();
    assert!(challenges(&response)[0].starts_with("DPoP "));
    assert_invalid_token(response, "Bearer").await;
}

#[tokio::test]
async fn a_full_replay_cache_refuses_new_proofs_with_503_rather_than_forget_one() {
    let auth = AuthServer::start().await;
    let options = AppOptions {
        replay_capacity: 1,
        ..AppOptions::default()
    };
    let app = App::start(&auth, options).await;
    let bound = bound_token(&auth, &app.resource, "tools:read");
    let url = app.url("/mcp");
    let send = || {
        app.client
            .get(&url)
            .header("authorization", format!("DPoP {}", bound.token))
            .header(
                "dpop",
                sign_dpop_proof(&bound.key, "GET", &url, Some(&bound.token), None, now()),
            )
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    let full = send().await.unwrap();
    assert_eq!(full.status(), 503);
    assert_eq!(full.headers()["retry-after"], "30");
}
