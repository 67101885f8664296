//! Three `agentid serve issuer` nodes on one PostgreSQL schema (the same
//! `--public-url` and `--state-secret`), hammered at once over loopback: every
//! status list entry handed out once, every acknowledged credential recorded with
//! the entry its answer named, a revocation through one node in another's list, and
//! one node killed with SIGKILL mid-run without the others noticing or anything it
//! acknowledged being lost.
//!
//! Bounded: [`PER_NODE`] credentials per node (3 × 2,000, the figure) from
//! [`CLIENTS_PER_NODE`] keep-alive clients per node, each request with a freshly
//! signed client assertion and a fresh agent key; the middle node is killed once it
//! has acknowledged [`KILL_AFTER`]. Measured at about 12 s for the whole test in a
//! debug build on two cores (the service's cryptography is optimized in debug
//! builds too).
//!
//! Runs on the PostgreSQL database `AGENTID_TEST_POSTGRES` names (a fresh schema,
//! dropped afterwards); skipped, saying so, when it is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "issuer/harness.rs"]
mod harness;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentid_verifier::{Algorithm, PresentationRequest, RejectionKind};
use agentid_wallet::{present, SigningKey};
use base64::Engine as _;
use harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Credentials each node is asked for.
const PER_NODE: usize = 2_000;
/// Clients at once per node, each one request at a time.
const CLIENTS_PER_NODE: usize = 8;
/// Acknowledged credentials of the middle node before it is killed.
const KILL_AFTER: usize = PER_NODE / 3;
const PUBLIC_URL: &str = "https://issuer.example";

/// A credential a node answered 201 for.
struct Acked {
    jti: String,
    /// `{uri, idx}` as the answer named it.
    status: Value,
    credential: String,
    agent: SigningKey,
}

/// What one node's clients saw: the credentials acknowledged, and every other outcome.
#[derive(Default)]
struct Seen {
    acked: Vec<Acked>,
    failures: Vec<String>,
}

/// Requests one credential: the credential, or the answer other than 201.
async fn mint_once(
    world: &World,
    http: &reqwest::Client,
    url: &str,
) -> Result<Result<Acked, String>, reqwest::Error> {
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let body = task_request(&agent.did().unwrap());
    let token = world.orchestrator.assertion(PUBLIC_URL);
    let response = http.post(url).bearer_auth(token).json(&body).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != StatusCode::CREATED {
        return Ok(Err(format!("{status}: {text}")));
    }
    let answer: Value = serde_json::from_str(&text).unwrap();
    Ok(Ok(Acked {
        jti: answer["jti"].as_str().unwrap().to_owned(),
        status: answer["status"].clone(),
        credential: answer["credential"].as_str().unwrap().to_owned(),
        agent,
    }))
}

/// One node's clients, minting until `PER_NODE` requests have been made; a client
/// stops at its first transport error (a killed node refuses connections).
async fn hammer(world: Arc<World>, url: String, acked: Arc<AtomicUsize>) -> Seen {
    let http = client();
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS_PER_NODE)
        .map(|_| {
            let (world, http, url) = (Arc::clone(&world), http.clone(), url.clone());
            let (next, acked) = (Arc::clone(&next), Arc::clone(&acked));
            tokio::spawn(async move {
                let mut seen = Seen::default();
                while next.fetch_add(1, Ordering::Relaxed) < PER_NODE {
                    match mint_once(&world, &http, &url).await {
                        Ok(Ok(credential)) => {
                            seen.acked.push(credential);
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Err(refusal)) => seen.failures.push(refusal),
                        Err(error) => {
                            seen.failures.push(format!("transport: {error}"));
                            break;
                        }
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = Seen::default();
    for client in clients {
        let seen = client.await.unwrap();
        all.acked.extend(seen.acked);
        all.failures.extend(seen.failures);
    }
    all
}

/// The `status` claim the credential itself carries, and its `jti`.
fn signed_status(credential: &str) -> (Value, String) {
    let jwt = credential.split('~').next().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    (
        payload["status"]["status_list"].clone(),
        payload["jti"].as_str().unwrap().to_owned(),
    )
}

/// Every record the node holds, in issuance order, paging as the admin.
async fn all_records(world: &World, node: &Node) -> Vec<Value> {
    let mut records = Vec::new();
    let mut path = "/v1/credentials?limit=1000".to_owned();
    loop {
        let (status, page) = node.get_as(&world.admin, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        records.extend(page["credentials"].as_array().unwrap().iter().cloned());
        match page["next"].as_u64() {
            Some(next) => path = format!("/v1/credentials?after={next}&limit=1000"),
            None => return records,
        }
    }
}

fn entry(status: &Value) -> (String, u64) {
    (
        status["uri"].as_str().unwrap().to_owned(),
        status["idx"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres_share_entries_revocations_and_survive_a_sigkill() {
    let Some((store, schema)) = postgres_schema().await else {
        return;
    };
    let started = Instant::now();
    let world = Arc::new(World::new());
    let secret = world.path("state-secret");
    {
        use rand_core::RngCore as _;
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut bytes = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut bytes);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&secret)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
    }
    let start = || Node::start_as(&world, &store, Some(&secret), Some(PUBLIC_URL), &[]);
    let (a, mut b, c) = (start(), start(), start());

    let counters: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let runs: Vec<_> = [&a, &b, &c]
        .iter()
        .zip(&counters)
        .map(|(node, acked)| {
            tokio::spawn(hammer(
                Arc::clone(&world),
                node.url("/v1/credentials"),
                Arc::clone(acked),
            ))
        })
        .collect();
    // SIGKILL the middle node partway through: no shutdown, nothing flushed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while counters[1].load(Ordering::Relaxed) < KILL_AFTER {
        assert!(Instant::now() < deadline, "node B acknowledged too little");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let mut seen = Vec::new();
    for run in runs {
        seen.push(run.await.unwrap());
    }
    let hammered = started.elapsed();

    // The survivors: every request answered 201, to their totals.
    for (name, node) in [("A", 0), ("C", 2)] {
        assert!(
            seen[node].failures.is_empty(),
            "node {name}: {:?}",
            &seen[node].failures[..seen[node].failures.len().min(5)]
        );
        assert_eq!(seen[node].acked.len(), PER_NODE, "node {name}");
    }
    // The killed node: acknowledged some, then its clients lost the connection.
    let killed = &seen[1];
    assert!(
        killed.acked.len() >= KILL_AFTER && killed.acked.len() < PER_NODE,
        "{}",
        killed.acked.len()
    );
    assert!(
        killed.failures.iter().all(|f| f.starts_with("transport")),
        "{:?}",
        killed.failures
    );

    // Every entry handed out once, and each credential signs what its answer said.
    let acked: Vec<&Acked> = seen.iter().flat_map(|seen| &seen.acked).collect();
    let mut entries = HashSet::new();
    for credential in &acked {
        assert!(
            entries.insert(entry(&credential.status)),
            "{} handed out twice",
            credential.status
        );
        let (signed, jti) = signed_status(&credential.credential);
        assert_eq!(signed, credential.status);
        assert_eq!(jti, credential.jti);
    }

    // Every acknowledged credential recorded, with its entry; at most one record
    // per client of the killed node was never acknowledged (in flight at the kill).
    let records = all_records(&world, &c).await;
    let recorded: HashMap<&str, &Value> = records
        .iter()
        .map(|record| (record["jti"].as_str().unwrap(), &record["status"]))
        .collect();
    assert_eq!(recorded.len(), records.len(), "one record per jti");
    for credential in &acked {
        assert_eq!(
            recorded.get(credential.jti.as_str()),
            Some(&&credential.status),
            "{} acknowledged, not recorded as answered",
            credential.jti
        );
    }
    assert!(
        records.len() - acked.len() <= CLIENTS_PER_NODE,
        "{} records, {} acknowledged",
        records.len(),
        acked.len()
    );
    let distinct: HashSet<_> = records.iter().map(|r| entry(&r["status"])).collect();
    assert_eq!(distinct.len(), records.len(), "no entry recorded twice");

    // Revoked through A, seen in the list C serves; another credential stays valid.
    let (revoked, valid) = (&seen[0].acked[0], &seen[2].acked[0]);
    let (status, record) = a
        .post(
            &world.orchestrator,
            &format!("/v1/credentials/{}/revoke", revoked.jti),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    let mut uris: Vec<String> = [revoked, valid]
        .iter()
        .map(|credential| entry(&credential.status).0)
        .collect();
    uris.dedup();
    let mut tokens = Vec::new();
    for uri in &uris {
        tokens.push(c.status_token(uri).await);
    }
    let verifier = world.verifier(&tokens);
    let request = PresentationRequest::new("https://tools.example", "n-nodes");
    let presentation = |credential: &Acked| {
        present(
            &credential.credential,
            &credential.agent,
            &[],
            &request,
            now(),
        )
        .unwrap()
    };
    let refused = verifier
        .verify_presentation(&presentation(revoked), &request, now())
        .unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::Revoked, "{refused}");
    let verified = verifier
        .verify_presentation(&presentation(valid), &request, now())
        .unwrap();
    assert_eq!(verified.credential_id.as_deref(), Some(valid.jti.as_str()));

    // A replacement for the killed node serves the same records, and mints.
    let replacement = start();
    let after = all_records(&world, &c).await;
    assert_eq!(all_records(&world, &replacement).await, after);
    let (minted, _) = replacement.mint(&world.orchestrator).await;
    assert!(!distinct.contains(&entry(&minted["status"])));
    let (_, record) = replacement
        .get_as(
            &world.orchestrator,
            &format!("/v1/credentials/{}", revoked.jti),
        )
        .await;
    assert_eq!(record["state"], "revoked");

    eprintln!(
        "{} acknowledged ({} by the killed node), {} records, hammered in {:.1} s",
        acked.len(),
        killed.acked.len(),
        records.len(),
        hammered.as_secs_f64()
    );
    drop((a, b, c, replacement));
    schema.drop_now().await;
}
