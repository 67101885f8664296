//! Shared fixtures for the integration tests: an issuer, an agent, a task credential.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod forge;

use agentid_verifier::{
    b64url_encode, Algorithm, Policy, PresentationRequest, TrustStore, Verifier,
};
use agentid_wallet::{CredentialRequest, Issuer, SchemaRegistry, SigningKey, TASK_VCT};
use serde_json::{json, Map, Value};

/// A fixed point in time for tests (2027-01-15T08:00:00Z).
pub const NOW: u64 = 1_800_000_000;
pub const AUDIENCE: &str = "https://payments.bank.example";
pub const NONCE: &str = "n-0S6_WzA2Mj";

pub struct Fixture {
    pub issuer: Issuer,
    pub agent: SigningKey,
    pub credential: String,
    pub verifier: Verifier,
}

pub fn task_claims() -> Map<String, Value> {
    json!({
        "task": {"id": "T-1", "purpose": "refund order 1234"},
        "scope": ["refunds:write"],
        "resources": ["https://shop.example/orders/1234"],
        "audience": [AUDIENCE],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .cloned()
    .expect("object")
}

pub fn request() -> PresentationRequest {
    PresentationRequest::new(AUDIENCE, NONCE)
}

pub fn fixture(alg: Algorithm) -> Fixture {
    let issuer = Issuer::from_did_key(SigningKey::generate(alg)).expect("issuer");
    let agent = SigningKey::generate(alg);
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().expect("did"),
                holder_key: agent.public_key().clone(),
                claims: task_claims(),
                // Rights claims (scope, resources, constraints, …) are never
                // disclosable; the task object and its purpose nest recursively.
                disclosable: ["task", "task.purpose", "on_behalf_of"]
                    .iter()
                    .map(|path| path.parse().expect("path"))
                    .collect(),
                lifetime_secs: 900,
                committed: Vec::new(),
            },
            NOW,
        )
        .expect("issue")
        .sd_jwt;
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).expect("trust");
    Fixture {
        issuer,
        agent,
        credential,
        verifier: Verifier::new(trust, Policy::default()),
    }
}

impl Fixture {
    pub fn present(&self, disclose: &[&str]) -> String {
        let paths: Vec<_> = disclose
            .iter()
            .map(|path| path.parse().expect("path"))
            .collect();
        agentid_wallet::present(&self.credential, &self.agent, &paths, &request(), NOW)
            .expect("present")
    }
}

/// Signs an arbitrary header and payload: for tokens the wallet would never make.
pub fn sign_token(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature))
}

/// A disclosure string for `[salt, name, value]` or `[salt, value]`.
pub fn disclosure(parts: &Value) -> String {
    b64url_encode(parts.to_string().as_bytes())
}

/// A credential type with an open schema, for tests of selective disclosure itself
/// (arrays, nested objects) on claims that grant no rights.
pub const INTEROP_VCT: &str = "urn:agentid:vct:interop-test:1";

/// The built-in schemas plus the open [`INTEROP_VCT`] schema.
pub fn interop_schemas() -> SchemaRegistry {
    let mut registry = SchemaRegistry::builtin().expect("builtin schemas");
    registry
        .add(
            "interop-test",
            &json!({"x-vct": INTEROP_VCT, "type": "object"}),
        )
        .expect("open schema");
    registry
}
