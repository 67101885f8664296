//! Reading JSON members by the types the AP2 mandate schemas give them.
//!
//! The rules, one per schema type (JSON Schema 2020-12 as the AP2 v0.2 schemas use
//! it; where the SDK's pydantic models are laxer, agentid keeps to the schema and
//! refuses):
//!
//! - `string`: a JSON string. (pydantic: the same.)
//! - `integer`: a JSON number with no fractional part (`1000` or `1000.0`) that fits
//!   an `i64`. (pydantic's lax mode also takes `"1000"` and `true`; agentid
//!   refuses them, and integers outside `i64`.)
//! - `number`: a finite JSON number. (pydantic also takes `"5.5"` and `true`.)
//! - `object` / `array`: a JSON object / array.
//! - an optional member may be absent or `null` (pydantic's `X | None`); a required
//!   one may be neither.
//! - members the schema does not name are ignored (pydantic's default).

use serde_json::{Map, Number, Value};

use crate::error::truncate;

/// A member that breaks its schema: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    pub(crate) path: String,
    pub(crate) reason: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

pub(crate) type Read<T> = Result<T, SchemaError>;

fn error(path: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A JSON object being read, with its path for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Object<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// A value inside an array, with its path.
pub(crate) struct Element<'a> {
    pub(crate) value: &'a Value,
    pub(crate) path: String,
}

impl<'a> Element<'a> {
    /// Reads the element as an object and hands it to `read`.
    pub(crate) fn object<T>(&self, read: impl FnOnce(Object<'_>) -> Read<T>) -> Read<T> {
        match self.value {
            Value::Object(map) => read(Object::new(map, &self.path)),
            _ => Err(error(&self.path, "expected an object")),
        }
    }
}

impl<'a> Object<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Object { map, path }
    }

    pub(crate) fn path(&self) -> &str {
        self.path
    }

    /// The member, `None` when absent or `null`.
    fn member(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn required(&self, key: &str) -> Read<&'a Value> {
        match self.map.get(key) {
            None => Err(error(&join(self.path, key), "required member missing")),
            Some(Value::Null) => Err(error(&join(self.path, key), "must not be null")),
            Some(value) => Ok(value),
        }
    }

    pub(crate) fn str(&self, key: &str) -> Read<String> {
        as_str(self.required(key)?, &join(self.path, key))
    }

    pub(crate) fn opt_str(&self, key: &str) -> Read<Option<String>> {
        self.member(key)
            .map(|value| as_str(value, &join(self.path, key)))
            .transpose()
    }

    pub(crate) fn int(&self, key: &str) -> Read<i64> {
        as_int(self.required(key)?, &join(self.path, key))
    }

    pub(crate) fn opt_int(&self, key: &str) -> Read<Option<i64>> {
        self.member(key)
            .map(|value| as_int(value, &join(self.path, key)))
            .transpose()
    }

    pub(crate) fn number(&self, key: &str) -> Read<f64> {
        let path = join(self.path, key);
        match self.required(key)? {
            Value::Number(number) => number
                .as_f64()
                .filter(|value| value.is_finite())
                .ok_or_else(|| error(&path, "expected a finite number")),
            _ => Err(error(&path, "expected a number")),
        }
    }

    /// A string member that must be one of `allowed` (an enum): its index there.
    pub(crate) fn one_of(&self, key: &str, allowed: &[&str]) -> Read<usize> {
        let value = self.str(key)?;
        allowed
            .iter()
            .position(|name| *name == value)
            .ok_or_else(|| {
                error(
                    &join(self.path, key),
                    format!("{} is not one of {}", quoted(&value), allowed.join(", ")),
                )
            })
    }

    pub(crate) fn opt_one_of(&self, key: &str, allowed: &[&str]) -> Read<Option<usize>> {
        if self.member(key).is_none() {
            return Ok(None);
        }
        self.one_of(key, allowed).map(Some)
    }

    /// A required object member, read by `read`.
    pub(crate) fn object<T>(&self, key: &str, read: impl FnOnce(Object<'_>) -> Read<T>) -> Read<T> {
        let path = join(self.path, key);
        match self.required(key)? {
            Value::Object(map) => read(Object::new(map, &path)),
            _ => Err(error(&path, "expected an object")),
        }
    }

    /// An optional object member, read by `read`.
    pub(crate) fn opt_object<T>(
        &self,
        key: &str,
        read: impl FnOnce(Object<'_>) -> Read<T>,
    ) -> Read<Option<T>> {
        if self.member(key).is_none() {
            return Ok(None);
        }
        self.object(key, read).map(Some)
    }

    /// A required object member kept as it is (`cnf`).
    pub(crate) fn map(&self, key: &str) -> Read<Map<String, Value>> {
        self.object(key, |object| Ok(object.map.clone()))
    }

    /// An optional object member kept as it is (`risk_data`).
    pub(crate) fn opt_map(&self, key: &str) -> Read<Option<Map<String, Value>>> {
        self.opt_object(key, |object| Ok(object.map.clone()))
    }

    /// A required array member's elements.
    pub(crate) fn array(&self, key: &str) -> Read<Vec<Element<'a>>> {
        let path = join(self.path, key);
        elements(self.required(key)?, &path)
    }

    /// An optional array member's elements (`None` when absent or `null`).
    pub(crate) fn opt_array(&self, key: &str) -> Read<Option<Vec<Element<'a>>>> {
        let path = join(self.path, key);
        self.member(key)
            .map(|value| elements(value, &path))
            .transpose()
    }

    /// A required array of objects, each read by `read`.
    pub(crate) fn objects<T>(
        &self,
        key: &str,
        mut read: impl FnMut(Object<'_>) -> Read<T>,
    ) -> Read<Vec<T>> {
        self.array(key)?
            .iter()
            .map(|element| element.object(&mut read))
            .collect()
    }

    /// An optional URI member (`format: uri`; pydantic's `AnyUrl`).
    pub(crate) fn opt_uri(&self, key: &str) -> Read<()> {
        if let Some(value) = self.member(key) {
            let path = join(self.path, key);
            check_uri(&as_str(value, &path)?, &path)?;
        }
        Ok(())
    }

    /// An optional timezone-aware date-time member (pydantic's `AwareDatetime`).
    pub(crate) fn opt_aware_datetime(&self, key: &str) -> Read<()> {
        let path = join(self.path, key);
        match self.member(key) {
            None => Ok(()),
            Some(Value::Number(number)) if number.as_f64().is_some_and(unix_time) => Ok(()),
            Some(Value::String(text)) if aware_datetime(text) => Ok(()),
            Some(_) => Err(error(&path, "expected a date-time with a UTC offset")),
        }
    }
}

/// A Unix time pydantic (speedate) reads: seconds up to 2 × 10¹⁰ in magnitude,
/// milliseconds above, within years 1 to 9999.
fn unix_time(value: f64) -> bool {
    value.abs() <= 2e10 || (-62_135_596_800_000.0..253_402_300_800_000.0).contains(&value)
}

/// A date-time with an offset as pydantic (speedate) reads one: `YYYY-MM-DD`, then
/// `T`, `t`, a space or `_`, then `HH:MM[:SS[(.|,)digits]]`, then `Z`, `z`, `±HH:MM`
/// or `±HHMM`; or a [`unix_time`] in digits (`1700000000`, `-5`, `1700000000.5`).
fn aware_datetime(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
        })
    };
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    if !whole.is_empty()
        && !fraction.is_empty()
        && whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return text.parse::<f64>().is_ok_and(unix_time);
    }
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if year == 0
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !(1..=month_days).contains(&day)
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' ' | b'_'))
        || bytes.get(13) != Some(&b':')
    {
        return false;
    }
    match (digits(11..13), digits(14..16)) {
        (Some(hour), Some(minute)) if hour < 24 && minute < 60 => {}
        _ => return false,
    }
    let mut at = 16;
    if bytes.get(at) == Some(&b':') {
        match digits(at + 1..at + 3) {
            Some(second) if second < 60 => at += 3,
            _ => return false,
        }
        if matches!(bytes.get(at), Some(b'.' | b',')) {
            let start = at + 1;
            at = start;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return false;
            }
        }
    }
    match bytes.get(at..) {
        Some(b"Z" | b"z") => true,
        Some([b'+' | b'-', offset @ ..]) => {
            let (hours, minutes) = match offset {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                _ => return false,
            };
            let two = |pair: [u8; 2]| {
                pair.iter()
                    .all(u8::is_ascii_digit)
                    .then(|| u32::from(pair[0] - b'0') * 10 + u32::from(pair[1] - b'0'))
            };
            matches!((two(hours), two(minutes)), (Some(h), Some(m)) if h < 24 && m < 60)
        }
        _ => false,
    }
}

fn elements<'a>(value: &'a Value, path: &str) -> Read<Vec<Element<'a>>> {
    match value {
        Value::Array(items) => Ok(items
            .iter()
            .enumerate()
            .map(|(index, value)| Element {
                value,
                path: format!("{path}[{index}]"),
            })
            .collect()),
        _ => Err(error(path, "expected an array")),
    }
}

pub(crate) fn as_str(value: &Value, path: &str) -> Read<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(error(path, "expected a string")),
    }
}

/// Two to the 63rd, the first `f64` above the `i64` range.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

pub(crate) fn as_int(value: &Value, path: &str) -> Read<i64> {
    let Value::Number(number) = value else {
        return Err(error(path, "expected an integer"));
    };
    integer(number).ok_or_else(|| error(path, "expected an integer that fits 64 bits"))
}

fn integer(number: &Number) -> Option<i64> {
    if let Some(value) = number.as_i64() {
        return Some(value);
    }
    if number.is_u64() {
        return None;
    }
    let value = number.as_f64()?;
    // `as` is exact here: the value is integral and inside the i64 range.
    (value.is_finite() && value.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&value))
        .then_some(value as i64)
}

/// A URI as pydantic's `AnyUrl` reads it: an absolute URL by the WHATWG URL
/// standard (pydantic-core parses with the same `url` crate), any scheme.
fn check_uri(text: &str, path: &str) -> Read<()> {
    url::Url::parse(text)
        .map(drop)
        .map_err(|why| error(path, format!("{} is not a URL ({why})", quoted(text))))
}

/// `value` quoted and truncated for a message.
pub(crate) fn quoted(value: &str) -> String {
    format!("{:?}", truncate(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: &Value) -> Object<'_> {
        Object::new(value.as_object().unwrap(), "m")
    }

    #[test]
    fn an_integer_member_takes_integral_numbers_within_64_bits_only() {
        let value = json!({
            "int": 1000, "integral_float": 1000.0, "fraction": 1000.5, "text": "1000",
            "bool": true, "big": 18446744073709551615u64, "negative": -5, "null": null,
            "huge_float": 1e300
        });
        let o = object(&value);
        assert_eq!(o.int("int"), Ok(1000));
        assert_eq!(o.int("integral_float"), Ok(1000));
        assert_eq!(o.int("negative"), Ok(-5));
        for refused in [
            "fraction",
            "text",
            "bool",
            "big",
            "null",
            "missing",
            "huge_float",
        ] {
            assert!(o.int(refused).is_err(), "{refused}");
        }
        assert_eq!(o.opt_int("null"), Ok(None));
        assert_eq!(o.opt_int("missing"), Ok(None));
    }

    #[test]
    fn a_required_member_may_not_be_null_and_an_optional_one_may() {
        let value = json!({"a": null, "b": 5});
        let o = object(&value);
        assert_eq!(o.str("a").unwrap_err().reason, "must not be null");
        assert_eq!(o.str("c").unwrap_err().reason, "required member missing");
        assert_eq!(
            o.str("b").unwrap_err().to_string(),
            "m.b: expected a string"
        );
        assert_eq!(o.opt_str("a"), Ok(None));
    }

    #[test]
    fn aware_date_times_are_read_as_pydantic_reads_them() {
        for accepted in [
            "2026-01-01T00:00:00Z",
            "2026-01-01t00:00:00z",
            "2026-01-01 00:00:00Z",
            "2026-01-01_00:00:00Z",
            "2026-01-01T00:00Z",
            "2026-01-01T00:00:00.123456789Z",
            "2026-01-01T00:00:00,5Z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00+0100",
            "2026-01-01T00:00:00-23:59",
            "2024-02-29T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1700000000",
            "1700000000.5",
            "-5",
            "+5",
            "253402300799999",
        ] {
            assert!(aware_datetime(accepted), "{accepted}");
        }
        for refused in [
            "2026-01-01T00:00:00",
            "2026-01-01",
            "2026-01-01T00Z",
            "2026-01-01T00:00:00+01",
            "2026-01-01T00:00:00+24:00",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:59:60Z",
            "",
            "2026-1-01T00:00:00Z",
            "20260101T000000Z",
            "+2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00 Z",
            "2026-01-01T00:00:00UTC",
            "2026-01-01T00:00:00.Z",
            "0000-01-01T00:00:00Z",
            "2026-01-01T00:00:00+01:00:00",
            "1700000000.",
            "١٧٠٠",
            "253402300800000",
            "-62135596800001",
            "1e5",
            " 5",
        ] {
            assert!(!aware_datetime(refused), "{refused}");
        }
        assert!(unix_time(2e10) && unix_time(2e10 + 1.0) && unix_time(-62_135_596_800_000.0));
        assert!(!unix_time(253_402_300_800_000.0) && !unix_time(1e300) && !unix_time(f64::NAN));
    }

    #[test]
    fn uris_are_absolute_urls_of_any_scheme() {
        for accepted in [
            "https://example.com/privacy",
            "mailto:x@y",
            "foo:bar",
            "file:///x",
        ] {
            assert!(check_uri(accepted, "u").is_ok(), "{accepted}");
        }
        for refused in [
            "",
            "/relative",
            "not a url",
            "http://",
            "https://exa mple.com",
        ] {
            assert!(check_uri(refused, "u").is_err(), "{refused}");
        }
    }
}
