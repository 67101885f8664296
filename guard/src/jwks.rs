//! Fetching and caching an authorization server's JWK set.
//!
//! One [`KeySource`] per issuer. Every fetch, whatever its reason (first use, cache
//! past its lifetime, an unknown `kid`), takes the issuer's fetch lock and happens at
//! most once per [`JwksOptions::min_refetch_interval`]: a flood of tokens with
//! made-up `kid`s, or an authorization server that is down, costs it at most one
//! request per interval. A set past its lifetime whose refetch fails stays in use
//! (the keys did not become wrong because the server is unreachable); a guard that
//! never fetched a set answers 503.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use agentid_verifier::access_token::JwkSet;
use tokio::sync::Mutex;
use url::Url;

use crate::config::{IssuerConfig, JwksOptions, JwksSource};
use crate::error::ConfigError;

/// The keys are not available: never fetched, or the fetch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeysUnavailable;

#[derive(Clone)]
struct Cached {
    set: Arc<JwkSet>,
    fetched_at: Instant,
    generation: u64,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// The JWKS URI learned from the issuer's metadata (discovery).
    discovered: Option<Url>,
}

/// The keys of one issuer.
pub(crate) struct KeySource {
    issuer: String,
    source: JwksSource,
    options: JwksOptions,
    client: reqwest::Client,
    cached: RwLock<Option<Cached>>,
    fetch: Mutex<FetchState>,
}

/// A snapshot of the keys, with the generation it came from (for a later refetch).
pub(crate) struct Keys {
    pub(crate) set: Arc<JwkSet>,
    generation: u64,
}

impl KeySource {
    pub(crate) fn new(
        issuer: &IssuerConfig,
        options: &JwksOptions,
        client: reqwest::Client,
    ) -> Result<Self, ConfigError> {
        let refuse = |reason| ConfigError::Issuer {
            issuer: issuer.issuer().to_owned(),
            reason,
        };
        let issuer_url = Url::parse(issuer.issuer()).map_err(|_| refuse("is not a URL"))?;
        match &issuer.jwks {
            JwksSource::Uri(uri) => check_scheme(uri, options).map_err(refuse)?,
            JwksSource::Discover => check_scheme(&issuer_url, options).map_err(refuse)?,
            JwksSource::Static(_) => {}
        }
        let cached = match &issuer.jwks {
            JwksSource::Static(set) => Some(Cached {
                set: Arc::clone(set),
                fetched_at: Instant::now(),
                generation: 0,
            }),
            _ => None,
        };
        Ok(KeySource {
            issuer: issuer.issuer().to_owned(),
            source: issuer.jwks.clone(),
            options: options.clone(),
            client,
            cached: RwLock::new(cached),
            fetch: Mutex::new(FetchState::default()),
        })
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    fn snapshot(&self) -> Option<Cached> {
        match self.cached.read() {
            Ok(cached) => cached.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The keys to validate with: the cached set while it is fresh, else a refetch
    /// (rate-limited), else the stale set.
    pub(crate) async fn current(&self) -> Result<Keys, KeysUnavailable> {
        let cached = self.snapshot();
        if let Some(cached) = &cached {
            let fresh = cached.fetched_at.elapsed() < self.options.cache_ttl;
            if fresh || matches!(self.source, JwksSource::Static(_)) {
                return Ok(cached.keys());
            }
        }
        let generation = cached.as_ref().map(|cached| cached.generation);
        match self.refetch(generation).await {
            Some(keys) => Ok(keys),
            None => cached.map(|cached| cached.keys()).ok_or(KeysUnavailable),
        }
    }

    /// A token named a `kid` not in `seen`: refetch the set, unless another task
    /// already did since, or the last fetch was less than the minimum interval ago.
    /// `None` when nothing newer is available.
    pub(crate) async fn refetch_after_unknown_kid(&self, seen: &Keys) -> Option<Keys> {
        if matches!(self.source, JwksSource::Static(_)) {
            return None;
        }
        self.refetch(Some(seen.generation)).await
    }

    /// Fetches under the lock. `seen` is the generation the caller had: if the cache
    /// moved past it while waiting for the lock, that newer set is the answer.
    async fn refetch(&self, seen: Option<u64>) -> Option<Keys> {
        let mut state = self.fetch.lock().await;
        if let Some(cached) = self.snapshot() {
            if Some(cached.generation) != seen {
                return Some(cached.keys());
            }
        }
        if state
            .last_attempt
            .is_some_and(|last| last.elapsed() < self.options.min_refetch_interval)
        {
            return None;
        }
        state.last_attempt = Some(Instant::now());
        match self.fetch_set(&mut state).await {
            Ok(set) => {
                let generation = seen.map_or(1, |seen| seen + 1);
                let cached = Cached {
                    set: Arc::new(set),
                    fetched_at: Instant::now(),
                    generation,
                };
                let keys = cached.keys();
                match self.cached.write() {
                    Ok(mut slot) => *slot = Some(cached),
                    Err(poisoned) => *poisoned.into_inner() = Some(cached),
                }
                tracing::info!(issuer = %self.issuer, keys = keys.set.len(), "fetched the JWK set");
                Some(keys)
            }
            Err(reason) => {
                tracing::warn!(issuer = %self.issuer, reason, "cannot fetch the JWK set");
                None
            }
        }
    }

    async fn fetch_set(&self, state: &mut FetchState) -> Result<JwkSet, &'static str> {
        let uri = match &self.source {
            JwksSource::Uri(uri) => uri.clone(),
            JwksSource::Static(_) => return Err("static key set"),
            JwksSource::Discover => match &state.discovered {
                Some(uri) => uri.clone(),
                None => {
                    let uri = self.discover().await?;
                    state.discovered = Some(uri.clone());
                    uri
                }
            },
        };
        let body = self.get(uri).await?;
        JwkSet::from_json(&body).map_err(|_| "the JWK set is not usable")
    }

    /// RFC 8414 §3: the metadata at the issuer's origin, well-known path inserted
    /// before the issuer's path; its `issuer` must be the issuer (§3.3).
    async fn discover(&self) -> Result<Url, &'static str> {
        let issuer = Url::parse(&self.issuer).map_err(|_| "the issuer is not a URL")?;
        let path = issuer.path().trim_end_matches('/');
        let metadata = format!(
            "{}/.well-known/oauth-authorization-server{path}",
            issuer.origin().ascii_serialization()
        );
        let metadata = Url::parse(&metadata).map_err(|_| "no metadata URL")?;
        let body = self.get(metadata).await?;
        let document: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| "the metadata is not JSON")?;
        if document.get("issuer").and_then(|v| v.as_str()) != Some(self.issuer.as_str()) {
            return Err("the metadata names another issuer (RFC 8414 §3.3)");
        }
        let uri = document
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or("the metadata has no jwks_uri")?;
        let uri = Url::parse(uri).map_err(|_| "the jwks_uri is not a URL")?;
        check_scheme(&uri, &self.options)?;
        Ok(uri)
    }

    /// GETs `url`, reading at most `max_bytes`.
    async fn get(&self, url: Url) -> Result<Vec<u8>, &'static str> {
        let mut response = self
            .client
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.options.timeout)
            .send()
            .await
            .map_err(|_| "the request failed")?;
        if response.status() != reqwest::StatusCode::OK {
            return Err("the answer is not 200");
        }
        let max = self.options.max_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > max as u64)
        {
            return Err("the document is larger than the limit");
        }
        let mut body = Vec::new();
        while let Some(chunk) = tokio::time::timeout(self.options.timeout, response.chunk())
            .await
            .map_err(|_| "the body timed out")?
            .map_err(|_| "the body could not be read")?
        {
            if body.len() + chunk.len() > max {
                return Err("the document is larger than the limit");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl Cached {
    fn keys(&self) -> Keys {
        Keys {
            set: Arc::clone(&self.set),
            generation: self.generation,
        }
    }
}

fn check_scheme(url: &Url, options: &JwksOptions) -> Result<(), &'static str> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if options.allow_http => Ok(()),
        _ => Err("is not https (JwksOptions::allow_http allows http for tests)"),
    }
}

/// The HTTP client all key sources share: rustls on ring, no redirects.
pub(crate) fn client(options: &JwksOptions) -> Result<reqwest::Client, ConfigError> {
    // reqwest's rustls backend takes the process-wide provider; installing it twice
    // is harmless (the second call reports the first).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(options.timeout.min(Duration::from_secs(5)))
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("agentid-guard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| ConfigError::HttpClient(error.to_string()))
}
