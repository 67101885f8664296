//! Times on the command line: every one a person reads is RFC 3339 (ISO 8601
//! expanded years past 9999), and no signed NumericDate makes a command panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use agentid_wallet::cnf;
use common::forge::Forge;
use serde_json::{json, Value};

const PASSPHRASE: &str = "operator passphrase 1";

fn agentid(wallet: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("--wallet")
        .arg(wallet)
        .args(args)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET")
        .output()
        .expect("run agentid")
}

/// Exit status, stdout and stderr, after checking nothing panicked.
fn run(wallet: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = agentid(wallet, args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
            "{args:?}: {text}"
        );
    }
    (out.status.code(), stdout, stderr)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn credentials_expiring_beyond_year_9999_verify_show_and_list_without_panicking() {
    let home = tempfile::tempdir().unwrap();
    let wallet = home.path().join("w");
    let (code, did, _) = run(
        &wallet,
        &["init", "--kdf-memory-kib", "8192", "--kdf-iterations", "1"],
    );
    assert_eq!(code, Some(0));
    let holder = agentid_verifier::did_key::decode(did.trim()).unwrap();
    let forge = Forge::new();
    let trust = home.path().join("trust.json");
    std::fs::write(
        &trust,
        json!({"issuers": [{"id": forge.issuer_did}]}).to_string(),
    )
    .unwrap();
    let trust = trust.to_str().unwrap();
    let now = unix_now();

    let cases: [(u64, &str); 4] = [
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        (253_402_300_800, "+10000-01-01T00:00:00Z"),
        (1 << 53, "+285428751-11-12T07:36:32Z"),
        (u64::MAX, "+584554051223-11-09T07:00:15Z"),
    ];
    for (exp, shown) in cases {
        let mut payload = forge.payload();
        payload["iat"] = json!(now - 60);
        payload["nbf"] = json!(now - 60);
        payload["exp"] = json!(exp);
        payload["cnf"] = cnf(&holder);
        let credential = forge.credential(&forge.header(), &payload, &[]);
        let file = home.path().join(format!("credential-{exp}"));
        std::fs::write(&file, &credential).unwrap();
        let file = file.to_str().unwrap();

        let (code, stdout, stderr) = run(&wallet, &["verify", file, "--trust", trust]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stdout.contains(&format!("  expires:   {shown} (in ")),
            "{stdout}"
        );
        let (code, stdout, _) = run(&wallet, &["verify", file, "--trust", trust, "--json"]);
        assert_eq!(code, Some(0));
        let verdict: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            verdict["verified"]["expires_at"],
            json!(exp),
            "JSON keeps the number"
        );

        let (code, id, stderr) = run(&wallet, &["receive", file]);
        assert_eq!(code, Some(0), "{stderr}");
        let id = id.trim();
        let (code, stdout, _) = run(&wallet, &["show", id]);
        assert_eq!(code, Some(0));
        assert!(
            stdout.contains(&format!("expires:     {shown} (in ")),
            "{stdout}"
        );
        let (code, stdout, _) = run(&wallet, &["list"]);
        assert_eq!(code, Some(0));
        assert!(
            stdout.contains(&format!("expires {shown} (in ")),
            "{stdout}"
        );
    }

    // A verifier clock at the end of u64 time: the rejection names the time in
    // RFC 3339 too, never Unix seconds alone.
    let (code, _, stderr) = run(
        &wallet,
        &[
            "verify",
            home.path()
                .join("credential-9007199254740992")
                .to_str()
                .unwrap(),
            "--trust",
            trust,
            "--at",
            &u64::MAX.to_string(),
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim_end(),
        "invalid: credential expired at +285428751-11-12T07:36:32Z"
    );
    let (code, _, _) = run(&wallet, &["purge"]);
    assert_eq!(code, Some(0));
}
