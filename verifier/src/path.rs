//! Claim paths: how a holder or issuer names a claim inside nested JSON.
//!
//! Text form: object keys joined by `.`, array positions in brackets, `[*]` for every
//! element: `address.street_address`, `nationalities[0]`, `scope[*]`. Keys holding
//! `.`, `[` or `]` can only be named through [`ClaimPath::from_segments`].

use std::fmt;
use std::str::FromStr;

/// One step of a [`ClaimPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    /// An object property.
    Key(String),
    /// An array element, by its position in the issued array.
    Index(usize),
    /// Every element of an array.
    AnyIndex,
}

/// The path of a claim from the root of the credential's claims.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ClaimPath(Vec<PathSegment>);

/// A claim path could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid claim path {path:?}: {reason}")]
pub struct InvalidClaimPath {
    path: String,
    reason: &'static str,
}

impl ClaimPath {
    /// The empty path: the claims object itself.
    pub fn root() -> Self {
        ClaimPath(Vec::new())
    }

    /// A path from its segments.
    pub fn from_segments(segments: Vec<PathSegment>) -> Self {
        ClaimPath(segments)
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// This path extended by one segment.
    pub fn child(&self, segment: PathSegment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        ClaimPath(segments)
    }

    /// True when `self` names `other` or one of its ancestors; `[*]` on either
    /// side matches any index.
    pub fn is_prefix_of(&self, other: &ClaimPath) -> bool {
        self.0.len() <= other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| segments_match(a, b))
    }

    /// True when both paths name the same claim; `[*]` matches any index.
    pub fn matches(&self, other: &ClaimPath) -> bool {
        self.0.len() == other.0.len() && self.is_prefix_of(other)
    }
}

fn segments_match(a: &PathSegment, b: &PathSegment) -> bool {
    match (a, b) {
        (PathSegment::AnyIndex, PathSegment::Index(_) | PathSegment::AnyIndex)
        | (PathSegment::Index(_), PathSegment::AnyIndex) => true,
        _ => a == b,
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if position == 0 => write!(f, "{key}")?,
                PathSegment::Key(key) => write!(f, ".{key}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
                PathSegment::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl FromStr for ClaimPath {
    type Err = InvalidClaimPath;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidClaimPath {
            path: text.chars().take(256).collect(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if text.len() > 1024 {
            return Err(invalid("longer than 1024 bytes"));
        }
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(bracket) => part.split_at(bracket),
                None => (part, ""),
            };
            if key.is_empty() {
                // Only `a.b`, never `.b`, `a..b` or `a.[0]`.
                return Err(invalid("empty key"));
            }
            if key.contains(']') {
                return Err(invalid("unbalanced ']'"));
            }
            segments.push(PathSegment::Key(key.to_owned()));
            while !rest.is_empty() {
                let close = rest.find(']').ok_or_else(|| invalid("unclosed '['"))?;
                let inside = &rest[1..close];
                segments.push(match inside {
                    "*" => PathSegment::AnyIndex,
                    digits => PathSegment::Index(
                        digits
                            .parse()
                            .map_err(|_| invalid("array index is not a number or *"))?,
                    ),
                });
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(invalid("text after ']' must be '[' or '.'"));
                }
            }
        }
        Ok(ClaimPath(segments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for text in [
            "address",
            "address.street_address",
            "nationalities[0]",
            "a[1][2].b",
            "scope[*]",
        ] {
            let path: ClaimPath = text.parse().expect(text);
            assert_eq!(path.to_string(), text);
        }
    }

    #[test]
    fn malformed_paths_are_refused() {
        for text in ["", ".a", "a.", "a..b", "a[", "a[x]", "a]", "a[0]b", "[0]"] {
            assert!(text.parse::<ClaimPath>().is_err(), "{text} must be refused");
        }
    }

    #[test]
    fn wildcard_matches_any_index() {
        let any: ClaimPath = "scope[*]".parse().expect("path");
        let second: ClaimPath = "scope[1]".parse().expect("path");
        assert!(any.matches(&second));
        assert!(any.is_prefix_of(&"scope[1].x".parse().expect("path")));
        assert!(!any.matches(&"scope".parse().expect("path")));
    }
}
