//! Sizes, the open-request limit and sweeping.

use super::harness::{phase, request, right, Harness, T0};
use crate::serve::state::{OpenRequest, Phase, StateError, StateLimits, MAX_POOL_SIZE};

pub(super) async fn limits_on_blobs_and_requests(mut h: Harness) {
    let limits = StateLimits {
        max_blob_bytes: 16,
        ..h.limits
    };
    h.reopen_with(limits).await;
    let store = h.store();
    let mut r = request(T0, T0 + 300);
    r.request = vec![7; 17];
    assert!(matches!(
        store.insert(&r).await,
        Err(StateError::TooLarge {
            what: "request",
            len: 17,
            max: 16
        })
    ));
    r.request = vec![7; 16];
    store.insert(&r).await.unwrap();
    store.begin_response(&r.id, &right(), T0 + 1).await.unwrap();
    assert!(matches!(
        store.finish(&r.id, &[1; 17]).await,
        Err(StateError::TooLarge {
            what: "verdict",
            ..
        })
    ));
    assert_eq!(phase(store, &r.id).await, (Phase::Responding, None));
    store.finish(&r.id, &[1; 16]).await.unwrap();

    let mut bad = request(T0, T0 + 300);
    bad.id = "not/an id".into();
    assert!(matches!(
        store.insert(&bad).await,
        Err(StateError::InvalidRequest(_))
    ));
    for (created_at, expires_at) in [(T0, T0), (T0 + 1, T0), (T0, u64::MAX)] {
        let bad = request(created_at, expires_at);
        assert!(matches!(
            store.insert(&bad).await,
            Err(StateError::InvalidRequest(_))
        ));
        assert!(matches!(
            store.result(&bad.id).await,
            Err(StateError::NotFound)
        ));
    }
    for bad in [
        StateLimits {
            max_blob_bytes: 0,
            ..limits
        },
        StateLimits {
            max_open_requests: 0,
            ..limits
        },
        StateLimits {
            sweep_batch: 0,
            ..limits
        },
        StateLimits {
            pool_max_size: 0,
            ..limits
        },
        StateLimits {
            pool_max_size: MAX_POOL_SIZE + 1,
            ..limits
        },
        StateLimits {
            statement_timeout: std::time::Duration::ZERO,
            ..limits
        },
    ] {
        assert!(matches!(
            h.open(bad).await,
            Err(StateError::InvalidConfig(_))
        ));
    }
}

pub(super) async fn full_store_refuses_until_requests_expire(mut h: Harness) {
    let limits = StateLimits {
        max_open_requests: 3,
        ..h.limits
    };
    h.reopen_with(limits).await;
    let first: Vec<OpenRequest> = (0..3).map(|_| request(T0, T0 + 10)).collect();
    for r in &first {
        h.store().insert(r).await.unwrap();
    }
    let late = request(T0 + 5, T0 + 20);
    assert!(matches!(
        h.store().insert(&late).await,
        Err(StateError::Full { max_open: 3 })
    ));
    // Answered requests count until they expire: the limit is on what is stored.
    h.store()
        .begin_response(&first[0].id, &right(), T0 + 1)
        .await
        .unwrap();
    h.store().finish(&first[0].id, b"v").await.unwrap();
    assert!(matches!(
        h.store().insert(&late).await,
        Err(StateError::Full { .. })
    ));
    // At T0 + 10 the first three have expired (not yet swept): room again.
    let later = request(T0 + 10, T0 + 20);
    h.store().insert(&later).await.unwrap();
    // The count survives reopening.
    h.reopen().await;
    let more: Vec<OpenRequest> = (0..2).map(|_| request(T0 + 10, T0 + 20)).collect();
    for r in &more {
        h.store().insert(r).await.unwrap();
    }
    assert!(matches!(
        h.store().insert(&request(T0 + 10, T0 + 20)).await,
        Err(StateError::Full { .. })
    ));
}

pub(super) async fn sweep_deletes_old_requests_in_batches(mut h: Harness) {
    let limits = StateLimits {
        sweep_batch: 2,
        ..h.limits
    };
    h.reopen_with(limits).await;
    let store = h.store();
    let answered = request(T0, T0 + 10);
    let created = request(T0, T0 + 10);
    let c = request(T0, T0 + 20);
    let d = request(T0, T0 + 30);
    let e = request(T0, T0 + 100);
    for r in [&answered, &created, &c, &d, &e] {
        store.insert(r).await.unwrap();
    }
    store
        .begin_response(&answered.id, &right(), T0 + 1)
        .await
        .unwrap();
    store.finish(&answered.id, b"v").await.unwrap();

    // Nothing is old enough yet; a retention longer than the clock deletes nothing.
    assert_eq!(store.sweep(T0 + 19, 10).await.unwrap(), 0);
    assert_eq!(store.sweep(T0, u64::MAX).await.unwrap(), 0);
    // Expired at T0 + 10, kept 10 s: gone at T0 + 20, whatever their phase.
    assert_eq!(store.sweep(T0 + 25, 10).await.unwrap(), 2);
    assert_eq!(store.sweep(T0 + 25, 10).await.unwrap(), 0);
    for gone in [&answered, &created] {
        assert!(matches!(
            store.result(&gone.id).await,
            Err(StateError::NotFound)
        ));
    }
    assert_eq!(phase(store, &c.id).await.0, Phase::Created);
    // Batches of two.
    let batch: Vec<OpenRequest> = (0..5).map(|_| request(T0, T0 + 50)).collect();
    for r in &batch {
        store.insert(r).await.unwrap();
    }
    let mut swept = Vec::new();
    loop {
        let n = store.sweep(T0 + 60, 0).await.unwrap();
        swept.push(n);
        if n < 2 {
            break;
        }
    }
    // c, d and the five: seven, in batches of at most two.
    assert_eq!(swept, vec![2, 2, 2, 1]);
    assert_eq!(phase(store, &e.id).await.0, Phase::Created);
}

pub(super) async fn concurrent_sweeps_delete_each_request_once(mut h: Harness) {
    let limits = StateLimits {
        sweep_batch: 3,
        ..h.limits
    };
    h.reopen_with(limits).await;
    for _ in 0..20 {
        h.store().insert(&request(T0, T0 + 10)).await.unwrap();
    }
    let kept = request(T0, T0 + 1_000);
    h.store().insert(&kept).await.unwrap();
    let sweepers: Vec<_> = h
        .nodes(4)
        .await
        .into_iter()
        .map(|node| {
            tokio::spawn(async move {
                let mut total = 0;
                loop {
                    let n = node.sweep(T0 + 100, 0).await.unwrap();
                    total += n;
                    if n == 0 {
                        return total;
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for sweeper in sweepers {
        total += sweeper.await.unwrap();
    }
    assert_eq!(total, 20);
    assert_eq!(phase(h.store(), &kept.id).await.0, Phase::Created);
}
