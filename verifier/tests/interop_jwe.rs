//! JWE interop with Python `jwcrypto` (1.6.1): ECDH-ES on P-256 with A128GCM and
//! A256GCM, both ways — jwcrypto encrypts and agentid decrypts (with and without
//! `kid`, `apu`, `apv`), agentid encrypts and jwcrypto decrypts (and reports the
//! header agentid wrote). A JWE with an `enc` agentid does not accept is refused.
//!
//! The peer runs in the interpreter named by `AGENTID_PEER_PYTHON` (a venv with
//! jwcrypto, made by `.ci/install-peers`); without it the tests pass after saying
//! they were skipped. The peer script is `tests/peers/jwe_jwcrypto.py`.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use agentid_verifier::b64url_encode;
use agentid_verifier::oid4vp::jwe::{self, Enc, JweError, JweLimits};
use rand_core::OsRng;
use serde_json::{json, Value};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/peers/jwe_jwcrypto.py"
);
const BOTH: [Enc; 2] = [Enc::A128GCM, Enc::A256GCM];

fn peer_python() -> Option<String> {
    match std::env::var("AGENTID_PEER_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            println!("skipped: AGENTID_PEER_PYTHON not set (run .ci/install-peers)");
            None
        }
    }
}

/// Runs the peer; returns its JSON output, or its stderr when it failed.
fn run_peer(python: &str, command: &str, input: &Value) -> Result<Value, String> {
    let mut child = Command::new(python)
        .arg(SCRIPT)
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {python}: {error}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn private_jwk(key: &p256::SecretKey) -> Value {
    let mut jwk = jwe::public_jwk(&key.public_key());
    jwk["d"] = json!(b64url_encode(&key.to_bytes()));
    jwk
}

#[test]
fn jwcrypto_encrypts_and_agentid_decrypts() {
    let Some(python) = peer_python() else { return };
    let key = p256::SecretKey::random(&mut OsRng);
    for enc in BOTH {
        for extra in [
            json!({}),
            json!({"kid": "response-key-1"}),
            json!({"kid": "k", "apu": b64url_encode(b"wallet"), "apv": b64url_encode(b"verifier nonce")}),
        ] {
            let plaintext =
                json!({"vp_token": {"id_card": ["eyJhbGciOi...~"]}, "state": "s-1"}).to_string();
            let mut input = json!({
                "jwk": jwe::public_jwk(&key.public_key()),
                "enc": enc.as_str(),
                "plaintext": plaintext,
            });
            for (name, value) in extra.as_object().unwrap() {
                input[name] = value.clone();
            }
            let made = run_peer(&python, "encrypt", &input).unwrap();
            let compact = made["jwe"].as_str().unwrap();
            let opened =
                jwe::decrypt_with_header(compact, &key, &BOTH, &JweLimits::default()).unwrap();
            assert_eq!(opened.plaintext(), plaintext.as_bytes(), "{enc} {extra}");
            assert_eq!(opened.enc(), enc);
            assert_eq!(opened.kid(), extra.get("kid").and_then(Value::as_str));
            // A recipient that accepts only the other enc refuses it.
            let other = if enc == Enc::A128GCM {
                Enc::A256GCM
            } else {
                Enc::A128GCM
            };
            assert_eq!(
                jwe::decrypt(compact, &key, &[other], &JweLimits::default()).err(),
                Some(JweError::EncNotAccepted(enc.as_str().into()))
            );
        }
    }
}

#[test]
fn agentid_encrypts_and_jwcrypto_decrypts() {
    let Some(python) = peer_python() else { return };
    let key = p256::SecretKey::random(&mut OsRng);
    for enc in BOTH {
        for kid in [None, Some("ephemeral-7")] {
            let plaintext = json!({"vp_token": {"q": ["a~b~"]}}).to_string();
            let compact = jwe::encrypt(&key.public_key(), kid, enc, plaintext.as_bytes()).unwrap();
            let opened = run_peer(
                &python,
                "decrypt",
                &json!({"jwk": private_jwk(&key), "jwe": compact}),
            )
            .unwrap_or_else(|error| panic!("jwcrypto refused agentid's {enc} JWE: {error}"));
            assert_eq!(opened["plaintext"], plaintext);
            let header = &opened["header"];
            assert_eq!(header["alg"], "ECDH-ES");
            assert_eq!(header["enc"], enc.as_str());
            assert_eq!(header.get("kid").and_then(Value::as_str), kid);
            assert_eq!(header["epk"]["crv"], "P-256");
        }
    }
}

#[test]
fn jwcrypto_refuses_agentid_jwes_for_another_key() {
    let Some(python) = peer_python() else { return };
    let key = p256::SecretKey::random(&mut OsRng);
    let other = p256::SecretKey::random(&mut OsRng);
    let compact = jwe::encrypt(&key.public_key(), None, Enc::A256GCM, b"{}").unwrap();
    assert!(run_peer(
        &python,
        "decrypt",
        &json!({"jwk": private_jwk(&other), "jwe": compact})
    )
    .is_err());
}

#[test]
fn a_jwcrypto_jwe_with_an_enc_outside_the_profile_is_refused() {
    let Some(python) = peer_python() else { return };
    let key = p256::SecretKey::random(&mut OsRng);
    let made = run_peer(
        &python,
        "encrypt",
        &json!({"jwk": jwe::public_jwk(&key.public_key()), "enc": "A128CBC-HS256", "plaintext": "{}"}),
    )
    .unwrap();
    assert_eq!(
        jwe::decrypt(
            made["jwe"].as_str().unwrap(),
            &key,
            &BOTH,
            &JweLimits::default()
        )
        .err(),
        Some(JweError::EncNotAccepted("A128CBC-HS256".into()))
    );
}
