//! The rules each prefix sets (§5.9.3): which key signs the request, and what the
//! `response_uri` must be.

use serde_json::Value;
use url::Url;

use super::{ClientId, ClientIdPrefix};
use crate::alg::Algorithm;
use crate::error::{truncate, VerifyError};
use crate::key::PublicKey;
use crate::oid4vp::error::RequestError;
use crate::x509::X509Anchor;

impl ClientId {
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
