//! The wallet store: storing and fetching credentials in a wallet that already holds
//! 10k and 100k, lookup by type at 100k, opening (with and without the Argon2id
//! cost), and building a presentation from the store.
//!
//! Every write is flushed to disk before it returns, so store and present include an
//! fsync. Run with `cargo bench --bench wallet`; under `cargo test --benches` the
//! sizes shrink to 100 and 1000 and nothing is measured.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use agentid_verifier::{Algorithm, PresentationRequest};
use agentid_wallet::{
    CredentialRequest, Issuer, KdfParams, Passphrase, SchemaRegistry, SigningKey, Wallet, TASK_VCT,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;

const RARE_VCT: &str = "urn:agentid:vct:bench-rare:1";
const RARE_COUNT: usize = 10;
const NOW: u64 = 1_800_000_000;

fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn sizes() -> [usize; 2] {
    if measuring() {
        [10_000, 100_000]
    } else {
        [100, 1_000]
    }
}

fn passphrase() -> Passphrase {
    Passphrase::new("bench passphrase")
}

fn issuer() -> Issuer {
    let mut registry = SchemaRegistry::builtin().unwrap();
    registry
        .add(
            "bench",
            &json!({"x-vct": RARE_VCT, "type": "object", "required": ["level"]}),
        )
        .unwrap();
    Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))
        .unwrap()
        .with_schemas(registry)
}

fn credential(issuer: &Issuer, holder: &str, n: usize, rare: bool) -> String {
    let claims = if rare {
        json!({"level": n})
    } else {
        json!({
            "task": {"id": format!("T-{n}"), "purpose": format!("bench task {n}")},
            "scope": ["refunds:write"],
            "constraints": {"max_amount": 50},
            "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        })
    };
    let disclosable = if rare {
        vec!["level".parse().unwrap()]
    } else {
        vec![
            "task.purpose".parse().unwrap(),
            "on_behalf_of".parse().unwrap(),
        ]
    };
    issuer
        .issue(
            &CredentialRequest {
                vct: if rare {
                    RARE_VCT.into()
                } else {
                    TASK_VCT.into()
                },
                subject: holder.into(),
                holder_key: agentid_verifier::did_key::decode(holder).unwrap(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable,
                lifetime_secs: 1440 * 60,
                committed: Vec::new(),
            },
            NOW,
        )
        .unwrap()
        .sd_jwt
}

struct Populated {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    wallet: Wallet,
    issuer: Issuer,
    ids: Vec<String>,
}

/// A wallet holding `count` credentials, `RARE_COUNT` of them of a rare type.
fn populate(count: usize) -> Populated {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet");
    let mut wallet = Wallet::create(
        &path,
        &passphrase(),
        &KdfParams::MINIMUM,
        Algorithm::EdDSA,
        NOW,
    )
    .unwrap();
    let issuer = issuer();
    let holder = wallet.did().to_owned();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(count);
    let mut n = 0;
    while n < count {
        let chunk: Vec<String> = (n..(n + 5_000).min(count))
            .map(|i| credential(&issuer, &holder, i, i % (count / RARE_COUNT) == 0))
            .collect();
        n += chunk.len();
        ids.extend(wallet.receive_all(&chunk, None, NOW).unwrap());
    }
    assert_eq!(wallet.find_by_vct(RARE_VCT).unwrap().len(), RARE_COUNT);
    eprintln!("populated {count} credentials in {:.1?}", started.elapsed());
    Populated {
        _dir: dir,
        path,
        wallet,
        issuer,
        ids,
    }
}

fn wallet_benches(c: &mut Criterion) {
    let request = PresentationRequest::new("https://bank.example", "bench-nonce");
    for size in sizes() {
        let mut populated = populate(size);
        let holder = populated.wallet.did().to_owned();
        let mut group = c.benchmark_group("wallet");
        let mut next = size;
        group.bench_function(BenchmarkId::new("store", size), |b| {
            b.iter_batched(
                || {
                    next += 1;
                    credential(&populated.issuer, &holder, next, false)
                },
                |credential| populated.wallet.receive(&credential, None, NOW).unwrap(),
                criterion::BatchSize::SmallInput,
            )
        });
        let mut position = 0usize;
        group.bench_function(BenchmarkId::new("fetch", size), |b| {
            b.iter(|| {
                position = (position + 7919) % populated.ids.len();
                populated
                    .wallet
                    .credential_sd_jwt(&populated.ids[position])
                    .unwrap()
            })
        });
        if size == sizes()[1] {
            group.bench_function(BenchmarkId::new("lookup_by_vct", size), |b| {
                b.iter(|| {
                    assert_eq!(
                        populated.wallet.find_by_vct(RARE_VCT).unwrap().len(),
                        RARE_COUNT
                    )
                })
            });
            let disclose = ["on_behalf_of".parse().unwrap()];
            group.bench_function(BenchmarkId::new("present_from_store", size), |b| {
                b.iter(|| {
                    position = (position + 7919) % populated.ids.len();
                    populated
                        .wallet
                        .present(&populated.ids[position], &disclose, &request, NOW)
                        .unwrap()
                })
            });

            // Opening: re-seal under the default Argon2id parameters, then compare
            // a whole open with the key derivation alone, in the same run.
            let default_kdf = KdfParams::default();
            populated
                .wallet
                .change_passphrase(&passphrase(), &default_kdf, NOW)
                .unwrap();
            let Populated { path, wallet, .. } = populated;
            drop(wallet);
            group.bench_function(BenchmarkId::new("open_including_argon2id", size), |b| {
                b.iter(|| drop(Wallet::open(&path, &passphrase()).unwrap()))
            });
            let argon = argon2::Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::new(
                    default_kdf.memory_kib,
                    default_kdf.iterations,
                    default_kdf.parallelism,
                    Some(32),
                )
                .unwrap(),
            );
            group.bench_function("argon2id_alone", |b| {
                b.iter(|| {
                    let mut key = [0u8; 32];
                    argon
                        .hash_password_into(b"bench passphrase", b"0123456789abcdef", &mut key)
                        .unwrap();
                    key
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    targets = wallet_benches
}
criterion_main!(benches);
