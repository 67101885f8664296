//! Values used once ([`crate::serve::state::marks`]): new exactly once, per kind,
//! across concurrent nodes, and after a restart.

use super::harness::{random_hex, Harness, T0};
use crate::serve::state::marks::MarkKind;

pub(super) async fn a_value_is_new_once_per_kind_until_swept(h: Harness) {
    let store = h.store();
    let value = random_hex();
    assert!(store
        .mark_used(MarkKind::TokenNonce, &value, T0)
        .await
        .unwrap());
    assert!(!store
        .mark_used(MarkKind::TokenNonce, &value, T0)
        .await
        .unwrap());
    assert!(store
        .mark_used(MarkKind::DpopJti, &value, T0 + 100)
        .await
        .unwrap());
    assert_eq!(store.sweep_marks(T0 - 1).await.unwrap(), 0);
    assert_eq!(store.sweep_marks(T0 + 50).await.unwrap(), 1);
    // Swept once expired (a nonce carries its expiry and is refused by then); the
    // jti, not expired, is still remembered.
    assert!(store
        .mark_used(MarkKind::TokenNonce, &value, T0)
        .await
        .unwrap());
    assert!(!store
        .mark_used(MarkKind::DpopJti, &value, T0 + 100)
        .await
        .unwrap());
}

pub(super) async fn concurrent_uses_of_one_value_admit_exactly_one(h: Harness) {
    let nodes = h.nodes(2).await;
    let value = random_hex();
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let store = nodes[i % nodes.len()].clone();
            let value = value.clone();
            tokio::spawn(async move { store.mark_used(MarkKind::DpopJti, &value, T0).await })
        })
        .collect();
    let mut fresh = 0;
    for attempt in attempts {
        fresh += usize::from(attempt.await.unwrap().unwrap());
    }
    assert_eq!(fresh, 1);
}

pub(super) async fn an_acknowledged_mark_survives_reopening(mut h: Harness) {
    let value = random_hex();
    assert!(h
        .store()
        .mark_used(MarkKind::TokenNonce, &value, T0)
        .await
        .unwrap());
    h.reopen().await;
    assert!(!h
        .store()
        .mark_used(MarkKind::TokenNonce, &value, T0)
        .await
        .unwrap());
}
