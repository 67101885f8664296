//! MCP interop of issue 14: agentid as the authorization server of MCP tool servers
//! that run no agentid code, and agentid's guard in front of a Rust MCP server.
//!
//! (a) A FastMCP server (PyPI `fastmcp`, `tests/peers/mcp_fastmcp_server.py`) behind
//!     its stock `JWTVerifier` (JWKS URI, issuer, audience of `agentid serve verifier`)
//!     accepts a tool call with a token agentid issued for it (per tool scope, and a
//!     delegation chain's token naming its actors), and refuses a token for another
//!     audience, an expired one and one signed by another key; and the same for an
//!     EdDSA token key.
//! (b) The MCP Python SDK's client (PyPI `mcp`, `tests/peers/mcp_sdk_client.py`),
//!     given only the example Rust MCP server's URL, discovers agentid's
//!     authorization server from its RFC 9728 metadata, exchanges a presentation for
//!     a token and calls a tool.
//! (c) The example Rust MCP server refuses a DPoP-bound token without its proof, with
//!     a proof for another URL or method, and with a replayed proof.
//!
//! The Python peers run in `AGENTID_PEER_PYTHON` (`.ci/install-peers`); the example
//! server is `AGENTID_MCP_EXAMPLE` or, unset, `examples/mcp_tools_server` next to this
//! test's binary (built by `cargo test --workspace`, or by `cargo build -p
//! agentid-guard --example mcp_tools_server`). Without them the tests pass after
//! saying they were skipped; with `AGENTID_MCP_EXAMPLE` set to a missing file they
//! fail. How to run them: `/work/notes/readme-mcp-interop.md` (README section).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentid_verifier::delegation::Rights;
use agentid_verifier::dpop::jwk_thumbprint;
use agentid_verifier::{b64url_encode, Algorithm, PresentationRequest};
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::{unix_now, DelegationSpec, SigningKey};
use base64::Engine as _;
use serde_json::{json, Value};

const FASTMCP_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/mcp_fastmcp_server.py"
);
const SDK_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/mcp_sdk_client.py");

const PASSPHRASE: &str = "mcp interop passphrase";
const FAST_KDF: [&str; 4] = ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"];
const TASK_VCT: &str = "urn:agentid:vct:task:1";
const TASK_ID: &str = "T-MCP";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const PRESENTATION_TYPE: &str = "urn:agentid:params:oauth:token-type:sd-jwt-presentation";

// ---------------------------------------------------------------------------------
// Peers and skips
// ---------------------------------------------------------------------------------

/// The peer interpreter, if it is configured and has the MCP peers; else `None`
/// after saying why the test is skipped.
fn peer_python() -> Option<String> {
    let python = match std::env::var("AGENTID_PEER_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => {
            println!("skipped: AGENTID_PEER_PYTHON not set (run .ci/install-peers)");
            return None;
        }
    };
    let probe = Command::new(&python)
        .args(["-c", "import fastmcp, mcp"])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {python}: {error}"));
    if !probe.status.success() {
        println!(
            "skipped: {python} lacks fastmcp/mcp (run .ci/install-peers): {}",
            text(&probe.stderr).trim()
        );
        return None;
    }
    Some(python)
}

/// The example Rust MCP server's binary: `AGENTID_MCP_EXAMPLE` (must exist), else
/// `examples/mcp_tools_server` in this test's target directory, else `None` after
/// saying the test is skipped.
fn example_server() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("AGENTID_MCP_EXAMPLE") {
        if !path.is_empty() {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "AGENTID_MCP_EXAMPLE={} does not exist (cargo build -p agentid-guard \
                 --example mcp_tools_server)",
                path.display()
            );
            return Some(path);
        }
    }
    // target/debug/deps/interop_mcp-… → target/debug/examples/mcp_tools_server
    let exe = std::env::current_exe().unwrap();
    let candidate = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("examples").join("mcp_tools_server"));
    match candidate {
        Some(path) if path.is_file() => Some(path),
        _ => {
            println!(
                "skipped: the example MCP server is not built (cargo build -p agentid-guard \
                 --example mcp_tools_server, or set AGENTID_MCP_EXAMPLE)"
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------
// Processes, HTTP
// ---------------------------------------------------------------------------------

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout).trim_end().to_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agentid(wallet: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("--wallet")
        .arg(wallet)
        .args(args)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET")
        .stdin(Stdio::null())
        .output()
        .expect("run agentid")
}

/// A child process killed on drop; its standard error is kept for the assertions.
struct Service {
    child: Child,
    stderr: Arc<Mutex<String>>,
    what: &'static str,
}

impl Service {
    /// Spawns `command` with its standard error collected; stdout is drained.
    fn spawn(what: &'static str, mut command: Command) -> Service {
        let (service, lines) = Service::spawn_piped(what, &mut command);
        drain(lines);
        service
    }

    fn spawn_piped(
        what: &'static str,
        command: &mut Command,
    ) -> (Service, std::io::Lines<BufReader<ChildStdout>>) {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("spawn {what}: {error}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&text(&buffer[..n]));
            }
        });
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        (
            Service {
                child,
                stderr,
                what,
            },
            lines,
        )
    }

    /// Spawns `command`, waits for its first stdout line and checks it with `ready`.
    fn start(
        what: &'static str,
        mut command: Command,
        ready: impl Fn(&str) -> bool,
    ) -> (Service, String) {
        let (service, mut lines) = Service::spawn_piped(what, &mut command);
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        if !ready(&first) {
            // Give the stderr reader a moment to collect why it stopped.
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "{what} did not start: first line {first:?}\nstderr: {}",
                service.stderr()
            );
        }
        drain(lines);
        (service, first)
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

fn drain(lines: std::io::Lines<BufReader<ChildStdout>>) {
    std::thread::spawn(move || for _ in lines {});
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} stderr ---\n{}", self.what, self.stderr());
        }
    }
}

/// Request headers: (name, value).
type Headers<'a> = Vec<(&'a str, &'a str)>;

/// An HTTP answer: status, lower-cased header names, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    /// Every value of header `name` (lower case), in order.
    fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {:?}", self.status, self.body))
    }
}

/// One HTTP/1.1 exchange on loopback (`Connection: close`). Reads the headers and,
/// unless the answer is an event stream (which an MCP server may keep open), the
/// body.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(error) if Instant::now() > deadline => panic!("connect {port}: {error}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let streaming = headers
        .iter()
        .any(|(name, value)| name == "content-type" && value.starts_with("text/event-stream"));
    let mut body = String::new();
    if !streaming {
        let _ = reader.read_to_string(&mut body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", urlencode(name), urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The claims of a JWT, unverified (the peers verify; the test reads).
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// `key` as an unencrypted PKCS#8 PEM, for `--token-key`: P-256 as RFC 5915 with
/// the public key (the form `openssl genpkey` and ring write), Ed25519 as RFC 8410.
fn pkcs8_pem(key: &SigningKey) -> String {
    let der = match key.algorithm() {
        Algorithm::ES256 => p256_pkcs8_der(key),
        Algorithm::EdDSA => {
            let mut der = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            der.extend_from_slice(&key.expose_secret_bytes());
            der
        }
        other => panic!("no token key of type {other:?}"),
    };
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn p256_pkcs8_der(key: &SigningKey) -> Vec<u8> {
    let jwk = key.public_key().to_jwk();
    let coordinate = |name: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().unwrap())
            .unwrap()
    };
    let mut der = vec![
        0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30,
        0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    der.extend_from_slice(&key.expose_secret_bytes());
    der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00, 0x04]);
    der.extend(coordinate("x"));
    der.extend(coordinate("y"));
    assert_eq!(der.len(), 0x87 + 3);
    der
}

// ---------------------------------------------------------------------------------
// The world: an issuer, an agent holding task credentials, agentid's AS
// ---------------------------------------------------------------------------------

struct World {
    dir: tempfile::TempDir,
    issuer: PathBuf,
    agent: PathBuf,
    /// The principal the task is done for (the issuer's DID, for simplicity).
    principal: String,
    /// The agent's per-task key: the credentials' subject.
    holder: String,
    trust: PathBuf,
    status: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let issuer = dir.path().join("issuer");
        let agent = dir.path().join("agent");
        let mut init = vec!["init", "--alg", "es256"];
        init.extend(FAST_KDF);
        let principal = ok(agentid(&issuer, &init), "issuer init");
        ok(agentid(&agent, &init), "agent init");
        let holder = ok(
            agentid(&agent, &["key", "new", "--alg", "es256", "--task", TASK_ID]),
            "key new",
        );
        let trust = dir.path().join("trust.json");
        std::fs::write(&trust, json!({"issuers": [{"id": principal}]}).to_string()).unwrap();
        let status = dir.path().join("status.jwt");
        ok(
            agentid(
                &issuer,
                &[
                    "status",
                    "publish",
                    "--out",
                    path_str(&status),
                    "--ttl",
                    "1h",
                ],
            ),
            "status publish",
        );
        World {
            dir,
            issuer,
            agent,
            principal,
            holder,
            trust,
            status,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The task claims: `scope` on `resources`, presentable to `audience`, for the
    /// principal; delegable `depth` times.
    fn claims(&self, scope: &[&str], resources: &[&str], audience: &[&str], depth: u64) -> Value {
        json!({
            "task": {"id": TASK_ID, "purpose": "call MCP tools"},
            "scope": scope,
            "resources": resources,
            "audience": audience,
            "max_delegation_depth": depth,
            "on_behalf_of": self.principal,
        })
    }

    /// A task credential with `claims` for `subject` (a did:key), for `ttl`.
    fn issue(&self, subject: &str, claims: &Value, ttl: &str) -> String {
        let file = self.path(&format!("claims-{}.json", unix_now_nanos()));
        std::fs::write(&file, claims.to_string()).unwrap();
        ok(
            agentid(
                &self.issuer,
                &[
                    "issue",
                    "--subject",
                    subject,
                    "--vct",
                    TASK_VCT,
                    "--claims",
                    path_str(&file),
                    "--sd",
                    "task.purpose",
                    "--ttl",
                    ttl,
                ],
            ),
            "issue",
        )
    }

    /// Issues a task credential to the agent's wallet and returns its wallet id:
    /// `scope` on `resources`, presentable to `audience`, for `ttl`. (The
    /// authorization server grants a token for a resource only when it is both a
    /// granted resource and an allowed audience, and takes presentations bound to its
    /// issuer: `audience` holds both.)
    fn credential(
        &self,
        scope: &[&str],
        resources: &[&str],
        audience: &[&str],
        ttl: &str,
    ) -> String {
        let credential = self.issue(
            &self.holder,
            &self.claims(scope, resources, audience, 0),
            ttl,
        );
        let file = self.path(&format!("credential-{}.sd-jwt", unix_now_nanos()));
        std::fs::write(&file, credential).unwrap();
        ok(
            agentid(&self.agent, &["receive", path_str(&file)]),
            "receive",
        )
    }

    /// A presentation of `credential` bound to `audience` and `nonce`.
    fn present(&self, credential: &str, audience: &str, nonce: &str) -> String {
        ok(
            agentid(
                &self.agent,
                &[
                    "present",
                    "--credential",
                    credential,
                    "--audience",
                    audience,
                    "--nonce",
                    nonce,
                    "--disclose",
                    "task",
                ],
            ),
            "present",
        )
    }
}

fn unix_now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `agentid serve verifier` as the authorization server (`--token-key`); killed on
/// drop.
struct AuthorizationServer {
    _service: Service,
    port: u16,
    issuer: String,
}

impl AuthorizationServer {
    /// Listens on a free port; its issuer (`--public-url`) is `issuer`, or its own
    /// address. The token key is `key`.
    fn start(
        world: &World,
        name: &str,
        key: &SigningKey,
        issuer: Option<&str>,
        extra: &[&str],
    ) -> Self {
        let port = free_port();
        let issuer = issuer.map_or_else(|| format!("http://127.0.0.1:{port}"), str::to_owned);
        let key_file = world.path(&format!("{name}-token-key.pem"));
        std::fs::write(&key_file, pkcs8_pem(key)).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
        command
            .args([
                "serve",
                "verifier",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("--trust")
            .arg(&world.trust)
            .arg("--status")
            .arg(&world.status)
            .args(["--token-issuer", &issuer])
            .arg("--token-key")
            .arg(&key_file)
            .arg("--state")
            .arg(world.path(&format!("{name}-state")))
            .args(extra)
            .env("RUST_LOG", "warn");
        let (service, _) = Service::start("agentid serve verifier", command, |line| {
            line.starts_with("listening on ")
        });
        AuthorizationServer {
            _service: service,
            port,
            issuer,
        }
    }

    fn get(&self, path: &str) -> Answer {
        http(self.port, "GET", path, &[], "")
    }

    fn nonce(&self) -> String {
        let answer = http(self.port, "POST", "/v1/oauth/nonce", &[], "");
        assert_eq!(answer.status, 200, "nonce: {}", answer.body);
        answer.json()["nonce"].as_str().unwrap().to_owned()
    }

    /// RFC 8693 token exchange: (status, body).
    fn exchange(
        &self,
        presentation: &str,
        resource: &str,
        scope: &str,
        dpop: Option<&str>,
    ) -> (u16, Value) {
        let body = form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", presentation),
            ("subject_token_type", PRESENTATION_TYPE),
            ("resource", resource),
            ("scope", scope),
        ]);
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(proof) = dpop {
            headers.push(("DPoP", proof));
        }
        let answer = http(self.port, "POST", "/v1/oauth/token", &headers, &body);
        (answer.status, answer.json())
    }

    /// A fresh nonce, a presentation bound to this server, a token for `resource`:
    /// the access token and the whole answer. Panics unless it is issued.
    fn token(
        &self,
        world: &World,
        credential: &str,
        resource: &str,
        scope: &str,
    ) -> (String, Value) {
        let presentation = world.present(credential, &self.issuer, &self.nonce());
        let (status, body) = self.exchange(&presentation, resource, scope, None);
        assert_eq!(status, 200, "token for {resource} ({scope}): {body}");
        assert_eq!(body["token_type"], "Bearer", "{body}");
        (body["access_token"].as_str().unwrap().to_owned(), body)
    }
}

// ---------------------------------------------------------------------------------
// (a) FastMCP's stock JWTVerifier
// ---------------------------------------------------------------------------------

/// `token` with its header's `kid` replaced by `kid` and signed by `key`: a token a
/// verifier finds a key for, and whose signature only that key's holder could make.
fn rekeyed(token: &str, kid: &str, key: &SigningKey) -> String {
    let mut header = jwt_part(token, 0);
    header["kid"] = json!(kid);
    let payload = token.split('.').nth(1).unwrap();
    let input = format!("{}.{payload}", b64url_encode(header.to_string().as_bytes()));
    format!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())))
}

/// The FastMCP peer; killed on drop.
struct FastMcp {
    service: Service,
    url: String,
}

impl FastMcp {
    fn start(
        python: &str,
        port: u16,
        authorization_server: &AuthorizationServer,
        algorithm: Algorithm,
    ) -> FastMcp {
        let mut command = Command::new(python);
        command
            .arg(FASTMCP_SERVER)
            .args(["--port", &port.to_string()])
            .args([
                "--jwks-uri",
                &format!("{}/v1/oauth/jwks", authorization_server.issuer),
            ])
            .args(["--issuer", &authorization_server.issuer])
            .args(["--algorithm", algorithm.as_str()]);
        let (service, ready) = Service::start("FastMCP server", command, |line| {
            serde_json::from_str::<Value>(line).is_ok_and(|ready| ready["ready"] == true)
        });
        let ready: Value = serde_json::from_str(&ready).unwrap();
        FastMcp {
            service,
            url: ready["url"].as_str().unwrap().to_owned(),
        }
    }
}

/// Runs the SDK client's `call` over `cases` ([{"label", "token", "tool",
/// "arguments"}]) and returns its per-label results.
fn sdk_calls(python: &str, url: &str, cases: &Value) -> Value {
    let mut child = Command::new(python)
        .arg(SDK_CLIENT)
        .args(["call", "--url", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the MCP SDK client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cases.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let out = ok(output, "the MCP SDK client (call)");
    let answer: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("the MCP SDK client's line: {out:?}"));
    assert_eq!(answer["ok"], true, "{answer}");
    answer["cases"].clone()
}

/// A refused case: the server answered 401 `invalid_token` to the first request.
fn assert_refused_401(case: &Value, what: &str) {
    assert_eq!(case["ok"], false, "{what}: accepted: {case}");
    let first = &case["http"][0];
    assert_eq!(first["status"], 401, "{what}: {case}");
    let challenge = first["www_authenticate"].as_str().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
}

#[test]
fn fastmcp_jwt_verifier_accepts_agentid_tokens_and_refuses_others() {
    let Some(python) = peer_python() else { return };
    let world = World::new();
    let as_key = SigningKey::generate(Algorithm::ES256);
    let authorization_server = AuthorizationServer::start(&world, "as", &as_key, None, &[]);
    let fastmcp_port = free_port();
    let fastmcp_url = format!("http://127.0.0.1:{fastmcp_port}/mcp");
    // Another tool server the credential also grants: a token for it is a token for
    // another audience.
    let elsewhere = format!("http://127.0.0.1:{}/mcp", free_port());
    let resources = [fastmcp_url.as_str(), elsewhere.as_str()];
    let audience = [
        authorization_server.issuer.as_str(),
        fastmcp_url.as_str(),
        elsewhere.as_str(),
    ];
    let scopes = ["tools:read", "tools:write"];
    let credential = world.credential(&scopes, &resources, &audience, "30m");
    let fastmcp = FastMcp::start(
        &python,
        fastmcp_port,
        &authorization_server,
        Algorithm::ES256,
    );
    assert_eq!(fastmcp.url, fastmcp_url);

    // What the verifier is configured from, as published.
    let metadata = authorization_server
        .get("/.well-known/oauth-authorization-server")
        .json();
    assert_eq!(metadata["issuer"], authorization_server.issuer.as_str());
    assert_eq!(
        metadata["jwks_uri"],
        format!("{}/v1/oauth/jwks", authorization_server.issuer)
    );
    let jwks = authorization_server.get("/v1/oauth/jwks").json();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();

    let (both, issued) =
        authorization_server.token(&world, &credential, &fastmcp_url, "tools:read tools:write");
    assert_eq!(issued["scope"], "tools:read tools:write", "{issued}");
    let header = jwt_part(&both, 0);
    assert_eq!(header["alg"], "ES256", "{header}");
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(header["kid"], kid.as_str(), "{header}");
    let (read_only, _) =
        authorization_server.token(&world, &credential, &fastmcp_url, "tools:read");
    let (for_elsewhere, _) =
        authorization_server.token(&world, &credential, &elsewhere, "tools:read");

    // Expired: the same key and issuer behind --token-max-ttl 1s, so the token is
    // one FastMCP would take but for its exp.
    let short_lived = AuthorizationServer::start(
        &world,
        "short-lived",
        &as_key,
        Some(&authorization_server.issuer),
        &["--token-max-ttl", "1s"],
    );
    let (expiring, _) = short_lived.token(&world, &credential, &fastmcp_url, "tools:read");
    let expiring_claims = jwt_part(&expiring, 1);
    let expiring_exp = expiring_claims["exp"].as_u64().unwrap();
    assert!(
        expiring_exp <= expiring_claims["iat"].as_u64().unwrap() + 1,
        "--token-max-ttl 1s: {expiring_claims}"
    );
    assert_eq!(jwt_part(&expiring, 0)["kid"], kid.as_str());

    // Signed by another key: a second authorization server with the same issuer URL
    // and another key; and its token re-headed with the first server's kid, so
    // FastMCP finds a key and checks the signature against it.
    let other_key = SigningKey::generate(Algorithm::ES256);
    let impostor = AuthorizationServer::start(
        &world,
        "impostor",
        &other_key,
        Some(&authorization_server.issuer),
        &[],
    );
    let (other_signed, _) = impostor.token(&world, &credential, &fastmcp_url, "tools:read");
    assert_ne!(jwt_part(&other_signed, 0)["kid"], kid.as_str());
    let forged = rekeyed(&other_signed, &kid, &other_key);

    // A sub-agent the agent delegated tools:read to: its chain's token names both.
    let agent_key = SigningKey::generate(Algorithm::ES256);
    let sub_agent = SigningKey::generate(Algorithm::ES256);
    let root_claims = world.claims(&scopes, &[fastmcp_url.as_str()], &audience, 1);
    let root = world.issue(&agent_key.did().unwrap(), &root_claims, "30m");
    let root_exp = jwt_part(root.split('~').next().unwrap(), 1)["exp"].as_u64();
    let rights = Rights::from_root(root_claims.as_object().unwrap(), root_exp).unwrap();
    let spec = DelegationSpec {
        to: sub_agent.public_key().clone(),
        scope: Some(vec!["tools:read".to_owned()]),
        resources: None,
        constraints: serde_json::Map::new(),
        lifetime_secs: 600,
        max_depth: None,
    };
    let chain = agentid_wallet::delegate(&root, &agent_key, &rights, &spec, unix_now()).unwrap();
    let chain_presentation = agentid_wallet::present_delegated(
        &chain,
        &sub_agent,
        &json!({"scope": "tools:read", "resource": fastmcp_url}),
        &PresentationRequest::new(
            authorization_server.issuer.as_str(),
            authorization_server.nonce().as_str(),
        ),
        unix_now(),
    )
    .unwrap();
    let (status, delegated) =
        authorization_server.exchange(&chain_presentation, &fastmcp_url, "tools:read", None);
    assert_eq!(status, 200, "a delegation chain's token: {delegated}");
    let delegated = delegated["access_token"].as_str().unwrap().to_owned();

    // FastMCP compares exp with its clock, no leeway: wait until it has passed.
    let deadline = Instant::now() + Duration::from_secs(6);
    while unix_now() <= expiring_exp {
        assert!(Instant::now() < deadline, "the clock stands still");
        std::thread::sleep(Duration::from_millis(200));
    }

    let note = json!({"note": "from an agentid agent"});
    let cases = json!([
        {"label": "accepted", "token": both, "tool": "whoami"},
        {"label": "write", "token": both, "tool": "append_note", "arguments": note},
        {"label": "read_only", "token": read_only, "tool": "whoami"},
        {"label": "delegated", "token": delegated, "tool": "whoami"},
        {"label": "read_only_write", "token": read_only, "tool": "append_note", "arguments": note},
        {"label": "other_audience", "token": for_elsewhere, "tool": "whoami"},
        {"label": "expired", "token": expiring, "tool": "whoami"},
        {"label": "other_key", "token": other_signed, "tool": "whoami"},
        {"label": "forged_kid", "token": forged, "tool": "whoami"},
    ]);
    let results = sdk_calls(&python, &fastmcp.url, &cases);
    let verdicts = fastmcp.service.stderr();

    let accepted = &results["accepted"];
    assert_eq!(accepted["ok"], true, "a token agentid issued: {accepted}");
    assert_eq!(
        accepted["tools"],
        json!(["append_note", "whoami"]),
        "{accepted}"
    );
    let seen = &accepted["result"];
    assert_eq!(seen["sub"], world.holder.as_str(), "{seen}");
    assert_eq!(seen["client_id"], world.holder.as_str(), "{seen}");
    assert_eq!(seen["iss"], authorization_server.issuer.as_str(), "{seen}");
    assert_eq!(seen["aud"], fastmcp_url.as_str(), "{seen}");
    assert_eq!(
        seen["scopes"],
        json!(["tools:read", "tools:write"]),
        "{seen}"
    );
    assert_eq!(seen["task_id"], TASK_ID, "{seen}");
    assert_eq!(seen["on_behalf_of"], world.principal.as_str(), "{seen}");
    assert_eq!(
        results["write"]["result"],
        json!({"appended": "from an agentid agent"}),
        "{}",
        results["write"]
    );

    // FastMCP reads agentid's `scope` claim per tool: tools:read alone shows and
    // runs whoami only.
    let read = &results["read_only"];
    assert_eq!(read["ok"], true, "{read}");
    assert_eq!(read["tools"], json!(["whoami"]), "{read}");
    assert_eq!(read["result"]["scopes"], json!(["tools:read"]), "{read}");
    // A tool server with no agentid code sees who acts for whom.
    let acting = &results["delegated"];
    assert_eq!(acting["ok"], true, "{acting}");
    assert_eq!(
        acting["result"]["sub"],
        sub_agent.did().unwrap().as_str(),
        "{acting}"
    );
    assert_eq!(
        acting["result"]["act"],
        json!({"sub": agent_key.did().unwrap()}),
        "the agent that delegated: {acting}"
    );
    assert_eq!(
        acting["result"]["on_behalf_of"],
        world.principal.as_str(),
        "{acting}"
    );
    assert_eq!(
        acting["result"]["scopes"],
        json!(["tools:read"]),
        "{acting}"
    );
    let refused_write = &results["read_only_write"];
    assert_eq!(refused_write["ok"], false, "{refused_write}");
    assert!(
        refused_write["result"].to_string().contains("append_note"),
        "{refused_write}"
    );

    for (label, reason) in [
        ("other_audience", "audience mismatch"),
        ("expired", "token expired"),
        ("forged_kid", "signature/format invalid"),
    ] {
        assert_refused_401(&results[label], label);
        assert!(
            verdicts.contains(reason),
            "{label}: FastMCP did not say {reason:?}:\n{verdicts}"
        );
    }
    assert_refused_401(&results["other_key"], "other_key");
    assert!(
        verdicts.contains(&format!(
            "Key ID '{}' not found",
            jwt_part(&other_signed, 0)["kid"].as_str().unwrap()
        )) || verdicts.contains("No matching fresh JWKS key"),
        "other_key: FastMCP did not say it has no such key:\n{verdicts}"
    );
    println!("mcp interop: FastMCP accepted agentid's tokens per scope and a delegation chain's, refused 4 others");
}

/// The EdDSA option: an Ed25519 token key, FastMCP configured `algorithm="EdDSA"`.
#[test]
fn fastmcp_jwt_verifier_accepts_agentid_eddsa_tokens() {
    let Some(python) = peer_python() else { return };
    let world = World::new();
    let as_key = SigningKey::generate(Algorithm::EdDSA);
    let authorization_server = AuthorizationServer::start(&world, "as", &as_key, None, &[]);
    let fastmcp_port = free_port();
    let fastmcp_url = format!("http://127.0.0.1:{fastmcp_port}/mcp");
    let credential = world.credential(
        &["tools:read"],
        &[fastmcp_url.as_str()],
        &[authorization_server.issuer.as_str(), fastmcp_url.as_str()],
        "30m",
    );
    let fastmcp = FastMcp::start(
        &python,
        fastmcp_port,
        &authorization_server,
        Algorithm::EdDSA,
    );
    let jwks = authorization_server.get("/v1/oauth/jwks").json();
    let published = &jwks["keys"][0];
    assert_eq!(published["kty"], "OKP", "{jwks}");
    assert_eq!(published["crv"], "Ed25519", "{jwks}");
    let kid = published["kid"].as_str().unwrap().to_owned();
    let (token, _) = authorization_server.token(&world, &credential, &fastmcp_url, "tools:read");
    let header = jwt_part(&token, 0);
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["kid"], kid.as_str(), "{header}");
    let forged = rekeyed(&token, &kid, &SigningKey::generate(Algorithm::EdDSA));
    let results = sdk_calls(
        &python,
        &fastmcp.url,
        &json!([
            {"label": "accepted", "token": token, "tool": "whoami"},
            {"label": "forged", "token": forged, "tool": "whoami"},
        ]),
    );
    let accepted = &results["accepted"];
    assert_eq!(
        accepted["ok"], true,
        "an EdDSA token agentid issued: {accepted}"
    );
    assert_eq!(
        accepted["result"]["sub"],
        world.holder.as_str(),
        "{accepted}"
    );
    assert_eq!(
        accepted["result"]["scopes"],
        json!(["tools:read"]),
        "{accepted}"
    );
    assert_refused_401(&results["forged"], "forged EdDSA signature");
    assert!(
        fastmcp
            .service
            .stderr()
            .contains("signature/format invalid"),
        "{}",
        fastmcp.service.stderr()
    );
}

// ---------------------------------------------------------------------------------
// The example Rust MCP server (guard/examples/mcp_tools_server.rs)
// ---------------------------------------------------------------------------------

/// The example's tool that needs `tools:read` (its other, `refund_order`, needs
/// `tools:write`).
const EXAMPLE_READ_TOOL: &str = "lookup_order";

/// The example MCP server behind agentid's guard; killed on drop.
struct Example {
    _service: Service,
    port: u16,
    url: String,
}

impl Example {
    fn start(binary: &Path, authorization_server: &AuthorizationServer) -> Example {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/mcp");
        let mut command = Command::new(binary);
        command
            .args(["--resource", &url])
            .args(["--authorization-server", &authorization_server.issuer])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            // The authorization server's metadata and JWKS are on plain http here.
            .arg("--allow-http")
            .env("RUST_LOG", "warn");
        let service = Service::spawn("the example MCP server", command);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the example MCP server does not listen: {}",
                service.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Example {
            _service: service,
            port,
            url,
        }
    }

    /// POST /mcp with an MCP `initialize` request and `headers`.
    fn initialize(&self, headers: &[(&str, &str)]) -> Answer {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "agentid-interop-test", "version": "0"}}
        })
        .to_string();
        let mut all = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        all.extend_from_slice(headers);
        http(self.port, "POST", "/mcp", &all, &body)
    }
}

// ---------------------------------------------------------------------------------
// (b) The MCP Python SDK's client discovers agentid from the example's metadata
// ---------------------------------------------------------------------------------

#[test]
fn mcp_sdk_client_discovers_agentid_from_the_rust_example_and_calls_a_tool() {
    let Some(python) = peer_python() else { return };
    let Some(binary) = example_server() else {
        return;
    };
    let world = World::new();
    let authorization_server = AuthorizationServer::start(
        &world,
        "as",
        &SigningKey::generate(Algorithm::ES256),
        None,
        &[],
    );
    let example = Example::start(&binary, &authorization_server);
    let credential = world.credential(
        &["tools:read", "tools:write"],
        &[example.url.as_str()],
        &[authorization_server.issuer.as_str(), example.url.as_str()],
        "30m",
    );

    let mut child = Command::new(&python)
        .arg(SDK_CLIENT)
        .args([
            "discover",
            "--url",
            &example.url,
            "--tool",
            EXAMPLE_READ_TOOL,
            "--arguments",
            r#"{"order": "1234"}"#,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the MCP SDK client");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let Ok(asked) = serde_json::from_str::<Value>(&first) else {
        drop(stdin);
        panic!(
            "the MCP SDK client's first line: {first:?}; stderr: {}",
            text(&child.wait_with_output().unwrap().stderr)
        )
    };
    // Found from the example's metadata alone: the client names the issuer it will
    // ask, and a nonce it got there.
    let asked = &asked["need_presentation"];
    assert!(asked.is_object(), "the MCP SDK client: {first}");
    assert_eq!(
        asked["aud"],
        authorization_server.issuer.as_str(),
        "{asked}"
    );
    let presentation = world.present(
        &credential,
        asked["aud"].as_str().unwrap(),
        asked["nonce"].as_str().unwrap(),
    );
    stdin.write_all(presentation.as_bytes()).unwrap();
    stdin.write_all(b"\n").unwrap();
    drop(stdin);
    let last = lines.next().and_then(Result::ok).unwrap_or_default();
    let output = child.wait_with_output().unwrap();
    let answer: Value = serde_json::from_str(&last).unwrap_or_else(|_| {
        panic!(
            "the MCP SDK client's answer: {last:?}; stderr: {}",
            text(&output.stderr)
        )
    });
    assert_eq!(
        answer["ok"],
        true,
        "{answer}\nstderr: {}",
        text(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{answer}");

    let found = &answer["discovery"];
    let issuer = authorization_server.issuer.as_str();
    assert_eq!(found["resource"], example.url.as_str(), "{found}");
    assert_eq!(
        found["resource_metadata_url"],
        format!(
            "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
            example.port
        ),
        "the 401's resource_metadata: {found}"
    );
    assert_eq!(found["authorization_servers"], json!([issuer]), "{found}");
    assert_eq!(
        found["authorization_server_metadata_url"],
        format!("{issuer}/.well-known/oauth-authorization-server"),
        "{found}"
    );
    assert_eq!(found["issuer"], issuer, "{found}");
    assert_eq!(
        found["token_endpoint"],
        format!("{issuer}/v1/oauth/token"),
        "{found}"
    );
    assert_eq!(
        found["nonce_endpoint"],
        format!("{issuer}/v1/oauth/nonce"),
        "{found}"
    );
    assert_eq!(
        found["grant_types_supported"],
        json!([TOKEN_EXCHANGE]),
        "{found}"
    );
    let token = &answer["token"];
    assert_eq!(token["token_type"], "Bearer", "{token}");
    assert_eq!(
        token["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token",
        "{token}"
    );
    let granted: Vec<&str> = token["scope"].as_str().unwrap().split(' ').collect();
    let asked_for: Vec<&str> = found["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        granted.contains(&"tools:read") && granted.iter().all(|s| asked_for.contains(s)),
        "granted {granted:?} for {asked_for:?}"
    );
    assert!(
        answer["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tool| tool == EXAMPLE_READ_TOOL),
        "{answer}"
    );
    // The tool saw the token the guard validated: its subject is the agent.
    assert_eq!(
        answer["result"],
        json!({"text": [format!("order 1234: shipped (looked up for {})", world.holder)]}),
        "{answer}"
    );
    println!(
        "mcp interop: the MCP SDK client found agentid at {issuer} from {} and called {EXAMPLE_READ_TOOL}: {}",
        example.url, answer["result"]
    );
}

// ---------------------------------------------------------------------------------
// (c) DPoP-bound tokens at the example Rust MCP server
// ---------------------------------------------------------------------------------

#[test]
fn rust_example_refuses_dpop_bound_tokens_without_their_proof() {
    let Some(binary) = example_server() else {
        return;
    };
    let world = World::new();
    let authorization_server = AuthorizationServer::start(
        &world,
        "as",
        &SigningKey::generate(Algorithm::ES256),
        None,
        &[],
    );
    let example = Example::start(&binary, &authorization_server);
    let credential = world.credential(
        &["tools:read", "tools:write"],
        &[example.url.as_str()],
        &[authorization_server.issuer.as_str(), example.url.as_str()],
        "30m",
    );

    // A token bound to a fresh DPoP key: the proof at the token endpoint names it.
    let dpop_key = SigningKey::generate(Algorithm::ES256);
    let token_endpoint = format!("{}/v1/oauth/token", authorization_server.issuer);
    let presentation = world.present(
        &credential,
        &authorization_server.issuer,
        &authorization_server.nonce(),
    );
    let proof = sign_dpop_proof(&dpop_key, "POST", &token_endpoint, None, None, unix_now());
    let (status, issued) =
        authorization_server.exchange(&presentation, &example.url, "tools:read", Some(&proof));
    assert_eq!(status, 200, "a DPoP-bound token: {issued}");
    assert_eq!(issued["token_type"], "DPoP", "{issued}");
    let token = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwt_part(&token, 1)["cnf"]["jkt"],
        jwk_thumbprint(dpop_key.public_key()).as_str(),
        "the token is bound to the proof's key"
    );

    let dpop_auth = format!("DPoP {token}");
    let bearer_auth = format!("Bearer {token}");
    let proof_for = |key: &SigningKey, method: &str, url: &str| {
        sign_dpop_proof(key, method, url, Some(&token), None, unix_now())
    };
    let good = proof_for(&dpop_key, "POST", &example.url);
    let other_url = proof_for(
        &dpop_key,
        "POST",
        &format!("http://127.0.0.1:{}/other", example.port),
    );
    let other_method = proof_for(&dpop_key, "GET", &example.url);
    let other_key = proof_for(
        &SigningKey::generate(Algorithm::ES256),
        "POST",
        &example.url,
    );

    // The proof that works, once.
    let accepted = example.initialize(&[("Authorization", &dpop_auth), ("DPoP", &good)]);
    assert_eq!(
        accepted.status, 200,
        "token and its proof: {}",
        accepted.body
    );

    let proof_refused = "invalid_dpop_proof";
    let cases: [(&str, Headers, &str); 6] = [
        (
            "as a bearer token, no proof",
            vec![("Authorization", &bearer_auth)],
            "invalid_token",
        ),
        (
            "DPoP scheme, no proof",
            vec![("Authorization", &dpop_auth)],
            proof_refused,
        ),
        (
            "a proof for another URL",
            vec![("Authorization", &dpop_auth), ("DPoP", &other_url)],
            proof_refused,
        ),
        (
            "a proof for another method",
            vec![("Authorization", &dpop_auth), ("DPoP", &other_method)],
            proof_refused,
        ),
        (
            "a proof by another key",
            vec![("Authorization", &dpop_auth), ("DPoP", &other_key)],
            proof_refused,
        ),
        (
            "the accepted proof replayed",
            vec![("Authorization", &dpop_auth), ("DPoP", &good)],
            proof_refused,
        ),
    ];
    for (what, headers, code) in &cases {
        let refused = example.initialize(headers);
        assert_eq!(
            refused.status, 401,
            "{what}: {} {}",
            refused.status, refused.body
        );
        assert_eq!(refused.json()["error"], *code, "{what}: {}", refused.body);
        let challenges = refused.headers_named("www-authenticate");
        assert!(
            challenges
                .iter()
                .any(|challenge| challenge.starts_with("DPoP ")),
            "{what}: a DPoP challenge: {challenges:?}"
        );
        assert!(
            challenges
                .iter()
                .any(|challenge| challenge.contains(&format!("error=\"{code}\""))
                    && challenge.contains("resource_metadata=")),
            "{what}: the challenge says {code} and names the metadata: {challenges:?}"
        );
    }
    // Still usable with a fresh proof: the refusals were about the proofs.
    let again = proof_for(&dpop_key, "POST", &example.url);
    let accepted = example.initialize(&[("Authorization", &dpop_auth), ("DPoP", &again)]);
    assert_eq!(accepted.status, 200, "a fresh proof: {}", accepted.body);
    println!(
        "mcp interop: the example server accepted a DPoP-bound token with its proof and refused it {} ways",
        cases.len()
    );
}
