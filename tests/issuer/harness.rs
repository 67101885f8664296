//! The world of the issuer-service tests: an issuer wallet, callers with keys,
//! and `agentid serve issuer` processes on the system clock.

// Shared by several test crates, each using part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentid_verifier::{b64url_encode, Algorithm, Policy, StatusLists, TrustStore, Verifier};
use agentid_wallet::SigningKey;
use rand_core::{OsRng, RngCore};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) const PASSPHRASE: &str = "issuer service test passphrase";
const FAST_KDF: [&str; 4] = ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"];
pub(crate) const TASK_VCT: &str = "urn:agentid:vct:task:1";
pub(crate) const PRINCIPAL: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";

pub(crate) fn now() -> u64 {
    agentid_wallet::unix_now()
}

/// Runs the CLI on `wallet`.
pub(crate) fn agentid(wallet: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentid"))
        .arg("--wallet")
        .arg(wallet)
        .args(args)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET")
        .output()
        .unwrap()
}

/// Its standard output, asserting success.
#[track_caller]
pub(crate) fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {} {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A caller of the issuer and its key.
pub(crate) struct Caller {
    pub(crate) id: String,
    pub(crate) key: SigningKey,
}

impl Caller {
    fn new(id: &str, alg: Algorithm) -> Caller {
        Caller {
            id: id.to_owned(),
            key: SigningKey::generate(alg),
        }
    }

    /// A fresh RFC 7523 assertion for `audience`.
    pub(crate) fn assertion(&self, audience: &str) -> String {
        self.assertion_with(audience, |_| {})
    }

    /// An assertion with its claims edited.
    pub(crate) fn assertion_with(&self, audience: &str, edit: impl FnOnce(&mut Value)) -> String {
        let now = now();
        let mut claims = json!({
            "iss": self.id, "sub": self.id, "aud": audience,
            "iat": now, "exp": now + 120, "jti": random_id(),
        });
        edit(&mut claims);
        sign(
            &self.key,
            &json!({"alg": self.key.algorithm().as_str(), "typ": "JWT"}),
            &claims,
        )
    }
}

/// Signs a compact JWS with `key`.
pub(crate) fn sign(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    format!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())))
}

pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    b64url_encode(&bytes)
}

/// The issuer's wallet and the callers file.
pub(crate) struct World {
    dir: tempfile::TempDir,
    pub(crate) wallet: PathBuf,
    /// The issuer's DID (the credentials' `iss`).
    pub(crate) issuer: String,
    pub(crate) callers: PathBuf,
    /// May issue anything; manages what it issued.
    pub(crate) orchestrator: Caller,
    /// May issue only approvals.
    pub(crate) limited: Caller,
    /// Manages everything.
    pub(crate) admin: Caller,
    /// Not in the callers file.
    pub(crate) stranger: Caller,
}

impl World {
    pub(crate) fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let wallet = dir.path().join("issuer-wallet");
        let mut init = vec!["init"];
        init.extend(FAST_KDF);
        ok(agentid(&wallet, &init));
        let issuer = ok(agentid(&wallet, &["did"]));
        let orchestrator = Caller::new("orchestrator", Algorithm::ES256);
        let limited = Caller::new("approvals-only", Algorithm::EdDSA);
        let admin = Caller::new("ops", Algorithm::ES256);
        let stranger = Caller::new("stranger", Algorithm::ES256);
        let callers = dir.path().join("callers.json");
        let file = json!({"callers": [
            {"id": orchestrator.id, "jwk": orchestrator.key.public_key().to_jwk()},
            {"id": limited.id, "jwk": limited.key.public_key().to_jwk(),
             "vct": [agentid_wallet::APPROVAL_VCT]},
            {"id": admin.id, "jwk": admin.key.public_key().to_jwk(), "admin": true},
        ]});
        std::fs::write(&callers, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
        World {
            dir,
            wallet,
            issuer,
            callers,
            orchestrator,
            limited,
            admin,
            stranger,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A verifier trusting this issuer, with `tokens` as its status lists.
    pub(crate) fn verifier(&self, tokens: &[String]) -> Verifier {
        let mut trust = TrustStore::new();
        trust.add_did(&self.issuer).unwrap();
        let mut lists = StatusLists::new();
        let policy = Policy::default();
        for token in tokens {
            lists
                .add_token(token, &trust, now(), policy.status_max_age_secs)
                .unwrap();
        }
        Verifier::new(trust, policy).with_status_lists(lists)
    }
}

/// The claims of a task credential.
pub(crate) fn task_claims(task: &str) -> Value {
    json!({
        "task": {"id": task, "purpose": "refund order 1234"},
        "scope": ["refunds:write"],
        "on_behalf_of": PRINCIPAL,
    })
}

/// A request body for a task credential for `subject`.
pub(crate) fn task_request(subject: &str) -> Value {
    json!({
        "subject": subject,
        "vct": TASK_VCT,
        "claims": task_claims("T-1"),
        "sd": ["task.purpose"],
        "ttl": "10m",
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `agentid serve issuer`.
pub(crate) struct Node {
    pub(crate) child: Child,
    port: u16,
    /// What callers name as `aud` (the `--public-url`).
    pub(crate) public_url: String,
    stderr: Arc<Mutex<String>>,
}

impl Node {
    /// Starts a node on `store`, its public URL its own loopback address.
    pub(crate) fn start(world: &World, store: &str, secret: Option<&Path>) -> Node {
        Self::start_as(world, store, secret, None, &[])
    }

    /// Starts a node on `store` (a directory or a PostgreSQL URL; with `secret` for
    /// PostgreSQL), answering as `public_url` (default: its loopback address), with
    /// `extra` flags.
    pub(crate) fn start_as(
        world: &World,
        store: &str,
        secret: Option<&Path>,
        public_url: Option<&str>,
        extra: &[&str],
    ) -> Node {
        let port = free_port();
        let public_url = public_url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
        command
            .arg("--wallet")
            .arg(&world.wallet)
            .args(["serve", "issuer", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-url", &public_url])
            .arg("--callers")
            .arg(&world.callers)
            .args(["--store", store]);
        if let Some(secret) = secret {
            command.arg("--state-secret").arg(secret);
        }
        let mut child = command
            .args(extra)
            .env("AGENTID_PASSPHRASE", PASSPHRASE)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready, listening) = channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = ready.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        let line = listening
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the issuer did not start: {}", stderr.lock().unwrap()));
        assert!(line.starts_with("listening on"), "{line}");
        Node {
            child,
            port,
            public_url,
            stderr,
        }
    }

    /// The URL of `path` on this node.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `POST path` with `body` as `caller`.
    pub(crate) async fn post(
        &self,
        caller: &Caller,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let token = caller.assertion(&self.public_url);
        self.post_with(Some(&token), path, body).await
    }

    /// `POST path` with `body` and, if given, `Authorization: Bearer token`.
    pub(crate) async fn post_with(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut request = client().post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }

    /// `GET path` as `caller`.
    pub(crate) async fn get_as(&self, caller: &Caller, path: &str) -> (StatusCode, Value) {
        let token = caller.assertion(&self.public_url);
        answer(
            client()
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Mints a task credential for a fresh agent key; returns the answer and the key.
    pub(crate) async fn mint(&self, caller: &Caller) -> (Value, SigningKey) {
        let agent = SigningKey::generate(Algorithm::EdDSA);
        let (status, body) = self
            .post(
                caller,
                "/v1/credentials",
                &task_request(&agent.did().unwrap()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body} {}", self.stderr());
        (body, agent)
    }

    /// The status list token at `uri` (served by this node whatever host it names).
    pub(crate) async fn status_token(&self, uri: &str) -> String {
        let path = uri.find("/v1/status-lists/").map(|at| &uri[at..]).unwrap();
        let response = client().get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The PostgreSQL URL of a fresh schema, and its cleanup; `None` (saying so) when
/// `AGENTID_TEST_POSTGRES` is unset.
pub(crate) async fn postgres_schema() -> Option<(String, Schema)> {
    let Ok(base) = std::env::var("AGENTID_TEST_POSTGRES") else {
        eprintln!("skipped the PostgreSQL case: AGENTID_TEST_POSTGRES is unset");
        return None;
    };
    let schema = format!(
        "agentid_issuer_{}",
        random_id().to_lowercase().replace('-', "_")
    );
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    Some((url, Schema { client, schema }))
}

/// Drops its schema when asked.
pub(crate) struct Schema {
    client: tokio_postgres::Client,
    schema: String,
}

impl Schema {
    pub(crate) async fn drop_now(self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema))
            .await;
    }
}
