//! `agentid serve verifier`: the verifier as a stateless HTTP/1.1 JSON service.
//!
//! The service holds no state between requests: one immutable [`Verifier`] (trust
//! store and policy) shared behind an `Arc`, and the system clock read per request.
//! Verification runs on the blocking pool, so a slow batch never stalls the
//! connections. One log line per verdict names its issuer (when verified), `vct`,
//! validity, rejection kind and time, never a claim, disclosure, nonce or the
//! presentation.

use std::future::{Future, IntoFuture};
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use agentid_verifier::{BatchItem, Policy, PresentationRequest, Verified, Verifier, VerifyError};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing_subscriber::EnvFilter;

use crate::cli::ServeVerifierArgs;
use crate::error::CliError;
use crate::verify_cmd::{load_status, load_trust, rejection_json};

/// Most presentations one batch request may carry.
pub(crate) const MAX_BATCH_ITEMS: usize = 1024;

/// How long in-flight requests get to finish after SIGTERM or Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// One presentation and the request it answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    presentation: String,
    audience: String,
    nonce: String,
}

/// Many presentations, each with its own audience and nonce.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    items: Vec<VerifyRequest>,
}

/// A request the service refuses: a status and `{"error": …}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The message may quote the request (serde errors do): it is not logged.
        tracing::info!(status = self.status.as_u16(), "request refused");
        let mut response = (self.status, Json(json!({"error": self.message}))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// `Json<T>` whose rejections are JSON too: 415 (content type), 400 (syntax),
/// 422 (shape: missing or unknown field, wrong type), 413 (body over the limit).
struct ApiJson<T>(T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// What the handlers share: the verifier in force (replaced on SIGHUP) and the
/// slots that bound how many verifications run at once.
struct Service {
    verifier: RwLock<Arc<Verifier>>,
    /// The audiences requests may name; empty: any (the caller pins it).
    audiences: Vec<String>,
    slots: Arc<Semaphore>,
    queue_wait: Duration,
}

type Shared = Arc<Service>;

impl Service {
    fn new(
        verifier: Verifier,
        audiences: Vec<String>,
        slots: usize,
        queue_wait: Duration,
    ) -> Shared {
        Arc::new(Service {
            verifier: RwLock::new(Arc::new(verifier)),
            audiences,
            slots: Arc::new(Semaphore::new(slots)),
            queue_wait,
        })
    }

    /// Refuses a request for an audience this service does not answer to.
    fn check_audience(&self, audience: &str) -> Result<(), ApiError> {
        if self.audiences.is_empty() || self.audiences.iter().any(|own| own == audience) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "audience is not this service's",
            ))
        }
    }

    fn verifier(&self) -> Arc<Verifier> {
        match self.verifier.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, verifier: Verifier) {
        let verifier = Arc::new(verifier);
        match self.verifier.write() {
            Ok(mut guard) => *guard = verifier,
            Err(poisoned) => *poisoned.into_inner() = verifier,
        }
    }

    /// A slot for one verification job, or 503 once the wait is over: under
    /// overload the service sheds requests instead of queueing without bound.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.queue_wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy: every verification slot is taken; retry shortly",
            )),
        }
    }
}

/// Reads the trust file and status tokens into a verifier.
fn load_verifier(args: &ServeVerifierArgs) -> Result<Verifier, CliError> {
    let trust = load_trust(&args.trust)?;
    let policy = Policy::default();
    let status = load_status(&args.status, &trust, &policy, agentid_wallet::unix_now())?;
    Ok(Verifier::new(trust, policy).with_status_lists(status))
}

pub(crate) fn run(args: &ServeVerifierArgs) -> Result<(), CliError> {
    // Status lists are checked for freshness at every use: send SIGHUP after
    // replacing the token files (or the trust file) to load them again.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let slots = args
        .max_concurrent
        .map_or(2 * cores, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let service = Service::new(
        load_verifier(args)?,
        args.audiences.clone(),
        slots,
        Duration::from_millis(args.queue_wait_ms),
    );
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(serve(args, service, shutdown_signal()))
}

/// Logs to standard error, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Fails only if a subscriber is already set: then that one is used.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The routes, with the body limit.
fn router(service: Shared, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/presentations/verify", post(verify))
        .route("/v1/presentations/verify-batch", post(verify_batch))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(service)
}

async fn serve(
    args: &ServeVerifierArgs,
    service: Shared,
    shutdown: impl Future<Output = ()>,
) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|error| CliError::usage(format!("cannot listen on {}: {error}", args.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|error| CliError::failed(format!("cannot read the bound address: {error}")))?;
    // Small JSON answers on keep-alive connections: no Nagle delay.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let app = router(Arc::clone(&service), args.max_body_bytes);
    tokio::spawn(reload_on_hangup(args.clone(), service));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {address}")
            .and_then(|()| stdout.flush())
            .map_err(|error| {
                CliError::failed(format!("cannot write to standard output: {error}"))
            })?;
    }
    tracing::info!(%address, "listening");

    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!("stopped");
            Ok(())
        }
        Ok(Ok(Err(error))) => Err(CliError::failed(format!("server error: {error}"))),
        Ok(Err(error)) => Err(CliError::failed(format!("server task failed: {error}"))),
        Err(_) => {
            tracing::warn!(
                grace_secs = SHUTDOWN_GRACE.as_secs(),
                "stopped with requests still open"
            );
            Ok(())
        }
    }
}

/// On SIGHUP, reads the trust file and status tokens again and swaps the verifier;
/// if they cannot be read, the one in force stays and the error is logged.
async fn reload_on_hangup(args: ServeVerifierArgs, service: Shared) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("SIGHUP reload unavailable");
            return;
        };
        while hangups.recv().await.is_some() {
            let args = args.clone();
            match tokio::task::spawn_blocking(move || load_verifier(&args)).await {
                Ok(Ok(verifier)) => {
                    let (issuers, lists) = (verifier.trust().len(), verifier.status_lists().len());
                    service.replace(verifier);
                    tracing::info!(issuers, lists, "reloaded trust and status lists");
                }
                Ok(Err(error)) => {
                    tracing::error!(error = %error.message, "reload failed; keeping the previous configuration")
                }
                Err(error) => tracing::error!(%error, "reload failed"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (args, service);
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// `POST /v1/presentations/verify`: one verdict. A presentation that fails
/// verification is a valid request: 200 with `"valid": false`.
async fn verify(
    State(service): State<Shared>,
    ApiJson(item): ApiJson<VerifyRequest>,
) -> Result<Json<Value>, ApiError> {
    service.check_audience(&item.audience)?;
    let slot = service.admit().await?;
    let verifier = service.verifier();
    let (verdict, elapsed) = tokio::task::spawn_blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _slot = slot;
        let started = Instant::now();
        let request = PresentationRequest::new(item.audience, item.nonce);
        let now = agentid_wallet::unix_now();
        let verdict = verifier.verify_presentation(&item.presentation, &request, now);
        (verdict, started.elapsed())
    })
    .await
    .map_err(internal_error)?;
    log_decision(&verdict, elapsed, "verify", 1);
    Ok(Json(verdict_json(&verdict)))
}

/// `POST /v1/presentations/verify-batch`: one verdict per item, in order.
async fn verify_batch(
    State(service): State<Shared>,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Json<Value>, ApiError> {
    let count = batch.items.len();
    if count > MAX_BATCH_ITEMS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{count} items: at most {MAX_BATCH_ITEMS} per request"),
        ));
    }
    for item in &batch.items {
        service.check_audience(&item.audience)?;
    }
    let slot = service.admit().await?;
    tracing::debug!(items = count, "batch started");
    let verifier = service.verifier();
    let (verdicts, elapsed) = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let started = Instant::now();
        let (presentations, requests): (Vec<String>, Vec<PresentationRequest>) = batch
            .items
            .into_iter()
            .map(|item| {
                (
                    item.presentation,
                    PresentationRequest::new(item.audience, item.nonce),
                )
            })
            .unzip();
        let items: Vec<BatchItem<'_>> = presentations
            .iter()
            .zip(&requests)
            .map(|(presentation, request)| BatchItem {
                presentation,
                request,
            })
            .collect();
        let now = agentid_wallet::unix_now();
        let verdicts = verifier.verify_batch(&items, now);
        (verdicts, started.elapsed())
    })
    .await
    .map_err(internal_error)?;
    if verdicts.len() != count {
        tracing::error!(
            items = count,
            verdicts = verdicts.len(),
            "batch verifier returned the wrong number of verdicts"
        );
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        ));
    }
    for verdict in &verdicts {
        log_decision(verdict, elapsed, "verify-batch", count);
    }
    let results: Vec<Value> = verdicts.iter().map(verdict_json).collect();
    Ok(Json(json!({"results": results})))
}

fn verdict_json(verdict: &Result<Verified, VerifyError>) -> Value {
    match verdict {
        Ok(verified) => json!({"valid": true, "verified": verified}),
        Err(error) => rejection_json(error),
    }
}

/// One line per verdict. `elapsed_us` is the time of the verification call: for a
/// batch item, of the whole batch (`batch_size` items).
fn log_decision(
    verdict: &Result<Verified, VerifyError>,
    elapsed: Duration,
    endpoint: &'static str,
    batch_size: usize,
) {
    let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    match verdict {
        Ok(verified) => tracing::info!(
            endpoint,
            issuer = verified.issuer.as_str(),
            vct = verified.vct.as_deref(),
            valid = true,
            elapsed_us,
            batch_size,
            "decision"
        ),
        Err(error) => tracing::info!(
            endpoint,
            valid = false,
            kind = error.kind().as_str(),
            elapsed_us,
            batch_size,
            "decision"
        ),
    }
}

fn internal_error(error: tokio::task::JoinError) -> ApiError {
    tracing::error!(panic = error.is_panic(), "verification task failed");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
