//! # agentid-guard
//!
//! (crate docs written below)
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
