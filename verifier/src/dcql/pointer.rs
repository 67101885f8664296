//! Claims path pointers (OpenID4VP 1.0 §7): the claims a claims query names, and the
//! §7.1.1 processing that selects them from a credential's JSON.

use std::fmt;

use serde_json::Value;

use super::{DcqlError, MAX_PATH_LENGTH};
use crate::path::{ClaimPath, PathSegment};

/// One component of a [`ClaimsPathPointer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PointerSegment {
    /// A string: the member of an object with this key.
    Key(String),
    /// A non-negative integer: the array element at this index.
    Index(usize),
    /// `null`: every element of an array.
    All,
}

/// A claims path pointer: a non-empty array of strings, nulls and non-negative
/// integers (§7), at most [`MAX_PATH_LENGTH`] long.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimsPathPointer(Vec<PointerSegment>);

/// Why §7.1.1 processing aborted with an error: the claims query then matches
/// nothing in that credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PointerError {
    /// A string component met an element that is not an object (§7.1.1 2.1).
    #[error("component {position} is a key, and a selected element is not an object")]
    NotAnObject {
        /// The component's position in the pointer.
        position: usize,
    },
    /// A null or integer component met an element that is not an array (§7.1.1 2.2, 2.3).
    #[error("component {position} is null or an index, and a selected element is not an array")]
    NotAnArray {
        /// The component's position in the pointer.
        position: usize,
    },
    /// Nothing is left selected at the end (§7.1.1 step 3).
    #[error("the pointer selects nothing")]
    NothingSelected,
}

/// A claim a pointer selected: where it is (indices are concrete) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedClaim<'a> {
    /// Its concrete path from the root of the credential's claims.
    pub path: ClaimPath,
    /// Its value.
    pub value: &'a Value,
}

/// What a pointer is processed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// A credential the wallet holds in full: §7.1.1 exactly.
    Credential,
    /// The revealed claims of a presentation: an index selects any element, since
    /// elements the holder left concealed are missing and the positions shift; and
    /// an element of the wrong kind is passed over rather than an error, since an
    /// index now reaches elements the wallet's pointer never visited. The wallet
    /// applied §7.1.1 to the whole credential; the verifier checks what is there.
    Presentation,
}

impl ClaimsPathPointer {
    /// A pointer from its components.
    ///
    /// # Errors
    /// [`DcqlError::Invalid`] for no component, [`DcqlError::TooMany`] for more than
    /// [`MAX_PATH_LENGTH`].
    pub fn new(segments: Vec<PointerSegment>) -> Result<Self, DcqlError> {
        if segments.is_empty() {
            return Err(DcqlError::invalid(
                "path",
                "must be a non-empty array",
                "OpenID4VP 1.0 §7",
            ));
        }
        if segments.len() > MAX_PATH_LENGTH {
            return Err(DcqlError::TooMany {
                member: "path".into(),
                limit: MAX_PATH_LENGTH,
            });
        }
        Ok(ClaimsPathPointer(segments))
    }

    /// Reads a pointer from its JSON form; errors name `member`.
    pub(crate) fn from_json(value: &Value, member: &str) -> Result<Self, DcqlError> {
        let section = "OpenID4VP 1.0 §7";
        let Value::Array(items) = value else {
            return Err(DcqlError::invalid(member, "must be an array", section));
        };
        if items.is_empty() {
            return Err(DcqlError::invalid(member, "must not be empty", section));
        }
        if items.len() > MAX_PATH_LENGTH {
            return Err(DcqlError::TooMany {
                member: member.into(),
                limit: MAX_PATH_LENGTH,
            });
        }
        let segments = items
            .iter()
            .enumerate()
            .map(|(position, item)| match item {
                Value::String(key) => Ok(PointerSegment::Key(key.clone())),
                Value::Null => Ok(PointerSegment::All),
                Value::Number(number) => number
                    .as_u64()
                    .and_then(|index| usize::try_from(index).ok())
                    .map(PointerSegment::Index)
                    .ok_or_else(|| {
                        DcqlError::invalid(
                            format!("{member}[{position}]"),
                            "a number must be a non-negative integer",
                            section,
                        )
                    }),
                _ => Err(DcqlError::invalid(
                    format!("{member}[{position}]"),
                    "must be a string, null or a non-negative integer",
                    section,
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClaimsPathPointer(segments))
    }

    /// The JSON form: an array of strings, nulls and integers.
    pub fn to_value(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|segment| match segment {
                    PointerSegment::Key(key) => Value::String(key.clone()),
                    PointerSegment::Index(index) => Value::from(*index),
                    PointerSegment::All => Value::Null,
                })
                .collect(),
        )
    }

    /// The components, outermost first.
    pub fn segments(&self) -> &[PointerSegment] {
        &self.0
    }

    /// The same path as a [`ClaimPath`]; null becomes [`PathSegment::AnyIndex`].
    pub fn to_claim_path(&self) -> ClaimPath {
        ClaimPath::from_segments(
            self.0
                .iter()
                .map(|segment| match segment {
                    PointerSegment::Key(key) => PathSegment::Key(key.clone()),
                    PointerSegment::Index(index) => PathSegment::Index(*index),
                    PointerSegment::All => PathSegment::AnyIndex,
                })
                .collect(),
        )
    }

    /// The pointer naming a [`ClaimPath`] (`[*]` becomes null); `None` for the
    /// root path or one longer than [`MAX_PATH_LENGTH`].
    pub fn from_claim_path(path: &ClaimPath) -> Option<Self> {
        let segments = path
            .segments()
            .iter()
            .map(|segment| match segment {
                PathSegment::Key(key) => PointerSegment::Key(key.clone()),
                PathSegment::Index(index) => PointerSegment::Index(*index),
                PathSegment::AnyIndex => PointerSegment::All,
            })
            .collect();
        ClaimsPathPointer::new(segments).ok()
    }

    /// True when the pointer names one claim: no null component.
    pub fn is_concrete(&self) -> bool {
        !self.0.contains(&PointerSegment::All)
    }

    /// Processes the pointer against a credential's claims (the top-level JSON
    /// object) exactly as §7.1.1 says, returning the selected claims.
    ///
    /// # Errors
    /// [`PointerError`] where §7.1.1 aborts: a key on an element that is not an
    /// object, null or an index on one that is not an array, nothing selected.
    pub fn select<'a>(&self, root: &'a Value) -> Result<Vec<SelectedClaim<'a>>, PointerError> {
        self.select_with(root, Reading::Credential)
    }

    pub(crate) fn select_with<'a>(
        &self,
        root: &'a Value,
        reading: Reading,
    ) -> Result<Vec<SelectedClaim<'a>>, PointerError> {
        let lenient = reading == Reading::Presentation;
        let mut selected: Vec<(Vec<PathSegment>, &'a Value)> = vec![(Vec::new(), root)];
        for (position, segment) in self.0.iter().enumerate() {
            let mut next = Vec::with_capacity(selected.len());
            for (path, element) in selected {
                match (segment, element) {
                    (PointerSegment::Key(key), Value::Object(map)) => {
                        if let Some(child) = map.get(key) {
                            next.push((extended(&path, PathSegment::Key(key.clone())), child));
                        }
                    }
                    (PointerSegment::Index(index), Value::Array(items)) if !lenient => {
                        if let Some(child) = items.get(*index) {
                            next.push((extended(&path, PathSegment::Index(*index)), child));
                        }
                    }
                    (PointerSegment::All | PointerSegment::Index(_), Value::Array(items)) => {
                        for (index, child) in items.iter().enumerate() {
                            next.push((extended(&path, PathSegment::Index(index)), child));
                        }
                    }
                    _ if lenient => {}
                    (PointerSegment::Key(_), _) => {
                        return Err(PointerError::NotAnObject { position })
                    }
                    _ => return Err(PointerError::NotAnArray { position }),
                }
            }
            selected = next;
        }
        if selected.is_empty() {
            return Err(PointerError::NothingSelected);
        }
        Ok(selected
            .into_iter()
            .map(|(path, value)| SelectedClaim {
                path: ClaimPath::from_segments(path),
                value,
            })
            .collect())
    }
}

fn extended(path: &[PathSegment], segment: PathSegment) -> Vec<PathSegment> {
    let mut longer = Vec::with_capacity(path.len() + 1);
    longer.extend_from_slice(path);
    longer.push(segment);
    longer
}

/// The JSON form, `["degrees",null,"type"]`.
impl fmt::Display for ClaimsPathPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointer(value: Value) -> ClaimsPathPointer {
        ClaimsPathPointer::from_json(&value, "path").expect("pointer")
    }

    fn selected(pointer_json: Value, root: &Value) -> Result<Vec<String>, PointerError> {
        pointer(pointer_json).select(root).map(|claims| {
            claims
                .into_iter()
                .map(|claim| format!("{}={}", claim.path, claim.value))
                .collect()
        })
    }

    #[test]
    fn missing_keys_and_indices_drop_the_element() {
        let root = json!({"a": [{"b": 1}, {"c": 2}, {"b": 3}], "n": [1]});
        assert_eq!(
            selected(json!(["a", null, "b"]), &root).unwrap(),
            ["a[0].b=1", "a[2].b=3"]
        );
        assert_eq!(
            selected(json!(["n", 5]), &root),
            Err(PointerError::NothingSelected)
        );
        assert_eq!(
            selected(json!(["zz"]), &root),
            Err(PointerError::NothingSelected)
        );
    }

    #[test]
    fn wrong_types_abort_processing() {
        let root = json!({"a": [{"b": 1}, "text"], "o": {"k": 1}});
        assert_eq!(
            selected(json!(["a", null, "b"]), &root),
            Err(PointerError::NotAnObject { position: 2 })
        );
        assert_eq!(
            selected(json!(["o", 0]), &root),
            Err(PointerError::NotAnArray { position: 1 })
        );
        assert_eq!(
            selected(json!(["o", null]), &root),
            Err(PointerError::NotAnArray { position: 1 })
        );
        assert_eq!(
            selected(json!(["a", "0"]), &root),
            Err(PointerError::NotAnObject { position: 1 })
        );
    }

    #[test]
    fn null_on_an_empty_array_selects_nothing() {
        assert_eq!(
            selected(json!(["a", null]), &json!({"a": []})),
            Err(PointerError::NothingSelected)
        );
    }

    #[test]
    fn a_null_value_is_selected() {
        assert_eq!(
            selected(json!(["a"]), &json!({"a": null})).unwrap(),
            ["a=null"]
        );
    }

    #[test]
    fn presentations_read_indices_as_any_element_and_skip_other_kinds() {
        let root = json!({"n": ["x", "y"], "m": [5, {"b": 1}]});
        let read = |path: Value| pointer(path).select_with(&root, Reading::Presentation);
        assert_eq!(read(json!(["n", 1])).unwrap().len(), 2);
        assert_eq!(read(json!(["m", 1, "b"])).unwrap().len(), 1);
        assert_eq!(
            read(json!(["m", null, "c"])),
            Err(PointerError::NothingSelected)
        );
    }

    #[test]
    fn malformed_pointers_are_refused() {
        for bad in [
            json!([]),
            json!("a"),
            json!([-1]),
            json!([1.5]),
            json!([true]),
            json!([{}]),
            json!([["a"]]),
        ] {
            assert!(
                ClaimsPathPointer::from_json(&bad, "path").is_err(),
                "{bad} must be refused"
            );
        }
        let long = Value::Array(vec![json!("a"); MAX_PATH_LENGTH + 1]);
        assert!(matches!(
            ClaimsPathPointer::from_json(&long, "path"),
            Err(DcqlError::TooMany { .. })
        ));
    }

    #[test]
    fn claim_path_conversion_round_trips() {
        let original = pointer(json!(["degrees", null, "type", 2]));
        let path = original.to_claim_path();
        assert_eq!(path.to_string(), "degrees[*].type[2]");
        assert_eq!(ClaimsPathPointer::from_claim_path(&path), Some(original));
        assert_eq!(ClaimsPathPointer::from_claim_path(&ClaimPath::root()), None);
        assert_eq!(
            pointer(json!(["a", null, 0])).to_string(),
            r#"["a",null,0]"#
        );
    }
}
