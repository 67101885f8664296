//! Zero-knowledge predicates: what agentid adds on top of the Bulletproofs range
//! proofs it is built on.
//!
//! One credential with four committed claims (a date and three integers) is presented
//! with 1, 2 and 4 one-sided predicates (one 32-bit range proof each, aggregated into
//! one proof). Group `prove` measures `present_with_predicates` (the whole
//! presentation, KB-JWT signature included; `agentid/0` is the same presentation with
//! no predicate) next to the raw `RangeProof::prove_single` / `prove_multiple` at 32
//! bits on the same generators. Group `verify` measures `verify_presentation` (parse,
//! issuer and KB-JWT signatures, predicate proof; `agentid/0` without predicates) next
//! to the raw `verify_single` / `verify_multiple`.
//!
//! After criterion, an interleaved timing of every operation (medians over 200 rounds)
//! prints agentid's proof generation and predicate verification alone (with minus
//! without predicates) against the raw calls, the overhead in percent, and the proof
//! sizes. Run with `cargo bench --bench predicates`; under `cargo test --benches`
//! every benchmark runs once and the summary uses 5 rounds (not a measurement).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentid_verifier::predicate::{
    birthdate_cutoff, date_to_days, generators, Predicate, RANGE_BITS,
};
use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::{
    present_with_predicates, CredentialRequest, IssuedCredential, Issuer, SchemaRegistry,
    SigningKey,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bulletproofs::RangeProof;
use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode};
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::OsRng;
use serde_json::{json, Value};

/// 2027-01-15T08:00:00Z.
const NOW: u64 = 1_800_000_000;
const VCT: &str = "urn:agentid:vct:bench-zk:1";
const BIRTHDATE: &str = "2000-05-17";
const RAW_LABEL: &[u8] = b"agentid-bench/raw";
/// Predicate counts measured (each predicate is one range proof).
const COUNTS: [usize; 3] = [1, 2, 4];

fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// Everything both groups and the summary need.
struct Fixture {
    holder: SigningKey,
    issued: IssuedCredential,
    request: PresentationRequest,
    verifier: Verifier,
    /// Predicates for 1, 2 and 4 statements.
    predicates: Vec<Vec<Predicate>>,
    /// The range-proof values agentid proves for them (differences to the bounds).
    values: Vec<Vec<u64>>,
}

impl Fixture {
    fn new() -> Self {
        let mut registry = SchemaRegistry::builtin().unwrap();
        registry
            .add("bench", &json!({"x-vct": VCT, "type": "object"}))
            .unwrap();
        let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))
            .unwrap()
            .with_schemas(registry);
        let holder = SigningKey::generate(Algorithm::EdDSA);
        let claims = json!({"birthdate": BIRTHDATE, "level": 4, "limit": 800, "score": 61});
        let paths: Vec<_> = ["birthdate", "level", "limit", "score"]
            .iter()
            .map(|path| path.parse().unwrap())
            .collect();
        let issued = issuer
            .issue(
                &CredentialRequest {
                    vct: VCT.into(),
                    subject: holder.did().unwrap(),
                    holder_key: holder.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    // Committed claims are concealed: only the proofs speak about them.
                    disclosable: paths.clone(),
                    lifetime_secs: 3600,
                    committed: paths,
                },
                NOW,
            )
            .unwrap();
        let mut trust = TrustStore::new();
        trust.add_did(issuer.id()).unwrap();
        let verifier = Verifier::new(trust, Policy::default());

        let today = i64::try_from(NOW / 86_400).unwrap();
        let cutoff = birthdate_cutoff(18, today).unwrap();
        let birthdate = date_to_days(BIRTHDATE).unwrap();
        let all = [
            (Predicate::at_most("birthdate", cutoff), cutoff - birthdate),
            (Predicate::at_least("level", 3), 4 - 3),
            (Predicate::at_most("limit", 1000), 1000 - 800),
            (Predicate::at_least("score", 50), 61 - 50),
        ];
        let predicates = COUNTS
            .iter()
            .map(|&m| all[..m].iter().map(|(p, _)| p.clone()).collect())
            .collect();
        let values = COUNTS
            .iter()
            .map(|&m| {
                all[..m]
                    .iter()
                    .map(|(_, v)| u64::try_from(*v).unwrap())
                    .collect()
            })
            .collect();
        Fixture {
            holder,
            issued,
            request: PresentationRequest::new("https://tools.example", "bench-nonce-0S6_WzA2Mj"),
            verifier,
            predicates,
            values,
        }
    }

    /// A presentation proving `predicates` (none: a plain presentation), disclosing nothing.
    fn present(&self, predicates: &[Predicate]) -> String {
        present_with_predicates(
            &self.issued.sd_jwt,
            &self.holder,
            &[],
            predicates,
            &self.issued.openings,
            &self.request,
            NOW,
        )
        .unwrap()
    }

    /// Verifies a presentation and returns how many statements were proven.
    fn verify(&self, presentation: &str) -> usize {
        self.verifier
            .verify_presentation(presentation, &self.request, NOW)
            .unwrap()
            .predicates
            .len()
    }
}

fn blindings(m: usize) -> Vec<Scalar> {
    (0..m).map(|_| Scalar::random(&mut OsRng)).collect()
}

/// The raw Bulletproofs prover on agentid's generators: `prove_single` for one
/// value, `prove_multiple` otherwise.
fn raw_prove(values: &[u64], blindings: &[Scalar]) -> (RangeProof, Vec<CompressedRistretto>) {
    let (pedersen, bulletproof) = generators();
    let mut transcript = Transcript::new(RAW_LABEL);
    if let ([value], [blinding]) = (values, blindings) {
        let (proof, commitment) = RangeProof::prove_single(
            bulletproof,
            pedersen,
            &mut transcript,
            *value,
            blinding,
            RANGE_BITS,
        )
        .unwrap();
        (proof, vec![commitment])
    } else {
        RangeProof::prove_multiple(
            bulletproof,
            pedersen,
            &mut transcript,
            values,
            blindings,
            RANGE_BITS,
        )
        .unwrap()
    }
}

/// The raw Bulletproofs verifier: `verify_single` for one commitment, `verify_multiple` otherwise.
fn raw_verify(proof: &RangeProof, commitments: &[CompressedRistretto]) {
    let (pedersen, bulletproof) = generators();
    let mut transcript = Transcript::new(RAW_LABEL);
    if let [commitment] = commitments {
        proof
            .verify_single(
                bulletproof,
                pedersen,
                &mut transcript,
                commitment,
                RANGE_BITS,
            )
            .unwrap();
    } else {
        proof
            .verify_multiple(
                bulletproof,
                pedersen,
                &mut transcript,
                commitments,
                RANGE_BITS,
            )
            .unwrap();
    }
}

/// The size of the `predicate_proof` in a presentation's KB-JWT, in bytes.
fn predicate_proof_len(presentation: &str) -> usize {
    let kb_jwt = presentation.rsplit('~').next().unwrap();
    let payload = kb_jwt.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let proof = payload["predicate_proof"].as_str().unwrap();
    URL_SAFE_NO_PAD.decode(proof).unwrap().len()
}

fn prove_group(c: &mut Criterion) {
    let fixture = Fixture::new();
    let mut group = c.benchmark_group("prove");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(BenchmarkId::new("agentid", 0), |b| {
        b.iter(|| black_box(fixture.present(&[])));
    });
    for (i, &m) in COUNTS.iter().enumerate() {
        let predicates = &fixture.predicates[i];
        group.bench_function(BenchmarkId::new("agentid", m), |b| {
            b.iter(|| black_box(fixture.present(predicates)));
        });
    }
    for (i, &m) in COUNTS.iter().enumerate() {
        let values = &fixture.values[i];
        let blindings = blindings(m);
        group.bench_function(BenchmarkId::new("raw", m), |b| {
            b.iter(|| black_box(raw_prove(values, &blindings)));
        });
    }
    group.finish();
}

fn verify_group(c: &mut Criterion) {
    let fixture = Fixture::new();
    let mut group = c.benchmark_group("verify");
    group.sampling_mode(SamplingMode::Flat);
    let plain = fixture.present(&[]);
    assert_eq!(fixture.verify(&plain), 0);
    group.bench_function(BenchmarkId::new("agentid", 0), |b| {
        b.iter(|| black_box(fixture.verify(&plain)));
    });
    for (i, &m) in COUNTS.iter().enumerate() {
        let presentation = fixture.present(&fixture.predicates[i]);
        assert_eq!(fixture.verify(&presentation), m);
        group.bench_function(BenchmarkId::new("agentid", m), |b| {
            b.iter(|| black_box(fixture.verify(&presentation)));
        });
    }
    for (i, &m) in COUNTS.iter().enumerate() {
        let (proof, commitments) = raw_prove(&fixture.values[i], &blindings(m));
        raw_verify(&proof, &commitments);
        group.bench_function(BenchmarkId::new("raw", m), |b| {
            b.iter(|| raw_verify(black_box(&proof), black_box(&commitments)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    targets = prove_group, verify_group
}

fn time(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1e3
}

fn median(samples: &[f64]) -> f64 {
    quantile(samples, 0.5)
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Nearest rank; the sample counts are small and this is for a summary line.
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank]
}

/// Per-round timings (ms) of one predicate count.
#[derive(Default)]
struct Rounds {
    present: Vec<f64>,
    raw_prove: Vec<f64>,
    verify: Vec<f64>,
    raw_verify: Vec<f64>,
}

/// Interleaved timing: every round runs every operation once (agentid and raw in
/// alternating order), so load changes on a shared machine hit all of them alike.
/// Prints medians, overheads and proof sizes.
fn summary() {
    let measuring = measuring();
    let (warm_up, rounds) = if measuring { (10, 200) } else { (0, 5) };
    let fixture = Fixture::new();
    let plain = fixture.present(&[]);
    let presentations: Vec<String> = fixture
        .predicates
        .iter()
        .map(|p| fixture.present(p))
        .collect();
    let raw_inputs: Vec<(Vec<Scalar>, RangeProof, Vec<CompressedRistretto>)> = COUNTS
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let blindings = blindings(m);
            let (proof, commitments) = raw_prove(&fixture.values[i], &blindings);
            (blindings, proof, commitments)
        })
        .collect();

    let mut plain_present = Vec::with_capacity(rounds);
    let mut plain_verify = Vec::with_capacity(rounds);
    let mut per_count: Vec<Rounds> = COUNTS.iter().map(|_| Rounds::default()).collect();
    for round in 0..warm_up + rounds {
        let keep = round >= warm_up;
        let t = time(|| {
            black_box(fixture.present(&[]));
        });
        if keep {
            plain_present.push(t);
        }
        let t = time(|| {
            black_box(fixture.verify(&plain));
        });
        if keep {
            plain_verify.push(t);
        }
        for (i, rounds) in per_count.iter_mut().enumerate() {
            let (blindings, proof, commitments) = &raw_inputs[i];
            let present = || {
                time(|| {
                    black_box(fixture.present(&fixture.predicates[i]));
                })
            };
            let raw = || {
                time(|| {
                    black_box(raw_prove(&fixture.values[i], blindings));
                })
            };
            let verify = || {
                time(|| {
                    black_box(fixture.verify(&presentations[i]));
                })
            };
            let raw_check = || time(|| raw_verify(black_box(proof), black_box(commitments)));
            // Alternate which of each pair runs first, so neither gains from the order.
            let timings = if round % 2 == 0 {
                let (a, b) = (present(), raw());
                let (c, d) = (verify(), raw_check());
                [a, b, c, d]
            } else {
                let (b, a) = (raw(), present());
                let (d, c) = (raw_check(), verify());
                [a, b, c, d]
            };
            if keep {
                rounds.present.push(timings[0]);
                rounds.raw_prove.push(timings[1]);
                rounds.verify.push(timings[2]);
                rounds.raw_verify.push(timings[3]);
            }
        }
    }

    println!();
    if measuring {
        println!(
            "predicates summary: interleaved timing, medians of {rounds} rounds after {warm_up} warm-up rounds (ms)"
        );
    } else {
        println!("predicates summary: test mode, not a measurement ({rounds} rounds)");
    }
    println!(
        "  present without predicates {:.3} ms; verify_presentation without predicates {:.3} ms",
        median(&plain_present),
        median(&plain_verify)
    );
    for (i, &m) in COUNTS.iter().enumerate() {
        let r = &per_count[i];
        let (present, raw_prove) = (median(&r.present), median(&r.raw_prove));
        let (verify, raw_verify) = (median(&r.verify), median(&r.raw_verify));
        let proof_only = present - median(&plain_present);
        let check_only = verify - median(&plain_verify);
        // The same overheads round by round (paired), for their spread.
        let paired = |total: &[f64], base: &[f64], raw: &[f64]| -> (f64, f64) {
            let overheads: Vec<f64> = (0..total.len())
                .map(|k| (total[k] - base[k] - raw[k]) / raw[k] * 100.0)
                .collect();
            (quantile(&overheads, 0.25), quantile(&overheads, 0.75))
        };
        let (prove_lo, prove_hi) = paired(&r.present, &plain_present, &r.raw_prove);
        let (verify_lo, verify_hi) = paired(&r.verify, &plain_verify, &r.raw_verify);
        println!(
            "  m={m} prove:  agentid present {present:.3} - plain {:.3} = proof {proof_only:.3} ms vs raw {raw_prove:.3} ms -> overhead {:+.1}% (paired per-round IQR {prove_lo:+.1}%..{prove_hi:+.1}%)",
            median(&plain_present),
            (proof_only - raw_prove) / raw_prove * 100.0,
        );
        println!(
            "  m={m} verify: agentid verify {verify:.3} - plain {:.3} = predicates {check_only:.3} ms vs raw {raw_verify:.3} ms -> overhead {:+.1}% (paired per-round IQR {verify_lo:+.1}%..{verify_hi:+.1}%)",
            median(&plain_verify),
            (check_only - raw_verify) / raw_verify * 100.0,
        );
    }
    for (i, &m) in COUNTS.iter().enumerate() {
        println!(
            "  m={m} proof size: agentid predicate_proof {} bytes, raw proof.to_bytes() {} bytes",
            predicate_proof_len(&presentations[i]),
            raw_inputs[i].1.to_bytes().len()
        );
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
