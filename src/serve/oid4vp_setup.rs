//! Turning `serve verifier`'s OpenID4VP flags into the role: the public URL, who
//! signs requests, the state store and the state secret.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::oid4vp::Oid4vp;
use super::state::{is_postgres_url, StateLimits, StateStore};
use crate::cli::{RequestIdentityArgs, VerifierOid4vpArgs};
use crate::error::CliError;
use crate::oid4vp::identity::{ClientIdPrefix, RequestSigner};
use crate::oid4vp::secret::StateSecret;

/// The state store and secret both roles keep their state in (OpenID4VP requests;
/// the authorization server's used nonces and DPoP `jti`s).
pub(super) struct OpenState {
    pub(super) store: StateStore,
    pub(super) secret: StateSecret,
    /// Whether the store is PostgreSQL (shared by several nodes).
    pub(super) postgres: bool,
}

/// Opens `--state` with its `--state-secret` (created beside embedded state when
/// not given).
pub(super) async fn open_state(args: &VerifierOid4vpArgs) -> Result<OpenState, CliError> {
    let (location, secret) = state_location(&args.state, args.state_secret.as_deref(), "requests")?;
    let store = StateStore::open(&location, StateLimits::default())
        .await
        .map_err(|e| CliError::failed(format!("service state: {e}")))?;
    Ok(OpenState {
        store,
        secret,
        postgres: is_postgres_url(&args.state),
    })
}

/// Where a service keeps its state (`state`: a directory, or a PostgreSQL URL)
/// and its state secret: the file given, else, for a directory only, `secret`
/// inside it (created on first start). An embedded store lives in the
/// subdirectory `embedded` of the directory.
pub(super) fn state_location(
    state: &str,
    secret: Option<&Path>,
    embedded: &str,
) -> Result<(String, StateSecret), CliError> {
    let postgres = is_postgres_url(state);
    let secret = match (secret, postgres) {
        (Some(path), _) => StateSecret::read(path)?,
        (None, true) => {
            return Err(CliError::usage(
                "a PostgreSQL state needs --state-secret FILE, the same on every node",
            ))
        }
        (None, false) => {
            std::fs::create_dir_all(state).map_err(|e| {
                CliError::failed(format!("cannot create the state directory {state}: {e}"))
            })?;
            StateSecret::read_or_create(&Path::new(state).join("secret"))?
        }
    };
    let location = if postgres {
        state.to_owned()
    } else {
        Path::new(state)
            .join(embedded)
            .to_string_lossy()
            .into_owned()
    };
    Ok((location, secret))
}

/// The role, or `None` without `--public-url`. `state` is the open state store
/// (`None` only when the role is off).
pub(super) async fn build(
    args: &VerifierOid4vpArgs,
    wallet: Option<&PathBuf>,
    state: Option<OpenState>,
) -> Result<Option<Arc<Oid4vp>>, CliError> {
    let Some(public_url) = &args.public_url else {
        return Ok(None);
    };
    let parsed = url::Url::parse(public_url)
        .map_err(|e| CliError::usage(format!("--public-url {public_url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.query().is_some() {
        return Err(CliError::usage(
            "--public-url is an http(s) URL without a query, e.g. https://verifier.example",
        ));
    }
    let signer = signer(&args.identity, wallet)?;
    if let Some(host) = signer.required_host() {
        if parsed.host_str() != Some(host) {
            return Err(CliError::usage(format!(
                "x509_san_dns:{host}: --public-url must be on {host} (OpenID4VP 1.0 §5.9.3: \
                 the response URI's host is the DNS name)"
            )));
        }
    }
    let ttl = humantime::parse_duration(&args.request_ttl)
        .map_err(|e| CliError::usage(format!("--request-ttl: {e}")))?;
    let retention = humantime::parse_duration(&args.result_retention)
        .map_err(|e| CliError::usage(format!("--result-retention: {e}")))?;
    if ttl.as_secs() == 0 {
        return Err(CliError::usage("--request-ttl must be at least one second"));
    }
    let Some(OpenState {
        store,
        secret,
        postgres,
    }) = state
    else {
        return Err(CliError::failed("the state store is not open"));
    };
    let role = Oid4vp {
        public_url: public_url.trim_end_matches('/').to_owned(),
        signer,
        store,
        secret,
        ttl,
        retention,
        http: Oid4vp::callback_client()?,
    };
    tracing::info!(
        client_id = %role.signer.client_id("<response_uri>"),
        state = if postgres { "postgres" } else { "embedded" },
        "oid4vp verifier on"
    );
    Ok(Some(Arc::new(role)))
}

/// Who signs: a key and chain for the x509 prefixes, the wallet's root key for
/// `decentralized_identifier:`, nobody for `redirect_uri:`.
pub(crate) fn signer(
    args: &RequestIdentityArgs,
    wallet: Option<&PathBuf>,
) -> Result<RequestSigner, CliError> {
    match args.client_id_prefix {
        ClientIdPrefix::X509Hash | ClientIdPrefix::X509SanDns => {
            let (Some(key), Some(chain)) = (&args.request_key, &args.request_chain) else {
                return Err(CliError::usage(
                    "the x509_hash and x509_san_dns prefixes need --request-key and --request-chain",
                ));
            };
            RequestSigner::x509(args.client_id_prefix, key, chain)
        }
        ClientIdPrefix::DecentralizedIdentifier => {
            let dir = wallet.ok_or_else(|| {
                CliError::usage("decentralized_identifier signs with the --wallet's root key")
            })?;
            let wallet =
                crate::wallet_cmd::open_within(dir, &agentid_wallet::KdfLimits::default())?;
            let key = wallet
                .signing_key(wallet.did())
                .map_err(crate::wallet_cmd::wallet_error)?;
            RequestSigner::did(key)
        }
        ClientIdPrefix::RedirectUri => Ok(RequestSigner::Unsigned),
    }
}
