//! Action authorization: the verified rights decide, and amounts above
//! `approval_above` need the root principal's approval of that exact action,
//! checked by the same verifier (trust, status lists, policy) as the presentation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentid_verifier::authorize::{authorize, Action, Denied, VerifiedApproval};
use agentid_verifier::{
    Algorithm, Policy, RejectionKind, StatusLists, TrustStore, Verified, Verifier, VerifyError,
};
use agentid_wallet::{
    CredentialRequest, Issuer, KdfParams, Passphrase, SigningKey, Wallet, APPROVAL_VCT, TASK_VCT,
};
use common::{request, NOW};
use serde_json::json;

struct Setup {
    principal: Issuer,
    agent: SigningKey,
    verifier: Verifier,
    verified: Verified,
}

fn task_with_principal(principal: &str) -> serde_json::Map<String, serde_json::Value> {
    json!({
        "task": {"id": "T-5", "purpose": "refunds"},
        "scope": ["refunds:*"],
        "resources": ["https://shop.example/orders/"],
        "constraints": {"max_amount": 100, "approval_above": 20, "currency": "EUR"},
        "on_behalf_of": principal
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn setup() -> Setup {
    let principal = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let (verifier, verified) = present_task(principal.id(), &agent, StatusLists::new());
    Setup {
        principal,
        agent,
        verifier,
        verified,
    }
}

/// A task credential on behalf of `principal`, presented by `agent` and verified by
/// a verifier that trusts its issuer and holds `lists`.
fn present_task(principal: &str, agent: &SigningKey, lists: StatusLists) -> (Verifier, Verified) {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: task_with_principal(principal),
                disclosable: vec![],
                lifetime_secs: 600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap();
    let presentation =
        agentid_wallet::present(&credential.sd_jwt, agent, &[], &request(), NOW).unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default()).with_status_lists(lists);
    let verified = verifier
        .verify_presentation(&presentation, &request(), NOW)
        .unwrap();
    (verifier, verified)
}

fn action(amount: f64) -> Action {
    Action::new("refunds:write", "https://shop.example/orders/1234")
        .with_amount(amount, Some("EUR"))
}

/// An approval credential over `claims`, issued by `by` to `holder`'s key.
fn approval_credential(holder: &SigningKey, by: &Issuer, claims: serde_json::Value) -> String {
    by.issue(
        &CredentialRequest {
            vct: APPROVAL_VCT.into(),
            subject: holder.did().unwrap(),
            holder_key: holder.public_key().clone(),
            claims: claims.as_object().cloned().unwrap(),
            disclosable: vec![],
            lifetime_secs: 300,
            committed: vec![],
        },
        NOW,
    )
    .unwrap()
    .sd_jwt
}

/// The principal `by` approves `approved` for `holder` (the action shown and its digest).
fn approval_for(holder: &SigningKey, by: &Issuer, approved: &Action) -> String {
    approval_credential(
        holder,
        by,
        json!({"action_digest": approved.digest(), "action": approved.to_json()}),
    )
}

fn verify_approval(setup: &Setup, approval: &str) -> Result<VerifiedApproval, Denied> {
    setup
        .verifier
        .verify_approval(approval, &setup.verified, NOW)
}

#[test]
fn rights_decide_scope_resource_and_amount() {
    let setup = setup();
    let allowed = authorize(&setup.verified, &action(10.0), None).unwrap();
    assert_eq!(allowed.action, action(10.0));
    assert!(!allowed.delegated && !allowed.approval_checked);
    assert_eq!(allowed.constraints.len(), 3);
    let mut other_scope = action(10.0);
    other_scope.scope = "orders:delete".into();
    assert!(matches!(
        authorize(&setup.verified, &other_scope, None),
        Err(Denied::Scope(_))
    ));
    let mut other_resource = action(10.0);
    other_resource.resource = "https://shop.example/customers/7".into();
    assert!(matches!(
        authorize(&setup.verified, &other_resource, None),
        Err(Denied::Resource(_))
    ));
    assert_eq!(
        authorize(&setup.verified, &action(150.0), None),
        Err(Denied::Amount {
            amount: 150.0,
            limit: 100.0
        })
    );
}

#[test]
fn above_the_threshold_the_principal_must_approve_this_exact_action() {
    let setup = setup();
    let wanted = action(50.0);
    assert_eq!(
        authorize(&setup.verified, &wanted, None),
        Err(Denied::ApprovalRequired(20.0))
    );

    let for_other_action = verify_approval(
        &setup,
        &approval_for(&setup.agent, &setup.principal, &action(49.0)),
    )
    .unwrap();
    assert_eq!(
        authorize(&setup.verified, &wanted, Some(&for_other_action)),
        Err(Denied::ApprovalMismatch("approves another action"))
    );
    let stranger = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    assert!(matches!(
        verify_approval(&setup, &approval_for(&setup.agent, &stranger, &wanted)),
        Err(Denied::ApprovalRejected(VerifyError::UntrustedIssuer(_)))
    ));
    let to_another_agent = approval_for(
        &SigningKey::generate(Algorithm::EdDSA),
        &setup.principal,
        &wanted,
    );
    assert_eq!(
        verify_approval(&setup, &to_another_agent).err(),
        Some(Denied::ApprovalMismatch("issued to another holder"))
    );
    let approved = verify_approval(
        &setup,
        &approval_for(&setup.agent, &setup.principal, &wanted),
    )
    .unwrap();
    let allowed = authorize(&setup.verified, &wanted, Some(&approved)).unwrap();
    assert!(allowed.approval_checked);
    // The limit still holds with an approval.
    let too_much = action(150.0);
    let approved_too_much = verify_approval(
        &setup,
        &approval_for(&setup.agent, &setup.principal, &too_much),
    )
    .unwrap();
    assert!(matches!(
        authorize(&setup.verified, &too_much, Some(&approved_too_much)),
        Err(Denied::Amount { .. })
    ));
}

/// An approval that shows 15 EUR must not authorize 45 EUR: the digest is recomputed
/// from the action the approval shows, and that action is what is approved.
#[test]
fn an_approval_digest_is_derived_from_the_action_it_shows() {
    let setup = setup();
    let shown = action(15.0);
    let wanted = action(45.0);
    let mismatched = approval_credential(
        &setup.agent,
        &setup.principal,
        json!({"action_digest": wanted.digest(), "action": shown.to_json()}),
    );
    assert_eq!(
        verify_approval(&setup, &mismatched).err(),
        Some(Denied::ApprovalMismatch(
            "its action_digest is not the digest of the action it shows"
        ))
    );
    // Written as 45.0, with members in another order: the same action.
    let respelled = approval_credential(
        &setup.agent,
        &setup.principal,
        json!({"action_digest": wanted.digest(), "action": {"currency": "EUR", "amount": 45.0, "resource": wanted.resource, "scope": wanted.scope}}),
    );
    let approved = verify_approval(&setup, &respelled).unwrap();
    assert!(authorize(&setup.verified, &wanted, Some(&approved)).is_ok());
    let forty_five =
        Action::parse("refunds:write https://shop.example/orders/1234 45 EUR").unwrap();
    assert!(authorize(&setup.verified, &forty_five, Some(&approved)).is_ok());
}

/// Approvals are checked with the presentation's status lists: revoking one takes
/// effect as it does for any credential, and one whose list is missing is of
/// unknown status. (Before, a fresh verifier without status lists checked them.)
#[test]
fn a_revoked_approval_authorizes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut principal = Wallet::create(
        &dir.path().join("principal"),
        &Passphrase::new("passphrase"),
        &KdfParams::MINIMUM,
        Algorithm::EdDSA,
        NOW,
    )
    .unwrap();
    let principal_did = principal.did().to_owned();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let wanted = action(50.0);
    let approval = principal
        .approve(&agent.did().unwrap(), &wanted, 300, NOW)
        .unwrap();

    let (verifier, verified) = present_task(&principal_did, &agent, StatusLists::new());
    let missing = verifier.verify_approval(&approval.sd_jwt, &verified, NOW);
    assert!(
        matches!(&missing, Err(Denied::ApprovalRejected(error)) if error.kind() == RejectionKind::StatusUnknown),
        "{missing:?}"
    );

    // The principal's own status list token: a did:key signer speaks for what it
    // issued without being a trusted issuer.
    let lists_with = |token: &str| {
        let mut lists = StatusLists::new();
        lists
            .add_token(token, &TrustStore::new(), NOW, 3600)
            .unwrap();
        lists
    };
    let valid_token = principal.publish_status(NOW, 3600).unwrap();
    principal.revoke(&approval.credential_id, NOW).unwrap();
    let revoked_token = principal.publish_status(NOW + 1, 3600).unwrap();

    let (verifier, verified) = present_task(&principal_did, &agent, lists_with(&valid_token));
    let approved = verifier
        .verify_approval(&approval.sd_jwt, &verified, NOW)
        .unwrap();
    assert!(
        authorize(&verified, &wanted, Some(&approved))
            .unwrap()
            .approval_checked
    );

    let (verifier, verified) = present_task(&principal_did, &agent, lists_with(&revoked_token));
    let revoked = verifier.verify_approval(&approval.sd_jwt, &verified, NOW);
    assert!(
        matches!(
            &revoked,
            Err(Denied::ApprovalRejected(VerifyError::Revoked(_)))
        ),
        "{revoked:?}"
    );
}

#[test]
fn amounts_that_compare_false_with_every_limit_are_denied() {
    let setup = setup();
    // NaN > 100 is false, so without the check a NaN refund would pass max_amount;
    // a negative or infinite amount is no sum at all.
    for amount in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
        assert!(
            matches!(
                authorize(&setup.verified, &action(amount), None),
                Err(Denied::InvalidAction(_))
            ),
            "{amount}"
        );
    }
    assert!(Action::parse("refunds:write https://shop.example/orders/1 NaN").is_err());
}

/// Rights claims must be issuer-signed in the clear: a limit the holder could leave
/// out is no limit. The wallet's issuer refuses to conceal one; the verifier refuses
/// rights from a credential that conceals one (here made by hand), whether or not
/// the holder disclosed it.
#[test]
fn concealable_rights_grant_nothing() {
    use agentid_verifier::sha256_b64;
    use common::forge::Forge;
    use common::{disclosure, fixture};

    let forge = Forge::new();
    let max_amount = disclosure(&json!(["salt-1", "max_amount", 20]));
    let mut payload = forge.payload();
    payload["scope"] = json!(["refunds:*"]);
    payload["constraints"] = json!({"currency": "EUR", "_sd": [sha256_b64(&max_amount)]});
    for disclosed in [vec![], vec![max_amount.clone()]] {
        let verified = forge
            .verify(&forge.present(&forge.header(), &payload, &disclosed))
            .unwrap();
        assert!(verified.rights_concealable());
        assert_eq!(
            authorize(&verified, &action(10.0), None),
            Err(Denied::ConcealableRights)
        );
    }
    // A whole rights claim in a disclosure is refused the same way.
    let scope = disclosure(&json!(["salt-2", "scope", ["refunds:*"]]));
    let mut payload = forge.payload();
    payload["_sd"] = json!([sha256_b64(&scope)]);
    let verified = forge
        .verify(&forge.present(&forge.header(), &payload, &[scope]))
        .unwrap();
    assert_eq!(
        authorize(&verified, &action(10.0), None),
        Err(Denied::ConcealableRights)
    );
    // Registered claims the SD-JWT VC spec keeps visible may not come from a disclosure.
    let plain = forge.payload();
    let status = json!({"status_list": {"idx": 1, "uri": "https://issuer.example/status/1"}});
    for (name, value) in [
        ("exp", plain["exp"].clone()),
        ("nbf", plain["nbf"].clone()),
        ("vct", plain["vct"].clone()),
        ("cnf", plain["cnf"].clone()),
        ("status", status),
    ] {
        let concealed = disclosure(&json!(["salt-3", name, value]));
        let mut payload = forge.payload();
        payload.as_object_mut().unwrap().remove(name);
        payload["_sd"] = json!([sha256_b64(&concealed)]);
        assert!(
            matches!(
                forge.verify(&forge.present(&forge.header(), &payload, &[concealed])),
                Err(agentid_verifier::VerifyError::InvalidDisclosure(_))
            ),
            "{name}"
        );
    }

    // A delegation from a root whose limit is concealable is refused on every hop
    // after it, even though the delegator handed on no disclosure of it.
    let mut payload = forge.payload();
    payload["scope"] = json!(["refunds:*"]);
    payload["max_delegation_depth"] = json!(1);
    payload["constraints"] = json!({"currency": "EUR", "_sd": [sha256_b64(&max_amount)]});
    // The principal, which a delegation forwards (a chain's root carries a disclosure).
    let principal = disclosure(&json!([
        "salt-4",
        "on_behalf_of",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    ]));
    payload["_sd"] = json!([sha256_b64(&principal)]);
    let root = forge.credential(&forge.header(), &payload, &[max_amount, principal]);
    let rights = agentid_verifier::delegation::Rights::from_root(
        json!({"scope": ["refunds:*"], "max_delegation_depth": 1})
            .as_object()
            .unwrap(),
        Some(NOW + 600),
    )
    .unwrap();
    let sub_agent = SigningKey::generate(Algorithm::EdDSA);
    let spec = agentid_wallet::DelegationSpec {
        to: sub_agent.public_key().clone(),
        scope: None,
        resources: None,
        constraints: serde_json::Map::new(),
        lifetime_secs: 300,
        max_depth: None,
    };
    let delegation = agentid_wallet::delegate(&root, &forge.holder, &rights, &spec, NOW).unwrap();
    assert!(matches!(
        forge.verifier().verify_credential(&delegation, NOW),
        Err(agentid_verifier::VerifyError::InvalidDisclosure(reason)) if reason.contains("selectively disclosable")
    ));

    // The wallet's issuer refuses to make any rights claim disclosable.
    let issuer = fixture(Algorithm::EdDSA).issuer;
    let agent = SigningKey::generate(Algorithm::EdDSA);
    for path in [
        "constraints",
        "constraints.max_amount",
        "scope[0]",
        "resources",
        "audience",
    ] {
        let request = CredentialRequest {
            vct: TASK_VCT.into(),
            subject: agent.did().unwrap(),
            holder_key: agent.public_key().clone(),
            claims: common::task_claims(),
            disclosable: vec![path.parse().unwrap()],
            lifetime_secs: 600,
            committed: vec![],
        };
        assert!(
            matches!(
                issuer.issue(&request, NOW),
                Err(agentid_wallet::WalletError::InvalidRequest(reason)) if reason.contains("rights")
            ),
            "{path}"
        );
    }
}

#[test]
fn a_credential_without_key_binding_authorizes_nothing() {
    let setup = setup();
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA)).unwrap();
    let mut claims = common::task_claims();
    claims.insert("scope".into(), json!(["refunds:*"]));
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: setup.agent.did().unwrap(),
                holder_key: setup.agent.public_key().clone(),
                claims,
                disclosable: vec![],
                lifetime_secs: 600,
                committed: vec![],
            },
            NOW,
        )
        .unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let unbound = Verifier::new(trust, Policy::default())
        .verify_credential(&credential.sd_jwt, NOW)
        .unwrap();
    assert_eq!(
        authorize(&unbound, &action(1.0), None),
        Err(Denied::Unbound)
    );
}

#[test]
fn resources_outside_the_prefix_by_dot_segments_or_siblings_are_denied() {
    let setup = setup();
    for resource in [
        "https://shop.example/orders/../customers/7",
        "https://shop.example/orders/%2e%2e/customers/7",
        "https://shop.example/orders-archive/7",
    ] {
        let mut wanted = action(1.0);
        wanted.resource = resource.into();
        assert!(
            matches!(
                authorize(&setup.verified, &wanted, None),
                Err(Denied::Resource(_))
            ),
            "{resource}"
        );
    }
}

/// Rule: an approval authorizes the one action it shows and no other; every pair of
/// distinct actions, approvals swapped between them, is refused (and equal actions
/// in another spelling are the same action).
#[test]
fn approvals_swapped_between_actions_are_refused() {
    let setup = setup();
    let base = action(50.0);
    let mut actions = vec![
        base.clone(),
        action(45.0),
        action(50.01),
        action(100.0),
        Action::new(base.scope.clone(), base.resource.clone()).with_amount(50.0, Some("USD")),
        Action::new("refunds:read", base.resource.clone()).with_amount(50.0, Some("EUR")),
        Action::new(base.scope.clone(), "https://shop.example/orders/1235")
            .with_amount(50.0, Some("EUR")),
        Action::new(base.scope.clone(), "https://shop.example/orders/1234/")
            .with_amount(50.0, Some("EUR")),
    ];
    actions.dedup();
    let approvals: Vec<VerifiedApproval> = actions
        .iter()
        .map(|approved| {
            verify_approval(
                &setup,
                &approval_for(&setup.agent, &setup.principal, approved),
            )
            .unwrap()
        })
        .collect();
    for (i, wanted) in actions.iter().enumerate() {
        for (j, approval) in approvals.iter().enumerate() {
            let verdict = authorize(&setup.verified, wanted, Some(approval));
            if i == j {
                // Allowed unless the rights themselves refuse it (scope, currency).
                assert!(
                    !matches!(verdict, Err(Denied::ApprovalMismatch(_))),
                    "{wanted}: {verdict:?}"
                );
            } else {
                assert!(
                    verdict.is_err(),
                    "approval for {} accepted for {wanted}",
                    approval.action
                );
            }
        }
    }
    let respelled = Action::parse(r#"{"amount": 5e1, "currency": "EUR", "scope": "refunds:write", "resource": "https://shop.example/orders/1234"}"#).unwrap();
    assert!(authorize(&setup.verified, &respelled, Some(&approvals[0])).is_ok());
}
