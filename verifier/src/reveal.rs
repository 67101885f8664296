//! Replacing digests with disclosed claims: RFC 9901 §7.1, steps 3–5.
//!
//! Every rule there is enforced: a digest may appear only once in the whole
//! token; every disclosure must be referenced; an object-property disclosure may only
//! be referenced from `_sd`, an array-element disclosure only from `{"...": digest}`;
//! a disclosed name may not be `_sd` or `...` nor collide with a visible claim.
//! Undisclosed digests and decoys are dropped.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::error::VerifyError;
use crate::path::{ClaimPath, PathSegment};
use crate::sd_jwt::Disclosure;

/// The only `_sd_alg` this verifier supports (and the default when absent).
pub(crate) const SD_ALG: &str = "sha-256";

struct Revealer<'d> {
    by_digest: HashMap<&'d str, &'d Disclosure<'d>>,
    seen_digests: HashSet<String>,
    used: HashSet<&'d str>,
    max_depth: usize,
    /// The path being walked.
    here: Vec<PathSegment>,
    /// When set, the path each disclosure reveals, with the disclosure's digest.
    recorded: Option<Vec<(ClaimPath, &'d str)>>,
}

/// Revealed claims, and optionally where each disclosure sits in them.
pub(crate) struct Revealed<'d> {
    pub(crate) claims: Map<String, Value>,
    pub(crate) paths: Vec<(ClaimPath, &'d str)>,
}

/// Reveals the disclosed claims of an issuer-signed payload.
///
/// Returns the payload with `_sd`, `_sd_alg` and array placeholders resolved.
pub(crate) fn reveal(
    payload: Map<String, Value>,
    disclosures: &[Disclosure<'_>],
    max_depth: usize,
) -> Result<Map<String, Value>, VerifyError> {
    reveal_recording(payload, disclosures, max_depth, false).map(|revealed| revealed.claims)
}

/// Like [`reveal`], and when `record_paths` also returns the claim path of each
/// disclosure (positions in arrays count the elements revealed before it).
pub(crate) fn reveal_recording<'d>(
    mut payload: Map<String, Value>,
    disclosures: &'d [Disclosure<'d>],
    max_depth: usize,
    record_paths: bool,
) -> Result<Revealed<'d>, VerifyError> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == SD_ALG => {}
        Some(_) => {
            return Err(VerifyError::disclosure(
                "unsupported _sd_alg (only sha-256)",
            ))
        }
    }
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for disclosure in disclosures {
        if by_digest
            .insert(disclosure.digest.as_str(), disclosure)
            .is_some()
        {
            return Err(VerifyError::disclosure(
                "the same disclosure is presented twice",
            ));
        }
    }
    let mut revealer = Revealer {
        by_digest,
        seen_digests: HashSet::new(),
        used: HashSet::with_capacity(disclosures.len()),
        max_depth,
        here: Vec::new(),
        recorded: record_paths.then(Vec::new),
    };
    let claims = revealer.object(payload, 1)?;
    if revealer.used.len() != disclosures.len() {
        return Err(VerifyError::disclosure(
            "a disclosure is not referenced by any digest",
        ));
    }
    Ok(Revealed {
        claims,
        paths: revealer.recorded.unwrap_or_default(),
    })
}

impl<'d> Revealer<'d> {
    fn value(&mut self, value: Value, depth: usize) -> Result<Value, VerifyError> {
        match value {
            Value::Object(map) => self.object(map, depth + 1).map(Value::Object),
            Value::Array(items) => self.array(items, depth + 1).map(Value::Array),
            scalar => Ok(scalar),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), VerifyError> {
        // Disclosures nest inside one another, so the revealed tree can be deeper than
        // any single JSON document; it gets the same bound.
        if depth > self.max_depth {
            return Err(VerifyError::LimitExceeded(format!(
                "revealed claims nest deeper than {}",
                self.max_depth
            )));
        }
        Ok(())
    }

    /// Marks a digest as seen and returns its disclosure, if one was presented.
    fn lookup(&mut self, digest: &str) -> Result<Option<&'d Disclosure<'d>>, VerifyError> {
        if !self.seen_digests.insert(digest.to_owned()) {
            return Err(VerifyError::disclosure("a digest appears more than once"));
        }
        let found = self.by_digest.get(digest).copied();
        if let Some(disclosure) = found {
            self.used.insert(disclosure.digest.as_str());
        }
        Ok(found)
    }

    fn object(
        &mut self,
        mut map: Map<String, Value>,
        depth: usize,
    ) -> Result<Map<String, Value>, VerifyError> {
        self.check_depth(depth)?;
        let digests = map.remove("_sd");
        if map.contains_key("...") {
            return Err(VerifyError::disclosure(
                "'...' used outside an array element",
            ));
        }
        let mut out = Map::with_capacity(map.len());
        for (name, value) in map {
            self.here.push(PathSegment::Key(name.clone()));
            let value = self.value(value, depth);
            self.here.pop();
            out.insert(name, value?);
        }
        let Some(digests) = digests else {
            return Ok(out);
        };
        let Value::Array(digests) = digests else {
            return Err(VerifyError::disclosure("_sd is not an array"));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(VerifyError::disclosure(
                    "_sd holds a value that is not a string",
                ));
            };
            let Some(disclosure) = self.lookup(&digest)? else {
                continue;
            };
            let Some(name) = disclosure.name.as_deref() else {
                return Err(VerifyError::disclosure(
                    "an array-element disclosure is referenced from _sd",
                ));
            };
            if name == "_sd" || name == "..." {
                return Err(VerifyError::disclosure(
                    "a disclosure names the claim _sd or '...'",
                ));
            }
            if out.contains_key(name) {
                return Err(VerifyError::disclosure(
                    "a disclosed claim name already exists",
                ));
            }
            self.here.push(PathSegment::Key(name.to_owned()));
            self.record(disclosure);
            let value = self.value(disclosure.value.clone(), depth);
            self.here.pop();
            out.insert(name.to_owned(), value?);
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>, depth: usize) -> Result<Vec<Value>, VerifyError> {
        self.check_depth(depth)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let placeholder = match &item {
                Value::Object(map) if map.contains_key("...") => {
                    if map.len() != 1 {
                        return Err(VerifyError::disclosure(
                            "an array placeholder has members other than '...'",
                        ));
                    }
                    match map.get("...") {
                        Some(Value::String(digest)) => Some(digest.clone()),
                        _ => return Err(VerifyError::disclosure("'...' is not a digest string")),
                    }
                }
                _ => None,
            };
            self.here.push(PathSegment::Index(out.len()));
            let revealed = self.array_item(item, placeholder, depth);
            self.here.pop();
            if let Some(value) = revealed? {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// Resolves one array element: a plain value, or a placeholder whose disclosure
    /// may be absent (then `None`).
    fn array_item(
        &mut self,
        item: Value,
        placeholder: Option<String>,
        depth: usize,
    ) -> Result<Option<Value>, VerifyError> {
        match placeholder {
            None => Ok(Some(self.value(item, depth)?)),
            Some(digest) => {
                let Some(disclosure) = self.lookup(&digest)? else {
                    return Ok(None);
                };
                if disclosure.name.is_some() {
                    return Err(VerifyError::disclosure(
                        "an object-property disclosure is referenced from an array",
                    ));
                }
                self.record(disclosure);
                Ok(Some(self.value(disclosure.value.clone(), depth)?))
            }
        }
    }

    fn record(&mut self, disclosure: &'d Disclosure<'d>) {
        if let Some(recorded) = &mut self.recorded {
            recorded.push((
                ClaimPath::from_segments(self.here.clone()),
                disclosure.digest.as_str(),
            ));
        }
    }
}
