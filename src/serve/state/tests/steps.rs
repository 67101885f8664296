//! Each step's rules: single use, the state check, expiry, unknown ids, order.

use super::harness::{phase, random_hex, request, right, same, wrong, Harness, T0};
use crate::serve::state::{Phase, StateError, MAX_ID_LEN};

pub(super) async fn request_object_is_served_once(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 300);
    store.insert(&r).await.unwrap();
    let status = store.result(&r.id).await.unwrap();
    assert_eq!(
        (status.phase, status.verdict, status.expires_at),
        (Phase::Created, None, T0 + 300)
    );
    let served = store.take_request_object(&r.id, T0 + 1).await.unwrap();
    assert!(same(&served, &r));
    assert!(matches!(
        store.take_request_object(&r.id, T0 + 2).await,
        Err(StateError::AlreadyServed)
    ));
    assert_eq!(phase(store, &r.id).await, (Phase::RequestServed, None));
}

pub(super) async fn response_is_admitted_once(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 300);
    store.insert(&r).await.unwrap();
    store.take_request_object(&r.id, T0 + 1).await.unwrap();
    let admitted = store.begin_response(&r.id, &right(), T0 + 2).await.unwrap();
    assert!(same(&admitted, &r));
    assert!(matches!(
        store.begin_response(&r.id, &right(), T0 + 3).await,
        Err(StateError::AlreadyAnswered)
    ));
    assert!(matches!(
        store.take_request_object(&r.id, T0 + 3).await,
        Err(StateError::AlreadyAnswered)
    ));
    assert_eq!(phase(store, &r.id).await, (Phase::Responding, None));
    store.finish(&r.id, b"sealed verdict").await.unwrap();
    assert!(matches!(
        store.finish(&r.id, b"another verdict").await,
        Err(StateError::AlreadyAnswered)
    ));
    assert!(matches!(
        store.begin_response(&r.id, &right(), T0 + 4).await,
        Err(StateError::AlreadyAnswered)
    ));
    assert_eq!(
        phase(store, &r.id).await,
        (Phase::Answered, Some(b"sealed verdict".to_vec()))
    );
}

pub(super) async fn response_may_come_without_the_request_object(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 300);
    store.insert(&r).await.unwrap();
    store.begin_response(&r.id, &right(), T0 + 1).await.unwrap();
    assert!(matches!(
        store.take_request_object(&r.id, T0 + 2).await,
        Err(StateError::AlreadyAnswered)
    ));
}

pub(super) async fn wrong_state_does_not_burn_the_request(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 300);
    store.insert(&r).await.unwrap();
    for _ in 0..3 {
        assert!(matches!(
            store.begin_response(&r.id, &wrong(), T0 + 1).await,
            Err(StateError::StateMismatch)
        ));
    }
    assert_eq!(phase(store, &r.id).await, (Phase::Created, None));
    store.take_request_object(&r.id, T0 + 2).await.unwrap();
    assert!(matches!(
        store.begin_response(&r.id, &wrong(), T0 + 3).await,
        Err(StateError::StateMismatch)
    ));
    assert_eq!(phase(store, &r.id).await, (Phase::RequestServed, None));
    store.begin_response(&r.id, &right(), T0 + 4).await.unwrap();
    // Once answered, a wrong state learns only that it is too late.
    assert!(matches!(
        store.begin_response(&r.id, &wrong(), T0 + 5).await,
        Err(StateError::AlreadyAnswered)
    ));
}

pub(super) async fn expired_requests_admit_nothing(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 10);
    store.insert(&r).await.unwrap();
    // Open while now < expires_at: the expiry second itself is too late.
    for now in [T0 + 10, T0 + 11, u64::MAX] {
        assert!(matches!(
            store.take_request_object(&r.id, now).await,
            Err(StateError::Expired)
        ));
        assert!(matches!(
            store.begin_response(&r.id, &right(), now).await,
            Err(StateError::Expired)
        ));
        assert!(matches!(
            store.begin_response(&r.id, &wrong(), now).await,
            Err(StateError::Expired)
        ));
    }
    assert_eq!(phase(store, &r.id).await, (Phase::Created, None));
    store.take_request_object(&r.id, T0 + 9).await.unwrap();
    store.begin_response(&r.id, &right(), T0 + 9).await.unwrap();
    // A response admitted in time is finished even after expiry.
    store.finish(&r.id, b"late verdict").await.unwrap();
    assert_eq!(phase(store, &r.id).await.0, Phase::Answered);
}

pub(super) async fn unknown_and_malformed_ids_are_not_found(h: Harness) {
    let store = h.store();
    let long = "a".repeat(MAX_ID_LEN + 1);
    for id in [
        random_hex().as_str(),
        "",
        "../etc",
        "a b",
        "é",
        long.as_str(),
    ] {
        assert!(matches!(
            store.take_request_object(id, T0).await,
            Err(StateError::NotFound)
        ));
        assert!(matches!(
            store.begin_response(id, &right(), T0).await,
            Err(StateError::NotFound)
        ));
        assert!(matches!(
            store.finish(id, b"v").await,
            Err(StateError::NotFound)
        ));
        assert!(matches!(store.result(id).await, Err(StateError::NotFound)));
    }
}

pub(super) async fn finish_needs_a_begun_response(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 300);
    store.insert(&r).await.unwrap();
    assert!(matches!(
        store.finish(&r.id, b"v").await,
        Err(StateError::NotResponding)
    ));
    store.take_request_object(&r.id, T0 + 1).await.unwrap();
    assert!(matches!(
        store.finish(&r.id, b"v").await,
        Err(StateError::NotResponding)
    ));
    assert_eq!(phase(store, &r.id).await, (Phase::RequestServed, None));
}

pub(super) async fn duplicate_insert_changes_nothing(h: Harness) {
    let store = h.store();
    let r = request(T0, T0 + 300);
    store.insert(&r).await.unwrap();
    let mut other = request(T0, T0 + 600);
    other.id.clone_from(&r.id);
    assert!(matches!(
        store.insert(&other).await,
        Err(StateError::Duplicate)
    ));
    assert!(matches!(store.insert(&r).await, Err(StateError::Duplicate)));
    let served = store.take_request_object(&r.id, T0 + 1).await.unwrap();
    assert!(same(&served, &r));
}
