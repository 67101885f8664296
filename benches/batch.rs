//! Single path versus batch path, cost per presentation, at batch sizes 1, 16, 64,
//! 256 and 1024, with distinct issuers and with one issuer (EdDSA issuers and
//! holders: two Ed25519 signatures per presentation). Also the raw cost of the
//! signature verifications the single path performs, to show its parsing and
//! hashing overhead.
//!
//! The batch path is measured on one thread (`verify_batch_on(…, 1)`: the cost)
//! and on every core (`verify_batch`: the wall-clock rate a gateway sees). After the
//! criterion groups, a summary prints the ratios from one interleaved run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use agentid_verifier::{
    Algorithm, BatchItem, Policy, PresentationRequest, PublicKey, TrustStore, Verifier,
};
use agentid_wallet::{present, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::json;

const NOW: u64 = 1_800_000_000;
const SIZES: [usize; 5] = [1, 16, 64, 256, 1024];

fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

struct Workload {
    verifier: Verifier,
    request: PresentationRequest,
    presentations: Vec<String>,
    /// (key, signing input, signature) of every signature the single path checks.
    signatures: Vec<(PublicKey, Vec<u8>, Vec<u8>)>,
}

fn claims() -> serde_json::Map<String, serde_json::Value> {
    json!({
        "task": {"id": "T-1", "purpose": "refund order 1234"},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn workload(count: usize, issuers: usize) -> Workload {
    let issuers: Vec<Issuer> = (0..issuers)
        .map(|_| Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap())
        .collect();
    let mut trust = TrustStore::new();
    for issuer in &issuers {
        trust.add_did(issuer.id()).unwrap();
    }
    let request = PresentationRequest::new("https://gateway.example", "batch-nonce");
    let mut presentations = Vec::with_capacity(count);
    let mut signatures = Vec::with_capacity(2 * count);
    for n in 0..count {
        let issuer = &issuers[n % issuers.len()];
        let holder = SigningKey::generate(Algorithm::EdDSA);
        let credential = issuer
            .issue(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: holder.did().unwrap(),
                    holder_key: holder.public_key().clone(),
                    claims: claims(),
                    disclosable: vec![
                        "task.purpose".parse().unwrap(),
                        "on_behalf_of".parse().unwrap(),
                    ],
                    lifetime_secs: 3600,
                    committed: Vec::new(),
                },
                NOW,
            )
            .unwrap();
        let presentation = present(
            &credential.sd_jwt,
            &holder,
            &["on_behalf_of".parse().unwrap()],
            &request,
            NOW,
        )
        .unwrap();
        let issuer_jwt = presentation.split('~').next().unwrap();
        let kb_jwt = presentation.rsplit('~').next().unwrap();
        for (key, jwt) in [
            (issuer.public_key().clone(), issuer_jwt),
            (holder.public_key().clone(), kb_jwt),
        ] {
            let (input, signature) = jwt.rsplit_once('.').unwrap();
            signatures.push((
                key,
                input.as_bytes().to_vec(),
                URL_SAFE_NO_PAD.decode(signature).unwrap(),
            ));
        }
        presentations.push(presentation);
    }
    Workload {
        verifier: Verifier::new(trust, Policy::default()),
        request,
        presentations,
        signatures,
    }
}

impl Workload {
    fn items(&self, count: usize) -> Vec<BatchItem<'_>> {
        self.presentations[..count]
            .iter()
            .map(|presentation| BatchItem {
                presentation,
                request: &self.request,
            })
            .collect()
    }

    fn single(&self, count: usize) {
        for presentation in &self.presentations[..count] {
            self.verifier
                .verify_presentation(presentation, &self.request, NOW)
                .unwrap();
        }
    }

    fn batch(&self, count: usize, threads: usize) {
        let results = self
            .verifier
            .verify_batch_on(&self.items(count), NOW, threads);
        assert!(results.iter().all(Result::is_ok));
    }

    fn raw(&self, count: usize) {
        for (key, input, signature) in &self.signatures[..2 * count] {
            key.verify(Algorithm::EdDSA, input, signature).unwrap();
        }
    }
}

fn sizes() -> &'static [usize] {
    if measuring() {
        &SIZES
    } else {
        &SIZES[..2]
    }
}

fn batch_benches(c: &mut Criterion) {
    let largest = *sizes().last().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for (label, issuers) in [("distinct_issuers", largest), ("one_issuer", 1)] {
        let workload = workload(largest, issuers);
        let mut group = c.benchmark_group(format!("verify/{label}"));
        for &size in sizes() {
            group.throughput(Throughput::Elements(size as u64));
            group.bench_with_input(BenchmarkId::new("single", size), &size, |b, &size| {
                b.iter(|| workload.single(size))
            });
            group.bench_with_input(
                BenchmarkId::new("batch_1_thread", size),
                &size,
                |b, &size| b.iter(|| workload.batch(size, 1)),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("batch_{cores}_threads"), size),
                &size,
                |b, &size| b.iter(|| workload.batch(size, cores)),
            );
            group.bench_with_input(
                BenchmarkId::new("raw_signatures", size),
                &size,
                |b, &size| b.iter(|| workload.raw(size)),
            );
        }
        group.finish();
    }
}

/// Median seconds per call of `f`, interleaved with the others in `runs`.
fn interleaved(runs: &mut [(&str, &mut dyn FnMut())], rounds: usize) -> Vec<f64> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for _ in 0..rounds {
        for (index, (_, run)) in runs.iter_mut().enumerate() {
            let started = Instant::now();
            run();
            samples[index].push(started.elapsed().as_secs_f64());
        }
    }
    samples
        .into_iter()
        .map(|mut values| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        })
        .collect()
}

fn summary() {
    let (size, rounds) = if measuring() { (256, 41) } else { (16, 3) };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("\nsummary: cost per presentation at batch size {size}, medians of {rounds} interleaved rounds{}", if measuring() { "" } else { " (test mode, not a measurement)" });
    for (label, issuers) in [("distinct issuers", size), ("one issuer", 1)] {
        let workload = workload(size, issuers);
        let mut single = || workload.single(size);
        let mut batch_one = || workload.batch(size, 1);
        let mut batch_all = || workload.batch(size, cores);
        let mut raw = || workload.raw(size);
        let times = interleaved(
            &mut [
                ("single", &mut single),
                ("batch 1", &mut batch_one),
                ("batch all", &mut batch_all),
                ("raw", &mut raw),
            ],
            rounds,
        );
        let per = |seconds: f64| seconds / size as f64 * 1e6;
        println!(
            "{label}: single {:.1} µs, batch on 1 thread {:.1} µs ({:.2}× single), batch on {cores} threads {:.1} µs wall ({:.2}× single); raw signature checks {:.1} µs (single/raw = {:.2})",
            per(times[0]),
            per(times[1]),
            times[1] / times[0],
            per(times[2]),
            times[2] / times[0],
            per(times[3]),
            times[0] / times[3],
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = batch_benches
}
criterion_main!(benches, summary);
