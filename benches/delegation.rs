//! Verification cost of delegation chains with 1 to 8 delegations (each ending in a
//! terminal hop for the verifier), next to a plain presentation of the same root
//! credential in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use agentid_verifier::delegation::Rights;
use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::{
    delegate, present, present_delegated, CredentialRequest, DelegationSpec, Issuer, SigningKey,
    TASK_VCT,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn delegation_benches(c: &mut Criterion) {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-1", "purpose": "refunds"},
        "scope": ["refunds:*"],
        "constraints": {"max_amount": 100},
        "max_delegation_depth": 8,
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
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default().with_unknown_status_accepted(true));
    let request = PresentationRequest::new("https://gateway.example", "chain-nonce");
    let action =
        json!({"scope": "refunds:write", "resource": "https://shop.example/orders/1", "amount": 5});

    let mut group = c.benchmark_group("verify_chain");
    let plain = present(&root, &agent, &[], &request, NOW).unwrap();
    group.bench_function("plain_presentation", |b| {
        b.iter(|| verifier.verify_presentation(&plain, &request, NOW).unwrap())
    });

    let mut chain = root.clone();
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
        let presentation = present_delegated(&chain, &holder, &action, &request, NOW).unwrap();
        assert_eq!(
            verifier
                .verify_presentation(&presentation, &request, NOW)
                .unwrap()
                .chain
                .unwrap()
                .delegations
                .len() as u64,
            depth
        );
        group.bench_with_input(
            BenchmarkId::new("delegations", depth),
            &presentation,
            |b, presentation| {
                b.iter(|| {
                    verifier
                        .verify_presentation(presentation, &request, NOW)
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = delegation_benches
}
criterion_main!(benches);
