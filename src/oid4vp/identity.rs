//! The verifier's request-signing identity: how its client identifier is formed and
//! which key signs its request objects (OpenID4VP 1.0 §5.9).
//!
//! - `x509_san_dns:` / `x509_hash:`: a P-256 key (PKCS#8 PEM) and its certificate
//!   chain (PEM, leaf first, without the trust anchor), sent as `x5c`.
//! - `decentralized_identifier:`: the verifier wallet's root did:key (`kid` = its DID URL).
//! - `redirect_uri:`: no key; requests are passed by value, unsigned.

use std::path::Path;

use agentid_verifier::oid4vp::{AuthorizationRequest, RequestError};
use agentid_verifier::{b64url_encode, Algorithm};
use agentid_wallet::oid4vp::sign_request_object;
use agentid_wallet::SigningKey;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use crate::error::CliError;

/// Largest key or certificate-chain file read.
const MAX_PEM_FILE_BYTES: usize = 64 * 1024;
/// Most certificates in the chain sent as `x5c`.
const MAX_CHAIN_CERTIFICATES: usize = 5;

/// The client identifier prefixes this verifier can ask under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ClientIdPrefix {
    /// `x509_hash:` + base64url SHA-256 of the leaf certificate (HAIP's choice).
    #[value(name = "x509_hash")]
    X509Hash,
    /// `x509_san_dns:` + a DNS name in the leaf certificate's subjectAltName.
    #[value(name = "x509_san_dns")]
    X509SanDns,
    /// `decentralized_identifier:` + the verifier wallet's did:key.
    #[value(name = "decentralized_identifier")]
    DecentralizedIdentifier,
    /// `redirect_uri:` + the response URI; unsigned requests.
    #[value(name = "redirect_uri")]
    RedirectUri,
}

/// Who signs this verifier's request objects.
pub(crate) enum RequestSigner {
    /// A P-256 key with its certificate chain.
    X509 {
        /// The full client identifier, prefix included.
        client_id: String,
        /// The leaf certificate's key.
        key: SigningKey,
        /// DER certificates, leaf first.
        chain: Vec<Vec<u8>>,
        /// For `x509_san_dns:`: the DNS name every response URI must be on.
        dns_name: Option<String>,
    },
    /// A did:key.
    Did {
        /// The full client identifier, prefix included.
        client_id: String,
        /// The key.
        key: SigningKey,
    },
    /// No signature; the client identifier is `redirect_uri:` + each response URI.
    Unsigned,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        match self {
            RequestSigner::X509 { client_id, .. } | RequestSigner::Did { client_id, .. } => {
                write!(f, "RequestSigner({client_id})")
            }
            RequestSigner::Unsigned => f.write_str("RequestSigner(unsigned)"),
        }
    }
}

impl RequestSigner {
    /// An X.509 identity from a PKCS#8 PEM P-256 key and a PEM chain (leaf first).
    pub(crate) fn x509(
        prefix: ClientIdPrefix,
        key_file: &Path,
        chain_file: &Path,
    ) -> Result<Self, CliError> {
        let key = read_p256_key(key_file)?;
        let chain = read_chain(chain_file)?;
        let leaf_der = chain
            .first()
            .ok_or_else(|| CliError::usage(format!("{}: no certificate", chain_file.display())))?;
        let leaf = Certificate::from_der(leaf_der)
            .map_err(|e| CliError::usage(format!("{}: {e}", chain_file.display())))?;
        let leaf_key = leaf
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .as_bytes()
            .map(<[u8]>::to_vec);
        let own_key = match key.public_key() {
            agentid_verifier::PublicKey::P256(k) => {
                Some(k.to_encoded_point(false).as_bytes().to_vec())
            }
            _ => None,
        };
        if leaf_key.is_none() || leaf_key != own_key {
            return Err(CliError::usage(format!(
                "{}: the leaf certificate does not certify the key in {}",
                chain_file.display(),
                key_file.display()
            )));
        }
        let (client_id, dns_name) =
            match prefix {
                ClientIdPrefix::X509Hash => (
                    format!("x509_hash:{}", b64url_encode(&Sha256::digest(leaf_der))),
                    None,
                ),
                ClientIdPrefix::X509SanDns => {
                    let name = first_dns_name(&leaf).ok_or_else(|| {
                        CliError::usage(format!(
                            "{}: the leaf certificate has no DNS name in subjectAltName \
                         (x509_san_dns needs one)",
                            chain_file.display()
                        ))
                    })?;
                    (format!("x509_san_dns:{name}"), Some(name))
                }
                _ => return Err(CliError::usage(
                    "a key and certificate chain are for the x509_hash and x509_san_dns prefixes",
                )),
            };
        Ok(RequestSigner::X509 {
            client_id,
            key,
            chain,
            dns_name,
        })
    }

    /// A did:key identity from the verifier wallet's root key.
    pub(crate) fn did(key: SigningKey) -> Result<Self, CliError> {
        let did = key.did().map_err(crate::wallet_cmd::wallet_error)?;
        Ok(RequestSigner::Did {
            client_id: format!("decentralized_identifier:{did}"),
            key,
        })
    }

    /// The client identifier for a request whose response goes to `response_uri`.
    pub(crate) fn client_id(&self, response_uri: &str) -> String {
        match self {
            RequestSigner::X509 { client_id, .. } | RequestSigner::Did { client_id, .. } => {
                client_id.clone()
            }
            RequestSigner::Unsigned => format!("redirect_uri:{response_uri}"),
        }
    }

    /// The DNS name response URIs must be on (`x509_san_dns:` only).
    pub(crate) fn required_host(&self) -> Option<&str> {
        match self {
            RequestSigner::X509 { dns_name, .. } => dns_name.as_deref(),
            _ => None,
        }
    }

    /// True when request objects are signed (every prefix but `redirect_uri:`).
    pub(crate) fn signs(&self) -> bool {
        !matches!(self, RequestSigner::Unsigned)
    }

    /// Signs `request` as a request object (`typ: oauth-authz-req+jwt`, `x5c` or
    /// `kid` as the prefix needs); `None` for the unsigned prefix.
    pub(crate) fn sign(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<Option<String>, RequestError> {
        let (key, x5c) = match self {
            RequestSigner::X509 { key, chain, .. } => {
                let x5c: Vec<String> = chain.iter().map(|der| standard_b64(der)).collect();
                (key, Some(x5c))
            }
            RequestSigner::Did { key, .. } => (key, None),
            RequestSigner::Unsigned => return Ok(None),
        };
        sign_request_object(request, key, x5c.as_deref())
            .map(Some)
            .map_err(|e| RequestError::Malformed(e.to_string()))
    }
}

/// `x5c` carries standard (padded) base64 DER, not base64url (RFC 7515 §4.1.6).
fn standard_b64(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn read_limited(path: &Path) -> Result<String, CliError> {
    let bytes = crate::io::read_bounded(&path.to_string_lossy(), MAX_PEM_FILE_BYTES)?;
    String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{}: not UTF-8 PEM", path.display())))
}

/// Reads a PKCS#8 PEM P-256 private key (`-----BEGIN PRIVATE KEY-----`) or a SEC1
/// one (`-----BEGIN EC PRIVATE KEY-----`).
pub(crate) fn read_p256_key(path: &Path) -> Result<SigningKey, CliError> {
    use p256::pkcs8::DecodePrivateKey as _;
    let pem = zeroize::Zeroizing::new(read_limited(path)?);
    let secret = p256::SecretKey::from_pkcs8_pem(&pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(&pem))
        .map_err(|_| {
            CliError::usage(format!(
                "{}: not a P-256 private key in PKCS#8 or SEC1 PEM",
                path.display()
            ))
        })?;
    let bytes = zeroize::Zeroizing::new(secret.to_bytes().to_vec());
    SigningKey::from_secret_bytes(Algorithm::ES256, &bytes)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

/// Reads a PEM certificate chain, leaf first.
pub(crate) fn read_chain(path: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    let pem = read_limited(path)?;
    let certificates = Certificate::load_pem_chain(pem.as_bytes()).map_err(|e| {
        CliError::usage(format!(
            "{}: not a PEM certificate chain: {e}",
            path.display()
        ))
    })?;
    if certificates.is_empty() || certificates.len() > MAX_CHAIN_CERTIFICATES {
        return Err(CliError::usage(format!(
            "{}: a chain holds 1 to {MAX_CHAIN_CERTIFICATES} certificates",
            path.display()
        )));
    }
    certificates
        .iter()
        .map(|c| {
            c.to_der()
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
        })
        .collect()
}

fn first_dns_name(certificate: &Certificate) -> Option<String> {
    let (_, san) = certificate.tbs_certificate.get::<SubjectAltName>().ok()??;
    san.0.iter().find_map(|name| match name {
        GeneralName::DnsName(dns) => Some(dns.as_str().to_owned()),
        _ => None,
    })
}
