//! Checking a response against its query, at the verifier (OpenID4VP 1.0 §6.4,
//! §8.1): the right credentials, each matching its query, and no selectively
//! disclosable claim that was not asked for.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::pointer::{ClaimsPathPointer, Reading};
use super::query::{ClaimsQuery, CredentialQuery, DcqlQuery, SD_JWT_VC_FORMAT};
use super::{DcqlViolation, MAX_PRESENTATIONS_PER_QUERY};
use crate::error::truncate;
use crate::path::{ClaimPath, PathSegment};
use crate::predicate::ProvenPredicate;
use crate::verify::Verified;

/// A verified presentation, as the query sees it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PresentedCredential {
    /// Its format identifier (`dc+sd-jwt`).
    pub format: String,
    /// Its `vct`.
    pub vct: Option<String>,
    /// The claims the verifier sees: always-visible and disclosed ones.
    pub claims: Map<String, Value>,
    /// The concrete path of every claim that arrived through a disclosure (array
    /// positions count the revealed elements).
    pub disclosed: Vec<ClaimPath>,
    /// Whether it came with a checked key binding.
    pub holder_bound: bool,
    /// The statements proven about committed claims.
    pub predicates: Vec<ProvenPredicate>,
}

impl PresentedCredential {
    /// A presentation of any format with these visible claims, nothing disclosed,
    /// not holder-bound, nothing proven.
    pub fn new(format: impl Into<String>, vct: Option<String>, claims: Map<String, Value>) -> Self {
        PresentedCredential {
            format: format.into(),
            vct,
            claims,
            disclosed: Vec::new(),
            holder_bound: false,
            predicates: Vec::new(),
        }
    }

    /// What a verified SD-JWT VC presentation shows: its claims with the registered
    /// ones put back (`iss`, `sub`, `jti`, `iat`, `nbf`, `exp`, `vct`, `status`; not
    /// `cnf`), its disclosed paths, its key binding, its proven predicates.
    pub fn from_verified(verified: &Verified) -> Self {
        let mut claims = verified.claims.clone();
        let mut put = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                claims.entry(name).or_insert(value);
            }
        };
        put("iss", Some(Value::String(verified.issuer.clone())));
        put("sub", verified.subject.clone().map(Value::String));
        put("jti", verified.credential_id.clone().map(Value::String));
        put("iat", verified.issued_at.map(Value::from));
        put("nbf", verified.not_before.map(Value::from));
        put("exp", verified.expires_at.map(Value::from));
        put("vct", verified.vct.clone().map(Value::String));
        put("status", verified.status.clone());
        PresentedCredential {
            format: SD_JWT_VC_FORMAT.to_owned(),
            vct: verified.vct.clone(),
            claims,
            disclosed: verified.disclosed_paths.clone(),
            holder_bound: verified.key_binding.is_some(),
            predicates: verified.predicates.clone(),
        }
    }

    /// Returns the presentation with these disclosed paths.
    pub fn with_disclosed(mut self, disclosed: Vec<ClaimPath>) -> Self {
        self.disclosed = disclosed;
        self
    }

    /// Returns the presentation with (or without) a key binding.
    pub fn with_holder_binding(mut self, bound: bool) -> Self {
        self.holder_bound = bound;
        self
    }

    /// Returns the presentation with these proven predicates.
    pub fn with_predicates(mut self, predicates: Vec<ProvenPredicate>) -> Self {
        self.predicates = predicates;
        self
    }
}

/// Checks a response (`vp_token`, each presentation already verified) against the
/// query it answers:
///
/// - every entry names a credential query, holds one presentation or more, and one
///   only unless the query allows `multiple` (§8.1);
/// - every presentation matches its query: `dc+sd-jwt`, a `vct` of `vct_values`,
///   holder binding when required, every claim (or the claims of at least one claim
///   set, any one) present with an allowed value, every `agentid_predicate` proven;
///   an index in a claims path matches any element, since elements the holder left
///   concealed shift the revealed positions;
/// - every required credential is there: all queries without `credential_sets`,
///   else an option of each required set presented in full, and nothing outside an
///   option presented in full (§6.4.2);
/// - no claim arrived through a disclosure that no claims query of the request asked
///   for: a disclosed path must lie on or under a requested path, or above one (null
///   and indices match any position); a predicate's claim is not requested (§6.4).
///
/// `trusted_authorities` are not checked: the verifier's trust store decides whom it
/// trusts (§6.1 says verifiers must check the issuer on their own).
///
/// # Errors
/// The first [`DcqlViolation`] found.
pub fn check_response(
    query: &DcqlQuery,
    response: &BTreeMap<String, Vec<PresentedCredential>>,
) -> Result<(), DcqlViolation> {
    let requested = requested_paths(query);
    for (id, presented) in response {
        let Some(credential) = query.credential(id) else {
            return Err(DcqlViolation::UnknownQuery { id: truncate(id) });
        };
        let id = credential.id.clone();
        if presented.is_empty() {
            return Err(DcqlViolation::EmptyEntry { id });
        }
        if presented.len() > MAX_PRESENTATIONS_PER_QUERY {
            return Err(DcqlViolation::PresentationLimit {
                id,
                limit: MAX_PRESENTATIONS_PER_QUERY,
            });
        }
        if presented.len() > 1 && !credential.multiple {
            return Err(DcqlViolation::TooManyPresentations {
                id,
                count: presented.len(),
            });
        }
        for (position, presentation) in presented.iter().enumerate() {
            check_presentation(credential, presentation, position, &requested)?;
        }
    }
    check_required(query, response)
}

fn check_required(
    query: &DcqlQuery,
    response: &BTreeMap<String, Vec<PresentedCredential>>,
) -> Result<(), DcqlViolation> {
    let Some(sets) = &query.credential_sets else {
        return match query
            .credentials
            .iter()
            .find(|c| !response.contains_key(&c.id))
        {
            Some(missing) => Err(DcqlViolation::MissingCredential {
                id: missing.id.clone(),
            }),
            None => Ok(()),
        };
    };
    let in_full = |option: &Vec<String>| option.iter().all(|id| response.contains_key(id));
    if let Some(index) = sets
        .iter()
        .position(|set| set.required && !set.options.iter().any(in_full))
    {
        return Err(DcqlViolation::CredentialSetUnmet { index });
    }
    for id in response.keys() {
        let asked = sets.iter().any(|set| {
            set.options
                .iter()
                .any(|option| option.contains(id) && in_full(option))
        });
        if !asked {
            return Err(DcqlViolation::NotRequestedCredential { id: truncate(id) });
        }
    }
    Ok(())
}

fn check_presentation(
    credential: &CredentialQuery,
    presented: &PresentedCredential,
    position: usize,
    requested: &[ClaimPath],
) -> Result<(), DcqlViolation> {
    let id = || credential.id.clone();
    if credential.format != SD_JWT_VC_FORMAT || presented.format != SD_JWT_VC_FORMAT {
        return Err(DcqlViolation::FormatMismatch {
            id: id(),
            presentation: position,
        });
    }
    let vct_allowed = match (&credential.vct_values, &presented.vct) {
        (Some(values), Some(vct)) => values.contains(vct),
        _ => false,
    };
    if !vct_allowed {
        return Err(DcqlViolation::VctMismatch {
            id: id(),
            presentation: position,
        });
    }
    if credential.require_cryptographic_holder_binding && !presented.holder_bound {
        return Err(DcqlViolation::HolderBindingMissing {
            id: id(),
            presentation: position,
        });
    }
    let root = Value::Object(presented.claims.clone());
    let met = |claim: &ClaimsQuery| claim_met(claim, &root, &presented.predicates);
    let combinations = credential.combinations();
    if credential.claim_sets.is_some() {
        if !combinations
            .iter()
            .any(|set| set.iter().all(|claim| met(claim)))
        {
            return Err(DcqlViolation::NoClaimSetSatisfied {
                id: id(),
                presentation: position,
            });
        }
    } else if let Some(unmet) = combinations.iter().flatten().find(|claim| !met(claim)) {
        return Err(match &unmet.predicate {
            Some(predicate) => DcqlViolation::PredicateNotProven {
                id: id(),
                presentation: position,
                predicate: predicate.text().to_owned(),
            },
            None => DcqlViolation::ClaimMissing {
                id: id(),
                presentation: position,
                path: unmet.path.to_string(),
            },
        });
    }
    for disclosed in &presented.disclosed {
        let allowed = requested
            .iter()
            .any(|path| path.is_prefix_of(disclosed) || disclosed.is_prefix_of(path));
        if allowed {
            continue;
        }
        let proven_instead =
            credential.claims.iter().flatten().any(|claim| {
                claim.predicate.is_some() && loose(&claim.path).is_prefix_of(disclosed)
            });
        let path = truncate(&disclosed.to_string());
        return Err(if proven_instead {
            DcqlViolation::PredicateClaimDisclosed {
                id: id(),
                presentation: position,
                path,
            }
        } else {
            DcqlViolation::NotRequested {
                id: id(),
                presentation: position,
                path,
            }
        });
    }
    Ok(())
}

fn claim_met(claim: &ClaimsQuery, root: &Value, proven: &[ProvenPredicate]) -> bool {
    if let Some(predicate) = &claim.predicate {
        return proven
            .iter()
            .any(|statement| predicate.proven_by(statement));
    }
    claim
        .path
        .select_with(root, Reading::Presentation)
        .is_ok_and(|selected| selected.iter().any(|found| claim.accepts(found.value)))
}

/// The paths of every claims query of the request that asks for a disclosure.
fn requested_paths(query: &DcqlQuery) -> Vec<ClaimPath> {
    query
        .credentials
        .iter()
        .flat_map(|credential| credential.claims.iter().flatten())
        .filter(|claim| claim.predicate.is_none())
        .map(|claim| loose(&claim.path))
        .collect()
}

/// A pointer as a path matching any array position: revealed positions are not the
/// issued ones when the holder left earlier elements concealed.
fn loose(pointer: &ClaimsPathPointer) -> ClaimPath {
    ClaimPath::from_segments(
        pointer
            .to_claim_path()
            .segments()
            .iter()
            .map(|segment| match segment {
                PathSegment::Index(_) => PathSegment::AnyIndex,
                other => other.clone(),
            })
            .collect(),
    )
}
