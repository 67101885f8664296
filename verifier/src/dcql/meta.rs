//! The `meta` rules of OpenID4VP 1.0 Appendix B and the Trusted Authorities Query
//! (§6.1.1).

use serde_json::{Map, Value};

use super::query::{TrustedAuthoritiesQuery, SD_JWT_VC_FORMAT};
use super::read::{limit, non_empty_array, object, strings};
use super::{DcqlError, MAX_AUTHORITY_VALUES, MAX_TYPE_VALUES};

const S6_1_1: &str = "OpenID4VP 1.0 §6.1.1";
const B1_1: &str = "OpenID4VP 1.0 Appendix B.1.1";
const B2_3: &str = "OpenID4VP 1.0 Appendix B.2.3";
const B3_5: &str = "OpenID4VP 1.0 Appendix B.3.5";

/// The `meta` members Appendix B makes required for its formats; returns the
/// `vct_values` of a `dc+sd-jwt` query. Other formats have no rules here.
pub(crate) fn read_format_meta(
    format: &str,
    meta: &Map<String, Value>,
    at: &str,
) -> Result<Option<Vec<String>>, DcqlError> {
    match format {
        SD_JWT_VC_FORMAT => {
            let member = format!("{at}.vct_values");
            let values = non_empty_array(meta, "vct_values", &member, B3_5)?
                .ok_or_else(|| DcqlError::invalid(&member, "is required for dc+sd-jwt", B3_5))?;
            limit(values, &member, MAX_TYPE_VALUES)?;
            strings(values, &member, B3_5).map(Some)
        }
        "mso_mdoc" => match meta.get("doctype_value") {
            Some(Value::String(_)) => Ok(None),
            None => Err(DcqlError::invalid(
                format!("{at}.doctype_value"),
                "is required for mso_mdoc",
                B2_3,
            )),
            Some(_) => Err(DcqlError::invalid(
                format!("{at}.doctype_value"),
                "must be a string",
                B2_3,
            )),
        },
        "jwt_vc_json" | "ldp_vc" => {
            let member = format!("{at}.type_values");
            let alternatives = non_empty_array(meta, "type_values", &member, B1_1)?
                .ok_or_else(|| DcqlError::invalid(&member, "is required for W3C VCs", B1_1))?;
            limit(alternatives, &member, MAX_TYPE_VALUES)?;
            for (index, alternative) in alternatives.iter().enumerate() {
                let at = format!("{member}[{index}]");
                match alternative {
                    Value::Array(types) if !types.is_empty() => {
                        limit(types, &at, MAX_TYPE_VALUES)?;
                        strings(types, &at, B1_1)?;
                    }
                    _ => return Err(DcqlError::invalid(at, "must be a non-empty array", B1_1)),
                }
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

pub(crate) fn read_authority(
    value: &Value,
    at: &str,
) -> Result<TrustedAuthoritiesQuery, DcqlError> {
    let entry = object(value, at, S6_1_1)?;
    let authority_type = match entry.get("type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        None => {
            return Err(DcqlError::invalid(
                format!("{at}.type"),
                "is required",
                S6_1_1,
            ))
        }
        Some(_) => {
            return Err(DcqlError::invalid(
                format!("{at}.type"),
                "must be a non-empty string",
                S6_1_1,
            ))
        }
    };
    let member = format!("{at}.values");
    let values = non_empty_array(entry, "values", &member, S6_1_1)?
        .ok_or_else(|| DcqlError::invalid(&member, "is required", S6_1_1))?;
    limit(values, &member, MAX_AUTHORITY_VALUES)?;
    let values = strings(values, &member, S6_1_1)?;
    for (index, value) in values.iter().enumerate() {
        let valid = match authority_type.as_str() {
            "aki" => is_base64url(value),
            "etsi_tl" | "openid_federation" => is_http_url(value),
            _ => true,
        };
        if !valid {
            let reason = if authority_type == "aki" {
                "must be a base64url KeyIdentifier"
            } else {
                "must be an http(s) URL"
            };
            return Err(DcqlError::invalid(
                format!("{member}[{index}]"),
                reason,
                S6_1_1,
            ));
        }
    }
    Ok(TrustedAuthoritiesQuery {
        authority_type,
        values,
    })
}

/// Unpadded base64url of at least one byte.
fn is_base64url(text: &str) -> bool {
    !text.is_empty()
        && text.len() % 4 != 1
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "https" | "http"))
}
