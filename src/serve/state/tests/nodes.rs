//! Concurrency, several nodes on one store, and durability across reopening.

use std::future::Future;

use super::harness::{phase, request, right, same, wrong, Harness, T0};
use crate::serve::state::{Phase, StateError, StateStore};

/// Spawns `count` tasks, task `i` running `step(node i mod n, i)`, and collects
/// their results in order.
async fn race<T, F, Fut>(nodes: &[StateStore], count: usize, step: F) -> Vec<Result<T, StateError>>
where
    T: Send + 'static,
    F: Fn(StateStore, usize) -> Fut,
    Fut: Future<Output = Result<T, StateError>> + Send + 'static,
{
    let tasks: Vec<_> = (0..count)
        .map(|i| tokio::spawn(step(nodes[i % nodes.len()].clone(), i)))
        .collect();
    let mut results = Vec::with_capacity(count);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

pub(super) async fn concurrent_steps_have_one_winner(h: Harness) {
    let nodes = h.nodes(4).await;
    let store = h.store();

    // Many inserts of one id: one stores it.
    let r = request(T0, T0 + 300);
    let results = race(&nodes, 16, |node, _| {
        let r = r.clone();
        async move { node.insert(&r).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(()) | Err(StateError::Duplicate))));

    // Many fetches of the request object: one is served.
    let id = r.id.clone();
    let results = race(&nodes, 32, |node, _| {
        let id = id.clone();
        async move { node.take_request_object(&id, T0 + 1).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(_) | Err(StateError::AlreadyServed))));

    // Many responses, a quarter with a wrong state: exactly one right one wins.
    let results = race(&nodes, 48, |node, i| {
        let id = id.clone();
        let state = if i % 4 == 3 { wrong() } else { right() };
        async move { node.begin_response(&id, &state, T0 + 2).await.map(|_| i) }
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_ne!(winners[0] % 4, 3);
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(_) | Err(StateError::AlreadyAnswered) => {}
            Err(StateError::StateMismatch) => assert_eq!(i % 4, 3),
            Err(other) => panic!("task {i}: {other}"),
        }
    }

    // Many verdicts: one is stored, and it is the winner's.
    let results = race(&nodes, 16, |node, i| {
        let id = id.clone();
        async move {
            node.finish(&id, format!("verdict {i}").as_bytes())
                .await
                .map(|()| i)
        }
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(_) | Err(StateError::AlreadyAnswered))));
    assert_eq!(
        phase(store, &id).await,
        (
            Phase::Answered,
            Some(format!("verdict {}", winners[0]).into_bytes())
        )
    );
}

pub(super) async fn nodes_share_one_store(h: Harness) {
    let nodes = h.nodes(2).await;
    let r = request(T0, T0 + 300);
    nodes[0].insert(&r).await.unwrap();
    assert!(same(
        &nodes[1].take_request_object(&r.id, T0 + 1).await.unwrap(),
        &r
    ));
    assert!(matches!(
        nodes[0].take_request_object(&r.id, T0 + 2).await,
        Err(StateError::AlreadyServed)
    ));
    nodes[0]
        .begin_response(&r.id, &right(), T0 + 3)
        .await
        .unwrap();
    nodes[1].finish(&r.id, b"v").await.unwrap();
    assert_eq!(
        phase(&nodes[0], &r.id).await,
        (Phase::Answered, Some(b"v".to_vec()))
    );
}

pub(super) async fn acknowledged_steps_survive_reopening(mut h: Harness) {
    let served = request(T0, T0 + 300);
    let answered = request(T0, T0 + 300);
    let responding = request(T0, T0 + 300);
    let fresh = request(T0, T0 + 300);
    {
        let store = h.store();
        for r in [&served, &answered, &responding, &fresh] {
            store.insert(r).await.unwrap();
        }
        store.take_request_object(&served.id, T0 + 1).await.unwrap();
        store
            .begin_response(&answered.id, &right(), T0 + 1)
            .await
            .unwrap();
        store.finish(&answered.id, b"kept").await.unwrap();
        store
            .begin_response(&responding.id, &right(), T0 + 1)
            .await
            .unwrap();
    }
    h.reopen().await;
    let store = h.store();
    assert_eq!(phase(store, &served.id).await, (Phase::RequestServed, None));
    assert!(matches!(
        store.take_request_object(&served.id, T0 + 2).await,
        Err(StateError::AlreadyServed)
    ));
    assert_eq!(
        phase(store, &answered.id).await,
        (Phase::Answered, Some(b"kept".to_vec()))
    );
    assert!(matches!(
        store.begin_response(&responding.id, &right(), T0 + 2).await,
        Err(StateError::AlreadyAnswered)
    ));
    assert!(same(
        &store.take_request_object(&fresh.id, T0 + 2).await.unwrap(),
        &fresh
    ));
    store.finish(&responding.id, b"after reopen").await.unwrap();
    h.reopen().await;
    assert_eq!(
        phase(h.store(), &responding.id).await,
        (Phase::Answered, Some(b"after reopen".to_vec()))
    );
}

pub(super) async fn health_answers(h: Harness) {
    h.store().health().await.unwrap();
}
