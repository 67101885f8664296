//! # agentid-verifier
//!
//! Stateless, offline verification of SD-JWT VC credentials and presentations
//! (RFC 9901 SD-JWT, IETF SD-JWT VC), as an API gateway or tool server embeds it.
//!
//! **Goals**: every check of RFC 9901 §7, an algorithm allow-list (EdDSA, ES256K,
//! ES256), issuer keys from a trust store (did:key decoded here, offline, or a pinned
//! JWK), key binding to one audience and nonce, limits on every input, and a result
//! type — [`Verified`] — that only this crate can build.
//!
//! **Non-goals**: no network, no storage, no async runtime, no DID resolution beyond
//! did:key. Clocks are inputs: every check takes `now` in seconds.
//!
//! ```
//! use agentid_verifier::{Policy, PresentationRequest, TrustStore, Verifier, VerifyError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let trust = TrustStore::from_json(br#"{"issuers": [
//!     {"id": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"}
//! ]}"#)?;
//! let verifier = Verifier::new(trust, Policy::default());
//! let request = PresentationRequest::new("https://tools.example", "n-0S6_WzA2Mj");
//! // Garbage is rejected with a typed reason, never a panic.
//! let verdict = verifier.verify_presentation("not-an-sd-jwt", &request, 1_700_000_000);
//! assert!(matches!(verdict, Err(VerifyError::Malformed(_))));
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access_token;
mod action;
mod alg;
pub mod ap2;
pub mod authorize;
mod batch;
pub mod client_assertion;
pub mod dcql;
pub mod delegation;
pub mod did_key;
pub mod dpop;
mod encoding;
mod error;
pub mod grant;
mod jws;
mod key;
pub mod key_proof;
mod limits;
pub mod oid4vp;
mod path;
pub mod predicate;
pub mod resource;
mod reveal;
mod sd_jwt;
mod status;
mod timefmt;
mod transcript;
mod trust;
mod verify;
pub mod x509;

pub use alg::Algorithm;
pub use ap2::VerifiedMandateChain;
pub use batch::{verify_ed25519_batch, BatchItem, MAX_BATCH};
pub use encoding::b64url_encode;
pub use error::{KeyError, RejectionKind, SignatureRole, VerifyError};
pub use key::{PublicKey, SignatureInvalid};
pub use limits::Limits;
pub use path::{ClaimPath, InvalidClaimPath, PathSegment};
pub use sd_jwt::{sha256_b64, DisclosureMap, UnverifiedSdJwt};
pub use status::{
    Status, StatusList, StatusLists, MAX_STATUS_LIST_BYTES, MAX_STATUS_TOKEN_BYTES, STATUS_LIST_TYP,
};
pub use timefmt::rfc3339;
pub use trust::{
    jwk_thumbprint, TrustStore, TrustedIssuer, MAX_KEYS_TRIED_WITHOUT_KID, MAX_TRUST_FILE_BYTES,
    MAX_TRUST_FILE_DEPTH,
};
pub use verify::{
    KeyBinding, Policy, PresentationRequest, Verified, Verifier, DEFAULT_CLOCK_SKEW_SECS,
    KB_JWT_TYP, NEVER_DISCLOSED_CLAIMS, REGISTERED_CLAIMS, SD_JWT_VC_TYP,
};
