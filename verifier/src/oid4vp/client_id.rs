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

use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::error::RequestError;
use crate::alg::Algorithm;
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::{truncate, VerifyError};
use crate::key::PublicKey;
use crate::x509::X509Anchor;

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

    /// Checks the `response_uri` against the identifier (§5.9.3): for `redirect_uri`
    /// it is the value itself; for `x509_san_dns` its host is the value (this Wallet
    /// keeps no list of trusted client identifiers that would lift the rule).
    pub(crate) fn check_response_uri(&self, raw: &str, parsed: &Url) -> Result<(), RequestError> {
        match self.prefix {
            ClientIdPrefix::RedirectUri if raw != self.value() => {
                Err(RequestError::ResponseUriMismatch(
                    "a redirect_uri client identifier must be the response_uri".into(),
                ))
            }
            ClientIdPrefix::X509SanDns
                if !parsed
                    .host_str()
                    .is_some_and(|host| host.eq_ignore_ascii_case(self.value())) =>
            {
                Err(RequestError::ResponseUriMismatch(format!(
                    "its host is not {}",
                    self.value()
                )))
            }
            _ => Ok(()),
        }
    }

    /// The key that must have signed a request of this client, from the JWS header
    /// (`kid` for `decentralized_identifier`, `x5c` for the x509 prefixes). `haip`
    /// adds HAIP 1.0 §5: no trust anchor inside `x5c`, no self-issued leaf.
    pub(crate) fn signing_key(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        x5c: Option<&Value>,
        anchors: &[X509Anchor],
        now: u64,
        haip: bool,
    ) -> Result<PublicKey, RequestError> {
        let key = match self.prefix {
            ClientIdPrefix::RedirectUri => return Err(RequestError::SignedWhenUnsignedRequired),
            ClientIdPrefix::DecentralizedIdentifier => self.did_key(kid)?,
            ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash => {
                let x5c = x5c.ok_or(RequestError::MissingParameter("x5c header"))?;
                if anchors.is_empty() {
                    return Err(RequestError::UntrustedChain(
                        "no X.509 trust anchor is configured".into(),
                    ));
                }
                let chain =
                    crate::x509::verify_x5c_chain(x5c, anchors, now).map_err(chain_error)?;
                if haip && chain.leaf_self_issued {
                    return Err(RequestError::NotHaip(
                        "the certificate signing the request is self-signed (HAIP 1.0 §5)".into(),
                    ));
                }
                if haip && chain.anchor_included {
                    return Err(RequestError::NotHaip(
                        "the trust anchor's certificate is inside x5c (HAIP 1.0 §5)".into(),
                    ));
                }
                if self.prefix == ClientIdPrefix::X509SanDns {
                    if !chain
                        .leaf_dns_names
                        .iter()
                        .any(|name| name.eq_ignore_ascii_case(self.value()))
                    {
                        return Err(RequestError::SanMismatch(self.value().to_owned()));
                    }
                } else if ClientId::x509_hash(&chain.leaf_der).full != self.full {
                    return Err(RequestError::HashMismatch);
                }
                chain.key
            }
        };
        if key.algorithm() != alg {
            return Err(RequestError::KeyMismatch(format!(
                "alg {alg} does not fit the {} key",
                key.algorithm()
            )));
        }
        Ok(key)
    }

    /// The did:key named by the `kid` DID URL, which must be a URL of this DID.
    fn did_key(&self, kid: Option<&str>) -> Result<PublicKey, RequestError> {
        let did = self.value();
        if !did.starts_with("did:key:") {
            return Err(RequestError::UnsupportedDidMethod(truncate(did)));
        }
        let kid = kid.ok_or_else(|| {
            RequestError::KeyMismatch("the header has no kid naming the DID's key".into())
        })?;
        let named = kid
            .split_once('#')
            .filter(|_| crate::did_key::did_from_key_id(kid).is_ok())
            .map(|(named, _)| named);
        if named != Some(did) {
            return Err(RequestError::KeyMismatch(format!(
                "kid {:?} is not a DID URL of {}",
                truncate(kid),
                truncate(did)
            )));
        }
        crate::did_key::decode(did)
            .map_err(|error| RequestError::InvalidClientId(format!("{}: {error}", truncate(did))))
    }
}

/// An x5c refusal as a request error: malformed input stays malformed, the rest
/// means the chain is not trusted.
fn chain_error(error: VerifyError) -> RequestError {
    use crate::timefmt::rfc3339;
    RequestError::UntrustedChain(match error {
        VerifyError::Malformed(reason) => return RequestError::Malformed(reason),
        VerifyError::LimitExceeded(reason) => return RequestError::LimitExceeded(reason),
        VerifyError::Expired { expired_at } => {
            format!("a certificate expired at {}", rfc3339(expired_at))
        }
        VerifyError::NotYetValid { valid_from } => {
            format!("a certificate is not valid before {}", rfc3339(valid_from))
        }
        VerifyError::InvalidSignature(_) => "a certificate's signature does not verify".into(),
        VerifyError::UntrustedIssuer(reason) => reason
            .strip_prefix("x5c: ")
            .map_or_else(|| reason.clone(), str::to_owned),
        other => other.to_string(),
    })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn section_5_9_prefixes_are_read_and_others_refused() {
        let cases = [
            (
                "decentralized_identifier:did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
                ClientIdPrefix::DecentralizedIdentifier,
                "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            ),
            (
                "x509_san_dns:client.example.org",
                ClientIdPrefix::X509SanDns,
                "client.example.org",
            ),
            (
                "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
                ClientIdPrefix::X509Hash,
                "Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            ),
            (
                "redirect_uri:https://client.example.org/cb",
                ClientIdPrefix::RedirectUri,
                "https://client.example.org/cb",
            ),
        ];
        for (text, prefix, value) in cases {
            let id = ClientId::parse(text).unwrap();
            assert_eq!(
                (id.prefix(), id.value(), id.as_str()),
                (prefix, value, text)
            );
            assert_eq!(id.to_string(), text);
        }
        for unknown in [
            "verifier_attestation:verifier.example",
            "openid_federation:https://federation-verifier.example.com",
            "origin:https://verifier.example.com",
            "https://client.example.org/cb",
            ":x",
        ] {
            assert!(
                matches!(
                    ClientId::parse(unknown),
                    Err(RequestError::UnknownPrefix(_))
                ),
                "{unknown}"
            );
        }
        assert_eq!(
            ClientId::parse("example-client"),
            Err(RequestError::PreRegisteredClient)
        );
        for invalid in [
            "x509_san_dns:client.example.org/path",
            "x509_san_dns:-bad.example",
            "x509_san_dns:",
            "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZsz",
            "x509_hash:not base64",
            "decentralized_identifier:did:key",
            "decentralized_identifier:example:123",
            "redirect_uri:/relative",
        ] {
            assert!(
                matches!(
                    ClientId::parse(invalid),
                    Err(RequestError::InvalidClientId(_))
                ),
                "{invalid}"
            );
        }
        assert!(matches!(
            ClientId::parse(&format!("x509_san_dns:{}", "a".repeat(MAX_CLIENT_ID_LEN))),
            Err(RequestError::LimitExceeded(_))
        ));
    }

    #[test]
    fn response_uri_rules_of_san_dns_and_redirect_uri() {
        let check = |id: &str, uri: &str| {
            ClientId::parse(id)
                .unwrap()
                .check_response_uri(uri, &Url::parse(uri).unwrap())
        };
        assert!(check(
            "x509_san_dns:client.example.org",
            "https://client.example.org/post"
        )
        .is_ok());
        assert!(check(
            "x509_san_dns:client.example.org",
            "https://CLIENT.example.org/post"
        )
        .is_ok());
        assert!(check(
            "x509_san_dns:client.example.org",
            "https://evil.example/post"
        )
        .is_err());
        assert!(check(
            "x509_san_dns:client.example.org",
            "https://client.example.org.evil.example/post"
        )
        .is_err());
        assert!(check(
            "redirect_uri:https://client.example.org/post",
            "https://client.example.org/post"
        )
        .is_ok());
        assert!(check(
            "redirect_uri:https://client.example.org/post",
            "https://client.example.org/other"
        )
        .is_err());
        assert!(check(
            "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            "https://any.example/"
        )
        .is_ok());
    }
}
