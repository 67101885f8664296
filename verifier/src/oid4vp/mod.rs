//! The pure protocol pieces of OpenID for Verifiable Presentations 1.0, with the
//! HAIP 1.0 choices where they apply: no network, no storage, no clock of its own.
//!
//! | module | what | sections |
//! |---|---|---|
//! | [`transaction_data`] | `transaction_data` entries and the KB-JWT's `transaction_data_hashes` | §5.1, §8.4, B.3.3 |
//! | [`jwe`] | compact JWE, ECDH-ES on P-256, A128GCM / A256GCM | §8.3, RFC 7516, RFC 7518 §4.6 |

mod error;
pub mod jwe;
pub mod transaction_data;

pub use error::{RequestError, ResponseError};
pub use transaction_data::TransactionData;
