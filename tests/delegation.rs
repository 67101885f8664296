//! Delegation chains, checked offline hop by hop: human → agent → sub-agent in the
//! Delegate SD-JWT format AP2 v0.2 uses (root SD-JWT ~~ KB-SD-JWT+KB ~~ terminal
//! KB-SD-JWT), and every way a forged hop can try to widen its rights.
//!
//! The wallet cannot create delegations yet, so the hops are built here by hand,
//! exactly as the wire format says (see docs/notes-delegation.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::{
    sha256_b64, Algorithm, BatchItem, Policy, PresentationRequest, SignatureRole, TrustStore,
    Verifier, VerifyError,
};
use agentid_wallet::{cnf, CredentialRequest, Issuer, SigningKey, TASK_VCT};
use common::{disclosure, sign_token, AUDIENCE, NONCE, NOW};
use serde_json::{json, Value};

struct Parties {
    issuer: Issuer,
    agent: SigningKey,
    sub_agent: SigningKey,
    root: String,
}

fn parties(alg: Algorithm) -> Parties {
    parties_with(alg, json!({}))
}

/// Parties whose root credential also carries the claims in `extra`.
fn parties_with(alg: Algorithm, extra: Value) -> Parties {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let agent = SigningKey::generate(alg);
    let sub_agent = SigningKey::generate(alg);
    let mut claims = json!({
        "task": {"id": "T-9", "purpose": "handle refunds for order 1234"},
        "scope": ["refunds:*", "orders:read"],
        "resources": ["https://shop.example/orders/"],
        "constraints": {"max_amount": 100, "currency": "EUR"},
        "max_delegation_depth": 2,
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    let root = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec!["task.purpose".parse().unwrap()],
                lifetime_secs: 3600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    Parties {
        issuer,
        agent,
        sub_agent,
        root,
    }
}

/// One hop: `JWT~<delegate_payload disclosure>~`, bound to `previous` by sd_hash.
fn hop(
    signer: &SigningKey,
    typ: &str,
    previous: &str,
    object: Value,
    aud: &str,
    nonce: &str,
) -> String {
    let disclosed = disclosure(&json!(["hop-salt", object]));
    let payload = json!({
        "delegate_payload": [{"...": sha256_b64(&disclosed)}],
        "iat": NOW, "aud": aud, "nonce": nonce,
        "sd_hash": sha256_b64(previous), "_sd_alg": "sha-256"
    });
    let header = json!({"alg": signer.algorithm().as_str(), "typ": typ});
    format!("{}~{disclosed}~", sign_token(signer, &header, &payload))
}

/// Joins segments (each ending in '~') the way the format does.
fn join(segments: &[String]) -> String {
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            if index < last {
                segment[..segment.len() - 1].to_owned()
            } else {
                segment.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("~~")
}

fn delegation_to(parties: &Parties, rights: Value) -> Value {
    let mut object = rights;
    object["vct"] = json!("urn:agentid:vct:delegation:1");
    object["cnf"] = cnf(parties.sub_agent.public_key());
    if object.get("exp").is_none() {
        object["exp"] = json!(NOW + 1800);
    }
    object
}

fn action() -> Value {
    json!({"scope": "refunds:write", "resource": "https://shop.example/orders/1234", "amount": 40})
}

/// root ~~ agent delegates `rights` to the sub-agent ~~ sub-agent's terminal hop.
fn chain(parties: &Parties, rights: Value) -> String {
    let delegation = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &parties.root,
        delegation_to(parties, rights),
        &parties.sub_agent.did().unwrap(),
        "delegation-nonce",
    );
    let terminal = hop(
        &parties.sub_agent,
        "kb+sd-jwt",
        &delegation,
        action(),
        AUDIENCE,
        NONCE,
    );
    join(&[parties.root.clone(), delegation, terminal])
}

fn narrow() -> Value {
    json!({"scope": ["refunds:write"], "resources": ["https://shop.example/orders/1234"], "constraints": {"max_amount": 50}})
}

fn verifier(parties: &Parties) -> Verifier {
    let mut trust = TrustStore::new();
    trust.add_did(parties.issuer.id()).unwrap();
    Verifier::new(trust, Policy::default().with_unknown_status_accepted(true))
}

fn request() -> PresentationRequest {
    PresentationRequest::new(AUDIENCE, NONCE)
}

#[test]
fn an_ap2_shaped_es256_chain_verifies_hop_by_hop() {
    let parties = parties(Algorithm::ES256);
    let presentation = chain(&parties, narrow());
    assert_eq!(presentation.matches("~~").count(), 2);
    assert!(presentation.ends_with('~'));
    let verified = verifier(&parties)
        .verify_presentation(&presentation, &request(), NOW)
        .unwrap();
    let chain = verified.chain.as_ref().expect("a chain");
    assert_eq!(verified.issuer, parties.issuer.id());
    assert_eq!(chain.delegations.len(), 1);
    assert_eq!(
        chain.delegations[0].delegate,
        parties.sub_agent.did().unwrap()
    );
    assert_eq!(chain.root_rights.scope, ["refunds:*", "orders:read"]);
    assert_eq!(chain.effective_rights.scope, ["refunds:write"]);
    assert_eq!(chain.effective_rights.constraints["max_amount"], 50);
    assert_eq!(
        chain.effective_rights.constraints["currency"], "EUR",
        "inherited"
    );
    assert_eq!(chain.effective_rights.max_depth, 1);
    assert_eq!(chain.action["amount"], 40);
    assert_eq!(
        verified.holder_key.as_ref(),
        Some(parties.sub_agent.public_key())
    );
    assert_eq!(verified.key_binding.as_ref().unwrap().nonce, NONCE);
}

#[test]
fn eddsa_chains_verify_too_and_the_batch_path_agrees() {
    let parties = parties(Algorithm::EdDSA);
    let good = chain(&parties, narrow());
    let widened = chain(&parties, json!({"scope": ["admin:*"]}));
    let verifier = verifier(&parties);
    let request = request();
    let items = [
        BatchItem {
            presentation: &good,
            request: &request,
        },
        BatchItem {
            presentation: &widened,
            request: &request,
        },
    ];
    let results = verifier.verify_batch(&items, NOW);
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].as_ref().unwrap_err(),
        &verifier
            .verify_presentation(&widened, &request, NOW)
            .unwrap_err()
    );
}

#[test]
fn every_kind_of_widening_is_rejected() {
    let parties = parties(Algorithm::ES256);
    let verifier = verifier(&parties);
    for (rights, field) in [
        (json!({"scope": ["refunds:write", "admin:delete"]}), "scope"),
        (json!({"scope": ["orders:*"]}), "scope"),
        (
            json!({"resources": ["https://shop.example/customers/"]}),
            "resources",
        ),
        (
            json!({"constraints": {"max_amount": 101}}),
            "constraints.max_amount",
        ),
        (
            json!({"constraints": {"currency": "USD"}}),
            "constraints.currency",
        ),
        (json!({"exp": NOW + 7200}), "expiry"),
        (json!({"max_delegation_depth": 2}), "depth"),
    ] {
        let error = verifier
            .verify_presentation(&chain(&parties, rights.clone()), &request(), NOW)
            .unwrap_err();
        match &error {
            VerifyError::DelegationWidened(named) => {
                assert!(named.starts_with(field), "{rights}: {error}")
            }
            other => panic!("{rights}: {other}"),
        }
    }
}

#[test]
fn depth_is_enforced_over_several_hops() {
    let parties = parties(Algorithm::EdDSA);
    let third = SigningKey::generate(Algorithm::EdDSA);
    // root (depth 2) → agent → sub-agent (depth 0 given) → third: refused.
    let first = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &parties.root,
        delegation_to(&parties, json!({"max_delegation_depth": 0})),
        "x",
        "n1",
    );
    let mut onward = json!({"vct": "urn:agentid:vct:delegation:1", "exp": NOW + 600});
    onward["cnf"] = cnf(third.public_key());
    let second = hop(
        &parties.sub_agent,
        "kb+sd-jwt+kb",
        &first,
        onward,
        "y",
        "n2",
    );
    let terminal = hop(&third, "kb+sd-jwt", &second, action(), AUDIENCE, NONCE);
    let error = verifier(&parties)
        .verify_presentation(
            &join(&[parties.root.clone(), first, second, terminal]),
            &request(),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(&error, VerifyError::DelegationWidened(field) if field.starts_with("depth")),
        "{error}"
    );
}

#[test]
fn wrong_signer_untrusted_root_cycle_and_bad_binding_are_each_rejected() {
    let parties = parties(Algorithm::EdDSA);
    let verifier = verifier(&parties);

    // The sub-agent signs the delegation to itself: not the agent's key.
    let forged = hop(
        &parties.sub_agent,
        "kb+sd-jwt+kb",
        &parties.root,
        delegation_to(&parties, narrow()),
        "x",
        "n",
    );
    let terminal = hop(
        &parties.sub_agent,
        "kb+sd-jwt",
        &forged,
        action(),
        AUDIENCE,
        NONCE,
    );
    assert_eq!(
        verifier
            .verify_presentation(
                &join(&[parties.root.clone(), forged, terminal]),
                &request(),
                NOW
            )
            .unwrap_err(),
        VerifyError::InvalidSignature(SignatureRole::Delegation)
    );

    // A verifier that does not trust the root issuer.
    let stranger = Verifier::new(TrustStore::new(), Policy::default());
    assert!(matches!(
        stranger.verify_presentation(&chain(&parties, narrow()), &request(), NOW),
        Err(VerifyError::UntrustedIssuer(_))
    ));

    // The agent delegates back to itself: a cycle.
    let mut to_self = narrow();
    to_self["vct"] = json!("urn:agentid:vct:delegation:1");
    to_self["exp"] = json!(NOW + 600);
    to_self["cnf"] = cnf(parties.agent.public_key());
    let looped = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &parties.root,
        to_self,
        "x",
        "n",
    );
    let terminal = hop(
        &parties.agent,
        "kb+sd-jwt",
        &looped,
        action(),
        AUDIENCE,
        NONCE,
    );
    assert_eq!(
        verifier
            .verify_presentation(
                &join(&[parties.root.clone(), looped, terminal]),
                &request(),
                NOW
            )
            .unwrap_err(),
        VerifyError::DelegationCycle
    );

    // A hop bound to another root (sd_hash over a different segment).
    let other = self::parties(Algorithm::EdDSA);
    let delegation = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &other.root,
        delegation_to(&parties, narrow()),
        "x",
        "n",
    );
    let terminal = hop(
        &parties.sub_agent,
        "kb+sd-jwt",
        &delegation,
        action(),
        AUDIENCE,
        NONCE,
    );
    assert_eq!(
        verifier
            .verify_presentation(
                &join(&[parties.root.clone(), delegation, terminal]),
                &request(),
                NOW
            )
            .unwrap_err(),
        VerifyError::SdHashMismatch
    );
}

#[test]
fn the_terminal_hop_answers_this_verifier_only() {
    let parties = parties(Algorithm::EdDSA);
    let verifier = verifier(&parties);
    let presentation = chain(&parties, narrow());
    assert_eq!(
        verifier
            .verify_presentation(
                &presentation,
                &PresentationRequest::new("https://other.example", NONCE),
                NOW
            )
            .unwrap_err(),
        VerifyError::AudienceMismatch
    );
    assert_eq!(
        verifier
            .verify_presentation(
                &presentation,
                &PresentationRequest::new(AUDIENCE, "replayed"),
                NOW
            )
            .unwrap_err(),
        VerifyError::NonceMismatch
    );
    // A chain that ends with a delegation (no terminal hop) presents nothing.
    let delegation = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &parties.root,
        delegation_to(&parties, narrow()),
        "x",
        "n",
    );
    assert!(matches!(
        verifier.verify_presentation(&join(&[parties.root.clone(), delegation]), &request(), NOW),
        Err(VerifyError::UnexpectedType { .. })
    ));
    // A credential without max_delegation_depth cannot be delegated at all.
    let plain = common::fixture(Algorithm::EdDSA);
    let delegation = hop(
        &plain.agent,
        "kb+sd-jwt+kb",
        &plain.credential,
        json!({"vct": "d", "exp": NOW + 60, "cnf": cnf(parties.sub_agent.public_key())}),
        "x",
        "n",
    );
    let terminal = hop(
        &parties.sub_agent,
        "kb+sd-jwt",
        &delegation,
        action(),
        AUDIENCE,
        NONCE,
    );
    let error = plain
        .verifier
        .verify_presentation(
            &join(&[plain.credential.clone(), delegation, terminal]),
            &request(),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(&error, VerifyError::DelegationWidened(field) if field.starts_with("depth")),
        "{error}"
    );
}

#[test]
fn revoking_the_root_cuts_off_every_descendant() {
    use agentid_wallet::{KdfParams, Passphrase, Wallet};
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = Wallet::create(
        &dir.path().join("issuer"),
        &Passphrase::new("passphrase"),
        &KdfParams::MINIMUM,
        Algorithm::EdDSA,
        NOW,
    )
    .unwrap();
    let mut parties = parties(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-9", "purpose": "refunds"}, "scope": ["refunds:*"], "max_delegation_depth": 1,
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let issued = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: parties.agent.did().unwrap(),
                holder_key: parties.agent.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec![],
                lifetime_secs: 3600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap();
    parties.root = issued.sd_jwt.clone();
    let presentation = chain(&parties, json!({"scope": ["refunds:write"]}));
    let mut trust = TrustStore::new();
    trust.add_did(issuer.did()).unwrap();
    let verify_with = |token: &str| {
        let mut lists = agentid_verifier::StatusLists::new();
        lists.add_token(token, &trust, NOW, 3600).unwrap();
        Verifier::new(trust.clone(), Policy::default())
            .with_status_lists(lists)
            .verify_presentation(&presentation, &request(), NOW)
    };
    assert!(verify_with(&issuer.publish_status(NOW, 3600).unwrap()).is_ok());
    issuer.revoke(&issued.credential_id, NOW).unwrap();
    assert!(matches!(
        verify_with(&issuer.publish_status(NOW, 3600).unwrap()),
        Err(VerifyError::Revoked(_))
    ));
}

#[test]
fn eight_delegations_are_allowed_and_a_ninth_is_refused_unread() {
    use agentid_verifier::delegation::{Rights, MAX_DELEGATIONS};
    use agentid_wallet::{delegate, present_delegated, DelegationSpec};
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T", "purpose": "p"}, "scope": ["refunds:*"], "max_delegation_depth": 8,
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
    let verifier = Verifier::new(trust, Policy::default().with_unknown_status_accepted(true));
    let mut holder = agent;
    let mut rights = Rights::from_root(claims.as_object().unwrap(), Some(NOW + 3600)).unwrap();
    for _ in 0..MAX_DELEGATIONS {
        let next = SigningKey::generate(Algorithm::EdDSA);
        let spec = DelegationSpec {
            to: next.public_key().clone(),
            scope: None,
            resources: None,
            constraints: serde_json::Map::new(),
            lifetime_secs: 600,
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
    assert_eq!(rights.max_depth, 0);
    let presentation = present_delegated(&chain, &holder, &action(), &request(), NOW).unwrap();
    let verified = verifier
        .verify_presentation(&presentation, &request(), NOW)
        .unwrap();
    assert_eq!(verified.chain.unwrap().delegations.len(), MAX_DELEGATIONS);
    // One more hop, even a well-formed one, is over the limit.
    let extra = SigningKey::generate(Algorithm::EdDSA);
    let spec = DelegationSpec {
        to: extra.public_key().clone(),
        scope: None,
        resources: None,
        constraints: serde_json::Map::new(),
        lifetime_secs: 60,
        max_depth: None,
    };
    assert!(
        delegate(&chain, &holder, &rights, &spec, NOW).is_err(),
        "the wallet refuses: depth"
    );
    let forced = {
        let mut object = json!({"vct": "d", "exp": NOW + 60});
        object["cnf"] = cnf(extra.public_key());
        let previous = chain.rsplit("~~").next().unwrap().to_owned();
        let delegation = hop(&holder, "kb+sd-jwt+kb", &previous, object, "x", "n");
        let longer = join(&[chain.clone(), delegation.clone()]);
        let terminal = hop(
            &extra,
            "kb+sd-jwt",
            &delegation,
            json!({"amount": 1}),
            AUDIENCE,
            NONCE,
        );
        join(&[longer, terminal])
    };
    assert!(matches!(
        verifier.verify_presentation(&forced, &request(), NOW),
        Err(VerifyError::LimitExceeded(_))
    ));
}

/// Rule: the root credential's `audience` binds every hop of its chain, and a hop may
/// only narrow it; single and batch paths agree.
#[test]
fn a_delegation_may_only_narrow_the_audience() {
    let bank_b = "https://bank-b.example";
    let parties = parties_with(Algorithm::EdDSA, json!({"audience": [AUDIENCE, bank_b]}));
    let checker = verifier(&parties);
    let verify = |presentation: &str| {
        let single = checker.verify_presentation(presentation, &request(), NOW);
        let batch = checker
            .verify_batch(
                &[BatchItem {
                    presentation,
                    request: &request(),
                }],
                NOW,
            )
            .remove(0);
        assert_eq!(single.as_ref().err(), batch.as_ref().err());
        single
    };
    assert!(verify(&chain(&parties, narrow())).is_ok());
    let mut widened = narrow();
    widened["audience"] = json!([AUDIENCE, "https://bank-c.example"]);
    assert_eq!(
        verify(&chain(&parties, widened)).unwrap_err(),
        VerifyError::DelegationWidened("audience".into())
    );
    let mut elsewhere = narrow();
    elsewhere["audience"] = json!([bank_b]);
    assert_eq!(
        verify(&chain(&parties, elsewhere)).unwrap_err(),
        VerifyError::AudienceNotAllowed(AUDIENCE.into())
    );
    let mut nowhere = narrow();
    nowhere["audience"] = json!([]);
    assert!(matches!(
        verify(&chain(&parties, nowhere)),
        Err(VerifyError::AudienceNotAllowed(_))
    ));

    // A root for another verifier only: its chains are refused here.
    let for_b = parties_with(Algorithm::EdDSA, json!({"audience": [bank_b]}));
    assert_eq!(
        verifier(&for_b)
            .verify_presentation(&chain(&for_b, narrow()), &request(), NOW)
            .unwrap_err(),
        VerifyError::AudienceNotAllowed(AUDIENCE.into())
    );
    // The wallet will not sign a hop that widens the audience either.
    let rights = checker
        .verify_credential(&parties.root, NOW)
        .map(|verified| {
            agentid_verifier::delegation::Rights::from_root(&verified.claims, verified.expires_at)
                .unwrap()
        })
        .unwrap();
    let mut object = serde_json::Map::new();
    object.insert("audience".into(), json!(["https://bank-c.example"]));
    object.insert("exp".into(), json!(NOW + 60));
    assert_eq!(
        rights.narrow(&object).unwrap_err(),
        VerifyError::DelegationWidened("audience".into())
    );
}

/// Rule: a hop's resource prefixes are parsed as URLs like the verifier's own: a
/// prefix with control characters or dot segments narrows to nothing it could
/// escape with.
#[test]
fn a_delegation_cannot_smuggle_a_resource_past_the_parser() {
    let parties = parties(Algorithm::EdDSA);
    for sneaky in [
        "https://shop.example/orders/.\t./admin",
        "https://shop.example/orders/1234/.\t./.\t./admin",
        "https://shop.example/orders/\r\n../admin",
        "https://user:pw@shop.example/orders/1",
    ] {
        let mut rights = narrow();
        rights["resources"] = json!([sneaky]);
        assert_eq!(
            verifier(&parties)
                .verify_presentation(&chain(&parties, rights), &request(), NOW)
                .unwrap_err(),
            VerifyError::DelegationWidened("resources".into()),
            "{sneaky:?}"
        );
    }
}

/// Rule (docs/notes-delegation.md, "Serialization"): every segment of a chain the
/// wallet emits but the last carries at least one disclosure, so no segment reads as
/// `JWT` alone (`JWT~~…` is ambiguous to AP2's parser). The issuer keeps the
/// principal disclosable in every delegable credential, and delegation forwards it.
#[test]
fn every_segment_of_an_emitted_chain_but_the_last_carries_a_disclosure() {
    use agentid_wallet::{delegate_bound, present_delegated_bound, DelegationSpec, HopBinding};
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let sub = SigningKey::generate(Algorithm::ES256);
    // No --sd at all: the issuer still makes on_behalf_of disclosable.
    let claims = json!({
        "task": {"id": "T-1", "purpose": "p"}, "scope": ["refunds:*"], "max_delegation_depth": 1,
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
                lifetime_secs: 600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default().with_unknown_status_accepted(true));
    let root_verified = verifier.verify_credential(&root, NOW).unwrap();
    let rights = agentid_verifier::delegation::Rights::from_root(
        &root_verified.claims,
        root_verified.expires_at,
    )
    .unwrap();
    for binding in [HopBinding::SdHash, HopBinding::IssuerJwtHash] {
        let spec = DelegationSpec {
            to: sub.public_key().clone(),
            scope: Some(vec!["refunds:write".into()]),
            resources: None,
            constraints: serde_json::Map::new(),
            lifetime_secs: 300,
            max_depth: None,
        };
        let delegation = delegate_bound(&root, &agent, &rights, &spec, binding, NOW).unwrap();
        let chain = present_delegated_bound(&delegation, &sub, &action(), &request(), binding, NOW)
            .unwrap();
        let segments: Vec<&str> = chain.split("~~").collect();
        assert_eq!(segments.len(), 3);
        for segment in &segments[..segments.len() - 1] {
            assert!(
                segment.contains('~'),
                "a segment without disclosure: {segment}"
            );
        }
        let claim = match binding {
            HopBinding::SdHash => "sd_hash",
            _ => "issuer_jwt_hash",
        };
        assert!(
            segments[1..].iter().all(|segment| {
                let payload = segment
                    .split('~')
                    .next()
                    .unwrap()
                    .split('.')
                    .nth(1)
                    .unwrap();
                let payload: Value = serde_json::from_slice(
                    &base64::Engine::decode(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                        payload,
                    )
                    .unwrap(),
                )
                .unwrap();
                payload.get(claim).is_some()
            }),
            "{claim}"
        );
        let verified = verifier
            .verify_presentation(&chain, &request(), NOW)
            .unwrap();
        assert_eq!(
            verified.claims["on_behalf_of"],
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        );
    }
}

/// A root with no disclosure to forward cannot travel unambiguously: the wallet
/// refuses to delegate it, and says why. agentid's verifier still reads the bare
/// `JWT~~…` form older agentid versions emitted.
#[test]
fn a_root_with_nothing_to_forward_is_not_delegated_but_old_chains_still_verify() {
    let parties = parties(Algorithm::EdDSA);
    let bare_root = format!("{}~", parties.root.split('~').next().unwrap());
    let root_verified = verifier(&parties)
        .verify_credential(&bare_root, NOW)
        .unwrap();
    let rights = agentid_verifier::delegation::Rights::from_root(
        &root_verified.claims,
        root_verified.expires_at,
    )
    .unwrap();
    let spec = agentid_wallet::DelegationSpec {
        to: parties.sub_agent.public_key().clone(),
        scope: None,
        resources: None,
        constraints: serde_json::Map::new(),
        lifetime_secs: 300,
        max_depth: None,
    };
    let refused =
        agentid_wallet::delegate(&bare_root, &parties.agent, &rights, &spec, NOW).unwrap_err();
    assert!(
        refused.to_string().contains("must carry one disclosure"),
        "{refused}"
    );

    // The old form, built by hand: JWT~~hop~d~~terminal~d~.
    let delegation = hop(
        &parties.agent,
        "kb+sd-jwt+kb",
        &bare_root,
        delegation_to(&parties, narrow()),
        "d",
        "n",
    );
    let terminal = hop(
        &parties.sub_agent,
        "kb+sd-jwt",
        &delegation,
        action(),
        AUDIENCE,
        NONCE,
    );
    let old = join(&[bare_root.clone(), delegation, terminal]);
    assert!(old.contains(&format!("{}~~", bare_root.trim_end_matches('~'))));
    assert!(verifier(&parties)
        .verify_presentation(&old, &request(), NOW)
        .is_ok());
}
