//! Token Status List on the verifier side (draft-ietf-oauth-status-list): tokens are
//! checked before use, and credentials carrying a status reference are checked
//! offline against them. The issuer side is built by hand here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use agentid_verifier::{
    b64url_encode, sha256_b64, Algorithm, Policy, RejectionKind, SignatureRole, StatusLists,
    TrustStore, Verifier, VerifyError, MAX_STATUS_LIST_BYTES, MAX_STATUS_TOKEN_BYTES,
};
use agentid_wallet::{cnf, did_key_url, SigningKey};
use common::*;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::{json, Value};

const URI: &str = "https://issuer.example/status/1";
const DAY: u64 = 24 * 3600;

struct Issuer {
    key: SigningKey,
    did: String,
    holder: SigningKey,
}

fn issuer() -> Issuer {
    let key = SigningKey::generate(Algorithm::EdDSA);
    let did = key.did().unwrap();
    Issuer {
        key,
        did,
        holder: SigningKey::generate(Algorithm::EdDSA),
    }
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

impl Issuer {
    fn trust(&self) -> TrustStore {
        let mut trust = TrustStore::new();
        trust.add_did(&self.did).unwrap();
        trust
    }

    /// A status list token over `bytes` (1-bit entries unless `bits` says otherwise).
    fn token(&self, payload_edit: impl FnOnce(&mut Value), bytes: &[u8]) -> String {
        let mut payload = json!({
            "iss": self.did, "sub": URI, "iat": NOW - 60, "exp": NOW + 3600, "ttl": 3600,
            "status_list": {"bits": 1, "lst": b64url_encode(&zlib(bytes))}
        });
        payload_edit(&mut payload);
        let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": did_key_url(self.key.public_key()).unwrap()});
        sign_token(&self.key, &header, &payload)
    }

    /// A presentation of a credential whose status entry is `idx`.
    fn presentation(&self, idx: u64) -> String {
        let header = json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": did_key_url(self.key.public_key()).unwrap()});
        let payload = json!({
            "iss": self.did, "iat": NOW - 10, "exp": NOW + 600, "vct": "urn:agentid:vct:task:1",
            "cnf": cnf(self.holder.public_key()), "status": {"status_list": {"idx": idx, "uri": URI}}
        });
        let without_kb = format!("{}~", sign_token(&self.key, &header, &payload));
        let kb = sign_token(
            &self.holder,
            &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
            &json!({"iat": NOW, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": sha256_b64(&without_kb)}),
        );
        format!("{without_kb}{kb}")
    }

    fn verifier(&self, lists: StatusLists, policy: Policy) -> Verifier {
        Verifier::new(self.trust(), policy).with_status_lists(lists)
    }
}

/// 2^20 one-bit entries, entry 5 revoked.
fn million_entries() -> Vec<u8> {
    let mut bytes = vec![0u8; (1 << 20) / 8];
    bytes[0] = 1 << 5;
    bytes
}

#[test]
fn revoked_and_valid_entries_of_a_million_entry_list() {
    let issuer = issuer();
    let mut lists = StatusLists::new();
    lists
        .add_token(
            &issuer.token(|_| {}, &million_entries()),
            &issuer.trust(),
            NOW,
            DAY,
        )
        .unwrap();
    assert_eq!(
        lists.iter().find(|list| list.uri() == URI).unwrap().len(),
        1 << 20
    );
    let verifier = issuer.verifier(lists, Policy::default());
    assert!(verifier
        .verify_presentation(&issuer.presentation(0), &request(), NOW)
        .is_ok());
    assert!(verifier
        .verify_presentation(&issuer.presentation((1 << 20) - 1), &request(), NOW)
        .is_ok());
    let error = verifier
        .verify_presentation(&issuer.presentation(5), &request(), NOW)
        .unwrap_err();
    assert!(matches!(error, VerifyError::Revoked(_)), "{error}");
    assert_eq!(error.kind(), RejectionKind::Revoked);
    assert!(matches!(
        verifier.verify_presentation(&issuer.presentation(1 << 20), &request(), NOW),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn suspended_is_not_valid() {
    let issuer = issuer();
    let mut lists = StatusLists::new();
    // 2-bit entries: entry 1 = 0b10 (suspended).
    let token = issuer.token(
        |payload| payload["status_list"]["bits"] = json!(2),
        &[0b0000_1000, 0],
    );
    lists.add_token(&token, &issuer.trust(), NOW, DAY).unwrap();
    let verifier = issuer.verifier(lists, Policy::default());
    assert!(verifier
        .verify_presentation(&issuer.presentation(0), &request(), NOW)
        .is_ok());
    let error = verifier
        .verify_presentation(&issuer.presentation(1), &request(), NOW)
        .unwrap_err();
    assert!(error.to_string().contains("Suspended"), "{error}");
}

#[test]
fn unknown_status_fails_closed_unless_the_policy_accepts_it() {
    let issuer = issuer();
    let strict = issuer.verifier(StatusLists::new(), Policy::default());
    let error = strict
        .verify_presentation(&issuer.presentation(0), &request(), NOW)
        .unwrap_err();
    assert!(matches!(error, VerifyError::StatusUnknown(_)), "{error}");
    let lenient = issuer.verifier(
        StatusLists::new(),
        Policy::default().with_unknown_status_accepted(true),
    );
    assert!(lenient
        .verify_presentation(&issuer.presentation(0), &request(), NOW)
        .is_ok());

    // A list under the same URI signed by another trusted issuer does not count.
    let other = self::issuer();
    let mut trust = issuer.trust();
    trust.add_did(&other.did).unwrap();
    let mut lists = StatusLists::new();
    lists
        .add_token(&other.token(|_| {}, &[0u8; 16]), &trust, NOW, DAY)
        .unwrap();
    let verifier = Verifier::new(trust, Policy::default()).with_status_lists(lists);
    assert!(matches!(
        verifier.verify_presentation(&issuer.presentation(0), &request(), NOW),
        Err(VerifyError::StatusUnknown(_))
    ));
}

#[test]
fn status_list_tokens_are_checked_before_use() {
    let issuer = issuer();
    let trust = issuer.trust();
    let add = |token: &str| StatusLists::new().add_token(token, &trust, NOW, DAY);
    assert!(add(&issuer.token(|_| {}, &[0; 16])).is_ok());

    let stranger = self::issuer();
    let forged = stranger.token(|payload| payload["iss"] = json!(issuer.did), &[0; 16]);
    let error = add(&forged).unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::KeyIdMismatch(_)
                | VerifyError::InvalidSignature(SignatureRole::StatusList)
        ),
        "{error}"
    );
    // Without a kid, the signature check is what refuses it.
    let forged = {
        let payload = json!({"iss": issuer.did, "sub": URI, "iat": NOW, "status_list": {"bits": 1, "lst": b64url_encode(&zlib(&[0; 4]))}});
        sign_token(
            &stranger.key,
            &json!({"alg": "EdDSA", "typ": "statuslist+jwt"}),
            &payload,
        )
    };
    assert_eq!(
        add(&forged).unwrap_err(),
        VerifyError::InvalidSignature(SignatureRole::StatusList)
    );
    // A did:key signer's token is read (it is checked against the DID itself), but
    // it only ever applies to what that key issued: it cannot shadow the issuer's
    // list of the same URI (see a_status_list_speaks_only_for_its_signer).
    assert!(add(&stranger.token(|_| {}, &[0; 16])).is_ok());
    let untrusted_url_signer = sign_token(
        &stranger.key,
        &json!({"alg": "EdDSA", "typ": "statuslist+jwt"}),
        &json!({"iss": "https://stranger.example", "sub": URI, "iat": NOW - 60, "exp": NOW + 3600,
            "status_list": {"bits": 1, "lst": b64url_encode(&zlib(&[0; 16]))}}),
    );
    assert!(matches!(
        add(&untrusted_url_signer),
        Err(VerifyError::UntrustedIssuer(_))
    ));

    assert!(matches!(
        add(&issuer.token(|p| p["exp"] = json!(NOW - 1), &[0; 16])),
        Err(VerifyError::StatusUnknown(_))
    ));
    assert!(matches!(
        add(&issuer.token(|p| p["iat"] = json!(NOW - DAY - 1), &[0; 16])),
        Err(VerifyError::StatusUnknown(_))
    ));
    assert!(matches!(
        add(&issuer.token(|p| p["status_list"]["bits"] = json!(3), &[0; 16])),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        add(&issuer.token(|p| p["status_list"]["lst"] = json!("not zlib"), &[0; 16])),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        add(&issuer.token(
            |p| p
                .as_object_mut()
                .unwrap()
                .remove("sub")
                .map(|_| ())
                .unwrap(),
            &[0; 16]
        )),
        Err(VerifyError::Malformed(_))
    ));
    let wrong_typ = {
        let payload = json!({"iss": issuer.did, "sub": URI, "iat": NOW, "status_list": {"bits": 1, "lst": b64url_encode(&zlib(&[0; 4]))}});
        sign_token(
            &issuer.key,
            &json!({"alg": "EdDSA", "typ": "JWT"}),
            &payload,
        )
    };
    assert!(matches!(
        add(&wrong_typ),
        Err(VerifyError::UnexpectedType { .. })
    ));

    // A "zip bomb": 17 MiB of zeros compresses to a few KiB; the bound stops it.
    let bomb = issuer.token(|_| {}, &vec![0u8; 17 * 1024 * 1024]);
    assert!(bomb.len() < 100 * 1024);
    assert!(matches!(add(&bomb), Err(VerifyError::LimitExceeded(_))));
}

#[test]
fn token_and_list_sizes_at_the_bound() {
    let issuer = issuer();
    let trust = issuer.trust();
    let add = |token: &str| StatusLists::new().add_token(token, &trust, NOW, DAY);

    // The token's length is checked before it is parsed or its signature checked.
    let garbage = "a".repeat(MAX_STATUS_TOKEN_BYTES);
    assert!(matches!(add(&garbage), Err(VerifyError::Malformed(_))));
    assert!(matches!(
        add(&format!("{garbage}a")),
        Err(VerifyError::LimitExceeded(_))
    ));

    // The decompressed list: exactly 16 MiB is read, one byte more is refused
    // while decompressing (the decoder stops one byte past the bound).
    let mut lists = StatusLists::new();
    lists
        .add_token(
            &issuer.token(|_| {}, &vec![0u8; MAX_STATUS_LIST_BYTES]),
            &trust,
            NOW,
            DAY,
        )
        .expect("a 16 MiB list is read");
    let list = lists.iter().find(|list| list.uri() == URI).unwrap();
    assert_eq!(list.len(), MAX_STATUS_LIST_BYTES * 8);
    assert!(matches!(
        add(&issuer.token(|_| {}, &vec![0u8; MAX_STATUS_LIST_BYTES + 1])),
        Err(VerifyError::LimitExceeded(_))
    ));
}

#[test]
fn batch_and_single_agree_on_status() {
    let issuer = issuer();
    let mut lists = StatusLists::new();
    lists
        .add_token(
            &issuer.token(|_| {}, &million_entries()),
            &issuer.trust(),
            NOW,
            DAY,
        )
        .unwrap();
    let verifier = issuer.verifier(lists, Policy::default());
    let presentations: Vec<String> = (0..40).map(|idx| issuer.presentation(idx)).collect();
    let request = request();
    let items: Vec<_> = presentations
        .iter()
        .map(|presentation| agentid_verifier::BatchItem {
            presentation,
            request: &request,
        })
        .collect();
    for (index, result) in verifier.verify_batch(&items, NOW).into_iter().enumerate() {
        let single = verifier.verify_presentation(&presentations[index], &request, NOW);
        assert_eq!(result.is_ok(), single.is_ok(), "item {index}");
        assert_eq!(result.is_ok(), index != 5, "item {index}");
    }
}

#[test]
fn a_loaded_list_goes_stale_and_an_older_token_never_replaces_a_newer_one() {
    let issuer = issuer();
    let trust = issuer.trust();
    // Expires one minute from now: a verifier that keeps it loaded must stop using it.
    let mut lists = StatusLists::new();
    lists
        .add_token(
            &issuer.token(|p| p["exp"] = json!(NOW + 60), &million_entries()),
            &trust,
            NOW,
            DAY,
        )
        .unwrap();
    let verifier = issuer.verifier(lists, Policy::default());
    assert!(verifier
        .verify_presentation(&issuer.presentation(0), &request(), NOW)
        .is_ok());
    assert!(matches!(
        verifier.verify_presentation(&issuer.presentation(0), &request(), NOW + 120),
        Err(VerifyError::StatusUnknown(_))
    ));

    // Older than the policy's maximum age at verification time.
    let mut lists = StatusLists::new();
    lists
        .add_token(&issuer.token(|_| {}, &million_entries()), &trust, NOW, DAY)
        .unwrap();
    let verifier = issuer.verifier(lists, Policy::default().with_status_max_age(100));
    assert!(verifier
        .verify_presentation(&issuer.presentation(0), &request(), NOW)
        .is_ok());
    assert!(matches!(
        verifier.verify_presentation(&issuer.presentation(0), &request(), NOW + 60),
        Err(VerifyError::StatusUnknown(_))
    ));

    // Entry 5 is revoked in the newer token; replaying an older token where it was
    // still valid does not undo that, whatever the order of loading.
    let newer = issuer.token(|p| p["iat"] = json!(NOW - 60), &million_entries());
    let older = issuer.token(|p| p["iat"] = json!(NOW - 600), &[0; (1 << 20) / 8]);
    for order in [[&newer, &older], [&older, &newer]] {
        let mut lists = StatusLists::new();
        for token in order {
            lists.add_token(token, &trust, NOW, DAY).unwrap();
        }
        let verifier = issuer.verifier(lists, Policy::default());
        assert!(matches!(
            verifier.verify_presentation(&issuer.presentation(5), &request(), NOW),
            Err(VerifyError::Revoked(_))
        ));
    }
}

/// Rule: a status list token applies only to credentials of the issuer that signed
/// it, unless the trust file names its signer as that issuer's status provider; a
/// second signer (trusted or not) cannot shadow the first one's URI.
#[test]
fn a_status_list_speaks_only_for_its_signer() {
    let issuer = issuer();
    let stranger = self::issuer();
    let mut trust = issuer.trust();
    trust.add_did(&stranger.did).unwrap();
    let revoked_five = issuer.token(|_| {}, &million_entries());
    // The stranger's newer token for the same URI says every entry is valid.
    let all_valid = stranger.token(|p| p["iat"] = json!(NOW - 1), &vec![0u8; (1 << 20) / 8]);

    let mut lists = StatusLists::new();
    lists.add_token(&revoked_five, &trust, NOW, DAY).unwrap();
    lists.add_token(&all_valid, &trust, NOW, DAY).unwrap();
    assert_eq!(lists.len(), 2, "one list per signer");
    let verifier = Verifier::new(trust.clone(), Policy::default()).with_status_lists(lists);
    assert!(matches!(
        verifier.verify_presentation(&issuer.presentation(5), &request(), NOW),
        Err(VerifyError::Revoked(_))
    ));

    // The stranger's list alone leaves the issuer's credentials of unknown status.
    let mut only_stranger = StatusLists::new();
    only_stranger
        .add_token(&all_valid, &trust, NOW, DAY)
        .unwrap();
    let error = Verifier::new(trust, Policy::default())
        .with_status_lists(only_stranger.clone())
        .verify_presentation(&issuer.presentation(5), &request(), NOW)
        .unwrap_err();
    assert_eq!(error.kind(), RejectionKind::StatusUnknown, "{error}");

    // Named as the issuer's status provider in the trust file, its list applies.
    let file = json!({"issuers": [{"id": issuer.did, "status_providers": [stranger.did]}]});
    let with_provider = TrustStore::from_json(file.to_string().as_bytes()).unwrap();
    assert!(Verifier::new(with_provider, Policy::default())
        .with_status_lists(only_stranger)
        .verify_presentation(&issuer.presentation(5), &request(), NOW)
        .is_ok());
    for bad in [
        json!({"issuers": [{"id": issuer.did, "status_providers": "x"}]}),
        json!({"issuers": [{"id": issuer.did, "status_providers": [""]}]}),
        json!({"issuers": [{"id": issuer.did, "status_providers": [7]}]}),
    ] {
        assert!(
            TrustStore::from_json(bad.to_string().as_bytes()).is_err(),
            "{bad}"
        );
    }
}

/// Rule: a token issued beyond the clock skew in the future is refused, when loaded
/// and when used: it would never go stale and would hide every newer revocation.
#[test]
fn a_status_list_issued_in_the_future_is_refused() {
    let issuer = issuer();
    let trust = issuer.trust();
    let future = issuer.token(|p| p["iat"] = json!(NOW + 61), &[0; 16]);
    let error = StatusLists::new()
        .add_token(&future, &trust, NOW, DAY)
        .unwrap_err();
    assert_eq!(error.kind(), RejectionKind::StatusUnknown, "{error}");
    assert!(
        error.to_string().contains("issued in the future"),
        "{error}"
    );
    // Within the skew it is read.
    let near = issuer.token(|p| p["iat"] = json!(NOW + 60), &[0; 16]);
    assert!(StatusLists::new()
        .add_token(&near, &trust, NOW, DAY)
        .is_ok());
    // Loaded by a verifier whose clock ran ahead, then used at the right time.
    let mut lists = StatusLists::new();
    lists.add_token(&future, &trust, NOW + 120, DAY).unwrap();
    let list = lists.iter().next().unwrap();
    assert!(list.staleness(NOW + 120, DAY, 60).is_none());
    assert!(list.staleness(NOW, DAY, 60).unwrap().contains("future"));
    let error = issuer
        .verifier(lists, Policy::default())
        .verify_presentation(&issuer.presentation(1), &request(), NOW)
        .unwrap_err();
    assert_eq!(error.kind(), RejectionKind::StatusUnknown, "{error}");
}

/// Rule: "status unknown" (no list, a stale or expired one) is its own kind, not
/// `revoked`, so an operator can tell a forgotten list from a mass revocation.
#[test]
fn status_unknown_is_not_reported_as_revoked() {
    let issuer = issuer();
    let error = issuer
        .verifier(StatusLists::new(), Policy::default())
        .verify_presentation(&issuer.presentation(1), &request(), NOW)
        .unwrap_err();
    assert_eq!(error.kind(), RejectionKind::StatusUnknown);
    assert_eq!(error.kind().as_str(), "status_unknown");
    let mut lists = StatusLists::new();
    lists
        .add_token(
            &issuer.token(|_| {}, &million_entries()),
            &issuer.trust(),
            NOW,
            DAY,
        )
        .unwrap();
    let revoked = issuer
        .verifier(lists, Policy::default())
        .verify_presentation(&issuer.presentation(5), &request(), NOW)
        .unwrap_err();
    assert_eq!(revoked.kind().as_str(), "revoked");
    // An expired list is unknown too, at use.
    let mut lists = StatusLists::new();
    lists
        .add_token(
            &issuer.token(|p| p["exp"] = json!(NOW + 10), &million_entries()),
            &issuer.trust(),
            NOW,
            DAY,
        )
        .unwrap();
    let expired = issuer
        .verifier(lists, Policy::default())
        .verify_presentation(&issuer.presentation(1), &request(), NOW + 11)
        .unwrap_err();
    assert_eq!(expired.kind(), RejectionKind::StatusUnknown, "{expired}");
}
