//! OpenID4VCI 1.0 interop, pre-authorized code flow: `@openid4vc/openid4vci` 0.4.6 as
//! the wallet (`tests/peers/oid4vci_wallet.mjs`) receives a credential from
//! `agentid serve issuer` — offer, both metadata documents, token, nonce, key proof,
//! credential — and presents it with `@sd-jwt/sd-jwt-vc` 0.19.0; agentid's verifier
//! accepts the presentation (issuer, vct, holder binding, disclosures, status).
//!
//! The wallet loads its packages from `AGENTID_NPM_PEERS` (`.ci/install-npm-peers`);
//! without it the tests pass after saying they were skipped. The wallet's contract and
//! the library's quirks: `tests/peers/README-oid4vci.md`.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "issuer/harness.rs"]
mod harness;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use agentid_verifier::{did_key, PresentationRequest, PublicKey, RejectionKind};
use base64::Engine as _;
use harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const WALLET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/oid4vci_wallet.mjs"
);
const AUDIENCE: &str = "https://tools.example";

/// `AGENTID_NPM_PEERS`, or `None` after saying the test is skipped.
fn npm_peers() -> Option<String> {
    match std::env::var("AGENTID_NPM_PEERS") {
        Ok(dir) if !dir.is_empty() => Some(dir),
        _ => {
            println!("skipped: AGENTID_NPM_PEERS unset (run .ci/install-npm-peers)");
            None
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the npm wallet with `args`, writing `stdin` to it when given.
fn wallet(peers: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new("node")
        .arg(WALLET)
        .args(args)
        .env("AGENTID_NPM_PEERS", peers)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// The wallet's JSON line, asserting it succeeded.
#[track_caller]
fn received(output: &Output, node: &Node) -> Value {
    assert!(
        output.status.success(),
        "the npm wallet: exit {:?}\nstdout: {}\nstderr: {}\nissuer: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
        node.stderr()
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn embedded(world: &World) -> Node {
    let store = world.path("store");
    Node::start(world, store.to_str().unwrap(), None)
}

/// A credential offer for a task credential (`task.purpose` selectively disclosable)
/// made by the orchestrator; `subject`, when given, is the agent DID it is for.
async fn offer(world: &World, node: &Node, subject: Option<&str>) -> Value {
    let mut body = json!({
        "vct": TASK_VCT,
        "claims": task_claims("T-1"),
        "sd": ["task.purpose"],
        "ttl": "10m",
    });
    if let Some(subject) = subject {
        body["subject"] = json!(subject);
    }
    let (status, answer) = node.post(&world.orchestrator, "/v1/offers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer} {}", node.stderr());
    answer
}

/// The issuer-signed payload of an SD-JWT (compact, unverified: for the status URI).
fn issuer_payload(sd_jwt: &str) -> Value {
    let jwt = sd_jwt.split('~').next().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Runs the whole flow with a holder key of `alg`, disclosing `disclose`, and checks
/// what agentid's verifier makes of the npm wallet's presentation.
async fn issued_and_verified(alg: &str, disclose: &[&str], by_stdin: bool) {
    let Some(peers) = npm_peers() else { return };
    let world = World::new();
    let node = embedded(&world);
    let answer = offer(&world, &node, None).await;
    let uri = answer["credential_offer_uri"].as_str().unwrap();
    assert!(uri.starts_with("openid-credential-offer://?credential_offer="));

    let nonce = format!("vci-{}", random_id());
    let disclosed = disclose.join(",");
    let mut args = vec![
        "--allow-http",
        "--alg",
        alg,
        "--aud",
        AUDIENCE,
        "--nonce",
        &nonce,
    ];
    if !disclose.is_empty() {
        args.extend(["--disclose", &disclosed]);
    }
    let output = if by_stdin {
        let input = json!({"credential_offer_uri": uri}).to_string();
        wallet(&peers, &args, Some(&input))
    } else {
        let mut with_offer = args.clone();
        with_offer.extend(["--offer", uri]);
        wallet(&peers, &with_offer, None)
    };
    let out = received(&output, &node);
    assert_eq!(out["credential_issuer"], json!(node.public_url));
    assert_eq!(out["credential_configuration_id"], "agentid_task_1");
    assert_eq!(
        out["issuer_key"],
        json!(world.issuer),
        "the wallet checked the issuer's did:key signature"
    );

    let holder = PublicKey::from_jwk(&out["holder_jwk"]).unwrap();
    assert_eq!(holder.algorithm().as_str(), alg);
    let presentation = out["presentation"].as_str().unwrap();
    let status_uri = issuer_payload(out["credential"].as_str().unwrap())["status"]["status_list"]
        ["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let verifier = world.verifier(&[node.status_token(&status_uri).await]);
    let request = PresentationRequest::new(AUDIENCE, nonce.clone());
    let verified = verifier
        .verify_presentation(presentation, &request, now())
        .unwrap_or_else(|refusal| panic!("agentid refused the npm presentation: {refusal}"));

    assert_eq!(verified.issuer, world.issuer);
    assert_eq!(verified.vct.as_deref(), Some(TASK_VCT));
    // Bound to the key the wallet proved at the credential endpoint: `sub` is its
    // did:key, `cnf.jwk` the key, and the KB-JWT is signed by it for our aud and nonce.
    assert_eq!(verified.subject, Some(did_key::encode(&holder)));
    assert!(
        verified.holder_key.as_ref() == Some(&holder),
        "cnf.jwk is the wallet's key"
    );
    let binding = verified.key_binding.as_ref().unwrap();
    assert_eq!(
        (binding.audience.as_str(), binding.nonce.as_str()),
        (AUDIENCE, nonce.as_str())
    );
    assert_eq!(verified.claims["task"]["id"], "T-1");
    assert_eq!(verified.claims["scope"], json!(["refunds:write"]));
    assert_eq!(verified.claims["on_behalf_of"], PRINCIPAL);
    if disclose.contains(&"task.purpose") {
        assert_eq!(verified.claims["task"]["purpose"], "refund order 1234");
    } else {
        assert!(
            verified.claims["task"].get("purpose").is_none(),
            "task.purpose stays concealed when the wallet does not disclose it"
        );
    }
    assert!(verified.status.is_some());

    // The presentation is bound to this verifier's nonce: replayed elsewhere, refused.
    let other = PresentationRequest::new(AUDIENCE, format!("{nonce}-other"));
    let refused = verifier
        .verify_presentation(presentation, &other, now())
        .unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::InvalidBinding, "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_wallet_with_an_es256_key_receives_a_credential_agentid_verifies() {
    issued_and_verified("ES256", &["task.purpose"], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_wallet_with_an_eddsa_key_receives_a_credential_agentid_verifies() {
    issued_and_verified("EdDSA", &[], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_pre_authorized_code_is_invalid_grant_to_the_npm_wallet() {
    let Some(peers) = npm_peers() else { return };
    let world = World::new();
    let node = embedded(&world);
    let answer = offer(&world, &node, None).await;
    let uri = answer["credential_offer_uri"].as_str().unwrap();
    let args = ["--allow-http", "--offer", uri];
    received(&wallet(&peers, &args, None), &node);

    let again = wallet(&peers, &args, None);
    let stderr = text(&again.stderr);
    assert_eq!(
        again.status.code(),
        Some(1),
        "refused by the issuer: {stderr}"
    );
    assert!(
        stderr.starts_with("invalid_grant"),
        "the library reports the token error response: {stderr}"
    );
    assert!(again.stdout.is_empty(), "no credential the second time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_for_another_agent_is_invalid_proof_to_the_npm_wallet() {
    let Some(peers) = npm_peers() else { return };
    let world = World::new();
    let node = embedded(&world);
    let someone_else = agentid_wallet::SigningKey::generate(agentid_verifier::Algorithm::EdDSA);
    let answer = offer(&world, &node, Some(&someone_else.did().unwrap())).await;
    let uri = answer["credential_offer_uri"].as_str().unwrap();
    let refused = wallet(&peers, &["--allow-http", "--offer", uri], None);
    let stderr = text(&refused.stderr);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "refused by the issuer: {stderr}"
    );
    assert!(stderr.starts_with("invalid_proof"), "{stderr}");
}
