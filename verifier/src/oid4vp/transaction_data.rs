//! Transaction data (OpenID4VP 1.0 §5.1 `transaction_data`, §8.4) and the SD-JWT VC
//! profile of its acknowledgement (Appendix B.3.3.1): the KB-JWT carries
//! `transaction_data_hashes`, the base64url SHA-256 of each `transaction_data` string
//! exactly as received (no decoding before hashing), and optionally
//! `transaction_data_hashes_alg`.
//!
//! Only `sha-256` is supported, the algorithm B.3.3.1 makes mandatory to implement.

use serde_json::{Map, Value};

use super::error::RequestError;
use crate::encoding::{b64url_decode, b64url_encode, parse_json};
use crate::error::{truncate, VerifyError};
use crate::sd_jwt::sha256_b64;

/// The only hash algorithm of `transaction_data_hashes` (B.3.3.1: the default, and
/// mandatory to implement).
pub const SHA_256: &str = "sha-256";
/// Most `transaction_data` entries one request may carry.
pub const MAX_TRANSACTION_DATA: usize = 16;
/// Longest `transaction_data` string, in bytes (base64url).
pub const MAX_TRANSACTION_DATA_BYTES: usize = 8 * 1024;
/// Deepest nesting of a decoded `transaction_data` object.
const MAX_DEPTH: usize = 8;

/// One `transaction_data` entry, checked against §5.1: a base64url-encoded JSON
/// object with a `type` and a non-empty `credential_ids`. The string is kept as
/// received: the KB-JWT's hash is over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionData {
    encoded: String,
    transaction_type: String,
    credential_ids: Vec<String>,
    hashes_alg: Option<Vec<String>>,
    object: Map<String, Value>,
}

impl TransactionData {
    /// Reads one `transaction_data` string.
    ///
    /// # Errors
    /// [`RequestError::InvalidTransactionData`] when it is too long, not base64url
    /// JSON, has no string `type`, no non-empty array of string `credential_ids`, or
    /// a `transaction_data_hashes_alg` that is not a non-empty array of strings.
    pub fn parse(encoded: &str) -> Result<Self, RequestError> {
        let invalid = |reason: &str| RequestError::InvalidTransactionData(reason.to_owned());
        if encoded.len() > MAX_TRANSACTION_DATA_BYTES {
            return Err(invalid(&format!(
                "an entry is longer than {MAX_TRANSACTION_DATA_BYTES} bytes"
            )));
        }
        let bytes =
            b64url_decode(encoded, "transaction_data").map_err(|_| invalid("not base64url"))?;
        let object = match parse_json(&bytes, MAX_DEPTH, "transaction_data") {
            Ok(Value::Object(object)) => object,
            _ => return Err(invalid("an entry is not a JSON object")),
        };
        let transaction_type = match object.get("type") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => return Err(invalid("an entry has no string type (§5.1)")),
        };
        let credential_ids = non_empty_strings(object.get("credential_ids"))
            .ok_or_else(|| invalid("credential_ids must be a non-empty array of strings (§5.1)"))?;
        let hashes_alg = match object.get("transaction_data_hashes_alg") {
            None => None,
            value => Some(non_empty_strings(value).ok_or_else(|| {
                invalid(
                    "transaction_data_hashes_alg must be a non-empty array of strings (B.3.3.1)",
                )
            })?),
        };
        Ok(TransactionData {
            encoded: encoded.to_owned(),
            transaction_type,
            credential_ids,
            hashes_alg,
            object,
        })
    }

    /// Encodes `object` (with `type` and `credential_ids`) as a `transaction_data`
    /// string, as a Verifier builds its request.
    ///
    /// # Errors
    /// As [`parse`](Self::parse), for an object that breaks §5.1.
    pub fn encode(object: &Map<String, Value>) -> Result<Self, RequestError> {
        Self::parse(&b64url_encode(
            Value::Object(object.clone()).to_string().as_bytes(),
        ))
    }

    /// The string as received: what is hashed and sent.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The `type`.
    pub fn transaction_type(&self) -> &str {
        &self.transaction_type
    }

    /// The `credential_ids`: the DCQL Credential Query ids that may authorize it.
    pub fn credential_ids(&self) -> &[String] {
        &self.credential_ids
    }

    /// The `transaction_data_hashes_alg`, if the entry names any.
    pub fn hashes_alg(&self) -> Option<&[String]> {
        self.hashes_alg.as_deref()
    }

    /// The decoded object, with its type-specific members (for the consent screen).
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The entry's `transaction_data_hashes` element: base64url SHA-256 of the
    /// string as received (B.3.3.1).
    pub fn hash(&self) -> String {
        sha256_b64(&self.encoded)
    }

    /// True when the entry lets the KB-JWT use `sha-256` (it names no algorithm, or
    /// names `sha-256` among them).
    pub fn allows_sha256(&self) -> bool {
        self.hashes_alg
            .as_ref()
            .is_none_or(|algs| algs.iter().any(|alg| alg == SHA_256))
    }
}

fn non_empty_strings(value: Option<&Value>) -> Option<Vec<String>> {
    let items = value?.as_array().filter(|items| !items.is_empty())?;
    items
        .iter()
        .map(|item| item.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
        .collect()
}

fn mismatch(reason: impl Into<String>) -> VerifyError {
    VerifyError::TransactionDataMismatch(reason.into())
}

/// Checks a KB-JWT's `transaction_data_hashes` against the `expected`
/// `transaction_data` strings (B.3.3.1) and returns the hashes it carries.
///
/// Exactly the hashes of `expected`, in order; none when nothing was expected. The
/// algorithm, when named, must be `sha-256`, and must be named when an expected entry
/// lists `transaction_data_hashes_alg`.
pub(crate) fn check_key_binding_hashes(
    payload: &Map<String, Value>,
    expected: &[String],
) -> Result<Vec<String>, VerifyError> {
    let carried = match payload.get("transaction_data_hashes") {
        None => None,
        Some(value) => Some(non_empty_strings(Some(value)).ok_or_else(|| {
            VerifyError::malformed(
                "KB-JWT transaction_data_hashes must be a non-empty array of strings",
            )
        })?),
    };
    let alg = match payload.get("transaction_data_hashes_alg") {
        None => None,
        Some(Value::String(alg)) => Some(alg.as_str()),
        Some(_) => {
            return Err(VerifyError::malformed(
                "KB-JWT transaction_data_hashes_alg must be a string",
            ))
        }
    };
    let Some(carried) = carried else {
        if !expected.is_empty() {
            return Err(mismatch(
                "the KB-JWT carries no transaction_data_hashes, but the request sent transaction data",
            ));
        }
        if alg.is_some() {
            return Err(mismatch(
                "the KB-JWT names transaction_data_hashes_alg without transaction_data_hashes",
            ));
        }
        return Ok(Vec::new());
    };
    if expected.is_empty() {
        return Err(mismatch(
            "the KB-JWT carries transaction_data_hashes, but the request sent no transaction data",
        ));
    }
    let entries = expected
        .iter()
        .map(|encoded| TransactionData::parse(encoded))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            VerifyError::malformed(format!("the expected transaction data: {error}"))
        })?;
    match alg {
        Some(SHA_256) => {}
        Some(other) => {
            return Err(mismatch(format!(
                "transaction_data_hashes_alg {:?} is not supported (sha-256 only)",
                truncate(other)
            )))
        }
        None if entries.iter().any(|entry| entry.hashes_alg().is_some()) => {
            return Err(mismatch(
                "the KB-JWT must name transaction_data_hashes_alg: the transaction data lists hash algorithms (B.3.3.1)",
            ))
        }
        None => {}
    }
    if let Some(index) = entries.iter().position(|entry| !entry.allows_sha256()) {
        return Err(mismatch(format!(
            "transaction data {index} does not allow sha-256"
        )));
    }
    if carried.len() != entries.len() {
        return Err(mismatch(format!(
            "the KB-JWT carries {} transaction_data_hashes for {} transaction data",
            carried.len(),
            entries.len()
        )));
    }
    if let Some(index) = carried
        .iter()
        .zip(&entries)
        .position(|(hash, entry)| *hash != entry.hash())
    {
        return Err(mismatch(format!(
            "transaction_data_hashes[{index}] is not the hash of transaction data {index}"
        )));
    }
    Ok(carried)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn entry(value: Value) -> String {
        b64url_encode(value.to_string().as_bytes())
    }

    #[test]
    fn section_5_1_entries_need_a_type_and_credential_ids() {
        let good = entry(json!({"type": "payment", "credential_ids": ["card"], "amount": "10"}));
        let parsed = TransactionData::parse(&good).unwrap();
        assert_eq!(parsed.transaction_type(), "payment");
        assert_eq!(parsed.credential_ids(), ["card"]);
        assert_eq!(parsed.encoded(), good);
        assert_eq!(parsed.hash(), sha256_b64(&good));
        assert!(parsed.allows_sha256());
        for bad in [
            json!({"credential_ids": ["card"]}),
            json!({"type": "", "credential_ids": ["card"]}),
            json!({"type": "payment"}),
            json!({"type": "payment", "credential_ids": []}),
            json!({"type": "payment", "credential_ids": [""]}),
            json!({"type": "payment", "credential_ids": "card"}),
            json!({"type": "payment", "credential_ids": ["card"], "transaction_data_hashes_alg": []}),
            json!(["payment"]),
        ] {
            assert!(
                matches!(
                    TransactionData::parse(&entry(bad.clone())),
                    Err(RequestError::InvalidTransactionData(_))
                ),
                "{bad}"
            );
        }
        assert!(TransactionData::parse("not base64url!").is_err());
        assert!(TransactionData::parse(&"A".repeat(MAX_TRANSACTION_DATA_BYTES + 1)).is_err());
        let only_sha512 = entry(
            json!({"type": "t", "credential_ids": ["c"], "transaction_data_hashes_alg": ["sha-512"]}),
        );
        assert!(!TransactionData::parse(&only_sha512)
            .unwrap()
            .allows_sha256());
    }
}
