//! `agentid serve verifier`: the verifier as a stateless HTTP/1.1 JSON service.
//!
//! The service holds no state between requests: one immutable [`Verifier`] (trust
//! store and policy) shared behind an `Arc`, and the system clock read per request.
//! Verification, and the authorization of the action a request names (see
//! [`crate::decision`], shared with `agentid verify`), run on the blocking pool, so a
//! slow batch never stalls the connections. One log line per decision names its
//! issuer (when verified), `vct`, validity, rejection kind, whether the action was
//! authorized and the time, never a claim, disclosure, nonce, the action or the
//! presentation.
//!
//! One file per role: [`routes`] (the route list and handlers), [`request`] (the
//! request shapes, checked at the edge), [`error`] (the one error type and wire
//! shape), [`limits`] (timeouts, sizes, budgets), [`listener`] (the accept loop),
//! [`health`] (`/healthz`) and [`openapi`] (the API description). The layers are
//! composed once, in [`router`]. [`state`] is the OpenID4VP request-state store
//! (sled or PostgreSQL) the verifier endpoints keep their requests in, and the
//! authorization server its used nonces. [`authz`] is the authorization-server
//! role (token exchange), [`oid4vp`] the OpenID4VP verifier role.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use agentid_verifier::{Policy, Verifier};
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tracing_subscriber::EnvFilter;

use crate::cli::ServeVerifierArgs;
use crate::error::CliError;
use crate::verify_cmd::{load_status, load_trust};
use error::ApiError;
use limits::{BodyBudget, Limits};

mod authz;
mod error;
mod health;
mod issuer;
mod limits;
mod listener;
mod nonce;
mod oid4vp;
mod oid4vp_setup;

pub(crate) use oid4vp_setup::signer as request_signer;
mod openapi;
mod request;
mod routes;
pub(crate) mod state;

/// How long in-flight requests get to finish after SIGTERM or Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the handlers share: the verifier in force (replaced on SIGHUP) and the
/// slots that bound how many verifications run at once.
struct Service {
    verifier: RwLock<Arc<Verifier>>,
    /// The audiences requests may name; empty: any (the caller pins it).
    audiences: Vec<String>,
    slots: Arc<Semaphore>,
    queue_wait: Duration,
    /// The OpenID4VP role, when `--public-url` turns it on.
    oid4vp: Option<Arc<oid4vp::Oid4vp>>,
    /// The authorization-server role, when `--token-key` turns it on.
    authz: Option<Arc<authz::Authz>>,
}

type Shared = Arc<Service>;

impl Service {
    fn new(
        verifier: Verifier,
        audiences: Vec<String>,
        slots: usize,
        queue_wait: Duration,
        oid4vp: Option<Arc<oid4vp::Oid4vp>>,
        authz: Option<Arc<authz::Authz>>,
    ) -> Shared {
        Arc::new(Service {
            verifier: RwLock::new(Arc::new(verifier)),
            audiences,
            slots: Arc::new(Semaphore::new(slots)),
            queue_wait,
            oid4vp,
            authz,
        })
    }

    /// Refuses a request for an audience this service does not answer to.
    fn check_audience(&self, audience: &str) -> Result<(), ApiError> {
        if self.audiences.is_empty() || self.audiences.iter().any(|own| own == audience) {
            Ok(())
        } else {
            Err(ApiError::AudienceNotServed)
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
}

/// Reads the trust file and status tokens into a verifier.
fn load_verifier(args: &ServeVerifierArgs) -> Result<Verifier, CliError> {
    let trust = load_trust(&args.trust)?;
    let policy = Policy::default();
    let status = load_status(&args.status, &trust, &policy, agentid_wallet::unix_now())?;
    Ok(Verifier::new(trust, policy).with_status_lists(status))
}

pub(crate) use issuer::run as run_issuer;

pub(crate) fn run(
    args: &ServeVerifierArgs,
    wallet: Option<&std::path::PathBuf>,
) -> Result<(), CliError> {
    // Status lists are checked for freshness at every use: send SIGHUP after
    // replacing the token files (or the trust file) to load them again.
    let limits = Limits::from_args(&args.http)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let slots = args
        .max_concurrent
        .map_or(2 * cores, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let verifier = load_verifier(args)?;
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        // Both roles keep their state in one store (requests; used nonces and jtis).
        let state = if args.oid4vp.public_url.is_some() || args.authz.token_key.is_some() {
            Some(oid4vp_setup::open_state(&args.oid4vp).await?)
        } else {
            None
        };
        let authz = authz::setup::build(
            &args.authz,
            args.oid4vp.public_url.as_deref(),
            state.as_ref(),
        )?;
        let oid4vp = oid4vp_setup::build(&args.oid4vp, wallet, state).await?;
        let service = Service::new(
            verifier,
            args.audiences.clone(),
            slots,
            Duration::from_millis(args.queue_wait_ms),
            oid4vp,
            authz,
        );
        serve(args, &limits, service, shutdown_signal()).await
    })
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

/// The routes with the per-request limits, composed once, outermost first: the
/// request timeout (503 `timed_out`), then the body read within its size, time and
/// the shared byte budget (413, 408, 503). The connection limits (count, header
/// read time) are the listener's; the verification slots are an extractor on the
/// two verify handlers ([`limits::Slot`]), taken once the body is in. Every
/// refusal, the layers' included, is an [`ApiError`].
fn router(service: Shared, limits: &Limits) -> Router {
    with_limits(routes::router(), limits).with_state(service)
}

/// `routes` inside the per-request limits (see [`router`]); shared by every service.
fn with_limits<S: Clone + Send + Sync + 'static>(routes: Router<S>, limits: &Limits) -> Router<S> {
    let request_timeout = limits.request_timeout;
    routes.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(
                move |error: tower::BoxError| async move {
                    error::from_layer(&error, request_timeout)
                },
            ))
            .timeout(request_timeout)
            .layer(axum::middleware::from_fn_with_state(
                BodyBudget::new(limits),
                limits::buffer_body,
            ))
            // The body is already read and bounded by `buffer_body`.
            .layer(DefaultBodyLimit::disable()),
    )
}

/// Binds `listen`, refusing it as a usage error.
async fn bind(listen: &str) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| CliError::usage(format!("cannot listen on {listen}: {error}")))?;
    let address = listener
        .local_addr()
        .map_err(|error| CliError::failed(format!("cannot read the bound address: {error}")))?;
    Ok((listener, address))
}

async fn serve(
    args: &ServeVerifierArgs,
    limits: &Limits,
    service: Shared,
    shutdown: impl Future<Output = ()>,
) -> Result<(), CliError> {
    let (listener, address) = bind(&args.listen).await?;
    let app = router(Arc::clone(&service), limits);
    tokio::spawn(reload_on_hangup(args.clone(), Arc::clone(&service)));
    if let Some(role) = service.oid4vp.clone() {
        tokio::spawn(oid4vp::sweep_expired(role));
    }
    if let Some(role) = &service.authz {
        tokio::spawn(authz::sweep_marks(role.store.clone()));
    }
    tokio::spawn(health::watch_status_lists(service));
    serve_app(listener, address, app, limits, shutdown).await
}

/// Serves `app` on `listener` until `shutdown`, then gives in-flight requests
/// [`SHUTDOWN_GRACE`] to finish. Prints "listening on ADDR" once accepting.
async fn serve_app(
    listener: tokio::net::TcpListener,
    address: std::net::SocketAddr,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<(), CliError> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener::serve(
        listener,
        app,
        limits.header_timeout,
        limits.max_connections,
        async move {
            let _ = stopped.await;
        },
    ));
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {address}")
            .and_then(|()| stdout.flush())
            .map_err(|error| {
                CliError::failed(format!("cannot write to standard output: {error}"))
            })?;
    }
    tracing::info!(
        %address,
        header_timeout_ms = limits.header_timeout.as_millis(),
        body_timeout_ms = limits.body_timeout.as_millis(),
        request_timeout_ms = limits.request_timeout.as_millis(),
        max_connections = limits.max_connections,
        max_body_bytes = limits.max_body_bytes,
        max_buffered_bytes = limits.max_buffered_bytes,
        "listening"
    );

    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(())) => {
            tracing::info!("stopped");
            Ok(())
        }
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
