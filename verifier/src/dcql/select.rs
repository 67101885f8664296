//! What a wallet presents for a query (OpenID4VP 1.0 §6.4): which credentials, which
//! claims to disclose, which predicates to prove — or nothing at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::evaluate::{match_candidate, Candidate, CandidateMatch};
use super::query::{CredentialQuery, DcqlQuery};
use super::Unsatisfiable;
use crate::path::ClaimPath;
use crate::predicate::Predicate;

/// One credential to present for a credential query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SelectedCredential {
    /// The candidate's position in the slice given to [`select`].
    pub candidate: usize,
    /// The claim set used (the first the candidate satisfies), when the query has
    /// claim sets.
    pub claim_set: Option<usize>,
    /// The claims to disclose, as concrete paths (array indices are the issued
    /// positions); a path inside another one listed is left out, since disclosing a
    /// claim reveals what it holds. Empty when the query has no claims.
    #[serde(serialize_with = "paths_as_text")]
    pub disclose: Vec<ClaimPath>,
    /// The `agentid_predicate` statements to prove about committed claims.
    pub predicates: Vec<Predicate>,
}

/// What to present for a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Selection {
    /// For each credential query to answer, the credentials to present: one, or
    /// every match when the query allows `multiple`.
    pub credentials: BTreeMap<String, Vec<SelectedCredential>>,
    /// For each credential set, in order, the option presented: always one for a
    /// required set, `None` for an optional set no option of which can be met.
    pub credential_sets: Vec<Option<usize>>,
}

/// Chooses what to present: for each required credential set the first option that
/// can be met (optional sets too when they can), or every credential query when
/// there are no sets; for each query the first matching candidate (every one with
/// `multiple`) and, within it, the first claim set it satisfies.
///
/// # Errors
/// [`Unsatisfiable`] when a required credential query or set cannot be met: the
/// wallet then returns no credential at all (§6.4.2).
pub fn select(query: &DcqlQuery, candidates: &[Candidate]) -> Result<Selection, Unsatisfiable> {
    let matches: BTreeMap<&str, Vec<(usize, CandidateMatch<'_>)>> = query
        .credentials
        .iter()
        .map(|credential| {
            let found = candidates
                .iter()
                .enumerate()
                .filter_map(|(index, candidate)| {
                    match_candidate(credential, candidate).map(|found| (index, found))
                })
                .collect();
            (credential.id.as_str(), found)
        })
        .collect();
    let has_match = |id: &str| matches.get(id).is_some_and(|found| !found.is_empty());

    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut credential_sets = Vec::new();
    match &query.credential_sets {
        None => {
            if let Some(missing) = query.credentials.iter().find(|c| !has_match(&c.id)) {
                return Err(Unsatisfiable::CredentialQuery {
                    id: missing.id.clone(),
                });
            }
            wanted.extend(query.credentials.iter().map(|c| c.id.as_str()));
        }
        Some(sets) => {
            for (index, set) in sets.iter().enumerate() {
                let option = set
                    .options
                    .iter()
                    .position(|option| option.iter().all(|id| has_match(id)));
                match option {
                    None if set.required => return Err(Unsatisfiable::CredentialSet { index }),
                    None => {}
                    Some(chosen) => {
                        if let Some(ids) = set.options.get(chosen) {
                            wanted.extend(ids.iter().map(String::as_str));
                        }
                    }
                }
                credential_sets.push(option);
            }
        }
    }

    let credentials = query
        .credentials
        .iter()
        .filter(|credential| wanted.contains(credential.id.as_str()))
        .map(|credential| {
            let found = matches
                .get(credential.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            (credential.id.clone(), chosen(credential, found))
        })
        .collect();
    Ok(Selection {
        credentials,
        credential_sets,
    })
}

fn chosen(
    credential: &CredentialQuery,
    found: &[(usize, CandidateMatch<'_>)],
) -> Vec<SelectedCredential> {
    let take = if credential.multiple { found.len() } else { 1 };
    found
        .iter()
        .take(take)
        .map(|(index, found)| SelectedCredential {
            candidate: *index,
            claim_set: found.claim_set,
            disclose: minimal(&found.disclose),
            predicates: found
                .prove
                .iter()
                .filter_map(|claim| claim.predicate.as_ref())
                .map(|predicate| predicate.predicate().clone())
                .collect(),
        })
        .collect()
}

/// The paths without repeats and without those inside another one listed.
fn minimal(paths: &[ClaimPath]) -> Vec<ClaimPath> {
    let mut kept: Vec<ClaimPath> = Vec::with_capacity(paths.len());
    for path in paths {
        let covered = paths
            .iter()
            .any(|other| other != path && other.is_prefix_of(path));
        if !covered && !kept.contains(path) {
            kept.push(path.clone());
        }
    }
    kept
}

fn paths_as_text<S: serde::Serializer>(
    paths: &[ClaimPath],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(paths.iter().map(ToString::to_string))
}
