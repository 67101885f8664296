//! The accept loop: HTTP/1.1 connections, at most `--max-connections` open, each
//! with a header read timeout.
//!
//! `axum::serve` neither bounds connections nor exposes hyper's
//! `header_read_timeout`, so this is the same loop written with hyper and
//! hyper-util (which axum runs on): a connection slot is taken *before* accepting,
//! so beyond the cap new connections wait in the kernel's listen backlog, not
//! accepted, until one closes. A connection that has not sent a complete request
//! head within the header timeout is closed; that timer also runs while a
//! keep-alive connection waits for its next request, so idle connections are
//! closed after it too. On shutdown the listener closes, idle connections close,
//! and in-flight requests finish.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Pause after an accept error that is not the peer's (e.g. out of file
/// descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `stop` resolves, then waits until every
/// connection has closed (the caller bounds that wait).
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    max_connections: u32,
    stop: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(max_connections as usize));
    let (closing, closing_rx) = watch::channel(false);
    let mut stop = pin!(stop);
    let mut at_cap = false;
    loop {
        let permit = match Arc::clone(&open).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !at_cap {
                    at_cap = true;
                    tracing::warn!(
                        max_connections,
                        "connection cap reached: new connections wait until one closes"
                    );
                }
                tokio::select! {
                    permit = Arc::clone(&open).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut stop => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    if !is_peer_error(&error) {
                        tracing::error!(%error, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                    continue;
                }
            },
            () = &mut stop => break,
        };
        if open.available_permits() > 0 {
            at_cap = false;
        }
        // Small JSON answers on keep-alive connections: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            // The slot is given back when the connection ends.
            let _permit = permit;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
            let closing = async move {
                // Resolves on shutdown (or if the loop is gone).
                let _ = closing.wait_for(|closing| *closing).await;
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended");
                    }
                }
                () = closing => {
                    connection.as_mut().graceful_shutdown();
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended");
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Each open connection holds a slot until it closes.
    let _ = open.acquire_many(max_connections).await;
}

/// Errors of one incoming connection, not of the listener.
fn is_peer_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
