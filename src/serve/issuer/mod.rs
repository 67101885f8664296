//! `agentid serve issuer`: the issuer as a long-running HTTP service.
//!
//! The wallet's root key is unlocked once, at start (Argon2id runs once, not per
//! credential), and the wallet is closed again: the service holds only the
//! [`agentid_wallet::Issuer`]. Callers authenticate every request with a signed
//! assertion ([`callers`]); credentials are signed and recorded with a status list
//! entry no other credential has ([`mint`]) in the issuer store, embedded or on
//! PostgreSQL for several nodes ([`crate::serve::state::issuer`]); status lists are
//! served for verifiers and caches ([`status`]); wallets use OpenID4VCI 1.0
//! ([`oid4vci`]). One file per role: [`api`] (the caller API and status
//! endpoints), [`errors`] (the two wire shapes), [`routes`] (the route list).
//! `docs/issuer.md` is the operator's guide.

mod api;
mod callers;
mod errors;
mod mint;
mod oid4vci;
mod routes;
mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentid_wallet::SchemaRegistry;

use super::limits::Limits;
use super::nonce::NonceKey;
use super::oid4vp_setup::state_location;
use super::state::issuer::IssuerStore;
use super::state::{StateLimits, StateStore};
use crate::cli::ServeIssuerArgs;
use crate::error::CliError;
use crate::oid4vp::secret::StateSecret;
use callers::Callers;
use mint::Mint;
use status::Publisher;

/// What the handlers share.
pub(super) struct Issuing {
    mint: Arc<Mint>,
    /// Used-once marks: caller `jti`s, `c_nonce`s.
    marks: StateStore,
    callers: Callers,
    publisher: Publisher,
    /// The service's URL, without a trailing slash: the credential issuer id.
    public_url: String,
    /// The credential types it issues (those with a schema).
    vcts: Vec<String>,
    secret: StateSecret,
    nonces: NonceKey,
    offer_ttl_secs: u64,
    token_ttl_secs: u64,
    nonce_ttl_secs: u64,
}

type Shared = Arc<Issuing>;

fn duration(flag: &str, text: &str) -> Result<u64, CliError> {
    let secs = humantime::parse_duration(text)
        .map_err(|error| CliError::usage(format!("--{flag} {text:?}: {error}")))?
        .as_secs();
    if secs == 0 {
        return Err(CliError::usage(format!(
            "--{flag} must be at least one second"
        )));
    }
    Ok(secs)
}

/// The public URL, checked: http(s), a host, no path, query or fragment.
fn public_url(text: &str) -> Result<String, CliError> {
    let parsed = url::Url::parse(text)
        .map_err(|error| CliError::usage(format!("--public-url {text:?}: {error}")))?;
    let bare = parsed.path() == "/" && parsed.query().is_none() && parsed.fragment().is_none();
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() || !bare {
        return Err(CliError::usage(
            "--public-url is an http(s) URL without path, query or fragment, e.g. \
             https://issuer.example (OpenID4VCI metadata lives at its /.well-known/)",
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Runs the issuer service until SIGTERM or Ctrl-C.
pub(crate) fn run(args: &ServeIssuerArgs, wallet: Option<&PathBuf>) -> Result<(), CliError> {
    let limits = Limits::from_args(&args.http)?;
    let public_url = public_url(&args.public_url)?;
    let assertion_max = duration("assertion-max-lifetime", &args.assertion_max_lifetime)?;
    let status_lifetime = duration("status-lifetime", &args.status_lifetime)?;
    let status_ttl = duration("status-ttl", &args.status_ttl)?;
    let offer_ttl = duration("offer-ttl", &args.offer_ttl)?;
    let token_ttl = duration("token-ttl", &args.token_ttl)?;
    let nonce_ttl = duration("nonce-ttl", &args.nonce_ttl)?;
    let callers = Callers::load(&args.callers, &public_url, assertion_max)?;
    let dir = wallet.ok_or_else(|| {
        CliError::usage("serve issuer signs with a wallet's root key: give --wallet DIR")
    })?;
    // Unlocked once; the wallet is closed again (its directory free for the CLI).
    let issuer = {
        let wallet = crate::wallet_cmd::open_within(dir, &agentid_wallet::KdfLimits::default())?;
        wallet.issuer().map_err(crate::wallet_cmd::wallet_error)?
    };
    let vcts: Vec<String> = SchemaRegistry::builtin()
        .map_err(crate::wallet_cmd::wallet_error)?
        .types()
        .map(str::to_owned)
        .collect();
    let (location, secret) = state_location(&args.store, args.state_secret.as_deref(), "issuer")?;
    super::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let now = agentid_wallet::unix_now();
        let (store, marks) = IssuerStore::open(&location, StateLimits::default(), now)
            .await
            .map_err(|error| CliError::failed(format!("issuer store: {error}")))?;
        let mint = Mint::new(issuer, store, &public_url)
            .await
            .map_err(|error| CliError::failed(format!("issuer store: {error}")))?;
        tracing::info!(
            issuer = %mint.issuer.id(),
            callers = callers.len(),
            store = if super::state::is_postgres_url(&args.store) { "postgres" } else { "embedded" },
            "issuer on"
        );
        let role = Arc::new(Issuing {
            mint: Arc::new(mint),
            nonces: NonceKey::new(secret.credential_nonce_key()),
            marks,
            callers,
            publisher: Publisher::new(status_lifetime, status_ttl),
            public_url,
            vcts,
            secret,
            offer_ttl_secs: offer_ttl,
            token_ttl_secs: token_ttl,
            nonce_ttl_secs: nonce_ttl,
        });
        let (listener, address) = super::bind(&args.listen).await?;
        tokio::spawn(sweep_marks(role.marks.clone()));
        let app = super::with_limits(routes::router(), &limits).with_state(role);
        super::serve_app(listener, address, app, &limits, super::shutdown_signal()).await
    })
}

/// Deletes expired used-once marks every minute.
async fn sweep_marks(marks: StateStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(error) = marks.sweep_marks(agentid_wallet::unix_now()).await {
            tracing::warn!(%error, "sweeping used-once marks failed");
        }
    }
}
