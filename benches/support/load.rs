//! The load loop the service benches share: clients on one runtime, each running a
//! step until the requests are done or the time is up.

use std::process::{Child, Command};
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
