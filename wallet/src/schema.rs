//! JSON Schemas of the credential types a wallet issues. Each schema names the
//! `vct` it governs in a top-level `x-vct` member; a type without a schema is
//! never issued.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::WalletError;

/// The schemas shipped in `schemas/`, compiled into the crate.
const BUILTIN: [(&str, &str); 3] = [
    (
        "approval.schema.json",
        include_str!("../../schemas/approval.schema.json"),
    ),
    (
        "task.schema.json",
        include_str!("../../schemas/task.schema.json"),
    ),
    (
        "person.schema.json",
        include_str!("../../schemas/person.schema.json"),
    ),
];

/// The `vct` of agentid task credentials.
pub const TASK_VCT: &str = "urn:agentid:vct:task:1";
/// The `vct` of approval credentials (a principal approving one exact action).
pub const APPROVAL_VCT: &str = agentid_verifier::authorize::APPROVAL_VCT;
/// The `vct` of agentid person credentials (the principal an agent acts for).
pub const PERSON_VCT: &str = "urn:agentid:vct:person:1";

struct CompiledSchema {
    validator: jsonschema::Validator,
    max_lifetime_minutes: Option<u64>,
}

/// Credential types and their compiled schemas.
pub struct SchemaRegistry {
    schemas: BTreeMap<String, CompiledSchema>,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("types", &self.schemas.keys())
            .finish()
    }
}

impl SchemaRegistry {
    /// The registry of the schemas shipped with agentid.
    ///
    /// # Errors
    /// [`WalletError::InvalidSchema`] if a shipped schema does not compile (a build defect).
    pub fn builtin() -> Result<Self, WalletError> {
        let mut registry = SchemaRegistry {
            schemas: BTreeMap::new(),
        };
        for (name, text) in BUILTIN {
            let schema: Value =
                serde_json::from_str(text).map_err(|error| WalletError::InvalidSchema {
                    name: name.into(),
                    reason: error.to_string(),
                })?;
            registry.add(name, &schema)?;
        }
        Ok(registry)
    }

    /// Adds a schema; its `x-vct` names the type it governs. `name` is for errors.
    ///
    /// # Errors
    /// [`WalletError::InvalidSchema`] without a string `x-vct`, or if it does not compile.
    pub fn add(&mut self, name: &str, schema: &Value) -> Result<(), WalletError> {
        let invalid = |reason: String| WalletError::InvalidSchema {
            name: name.into(),
            reason,
        };
        let vct = schema
            .get("x-vct")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no top-level string \"x-vct\"".into()))?
            .to_owned();
        let max_lifetime_minutes =
            match schema.get("x-max-lifetime-minutes") {
                None => None,
                Some(value) => Some(value.as_u64().ok_or_else(|| {
                    invalid("x-max-lifetime-minutes must be a whole number".into())
                })?),
            };
        let validator =
            jsonschema::validator_for(schema).map_err(|error| invalid(error.to_string()))?;
        self.schemas.insert(
            vct,
            CompiledSchema {
                validator,
                max_lifetime_minutes,
            },
        );
        Ok(())
    }

    /// The credential types with a schema.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    /// Checks `claims` against the schema of `vct` and the requested lifetime against
    /// the type's `x-max-lifetime-minutes`.
    ///
    /// # Errors
    /// [`WalletError::UnknownCredentialType`] when no schema governs `vct`;
    /// [`WalletError::InvalidClaims`] listing every violation.
    pub fn validate(
        &self,
        vct: &str,
        claims: &Value,
        lifetime_secs: u64,
    ) -> Result<(), WalletError> {
        let schema = self.schemas.get(vct).ok_or_else(|| {
            WalletError::UnknownCredentialType(
                vct.into(),
                self.types().collect::<Vec<_>>().join(", "),
            )
        })?;
        let details: Vec<String> = schema
            .validator
            .iter_errors(claims)
            .take(16)
            .map(|error| {
                let at = error.instance_path().to_string();
                format!("{}: {error}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if !details.is_empty() {
            return Err(WalletError::InvalidClaims {
                vct: vct.into(),
                details: details.join("; "),
            });
        }
        if let Some(max_minutes) = schema.max_lifetime_minutes {
            if lifetime_secs > max_minutes * 60 {
                return Err(WalletError::request(format!(
                    "{vct} credentials live at most {max_minutes} minutes"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task_claims() -> Value {
        json!({
            "task": {"id": "T-1", "purpose": "refund order 1234"},
            "scope": ["refunds:write"],
            "resources": ["https://shop.example/orders/1234"],
            "audience": ["https://payments.example"],
            "constraints": {"max_amount": 50, "currency": "EUR"},
            "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        })
    }

    #[test]
    fn every_shipped_schema_names_its_vct_and_compiles() {
        let registry = SchemaRegistry::builtin().expect("shipped schemas compile");
        assert_eq!(
            registry.types().collect::<Vec<_>>(),
            [APPROVAL_VCT, PERSON_VCT, TASK_VCT]
        );
    }

    #[test]
    fn a_valid_task_passes_and_each_violation_is_named() {
        let registry = SchemaRegistry::builtin().expect("schemas");
        registry
            .validate(TASK_VCT, &task_claims(), 900)
            .expect("valid task");

        let mut claims = task_claims();
        claims["constraints"]["max_amount"] = json!(-1);
        claims
            .as_object_mut()
            .expect("object")
            .remove("on_behalf_of");
        let error = registry
            .validate(TASK_VCT, &claims, 900)
            .expect_err("invalid")
            .to_string();
        assert!(error.contains("on_behalf_of"), "{error}");
        assert!(error.contains("/constraints/max_amount"), "{error}");
    }

    #[test]
    fn unknown_type_and_overlong_lifetime_are_refused() {
        let registry = SchemaRegistry::builtin().expect("schemas");
        assert!(matches!(
            registry.validate("urn:other", &task_claims(), 60),
            Err(WalletError::UnknownCredentialType(..))
        ));
        assert!(matches!(
            registry.validate(TASK_VCT, &task_claims(), 1441 * 60),
            Err(WalletError::InvalidRequest(_))
        ));
    }

    #[test]
    fn a_schema_without_x_vct_is_refused() {
        let mut registry = SchemaRegistry::builtin().expect("schemas");
        assert!(matches!(
            registry.add("x", &json!({"type": "object"})),
            Err(WalletError::InvalidSchema { .. })
        ));
    }
}
