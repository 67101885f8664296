//! Tests of the Authorization Request, named after the section they check. Shared
//! here: test PKIs (rcgen), signers for each prefix, and a valid request to break.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod object;
mod parameters;
mod signed;
mod uri;

use base64::Engine as _;
use rand_core::OsRng;
use serde_json::{json, Map, Value};

use super::*;
use crate::encoding::b64url_encode;
use crate::key::PublicKey;
use crate::oid4vp::client_id::ClientId;
use crate::oid4vp::jwe::Enc;
use crate::x509::X509Anchor;

pub(super) const NOW: u64 = 1_800_000_000;
pub(super) const RESPONSE_URI: &str = "https://client.example.org/post";

/// A root CA (and optionally an intermediate) and a P-256 leaf for `dns`.
pub(super) struct Pki {
    pub(super) anchor: X509Anchor,
    /// base64 DER, leaf first, without the root.
    pub(super) chain: Vec<String>,
    pub(super) leaf_der: Vec<u8>,
    pub(super) root_b64: String,
    pub(super) leaf: rcgen::KeyPair,
}

pub(super) fn pki(dns: &str, intermediate: bool) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        params
    };
    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
    let root_key = KeyPair::generate_for(alg).unwrap();
    let root_params = ca("OID4VP test root");
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);
    let leaf = KeyPair::generate_for(alg).unwrap();
    let mut leaf_params = CertificateParams::new(vec![dns.to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "OID4VP verifier");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf_params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let mut chain = Vec::new();
    let leaf_der = if intermediate {
        let mid_key = KeyPair::generate_for(alg).unwrap();
        let mid_params = ca("OID4VP test intermediate");
        let mid = mid_params.signed_by(&mid_key, &root_issuer).unwrap();
        let mid_issuer = Issuer::new(mid_params, mid_key);
        let leaf_cert = leaf_params.signed_by(&leaf, &mid_issuer).unwrap();
        chain.push(b64(leaf_cert.der()));
        chain.push(b64(mid.der()));
        leaf_cert.der().to_vec()
    } else {
        let leaf_cert = leaf_params.signed_by(&leaf, &root_issuer).unwrap();
        chain.push(b64(leaf_cert.der()));
        leaf_cert.der().to_vec()
    };
    Pki {
        anchor: X509Anchor::from_pem(&root.pem()).unwrap(),
        chain,
        leaf_der,
        root_b64: b64(root.der()),
        leaf,
    }
}

/// A self-signed leaf for `dns`, trusted as its own anchor.
pub(super) fn self_signed(dns: &str) -> Pki {
    use rcgen::{CertificateParams, KeyPair, KeyUsagePurpose};
    let leaf = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(vec![dns.to_owned()]).unwrap();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let cert = params.self_signed(&leaf).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.der());
    Pki {
        anchor: X509Anchor::from_pem(&cert.pem()).unwrap(),
        chain: vec![b64.clone()],
        leaf_der: cert.der().to_vec(),
        root_b64: b64,
        leaf,
    }
}

/// A raw `r || s` ES256 signature by an rcgen key.
pub(super) fn rcgen_es256(key: &rcgen::KeyPair, message: &[u8]) -> Vec<u8> {
    use rcgen::SigningKey as _;
    let der = key.sign(message).unwrap();
    p256::ecdsa::Signature::from_der(&der)
        .unwrap()
        .to_bytes()
        .to_vec()
}

/// An Ed25519 key and its did:key.
pub(super) struct DidSigner {
    pub(super) key: ed25519_zebra::SigningKey,
    pub(super) did: String,
}

pub(super) fn did_signer() -> DidSigner {
    let key = ed25519_zebra::SigningKey::new(OsRng);
    let public = <[u8; 32]>::from(ed25519_zebra::VerificationKey::from(&key));
    let did = crate::did_key::encode(&PublicKey::ed25519_from_bytes(&public).unwrap());
    DidSigner { key, did }
}

impl DidSigner {
    pub(super) fn kid(&self) -> String {
        format!("{}#{}", self.did, &self.did["did:key:".len()..])
    }

    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
}

pub(super) fn dcql() -> Value {
    json!({"credentials": [{
        "id": "task",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:agentid:vct:task:1"]},
        "claims": [{"path": ["scope"]}]
    }]})
}

pub(super) fn vp_formats() -> Map<String, Value> {
    json!({"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256", "EdDSA"]}})
        .as_object()
        .cloned()
        .unwrap()
}

/// Metadata with an ephemeral encryption key `enc-1` and both `enc` values.
pub(super) fn metadata() -> ClientMetadata {
    let key = p256::SecretKey::random(&mut OsRng);
    ClientMetadata::new(vp_formats())
        .with_encryption_key("enc-1", key.public_key())
        .with_enc_values(&[Enc::A128GCM, Enc::A256GCM])
}

/// A valid `direct_post.jwt` request of `client_id` (built, so checked).
pub(super) fn request(client_id: &ClientId, response_uri: &str) -> AuthorizationRequest {
    AuthorizationRequest::builder(
        client_id,
        ResponseMode::DirectPostJwt,
        response_uri,
        "n-0S6_WzA2Mj",
        dcql(),
        &metadata(),
    )
    .state("s-1")
    .validity(NOW - 10, NOW + 300)
    .build(&RequestOptions::default())
    .unwrap()
}

/// Signs `claims` under `header` (which names alg, typ, kid, x5c as wanted).
pub(super) fn sign_with(
    header: &Value,
    claims: &Map<String, Value>,
    signer: impl Fn(&[u8]) -> Vec<u8>,
) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(Value::Object(claims.clone()).to_string().as_bytes())
    );
    let signature = signer(input.as_bytes());
    signed_request_object(&input, &signature)
}

/// An x509 request object: `claims` signed by the PKI's leaf, `x5c` = its chain.
pub(super) fn x509_object(pki: &Pki, claims: &Map<String, Value>) -> String {
    let header = json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "x5c": pki.chain});
    sign_with(&header, claims, |m| rcgen_es256(&pki.leaf, m))
}

/// `claims` with `name` set to `value` (`Value::Null` removes it).
pub(super) fn with(claims: &Map<String, Value>, name: &str, value: Value) -> Map<String, Value> {
    let mut claims = claims.clone();
    if value.is_null() {
        claims.remove(name);
    } else {
        claims.insert(name.to_owned(), value);
    }
    claims
}

pub(super) fn options() -> RequestOptions {
    RequestOptions::default()
}
