//! `agentid serve issuer`, one embedded node: minting for authenticated callers,
//! revocation and suspension seen in the status lists it serves, the list of what
//! was issued, and every refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "issuer/harness.rs"]
mod harness;

use agentid_verifier::{PresentationRequest, RejectionKind};
use agentid_wallet::present;
use harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn embedded(world: &World) -> Node {
    let store = world.path("store");
    Node::start(world, store.to_str().unwrap(), None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_mints_a_credential_that_verifies_until_it_is_revoked() {
    let world = World::new();
    let node = embedded(&world);
    let (minted, agent) = node.mint(&world.orchestrator).await;
    let credential = minted["credential"].as_str().unwrap();
    let uri = minted["status"]["uri"].as_str().unwrap();
    assert_eq!(uri, format!("{}/v1/status-lists/1", node.public_url));
    assert!(minted["status"]["idx"].as_u64().unwrap() < 1 << 20);

    let request = PresentationRequest::new("https://tools.example", "n-1");
    let presentation = present(credential, &agent, &[], &request, now()).unwrap();
    let verifier = world.verifier(&[node.status_token(uri).await]);
    let verified = verifier
        .verify_presentation(&presentation, &request, now())
        .unwrap();
    assert_eq!(verified.issuer, world.issuer);
    assert_eq!(verified.credential_id.as_deref(), minted["jti"].as_str());
    assert_eq!(verified.subject, Some(agent.did().unwrap()));
    assert!(
        verified.claims["task"].get("purpose").is_none(),
        "sd kept concealed"
    );

    let jti = minted["jti"].as_str().unwrap();
    let (status, record) = node
        .post(
            &world.orchestrator,
            &format!("/v1/credentials/{jti}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["state"], "revoked");
    let verifier = world.verifier(&[node.status_token(uri).await]);
    let refused = verifier
        .verify_presentation(&presentation, &request, now())
        .unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::Revoked, "{refused}");

    // Revoked is final.
    let (status, body) = node
        .post(
            &world.orchestrator,
            &format!("/v1/credentials/{jti}/resume"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_is_seen_and_lifted() {
    let world = World::new();
    let node = embedded(&world);
    let (minted, agent) = node.mint(&world.orchestrator).await;
    let (credential, jti) = (
        minted["credential"].as_str().unwrap(),
        minted["jti"].as_str().unwrap(),
    );
    let uri = minted["status"]["uri"].as_str().unwrap();
    let request = PresentationRequest::new("https://tools.example", "n-2");
    let presentation = present(credential, &agent, &[], &request, now()).unwrap();

    let suspend = format!("/v1/credentials/{jti}/suspend");
    let (status, record) = node.post(&world.orchestrator, &suspend, &json!({})).await;
    assert_eq!(
        (status, record["state"].clone()),
        (StatusCode::OK, json!("suspended"))
    );
    let refused = world
        .verifier(&[node.status_token(uri).await])
        .verify_presentation(&presentation, &request, now())
        .unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::Revoked, "{refused}");
    assert!(refused.to_string().contains("Suspended"), "{refused}");

    let resume = format!("/v1/credentials/{jti}/resume");
    let (status, record) = node.post(&world.orchestrator, &resume, &json!({})).await;
    assert_eq!(
        (status, record["state"].clone()),
        (StatusCode::OK, json!("valid"))
    );
    world
        .verifier(&[node.status_token(uri).await])
        .verify_presentation(&presentation, &request, now())
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_are_cacheable_and_change_with_a_revocation() {
    let world = World::new();
    let node = embedded(&world);
    let (minted, _) = node.mint(&world.orchestrator).await;
    let path = "/v1/status-lists/1";
    let first = client().get(node.url(path)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let headers = first.headers().clone();
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let max_age: u64 = cache
        .trim_start_matches("public, max-age=")
        .parse()
        .unwrap();
    assert!(max_age > 0 && max_age <= 60, "{cache}");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let token = first.text().await.unwrap();

    // Unchanged: the same token, and 304 to a conditional request.
    let again = client().get(node.url(path)).send().await.unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(again.text().await.unwrap(), token);
    let conditional = client()
        .get(node.url(path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(conditional.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(conditional.headers()["etag"].to_str().unwrap(), etag);

    let jti = minted["jti"].as_str().unwrap();
    node.post(
        &world.orchestrator,
        &format!("/v1/credentials/{jti}/revoke"),
        &json!({}),
    )
    .await;
    let changed = client()
        .get(node.url(path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "a revocation changes the list at once"
    );
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);

    let (status, lists) = answer(
        client()
            .get(node.url("/v1/status-lists"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        lists["lists"],
        json!([format!("{}/v1/status-lists/1", node.public_url)])
    );
    let missing = client()
        .get(node.url("/v1/status-lists/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_minted_for_an_unauthenticated_or_unknown_caller() {
    let world = World::new();
    let node = embedded(&world);
    let agent = agentid_wallet::SigningKey::generate(agentid_verifier::Algorithm::EdDSA);
    let body = task_request(&agent.did().unwrap());
    let audience = node.public_url.clone();
    let orchestrator = &world.orchestrator;
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("not a JWT", Some("opaque-token".into())),
        (
            "a caller not in the file",
            Some(world.stranger.assertion(&audience)),
        ),
        (
            "signed by another key",
            Some(sign(
                &world.stranger.key,
                &json!({"alg": "ES256"}),
                &json!({"iss": orchestrator.id, "sub": orchestrator.id, "aud": audience,
                        "iat": now(), "exp": now() + 60, "jti": random_id()}),
            )),
        ),
        (
            "for another audience",
            Some(orchestrator.assertion("https://other-issuer.example")),
        ),
        (
            "expired",
            Some(orchestrator.assertion_with(&audience, |claims| {
                claims["iat"] = json!(now() - 600);
                claims["exp"] = json!(now() - 300);
            })),
        ),
        (
            "living an hour",
            Some(orchestrator.assertion_with(&audience, |claims| {
                claims["exp"] = json!(now() + 3600);
            })),
        ),
        (
            "without a jti",
            Some(orchestrator.assertion_with(&audience, |claims| {
                claims.as_object_mut().unwrap().remove("jti");
            })),
        ),
    ];
    for (case, token) in cases {
        let (status, answer) = node
            .post_with(token.as_deref(), "/v1/credentials", &body)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {answer}");
        assert_eq!(answer["code"], "unauthorized", "{case}");
    }
    // A replayed assertion: accepted once.
    let token = orchestrator.assertion(&audience);
    let (status, _) = node.post_with(Some(&token), "/v1/credentials", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = node.post_with(Some(&token), "/v1/credentials", &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["message"].as_str().unwrap().contains("already used"),
        "{answer}"
    );

    let (_, listed) = node.get_as(&world.admin, "/v1/credentials").await;
    assert_eq!(
        listed["credentials"].as_array().unwrap().len(),
        1,
        "only the one accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_schema_or_the_rules_refuse_are_refused() {
    let world = World::new();
    let node = embedded(&world);
    let agent = agentid_wallet::SigningKey::generate(agentid_verifier::Algorithm::EdDSA);
    let did = agent.did().unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = task_request(&did);
        edit(&mut body);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a claim the schema forbids",
            with(&|b| b["claims"]["task"] = json!("not an object")),
            "task",
        ),
        (
            "a rights claim made concealable",
            with(&|b| b["sd"] = json!(["scope"])),
            "always disclosed",
        ),
        (
            "a lifetime over the schema's maximum",
            with(&|b| b["ttl"] = json!("2d")),
            "at most 1440 minutes",
        ),
        (
            "an unknown type",
            with(&|b| b["vct"] = json!("urn:example:unknown")),
            "urn:example:unknown",
        ),
        (
            "a subject that is not a did:key",
            with(&|b| b["subject"] = json!("did:web:agent.example")),
            "/subject",
        ),
        (
            "no subject",
            with(&|b| {
                b.as_object_mut().unwrap().remove("subject");
            }),
            "/subject",
        ),
        (
            "a member the API does not know",
            with(&|b| b["extra"] = json!(1)),
            "unknown field",
        ),
        ("a zero lifetime", with(&|b| b["ttl"] = json!(0)), "/ttl"),
        (
            "a reserved claim",
            with(&|b| b["claims"]["iss"] = json!("did:key:zElse")),
            "iss",
        ),
    ];
    for (case, body, needle) in cases {
        let (status, answer) = node
            .post(&world.orchestrator, "/v1/credentials", &body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(needle), "{case}: {message}");
        assert!(
            !message.contains("refund order"),
            "{case}: a claim value in {message}"
        );
    }
    // A caller limited to approvals may not have task credentials issued.
    let (status, answer) = node
        .post(&world.limited, "/v1/credentials", &task_request(&did))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    // Not JSON.
    let token = world.orchestrator.assertion(&node.public_url);
    let response = client()
        .post(node.url("/v1/credentials"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, listed) = node.get_as(&world.admin, "/v1/credentials").await;
    assert_eq!(listed["credentials"], json!([]), "nothing was minted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_what_was_issued_without_claims_to_whom_may_see_it() {
    let world = World::new();
    let node = embedded(&world);
    let (first, _) = node.mint(&world.orchestrator).await;
    let (second, agent) = node.mint(&world.orchestrator).await;

    let (status, listed) = node.get_as(&world.orchestrator, "/v1/credentials").await;
    assert_eq!(status, StatusCode::OK);
    let items = listed["credentials"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["jti"], first["jti"]);
    assert_eq!(items[1]["jti"], second["jti"]);
    assert_eq!(items[1]["subject"], agent.did().unwrap());
    assert_eq!(items[1]["state"], "valid");
    assert_eq!(items[1]["status"], second["status"]);
    let text = listed.to_string();
    assert!(
        !text.contains("refund order") && !text.contains("refunds:write"),
        "{text}"
    );

    // Paging: one at a time.
    let (_, page) = node
        .get_as(&world.orchestrator, "/v1/credentials?limit=1")
        .await;
    assert_eq!(page["credentials"].as_array().unwrap().len(), 1);
    let next = page["next"].as_u64().unwrap();
    let (_, rest) = node
        .get_as(
            &world.orchestrator,
            &format!("/v1/credentials?after={next}&limit=1"),
        )
        .await;
    assert_eq!(rest["credentials"][0]["jti"], second["jti"]);

    // Another caller sees none of them and cannot revoke them; the admin can.
    let (_, other) = node.get_as(&world.limited, "/v1/credentials").await;
    assert_eq!(other["credentials"], json!([]));
    let jti = first["jti"].as_str().unwrap();
    let revoke = format!("/v1/credentials/{jti}/revoke");
    let (status, _) = node.post(&world.limited, &revoke, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = node.post(&world.admin, &revoke, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, record) = node
        .get_as(&world.orchestrator, &format!("/v1/credentials/{jti}"))
        .await;
    assert_eq!(
        (status, record["state"].clone()),
        (StatusCode::OK, json!("revoked"))
    );

    // The audit log, for admins: issue, issue, revoke.
    let (status, audit) = node.get_as(&world.admin, "/v1/audit").await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<_> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["issue", "issue", "revoke"]);
    let (status, _) = node.get_as(&world.orchestrator, "/v1/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = node
        .post(
            &world.orchestrator,
            "/v1/credentials/urn:agentid:credential:none/revoke",
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_every_acknowledged_credential_and_entry() {
    let world = World::new();
    let store = world.path("store");
    let store = store.to_str().unwrap();
    let public = Some("https://issuer.example");
    let node = Node::start_as(&world, store, None, public, &[]);
    let (minted, _) = node.mint(&world.orchestrator).await;
    let jti = minted["jti"].as_str().unwrap().to_owned();
    node.post(
        &world.orchestrator,
        &format!("/v1/credentials/{jti}/suspend"),
        &json!({}),
    )
    .await;
    let mut node = node;
    // SIGKILL: no shutdown, no flush beyond what was acknowledged.
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    drop(node);
    let restarted = Node::start_as(&world, store, None, public, &[]);
    let (status, record) = restarted
        .get_as(&world.orchestrator, &format!("/v1/credentials/{jti}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["state"], "suspended");
    assert_eq!(record["status"], minted["status"]);
}
