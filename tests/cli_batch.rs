//! `agentid verify-batch`: a directory of presentations, valid and not, through the
//! batch path and the single path; exit status, summary, JSON lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use agentid_verifier::{Algorithm, PresentationRequest};
use common::{fixture, Fixture, AUDIENCE, NONCE, NOW};
use serde_json::Value;

fn agentid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentid"))
        .args(args)
        .output()
        .expect("run agentid")
}

fn verify_batch(dir: &Path, trust: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify-batch",
        dir.to_str().unwrap(),
        "--audience",
        AUDIENCE,
        "--nonce",
        NONCE,
        "--trust",
        trust.to_str().unwrap(),
        "--at",
        "1800000000",
    ];
    args.extend_from_slice(extra);
    agentid(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Replaces one base64url character in the middle of a JWS signature.
fn tamper_signature(jws: &str) -> String {
    let dot = jws.rfind('.').unwrap();
    let mut bytes = jws.as_bytes().to_vec();
    let at = dot + 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

struct Material {
    dir: tempfile::TempDir,
    trust: std::path::PathBuf,
}

/// Two issuers (Ed25519 and P-256), both trusted.
fn trust_file(dir: &Path, fixtures: &[&Fixture]) -> std::path::PathBuf {
    let issuers: Vec<Value> = fixtures
        .iter()
        .map(|f| serde_json::json!({"id": f.issuer.id()}))
        .collect();
    let path = dir.join("trust.json");
    std::fs::write(&path, serde_json::json!({ "issuers": issuers }).to_string()).unwrap();
    path
}

/// (file name, expected kind or None for valid)
const EXPECTED: [(&str, Option<&str>); 11] = [
    ("01-valid-eddsa.sd-jwt", None),
    ("02-valid-es256.sd-jwt", None),
    ("03-wrong-nonce.sd-jwt", Some("invalid_binding")),
    ("04-tampered-issuer-signature", Some("invalid_signature")),
    ("05-garbage.txt", Some("malformed")),
    ("06-oversized", Some("malformed")),
    ("07-not-utf8", Some("malformed")),
    ("08-stale-key-binding", Some("expired")),
    ("09-tampered-kb-signature", Some("invalid_signature")),
    ("10-valid-with-newline", None),
    ("11-wrong-audience", Some("invalid_binding")),
];

fn mixed_directory() -> Material {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("presentations");
    std::fs::create_dir(&dir).unwrap();
    let ed = fixture(Algorithm::EdDSA);
    let p256 = fixture(Algorithm::ES256);
    let trust = trust_file(root.path(), &[&ed, &p256]);
    let valid = ed.present(&["on_behalf_of"]);
    let present_for = |request: &PresentationRequest, at: u64| {
        agentid_wallet::present(&ed.credential, &ed.agent, &[], request, at).unwrap()
    };
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write(EXPECTED[0].0, valid.as_bytes());
    write(EXPECTED[1].0, p256.present(&["task"]).as_bytes());
    let other_nonce = PresentationRequest::new(AUDIENCE, "another-nonce");
    write(EXPECTED[2].0, present_for(&other_nonce, NOW).as_bytes());
    // A forged issuer signature, presented with a correct key binding over it.
    let (issuer_jwt, disclosures) = ed.credential.split_once('~').unwrap();
    let forged = format!("{}~{disclosures}", tamper_signature(issuer_jwt));
    let forged = agentid_wallet::present(&forged, &ed.agent, &[], &common::request(), NOW).unwrap();
    write(EXPECTED[3].0, forged.as_bytes());
    write(EXPECTED[4].0, b"not a presentation at all\n");
    write(EXPECTED[5].0, &vec![b'a'; 70_000]);
    write(EXPECTED[6].0, &[0xff, 0xfe, b'~', 0x80]);
    write(
        EXPECTED[7].0,
        present_for(&common::request(), NOW - 3600).as_bytes(),
    );
    write(EXPECTED[8].0, tamper_signature(&valid).as_bytes());
    write(EXPECTED[9].0, format!("{valid}\n").as_bytes());
    let other_audience = PresentationRequest::new("https://other.example", NONCE);
    write(EXPECTED[10].0, present_for(&other_audience, NOW).as_bytes());
    // Not verified: hidden files and directories.
    write(".hidden", b"garbage");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub").join("x"), b"garbage").unwrap();
    Material { dir: root, trust }
}

fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

#[test]
fn mixed_directory_exit_1_with_per_file_verdicts_identical_in_both_modes() {
    let material = mixed_directory();
    let dir = material.dir.path().join("presentations");
    let batch = verify_batch(&dir, &material.trust, &["--json"]);
    let single = verify_batch(&dir, &material.trust, &["--json", "--mode", "single"]);
    for out in [&batch, &single] {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    }
    assert_eq!(
        stdout(&batch),
        stdout(&single),
        "batch and single give the same verdicts"
    );
    let lines = json_lines(&batch);
    assert_eq!(lines.len(), EXPECTED.len(), "{}", stdout(&batch));
    for (line, (name, kind)) in lines.iter().zip(EXPECTED) {
        assert_eq!(line["file"], name, "{line}");
        match kind {
            None => {
                assert_eq!(line["valid"], true, "{line}");
                assert!(line["issuer"].as_str().unwrap().starts_with("did:key:z"));
                assert!(line.get("kind").is_none() && line.get("reason").is_none());
            }
            Some(kind) => {
                assert_eq!(line["valid"], false, "{line}");
                assert_eq!(line["kind"], kind, "{line}");
                assert!(!line["reason"].as_str().unwrap().is_empty(), "{line}");
                assert!(line.get("issuer").is_none(), "{line}");
            }
        }
    }
    assert_eq!(
        lines[5]["reason"],
        "limit exceeded: presentation is larger than 65536 bytes"
    );
    assert_eq!(lines[6]["reason"], "malformed: input is not UTF-8 text");
    // The summary goes to stderr in JSON mode.
    let summary = stderr(&batch);
    assert!(
        summary.contains("11 presentations: 3 valid, 8 invalid"),
        "{summary}"
    );
    assert!(summary.contains("(batch mode)"), "{summary}");
    assert!(stderr(&single).contains("(single mode)"));
}

#[test]
fn human_summary_groups_invalid_by_kind() {
    let material = mixed_directory();
    let dir = material.dir.path().join("presentations");
    let out = verify_batch(&dir, &material.trust, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("11 presentations: 3 valid, 8 invalid"),
        "{text}"
    );
    for line in [
        "  expired: 1\n",
        "  invalid_binding: 2\n",
        "  invalid_signature: 2\n",
        "  malformed: 3\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(
        text.contains("INVALID 05-garbage.txt: malformed: "),
        "{text}"
    );
    assert!(!text.contains("INVALID 01-valid"), "{text}");
    assert!(text.contains("presentations/s (batch mode)"), "{text}");
    assert!(text.contains("elapsed "), "{text}");
    let err = stderr(&out);
    assert_eq!(err.trim(), "invalid: 8 of 11 presentations are invalid");
    assert!(!err.contains("panicked"));
}

#[test]
fn all_valid_exits_0_and_bad_usage_exits_2() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ok");
    std::fs::create_dir(&dir).unwrap();
    let ed = fixture(Algorithm::EdDSA);
    let trust = trust_file(root.path(), &[&ed]);
    for i in 0..3 {
        std::fs::write(dir.join(format!("p{i}")), ed.present(&[])).unwrap();
    }
    for mode in ["batch", "single"] {
        let out = verify_batch(&dir, &trust, &["--mode", mode]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).contains("3 presentations: 3 valid, 0 invalid"));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }

    // An empty directory, or one with only hidden files, is a usage error.
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join(".hidden"), "x").unwrap();
    let out = verify_batch(&empty, &trust, &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("no presentation files"),
        "{}",
        stderr(&out)
    );

    let missing = verify_batch(&root.path().join("missing"), &trust, &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("error: cannot read directory"));

    let bad_trust = root.path().join("bad-trust.json");
    std::fs::write(&bad_trust, "{").unwrap();
    assert_eq!(verify_batch(&dir, &bad_trust, &[]).status.code(), Some(2));
    assert_eq!(
        verify_batch(&dir, &trust, &["--mode", "fast"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        verify_batch(&dir, &trust, &["--at", "yesterday"])
            .status
            .code(),
        Some(2)
    );
    // Audience and nonce are required.
    let out = agentid(&[
        "verify-batch",
        dir.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn chunks_keep_order_across_the_chunk_boundary() {
    // More than one chunk of 1024 files, with invalid ones on both sides of the
    // boundary: verdicts stay with their files.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("many");
    std::fs::create_dir(&dir).unwrap();
    let ed = fixture(Algorithm::EdDSA);
    let trust = trust_file(root.path(), &[&ed]);
    let valid = ed.present(&[]);
    let tampered = tamper_signature(&valid);
    let invalid = [0, 1022, 1023, 1024, 1025, 1030];
    for i in 0..1031 {
        let text = if invalid.contains(&i) {
            &tampered
        } else {
            &valid
        };
        std::fs::write(dir.join(format!("p{i:05}")), text).unwrap();
    }
    let batch = verify_batch(&dir, &trust, &["--json"]);
    assert_eq!(batch.status.code(), Some(1));
    let lines = json_lines(&batch);
    assert_eq!(lines.len(), 1031);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["file"], format!("p{i:05}"));
        assert_eq!(line["valid"], !invalid.contains(&i), "{line}");
    }
    let single = verify_batch(&dir, &trust, &["--json", "--mode", "single"]);
    assert_eq!(stdout(&batch), stdout(&single));
    assert!(stderr(&batch).contains("1031 presentations: 1025 valid, 6 invalid"));
}
