//! The world of the token-exchange tests: an issuer, an agent with a task
//! credential for a tool server, a revoked credential, and `agentid serve verifier`
//! processes running the authorization server on the system clock.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentid_verifier::delegation::Rights;
use agentid_verifier::{b64url_encode, Algorithm, PresentationRequest, PublicKey};
use agentid_wallet::{CredentialRequest, DelegationSpec, Issuer, SigningKey, TASK_VCT};
use base64::Engine as _;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

/// The authorization server's issuer identifier (the presentations' `aud`).
pub(crate) const ISSUER: &str = "https://auth.example";
/// The token endpoint as the issuer names it (DPoP proofs' `htu`).
pub(crate) const TOKEN_ENDPOINT: &str = "https://auth.example/v1/oauth/token";
/// The tool server the credential is for.
pub(crate) const TOOLS: &str = "https://tools.example/mcp";
pub(crate) const PRINCIPAL: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
pub(crate) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(crate) const PRESENTATION: &str = "urn:agentid:params:oauth:token-type:sd-jwt-presentation";
const STATUS_URI: &str = "https://issuer.example/status/1";

pub(crate) fn now() -> u64 {
    agentid_wallet::unix_now()
}

/// The parties and the files the service reads.
pub(crate) struct World {
    pub(crate) agent: SigningKey,
    pub(crate) sub_agent: SigningKey,
    /// The agent's credential: `tools:*` on [`TOOLS`], for the AS and the tool
    /// server, delegable once, entry 1 of the status list (valid).
    pub(crate) credential: String,
    /// Another credential of the agent's, entry 2 (revoked).
    pub(crate) revoked: String,
    pub(crate) expires_at: u64,
    dir: tempfile::TempDir,
    pub(crate) trust: PathBuf,
    pub(crate) status: PathBuf,
    pub(crate) token_key: PathBuf,
    pub(crate) previous_key: PathBuf,
}

impl World {
    pub(crate) fn new() -> World {
        Self::with_lifetime(900)
    }

    /// A world whose credentials live `lifetime_secs` from now.
    pub(crate) fn with_lifetime(lifetime_secs: u64) -> World {
        let issuer_key = SigningKey::generate(Algorithm::EdDSA);
        let issuer = Issuer::from_did_key(issuer_key.clone_for_tests()).unwrap();
        let agent = SigningKey::generate(Algorithm::ES256);
        let sub_agent = SigningKey::generate(Algorithm::ES256);
        let at = now();
        let issue = |idx: u64| {
            issuer
                .issue_with_status(
                    &CredentialRequest {
                        vct: TASK_VCT.into(),
                        subject: agent.did().unwrap(),
                        holder_key: agent.public_key().clone(),
                        claims: rights_claims(),
                        disclosable: vec!["task.purpose".parse().unwrap()],
                        lifetime_secs,
                        committed: vec![],
                    },
                    Some((idx, STATUS_URI)),
                    at,
                )
                .unwrap()
                .sd_jwt
        };
        let (credential, revoked) = (issue(1), issue(2));
        let dir = tempfile::tempdir().unwrap();
        let trust = dir.path().join("trust.json");
        std::fs::write(
            &trust,
            json!({"issuers": [{"id": issuer.id()}]}).to_string(),
        )
        .unwrap();
        let status = dir.path().join("status.jwt");
        std::fs::write(&status, status_token(&issuer_key, issuer.id(), at)).unwrap();
        let token_key = write_p256_key(dir.path(), "token-key.pem");
        let previous_key = write_p256_key(dir.path(), "previous-key.pem");
        World {
            agent,
            sub_agent,
            credential,
            revoked,
            expires_at: at + lifetime_secs,
            dir,
            trust,
            status,
            token_key,
            previous_key,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The agent's presentation of `credential` bound to `audience` and `nonce`,
    /// disclosing its principal (issued disclosable, as delegable credentials are).
    pub(crate) fn present_to(&self, credential: &str, audience: &str, nonce: &str) -> String {
        let request = PresentationRequest::new(audience, nonce);
        let principal = ["on_behalf_of".parse().unwrap()];
        agentid_wallet::present(credential, &self.agent, &principal, &request, now()).unwrap()
    }

    /// The agent's presentation of its credential to the AS.
    pub(crate) fn present(&self, nonce: &str) -> String {
        self.present_to(&self.credential, ISSUER, nonce)
    }

    /// The agent delegates `scope` (on `resources`, if given) to the sub-agent,
    /// which presents the chain to the AS asking for `action`.
    pub(crate) fn delegated(
        &self,
        scope: &[&str],
        resources: Option<&[&str]>,
        action: &Value,
        nonce: &str,
    ) -> Result<String, String> {
        let claims = rights_claims();
        let rights = Rights::from_root(&claims, Some(self.expires_at)).unwrap();
        let spec = DelegationSpec {
            to: self.sub_agent.public_key().clone(),
            scope: Some(scope.iter().map(|s| (*s).to_owned()).collect()),
            resources: resources.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
            constraints: Map::new(),
            lifetime_secs: 600,
            max_depth: None,
        };
        let chain = agentid_wallet::delegate(&self.credential, &self.agent, &rights, &spec, now())
            .map_err(|e| e.to_string())?;
        let request = PresentationRequest::new(ISSUER, nonce);
        agentid_wallet::present_delegated(&chain, &self.sub_agent, action, &request, now())
            .map_err(|e| e.to_string())
    }
}

/// The rights of the agent's credential.
pub(crate) fn rights_claims() -> Map<String, Value> {
    json!({
        "task": {"id": "T-42", "purpose": "look up and refund order 1234"},
        "scope": ["tools:*"],
        "resources": [TOOLS],
        "audience": [ISSUER, TOOLS],
        "max_delegation_depth": 1,
        "on_behalf_of": PRINCIPAL,
    })
    .as_object()
    .cloned()
    .unwrap()
}

/// Lets the world sign the status list with the issuer's key.
trait CloneForTests {
    fn clone_for_tests(&self) -> SigningKey;
}

impl CloneForTests for SigningKey {
    fn clone_for_tests(&self) -> SigningKey {
        SigningKey::from_secret_bytes(self.algorithm(), &self.expose_secret_bytes()).unwrap()
    }
}

/// A status list in which entry 2 is revoked.
fn status_token(key: &SigningKey, issuer: &str, at: u64) -> String {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&[0b0000_0100, 0, 0, 0]).unwrap();
    let lst = encoder.finish().unwrap();
    let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt",
        "kid": agentid_wallet::did_key_url(key.public_key()).unwrap()});
    let payload = json!({"iss": issuer, "sub": STATUS_URI, "iat": at - 10, "exp": at + 3600,
        "ttl": 3600, "status_list": {"bits": 1, "lst": b64url_encode(&lst)}});
    sign(key, &header, &payload)
}

/// A compact JWS over any header and payload.
pub(crate) fn sign(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    format!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())))
}

pub(crate) fn write_p256_key(dir: &Path, name: &str) -> PathBuf {
    use p256::pkcs8::EncodePrivateKey as _;
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, pem.as_bytes()).unwrap();
    path
}

/// A JWT's payload, unverified.
pub(crate) fn claims_of(jwt: &str) -> Value {
    part(jwt, 1)
}

pub(crate) fn header_of(jwt: &str) -> Value {
    part(jwt, 0)
}

fn part(jwt: &str, index: usize) -> Value {
    let text = jwt.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Verifies `jwt`'s signature with the JWKS key its `kid` names.
pub(crate) fn signed_by_jwks(jwt: &str, jwks: &Value) -> bool {
    let kid = header_of(jwt)["kid"].clone();
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid)
    else {
        return false;
    };
    let mut public = jwk.clone();
    for member in ["kid", "alg", "use"] {
        public.as_object_mut().unwrap().remove(member);
    }
    let key = PublicKey::from_jwk(&public).unwrap();
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    key.verify(key.algorithm(), input.as_bytes(), &signature)
        .is_ok()
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `agentid serve verifier` with the authorization server on.
pub(crate) struct Node {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Node {
    /// Starts a node on `state` (a directory or a PostgreSQL URL; with
    /// `state_secret` for PostgreSQL) with `extra` flags.
    pub(crate) fn start(world: &World, state: &str, secret: Option<&Path>, extra: &[&str]) -> Node {
        let port = free_port();
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
            .args(["--token-issuer", ISSUER])
            .arg("--token-key")
            .arg(&world.token_key)
            .args(["--state", state]);
        if let Some(secret) = secret {
            command.arg("--state-secret").arg(secret);
        }
        let mut child = command
            .args(extra)
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
            .unwrap_or_else(|| panic!("the node did not start: {}", stderr.lock().unwrap()));
        assert!(line.starts_with("listening on"), "{line}");
        Node {
            child,
            port,
            stderr,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The log once it holds `needle` (lines arrive through a pipe, a moment after
    /// the answer), or as it is after 10 s.
    pub(crate) async fn log_with(&self, needle: &str) -> String {
        for _ in 0..100 {
            let log = self.stderr();
            if log.contains(needle) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.stderr()
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let response = client().get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    pub(crate) async fn nonce(&self) -> String {
        let response = client()
            .post(self.url("/v1/oauth/nonce"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        body["nonce"].as_str().unwrap().to_owned()
    }

    /// Posts a token request; `(status, body)`.
    pub(crate) async fn token(
        &self,
        form: &[(&str, &str)],
        dpop: Option<&str>,
    ) -> (StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = client()
            .post(self.url("/v1/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(proof) = dpop {
            request = request.header("DPoP", proof);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        if status == StatusCode::OK {
            assert_eq!(response.headers()["cache-control"], "no-store");
        }
        (status, response.json().await.unwrap())
    }

    /// Exchanges `presentation` for a token on `resource` with `scope`.
    pub(crate) async fn exchange(
        &self,
        presentation: &str,
        resource: &str,
        scope: &str,
        dpop: Option<&str>,
    ) -> (StatusCode, Value) {
        self.token(&exchange_form(presentation, resource, scope), dpop)
            .await
    }
}

impl Node {
    /// Exchanges a fresh presentation of `world`'s credential, bound to this node
    /// and one of its nonces, for a token on `resource` with `scope`.
    pub(crate) async fn exchange_fresh(
        &self,
        world: &World,
        resource: &str,
        scope: &str,
        dpop: Option<&str>,
    ) -> (StatusCode, Value) {
        let presentation = world.present(&self.nonce().await);
        self.exchange(&presentation, resource, scope, dpop).await
    }
}

pub(crate) fn exchange_form<'a>(
    presentation: &'a str,
    resource: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", presentation),
        ("subject_token_type", PRESENTATION),
        ("resource", resource),
        ("scope", scope),
    ]
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Asserts an OAuth refusal with `code`, and returns its description.
#[track_caller]
pub(crate) fn refused(answer: &(StatusCode, Value), code: &str) -> String {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    answer.1["error_description"].as_str().unwrap().to_owned()
}

/// The PostgreSQL URL of a fresh schema for this test, and its cleanup; `None`
/// (saying so) when `AGENTID_TEST_POSTGRES` is unset.
pub(crate) async fn postgres_schema() -> Option<(String, Schema)> {
    let Ok(base) = std::env::var("AGENTID_TEST_POSTGRES") else {
        eprintln!("skipped the PostgreSQL case: AGENTID_TEST_POSTGRES is unset");
        return None;
    };
    let schema = format!("agentid_token_{:016x}", rand_u64());
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    Some((url, Schema { client, schema }))
}

/// Drops its schema when dropped.
pub(crate) struct Schema {
    client: tokio_postgres::Client,
    schema: String,
}

impl Schema {
    pub(crate) async fn drop_now(self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}

fn rand_u64() -> u64 {
    use rand_core::RngCore as _;
    rand_core::OsRng.next_u64()
}

/// A JSON object's member as text.
pub(crate) fn text(value: &Value, member: &str) -> String {
    value[member].as_str().unwrap_or_default().to_owned()
}
