//! Verifying an AP2 v0.2 checkout mandate chain (root open mandate ~~ one delegation
//! ~~ closed mandate, in the shape the AP2 SDK emits, ES256 throughout) against
//! agentid's own chain of the same depth (root task credential ~~ one delegation ~~
//! terminal action, ES256 throughout), in the same run. The summary line prints
//! both medians of interleaved rounds and their ratio.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use agentid_verifier::delegation::Rights;
use agentid_verifier::{
    b64url_encode, sha256_b64, Algorithm, Policy, PresentationRequest, TrustStore, Verifier,
};
use agentid_wallet::{
    cnf, delegate, present_delegated, CredentialRequest, DelegationSpec, Issuer, SigningKey,
    TASK_VCT,
};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000;
const AUD: &str = "https://merchant.example";
const NONCE: &str = "bench-nonce";

fn sign(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature))
}

/// `JWT~<delegate_payload disclosure>~`, as the AP2 SDK signs a token.
fn token(key: &SigningKey, typ: &str, mut payload: Value, object: Value) -> String {
    let disclosure = b64url_encode(json!(["salt", object]).to_string().as_bytes());
    payload["delegate_payload"] = json!([{"...": sha256_b64(&disclosure)}]);
    payload["_sd_alg"] = json!("sha-256");
    let header = json!({"alg": "ES256", "typ": typ, "kid": "user"});
    format!("{}~{disclosure}~", sign(key, &header, &payload))
}

fn join(segments: &[String]) -> String {
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i < last {
                s[..s.len() - 1].to_owned()
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("~~")
}

fn ap2_checkout_chain(user: &SigningKey, agent: &SigningKey, sub: &SigningKey) -> String {
    let open = |holder: &SigningKey| {
        json!({"vct": "mandate.checkout.open.1", "constraints": [
            {"type": "checkout.allowed_merchants", "allowed": [{"id": "shop", "name": "Shop"}]}],
            "cnf": cnf(holder.public_key())})
    };
    let root = token(user, "example+sd-jwt", json!({}), open(agent));
    let hop =
        |signer: &SigningKey, typ: &str, previous: &str, object: Value, aud: &str, nonce: &str| {
            token(
                signer,
                typ,
                json!({"iat": NOW, "aud": aud, "nonce": nonce, "sd_hash": sha256_b64(previous)}),
                object,
            )
        };
    let delegation = hop(agent, "kb+sd-jwt+kb", &root, open(sub), "sub-agent", "n0");
    let closed = json!({"vct": "mandate.checkout.1", "checkout_jwt": "eyJhbGciOiJFUzI1NiJ9.e30.sig",
        "checkout_hash": "h4sh"});
    let terminal = hop(sub, "kb+sd-jwt", &delegation, closed, AUD, NONCE);
    join(&[root, delegation, terminal])
}

fn agentid_chain(
    issuer: &Issuer,
    agent: &SigningKey,
    sub: &SigningKey,
    verifier: &Verifier,
) -> String {
    let claims = json!({
        "task": {"id": "T-1", "purpose": "checkout"}, "scope": ["checkout:*"],
        "max_delegation_depth": 1,
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let root = issuer
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
    let verified = verifier.verify_credential(&root, NOW).unwrap();
    let rights = Rights::from_root(&verified.claims, verified.expires_at).unwrap();
    let spec = DelegationSpec {
        to: sub.public_key().clone(),
        scope: Some(vec!["checkout:complete".into()]),
        resources: None,
        constraints: serde_json::Map::new(),
        lifetime_secs: 600,
        max_depth: None,
    };
    let delegation = delegate(&root, agent, &rights, &spec, NOW).unwrap();
    let action = json!({"scope": "checkout:complete", "resource": "https://shop.example/checkout/1", "amount": 42, "currency": "EUR"});
    present_delegated(
        &delegation,
        sub,
        &action,
        &PresentationRequest::new(AUD, NONCE),
        NOW,
    )
    .unwrap()
}

fn ap2_benches(c: &mut Criterion) {
    let user = SigningKey::generate(Algorithm::ES256);
    let agent = SigningKey::generate(Algorithm::ES256);
    let sub = SigningKey::generate(Algorithm::ES256);
    let mut jwk = user.public_key().to_jwk();
    jwk["kid"] = json!("user");
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let trust_file = json!({"issuers": [{"jwk": jwk}, {"id": issuer.id()}]});
    let trust = TrustStore::from_json(trust_file.to_string().as_bytes()).unwrap();
    let verifier = Verifier::new(
        trust,
        Policy::default()
            .with_unknown_status_accepted(true)
            .with_clock_skew(300),
    );
    let request = PresentationRequest::new(AUD, NONCE);
    let ap2 = ap2_checkout_chain(&user, &agent, &sub);
    let ours = agentid_chain(&issuer, &agent, &sub, &verifier);
    assert_eq!(
        verifier
            .verify_mandate_chain(&ap2, &request, NOW)
            .unwrap()
            .payloads
            .len(),
        3
    );
    assert_eq!(
        verifier
            .verify_presentation(&ours, &request, NOW)
            .unwrap()
            .chain
            .unwrap()
            .delegations
            .len(),
        1
    );

    let mut group = c.benchmark_group("chain_of_one_delegation_es256");
    group.bench_function("ap2_checkout_mandate_chain", |b| {
        b.iter(|| verifier.verify_mandate_chain(&ap2, &request, NOW).unwrap())
    });
    group.bench_function("agentid_delegation_chain", |b| {
        b.iter(|| verifier.verify_presentation(&ours, &request, NOW).unwrap())
    });
    group.finish();

    // Interleaved rounds, so machine noise hits both sides alike.
    let rounds = 101;
    let per_round = 20;
    let (mut ap2_times, mut our_times) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            verifier.verify_mandate_chain(&ap2, &request, NOW).unwrap();
        }
        ap2_times.push(started.elapsed() / per_round);
        let started = Instant::now();
        for _ in 0..per_round {
            verifier.verify_presentation(&ours, &request, NOW).unwrap();
        }
        our_times.push(started.elapsed() / per_round);
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (ap2_median, our_median) = (median(&mut ap2_times), median(&mut our_times));
    println!(
        "summary: AP2 checkout chain {:.1} µs, agentid chain {:.1} µs (same depth, ES256): ratio {:.2}",
        ap2_median.as_secs_f64() * 1e6,
        our_median.as_secs_f64() * 1e6,
        ap2_median.as_secs_f64() / our_median.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = ap2_benches
}
criterion_main!(benches);
