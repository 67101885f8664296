//! One rule for the single and the batch path: for every input both give the same
//! verdict. Checked on the ed25519-speccheck edge cases (signature level) and on a
//! randomized mix of valid and invalid presentations of every algorithm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use agentid_verifier::{
    sha256_b64, verify_ed25519_batch, Algorithm, BatchItem, PresentationRequest, PublicKey,
    Verified, VerifyError,
};
use common::*;
use serde_json::{json, Value};

fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("AGENTID_EXTERNAL_VECTORS")?;
    let dir = PathBuf::from(dir);
    Some(if dir.is_absolute() {
        dir
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir)
    })
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// ed25519-speccheck (novifinancial): 12 edge cases. agentid's rule is ZIP-215 for
/// the equation, plus key checks when a key is read (canonical, not small order).
#[test]
fn ed25519_speccheck_cases_single_and_batch_agree() {
    let Some(dir) = vectors() else {
        println!("skipped: AGENTID_EXTERNAL_VECTORS not set");
        return;
    };
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("ed25519/speccheck-cases.json")).unwrap())
            .unwrap();
    assert_eq!(cases.len(), 12);
    // What agentid decides per case: None = the key is refused when read (small
    // order or non-canonical), Some(verdict) = the signature verdict.
    let expected = [
        None,
        None,
        Some(true),
        Some(true),
        Some(true),
        Some(true),
        Some(false),
        Some(false),
        Some(false),
        Some(true),
        None,
        None,
    ];
    let mut keys = Vec::new();
    let mut decided = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let key = PublicKey::ed25519_from_bytes(&hex(case["pub_key"].as_str().unwrap()));
        match (&key, expected[index]) {
            (Err(_), None) => {}
            (Ok(_), Some(_)) => {}
            (key, want) => panic!("case {index}: key {key:?}, expected {want:?}"),
        }
        if let Ok(key) = key {
            keys.push((
                index,
                key,
                hex(case["message"].as_str().unwrap()),
                hex(case["signature"].as_str().unwrap()),
            ));
        }
    }
    let items: Vec<(&PublicKey, &[u8], &[u8])> = keys
        .iter()
        .map(|(_, key, message, signature)| (key, message.as_slice(), signature.as_slice()))
        .collect();
    let batch = verify_ed25519_batch(&items);
    for ((index, key, message, signature), batch_verdict) in keys.iter().zip(&batch) {
        let single = key.verify(Algorithm::EdDSA, message, signature).is_ok();
        assert_eq!(
            single, *batch_verdict,
            "case {index}: single and batch disagree"
        );
        assert_eq!(Some(single), expected[*index], "case {index}");
        decided.push((*index, single));
    }
    // Each case alone, and every valid case batched with every invalid one.
    for (index, key, message, signature) in &keys {
        let alone = verify_ed25519_batch(&[(key, message.as_slice(), signature.as_slice())]);
        assert_eq!(Some(alone[0]), expected[*index], "case {index} alone");
    }
    println!("speccheck verdicts (case, valid): {decided:?}");
}

/// A signer whose presentations we can break in every way that matters.
struct Mix {
    fixtures: Vec<Fixture>,
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    None,
    WrongNonce,
    FlippedIssuerSignature,
    FlippedKbSignature,
    ForeignIssuer,
    Truncated,
    DroppedDisclosure,
    Expired,
}

const DAMAGES: [Damage; 8] = [
    Damage::None,
    Damage::WrongNonce,
    Damage::FlippedIssuerSignature,
    Damage::FlippedKbSignature,
    Damage::ForeignIssuer,
    Damage::Truncated,
    Damage::DroppedDisclosure,
    Damage::Expired,
];

/// Re-signs the KB-JWT over `presentation` with the holder's key, so that only the
/// damage done before (to the issuer signature) remains.
fn rebind(fixture: &Fixture, presentation: &str) -> String {
    let without_kb = &presentation[..=presentation.rfind('~').unwrap()];
    let kb = sign_token(
        &fixture.agent,
        &json!({"alg": fixture.agent.algorithm().as_str(), "typ": "kb+jwt"}),
        &json!({"iat": NOW, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": sha256_b64(without_kb)}),
    );
    format!("{without_kb}{kb}")
}

fn flip_in_segment(presentation: &str, segment: usize, part: usize) -> String {
    let mut segments: Vec<String> = presentation.split('~').map(str::to_owned).collect();
    let target = if segment == usize::MAX {
        segments.len() - 1
    } else {
        segment
    };
    let mut parts: Vec<String> = segments[target].split('.').map(str::to_owned).collect();
    let mut bytes = parts[part].clone().into_bytes();
    let position = bytes.len() / 2;
    bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
    parts[part] = String::from_utf8(bytes).unwrap();
    segments[target] = parts.join(".");
    segments.join("~")
}

impl Mix {
    fn new() -> Self {
        let fixtures = [
            Algorithm::EdDSA,
            Algorithm::EdDSA,
            Algorithm::ES256K,
            Algorithm::ES256,
        ]
        .into_iter()
        .map(fixture)
        .collect();
        Mix { fixtures }
    }

    fn presentation(&self, which: usize, damage: Damage) -> String {
        let fixture = &self.fixtures[which % self.fixtures.len()];
        let valid = fixture.present(&["on_behalf_of", "task"]);
        match damage {
            Damage::None | Damage::WrongNonce | Damage::Expired => valid,
            Damage::FlippedIssuerSignature => rebind(fixture, &flip_in_segment(&valid, 0, 2)),
            Damage::FlippedKbSignature => flip_in_segment(&valid, usize::MAX, 2),
            Damage::ForeignIssuer => {
                let other = &self.fixtures[(which + 1) % self.fixtures.len()];
                other.present(&["on_behalf_of"])
            }
            Damage::Truncated => valid[..valid.len() - 5].to_owned(),
            Damage::DroppedDisclosure => {
                let mut parts: Vec<&str> = valid.split('~').collect();
                parts.remove(1);
                parts.join("~")
            }
        }
    }
}

fn same_verdict(
    single: &Result<Verified, VerifyError>,
    batch: &Result<Verified, VerifyError>,
) -> bool {
    match (single, batch) {
        (Ok(a), Ok(b)) => serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap(),
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

#[test]
fn randomized_mix_single_and_batch_agree_item_by_item() {
    let mix = Mix::new();
    // Each fixture trusts its own issuer only; one verifier that trusts them all.
    let mut trust = agentid_verifier::TrustStore::new();
    for fixture in &mix.fixtures {
        trust.add_did(fixture.issuer.id()).unwrap();
    }
    let verifier = agentid_verifier::Verifier::new(trust, agentid_verifier::Policy::default());
    let good = request();
    let bad = PresentationRequest::new(AUDIENCE, "another nonce");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut presentations = Vec::new();
    let mut requests = Vec::new();
    let mut times = Vec::new();
    for _ in 0..300 {
        let damage = if next() % 3 == 0 {
            DAMAGES[(next() % 8) as usize]
        } else {
            Damage::None
        };
        let which = (next() % 4) as usize;
        presentations.push(mix.presentation(which, damage));
        requests.push(if matches!(damage, Damage::WrongNonce) {
            bad.clone()
        } else {
            good.clone()
        });
        times.push(if matches!(damage, Damage::Expired) {
            NOW + 3600
        } else {
            NOW
        });
    }
    // Verify in groups sharing a time (the batch API takes one `now`).
    for now in [NOW, NOW + 3600] {
        let indices: Vec<usize> = (0..presentations.len())
            .filter(|&i| times[i] == now)
            .collect();
        let items: Vec<BatchItem<'_>> = indices
            .iter()
            .map(|&i| BatchItem {
                presentation: &presentations[i],
                request: &requests[i],
            })
            .collect();
        let batch = verifier.verify_batch(&items, now);
        assert_eq!(batch.len(), items.len());
        for (position, &i) in indices.iter().enumerate() {
            let single = verifier.verify_presentation(&presentations[i], &requests[i], now);
            assert!(
                same_verdict(&single, &batch[position]),
                "item {i}: single {single:?} vs batch {:?}",
                batch[position]
            );
        }
    }
    let valid = presentations
        .iter()
        .zip(&requests)
        .zip(&times)
        .filter(|((p, r), t)| verifier.verify_presentation(p, r, **t).is_ok())
        .count();
    assert!(
        valid > 150 && valid < 300,
        "the mix holds both: {valid} valid of 300"
    );
}

#[test]
fn one_corrupt_item_in_256_is_found_and_the_other_255_accepted() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let fixture = fixture(alg);
        let good = request();
        let mut presentations: Vec<String> = (0..256).map(|_| fixture.present(&["task"])).collect();
        // Corrupt the issuer signature of one item, keeping everything parseable.
        presentations[137] = rebind(&fixture, &flip_in_segment(&presentations[137], 0, 2));
        let items: Vec<BatchItem<'_>> = presentations
            .iter()
            .map(|p| BatchItem {
                presentation: p,
                request: &good,
            })
            .collect();
        let results = fixture.verifier.verify_batch(&items, NOW);
        for (index, result) in results.iter().enumerate() {
            if index == 137 {
                assert!(
                    matches!(result, Err(VerifyError::InvalidSignature(_))),
                    "{alg}: {result:?}"
                );
            } else {
                assert!(result.is_ok(), "{alg}: item {index}: {result:?}");
            }
        }
    }
}

#[test]
fn a_batch_of_forged_issuer_signatures_on_valid_structure_is_rejected_entirely() {
    // Every item re-signed over a changed payload with the holder's key: all fail.
    let fixture = fixture(Algorithm::EdDSA);
    let good = request();
    let presentations: Vec<String> = (0..16)
        .map(|_| {
            let valid = fixture.present(&["task"]);
            rebind(&fixture, &flip_in_segment(&valid, 0, 2))
        })
        .collect();
    let items: Vec<BatchItem<'_>> = presentations
        .iter()
        .map(|p| BatchItem {
            presentation: p,
            request: &good,
        })
        .collect();
    for result in fixture.verifier.verify_batch(&items, NOW) {
        assert_eq!(
            result.unwrap_err(),
            VerifyError::InvalidSignature(agentid_verifier::SignatureRole::Issuer)
        );
    }
    assert!(fixture.verifier.verify_batch(&[], NOW).is_empty());
}
