//! OpenID4VCI 1.0 at `agentid serve issuer` (pre-authorized code flow): an agent's
//! `agentid receive --offer`, the endpoints' answers, and every refusal of the
//! token and credential endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "issuer/harness.rs"]
mod harness;

use agentid_verifier::{Algorithm, PresentationRequest};
use agentid_wallet::SigningKey;
use harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PRE_AUTHORIZED: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const CONFIGURATION: &str = "agentid_task_1";

fn embedded(world: &World) -> Node {
    let store = world.path("store");
    Node::start(world, store.to_str().unwrap(), None)
}

fn offer_body() -> Value {
    json!({"vct": TASK_VCT, "claims": task_claims("T-9"), "sd": ["task.purpose"], "ttl": "10m"})
}

/// Makes an offer; returns the answer.
async fn offer(node: &Node, world: &World, body: &Value) -> Value {
    let (status, answer) = node.post(&world.orchestrator, "/v1/offers", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

fn code_of(offer: &Value) -> String {
    offer["credential_offer"]["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn form(node: &Node, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    answer(
        client()
            .post(node.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn token(node: &Node, code: &str) -> (StatusCode, Value) {
    form(
        node,
        "/v1/oid4vci/token",
        &[
            ("grant_type", PRE_AUTHORIZED),
            ("pre-authorized_code", code),
        ],
    )
    .await
}

async fn nonce(node: &Node) -> String {
    let (status, body) = node.post_with(None, "/v1/oid4vci/nonce", &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    body["c_nonce"].as_str().unwrap().to_owned()
}

/// A key proof by `key` (named by its JWK) for `audience` over `nonce`.
fn proof(
    key: &SigningKey,
    audience: &str,
    nonce: &str,
    edit: impl FnOnce(&mut Value, &mut Value),
) -> String {
    let mut header = json!({
        "alg": key.algorithm().as_str(), "typ": "openid4vci-proof+jwt",
        "jwk": key.public_key().to_jwk(),
    });
    let mut claims = json!({"aud": audience, "iat": now(), "nonce": nonce});
    edit(&mut header, &mut claims);
    sign(key, &header, &claims)
}

async fn credential(node: &Node, access_token: &str, body: &Value) -> (StatusCode, Value) {
    node.post_with(Some(access_token), "/v1/oid4vci/credential", body)
        .await
}

fn request(proof: &str) -> Value {
    json!({"credential_configuration_id": CONFIGURATION, "proofs": {"jwt": [proof]}})
}

#[track_caller]
fn oauth_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_receives_an_offered_credential_with_agentid_receive() {
    let world = World::new();
    let node = embedded(&world);
    let offered = offer(&node, &world, &offer_body()).await;
    let uri = offered["credential_offer_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("openid-credential-offer://?credential_offer="),
        "{uri}"
    );

    let holder = world.path("agent-wallet");
    ok(agentid(
        &holder,
        &["init", "--kdf-memory-kib", "8192", "--kdf-iterations", "1"],
    ));
    let id = ok(agentid(
        &holder,
        &["receive", "--offer", uri, "--allow-http", "--task", "T-9"],
    ));
    let listed: Value = serde_json::from_str(&ok(agentid(&holder, &["list", "--json"]))).unwrap();
    let held = listed.as_array().unwrap();
    assert_eq!(held.len(), 1, "{listed}");
    assert_eq!(held[0]["id"], id);
    assert_eq!(held[0]["vct"], TASK_VCT);
    assert_eq!(held[0]["issuer"], world.issuer);
    let keys = ok(agentid(&holder, &["key", "list", "--json"]));
    assert!(keys.contains("T-9"), "the proven key is the task's: {keys}");

    // The issuer recorded it as the offer's, for the offering caller to manage.
    let (_, issued) = node.get_as(&world.orchestrator, "/v1/credentials").await;
    assert_eq!(issued["credentials"][0]["caller"], "oid4vci:orchestrator");

    // The same offer again: the code is spent, and no key is left behind.
    let again = agentid(&holder, &["receive", "--offer", uri, "--allow-http"]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert_eq!(ok(agentid(&holder, &["key", "list", "--json"])), keys);
    // Plain http is refused without --allow-http.
    let plain = agentid(&holder, &["receive", "--offer", uri]);
    assert!(String::from_utf8_lossy(&plain.stderr).contains("not https"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_describes_the_flow() {
    let world = World::new();
    let node = embedded(&world);
    let (status, issuer) = answer(
        client()
            .get(node.url("/.well-known/openid-credential-issuer"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issuer["credential_issuer"], node.public_url);
    assert_eq!(
        issuer["credential_endpoint"],
        format!("{}/v1/oid4vci/credential", node.public_url)
    );
    assert_eq!(
        issuer["nonce_endpoint"],
        format!("{}/v1/oid4vci/nonce", node.public_url)
    );
    let task = &issuer["credential_configurations_supported"][CONFIGURATION];
    assert_eq!(task["format"], "dc+sd-jwt");
    assert_eq!(task["vct"], TASK_VCT);
    assert_eq!(
        task["credential_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    assert!(
        task["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    let (_, server) = answer(
        client()
            .get(node.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(server["issuer"], node.public_url);
    assert_eq!(
        server["token_endpoint"],
        format!("{}/v1/oid4vci/token", node.public_url)
    );
    assert_eq!(
        server["pre-authorized_grant_anonymous_access_supported"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proven_key_gets_its_credential_once() {
    let world = World::new();
    let node = embedded(&world);
    let code = code_of(&offer(&node, &world, &offer_body()).await);
    let (status, granted) = token(&node, &code).await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["token_type"], "Bearer");
    let access = granted["access_token"].as_str().unwrap();

    // The code is spent.
    oauth_error(
        &token(&node, &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    let agent = SigningKey::generate(Algorithm::ES256);
    let c_nonce = nonce(&node).await;
    let (status, issued) = credential(
        &node,
        access,
        &request(&proof(&agent, &node.public_url, &c_nonce, |_, _| {})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let sd_jwt = issued["credentials"][0]["credential"].as_str().unwrap();

    // Bound to the proven key: a presentation signed with it verifies.
    let asked = PresentationRequest::new("https://tools.example", "n-1");
    let presentation = agentid_wallet::present(sd_jwt, &agent, &[], &asked, now()).unwrap();
    let (_, listed) = node.get_as(&world.admin, "/v1/credentials").await;
    let uri = format!("{}/v1/status-lists/1", node.public_url);
    let verified = world
        .verifier(&[node.status_token(&uri).await])
        .verify_presentation(&presentation, &asked, now())
        .unwrap();
    assert_eq!(verified.holder_key.as_ref(), Some(agent.public_key()));
    assert_eq!(verified.subject, Some(agent.did().unwrap()));
    assert_eq!(listed["credentials"][0]["subject"], agent.did().unwrap());

    // One offer, one credential.
    let second = proof(&agent, &node.public_url, &nonce(&node).await, |_, _| {});
    oauth_error(
        &credential(&node, access, &request(&second)).await,
        StatusCode::BAD_REQUEST,
        "credential_request_denied",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_endpoint_refuses_bad_proofs_nonces_and_tokens() {
    let world = World::new();
    let node = embedded(&world);
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let other = SigningKey::generate(Algorithm::EdDSA);
    // An offer naming the agent: only its key may be proven.
    let mut body = offer_body();
    body["subject"] = json!(agent.did().unwrap());
    let (_, granted) = token(&node, &code_of(&offer(&node, &world, &body).await)).await;
    let access = granted["access_token"].as_str().unwrap().to_owned();
    let audience = node.public_url.clone();

    let used = nonce(&node).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a key other than the offer names",
            request(&proof(&other, &audience, &nonce(&node).await, |_, _| {})),
            "invalid_proof",
        ),
        (
            "signed by another key than the header names",
            request(&{
                let mut p = proof(&other, &audience, &nonce(&node).await, |_, _| {});
                let forged_header = agentid_verifier::b64url_encode(json!({"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "jwk": agent.public_key().to_jwk()}).to_string().as_bytes());
                p = format!("{forged_header}{}", &p[p.find('.').unwrap()..]);
                p
            }),
            "invalid_proof",
        ),
        (
            "for another issuer",
            request(&proof(
                &agent,
                "https://other.example",
                &nonce(&node).await,
                |_, _| {},
            )),
            "invalid_proof",
        ),
        (
            "an hour old",
            request(&proof(&agent, &audience, &nonce(&node).await, |_, c| {
                c["iat"] = json!(now() - 3600)
            })),
            "invalid_proof",
        ),
        (
            "of another typ",
            request(&proof(&agent, &audience, &nonce(&node).await, |h, _| {
                h["typ"] = json!("JWT")
            })),
            "invalid_proof",
        ),
        (
            "a nonce this issuer never gave",
            request(&proof(&agent, &audience, "bm90LWEtbm9uY2U", |_, _| {})),
            "invalid_nonce",
        ),
        (
            "no nonce",
            request(&proof(&agent, &audience, &used, |_, c| {
                c.as_object_mut().unwrap().remove("nonce");
            })),
            "invalid_nonce",
        ),
        (
            "another configuration",
            json!({"credential_configuration_id": "agentid_person_1", "proofs": {"jwt": [proof(&agent, &audience, &nonce(&node).await, |_, _| {})]}}),
            "unknown_credential_configuration",
        ),
        (
            "two proofs",
            json!({"credential_configuration_id": CONFIGURATION, "proofs": {"jwt": ["a", "b"]}}),
            "invalid_credential_request",
        ),
        (
            "no proof",
            json!({"credential_configuration_id": CONFIGURATION}),
            "invalid_credential_request",
        ),
        (
            "the draft's single proof",
            json!({"credential_configuration_id": CONFIGURATION, "proof": {"proof_type": "jwt", "jwt": "x"}}),
            "invalid_credential_request",
        ),
    ];
    for (case, body, code) in cases {
        let answer = credential(&node, &access, &body).await;
        assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{case}: {}", answer.1);
        assert_eq!(answer.1["error"], code, "{case}: {}", answer.1);
    }

    // A spent nonce is refused the second time.
    let twice = nonce(&node).await;
    let (status, _) = credential(
        &node,
        &access,
        &request(&proof(&agent, &audience, &twice, |_, _| {})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the offer's one credential");
    let (_, second) = token(&node, &code_of(&offer(&node, &world, &body).await)).await;
    let second = second["access_token"].as_str().unwrap().to_owned();
    oauth_error(
        &credential(
            &node,
            &second,
            &request(&proof(&agent, &audience, &twice, |_, _| {})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_nonce",
    );

    // Unknown or missing tokens.
    let any = request(&proof(&agent, &audience, &nonce(&node).await, |_, _| {}));
    let answer = credential(&node, "not-a-token", &any).await;
    oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_token");
    let answer = node.post_with(None, "/v1/oid4vci/credential", &any).await;
    oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_and_tokens_are_refused_as_the_specifications_say() {
    let world = World::new();
    let node = embedded(&world);
    // Offers need a caller, and claims the schema accepts.
    let (status, _) = node.post_with(None, "/v1/offers", &offer_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut bad = offer_body();
    bad["sd"] = json!(["scope"]);
    let (status, answer) = node.post(&world.orchestrator, "/v1/offers", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, _) = node.post(&world.limited, "/v1/offers", &offer_body()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    oauth_error(
        &token(&node, "unknown-code").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    oauth_error(
        &form(
            &node,
            "/v1/oid4vci/token",
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    );
    oauth_error(
        &form(&node, "/v1/oid4vci/token", &[("pre-authorized_code", "x")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let json_token = node
        .post_with(
            None,
            "/v1/oid4vci/token",
            &json!({"grant_type": PRE_AUTHORIZED}),
        )
        .await;
    oauth_error(&json_token, StatusCode::BAD_REQUEST, "invalid_request");
}
