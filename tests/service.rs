//! `agentid serve verifier`: the HTTP service, run as a child process on a loopback
//! port and spoken to over HTTP/1.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentid_verifier::authorize::Action;
use agentid_verifier::{b64url_encode, Algorithm, PresentationRequest};
use agentid_wallet::{
    did_key_url, present, unix_now, CredentialRequest, Issuer, KdfParams, Passphrase, SigningKey,
    Wallet, APPROVAL_VCT, TASK_VCT,
};
use flate2::write::ZlibEncoder;
use flate2::Compression;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;

const AUDIENCE: &str = "https://payments.bank.example";
const NONCE: &str = "nonce-7f3a9c2e-service-test";

/// An issuer, a holder and a credential issued now (the service reads the clock).
struct Material {
    _dir: tempfile::TempDir,
    trust: PathBuf,
    issuer: String,
    agent: SigningKey,
    credential: String,
    /// A status list token from the issuer, when the credential references it.
    status: Option<PathBuf>,
}

/// The status list the credential of [`Material::with_status_list`] references.
const STATUS_URI: &str = "https://issuer.example/status/1";

impl Material {
    fn new() -> Self {
        Material::build(None, common::task_claims())
    }

    /// A credential with a status reference (entry 0, valid) and a status list
    /// token for it that expires at `list_expires_at`.
    fn with_status_list(list_expires_at: u64) -> Self {
        Material::build(Some(list_expires_at), common::task_claims())
    }

    /// A task credential on behalf of `principal` that allows refunds of up to 50
    /// EUR on order 1234, those above 20 with the principal's approval.
    fn on_behalf_of(principal: &str) -> Self {
        let mut claims = common::task_claims();
        claims.insert(
            "constraints".into(),
            json!({"max_amount": 50, "approval_above": 20, "currency": "EUR"}),
        );
        claims.insert("on_behalf_of".into(), json!(principal));
        Material::build(None, claims)
    }

    fn build(list_expires_at: Option<u64>, claims: serde_json::Map<String, Value>) -> Self {
        let now = unix_now();
        let issuer_key = SigningKey::generate(Algorithm::EdDSA);
        let dir = tempfile::tempdir().unwrap();
        let status = list_expires_at.map(|exp| {
            let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
            zlib.write_all(&[0u8; 16]).unwrap();
            let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": did_key_url(issuer_key.public_key()).unwrap()});
            let payload = json!({
                "iss": issuer_key.did().unwrap(), "sub": STATUS_URI, "iat": now - 10, "exp": exp,
                "status_list": {"bits": 1, "lst": b64url_encode(&zlib.finish().unwrap())}
            });
            let path = dir.path().join("status.jwt");
            std::fs::write(&path, common::sign_token(&issuer_key, &header, &payload)).unwrap();
            path
        });
        let issuer = Issuer::from_did_key(issuer_key).unwrap();
        let agent = SigningKey::generate(Algorithm::EdDSA);
        let credential = issuer
            .issue_with_status(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: agent.did().unwrap(),
                    holder_key: agent.public_key().clone(),
                    claims,
                    disclosable: ["task.purpose", "on_behalf_of"]
                        .iter()
                        .map(|path| path.parse().unwrap())
                        .collect(),
                    lifetime_secs: 900,
                    committed: Vec::new(),
                },
                status.as_ref().map(|_| (0, STATUS_URI)),
                now,
            )
            .unwrap()
            .sd_jwt;
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
            status,
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

    /// `127.0.0.1:PORT`, for raw connections.
    fn address(&self) -> &str {
        self.base.strip_prefix("http://").unwrap()
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
    // reqwest's rustls backend (the product's) takes the process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    read_json(response).await
}

/// The status and JSON body of a response, which must be `application/json`.
async fn read_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.expect("body");
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{status}: {text}"
    );
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("a JSON body for {status}: {text:?}"));
    (status, json)
}

/// The service's OpenAPI document, as written.
const OPENAPI: &str = include_str!("../src/serve/openapi.json");

/// Checks `body` against the OpenAPI document's schema `name`
/// (`#/components/schemas/<name>`).
fn assert_conforms(body: &Value, name: &str) {
    if let Err(error) = schema_validator(name).validate(body) {
        panic!("not a {name} of the OpenAPI document: {error}\n{body}");
    }
}

fn schema_validator(name: &str) -> jsonschema::Validator {
    let mut document: Value = serde_json::from_str(OPENAPI).unwrap();
    document["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::validator_for(&document).unwrap()
}

/// The common error shape: exactly `{"code", "message"}`, the code the one expected,
/// the message non-empty; an `Error` of the OpenAPI document.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_conforms(body, "Error");
    assert_eq!(status, expected, "{body}");
    let members: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(members, ["code", "message"], "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"]
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
    let health = health.json::<Value>().await.unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    assert_conforms(&health, "Health");

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
    assert_conforms(&body, "Verdict");

    // Invalid presentations are valid requests: 200 with the reason.
    let wrong_nonce = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": "other"});
    let (status, body) = post_json(&client, &verify, &wrong_nonce).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"valid": false, "kind": "invalid_binding", "reason": "key binding nonce mismatch"})
    );
    assert_conforms(&body, "Verdict");
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
    assert_conforms(&body, "BatchResponse");
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
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    let (status, body) = post_raw(
        &client,
        &verify,
        "application/json",
        "{\"presentation\": ".into(),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "malformed_json");
    for wrong_shape in [
        json!({"presentation": presentation, "audience": AUDIENCE}),
        json!({"presentation": 42, "audience": AUDIENCE, "nonce": NONCE}),
        json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE, "extra": 1}),
        json!([presentation]),
    ] {
        let (status, body) = post_json(&client, &verify, &wrong_shape).await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        );
    }
    let (status, body) =
        post_json(&client, &batch, &json!({"items": [{"presentation": "x"}]})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(body["message"], "`/items/0/audience` is missing");
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
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_items",
    );
    assert!(body["message"].as_str().unwrap().contains("1024"), "{body}");
    let (status, body) = post_raw(&client, &verify, "text/plain", request.to_string()).await;
    assert_error(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let response = client.get(server.url("/v1/nothing")).send().await.unwrap();
    let (status, body) = read_json(response).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let response = client.get(verify.clone()).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let (status, body) = read_json(response).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

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
    let (status, body) = read_json(response).await;
    assert_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "busy");
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
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "audience_not_served",
    );
    let batch = server.url("/v1/presentations/verify-batch");
    let (status, body) = post_json(&client, &batch, &json!({"items": [own, relayed]})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "audience_not_served",
    );
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

// ---------------------------------------------------------------------------
// Raw connections, for what an HTTP client will not do: stall.

/// A response read off a raw connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Connects and sends `bytes`, then nothing more.
async fn stall_with(server: &Server, bytes: &[u8]) -> TcpStream {
    let stream = TcpStream::connect(server.address()).await.unwrap();
    let mut rest = bytes;
    while !rest.is_empty() {
        stream.writable().await.unwrap();
        match stream.try_write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => panic!("write: {error}"),
        }
    }
    stream
}

/// Reads what has arrived (waiting for something); 0 at the end of the stream.
async fn read_some(stream: &TcpStream, buffer: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buffer) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            other => return other,
        }
    }
}

/// A request head for `path` announcing a JSON body of `length` bytes.
fn upload_head(path: &str, length: usize) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n{{\"presentation\": \""
    )
    .into_bytes()
}

/// Reads one response (head and `content-length` body), or `None` if none came
/// within `limit`.
async fn read_response(stream: &mut TcpStream, limit: Duration) -> Option<RawResponse> {
    let mut received = Vec::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(end) = find(&received, b"\r\n\r\n") {
                let head = String::from_utf8(received[..end].to_vec()).unwrap();
                let mut lines = head.split("\r\n");
                let status = lines.next().unwrap()[9..12].parse().unwrap();
                let headers: Vec<(String, String)> = lines
                    .map(|line| {
                        let (name, value) = line.split_once(':').unwrap();
                        (name.to_ascii_lowercase(), value.trim().to_owned())
                    })
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(name, _)| name == "content-length")
                    .map_or(0, |(_, value)| value.parse().unwrap());
                if received.len() >= end + 4 + length {
                    let body = received[end + 4..end + 4 + length].to_vec();
                    return Some(RawResponse {
                        status,
                        headers,
                        body,
                    });
                }
            }
            match read_some(stream, &mut buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok().flatten()
}

/// Reads until the server closes the connection; what arrived, or `None` if it
/// was still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        loop {
            match read_some(stream, &mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok()?;
    Some(received)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_headers_are_closed_after_the_header_timeout() {
    let material = Material::new();
    let server = Server::start(&material.trust, &["--header-timeout-ms", "200"], "info");

    // Half a request head, then nothing: closed after the timeout.
    let started = Instant::now();
    let mut stream = stall_with(
        &server,
        b"POST /v1/presentations/verify HTTP/1.1\r\nhost: test\r\ncontent-ty",
    )
    .await;
    let received = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the service closes a connection that stalls in its headers");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert!(
        received.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&received)
    );

    // An idle keep-alive connection too, once its request is answered.
    let mut stream = stall_with(&server, b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n").await;
    let response = read_response(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let answered = Instant::now();
    read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("an idle connection is closed after the header timeout");
    assert!(answered.elapsed() >= Duration::from_millis(150));

    // A client that sends its head in time is served.
    let response = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_within_the_body_timeout() {
    let material = Material::new();
    let server = Server::start(&material.trust, &["--body-timeout-ms", "200"], "info");
    let started = Instant::now();
    let mut stream = stall_with(&server, &upload_head("/v1/presentations/verify", 1000)).await;
    let response = read_response(&mut stream, Duration::from_secs(5))
        .await
        .expect("an answer to a stalled body");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(response.status, 408);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("connection"), Some("close"));
    assert_error(
        StatusCode::REQUEST_TIMEOUT,
        &response.json(),
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
    );
    read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("then the connection is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let material = Material::new();
    let server = Server::start(&material.trust, &["--max-connections", "2"], "info");
    let first = TcpStream::connect(server.address()).await.unwrap();
    let _second = TcpStream::connect(server.address()).await.unwrap();
    let client = client();
    let url = server.url("/healthz");
    let third = tokio::spawn(async move {
        let response = client.get(url).send().await.unwrap();
        (response.status(), Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served beyond the cap of 2"
    );
    let closed = Instant::now();
    drop(first);
    let (status, answered) = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("served once a connection closes")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(answered >= closed);
    assert!(
        server.stderr().contains("connection cap reached"),
        "{}",
        server.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_byte_budget_get_503_before_their_body_is_read() {
    let material = Material::new();
    // Room for three 1 MiB bodies at once.
    let server = Server::start(
        &material.trust,
        &[
            "--max-body-bytes",
            "1048576",
            "--max-buffered-bytes",
            "3145728",
        ],
        "info",
    );
    let verify = server.url("/v1/presentations/verify");
    // Six uploads announce 1 MiB each and stall: three are charged and wait for
    // their bodies, three are refused at once.
    let mut uploads = Vec::new();
    for _ in 0..6 {
        uploads.push(stall_with(&server, &upload_head("/v1/presentations/verify", 1 << 20)).await);
    }
    let mut refused = 0;
    let mut waiting = Vec::new();
    for mut upload in uploads {
        match read_response(&mut upload, Duration::from_millis(1000)).await {
            Some(response) => {
                assert_eq!(response.status, 503);
                assert_eq!(response.header("retry-after"), Some("1"));
                assert_eq!(response.header("content-type"), Some("application/json"));
                assert_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &response.json(),
                    StatusCode::SERVICE_UNAVAILABLE,
                    "buffer_budget_exhausted",
                );
                refused += 1;
            }
            None => waiting.push(upload),
        }
    }
    assert_eq!((refused, waiting.len()), (3, 3));

    // While the budget is spent, a small body is refused too; a bodiless request is not.
    let client = client();
    let small = json!({"presentation": "x", "audience": AUDIENCE, "nonce": NONCE});
    let response = client.post(&verify).json(&small).send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = read_json(response).await;
    assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "buffer_budget_exhausted",
    );
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // The stalled uploads go; their charge comes back.
    drop(waiting);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = post_json(&client, &verify, &small).await;
        if status == StatusCode::OK {
            assert_eq!(body["kind"], "malformed", "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the budget never came back: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_answered_within_the_request_timeout_gets_503() {
    let material = Material::new();
    let server = Server::start(
        &material.trust,
        &["--max-body-bytes", "8388608", "--request-timeout-ms", "50"],
        "info",
    );
    let presentation = material.present(AUDIENCE, NONCE);
    let items: Vec<Value> = (0..1024)
        .map(|_| json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE}))
        .collect();
    let client = client();
    // 1,024 verifications take longer than 50 ms.
    let response = client
        .post(server.url("/v1/presentations/verify-batch"))
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = read_json(response).await;
    assert_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "timed_out");
    assert!(
        body["message"].as_str().unwrap().contains("50 ms"),
        "{body}"
    );
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_code_and_message_and_never_quotes_the_request() {
    let material = Material::new();
    let server = Server::start(&material.trust, &["--max-body-bytes", "65536"], "info");
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let batch = server.url("/v1/presentations/verify-batch");
    let presentation = material.present(AUDIENCE, NONCE);
    let secret = "SECRET-claim-value-eyJhbGciOiJFZERTQSJ9";
    let valid = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE});
    let with = |member: &str, value: Value| {
        let mut request = valid.clone();
        request[member] = value;
        request
    };
    // What is sent, as what, the answer expected, and its exact message if given.
    type Case<'a> = (
        &'a str,
        &'a str,
        String,
        StatusCode,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "syntax error after a quoted value",
            "application/json",
            format!("{{\"presentation\": \"{secret}\", "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Some("the body is not valid JSON (line 1, column 60)"),
        ),
        (
            "not declared JSON",
            "text/plain",
            valid.to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "an array for a string",
            "application/json",
            with("presentation", json!([secret])).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/presentation` must be a string, not an array"),
        ),
        (
            "an object for a string",
            "application/json",
            with("audience", json!({"claim": secret})).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/audience` must be a string, not an object"),
        ),
        (
            "a member the schema does not define, named by the client",
            "application/json",
            with(secret, json!(1)).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("the body has a member the schema does not define (allowed: presentation, audience, nonce, action, approval)"),
        ),
        (
            "the presentation under an unknown member",
            "application/json",
            with("extra", json!(presentation)).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            None,
        ),
        (
            "an array for the request object",
            "application/json",
            json!([presentation, AUDIENCE, NONCE]).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("the body must be an object, not an array"),
        ),
        (
            "a missing member",
            "application/json",
            json!({"presentation": presentation, "audience": AUDIENCE}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/nonce` is missing"),
        ),
        (
            "a nonce over the limit",
            "application/json",
            with("nonce", json!(secret.repeat(200))).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/nonce` is longer than 4096 characters"),
        ),
        (
            "an action of the wrong type",
            "application/json",
            with("action", json!(5)).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/action` must be a string or an object, not a number"),
        ),
        (
            "an action object with an empty resource",
            "application/json",
            with("action", json!({"scope": secret, "resource": ""})).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/action/resource` must not be empty"),
        ),
        (
            "a negative amount",
            "application/json",
            with("action", json!({"scope": "refunds:write", "resource": "https://shop.example", "amount": -1})).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/action/amount` must be at least 0"),
        ),
        (
            "an approval without the action it approves",
            "application/json",
            with("approval", json!(secret)).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/approval` needs `/action` (the action it approves)"),
        ),
        (
            "an action text not in the text form",
            "application/json",
            with("action", json!(format!("refunds:write {secret} twenty"))).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            None,
        ),
        (
            "an action object with a member the schema does not define",
            "application/json",
            with("action", json!({"scope": "refunds:write", "resource": "https://shop.example", secret: 1})).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            Some("`/action` has a member the schema does not define (allowed: scope, resource, amount, currency)"),
        ),
        (
            "a body over the limit",
            "application/json",
            with("presentation", json!(secret.repeat(2000))).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            Some("the body is larger than 65536 bytes"),
        ),
    ];
    let jwt_head = presentation.split('.').next().unwrap();
    let jwt_tail = &presentation[presentation.len() - 40..];
    let quoted = |message: &str| {
        [secret, jwt_head, jwt_tail, NONCE, "SECRET"]
            .iter()
            .find(|fragment| message.contains(**fragment))
            .map(|fragment| (*fragment).to_owned())
    };
    for (what, content_type, body, status, code, message) in &cases {
        let (got, answer) = post_raw(&client, &verify, content_type, body.clone()).await;
        assert_error(got, &answer, *status, code);
        let text = answer["message"].as_str().unwrap();
        if let Some(message) = message {
            assert_eq!(text, *message, "{what}");
        }
        assert_eq!(quoted(text), None, "{what}: {answer}");
    }

    // In a batch, the item is named by its position.
    let items = json!({"items": [valid, with("presentation", json!(7))]});
    let (status, body) = post_json(&client, &batch, &items).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(
        body["message"],
        "`/items/1/presentation` must be a string, not a number"
    );
    let (status, body) = post_json(&client, &batch, &json!({"items": {"0": valid}})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(body["message"], "`/items` must be an array, not an object");

    // Routes and methods.
    let response = client
        .get(server.url(&format!("/{secret}")))
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(response).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let response = client.delete(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    let (status, body) = read_json(response).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    // Nor does the log.
    let log = server.stderr();
    assert!(!log.contains("SECRET"), "{log}");
    assert!(!log.contains(jwt_head), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_turns_degraded_when_a_status_list_expires_and_says_since_when() {
    let list_expires_at = unix_now() + 4;
    let material = Material::with_status_list(list_expires_at);
    let status = material.status.clone().unwrap();
    let server = Server::start(
        &material.trust,
        &["--status", status.to_str().unwrap()],
        "info",
    );
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let request = json!({"presentation": material.present(AUDIENCE, NONCE), "audience": AUDIENCE, "nonce": NONCE});

    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(
        read_json(health).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let (status, body) = post_json(&client, &verify, &request).await;
    assert_eq!(
        (status, &body["valid"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );

    // Past the list's exp: degraded, still 200, naming the list and since when.
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        let response = client.get(server.url("/healthz")).send().await.unwrap();
        let (status, body) = read_json(response).await;
        assert_eq!(status, StatusCode::OK);
        if body["status"] == "degraded" {
            break body;
        }
        assert_eq!(body, json!({"status": "ok"}));
        assert!(Instant::now() < deadline, "never degraded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(unix_now() > list_expires_at);
    let lists = body["status_lists"].as_array().unwrap();
    assert_eq!(lists.len(), 1, "{body}");
    assert_eq!(lists[0]["uri"], STATUS_URI);
    assert!(
        lists[0]["reason"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let since = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + Duration::from_secs(list_expires_at),
    )
    .to_string();
    assert_eq!(lists[0]["since"], since.as_str(), "{body}");
    assert_conforms(&body, "Health");

    // Credentials that reference it are refused as status unknown, not revoked.
    let (status, body) = post_json(&client, &verify, &request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], false, "{body}");
    assert_eq!(body["kind"], "status_unknown", "{body}");
    assert_conforms(&body, "Verdict");

    // One warning for the transition, however many requests and seconds follow.
    server.wait_for_log("status list unusable");
    for _ in 0..5 {
        let _ = client.get(server.url("/healthz")).send().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let log = server.stderr();
    assert_eq!(log.matches("status list unusable").count(), 1, "{log}");
    assert!(log.contains(STATUS_URI), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_json_is_served_as_written_and_documents_every_route() {
    let material = Material::new();
    // With OpenID4VP and the authorization server on, so that their routes are
    // served too.
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let token_key = write_token_key(state.path());
    let oid4vp = [
        "--public-url",
        "http://localhost:9",
        "--client-id-prefix",
        "redirect_uri",
        "--state",
        state_dir,
        "--token-key",
        token_key.to_str().unwrap(),
    ];
    let server = Server::start(&material.trust, &oid4vp, "info");
    let client = client();
    let response = client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.unwrap();
    assert_eq!(served, OPENAPI);
    let document: Value = serde_json::from_str(&served).expect("valid JSON");
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );

    // Its schemas hold (tests here check the answers against them).
    for (name, wrong) in [
        ("Error", json!({"code": "no_such_code", "message": "x"})),
        ("Error", json!({"error": "x"})),
        ("Verdict", json!({"valid": true})),
        ("Verdict", json!({"valid": false, "kind": "revoked"})),
        ("Health", json!({"status": "degraded", "status_lists": []})),
    ] {
        assert!(!schema_validator(name).is_valid(&wrong), "{name}: {wrong}");
    }

    // Every documented operation is served (a POST of `{}` is answered 422, or 400
    // at the token endpoint, not 404 or 405; on a path with an `{id}`, which names no request here, anything
    // but the router's 404 `not_found` and 405); the methods not documented on a
    // path are 405.
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 13);
    for (path, item) in paths {
        let url = server.url(path);
        for method in ["get", "post", "put", "delete", "patch"] {
            let response = client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status();
            if item.get(method).is_some() && path.contains('{') {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && body["code"] != "not_found",
                    "{method} {path}: {status} {body}"
                );
            } else if path == "/v1/oauth/authorize" && method == "get" {
                let body: Value = response.json().await.unwrap();
                assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
                assert_eq!(body["error"], "unsupported_response_type", "{body}");
            } else if path == "/v1/oauth/token" && method == "post" {
                // The token endpoint answers in the OAuth shape: 400 for a body
                // that is not a token request form.
                let body: Value = response.json().await.unwrap();
                assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
                assert_eq!(body["error"], "invalid_request", "{body}");
            } else if item.get(method).is_some() {
                assert!(
                    status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{method} {path}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Authorization: the request's `action`, decided after verification.

/// The refund the task credential of [`Material::on_behalf_of`] allows, without
/// its amount.
const REFUND: &str = "refunds:write https://shop.example/orders/1234";

/// A principal's wallet, and the status list token it published (every approval
/// it issues is on it).
struct Principal {
    dir: tempfile::TempDir,
    wallet: Wallet,
}

impl Principal {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let wallet = Wallet::create(
            &dir.path().join("wallet"),
            &Passphrase::new("principal passphrase"),
            &KdfParams::MINIMUM,
            Algorithm::EdDSA,
            unix_now(),
        )
        .unwrap();
        Principal { dir, wallet }
    }

    fn did(&self) -> String {
        self.wallet.did().to_owned()
    }

    /// The principal approves `action` (text form) for `agent`: the approval and its
    /// `jti`.
    fn approve(&mut self, agent: &SigningKey, action: &str) -> (String, String) {
        let action = Action::parse(action).unwrap();
        let approval = self
            .wallet
            .approve(&agent.did().unwrap(), &action, 300, unix_now())
            .unwrap();
        (approval.sd_jwt, approval.credential_id)
    }

    /// The principal's status list token as it is now, in a file named `name`.
    fn publish_status(&mut self, name: &str) -> PathBuf {
        let token = self.wallet.publish_status(unix_now(), 3600).unwrap();
        let path = self.dir.path().join(name);
        std::fs::write(&path, token).unwrap();
        path
    }
}

/// A verify request for `presentation`, naming `action` (and `approval`).
fn asking(presentation: &str, action: Value, approval: Option<&str>) -> Value {
    let mut request = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE, "action": action});
    if let Some(approval) = approval {
        request["approval"] = json!(approval);
    }
    request
}

/// The object form of a text action.
fn action_object(text: &str) -> Value {
    Action::parse(text).unwrap().to_json()
}

/// What `agentid verify --json` answers for the same presentation, action and
/// approval, with the same trust file and status tokens.
fn cli_answer(
    material: &Material,
    presentation: &str,
    action: &str,
    approval: Option<&str>,
    status: &[&Path],
) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("presentation");
    std::fs::write(&input, presentation).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
    command
        .args(["verify", "--json", "--audience", AUDIENCE, "--nonce", NONCE])
        .arg("--trust")
        .arg(&material.trust)
        .args(["--action", action]);
    if let Some(approval) = approval {
        let path = dir.path().join("approval");
        std::fs::write(&path, approval).unwrap();
        command.arg("--approval").arg(path);
    }
    for token in status {
        command.arg("--status").arg(token);
    }
    let output = command.arg(&input).output().unwrap();
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "agentid verify --json printed no JSON: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn denied(reason: &str) -> Value {
    json!({"valid": false, "kind": "denied", "reason": reason})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_authorizes_the_action_a_request_names() {
    let principal = SigningKey::generate(Algorithm::EdDSA).did().unwrap();
    let material = Material::on_behalf_of(&principal);
    let mut server = Server::start(&material.trust, &[], "info");
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let presentation = material.present(AUDIENCE, NONCE);

    // Within the limits: allowed, saying what was checked.
    let within = format!("{REFUND} 15 EUR");
    let (status, allowed) = post_json(
        &client,
        &verify,
        &asking(&presentation, json!(within), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{allowed}");
    assert_conforms(&allowed, "Verdict");
    assert_eq!(allowed["valid"], true, "{allowed}");
    assert_eq!(allowed["holder_binding_checked"], true);
    assert_eq!(allowed["status_checked"], false);
    assert_eq!(
        allowed["authorization"],
        json!({
            "action": {"scope": "refunds:write", "resource": "https://shop.example/orders/1234", "amount": 15.0, "currency": "EUR"},
            "delegated": false,
            "constraints": ["approval_above", "currency", "max_amount"],
            "approval_checked": false
        })
    );
    assert_eq!(allowed["verified"]["issuer"], material.issuer.as_str());
    // The object form of the same action gets the same answer; so does the CLI.
    let (_, as_object) = post_json(
        &client,
        &verify,
        &asking(&presentation, action_object(&within), None),
    )
    .await;
    assert_eq!(as_object, allowed);
    assert_eq!(
        cli_answer(&material, &presentation, &within, None, &[]),
        allowed
    );

    // Denied: still 200, a verdict; the same in both forms and from the CLI.
    for (action, reason) in [
        (
            format!("{REFUND} 60 EUR"),
            "action denied: amount 60 exceeds the limit 50",
        ),
        (
            format!("{REFUND} 15 USD"),
            "action denied: the credential's limits are in EUR; the action is in USD",
        ),
        (
            format!("{REFUND} 15"),
            "action denied: the credential's limits are in EUR; the action is in no stated currency",
        ),
        (
            "refunds:write https://shop.example/orders/9999 5 EUR".to_owned(),
            "action denied: resource https://shop.example/orders/9999 is outside the granted resources",
        ),
        (
            format!("{} 5 EUR", REFUND.replace("refunds:write", "payments:write")),
            "action denied: scope payments:write is not granted",
        ),
    ] {
        for form in [json!(action), action_object(&action)] {
            let (status, body) =
                post_json(&client, &verify, &asking(&presentation, form, None)).await;
            assert_eq!((status, &body), (StatusCode::OK, &denied(reason)), "{action}");
            assert_conforms(&body, "Verdict");
        }
        assert_eq!(
            cli_answer(&material, &presentation, &action, None, &[]),
            denied(reason)
        );
    }

    // Without an action: the same members, `authorization` null.
    let plain = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE});
    let (status, body) = post_json(&client, &verify, &plain).await;
    assert_eq!(status, StatusCode::OK);
    assert_conforms(&body, "Verdict");
    let members: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        members,
        [
            "authorization",
            "holder_binding_checked",
            "status_checked",
            "valid",
            "verified"
        ]
    );
    assert_eq!(body["authorization"], Value::Null);
    assert_eq!(body["verified"], allowed["verified"]);

    // A presentation that does not verify is rejected before any authorization.
    let (_, body) = post_json(&client, &verify, &asking("garbage", json!(within), None)).await;
    assert_eq!(
        (&body["valid"], &body["kind"]),
        (&json!(false), &json!("malformed"))
    );

    // The decision lines say whether the action was authorized, never what it was.
    server.terminate();
    assert_eq!(server.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let log = server.stderr();
    let decisions: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" decision "))
        .collect();
    assert_eq!(decisions.len(), 2 + 5 * 2 + 1 + 1, "{log}");
    assert!(
        decisions[0].contains("valid=true") && decisions[0].contains("authorized=true"),
        "{log}"
    );
    assert!(
        decisions[2].contains("valid=false")
            && decisions[2].contains("kind=\"denied\"")
            && decisions[2].contains("authorized=false"),
        "{log}"
    );
    assert!(
        decisions[12].contains("valid=true") && !decisions[12].contains("authorized"),
        "{log}"
    );
    assert!(
        decisions[13].contains("kind=\"malformed\"") && decisions[13].contains("authorized=false"),
        "{log}"
    );
    for secret in [
        "refunds:write",
        "payments:write",
        "shop.example",
        "EUR",
        "USD",
        "exceeds",
        NONCE,
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_over_http_is_checked_like_the_cli_checks_it() {
    let mut principal = Principal::new();
    let material = Material::on_behalf_of(&principal.did());
    let above = format!("{REFUND} 45 EUR");
    let (approval, approval_jti) = principal.approve(&material.agent, &above);
    let token = principal.publish_status("status.jwt");
    let server = Server::start(
        &material.trust,
        &["--status", token.to_str().unwrap()],
        "info",
    );
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let presentation = material.present(AUDIENCE, NONCE);

    // An approval by someone other than the principal, in the approval's shape.
    let stranger = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let approved = Action::parse(&above).unwrap();
    let forged = stranger
        .issue(
            &CredentialRequest {
                vct: APPROVAL_VCT.into(),
                subject: material.agent.did().unwrap(),
                holder_key: material.agent.public_key().clone(),
                claims: json!({"action": approved.to_json(), "action_digest": approved.digest()})
                    .as_object()
                    .cloned()
                    .unwrap(),
                disclosable: Vec::new(),
                lifetime_secs: 300,
                committed: Vec::new(),
            },
            unix_now(),
        )
        .unwrap()
        .sd_jwt;

    // (what, action, approval, the reason of the denial or None when allowed)
    let cases: [(&str, String, Option<&str>, Option<&str>); 5] = [
        (
            "above approval_above, without an approval",
            above.clone(),
            None,
            Some("action denied: amounts above 20 need the principal's approval"),
        ),
        (
            "with the principal's approval of it",
            above.clone(),
            Some(&approval),
            None,
        ),
        (
            "an approval of another amount",
            format!("{REFUND} 40 EUR"),
            Some(&approval),
            Some("action denied: approval rejected: approves another action"),
        ),
        (
            "an approval by someone else",
            above.clone(),
            Some(&forged),
            Some("action denied: approval rejected: "),
        ),
        (
            "at approval_above, no approval is needed",
            format!("{REFUND} 20 EUR"),
            None,
            None,
        ),
    ];
    for (what, action, approval, reason) in &cases {
        let (status, body) = post_json(
            &client,
            &verify,
            &asking(&presentation, json!(action), *approval),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        assert_conforms(&body, "Verdict");
        match reason {
            None => {
                assert_eq!(body["valid"], true, "{what}: {body}");
                assert_eq!(
                    body["authorization"]["approval_checked"],
                    approval.is_some(),
                    "{what}: {body}"
                );
            }
            Some(reason) => {
                assert_eq!(body["kind"], "denied", "{what}: {body}");
                assert!(
                    body["reason"].as_str().unwrap().starts_with(reason),
                    "{what}: {body}"
                );
            }
        }
        let (_, as_object) = post_json(
            &client,
            &verify,
            &asking(&presentation, action_object(action), *approval),
        )
        .await;
        assert_eq!(as_object, body, "{what}");
        assert_eq!(
            cli_answer(
                &material,
                &presentation,
                action,
                *approval,
                &[token.as_path()]
            ),
            body,
            "{what}"
        );
    }

    // Revoked by the principal: its status list, given to the service, says so.
    principal.wallet.revoke(&approval_jti, unix_now()).unwrap();
    let revoked = principal.publish_status("revoked.jwt");
    let after = Server::start(
        &material.trust,
        &["--status", revoked.to_str().unwrap()],
        "info",
    );
    let (status, body) = post_json(
        &client,
        &after.url("/v1/presentations/verify"),
        &asking(&presentation, json!(above), Some(&approval)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "denied", "{body}");
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("action denied: approval rejected: ") && reason.contains("revoked"),
        "{body}"
    );
    assert_eq!(
        cli_answer(
            &material,
            &presentation,
            &above,
            Some(&approval),
            &[revoked.as_path()]
        ),
        body
    );
    // The service that still holds the earlier list allows it, as the CLI would.
    let (_, body) = post_json(
        &client,
        &verify,
        &asking(&presentation, json!(above), Some(&approval)),
    )
    .await;
    assert_eq!(body["valid"], true, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_item_authorizes_its_own_action() {
    let mut principal = Principal::new();
    let material = Material::on_behalf_of(&principal.did());
    let above = format!("{REFUND} 45 EUR");
    let (approval, _) = principal.approve(&material.agent, &above);
    let status = principal.publish_status("status.jwt");
    let server = Server::start(
        &material.trust,
        &["--status", status.to_str().unwrap()],
        "info",
    );
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let batch = server.url("/v1/presentations/verify-batch");
    let presentation = material.present(AUDIENCE, NONCE);
    let plain = json!({"presentation": presentation, "audience": AUDIENCE, "nonce": NONCE});
    let items = [
        plain.clone(),
        asking(&presentation, json!(format!("{REFUND} 15 EUR")), None),
        asking(&presentation, json!(format!("{REFUND} 60 EUR")), None),
        asking(&presentation, action_object(&above), Some(&approval)),
        asking(&presentation, json!(above), None),
        asking("garbage", json!(above), Some(&approval)),
    ];
    let (status, body) = post_json(&client, &batch, &json!({ "items": items })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_conforms(&body, "BatchResponse");
    let results = body["results"].as_array().unwrap();
    let outcomes: Vec<(&Value, &Value, &Value)> = results
        .iter()
        .map(|r| {
            (
                &r["valid"],
                &r["kind"],
                &r["authorization"]["approval_checked"],
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (&json!(true), &Value::Null, &Value::Null),
            (&json!(true), &Value::Null, &json!(false)),
            (&json!(false), &json!("denied"), &Value::Null),
            (&json!(true), &Value::Null, &json!(true)),
            (&json!(false), &json!("denied"), &Value::Null),
            (&json!(false), &json!("malformed"), &Value::Null),
        ]
    );
    assert_eq!(results[0]["authorization"], Value::Null);
    // Each answer is the one the item gets on its own.
    for (item, result) in items.iter().zip(results) {
        let (_, alone) = post_json(&client, &verify, item).await;
        assert_eq!(&alone, result, "{item}");
    }

    // An item's approval needs that item's action.
    let mut orphan = plain.clone();
    orphan["approval"] = json!(approval);
    let (status, body) = post_json(&client, &batch, &json!({"items": [items[1], orphan]})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(
        body["message"],
        "`/items/1/approval` needs `/items/1/action` (the action it approves)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_action_is_refused_with_422_naming_the_member() {
    let material = Material::new();
    let server = Server::start(&material.trust, &[], "info");
    let client = client();
    let verify = server.url("/v1/presentations/verify");
    let batch = server.url("/v1/presentations/verify-batch");
    let presentation = material.present(AUDIENCE, NONCE);
    let text_form = "`/action` must be 'SCOPE RESOURCE [AMOUNT [CURRENCY]]' (visible ASCII words \
                     separated by spaces, AMOUNT decimal digits with at most 15 before and after \
                     the point, CURRENCY three capital letters) or an object";
    let resource = "https://shop.example/orders/1234";
    for (action, message) in [
        (json!("refunds:write"), text_form),
        (
            json!(format!("refunds:write {resource} twenty EUR")),
            text_form,
        ),
        (json!(format!("refunds:write {resource} 1e3")), text_form),
        (json!(format!("refunds:write {resource} 5 eur")), text_form),
        (
            json!(format!("refunds:write {resource} 5 EUR extra")),
            text_form,
        ),
        (json!(format!("refunds:write\t{resource}")), text_form),
        (json!(""), "`/action` must not be empty"),
        (
            json!({"scope": "refunds:write", "resource": resource, "currency": "EUR"}),
            "`/action/currency` needs `/action/amount` (the amount it is the currency of)",
        ),
        (
            json!({"scope": "refunds:write", "resource": resource, "amount": 5, "currency": "eur"}),
            "`/action/currency` must be three capital letters (ISO 4217)",
        ),
        (
            json!({"scope": "refunds:write", "resource": resource, "amount": 5, "currency": 978}),
            "`/action/currency` must be a string, not a number",
        ),
        (
            json!({"scope": "refunds:write", "resource": resource, "amount": "5"}),
            "`/action/amount` must be a number, not a string",
        ),
        (
            json!({"scope": "refunds:write"}),
            "`/action/resource` is missing",
        ),
        (
            json!(null),
            "`/action` must be a string or an object, not null",
        ),
    ] {
        let (status, body) = post_json(
            &client,
            &verify,
            &asking(&presentation, action.clone(), None),
        )
        .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        );
        assert_eq!(body["message"], message, "{action}");
    }
    let bad =
        json!({"scope": "refunds:write", "resource": resource, "amount": 5, "currency": "eur"});
    let items = json!({"items": [
        asking(&presentation, json!(format!("refunds:write {resource} 5 EUR")), None),
        asking(&presentation, bad, None),
    ]});
    let (status, body) = post_json(&client, &batch, &items).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(
        body["message"],
        "`/items/1/action/currency` must be three capital letters (ISO 4217)"
    );
}

// ---------------------------------------------------------------------------
// schemathesis: requests generated from the OpenAPI document.

/// The schemathesis settings (which statuses each check accepts, and why).
const SCHEMATHESIS_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/schemathesis.toml");

/// The longest a schemathesis run may take (it takes seconds).
const SCHEMATHESIS_TIME_LIMIT: Duration = Duration::from_secs(300);

/// The peer interpreter when schemathesis is importable in it, or `None` after
/// saying why the test is skipped.
fn schemathesis_python() -> Option<String> {
    let python = match std::env::var("AGENTID_PEER_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => {
            println!("skipped: AGENTID_PEER_PYTHON not set (run .ci/install-peers)");
            return None;
        }
    };
    let found = Command::new(&python)
        .args(["-c", "import schemathesis"])
        .output();
    match found {
        Ok(output) if output.status.success() => Some(python),
        Ok(output) => {
            println!(
                "skipped: schemathesis is not importable in {python} (run .ci/install-peers): {}",
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            );
            None
        }
        Err(error) => {
            println!("skipped: cannot run {python}: {error}");
            None
        }
    }
}

/// schemathesis reads `/openapi.json` from the running service and sends what it
/// derives from it: schema examples, boundary and wrong-type values for every
/// member (coverage), and random valid and invalid bodies (fuzzing), at most 50
/// per operation. Every answer is checked against the document: no server error,
/// a documented status, content type, headers and body, invalid requests refused
/// and valid ones accepted.
#[test]
fn schemathesis_finds_nothing_the_openapi_document_does_not_say() {
    let Some(python) = schemathesis_python() else {
        return;
    };
    let material = Material::new();
    // With OpenID4VP and the authorization server on, so that their operations
    // are fuzzed where they work.
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let token_key = write_token_key(state.path());
    let oid4vp = [
        "--public-url",
        "http://localhost:9",
        "--client-id-prefix",
        "redirect_uri",
        "--state",
        state_dir,
        "--token-key",
        token_key.to_str().unwrap(),
    ];
    let server = Server::start(&material.trust, &oid4vp, "info");
    let scratch = tempfile::tempdir().unwrap();
    let child = Command::new(&python)
        .args([
            "-m",
            "schemathesis.cli",
            "--config-file",
            SCHEMATHESIS_CONFIG,
        ])
        .arg("run")
        .arg(server.url("/openapi.json"))
        .args([
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "50",
            "--request-timeout",
            "10",
            "--workers",
            "1",
            // A fixed seed: the same requests on every run; change it to explore.
            "--seed",
            "20261201",
            "--generation-database",
            "none",
            "--no-color",
        ])
        // Nothing written into the repository.
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run schemathesis");
    let pid = child.id();
    let (done, finished) = channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(SCHEMATHESIS_TIME_LIMIT) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("schemathesis did not finish within {SCHEMATHESIS_TIME_LIMIT:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{}\nservice log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.stderr()
    );
    assert!(stdout.contains("No issues found"), "{stdout}");
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");
}

/// A fresh P-256 access-token signing key, PKCS#8 PEM, in `dir`.
fn write_token_key(dir: &Path) -> std::path::PathBuf {
    use p256::pkcs8::EncodePrivateKey as _;
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let path = dir.join("token-key.pem");
    std::fs::write(&path, pem.as_bytes()).unwrap();
    path
}
