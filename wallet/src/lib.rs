//! # agentid-wallet
//!
//! An agent's wallet: signing keys with did:key identities, the issuer role
//! (SD-JWT VC issuance, schema-checked, selectively disclosable claims with decoys)
//! and the holder role (choosing disclosures, key binding). It re-uses the format
//! types of [`agentid_verifier`] and verifies what it receives with it.
//!
//! ```
//! use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
//! use agentid_wallet::{present, CredentialRequest, Issuer, SigningKey, TASK_VCT};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = 1_800_000_000;
//! let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::EdDSA))?;
//! let agent_key = SigningKey::generate(Algorithm::EdDSA);
//! let claims = json!({
//!     "task": {"id": "T-42", "purpose": "refund order 1234"},
//!     "scope": ["refunds:write"],
//!     "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
//! });
//! let credential = issuer.issue(
//!     &CredentialRequest {
//!         vct: TASK_VCT.into(),
//!         subject: agent_key.did()?,
//!         holder_key: agent_key.public_key().clone(),
//!         claims: claims.as_object().cloned().unwrap_or_default(),
//!         disclosable: vec!["task.purpose".parse()?, "on_behalf_of".parse()?],
//!         lifetime_secs: 15 * 60,
//!         committed: vec![],
//!     },
//!     now,
//! )?;
//!
//! let request = PresentationRequest::new("https://payments.example", "8f1c2a");
//! let presentation = present(&credential.sd_jwt, &agent_key, &["on_behalf_of".parse()?], &request, now)?;
//!
//! let mut trust = TrustStore::new();
//! trust.add_did(issuer.id())?;
//! let verified = Verifier::new(trust, Policy::default()).verify_presentation(&presentation, &request, now)?;
//! assert!(verified.claims.contains_key("on_behalf_of"));
//! assert!(verified.claims["task"].get("purpose").is_none()); // not disclosed
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod answer;
pub mod ap2;
mod audit;
mod commit;
mod conceal;
mod delegate;
mod did;
pub mod dpop;
mod error;
mod holder;
mod issuer;
mod jws;
mod keys;
pub mod oid4vp;
mod schema;
mod status_list;
pub mod store;
mod wallet;

pub use answer::{AnswerBinding, AnswerPlan, PlannedPresentation};
pub use audit::{AuditAction, AuditEntry, AuditError};
pub use commit::{issuance_text, Opening};
pub use conceal::Decoys;
pub use delegate::{
    delegate, delegate_bound, present_delegated, present_delegated_bound, DelegationSpec,
    HopBinding, DELEGATION_VCT,
};
pub use did::{did_key, did_key_url};
pub use error::WalletError;
pub use holder::{present, present_with_predicates};
pub use issuer::{cnf, CredentialRequest, IssuedCredential, Issuer};
pub use keys::SigningKey;
pub use schema::{SchemaRegistry, APPROVAL_VCT, PERSON_VCT, TASK_VCT};
pub use status_list::STATUS_LIST_ENTRIES;
pub use store::{
    KdfLimits, KdfOrigin, KdfParameter, KdfParams, StoreError, MAX_KDF_MEMORY_KIB,
    MAX_KDF_PARALLELISM, MAX_KDF_PASSES,
};
pub use wallet::{
    CredentialDetails, CredentialSummary, KeySummary, Passphrase, PurgeReport, Wallet,
};

/// Seconds since the Unix epoch, from the system clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
