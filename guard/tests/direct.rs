//! Direct presentation mode: an agentid presentation accepted by the guard itself,
//! bound to the resource and to a nonce from the guard's 401, single use, and
//! authorized per scope with the credential's rights.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use agentid_guard::{DirectMode, DirectPresentation, GuardConfig, GuardLayer, ToolScopes};
use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::{CredentialRequest, Issuer, SigningKey, TASK_VCT};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

fn now() -> u64 {
    agentid_wallet::unix_now()
}

struct Setup {
    resource: String,
    client: reqwest::Client,
    agent: SigningKey,
    credential: String,
}

async fn start() -> Setup {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let principal = SigningKey::generate(Algorithm::ES256).did().unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "order support"},
        "scope": ["tools:read"],
        "resources": [resource],
        "on_behalf_of": principal,
    });
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: claims.as_object().unwrap().clone(),
                disclosable: vec![],
                lifetime_secs: 600,
                committed: vec![],
            },
            now(),
        )
        .unwrap()
        .sd_jwt;
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let direct = DirectMode::new(Verifier::new(trust, Policy::default()));
    let config = GuardConfig::new(&resource)
        .unwrap()
        .with_direct_presentations(direct)
        .with_tools(
            ToolScopes::new()
                .tool("lookup_order", "tools:read")
                .tool("refund_order", "tools:write"),
        );
    async fn handler(Extension(presented): Extension<DirectPresentation>) -> Json<Value> {
        Json(json!({"subject": presented.verified.subject, "scopes": presented.scopes}))
    }
    let app = Router::new()
        .route("/mcp", post(handler))
        .layer(GuardLayer::new(config).unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup {
        resource,
        client: reqwest::Client::new(),
        agent,
        credential,
    }
}

fn tool_call(name: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}}).to_string()
}

impl Setup {
    /// The nonce of the AgentID challenge of a 401.
    async fn nonce(&self) -> String {
        let response = self.client.post(&self.resource).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("AgentID "))
            .expect("an AgentID challenge");
        let start = challenge.find("nonce=\"").unwrap() + 7;
        let end = challenge[start..].find('"').unwrap();
        challenge[start..start + end].to_owned()
    }

    fn present(&self, audience: &str, nonce: &str) -> String {
        let request = PresentationRequest::new(audience, nonce);
        agentid_wallet::present(&self.credential, &self.agent, &[], &request, now()).unwrap()
    }

    async fn send(&self, presentation: &str, nonce: &str, body: String) -> reqwest::Response {
        self.client
            .post(&self.resource)
            .header("authorization", format!("AgentID {presentation}"))
            .header("agentid-nonce", nonce)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_presentation_bound_to_the_resource_and_a_guard_nonce_passes_once() {
    let setup = start().await;
    let nonce = setup.nonce().await;
    let presentation = setup.present(&setup.resource, &nonce);
    let response = setup
        .send(&presentation, &nonce, tool_call("lookup_order"))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["subject"], setup.agent.did().unwrap());
    assert_eq!(body["scopes"], json!(["tools:read"]));
    // The nonce is single use.
    let replay = setup
        .send(&presentation, &nonce, tool_call("lookup_order"))
        .await;
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn direct_refusals_other_audience_forged_nonce_and_scope_beyond_the_credential() {
    let setup = start().await;
    let nonce = setup.nonce().await;
    let elsewhere = setup.present("https://other.example/mcp", &nonce);
    let response = setup
        .send(&elsewhere, &nonce, tool_call("lookup_order"))
        .await;
    assert_eq!(response.status(), 401);

    let forged = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let presentation = setup.present(&setup.resource, forged);
    let response = setup
        .send(&presentation, forged, tool_call("lookup_order"))
        .await;
    assert_eq!(response.status(), 401);

    let presentation = setup.present(&setup.resource, &nonce);
    let response = setup
        .send(&presentation, &nonce, tool_call("refund_order"))
        .await;
    assert_eq!(response.status(), 403);
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("AgentID error=\"insufficient_scope\"")
                && c.contains("scope=\"tools:write\"")),
        "{challenges:?}"
    );
}
