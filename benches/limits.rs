//! The cost of inputs at each bound on untrusted input, next to a normal
//! presentation in the same run: what the largest input an attacker may send costs
//! the verifier, as a multiple of an ordinary one.
//!
//! "normal" is a task credential as the wallet issues it (five disclosures, about
//! 1.3 KB). Each other case sits at (or walks up to) one bound:
//! - size: presentations padded to 16, 32 and 64 KiB (64 KiB is the bound); the
//!   64 KiB one also with a forged issuer signature (rejected: the attacker's cost);
//! - disclosures: 64, 128 and 256 disclosed claims (256 is the bound);
//! - depth: 32 levels of recursive disclosures (the bound), revealed one per level;
//! - delegations: a chain of 8 (the bound) ending in an action;
//! - predicates: 8 aggregated 32-bit range proofs (the bound);
//! - status: checking a status list token of 2^20 entries vs one of 16 MiB (the bound);
//! - batch: cost per item of a batch of 256 vs one of 65,536 (the bound).
//!
//! After criterion, an interleaved timing (medians of rounds that run every case once)
//! prints each case as a multiple of "normal" and, for the size and count series, the
//! cost per KiB or per disclosure, which stays flat when cost grows linearly. Run with
//! `cargo bench --bench limits`; under `cargo test --benches` each case runs once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write as _;
use std::time::{Duration, Instant};

use agentid_verifier::delegation::Rights;
use agentid_verifier::predicate::Predicate;
use agentid_verifier::{
    b64url_encode, sha256_b64, Algorithm, BatchItem, Limits, Policy, PresentationRequest,
    StatusLists, TrustStore, Verifier, MAX_BATCH, MAX_STATUS_LIST_BYTES,
};
use agentid_wallet::{
    cnf, delegate, did_key_url, present, present_delegated, present_with_predicates,
    CredentialRequest, DelegationSpec, Issuer, SchemaRegistry, SigningKey, TASK_VCT,
};
use criterion::{criterion_group, Criterion};
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::{json, Value};

/// 2027-01-15T08:00:00Z.
const NOW: u64 = 1_800_000_000;
const DAY: u64 = 24 * 3600;
const STATUS_URI: &str = "https://issuer.example/status/1";

fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn sign_token(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    format!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())))
}

fn disclosure(parts: &Value) -> String {
    b64url_encode(parts.to_string().as_bytes())
}

/// Hand-built presentations from one issuer and holder, for inputs the wallet's
/// schemas would not make (padding, hundreds of claims, deep nesting).
struct Forge {
    issuer: SigningKey,
    issuer_did: String,
    holder: SigningKey,
    request: PresentationRequest,
}

impl Forge {
    fn new() -> Self {
        let issuer = SigningKey::generate(Algorithm::EdDSA);
        Forge {
            issuer_did: issuer.did().unwrap(),
            issuer,
            holder: SigningKey::generate(Algorithm::EdDSA),
            request: PresentationRequest::new("https://verifier.example", "bench-nonce"),
        }
    }

    fn payload(&self) -> Value {
        json!({
            "iss": self.issuer_did, "iat": NOW - 10, "exp": NOW + 600,
            "vct": TASK_VCT, "cnf": cnf(self.holder.public_key()), "_sd_alg": "sha-256"
        })
    }

    fn present(&self, payload: &Value, disclosures: &[String]) -> String {
        let header = json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": did_key_url(self.issuer.public_key()).unwrap()});
        let mut without_kb = sign_token(&self.issuer, &header, payload);
        without_kb.push('~');
        for disclosure in disclosures {
            without_kb.push_str(disclosure);
            without_kb.push('~');
        }
        let kb = json!({"iat": NOW, "aud": self.request.audience, "nonce": self.request.nonce, "sd_hash": sha256_b64(&without_kb)});
        let kb = sign_token(&self.holder, &json!({"alg": "EdDSA", "typ": "kb+jwt"}), &kb);
        format!("{without_kb}{kb}")
    }

    /// A presentation of about `bytes` bytes (at most `bytes`), padded with one claim.
    fn padded(&self, bytes: usize) -> String {
        let with = |pad: usize| {
            let mut payload = self.payload();
            payload["pad"] = json!("x".repeat(pad));
            self.present(&payload, &[])
        };
        let mut pad = (bytes - with(0).len()) * 3 / 4;
        while with(pad).len() > bytes {
            pad -= 1;
        }
        with(pad)
    }

    fn with_disclosures(&self, count: usize) -> String {
        let disclosures: Vec<String> = (0..count)
            .map(|i| {
                disclosure(&json!([
                    format!("salt-{i:04}-abcdefghij"),
                    format!("claim_{i}"),
                    i
                ]))
            })
            .collect();
        let mut payload = self.payload();
        payload["_sd"] = json!(disclosures
            .iter()
            .map(|d| sha256_b64(d))
            .collect::<Vec<_>>());
        self.present(&payload, &disclosures)
    }

    /// `levels` disclosures, each revealing an object that holds the next.
    fn nested(&self, levels: usize) -> String {
        let mut value = json!("leaf");
        let mut disclosures = Vec::new();
        for level in 0..levels {
            let d = disclosure(&json!([format!("salt-{level:04}-abcdefghij"), "x", value]));
            value = json!({"_sd": [sha256_b64(&d)]});
            disclosures.push(d);
        }
        let mut payload = self.payload();
        payload["_sd"] = value["_sd"].clone();
        self.present(&payload, &disclosures)
    }

    fn verifier(&self) -> Verifier {
        let mut trust = TrustStore::new();
        trust.add_did(&self.issuer_did).unwrap();
        Verifier::new(trust, Policy::default())
    }
}

/// A presentation with its verifier: one case of the bench.
struct Case {
    name: String,
    presentation: String,
    request: PresentationRequest,
    verifier: Verifier,
    /// Whether the case must verify (true) or be rejected (false).
    valid: bool,
}

impl Case {
    fn run(&self) {
        let verdict = self
            .verifier
            .verify_presentation(&self.presentation, &self.request, NOW);
        assert_eq!(verdict.is_ok(), self.valid, "{}: {verdict:?}", self.name);
    }
}

/// The wallet's own task presentation: the "normal" input.
fn normal() -> Case {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "refund order 1234"},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let disclosable = ["task.purpose", "on_behalf_of"];
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: disclosable.iter().map(|p| p.parse().unwrap()).collect(),
                lifetime_secs: 900,
                committed: vec![],
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    let request = PresentationRequest::new("https://verifier.example", "bench-nonce");
    let paths: Vec<_> = disclosable.iter().map(|p| p.parse().unwrap()).collect();
    let presentation = present(&credential, &agent, &paths, &request, NOW).unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    Case {
        name: "normal".into(),
        presentation,
        request,
        verifier: Verifier::new(trust, Policy::default()),
        valid: true,
    }
}

/// A chain of eight delegations (the bound) ending in an action.
fn eight_delegations() -> Case {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "refunds"},
        "scope": ["refunds:*"],
        "constraints": {"max_amount": 100},
        "max_delegation_depth": 8,
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let mut chain = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec![],
                lifetime_secs: 3600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let request = PresentationRequest::new("https://verifier.example", "bench-nonce");
    let mut holder = agent;
    let mut rights = Rights::from_root(claims.as_object().unwrap(), Some(NOW + 3600)).unwrap();
    for depth in 1..=8u64 {
        let next = SigningKey::generate(Algorithm::EdDSA);
        let spec = DelegationSpec {
            to: next.public_key().clone(),
            scope: Some(vec!["refunds:write".into()]),
            resources: None,
            constraints: json!({"max_amount": 100 - depth})
                .as_object()
                .cloned()
                .unwrap(),
            lifetime_secs: 3600 - depth * 60,
            max_depth: None,
        };
        chain = delegate(&chain, &holder, &rights, &spec, NOW).unwrap();
        rights = verifier
            .verify_credential(&chain, NOW)
            .unwrap()
            .chain
            .unwrap()
            .effective_rights;
        holder = next;
    }
    let action =
        json!({"scope": "refunds:write", "resource": "https://shop.example/o/1", "amount": 5});
    let presentation = present_delegated(&chain, &holder, &action, &request, NOW).unwrap();
    Case {
        name: "8 delegations".into(),
        presentation,
        request,
        verifier,
        valid: true,
    }
}

/// Four two-sided predicates: eight aggregated range proofs (the bound).
fn eight_ranges() -> Case {
    const VCT: &str = "urn:agentid:vct:bench-limits:1";
    let mut registry = SchemaRegistry::builtin().unwrap();
    registry
        .add("bench-limits", &json!({"x-vct": VCT, "type": "object"}))
        .unwrap();
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))
        .unwrap()
        .with_schemas(registry);
    let holder = SigningKey::generate(Algorithm::EdDSA);
    let names = ["a", "b", "c", "d"];
    let claims = json!({"a": 10, "b": 20, "c": 30, "d": 40});
    let issued = issuer
        .issue(
            &CredentialRequest {
                vct: VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec![],
                lifetime_secs: 3600,
                committed: names.iter().map(|p| p.parse().unwrap()).collect(),
            },
            NOW,
        )
        .unwrap();
    let request = PresentationRequest::new("https://verifier.example", "bench-nonce");
    let predicates: Vec<Predicate> = names
        .iter()
        .map(|claim| Predicate::between(*claim, 0, 100))
        .collect();
    let presentation = present_with_predicates(
        &issued.sd_jwt,
        &holder,
        &[],
        &predicates,
        &issued.openings,
        &request,
        NOW,
    )
    .unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    Case {
        name: "8 range proofs".into(),
        presentation,
        request,
        verifier: Verifier::new(trust, Policy::default()),
        valid: true,
    }
}

fn forged_cases(forge: &Forge) -> Vec<Case> {
    let case = |name: &str, presentation: String, valid: bool| Case {
        name: name.into(),
        presentation,
        request: forge.request.clone(),
        verifier: forge.verifier(),
        valid,
    };
    let bound = Limits::default().max_presentation_bytes;
    let at_bound = forge.padded(bound);
    // The issuer signature's first character changed: everything is parsed and
    // hashed, and the signature check fails.
    let forged = {
        let dot = at_bound.find('.').unwrap();
        let signature = at_bound[dot + 1..].find('.').unwrap() + dot + 2;
        let mut bytes = at_bound.clone().into_bytes();
        bytes[signature] = if bytes[signature] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    vec![
        case("16 KiB", forge.padded(16 * 1024), true),
        case("32 KiB", forge.padded(32 * 1024), true),
        case("64 KiB", at_bound, true),
        case("64 KiB, forged signature", forged, false),
        case("64 disclosures", forge.with_disclosures(64), true),
        case("128 disclosures", forge.with_disclosures(128), true),
        case("256 disclosures", forge.with_disclosures(256), true),
        case("depth 32", forge.nested(32), true),
    ]
}

fn all_cases() -> Vec<Case> {
    let forge = Forge::new();
    let mut cases = vec![normal()];
    cases.extend(forged_cases(&forge));
    cases.push(eight_delegations());
    cases.push(eight_ranges());
    for case in &cases {
        case.run();
    }
    cases
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Status list tokens of 2^20 one-bit entries and of 16 MiB, with their trust store.
fn status_tokens() -> (TrustStore, String, String) {
    let key = SigningKey::generate(Algorithm::EdDSA);
    let did = key.did().unwrap();
    let token = |bytes: &[u8]| {
        let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": did_key_url(key.public_key()).unwrap()});
        let payload = json!({
            "iss": did, "sub": STATUS_URI, "iat": NOW - 60, "exp": NOW + 3600,
            "status_list": {"bits": 1, "lst": b64url_encode(&zlib(bytes))}
        });
        sign_token(&key, &header, &payload)
    };
    // Some entries revoked, so the lists are not all zeros.
    let list = |len: usize| {
        let mut bytes = vec![0u8; len];
        for index in (0..len).step_by(997) {
            bytes[index] = 1 << (index % 8);
        }
        bytes
    };
    let normal = token(&list((1 << 20) / 8));
    let at_bound = token(&list(MAX_STATUS_LIST_BYTES));
    let mut trust = TrustStore::new();
    trust.add_did(&did).unwrap();
    (trust, normal, at_bound)
}

fn add_token(trust: &TrustStore, token: &str) {
    let mut lists = StatusLists::new();
    lists.add_token(token, trust, NOW, DAY).unwrap();
}

fn limits_benches(c: &mut Criterion) {
    let cases = all_cases();
    let mut group = c.benchmark_group("verify_at_bounds");
    for case in &cases {
        group.bench_function(&case.name, |b| b.iter(|| case.run()));
    }
    group.finish();

    let (trust, normal, at_bound) = status_tokens();
    let mut group = c.benchmark_group("status_token");
    group.bench_function("2^20 entries", |b| b.iter(|| add_token(&trust, &normal)));
    group.bench_function("16 MiB", |b| b.iter(|| add_token(&trust, &at_bound)));
    group.finish();
}

/// Median seconds per call of each closure, interleaved round by round.
fn interleaved(runs: &mut [Box<dyn FnMut() + '_>], rounds: usize) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(rounds); runs.len()];
    for _ in 0..rounds {
        for (index, run) in runs.iter_mut().enumerate() {
            let started = Instant::now();
            run();
            samples[index].push(started.elapsed().as_secs_f64());
        }
    }
    samples
        .into_iter()
        .map(|mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        })
        .collect()
}

fn summary() {
    let measuring = measuring();
    let rounds = if measuring { 101 } else { 1 };
    println!(
        "\nsummary: medians of {rounds} interleaved rounds{}",
        if measuring {
            ""
        } else {
            " (test mode, not a measurement)"
        }
    );
    let cases = all_cases();
    let mut runs: Vec<Box<dyn FnMut() + '_>> = cases
        .iter()
        .map(|case| Box::new(move || case.run()) as Box<dyn FnMut()>)
        .collect();
    let times = interleaved(&mut runs, rounds);
    let normal = times[0];
    for (case, time) in cases.iter().zip(&times) {
        let per = if case.name.contains("KiB") {
            format!(
                ", {:.2} µs per KiB",
                time * 1e6 / (case.presentation.len() as f64 / 1024.0)
            )
        } else if let Some(count) = case.name.strip_suffix(" disclosures") {
            format!(
                ", {:.2} µs per disclosure",
                time * 1e6 / count.parse::<f64>().unwrap()
            )
        } else {
            String::new()
        };
        println!(
            "  {:<26} {:>6} bytes {:>9.1} µs  {:>5.1}× normal{per}",
            case.name,
            case.presentation.len(),
            time * 1e6,
            time / normal,
        );
    }
    println!(
        "  normal per KiB: {:.2} µs",
        normal * 1e6 / (cases[0].presentation.len() as f64 / 1024.0)
    );
    // Linear growth shows as a constant marginal cost between the points of a series.
    let time_of = |name: &str| {
        cases
            .iter()
            .zip(&times)
            .find(|(case, _)| case.name == name)
            .map(|(case, time)| (case.presentation.len() as f64, *time))
    };
    if let (Some(a), Some(b), Some(c)) = (time_of("16 KiB"), time_of("32 KiB"), time_of("64 KiB")) {
        println!(
            "  marginal cost per KiB: 16→32 KiB {:.2} µs, 32→64 KiB {:.2} µs",
            (b.1 - a.1) * 1e6 / ((b.0 - a.0) / 1024.0),
            (c.1 - b.1) * 1e6 / ((c.0 - b.0) / 1024.0),
        );
    }
    if let (Some(a), Some(b), Some(c)) = (
        time_of("64 disclosures"),
        time_of("128 disclosures"),
        time_of("256 disclosures"),
    ) {
        println!(
            "  marginal cost per disclosure: 64→128 {:.2} µs, 128→256 {:.2} µs",
            (b.1 - a.1) * 1e6 / 64.0,
            (c.1 - b.1) * 1e6 / 128.0,
        );
    }

    let (trust, normal_token, bound_token) = status_tokens();
    let times = interleaved(
        &mut [
            Box::new(|| add_token(&trust, &normal_token)),
            Box::new(|| add_token(&trust, &bound_token)),
        ],
        if measuring { 21 } else { 1 },
    );
    println!(
        "  status token: 2^20 entries (128 KiB list) {:.1} µs, 16 MiB list {:.1} µs ({:.1}×; {:.2} vs {:.2} µs per KiB of list)",
        times[0] * 1e6,
        times[1] * 1e6,
        times[1] / times[0],
        times[0] * 1e6 / 128.0,
        times[1] * 1e6 / (16.0 * 1024.0),
    );

    // Batches: the same presentation repeated (one issuer), per item.
    let normal_case = &cases[0];
    let (small, large) = if measuring {
        (256, MAX_BATCH)
    } else {
        (16, 64)
    };
    let batch = |count: usize| {
        let items = vec![
            BatchItem {
                presentation: &normal_case.presentation,
                request: &normal_case.request,
            };
            count
        ];
        let started = Instant::now();
        let verdicts = normal_case.verifier.verify_batch(&items, NOW);
        let elapsed = started.elapsed().as_secs_f64();
        assert!(verdicts.iter().all(Result::is_ok));
        elapsed / count as f64
    };
    let batch_rounds = if measuring { 3 } else { 1 };
    let mut small_times = Vec::new();
    let mut large_times = Vec::new();
    // Many small batches per large one, so the small side's median does not hang
    // on the few rounds that follow a large batch's teardown.
    for _ in 0..batch_rounds {
        for _ in 0..11 {
            small_times.push(batch(small));
        }
        large_times.push(batch(large));
    }
    small_times.sort_by(f64::total_cmp);
    large_times.sort_by(f64::total_cmp);
    let (small_time, large_time) = (
        small_times[small_times.len() / 2],
        large_times[large_times.len() / 2],
    );
    println!(
        "  batch of {small}: {:.1} µs per item; batch of {large}: {:.1} µs per item ({:.2}×)",
        small_time * 1e6,
        large_time * 1e6,
        large_time / small_time
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = limits_benches
}

fn main() {
    benches();
    summary();
    Criterion::default().configure_from_args().final_summary();
}
