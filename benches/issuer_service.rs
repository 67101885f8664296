//! Credentials minted per second by `agentid serve issuer` over HTTP on loopback:
//! each request is `POST /v1/credentials` with a freshly signed RFC 7523 client
//! assertion (verified, its `jti` spent in the store), a task credential signed with
//! a random status list entry and recorded with its audit entry before the 201.
//! With the embedded (sled) store and, when `AGENTID_TEST_POSTGRES` is set,
//! PostgreSQL, one node each, 8 keep-alive clients.
//!
//! The caller's share of the work (signing the assertion, ES256) is timed apart on
//! one thread and printed next to the service's figure: clients and the service
//! share the machine's cores, so the HTTP rate is a floor for a dedicated server.
//!
//! `cargo bench --bench issuer_service` runs the full load; under `cargo test` a
//! smoke load checks that it works.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/load.rs"]
mod load;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentid_verifier::{b64url_encode, Algorithm};
use agentid_wallet::{unix_now, SigningKey};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};

use load::{client, on_fresh_schema, run_clients, start_service, stop, Load};

const PASSPHRASE: &str = "issuer bench passphrase";
const CALLER: &str = "orchestrator";

const FULL: Load = Load {
    clients: 8,
    requests: 4_000,
    max_time: Duration::from_secs(8),
};

const SMOKE: Load = Load {
    clients: 2,
    requests: 8,
    max_time: Duration::from_secs(20),
};

/// What every request carries: the caller's key and the credential asked for.
struct Caller {
    key: SigningKey,
    body: Value,
}

impl Caller {
    fn new() -> Caller {
        let agent = SigningKey::generate(Algorithm::EdDSA);
        Caller {
            key: SigningKey::generate(Algorithm::ES256),
            body: json!({
                "subject": agent.did().unwrap(),
                "vct": "urn:agentid:vct:task:1",
                "claims": {
                    "task": {"id": "T-1", "purpose": "bench"},
                    "scope": ["refunds:write"],
                    "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
                },
                "sd": ["task.purpose"],
                "ttl": "10m",
            }),
        }
    }

    /// A fresh client assertion (RFC 7523) for `audience`.
    fn assertion(&self, audience: &str) -> String {
        let now = unix_now();
        let mut jti = [0u8; 16];
        OsRng.fill_bytes(&mut jti);
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let claims = json!({
            "iss": CALLER, "sub": CALLER, "aud": audience,
            "iat": now, "exp": now + 120, "jti": b64url_encode(&jti),
        });
        let input = format!(
            "{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes())
        );
        format!(
            "{input}.{}",
            b64url_encode(&self.key.sign(input.as_bytes()))
        )
    }
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let load = if full { FULL } else { SMOKE };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let caller = Arc::new(Caller::new());
    let signing = assertions_per_second(&caller, if full { 20_000 } else { 100 });
    let mode = if full { "full" } else { "smoke" };
    let sled = runtime.block_on(service_run(None, &load, &caller));
    println!(
        "issuer over HTTP, sled: {sled:.0} credentials/s ({} clients, {mode})",
        load.clients
    );
    match std::env::var("AGENTID_TEST_POSTGRES") {
        Ok(url) => {
            let (load, caller) = (load, Arc::clone(&caller));
            let postgres = runtime.block_on(on_fresh_schema(
                &url,
                "agentid_bench_issuer",
                move |location| async move { service_run(Some(location), &load, &caller).await },
            ));
            println!(
                "issuer over HTTP, postgres: {postgres:.0} credentials/s ({} clients, {mode})",
                load.clients
            );
        }
        Err(_) => println!("issuer over HTTP, postgres: skipped (AGENTID_TEST_POSTGRES unset)"),
    }
    println!(
        "caller's share: {signing:.0} client assertions signed/s on one thread \
         ({:.1} µs each, not counted out of the figures above)",
        1e6 / signing
    );
}

/// Client assertions signed per second on this thread.
fn assertions_per_second(caller: &Caller, count: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..count {
        std::hint::black_box(caller.assertion("http://127.0.0.1:1"));
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn agentid(wallet: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
    command
        .arg("--wallet")
        .arg(wallet)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET");
    command
}

/// Starts one node on `store` (a temporary sled directory when `None`);
/// credentials minted per second.
async fn service_run(store: Option<String>, load: &Load, caller: &Arc<Caller>) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    let init = agentid(&wallet)
        .args(["init", "--kdf-memory-kib", "8192", "--kdf-iterations", "1"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let callers = dir.path().join("callers.json");
    std::fs::write(
        &callers,
        json!({"callers": [{"id": CALLER, "jwk": caller.key.public_key().to_jwk()}]}).to_string(),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = agentid(&wallet);
    command
        .args(["serve", "issuer", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-url", &base])
        .arg("--callers")
        .arg(&callers);
    match store {
        Some(url) => {
            let secret = dir.path().join("state-secret");
            std::fs::write(&secret, "22".repeat(32)).unwrap();
            command
                .args(["--store", &url])
                .arg("--state-secret")
                .arg(secret);
        }
        None => {
            command.arg("--store").arg(dir.path().join("store"));
        }
    }
    let mut server = start_service(&mut command, port);
    let http = client(load);
    let rate = run_clients(load, {
        let (http, base, caller) = (http.clone(), base.clone(), Arc::clone(caller));
        move || {
            let (http, base, caller) = (http.clone(), base.clone(), Arc::clone(&caller));
            async move { mint(&http, &base, &caller).await }
        }
    })
    .await;
    stop(&mut server);
    let exit = server.wait().unwrap();
    assert!(exit.success(), "the service stops cleanly on SIGTERM");
    rate
}

/// One issuance; true when a credential came back (201).
async fn mint(http: &reqwest::Client, base: &str, caller: &Caller) -> bool {
    let sent = http
        .post(format!("{base}/v1/credentials"))
        .bearer_auth(caller.assertion(base))
        .json(&caller.body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status() == reqwest::StatusCode::CREATED => response
            .json::<Value>()
            .await
            .is_ok_and(|body| body["credential"].is_string()),
        _ => false,
    }
}
