//! agentid's DCQL extension: a claims query member `agentid_predicate` asking for a
//! zero-knowledge proof about a committed claim instead of its disclosure.
//!
//! `{"id": "adult", "path": ["birthdate"], "agentid_predicate": "birthdate <= 2008-11-22"}`
//! is met by a range proof that the committed `birthdate` is at most that date; the
//! claim itself must not be disclosed. The statement uses the grammar of
//! [`Predicate::parse`] with explicit bounds only: `age>=N` depends on the day it is
//! read, and the wallet and the verifier could read it on different days. Verifiers
//! that do not know the member ignore it (§6: unknown members MUST be ignored) and
//! see a plain request for the claim.

use serde_json::Value;

use super::pointer::ClaimsPathPointer;
use crate::path::ClaimPath;
use crate::predicate::{Predicate, ProvenPredicate, ValueEncoding};

/// Longest `agentid_predicate` read, in bytes.
pub const MAX_PREDICATE_BYTES: usize = 256;

/// A checked `agentid_predicate`: the statement, and whether its bounds are dates or
/// integers (the committed claim must be encoded the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPredicate {
    text: String,
    predicate: Predicate,
    encoding: ValueEncoding,
}

impl QueryPredicate {
    /// Reads the statement of the claims query whose path is `path`.
    pub(crate) fn parse(text: &str, path: &ClaimsPathPointer) -> Result<Self, String> {
        if text.len() > MAX_PREDICATE_BYTES {
            return Err(format!("longer than {MAX_PREDICATE_BYTES} bytes"));
        }
        let is_age = text
            .trim()
            .strip_prefix("age")
            .and_then(|rest| rest.trim_start().strip_prefix(">="))
            .is_some();
        if is_age {
            return Err("age>=N depends on the current day: write birthdate<=YYYY-MM-DD".into());
        }
        // `today` only serves age>=N, refused above.
        let predicate = Predicate::parse(text, 0).map_err(|error| error.to_string())?;
        let claim: ClaimPath = predicate
            .claim
            .parse()
            .map_err(|_| "the predicate does not name a claim path".to_owned())?;
        if !path.is_concrete() || claim != path.to_claim_path() {
            return Err("the predicate must be about the claim the path names".into());
        }
        let encoding = bounds_encoding(text, &predicate)?;
        Ok(QueryPredicate {
            text: text.to_owned(),
            predicate,
            encoding,
        })
    }

    /// The statement as the query states it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statement the wallet proves.
    pub fn predicate(&self) -> &Predicate {
        &self.predicate
    }

    /// How the committed claim must be encoded: dates for date bounds, integers for
    /// integer bounds.
    pub fn encoding(&self) -> ValueEncoding {
        self.encoding
    }

    /// True when the statement holds for this claim value (a wallet, before it tries
    /// to prove it).
    pub fn holds_for(&self, value: &Value) -> bool {
        self.encoding.encode(value).is_some_and(|number| {
            self.predicate.min.is_none_or(|min| number >= min)
                && self.predicate.max.is_none_or(|max| number <= max)
        })
    }

    /// True when a proven statement implies this one: same claim, same encoding,
    /// bounds at least as tight.
    pub fn proven_by(&self, proven: &ProvenPredicate) -> bool {
        proven.claim == self.predicate.claim
            && proven.encoding == self.encoding
            && self
                .predicate
                .min
                .is_none_or(|min| proven.implies_at_least(min))
            && self
                .predicate
                .max
                .is_none_or(|max| proven.implies_at_most(max))
    }
}

/// The encoding the bounds are written in; `Predicate::parse` has accepted `text`, so
/// its bounds sit where its grammar puts them.
fn bounds_encoding(text: &str, predicate: &Predicate) -> Result<ValueEncoding, String> {
    let bounds: Vec<&str> = match (predicate.min, predicate.max) {
        (Some(_), Some(_)) => {
            let parts: Vec<&str> = text.split("<=").collect();
            [parts.first(), parts.get(2)]
                .into_iter()
                .flatten()
                .copied()
                .collect()
        }
        (None, Some(_)) => text.split("<=").skip(1).collect(),
        (Some(_), None) => text.split(">=").skip(1).collect(),
        (None, None) => Vec::new(),
    };
    let integers = bounds
        .iter()
        .filter(|bound| bound.trim().parse::<i64>().is_ok())
        .count();
    match integers {
        0 => Ok(ValueEncoding::Date),
        count if count == bounds.len() => Ok(ValueEncoding::Integer),
        _ => Err("the bounds must both be dates or both integers".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(value: Value) -> ClaimsPathPointer {
        ClaimsPathPointer::from_json(&value, "path").unwrap()
    }

    #[test]
    fn date_and_integer_bounds_set_the_encoding() {
        let adult =
            QueryPredicate::parse("birthdate <= 2008-11-22", &path(json!(["birthdate"]))).unwrap();
        assert_eq!(adult.encoding(), ValueEncoding::Date);
        assert!(adult.holds_for(&json!("2000-01-01")));
        assert!(!adult.holds_for(&json!("2010-01-01")));
        assert!(!adult.holds_for(&json!(12)));
        let band = QueryPredicate::parse("10 <= level <= 20", &path(json!(["level"]))).unwrap();
        assert_eq!(band.encoding(), ValueEncoding::Integer);
        assert!(band.holds_for(&json!(15)));
        let nested = QueryPredicate::parse(
            "address.since >= 2001-01-01",
            &path(json!(["address", "since"])),
        );
        assert!(nested.is_ok());
    }

    #[test]
    fn refused_statements() {
        for (text, pointer) in [
            ("age >= 18", json!(["birthdate"])),
            ("birthdate <= 2008-11-22", json!(["other"])),
            ("birthdate <= 2008-11-22", json!(["birthdate", null])),
            ("a.b <= 3", json!(["a.b"])),
            ("birthdate <= tomorrow", json!(["birthdate"])),
            ("2001-01-01 <= d <= 30", json!(["d"])),
            ("d == 3", json!(["d"])),
        ] {
            assert!(
                QueryPredicate::parse(text, &path(pointer.clone())).is_err(),
                "{text} on {pointer} must be refused"
            );
        }
        let long = format!("d <= {}", "1".repeat(MAX_PREDICATE_BYTES));
        assert!(QueryPredicate::parse(&long, &path(json!(["d"]))).is_err());
    }
}
