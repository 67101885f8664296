//! OpenID4VP 1.0 with the wallet's keys: signing a request object (a Verifier
//! service holding a [`SigningKey`]), on top of the pure protocol layer in
//! [`agentid_verifier::oid4vp`].

use agentid_verifier::oid4vp::request::signed_request_object;
use agentid_verifier::oid4vp::{AuthorizationRequest, ClientIdPrefix};
use agentid_verifier::Algorithm;

use crate::did::did_key_url;
use crate::error::WalletError;
use crate::keys::SigningKey;

/// Signs `request` as a request object (RFC 9101, OpenID4VP 1.0 §5) with `key`:
/// ES256 for a P-256 key (HAIP 1.0 §7), EdDSA for an Ed25519 key.
///
/// - `decentralized_identifier`: the client identifier must be the key's did:key;
///   the header's `kid` is its DID URL (§5.9.3).
/// - `x509_san_dns` / `x509_hash`: `x5c` is the certificate chain of `key` (leaf
///   first, base64 DER; without the trust anchor under HAIP 1.0 §5).
/// - `redirect_uri` requests are never signed: use
///   [`AuthorizationRequest::unsigned_request_object`] or
///   [`AuthorizationRequest::to_query`].
///
/// # Errors
/// [`WalletError::InvalidRequest`] for a secp256k1 key, a DID that is not the key's,
/// or an x509 prefix without `x5c`; [`WalletError::Oid4vp`] for a `redirect_uri`
/// client.
pub fn sign_request_object(
    request: &AuthorizationRequest,
    key: &SigningKey,
    x5c: Option<&[String]>,
) -> Result<String, WalletError> {
    let alg = key.algorithm();
    if !matches!(alg, Algorithm::ES256 | Algorithm::EdDSA) {
        return Err(WalletError::request(format!(
            "request objects are signed with ES256 or EdDSA, not {alg}"
        )));
    }
    let client_id = request.client_id();
    let kid = match client_id.prefix() {
        ClientIdPrefix::DecentralizedIdentifier => {
            if client_id.value() != key.did()? {
                return Err(WalletError::request(
                    "the client identifier is not this key's did:key",
                ));
            }
            Some(did_key_url(key.public_key())?)
        }
        ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash if x5c.is_none() => {
            return Err(WalletError::request(
                "an x509 client identifier needs the x5c chain of the signing key",
            ))
        }
        _ => None,
    };
    let input = request.signing_input(alg, kid.as_deref(), x5c)?;
    Ok(signed_request_object(&input, &key.sign(input.as_bytes())))
}
