//! The `agentid` command line: the contract documentation and scripts rely on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn agentid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentid"))
        .args(args)
        .output()
        .expect("run agentid")
}

fn agentid_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentid"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agentid");
    // The tool stops reading at its size limit, so a write may meet a closed pipe.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("wait")
}

struct DemoFiles {
    _dir: tempfile::TempDir,
    presentation: String,
    credential: String,
    trust: String,
    status: String,
    audience: String,
    nonce: String,
}

fn demo_files() -> DemoFiles {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agentid(&["demo", "--out", dir.path().to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let request: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("request.json")).expect("request.json"),
    )
    .expect("json");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    DemoFiles {
        presentation: path("presentation.sd-jwt"),
        credential: path("credential.sd-jwt"),
        trust: path("trust.json"),
        status: path("status.jwt"),
        audience: request["audience"].as_str().expect("audience").to_owned(),
        nonce: request["nonce"].as_str().expect("nonce").to_owned(),
        _dir: dir,
    }
}

fn stderr_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).trim_end().to_owned();
    assert_eq!(text.lines().count(), 1, "one line on stderr: {text:?}");
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "{text}"
    );
    text
}

#[test]
fn demo_tells_the_story_and_rejects_the_attacks() {
    let out = agentid(&["demo"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("VALID presentation"), "{text}");
    assert_eq!(text.matches(": rejected (").count(), 7, "{text}");
    assert!(
        text.contains("presented to a bank it was not issued for: rejected (the credential may not be presented to https://other-bank.example)"),
        "{text}"
    );
    assert!(text.contains("used after the issuer revoked it (new status list token): rejected (credential revoked"), "{text}");
    assert!(
        !text.contains("ACCEPTED") && !text.contains("unexpected"),
        "{text}"
    );
    assert!(text.contains("The bank learns: birthdate <= "), "{text}");
    assert!(
        text.contains("Alice's wallet refuses: cannot prove birthdate <="),
        "{text}"
    );
    assert!(
        !text.contains("2001-04-09"),
        "the demo never shows the birthdate"
    );
    assert!(
        text.contains("refund of 15 EUR signed by the sub-agent: allowed"),
        "{text}"
    );
    assert!(
        text.contains(
            "refund of 30 EUR signed by the sub-agent: denied (amount 30 exceeds the limit 20)"
        ),
        "{text}"
    );
    assert!(
        text.contains("asked to delegate up to 80 EUR, its wallet refuses"),
        "{text}"
    );
    let verifier_account = &text
        [text.find("4. The bank verifies").unwrap()..text.find("5. What does not work").unwrap()];
    assert!(
        verifier_account.contains("VALID presentation"),
        "{verifier_account}"
    );
    assert!(
        !verifier_account.contains("damaged in transit"),
        "undisclosed claims stay hidden from the verifier: {verifier_account}"
    );
}

#[test]
fn verify_exit_status_is_0_valid_1_invalid_2_usage() {
    let files = demo_files();
    let valid = agentid(&[
        "verify",
        &files.presentation,
        "--audience",
        &files.audience,
        "--nonce",
        &files.nonce,
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ]);
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert!(String::from_utf8_lossy(&valid.stdout).contains("binding:   checked"));

    let wrong_nonce = agentid(&[
        "verify",
        &files.presentation,
        "--audience",
        &files.audience,
        "--nonce",
        "x",
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ]);
    assert_eq!(wrong_nonce.status.code(), Some(1));
    assert_eq!(
        stderr_line(&wrong_nonce),
        "invalid: key binding nonce mismatch"
    );

    let missing_file = agentid(&[
        "verify",
        "/nonexistent/p",
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ]);
    assert_eq!(missing_file.status.code(), Some(2));
    assert!(stderr_line(&missing_file).starts_with("error: cannot read /nonexistent/p"));

    let nonce_without_audience = agentid(&[
        "verify",
        &files.presentation,
        "--nonce",
        "x",
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ]);
    assert_eq!(nonce_without_audience.status.code(), Some(2));

    let bad_trust = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(bad_trust.path(), b"{\"issuers\": 3}").expect("write");
    let untrusted = agentid(&[
        "verify",
        &files.credential,
        "--trust",
        bad_trust.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(untrusted.status.code(), Some(2));
    assert!(stderr_line(&untrusted).starts_with("error: "));

    let bad_time = agentid(&[
        "verify",
        &files.credential,
        "--trust",
        &files.trust,
        "--status",
        &files.status,
        "--at",
        "tomorrow",
    ]);
    assert_eq!(bad_time.status.code(), Some(2));
}

#[test]
fn verify_without_a_request_checks_an_issued_credential_and_says_binding_was_not_checked() {
    let files = demo_files();
    let out = agentid(&[
        "verify",
        &files.credential,
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("binding:   NOT checked"));

    let json = agentid(&[
        "verify",
        &files.credential,
        "--trust",
        &files.trust,
        "--status",
        &files.status,
        "--json",
    ]);
    let verdict: Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["holder_binding_checked"], false);

    // A presentation given where an issued credential is expected.
    let out = agentid(&[
        "verify",
        &files.presentation,
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn verify_reads_stdin_prints_json_and_honours_at() {
    let files = demo_files();
    let presentation = std::fs::read(&files.presentation).expect("read");
    let args = [
        "verify",
        "-",
        "--audience",
        &files.audience,
        "--nonce",
        &files.nonce,
        "--trust",
        &files.trust,
        "--status",
        &files.status,
        "--json",
    ];
    let out = agentid_stdin(&args, &presentation);
    assert_eq!(out.status.code(), Some(0));
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verdict["valid"], true);
    assert_eq!(
        verdict["verified"]["key_binding"]["nonce"],
        files.nonce.as_str()
    );
    assert!(verdict["verified"]["claims"]["task"]
        .get("purpose")
        .is_none());

    let expiry = verdict["verified"]["expires_at"].as_u64().expect("exp");
    let later = (expiry + 3600).to_string();
    let mut at_args = args.to_vec();
    at_args.extend(["--at", &later]);
    let out = agentid_stdin(&at_args, &presentation);
    assert_eq!(out.status.code(), Some(1));
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verdict["valid"], false);
    assert_eq!(verdict["kind"], "expired");
    // An hour after expiry the status list token has expired too: a warning, then the verdict.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("warning: ") && lines[0].ends_with("has expired; ignored"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("invalid: credential expired at"),
        "{stderr}"
    );
}

#[test]
fn verify_refuses_oversized_and_binary_input_without_panicking() {
    let files = demo_files();
    let args = [
        "verify",
        "-",
        "--audience",
        "a",
        "--nonce",
        "n",
        "--trust",
        &files.trust,
        "--status",
        &files.status,
    ];
    let huge = vec![b'A'; 200 * 1024];
    let out = agentid_stdin(&args, &huge);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_line(&out).contains("larger than"));
    let out = agentid_stdin(&args, &[0xff, 0xfe, 0x00, 0x80]);
    assert_eq!(out.status.code(), Some(1));
    stderr_line(&out);
    assert!(Path::new(&files.trust).exists());
}

#[test]
fn verify_fails_closed_without_the_status_list_and_survives_a_closed_pipe() {
    let files = demo_files();
    let without_status = agentid(&[
        "verify",
        &files.presentation,
        "--audience",
        &files.audience,
        "--nonce",
        &files.nonce,
        "--trust",
        &files.trust,
    ]);
    assert_eq!(without_status.status.code(), Some(1));
    assert!(stderr_line(&without_status)
        .starts_with("invalid: status unknown: urn:agentid:status-list:"));

    // Piped into a reader that closes at once: no panic, no backtrace.
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentid"))
        .args([
            "verify",
            &files.presentation,
            "--audience",
            &files.audience,
            "--nonce",
            &files.nonce,
        ])
        .args(["--trust", &files.trust, "--status", &files.status])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
