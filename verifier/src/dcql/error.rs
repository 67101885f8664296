//! What can go wrong with DCQL: a query that breaks OpenID4VP 1.0 ([`DcqlError`]), a
//! query no held credential satisfies ([`Unsatisfiable`]), and a response that does
//! not answer its query ([`DcqlViolation`]).
//!
//! Messages name the offending member (`credentials[1].claims[0].path`), the query id
//! and the claim path, and never a claim value: a violation may be logged by a
//! verifier that must not keep what it did not ask for.

use thiserror::Error;

/// A DCQL query was refused: it is too large, or breaks a rule of OpenID4VP 1.0 §6,
/// §7 or Appendix B (or of agentid's `agentid_predicate` extension).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DcqlError {
    /// The query text is longer than [`super::MAX_QUERY_BYTES`].
    #[error("DCQL query is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The query nests deeper than [`super::MAX_QUERY_DEPTH`].
    #[error("DCQL query nests deeper than {limit}")]
    TooDeep {
        /// The limit, in nested arrays and objects.
        limit: usize,
    },
    /// The query holds more JSON values than [`super::MAX_QUERY_VALUES`].
    #[error("DCQL query holds more than {limit} JSON values")]
    TooManyValues {
        /// The limit.
        limit: usize,
    },
    /// The query text is not JSON.
    #[error("DCQL query is not valid JSON")]
    NotJson,
    /// An array of the query has more entries than agentid reads.
    #[error("{member}: more than {limit} entries (agentid limit)")]
    TooMany {
        /// The array, e.g. `credentials[0].claims`.
        member: String,
        /// Its limit.
        limit: usize,
    },
    /// A member breaks a rule of the specification.
    #[error("{member}: {reason} ({section})")]
    Invalid {
        /// The member, e.g. `credentials[1].claims[0].path`.
        member: String,
        /// What is wrong with it.
        reason: String,
        /// The rule's section: `OpenID4VP 1.0 §6.3`, `Appendix B.3.5`, …
        section: &'static str,
    },
}

impl DcqlError {
    pub(crate) fn invalid(
        member: impl Into<String>,
        reason: impl Into<String>,
        section: &'static str,
    ) -> Self {
        DcqlError::Invalid {
            member: member.into(),
            reason: reason.into(),
            section,
        }
    }

    /// The member named by the error, when it names one.
    pub fn member(&self) -> Option<&str> {
        match self {
            DcqlError::TooMany { member, .. } | DcqlError::Invalid { member, .. } => Some(member),
            _ => None,
        }
    }
}

/// No set of held credentials satisfies the query (OpenID4VP 1.0 §6.4.2): the wallet
/// returns nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Unsatisfiable {
    /// No credential matches this credential query, and the query has no
    /// `credential_sets`, so every credential query is required.
    #[error("no credential matches the credential query {id:?} (§6.4.2: every query is required)")]
    CredentialQuery {
        /// The credential query id.
        id: String,
    },
    /// No option of this required credential set can be met.
    #[error("no option of credential_sets[{index}] can be met, and the set is required (§6.4.2)")]
    CredentialSet {
        /// Its position in `credential_sets`.
        index: usize,
    },
}

/// A response does not answer its DCQL query (OpenID4VP 1.0 §6.4, §8.1).
///
/// `presentation` is the position of the presentation in the response entry of the
/// credential query. Claim paths are named, claim values never are.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DcqlViolation {
    /// The response has an entry for an id no credential query has (§8.1).
    #[error("the response names {id:?}, which is not a credential query of the request (§8.1)")]
    UnknownQuery {
        /// The id, at most 128 characters of it.
        id: String,
    },
    /// An entry of the response holds no presentation (§8.1: one or more).
    #[error("the response entry for {id:?} is empty (§8.1)")]
    EmptyEntry {
        /// The credential query id.
        id: String,
    },
    /// More than one presentation for a query without `multiple` (§8.1).
    #[error("{count} presentations for {id:?}, which does not allow multiple (§8.1)")]
    TooManyPresentations {
        /// The credential query id.
        id: String,
        /// How many were presented.
        count: usize,
    },
    /// More presentations for one query than [`super::MAX_PRESENTATIONS_PER_QUERY`].
    #[error("more than {limit} presentations for {id:?} (agentid limit)")]
    PresentationLimit {
        /// The credential query id.
        id: String,
        /// The limit.
        limit: usize,
    },
    /// A credential query is required (the request has no `credential_sets`) and
    /// nothing was presented for it (§6.4.2).
    #[error("nothing was presented for the required credential query {id:?} (§6.4.2)")]
    MissingCredential {
        /// The credential query id.
        id: String,
    },
    /// No option of a required credential set was presented in full (§6.4.2).
    #[error("no option of the required credential_sets[{index}] was presented (§6.4.2)")]
    CredentialSetUnmet {
        /// The position of the set in `credential_sets`.
        index: usize,
    },
    /// A credential was presented for a query that is in no option presented in full
    /// (§6.4.2): the request did not ask for it in this combination.
    #[error(
        "{id:?} was presented but is part of no credential set option presented in full (§6.4.2)"
    )]
    NotRequestedCredential {
        /// The credential query id.
        id: String,
    },
    /// The presentation is not of the query's format, or of a format this verifier
    /// cannot check (only `dc+sd-jwt`).
    #[error(
        "{id:?} presentation {presentation}: not a dc+sd-jwt presentation of the requested format"
    )]
    FormatMismatch {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
    },
    /// The credential's `vct` is not one of `meta.vct_values` (Appendix B.3.5).
    #[error(
        "{id:?} presentation {presentation}: vct is not one of the requested vct_values (B.3.5)"
    )]
    VctMismatch {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
    },
    /// The query requires cryptographic holder binding and the presentation has none
    /// (§6.1, Appendix B.3).
    #[error("{id:?} presentation {presentation}: holder binding is required and missing (§6.1)")]
    HolderBindingMissing {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
    },
    /// A requested claim is not in the presentation, or not with a requested value
    /// (§6.3, §6.4.1).
    #[error("{id:?} presentation {presentation}: the claim {path} is missing or has none of the requested values (§6.4.1)")]
    ClaimMissing {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
        /// The claims path pointer, as JSON.
        path: String,
    },
    /// No claim set of the query is satisfied by the presentation (§6.4.1).
    #[error("{id:?} presentation {presentation}: no claim set is satisfied (§6.4.1)")]
    NoClaimSetSatisfied {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
    },
    /// An `agentid_predicate` of the query is not implied by the presentation's
    /// proven predicates.
    #[error("{id:?} presentation {presentation}: the predicate {predicate} is not proven")]
    PredicateNotProven {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
        /// The predicate as the query states it.
        predicate: String,
    },
    /// A claim the query asks to be proven by a predicate arrived through a
    /// disclosure, and no other claims query of the request asks for it.
    #[error("{id:?} presentation {presentation}: {path} is disclosed, but only a predicate about it was requested")]
    PredicateClaimDisclosed {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
        /// The disclosed claim path.
        path: String,
    },
    /// A selectively disclosable claim was disclosed that no claims query of the
    /// request asked for (§6.4: data minimization).
    #[error("{id:?} presentation {presentation}: {path} was disclosed but not requested (§6.4)")]
    NotRequested {
        /// The credential query id.
        id: String,
        /// The presentation's position in the entry.
        presentation: usize,
        /// The disclosed claim path.
        path: String,
    },
}
