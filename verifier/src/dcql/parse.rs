//! Reading a DCQL query: limits first, then every rule of OpenID4VP 1.0 §6, with the
//! offending member named in the error.

use std::collections::BTreeSet;

use serde_json::Value;

use super::claims::{read_claim_sets, read_claims};
use super::meta::{read_authority, read_format_meta};
use super::query::{CredentialQuery, CredentialSetQuery, DcqlQuery};
use super::read::{boolean, limit, non_empty_array, object, read_id, strings};
use super::{
    DcqlError, MAX_CREDENTIAL_QUERIES, MAX_CREDENTIAL_SETS, MAX_OPTIONS, MAX_QUERY_BYTES,
    MAX_QUERY_DEPTH, MAX_QUERY_VALUES, MAX_TRUSTED_AUTHORITIES,
};

const S6: &str = "OpenID4VP 1.0 §6";
pub(crate) const S6_1: &str = "OpenID4VP 1.0 §6.1";
const S6_2: &str = "OpenID4VP 1.0 §6.2";

impl DcqlQuery {
    /// Parses and validates a DCQL query from its JSON text.
    ///
    /// # Errors
    /// [`DcqlError::TooLarge`] above [`MAX_QUERY_BYTES`], [`DcqlError::TooDeep`],
    /// [`DcqlError::NotJson`], and every error of [`DcqlQuery::from_value`].
    pub fn parse(json: &[u8]) -> Result<Self, DcqlError> {
        if json.len() > MAX_QUERY_BYTES {
            return Err(DcqlError::TooLarge {
                limit: MAX_QUERY_BYTES,
            });
        }
        // Bytes first, so serde_json never recurses deeper than the limit.
        if crate::encoding::json_depth_exceeds(json, MAX_QUERY_DEPTH) {
            return Err(DcqlError::TooDeep {
                limit: MAX_QUERY_DEPTH,
            });
        }
        let value: Value = serde_json::from_slice(json).map_err(|_| DcqlError::NotJson)?;
        DcqlQuery::from_value(&value)
    }

    /// Validates a DCQL query already read as JSON (the `dcql_query` member of a
    /// request object).
    ///
    /// # Errors
    /// [`DcqlError::TooDeep`] or [`DcqlError::TooManyValues`] above the limits,
    /// [`DcqlError::TooMany`] for an array longer than its limit, and
    /// [`DcqlError::Invalid`] naming the member that breaks a rule.
    pub fn from_value(value: &Value) -> Result<Self, DcqlError> {
        check_shape(value)?;
        let query = object(value, "query", S6)?;
        let credentials = non_empty_array(query, "credentials", "credentials", S6)?
            .ok_or_else(|| DcqlError::invalid("credentials", "is required", S6))?;
        limit(credentials, "credentials", MAX_CREDENTIAL_QUERIES)?;
        let credentials = credentials
            .iter()
            .enumerate()
            .map(|(index, entry)| read_credential_query(entry, &format!("credentials[{index}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids = BTreeSet::new();
        for (index, credential) in credentials.iter().enumerate() {
            if !ids.insert(credential.id.as_str()) {
                return Err(DcqlError::invalid(
                    format!("credentials[{index}].id"),
                    "is used by an earlier credential query",
                    S6_1,
                ));
            }
        }
        let credential_sets =
            match non_empty_array(query, "credential_sets", "credential_sets", S6)? {
                None => None,
                Some(sets) => {
                    limit(sets, "credential_sets", MAX_CREDENTIAL_SETS)?;
                    Some(
                        sets.iter()
                            .enumerate()
                            .map(|(index, set)| {
                                read_credential_set(set, &format!("credential_sets[{index}]"), &ids)
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    )
                }
            };
        Ok(DcqlQuery {
            credentials,
            credential_sets,
        })
    }
}

/// Depth and size of a query given as a value, walked without recursion.
fn check_shape(value: &Value) -> Result<(), DcqlError> {
    let mut pending = vec![(value, 1usize)];
    let mut seen = 0usize;
    while let Some((value, depth)) = pending.pop() {
        seen += 1;
        if seen > MAX_QUERY_VALUES {
            return Err(DcqlError::TooManyValues {
                limit: MAX_QUERY_VALUES,
            });
        }
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > MAX_QUERY_DEPTH {
            return Err(DcqlError::TooDeep {
                limit: MAX_QUERY_DEPTH,
            });
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

fn read_credential_query(value: &Value, at: &str) -> Result<CredentialQuery, DcqlError> {
    let query = object(value, at, S6_1)?;
    let id = read_id(query.get("id"), &format!("{at}.id"), S6_1)?
        .ok_or_else(|| DcqlError::invalid(format!("{at}.id"), "is required", S6_1))?;
    let format = match query.get("format") {
        None => {
            return Err(DcqlError::invalid(
                format!("{at}.format"),
                "is required",
                S6_1,
            ))
        }
        Some(Value::String(format)) if !format.is_empty() => format.clone(),
        Some(_) => {
            return Err(DcqlError::invalid(
                format!("{at}.format"),
                "must be a non-empty string",
                S6_1,
            ))
        }
    };
    let multiple = boolean(query, "multiple", at, S6_1)?.unwrap_or(false);
    let require_cryptographic_holder_binding =
        boolean(query, "require_cryptographic_holder_binding", at, S6_1)?.unwrap_or(true);
    let meta = match query.get("meta") {
        None => {
            return Err(DcqlError::invalid(
                format!("{at}.meta"),
                "is required",
                S6_1,
            ))
        }
        Some(Value::Object(meta)) => meta.clone(),
        Some(_) => {
            return Err(DcqlError::invalid(
                format!("{at}.meta"),
                "must be an object",
                S6_1,
            ))
        }
    };
    let vct_values = read_format_meta(&format, &meta, &format!("{at}.meta"))?;
    let trusted_authorities = match non_empty_array(
        query,
        "trusted_authorities",
        &format!("{at}.trusted_authorities"),
        S6_1,
    )? {
        None => None,
        Some(entries) => {
            let member = format!("{at}.trusted_authorities");
            limit(entries, &member, MAX_TRUSTED_AUTHORITIES)?;
            Some(
                entries
                    .iter()
                    .enumerate()
                    .map(|(index, entry)| read_authority(entry, &format!("{member}[{index}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    let claims = read_claims(query, at, &format)?;
    let claim_sets = read_claim_sets(query, at, claims.as_deref())?;
    Ok(CredentialQuery {
        id,
        format,
        multiple,
        meta,
        vct_values,
        trusted_authorities,
        require_cryptographic_holder_binding,
        claims,
        claim_sets,
    })
}

fn read_credential_set(
    value: &Value,
    at: &str,
    ids: &BTreeSet<&str>,
) -> Result<CredentialSetQuery, DcqlError> {
    let set = object(value, at, S6_2)?;
    let member = format!("{at}.options");
    let options = non_empty_array(set, "options", &member, S6_2)?
        .ok_or_else(|| DcqlError::invalid(&member, "is required", S6_2))?;
    limit(options, &member, MAX_OPTIONS)?;
    let options = options
        .iter()
        .enumerate()
        .map(|(index, option)| {
            let at = format!("{member}[{index}]");
            let Value::Array(entries) = option else {
                return Err(DcqlError::invalid(at, "must be an array", S6_2));
            };
            if entries.is_empty() {
                return Err(DcqlError::invalid(at, "must not be empty", S6_2));
            }
            limit(entries, &at, MAX_CREDENTIAL_QUERIES)?;
            let entries = strings(entries, &at, S6_2)?;
            if let Some(position) = entries.iter().position(|id| !ids.contains(id.as_str())) {
                return Err(DcqlError::invalid(
                    format!("{at}[{position}]"),
                    "names no credential query",
                    S6_2,
                ));
            }
            Ok(entries)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let required = boolean(set, "required", at, S6_2)?.unwrap_or(true);
    Ok(CredentialSetQuery { options, required })
}
