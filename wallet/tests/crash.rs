//! Crash safety: a child process stores credentials and prints the id of each one
//! once `receive` has returned; it is killed with SIGKILL at a random moment. After
//! every kill the wallet opens and holds every acknowledged credential, undamaged.
//!
//! The child is this test binary run again with `AGENTID_CRASH_CHILD` set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentid_verifier::Algorithm;
use agentid_wallet::{CredentialRequest, KdfParams, Passphrase, Wallet, TASK_VCT};
use serde_json::json;

const CYCLES: usize = 24;
const NOW: u64 = 1_800_000_000;

fn passphrase() -> Passphrase {
    Passphrase::new("crash test")
}

fn request(holder_did: &str, n: u64) -> CredentialRequest {
    CredentialRequest {
        vct: TASK_VCT.into(),
        subject: holder_did.into(),
        holder_key: agentid_verifier::did_key::decode(holder_did).unwrap(),
        claims: json!({
            "task": {"id": format!("T-{n}"), "purpose": format!("crash test {n}")},
            "scope": ["refunds:write"],
            "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        })
        .as_object()
        .cloned()
        .unwrap(),
        disclosable: vec!["task.purpose".parse().unwrap()],
        lifetime_secs: 1440 * 60,
        committed: Vec::new(),
    }
}

/// The child's loop: issue (with the wallet's own issuer role) and receive until killed.
fn child(dir: &Path) {
    let mut wallet = Wallet::open(dir, &passphrase()).unwrap();
    let did = wallet.did().to_owned();
    let issuer = wallet.issuer().unwrap();
    for n in 0.. {
        let credential = issuer.issue(&request(&did, n), NOW).unwrap();
        let id = wallet.receive(&credential.sd_jwt, None, NOW).unwrap();
        println!("{id}");
    }
}

/// A small xorshift generator: random kill delays without another dependency.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn acknowledged_credentials_survive_sigkill() {
    if let Ok(dir) = std::env::var("AGENTID_CRASH_CHILD") {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet");
    drop(
        Wallet::create(
            &path,
            &passphrase(),
            &KdfParams::MINIMUM,
            Algorithm::EdDSA,
            NOW,
        )
        .unwrap(),
    );

    let mut seed = u64::from(std::process::id()) | 1;
    let mut acknowledged: Vec<String> = Vec::new();
    for cycle in 0..CYCLES {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acknowledged_credentials_survive_sigkill",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("AGENTID_CRASH_CHILD", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill after a random delay, from a thread, while this one reads acknowledgements.
        let delay = Duration::from_millis(150 + next_random(&mut seed) % 500);
        let pid = child.id();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            // SIGKILL: no destructor, no flush, no chance to tidy up.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        });
        let started = Instant::now();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // Lines that are not ids are the test harness talking.
            if line.len() == 22 && !line.contains(' ') {
                acknowledged.push(line);
            }
        }
        killer.join().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "cycle {cycle}: the child must have been killed"
        );
        assert!(started.elapsed() < Duration::from_secs(60));

        let wallet = Wallet::open(&path, &passphrase())
            .unwrap_or_else(|error| panic!("cycle {cycle}: {error}"));
        let held: std::collections::BTreeSet<String> = wallet
            .list()
            .unwrap()
            .into_iter()
            .map(|summary| summary.id)
            .collect();
        for id in &acknowledged {
            assert!(
                held.contains(id),
                "cycle {cycle}: acknowledged credential {id} lost"
            );
            let details = wallet.show(id).unwrap();
            assert_eq!(
                details.claims["scope"],
                json!(["refunds:write"]),
                "cycle {cycle}: {id} damaged"
            );
        }
        wallet
            .audit_verify()
            .unwrap_or_else(|error| panic!("cycle {cycle}: {error}"));
    }
    assert!(
        acknowledged.len() >= CYCLES,
        "the children acknowledged {} credentials",
        acknowledged.len()
    );
    eprintln!(
        "{} credentials acknowledged over {CYCLES} SIGKILLs; all present and intact",
        acknowledged.len()
    );
}
