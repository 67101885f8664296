//! SD-JWT VC benchmarks: issuing, presenting and verifying a realistic task
//! credential (claims valid against `schemas/task.schema.json`, five selectively
//! disclosable claims) for each algorithm (EdDSA, ES256K, ES256).
//!
//! - `issue/<alg>`: `Issuer::issue` (schema check, concealment with decoys, signing).
//! - `present/<alg>`: `agentid_wallet::present` disclosing two claims, with a KB-JWT.
//! - `verify_presentation/<alg>`: `Verifier::verify_presentation` (issuer and KB-JWT
//!   signatures, sd_hash, audience, nonce).
//! - `verify_credential/agentid/<alg>`: `Verifier::verify_credential` (no KB-JWT), next
//!   to `verify_credential/ssi/EdDSA` (`ssi-sd-jwt`'s `decode_reveal_verify` on the
//!   same bytes with the issuer's JWK) and `verify_credential/raw_signature/<alg>`
//!   (`PublicKey::verify` alone on the issuer JWT's signing input and signature), so
//!   the parse/hash/reveal overhead over the bare signature check is visible.
//!
//! After the criterion runs, `summary()` times agentid, ssi and the raw signature on
//! the same EdDSA credential (interleaved, 2000 iterations each after warm-up) and
//! prints the medians and ratios.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use agentid_verifier::{
    Algorithm, ClaimPath, Policy, PresentationRequest, PublicKey, TrustStore, Verifier,
};
use agentid_wallet::{present, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;
use ssi_claims_core::chrono::{DateTime, Utc};
use ssi_claims_core::VerificationParameters;
use ssi_sd_jwt::SdJwt;

const ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256K, Algorithm::ES256];
const AUDIENCE: &str = "https://payments.example";
const NONCE: &str = "8f1c2a9d-4b7e";
/// Claims the credential makes selectively disclosable (rights claims never are):
/// the task object, each of its members inside it, and the principal.
const DISCLOSABLE: [&str; 4] = ["task", "task.id", "task.purpose", "on_behalf_of"];
/// Claims the holder discloses in a presentation.
const DISCLOSED: [&str; 2] = ["on_behalf_of", "task.id"];

/// Runs a future that never waits on anything (ssi's verification with an
/// in-memory JWK) to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// Everything one algorithm's benchmarks need, built once.
struct Fixture {
    alg: Algorithm,
    /// "Now" for every operation: the wall clock at setup, so that ssi (which
    /// checks `exp`/`nbf`/`iat` against a date too) and agentid agree.
    now: u64,
    issuer: Issuer,
    holder: SigningKey,
    credential_request: CredentialRequest,
    disclosed: Vec<ClaimPath>,
    request: PresentationRequest,
    verifier: Verifier,
    /// An issued credential, `<JWT>~<D>…~`.
    credential: String,
    /// A presentation of it disclosing `DISCLOSED`, with a KB-JWT.
    presentation: String,
    /// The issuer JWT's `header.payload`, and its decoded signature.
    signing_input: String,
    signature: Vec<u8>,
}

impl Fixture {
    fn new(alg: Algorithm) -> Self {
        let now = agentid_wallet::unix_now();
        let issuer = Issuer::from_did_key(SigningKey::generate(alg)).unwrap();
        let holder = SigningKey::generate(alg);
        let claims = json!({
            "task": {"id": "T-42", "purpose": "refund order 1234 after a damaged delivery"},
            "scope": ["refunds:write", "orders:read"],
            "resources": ["https://payments.example/orders/1234"],
            "audience": [AUDIENCE],
            "constraints": {"currency": "EUR", "max_amount": 150, "approval_above": 100},
            "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        });
        let credential_request = CredentialRequest {
            vct: TASK_VCT.into(),
            subject: holder.did().unwrap(),
            holder_key: holder.public_key().clone(),
            claims: claims.as_object().cloned().unwrap(),
            disclosable: DISCLOSABLE.iter().map(|p| p.parse().unwrap()).collect(),
            lifetime_secs: 60 * 60,
            committed: Vec::new(),
        };
        let disclosed: Vec<ClaimPath> = DISCLOSED.iter().map(|p| p.parse().unwrap()).collect();
        let request = PresentationRequest::new(AUDIENCE, NONCE);
        let mut trust = TrustStore::new();
        trust.add_did(issuer.id()).unwrap();
        let verifier = Verifier::new(trust, Policy::default());

        let credential = issuer.issue(&credential_request, now).unwrap().sd_jwt;
        let presentation = present(&credential, &holder, &disclosed, &request, now).unwrap();

        // Split the compact issuer JWT ourselves: `header.payload.signature~…`.
        let issuer_jwt = credential.split('~').next().unwrap();
        let (signing_input, signature_b64) = issuer_jwt.rsplit_once('.').unwrap();
        let signing_input = signing_input.to_owned();
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature_b64)
            .unwrap();

        let fixture = Fixture {
            alg,
            now,
            issuer,
            holder,
            credential_request,
            disclosed,
            request,
            verifier,
            credential,
            presentation,
            signing_input,
            signature,
        };
        fixture.check();
        fixture
    }

    /// Every measured operation succeeds on the fixture (a benchmark of a fast
    /// rejection would be worthless).
    fn check(&self) {
        let verified = self
            .verifier
            .verify_credential(&self.credential, self.now)
            .unwrap();
        assert!(verified.claims["task"].get("purpose").is_some());
        let verified = self
            .verifier
            .verify_presentation(&self.presentation, &self.request, self.now)
            .unwrap();
        assert!(verified.claims.contains_key("on_behalf_of"));
        assert!(verified.claims["task"].get("id").is_some());
        assert!(verified.claims["task"].get("purpose").is_none());
        assert!(verified.key_binding.is_some());
        self.raw_verify();
    }

    fn issuer_key(&self) -> &PublicKey {
        self.issuer.public_key()
    }

    fn raw_verify(&self) {
        self.issuer_key()
            .verify(
                self.alg,
                black_box(self.signing_input.as_bytes()),
                black_box(&self.signature),
            )
            .unwrap();
    }
}

/// ssi's side: the issuer's public JWK as resolver, the clock pinned to the
/// fixture's `now` (as agentid gets it).
struct SsiVerifier {
    params: VerificationParameters<ssi_jwk::JWK>,
}

impl SsiVerifier {
    fn new(fixture: &Fixture) -> Self {
        let jwk: ssi_jwk::JWK = serde_json::from_value(fixture.issuer_key().to_jwk()).unwrap();
        let now = DateTime::<Utc>::from_timestamp(i64::try_from(fixture.now).unwrap(), 0).unwrap();
        let verifier = SsiVerifier {
            params: VerificationParameters::from_resolver(jwk).with_date_time(now),
        };
        // ssi must accept the credential and reveal the same disclosable claim.
        let sd_jwt = SdJwt::new(&fixture.credential).unwrap();
        let (revealed, verification) =
            block_on(sd_jwt.decode_reveal_verify_any(&verifier.params)).unwrap();
        verification.unwrap();
        let claims = serde_json::to_value(revealed.claims()).unwrap();
        assert!(claims["task"].get("purpose").is_some(), "{claims}");
        verifier
    }

    /// The measured call: `SdJwt::decode_reveal_verify` with ssi's catch-all claim
    /// set (`AnyClaims`, which `decode_reveal_verify_any` names), from the compact
    /// string; panics unless the credential verifies.
    fn verify(&self, credential: &str) {
        let sd_jwt = SdJwt::new(credential).unwrap();
        let (revealed, verification) =
            block_on(sd_jwt.decode_reveal_verify_any(&self.params)).unwrap();
        verification.unwrap();
        black_box(revealed);
    }
}

fn fixtures() -> Vec<Fixture> {
    ALGORITHMS.into_iter().map(Fixture::new).collect()
}

fn bench_issue(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("issue");
    for f in fixtures {
        group.bench_function(BenchmarkId::from_parameter(f.alg), |b| {
            b.iter(|| {
                f.issuer
                    .issue(black_box(&f.credential_request), f.now)
                    .unwrap()
            });
        });
    }
    group.finish();
}

fn bench_present(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("present");
    for f in fixtures {
        group.bench_function(BenchmarkId::from_parameter(f.alg), |b| {
            b.iter(|| {
                present(
                    black_box(&f.credential),
                    &f.holder,
                    &f.disclosed,
                    &f.request,
                    f.now,
                )
                .unwrap()
            });
        });
    }
    group.finish();
}

fn bench_verify_presentation(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("verify_presentation");
    for f in fixtures {
        group.bench_function(BenchmarkId::from_parameter(f.alg), |b| {
            b.iter(|| {
                f.verifier
                    .verify_presentation(black_box(&f.presentation), &f.request, f.now)
                    .unwrap()
            });
        });
    }
    group.finish();
}

fn bench_verify_credential(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("verify_credential");
    for f in fixtures {
        group.bench_function(BenchmarkId::new("agentid", f.alg), |b| {
            b.iter(|| {
                f.verifier
                    .verify_credential(black_box(&f.credential), f.now)
                    .unwrap()
            });
        });
        if f.alg == Algorithm::EdDSA {
            let ssi = SsiVerifier::new(f);
            group.bench_function(BenchmarkId::new("ssi", f.alg), |b| {
                b.iter(|| ssi.verify(black_box(&f.credential)));
            });
        }
        group.bench_function(BenchmarkId::new("raw_signature", f.alg), |b| {
            b.iter(|| f.raw_verify());
        });
    }
    group.finish();
}

fn sd_jwt(c: &mut Criterion) {
    let fixtures = fixtures();
    bench_issue(c, &fixtures);
    bench_present(c, &fixtures);
    bench_verify_presentation(c, &fixtures);
    bench_verify_credential(c, &fixtures);
}

fn median_micros(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn time(op: impl FnOnce()) -> Duration {
    let start = Instant::now();
    op();
    start.elapsed()
}

/// agentid vs ssi vs the bare signature check on the same EdDSA credential, each
/// iteration timing all three in turn so that clock drift hits all sides alike.
fn summary() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: keep the
    // test run quick.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (warm_up, iterations) = if measuring { (200, 2000) } else { (2, 10) };
    let f = Fixture::new(Algorithm::EdDSA);
    let ssi = SsiVerifier::new(&f);
    let agentid_verify = || {
        black_box(
            f.verifier
                .verify_credential(black_box(&f.credential), f.now)
                .unwrap(),
        );
    };
    let ssi_verify = || ssi.verify(black_box(&f.credential));
    let raw_verify = || f.raw_verify();

    for _ in 0..warm_up {
        agentid_verify();
        ssi_verify();
        raw_verify();
    }
    let mut agentid = Vec::with_capacity(iterations);
    let mut ssi_times = Vec::with_capacity(iterations);
    let mut raw = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        agentid.push(time(agentid_verify));
        ssi_times.push(time(ssi_verify));
        raw.push(time(raw_verify));
    }
    let agentid = median_micros(&mut agentid);
    let ssi_median = median_micros(&mut ssi_times);
    let raw = median_micros(&mut raw);
    println!(
        "\nsummary ({iterations} interleaved iterations, medians, same {}-byte credential{}):",
        f.credential.len(),
        if measuring {
            ""
        } else {
            "; test mode, not a measurement"
        }
    );
    println!(
        "agentid verify_credential EdDSA: {agentid:.2} µs; ssi decode_reveal_verify: \
         {ssi_median:.2} µs; ratio agentid/ssi = {:.3}; raw signature: {raw:.2} µs; \
         agentid/raw = {:.3}",
        agentid / ssi_median,
        agentid / raw
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = sd_jwt
}
criterion_main!(benches, summary);
