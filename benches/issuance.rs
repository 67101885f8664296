//! Issuance throughput: task credentials minted per second in-process, next to
//! SpruceID ssi's `SdJwtBuf::conceal_and_sign` of the same claims in the same run.
//!
//! - `issuance/agentid/<alg>`: `Issuer::issue_with_status`, what the issuer service
//!   does per credential (reserved-name and rights checks, the task schema, a fresh
//!   `jti`, the registered claims, concealment with the shipped decoys, signing).
//! - `issuance/agentid_no_decoys/<alg>`: the same issuer with `Decoys::NONE`, so the
//!   concealment does exactly what ssi's does (ssi adds no decoy digests).
//! - `issuance/ssi_conceal_and_sign/<alg>`: ssi-sd-jwt 0.6's own
//!   `SdJwtBuf::conceal_and_sign` of a claim set holding the same claims *and* the
//!   registered claims agentid adds (`iss`, `sub`, `iat`, `nbf`, `exp`, `jti`, `vct`,
//!   `cnf`, `status`, `_sd_alg` is ssi's own), the same concealed claims, under the
//!   same key (so the same algorithm and the same `kid`).
//!
//! The comparison leans towards ssi: its claim set is built once, outside the timed
//! call, while agentid's time includes building it per credential, a fresh random
//! `jti` and the schema check. ssi's JWS header has no `typ` (`conceal_and_sign`
//! writes `alg` and `kid` only); agentid's adds `typ: dc+sd-jwt`.
//!
//! After the criterion groups, `summary()` times the three sides interleaved
//! (2000 iterations each after warm-up) and prints one line per algorithm with the
//! medians, the rate and the ratio to ssi against the goal (≤ 0.65× ssi's time).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use agentid_verifier::{Algorithm, Policy, TrustStore, Verifier};
use agentid_wallet::{
    did_key_url, unix_now, CredentialRequest, Decoys, Issuer, SigningKey, TASK_VCT,
};
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Map, Value};
use ssi_claims_core::chrono::{DateTime, Utc};
use ssi_claims_core::VerificationParameters;
use ssi_jwk::JWK;
use ssi_jwt::JWTClaims;
use ssi_sd_jwt::{JsonPointerBuf, SdAlg, SdJwt, SdJwtBuf};

const ALGORITHMS: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::ES256];
/// The goal of the issue: agentid's time per credential at most this fraction of
/// ssi's.
const GOAL_RATIO: f64 = 0.65;
const STATUS_LIST_URI: &str = "https://issuer.example/v1/status-lists/1";
const STATUS_INDEX: u64 = 4711;
const LIFETIME_SECS: u64 = 600;
/// The concealed claims, as agentid claim paths and as ssi's JSON pointers.
const DISCLOSABLE: [&str; 2] = ["task.purpose", "on_behalf_of"];
const POINTERS: [&str; 2] = ["/task/purpose", "/on_behalf_of"];

/// Runs a future that never returns `Pending` (ssi's signing with an in-memory
/// JWK) to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an ssi future paused; block_on cannot drive it"),
    }
}

/// A task credential's claims, valid against `schemas/task.schema.json`.
fn task_claims() -> Map<String, Value> {
    json!({
        "task": {"id": "T-42", "purpose": "refund order 1234 after a damaged delivery"},
        "scope": ["refunds:write", "orders:read"],
        "resources": ["https://payments.example/orders/1234"],
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .cloned()
    .unwrap()
}

/// The issuer's key as an ssi JWK with its secret (`d`) and agentid's `kid`, so
/// both sides sign with the same key under the same header `kid`.
fn ssi_signing_jwk(key: &SigningKey) -> JWK {
    let mut jwk = key.public_key().to_jwk();
    jwk["d"] = agentid_verifier::b64url_encode(&key.expose_secret_bytes()).into();
    let mut jwk: JWK = serde_json::from_value(jwk).unwrap();
    jwk.key_id = Some(did_key_url(key.public_key()).unwrap());
    jwk
}

/// Everything one algorithm's measurements need, built once.
struct Fixture {
    alg: Algorithm,
    now: u64,
    /// As shipped: `Decoys::default()`.
    issuer: Issuer,
    /// The same key and identifier, no decoys.
    issuer_no_decoys: Issuer,
    request: CredentialRequest,
    ssi_key: JWK,
    ssi_claims: JWTClaims<Map<String, Value>>,
    ssi_pointers: Vec<JsonPointerBuf>,
}

impl Fixture {
    fn new(alg: Algorithm) -> Self {
        let now = unix_now();
        let key = SigningKey::generate(alg);
        let ssi_key = ssi_signing_jwk(&key);
        // A second issuer value on the same key: `SigningKey` has no `Clone`.
        let same_key = SigningKey::from_secret_bytes(alg, &key.expose_secret_bytes()).unwrap();
        let issuer = Issuer::from_did_key(key).unwrap();
        let issuer_no_decoys = Issuer::from_did_key(same_key)
            .unwrap()
            .with_decoys(Decoys::NONE);
        assert_eq!(issuer.id(), issuer_no_decoys.id());
        let holder = SigningKey::generate(alg);
        let request = CredentialRequest {
            vct: TASK_VCT.into(),
            subject: holder.did().unwrap(),
            holder_key: holder.public_key().clone(),
            claims: task_claims(),
            disclosable: DISCLOSABLE.iter().map(|p| p.parse().unwrap()).collect(),
            lifetime_secs: LIFETIME_SECS,
            committed: Vec::new(),
        };
        // ssi signs everything agentid puts in its payload, in clear where agentid
        // has it in clear; `jti` is the one of a credential agentid issued.
        let reference = issuer
            .issue_with_status(&request, Some((STATUS_INDEX, STATUS_LIST_URI)), now)
            .unwrap();
        let mut claims = task_claims();
        let registered = json!({
            "iss": issuer.id(),
            "sub": request.subject,
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME_SECS,
            "jti": reference.credential_id,
            "vct": TASK_VCT,
            "cnf": agentid_wallet::cnf(&request.holder_key),
            "status": {"status_list": {"idx": STATUS_INDEX, "uri": STATUS_LIST_URI}},
        });
        claims.extend(registered.as_object().cloned().unwrap());
        // Every claim as a private claim: `JWTClaims`' typed registered claims would
        // write the dates as they see fit; a `Map` writes exactly these numbers.
        let ssi_claims = JWTClaims::from_private_claims(claims);
        let ssi_pointers = POINTERS
            .iter()
            .map(|pointer| JsonPointerBuf::new(pointer.to_string()).unwrap())
            .collect();
        let fixture = Fixture {
            alg,
            now,
            issuer,
            issuer_no_decoys,
            request,
            ssi_key,
            ssi_claims,
            ssi_pointers,
        };
        fixture.check(&reference.sd_jwt);
        fixture
    }

    fn agentid(&self) -> String {
        Self::issue(&self.issuer, &self.request, self.now)
    }

    fn agentid_no_decoys(&self) -> String {
        Self::issue(&self.issuer_no_decoys, &self.request, self.now)
    }

    fn issue(issuer: &Issuer, request: &CredentialRequest, now: u64) -> String {
        issuer
            .issue_with_status(
                black_box(request),
                Some((STATUS_INDEX, STATUS_LIST_URI)),
                now,
            )
            .unwrap()
            .sd_jwt
    }

    fn ssi(&self) -> SdJwtBuf {
        block_on(SdJwtBuf::conceal_and_sign(
            black_box(&self.ssi_claims),
            SdAlg::Sha256,
            &self.ssi_pointers,
            &self.ssi_key,
        ))
        .unwrap()
    }

    /// Every side produces a credential that verifies and reveals the same claims
    /// (a benchmark of a wrong output would be worthless).
    fn check(&self, agentid_reference: &str) {
        let mut trust = TrustStore::new();
        trust.add_did(self.issuer.id()).unwrap();
        // No status list is fetched here: the status reference is only carried.
        let verifier = Verifier::new(trust, Policy::default().with_unknown_status_accepted(true));
        for credential in [self.agentid(), self.agentid_no_decoys()] {
            let verified = verifier.verify_credential(&credential, self.now).unwrap();
            assert_eq!(verified.claims, task_claims());
            // Two disclosures on every side; the decoys are digests only.
            assert_eq!(credential.trim_end_matches('~').matches('~').count(), 2);
        }
        let ssi = self.ssi().into_string();
        assert_eq!(ssi.trim_end_matches('~').matches('~').count(), 2);
        // The same payload apart from salts and digests: the same claim names at
        // the top and in `task`, as many `_sd` digests as agentid without decoys.
        let shape = |credential: &str| {
            let payload = credential.split(['.', '~']).nth(1).unwrap();
            let payload: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .unwrap(),
            )
            .unwrap();
            let names = |object: &Value| -> Vec<String> {
                object.as_object().unwrap().keys().cloned().collect()
            };
            (
                names(&payload),
                names(&payload["task"]),
                payload["_sd"].as_array().unwrap().len(),
                payload["task"]["_sd"].as_array().unwrap().len(),
            )
        };
        assert_eq!(
            shape(&ssi),
            shape(&self.agentid_no_decoys()),
            "{}",
            self.alg
        );
        let public: JWK = self.ssi_key.to_public();
        let at = DateTime::<Utc>::from_timestamp(i64::try_from(self.now).unwrap(), 0).unwrap();
        let params = VerificationParameters::from_resolver(public).with_date_time(at);
        let reveal = |credential: &str| {
            let (revealed, verification) = block_on(
                SdJwt::new(credential)
                    .unwrap()
                    .decode_reveal_verify_any(&params),
            )
            .unwrap();
            verification.unwrap();
            serde_json::to_value(revealed.claims()).unwrap()
        };
        assert_eq!(reveal(&ssi), reveal(agentid_reference), "{}", self.alg);
    }
}

fn issuance(c: &mut Criterion) {
    let fixtures: Vec<Fixture> = ALGORITHMS.into_iter().map(Fixture::new).collect();
    let mut group = c.benchmark_group("issuance");
    for f in &fixtures {
        group.bench_function(BenchmarkId::new("agentid", f.alg), |b| {
            b.iter(|| f.agentid())
        });
        group.bench_function(BenchmarkId::new("agentid_no_decoys", f.alg), |b| {
            b.iter(|| f.agentid_no_decoys())
        });
        group.bench_function(BenchmarkId::new("ssi_conceal_and_sign", f.alg), |b| {
            b.iter(|| f.ssi())
        });
    }
    group.finish();
}

fn median_micros(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn time<T>(op: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    black_box(op());
    start.elapsed()
}

/// A rate with thousands separators: 22170.4 → "22,170".
fn per_second(micros: f64) -> String {
    let digits = format!("{:.0}", 1e6 / micros);
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The three sides per algorithm, each iteration timing all three in turn so that
/// clock drift and the other load on the machine hit all sides alike.
fn summary() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: keep the
    // test run quick.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (warm_up, iterations) = if measuring { (200, 2000) } else { (2, 10) };
    println!(
        "\nissuance summary ({iterations} interleaved iterations, medians{}):",
        if measuring {
            ""
        } else {
            "; test mode, not a measurement"
        }
    );
    println!(
        "  agentid = Issuer::issue_with_status as shipped (schema check, fresh jti, \
         status, 1-3 decoy digests per _sd array); no decoys = the same with \
         Decoys::NONE; ssi = SdJwtBuf::conceal_and_sign of the same payload (no decoys, \
         claims built once, header without typ); same key, same 2 concealed claims"
    );
    for alg in ALGORITHMS {
        let f = Fixture::new(alg);
        for _ in 0..warm_up {
            black_box(f.agentid());
            black_box(f.agentid_no_decoys());
            black_box(f.ssi());
        }
        let mut agentid = Vec::with_capacity(iterations);
        let mut no_decoys = Vec::with_capacity(iterations);
        let mut ssi = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            agentid.push(time(|| f.agentid()));
            no_decoys.push(time(|| f.agentid_no_decoys()));
            ssi.push(time(|| f.ssi()));
        }
        let agentid = median_micros(&mut agentid);
        let no_decoys = median_micros(&mut no_decoys);
        let ssi = median_micros(&mut ssi);
        let ratio = agentid / ssi;
        println!(
            "issue {alg}: agentid {agentid:.1} µs/credential ({}/s), ssi conceal_and_sign \
             {ssi:.1} µs; ratio {ratio:.2}, goal ≤ {GOAL_RATIO}: {}; without decoys \
             {no_decoys:.1} µs (ratio {:.2})",
            per_second(agentid),
            if ratio <= GOAL_RATIO {
                "met"
            } else {
                "NOT met"
            },
            no_decoys / ssi,
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = issuance
}
criterion_main!(benches, summary);
