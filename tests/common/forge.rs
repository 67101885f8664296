//! A hand-built credential whose issuer key signs exactly the header and payload a
//! test writes: for inputs the wallet would never make.

use agentid_verifier::{
    sha256_b64, Algorithm, Policy, TrustStore, Verified, Verifier, VerifyError,
};
use agentid_wallet::{cnf, did_key_url, SigningKey};
use serde_json::{json, Value};

use super::{request, sign_token, AUDIENCE, NONCE, NOW};

/// A hand-built credential: the issuer key signs exactly this header and payload.
pub struct Forge {
    pub issuer: SigningKey,
    pub issuer_did: String,
    pub holder: SigningKey,
}

impl Forge {
    pub fn new() -> Self {
        let issuer = SigningKey::generate(Algorithm::EdDSA);
        let issuer_did = issuer.did().expect("did");
        Forge {
            issuer,
            issuer_did,
            holder: SigningKey::generate(Algorithm::EdDSA),
        }
    }

    pub fn header(&self) -> Value {
        json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": did_key_url(self.issuer.public_key()).expect("kid")})
    }

    pub fn payload(&self) -> Value {
        json!({
            "iss": self.issuer_did, "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 600,
            "vct": "urn:agentid:vct:task:1", "cnf": cnf(self.holder.public_key()), "_sd_alg": "sha-256"
        })
    }

    /// `<JWT>~<d>…~` signed over `header` and `payload`.
    pub fn credential(&self, header: &Value, payload: &Value, disclosures: &[String]) -> String {
        let mut out = sign_token(&self.issuer, header, payload);
        out.push('~');
        for disclosure in disclosures {
            out.push_str(disclosure);
            out.push('~');
        }
        out
    }

    pub fn bind(&self, without_kb: &str, kb_header: &Value, kb_payload: &Value) -> String {
        format!(
            "{without_kb}{}",
            sign_token(&self.holder, kb_header, kb_payload)
        )
    }

    pub fn kb_payload(&self, without_kb: &str) -> Value {
        json!({"iat": NOW, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": sha256_b64(without_kb)})
    }

    pub fn present(&self, header: &Value, payload: &Value, disclosures: &[String]) -> String {
        let without_kb = self.credential(header, payload, disclosures);
        self.bind(
            &without_kb,
            &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
            &self.kb_payload(&without_kb),
        )
    }

    pub fn verifier(&self) -> Verifier {
        let mut trust = TrustStore::new();
        trust.add_did(&self.issuer_did).expect("trust");
        Verifier::new(trust, Policy::default())
    }

    pub fn verify(&self, presentation: &str) -> Result<Verified, VerifyError> {
        self.verifier()
            .verify_presentation(presentation, &request(), NOW)
    }
}
