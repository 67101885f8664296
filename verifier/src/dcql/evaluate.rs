//! Matching held credentials against a query (OpenID4VP 1.0 §6.4), with the
//! semantics of the OpenWallet Foundation's `dcql` 3.0.0 (`DcqlQuery.query`) where
//! the specification is silent, and of the specification where they differ
//! (docs/dcql.md lists where).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::query::{ClaimsQuery, CredentialQuery, DcqlQuery, SD_JWT_VC_FORMAT};
use crate::path::ClaimPath;

/// An identifier of an authority that certifies a candidate's issuer, matched
/// against `trusted_authorities` (§6.1.1): `aki` with the base64url key identifier,
/// `etsi_tl` with a trusted list, `openid_federation` with an entity identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authority {
    /// The Trusted Authorities Query type.
    #[serde(rename = "type")]
    pub authority_type: String,
    /// The identifier.
    pub value: String,
}

/// A credential the wallet holds, as the query sees it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Candidate {
    /// Its format identifier (`dc+sd-jwt`).
    pub format: String,
    /// Its `vct`.
    pub vct: String,
    /// All its claims, selectively disclosable ones revealed (a JSON object).
    pub claims: Value,
    /// Whether it is bound to a holder key (`cnf`), so a presentation can carry a
    /// key binding.
    pub holder_bound: bool,
    /// Claims with a signed commitment (claim path text, as in the `commitments`
    /// claim), usable for `agentid_predicate`.
    pub committed: Vec<String>,
    /// Authorities known to certify its issuer.
    pub authorities: Vec<Authority>,
}

impl Candidate {
    /// A candidate of any format, not holder-bound, with nothing committed.
    pub fn new(format: impl Into<String>, vct: impl Into<String>, claims: Value) -> Self {
        Candidate {
            format: format.into(),
            vct: vct.into(),
            claims,
            holder_bound: false,
            committed: Vec::new(),
            authorities: Vec::new(),
        }
    }

    /// An SD-JWT VC (`dc+sd-jwt`) candidate.
    pub fn sd_jwt_vc(vct: impl Into<String>, claims: Value) -> Self {
        Candidate::new(SD_JWT_VC_FORMAT, vct, claims)
    }

    /// Returns the candidate bound (or not) to a holder key.
    pub fn with_holder_binding(mut self, bound: bool) -> Self {
        self.holder_bound = bound;
        self
    }

    /// Returns the candidate with these committed claims.
    pub fn with_committed<I: IntoIterator<Item = S>, S: Into<String>>(mut self, claims: I) -> Self {
        self.committed = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the candidate with one more authority.
    pub fn with_authority(
        mut self,
        authority_type: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.authorities.push(Authority {
            authority_type: authority_type.into(),
            value: value.into(),
        });
        self
    }
}

/// What a query finds among the candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QueryResult {
    /// True when the wallet can answer: every required credential set (or, without
    /// sets, every credential query) has a match (§6.4.2).
    pub can_be_satisfied: bool,
    /// For each credential query id, the positions of the matching candidates, in
    /// order (all of them, whatever `multiple` says).
    pub matches: BTreeMap<String, Vec<usize>>,
    /// For each credential set, in order, whether one of its options has a match for
    /// every query it names. Empty without `credential_sets`.
    pub credential_sets: Vec<bool>,
}

/// Matches every candidate against every credential query.
pub fn evaluate(query: &DcqlQuery, candidates: &[Candidate]) -> QueryResult {
    let matches: BTreeMap<String, Vec<usize>> = query
        .credentials
        .iter()
        .map(|credential| {
            let found = candidates
                .iter()
                .enumerate()
                .filter(|(_, candidate)| match_candidate(credential, candidate).is_some())
                .map(|(index, _)| index)
                .collect();
            (credential.id.clone(), found)
        })
        .collect();
    let has_match = |id: &String| matches.get(id).is_some_and(|found| !found.is_empty());
    let credential_sets: Vec<bool> = query
        .credential_sets
        .iter()
        .flatten()
        .map(|set| {
            set.options
                .iter()
                .any(|option| option.iter().all(has_match))
        })
        .collect();
    let can_be_satisfied = match &query.credential_sets {
        Some(sets) => sets
            .iter()
            .zip(&credential_sets)
            .all(|(set, met)| !set.required || *met),
        None => matches.values().all(|found| !found.is_empty()),
    };
    QueryResult {
        can_be_satisfied,
        matches,
        credential_sets,
    }
}

/// How a candidate answers a credential query: the claim set used and what each of
/// its claims queries needs.
#[derive(Debug, Clone)]
pub(crate) struct CandidateMatch<'q> {
    /// The first satisfied claim set, when the query has claim sets.
    pub(crate) claim_set: Option<usize>,
    /// Concrete paths to disclose, in query order.
    pub(crate) disclose: Vec<ClaimPath>,
    /// Claims queries to answer with a predicate proof.
    pub(crate) prove: Vec<&'q ClaimsQuery>,
}

/// How a candidate answers one credential query, or `None`.
pub(crate) fn match_candidate<'q>(
    query: &'q CredentialQuery,
    candidate: &Candidate,
) -> Option<CandidateMatch<'q>> {
    if !meta_matches(query, candidate) || !authority_matches(query, candidate) {
        return None;
    }
    let combinations = query.combinations();
    if combinations.is_empty() {
        // No claims: nothing selectively disclosable is requested (§6.4.1).
        return Some(CandidateMatch {
            claim_set: None,
            disclose: Vec::new(),
            prove: Vec::new(),
        });
    }
    combinations
        .iter()
        .enumerate()
        .find_map(|(index, combination)| {
            let mut found = CandidateMatch {
                claim_set: query.claim_sets.is_some().then_some(index),
                disclose: Vec::new(),
                prove: Vec::new(),
            };
            for claim in combination {
                match claim_outcome(claim, candidate)? {
                    Outcome::Disclose(paths) => found.disclose.extend(paths),
                    Outcome::Prove => found.prove.push(claim),
                }
            }
            Some(found)
        })
}

fn meta_matches(query: &CredentialQuery, candidate: &Candidate) -> bool {
    // Only SD-JWT VCs are matched; other formats' queries match nothing agentid holds.
    query.format == SD_JWT_VC_FORMAT
        && candidate.format == SD_JWT_VC_FORMAT
        && query
            .vct_values
            .as_ref()
            .is_some_and(|values| values.contains(&candidate.vct))
        && (candidate.holder_bound || !query.require_cryptographic_holder_binding)
}

fn authority_matches(query: &CredentialQuery, candidate: &Candidate) -> bool {
    query.trusted_authorities.as_ref().is_none_or(|wanted| {
        wanted.iter().any(|entry| {
            candidate.authorities.iter().any(|held| {
                held.authority_type == entry.authority_type && entry.values.contains(&held.value)
            })
        })
    })
}

enum Outcome {
    Disclose(Vec<ClaimPath>),
    Prove,
}

/// How a candidate meets one claims query, or `None`.
fn claim_outcome(claim: &ClaimsQuery, candidate: &Candidate) -> Option<Outcome> {
    let selected = claim.path.select(&candidate.claims).ok()?;
    if let Some(predicate) = &claim.predicate {
        let committed = candidate
            .committed
            .iter()
            .any(|name| *name == predicate.predicate().claim);
        // The path is concrete (checked when the query was read): one claim.
        let holds = matches!(selected.as_slice(), [only] if predicate.holds_for(only.value));
        return (committed && holds).then_some(Outcome::Prove);
    }
    // With values, only matching elements count, the others are as if absent
    // (§6.4.1); a claim selecting several elements matches when one does (as dcql).
    let paths: Vec<ClaimPath> = selected
        .into_iter()
        .filter(|selected| claim.accepts(selected.value))
        .map(|selected| selected.path)
        .collect();
    (!paths.is_empty()).then_some(Outcome::Disclose(paths))
}
