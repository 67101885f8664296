//! The wallet commands end to end, as an operator would run them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

const PASSPHRASE: &str = "operator passphrase 1";
const FAST_KDF: [&str; 4] = ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"];

fn agentid(wallet: &Path, args: &[&str]) -> Output {
    agentid_with(wallet, args, PASSPHRASE)
}

fn agentid_with(wallet: &Path, args: &[&str], passphrase: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("--wallet")
        .arg(wallet)
        .args(args)
        .env("AGENTID_PASSPHRASE", passphrase)
        .env_remove("AGENTID_WALLET")
        .output()
        .expect("run agentid")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    stderr
}

/// A usage error: exit 2, one line on stderr.
fn usage(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {} stderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn init(dir: &Path) -> String {
    let mut args = vec!["init"];
    args.extend(FAST_KDF);
    ok(agentid(dir, &args))
}

#[test]
fn issue_receive_list_show_present_verify_purge_audit() {
    let home = tempfile::tempdir().unwrap();
    let issuer = home.path().join("issuer");
    let agent = home.path().join("agent");
    let issuer_did = init(&issuer);
    let agent_did = init(&agent);
    assert!(issuer_did.starts_with("did:key:z6Mk"));
    assert_eq!(ok(agentid(&agent, &["did"])), agent_did);
    let task_did = ok(agentid(
        &agent,
        &["key", "new", "--task", "T-7", "--alg", "es256"],
    ));
    assert!(task_did.starts_with("did:key:zDn"), "{task_did}");

    let claims = home.path().join("claims.json");
    std::fs::write(
        &claims,
        json!({
            "task": {"id": "T-7", "purpose": "refund order 77"},
            "scope": ["refunds:write"],
            "constraints": {"max_amount": 20},
            "on_behalf_of": agent_did
        })
        .to_string(),
    )
    .unwrap();
    let credential = ok(agentid(
        &issuer,
        &[
            "issue",
            "--subject",
            &task_did,
            "--vct",
            "urn:agentid:vct:task:1",
            "--claims",
            claims.to_str().unwrap(),
            "--sd",
            "task.purpose,on_behalf_of",
            "--ttl",
            "10m",
        ],
    ));
    let credential_file = home.path().join("credential.sd-jwt");
    std::fs::write(&credential_file, &credential).unwrap();
    let id = ok(agentid(
        &agent,
        &["receive", credential_file.to_str().unwrap()],
    ));
    assert_eq!(id.len(), 22);

    let list: Value = serde_json::from_str(&ok(agentid(&agent, &["list", "--json"]))).unwrap();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["issuer"], issuer_did.as_str());
    assert_eq!(list[0]["holder"], task_did.as_str());
    assert!(
        !list.to_string().contains("refund order 77"),
        "list shows no claim values"
    );

    let shown: Value =
        serde_json::from_str(&ok(agentid(&agent, &["show", &id, "--json"]))).unwrap();
    assert_eq!(shown["claims"]["task"]["purpose"], "refund order 77");
    assert_eq!(
        shown["disclosable"],
        json!(["on_behalf_of", "task.purpose"])
    );

    let presentation = ok(agentid(
        &agent,
        &[
            "present",
            "--credential",
            &id,
            "--audience",
            "https://bank.example",
            "--nonce",
            "-n77",
            "--disclose",
            "on_behalf_of",
        ],
    ));
    let presentation_file = home.path().join("presentation.sd-jwt");
    std::fs::write(&presentation_file, &presentation).unwrap();
    let trust = home.path().join("trust.json");
    std::fs::write(&trust, json!({"issuers": [{"id": issuer_did}]}).to_string()).unwrap();
    let status = home.path().join("status.jwt");
    ok(agentid(
        &issuer,
        &["status", "publish", "--out", status.to_str().unwrap()],
    ));
    let verdict: Value = serde_json::from_str(&ok(agentid(
        &agent,
        &[
            "verify",
            presentation_file.to_str().unwrap(),
            "--audience",
            "https://bank.example",
            "--nonce",
            "-n77",
            "--trust",
            trust.to_str().unwrap(),
            "--status",
            status.to_str().unwrap(),
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(
        verdict["verified"]["claims"]["constraints"]["max_amount"],
        20
    );
    // The bare credential verifies as a credential, but authorizes no action: anyone
    // who has seen it could present it.
    let bare = agentid(
        &agent,
        &[
            "verify",
            credential_file.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
            "--status",
            status.to_str().unwrap(),
            "--action",
            "refunds:write https://shop.example/orders/1234 5",
        ],
    );
    let reason = failure(&bare);
    assert!(reason.contains("without key binding"), "{reason}");
    assert!(verdict["verified"]["claims"]["task"]
        .get("purpose")
        .is_none());

    // The issuer revokes it by jti; the next status list token says so.
    let jti = verdict["verified"]["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(agentid(&issuer, &["revoke", &jti]));
    ok(agentid(
        &issuer,
        &[
            "status",
            "publish",
            "--out",
            status.to_str().unwrap(),
            "--ttl",
            "10m",
        ],
    ));
    let revoked = agentid(
        &agent,
        &[
            "verify",
            presentation_file.to_str().unwrap(),
            "--audience",
            "https://bank.example",
            "--nonce",
            "-n77",
            "--trust",
            trust.to_str().unwrap(),
            "--status",
            status.to_str().unwrap(),
        ],
    );
    assert!(failure(&revoked).starts_with("invalid: credential revoked: Invalid at index "));
    assert!(failure(&agentid(&issuer, &["revoke", "urn:nope"])).contains("not found"));

    // Nothing has expired yet.
    assert_eq!(
        ok(agentid(&agent, &["purge"])),
        "purged 0 expired credential(s) and destroyed 0 task key(s)"
    );

    assert_eq!(
        ok(agentid(&agent, &["audit", "verify"])),
        "audit log intact: 5 entries"
    );
    let lines = ok(agentid(&agent, &["audit", "export", "--jsonl"]));
    let actions: Vec<String> = lines
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(actions, ["init", "key-new", "receive", "present", "purge"]);
    assert!(lines.contains("\"nonce\":\"-n77\""));
    assert!(!lines.contains("refund order 77"));
}

#[test]
fn clear_errors_for_wrong_passphrase_in_use_missing_wallet_and_bad_input() {
    let home = tempfile::tempdir().unwrap();
    let wallet = home.path().join("w");
    init(&wallet);

    let wrong = agentid_with(&wallet, &["did"], "not the passphrase");
    assert_eq!(failure(&wrong), "error: wrong passphrase");

    let held = agentid_wallet::Wallet::open(&wallet, &agentid_wallet::Passphrase::new(PASSPHRASE))
        .unwrap();
    let in_use = agentid(&wallet, &["did"]);
    assert!(failure(&in_use).starts_with("error: wallet in use by another process"));
    drop(held);
    assert!(agentid(&wallet, &["did"]).status.success());

    let missing = agentid(&home.path().join("nowhere"), &["did"]);
    assert!(usage(&missing).contains("no wallet at"));

    let again = agentid(&wallet, &["init"]);
    assert!(usage(&again).contains("already exists"));

    let short = agentid_with(&home.path().join("short"), &["init"], "short");
    assert_eq!(short.status.code(), Some(2));

    let garbage = home.path().join("garbage");
    std::fs::write(&garbage, "not a credential").unwrap();
    assert!(
        failure(&agentid(&wallet, &["receive", garbage.to_str().unwrap()]))
            .starts_with("invalid: ")
    );
    assert!(failure(&agentid(&wallet, &["show", "nope"])).contains("not found"));

    let no_wallet = Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("did")
        .env_remove("AGENTID_WALLET")
        .output()
        .unwrap();
    assert_eq!(no_wallet.status.code(), Some(2));
}

#[test]
fn kdf_parameters_above_the_ceiling_need_allow_expensive_kdf() {
    let home = tempfile::tempdir().unwrap();
    let wallet = home.path().join("w");
    // 17 passes over 8 MiB: one past the pass ceiling, still cheap to run.
    let expensive = ["--kdf-memory-kib", "8192", "--kdf-iterations", "17"];
    let mut init = vec!["init"];
    init.extend(expensive);
    let refused = agentid(&wallet, &init);
    assert_eq!(refused.status.code(), Some(2), "a usage error");
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        "error: the requested key derivation asks for 17 Argon2id passes, above the \
         16-pass ceiling; pass --allow-expensive-kdf to write a file that needs it to open"
    );
    assert!(!wallet.exists(), "nothing written");
    let mut opted_in = vec!["--allow-expensive-kdf"];
    opted_in.extend(&init);
    let did = ok(agentid(&wallet, &opted_in));

    let header_path = wallet.join("wallet.header");
    let header = std::fs::read(&header_path).unwrap();
    assert_eq!(
        failure(&agentid(&wallet, &["did"])),
        "error: wallet header asks for 17 Argon2id passes, above the 16-pass ceiling; \
         pass --allow-expensive-kdf if you trust this file"
    );
    // The flag is global: it may follow the subcommand.
    assert_eq!(ok(agentid(&wallet, &["did", "--allow-expensive-kdf"])), did);

    // A header edited to the format's maximum is refused at once, and left as it is.
    let mut edited: Value = serde_json::from_slice(&header).unwrap();
    edited["kdf"]["memory_kib"] = json!(4_194_304);
    edited["kdf"]["iterations"] = json!(64);
    let edited = serde_json::to_vec(&edited).unwrap();
    std::fs::write(&header_path, &edited).unwrap();
    assert_eq!(
        failure(&agentid(&wallet, &["did"])),
        "error: wallet header asks for 4194304 KiB of Argon2id memory, above the 1048576 KiB \
         ceiling; pass --allow-expensive-kdf if you trust this file"
    );
    assert_eq!(std::fs::read(&header_path).unwrap(), edited, "unchanged");
    std::fs::write(&header_path, &header).unwrap();

    // A crafted backup is refused by import before any wallet directory exists.
    let backup = home.path().join("backup.agentid");
    let mut export = vec!["--allow-expensive-kdf", "export", backup.to_str().unwrap()];
    export.extend(FAST_KDF);
    ok(agentid(&wallet, &export));
    let mut crafted: Value = serde_json::from_slice(&std::fs::read(&backup).unwrap()).unwrap();
    crafted["kdf"]["memory_kib"] = json!(4_194_304);
    crafted["kdf"]["iterations"] = json!(64);
    std::fs::write(&backup, serde_json::to_vec(&crafted).unwrap()).unwrap();
    let restored = home.path().join("restored");
    let mut import = vec!["import", backup.to_str().unwrap()];
    import.extend(FAST_KDF);
    assert_eq!(
        failure(&agentid(&restored, &import)),
        "error: backup asks for 4194304 KiB of Argon2id memory, above the 1048576 KiB \
         ceiling; pass --allow-expensive-kdf if you trust this file"
    );
    assert!(!restored.exists(), "no wallet directory is created");

    let help = Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--allow-expensive-kdf"));
}

#[test]
fn passphrase_change_and_export_import() {
    let home = tempfile::tempdir().unwrap();
    let wallet = home.path().join("w");
    let did = init(&wallet);
    let task = ok(agentid(&wallet, &["key", "new", "--task", "T-1"]));

    let mut change = Command::new(env!("CARGO_BIN_EXE_agentid"));
    change
        .arg("--wallet")
        .arg(&wallet)
        .args(["passphrase", "change"])
        .args(FAST_KDF)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env("AGENTID_NEW_PASSPHRASE", "the new passphrase");
    ok(change.output().unwrap());
    assert_eq!(
        failure(&agentid(&wallet, &["did"])),
        "error: wrong passphrase"
    );
    assert_eq!(
        ok(agentid_with(&wallet, &["did"], "the new passphrase")),
        did
    );

    let backup = home.path().join("backup.agentid");
    let mut export = vec!["export", backup.to_str().unwrap()];
    export.extend(FAST_KDF);
    ok(agentid_with(&wallet, &export, "the new passphrase"));
    let restored = home.path().join("restored");
    let mut import = vec!["import", backup.to_str().unwrap()];
    import.extend(FAST_KDF);
    ok(agentid_with(&restored, &import, "the new passphrase"));
    assert_eq!(
        ok(agentid_with(&restored, &["did"], "the new passphrase")),
        did
    );
    let audit = ok(agentid_with(
        &restored,
        &["audit", "export", "--jsonl"],
        "the new passphrase",
    ));
    assert!(
        audit.contains(&task),
        "the restored audit log holds the key-new entry"
    );
    assert!(ok(agentid_with(
        &restored,
        &["audit", "verify"],
        "the new passphrase"
    ))
    .starts_with("audit log intact"));
}

#[test]
fn delegate_to_a_sub_agent_and_present_an_action() {
    let home = tempfile::tempdir().unwrap();
    let (issuer, agent, sub) = (
        home.path().join("issuer"),
        home.path().join("agent"),
        home.path().join("sub"),
    );
    let issuer_did = init(&issuer);
    let agent_did = init(&agent);
    let sub_did = init(&sub);
    let claims = home.path().join("claims.json");
    std::fs::write(
        &claims,
        json!({
            "task": {"id": "T-8", "purpose": "refunds"}, "scope": ["refunds:*"],
            "constraints": {"max_amount": 100}, "max_delegation_depth": 1, "on_behalf_of": issuer_did
        })
        .to_string(),
    )
    .unwrap();
    let credential = home.path().join("credential");
    std::fs::write(
        &credential,
        ok(agentid(
            &issuer,
            &[
                "issue",
                "--subject",
                &agent_did,
                "--vct",
                "urn:agentid:vct:task:1",
                "--claims",
                claims.to_str().unwrap(),
                "--ttl",
                "30m",
            ],
        )),
    )
    .unwrap();
    let id = ok(agentid(&agent, &["receive", credential.to_str().unwrap()]));

    let widening = agentid(
        &agent,
        &[
            "delegate",
            "--credential",
            &id,
            "--to",
            &sub_did,
            "--max-amount",
            "500",
        ],
    );
    assert_eq!(
        failure(&widening),
        "invalid: delegation widens its parent's rights: constraints.max_amount"
    );
    let delegation = home.path().join("delegation");
    std::fs::write(
        &delegation,
        ok(agentid(
            &agent,
            &[
                "delegate",
                "--credential",
                &id,
                "--to",
                &sub_did,
                "--scope",
                "refunds:write",
                "--max-amount",
                "50",
            ],
        )),
    )
    .unwrap();
    let sub_id = ok(agentid(&sub, &["receive", delegation.to_str().unwrap()]));
    let plain = agentid(
        &sub,
        &[
            "present",
            "--credential",
            &sub_id,
            "--audience",
            "https://bank.example",
            "--nonce",
            "n",
        ],
    );
    assert!(usage(&plain).contains("present it with an action"));
    let presentation = home.path().join("presentation");
    std::fs::write(
        &presentation,
        ok(agentid(
            &sub,
            &[
                "present",
                "--credential",
                &sub_id,
                "--audience",
                "https://bank.example",
                "--nonce",
                "n",
                "--action",
                r#"{"scope":"refunds:write","resource":"https://shop.example/orders/9","amount":30}"#,
            ],
        )),
    )
    .unwrap();
    let status = home.path().join("status.jwt");
    ok(agentid(
        &issuer,
        &["status", "publish", "--out", status.to_str().unwrap()],
    ));
    let trust = home.path().join("trust.json");
    std::fs::write(&trust, json!({"issuers": [{"id": issuer_did}]}).to_string()).unwrap();
    let verdict: Value = serde_json::from_str(&ok(agentid(
        &sub,
        &[
            "verify",
            presentation.to_str().unwrap(),
            "--audience",
            "https://bank.example",
            "--nonce",
            "n",
            "--trust",
            trust.to_str().unwrap(),
            "--status",
            status.to_str().unwrap(),
            "--json",
        ],
    )))
    .unwrap();
    let chain = &verdict["verified"]["chain"];
    assert_eq!(chain["delegations"][0]["delegate"], sub_did.as_str());
    assert_eq!(chain["effective_rights"]["scope"], json!(["refunds:write"]));
    assert_eq!(chain["effective_rights"]["constraints"]["max_amount"], 50);
    assert_eq!(chain["action"]["amount"], 30);

    // The verifier also decides the action against the effective rights.
    let decide = |action: &str| {
        agentid(
            &sub,
            &[
                "verify",
                presentation.to_str().unwrap(),
                "--audience",
                "https://bank.example",
                "--nonce",
                "n",
                "--trust",
                trust.to_str().unwrap(),
                "--status",
                status.to_str().unwrap(),
                "--action",
                action,
            ],
        )
    };
    // The action authorized is exactly the one the delegate signed (30 written as
    // 30.0 is the same); any other amount, resource or scope is refused.
    assert!(decide("refunds:write https://shop.example/orders/9 30")
        .status
        .success());
    assert!(decide(
        r#"{"amount": 30.0, "resource": "https://shop.example/orders/9", "scope": "refunds:write"}"#
    )
    .status
    .success());
    for other in [
        "refunds:write https://shop.example/orders/9 60",
        "refunds:write https://shop.example/orders/9 10",
        "refunds:write https://shop.example/orders/9",
        "refunds:write https://shop.example/orders/10 30",
        "orders:delete https://shop.example/orders/9",
    ] {
        assert!(
            failure(&decide(other)).starts_with(
                "invalid: action denied: the action differs from the one the delegate signed"
            ),
            "{other}"
        );
    }
    assert_eq!(decide("nonsense").status.code(), Some(2));
}

/// Runs `agentid --wallet DIR ARGS` with `stdin` on standard input.
fn agentid_stdin(wallet: &Path, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("--wallet")
        .arg(wallet)
        .args(args)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn task_claims_file(dir: &Path, on_behalf_of: &str) -> String {
    let claims = dir.join("task-claims.json");
    std::fs::write(
        &claims,
        json!({"task": {"id": "T-9", "purpose": "p"}, "scope": ["refunds:write"], "on_behalf_of": on_behalf_of})
            .to_string(),
    )
    .unwrap();
    claims.to_str().unwrap().to_owned()
}

#[test]
fn issue_prints_the_jti_on_stderr_and_with_json_beside_the_credential() {
    let home = tempfile::tempdir().unwrap();
    let (issuer, agent) = (home.path().join("issuer"), home.path().join("agent"));
    let issuer_did = init(&issuer);
    let agent_did = init(&agent);
    let claims = task_claims_file(home.path(), &issuer_did);
    let issue = |extra: &[&str]| {
        let mut args = vec![
            "issue",
            "--subject",
            &agent_did,
            "--vct",
            "urn:agentid:vct:task:1",
            "--claims",
            &claims,
        ];
        args.extend(extra);
        agentid(&issuer, &args)
    };

    // Plain: standard output is the credential alone, the jti goes to stderr.
    let plain = issue(&[]);
    let stderr = String::from_utf8(plain.stderr.clone()).unwrap();
    let credential = ok(plain);
    assert_eq!(credential.lines().count(), 1, "{credential}");
    let jti = stderr
        .trim_end()
        .strip_prefix("jti: ")
        .unwrap_or_else(|| panic!("{stderr:?}"))
        .to_owned();
    assert!(jti.starts_with("urn:agentid:credential:"), "{jti}");
    // It is the credential's own jti.
    let trust = home.path().join("trust.json");
    std::fs::write(&trust, json!({"issuers": [{"id": issuer_did}]}).to_string()).unwrap();
    let status = home.path().join("status.jwt");
    ok(agentid(
        &issuer,
        &["status", "publish", "--out", status.to_str().unwrap()],
    ));
    let verdict: Value = serde_json::from_str(&ok(agentid_stdin(
        &agent,
        &[
            "verify",
            "-",
            "--trust",
            trust.to_str().unwrap(),
            "--status",
            status.to_str().unwrap(),
            "--json",
        ],
        credential.as_bytes(),
    )))
    .unwrap();
    assert_eq!(verdict["verified"]["credential_id"], jti.as_str());
    ok(agentid_stdin(
        &agent,
        &["receive", "-"],
        credential.as_bytes(),
    ));

    // --json: one object; its credential is what `receive` takes.
    let out = issue(&["--json"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued: Value = serde_json::from_str(&ok(out)).unwrap();
    let credential = issued["credential"].as_str().unwrap();
    let jti = issued["jti"].as_str().unwrap();
    assert!(issued["expires_at"].as_u64().is_some(), "{issued}");
    ok(agentid_stdin(
        &agent,
        &["receive", "-"],
        credential.as_bytes(),
    ));
    // The jti is the one the issuer revokes by.
    ok(agentid(&issuer, &["revoke", jti]));
}

#[test]
fn key_list_shows_every_key_and_no_secret() {
    let home = tempfile::tempdir().unwrap();
    let wallet = home.path().join("w");
    let root = init(&wallet);
    let task = ok(agentid(
        &wallet,
        &["key", "new", "--task", "T-7", "--alg", "es256"],
    ));
    let lines = ok(agentid(&wallet, &["key", "list"]));
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{root}  EdDSA  root  created 20")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!("{task}  ES256  task T-7  created 20")),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with('Z'), "RFC 3339: {}", lines[1]);

    let keys: Value =
        serde_json::from_str(&ok(agentid(&wallet, &["key", "list", "--json"]))).unwrap();
    assert_eq!(
        keys,
        json!([
            {"did": root, "alg": "EdDSA", "root": true, "task": null, "created_at": keys[0]["created_at"]},
            {"did": task, "alg": "ES256", "root": false, "task": "T-7", "created_at": keys[1]["created_at"]},
        ])
    );
    assert!(keys[0]["created_at"].as_u64().unwrap() > 1_700_000_000);
}

#[test]
fn prove_accepts_spaces_around_every_operator() {
    let home = tempfile::tempdir().unwrap();
    let (issuer, agent) = (home.path().join("issuer"), home.path().join("agent"));
    let issuer_did = init(&issuer);
    let agent_did = init(&agent);
    let claims = home.path().join("person.json");
    std::fs::write(
        &claims,
        json!({"given_name": "Alice", "family_name": "Example", "birthdate": "1990-05-17"})
            .to_string(),
    )
    .unwrap();
    let credential = ok(agentid(
        &issuer,
        &[
            "issue",
            "--subject",
            &agent_did,
            "--vct",
            "urn:agentid:vct:person:1",
            "--claims",
            claims.to_str().unwrap(),
            "--commit",
            "birthdate",
        ],
    ));
    let id = ok(agentid_stdin(
        &agent,
        &["receive", "-"],
        credential.as_bytes(),
    ));
    let status = home.path().join("status.jwt");
    ok(agentid(
        &issuer,
        &["status", "publish", "--out", status.to_str().unwrap()],
    ));
    let trust = home.path().join("trust.json");
    std::fs::write(&trust, json!({"issuers": [{"id": issuer_did}]}).to_string()).unwrap();

    for (predicate, proven) in [
        ("age >= 18", "birthdate <= "),
        ("  age>= 18 ", "birthdate <= "),
        ("birthdate <= 2008-11-22", "birthdate <= 2008-11-22"),
        (
            "1900-01-01 <= birthdate <= 2000-01-01",
            "1900-01-01 <= birthdate <= 2000-01-01",
        ),
        ("birthdate>=1980-01-01", "birthdate >= 1980-01-01"),
    ] {
        let presentation = ok(agentid(
            &agent,
            &[
                "present",
                "--credential",
                &id,
                "--audience",
                "https://bank.example",
                "--nonce",
                "n-1",
                "--prove",
                predicate,
            ],
        ));
        let verdict = ok(agentid_stdin(
            &agent,
            &[
                "verify",
                "-",
                "--audience",
                "https://bank.example",
                "--nonce",
                "n-1",
                "--trust",
                trust.to_str().unwrap(),
                "--status",
                status.to_str().unwrap(),
            ],
            presentation.as_bytes(),
        ));
        assert!(
            verdict.contains(&format!("  proven:    {proven}")),
            "{predicate}: {verdict}"
        );
    }
    // A space inside a claim path is not an operator's space: it stays, and names
    // another claim (with no commitment).
    let other_claim = failure(&agentid(
        &agent,
        &[
            "present",
            "--credential",
            &id,
            "--audience",
            "a",
            "--nonce",
            "n",
            "--prove",
            "birth date <= 2008-11-22",
        ],
    ));
    assert!(
        other_claim.contains("birth date has no issuer-signed commitment"),
        "{other_claim}"
    );
}

#[test]
fn status_publish_out_dash_writes_the_token_alone_to_stdout() {
    let home = tempfile::tempdir().unwrap();
    let issuer = home.path().join("issuer");
    init(&issuer);
    let out = agentid(&issuer, &["status", "publish", "--out", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let token = ok(out);
    assert_eq!(token.lines().count(), 1, "{token}");
    assert_eq!(token.split('.').count(), 3, "a compact JWS: {token}");
    assert!(stderr.contains("standard output"), "{stderr}");
    assert!(!home.path().join("-").exists());
}

#[test]
fn export_never_overwrites_without_force_and_replaces_atomically_with_it() {
    let home = tempfile::tempdir().unwrap();
    let wallet = home.path().join("w");
    let did = init(&wallet);
    let backup = home.path().join("backup.agentid");
    std::fs::write(&backup, "precious").unwrap();
    let export = |extra: &[&str]| {
        let mut args = vec!["export", backup.to_str().unwrap()];
        args.extend(FAST_KDF);
        args.extend(extra);
        agentid(&wallet, &args)
    };
    let refused = usage(&export(&[]));
    assert!(refused.contains("--force"), "{refused}");
    assert_eq!(std::fs::read(&backup).unwrap(), b"precious");

    ok(export(&["--force"]));
    assert_ne!(std::fs::read(&backup).unwrap(), b"precious");
    let mut names: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["backup.agentid", "w"], "no temporary file is left");
    let restored = home.path().join("restored");
    let mut import = vec!["import", backup.to_str().unwrap()];
    import.extend(FAST_KDF);
    ok(agentid(&restored, &import));
    assert_eq!(ok(agentid(&restored, &["did"])), did);

    // A fresh file is written without --force.
    let fresh = home.path().join("fresh.agentid");
    let mut args = vec!["export", fresh.to_str().unwrap()];
    args.extend(FAST_KDF);
    ok(agentid(&wallet, &args));
    assert!(fresh.exists());
}

#[test]
fn init_can_be_run_again_after_an_interrupted_init() {
    let home = tempfile::tempdir().unwrap();

    // Interrupted during the key derivation: only the lock file.
    let only_lock = home.path().join("only-lock");
    std::fs::create_dir(&only_lock).unwrap();
    std::fs::write(only_lock.join("wallet.lock"), "").unwrap();
    let did = init(&only_lock);
    assert_eq!(ok(agentid(&only_lock, &["did"])), did);

    // The lock, a half-written temporary header and an empty database directory.
    let partial = home.path().join("partial");
    std::fs::create_dir_all(partial.join("db")).unwrap();
    std::fs::write(partial.join("wallet.lock"), "").unwrap();
    std::fs::write(partial.join("wallet.header.tmp"), "{\"form").unwrap();
    let did = init(&partial);
    assert_eq!(ok(agentid(&partial, &["did"])), did);

    // A wallet whose header is gone still holds records: never replaced.
    let headless = home.path().join("headless");
    init(&headless);
    std::fs::remove_file(headless.join("wallet.header")).unwrap();
    assert!(usage(&agentid(&headless, &["init"])).contains("already exists"));
    assert!(headless.join("db").exists());

    // Anything else in the directory: refused, untouched.
    let other = home.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("wallet.lock"), "").unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    assert!(usage(&agentid(&other, &["init"])).contains("already exists"));
    assert_eq!(std::fs::read(other.join("notes.txt")).unwrap(), b"mine");
}
