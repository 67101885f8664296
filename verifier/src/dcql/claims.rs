//! Reading the `claims` and `claim_sets` of a credential query (OpenID4VP 1.0 §6.1,
//! §6.3, §7) and agentid's `agentid_predicate` member.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::parse::S6_1;
use super::pointer::ClaimsPathPointer;
use super::predicate::QueryPredicate;
use super::query::{ClaimValue, ClaimsQuery};
use super::read::{boolean, limit, non_empty_array, object, read_id};
use super::{DcqlError, MAX_CLAIMS, MAX_CLAIM_SETS, MAX_VALUES, PREDICATE_MEMBER};

const S6_3: &str = "OpenID4VP 1.0 §6.3";
const EXTENSION: &str = "agentid_predicate, docs/dcql.md";

/// The `claims` of the credential query at `at`, if present.
pub(crate) fn read_claims(
    query: &Map<String, Value>,
    at: &str,
    format: &str,
) -> Result<Option<Vec<ClaimsQuery>>, DcqlError> {
    let member = format!("{at}.claims");
    let Some(entries) = non_empty_array(query, "claims", &member, S6_1)? else {
        return Ok(None);
    };
    limit(entries, &member, MAX_CLAIMS)?;
    let with_sets = query.contains_key("claim_sets");
    let claims = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| read_claim(entry, &format!("{member}[{index}]"), with_sets, format))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for (index, claim) in claims.iter().enumerate() {
        if let Some(id) = &claim.id {
            if !ids.insert(id.as_str()) {
                return Err(DcqlError::invalid(
                    format!("{member}[{index}].id"),
                    "is used by an earlier claims query",
                    S6_3,
                ));
            }
        }
        if !paths.insert(&claim.path) {
            return Err(DcqlError::invalid(
                format!("{member}[{index}].path"),
                "points to the same claim as an earlier claims query",
                S6_1,
            ));
        }
    }
    Ok(Some(claims))
}

fn read_claim(
    value: &Value,
    at: &str,
    with_sets: bool,
    format: &str,
) -> Result<ClaimsQuery, DcqlError> {
    let claim = object(value, at, S6_3)?;
    let id = read_id(claim.get("id"), &format!("{at}.id"), S6_3)?;
    if with_sets && id.is_none() {
        return Err(DcqlError::invalid(
            format!("{at}.id"),
            "is required when the credential query has claim_sets",
            S6_3,
        ));
    }
    let path = match claim.get("path") {
        None => {
            return Err(DcqlError::invalid(
                format!("{at}.path"),
                "is required",
                S6_3,
            ))
        }
        Some(path) => ClaimsPathPointer::from_json(path, &format!("{at}.path"))?,
    };
    let values = match non_empty_array(claim, "values", &format!("{at}.values"), S6_3)? {
        None => None,
        Some(values) => {
            limit(values, &format!("{at}.values"), MAX_VALUES)?;
            Some(
                values
                    .iter()
                    .enumerate()
                    .map(|(index, value)| read_value(value, &format!("{at}.values[{index}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    // Appendix B.2.4 defines it for mdoc claims queries; elsewhere it is unknown.
    let intent_to_retain = if format == "mso_mdoc" {
        boolean(
            claim,
            "intent_to_retain",
            at,
            "OpenID4VP 1.0 Appendix B.2.4",
        )?
    } else {
        None
    };
    let predicate = match claim.get(PREDICATE_MEMBER) {
        None => None,
        Some(Value::String(text)) => {
            let member = format!("{at}.{PREDICATE_MEMBER}");
            if values.is_some() {
                return Err(DcqlError::invalid(
                    member,
                    "cannot be combined with values",
                    EXTENSION,
                ));
            }
            Some(
                QueryPredicate::parse(text, &path)
                    .map_err(|reason| DcqlError::invalid(member, reason, EXTENSION))?,
            )
        }
        Some(_) => {
            return Err(DcqlError::invalid(
                format!("{at}.{PREDICATE_MEMBER}"),
                "must be a string",
                EXTENSION,
            ))
        }
    };
    Ok(ClaimsQuery {
        id,
        path,
        values,
        intent_to_retain,
        predicate,
    })
}

fn read_value(value: &Value, at: &str) -> Result<ClaimValue, DcqlError> {
    match value {
        Value::String(text) => Ok(ClaimValue::String(text.clone())),
        Value::Bool(flag) => Ok(ClaimValue::Bool(*flag)),
        Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Ok(ClaimValue::Integer(i128::from(integer)))
            } else if let Some(integer) = number.as_u64() {
                Ok(ClaimValue::Integer(i128::from(integer)))
            } else {
                Err(DcqlError::invalid(at, "a number must be an integer", S6_3))
            }
        }
        _ => Err(DcqlError::invalid(
            at,
            "must be a string, an integer or a boolean",
            S6_3,
        )),
    }
}

/// The `claim_sets` of the credential query at `at`: each a non-empty list of ids of
/// its claims. Never without `claims` (§6.4.1).
pub(crate) fn read_claim_sets(
    query: &Map<String, Value>,
    at: &str,
    claims: Option<&[ClaimsQuery]>,
) -> Result<Option<Vec<Vec<String>>>, DcqlError> {
    let member = format!("{at}.claim_sets");
    let Some(sets) = non_empty_array(query, "claim_sets", &member, S6_1)? else {
        return Ok(None);
    };
    let Some(claims) = claims else {
        return Err(DcqlError::invalid(
            member,
            "must not be present without claims",
            "OpenID4VP 1.0 §6.4.1",
        ));
    };
    limit(sets, &member, MAX_CLAIM_SETS)?;
    let ids: BTreeSet<&str> = claims
        .iter()
        .filter_map(|claim| claim.id.as_deref())
        .collect();
    sets.iter()
        .enumerate()
        .map(|(index, set)| {
            let at = format!("{member}[{index}]");
            let Value::Array(entries) = set else {
                return Err(DcqlError::invalid(at, "must be an array", S6_1));
            };
            if entries.is_empty() {
                return Err(DcqlError::invalid(at, "must not be empty", S6_1));
            }
            limit(entries, &at, MAX_CLAIMS)?;
            entries
                .iter()
                .enumerate()
                .map(|(position, entry)| {
                    let at = format!("{at}[{position}]");
                    match entry {
                        Value::String(id) if ids.contains(id.as_str()) => Ok(id.clone()),
                        Value::String(_) => Err(DcqlError::invalid(
                            at,
                            "names no claims query of this credential query",
                            S6_1,
                        )),
                        _ => Err(DcqlError::invalid(at, "must be a claim id", S6_1)),
                    }
                })
                .collect()
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
