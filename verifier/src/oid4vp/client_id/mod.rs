//! Client Identifier Prefixes (OpenID4VP 1.0 §5.9): `<prefix>:<value>`, the prefix
//! being the text before the first `:`, and the rules each prefix sets for the key
//! that signs the request (§5.9.3).
//!
//! | prefix | value | request | key |
//! |---|---|---|---|
//! | `decentralized_identifier` | a DID | signed | the DID's, named by the JWS `kid` (a DID URL of that DID); did:key only, resolved offline |
//! | `x509_san_dns` | a DNS name, a dNSName SAN of the leaf; the `response_uri` host | signed | the leaf of `x5c`, chained to a trust anchor |
//! | `x509_hash` | base64url SHA-256 of the DER leaf certificate | signed | the leaf of `x5c`, chained to a trust anchor |
//! | `redirect_uri` | the `response_uri` itself | unsigned | none |
//!
//! Anything else is refused: other prefixes ([`RequestError::UnknownPrefix`]) and
//! identifiers without a prefix, which name pre-registered clients
//! ([`RequestError::PreRegisteredClient`], §5.9.2).

mod keys;
#[cfg(test)]
mod tests;

use sha2::{Digest, Sha256};
use url::Url;

use super::error::RequestError;
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::truncate;

/// Longest client identifier read.
pub const MAX_CLIENT_ID_LEN: usize = 2048;

/// A supported Client Identifier Prefix (§5.9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientIdPrefix {
    /// `decentralized_identifier:` — a DID; the request is signed by one of its keys.
    DecentralizedIdentifier,
    /// `x509_san_dns:` — a DNS name in the signing certificate's SAN.
    X509SanDns,
    /// `x509_hash:` — the hash of the signing certificate (HAIP 1.0 §5 requires it
    /// for signed requests).
    X509Hash,
    /// `redirect_uri:` — the Response URI; the request is unsigned.
    RedirectUri,
}

impl ClientIdPrefix {
    /// The prefix as written before the `:`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientIdPrefix::DecentralizedIdentifier => "decentralized_identifier",
            ClientIdPrefix::X509SanDns => "x509_san_dns",
            ClientIdPrefix::X509Hash => "x509_hash",
            ClientIdPrefix::RedirectUri => "redirect_uri",
        }
    }

    /// True for the prefixes whose requests must be signed (every one but
    /// `redirect_uri`).
    pub fn requires_signature(self) -> bool {
        self != ClientIdPrefix::RedirectUri
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            ClientIdPrefix::DecentralizedIdentifier,
            ClientIdPrefix::X509SanDns,
            ClientIdPrefix::X509Hash,
            ClientIdPrefix::RedirectUri,
        ]
        .into_iter()
        .find(|prefix| prefix.as_str() == name)
    }
}

impl std::fmt::Display for ClientIdPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client identifier with a supported prefix, its value checked for the form the
/// prefix requires. The full string (prefix included) is what the KB-JWT's `aud`
/// carries (§14.1, Appendix B.3.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId {
    full: String,
    prefix: ClientIdPrefix,
}

impl ClientId {
    /// Reads `<prefix>:<value>`.
    ///
    /// # Errors
    /// [`RequestError::PreRegisteredClient`] without a `:`,
    /// [`RequestError::UnknownPrefix`] for another prefix, and
    /// [`RequestError::InvalidClientId`] for a value that does not fit its prefix.
    pub fn parse(client_id: &str) -> Result<Self, RequestError> {
        if client_id.len() > MAX_CLIENT_ID_LEN {
            return Err(RequestError::LimitExceeded(format!(
                "client_id is longer than {MAX_CLIENT_ID_LEN} bytes"
            )));
        }
        let Some((name, value)) = client_id.split_once(':') else {
            return Err(RequestError::PreRegisteredClient);
        };
        let prefix = ClientIdPrefix::from_name(name)
            .ok_or_else(|| RequestError::UnknownPrefix(truncate(name)))?;
        let invalid = |reason: &str| RequestError::InvalidClientId(format!("{prefix}: {reason}"));
        match prefix {
            ClientIdPrefix::DecentralizedIdentifier => {
                if !is_did(value) {
                    return Err(invalid("the value is not a DID (did:<method>:<id>)"));
                }
            }
            ClientIdPrefix::X509SanDns => {
                if !is_dns_name(value) {
                    return Err(invalid("the value is not a DNS name"));
                }
            }
            ClientIdPrefix::X509Hash => {
                let hash = b64url_decode(value, "x509_hash").ok();
                if hash.is_none_or(|hash| hash.len() != 32) {
                    return Err(invalid(
                        "the value is not a base64url SHA-256 hash (32 bytes)",
                    ));
                }
            }
            ClientIdPrefix::RedirectUri => {
                if Url::parse(value).is_err() {
                    return Err(invalid("the value is not an absolute URI"));
                }
            }
        }
        Ok(ClientId {
            full: client_id.to_owned(),
            prefix,
        })
    }

    /// The `x509_hash` client identifier of a leaf certificate (DER).
    pub fn x509_hash(leaf_der: &[u8]) -> Self {
        ClientId {
            full: format!("x509_hash:{}", b64url_encode(&Sha256::digest(leaf_der))),
            prefix: ClientIdPrefix::X509Hash,
        }
    }

    /// The whole identifier, prefix included.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The prefix.
    pub fn prefix(&self) -> ClientIdPrefix {
        self.prefix
    }

    /// The value after the prefix.
    pub fn value(&self) -> &str {
        &self.full[self.prefix.as_str().len() + 1..]
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full)
    }
}

impl std::str::FromStr for ClientId {
    type Err = RequestError;

    fn from_str(client_id: &str) -> Result<Self, Self::Err> {
        ClientId::parse(client_id)
    }
}

impl serde::Serialize for ClientId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.full)
    }
}

/// `did:<method>:<method-specific-id>` (DID Core §3.1), method in lowercase letters
/// and digits.
fn is_did(value: &str) -> bool {
    let mut parts = value.splitn(3, ':');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("did"), Some(method), Some(id))
            if !method.is_empty()
                && method.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && !id.is_empty()
    )
}

/// A DNS name (RFC 1035 §2.3.1, letters-digits-hyphens labels of 1–63 octets, at
/// most 253 in all).
fn is_dns_name(value: &str) -> bool {
    value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
