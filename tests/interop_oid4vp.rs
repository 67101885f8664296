//! OpenID4VP 1.0 interop with `@openid4vc/openid4vp` 0.4.6, both roles, both response
//! modes: (1) the npm verifier (`tests/peers/oid4vp_verifier.mjs`) asks, agentid's
//! wallet (`agentid present --request`) answers; (2) `agentid serve verifier` asks,
//! the npm wallet (`tests/peers/oid4vp_wallet.mjs`) answers, honestly and with
//! deliberate faults agentid must refuse.
//!
//! The peers load their packages from `AGENTID_NPM_PEERS` (`.ci/install-npm-peers`);
//! without it the tests pass after saying they were skipped. The harness, its
//! contracts and the library's quirks: `tests/peers/README-oid4vp.md`.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const VERIFIER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/oid4vp_verifier.mjs"
);
const WALLET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/oid4vp_wallet.mjs");

const PASSPHRASE: &str = "oid4vp interop passphrase";
const FAST_KDF: [&str; 4] = ["--kdf-memory-kib", "8192", "--kdf-iterations", "1"];
const PERSON_VCT: &str = "urn:agentid:vct:person:1";

fn person_claims() -> Value {
    json!({"given_name": "Alice", "family_name": "Martin", "birthdate": "2001-04-09", "nationality": "FR"})
}

/// The DCQL query both directions use: two of the four disclosable claims.
fn person_query() -> Value {
    json!({"credentials": [{
        "id": "person", "format": "dc+sd-jwt",
        "meta": {"vct_values": [PERSON_VCT]},
        "claims": [{"path": ["given_name"]}, {"path": ["nationality"]}]
    }]})
}

fn transaction_data() -> Value {
    json!([{"type": "urn:agentid:td:payment", "credential_ids": ["person"],
            "amount": "12.00", "currency": "EUR"}])
}

/// `AGENTID_NPM_PEERS`, or `None` after saying the test is skipped.
fn npm_peers() -> Option<String> {
    match std::env::var("AGENTID_NPM_PEERS") {
        Ok(dir) if !dir.is_empty() => Some(dir),
        _ => {
            println!("skipped: AGENTID_NPM_PEERS unset (run .ci/install-npm-peers)");
            None
        }
    }
}

fn node(peers: &str, script: &str) -> Command {
    let mut command = Command::new("node");
    command.arg(script).env("AGENTID_NPM_PEERS", peers);
    command
}

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

fn write(path: &Path, contents: &str) -> PathBuf {
    std::fs::write(path, contents).unwrap();
    path.to_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

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

/// The sorted disclosed claim paths of the first presentation in a verdict.
fn disclosed_paths(presentation: &Value) -> Vec<Value> {
    let mut paths = presentation["disclosed"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    paths.sort_by_key(Value::to_string);
    paths
}

// ---------------------------------------------------------------------------------
// (1) the npm verifier asks, agentid's wallet answers
// ---------------------------------------------------------------------------------

/// The npm verifier, between its ready line and its verdict line.
struct NpmVerifier {
    child: Child,
    lines: std::io::Lines<BufReader<ChildStdout>>,
    ready: Value,
}

impl NpmVerifier {
    fn start(peers: &str, args: &[&str]) -> NpmVerifier {
        let mut child = node(peers, VERIFIER)
            .args(args)
            .args(["--timeout", "30"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let ready: Value = serde_json::from_str(&first).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "the npm verifier's ready line: {first:?} ({:?})",
                child.wait()
            )
        });
        assert!(ready["uri"].is_string(), "{ready}");
        NpmVerifier {
            child,
            lines,
            ready,
        }
    }

    /// The verdict line and the exit code.
    fn verdict(mut self) -> (Value, Option<i32>) {
        let line = self.lines.next().and_then(Result::ok).unwrap_or_default();
        let status = self.child.wait().unwrap();
        let verdict = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the npm verifier's verdict line: {line:?}"));
        (verdict, status.code())
    }
}

impl Drop for NpmVerifier {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn npm_verifier_accepts_agentid_wallet_answers() {
    let Some(peers) = npm_peers() else { return };
    let home = tempfile::tempdir().unwrap();
    let issuer = home.path().join("issuer");
    let holder = home.path().join("holder");
    let mut init = vec!["init", "--alg", "es256"];
    init.extend(FAST_KDF);
    let issuer_did = ok(agentid(&issuer, &init), "issuer init");
    ok(agentid(&holder, &init), "holder init");
    let task_did = ok(
        agentid(
            &holder,
            &["key", "new", "--alg", "es256", "--task", "T-OID4VP"],
        ),
        "key new",
    );
    let claims = write(
        &home.path().join("claims.json"),
        &person_claims().to_string(),
    );
    let credential = ok(
        agentid(
            &issuer,
            &[
                "issue",
                "--subject",
                &task_did,
                "--vct",
                PERSON_VCT,
                "--claims",
                path_str(&claims),
                "--sd",
                "given_name,family_name,birthdate,nationality",
                "--ttl",
                "10m",
            ],
        ),
        "issue",
    );
    let credential_file = write(&home.path().join("person.sd-jwt"), &credential);
    ok(
        agentid(&holder, &["receive", path_str(&credential_file)]),
        "receive",
    );
    // agentid's credentials carry the issuer's status list entry: the verifier gets
    // the list (signed by the same did:key) to check it.
    let status_list = home.path().join("status.jwt");
    ok(
        agentid(
            &issuer,
            &["status", "publish", "--out", path_str(&status_list)],
        ),
        "status publish",
    );
    let dcql = write(&home.path().join("dcql.json"), &person_query().to_string());
    let td = write(
        &home.path().join("td.json"),
        &transaction_data().to_string(),
    );

    let cases: [(&str, &str, bool); 5] = [
        ("x509_hash", "direct_post.jwt", false),
        ("x509_san_dns", "direct_post", false),
        ("x509_san_dns", "direct_post.jwt", false),
        ("redirect_uri", "direct_post", false),
        ("x509_hash", "direct_post.jwt", true),
    ];
    let mut accepted = 0;
    for (index, (prefix, mode, with_td)) in cases.iter().enumerate() {
        let what = format!(
            "{prefix} + {mode}{}",
            if *with_td { " + transaction data" } else { "" }
        );
        let out_dir = home.path().join(format!("verifier-{index}"));
        let mut args = vec![
            "--dcql",
            path_str(&dcql),
            "--client-id-prefix",
            prefix,
            "--response-mode",
            mode,
            "--out-dir",
            path_str(&out_dir),
            "--status-list",
            path_str(&status_list),
        ];
        if *with_td {
            args.extend(["--transaction-data", path_str(&td)]);
        }
        let verifier = NpmVerifier::start(&peers, &args);
        let uri = verifier.ready["uri"].as_str().unwrap().to_owned();
        let client_id = verifier.ready["client_id"].clone();
        let anchor = out_dir.join("verifier-ca.pem");
        let answer = agentid(
            &holder,
            &[
                "present",
                "--request",
                &uri,
                "--allow-http",
                "--verifier-anchor",
                path_str(&anchor),
                "--yes",
                "--json",
            ],
        );
        let (verdict, code) = verifier.verdict();
        assert!(
            answer.status.success(),
            "{what}: agentid present exit {:?}\nstdout: {}\nstderr: {}\nverdict: {verdict}",
            answer.status.code(),
            text(&answer.stdout),
            text(&answer.stderr)
        );
        assert_eq!(verdict["verdict"], "accepted", "{what}: {verdict}");
        assert_eq!(code, Some(0), "{what}: {verdict}");
        assert_eq!(verdict["response_mode"], *mode, "{what}");
        assert_eq!(
            verdict["jwe"].is_object(),
            *mode == "direct_post.jwt",
            "{what}"
        );
        let claims = &verdict["claims"]["person"];
        assert_eq!(claims["given_name"], "Alice", "{what}: {verdict}");
        assert_eq!(claims["nationality"], "FR", "{what}: {verdict}");
        assert!(claims.get("family_name").is_none(), "{what}: {verdict}");
        assert!(claims.get("birthdate").is_none(), "{what}: {verdict}");
        let presentations = verdict["presentations"]["person"].as_array().unwrap();
        assert_eq!(presentations.len(), 1, "{what}: {verdict}");
        let presentation = &presentations[0];
        assert_eq!(
            disclosed_paths(presentation),
            vec![json!(["given_name"]), json!(["nationality"])],
            "{what}: exactly the requested claims: {verdict}"
        );
        assert_eq!(presentation["issuer_key"], "did:key", "{what}");
        assert_eq!(claims["iss"], issuer_did.as_str(), "{what}: {verdict}");
        assert_eq!(verdict["extra_disclosures"], json!([]), "{what}: {verdict}");
        let kb = &presentation["kb"];
        assert_eq!(kb["aud"], client_id, "{what}: {verdict}");
        if *with_td {
            let hashes = kb["transaction_data_hashes"].as_array().unwrap();
            assert_eq!(hashes.len(), 1, "{what}: {verdict}");
        } else {
            assert!(kb.get("transaction_data_hashes").is_none(), "{what}");
        }
        accepted += 1;
    }
    println!(
        "oid4vp interop: npm verifier accepted agentid's answers {accepted}/{}",
        cases.len()
    );
}

// ---------------------------------------------------------------------------------
// (2) agentid's verifier asks, the npm wallet answers
// ---------------------------------------------------------------------------------

/// A CA and a leaf (dNSName `localhost`) for agentid's request signing.
struct Pki {
    ca: PathBuf,
    key: PathBuf,
    chain: PathBuf,
}

fn pki(dir: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca_key = KeyPair::generate_for(alg).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "agentid interop test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca_issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate_for(alg).unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "agentid interop verifier");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf_params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let leaf_cert = leaf_params.signed_by(&leaf_key, &ca_issuer).unwrap();
    Pki {
        ca: write(&dir.join("ca.pem"), &ca_cert.pem()),
        key: write(&dir.join("request-key.pem"), &leaf_key.serialize_pem()),
        chain: write(&dir.join("request-chain.pem"), &leaf_cert.pem()),
    }
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `agentid serve verifier` with OpenID4VP on; killed on drop.
struct AgentidVerifier {
    child: Child,
    port: u16,
}

impl AgentidVerifier {
    fn start(dir: &Path, trust: &Path, pki: &Pki, prefix: &str, host: &str) -> AgentidVerifier {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let public_url = format!("http://{host}:{port}");
        let state = dir.join(format!("state-{prefix}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentid"));
        command
            .args(["serve", "verifier", "--listen", &listen, "--trust"])
            .arg(trust)
            .args(["--public-url", &public_url, "--client-id-prefix", prefix])
            .arg("--state")
            .arg(&state);
        if prefix.starts_with("x509") {
            command
                .arg("--request-key")
                .arg(&pki.key)
                .arg("--request-chain")
                .arg(&pki.chain);
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn agentid serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        if !first.starts_with("listening on ") {
            let _ = child.kill();
            panic!("agentid serve ({prefix}): {first:?} ({:?})", child.wait());
        }
        std::thread::spawn(move || for _ in lines {});
        AgentidVerifier { child, port }
    }

    /// One HTTP/1.1 exchange on loopback: (status, JSON body).
    fn http(&self, method: &str, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stream = loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(stream) => break stream,
                Err(error) if Instant::now() > deadline => panic!("connect: {error}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(key) = bearer {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let json = serde_json::from_str(body)
            .unwrap_or_else(|_| panic!("{method} {path}: {status} {body:?}"));
        (status, json)
    }

    fn create(&self, mode: &str) -> Value {
        let (status, created) = self.http(
            "POST",
            "/v1/oid4vp/requests",
            None,
            &json!({"dcql_query": person_query(), "response_mode": mode}),
        );
        assert_eq!(status, 201, "create: {created}");
        created
    }

    fn result(&self, created: &Value) -> Value {
        let id = created["id"].as_str().unwrap();
        let (status, result) = self.http(
            "GET",
            &format!("/v1/oid4vp/requests/{id}"),
            created["result_key"].as_str(),
            &Value::Null,
        );
        assert_eq!(status, 200, "result: {result}");
        result
    }
}

impl Drop for AgentidVerifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The npm wallet's one line and its exit code.
fn npm_wallet(peers: &str, uri: &str, material: &NpmMaterial, extra: &[&str]) -> (Value, i32) {
    let output = node(peers, WALLET)
        .args(["--request", uri, "--credential"])
        .arg(&material.credential)
        .arg("--holder-key")
        .arg(&material.holder_key)
        .arg("--trust-anchor")
        .arg(&material.ca)
        .arg("--allow-http")
        .args(extra)
        .output()
        .expect("run node");
    let line = text(&output.stdout);
    let answer = serde_json::from_str(line.trim()).unwrap_or_else(|_| {
        panic!(
            "the npm wallet's line: {line:?}; stderr: {}",
            text(&output.stderr)
        )
    });
    (answer, output.status.code().unwrap_or(-1))
}

struct NpmMaterial {
    credential: PathBuf,
    holder_key: PathBuf,
    ca: PathBuf,
}

#[test]
fn agentid_verifier_accepts_npm_wallet_answers_and_refuses_tampered_ones() {
    let Some(peers) = npm_peers() else { return };
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let gen_key = || {
        ok(
            node(&peers, WALLET).arg("--gen-key").output().unwrap(),
            "--gen-key",
        )
    };
    let issuer_key = write(&dir.join("issuer.jwk"), &gen_key());
    let holder_key = write(&dir.join("holder.jwk"), &gen_key());
    let claims = write(&dir.join("claims.json"), &person_claims().to_string());
    let credential = ok(
        node(&peers, WALLET)
            .arg("--make-credential")
            .arg("--issuer-key")
            .arg(&issuer_key)
            .arg("--holder-key")
            .arg(&holder_key)
            .args(["--vct", PERSON_VCT, "--claims", path_str(&claims)])
            .args(["--sd", "given_name,family_name,birthdate,nationality"])
            .output()
            .unwrap(),
        "--make-credential",
    );
    let mut issuer_public: Value =
        serde_json::from_str(&std::fs::read_to_string(&issuer_key).unwrap()).unwrap();
    issuer_public.as_object_mut().unwrap().remove("d");
    let trust = write(
        &dir.join("trust.json"),
        &json!({"issuers": [{"id": "https://issuer.example", "jwk": issuer_public}]}).to_string(),
    );
    let pki = pki(dir);
    let material = NpmMaterial {
        credential: write(&dir.join("person.sd-jwt"), &credential),
        holder_key,
        ca: pki.ca.clone(),
    };

    let hash = AgentidVerifier::start(dir, &trust, &pki, "x509_hash", "127.0.0.1");
    let san = AgentidVerifier::start(dir, &trust, &pki, "x509_san_dns", "localhost");
    let redirect = AgentidVerifier::start(dir, &trust, &pki, "redirect_uri", "127.0.0.1");

    let honest: [(&AgentidVerifier, &str, &str); 3] = [
        (&hash, "x509_hash", "direct_post.jwt"),
        (&san, "x509_san_dns", "direct_post"),
        (&redirect, "redirect_uri", "direct_post"),
    ];
    let mut accepted = 0;
    for (server, prefix, mode) in honest {
        let what = format!("{prefix} + {mode}");
        let created = server.create(mode);
        let uri = created["authorization_request_uri"].as_str().unwrap();
        let (answer, code) = npm_wallet(&peers, uri, &material, &[]);
        let result = server.result(&created);
        assert_eq!(code, 0, "{what}: {answer}; agentid: {result}");
        assert_eq!(answer["status"], 200, "{what}: {answer}");
        assert_eq!(answer["client_id_prefix"], prefix, "{what}: {answer}");
        assert_eq!(answer["response_mode"], mode, "{what}: {answer}");
        assert_eq!(result["status"], "accepted", "{what}: {result}");
        let presentations = result["verdict"]["credentials"]["person"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: {result}"));
        assert_eq!(presentations.len(), 1, "{what}: {result}");
        let shown = presentations[0].to_string();
        for expected in ["Alice", "FR", "https://issuer.example"] {
            assert!(shown.contains(expected), "{what}: {expected} in {result}");
        }
        for hidden in ["Martin", "2001-04-09"] {
            assert!(!shown.contains(hidden), "{what}: {hidden} not in {result}");
        }
        accepted += 1;
    }

    let mut refused = 0;
    let tampers = ["nonce", "state", "kid", "disclose-all"];
    for tamper in tampers {
        let created = hash.create("direct_post.jwt");
        let uri = created["authorization_request_uri"].as_str().unwrap();
        let (answer, code) = npm_wallet(&peers, uri, &material, &["--tamper", tamper]);
        let result = hash.result(&created);
        assert_eq!(code, 1, "--tamper {tamper}: {answer}; agentid: {result}");
        assert_eq!(answer["status"], 400, "--tamper {tamper}: {answer}");
        assert_eq!(
            answer["body"]["error"], "invalid_request",
            "--tamper {tamper}: {answer}"
        );
        assert!(
            answer["body"]["error_description"].is_string(),
            "--tamper {tamper}: {answer}"
        );
        assert_ne!(result["status"], "accepted", "--tamper {tamper}: {result}");
        if result["status"] == "refused" {
            assert!(
                result["verdict"]["kind"].is_string(),
                "--tamper {tamper}: {result}"
            );
        }
        refused += 1;
        println!(
            "--tamper {tamper}: answer {}; result {} {}",
            answer["body"], result["status"], result["verdict"]
        );
    }
    println!(
        "oid4vp interop: agentid accepted the npm wallet's answers {accepted}/{}, refused \
         {refused}/{} tampered",
        honest.len(),
        tampers.len()
    );
}
