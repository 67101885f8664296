//! The wallet's promises: nothing readable at rest, a wrong passphrase changes
//! nothing, one process at a time, only valid credentials bound to its own keys,
//! purge destroys per-task keys, the audit log detects tampering, backups restore.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentid_verifier::{
    b64url_encode, Algorithm, Policy, PresentationRequest, TrustStore, Verifier,
};
use agentid_wallet::store::{Batch, Kind};
use agentid_wallet::{
    AuditError, CredentialRequest, KdfLimits, KdfOrigin, KdfParameter, KdfParams, Passphrase,
    StoreError, Wallet, WalletError, MAX_KDF_MEMORY_KIB, MAX_KDF_PASSES, TASK_VCT,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

const NOW: u64 = 1_800_000_000;
const KDF: KdfParams = KdfParams::MINIMUM;

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple")
}

fn claims(marker: &str) -> Map<String, Value> {
    json!({
        "task": {"id": "T-1", "purpose": marker},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn request_for(holder_did: &str, marker: &str, lifetime_secs: u64) -> CredentialRequest {
    let holder_key = agentid_verifier::did_key::decode(holder_did).unwrap();
    CredentialRequest {
        vct: TASK_VCT.into(),
        subject: holder_did.into(),
        holder_key,
        claims: claims(marker),
        disclosable: vec![
            "task.purpose".parse().unwrap(),
            "on_behalf_of".parse().unwrap(),
        ],
        lifetime_secs,
        committed: Vec::new(),
    }
}

fn create(dir: &Path) -> Wallet {
    Wallet::create(dir, &passphrase(), &KDF, Algorithm::EdDSA, NOW).unwrap()
}

/// Every file under `dir`, path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[test]
fn nothing_readable_on_disk() {
    let root = tempfile::tempdir().unwrap();
    let marker = format!(
        "MARKER-{}",
        b64url_encode(&agentid_wallet::store::random_token())
    );
    let mut issuer_wallet = create(&root.path().join("issuer"));
    let mut agent_wallet = create(&root.path().join("agent"));
    let task_did = agent_wallet
        .new_task_key("T-1", Algorithm::ES256, NOW)
        .unwrap();
    let issued = issuer_wallet
        .issue(&request_for(&task_did, &marker, 900), NOW)
        .unwrap();
    let id = agent_wallet.receive(&issued.sd_jwt, None, NOW).unwrap();
    let request = PresentationRequest::new("https://bank.example", "nonce-1");
    let presentation = agent_wallet
        .present(&id, &["task.purpose".parse().unwrap()], &request, NOW)
        .unwrap();

    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("marker".into(), marker.clone().into_bytes()),
        ("credential".into(), issued.sd_jwt.clone().into_bytes()),
        (
            "issuer JWT".into(),
            issued.sd_jwt.split('~').next().unwrap().as_bytes().to_vec(),
        ),
        ("presentation".into(), presentation.clone().into_bytes()),
        ("jti".into(), issued.credential_id.clone().into_bytes()),
        ("wallet credential id".into(), id.clone().into_bytes()),
        ("vct".into(), TASK_VCT.as_bytes().to_vec()),
    ];
    for disclosure in issued
        .sd_jwt
        .split('~')
        .skip(1)
        .filter(|part| !part.is_empty())
    {
        secrets.push(("disclosure".into(), disclosure.as_bytes().to_vec()));
    }
    for (wallet, did) in [
        (&issuer_wallet, issuer_wallet.did().to_owned()),
        (&agent_wallet, agent_wallet.did().to_owned()),
        (&agent_wallet, task_did.clone()),
    ] {
        secrets.push((format!("DID {did}"), did.clone().into_bytes()));
        secrets.push((
            "DID key part".into(),
            did.as_bytes()["did:key:".len()..].to_vec(),
        ));
        let key = wallet.signing_key(&did).unwrap();
        let raw = key.expose_secret_bytes();
        let hex: String = raw.iter().map(|byte| format!("{byte:02x}")).collect();
        secrets.push(("private key (raw)".into(), raw.to_vec()));
        secrets.push(("private key (hex)".into(), hex.into_bytes()));
        secrets.push((
            "private key (base64url)".into(),
            b64url_encode(&raw).into_bytes(),
        ));
        let public = key.public_key().to_compressed_bytes();
        secrets.push((
            "public key (base64url)".into(),
            b64url_encode(&public).into_bytes(),
        ));
    }
    drop(issuer_wallet);
    drop(agent_wallet);

    let files = snapshot(root.path());
    assert!(
        files.len() >= 6,
        "both wallets wrote files: {:?}",
        files.keys()
    );
    for (path, bytes) in &files {
        for (what, secret) in &secrets {
            assert!(
                !contains(bytes, secret),
                "{what} readable in {}",
                path.display()
            );
        }
    }
}

#[test]
fn wrong_passphrase_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w");
    drop(create(&path));
    let before = snapshot(&path);
    let error = Wallet::open(&path, &Passphrase::new("wrong")).unwrap_err();
    assert!(
        matches!(error, WalletError::Store(StoreError::WrongPassphrase)),
        "{error}"
    );
    assert_eq!(error.to_string(), "wrong passphrase");
    assert_eq!(
        snapshot(&path),
        before,
        "files changed after a wrong passphrase"
    );
    assert!(Wallet::open(&path, &passphrase()).is_ok());
}

#[test]
fn kdf_parameters_in_the_header_cannot_be_swapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w");
    drop(create(&path));
    let header_path = path.join("wallet.header");
    let original = std::fs::read(&header_path).unwrap();
    let mut header: Value = serde_json::from_slice(&original).unwrap();
    // Other valid parameters: the key they derive differs, and the sealed data key's
    // associated data names the parameters it was sealed under.
    header["kdf"]["memory_kib"] = json!(KDF.memory_kib * 2);
    std::fs::write(&header_path, serde_json::to_vec(&header).unwrap()).unwrap();
    let before = snapshot(&path);
    assert!(matches!(
        Wallet::open(&path, &passphrase()),
        Err(WalletError::Store(StoreError::WrongPassphrase))
    ));
    assert_eq!(snapshot(&path), before, "nothing changed");
    // Parameters below the minimum or beyond the format are refused before any work.
    for (name, value) in [
        ("memory_kib", json!(1)),
        ("memory_kib", json!(u32::MAX)),
        ("iterations", json!(0)),
        ("iterations", json!(65)),
        ("parallelism", json!(0)),
        ("parallelism", json!(17)),
    ] {
        let mut weak: Value = serde_json::from_slice(&original).unwrap();
        weak["kdf"][name] = value;
        std::fs::write(&header_path, serde_json::to_vec(&weak).unwrap()).unwrap();
        assert!(
            matches!(
                Wallet::open(&path, &passphrase()),
                Err(WalletError::Store(StoreError::InvalidKdfParams(_)))
            ),
            "{name}"
        );
    }
    std::fs::write(&header_path, &original).unwrap();
    assert!(Wallet::open(&path, &passphrase()).is_ok());
}

/// The parameter, requested value and ceiling named by a `KdfAboveCeiling` error
/// from `origin`; panics on any other result.
fn above_ceiling(
    result: Result<Wallet, WalletError>,
    origin: KdfOrigin,
) -> (KdfParameter, u32, u32) {
    match result {
        Err(WalletError::Store(StoreError::KdfAboveCeiling {
            origin: found,
            parameter,
            requested,
            ceiling,
        })) if found == origin => (parameter, requested, ceiling),
        other => panic!("expected KdfAboveCeiling from {origin}, got {other:?}"),
    }
}

#[test]
fn kdf_parameters_above_the_ceiling_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w");
    drop(create(&path));
    let header_path = path.join("wallet.header");
    let original = std::fs::read(&header_path).unwrap();
    let edit = |memory_kib: u32, iterations: u32, parallelism: u32| {
        let mut header: Value = serde_json::from_slice(&original).unwrap();
        header["kdf"] = json!({
            "memory_kib": memory_kib,
            "iterations": iterations,
            "parallelism": parallelism,
        });
        std::fs::write(&header_path, serde_json::to_vec(&header).unwrap()).unwrap();
    };
    // 4 GiB and 64 passes: the most the format admits, minutes of work if it ran.
    edit(4 * 1024 * 1024, 64, 1);
    let before = snapshot(&path);
    let started = std::time::Instant::now();
    let result = Wallet::open(&path, &passphrase());
    let elapsed = started.elapsed();
    let error = result.as_ref().unwrap_err().to_string();
    assert_eq!(
        above_ceiling(result, KdfOrigin::WalletHeader),
        (KdfParameter::Memory, 4 * 1024 * 1024, MAX_KDF_MEMORY_KIB)
    );
    assert_eq!(
        error,
        "wallet header asks for 4194304 KiB of Argon2id memory, above the 1048576 KiB ceiling"
    );
    // Refused before Argon2id runs: 4 GiB × 64 passes would take minutes (the bound
    // is loose, for a loaded machine).
    assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(snapshot(&path), before, "nothing changed");
    // Each parameter on its own, one step past its ceiling, with the others cheap.
    let min = KdfParams::MINIMUM;
    for (params, expected) in [
        (
            (MAX_KDF_MEMORY_KIB + 1, min.iterations, min.parallelism),
            KdfParameter::Memory,
        ),
        (
            (min.memory_kib, MAX_KDF_PASSES + 1, min.parallelism),
            KdfParameter::Passes,
        ),
        (
            (min.memory_kib, min.iterations, 9),
            KdfParameter::Parallelism,
        ),
    ] {
        edit(params.0, params.1, params.2);
        let (parameter, _, _) =
            above_ceiling(Wallet::open(&path, &passphrase()), KdfOrigin::WalletHeader);
        assert_eq!(parameter, expected);
    }
    // The opt-in lifts the ceiling: the edited (cheap) header is now derived from,
    // and the associated data then tells that its parameters were swapped.
    edit(min.memory_kib, MAX_KDF_PASSES + 1, min.parallelism);
    assert!(matches!(
        Wallet::open_with_limits(&path, &passphrase(), &KdfLimits::FORMAT_MAXIMUM),
        Err(WalletError::Store(StoreError::WrongPassphrase))
    ));
    std::fs::write(&header_path, &original).unwrap();
    assert!(Wallet::open(&path, &passphrase()).is_ok());
}

#[test]
fn a_wallet_created_above_the_ceiling_opens_only_with_the_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w");
    let expensive = KdfParams {
        iterations: MAX_KDF_PASSES + 1,
        ..KDF
    };
    let did = Wallet::create(&path, &passphrase(), &expensive, Algorithm::EdDSA, NOW)
        .unwrap()
        .did()
        .to_owned();
    let before = snapshot(&path);
    assert_eq!(
        above_ceiling(Wallet::open(&path, &passphrase()), KdfOrigin::WalletHeader),
        (KdfParameter::Passes, MAX_KDF_PASSES + 1, MAX_KDF_PASSES)
    );
    assert_eq!(snapshot(&path), before, "nothing changed");
    let wallet =
        Wallet::open_with_limits(&path, &passphrase(), &KdfLimits::FORMAT_MAXIMUM).unwrap();
    assert_eq!(wallet.did(), did);
    drop(wallet);
    // Limits can also be lowered below the default.
    let tight = KdfLimits::up_to(KdfParams::MINIMUM);
    assert_eq!(
        above_ceiling(
            Wallet::open_with_limits(&path, &passphrase(), &tight),
            KdfOrigin::WalletHeader
        ),
        (KdfParameter::Passes, MAX_KDF_PASSES + 1, 1)
    );
}

#[test]
fn a_crafted_backup_above_the_ceiling_is_refused_and_creates_no_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = create(&dir.path().join("w"));
    let backup = dir.path().join("backup.agentid");
    wallet.export(&backup, &passphrase(), &KDF, NOW).unwrap();
    let original = std::fs::read(&backup).unwrap();
    let mut crafted: Value = serde_json::from_slice(&original).unwrap();
    crafted["kdf"] = json!({"memory_kib": 4 * 1024 * 1024, "iterations": 64, "parallelism": 1});
    std::fs::write(&backup, serde_json::to_vec(&crafted).unwrap()).unwrap();
    let target = dir.path().join("restored");
    let started = std::time::Instant::now();
    let result = Wallet::import(&target, &backup, &passphrase(), &passphrase(), &KDF, NOW);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        above_ceiling(result, KdfOrigin::Backup),
        (KdfParameter::Memory, 4 * 1024 * 1024, MAX_KDF_MEMORY_KIB)
    );
    assert!(!target.exists(), "no wallet directory is created");
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        serde_json::to_vec(&crafted).unwrap()
    );

    // A genuine backup above the ceiling needs the opt-in, and then restores.
    let expensive = KdfParams {
        iterations: MAX_KDF_PASSES + 1,
        ..KDF
    };
    wallet
        .export(&backup, &passphrase(), &expensive, NOW)
        .unwrap();
    assert_eq!(
        above_ceiling(
            Wallet::import(&target, &backup, &passphrase(), &passphrase(), &KDF, NOW),
            KdfOrigin::Backup
        ),
        (KdfParameter::Passes, MAX_KDF_PASSES + 1, MAX_KDF_PASSES)
    );
    assert!(!target.exists(), "no wallet directory is created");
    let restored = Wallet::import_with_limits(
        &target,
        &backup,
        &passphrase(),
        &passphrase(),
        &KDF,
        &KdfLimits::FORMAT_MAXIMUM,
        NOW,
    )
    .unwrap();
    assert_eq!(restored.did(), wallet.did());
}

#[test]
fn passphrase_change_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w");
    let mut issuer = create(&dir.path().join("issuer"));
    let mut wallet = create(&path);
    let did = wallet.did().to_owned();
    let mut ids = Vec::new();
    for n in 0..5 {
        let issued = issuer
            .issue(&request_for(&did, &format!("task {n}"), 900), NOW)
            .unwrap();
        ids.push(wallet.receive(&issued.sd_jwt, None, NOW).unwrap());
    }
    let new = Passphrase::new("a new passphrase");
    wallet.change_passphrase(&new, &KDF, NOW).unwrap();
    drop(wallet);
    assert!(matches!(
        Wallet::open(&path, &passphrase()),
        Err(WalletError::Store(StoreError::WrongPassphrase))
    ));
    let wallet = Wallet::open(&path, &new).unwrap();
    assert_eq!(wallet.did(), did);
    let listed: Vec<String> = wallet
        .list()
        .unwrap()
        .into_iter()
        .map(|summary| summary.id)
        .collect();
    assert_eq!(listed.len(), 5);
    for id in &ids {
        assert!(listed.contains(id));
        assert!(wallet.show(id).is_ok());
    }
    assert_eq!(wallet.audit_verify().unwrap(), 1 + 5 + 1);
}

#[test]
fn a_second_opener_gets_wallet_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w");
    let wallet = create(&path);
    let error = Wallet::open(&path, &passphrase()).unwrap_err();
    assert!(
        matches!(error, WalletError::Store(StoreError::InUse(_))),
        "{error}"
    );
    assert!(error.to_string().starts_with("wallet in use"));
    drop(wallet);
    assert!(
        Wallet::open(&path, &passphrase()).is_ok(),
        "the lock is released on drop"
    );
}

#[test]
fn receive_refuses_invalid_and_foreign_bound_credentials_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = create(&dir.path().join("issuer"));
    let mut wallet = create(&dir.path().join("agent"));
    let other = create(&dir.path().join("other"));

    let foreign = issuer
        .issue(&request_for(other.did(), "x", 900), NOW)
        .unwrap();
    let error = wallet.receive(&foreign.sd_jwt, None, NOW).unwrap_err();
    assert!(matches!(error, WalletError::NotBoundToWallet(_)), "{error}");

    let mine = issuer
        .issue(&request_for(wallet.did(), "x", 900), NOW)
        .unwrap();
    let mut tampered = mine.sd_jwt.clone();
    let position = tampered.find('.').unwrap() + 5;
    tampered.replace_range(
        position..=position,
        if &tampered[position..=position] == "A" {
            "B"
        } else {
            "A"
        },
    );
    assert!(matches!(
        wallet.receive(&tampered, None, NOW),
        Err(WalletError::Verify(_))
    ));
    assert!(
        matches!(
            wallet.receive(&mine.sd_jwt, None, NOW + 3600),
            Err(WalletError::Verify(_))
        ),
        "expired"
    );
    assert!(matches!(
        wallet.receive("garbage", None, NOW),
        Err(WalletError::Verify(_))
    ));

    // A trust store that does not list the issuer.
    let mut strangers = TrustStore::new();
    strangers.add_did(other.did()).unwrap();
    assert!(matches!(
        wallet.receive(&mine.sd_jwt, Some(&strangers), NOW),
        Err(WalletError::Verify(_))
    ));

    assert!(
        wallet.list().unwrap().is_empty(),
        "nothing invalid was stored"
    );
    let id = wallet.receive(&mine.sd_jwt, None, NOW).unwrap();
    let again = wallet.receive(&mine.sd_jwt, None, NOW).unwrap_err();
    assert!(
        matches!(&again, WalletError::AlreadyHeld(existing) if *existing == id),
        "{again}"
    );
    assert_eq!(wallet.list().unwrap().len(), 1);
}

#[test]
fn present_from_the_store_verifies_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = create(&dir.path().join("issuer"));
    let mut wallet = create(&dir.path().join("agent"));
    let task = wallet.new_task_key("T-1", Algorithm::EdDSA, NOW).unwrap();
    let issued = issuer
        .issue(&request_for(&task, "refund 1234", 900), NOW)
        .unwrap();
    let id = wallet.receive(&issued.sd_jwt, None, NOW).unwrap();
    let request = PresentationRequest::new("https://bank.example", "n-1");
    let presentation = wallet
        .present(&id, &["on_behalf_of".parse().unwrap()], &request, NOW + 5)
        .unwrap();

    let mut trust = TrustStore::new();
    trust.add_did(issuer.did()).unwrap();
    let lists_at = |token: &str| {
        let mut lists = agentid_verifier::StatusLists::new();
        lists.add_token(token, &trust, NOW + 5, 3600).unwrap();
        lists
    };
    let status = lists_at(&issuer.publish_status(NOW, 3600).unwrap());
    let verified = Verifier::new(trust.clone(), Policy::default())
        .with_status_lists(status)
        .verify_presentation(&presentation, &request, NOW + 5)
        .unwrap();
    assert_eq!(verified.claims["constraints"]["max_amount"], 50);
    // Without the issuer's status list the verifier fails closed; after a
    // revocation the new list rejects the same presentation.
    assert!(matches!(
        Verifier::new(trust.clone(), Policy::default()).verify_presentation(
            &presentation,
            &request,
            NOW + 5
        ),
        Err(agentid_verifier::VerifyError::StatusUnknown(_))
    ));
    issuer.revoke(&issued.credential_id, NOW + 1).unwrap();
    let revoked = lists_at(&issuer.publish_status(NOW + 2, 3600).unwrap());
    assert!(matches!(
        Verifier::new(trust.clone(), Policy::default())
            .with_status_lists(revoked)
            .verify_presentation(&presentation, &request, NOW + 5),
        Err(agentid_verifier::VerifyError::Revoked(_))
    ));
    assert!(matches!(
        issuer.revoke("urn:unknown", NOW),
        Err(WalletError::NotFound(_))
    ));
    assert!(verified.claims["task"].get("purpose").is_none());

    let last = wallet.audit_entries().unwrap().pop().unwrap();
    assert_eq!(last.action, agentid_wallet::AuditAction::Present);
    assert_eq!(last.details["audience"], "https://bank.example");
    assert_eq!(last.details["nonce"], "n-1");
    assert_eq!(last.details["disclosed"], json!(["on_behalf_of"]));
    assert!(
        !last.details.to_string().contains("refund 1234"),
        "no claim values in the audit log"
    );

    let details = wallet.show(&id).unwrap();
    assert_eq!(details.claims["task"]["purpose"], "refund 1234");
    assert!(details.disclosable.contains(&"task.purpose".to_owned()));
    assert!(matches!(
        wallet.present(&id, &[], &request, NOW + 900),
        Err(WalletError::Expired(_))
    ));
}

#[test]
fn lookups_by_type_and_issuer_use_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer_a = create(&dir.path().join("a"));
    let mut issuer_b = create(&dir.path().join("b"));
    let mut wallet = create(&dir.path().join("agent"));
    let did = wallet.did().to_owned();
    for n in 0..3 {
        let credential = issuer_a
            .issue(&request_for(&did, &format!("a{n}"), 900), NOW)
            .unwrap();
        wallet.receive(&credential.sd_jwt, None, NOW).unwrap();
    }
    let credential = issuer_b.issue(&request_for(&did, "b", 900), NOW).unwrap();
    wallet.receive(&credential.sd_jwt, None, NOW).unwrap();
    assert_eq!(wallet.find_by_issuer(issuer_a.did()).unwrap().len(), 3);
    assert_eq!(wallet.find_by_issuer(issuer_b.did()).unwrap().len(), 1);
    assert_eq!(wallet.find_by_vct(TASK_VCT).unwrap().len(), 4);
    assert!(wallet.find_by_vct("urn:other").unwrap().is_empty());
}

#[test]
fn purge_removes_expired_credentials_and_destroys_their_task_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = create(&dir.path().join("issuer"));
    let mut wallet = create(&dir.path().join("agent"));
    let short_task = wallet.new_task_key("short", Algorithm::EdDSA, NOW).unwrap();
    let long_task = wallet.new_task_key("long", Algorithm::ES256, NOW).unwrap();
    let short = issuer
        .issue(&request_for(&short_task, "short", 600), NOW)
        .unwrap();
    let long = issuer
        .issue(&request_for(&long_task, "long", 7200), NOW)
        .unwrap();
    let on_root = issuer
        .issue(&request_for(wallet.did(), "root", 600), NOW)
        .unwrap();
    let short_id = wallet.receive(&short.sd_jwt, None, NOW).unwrap();
    let long_id = wallet.receive(&long.sd_jwt, None, NOW).unwrap();
    wallet.receive(&on_root.sd_jwt, None, NOW).unwrap();

    let report = wallet.purge(NOW + 599).unwrap();
    assert_eq!(
        (report.credentials, report.keys),
        (0, 0),
        "nothing has expired yet"
    );

    let report = wallet.purge(NOW + 600).unwrap();
    assert_eq!((report.credentials, report.keys), (2, 1));
    assert!(
        !wallet.has_key(&short_task).unwrap(),
        "the short task's key is destroyed"
    );
    assert!(matches!(
        wallet.signing_key(&short_task),
        Err(WalletError::NotFound(_))
    ));
    assert!(
        wallet.has_key(&long_task).unwrap(),
        "a key with a live credential stays"
    );
    assert!(
        wallet.has_key(wallet.did()).unwrap(),
        "the root key is never destroyed"
    );
    assert!(matches!(
        wallet.show(&short_id),
        Err(WalletError::NotFound(_))
    ));
    assert!(wallet.show(&long_id).is_ok());

    let report = wallet.purge(NOW + 7200).unwrap();
    assert_eq!((report.credentials, report.keys), (1, 1));
    assert!(!wallet.has_key(&long_task).unwrap());
    assert!(wallet.list().unwrap().is_empty());
    wallet.audit_verify().unwrap();
}

fn audited_wallet(dir: &Path) -> Wallet {
    let mut issuer = create(&dir.join("issuer"));
    let mut wallet = create(&dir.join("agent"));
    let did = wallet.did().to_owned();
    for n in 0..4 {
        let credential = issuer
            .issue(&request_for(&did, &format!("t{n}"), 900), NOW)
            .unwrap();
        wallet.receive(&credential.sd_jwt, None, NOW + n).unwrap();
    }
    assert_eq!(wallet.audit_verify().unwrap(), 5);
    wallet
}

#[test]
fn audit_verify_detects_an_edited_entry() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    // An insider with the data key re-seals an edited entry: the hash chain catches it.
    let mut entry = wallet.audit_entries().unwrap()[2].clone();
    entry.details["issuer"] = json!("did:key:someone-else");
    let mut batch = Batch::default();
    wallet.store().put(
        &mut batch,
        Kind::Audit,
        &entry.seq.to_be_bytes(),
        &serde_json::to_vec(&entry).unwrap(),
    );
    wallet.store().commit(batch).unwrap();
    let error = wallet.audit_verify().unwrap_err();
    assert!(
        matches!(&error, AuditError::Broken { seq: 2, .. }),
        "{error}"
    );

    // An outsider flipping a stored byte breaks authentication.
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    let key = wallet.store().record_key(Kind::Audit, &1u64.to_be_bytes());
    let mut sealed = wallet.store().raw_get(&key).unwrap().unwrap();
    sealed[40] ^= 0x01;
    wallet.store().raw_put(&key, &sealed).unwrap();
    assert!(matches!(
        wallet.audit_verify(),
        Err(AuditError::Store(StoreError::Tampered))
    ));
}

#[test]
fn audit_verify_detects_a_removed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    let key = wallet.store().record_key(Kind::Audit, &2u64.to_be_bytes());
    wallet.store().raw_remove(&key).unwrap();
    let error = wallet.audit_verify().unwrap_err();
    assert!(
        matches!(&error, AuditError::Broken { seq: 2, .. }),
        "{error}"
    );

    // Removing the last entry (truncation) is caught by the head.
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    let key = wallet.store().record_key(Kind::Audit, &4u64.to_be_bytes());
    wallet.store().raw_remove(&key).unwrap();
    let error = wallet.audit_verify().unwrap_err();
    assert!(error.to_string().contains("truncated"), "{error}");

    // Removing every entry and the head does not read as an empty log.
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    for seq in 0..5u64 {
        let key = wallet.store().record_key(Kind::Audit, &seq.to_be_bytes());
        wallet.store().raw_remove(&key).unwrap();
    }
    let head = wallet.store().record_key(Kind::Meta, b"audit-head");
    wallet.store().raw_remove(&head).unwrap();
    let error = wallet.audit_verify().unwrap_err();
    assert!(error.to_string().contains("missing"), "{error}");
}

#[test]
fn audit_verify_detects_reordered_entries() {
    // Swapping sealed values on disk: each is bound to its position.
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    let (one, two) = (
        wallet.store().record_key(Kind::Audit, &1u64.to_be_bytes()),
        wallet.store().record_key(Kind::Audit, &2u64.to_be_bytes()),
    );
    let (sealed_one, sealed_two) = (
        wallet.store().raw_get(&one).unwrap().unwrap(),
        wallet.store().raw_get(&two).unwrap().unwrap(),
    );
    wallet.store().raw_put(&one, &sealed_two).unwrap();
    wallet.store().raw_put(&two, &sealed_one).unwrap();
    assert!(matches!(
        wallet.audit_verify(),
        Err(AuditError::Store(StoreError::Tampered))
    ));

    // Re-sealing them swapped, with the key: the chain breaks.
    let dir = tempfile::tempdir().unwrap();
    let wallet = audited_wallet(dir.path());
    let entries = wallet.audit_entries().unwrap();
    let mut batch = Batch::default();
    for (position, entry) in [(1u64, &entries[2]), (2u64, &entries[1])] {
        let mut moved = entry.clone();
        moved.seq = position;
        wallet.store().put(
            &mut batch,
            Kind::Audit,
            &position.to_be_bytes(),
            &serde_json::to_vec(&moved).unwrap(),
        );
    }
    wallet.store().commit(batch).unwrap();
    let error = wallet.audit_verify().unwrap_err();
    assert!(
        matches!(&error, AuditError::Broken { seq: 1, .. }),
        "{error}"
    );
}

#[test]
fn export_and_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = audited_wallet(dir.path());
    let task = wallet.new_task_key("T-9", Algorithm::ES256K, NOW).unwrap();
    let backup = dir.path().join("backup.agentid");
    let exported = wallet.export(&backup, &passphrase(), &KDF, NOW).unwrap();
    assert!(exported >= 10);
    let before: Vec<_> = wallet.list().unwrap();
    let did = wallet.did().to_owned();
    let audit_before = wallet.audit_entries().unwrap();
    drop(wallet);

    let backup_bytes = std::fs::read(&backup).unwrap();
    assert!(
        !contains(&backup_bytes, did.as_bytes()),
        "the backup is encrypted"
    );

    let wrong = Wallet::import(
        &dir.path().join("restored-x"),
        &backup,
        &Passphrase::new("no"),
        &passphrase(),
        &KDF,
        NOW,
    );
    assert!(matches!(
        wrong,
        Err(WalletError::Store(StoreError::WrongPassphrase))
    ));

    let restored_dir = dir.path().join("restored");
    let new_passphrase = Passphrase::new("restored passphrase");
    let restored = Wallet::import(
        &restored_dir,
        &backup,
        &passphrase(),
        &new_passphrase,
        &KDF,
        NOW + 10,
    )
    .unwrap();
    assert_eq!(restored.did(), did);
    assert_eq!(restored.list().unwrap(), before);
    assert!(restored.has_key(&task).unwrap());
    assert_eq!(
        restored.find_by_vct(TASK_VCT).unwrap().len(),
        4,
        "indexes are rebuilt"
    );
    let audit_after = restored.audit_entries().unwrap();
    assert_eq!(&audit_after[..audit_before.len()], &audit_before[..]);
    assert_eq!(
        audit_after.last().unwrap().action,
        agentid_wallet::AuditAction::Import
    );
    restored.audit_verify().unwrap();
    drop(restored);
    assert!(Wallet::open(&restored_dir, &new_passphrase).is_ok());
    assert!(matches!(
        Wallet::import(
            &restored_dir,
            &backup,
            &passphrase(),
            &new_passphrase,
            &KDF,
            NOW
        ),
        Err(WalletError::Store(StoreError::AlreadyExists(_)))
    ));
}

#[test]
fn delegation_from_wallet_to_wallet_and_widening_refused() {
    use agentid_wallet::DelegationSpec;
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = create(&dir.path().join("issuer"));
    let mut agent = create(&dir.path().join("agent"));
    let mut sub_agent = create(&dir.path().join("sub-agent"));
    let sub_key = sub_agent
        .new_task_key("T-1/sub", Algorithm::ES256, NOW)
        .unwrap();

    let mut request = request_for(agent.did(), "delegable", 3600);
    request
        .claims
        .insert("max_delegation_depth".into(), json!(1));
    let issued = issuer.issue(&request, NOW).unwrap();
    let id = agent.receive(&issued.sd_jwt, None, NOW).unwrap();

    let spec = |scope: &[&str], max_amount: u64, lifetime_secs: u64| DelegationSpec {
        to: agentid_verifier::did_key::decode(&sub_key).unwrap(),
        scope: Some(scope.iter().map(|s| (*s).to_owned()).collect()),
        resources: None,
        constraints: json!({"max_amount": max_amount})
            .as_object()
            .cloned()
            .unwrap(),
        lifetime_secs,
        max_depth: None,
    };
    // The wallet refuses to sign a widening hop.
    for (widening, field) in [
        (spec(&["admin:*"], 10, 600), "scope"),
        (spec(&["refunds:write"], 51, 600), "constraints.max_amount"),
        (spec(&["refunds:write"], 10, 7200), "expiry"),
    ] {
        let error = agent.delegate(&id, &widening, NOW).unwrap_err();
        assert!(
            matches!(&error, WalletError::Verify(agentid_verifier::VerifyError::DelegationWidened(named)) if named.starts_with(field)),
            "{error}"
        );
    }
    // Resources outside the parent's prefixes are refused too.
    let outside = DelegationSpec {
        resources: Some(vec!["https://elsewhere.example/".into()]),
        ..spec(&["refunds:write"], 10, 600)
    };
    assert!(matches!(
        agent.delegate(&id, &outside, NOW),
        Err(WalletError::Verify(agentid_verifier::VerifyError::DelegationWidened(named))) if named == "resources"
    ));
    let delegation = agent
        .delegate(&id, &spec(&["refunds:write"], 20, 600), NOW)
        .unwrap();
    assert!(delegation.contains("~~"));
    // The root credential goes along with only its principal disclosed: the
    // sub-agent learns no other concealed claim (the task purpose here).
    let root_segment = delegation.split("~~").next().unwrap();
    let forwarded: Vec<Value> = root_segment
        .split('~')
        .skip(1)
        .map(|d| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(d).unwrap()).unwrap())
        .collect();
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    assert_eq!(forwarded[0][1], "on_behalf_of");
    let received = sub_agent.receive(&delegation, None, NOW).unwrap();
    // The agent's own wallet cannot hold it: the delegation is bound to the sub-agent's key.
    assert!(matches!(
        agent.receive(&delegation, None, NOW),
        Err(WalletError::NotBoundToWallet(_))
    ));
    // Depth 1 is used up: the sub-agent cannot delegate further.
    let onward = DelegationSpec {
        to: agentid_verifier::did_key::decode(agent.did()).unwrap(),
        ..spec(&["refunds:write"], 5, 60)
    };
    assert!(matches!(
        sub_agent.delegate(&received, &onward, NOW),
        Err(WalletError::Verify(
            agentid_verifier::VerifyError::DelegationWidened(_)
        ))
    ));

    let verifier_request = PresentationRequest::new("https://bank.example", "n-chain");
    let action = json!({"scope": "refunds:write", "resource": "https://shop.example/orders/1234", "amount": 15});
    let presentation = sub_agent
        .present_action(&received, &action, &verifier_request, NOW + 5)
        .unwrap();
    let mut trust = TrustStore::new();
    trust.add_did(issuer.did()).unwrap();
    let mut lists = agentid_verifier::StatusLists::new();
    lists
        .add_token(
            &issuer.publish_status(NOW, 3600).unwrap(),
            &trust,
            NOW + 5,
            3600,
        )
        .unwrap();
    let verified = Verifier::new(trust, Policy::default())
        .with_status_lists(lists)
        .verify_presentation(&presentation, &verifier_request, NOW + 5)
        .unwrap();
    let chain = verified.chain.unwrap();
    assert_eq!(chain.delegations.len(), 1);
    assert_eq!(chain.delegations[0].delegate, sub_key);
    assert_eq!(chain.effective_rights.scope, ["refunds:write"]);
    assert_eq!(chain.effective_rights.constraints["max_amount"], 20);
    assert_eq!(chain.action["amount"], 15);
    assert!(agent
        .audit_entries()
        .unwrap()
        .iter()
        .any(|entry| entry.action == agentid_wallet::AuditAction::Delegate));
}
