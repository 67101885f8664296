//! Token exchanges per second through `agentid serve verifier`'s authorization
//! server on loopback: each exchange is a nonce request, a presentation made by the
//! agent's wallet for it, and the token request (verification, grant, spending the
//! nonce in the state store, signing the token). Bearer and DPoP-bound, with sled
//! and, when `AGENTID_TEST_POSTGRES` is set, PostgreSQL state, all in one run.
//!
//! `cargo bench --bench token_exchange` runs the full load (8 clients); under
//! `cargo test` a smoke load checks that it works.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/load.rs"]
mod load;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use agentid_verifier::{Algorithm, PresentationRequest};
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::{unix_now, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use serde_json::{json, Value};

use load::{client, on_fresh_schema, run_clients, start_service, stop, Load};

const ISSUER: &str = "https://auth.example";
const TOKEN_ENDPOINT: &str = "https://auth.example/v1/oauth/token";
const TOOLS: &str = "https://tools.example/mcp";

const FULL: Load = Load {
    clients: 8,
    requests: 3_000,
    max_time: Duration::from_secs(8),
};

const SMOKE: Load = Load {
    clients: 2,
    requests: 8,
    max_time: Duration::from_secs(20),
};

/// The agent: its key and its credential (tools:*, for the AS and the tool server).
struct Agent {
    key: SigningKey,
    credential: String,
}

fn agent(issuer: &Issuer) -> Agent {
    let key = SigningKey::generate(Algorithm::ES256);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "bench"},
        "scope": ["tools:*"], "resources": [TOOLS], "audience": [ISSUER, TOOLS],
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    });
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: key.did().unwrap(),
                holder_key: key.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec!["task.purpose".parse().unwrap()],
                lifetime_secs: 3600,
                committed: vec![],
            },
            unix_now(),
        )
        .unwrap()
        .sd_jwt;
    Agent { key, credential }
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let load = if full { FULL } else { SMOKE };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sled = runtime.block_on(service_run(None, &load));
    let postgres = match std::env::var("AGENTID_TEST_POSTGRES") {
        Ok(url) => format_rates("postgres", runtime.block_on(postgres_run(&url, &load))),
        Err(_) => "postgres skipped (AGENTID_TEST_POSTGRES unset)".to_owned(),
    };
    println!(
        "token exchange ({}, {} clients, nonce + presentation + token each): {}; {postgres}",
        if full { "full" } else { "smoke" },
        load.clients,
        format_rates("sled", sled),
    );
}

fn format_rates(backend: &str, (bearer, dpop): (f64, f64)) -> String {
    format!("{backend} {bearer:.0} bearer/s, {dpop:.0} DPoP-bound/s")
}

async fn postgres_run(url: &str, load: &Load) -> (f64, f64) {
    let load = *load;
    on_fresh_schema(url, "agentid_bench_token", move |location| async move {
        service_run(Some(location), &load).await
    })
    .await
}

/// Starts the service on `state` (a temporary sled directory when `None`);
/// (bearer exchanges/s, DPoP-bound exchanges/s).
async fn service_run(state: Option<String>, load: &Load) -> (f64, f64) {
    use p256::pkcs8::EncodePrivateKey as _;
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let agent = Arc::new(agent(&issuer));
    let trust_path = dir.path().join("trust.json");
    std::fs::write(
        &trust_path,
        json!({"issuers": [{"id": issuer.id()}]}).to_string(),
    )
    .unwrap();
    let key_path = dir.path().join("token-key.pem");
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    std::fs::write(
        &key_path,
        key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let secret_path = dir.path().join("state-secret");
    std::fs::write(&secret_path, "22".repeat(32)).unwrap();
    let state = state.unwrap_or_else(|| dir.path().join("state").display().to_string());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
    command
        .args([
            "serve",
            "verifier",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--trust")
        .arg(&trust_path)
        .args(["--token-issuer", ISSUER, "--state", &state])
        .arg("--token-key")
        .arg(&key_path)
        .arg("--state-secret")
        .arg(&secret_path);
    let mut server = start_service(&mut command, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = client(load);
    let mut rates = [0.0; 2];
    for (rate, dpop) in rates.iter_mut().zip([false, true]) {
        *rate = run_clients(load, {
            let (client, base, agent) = (client.clone(), base.clone(), Arc::clone(&agent));
            move || {
                let (client, base, agent) = (client.clone(), base.clone(), Arc::clone(&agent));
                async move { exchange(&client, &base, &agent, dpop).await }
            }
        })
        .await;
    }
    stop(&mut server);
    let exit = server.wait().unwrap();
    assert!(exit.success(), "the service stops cleanly on SIGTERM");
    (rates[0], rates[1])
}

/// One exchange: nonce, presentation, token; true when a token came back.
async fn exchange(client: &reqwest::Client, base: &str, agent: &Agent, dpop: bool) -> bool {
    let Ok(response) = client.post(format!("{base}/v1/oauth/nonce")).send().await else {
        return false;
    };
    let Ok(body) = response.json::<Value>().await else {
        return false;
    };
    let Some(nonce) = body["nonce"].as_str() else {
        return false;
    };
    let now = unix_now();
    let request = PresentationRequest::new(ISSUER, nonce);
    let principal = ["on_behalf_of".parse().unwrap()];
    let presentation =
        agentid_wallet::present(&agent.credential, &agent.key, &principal, &request, now).unwrap();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", presentation.as_str()),
            (
                "subject_token_type",
                "urn:agentid:params:oauth:token-type:sd-jwt-presentation",
            ),
            ("resource", TOOLS),
            ("scope", "tools:read"),
        ])
        .finish();
    let mut token_request = client
        .post(format!("{base}/v1/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    if dpop {
        let proof = sign_dpop_proof(&agent.key, "POST", TOKEN_ENDPOINT, None, None, now);
        token_request = token_request.header("DPoP", proof);
    }
    match token_request.send().await {
        Ok(response) if response.status().is_success() => response
            .json::<Value>()
            .await
            .is_ok_and(|body| body["access_token"].is_string()),
        _ => false,
    }
}
