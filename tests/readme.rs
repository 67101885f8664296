//! The README runs as written: every ```sh block, in order, in one bash shell
//! (`set -euo pipefail`), in an empty temporary directory, with the freshly built
//! `agentid` first on `PATH`. Blocks whose first line is a comment starting with
//! `# (not run by tests/readme.rs` are skipped (they build this repository). The
//! service examples' ports 8080, 8081 and 8082 are replaced by free ones, so parallel runs do not
//! collide. A failing block fails this test with the script's output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker of a block the test does not run.
const SKIP_MARKER: &str = "# (not run by tests/readme.rs";

/// How long the whole README may take before the test gives up on it.
const TIME_LIMIT: Duration = Duration::from_secs(600);

/// The ```sh blocks of a Markdown text, in order, each as its lines.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap().join("\n")),
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "README.md has an unclosed ```sh block");
    blocks
}

/// Runs administrative SQL on the database at `url`.
fn admin(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_readme_shell_blocks_run_as_written_in_order() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = shell_blocks(&readme);
    let (skipped, run): (Vec<&String>, Vec<&String>) = blocks
        .iter()
        .partition(|block| block.trim_start().starts_with(SKIP_MARKER));
    // A README whose examples all became skipped would prove nothing.
    assert!(
        run.len() >= 8,
        "expected the README's examples to run ({} blocks run, {} skipped)",
        run.len(),
        skipped.len()
    );
    // The MCP section runs the example server and agent of agentid-guard, which
    // `cargo test --workspace` builds next to this binary; a narrower build lacks them.
    let binary = Path::new(env!("CARGO_BIN_EXE_agentid"));
    let examples = binary.parent().unwrap().join("examples");
    let have_examples =
        examples.join("mcp_tools_server").exists() && examples.join("mcp_agent").exists();
    let run: Vec<&String> = run
        .into_iter()
        .filter(|block| {
            let mcp = block.contains("mcp_tools_server");
            if mcp && !have_examples {
                eprintln!(
                    "skipped the README's MCP block: the agentid-guard examples are not built \
                     (cargo test --workspace builds them)"
                );
            }
            !mcp || have_examples
        })
        .collect();
    // The several-node issuer block needs PostgreSQL: a fresh schema of the
    // database AGENTID_TEST_POSTGRES names, as DATABASE_URL; skipped without one.
    let postgres = std::env::var("AGENTID_TEST_POSTGRES").ok();
    let run: Vec<&String> = run
        .into_iter()
        .filter(|block| {
            let needs = block.contains("$DATABASE_URL");
            if needs && postgres.is_none() {
                eprintln!("skipped the README's PostgreSQL block: AGENTID_TEST_POSTGRES is unset");
            }
            !needs || postgres.is_some()
        })
        .collect();
    let schema = format!("agentid_readme_{}", std::process::id());
    let database_url = postgres.as_deref().map(|base| {
        admin(
            base,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        );
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-csearch_path%3D{schema}")
    });
    let port = free_port().to_string();
    let node_ports = [free_port().to_string(), free_port().to_string()];
    let mut script = String::from("set -euo pipefail\n");
    for (index, block) in run.iter().enumerate() {
        script.push_str(&format!("echo '>>> README block {}' >&2\n", index + 1));
        let block = block
            .replace("8080", &port)
            .replace("8081", &node_ports[0])
            .replace("8082", &node_ports[1]);
        script.push_str(&block);
        script.push('\n');
    }
    script.push_str("echo '>>> README done' >&2\n");

    let dir = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}:{}",
        binary.parent().unwrap().display(),
        examples.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env_remove("AGENTID_WALLET")
        .env_remove("AGENTID_PASSPHRASE")
        .env("DATABASE_URL", database_url.as_deref().unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().ok();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    if let Some(base) = &postgres {
        admin(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
    let last_block = stderr
        .lines()
        .rev()
        .find(|line| line.starts_with(">>> README"))
        .unwrap_or("(none)");
    assert!(
        status.success() && stderr.contains(">>> README done"),
        "the README stopped working at {last_block} ({status}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
        tail(&stdout),
        tail(&stderr)
    );
    // What the examples promise a reader.
    if have_examples {
        assert!(
            stdout.contains("order 1234: shipped (looked up for did:key:"),
            "the MCP tool answered: {}",
            tail(&stdout)
        );
    }
    assert!(stdout.contains("VALID presentation"), "{}", tail(&stdout));
    assert!(
        stdout.contains("authorized: refunds:write https://shop.example/orders/1234 45 EUR"),
        "{}",
        tail(&stdout)
    );
    assert!(
        stdout.contains("proven:    birthdate <= "),
        "{}",
        tail(&stdout)
    );
    assert!(
        !stdout.contains("Alice") && !stdout.contains("2001-04-09"),
        "the age proof discloses nothing else"
    );
    assert!(stderr.contains("status unknown"), "{}", tail(&stderr));
    assert!(stderr.contains("credential revoked"), "{}", tail(&stderr));
}

/// The last 80 lines of a command's output.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

#[test]
fn shell_blocks_are_found_in_order_and_other_fences_are_not() {
    let markdown = "text\n```sh\na\nb\n```\n```json\n{}\n```\n```\nplain\n```\n```sh\nc\n```\n";
    assert_eq!(shell_blocks(markdown), ["a\nb", "c"]);
}
