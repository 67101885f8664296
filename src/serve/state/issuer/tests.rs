//! The issuer store's conformance suite: every test on sled (a temporary
//! directory) and on PostgreSQL (a fresh schema of `AGENTID_TEST_POSTGRES`, dropped
//! afterwards; skipped, saying so, when unset).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::future::Future;

use rand_core::{OsRng, RngCore};

use super::*;
use crate::serve::state::tests::harness::{admin, postgres_url, random_hex, with_search_path};

const T0: u64 = 1_700_000_000;

/// Where a test's store lives, to open more nodes on it.
struct Place {
    location: String,
    postgres: bool,
}

impl Place {
    async fn open(&self) -> IssuerStore {
        IssuerStore::open(&self.location, StateLimits::default(), T0)
            .await
            .unwrap()
            .0
    }
}

async fn on_sled<F, Fut>(test: F)
where
    F: FnOnce(IssuerStore, Place) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let place = Place {
        location: dir.path().join("issuer").to_str().unwrap().to_owned(),
        postgres: false,
    };
    let store = place.open().await;
    assert!(matches!(store, IssuerStore::Embedded(_)));
    test(store, place).await;
}

async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(IssuerStore, Place) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let schema = format!("agentid_test_{}", random_hex());
    let admin = admin(&url).await;
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let place = Place {
        location: with_search_path(&url, &schema),
        postgres: true,
    };
    let outcome = tokio::spawn(async move {
        let store = place.open().await;
        assert!(matches!(store, IssuerStore::Postgres(_)));
        test(store, place).await;
    })
    .await;
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sled_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::on_sled(super::$test).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::on_postgres(super::$test).await;
                }
            )*
        }
    };
}

conformance!(
    records_are_kept_in_issuance_order_without_claims,
    an_entry_or_a_jti_is_never_recorded_twice,
    status_changes_raise_the_revision_and_revoked_is_final,
    an_offer_is_redeemed_once_and_issued_once,
    expired_offers_and_tokens_are_unusable,
    nodes_allocating_at_once_never_share_an_entry,
    every_change_is_audited_in_order,
    lists_open_once_and_the_highest_is_current,
);

fn record(list: u32, idx: u32) -> IssuedRecord {
    IssuedRecord {
        seq: 0,
        jti: format!("urn:agentid:credential:{}", random_hex()),
        list,
        idx,
        vct: "https://agentid.example/vct/task".into(),
        subject: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into(),
        caller: "orchestrator".into(),
        issued_at: T0,
        expires_at: T0 + 600,
        status: CredentialStatus::Valid,
        status_changed_at: None,
    }
}

fn digest() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn offer(expires_at: u64) -> OfferRecord {
    OfferRecord {
        code_digest: digest(),
        caller: "orchestrator".into(),
        created_at: T0,
        expires_at,
        sealed: b"sealed offer".to_vec(),
    }
}

async fn records_are_kept_in_issuance_order_without_claims(store: IssuerStore, _: Place) {
    let first = record(1, 10);
    let second = record(1, 11);
    let first_seq = store.record_issued(&first, None).await.unwrap();
    let second_seq = store.record_issued(&second, None).await.unwrap();
    assert!(second_seq > first_seq);
    let page = store.page(0, 10).await.unwrap();
    let jtis: Vec<_> = page.iter().map(|r| r.jti.clone()).collect();
    assert_eq!(jtis, [first.jti.clone(), second.jti.clone()]);
    assert_eq!(store.page(first_seq, 10).await.unwrap().len(), 1);
    let found = store.get(&first.jti).await.unwrap().unwrap();
    assert_eq!(
        found,
        IssuedRecord {
            seq: first_seq,
            ..first
        }
    );
    assert_eq!(
        store.get("urn:agentid:credential:none").await.unwrap(),
        None
    );
}

async fn an_entry_or_a_jti_is_never_recorded_twice(store: IssuerStore, _: Place) {
    let first = record(1, 7);
    store.record_issued(&first, None).await.unwrap();
    let same_entry = record(1, 7);
    assert!(matches!(
        store.record_issued(&same_entry, None).await,
        Err(IssuerStoreError::IndexTaken)
    ));
    assert_eq!(
        store.get(&same_entry.jti).await.unwrap(),
        None,
        "nothing kept"
    );
    let same_jti = IssuedRecord {
        idx: 8,
        ..first.clone()
    };
    assert!(matches!(
        store.record_issued(&same_jti, None).await,
        Err(IssuerStoreError::Store(StateError::Duplicate))
    ));
    // No list 5 was opened.
    assert!(store.record_issued(&record(5, 1), None).await.is_err());
    assert_eq!(store.page(0, 10).await.unwrap().len(), 1);
}

async fn status_changes_raise_the_revision_and_revoked_is_final(store: IssuerStore, _: Place) {
    let credential = record(1, 3);
    let other = record(1, 4);
    store.record_issued(&credential, None).await.unwrap();
    store.record_issued(&other, None).await.unwrap();
    assert_eq!(store.revision(1).await.unwrap(), Some(0));

    let change = store
        .set_status(&credential.jti, CredentialStatus::Suspended, "ops", T0 + 1)
        .await
        .unwrap();
    assert_eq!(change.from, CredentialStatus::Valid);
    let snapshot = store.snapshot(1).await.unwrap().unwrap();
    assert_eq!(
        snapshot,
        ListSnapshot {
            revision: 1,
            entries: vec![(3, 2)]
        }
    );

    store
        .set_status(&credential.jti, CredentialStatus::Valid, "ops", T0 + 2)
        .await
        .unwrap();
    assert_eq!(store.snapshot(1).await.unwrap().unwrap().entries, []);
    store
        .set_status(&other.jti, CredentialStatus::Revoked, "ops", T0 + 3)
        .await
        .unwrap();
    store
        .set_status(&credential.jti, CredentialStatus::Revoked, "ops", T0 + 3)
        .await
        .unwrap();
    let snapshot = store.snapshot(1).await.unwrap().unwrap();
    assert_eq!(
        snapshot,
        ListSnapshot {
            revision: 4,
            entries: vec![(3, 1), (4, 1)]
        }
    );

    // Revoking again changes nothing; resuming a revoked credential is refused.
    store
        .set_status(&credential.jti, CredentialStatus::Revoked, "ops", T0 + 4)
        .await
        .unwrap();
    assert_eq!(store.revision(1).await.unwrap(), Some(4));
    for to in [CredentialStatus::Valid, CredentialStatus::Suspended] {
        assert!(matches!(
            store.set_status(&credential.jti, to, "ops", T0 + 5).await,
            Err(IssuerStoreError::Final)
        ));
    }
    let found = store.get(&credential.jti).await.unwrap().unwrap();
    assert_eq!(found.status, CredentialStatus::Revoked);
    assert_eq!(found.status_changed_at, Some(T0 + 3));
    assert!(matches!(
        store
            .set_status(
                "urn:agentid:credential:none",
                CredentialStatus::Revoked,
                "ops",
                T0
            )
            .await,
        Err(IssuerStoreError::UnknownCredential)
    ));
    assert_eq!(store.snapshot(9).await.unwrap(), None);
}

async fn an_offer_is_redeemed_once_and_issued_once(store: IssuerStore, _: Place) {
    let offer = offer(T0 + 300);
    store.insert_offer(&offer).await.unwrap();
    assert!(store.insert_offer(&offer).await.is_err(), "same code twice");
    let token = digest();
    let redeemed = store
        .redeem_offer(&offer.code_digest, &token, T0 + 600, T0 + 10)
        .await
        .unwrap();
    assert_eq!(redeemed, offer);
    assert!(matches!(
        store
            .redeem_offer(&offer.code_digest, &digest(), T0 + 600, T0 + 11)
            .await,
        Err(IssuerStoreError::OfferUnusable)
    ));
    let bound = store.offer_by_token(&token, T0 + 20).await.unwrap();
    assert_eq!(bound.offer, offer);
    assert_eq!(bound.issued_jti, None);

    let credential = IssuedRecord {
        issued_at: T0 + 30,
        ..record(1, 20)
    };
    store.record_issued(&credential, Some(token)).await.unwrap();
    let bound = store.offer_by_token(&token, T0 + 40).await.unwrap();
    assert_eq!(bound.issued_jti.as_deref(), Some(credential.jti.as_str()));
    let again = IssuedRecord {
        issued_at: T0 + 31,
        ..record(1, 21)
    };
    assert!(matches!(
        store.record_issued(&again, Some(token)).await,
        Err(IssuerStoreError::OfferUnusable)
    ));
    assert_eq!(store.get(&again.jti).await.unwrap(), None, "nothing kept");
}

async fn expired_offers_and_tokens_are_unusable(store: IssuerStore, _: Place) {
    let offer = offer(T0 + 60);
    store.insert_offer(&offer).await.unwrap();
    assert!(matches!(
        store
            .redeem_offer(&offer.code_digest, &digest(), T0 + 600, T0 + 60)
            .await,
        Err(IssuerStoreError::OfferUnusable)
    ));
    let fresh = self::offer(T0 + 60);
    store.insert_offer(&fresh).await.unwrap();
    let token = digest();
    store
        .redeem_offer(&fresh.code_digest, &token, T0 + 100, T0 + 1)
        .await
        .unwrap();
    assert!(matches!(
        store.offer_by_token(&token, T0 + 100).await,
        Err(IssuerStoreError::OfferUnusable)
    ));
    let late = IssuedRecord {
        issued_at: T0 + 100,
        ..record(1, 1)
    };
    assert!(matches!(
        store.record_issued(&late, Some(token)).await,
        Err(IssuerStoreError::OfferUnusable)
    ));
    assert!(matches!(
        store.offer_by_token(&digest(), T0).await,
        Err(IssuerStoreError::OfferUnusable)
    ));
}

async fn nodes_allocating_at_once_never_share_an_entry(store: IssuerStore, place: Place) {
    // Three nodes (separate pools on PostgreSQL; one handle on sled, which one
    // process owns), eight writers each, all drawing from 64 entries.
    let mut nodes = vec![store.clone()];
    for _ in 0..2 {
        nodes.push(if place.postgres {
            place.open().await
        } else {
            store.clone()
        });
    }
    let mut writers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for w in 0..8 {
            let node = node.clone();
            writers.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for attempt in 0..16u32 {
                    let idx = (OsRng.next_u32() ^ (attempt * 7 + w * 13 + n as u32)) % 64;
                    let candidate = record(1, idx);
                    match node.record_issued(&candidate, None).await {
                        Ok(_) => won.push((candidate.jti, idx)),
                        Err(IssuerStoreError::IndexTaken) => {}
                        Err(other) => panic!("{other}"),
                    }
                }
                won
            }));
        }
    }
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    let entries: HashSet<u32> = acknowledged.iter().map(|(_, idx)| *idx).collect();
    assert_eq!(
        entries.len(),
        acknowledged.len(),
        "an entry handed out twice"
    );
    let stored = store.page(0, 1000).await.unwrap();
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "an acknowledged record lost"
    );
    for (jti, idx) in &acknowledged {
        assert_eq!(store.get(jti).await.unwrap().unwrap().idx, *idx);
    }
}

async fn every_change_is_audited_in_order(store: IssuerStore, _: Place) {
    let credential = record(1, 2);
    store.record_issued(&credential, None).await.unwrap();
    store
        .set_status(&credential.jti, CredentialStatus::Suspended, "ops", T0 + 1)
        .await
        .unwrap();
    store
        .set_status(&credential.jti, CredentialStatus::Suspended, "ops", T0 + 2)
        .await
        .unwrap();
    store.insert_offer(&offer(T0 + 60)).await.unwrap();
    let audit = store.audit(0, 100).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["issue", "suspend", "offer"],
        "no entry for no change"
    );
    assert_eq!(audit[1].caller, "ops");
    assert_eq!(audit[1].jti.as_deref(), Some(credential.jti.as_str()));
    assert!(audit.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert_eq!(store.audit(audit[1].seq, 100).await.unwrap().len(), 1);
}

async fn lists_open_once_and_the_highest_is_current(store: IssuerStore, place: Place) {
    assert_eq!(store.current_list().await.unwrap(), 1);
    store.open_list(2, T0).await.unwrap();
    store.open_list(2, T0).await.unwrap();
    assert_eq!(store.current_list().await.unwrap(), 2);
    assert_eq!(store.lists().await.unwrap(), [1, 2]);
    let credential = record(2, 5);
    store.record_issued(&credential, None).await.unwrap();
    if place.postgres {
        // Another node sees the same lists and the record.
        let other = place.open().await;
        assert_eq!(other.current_list().await.unwrap(), 2);
        assert!(other.get(&credential.jti).await.unwrap().is_some());
    } else {
        // Reopened (sled's lock is released a moment after the last handle goes).
        drop(store);
        let mut tries = 0;
        let reopened = loop {
            match IssuerStore::open(&place.location, StateLimits::default(), T0).await {
                Ok((store, _)) => break store,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(error) => panic!("{error}"),
            }
        };
        assert_eq!(reopened.current_list().await.unwrap(), 2);
        assert!(reopened.get(&credential.jti).await.unwrap().is_some());
    }
}
