//! OpenID for Verifiable Presentations 1.0 (with DCQL), both roles, over HTTP.
//!
//! The checks that need no I/O — DCQL, client identifier prefixes, request objects,
//! JWE, response parsing — live in `agentid_verifier::{dcql, oid4vp}`. This module
//! holds what needs keys from files, randomness, a clock, HTTP and state:
//! [`identity`] (who signs the verifier's requests), [`secret`] (the state secret
//! that seals stored state and derives per-request response keys) and [`http`]
//! (the bounded client).

pub(crate) mod check;
pub(crate) mod http;
pub(crate) mod identity;
pub(crate) mod policy;
pub(crate) mod secret;
pub(crate) mod session;
