//! Interop with the Python reference implementation of SD-JWT (`sd-jwt` 0.10.4) and
//! two JOSE libraries (`pyjwt`, `joserfc`): they verify what agentid issues and
//! presents, for EdDSA, ES256 and ES256K issuer and holder keys.
//!
//! The peer runs in the interpreter named by `AGENTID_PEER_PYTHON` (a venv made by
//! `.ci/install-peers`); without it the tests pass after saying they were skipped.
//! The peer script is `tests/peers/verify_sd_jwt.py`.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verified, Verifier};
use agentid_wallet::{present, unix_now, CredentialRequest, Issuer, SigningKey};
use base64::Engine as _;
use common::{interop_schemas, INTEROP_VCT};
use serde_json::{json, Map, Value};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "https://payments.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/verify_sd_jwt.py");
const ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES256K];

/// Claims agentid reports in `Verified`'s own fields rather than in `claims`.
const REGISTERED: [&str; 9] = [
    "iss", "sub", "iat", "nbf", "exp", "jti", "vct", "cnf", "status",
];

/// The peer interpreter, or `None` (after saying so) when it is not configured.
fn peer_python() -> Option<String> {
    match std::env::var("AGENTID_PEER_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            println!("skipped: AGENTID_PEER_PYTHON not set (run .ci/install-peers)");
            None
        }
    }
}

/// Runs the peer script with `args`, `stdin` as its input.
fn run_peer(python: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {python}: {error}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs the peer and returns its JSON output; panics with its stderr if it failed.
fn peer_accepts(python: &str, args: &[&str], stdin: &str, what: &str) -> Value {
    let output = run_peer(python, args, stdin);
    assert!(
        output.status.success(),
        "{what}: the Python peer rejected agentid's output: {}\ninput: {stdin}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs the peer and asserts that it failed.
fn peer_rejects(python: &str, args: &[&str], stdin: &str, what: &str) {
    let output = run_peer(python, args, stdin);
    assert!(
        !output.status.success(),
        "{what}: the Python peer accepted it: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("rejected:"),
        "{what}: the Python peer failed without a verdict: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sd_jwt_args<'a>(issuer_jwk: &'a str, holder_alg: Algorithm, audience: &'a str) -> Vec<&'a str> {
    vec![
        "sd-jwt",
        "--issuer",
        ISSUER,
        "--issuer-jwk",
        issuer_jwk,
        "--holder-alg",
        holder_alg.as_str(),
        "--aud",
        audience,
        "--nonce",
        NONCE,
    ]
}

fn task_claims() -> Map<String, Value> {
    json!({
        "task": {"id": "T-42", "purpose": "refund order 1234"},
        "roles": ["refunds:write", "orders:read"],
        "sites": ["https://shop.example/orders/1234"],
        "verifiers": ["https://payments.example"],
        "limits": {"currency": "EUR", "max_amount": 120.5},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .unwrap()
    .clone()
}

/// A credential from a pinned-key issuer (`iss` = [`ISSUER`]), its issuer's public
/// JWK as a string, and a verifier that trusts it.
fn issue(issuer_alg: Algorithm, holder: &SigningKey, now: u64) -> (String, String, Verifier) {
    let issuer = Issuer::with_pinned_key(ISSUER, SigningKey::generate(issuer_alg))
        .unwrap()
        .with_schemas(interop_schemas());
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: INTEROP_VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims: task_claims(),
                disclosable: vec![
                    "task.purpose".parse().unwrap(),
                    "roles[*]".parse().unwrap(),
                    "sites".parse().unwrap(),
                    "limits".parse().unwrap(),
                    "on_behalf_of".parse().unwrap(),
                ],
                lifetime_secs: 15 * 60,
                committed: Vec::new(),
            },
            now,
        )
        .unwrap();
    let jwk = issuer.public_key().to_jwk();
    let mut trust = TrustStore::new();
    trust.add_pinned_jwk(ISSUER, &jwk).unwrap();
    (
        credential.sd_jwt,
        jwk.to_string(),
        Verifier::new(trust, Policy::default()),
    )
}

fn present_to(credential: &str, holder: &SigningKey, audience: &str, now: u64) -> String {
    let disclose = [
        "task.purpose".parse().unwrap(),
        "roles[0]".parse().unwrap(),
        "on_behalf_of".parse().unwrap(),
    ];
    let request = PresentationRequest::new(audience, NONCE);
    present(credential, holder, &disclose, &request, now).unwrap()
}

/// The peer's payload must hold exactly what agentid revealed: the same claims, the
/// same registered claims.
fn assert_same_claims(theirs: &Value, ours: &Verified, holder: &SigningKey, what: &str) {
    let mut claims = theirs.as_object().unwrap().clone();
    for name in REGISTERED {
        claims.remove(name);
    }
    assert_eq!(claims, ours.claims, "{what}");
    assert_eq!(theirs["iss"], json!(ours.issuer), "{what}");
    assert_eq!(theirs["sub"], json!(ours.subject), "{what}");
    assert_eq!(theirs["jti"], json!(ours.credential_id), "{what}");
    assert_eq!(theirs["vct"], json!(ours.vct), "{what}");
    assert_eq!(theirs["iat"], json!(ours.issued_at), "{what}");
    assert_eq!(theirs["nbf"], json!(ours.not_before), "{what}");
    assert_eq!(theirs["exp"], json!(ours.expires_at), "{what}");
    assert_eq!(
        theirs["cnf"],
        json!({"jwk": holder.public_key().to_jwk()}),
        "{what}"
    );
    assert!(theirs.get("_sd").is_none() && theirs.get("_sd_alg").is_none());
}

#[test]
fn python_sd_jwt_verifies_agentid_presentations() {
    let Some(python) = peer_python() else { return };
    let now = unix_now();
    for issuer_alg in ALGORITHMS {
        for holder_alg in ALGORITHMS {
            let what = format!("issuer {issuer_alg}, holder {holder_alg}");
            let holder = SigningKey::generate(holder_alg);
            let (credential, issuer_jwk, verifier) = issue(issuer_alg, &holder, now);
            let presentation = present_to(&credential, &holder, AUDIENCE, now);
            let ours = verifier
                .verify_presentation(
                    &presentation,
                    &PresentationRequest::new(AUDIENCE, NONCE),
                    now,
                )
                .unwrap();

            let args = sd_jwt_args(&issuer_jwk, holder_alg, AUDIENCE);
            let theirs = peer_accepts(&python, &args, &presentation, &what);
            assert_same_claims(&theirs, &ours, &holder, &what);
            // Disclosed: task.purpose, roles[0], on_behalf_of; always visible:
            // task.id, verifiers. Undisclosed: roles[1], sites, limits.
            assert_eq!(
                Value::Object(ours.claims.clone()),
                json!({
                    "task": {"id": "T-42", "purpose": "refund order 1234"},
                    "roles": ["refunds:write"],
                    "verifiers": ["https://payments.example"],
                    "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
                }),
                "{what}"
            );
            for absent in ["sites", "limits"] {
                assert!(theirs.get(absent).is_none(), "{what}: {absent} leaked");
            }
        }
    }
}

#[test]
fn python_jose_libraries_verify_the_issuer_signed_jwt() {
    let Some(python) = peer_python() else { return };
    let now = unix_now();
    for alg in ALGORITHMS {
        let holder = SigningKey::generate(Algorithm::ES256);
        let (credential, issuer_jwk, _) = issue(alg, &holder, now);
        let jwt = credential.split('~').next().unwrap();
        let payload = jwt.split('.').nth(1).unwrap();
        let payload: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        let args = ["jws", "--issuer-jwk", &issuer_jwk, "--alg", alg.as_str()];
        let theirs = peer_accepts(&python, &args, jwt, &format!("JWS {alg}"));
        assert_eq!(theirs["pyjwt"], payload, "{alg}");
        assert_eq!(theirs["joserfc"], payload, "{alg}");

        // Another key, or another algorithm for the same key: rejected.
        let other = SigningKey::generate(alg).public_key().to_jwk().to_string();
        let args = ["jws", "--issuer-jwk", &other, "--alg", alg.as_str()];
        peer_rejects(&python, &args, jwt, &format!("JWS {alg} under another key"));
        let mut forged = jwt.to_owned();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'Q' } else { 'A' });
        let args = ["jws", "--issuer-jwk", &issuer_jwk, "--alg", alg.as_str()];
        peer_rejects(
            &python,
            &args,
            &forged,
            &format!("JWS {alg} with a bad signature"),
        );
    }
}

#[test]
fn python_sd_jwt_rejects_what_it_must() {
    let Some(python) = peer_python() else { return };
    let now = unix_now();
    for alg in ALGORITHMS {
        let holder = SigningKey::generate(alg);
        let (credential, issuer_jwk, _) = issue(alg, &holder, now);
        let presentation = present_to(&credential, &holder, AUDIENCE, now);

        // A presentation made for another audience.
        let elsewhere = present_to(&credential, &holder, "https://other.example", now);
        let args = sd_jwt_args(&issuer_jwk, alg, AUDIENCE);
        peer_rejects(
            &python,
            &args,
            &elsewhere,
            &format!("{alg}: another audience"),
        );

        // Another nonce expected.
        let mut args = sd_jwt_args(&issuer_jwk, alg, AUDIENCE);
        let last = args.len() - 1;
        args[last] = "another-nonce";
        peer_rejects(
            &python,
            &args,
            &presentation,
            &format!("{alg}: another nonce"),
        );

        // Another issuer key.
        let other = SigningKey::generate(alg).public_key().to_jwk().to_string();
        let args = sd_jwt_args(&other, alg, AUDIENCE);
        peer_rejects(
            &python,
            &args,
            &presentation,
            &format!("{alg}: another key"),
        );

        // A disclosure added after the holder signed (sd_hash no longer matches).
        let extra = credential
            .split('~')
            .skip(1)
            .find(|disclosure| !disclosure.is_empty() && !presentation.contains(disclosure))
            .unwrap();
        let kb_start = presentation.rfind('~').unwrap() + 1;
        let widened = format!(
            "{}{extra}~{}",
            &presentation[..kb_start],
            &presentation[kb_start..]
        );
        let args = sd_jwt_args(&issuer_jwk, alg, AUDIENCE);
        peer_rejects(&python, &args, &widened, &format!("{alg}: widened"));

        // The KB-JWT checked under another algorithm than the holder key's.
        let wrong_alg = if alg == Algorithm::ES256 {
            Algorithm::EdDSA
        } else {
            Algorithm::ES256
        };
        let args = sd_jwt_args(&issuer_jwk, wrong_alg, AUDIENCE);
        peer_rejects(&python, &args, &presentation, &format!("{alg}: KB alg"));
    }
}
