//! Splitting an SD-JWT (RFC 9901 §4) into its issuer-signed JWT, disclosures and
//! optional key-binding JWT.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::encoding::{b64url_decode, b64url_encode, parse_json};
use crate::error::VerifyError;
use crate::limits::Limits;

/// One disclosure, decoded but not yet matched to a digest.
#[derive(Debug, Clone)]
pub(crate) struct Disclosure<'a> {
    /// The base64url string as presented; its SHA-256 is the digest.
    pub(crate) encoded: &'a str,
    pub(crate) digest: String,
    /// The claim name: `Some` for an object property, `None` for an array element.
    pub(crate) name: Option<String>,
    pub(crate) value: Value,
}

/// The parts of a compact SD-JWT, unverified.
#[derive(Debug, Clone)]
pub(crate) struct SdJwtParts<'a> {
    pub(crate) issuer_jwt: &'a str,
    pub(crate) disclosures: Vec<Disclosure<'a>>,
    /// The KB-JWT, when the presentation ends with one instead of `~`.
    pub(crate) kb_jwt: Option<&'a str>,
    /// Everything before the KB-JWT (ending in `~`): the input of `sd_hash`.
    pub(crate) without_kb: &'a str,
}

/// The base64url SHA-256 digest of an ASCII string, as `_sd_alg: sha-256` defines it.
pub fn sha256_b64(input: &str) -> String {
    b64url_encode(&Sha256::digest(input.as_bytes()))
}

impl<'a> SdJwtParts<'a> {
    /// Splits `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]`, enforcing the size and count limits first.
    pub(crate) fn parse(input: &'a str, limits: &Limits) -> Result<Self, VerifyError> {
        if input.len() > limits.max_presentation_bytes {
            return Err(VerifyError::LimitExceeded(format!(
                "presentation is larger than {} bytes",
                limits.max_presentation_bytes
            )));
        }
        let separators = input.bytes().filter(|&b| b == b'~').count();
        if separators == 0 {
            return Err(VerifyError::malformed("not an SD-JWT: no '~' separator"));
        }
        if separators - 1 > limits.max_disclosures {
            return Err(VerifyError::LimitExceeded(format!(
                "more than {} disclosures",
                limits.max_disclosures
            )));
        }
        let last_tilde = input.rfind('~').unwrap_or_default();
        let without_kb = &input[..=last_tilde];
        let kb_jwt = Some(&input[last_tilde + 1..]).filter(|kb| !kb.is_empty());
        let mut segments = without_kb[..last_tilde].split('~');
        let issuer_jwt = segments.next().unwrap_or_default();
        if issuer_jwt.is_empty() {
            return Err(VerifyError::malformed("empty issuer-signed JWT"));
        }
        let disclosures = segments
            .map(|segment| Disclosure::parse(segment, limits.max_json_depth))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SdJwtParts {
            issuer_jwt,
            disclosures,
            kb_jwt,
            without_kb,
        })
    }
}

impl<'a> Disclosure<'a> {
    fn parse(encoded: &'a str, max_depth: usize) -> Result<Self, VerifyError> {
        if encoded.is_empty() {
            return Err(VerifyError::malformed("empty disclosure ('~~')"));
        }
        let bytes = b64url_decode(encoded, "disclosure")?;
        let Value::Array(mut items) = parse_json(&bytes, max_depth, "disclosure")? else {
            return Err(VerifyError::malformed("disclosure is not a JSON array"));
        };
        let (salt, name, value) = match items.len() {
            2 => {
                let value = items.pop().unwrap_or_default();
                (items.pop().unwrap_or_default(), None, value)
            }
            3 => {
                let value = items.pop().unwrap_or_default();
                let name = match items.pop() {
                    Some(Value::String(name)) => name,
                    _ => {
                        return Err(VerifyError::malformed(
                            "disclosure claim name is not a string",
                        ))
                    }
                };
                (items.pop().unwrap_or_default(), Some(name), value)
            }
            _ => {
                return Err(VerifyError::malformed(
                    "disclosure must have 2 or 3 elements",
                ))
            }
        };
        if !salt.is_string() {
            return Err(VerifyError::malformed("disclosure salt is not a string"));
        }
        Ok(Disclosure {
            encoded,
            digest: sha256_b64(encoded),
            name,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_credential_and_presentation_forms() {
        let limits = Limits::default();
        let d = b64url_encode(br#"["salt","name","value"]"#);
        let issued = format!("a.b.c~{d}~");
        let parts = SdJwtParts::parse(&issued, &limits).expect("issued form");
        assert_eq!(parts.issuer_jwt, "a.b.c");
        assert_eq!(parts.disclosures.len(), 1);
        assert!(parts.kb_jwt.is_none());

        let presented = format!("a.b.c~{d}~x.y.z");
        let parts = SdJwtParts::parse(&presented, &limits).expect("presented form");
        assert_eq!(parts.kb_jwt, Some("x.y.z"));
        assert_eq!(parts.without_kb, format!("a.b.c~{d}~"));
    }

    #[test]
    fn rfc9901_disclosure_digest_example() {
        // RFC 9901 §4.2.1 / §4.2.3: the disclosure of "family_name": "Möbius".
        let encoded = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
        assert_eq!(
            sha256_b64(encoded),
            "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
        );
        let disclosure = Disclosure::parse(encoded, 8).expect("valid disclosure");
        assert_eq!(disclosure.name.as_deref(), Some("family_name"));
        assert_eq!(disclosure.value, Value::from("Möbius"));
    }

    #[test]
    fn counts_and_sizes_are_limited_before_parsing() {
        let limits = Limits::default()
            .with_max_disclosures(2)
            .with_max_presentation_bytes(64);
        assert!(matches!(
            SdJwtParts::parse("a.b.c~x~y~z~", &limits),
            Err(VerifyError::LimitExceeded(_))
        ));
        assert!(matches!(
            SdJwtParts::parse(&"a~".repeat(40), &limits),
            Err(VerifyError::LimitExceeded(_))
        ));
    }
}

/// A parsed SD-JWT whose signatures have **not** been checked.
///
/// Wallets use it to read their own credentials (which disclosure reveals which
/// claim) after the [`Verifier`](crate::Verifier) accepted them; nothing read from it
/// is trustworthy on its own.
#[derive(Debug, Clone)]
pub struct UnverifiedSdJwt<'a> {
    parts: SdJwtParts<'a>,
    payload: serde_json::Map<String, Value>,
    max_depth: usize,
}

impl<'a> UnverifiedSdJwt<'a> {
    /// Parses an SD-JWT (with or without KB-JWT) under `limits`.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] or [`VerifyError::LimitExceeded`].
    pub fn parse(input: &'a str, limits: &Limits) -> Result<Self, VerifyError> {
        let parts = SdJwtParts::parse(input, limits)?;
        let jws =
            crate::jws::CompactJws::parse(parts.issuer_jwt, limits.max_json_depth, "issuer JWT")?;
        Ok(UnverifiedSdJwt {
            parts,
            payload: jws.payload,
            max_depth: limits.max_json_depth,
        })
    }

    /// The issuer-signed JWT.
    pub fn issuer_jwt(&self) -> &'a str {
        self.parts.issuer_jwt
    }

    /// The disclosures as presented (base64url), in order.
    pub fn disclosures(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.parts
            .disclosures
            .iter()
            .map(|disclosure| disclosure.encoded)
    }

    /// True when the input ends with a KB-JWT.
    pub fn has_key_binding(&self) -> bool {
        self.parts.kb_jwt.is_some()
    }

    /// The issuer-signed payload, digests unresolved. Unverified.
    pub fn payload(&self) -> &serde_json::Map<String, Value> {
        &self.payload
    }

    /// Resolves every disclosure present (all RFC 9901 §7.1 rules apply) and returns
    /// the revealed claims with the claim path each disclosure reveals.
    ///
    /// # Errors
    /// [`VerifyError::InvalidDisclosure`] when the disclosures break a rule.
    pub fn disclosure_map(&self) -> Result<DisclosureMap, VerifyError> {
        let revealed = crate::reveal::reveal_recording(
            self.payload.clone(),
            &self.parts.disclosures,
            self.max_depth,
            true,
        )?;
        let position: std::collections::HashMap<&str, usize> = self
            .parts
            .disclosures
            .iter()
            .enumerate()
            .map(|(index, disclosure)| (disclosure.digest.as_str(), index))
            .collect();
        let paths = revealed
            .paths
            .into_iter()
            .filter_map(|(path, digest)| position.get(digest).map(|&index| (path, index)))
            .collect();
        Ok(DisclosureMap {
            claims: revealed.claims,
            paths,
        })
    }
}

/// Which claim each disclosure of an [`UnverifiedSdJwt`] reveals.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DisclosureMap {
    /// The payload with every present disclosure resolved (registered claims included).
    pub claims: serde_json::Map<String, Value>,
    /// For each disclosure, the claim path it reveals and its position among the
    /// disclosures. Array positions count elements of the fully revealed array.
    pub paths: Vec<(crate::path::ClaimPath, usize)>,
}
