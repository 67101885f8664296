//! `agentid serve verifier`: the HTTP service, run as a child process on a loopback
//! port and spoken to over HTTP/1.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentid_verifier::{Algorithm, PresentationRequest};
use agentid_wallet::{present, unix_now, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use reqwest::StatusCode;
use serde_json::{json, Value};

const AUDIENCE: &str = "https://payments.bank.example";
const NONCE: &str = "nonce-7f3a9c2e-service-test";

/// An issuer, a holder and a credential issued now (the service reads the clock).
struct Material {
    _dir: tempfile::TempDir,
    trust: PathBuf,
    issuer: String,
    agent: SigningKey,
    credential: String,
}

impl Material {
    fn new() -> Self {
        let now = unix_now();
        let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
        let agent = SigningKey::generate(Algorithm::EdDSA);
        let credential = issuer
            .issue(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: agent.did().unwrap(),
                    holder_key: agent.public_key().clone(),
                    claims: common::task_claims(),
                    disclosable: ["task.purpose", "on_behalf_of"]
                        .iter()
                        .map(|path| path.parse().unwrap())
                        .collect(),
                    lifetime_secs: 900,
                    committed: Vec::new(),
                },
                now,
            )
            .unwrap()
            .sd_jwt;
        let dir = tempfile::tempdir().unwrap();
        let trust = dir.path().join("trust.json");
        std::fs::write(
            &trust,
            json!({"issuers": [{"id": issuer.id()}]}).to_string(),
        )
        .unwrap();
        Material {
            issuer: issuer.id().to_owned(),
            _dir: dir,
            trust,
            agent,
            credential,
        }
    }

    /// A presentation disclosing `on_behalf_of`, for `audience` and `nonce`.
    fn present(&self, audience: &str, nonce: &str) -> String {
        present(
            &self.credential,
            &self.agent,
            &["on_behalf_of".parse().unwrap()],
            &PresentationRequest::new(audience, nonce),
            unix_now(),
        )
        .unwrap()
    }
}

/// The service as a child process; killed on drop if still running.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    stderr_lines: Receiver<String>,
}

impl Server {
    fn start(trust: &Path, extra: &[&str], rust_log: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentid"))
            .args(["serve", "verifier", "--listen", "127.0.0.1:0", "--trust"])
            .arg(trust)
            .args(extra)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn agentid serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (line_tx, stderr_lines) = channel();
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = line_tx.send(line);
            }
        });
        let (addr_tx, addr_rx) = channel();
        let pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(pipe).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = addr_tx.send(first);
            for _ in lines {}
        });
        let first = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the service prints its address");
        let Some(address) = first.strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "unexpected first line {first:?}; stderr: {}",
                stderr.lock().unwrap()
            );
        };
        assert!(
            address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
            "{address}"
        );
        Server {
            base: format!("http://{address}"),
            child,
            stderr,
            stderr_lines,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM (`kill -TERM pid`).
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "the service did not stop within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .stderr_lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return;
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> (StatusCode, Value) {
    post_raw(client, url, "application/json", body.to_string()).await
}

async fn post_raw(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: String,
) -> (StatusCode, Value) {
    let response = client
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = response.status();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("a JSON body for {status}: {text:?}"));
    (status, json)
}

/// `{"error": "…"}` with a non-empty message.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifies_presentations_refuses_bad_requests_and_stops_on_sigterm() {
    let material = Material::new();
    let mut server = Server::start(&material.trust, &[], "info");
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let batch = server.url("/v1/presentations/verify-batch");

    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    // A valid presentation.
    let presentation = material.present(AUDIENCE, NONCE);
    let request = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE});
    let (status, body) = post_json(&client, &verify, &request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["verified"]["issuer"], material.issuer.as_str());
    assert_eq!(body["verified"]["vct"], TASK_VCT);
    assert_eq!(body["verified"]["claims"]["constraints"]["max_amount"], 50);
    assert!(body["verified"]["claims"]["task"].get("purpose").is_none());
    assert_eq!(body["verified"]["key_binding"]["nonce"], NONCE);

    // Invalid presentations are valid requests: 200 with the reason.
    let wrong_nonce = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": "other"});
    let (status, body) = post_json(&client, &verify, &wrong_nonce).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"valid": false, "kind": "invalid_binding", "reason": "key binding nonce mismatch"})
    );
    let garbage = json!({"presentation": "garbage", "audience": AUDIENCE, "nonce": NONCE});
    let (status, body) = post_json(&client, &verify, &garbage).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], false);
    assert_eq!(body["kind"], "malformed");

    // A batch: items with their own audiences and nonces, verdicts in order.
    let other = material.present("https://other.example", "n-2");
    let items = json!({"items": [
        {"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE},
        {"presentation": presentation, "audience": AUDIENCE, "nonce": "other"},
        {"presentation": other, "audience": "https://other.example", "nonce": "n-2"},
        {"presentation": "garbage", "audience": AUDIENCE, "nonce": NONCE},
        {"presentation": other, "audience": AUDIENCE, "nonce": "n-2"},
    ]});
    let (status, body) = post_json(&client, &batch, &items).await;
    assert_eq!(status, StatusCode::OK);
    let results = body["results"].as_array().expect("results");
    let verdicts: Vec<(bool, &str)> = results
        .iter()
        .map(|r| {
            (
                r["valid"].as_bool().unwrap(),
                r["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (true, ""),
            (false, "invalid_binding"),
            // Bound correctly, but the credential's audience names only AUDIENCE.
            (false, "policy"),
            (false, "malformed"),
            (false, "invalid_binding"),
        ]
    );
    assert_eq!(
        results[2]["reason"],
        "the credential may not be presented to https://other.example"
    );
    let (status, body) = post_json(&client, &batch, &json!({"items": []})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"results": []})));

    // The body bound (default 1 MiB) to the byte: a body of exactly 1 MiB is read
    // (its presentation is then over the verifier's 64 KiB bound), one byte more is 413.
    let body_of = |length: usize| {
        let frame = json!({"presentation": "", "audience": AUDIENCE, "nonce": NONCE}).to_string();
        let pad = "a".repeat(length - frame.len());
        json!({"presentation": pad, "audience": AUDIENCE, "nonce": NONCE}).to_string()
    };
    let exact = body_of(1024 * 1024);
    assert_eq!(exact.len(), 1024 * 1024);
    let (status, body) = post_raw(&client, &verify, "application/json", exact).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "malformed", "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("larger than 65536 bytes"),
        "{body}"
    );
    let (status, body) = post_raw(
        &client,
        &verify,
        "application/json",
        body_of(1024 * 1024 + 1),
    )
    .await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = post_raw(
        &client,
        &verify,
        "application/json",
        "{\"presentation\": ".into(),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    for wrong_shape in [
        json!({"presentation": presentation, "audience": AUDIENCE}),
        json!({"presentation": 42, "audience": AUDIENCE, "nonce": NONCE}),
        json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE, "extra": 1}),
        json!([presentation]),
    ] {
        let (status, body) = post_json(&client, &verify, &wrong_shape).await;
        assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, body) =
        post_json(&client, &batch, &json!({"items": [{"presentation": "x"}]})).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let items = |count: usize| -> Vec<Value> {
        (0..count)
            .map(|_| json!({"presentation": "x", "audience": "a", "nonce": "n"}))
            .collect()
    };
    let (status, body) = post_json(&client, &batch, &json!({ "items": items(1024) })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1024);
    let too_many = items(1025);
    let (status, body) = post_json(&client, &batch, &json!({ "items": too_many })).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("1024"), "{body}");
    let (status, body) = post_raw(&client, &verify, "text/plain", request.to_string()).await;
    assert_error(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = client.get(server.url("/v1/nothing")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    let response = client.get(verify.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());

    // Still serving after all that.
    let (status, body) = post_json(&client, &verify, &request).await;
    assert_eq!((status, &body["valid"]), (StatusCode::OK, &json!(true)));

    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0), "{}", server.stderr());

    // One log line per verdict, none with a claim value, a nonce or the presentation.
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");
    let decisions: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" decision "))
        .collect();
    // 3 single, 5 batched, the 1 MiB body, the 1,024-item batch, 1 after the refusals.
    assert_eq!(decisions.len(), 3 + 5 + 1 + 1024 + 1, "{log}");
    assert!(
        decisions[0].contains(&format!("issuer=\"{}\"", material.issuer)),
        "{log}"
    );
    assert!(decisions[0].contains("valid=true") && decisions[0].contains("elapsed_us="));
    assert!(
        decisions[0].contains(&format!("vct=\"{TASK_VCT}\"")),
        "{log}"
    );
    assert!(
        decisions[1].contains("valid=false") && decisions[1].contains("kind=\"invalid_binding\"")
    );
    let jwt_head = presentation.split('.').next().unwrap();
    for secret in [
        NONCE,
        "n-2",
        "refund order 1234",
        "max_amount",
        "EUR",
        "shop.example",
        "refunds:write",
        jwt_head,
        &presentation[presentation.len() - 40..],
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
    assert!(log.contains("request refused status=413"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_batch_finish() {
    let material = Material::new();
    let server = Server::start(
        &material.trust,
        &["--max-body-bytes", "8388608"],
        "info,agentid=debug",
    );
    let mut server = server;
    let presentation = material.present(AUDIENCE, NONCE);
    let items: Vec<Value> = (0..1024)
        .map(|_| json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE}))
        .collect();
    let client = client();
    let url = server.url("/v1/presentations/verify-batch");
    let in_flight =
        tokio::spawn(async move { post_json(&client, &url, &json!({ "items": items })).await });
    server.wait_for_log("batch started");
    server.terminate();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1024);
    assert!(results.iter().all(|r| r["valid"] == true));
    let exit = server.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0), "{}", server.stderr());
    let log = server.stderr();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
    // The signal came while the batch was being verified (about 0.3 s in a debug
    // build), and its verdicts were still logged and sent.
    let shutting_down = log.find("shutting down").unwrap();
    let first_decision = log.find(" decision ").expect("decisions logged");
    assert!(shutting_down < first_decision, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed_with_503_and_retry_after() {
    let material = Material::new();
    let server = Server::start(
        &material.trust,
        &[
            "--max-body-bytes",
            "8388608",
            "--max-concurrent",
            "1",
            "--queue-wait-ms",
            "1",
        ],
        "info,agentid=debug",
    );
    let presentation = material.present(AUDIENCE, NONCE);
    let items: Vec<Value> = (0..1024)
        .map(|_| json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE}))
        .collect();
    let client = client();
    let batch_url = server.url("/v1/presentations/verify-batch");
    let batch_client = client.clone();
    let in_flight = tokio::spawn(async move {
        post_json(&batch_client, &batch_url, &json!({ "items": items })).await
    });
    // The batch holds the only slot (about 0.3 s); a request now waits 1 ms and is shed.
    server.wait_for_log("batch started");
    let single = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE});
    let response = client
        .post(server.url("/v1/presentations/verify"))
        .json(&single)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("busy"));
    let (status, _) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    // The slot is free again.
    let (status, body) = post_json(&client, &server.url("/v1/presentations/verify"), &single).await;
    assert_eq!((status, &body["valid"]), (StatusCode::OK, &json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_trust_file_and_keeps_the_old_one_if_the_new_is_bad() {
    let material = Material::new();
    let stranger = SigningKey::generate(Algorithm::EdDSA).did().unwrap();
    let trust_stranger = json!({"issuers": [{"id": stranger}]}).to_string();
    let trust_issuer = std::fs::read_to_string(&material.trust).unwrap();
    std::fs::write(&material.trust, &trust_stranger).unwrap();
    let server = Server::start(&material.trust, &[], "info");
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let request = json!({"presentation": material.present(AUDIENCE, NONCE), "audience": AUDIENCE, "nonce": NONCE});
    let hangup = || {
        let status = Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };

    let (_, body) = post_json(&client, &verify, &request).await;
    assert_eq!(body["kind"], "untrusted_issuer", "{body}");
    std::fs::write(&material.trust, &trust_issuer).unwrap();
    hangup();
    server.wait_for_log("reloaded trust and status lists");
    let (_, body) = post_json(&client, &verify, &request).await;
    assert_eq!(body["valid"], true, "{body}");

    std::fs::write(&material.trust, "{\"issuers\": 5}").unwrap();
    hangup();
    server.wait_for_log("reload failed");
    let (_, body) = post_json(&client, &verify, &request).await;
    assert_eq!(
        body["valid"], true,
        "the previous trust stays in force: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_audience_refuses_requests_for_another() {
    let material = Material::new();
    let server = Server::start(&material.trust, &["--audience", AUDIENCE], "info");
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let own = json!({"presentation": material.present(AUDIENCE, NONCE), "audience": AUDIENCE, "nonce": NONCE});
    let (status, body) = post_json(&client, &verify, &own).await;
    assert_eq!((status, &body["valid"]), (StatusCode::OK, &json!(true)));
    // A presentation made for another verifier, relayed with that verifier's audience.
    let elsewhere = "https://other.example";
    let relayed = json!({"presentation": material.present(elsewhere, NONCE), "audience": elsewhere, "nonce": NONCE});
    let (status, body) = post_json(&client, &verify, &relayed).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let batch = server.url("/v1/presentations/verify-batch");
    let (status, body) = post_json(&client, &batch, &json!({"items": [own, relayed]})).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn unusable_trust_file_or_address_is_a_usage_error() {
    let material = Material::new();
    let bad_trust = material.trust.with_file_name("bad.json");
    std::fs::write(&bad_trust, "{\"issuers\": 5}").unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_agentid"))
            .args(args)
            .output()
            .unwrap()
    };
    let trust = material.trust.to_str().unwrap();
    for args in [
        [
            "serve",
            "verifier",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            bad_trust.to_str().unwrap(),
        ],
        [
            "serve",
            "verifier",
            "--listen",
            "not an address",
            "--trust",
            trust,
        ],
        [
            "serve",
            "verifier",
            "--listen",
            "127.0.0.1:99999",
            "--trust",
            trust,
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    let out = run(&["serve", "verifier", "--trust", trust]);
    assert_eq!(out.status.code(), Some(2), "--listen is required");
}
