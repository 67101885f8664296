//! What the service benches share: a fresh PostgreSQL schema for a run, starting
//! `agentid serve verifier` or `agentid serve issuer` and its keep-alive client, and
//! the load loop (clients on one runtime, each running a step until the requests are
//! done or the time is up).

use std::future::Future;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much load: clients at once, requests in all, and the time limit.
#[derive(Clone, Copy)]
pub(crate) struct Load {
    pub(crate) clients: usize,
    pub(crate) requests: usize,
    pub(crate) max_time: Duration,
}

/// `load.clients` tasks run `step` until `load.requests` are done or
/// `load.max_time` has passed; every step must succeed. Steps per second.
pub(crate) async fn run_clients<F, Fut>(load: &Load, step: F) -> f64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let requests = load.requests;
    let deadline = Instant::now() + load.max_time;
    let started = Instant::now();
    let tasks: Vec<_> = (0..load.clients)
        .map(|_| {
            let (step, next) = (step.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let (mut done, mut errors) = (0usize, 0usize);
                while next.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < deadline {
                    if step().await {
                        done += 1;
                    } else {
                        errors += 1;
                    }
                }
                (done, errors)
            })
        })
        .collect();
    let (mut done, mut errors) = (0, 0);
    for task in tasks {
        let (d, e) = task.await.unwrap();
        done += d;
        errors += e;
    }
    let elapsed = started.elapsed();
    assert_eq!(errors, 0, "every exchange succeeded");
    assert!(done > 0);
    done as f64 / elapsed.as_secs_f64()
}

/// SIGTERM by process id, then the process is waited for by the caller.
pub(crate) fn stop(server: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
}

/// Runs `run` with the location of a fresh schema of the PostgreSQL database `url`
/// (`search_path` set to it), named `prefix` and the process id, dropped afterwards.
pub(crate) async fn on_fresh_schema<T, F, Fut>(url: &str, prefix: &str, run: F) -> T
where
    T: Send + 'static,
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let schema = format!("{prefix}_{}", std::process::id());
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let location = format!("{url}{separator}options=-csearch_path%3D{schema}");
    let outcome = tokio::spawn(run(location)).await;
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    match outcome {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Spawns `command` (an `agentid serve … --listen 127.0.0.1:PORT`) and waits
/// for its "listening on" line.
pub(crate) fn start_service(command: &mut Command, port: u16) -> Child {
    let mut server = command
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start agentid serve");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    if first.trim() != format!("listening on 127.0.0.1:{port}") {
        stop(&mut server);
        panic!("unexpected first line from the service: {first:?}");
    }
    server
}

/// A keep-alive client for `load.clients` connections (reqwest's rustls backend, the
/// product's, takes the process-wide ring provider).
pub(crate) fn client(load: &Load) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(load.clients)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
