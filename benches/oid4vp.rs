//! OpenID4VP 1.0 responses, in process and through the service.
//!
//! Group `oid4vp_response`: checking one `direct_post.jwt` Authorization Response
//! (read the form, decrypt the JWE — ECDH-ES on P-256, A128GCM — read the
//! `vp_token`, verify the presentation bound to the client id and nonce, then
//! `dcql::check_response`) against `Verifier::verify_presentation` alone on the same
//! presentation, ES256 issuer and holder. The summary line prints both medians of
//! interleaved rounds and their ratio.
//!
//! Then the service: `agentid serve verifier --client-id-prefix redirect_uri` on
//! loopback with sled state, and with PostgreSQL state when `AGENTID_TEST_POSTGRES`
//! names a database (a fresh schema, dropped afterwards), measuring with `CLIENTS`
//! concurrent keep-alive clients (a) `POST /v1/oid4vp/requests` creations per
//! second and (b) whole flows per second: create, read the request from its
//! `authorization_request_uri` (by value for `redirect_uri`), present for
//! aud = client_id and its nonce, post the encrypted `direct_post.jwt` response,
//! read the result with the result key (`accepted` required). Clients and server
//! share the machine's cores. Under `cargo test --benches` (no `--bench` argument)
//! the service part is a tiny smoke run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/load.rs"]
mod load;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentid_verifier::dcql::{check_response, DcqlQuery, PresentedCredential};
use agentid_verifier::oid4vp::jwe::{self, Enc, JweLimits};
use agentid_verifier::oid4vp::request::{parse_request_uri_with, RequestReference};
use agentid_verifier::oid4vp::response::{parse_direct_post_jwt, ResponseLimits};
use agentid_verifier::oid4vp::{AuthorizationResponse, RequestOptions};
use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::{present, unix_now, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use criterion::{criterion_group, Criterion};
use serde_json::{json, Value};

use load::{client, on_fresh_schema, run_clients, start_service, stop, Load};

const NOW: u64 = 1_800_000_000;
const CLIENT_ID: &str = "redirect_uri:https://verifier.example/v1/oid4vp/responses/r1";
const NONCE: &str = "bench-nonce-0001";
const STATE: &str = "bench-state-0001";
const KID: &str = "response-key-1";

fn dcql_query() -> Value {
    json!({"credentials": [{"id": "task", "format": "dc+sd-jwt",
        "meta": {"vct_values": [TASK_VCT]},
        "claims": [{"path": ["task", "purpose"]}, {"path": ["on_behalf_of"]}]}]})
}

/// An ES256 did:key issuer and an ES256 holder's credential, issued at `now`.
fn credential(now: u64) -> (Issuer, SigningKey, String) {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let holder = SigningKey::generate(Algorithm::ES256);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "refund order 1234"},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let sd_jwt = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: ["task.purpose", "on_behalf_of"]
                    .iter()
                    .map(|path| path.parse().unwrap())
                    .collect(),
                lifetime_secs: 3600,
                committed: Vec::new(),
            },
            now,
        )
        .unwrap()
        .sd_jwt;
    (issuer, holder, sd_jwt)
}

fn disclosed() -> [agentid_verifier::ClaimPath; 2] {
    [
        "task.purpose".parse().unwrap(),
        "on_behalf_of".parse().unwrap(),
    ]
}

/// The verifier's whole check of a `direct_post.jwt` body.
fn check_direct_post_jwt(
    verifier: &Verifier,
    query: &DcqlQuery,
    key: &p256::SecretKey,
    limits: &ResponseLimits,
    body: &str,
) -> usize {
    let response = parse_direct_post_jwt(body, key, Some(KID), &[Enc::A128GCM], limits).unwrap();
    assert_eq!(response.state.as_deref(), Some(STATE));
    let request = PresentationRequest::new(CLIENT_ID, NONCE);
    let mut presented: BTreeMap<String, Vec<PresentedCredential>> = BTreeMap::new();
    for (id, presentations) in &response.vp_token {
        for presentation in presentations {
            let verified = verifier
                .verify_presentation(presentation, &request, NOW)
                .unwrap();
            presented
                .entry(id.clone())
                .or_default()
                .push(PresentedCredential::from_verified(&verified));
        }
    }
    check_response(query, &presented).unwrap();
    presented.len()
}

fn response_benches(c: &mut Criterion) {
    let (issuer, holder, sd_jwt) = credential(NOW);
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let query = DcqlQuery::from_value(&dcql_query()).unwrap();
    let request = PresentationRequest::new(CLIENT_ID, NONCE);
    let presentation = present(&sd_jwt, &holder, &disclosed(), &request, NOW).unwrap();
    let response_key = p256::SecretKey::from_slice(&[0x5a; 32]).unwrap();
    let response = AuthorizationResponse {
        vp_token: BTreeMap::from([("task".to_owned(), vec![presentation.clone()])]),
        state: Some(STATE.to_owned()),
    };
    let body = response
        .to_direct_post_jwt_form(&response_key.public_key(), Some(KID), Enc::A128GCM)
        .unwrap();
    let limits = ResponseLimits::default();
    let compact: String = url::form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "response")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        check_direct_post_jwt(&verifier, &query, &response_key, &limits, &body),
        1
    );

    let mut group = c.benchmark_group("oid4vp_response");
    group.bench_function("direct_post_jwt_decrypt_verify_dcql", |b| {
        b.iter(|| check_direct_post_jwt(&verifier, &query, &response_key, &limits, &body))
    });
    group.bench_function("plain_verify_presentation", |b| {
        b.iter(|| {
            verifier
                .verify_presentation(&presentation, &request, NOW)
                .unwrap()
        })
    });
    group.bench_function("jwe_decrypt_only", |b| {
        b.iter(|| {
            jwe::decrypt(
                &compact,
                &response_key,
                &[Enc::A128GCM],
                &JweLimits::default(),
            )
            .unwrap()
        })
    });
    group.finish();

    // Interleaved rounds, so machine noise hits both sides alike.
    let rounds = 101;
    let per_round = 20;
    let (mut full_times, mut plain_times) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(check_direct_post_jwt(
                &verifier,
                &query,
                &response_key,
                &limits,
                &body,
            ));
        }
        full_times.push(started.elapsed() / per_round);
        let started = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(
                verifier
                    .verify_presentation(&presentation, &request, NOW)
                    .unwrap(),
            );
        }
        plain_times.push(started.elapsed() / per_round);
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (full, plain) = (median(&mut full_times), median(&mut plain_times));
    println!(
        "oid4vp: direct_post.jwt decrypt+verify+dcql {:.1} µs vs plain verify {:.1} µs (ratio {:.2})",
        full.as_secs_f64() * 1e6,
        plain.as_secs_f64() * 1e6,
        full.as_secs_f64() / plain.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = response_benches
}

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

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();

    let full = std::env::args().any(|arg| arg == "--bench");
    let load = if full { FULL } else { SMOKE };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sled = runtime.block_on(service_run(None, &load));
    let postgres = match std::env::var("AGENTID_TEST_POSTGRES") {
        Ok(url) => Some(runtime.block_on(postgres_run(&url, &load))),
        Err(_) => {
            println!("oid4vp service: postgres skipped (AGENTID_TEST_POSTGRES unset)");
            None
        }
    };
    let postgres_text = match postgres {
        Some((create, flows)) => format!("postgres {create:.0} req/s, {flows:.0} flows/s"),
        None => "postgres skipped".to_owned(),
    };
    println!(
        "oid4vp service ({}, {} clients): sled {:.0} req/s create, {:.0} flows/s; {postgres_text}",
        if full { "full" } else { "smoke" },
        load.clients,
        sled.0,
        sled.1
    );
}

async fn postgres_run(url: &str, load: &Load) -> (f64, f64) {
    let load = *load;
    on_fresh_schema(url, "agentid_bench", move |location| async move {
        service_run(Some(location), &load).await
    })
    .await
}

/// Starts the service on `state` (a temporary sled directory when `None`) and
/// returns (creations/s, flows/s).
async fn service_run(state: Option<String>, load: &Load) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let (issuer, holder, sd_jwt) = credential(unix_now());
    let trust_path = dir.path().join("trust.json");
    std::fs::write(
        &trust_path,
        json!({"issuers": [{"id": issuer.id()}]}).to_string(),
    )
    .unwrap();
    let secret_path = dir.path().join("state-secret");
    std::fs::write(&secret_path, "11".repeat(32)).unwrap();
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
        .args(["--public-url", &format!("http://localhost:{port}")])
        .args(["--client-id-prefix", "redirect_uri", "--state", &state])
        .arg("--state-secret")
        .arg(&secret_path);
    let mut server = start_service(&mut command, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = client(load);
    let wallet = Arc::new((holder, sd_jwt, port));
    let create_rate = run_clients(load, {
        let (client, base) = (client.clone(), base.clone());
        move || {
            let (client, base) = (client.clone(), base.clone());
            async move { create(&client, &base).await.is_some() }
        }
    })
    .await;
    let flow_rate = run_clients(load, {
        let (client, base) = (client.clone(), base.clone());
        move || {
            let (client, base, wallet) = (client.clone(), base.clone(), Arc::clone(&wallet));
            async move { flow(&client, &base, &wallet).await }
        }
    })
    .await;
    stop(&mut server);
    let exit = server.wait().unwrap();
    assert!(exit.success(), "the service stops cleanly on SIGTERM");
    (create_rate, flow_rate)
}

/// `POST /v1/oid4vp/requests`: the service's answer, if 201.
async fn create(client: &reqwest::Client, base: &str) -> Option<Value> {
    let answer = client
        .post(format!("{base}/v1/oid4vp/requests"))
        .json(&json!({"dcql_query": dcql_query()}))
        .send()
        .await
        .ok()?;
    if answer.status() != reqwest::StatusCode::CREATED {
        return None;
    }
    answer.json().await.ok()
}

/// One whole flow: create, answer as the wallet, read the verdict.
async fn flow(client: &reqwest::Client, base: &str, wallet: &(SigningKey, String, u16)) -> bool {
    let (holder, sd_jwt, port) = wallet;
    let Some(created) = create(client, base).await else {
        return false;
    };
    let options = RequestOptions::default().with_http_response_uri_allowed(true);
    let uri = created["authorization_request_uri"].as_str().unwrap();
    let RequestReference::ByValue(by_value) = parse_request_uri_with(uri, &options).unwrap() else {
        panic!("a redirect_uri request comes by value");
    };
    let request = by_value.verify(&options).unwrap();
    let presentation_request =
        PresentationRequest::new(request.client_id().as_str(), request.nonce());
    let presentation = present(
        sd_jwt,
        holder,
        &disclosed(),
        &presentation_request,
        unix_now(),
    )
    .unwrap();
    let form = AuthorizationResponse {
        vp_token: BTreeMap::from([("task".to_owned(), vec![presentation])]),
        state: request.state().map(str::to_owned),
    }
    .to_form_for(&request, &[Enc::A128GCM, Enc::A256GCM])
    .unwrap();
    let response_uri = request.response_uri().as_str().replacen(
        &format!("localhost:{port}"),
        &format!("127.0.0.1:{port}"),
        1,
    );
    let Ok(posted) = client
        .post(response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
    else {
        return false;
    };
    if !posted.status().is_success() {
        return false;
    }
    let result_uri = created["result_uri"].as_str().unwrap().replacen(
        &format!("localhost:{port}"),
        &format!("127.0.0.1:{port}"),
        1,
    );
    let Ok(result) = client
        .get(result_uri)
        .bearer_auth(created["result_key"].as_str().unwrap())
        .send()
        .await
    else {
        return false;
    };
    let Ok(result) = result.json::<Value>().await else {
        return false;
    };
    result["status"] == "accepted"
}
