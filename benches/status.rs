//! Token Status List costs at a million entries: checking and decompressing a status
//! list token once (signature, ZLIB), and what a status lookup adds to verifying a
//! presentation (same presentation, with and without a status reference check).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use agentid_verifier::{Algorithm, Policy, PresentationRequest, StatusLists, TrustStore, Verifier};
use agentid_wallet::{CredentialRequest, KdfParams, Passphrase, SigningKey, Wallet, TASK_VCT};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn status_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = Wallet::create(
        &dir.path().join("issuer"),
        &Passphrase::new("bench passphrase"),
        &KdfParams::MINIMUM,
        Algorithm::EdDSA,
        NOW,
    )
    .unwrap();
    let holder = SigningKey::generate(Algorithm::EdDSA);
    let request = PresentationRequest::new("https://gateway.example", "status-nonce");
    let claims = json!({
        "task": {"id": "T-1", "purpose": "refund"},
        "scope": ["refunds:write"],
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let mut issued = Vec::new();
    // 1,000 credentials, every other one revoked: a list with real content.
    for n in 0..1000 {
        let credential = issuer
            .issue(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: holder.did().unwrap(),
                    holder_key: holder.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    disclosable: vec![],
                    lifetime_secs: 3600,
                    committed: vec![],
                },
                NOW,
            )
            .unwrap();
        if n % 2 == 1 {
            issuer.revoke(&credential.credential_id, NOW).unwrap();
        }
        issued.push(credential);
    }
    let token = issuer.publish_status(NOW, 3600).unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.did()).unwrap();
    println!(
        "status list token for 2^20 entries, 500 revoked: {} bytes",
        token.len()
    );

    let mut group = c.benchmark_group("status");
    group.bench_function("check_and_decode_1m_entries", |b| {
        b.iter(|| {
            let mut lists = StatusLists::new();
            lists.add_token(&token, &trust, NOW, 3600).unwrap();
            lists
        })
    });
    let mut lists = StatusLists::new();
    lists.add_token(&token, &trust, NOW, 3600).unwrap();
    let presentation =
        agentid_wallet::present(&issued[0].sd_jwt, &holder, &[], &request, NOW).unwrap();
    let with_status = Verifier::new(trust.clone(), Policy::default()).with_status_lists(lists);
    let unchecked = Verifier::new(trust, Policy::default().with_unknown_status_accepted(true));
    group.bench_function("verify_presentation_with_status_lookup", |b| {
        b.iter(|| {
            with_status
                .verify_presentation(&presentation, &request, NOW)
                .unwrap()
        })
    });
    group.bench_function("verify_presentation_without_status_list", |b| {
        b.iter(|| {
            unchecked
                .verify_presentation(&presentation, &request, NOW)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = status_benches
}
criterion_main!(benches);
