//! OpenID4VP 1.0 over real HTTP: `agentid serve verifier --public-url …` as the
//! verifier, `agentid present --request …` (or a hand-made response) as the wallet.
//! The refusals a verifier and a holder rely on, and the happy paths of every client
//! identifier prefix, on the embedded state and (with `AGENTID_TEST_POSTGRES`) on
//! PostgreSQL, including two nodes sharing it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "oid4vp/harness.rs"]
mod harness;

use harness::{
    b64url, by_reference, direct_post, direct_post_jwt, encrypted_form, fetch, object_of, on_both,
    on_postgres, payload, person_query, post_form, said, serve_object, Node, StateAt, World,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The request's refusal reason, asserting a 400 OAuth error.
fn refused(status: StatusCode, body: &Value) -> String {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    body["error_description"].as_str().unwrap().to_owned()
}

fn accepted(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, &json!({}));
}

/// A direct_post request for the person query and what a wallet reads from its
/// object: the client id, nonce and state.
async fn direct_post_request(node: &Node, extra: Value) -> (Value, Value) {
    let mut body = json!({"dcql_query": person_query(), "response_mode": "direct_post"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let created = node.create(&body).await;
    let (_, object) = object_of(&created).await;
    (created, object)
}

fn nonce(object: &Value) -> &str {
    object["nonce"].as_str().unwrap()
}

fn state(object: &Value) -> &str {
    object["state"].as_str().unwrap()
}

// ---- happy paths -----------------------------------------------------------------

#[tokio::test]
async fn x509_hash_direct_post_jwt_is_accepted_and_read_with_the_result_key_only() {
    on_both(|at| async move {
        let world = World::new();
        let node = Node::start(&world, "x509_hash", &at, &[]);
        let created = node.create(&json!({"dcql_query": person_query()})).await;
        assert!(created["client_id"]
            .as_str()
            .unwrap()
            .starts_with("x509_hash:"));
        assert_eq!(created["response_mode"], "direct_post.jwt");
        assert_eq!(node.result(&created).await["status"], "pending");
        let uri = created["authorization_request_uri"].as_str().unwrap();
        let output = world.answer(uri, &[]);
        assert!(output.status.success(), "{}", said(&output));
        assert!(said(&output).contains("accepted"), "{}", said(&output));
        let result = node.result(&created).await;
        assert_eq!(result["status"], "accepted", "{result}");
        assert_eq!(result["verdict"]["status"], "accepted", "{result}");
        // Only the result key reads the verdict.
        let id = created["id"].as_str().unwrap();
        let unauthorized = harness::client()
            .get(node.url(&format!("/v1/oid4vp/requests/{id}")))
            .bearer_auth("not-the-result-key")
            .send()
            .await
            .unwrap();
        assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
        // Nothing a wallet disclosed is in the service's log.
        assert!(!node.stderr().contains("Ada"), "{}", node.stderr());
    })
    .await;
}

#[tokio::test]
async fn x509_san_dns_direct_post_is_accepted() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "x509_san_dns", &at, &[]);
    let created = node
        .create(&json!({"dcql_query": person_query(), "response_mode": "direct_post"}))
        .await;
    assert_eq!(created["client_id"], "x509_san_dns:localhost");
    let output = world.answer(created["authorization_request_uri"].as_str().unwrap(), &[]);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(node.result(&created).await["status"], "accepted");
}

#[tokio::test]
async fn redirect_uri_by_value_is_accepted_once_and_the_wallet_refuses_a_replay() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "redirect_uri", &at, &[]);
    let created = node
        .create(&json!({"dcql_query": person_query(), "response_mode": "direct_post"}))
        .await;
    assert!(created["client_id"]
        .as_str()
        .unwrap()
        .starts_with("redirect_uri:"));
    assert!(created["request_uri"].is_null(), "{created}");
    let uri = created["authorization_request_uri"].as_str().unwrap();
    assert!(!uri.contains("request_uri="), "{uri}");
    let output = world.answer(uri, &[]);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(node.result(&created).await["status"], "accepted");
    // The same request again: the wallet sees it answered and sends nothing.
    let again = world.answer(uri, &[]);
    assert!(!again.status.success());
    assert!(
        said(&again).contains("already answered"),
        "{}",
        said(&again)
    );
}

#[tokio::test]
async fn decentralized_identifier_is_accepted() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "decentralized_identifier", &at, &[]);
    let created = node.create(&json!({"dcql_query": person_query()})).await;
    assert!(
        created["client_id"]
            .as_str()
            .unwrap()
            .starts_with("decentralized_identifier:did:key:"),
        "{created}"
    );
    // No X.509 anchor is needed for a DID-identified verifier.
    let output = harness::agentid(
        Some(&world.agent),
        &[
            "present",
            "--request",
            created["authorization_request_uri"].as_str().unwrap(),
            "--allow-http",
            "--yes",
        ],
    );
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(node.result(&created).await["status"], "accepted");
}

#[tokio::test]
async fn transaction_data_is_signed_over_and_a_kb_jwt_without_its_hash_is_refused() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "x509_hash", &at, &[]);
    let data = json!([{"type": "urn:example:payment:1", "credential_ids": ["person"],
                       "amount": "42.00", "currency": "EUR"}]);
    let created = node
        .create(&json!({"dcql_query": person_query(), "transaction_data": data}))
        .await;
    let output = world.answer(created["authorization_request_uri"].as_str().unwrap(), &[]);
    assert!(output.status.success(), "{}", said(&output));
    let result = node.result(&created).await;
    assert_eq!(result["status"], "accepted", "{result}");

    // A presentation whose KB-JWT has no transaction_data_hashes.
    let (created, object) = direct_post_request(&node, json!({"transaction_data": data})).await;
    assert!(object["transaction_data"].is_array(), "{object}");
    let presentation = world.presentation(
        created["client_id"].as_str().unwrap(),
        nonce(&object),
        "given_name,nationality",
    );
    let (status, body) = post_form(
        created["response_uri"].as_str().unwrap(),
        &direct_post(&json!({"person": [presentation]}), state(&object)),
    )
    .await;
    let reason = refused(status, &body);
    assert!(reason.contains("transaction"), "{reason}");
    let result = node.result(&created).await;
    assert_eq!(result["status"], "refused", "{result}");
}

// ---- the request object --------------------------------------------------------

#[tokio::test]
async fn a_request_object_is_served_once_and_an_answered_one_is_refused_by_the_wallet() {
    on_both(|at| async move {
        let world = World::new();
        let node = Node::start(&world, "x509_hash", &at, &[]);
        let created = node.create(&json!({"dcql_query": person_query()})).await;
        let (jwt, _) = object_of(&created).await;
        let (second, _) = fetch(created["request_uri"].as_str().unwrap()).await;
        assert_eq!(second, StatusCode::GONE);
        // The wallet following the URI now gets 410 and sends nothing.
        let uri = created["authorization_request_uri"].as_str().unwrap();
        let output = world.answer(uri, &[]);
        assert!(!output.status.success());
        assert!(said(&output).contains("410"), "{}", said(&output));
        // The object itself, kept in a file: answered once, then refused as a replay.
        let file = world.path("request.jwt");
        std::fs::write(&file, &jwt).unwrap();
        let output = world.answer(file.to_str().unwrap(), &[]);
        assert!(output.status.success(), "{}", said(&output));
        assert_eq!(node.result(&created).await["status"], "accepted");
        let replay = world.answer(file.to_str().unwrap(), &[]);
        assert!(!replay.status.success());
        assert!(
            said(&replay).contains("already answered"),
            "{}",
            said(&replay)
        );
    })
    .await;
}

#[tokio::test]
async fn a_request_object_with_a_wrong_signature_is_refused_by_the_wallet() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "x509_hash", &at, &[]);
    let created = node.create(&json!({"dcql_query": person_query()})).await;
    let (jwt, mut claims) = object_of(&created).await;
    // An attacker redirects the response, keeping the verifier's signature.
    claims["response_uri"] = json!("http://127.0.0.1:9/steal");
    let parts: Vec<&str> = jwt.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(claims.to_string().as_bytes()),
        parts[2]
    );
    let uri = by_reference(
        created["client_id"].as_str().unwrap(),
        &serve_object(tampered),
    );
    let output = world.answer(&uri, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert!(said(&output).contains("signature"), "{}", said(&output));
    // The genuine payload with a damaged signature is refused too.
    let mut signature = harness::b64_decode(parts[2]);
    signature[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], b64url(&signature));
    let uri = by_reference(
        created["client_id"].as_str().unwrap(),
        &serve_object(flipped),
    );
    let output = world.answer(&uri, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert!(said(&output).contains("signature"), "{}", said(&output));
    assert_eq!(node.result(&created).await["status"], "pending");
}

#[tokio::test]
async fn an_unknown_client_id_prefix_is_refused_by_the_wallet_and_the_service() {
    let world = World::new();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", "web-origin:https://verifier.example")
        .append_pair("response_type", "vp_token")
        .append_pair("response_mode", "direct_post")
        .append_pair("response_uri", "http://127.0.0.1:9/response")
        .append_pair("nonce", "n-0123456789abcdef")
        .append_pair("state", "s-0123456789abcdef")
        .append_pair("dcql_query", &person_query().to_string())
        .finish();
    let uri = format!("openid4vp://?{query}");
    let output = world.answer(&uri, &[]);
    assert!(!output.status.success());
    assert!(said(&output).contains("prefix"), "{}", said(&output));
    let service = harness::agentid(
        None,
        &[
            "serve",
            "verifier",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            world.trust.to_str().unwrap(),
            "--public-url",
            "http://localhost:1",
            "--client-id-prefix",
            "web-origin",
        ],
    );
    assert_eq!(service.status.code(), Some(2), "{}", said(&service));
}

// ---- the response ----------------------------------------------------------------

#[tokio::test]
async fn a_response_for_another_state_is_refused_and_the_right_one_still_accepted() {
    on_both(|at| async move {
        let world = World::new();
        let node = Node::start(&world, "x509_hash", &at, &[]);
        let (created, object) = direct_post_request(&node, json!({})).await;
        let presentation = world.presentation(
            created["client_id"].as_str().unwrap(),
            nonce(&object),
            "given_name,nationality",
        );
        let vp_token = json!({"person": [presentation]});
        let response_uri = created["response_uri"].as_str().unwrap();
        let (status, body) =
            post_form(response_uri, &direct_post(&vp_token, "another-state")).await;
        let reason = refused(status, &body);
        assert!(reason.contains("state"), "{reason}");
        assert_eq!(node.result(&created).await["status"], "pending");
        let (status, body) = post_form(response_uri, &direct_post(&vp_token, state(&object))).await;
        accepted(status, &body);
        assert_eq!(node.result(&created).await["status"], "accepted");
    })
    .await;
}

#[tokio::test]
async fn a_replayed_response_is_refused() {
    on_both(|at| async move {
        let world = World::new();
        let node = Node::start(&world, "x509_hash", &at, &[]);
        let created = node.create(&json!({"dcql_query": person_query()})).await;
        let (_, object) = object_of(&created).await;
        let presentation = world.presentation(
            created["client_id"].as_str().unwrap(),
            nonce(&object),
            "given_name,nationality",
        );
        let form = direct_post_jwt(
            &object,
            &json!({"vp_token": {"person": [presentation]}, "state": state(&object)}),
        );
        let response_uri = created["response_uri"].as_str().unwrap();
        let (status, body) = post_form(response_uri, &form).await;
        accepted(status, &body);
        let (status, body) = post_form(response_uri, &form).await;
        let reason = refused(status, &body);
        assert!(reason.contains("already answered"), "{reason}");
        // The nonce is spent: the same presentation for a new request of the same
        // verifier is refused (its nonce is not that request's).
        let (again, object) = direct_post_request(&node, json!({})).await;
        let (status, body) = post_form(
            again["response_uri"].as_str().unwrap(),
            &direct_post(&json!({"person": [presentation]}), state(&object)),
        )
        .await;
        let reason = refused(status, &body);
        assert!(reason.contains("nonce"), "{reason}");
        assert_eq!(node.result(&created).await["status"], "accepted");
    })
    .await;
}

#[tokio::test]
async fn an_expired_request_refuses_its_object_and_its_response() {
    on_both(|at| async move {
        let world = World::new();
        // Whole seconds: a 3 s request lives at least 2 s (fetched well within that,
        // even on a loaded machine) and is surely expired 4.1 s after creation.
        let node = Node::start(&world, "x509_hash", &at, &["--request-ttl", "3s"]);
        let (created, object) = direct_post_request(&node, json!({})).await;
        let unfetched = node.create(&json!({"dcql_query": person_query()})).await;
        let presentation = world.presentation(
            created["client_id"].as_str().unwrap(),
            nonce(&object),
            "given_name,nationality",
        );
        tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
        let (status, _) = fetch(unfetched["request_uri"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::GONE);
        let (status, body) = post_form(
            created["response_uri"].as_str().unwrap(),
            &direct_post(&json!({"person": [presentation]}), state(&object)),
        )
        .await;
        let reason = refused(status, &body);
        assert!(reason.contains("expired"), "{reason}");
        assert_eq!(node.result(&created).await["status"], "expired");
    })
    .await;
}

#[tokio::test]
async fn an_undecryptable_response_is_refused_and_changes_nothing() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "x509_hash", &at, &[]);
    let created = node.create(&json!({"dcql_query": person_query()})).await;
    let (_, object) = object_of(&created).await;
    let presentation = world.presentation(
        created["client_id"].as_str().unwrap(),
        nonce(&object),
        "given_name,nationality",
    );
    let response = json!({"vp_token": {"person": [presentation]}, "state": state(&object)});
    let response_uri = created["response_uri"].as_str().unwrap();
    let (status, body) = post_form(response_uri, "response=not.a.jwe.at-all").await;
    refused(status, &body);
    // Encrypted to another key (under the request's kid).
    let other = p256::SecretKey::random(&mut rand_core::OsRng).public_key();
    let kid = object["client_metadata"]["jwks"]["keys"][0]["kid"].as_str();
    let (status, body) = post_form(response_uri, &encrypted_form(&other, kid, &response)).await;
    refused(status, &body);
    let (status, body) = post_form(response_uri, &direct_post_jwt(&object, &response)).await;
    accepted(status, &body);
    // A plain direct_post to a direct_post.jwt request is refused.
    let created = node.create(&json!({"dcql_query": person_query()})).await;
    let (_, object) = object_of(&created).await;
    let (status, body) = post_form(
        created["response_uri"].as_str().unwrap(),
        &direct_post(&response["vp_token"], state(&object)),
    )
    .await;
    let reason = refused(status, &body);
    assert!(reason.contains("direct_post.jwt"), "{reason}");
}

#[tokio::test]
async fn claims_beyond_the_query_are_refused_by_the_minimization_rule() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "x509_hash", &at, &[]);
    let (created, object) = direct_post_request(&node, json!({})).await;
    let presentation = world.presentation(
        created["client_id"].as_str().unwrap(),
        nonce(&object),
        "given_name,nationality,birthdate,family_name",
    );
    let (status, body) = post_form(
        created["response_uri"].as_str().unwrap(),
        &direct_post(&json!({"person": [presentation]}), state(&object)),
    )
    .await;
    let reason = refused(status, &body);
    assert!(
        reason.contains("was disclosed but not requested (§6.4)"),
        "the data minimization rule: {reason}"
    );
    let result = node.result(&created).await;
    assert_eq!(result["status"], "refused", "{result}");
}

#[tokio::test]
async fn a_vp_token_without_the_required_credential_is_refused() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let at = StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    };
    let node = Node::start(&world, "x509_hash", &at, &[]);
    let (created, object) = direct_post_request(&node, json!({})).await;
    let presentation = world.presentation(
        created["client_id"].as_str().unwrap(),
        nonce(&object),
        "given_name,nationality",
    );
    let response_uri = created["response_uri"].as_str().unwrap();
    // Under an id the query does not have.
    let (status, body) = post_form(
        response_uri,
        &direct_post(&json!({"passport": [presentation]}), state(&object)),
    )
    .await;
    let reason = refused(status, &body);
    assert!(reason.contains("passport"), "{reason}");
    // A query asking for two credentials, answered with one of them.
    let mut query = person_query();
    query["credentials"].as_array_mut().unwrap().push(json!({
        "id": "mandate", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:agentid:vct:task:1"]}
    }));
    let created = node
        .create(&json!({"dcql_query": query, "response_mode": "direct_post"}))
        .await;
    let (_, object) = object_of(&created).await;
    let presentation = world.presentation(
        created["client_id"].as_str().unwrap(),
        nonce(&object),
        "given_name,nationality",
    );
    let (status, body) = post_form(
        created["response_uri"].as_str().unwrap(),
        &direct_post(&json!({"person": [presentation]}), state(&object)),
    )
    .await;
    let reason = refused(status, &body);
    assert!(reason.contains("mandate"), "{reason}");
    assert_eq!(node.result(&created).await["status"], "refused");
}

// ---- two nodes, one PostgreSQL state ------------------------------------------------

#[tokio::test]
async fn two_nodes_share_one_postgres_state() {
    on_postgres(|at| async move {
        let world = World::new();
        let a = Node::start(&world, "x509_hash", &at, &[]);
        let b = Node::start(&world, "x509_hash", &at, &[]);
        let created = a.create(&json!({"dcql_query": person_query()})).await;
        // The wallet reaches node B: the object and the response go there.
        let id = created["id"].as_str().unwrap();
        let (jwt, object) = {
            let (status, jwt) = fetch(&b.url(&format!("/v1/oid4vp/requests/{id}/object"))).await;
            assert_eq!(status, StatusCode::OK, "{jwt}");
            let object = payload(&jwt);
            (jwt, object)
        };
        assert!(!jwt.is_empty());
        let (status, _) = fetch(created["request_uri"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::GONE, "served once across nodes");
        let presentation = world.presentation(
            created["client_id"].as_str().unwrap(),
            nonce(&object),
            "given_name,nationality",
        );
        let form = direct_post_jwt(
            &object,
            &json!({"vp_token": {"person": [presentation]}, "state": state(&object)}),
        );
        let (status, body) = post_form(&b.url(&format!("/v1/oid4vp/responses/{id}")), &form).await;
        accepted(status, &body);
        // The replay on node A is refused.
        let (status, body) = post_form(created["response_uri"].as_str().unwrap(), &form).await;
        refused(status, &body);
        let result = a.result(&created).await;
        assert_eq!(result["status"], "accepted", "{result}");
    })
    .await;
}
