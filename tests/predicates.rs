//! Soundness of zero-knowledge predicates: what a dishonest holder or a replaying
//! party tries, and why each fails. Every tampering is checked with 1, 2 and 4
//! aggregated predicates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::predicate::{
    birthdate_cutoff, date_to_days, generators, read_commitments, Predicate, Statements,
    COMMITMENTS_CLAIM, RANGE_BITS,
};
use agentid_verifier::{
    b64url_encode, Algorithm, Policy, PresentationRequest, RejectionKind, TrustStore, Verified,
    Verifier, VerifyError,
};
use agentid_wallet::{
    present_with_predicates, CredentialRequest, IssuedCredential, Issuer, SchemaRegistry,
    SigningKey, WalletError,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::sign_token;
use serde_json::{json, Value};

/// 2026-11-22T00:00:00Z.
const NOW: u64 = 1_795_305_600;
const TODAY: i64 = 20_779;
const VCT: &str = "urn:agentid:vct:zk-test:1";

struct Holder {
    issuer: Issuer,
    key: SigningKey,
}

fn holder() -> Holder {
    let mut registry = SchemaRegistry::builtin().unwrap();
    registry
        .add("zk-test", &json!({"x-vct": VCT, "type": "object"}))
        .unwrap();
    Holder {
        issuer: Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))
            .unwrap()
            .with_schemas(registry),
        key: SigningKey::generate(Algorithm::EdDSA),
    }
}

impl Holder {
    /// A credential for someone born on `birthdate`, with four committed claims.
    fn credential(&self, birthdate: &str) -> IssuedCredential {
        let claims = json!({"given_name": "Sam", "birthdate": birthdate, "level": 4, "limit": 800, "score": 61});
        self.issuer
            .issue(
                &CredentialRequest {
                    vct: VCT.into(),
                    subject: self.key.did().unwrap(),
                    holder_key: self.key.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    disclosable: vec!["given_name".parse().unwrap(), "birthdate".parse().unwrap()],
                    lifetime_secs: 3600,
                    committed: ["birthdate", "level", "limit", "score"]
                        .iter()
                        .map(|p| p.parse().unwrap())
                        .collect(),
                },
                NOW,
            )
            .unwrap()
    }

    fn present(
        &self,
        credential: &IssuedCredential,
        predicates: &[Predicate],
        request: &PresentationRequest,
    ) -> Result<String, WalletError> {
        present_with_predicates(
            &credential.sd_jwt,
            &self.key,
            &[],
            predicates,
            &credential.openings,
            request,
            NOW,
        )
    }

    fn verifier(&self) -> Verifier {
        let mut trust = TrustStore::new();
        trust.add_did(self.issuer.id()).unwrap();
        Verifier::new(trust, Policy::default())
    }

    fn verify(
        &self,
        presentation: &str,
        request: &PresentationRequest,
    ) -> Result<Verified, VerifyError> {
        self.verifier()
            .verify_presentation(presentation, request, NOW)
    }

    /// The holder re-signs the KB-JWT after editing its payload: what a dishonest
    /// holder (who has the key) can always do.
    fn resign(&self, presentation: &str, edit: impl FnOnce(&mut Value)) -> String {
        let cut = presentation.rfind('~').unwrap() + 1;
        let (without_kb, kb) = presentation.split_at(cut);
        let mut payload: Value =
            serde_json::from_slice(&decode(kb.split('.').nth(1).unwrap())).unwrap();
        edit(&mut payload);
        format!(
            "{without_kb}{}",
            sign_token(
                &self.key,
                &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
                &payload
            )
        )
    }
}

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn request() -> PresentationRequest {
    PresentationRequest::new("https://bar.example", "nonce-1")
}

fn adult() -> Predicate {
    Predicate::at_most("birthdate", birthdate_cutoff(18, TODAY).unwrap())
}

/// 1, 2 and 4 true predicates about a person born 2000-05-17.
fn predicate_sets() -> Vec<Vec<Predicate>> {
    vec![
        vec![adult()],
        vec![adult(), Predicate::at_least("level", 3)],
        vec![
            adult(),
            Predicate::at_least("level", 3),
            Predicate::between("limit", 500, 1000),
            Predicate::at_most("score", 99),
        ],
    ]
}

fn assert_proof_rejected(result: Result<Verified, VerifyError>, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(error, VerifyError::InvalidPredicateProof, "{what}");
    assert_eq!(error.kind(), RejectionKind::InvalidProof);
}

#[test]
fn true_predicates_verify_as_statements_without_values() {
    let holder = holder();
    let credential = holder.credential("2000-05-17");
    for predicates in predicate_sets() {
        let presentation = holder
            .present(&credential, &predicates, &request())
            .unwrap();
        let verified = holder.verify(&presentation, &request()).unwrap();
        assert_eq!(verified.predicates.len(), predicates.len());
        assert_eq!(
            verified.predicates[0].to_string(),
            "birthdate <= 2008-11-22"
        );
        assert!(verified.predicates[0].implies_at_most(date_to_days("2008-11-22").unwrap()));
        assert!(
            !verified.claims.contains_key("birthdate"),
            "the value is not disclosed"
        );
        assert!(!verified.claims.contains_key(COMMITMENTS_CLAIM));
        for committed in ["level", "limit", "score"] {
            assert!(
                !verified.claims.contains_key(committed),
                "committed claims are concealed: {committed}"
            );
        }
        let text = serde_json::to_string(&verified).unwrap();
        assert!(
            !text.contains("2000-05-17") && !text.contains("11094"),
            "{text}"
        );
        assert!(!presentation.contains("blinding"));
    }
    let verified = holder
        .verify(
            &holder
                .present(&credential, &predicate_sets()[2], &request())
                .unwrap(),
            &request(),
        )
        .unwrap();
    assert_eq!(verified.predicates[2].to_string(), "500 <= limit <= 1000");
}

#[test]
fn a_seventeen_year_old_cannot_prove_age_18() {
    let holder = holder();
    // Turns 18 on 2026-11-23, the day after NOW.
    let credential = holder.credential("2008-11-23");
    let error = holder
        .present(&credential, &[adult()], &request())
        .unwrap_err();
    assert!(matches!(error, WalletError::FalseStatement(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "cannot prove birthdate <= 2008-11-22: the statement is false for the committed value"
    );

    // One day older, and it works.
    let credential = holder.credential("2008-11-22");
    assert!(holder
        .verify(
            &holder.present(&credential, &[adult()], &request()).unwrap(),
            &request()
        )
        .is_ok());
}

#[test]
fn a_proof_forced_with_a_false_value_fails_verification() {
    let holder = holder();
    let credential = holder.credential("2008-11-23");
    // Present something true, then swap in a proof the holder forged for "max − v = 0"
    // (a lie: it is −1) with a made-up blinding: the commitments do not match.
    let honest = holder
        .present(
            &credential,
            &[Predicate::at_most(
                "birthdate",
                date_to_days("2008-11-23").unwrap(),
            )],
            &request(),
        )
        .unwrap();
    let statements_for = |presentation: &str| {
        let payload: Value = serde_json::from_slice(&decode(
            presentation
                .split('~')
                .next()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap(),
        ))
        .unwrap();
        Statements::new(
            vec![adult()],
            &read_commitments(&payload[COMMITMENTS_CLAIM]).unwrap(),
        )
        .unwrap()
    };
    let statements = statements_for(&honest);
    let without_kb = &honest[..=honest.rfind('~').unwrap()];
    let mut transcript = statements.transcript(
        &agentid_verifier::sha256_b64(without_kb),
        "https://bar.example",
        "nonce-1",
    );
    let (pedersen, bulletproof) = generators();
    let blinding = curve25519_dalek::scalar::Scalar::from(7u64);
    let (forged, _) = bulletproofs::RangeProof::prove_single(
        bulletproof,
        pedersen,
        &mut transcript,
        0,
        &blinding,
        RANGE_BITS,
    )
    .unwrap();
    let presentation = holder.resign(&honest, |payload| {
        payload["predicates"] = json!([adult().to_json()]);
        payload["predicate_proof"] = json!(b64url_encode(&forged.to_bytes()));
    });
    assert_proof_rejected(holder.verify(&presentation, &request()), "forged proof");

    // The wrapped difference (−1 as an unsigned number) cannot be proven in 32 bits.
    let mut transcript = statements.transcript(
        &agentid_verifier::sha256_b64(without_kb),
        "https://bar.example",
        "nonce-1",
    );
    let wrapped = bulletproofs::RangeProof::prove_single(
        bulletproof,
        pedersen,
        &mut transcript,
        u64::MAX,
        &blinding,
        RANGE_BITS,
    );
    if let Ok((proof, _)) = wrapped {
        let presentation = holder.resign(&honest, |payload| {
            payload["predicates"] = json!([adult().to_json()]);
            payload["predicate_proof"] = json!(b64url_encode(&proof.to_bytes()));
        });
        assert_proof_rejected(holder.verify(&presentation, &request()), "wrapped value");
    }
}

#[test]
fn a_proof_replayed_under_another_nonce_or_audience_fails() {
    let holder = holder();
    let credential = holder.credential("2000-05-17");
    for predicates in predicate_sets() {
        let presentation = holder
            .present(&credential, &predicates, &request())
            .unwrap();
        for other in [
            PresentationRequest::new("https://bar.example", "nonce-2"),
            PresentationRequest::new("https://casino.example", "nonce-1"),
        ] {
            // The KB-JWT itself is re-signed for the new request; only the proof is replayed.
            let replayed = holder.resign(&presentation, |payload| {
                payload["aud"] = json!(other.audience);
                payload["nonce"] = json!(other.nonce);
            });
            assert_proof_rejected(holder.verify(&replayed, &other), "replayed proof");
        }
    }
}

#[test]
fn a_proof_for_another_credential_commitment_fails() {
    let holder = holder();
    let first = holder.credential("2000-05-17");
    let second = holder.credential("2000-05-17");
    for predicates in predicate_sets() {
        let for_first = holder.present(&first, &predicates, &request()).unwrap();
        let for_second = holder.present(&second, &predicates, &request()).unwrap();
        let first_kb: Value = serde_json::from_slice(&decode(
            for_first
                .rsplit('~')
                .next()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap(),
        ))
        .unwrap();
        let transplanted = holder.resign(&for_second, |payload| {
            payload["predicate_proof"] = first_kb["predicate_proof"].clone();
        });
        assert_proof_rejected(
            holder.verify(&transplanted, &request()),
            "proof over another credential's commitment",
        );
    }
}

#[test]
fn a_changed_bound_fails() {
    let holder = holder();
    let credential = holder.credential("2000-05-17");
    for predicates in predicate_sets() {
        let presentation = holder
            .present(&credential, &predicates, &request())
            .unwrap();
        for (field, delta) in [("max", -1i64), ("max", 1)] {
            let changed = holder.resign(&presentation, |payload| {
                let bound = payload["predicates"][0][field].as_i64().unwrap();
                payload["predicates"][0][field] = json!(bound + delta);
            });
            assert_proof_rejected(holder.verify(&changed, &request()), "changed bound");
        }
        // Dropping a statement changes the aggregation: rejected too.
        if predicates.len() > 1 {
            let dropped = holder.resign(&presentation, |payload| {
                payload["predicates"].as_array_mut().unwrap().pop();
            });
            assert!(holder.verify(&dropped, &request()).is_err());
        }
    }
}

#[test]
fn any_changed_proof_byte_fails() {
    let holder = holder();
    let credential = holder.credential("2000-05-17");
    for predicates in predicate_sets() {
        let presentation = holder
            .present(&credential, &predicates, &request())
            .unwrap();
        let kb: Value = serde_json::from_slice(&decode(
            presentation
                .rsplit('~')
                .next()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap(),
        ))
        .unwrap();
        let proof = decode(kb["predicate_proof"].as_str().unwrap());
        // Every byte for one predicate; a spread of positions for the aggregated ones.
        let step = if predicates.len() == 1 { 1 } else { 7 };
        for position in (0..proof.len()).step_by(step) {
            let mut mutated = proof.clone();
            mutated[position] ^= 1 << (position % 8);
            let tampered = holder.resign(&presentation, |payload| {
                payload["predicate_proof"] = json!(b64url_encode(&mutated));
            });
            assert!(
                holder.verify(&tampered, &request()).is_err(),
                "byte {position} of {}",
                proof.len()
            );
        }
        // Truncated or extended proofs are rejected, not panicked on.
        for length in [0, 31, proof.len() - 1, proof.len() + 32] {
            let mut resized = proof.clone();
            resized.resize(length, 0);
            let tampered = holder.resign(&presentation, |payload| {
                payload["predicate_proof"] = json!(b64url_encode(&resized));
            });
            assert_proof_rejected(holder.verify(&tampered, &request()), "resized proof");
        }
    }
}

#[test]
fn a_predicate_on_an_uncommitted_claim_fails() {
    let holder = holder();
    let credential = holder.credential("2000-05-17");
    let on_name = Predicate::at_least("given_name", 1);
    assert!(matches!(
        holder.present(&credential, std::slice::from_ref(&on_name), &request()),
        Err(WalletError::Verify(VerifyError::InvalidPredicate(_)))
    ));
    for predicates in predicate_sets() {
        let presentation = holder
            .present(&credential, &predicates, &request())
            .unwrap();
        for claim in ["given_name", "unknown", ""] {
            let retargeted = holder.resign(&presentation, |payload| {
                payload["predicates"][0]["claim"] = json!(claim);
            });
            let error = holder.verify(&retargeted, &request()).unwrap_err();
            assert!(
                matches!(error, VerifyError::InvalidPredicate(_)),
                "{claim}: {error}"
            );
        }
    }
    // A credential without commitments at all.
    let plain = holder
        .issuer
        .issue(
            &CredentialRequest {
                vct: VCT.into(),
                subject: holder.key.did().unwrap(),
                holder_key: holder.key.public_key().clone(),
                claims: json!({"level": 4}).as_object().cloned().unwrap(),
                disclosable: vec![],
                lifetime_secs: 3600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap();
    assert!(holder
        .present(&plain, &[Predicate::at_least("level", 3)], &request())
        .is_err());
}

#[test]
fn malformed_predicate_claims_are_refused_not_panicked_on() {
    let holder = holder();
    let credential = holder.credential("2000-05-17");
    let presentation = holder.present(&credential, &[adult()], &request()).unwrap();
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|payload| payload["predicates"] = json!("birthdate<=1")),
        Box::new(|payload| payload["predicates"] = json!([{"claim": "birthdate"}])),
        Box::new(|payload| payload["predicates"] = json!([{"claim": "birthdate", "max": 1.5}])),
        Box::new(|payload| {
            payload["predicates"] = json!([{"claim": "birthdate", "max": 1u64 << 40}])
        }),
        Box::new(|payload| {
            payload["predicates"] = json!([{"claim": "birthdate", "max": 1, "extra": true}])
        }),
        Box::new(|payload| payload["predicates"] = json!(vec![adult().to_json(); 9])),
        Box::new(|payload| payload["predicate_proof"] = json!(42)),
        Box::new(|payload| payload["predicate_proof"] = json!("not base64!")),
        Box::new(|payload| payload["predicate_proof"] = json!("A".repeat(4096))),
        Box::new(|payload| {
            payload.as_object_mut().unwrap().remove("predicate_proof");
        }),
    ];
    for edit in edits {
        let tampered = holder.resign(&presentation, edit);
        assert!(holder.verify(&tampered, &request()).is_err());
    }
}

#[test]
fn receive_refuses_an_opening_that_does_not_open_the_commitment() {
    use agentid_wallet::{issuance_text, KdfParams, Passphrase, Wallet};
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = Wallet::create(
        &dir.path().join("w"),
        &Passphrase::new("passphrase"),
        &KdfParams::MINIMUM,
        Algorithm::EdDSA,
        NOW,
    )
    .unwrap();
    let did = wallet.did().to_owned();
    let mut registry = SchemaRegistry::builtin().unwrap();
    registry
        .add("zk-test", &json!({"x-vct": VCT, "type": "object"}))
        .unwrap();
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))
        .unwrap()
        .with_schemas(registry);
    let issue = |birthdate: &str| {
        issuer
            .issue(
                &CredentialRequest {
                    vct: VCT.into(),
                    subject: did.clone(),
                    holder_key: agentid_verifier::did_key::decode(&did).unwrap(),
                    claims: json!({"birthdate": birthdate})
                        .as_object()
                        .cloned()
                        .unwrap(),
                    disclosable: vec![],
                    lifetime_secs: 3600,
                    committed: vec!["birthdate".parse().unwrap()],
                },
                NOW,
            )
            .unwrap()
    };
    let real = issue("2000-05-17");
    let other = issue("2000-05-17");
    // The openings of another credential (same value, other blinding).
    let mismatched = issuance_text(&real.sd_jwt, &other.openings);
    assert!(wallet.receive(&mismatched, None, NOW).is_err());
    // No opening at all.
    assert!(wallet.receive(&real.sd_jwt, None, NOW).is_err());
    assert!(wallet.list().unwrap().is_empty());
    let id = wallet
        .receive(&issuance_text(&real.sd_jwt, &real.openings), None, NOW)
        .unwrap();
    let presentation = wallet
        .present_with_predicates(&id, &[], &[adult()], &request(), NOW)
        .unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verified = Verifier::new(trust, Policy::default())
        .verify_presentation(&presentation, &request(), NOW)
        .unwrap();
    assert_eq!(verified.predicates.len(), 1);
    let audit = wallet.audit_entries().unwrap();
    let last = audit.last().unwrap().details.to_string();
    assert!(
        last.contains("birthdate") && !last.contains("2000-05-17"),
        "{last}"
    );
}

#[test]
fn a_claim_committed_twice_is_refused() {
    let holder = holder();
    let result = holder.issuer.issue(
        &CredentialRequest {
            vct: VCT.into(),
            subject: holder.key.did().unwrap(),
            holder_key: holder.key.public_key().clone(),
            claims: json!({"level": 4}).as_object().cloned().unwrap(),
            disclosable: vec![],
            lifetime_secs: 3600,
            committed: vec!["level".parse().unwrap(), "level".parse().unwrap()],
        },
        NOW,
    );
    assert!(matches!(result, Err(WalletError::InvalidRequest(_))));
}
