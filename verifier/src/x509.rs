//! X.509 certificate chains in a JWS `x5c` header (RFC 7515 §4.1.6), checked offline
//! against trust anchors from the trust file (`{"x509_anchor": "<PEM>"}`), with the
//! RustCrypto `x509-cert` parser. What the AP2 SDK's `X5cOrKidPublicKeyProvider`
//! checks (each certificate signed by the next, the last by a trusted root), plus
//! what RFC 5280 path validation requires of a relying party that has no network:
//!
//! - at most [`MAX_X5C_CERTIFICATES`] certificates of at most [`MAX_CERTIFICATE_BYTES`];
//! - every certificate, and the anchor, valid at `now` (notBefore ≤ now ≤ notAfter);
//! - issuer name of each certificate = subject name of the next;
//! - each issuing certificate a CA (`basicConstraints cA`), with `keyCertSign` when
//!   it carries a key usage, and a path length constraint that the certificates
//!   below it respect;
//! - the leaf, when it carries a key usage, allowed `digitalSignature`;
//! - signatures ECDSA P-256 with SHA-256 or Ed25519 (others are refused);
//! - the chain ends at an anchor: its last certificate is an anchor, or is signed
//!   by one.
//!
//! No revocation (CRL/OCSP) is checked: that needs the network; say so in the docs.

use p256::ecdsa::signature::Verifier as _;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use crate::encoding::b64url_decode;
use crate::error::{KeyError, SignatureRole, VerifyError};
use crate::key::PublicKey;

/// Most certificates an `x5c` header may carry.
pub const MAX_X5C_CERTIFICATES: usize = 5;
/// Largest certificate read, in bytes (DER).
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const ED25519: &str = "1.3.101.112";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const PRIME256V1: &str = "1.2.840.10045.3.1.7";

/// A trust anchor: a CA certificate the operator trusts for `x5c` chains.
#[derive(Debug, Clone)]
pub struct X509Anchor {
    der: Vec<u8>,
    certificate: Certificate,
}

impl PartialEq for X509Anchor {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl X509Anchor {
    /// Reads an anchor from PEM (`-----BEGIN CERTIFICATE-----`).
    ///
    /// # Errors
    /// [`KeyError::InvalidTrustStore`] for anything that is not one certificate.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        use x509_cert::der::DecodePem;
        let certificate = Certificate::from_pem(pem.as_bytes()).map_err(|_| {
            KeyError::InvalidTrustStore("x509_anchor is not a PEM certificate".into())
        })?;
        let der = certificate
            .to_der()
            .map_err(|_| KeyError::InvalidTrustStore("x509_anchor cannot be re-encoded".into()))?;
        Ok(X509Anchor { der, certificate })
    }

    /// The anchor's subject, for messages and reports.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate.subject.to_string()
    }
}

fn untrusted(reason: &str) -> VerifyError {
    VerifyError::UntrustedIssuer(format!("x5c: {reason}"))
}

/// Checks an `x5c` chain against `anchors` at `now`; returns the leaf's key and a
/// name for the chain (the anchor's subject).
pub(crate) fn verify_x5c(
    x5c: &serde_json::Value,
    anchors: &[X509Anchor],
    now: u64,
) -> Result<(String, PublicKey), VerifyError> {
    verify_x5c_chain(x5c, anchors, now).map(|chain| (chain.anchor_name, chain.key))
}

/// What a validated `x5c` chain says about its leaf, for the OpenID4VP client
/// identifier rules (`x509_san_dns`, `x509_hash`, HAIP 1.0 §5).
#[derive(Debug, Clone)]
pub(crate) struct ValidatedChain {
    /// `x509:` and the anchor's subject.
    pub(crate) anchor_name: String,
    /// The leaf's public key.
    pub(crate) key: PublicKey,
    /// The leaf certificate as sent (DER): `x509_hash` is its SHA-256.
    pub(crate) leaf_der: Vec<u8>,
    /// The leaf's dNSName subject alternative names.
    pub(crate) leaf_dns_names: Vec<String>,
    /// True when the chain's last certificate is itself a trust anchor.
    pub(crate) anchor_included: bool,
    /// True when the leaf names itself as its issuer (self-issued).
    pub(crate) leaf_self_issued: bool,
}

/// [`verify_x5c`], returning what the chain says about its leaf.
pub(crate) fn verify_x5c_chain(
    x5c: &serde_json::Value,
    anchors: &[X509Anchor],
    now: u64,
) -> Result<ValidatedChain, VerifyError> {
    let entries = x5c
        .as_array()
        .filter(|entries| !entries.is_empty())
        .ok_or_else(|| VerifyError::malformed("x5c must be a non-empty array"))?;
    if entries.len() > MAX_X5C_CERTIFICATES {
        return Err(VerifyError::LimitExceeded(format!(
            "x5c holds more than {MAX_X5C_CERTIFICATES} certificates"
        )));
    }
    if anchors.is_empty() {
        return Err(untrusted("the trust file names no x509_anchor"));
    }
    let mut chain = Vec::with_capacity(entries.len());
    for entry in entries {
        let text = entry
            .as_str()
            .ok_or_else(|| VerifyError::malformed("x5c holds a non-string"))?;
        if text.len() > MAX_CERTIFICATE_BYTES * 4 / 3 + 4 {
            return Err(VerifyError::LimitExceeded(
                "an x5c certificate is too large".into(),
            ));
        }
        // RFC 7515 says base64 (not base64url); accept both, as the AP2 SDK does.
        let der = decode_base64_either(text)?;
        let certificate = Certificate::from_der(&der)
            .map_err(|_| VerifyError::malformed("an x5c entry is not a DER certificate"))?;
        chain.push((der, certificate));
    }
    for (_, certificate) in &chain {
        check_validity(certificate, now)?;
    }
    let (_, leaf) = &chain[0];
    if let Some(usage) = key_usage(leaf)? {
        if !usage.0.contains(KeyUsages::DigitalSignature) {
            return Err(untrusted("the leaf may not sign (keyUsage)"));
        }
    }
    for (position, pair) in chain.windows(2).enumerate() {
        let (subject, issuer) = (&pair[0].1, &pair[1].1);
        check_issuer(issuer, position)?;
        check_signed_by(subject, issuer)?;
    }
    let (last_der, last) = &chain[chain.len() - 1];
    let included = anchors.iter().find(|anchor| anchor.der == *last_der);
    let anchor = included
        .or_else(|| {
            anchors.iter().find(|anchor| {
                check_validity(&anchor.certificate, now).is_ok()
                    && check_issuer(&anchor.certificate, chain.len() - 1).is_ok()
                    && check_signed_by(last, &anchor.certificate).is_ok()
            })
        })
        .ok_or_else(|| untrusted("the chain does not end at a trusted anchor"))?;
    let key = leaf_key(leaf)?;
    Ok(ValidatedChain {
        anchor_name: format!("x509:{}", anchor.subject()),
        key,
        leaf_der: chain[0].0.clone(),
        leaf_dns_names: dns_names(leaf)?,
        anchor_included: included.is_some(),
        leaf_self_issued: leaf.tbs_certificate.issuer == leaf.tbs_certificate.subject,
    })
}

/// The dNSName entries of a certificate's subject alternative names (RFC 5280
/// §4.2.1.6).
fn dns_names(certificate: &Certificate) -> Result<Vec<String>, VerifyError> {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let names = certificate
        .tbs_certificate
        .get::<SubjectAltName>()
        .map_err(|_| VerifyError::malformed("a certificate's subjectAltName cannot be read"))?;
    Ok(names
        .map(|(_, SubjectAltName(names))| names)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.as_str().to_owned()),
            _ => None,
        })
        .collect())
}

fn decode_base64_either(text: &str) -> Result<Vec<u8>, VerifyError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use base64::Engine as _;
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| b64url_decode(text, "x5c certificate"))
        .map_err(|_| VerifyError::malformed("an x5c entry is not base64"))
}

fn check_validity(certificate: &Certificate, now: u64) -> Result<(), VerifyError> {
    let validity = &certificate.tbs_certificate.validity;
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    if now < not_before {
        return Err(VerifyError::NotYetValid {
            valid_from: not_before,
        });
    }
    if now > not_after {
        return Err(VerifyError::Expired {
            expired_at: not_after,
        });
    }
    Ok(())
}

fn key_usage(certificate: &Certificate) -> Result<Option<KeyUsage>, VerifyError> {
    certificate
        .tbs_certificate
        .get::<KeyUsage>()
        .map(|found| found.map(|(_, usage)| usage))
        .map_err(|_| VerifyError::malformed("a certificate's keyUsage cannot be read"))
}

/// `issuer` may issue certificates, with `below` certificates under it that are not
/// the leaf's own... counted as RFC 5280 §4.2.1.9 counts (intermediates below it).
fn check_issuer(issuer: &Certificate, below: usize) -> Result<(), VerifyError> {
    let constraints = issuer
        .tbs_certificate
        .get::<BasicConstraints>()
        .map_err(|_| VerifyError::malformed("a certificate's basicConstraints cannot be read"))?
        .map(|(_, constraints)| constraints);
    let Some(constraints) = constraints.filter(|constraints| constraints.ca) else {
        return Err(untrusted("a certificate that issues another is not a CA"));
    };
    if let Some(limit) = constraints.path_len_constraint {
        if below > usize::from(limit) {
            return Err(untrusted("a path length constraint is exceeded"));
        }
    }
    if let Some(usage) = key_usage(issuer)? {
        if !usage.0.contains(KeyUsages::KeyCertSign) {
            return Err(untrusted(
                "an issuing certificate may not sign certificates (keyUsage)",
            ));
        }
    }
    Ok(())
}

fn check_signed_by(subject: &Certificate, issuer: &Certificate) -> Result<(), VerifyError> {
    if subject.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(untrusted(
            "a certificate's issuer is not the next one's subject",
        ));
    }
    let tbs = subject
        .tbs_certificate
        .to_der()
        .map_err(|_| VerifyError::malformed("a certificate cannot be re-encoded"))?;
    let signature = subject
        .signature
        .as_bytes()
        .ok_or_else(|| VerifyError::malformed("a certificate signature has unused bits"))?;
    let key = leaf_key(issuer)?;
    let algorithm = subject.signature_algorithm.oid.to_string();
    let verified = match (algorithm.as_str(), &key) {
        (ECDSA_WITH_SHA256, PublicKey::P256(_)) => {
            let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.to_compressed_bytes())
                .map_err(|_| VerifyError::malformed("an issuer key cannot be read"))?;
            p256::ecdsa::DerSignature::from_bytes(signature)
                .ok()
                .is_some_and(|signature| verifying.verify(&tbs, &signature).is_ok())
        }
        (ED25519, PublicKey::Ed25519(_)) => {
            key.verify(crate::Algorithm::EdDSA, &tbs, signature).is_ok()
        }
        _ => {
            return Err(untrusted(
                "certificate signatures must be ECDSA P-256/SHA-256 or Ed25519",
            ))
        }
    };
    if verified {
        Ok(())
    } else {
        Err(VerifyError::InvalidSignature(SignatureRole::Issuer))
    }
}

/// The certificate's subject public key: P-256 or Ed25519.
fn leaf_key(certificate: &Certificate) -> Result<PublicKey, VerifyError> {
    let info = &certificate.tbs_certificate.subject_public_key_info;
    let bytes = info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| VerifyError::malformed("a certificate key has unused bits"))?;
    let algorithm = info.algorithm.oid.to_string();
    let parameter = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|any| {
            any.decode_as::<x509_cert::der::asn1::ObjectIdentifier>()
                .ok()
        })
        .map(|oid| oid.to_string());
    let key = match (algorithm.as_str(), parameter.as_deref()) {
        (EC_PUBLIC_KEY, Some(PRIME256V1)) => PublicKey::p256_from_sec1(bytes),
        (ED25519, _) => PublicKey::ed25519_from_bytes(bytes),
        _ => {
            return Err(untrusted("certificate keys must be P-256 or Ed25519"));
        }
    };
    key.map_err(|error| VerifyError::malformed(format!("a certificate key: {error}")))
}
