//! Every bound on untrusted input, tested at its edge with the default limits: the
//! input at the bound is read (it verifies, or fails for a reason that shows it was
//! parsed), and one step past it is refused as `LimitExceeded` before any signature,
//! hash or proof work. The bounds are listed in docs/architecture.md ("Bounds on
//! untrusted input"); delegation chains, status lists and the service's request body
//! are tested at their edges in delegation.rs, status.rs and service.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::predicate::{Predicate, MAX_AGGREGATED, MAX_PROOF_CHARS};
use agentid_verifier::{
    did_key, sha256_b64, Algorithm, BatchItem, KeyError, Limits, Policy, TrustStore, Verified,
    Verifier, VerifyError, MAX_BATCH, MAX_TRUST_FILE_BYTES, MAX_TRUST_FILE_DEPTH,
};
use agentid_wallet::{
    present_with_predicates, CredentialRequest, IssuedCredential, Issuer, SchemaRegistry,
    SigningKey, WalletError,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::forge::Forge;
use common::*;
use serde_json::{json, Value};

fn limit_exceeded(result: &Result<Verified, VerifyError>) -> bool {
    matches!(result, Err(VerifyError::LimitExceeded(_)))
}

/// `levels` nested arrays around a number: JSON depth `levels`.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn presentation_size_at_the_default_bound() {
    let bound = Limits::default().max_presentation_bytes;
    assert_eq!(bound, 64 * 1024);
    let forge = Forge::new();
    let with_padding = |pad: usize| {
        let payload = json!({
            "iss": forge.issuer_did, "iat": NOW - 10, "exp": NOW + 600,
            "vct": "urn:agentid:vct:task:1", "cnf": agentid_wallet::cnf(forge.holder.public_key()),
            "_sd_alg": "sha-256", "pad": "x".repeat(pad)
        });
        forge.present(&forge.header(), &payload, &[])
    };
    // Base64url turns 3 bytes into 4 characters: find the largest padding that fits.
    let base = with_padding(0).len();
    let mut pad = (bound - base) * 3 / 4;
    while with_padding(pad + 1).len() <= bound {
        pad += 1;
    }
    while with_padding(pad).len() > bound {
        pad -= 1;
    }
    let at_bound = with_padding(pad);
    assert!(at_bound.len() > bound - 4 && at_bound.len() <= bound);
    let verified = forge
        .verify(&at_bound)
        .expect("a presentation at the bound verifies");
    assert_eq!(verified.claims["pad"].as_str().unwrap().len(), pad);
    let over = with_padding(pad + 3);
    assert!(over.len() > bound);
    assert!(limit_exceeded(&forge.verify(&over)));

    // The size is checked before parsing: garbage at the bound is malformed, one byte
    // more is refused by size alone.
    let garbage = "a".repeat(bound);
    assert!(matches!(
        forge.verify(&garbage),
        Err(VerifyError::Malformed(_))
    ));
    assert!(limit_exceeded(&forge.verify(&format!("{garbage}a"))));
}

#[test]
fn configured_size_and_count_limits_hold_to_the_byte() {
    let fixture = fixture(Algorithm::EdDSA);
    let presentation = fixture.present(&["on_behalf_of"]);
    let mut trust = TrustStore::new();
    trust.add_did(fixture.issuer.id()).expect("trust");
    let with_limits =
        |limits: Limits| Verifier::new(trust.clone(), Policy::default().with_limits(limits));
    let exact = Limits::default().with_max_presentation_bytes(presentation.len());
    assert!(with_limits(exact.clone())
        .verify_presentation(&presentation, &request(), NOW)
        .is_ok());
    assert!(limit_exceeded(
        &with_limits(exact.with_max_presentation_bytes(presentation.len() - 1))
            .verify_presentation(&presentation, &request(), NOW)
    ));

    let disclosed = presentation.matches('~').count() - 1;
    assert!(
        with_limits(Limits::default().with_max_disclosures(disclosed))
            .verify_presentation(&presentation, &request(), NOW)
            .is_ok()
    );
    assert!(limit_exceeded(
        &with_limits(Limits::default().with_max_disclosures(disclosed - 1)).verify_presentation(
            &presentation,
            &request(),
            NOW
        )
    ));
}

#[test]
fn disclosure_count_at_the_default_bound() {
    let bound = Limits::default().max_disclosures;
    assert_eq!(bound, 256);
    let forge = Forge::new();
    let with_disclosures = |count: usize| {
        let disclosures: Vec<String> = (0..count)
            .map(|i| disclosure(&json!([format!("salt-{i}"), format!("c{i}"), i])))
            .collect();
        let digests: Vec<String> = disclosures.iter().map(|d| sha256_b64(d)).collect();
        let mut payload = forge.payload();
        payload["_sd"] = json!(digests);
        forge.present(&forge.header(), &payload, &disclosures)
    };
    let verified = forge
        .verify(&with_disclosures(bound))
        .expect("256 disclosures verify");
    assert_eq!(verified.claims["c255"], 255);
    assert!(limit_exceeded(&forge.verify(&with_disclosures(bound + 1))));

    // Counted before any disclosure is decoded: 257 undecodable segments are refused
    // by count, 256 of them are read (and are malformed).
    let separators = |count: usize| format!("a.b.c~{}", "!~".repeat(count));
    assert!(matches!(
        forge.verify(&separators(bound)),
        Err(VerifyError::Malformed(_))
    ));
    assert!(limit_exceeded(&forge.verify(&separators(bound + 1))));
}

#[test]
fn json_depth_at_the_default_bound_in_every_signed_part() {
    let bound = Limits::default().max_json_depth;
    assert_eq!(bound, 32);
    let forge = Forge::new();

    // Issuer payload: the object itself is one level.
    let in_payload = |depth: usize| {
        let mut payload = forge.payload();
        payload["deep"] = nested(depth - 1);
        forge.verify(&forge.present(&forge.header(), &payload, &[]))
    };
    assert!(in_payload(bound).is_ok());
    assert!(limit_exceeded(&in_payload(bound + 1)));

    // A disclosure: the array `[salt, name, value]` is one level.
    let in_disclosure = |depth: usize| {
        let d = disclosure(&json!(["salt", "deep", nested(depth - 1)]));
        let mut payload = forge.payload();
        payload["_sd"] = json!([sha256_b64(&d)]);
        forge.verify(&forge.present(&forge.header(), &payload, &[d]))
    };
    assert!(in_disclosure(bound).is_ok());
    assert!(limit_exceeded(&in_disclosure(bound + 1)));

    // The issuer's protected header.
    let in_header = |depth: usize| {
        let mut header = forge.header();
        header["x-deep"] = nested(depth - 1);
        forge.verify(&forge.present(&header, &forge.payload(), &[]))
    };
    assert!(in_header(bound).is_ok());
    assert!(limit_exceeded(&in_header(bound + 1)));

    // The KB-JWT, which the holder writes.
    let in_key_binding = |depth: usize| {
        let without_kb = forge.credential(&forge.header(), &forge.payload(), &[]);
        let mut kb_payload = forge.kb_payload(&without_kb);
        kb_payload["deep"] = nested(depth - 1);
        forge.verify(&forge.bind(
            &without_kb,
            &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
            &kb_payload,
        ))
    };
    assert!(in_key_binding(bound).is_ok());
    assert!(limit_exceeded(&in_key_binding(bound + 1)));

    // Recursive disclosures: each is shallow, but the claims they reveal nest one
    // level per disclosure; the revealed claims obey the same bound.
    let revealed = |depth: usize| {
        let mut value = json!("leaf");
        let mut disclosures = Vec::new();
        for level in 0..depth {
            let d = disclosure(&json!([format!("s{level}"), "x", value]));
            value = json!({"_sd": [sha256_b64(&d)]});
            disclosures.push(d);
        }
        let mut payload = forge.payload();
        payload["_sd"] = value["_sd"].clone();
        forge.verify(&forge.present(&forge.header(), &payload, &disclosures))
    };
    assert!(revealed(bound).is_ok());
    assert!(limit_exceeded(&revealed(bound + 1)));
}

const ZK_VCT: &str = "urn:agentid:vct:limits-test:1";

struct Prover {
    issuer: Issuer,
    key: SigningKey,
    credential: IssuedCredential,
}

impl Prover {
    fn new() -> Self {
        let mut registry = SchemaRegistry::builtin().unwrap();
        registry
            .add("limits-test", &json!({"x-vct": ZK_VCT, "type": "object"}))
            .unwrap();
        let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))
            .unwrap()
            .with_schemas(registry);
        let key = SigningKey::generate(Algorithm::EdDSA);
        let claims = json!({"a": 10, "b": 20, "c": 30, "d": 40});
        let credential = issuer
            .issue(
                &CredentialRequest {
                    vct: ZK_VCT.into(),
                    subject: key.did().unwrap(),
                    holder_key: key.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    disclosable: vec![],
                    lifetime_secs: 3600,
                    committed: ["a", "b", "c", "d"]
                        .iter()
                        .map(|path| path.parse().unwrap())
                        .collect(),
                },
                NOW,
            )
            .unwrap();
        Prover {
            issuer,
            key,
            credential,
        }
    }

    fn present(&self, predicates: &[Predicate]) -> Result<String, WalletError> {
        present_with_predicates(
            &self.credential.sd_jwt,
            &self.key,
            &[],
            predicates,
            &self.credential.openings,
            &request(),
            NOW,
        )
    }

    fn verify(&self, presentation: &str) -> Result<Verified, VerifyError> {
        let mut trust = TrustStore::new();
        trust.add_did(self.issuer.id()).unwrap();
        Verifier::new(trust, Policy::default()).verify_presentation(presentation, &request(), NOW)
    }

    /// The holder re-signs its KB-JWT after `edit`: what a dishonest holder can do.
    fn resign(&self, presentation: &str, edit: impl FnOnce(&mut Value)) -> String {
        let cut = presentation.rfind('~').unwrap() + 1;
        let (without_kb, kb) = presentation.split_at(cut);
        let payload = URL_SAFE_NO_PAD
            .decode(kb.split('.').nth(1).unwrap())
            .unwrap();
        let mut payload: Value = serde_json::from_slice(&payload).unwrap();
        edit(&mut payload);
        let header = json!({"alg": "EdDSA", "typ": "kb+jwt"});
        format!("{without_kb}{}", sign_token(&self.key, &header, &payload))
    }
}

#[test]
fn aggregated_range_proofs_and_proof_length_at_the_bound() {
    assert_eq!(MAX_AGGREGATED, 8);
    let prover = Prover::new();
    // Four two-sided predicates are eight ranges: the most one proof aggregates.
    let eight_ranges: Vec<Predicate> = ["a", "b", "c", "d"]
        .iter()
        .map(|claim| Predicate::between(*claim, 0, 100))
        .collect();
    let presentation = prover.present(&eight_ranges).expect("eight ranges prove");
    let verified = prover.verify(&presentation).expect("eight ranges verify");
    assert_eq!(verified.predicates.len(), 4);

    // A ninth range: the wallet refuses to prove it, and a holder who lists it next
    // to the eight-range proof is refused before the proof is checked.
    let mut nine_ranges = eight_ranges.clone();
    nine_ranges.push(Predicate::at_least("a", 0));
    assert!(matches!(
        prover.present(&nine_ranges),
        Err(WalletError::Verify(VerifyError::LimitExceeded(_)))
    ));
    let listed = prover.resign(&presentation, |payload| {
        payload["predicates"] = json!(nine_ranges
            .iter()
            .map(Predicate::to_json)
            .collect::<Vec<_>>());
    });
    assert!(limit_exceeded(&prover.verify(&listed)));
    let nine_statements = prover.resign(&presentation, |payload| {
        payload["predicates"] = json!(vec![Predicate::at_least("a", 0).to_json(); 9]);
    });
    assert!(limit_exceeded(&prover.verify(&nine_statements)));

    // The proof text: at the bound it is decoded (and is no proof), one more
    // character is refused unread.
    let proof_of = |chars: usize| {
        prover.resign(&presentation, |payload| {
            payload["predicate_proof"] = json!("A".repeat(chars));
        })
    };
    assert_eq!(
        prover.verify(&proof_of(MAX_PROOF_CHARS)).unwrap_err(),
        VerifyError::InvalidPredicateProof
    );
    assert!(limit_exceeded(
        &prover.verify(&proof_of(MAX_PROOF_CHARS + 1))
    ));
}

#[test]
fn batch_size_at_the_bound() {
    assert_eq!(MAX_BATCH, 65_536);
    let fixture = fixture(Algorithm::EdDSA);
    let request = request();
    let items = |count: usize| {
        let item = BatchItem {
            presentation: "",
            request: &request,
        };
        let items: Vec<BatchItem<'_>> = vec![item; count];
        fixture.verifier.verify_batch(&items, NOW)
    };
    let at_bound = items(MAX_BATCH);
    assert_eq!(at_bound.len(), MAX_BATCH);
    assert!(at_bound
        .iter()
        .all(|verdict| matches!(verdict, Err(VerifyError::Malformed(_)))));
    let over = items(MAX_BATCH + 1);
    assert_eq!(over.len(), MAX_BATCH + 1);
    assert!(over.iter().all(limit_exceeded));
}

#[test]
fn did_length_at_the_bound() {
    let too_long = |result: Result<_, KeyError>| matches!(result, Err(KeyError::InvalidDid(reason)) if reason.contains("too long"));
    let at_bound = format!("did:key:z{}", "1".repeat(did_key::MAX_DID_LEN - 9));
    assert_eq!(at_bound.len(), did_key::MAX_DID_LEN);
    assert!(!too_long(did_key::decode(&at_bound)));
    assert!(did_key::decode(&at_bound).is_err());
    assert!(too_long(did_key::decode(&format!("{at_bound}1"))));
}

#[test]
fn trust_file_size_and_depth_at_the_bound() {
    let issuer = SigningKey::generate(Algorithm::EdDSA).did().unwrap();
    let file = |pad: usize, deep: Value| {
        let text = json!({"issuers": [{"id": issuer}], "comment": deep}).to_string();
        format!("{text}{}", " ".repeat(pad - text.len()))
    };
    let at_bound = file(MAX_TRUST_FILE_BYTES, json!(null));
    assert_eq!(TrustStore::from_json(at_bound.as_bytes()).unwrap().len(), 1);
    let over = format!("{at_bound} ");
    assert!(matches!(
        TrustStore::from_json(over.as_bytes()),
        Err(KeyError::InvalidTrustStore(_))
    ));

    // The file's object is one level.
    let deep = |depth: usize| file(1024, nested(depth - 1));
    assert_eq!(
        TrustStore::from_json(deep(MAX_TRUST_FILE_DEPTH).as_bytes())
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        TrustStore::from_json(deep(MAX_TRUST_FILE_DEPTH + 1).as_bytes()),
        Err(KeyError::InvalidTrustStore(reason)) if reason.contains("deeper")
    ));
}
