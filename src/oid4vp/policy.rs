//! The disclosure policy: what an unattended agent may disclose, to which verifier.
//!
//! ```json
//! {"rules": [{
//!   "verifier": "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
//!   "credentials": [{"vct": "https://agentid.example/vct/task",
//!                    "claims": [["task"], ["scope"]], "prove": ["birthdate"]}],
//!   "transaction_data_types": ["payment_confirmation"]
//! }]}
//! ```
//!
//! A rule names one client identifier (prefix included) or `"*"`. A request is
//! allowed when one rule for its verifier covers every presentation — its `vct`
//! listed, every claim disclosed at or inside a listed path (`null` in a path stands
//! for every array element), every predicate's claim under `prove` — and every
//! transaction data type. Anything else is refused, and nothing is sent.

use std::path::Path;

use agentid_verifier::oid4vp::request::AuthorizationRequest;
use agentid_verifier::{ClaimPath, PathSegment};
use agentid_wallet::AnswerPlan;
use serde::Deserialize;
use serde_json::Value;

use crate::error::CliError;

/// Largest policy file read.
const MAX_POLICY_BYTES: usize = 256 * 1024;

/// A parsed disclosure policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisclosurePolicy {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    verifier: String,
    #[serde(default)]
    credentials: Vec<AllowedCredential>,
    #[serde(default)]
    transaction_data_types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowedCredential {
    vct: String,
    #[serde(default)]
    claims: Vec<Vec<Value>>,
    #[serde(default)]
    prove: Vec<String>,
}

impl DisclosurePolicy {
    /// Reads a policy file.
    pub(crate) fn read(path: &Path) -> Result<Self, CliError> {
        let bytes = crate::io::read_bounded(&path.to_string_lossy(), MAX_POLICY_BYTES)?;
        let policy: DisclosurePolicy = serde_json::from_slice(&bytes)
            .map_err(|e| CliError::usage(format!("--policy {}: {e}", path.display())))?;
        for rule in &policy.rules {
            for credential in &rule.credentials {
                for claim in &credential.claims {
                    if claim.is_empty()
                        || !claim
                            .iter()
                            .all(|s| s.is_string() || s.is_null() || s.is_u64())
                    {
                        return Err(CliError::usage(format!(
                            "--policy {}: a claim path is a non-empty array of names, \
                             indices and nulls",
                            path.display()
                        )));
                    }
                }
            }
        }
        Ok(policy)
    }

    /// Every transaction data type some rule allows.
    pub(crate) fn transaction_data_types(&self) -> Vec<String> {
        self.rules
            .iter()
            .flat_map(|rule| rule.transaction_data_types.iter().cloned())
            .collect()
    }

    /// Whether one rule for `client_id` covers the whole plan; why not, if not.
    pub(crate) fn allows(
        &self,
        client_id: &str,
        plan: &AnswerPlan,
        request: &AuthorizationRequest,
    ) -> Result<(), String> {
        let rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| rule.verifier == client_id || rule.verifier == "*")
            .collect();
        if rules.is_empty() {
            return Err(format!("no rule for {client_id}"));
        }
        let mut last = String::new();
        for rule in rules {
            match rule.covers(plan, request) {
                Ok(()) => return Ok(()),
                Err(why) => last = why,
            }
        }
        Err(last)
    }
}

impl Rule {
    fn covers(&self, plan: &AnswerPlan, request: &AuthorizationRequest) -> Result<(), String> {
        for data in request.transaction_data() {
            if !self
                .transaction_data_types
                .iter()
                .any(|t| t == data.transaction_type())
            {
                return Err(format!(
                    "transaction data of type {:?} is not allowed",
                    data.transaction_type()
                ));
            }
        }
        for presentation in &plan.presentations {
            let allowed = self
                .credentials
                .iter()
                .find(|c| c.vct == presentation.vct)
                .ok_or_else(|| {
                    format!("credentials of type {} are not allowed", presentation.vct)
                })?;
            for path in presentation.paths() {
                if !allowed.claims.iter().any(|pattern| within(path, pattern)) {
                    return Err(format!(
                        "disclosing {path} of {} is not allowed",
                        presentation.vct
                    ));
                }
            }
            for predicate in presentation.predicates() {
                if !allowed.prove.contains(&predicate.claim) {
                    return Err(format!(
                        "proving a statement about {} is not allowed",
                        predicate.claim
                    ));
                }
            }
        }
        Ok(())
    }
}

/// True when `path` is at or inside the claim `pattern` names.
fn within(path: &ClaimPath, pattern: &[Value]) -> bool {
    let segments = path.segments();
    segments.len() >= pattern.len()
        && pattern
            .iter()
            .zip(segments)
            .all(|(want, have)| match (want, have) {
                (Value::Null, PathSegment::Index(_) | PathSegment::AnyIndex) => true,
                (Value::String(name), PathSegment::Key(key)) => name == key,
                (Value::Number(n), PathSegment::Index(i)) => n.as_u64() == u64::try_from(*i).ok(),
                _ => false,
            })
}
