//! Loopback load test of `agentid serve verifier`, next to the in-process rate of
//! the verifier on the same presentations.
//!
//! It starts the built `agentid` binary (`serve verifier --listen 127.0.0.1:0`),
//! runs `CLIENTS` concurrent keep-alive HTTP/1.1 clients against
//! `POST /v1/presentations/verify` with valid presentations (each its own nonce)
//! until `REQUESTS` requests are answered or `MAX_TIME` has passed, requires every
//! answer to be `200 {"valid": true, …}`, and prints requests per second and
//! latency percentiles. It then times `Verifier::verify_presentation` on one
//! thread and on every core, `Verifier::verify_batch`, and both paths on
//! presentations whose key-binding signature is forged (the batch path's worst
//! case: every batch fails and is bisected). Client, server and in-process runs
//! share the machine's cores: the HTTP rate is a floor for a dedicated server.
//!
//! `cargo bench --bench service_load` runs the full load; under `cargo test
//! --benches` (no `--bench` argument) it makes a tiny run as a smoke test. Traffic
//! goes to the loopback address only, bounded in count and time.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentid_verifier::{Algorithm, BatchItem, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::{present, unix_now, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use serde_json::json;

const AUDIENCE: &str = "https://payments.bank.example";

struct Load {
    requests: usize,
    clients: usize,
    max_time: Duration,
    presentations: usize,
    in_process: usize,
}

const FULL: Load = Load {
    requests: 20_000,
    clients: 16,
    max_time: Duration::from_secs(20),
    presentations: 512,
    in_process: 8_192,
};

const SMOKE: Load = Load {
    requests: 50,
    clients: 4,
    max_time: Duration::from_secs(20),
    presentations: 16,
    in_process: 64,
};

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let load = if full { FULL } else { SMOKE };

    let dir = tempfile::tempdir().unwrap();
    let (verifier, trust_path, presentations) = material(&dir, load.presentations);

    // The service under load.
    let mut server = Command::new(env!("CARGO_BIN_EXE_agentid"))
        .args(["serve", "verifier", "--listen", "127.0.0.1:0", "--trust"])
        .arg(&trust_path)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start agentid serve verifier");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            stop(&mut server);
            panic!("unexpected first line from the service: {first:?}")
        })
        .to_owned();
    assert!(
        address.starts_with("127.0.0.1:"),
        "loopback only: {address}"
    );

    let bodies: Vec<String> = presentations
        .iter()
        .map(|(presentation, request)| {
            json!({"presentation": presentation, "audience": request.audience, "nonce": request.nonce})
                .to_string()
        })
        .collect();
    let report = http_load(&address, bodies, &load);
    stop(&mut server);
    let exit = server.wait().unwrap();

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Warm-up (caches, clock frequency) before the timed runs.
    in_process_single(&verifier, &presentations, load.in_process / 4);
    let single = in_process_single(&verifier, &presentations, load.in_process);
    let parallel = in_process_parallel(&verifier, &presentations, load.in_process, cores);
    let batch = in_process_batch(&verifier, &presentations, load.in_process);
    let forged: Vec<(String, PresentationRequest)> = presentations
        .iter()
        .map(|(presentation, request)| (forge_kb_signature(presentation), request.clone()))
        .collect();
    let forged_n = load.in_process / 4;
    let forged_single = in_process_single(&verifier, &forged, forged_n);
    let forged_batch = in_process_batch(&verifier, &forged, forged_n);

    println!(
        "service_load ({}): {} clients, keep-alive HTTP/1.1 on {address}, {cores} cores shared by client and server",
        if full { "full" } else { "smoke" },
        load.clients
    );
    println!(
        "  HTTP  POST /v1/presentations/verify: {} requests in {:.2} s = {:.0} req/s, errors {}; latency p50 {} us, p99 {} us, max {} us",
        report.done,
        report.elapsed.as_secs_f64(),
        report.done as f64 / report.elapsed.as_secs_f64(),
        report.errors,
        report.percentile(0.50),
        report.percentile(0.99),
        report.percentile(1.0),
    );
    println!("  in-process verify_presentation, 1 thread:   {single:>8.0} /s");
    println!("  in-process verify_presentation, {cores} threads:  {parallel:>8.0} /s");
    println!("  in-process verify_batch (chunks of 1024):   {batch:>8.0} /s");
    println!(
        "  forged KB signatures: verify_presentation {forged_single:.0} /s, verify_batch {forged_batch:.0} /s (bisection)"
    );
    println!("  service exit status after SIGTERM: {exit}");

    assert_eq!(report.errors, 0, "every request answered 200 valid");
    assert!(report.done > 0);
    assert!(exit.success(), "the service stops cleanly on SIGTERM");
}

/// A trusted Ed25519 issuer, a trust file, and `count` presentations, each for its
/// own nonce, made now (the service reads the clock).
fn material(
    dir: &tempfile::TempDir,
    count: usize,
) -> (
    Verifier,
    std::path::PathBuf,
    Vec<(String, PresentationRequest)>,
) {
    let now = unix_now();
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "refund order 1234"},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "audience": [AUDIENCE],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
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
    let disclosed = [
        "task.purpose".parse().unwrap(),
        "on_behalf_of".parse().unwrap(),
    ];
    let presentations = (0..count)
        .map(|i| {
            let request = PresentationRequest::new(AUDIENCE, format!("nonce-{i:06}"));
            let presentation = present(&credential, &agent, &disclosed, &request, now).unwrap();
            (presentation, request)
        })
        .collect();
    let trust_path = dir.path().join("trust.json");
    std::fs::write(
        &trust_path,
        json!({"issuers": [{"id": issuer.id()}]}).to_string(),
    )
    .unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    (
        Verifier::new(trust, Policy::default()),
        trust_path,
        presentations,
    )
}

struct Report {
    done: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Report {
    fn percentile(&self, p: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let index = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[index]
    }
}

/// `load.clients` keep-alive clients share the work until `load.requests` are
/// answered or `load.max_time` has passed.
fn http_load(address: &str, bodies: Vec<String>, load: &Load) -> Report {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://{address}/v1/presentations/verify");
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let requests = load.requests;
    let deadline = Instant::now() + load.max_time;
    runtime.block_on(async {
        // reqwest's rustls backend (the product's) takes the process-wide provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(load.clients)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let started = Instant::now();
        let tasks: Vec<_> = (0..load.clients)
            .map(|_| {
                let (client, url, bodies, next) = (
                    client.clone(),
                    url.clone(),
                    Arc::clone(&bodies),
                    Arc::clone(&next),
                );
                tokio::spawn(async move {
                    let mut errors = 0usize;
                    let mut latencies = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= requests || Instant::now() >= deadline {
                            break;
                        }
                        let body = bodies[i % bodies.len()].clone();
                        let sent = Instant::now();
                        let answer = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        let ok = match answer {
                            Ok(response) if response.status().is_success() => response
                                .text()
                                .await
                                .is_ok_and(|text| text.starts_with("{\"valid\":true,")),
                            _ => false,
                        };
                        latencies
                            .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                        if !ok {
                            errors += 1;
                        }
                    }
                    (errors, latencies)
                })
            })
            .collect();
        let mut report = Report {
            done: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
        };
        for task in tasks {
            let (errors, latencies) = task.await.unwrap();
            report.errors += errors;
            report.done += latencies.len();
            report.latencies_us.extend(latencies);
        }
        report.elapsed = started.elapsed();
        report.latencies_us.sort_unstable();
        report
    })
}

/// SIGTERM by process id, then the process is waited for by the caller.
fn stop(server: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
}

fn in_process_single(
    verifier: &Verifier,
    presentations: &[(String, PresentationRequest)],
    count: usize,
) -> f64 {
    let now = unix_now();
    let started = Instant::now();
    for i in 0..count {
        let (presentation, request) = &presentations[i % presentations.len()];
        std::hint::black_box(
            verifier
                .verify_presentation(presentation, request, now)
                .is_ok(),
        );
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn in_process_parallel(
    verifier: &Verifier,
    presentations: &[(String, PresentationRequest)],
    count: usize,
    threads: usize,
) -> f64 {
    let now = unix_now();
    let per_thread = count.div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for i in 0..per_thread {
                    let (presentation, request) =
                        &presentations[(t * per_thread + i) % presentations.len()];
                    std::hint::black_box(
                        verifier
                            .verify_presentation(presentation, request, now)
                            .is_ok(),
                    );
                }
            });
        }
    });
    (per_thread * threads) as f64 / started.elapsed().as_secs_f64()
}

fn in_process_batch(
    verifier: &Verifier,
    presentations: &[(String, PresentationRequest)],
    count: usize,
) -> f64 {
    let now = unix_now();
    let items: Vec<BatchItem<'_>> = (0..count)
        .map(|i| {
            let (presentation, request) = &presentations[i % presentations.len()];
            BatchItem {
                presentation,
                request,
            }
        })
        .collect();
    let started = Instant::now();
    for chunk in items.chunks(1024) {
        std::hint::black_box(verifier.verify_batch(chunk, now).len());
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// The same presentation with one character of the KB-JWT's signature changed.
fn forge_kb_signature(presentation: &str) -> String {
    let at = presentation.rfind('.').unwrap() + 10;
    let mut bytes = presentation.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}
