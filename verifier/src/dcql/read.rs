//! Small readers of JSON members shared by the query parsers: each names the member
//! in its error.

use serde_json::{Map, Value};

use super::{DcqlError, MAX_ID_BYTES};

/// An id member: `[A-Za-z0-9_-]+`, at most [`MAX_ID_BYTES`].
pub(crate) fn read_id(
    value: Option<&Value>,
    at: &str,
    section: &'static str,
) -> Result<Option<String>, DcqlError> {
    match value {
        None => Ok(None),
        Some(Value::String(id))
            if !id.is_empty()
                && id.len() <= MAX_ID_BYTES
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-') =>
        {
            Ok(Some(id.clone()))
        }
        Some(Value::String(id)) if id.len() > MAX_ID_BYTES => Err(DcqlError::invalid(
            at,
            format!("is longer than {MAX_ID_BYTES} bytes (agentid limit)"),
            section,
        )),
        Some(_) => Err(DcqlError::invalid(
            at,
            "must be a non-empty string of A-Z, a-z, 0-9, _ and -",
            section,
        )),
    }
}

pub(crate) fn object<'v>(
    value: &'v Value,
    at: &str,
    section: &'static str,
) -> Result<&'v Map<String, Value>, DcqlError> {
    value
        .as_object()
        .ok_or_else(|| DcqlError::invalid(at, "must be an object", section))
}

/// An optional member that, when present, is a non-empty array.
pub(crate) fn non_empty_array<'v>(
    object: &'v Map<String, Value>,
    name: &str,
    member: &str,
    section: &'static str,
) -> Result<Option<&'v Vec<Value>>, DcqlError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() => Ok(Some(items)),
        Some(Value::Array(_)) => Err(DcqlError::invalid(member, "must not be empty", section)),
        Some(_) => Err(DcqlError::invalid(member, "must be an array", section)),
    }
}

pub(crate) fn boolean(
    object: &Map<String, Value>,
    name: &str,
    at: &str,
    section: &'static str,
) -> Result<Option<bool>, DcqlError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(DcqlError::invalid(
            format!("{at}.{name}"),
            "must be a boolean",
            section,
        )),
    }
}

/// Every entry a non-empty string.
pub(crate) fn strings(
    items: &[Value],
    member: &str,
    section: &'static str,
) -> Result<Vec<String>, DcqlError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::String(text) if !text.is_empty() => Ok(text.clone()),
            _ => Err(DcqlError::invalid(
                format!("{member}[{index}]"),
                "must be a non-empty string",
                section,
            )),
        })
        .collect()
}

pub(crate) fn limit(items: &[Value], member: &str, max: usize) -> Result<(), DcqlError> {
    if items.len() > max {
        return Err(DcqlError::TooMany {
            member: member.into(),
            limit: max,
        });
    }
    Ok(())
}
