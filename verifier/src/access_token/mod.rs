//! OAuth 2.0 JWT access tokens (RFC 9068) as a resource server checks them: a JWK set
//! of the authorization server's keys, and a validator for one issuer and one
//! resource. Pure: no I/O, the clock is an input. Fetching and caching the JWK set is
//! the caller's job (`agentid-guard` does it).
//!
//! ```
//! use agentid_verifier::access_token::{AccessTokenError, AccessTokenValidator, JwkSet};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwkSet::from_json(br#"{"keys": [{"kty": "OKP", "crv": "Ed25519",
//!     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1", "use": "sig"}]}"#)?;
//! let validator = AccessTokenValidator::new("https://as.example", "https://tools.example/mcp");
//! let verdict = validator.validate("not.a.token", &keys, 1_800_000_000);
//! assert!(matches!(verdict, Err(AccessTokenError::Malformed(_))));
//! # Ok(())
//! # }
//! ```

mod error;
mod jwk_set;
#[cfg(test)]
mod tests;
mod token;

pub use error::{AccessTokenError, JwksError};
pub use jwk_set::{JwkSet, MAX_JWKS_BYTES, MAX_JWKS_KEYS};
pub use token::{
    AccessToken, AccessTokenValidator, UnverifiedAccessToken, AT_JWT_TYP,
    DEFAULT_ACCESS_TOKEN_SKEW_SECS, DEFAULT_MAX_TOKEN_BYTES,
};
