//! # agentid-guard
//!
//! A [`tower`] layer for resource servers — HTTP APIs and MCP tool servers (axum, or
//! rmcp's `StreamableHttpService` mounted in an axum `Router`) — that lets in only
//! requests carrying an access token from a trusted authorization server, for this
//! resource, with the scopes the route (or the MCP tool) needs.
//!
//! **Goals**: RFC 9068 JWT access tokens (ES256, EdDSA) checked against the issuer's
//! JWK set (fetched, cached, rotated, refetched at most once per interval); audience
//! = this server's resource identifier (RFC 8707); scopes per route and per MCP tool;
//! DPoP sender-constrained tokens (RFC 9449) with a bounded `jti` replay cache;
//! refusals on the wire exactly as RFC 6750 §3, RFC 9449 §7.1 and RFC 9728 §5.1 (and
//! so the MCP authorization specification) spell them; the RFC 9728 metadata
//! document; optionally, agentid presentations accepted directly, offline
//! ([`direct`]).
//!
//! **Non-goals**: no token issuance (the agentid authorization server does that), no
//! introspection (RFC 7662), no mTLS-bound tokens (a `cnf` other than `jkt` is
//! refused), no TLS (run behind a terminating proxy).
//!
//! ## Wire behaviour
//!
//! Credentials: `Authorization: Bearer <token>`, or `Authorization: DPoP <token>`
//! with `DPoP: <proof>`, or (direct mode) `Authorization: AgentID <presentation>` with
//! `AgentID-Nonce: <nonce>`. Exactly one `Authorization` header; other schemes count
//! as none.
//!
//! | case | status | `WWW-Authenticate` | body `error` |
//! |---|---|---|---|
//! | no credentials (or an unknown scheme) | 401 | `Bearer resource_metadata="…"`, `DPoP algs="ES256 EdDSA", resource_metadata="…"` | `unauthorized` |
//! | two `Authorization` headers; a JSON-RPC body that is not JSON or a `tools/call` without `params.name` | 400 | `Bearer error="invalid_request", …` | `invalid_request` |
//! | token malformed, bad signature, unknown key, other issuer, other audience, expired, not yet valid, missing claim | 401 | `<scheme> error="invalid_token", error_description="…", resource_metadata="…"` | `invalid_token` |
//! | DPoP-bound token as `Bearer`; unbound token as `DPoP`; `Bearer` when DPoP is required | 401 | `<scheme> error="invalid_token", …` | `invalid_token` |
//! | DPoP proof missing, invalid, for another method / URL / token, stale, replayed, other key than `cnf.jkt` | 401 | `DPoP error="invalid_dpop_proof", …, algs="ES256 EdDSA"` | `invalid_dpop_proof` |
//! | scope missing (route or tool) | 403 | `<scheme> error="insufficient_scope", scope="<all scopes needed>", …` | `insufficient_scope` |
//! | JSON-RPC body over the bound (1 MiB) | 413 | — | `request_too_large` |
//! | keys never fetched and unreachable; replay cache full | 503, `Retry-After: 30` | — | `temporarily_unavailable` |
//!
//! Every refusal has `Content-Type: application/json`, `Cache-Control: no-store` and
//! a body `{"error", "error_description"}`; the descriptions are fixed text, never a
//! token's contents, and nothing from a token is logged. With direct mode on, every
//! 400/401/403 also carries `AgentID nonce="…", resource_metadata="…"`.
//!
//! `GET /.well-known/oauth-protected-resource` and the path-inserted
//! `/.well-known/oauth-protected-resource<resource path>` (RFC 9728 §3.1) serve
//! `resource`, `authorization_servers`, `scopes_supported`,
//! `bearer_methods_supported: ["header"]`, `dpop_signing_alg_values_supported` and
//! `dpop_bound_access_tokens_required`. The challenges' `resource_metadata` is the
//! path-inserted URL.
//!
//! DPoP `htu` is compared with the configured resource's origin and the request's
//! path — never the `Host` header — so behind a proxy configure the external URL.
//! The layer must wrap the whole router (it needs the full path).
//!
//! A validated [`AccessToken`] (or a [`DirectPresentation`]) is put in the request's
//! extensions; rmcp tools find it in the `http::request::Parts` rmcp hands them.
//!
//! ```
//! use agentid_guard::{GuardConfig, GuardLayer, IssuerConfig, JwksSource, ToolScopes};
//! use axum::routing::post;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = GuardConfig::new("https://tools.example/mcp")?
//!     .with_issuer(IssuerConfig::new("https://as.example", JwksSource::Discover))
//!     .with_scopes_supported(["tools:read", "tools:write"])
//!     .with_tools(
//!         ToolScopes::new()
//!             .tool("lookup_order", "tools:read")
//!             .tool("refund_order", "tools:write"),
//!     );
//! let app: axum::Router = axum::Router::new()
//!     .route("/mcp", post(|| async { "tool result" }))
//!     .layer(GuardLayer::new(config)?);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/guard.md` for the configuration, the JWKS cache and the replay bound.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod challenge;
mod config;
pub mod direct;
mod dpop;
mod error;
mod jwks;
mod layer;
mod mcp;
pub mod metadata;
mod replay;
mod scopes;
mod state;

pub use agentid_verifier::access_token::AccessToken;
pub use config::{
    GuardConfig, IssuerConfig, JwksOptions, JwksSource, DEFAULT_MAX_MCP_BODY_BYTES,
    DEFAULT_REPLAY_CAPACITY,
};
pub use direct::{DirectMode, DirectPresentation};
pub use error::{ConfigError, Refusal, Scheme};
pub use layer::{access_token, Guard, GuardLayer};
pub use scopes::{Requirement, RouteScopes, ToolScopes};
pub use state::DPOP_HEADER;
