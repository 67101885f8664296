//! What a guard protects and how: [`GuardConfig`].

use std::sync::Arc;
use std::time::Duration;

use agentid_verifier::access_token::JwkSet;
use url::Url;

use crate::error::ConfigError;
use crate::scopes::{RouteScopes, ToolScopes};

/// Default bound on the DPoP `jti` replay cache (entries).
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Default largest MCP JSON-RPC body read for per-tool scopes (1 MiB).
pub const DEFAULT_MAX_MCP_BODY_BYTES: usize = 1024 * 1024;

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JwksSource {
    /// A JWKS URI, fetched and cached.
    Uri(Url),
    /// The `jwks_uri` of the issuer's RFC 8414 metadata
    /// (`/.well-known/oauth-authorization-server`, path-inserted per RFC 8414 §3.1).
    Discover,
    /// A fixed key set (tests, or keys distributed out of band): never fetched.
    Static(Arc<JwkSet>),
}

/// One authorization server the guard accepts tokens from.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    pub(crate) issuer: String,
    pub(crate) jwks: JwksSource,
}

impl IssuerConfig {
    /// Tokens from `issuer` (compared exactly with `iss`), keys from `jwks`.
    pub fn new(issuer: impl Into<String>, jwks: JwksSource) -> Self {
        IssuerConfig {
            issuer: issuer.into(),
            jwks,
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

/// How the JWK sets are fetched and cached.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksOptions {
    /// Whole-request timeout of a fetch (connect included). Default 5 s.
    pub timeout: Duration,
    /// Largest JWKS or metadata document read. Default 64 KiB
    /// ([`agentid_verifier::access_token::MAX_JWKS_BYTES`]).
    pub max_bytes: usize,
    /// How long a fetched set is used before it is fetched again. Default 10 min.
    pub cache_ttl: Duration,
    /// Least time between two fetches of one issuer's set, whatever the reason (an
    /// unknown `kid`, an expired cache, a failed fetch). Default 30 s: a flood of
    /// tokens with made-up `kid`s costs the authorization server at most one request
    /// per interval.
    pub min_refetch_interval: Duration,
    /// Plain `http` JWKS and metadata URIs are refused unless this is set (local
    /// tests only).
    pub allow_http: bool,
}

impl Default for JwksOptions {
    fn default() -> Self {
        JwksOptions {
            timeout: Duration::from_secs(5),
            max_bytes: agentid_verifier::access_token::MAX_JWKS_BYTES,
            cache_ttl: Duration::from_secs(600),
            min_refetch_interval: Duration::from_secs(30),
            allow_http: false,
        }
    }
}

/// The configuration of a [`crate::GuardLayer`].
#[derive(Clone)]
pub struct GuardConfig {
    pub(crate) resource: Url,
    pub(crate) resource_id: String,
    pub(crate) issuers: Vec<IssuerConfig>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) dpop_required: bool,
    pub(crate) dpop_max_age_secs: u64,
    pub(crate) dpop_skew_secs: u64,
    pub(crate) clock_skew_secs: u64,
    pub(crate) max_token_bytes: usize,
    pub(crate) replay_capacity: usize,
    pub(crate) jwks: JwksOptions,
    pub(crate) routes: RouteScopes,
    pub(crate) tools: Option<ToolScopes>,
    pub(crate) max_mcp_body_bytes: usize,
    pub(crate) direct: Option<crate::direct::DirectMode>,
}

impl std::fmt::Debug for GuardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardConfig")
            .field("resource", &self.resource_id)
            .field("issuers", &self.issuers)
            .field("scopes_supported", &self.scopes_supported)
            .field("dpop_required", &self.dpop_required)
            .field("direct", &self.direct.is_some())
            .finish_non_exhaustive()
    }
}

impl GuardConfig {
    /// A guard for the resource `resource` (its RFC 8707 resource identifier: an
    /// absolute `https` or `http` URL without query or fragment, which tokens must
    /// name in `aud` exactly). The resource's scheme and authority are also the
    /// guard's external origin: DPoP `htu` is checked against that origin and the
    /// request path, never the `Host` header (a proxy may rewrite it).
    ///
    /// Defaults: DPoP accepted but not required, a DPoP proof at most 300 s old and 5 s
    /// in the future, 60 s of clock skew on tokens, tokens up to 8 KiB, a replay cache
    /// of [`DEFAULT_REPLAY_CAPACITY`] entries, every request needing a valid token and
    /// no particular scope, no per-tool scopes, no direct presentation.
    ///
    /// # Errors
    /// [`ConfigError::Resource`] for a resource that is not such a URL.
    pub fn new(resource: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(resource).map_err(|_| ConfigError::Resource("not a URL"))?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err(ConfigError::Resource("not an absolute http(s) URL"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::Resource(
                "has a query or fragment (RFC 8707 §2)",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::Resource("carries credentials"));
        }
        Ok(GuardConfig {
            // `Url` writes `https://host` as `https://host/`; `aud` is compared with the
            // text as given (the authorization server copies `resource` verbatim).
            resource_id: resource.to_owned(),
            resource: url,
            issuers: Vec::new(),
            scopes_supported: Vec::new(),
            dpop_required: false,
            dpop_max_age_secs: 300,
            dpop_skew_secs: 5,
            clock_skew_secs: 60,
            max_token_bytes: agentid_verifier::access_token::DEFAULT_MAX_TOKEN_BYTES,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            jwks: JwksOptions::default(),
            routes: RouteScopes::default(),
            tools: None,
            max_mcp_body_bytes: DEFAULT_MAX_MCP_BODY_BYTES,
            direct: None,
        })
    }

    /// Accepts tokens from this authorization server.
    pub fn with_issuer(mut self, issuer: IssuerConfig) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// The scopes listed in the metadata's `scopes_supported`.
    pub fn with_scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Requires DPoP-bound tokens (RFC 9449): a token without `cnf.jkt` is refused.
    pub fn with_dpop_required(mut self, required: bool) -> Self {
        self.dpop_required = required;
        self
    }

    /// The DPoP `iat` window: at most `max_age_secs` old, at most `skew_secs` ahead.
    pub fn with_dpop_window(mut self, max_age_secs: u64, skew_secs: u64) -> Self {
        self.dpop_max_age_secs = max_age_secs;
        self.dpop_skew_secs = skew_secs;
        self
    }

    /// The clock skew tolerated on access token `exp`, `nbf` and `iat`.
    pub fn with_clock_skew(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// The bound on the DPoP `jti` (and direct-mode nonce) replay cache.
    pub fn with_replay_capacity(mut self, entries: usize) -> Self {
        self.replay_capacity = entries;
        self
    }

    /// How JWK sets are fetched and cached.
    pub fn with_jwks_options(mut self, options: JwksOptions) -> Self {
        self.jwks = options;
        self
    }

    /// The scopes each route needs.
    pub fn with_routes(mut self, routes: RouteScopes) -> Self {
        self.routes = routes;
        self
    }

    /// Per-tool scopes for MCP: the JSON-RPC body of each `POST` under the resource's
    /// path (the MCP endpoint) that needs a token is read (at most
    /// [`GuardConfig::with_max_mcp_body_bytes`]), and each `tools/call` needs the
    /// scope of its tool. The body is handed on untouched.
    pub fn with_tools(mut self, tools: ToolScopes) -> Self {
        self.tools = Some(tools);
        self
    }

    /// The largest JSON-RPC body read for per-tool scopes; a longer one is refused
    /// with 413.
    pub fn with_max_mcp_body_bytes(mut self, bytes: usize) -> Self {
        self.max_mcp_body_bytes = bytes;
        self
    }

    /// Accepts agentid presentations directly (see [`crate::direct`]).
    pub fn with_direct_presentations(mut self, direct: crate::direct::DirectMode) -> Self {
        self.direct = Some(direct);
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource_id
    }

    /// The external origin (`scheme://host[:port]`), from the resource.
    pub(crate) fn origin(&self) -> String {
        self.resource.origin().ascii_serialization()
    }

    /// The URL of the RFC 9728 metadata document: the well-known path inserted
    /// between the origin and the resource's path (RFC 9728 §3.1).
    pub fn metadata_url(&self) -> String {
        format!("{}{}", self.origin(), self.metadata_path())
    }

    /// The path of the RFC 9728 metadata document.
    pub fn metadata_path(&self) -> String {
        let path = self.resource.path().trim_end_matches('/');
        format!("{}{path}", crate::metadata::WELL_KNOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8707_resources_are_absolute_urls_without_query_or_fragment() {
        for bad in [
            "tools.example/mcp",
            "/mcp",
            "ftp://tools.example/mcp",
            "https://tools.example/mcp?x=1",
            "https://tools.example/mcp#f",
            "https://user:pw@tools.example/mcp",
            "urn:agentid:tools",
        ] {
            assert!(GuardConfig::new(bad).is_err(), "{bad}");
        }
        let config = GuardConfig::new("https://tools.example").unwrap();
        assert_eq!(config.resource(), "https://tools.example");
        assert_eq!(
            config.metadata_url(),
            "https://tools.example/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn rfc9728_section3_1_the_well_known_path_is_inserted_before_the_resource_path() {
        let config = GuardConfig::new("https://tools.example:8443/a/mcp/").unwrap();
        assert_eq!(
            config.metadata_url(),
            "https://tools.example:8443/.well-known/oauth-protected-resource/a/mcp"
        );
        assert_eq!(config.origin(), "https://tools.example:8443");
    }
}
