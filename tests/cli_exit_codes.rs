//! The exit status rule of `src/cli.rs`, command by command: 2 when the command
//! cannot start as asked (clap's errors, unusable flag values, a missing or
//! malformed input file, no wallet), 1 when the material under test is invalid or
//! the operation is refused on its merits. One table, one line of stderr each.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

const PASSPHRASE: &str = "operator passphrase 1";

fn run(wallet: Option<&Path>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
    if let Some(wallet) = wallet {
        command.arg("--wallet").arg(wallet);
    }
    command
        .args(args)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET")
        .output()
        .unwrap()
}

fn stdout(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn usage_errors_exit_2_and_invalid_input_exits_1_for_every_command() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let fast = ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"];

    // A demo presentation and trust file; a wallet holding one credential.
    stdout(run(None, &["demo", "--out", &path("demo")]));
    let request: Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo/request.json")).unwrap()).unwrap();
    let (audience, nonce) = (
        request["audience"].as_str().unwrap().to_owned(),
        request["nonce"].as_str().unwrap().to_owned(),
    );
    let presentation = path("demo/presentation.sd-jwt");
    let trust = path("demo/trust.json");
    let wallet = dir.join("wallet");
    let mut init = vec!["init"];
    init.extend(fast);
    let did = stdout(run(Some(&wallet), &init));
    std::fs::write(
        dir.join("claims.json"),
        json!({"task": {"id": "T", "purpose": "p"}, "scope": ["s"], "on_behalf_of": did})
            .to_string(),
    )
    .unwrap();
    let claims = path("claims.json");
    let issue = |extra: &[&str]| {
        let mut args = vec![
            "issue",
            "--subject",
            &did,
            "--vct",
            "urn:agentid:vct:task:1",
        ];
        args.extend(extra);
        run(Some(&wallet), &args)
    };
    std::fs::write(
        dir.join("credential"),
        stdout(issue(&["--claims", &claims])),
    )
    .unwrap();
    let credential = path("credential");
    let id = stdout(run(Some(&wallet), &["receive", &credential]));
    let backup = path("backup");
    let mut export = vec!["export", backup.as_str()];
    export.extend(fast);
    stdout(run(Some(&wallet), &export));
    std::fs::write(dir.join("garbage"), "not a presentation").unwrap();
    let garbage = path("garbage");
    std::fs::write(dir.join("not-json"), "{").unwrap();
    let not_json = path("not-json");
    std::fs::create_dir(dir.join("empty")).unwrap();
    std::fs::create_dir(dir.join("batch")).unwrap();
    std::fs::write(dir.join("batch/one"), "not a presentation").unwrap();
    std::fs::write(dir.join("existing"), "keep").unwrap();
    let missing = path("missing");
    let wrong_claims = dir.join("wrong-claims.json");
    std::fs::write(&wrong_claims, json!({"scope": 7}).to_string()).unwrap();
    let wrong_claims = wrong_claims.to_str().unwrap().to_owned();

    let verify = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["verify", presentation.as_str(), "--audience", &audience]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
        args.extend(["--nonce".into(), nonce.clone()]);
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args
    };
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|a| (*a).to_owned()).collect() };
    let (nowhere, new_dir) = (dir.join("nowhere"), dir.join("new"));
    let w = Some(wallet.as_path());
    let (nowhere, new_dir) = (Some(nowhere.as_path()), Some(new_dir.as_path()));
    let present = |extra: &[&str]| {
        let mut args = owned(&[
            "present",
            "--credential",
            &id,
            "--audience",
            "a",
            "--nonce",
            "n",
        ]);
        args.extend(owned(extra));
        args
    };

    // (case, wallet, args, exit status)
    let cases: Vec<(&str, Option<&Path>, Vec<String>, i32)> = vec![
        // clap's own errors
        ("unknown command", None, owned(&["frobnicate"]), 2),
        ("verify without its input", None, owned(&["verify"]), 2),
        (
            "verify with an unknown flag",
            None,
            verify(&["--trust", &trust, "--bogus"]),
            2,
        ),
        (
            "verify --audience without --nonce",
            None,
            owned(&[
                "verify",
                &presentation,
                "--audience",
                "a",
                "--trust",
                &trust,
            ]),
            2,
        ),
        (
            "issue without --subject",
            w,
            owned(&["issue", "--vct", "v", "--claims", &claims]),
            2,
        ),
        (
            "verify-batch --mode nonsense",
            None,
            owned(&[
                "verify-batch",
                &path("batch"),
                "--audience",
                "a",
                "--nonce",
                "n",
                "--trust",
                &trust,
                "--mode",
                "x",
            ]),
            2,
        ),
        // verify
        (
            "verify: trust file missing",
            None,
            verify(&["--trust", &missing]),
            2,
        ),
        (
            "verify: trust file not JSON",
            None,
            verify(&["--trust", &not_json]),
            2,
        ),
        (
            "verify: status file missing",
            None,
            verify(&["--trust", &trust, "--status", &missing]),
            2,
        ),
        (
            "verify: --at unreadable",
            None,
            verify(&["--trust", &trust, "--at", "yesterday"]),
            2,
        ),
        (
            "verify: --action unreadable",
            None,
            verify(&["--trust", &trust, "--action", "x"]),
            2,
        ),
        (
            "verify: input file missing",
            None,
            owned(&["verify", &missing, "--trust", &trust]),
            2,
        ),
        (
            "verify: input invalid",
            None,
            owned(&["verify", &garbage, "--trust", &trust]),
            1,
        ),
        (
            "verify: wrong nonce",
            None,
            owned(&[
                "verify",
                &presentation,
                "--audience",
                &audience,
                "--nonce",
                "other",
                "--trust",
                &trust,
            ]),
            1,
        ),
        // verify-batch
        (
            "verify-batch: directory missing",
            None,
            owned(&[
                "verify-batch",
                &missing,
                "--audience",
                "a",
                "--nonce",
                "n",
                "--trust",
                &trust,
            ]),
            2,
        ),
        (
            "verify-batch: directory empty",
            None,
            owned(&[
                "verify-batch",
                &path("empty"),
                "--audience",
                "a",
                "--nonce",
                "n",
                "--trust",
                &trust,
            ]),
            2,
        ),
        (
            "verify-batch: trust file missing",
            None,
            owned(&[
                "verify-batch",
                &path("batch"),
                "--audience",
                "a",
                "--nonce",
                "n",
                "--trust",
                &missing,
            ]),
            2,
        ),
        (
            "verify-batch: a presentation invalid",
            None,
            owned(&[
                "verify-batch",
                &path("batch"),
                "--audience",
                "a",
                "--nonce",
                "n",
                "--trust",
                &trust,
            ]),
            1,
        ),
        // receive
        (
            "receive: no --wallet",
            None,
            owned(&["receive", &credential]),
            2,
        ),
        (
            "receive: no wallet there",
            nowhere,
            owned(&["receive", &credential]),
            2,
        ),
        (
            "receive: input file missing",
            w,
            owned(&["receive", &missing]),
            2,
        ),
        (
            "receive: trust file missing",
            w,
            owned(&["receive", &credential, "--trust", &missing]),
            2,
        ),
        (
            "receive: input invalid",
            w,
            owned(&["receive", &garbage]),
            1,
        ),
        (
            "receive: already held",
            w,
            owned(&["receive", &credential]),
            1,
        ),
        // present
        (
            "present: --disclose not a claim path",
            w,
            present(&["--disclose", "a..b"]),
            2,
        ),
        (
            "present: --prove unreadable",
            w,
            present(&["--prove", "age >= old"]),
            2,
        ),
        (
            "present: --action not JSON",
            w,
            present(&["--action", "{"]),
            2,
        ),
        (
            "present: no such credential",
            w,
            owned(&[
                "present",
                "--credential",
                "nope",
                "--audience",
                "a",
                "--nonce",
                "n",
            ]),
            1,
        ),
        // issue
        (
            "issue: claims file missing",
            w,
            owned(&[
                "issue",
                "--subject",
                &did,
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                &missing,
            ]),
            2,
        ),
        (
            "issue: claims not JSON",
            w,
            owned(&[
                "issue",
                "--subject",
                &did,
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                &not_json,
            ]),
            2,
        ),
        (
            "issue: subject not a did:key",
            w,
            owned(&[
                "issue",
                "--subject",
                "did:web:x",
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                &claims,
            ]),
            2,
        ),
        (
            "issue: --ttl unreadable",
            w,
            owned(&[
                "issue",
                "--subject",
                &did,
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                &claims,
                "--ttl",
                "soon",
            ]),
            2,
        ),
        (
            "issue: unknown credential type",
            w,
            owned(&[
                "issue",
                "--subject",
                &did,
                "--vct",
                "urn:x",
                "--claims",
                &claims,
            ]),
            2,
        ),
        (
            "issue: claims outside the schema",
            w,
            owned(&[
                "issue",
                "--subject",
                &did,
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                &wrong_claims,
            ]),
            2,
        ),
        (
            "issue: lifetime past the type's maximum",
            w,
            owned(&[
                "issue",
                "--subject",
                &did,
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                &claims,
                "--ttl",
                "30days",
            ]),
            2,
        ),
        // delegate
        (
            "delegate: --to not a did:key",
            w,
            owned(&["delegate", "--credential", &id, "--to", "did:web:x"]),
            2,
        ),
        (
            "delegate: no such credential",
            w,
            owned(&["delegate", "--credential", "nope", "--to", &did]),
            1,
        ),
        // revoke, show
        ("revoke: no such jti", w, owned(&["revoke", "urn:nope"]), 1),
        ("show: no such credential", w, owned(&["show", "nope"]), 1),
        // init, export, import
        ("init: a wallet is there", w, owned(&["init"]), 2),
        (
            "export: the file exists",
            w,
            owned(&["export", &path("existing")]),
            2,
        ),
        (
            "import: backup missing",
            new_dir,
            owned(&["import", &missing]),
            2,
        ),
        ("import: into a wallet", w, owned(&["import", &backup]), 2),
        (
            "import: not a backup",
            new_dir,
            owned(&["import", &path("existing")]),
            1,
        ),
    ];
    let mut wrong = Vec::new();
    for (case, wallet_dir, args, expected) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(*wallet_dir, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        if output.status.code() != Some(*expected) {
            wrong.push(format!(
                "{case}: exit {:?}, expected {expected}: {}",
                output.status.code(),
                stderr.trim_end()
            ));
            continue;
        }
        let prefix = if *expected == 2 { "error: " } else { "" };
        assert!(stderr.starts_with(prefix), "{case}: {stderr}");
        // Clap's own reports span lines and end in a pointer to --help.
        if !stderr.contains("For more information, try '--help'") {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{case}: {stderr}");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(std::fs::read(dir.join("existing")).unwrap(), b"keep");
}
