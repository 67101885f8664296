//! The pure protocol pieces of OpenID for Verifiable Presentations 1.0, with the
//! HAIP 1.0 choices where they apply: no network, no storage, no clock of its own
//! (every time check takes `now`). A Wallet and a Verifier service build on them;
//! fetching `request_uri` and posting to `response_uri` is theirs to do.
//!
//! | module | what | sections |
//! |---|---|---|
//! | [`client_id`] | Client Identifier Prefixes and the key each one names | §5.9 |
//! | [`request`] | the Authorization Request: request objects, invocation URLs, `client_metadata` | §5, §5.8–§5.10, §8.2–§8.3, RFC 9101 |
//! | [`transaction_data`] | `transaction_data` entries and the KB-JWT's `transaction_data_hashes` | §5.1, §8.4, B.3.3 |
//! | [`response`] | the `direct_post` and `direct_post.jwt` bodies | §8.1–§8.3.1 |
//! | [`jwe`] | compact JWE, ECDH-ES on P-256, A128GCM / A256GCM | §8.3, RFC 7516, RFC 7518 §4.6 |
//!
//! DCQL (§6) is read elsewhere: requests keep `dcql_query` as JSON and responses
//! keep presentations as strings. `docs/oid4vp.md` lists every check and limit.

pub mod client_id;
mod error;
pub mod jwe;
pub mod request;
pub mod response;
pub mod transaction_data;

pub use client_id::{ClientId, ClientIdPrefix};
pub use error::{RequestError, ResponseError};
pub use request::{AuthorizationRequest, RequestOptions, ResponseMode};
pub use response::AuthorizationResponse;
pub use transaction_data::TransactionData;
