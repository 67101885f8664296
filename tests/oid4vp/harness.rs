//! The world the OpenID4VP tests run in: an issuer, an agent holding a person
//! credential, a PKI for the verifier, service processes and the state backends.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) const PASSPHRASE: &str = "a long passphrase for oid4vp tests";
pub(crate) const FAST_KDF: [&str; 4] = ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"];
pub(crate) const PERSON_VCT: &str = "urn:agentid:vct:person:1";

/// `agentid [--wallet DIR] ARGS…`.
pub(crate) fn agentid(wallet: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
    if let Some(wallet) = wallet {
        command.arg("--wallet").arg(wallet);
    }
    command
        .args(args)
        .env("AGENTID_PASSPHRASE", PASSPHRASE)
        .env_remove("AGENTID_WALLET")
        .stdin(Stdio::null())
        .output()
        .expect("run agentid")
}

pub(crate) fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

/// Everything a command said, for asserting on refusals.
pub(crate) fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An issuer, an agent with a person credential, a verifier PKI.
pub(crate) struct World {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) agent: PathBuf,
    pub(crate) credential_id: String,
    pub(crate) trust: PathBuf,
    pub(crate) status: PathBuf,
    pub(crate) ca: PathBuf,
    pub(crate) leaf_key: PathBuf,
    pub(crate) leaf_chain: PathBuf,
}

impl World {
    pub(crate) fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let issuer = dir.path().join("issuer");
        let agent = dir.path().join("agent");
        let mut init = vec!["init", "--alg", "es256"];
        init.extend(FAST_KDF);
        let issuer_did = ok(agentid(Some(&issuer), &init));
        ok(agentid(Some(&agent), &init));
        ok(agentid(Some(&dir.path().join("verifier-wallet")), &init));
        let holder = ok(agentid(
            Some(&agent),
            &["key", "new", "--alg", "es256", "--task", "T-1"],
        ));
        let claims = dir.path().join("claims.json");
        std::fs::write(
            &claims,
            json!({"given_name": "Ada", "family_name": "Lovelace",
                   "birthdate": "1990-12-10", "nationality": "GB"})
            .to_string(),
        )
        .unwrap();
        let credential = ok(agentid(
            Some(&issuer),
            &[
                "issue",
                "--subject",
                &holder,
                "--vct",
                PERSON_VCT,
                "--claims",
                claims.to_str().unwrap(),
                "--sd",
                "given_name,family_name,birthdate,nationality",
                "--ttl",
                "1h",
            ],
        ));
        let credential_file = dir.path().join("credential");
        std::fs::write(&credential_file, credential).unwrap();
        let credential_id = ok(agentid(
            Some(&agent),
            &["receive", credential_file.to_str().unwrap()],
        ));
        let trust = dir.path().join("trust.json");
        std::fs::write(&trust, json!({"issuers": [{"id": issuer_did}]}).to_string()).unwrap();
        let status = dir.path().join("status.jwt");
        ok(agentid(
            Some(&issuer),
            &[
                "status",
                "publish",
                "--out",
                status.to_str().unwrap(),
                "--ttl",
                "1h",
            ],
        ));
        let (ca_pem, chain_pem, key_pem) = pki();
        let ca = dir.path().join("ca.pem");
        let leaf_chain = dir.path().join("leaf.pem");
        let leaf_key = dir.path().join("leaf.key");
        std::fs::write(&ca, ca_pem).unwrap();
        std::fs::write(&leaf_chain, chain_pem).unwrap();
        std::fs::write(&leaf_key, key_pem).unwrap();
        World {
            dir,
            agent,
            credential_id,
            trust,
            status,
            ca,
            leaf_key,
            leaf_chain,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `agentid --wallet agent present --request REQUEST --allow-http
    /// --verifier-anchor ca.pem --yes EXTRA…`.
    pub(crate) fn answer(&self, request: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "present",
            "--request",
            request,
            "--allow-http",
            "--verifier-anchor",
            self.ca.to_str().unwrap(),
            "--yes",
        ];
        args.extend(extra);
        agentid(Some(&self.agent), &args)
    }

    /// A presentation of the person credential made by hand: `present --credential
    /// … --audience … --nonce … --disclose …`.
    pub(crate) fn presentation(&self, audience: &str, nonce: &str, disclose: &str) -> String {
        ok(agentid(
            Some(&self.agent),
            &[
                "present",
                "--credential",
                &self.credential_id,
                "--audience",
                audience,
                "--nonce",
                nonce,
                "--disclose",
                disclose,
            ],
        ))
    }
}

/// A CA and a leaf for `localhost` (P-256): the CA's PEM, the leaf's PEM, the
/// leaf's PKCS#8 PEM key.
fn pki() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "OID4VP test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let ca_key = KeyPair::generate_for(alg).unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate_for(alg).unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf_params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let leaf_cert = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

/// Where a service keeps its requests.
#[derive(Clone)]
pub(crate) struct StateAt {
    pub(crate) state: String,
    pub(crate) secret: Option<PathBuf>,
}

/// One `agentid serve verifier` process with the OpenID4VP role.
pub(crate) struct Node {
    child: Child,
    pub(crate) base: String,
    stderr: Arc<Mutex<String>>,
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Node {
    /// Starts a node with `prefix`, on a free port (once more on another port if
    /// that one was taken meanwhile).
    pub(crate) fn start(world: &World, prefix: &str, at: &StateAt, extra: &[&str]) -> Node {
        match Node::try_start(world, prefix, at, extra) {
            Ok(node) => node,
            Err(_) => Node::try_start(world, prefix, at, extra).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn try_start(
        world: &World,
        prefix: &str,
        at: &StateAt,
        extra: &[&str],
    ) -> Result<Node, String> {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
        if prefix == "decentralized_identifier" {
            command.arg("--wallet").arg(world.path("verifier-wallet"));
        }
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
            .args(["--public-url", &format!("http://localhost:{port}")])
            .args(["--client-id-prefix", prefix])
            .arg("--request-key")
            .arg(&world.leaf_key)
            .arg("--request-chain")
            .arg(&world.leaf_chain)
            .args(["--state", &at.state]);
        if let Some(secret) = &at.secret {
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
            .expect("spawn agentid serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let (tx, rx) = channel();
        let pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(pipe).lines();
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
            for _ in lines {}
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        if first.starts_with("listening on ") {
            return Ok(Node {
                child,
                base: format!("http://127.0.0.1:{port}"),
                stderr,
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(50));
        let text = stderr.lock().unwrap().clone();
        Err(format!("the service did not start ({first:?}): {text}"))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `POST /v1/oid4vp/requests` → 201 and its answer.
    pub(crate) async fn create(&self, body: &Value) -> Value {
        let response = client()
            .post(self.url("/v1/oid4vp/requests"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}; {}", self.stderr());
        serde_json::from_str(&text).unwrap()
    }

    /// `GET /v1/oid4vp/requests/{id}` with the result key.
    pub(crate) async fn result(&self, created: &Value) -> Value {
        let id = created["id"].as_str().unwrap();
        let response = client()
            .get(self.url(&format!("/v1/oid4vp/requests/{id}")))
            .bearer_auth(created["result_key"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn client() -> reqwest::Client {
    // reqwest is built with rustls and no provider (the product's choice): install
    // ring, as the product does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The person query: given_name, and nationality GB or FR.
pub(crate) fn person_query() -> Value {
    json!({"credentials": [{
        "id": "person",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PERSON_VCT]},
        "claims": [{"path": ["given_name"]}, {"path": ["nationality"], "values": ["GB", "FR"]}]
    }]})
}

/// GET a request object (the one fetch it allows) → its status and body.
pub(crate) async fn fetch(url: &str) -> (StatusCode, String) {
    let response = client().get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The JSON payload of a compact JWS.
pub(crate) fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// POSTs a form to a response URI → status and JSON answer.
pub(crate) async fn post_form(url: &str, form: &str) -> (StatusCode, Value) {
    let response = client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A direct_post form: `vp_token` (JSON) and `state`.
pub(crate) fn direct_post(vp_token: &Value, state: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("vp_token", &vp_token.to_string())
        .append_pair("state", state)
        .finish()
}

/// A direct_post.jwt form: the response JSON encrypted to the request's key.
pub(crate) fn direct_post_jwt(object: &Value, response: &Value) -> String {
    let jwk = &object["client_metadata"]["jwks"]["keys"][0];
    let coordinate = |name: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().unwrap())
            .unwrap()
    };
    let mut sec1 = vec![4u8];
    sec1.extend(coordinate("x"));
    sec1.extend(coordinate("y"));
    let key = p256::PublicKey::from_sec1_bytes(&sec1).unwrap();
    encrypted_form(&key, jwk["kid"].as_str(), response)
}

pub(crate) fn encrypted_form(key: &p256::PublicKey, kid: Option<&str>, response: &Value) -> String {
    use agentid_verifier::oid4vp::jwe::{encrypt, Enc};
    let jwe = encrypt(key, kid, Enc::A256GCM, response.to_string().as_bytes()).unwrap();
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response", &jwe)
        .finish()
}

/// Serves `body` as a request object at `http://127.0.0.1:PORT/object`, to every
/// connection, until the test ends.
pub(crate) fn serve_object(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buffer = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.read(&mut buffer);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/oauth-authz-req+jwt\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/object")
}

/// An authorization request URI by reference.
pub(crate) fn by_reference(client_id: &str, request_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri)
        .finish();
    format!("openid4vp://?{query}")
}

/// Runs `test` on the embedded state, then (when `AGENTID_TEST_POSTGRES` is set)
/// on a fresh PostgreSQL schema, dropped afterwards.
pub(crate) async fn on_both<F, Fut>(test: F)
where
    F: Fn(StateAt) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    test(StateAt {
        state: dir.path().join("state").to_str().unwrap().to_owned(),
        secret: None,
    })
    .await;
    on_postgres(test).await;
}

/// Runs `test` on a fresh PostgreSQL schema, or says it is skipped.
pub(crate) async fn on_postgres<F, Fut>(test: F)
where
    F: Fn(StateAt) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(url) = std::env::var("AGENTID_TEST_POSTGRES") else {
        println!("skipped: AGENTID_TEST_POSTGRES unset");
        return;
    };
    let schema = format!(
        "agentid_oid4vp_{}",
        b64url(&random::<8>())
            .to_lowercase()
            .replace(['-', '_'], "x")
    );
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("state-secret");
    std::fs::write(&secret, random::<32>()).unwrap();
    let at = StateAt {
        state: format!("{url}{separator}options=-csearch_path%3D{schema}"),
        secret: Some(secret),
    };
    let outcome = tokio::spawn(test(at)).await;
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The request object a created request serves (fetched: its one fetch).
pub(crate) async fn object_of(created: &Value) -> (String, Value) {
    let (status, jwt) = fetch(created["request_uri"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{jwt}");
    let claims = payload(&jwt);
    (jwt, claims)
}

fn random<const N: usize>() -> [u8; N] {
    use rand_core::RngCore as _;
    let mut bytes = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

pub(crate) fn b64_decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
