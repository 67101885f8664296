//! Turning `serve verifier`'s token flags into the role: the issuer, the signing
//! keys (current and previous), the lifetimes.

use std::sync::Arc;

use agentid_verifier::dpop::jwk_thumbprint;

use super::Authz;
use crate::cli::VerifierAuthzArgs;
use crate::error::CliError;
use crate::serve::nonce::NonceKey;
use crate::serve::oid4vp_setup::OpenState;

/// Longest key file read, in bytes.
/// Longest token lifetime accepted for --token-max-ttl.
const MAX_TOKEN_TTL_SECS: u64 = 24 * 3600;

/// The role, or `None` without `--token-key`.
pub(in crate::serve) fn build(
    args: &VerifierAuthzArgs,
    public_url: Option<&str>,
    state: Option<&OpenState>,
) -> Result<Option<Arc<Authz>>, CliError> {
    let Some(key_path) = &args.token_key else {
        if args.token_issuer.is_some() || !args.token_key_previous.is_empty() {
            return Err(CliError::usage(
                "--token-issuer and --token-key-previous need --token-key",
            ));
        }
        return Ok(None);
    };
    let issuer =
        args.token_issuer.as_deref().or(public_url).ok_or_else(|| {
            CliError::usage("--token-key needs --token-issuer URL (or --public-url)")
        })?;
    let issuer = check_issuer(issuer)?;
    let signer = crate::keyfile::read_private_key(key_path)?;
    let previous = args
        .token_key_previous
        .iter()
        .map(|path| {
            let key = crate::keyfile::read_private_key(path)?;
            Ok((jwk_thumbprint(key.public_key()), key.public_key().clone()))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let duration = |flag: &str, text: &str| {
        humantime::parse_duration(text).map_err(|e| CliError::usage(format!("{flag}: {e}")))
    };
    let max_ttl = duration("--token-max-ttl", &args.token_max_ttl)?;
    let nonce_ttl = duration("--token-nonce-ttl", &args.token_nonce_ttl)?;
    if max_ttl.as_secs() == 0 || max_ttl.as_secs() > MAX_TOKEN_TTL_SECS {
        return Err(CliError::usage(
            "--token-max-ttl is between one second and 24 hours",
        ));
    }
    if nonce_ttl.as_secs() == 0 || nonce_ttl.as_secs() > 3600 {
        return Err(CliError::usage(
            "--token-nonce-ttl is between one second and one hour",
        ));
    }
    let state = state.ok_or_else(|| CliError::failed("the state store is not open"))?;
    let kid = jwk_thumbprint(signer.public_key());
    tracing::info!(%issuer, %kid, alg = signer.algorithm().as_str(), "authorization server on");
    Ok(Some(Arc::new(Authz {
        issuer,
        signer,
        kid,
        previous,
        store: state.store.clone(),
        nonces: NonceKey::new(state.secret.nonce_key()),
        max_ttl,
        nonce_ttl,
        require_dpop: args.token_require_dpop,
    })))
}

/// RFC 8414 §2: an https URL (http allowed for local use) with no query or
/// fragment; here also no path, so the metadata lives at the root's well-known URL.
fn check_issuer(issuer: &str) -> Result<String, CliError> {
    let parsed = url::Url::parse(issuer)
        .map_err(|e| CliError::usage(format!("--token-issuer {issuer:?}: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || parsed.path() != "/"
        || !parsed.username().is_empty()
    {
        return Err(CliError::usage(
            "--token-issuer is an http(s) URL without path, query or fragment, e.g. \
             https://auth.example",
        ));
    }
    Ok(issuer.trim_end_matches('/').to_owned())
}
