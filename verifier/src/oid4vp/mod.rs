//! The pure protocol pieces of OpenID for Verifiable Presentations 1.0, with the
//! HAIP 1.0 choices where they apply: no network, no storage, no clock of its own.

pub mod jwe;
