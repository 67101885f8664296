//! DCQL, the Digital Credentials Query Language of OpenID4VP 1.0 (§6, §7, Appendix
//! B.3.5): reading a query, matching held credentials against it, choosing what to
//! present, and checking a response.
//!
//! - [`DcqlQuery::parse`] / [`DcqlQuery::from_value`] enforce every rule of §6 and §7
//!   and the `meta` rules of Appendix B, within [limits](#limits), and name the
//!   offending member (`credentials[1].claims[0].path`); [`DcqlQuery::to_value`]
//!   gives the query back to embed in a request object.
//! - [`evaluate`] tells which [`Candidate`]s match which credential query and
//!   whether the query can be satisfied, with the semantics of the npm package
//!   `dcql` 3.0.0 (OpenWallet Foundation) except where it departs from the
//!   specification (`docs/dcql.md` lists where).
//! - [`select`] is the wallet's choice: per credential query the candidates to
//!   present, the claim paths to disclose and the predicates to prove, or
//!   [`Unsatisfiable`] when a required credential cannot be delivered.
//! - [`check_response`] is the verifier's check of the verified presentations
//!   ([`PresentedCredential::from_verified`]) against the query, data minimization
//!   (§6.4) included.
//!
//! Only `dc+sd-jwt` credentials are matched. Queries for other formats (`mso_mdoc`,
//! `jwt_vc_json`, …) are read by the same rules and match nothing.
//!
//! ```
//! use std::collections::BTreeMap;
//! use agentid_verifier::dcql::{check_response, evaluate, select, Candidate, DcqlQuery, PresentedCredential};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let query = DcqlQuery::parse(br#"{"credentials": [{
//!     "id": "pid", "format": "dc+sd-jwt",
//!     "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
//!     "claims": [{"path": ["family_name"]}, {"path": ["address", "street_address"]}]
//! }]}"#)?;
//! let held = [Candidate::sd_jwt_vc(
//!     "https://credentials.example.com/identity_credential",
//!     json!({"family_name": "Doe", "given_name": "John", "address": {"street_address": "42 Main St"}}),
//! )
//! .with_holder_binding(true)];
//! assert!(evaluate(&query, &held).can_be_satisfied);
//!
//! let selection = select(&query, &held)?;
//! let disclose: Vec<String> = selection.credentials["pid"][0].disclose.iter().map(ToString::to_string).collect();
//! assert_eq!(disclose, ["family_name", "address.street_address"]);
//!
//! // At the verifier: a presentation that also discloses given_name is refused.
//! let presented = PresentedCredential::new(
//!     "dc+sd-jwt",
//!     Some("https://credentials.example.com/identity_credential".into()),
//!     json!({"family_name": "Doe", "given_name": "John", "address": {"street_address": "42 Main St"}})
//!         .as_object().cloned().unwrap_or_default(),
//! )
//! .with_holder_binding(true)
//! .with_disclosed(vec!["family_name".parse()?, "given_name".parse()?, "address.street_address".parse()?]);
//! let response = BTreeMap::from([("pid".to_owned(), vec![presented])]);
//! let refused = check_response(&query, &response).unwrap_err();
//! assert_eq!(refused.to_string(), r#""pid" presentation 0: given_name was disclosed but not requested (§6.4)"#);
//! # Ok(())
//! # }
//! ```
//!
//! # Limits
//!
//! | limit | value |
//! |---|---|
//! | query text | [`MAX_QUERY_BYTES`] (64 KiB) |
//! | nesting | [`MAX_QUERY_DEPTH`] (16 arrays and objects) |
//! | JSON values in a query | [`MAX_QUERY_VALUES`] (16 384) |
//! | credential queries | [`MAX_CREDENTIAL_QUERIES`] (64) |
//! | claims queries per credential query, claim ids per claim set | [`MAX_CLAIMS`] (64) |
//! | claims path length | [`MAX_PATH_LENGTH`] (32) |
//! | `values` per claims query | [`MAX_VALUES`] (64) |
//! | claim sets per credential query | [`MAX_CLAIM_SETS`] (32) |
//! | credential sets, options per set | [`MAX_CREDENTIAL_SETS`] (32), [`MAX_OPTIONS`] (32) |
//! | trusted authorities, values of each | [`MAX_TRUSTED_AUTHORITIES`] (16), [`MAX_AUTHORITY_VALUES`] (64) |
//! | `vct_values`, `type_values` | [`MAX_TYPE_VALUES`] (64) |
//! | id length | [`MAX_ID_BYTES`] (128) |
//! | `agentid_predicate` length | [`MAX_PREDICATE_BYTES`] (256) |
//! | presentations per credential query in a response | [`MAX_PRESENTATIONS_PER_QUERY`] (32) |
//!
//! # The `agentid_predicate` extension
//!
//! A claims query may carry `"agentid_predicate": "birthdate <= 2008-11-22"` (the
//! grammar of [`crate::predicate::Predicate::parse`], explicit bounds only, about the
//! claim its `path` names; never with `values`): the claim is then to be proven with
//! a zero-knowledge range proof on its signed commitment, and not disclosed. See
//! [`QueryPredicate`]. Verifiers that do not know the member ignore it, as §6
//! requires, and read a plain request for the claim.

mod claims;
mod error;
mod evaluate;
mod meta;
mod parse;
mod pointer;
mod predicate;
mod query;
mod read;
mod response;
mod select;

#[cfg(test)]
mod tests;

pub use error::{DcqlError, DcqlViolation, Unsatisfiable};
pub use evaluate::{evaluate, Authority, Candidate, QueryResult};
pub use pointer::{ClaimsPathPointer, PointerError, PointerSegment, SelectedClaim};
pub use predicate::{QueryPredicate, MAX_PREDICATE_BYTES};
pub use query::{
    ClaimValue, ClaimsQuery, CredentialQuery, CredentialSetQuery, DcqlQuery,
    TrustedAuthoritiesQuery, SD_JWT_VC_FORMAT,
};
pub use response::{check_response, PresentedCredential};
pub use select::{select, SelectedCredential, Selection};

/// The claims query member of agentid's predicate extension.
pub const PREDICATE_MEMBER: &str = "agentid_predicate";
/// Largest query text read, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Deepest nesting of arrays and objects in a query.
pub const MAX_QUERY_DEPTH: usize = 16;
/// Most JSON values (of any kind, nested ones included) in a query given as a value.
pub const MAX_QUERY_VALUES: usize = 16 * 1024;
/// Most credential queries.
pub const MAX_CREDENTIAL_QUERIES: usize = 64;
/// Most claims queries in a credential query (and ids in a claim set).
pub const MAX_CLAIMS: usize = 64;
/// Longest claims path pointer.
pub const MAX_PATH_LENGTH: usize = 32;
/// Most `values` in a claims query.
pub const MAX_VALUES: usize = 64;
/// Most claim sets in a credential query.
pub const MAX_CLAIM_SETS: usize = 32;
/// Most credential sets.
pub const MAX_CREDENTIAL_SETS: usize = 32;
/// Most options in a credential set.
pub const MAX_OPTIONS: usize = 32;
/// Most trusted authorities in a credential query.
pub const MAX_TRUSTED_AUTHORITIES: usize = 16;
/// Most values of a trusted authority.
pub const MAX_AUTHORITY_VALUES: usize = 64;
/// Most `vct_values`, `type_values` and types in one of them.
pub const MAX_TYPE_VALUES: usize = 64;
/// Longest credential query or claim id, in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Most presentations for one credential query in a response (`multiple`).
pub const MAX_PRESENTATIONS_PER_QUERY: usize = 32;
