//! The RFC 9728 protected resource metadata document.

use serde_json::{json, Value};

use crate::config::GuardConfig;

/// The well-known path of RFC 9728 §3.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The DPoP algorithms the guard verifies, in the order its challenges list them.
pub const DPOP_ALGS: [&str; 2] = ["ES256", "EdDSA"];

/// The metadata document (RFC 9728 §2) for `config`.
pub fn document(config: &GuardConfig) -> Value {
    json!({
        "resource": config.resource(),
        "authorization_servers": config
            .issuers
            .iter()
            .map(|issuer| issuer.issuer())
            .collect::<Vec<_>>(),
        "scopes_supported": config.scopes_supported,
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": DPOP_ALGS,
        "dpop_bound_access_tokens_required": config.dpop_required,
    })
}
