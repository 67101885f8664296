//! Bounds on untrusted input, enforced before any expensive work.

/// Limits applied to every presentation before it is parsed or verified.
///
/// The defaults fit credentials far larger than any agentid issues, and keep the
/// worst case of a hostile input to a small, fixed multiple of a normal one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Maximum length of the whole presentation string, in bytes. Default 64 KiB.
    pub max_presentation_bytes: usize,
    /// Maximum number of disclosures. Default 256.
    pub max_disclosures: usize,
    /// Maximum nesting depth of any JSON value (header, payload, disclosure). Default 32.
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_presentation_bytes: 64 * 1024,
            max_disclosures: 256,
            max_json_depth: 32,
        }
    }
}

impl Limits {
    /// Returns the limits with `max_presentation_bytes` set.
    pub fn with_max_presentation_bytes(mut self, bytes: usize) -> Self {
        self.max_presentation_bytes = bytes;
        self
    }

    /// Returns the limits with `max_disclosures` set.
    pub fn with_max_disclosures(mut self, count: usize) -> Self {
        self.max_disclosures = count;
        self
    }

    /// Returns the limits with `max_json_depth` set.
    pub fn with_max_json_depth(mut self, depth: usize) -> Self {
        self.max_json_depth = depth;
        self
    }
}
