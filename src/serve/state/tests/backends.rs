//! Checks of one backend each: sled's directory lock, corrupt records and format
//! version; PostgreSQL's schema version, concurrent schema creation, TLS refusal,
//! and an unreachable or silent server (these two need no database).

use std::time::{Duration, Instant};

use super::harness::{
    admin, on_postgres, on_sled, postgres_url, random_hex, request, with_search_path, Harness, T0,
};
use crate::serve::state::codec;
use crate::serve::state::sled_store::TREE;
use crate::serve::state::{StateDigest, StateError, StateLimits, StateStore};

#[tokio::test]
async fn sled_directory_is_held_by_one_store() {
    on_sled(|h: Harness| async move {
        assert!(matches!(
            StateStore::open(&h.location, h.limits).await,
            Err(StateError::Unavailable(_))
        ));
        h.store().health().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn sled_corrupt_record_is_an_error_not_a_panic() {
    on_sled(|mut h: Harness| async move {
        let r = request(T0, T0 + 300);
        h.store().insert(&r).await.unwrap();
        h.close();
        let db = open_raw(&h.location).await;
        let tree = db.open_tree(TREE).unwrap();
        tree.insert(codec::record_key(&r.id), b"\x01\x09junk".as_slice())
            .unwrap();
        db.flush().unwrap();
        drop((tree, db));
        h.reopen().await;
        let store = h.store();
        assert!(matches!(
            store.result(&r.id).await,
            Err(StateError::Corrupt(_))
        ));
        assert!(matches!(
            store.take_request_object(&r.id, T0 + 1).await,
            Err(StateError::Corrupt(_))
        ));
        assert!(matches!(
            store
                .begin_response(&r.id, &StateDigest::of_state("s"), T0 + 1)
                .await,
            Err(StateError::Corrupt(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn sled_newer_format_is_refused() {
    on_sled(|mut h: Harness| async move {
        h.close();
        let db = open_raw(&h.location).await;
        let tree = db.open_tree(TREE).unwrap();
        tree.insert(codec::VERSION_KEY, &(codec::FORMAT + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
        drop((tree, db));
        assert!(matches!(
            h.open(h.limits).await,
            Err(StateError::SchemaTooNew {
                found: 2,
                supported: 1
            })
        ));
    })
    .await;
}

/// Opens a sled directory directly, waiting out a lock a dropped store still holds.
async fn open_raw(location: &str) -> sled::Db {
    for _ in 0..50 {
        if let Ok(db) = sled::open(location) {
            return db;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sled::open(location).unwrap()
}

#[tokio::test]
async fn postgres_newer_schema_is_refused() {
    on_postgres(|h: Harness| async move {
        let url = postgres_url().unwrap();
        let schema = h.schema.clone().unwrap();
        let admin = admin(&url).await;
        admin
            .execute(
                &format!(
                    "UPDATE {schema}.agentid_schema_version SET version = 2 \
                     WHERE component = 'oid4vp_requests'"
                ),
                &[],
            )
            .await
            .unwrap();
        // A running node notices at its next health check; a starting one refuses.
        assert!(matches!(
            h.store().health().await,
            Err(StateError::SchemaTooNew {
                found: 2,
                supported: 1
            })
        ));
        assert!(matches!(
            h.open(h.limits).await,
            Err(StateError::SchemaTooNew {
                found: 2,
                supported: 1
            })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_starting_together_create_one_schema() {
    let Some(url) = postgres_url() else { return };
    let schema = format!("agentid_test_{}", random_hex());
    let admin = admin(&url).await;
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let location = with_search_path(&url, &schema);
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let location = location.clone();
            tokio::spawn(async move {
                StateStore::open(&location, StateLimits::default())
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for start in starts {
        outcomes.push(start.await);
    }
    let tables = admin
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema],
        )
        .await
        .map(|row| row.get::<_, i64>(0));
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    for outcome in outcomes {
        outcome.unwrap().unwrap();
    }
    // The version table, the requests, the used-once marks.
    assert_eq!(tables.unwrap(), 3);
}

#[tokio::test]
async fn postgres_tls_is_refused_not_downgraded() {
    // Refused before any connection: no database needed.
    for url in [
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=require",
        "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=verify-full",
    ] {
        assert!(matches!(
            StateStore::open(url, StateLimits::default()).await,
            Err(StateError::TlsUnsupported(_))
        ));
    }
}

#[tokio::test]
async fn postgres_unreachable_fails_fast() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let limits = StateLimits {
        connect_timeout: Duration::from_millis(500),
        ..StateLimits::default()
    };
    let started = Instant::now();
    let outcome = StateStore::open("postgres://postgres:pw@127.0.0.1:1/postgres", limits).await;
    match outcome {
        Err(StateError::Unavailable(message)) => assert!(!message.contains("pw"), "{message}"),
        other => panic!("{:?}", other.err()),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn postgres_silent_server_times_out() {
    // A listener that accepts and never answers: the startup message gets no reply.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let limits = StateLimits {
        connect_timeout: Duration::from_millis(500),
        ..StateLimits::default()
    };
    let started = Instant::now();
    let outcome =
        StateStore::open(&format!("postgres://postgres@127.0.0.1:{port}/db"), limits).await;
    assert!(
        matches!(outcome, Err(StateError::Unavailable(_))),
        "{:?}",
        outcome.err()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn locations_that_name_no_backend_are_refused() {
    for location in ["", "redis://127.0.0.1:6379", "sqlite:///tmp/x.db"] {
        assert!(matches!(
            StateStore::open(location, StateLimits::default()).await,
            Err(StateError::InvalidConfig(_))
        ));
    }
}
