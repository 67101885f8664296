//! `agentid demo`: the whole scenario, told step by step.

use agentid_verifier::authorize::{authorize, Action};
use agentid_verifier::predicate::Predicate;
use agentid_verifier::{
    did_key, Algorithm, Policy, PresentationRequest, StatusLists, TrustStore, Verifier,
};
use agentid_wallet::{
    issuance_text, unix_now, CredentialRequest, DelegationSpec, KdfParams, Passphrase, Wallet,
    WalletError, PERSON_VCT, TASK_VCT,
};
use rand_core::{OsRng, RngCore};
use serde_json::json;

use crate::cli::DemoArgs;
use crate::error::CliError;
use crate::io::write_file;
use crate::verify_cmd::print_verified;

const VERIFIER_AUDIENCE: &str = "https://payments.bank.example";

pub(crate) fn run(args: &DemoArgs) -> Result<(), CliError> {
    let now = unix_now();
    println!("agentid demo: a task credential for one agent, presented to another organization\n");

    // 1. The people and agents, each with an encrypted wallet.
    let home = tempfile::tempdir()
        .map_err(|error| CliError::failed(format!("temporary directory: {error}")))?;
    // Throwaway wallets: the weakest accepted Argon2id parameters keep the demo quick.
    let kdf = KdfParams::MINIMUM;
    let passphrase = Passphrase::new("demo passphrase, not for real use");
    let create = |name: &str, alg: Algorithm| {
        Wallet::create(&home.path().join(name), &passphrase, &kdf, alg, now)
    };
    let mut principal = create("alice", Algorithm::ES256)?;
    let mut issuer = create("acme-orchestrator", Algorithm::EdDSA)?;
    let mut agent = create("refund-agent", Algorithm::EdDSA)?;
    let principal_did = principal.did().to_owned();
    let issuer_did = issuer.did().to_owned();
    // P-256: the task will be delegated, and AP2 verifiers take ECDSA (ES256) keys
    // for every hop of a mandate chain.
    let task_did = agent.new_task_key("T-2026-0042", Algorithm::ES256, now)?;
    println!(
        "1. Identities (did:key), each in its own encrypted wallet under {}",
        home.path().display()
    );
    println!("   principal (Alice, P-256):            {principal_did}");
    println!("   issuer (Acme orchestrator, Ed25519): {issuer_did}");
    println!("   agent (root identity):               {}", agent.did());
    println!("   agent, fresh key for this task:      {task_did}\n");

    // 2. Issuance.
    let claims = json!({
        "task": {"id": "T-2026-0042", "purpose": "refund order 1234 (damaged in transit)"},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "audience": [VERIFIER_AUDIENCE],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "max_delegation_depth": 1,
        "on_behalf_of": principal_did,
    });
    // Rights claims (scope, resources, audience, constraints) are always disclosed.
    let disclosable = ["task.purpose", "on_behalf_of"];
    let holder_key =
        did_key::decode(&task_did).map_err(|error| CliError::failed(error.to_string()))?;
    let request = CredentialRequest {
        vct: TASK_VCT.into(),
        subject: task_did.clone(),
        holder_key,
        claims: claims.as_object().cloned().unwrap_or_default(),
        disclosable: parse_paths(&disclosable)?,
        lifetime_secs: 15 * 60,
        committed: Vec::new(),
    };
    let credential = issuer.issue(&request, now)?;
    println!(
        "2. The issuer grants the agent one task for 15 minutes (SD-JWT VC, {} bytes)",
        credential.sd_jwt.len()
    );
    println!(
        "   claims: {}",
        serde_json::to_string(&claims).unwrap_or_default()
    );
    println!("   selectively disclosable: {}", disclosable.join(", "));
    let stored_id = agent.receive(&credential.sd_jwt, None, now)?;
    println!("   the agent's wallet verifies it, checks it is bound to its task key, and stores it as {stored_id}\n");

    // 3. Presentation.
    let verifier_request = PresentationRequest::new(VERIFIER_AUDIENCE, nonce());
    let disclosed = ["on_behalf_of"];
    let presentation = agent.present(
        &stored_id,
        &parse_paths(&disclosed)?,
        &verifier_request,
        now,
    )?;
    println!(
        "3. The bank asks for a presentation (audience {}, nonce {})",
        verifier_request.audience, verifier_request.nonce
    );
    println!(
        "   the agent discloses {} and keeps task.purpose to itself (scope, resources and limits are always visible),",
        disclosed.join(" and ")
    );
    println!(
        "   and signs a key-binding JWT with the task key for this audience and nonce ({} bytes)\n",
        presentation.len()
    );

    // 4. Offline verification.
    let mut trust = TrustStore::new();
    trust
        .add_did(&issuer_did)
        .map_err(|error| CliError::failed(error.to_string()))?;
    // The issuer publishes its status list token; the bank takes it as offline input.
    let status_token = issuer.publish_status(now, 3600)?;
    let verifier = Verifier::new(trust.clone(), Policy::default()).with_status_lists(status_lists(
        &status_token,
        &trust,
        now,
    )?);
    println!(
        "4. The bank verifies offline, trusting only the issuer's DID, with the issuer's status list token ({} bytes for {} entries):",
        status_token.len(),
        agentid_wallet::STATUS_LIST_ENTRIES
    );
    let verified = verifier
        .verify_presentation(&presentation, &verifier_request, now)
        .map_err(|error| CliError::failed(format!("demo presentation rejected: {error}")))?;
    print_verified(&verified, now);
    let holder = verified
        .holder_key
        .as_ref()
        .map(did_key::encode)
        .unwrap_or_default();
    println!(
        "   => the agent {} may act for {} with scope {}, up to {} EUR; the task purpose stayed hidden.\n",
        short(&holder),
        short(verified.claims["on_behalf_of"].as_str().unwrap_or_default()),
        verified.claims["scope"],
        verified.claims["constraints"]["max_amount"],
    );

    // 4b. Delegation: the agent hands a narrower part to a sub-agent.
    let mut sub_agent = create("refund-sub-agent", Algorithm::ES256)?;
    let sub_key = sub_agent.new_task_key("T-2026-0042/payout", Algorithm::ES256, now)?;
    let sub_public =
        did_key::decode(&sub_key).map_err(|error| CliError::failed(error.to_string()))?;
    let narrower = |max_amount: u64| DelegationSpec {
        to: sub_public.clone(),
        scope: Some(vec!["refunds:write".into()]),
        resources: None,
        constraints: json!({"max_amount": max_amount})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        lifetime_secs: 10 * 60,
        max_depth: None,
    };
    println!(
        "\n4b. The agent delegates the payout to a sub-agent ({}), up to 20 EUR for 10 minutes:",
        short(&sub_key)
    );
    match agent.delegate(&stored_id, &narrower(80), now) {
        Ok(_) => println!("   asked to delegate up to 80 EUR: SIGNED (unexpected!)"),
        Err(error) => println!("   asked to delegate up to 80 EUR, its wallet refuses: {error}"),
    }
    let delegation = agent.delegate(&stored_id, &narrower(20), now)?;
    let sub_id = sub_agent.receive(&delegation, None, now)?;
    let mut ap2_chain = None;
    for amount in [15, 30] {
        let payout_request = PresentationRequest::new(VERIFIER_AUDIENCE, nonce());
        let payout = json!({"scope": "refunds:write", "resource": "https://shop.example/orders/1234", "amount": amount, "currency": "EUR"});
        let chain_presentation =
            sub_agent.present_action(&sub_id, &payout, &payout_request, now)?;
        let verified = verifier
            .verify_presentation(&chain_presentation, &payout_request, now)
            .map_err(|error| CliError::failed(format!("demo chain rejected: {error}")))?;
        if let (Some(chain), 15) = (&verified.chain, amount) {
            println!(
                "   the bank checks the chain offline: issuer → agent → sub-agent, {} delegation(s); effective rights {} up to {} EUR",
                chain.delegations.len(),
                chain.effective_rights.scope.join(", "),
                chain.effective_rights.constraints["max_amount"]
            );
            println!("   on the wire (Delegate SD-JWT, as AP2 v0.2 verifiers read it; ES256 hops): {chain_presentation}");
            ap2_chain = Some((chain_presentation.clone(), payout_request.clone()));
        }
        // The bank authorizes exactly the action the sub-agent signed.
        let action = Action::from_json(&payout)
            .map_err(|error| CliError::failed(format!("demo action: {error}")))?;
        match authorize(&verified, &action, None) {
            Ok(_) => println!("   refund of {amount} EUR signed by the sub-agent: allowed"),
            Err(denied) => {
                println!("   refund of {amount} EUR signed by the sub-agent: denied ({denied})")
            }
        }
    }
    println!();

    // 5. What an attacker cannot do.
    println!("5. What does not work:");
    let replay = PresentationRequest::new("https://other.example", verifier_request.nonce.clone());
    report(
        "   replayed to another organization",
        verifier.verify_presentation(&presentation, &replay, now),
    );
    // Bound correctly to another bank, but the credential names only this one.
    let other_bank = PresentationRequest::new("https://other-bank.example", nonce());
    let to_other_bank = agent.present(&stored_id, &[], &other_bank, now)?;
    report(
        "   presented to a bank it was not issued for",
        verifier.verify_presentation(&to_other_bank, &other_bank, now),
    );
    let stale = PresentationRequest::new(VERIFIER_AUDIENCE, nonce());
    report(
        "   replayed against a new nonce",
        verifier.verify_presentation(&presentation, &stale, now),
    );
    report(
        "   used after it expired",
        verifier.verify_presentation(&presentation, &verifier_request, now + 20 * 60),
    );
    let mut untrusting = TrustStore::new();
    untrusting
        .add_did(&principal_did)
        .map_err(|error| CliError::failed(error.to_string()))?;
    report(
        "   checked by a verifier that does not trust the issuer",
        Verifier::new(untrusting, Policy::default()).verify_presentation(
            &presentation,
            &verifier_request,
            now,
        ),
    );

    issuer.revoke(&credential.credential_id, now)?;
    let revoked_lists = status_lists(&issuer.publish_status(now, 3600)?, &trust, now)?;
    report(
        "   used after the issuer revoked it (new status list token)",
        Verifier::new(trust.clone(), Policy::default())
            .with_status_lists(revoked_lists)
            .verify_presentation(&presentation, &verifier_request, now),
    );

    // 6. Proving a fact, not the data: Alice is over 18, her birthdate stays hers.
    let mut registry = create("civil-registry", Algorithm::EdDSA)?;
    let person = json!({"given_name": "Alice", "family_name": "Martin", "birthdate": "2001-04-09", "nationality": "FR"});
    let alice_holder_key =
        did_key::decode(&principal_did).map_err(|error| CliError::failed(error.to_string()))?;
    let person_credential = registry.issue(
        &CredentialRequest {
            vct: PERSON_VCT.into(),
            subject: principal_did.clone(),
            holder_key: alice_holder_key,
            claims: person.as_object().cloned().unwrap_or_default(),
            disclosable: parse_paths(&["given_name", "family_name", "birthdate", "nationality"])?,
            lifetime_secs: 365 * 24 * 3600,
            committed: parse_paths(&["birthdate"])?,
        },
        now,
    )?;
    let person_id = principal.receive(
        &issuance_text(&person_credential.sd_jwt, &person_credential.openings),
        None,
        now,
    )?;
    println!(
        "\n6. A civil registry ({}) issues Alice a person credential whose birthdate is",
        short(registry.did())
    );
    println!("   also signed as a Pedersen commitment; Alice's wallet keeps the opening (value, blinding) encrypted.");
    let today = i64::try_from(now / 86_400).unwrap_or_default();
    let over_18 =
        Predicate::parse("age>=18", today).map_err(|error| CliError::failed(error.to_string()))?;
    let age_request = PresentationRequest::new(VERIFIER_AUDIENCE, nonce());
    let age_presentation = principal.present_with_predicates(
        &person_id,
        &[],
        std::slice::from_ref(&over_18),
        &age_request,
        now,
    )?;
    let mut registry_trust = TrustStore::new();
    registry_trust
        .add_did(registry.did())
        .map_err(|error| CliError::failed(error.to_string()))?;
    let registry_status = status_lists(&registry.publish_status(now, 3600)?, &registry_trust, now)?;
    let registry_verifier =
        Verifier::new(registry_trust, Policy::default()).with_status_lists(registry_status);
    let age_verified = registry_verifier
        .verify_presentation(&age_presentation, &age_request, now)
        .map_err(|error| CliError::failed(format!("demo age proof rejected: {error}")))?;
    println!("   The bank asks \"is she 18 or older?\"; Alice proves it in zero knowledge (Bulletproofs).");
    println!(
        "   The bank learns: {}",
        age_verified
            .predicates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let leaked = age_presentation.contains("2001-04-09");
    println!(
        "   and no claim at all ({}); the birthdate is {} the {} bytes the bank received.",
        serde_json::to_string(&age_verified.claims).unwrap_or_default(),
        if leaked {
            "IN (unexpected!)"
        } else {
            "nowhere in"
        },
        age_presentation.len()
    );
    let replay = PresentationRequest::new("https://casino.example", age_request.nonce.clone());
    report(
        "   the same proof replayed to another verifier",
        registry_verifier.verify_presentation(&age_presentation, &replay, now),
    );
    let too_young =
        Predicate::parse("age>=30", today).map_err(|error| CliError::failed(error.to_string()))?;
    match principal.present_with_predicates(&person_id, &[], &[too_young], &age_request, now) {
        Ok(_) => println!("   asked to prove age >= 30: PROVED (unexpected!)"),
        Err(error) => println!("   asked to prove age >= 30, Alice's wallet refuses: {error}"),
    }

    // 7. The task ends: its credential expires and the wallet destroys the task key.
    let later = now + 20 * 60;
    let purged = agent.purge(later)?;
    println!(
        "\n7. After expiry the agent's wallet purges {} credential(s) and destroys {} task key(s); task key still present: {}",
        purged.credentials,
        purged.keys,
        agent.has_key(&task_did)?
    );
    let entries = agent.audit_verify().map_err(WalletError::from)?;
    println!("   its audit log ({entries} hash-chained entries: init, key, receive, present, purge) verifies intact.");

    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|error| {
            CliError::failed(format!("cannot create {}: {error}", dir.display()))
        })?;
        write_file(&dir.join("credential.sd-jwt"), credential.sd_jwt.as_bytes())?;
        write_file(&dir.join("presentation.sd-jwt"), presentation.as_bytes())?;
        let trust_file = json!({"issuers": [{"id": issuer_did}]});
        write_file(&dir.join("trust.json"), trust_file.to_string().as_bytes())?;
        write_file(&dir.join("status.jwt"), status_token.as_bytes())?;
        if let Some((chain, request)) = &ap2_chain {
            write_file(&dir.join("chain.sd-jwt"), chain.as_bytes())?;
            let chain_request = json!({"audience": request.audience, "nonce": request.nonce});
            write_file(
                &dir.join("chain-request.json"),
                chain_request.to_string().as_bytes(),
            )?;
        }
        let request_file =
            json!({"audience": verifier_request.audience, "nonce": verifier_request.nonce});
        write_file(
            &dir.join("request.json"),
            request_file.to_string().as_bytes(),
        )?;
        println!(
            "\nWrote credential.sd-jwt, presentation.sd-jwt, trust.json, status.jwt (before the revocation), request.json, chain.sd-jwt and chain-request.json to {}",
            dir.display()
        );
        println!(
            "Check them yourself (within 5 minutes, the key binding's freshness window):\n  agentid verify {} --audience {} --nonce {} --trust {} --status {}",
            dir.join("presentation.sd-jwt").display(),
            verifier_request.audience,
            verifier_request.nonce,
            dir.join("trust.json").display(),
            dir.join("status.jwt").display()
        );
    }
    Ok(())
}

/// Checks one status list token into the lists a verifier takes.
fn status_lists(token: &str, trust: &TrustStore, now: u64) -> Result<StatusLists, CliError> {
    let mut lists = StatusLists::new();
    lists
        .add_token(token, trust, now, Policy::default().status_max_age_secs)
        .map_err(|error| CliError::failed(format!("demo status list refused: {error}")))?;
    Ok(lists)
}

impl From<WalletError> for CliError {
    fn from(error: WalletError) -> Self {
        CliError::failed(error.to_string())
    }
}

fn parse_paths(paths: &[&str]) -> Result<Vec<agentid_verifier::ClaimPath>, CliError> {
    paths
        .iter()
        .map(|path| {
            path.parse()
                .map_err(|error: agentid_verifier::InvalidClaimPath| {
                    CliError::failed(error.to_string())
                })
        })
        .collect()
}

fn report(what: &str, verdict: Result<agentid_verifier::Verified, agentid_verifier::VerifyError>) {
    match verdict {
        Ok(_) => println!("{what}: ACCEPTED (unexpected!)"),
        Err(error) => println!("{what}: rejected ({})", crate::timefmt::reason(&error)),
    }
}

fn short(did: &str) -> String {
    if did.len() > 24 {
        format!("{}…{}", &did[..16], &did[did.len() - 6..])
    } else {
        did.to_owned()
    }
}

/// A fresh 128-bit request nonce, as a verifier sends with each request.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    agentid_verifier::b64url_encode(&bytes)
}
