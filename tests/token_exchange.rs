//! The authorization server of `agentid serve verifier` (RFC 8693 token exchange):
//! what a granted token carries, and every refusal at the token endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "token_exchange/harness.rs"]
mod harness;

use agentid_verifier::dpop::jwk_thumbprint;
use agentid_verifier::Algorithm;
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::SigningKey;
use harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn embedded(world: &World, extra: &[&str]) -> Node {
    let state = world.path("state");
    Node::start(world, state.to_str().unwrap(), None, extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presentation_becomes_an_rfc_9068_token_for_one_resource() {
    let world = World::new();
    let node = embedded(&world, &[]);
    let metadata = node.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["token_endpoint"], TOKEN_ENDPOINT);
    assert_eq!(metadata["jwks_uri"], "https://auth.example/v1/oauth/jwks");
    assert_eq!(metadata["grant_types_supported"], json!([TOKEN_EXCHANGE]));
    let response = client()
        .get(node.url("/v1/oauth/authorize?response_type=code&client_id=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(refusal["error"], "unsupported_response_type");
    let jwks = node.get("/v1/oauth/jwks").await;

    let presentation = world.present(&node.nonce().await);
    let answer = node
        .exchange(&presentation, TOOLS, "tools:read tools:write", None)
        .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    let body = answer.1;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["scope"], "tools:read tools:write");
    let token = text(&body, "access_token");
    assert!(signed_by_jwks(&token, &jwks), "the JWKS key verifies it");
    let header = header_of(&token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let claims = claims_of(&token);
    let agent = world.agent.did().unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], TOOLS);
    assert_eq!(claims["sub"], agent.as_str());
    assert_eq!(claims["client_id"], agent.as_str());
    assert_eq!(claims["scope"], "tools:read tools:write");
    assert_eq!(claims["task_id"], "T-42");
    assert_eq!(claims["on_behalf_of"], PRINCIPAL);
    assert!(claims.get("act").is_none(), "no delegation, no actor");
    assert!(claims.get("cnf").is_none(), "a bearer token");
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300, "the default maximum lifetime, 5 minutes");
    assert_eq!(body["expires_in"].as_u64().unwrap(), exp - iat);
    assert!(text(&claims, "jti").len() >= 16);
    // Every token issued is a decision line, naming the token, never the nonce.
    let jti = text(&claims, "jti");
    let log = node.log_with(&jti).await;
    assert!(log.contains("endpoint=\"token\""), "{log}");
    assert!(log.contains(&jti), "{log}");
    let nonce = agentid_verifier::grant::presented_nonce(&presentation).unwrap();
    assert!(!log.contains(&nonce), "no nonce in the log");

    // The nonce is spent: the same presentation again is refused.
    let again = node
        .exchange(&presentation, TOOLS, "tools:read", None)
        .await;
    assert!(refused(&again, "invalid_request").contains("already used"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_never_outlives_the_credential_or_the_configured_maximum() {
    let world = World::with_lifetime(40);
    let node = embedded(&world, &["--token-max-ttl", "2m"]);
    let (status, body) = node.exchange_fresh(&world, TOOLS, "tools:read", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(&text(&body, "access_token"));
    assert_eq!(claims["exp"].as_u64().unwrap(), world.expires_at);

    let world = World::new();
    let node = embedded(&world, &["--token-max-ttl", "1m"]);
    let (status, body) = node.exchange_fresh(&world, TOOLS, "tools:read", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(&text(&body, "access_token"));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presentations_not_bound_to_this_server_and_a_fresh_nonce_are_refused() {
    let world = World::new();
    let node = embedded(&world, &[]);
    // For another audience (the tool server itself, which the credential allows).
    let for_tools = world.present_to(&world.credential, TOOLS, &node.nonce().await);
    let answer = node.exchange(&for_tools, TOOLS, "tools:read", None).await;
    assert!(refused(&answer, "invalid_request").contains("presentation refused"));
    // A nonce this server never issued.
    let made_up = world.present("n-0S6_WzA2Mj");
    let answer = node.exchange(&made_up, TOOLS, "tools:read", None).await;
    assert!(refused(&answer, "invalid_request").contains("not one this server issued"));
    // A nonce of another server (another state secret).
    let other = World::new();
    let other_node = embedded(&other, &[]);
    let foreign = world.present(&other_node.nonce().await);
    let answer = node.exchange(&foreign, TOOLS, "tools:read", None).await;
    assert!(refused(&answer, "invalid_request").contains("not one this server issued"));
    // A stale nonce: issued, then let expire (whole seconds: a 1 s nonce is surely
    // expired 2.1 s later).
    let short = Node::start(
        &world,
        world.path("short-state").to_str().unwrap(),
        None,
        &["--token-nonce-ttl", "1s"],
    );
    let stale = world.present(&short.nonce().await);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let answer = short.exchange(&stale, TOOLS, "tools:read", None).await;
    assert!(refused(&answer, "invalid_request").contains("expired"));
    // A refused request does not spend its nonce: the right presentation with a
    // nonce first sent with a wrong scope still goes through.
    let nonce = node.nonce().await;
    let presentation = world.present(&nonce);
    refused(
        &node
            .exchange(&presentation, TOOLS, "payments:write", None)
            .await,
        "invalid_scope",
    );
    let answer = node
        .exchange(&presentation, TOOLS, "tools:read", None)
        .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_resources_and_audiences_beyond_the_credential_are_refused() {
    let world = World::new();
    let node = embedded(&world, &[]);
    let ask = |resource: &'static str, scope: &'static str| {
        node.exchange_fresh(&world, resource, scope, None)
    };
    assert!(refused(
        &ask(TOOLS, "tools:read payments:write").await,
        "invalid_scope"
    )
    .contains("payments:write"));
    // A wildcard is granted by name only: the token carries exact scopes.
    refused(&ask(TOOLS, "tools:*").await, "invalid_scope");
    // Outside the granted resources, including by path tricks.
    for resource in [
        "https://other.example/mcp",
        "https://tools.example/admin",
        "https://tools.example/mcp/../admin",
        "http://tools.example/mcp",
    ] {
        let answer = ask(resource, "tools:read").await;
        refused(&answer, "invalid_target");
    }
    // Within the resources, but not an audience the credential allows.
    let answer = ask("https://tools.example/mcp/orders", "tools:read").await;
    assert!(refused(&answer, "invalid_target").contains("may not be presented"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_gets_no_token() {
    let world = World::new();
    let node = embedded(&world, &[]);
    let presentation = world.present_to(&world.revoked, ISSUER, &node.nonce().await);
    let answer = node
        .exchange(&presentation, TOOLS, "tools:read", None)
        .await;
    assert!(refused(&answer, "invalid_request").contains("revoked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegation_chain_gets_a_token_naming_its_actors_and_no_wider_one() {
    let world = World::new();
    let node = embedded(&world, &[]);
    let signed = json!({"scope": "tools:read", "resource": TOOLS});
    let chain = world
        .delegated(&["tools:read"], None, &signed, &node.nonce().await)
        .unwrap();
    let (status, body) = node.exchange(&chain, TOOLS, "tools:read", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(&text(&body, "access_token"));
    assert_eq!(claims["sub"], world.sub_agent.did().unwrap().as_str());
    assert_eq!(
        claims["act"],
        json!({"sub": world.agent.did().unwrap()}),
        "the agent that delegated"
    );
    assert_eq!(claims["on_behalf_of"], PRINCIPAL);

    // The sub-agent asks for more than it was delegated.
    let signed_both = json!({"scope": "tools:read tools:write", "resource": TOOLS});
    let chain = world
        .delegated(&["tools:read"], None, &signed_both, &node.nonce().await)
        .unwrap();
    let answer = node
        .exchange(&chain, TOOLS, "tools:read tools:write", None)
        .await;
    refused(&answer, "invalid_scope");
    // ... or for a scope its own signature did not ask for.
    let chain = world
        .delegated(&["tools:*"], None, &signed, &node.nonce().await)
        .unwrap();
    let answer = node
        .exchange(&chain, TOOLS, "tools:read tools:write", None)
        .await;
    assert!(refused(&answer, "invalid_request").contains("was not signed"));
    // ... or replays a chain signed for another resource.
    let elsewhere = json!({"scope": "tools:read", "resource": "https://tools.example/mcp/x"});
    let chain = world
        .delegated(&["tools:read"], None, &elsewhere, &node.nonce().await)
        .unwrap();
    let answer = node.exchange(&chain, TOOLS, "tools:read", None).await;
    assert!(refused(&answer, "invalid_request").contains("signed for"));
    // A widening chain is refused by the wallet, and by the server when forged.
    assert!(world
        .delegated(&["payments:write"], None, &signed, "n")
        .is_err());
    let widened = forge_widened_chain(&world, &node.nonce().await);
    let answer = node.exchange(&widened, TOOLS, "tools:read", None).await;
    assert!(refused(&answer, "invalid_request").contains("presentation refused"));
}

/// A chain whose hop grants `payments:*` the root never had, signed correctly by
/// the agent: the verifier's narrowing check is all that stops it.
fn forge_widened_chain(world: &World, nonce: &str) -> String {
    use agentid_verifier::sha256_b64;
    let root = &world.credential;
    let delegate_object = json!({
        "cnf": agentid_wallet::cnf(world.sub_agent.public_key()),
        "scope": ["payments:*"],
        "exp": now() + 300,
        "max_delegation_depth": 0,
    });
    let hop_disclosure = disclosure(&json!(["c2FsdHNhbHQ", delegate_object]));
    let hop_header = json!({"alg": "ES256", "typ": "kb+sd-jwt+kb"});
    let hop_payload = json!({
        "iat": now(), "sd_hash": sha256_b64(root), "_sd_alg": "sha-256",
        "delegate_payload": [{"...": sha256_b64(&hop_disclosure)}],
    });
    let hop = format!(
        "{}~{hop_disclosure}~",
        sign(&world.agent, &hop_header, &hop_payload)
    );
    let prefix = format!("{root}~{hop}");
    let action = json!({"scope": "tools:read", "resource": TOOLS});
    let terminal_disclosure = disclosure(&json!(["c2FsdHNhbHQy", action]));
    let terminal_payload = json!({
        "iat": now(), "aud": ISSUER, "nonce": nonce, "sd_hash": sha256_b64(&hop),
        "_sd_alg": "sha-256", "delegate_payload": [{"...": sha256_b64(&terminal_disclosure)}],
    });
    let terminal = sign(
        &world.sub_agent,
        &json!({"alg": "ES256", "typ": "kb+sd-jwt"}),
        &terminal_payload,
    );
    format!("{prefix}~{terminal}~{terminal_disclosure}~")
}

fn disclosure(parts: &Value) -> String {
    agentid_verifier::b64url_encode(parts.to_string().as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_binds_the_token_to_its_key_once() {
    let world = World::new();
    let node = embedded(&world, &[]);
    // The credential's own key proves possession: the binding carries through.
    let proof = sign_dpop_proof(&world.agent, "POST", TOKEN_ENDPOINT, None, None, now());
    let (status, body) = node
        .exchange_fresh(&world, TOOLS, "tools:read", Some(&proof))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let claims = claims_of(&text(&body, "access_token"));
    assert_eq!(
        claims["cnf"]["jkt"],
        jwk_thumbprint(world.agent.public_key()).as_str()
    );
    // The same proof again (with a fresh presentation): a replay.
    let answer = node
        .exchange_fresh(&world, TOOLS, "tools:read", Some(&proof))
        .await;
    assert!(refused(&answer, "invalid_dpop_proof").contains("already used"));
    // A proof for another URL, another method, an old one, one with an ath.
    let session = SigningKey::generate(Algorithm::EdDSA);
    for (proof, why) in [
        (
            sign_dpop_proof(
                &session,
                "POST",
                "https://auth.example/v1/oauth/nonce",
                None,
                None,
                now(),
            ),
            "another URL",
        ),
        (
            sign_dpop_proof(&session, "GET", TOKEN_ENDPOINT, None, None, now()),
            "another HTTP method",
        ),
        (
            sign_dpop_proof(&session, "POST", TOKEN_ENDPOINT, None, None, now() - 600),
            "too old",
        ),
        (
            sign_dpop_proof(
                &session,
                "POST",
                TOKEN_ENDPOINT,
                Some("a-token"),
                None,
                now(),
            ),
            "ath",
        ),
    ] {
        let answer = node
            .exchange_fresh(&world, TOOLS, "tools:read", Some(&proof))
            .await;
        assert!(
            refused(&answer, "invalid_dpop_proof").contains(why),
            "{why}"
        );
    }
    // Any other key may prove possession too (a per-session key).
    let proof = sign_dpop_proof(&session, "POST", TOKEN_ENDPOINT, None, None, now());
    let (status, body) = node
        .exchange_fresh(&world, TOOLS, "tools:read", Some(&proof))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(&text(&body, "access_token"));
    assert_eq!(
        claims["cnf"]["jkt"],
        jwk_thumbprint(session.public_key()).as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_requiring_dpop_refuses_a_request_without_a_proof() {
    let world = World::new();
    let node = embedded(&world, &["--token-require-dpop"]);
    let answer = node.exchange_fresh(&world, TOOLS, "tools:read", None).await;
    refused(&answer, "invalid_dpop_proof");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_their_oauth_errors() {
    let world = World::new();
    let node = embedded(&world, &[]);
    let presentation = world.present(&node.nonce().await);
    let mut form = exchange_form(&presentation, TOOLS, "tools:read");
    form[0].1 = "client_credentials";
    refused(&node.token(&form, None).await, "unsupported_grant_type");
    let form = exchange_form(&presentation, "not a url", "tools:read");
    refused(&node.token(&form, None).await, "invalid_target");
    let mut form = exchange_form(&presentation, TOOLS, "tools:read");
    form.push(("resource", "https://tools.example/other"));
    refused(&node.token(&form, None).await, "invalid_target");
    let form = exchange_form("not-a-presentation", TOOLS, "tools:read");
    refused(&node.token(&form, None).await, "invalid_request");
    // Not a form.
    let response = client()
        .post(node.url("/v1/oauth/token"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_key_stays_published_for_rotation() {
    let world = World::new();
    let previous = world.previous_key.to_str().unwrap().to_owned();
    let node = embedded(&world, &["--token-key-previous", &previous]);
    let jwks = node.get("/v1/oauth/jwks").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["kty"], "EC");
        assert!(key.get("d").is_none(), "no private member");
    }
    let (_, body) = node.exchange_fresh(&world, TOOLS, "tools:read", None).await;
    let token = text(&body, "access_token");
    assert_eq!(
        header_of(&token)["kid"],
        keys[0]["kid"],
        "the current key signs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sharing_postgresql_spend_each_nonce_and_proof_once() {
    let Some((url, schema)) = postgres_schema().await else {
        return;
    };
    let world = World::new();
    let secret = world.path("state-secret");
    std::fs::write(&secret, [7u8; 32]).unwrap();
    let a = Node::start(&world, &url, Some(&secret), &[]);
    let b = Node::start(&world, &url, Some(&secret), &[]);
    // A nonce from node a is good at node b, once.
    let presentation = world.present(&a.nonce().await);
    let proof = sign_dpop_proof(&world.agent, "POST", TOKEN_ENDPOINT, None, None, now());
    let answer = b
        .exchange(&presentation, TOOLS, "tools:read", Some(&proof))
        .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    let again = a.exchange(&presentation, TOOLS, "tools:read", None).await;
    assert!(refused(&again, "invalid_request").contains("already used"));
    // The proof's jti is spent on every node.
    let answer = a
        .exchange(
            &world.present(&b.nonce().await),
            TOOLS,
            "tools:read",
            Some(&proof),
        )
        .await;
    assert!(refused(&answer, "invalid_dpop_proof").contains("already used"));
    // Many concurrent exchanges of one presentation across both nodes: one token.
    let presentation = world.present(&a.nonce().await);
    let nodes = [std::sync::Arc::new(a), std::sync::Arc::new(b)];
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let node = std::sync::Arc::clone(&nodes[i % 2]);
            let presentation = presentation.clone();
            tokio::spawn(async move {
                node.exchange(&presentation, TOOLS, "tools:read", None)
                    .await
                    .0
            })
        })
        .collect();
    let mut granted = 0;
    for attempt in attempts {
        granted += usize::from(attempt.await.unwrap() == StatusCode::OK);
    }
    assert_eq!(granted, 1);
    drop(nodes);
    schema.drop_now().await;
}
