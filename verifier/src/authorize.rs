//! Action authorization: may the verified presenter do this?
//!
//! The rights are the chain's effective rights, or the credential's own for a
//! presentation without delegation. A constraint `approval_above: X` means an
//! action whose amount exceeds X also needs an approval credential from the root
//! principal (`on_behalf_of`) over exactly this action (its digest), issued to the
//! presenter's key (`cnf`), verified on its own and passed alongside.

use serde::Serialize;
use serde_json::{json, Value};

use crate::delegation::{resource_within, scope_within, Rights};
use crate::sd_jwt::sha256_b64;
use crate::verify::Verified;

/// The `vct` of an approval credential.
pub const APPROVAL_VCT: &str = "urn:agentid:vct:approval:1";

/// What the presenter asks to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// The permission it needs, e.g. `refunds:write`.
    pub scope: String,
    /// The URI it acts on.
    pub resource: String,
    /// The amount involved, if any.
    pub amount: Option<f64>,
}

impl Action {
    /// Parses the command-line form `SCOPE RESOURCE [AMOUNT]` (whitespace separated).
    /// The amount must be a finite, non-negative number.
    ///
    /// # Errors
    /// [`InvalidAction`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Action, InvalidAction> {
        if text.len() > MAX_ACTION_BYTES {
            return Err(InvalidAction(format!(
                "action is longer than {MAX_ACTION_BYTES} bytes"
            )));
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        let (scope, resource, amount) = match parts.as_slice() {
            [scope, resource] => (*scope, *resource, None),
            [scope, resource, amount] => {
                let parsed: f64 = amount
                    .parse()
                    .map_err(|_| InvalidAction(format!("amount {amount:?} is not a number")))?;
                (*scope, *resource, Some(parsed))
            }
            _ => {
                return Err(InvalidAction(
                    "an action is 'SCOPE RESOURCE [AMOUNT]'".to_owned(),
                ))
            }
        };
        let action = Action {
            scope: scope.to_owned(),
            resource: resource.to_owned(),
            amount,
        };
        action.check()?;
        Ok(action)
    }

    /// Reads an action object `{"scope", "resource", "amount"?}`, such as the action a
    /// delegation chain's terminal hop carries ([`crate::delegation::Chain::action`]);
    /// other members are ignored.
    ///
    /// # Errors
    /// [`InvalidAction`] if a member is missing, of the wrong type, or out of range.
    pub fn from_json(value: &Value) -> Result<Action, InvalidAction> {
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| InvalidAction(format!("{name} is missing or not a string")))
        };
        let amount = match value.get("amount") {
            None | Some(Value::Null) => None,
            Some(amount) => Some(
                amount
                    .as_f64()
                    .ok_or_else(|| InvalidAction("amount is not a number".to_owned()))?,
            ),
        };
        let action = Action {
            scope: text("scope")?,
            resource: text("resource")?,
            amount,
        };
        action.check()?;
        Ok(action)
    }

    /// Checks what [`authorize`] relies on: a non-empty scope and resource, and an
    /// amount that is a finite number at least zero. A NaN compares false with every
    /// limit and an infinite or negative amount has no meaning as a sum to pay or
    /// refund, so each would slip past `max_amount`.
    ///
    /// # Errors
    /// [`InvalidAction`] naming what is wrong.
    pub fn check(&self) -> Result<(), InvalidAction> {
        if self.scope.is_empty() || self.resource.is_empty() {
            return Err(InvalidAction(
                "scope and resource must not be empty".to_owned(),
            ));
        }
        if let Some(amount) = self.amount {
            if !amount.is_finite() || amount < 0.0 {
                return Err(InvalidAction(format!(
                    "amount {amount} is not a finite number at least 0"
                )));
            }
        }
        Ok(())
    }

    /// The digest an approval names: SHA-256 of the action's canonical JSON
    /// (`{"amount","resource","scope"}`, keys sorted), base64url.
    pub fn digest(&self) -> String {
        sha256_b64(
            &json!({"amount": self.amount, "resource": self.resource, "scope": self.scope})
                .to_string(),
        )
    }
}

/// Longest action text [`Action::parse`] reads, in bytes.
pub const MAX_ACTION_BYTES: usize = 4096;

/// An action that cannot be authorized because it is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid action: {0}")]
pub struct InvalidAction(String);

/// Why an action is denied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// No granted scope covers the action's.
    #[error("scope {0} is not granted")]
    Scope(String),
    /// The resource is outside every granted prefix.
    #[error("resource {0} is outside the granted resources")]
    Resource(String),
    /// The amount exceeds `max_amount`.
    #[error("amount {amount} exceeds the limit {limit}")]
    Amount {
        /// Requested.
        amount: f64,
        /// Granted.
        limit: f64,
    },
    /// The amount is above `approval_above` and no approval came with it.
    #[error("amounts above {0} need the principal's approval")]
    ApprovalRequired(f64),
    /// The approval is not from the root principal, or not for this action.
    #[error("approval rejected: {0}")]
    ApprovalMismatch(&'static str),
    /// The credential grants no rights to act (no scope).
    #[error("the credential grants no scope")]
    NoRights,
    /// The action itself is malformed (e.g. a NaN or negative amount).
    #[error("{0}")]
    InvalidAction(InvalidAction),
    /// The credential was verified without a key binding: anyone who has seen it
    /// could present it, so it authorizes nothing.
    #[error("a credential without key binding authorizes nothing; verify a presentation")]
    Unbound,
    /// The issuer made a rights claim selectively disclosable, so the holder could
    /// have withheld a limit: the credential grants nothing.
    #[error("the credential's rights claims are selectively disclosable; a limit could have been withheld")]
    ConcealableRights,
    /// A numeric constraint in the rights is not a finite number, so it cannot be
    /// enforced; the action is denied rather than treated as unlimited.
    #[error("constraint {0} is not a number")]
    MalformedConstraint(String),
}

/// Decides whether `verified` allows `action`. `approval` is an approval credential
/// already verified (its issuer must be the root principal).
///
/// # Errors
/// [`Denied`] with the reason.
pub fn authorize(
    verified: &Verified,
    action: &Action,
    approval: Option<&Verified>,
) -> Result<(), Denied> {
    if verified.key_binding.is_none() {
        return Err(Denied::Unbound);
    }
    if verified.rights_concealable() {
        return Err(Denied::ConcealableRights);
    }
    let rights = match &verified.chain {
        Some(chain) => chain.effective_rights.clone(),
        None => Rights::from_root(&verified.claims, verified.expires_at)
            .map_err(|_| Denied::NoRights)?,
    };
    if !rights
        .scope
        .iter()
        .any(|granted| scope_within(&action.scope, granted))
    {
        return Err(Denied::Scope(action.scope.clone()));
    }
    if let Some(prefixes) = &rights.resources {
        if !prefixes
            .iter()
            .any(|prefix| resource_within(&action.resource, prefix))
        {
            return Err(Denied::Resource(action.resource.clone()));
        }
    }
    action.check().map_err(Denied::InvalidAction)?;
    let limit = |name: &str| match rights.constraints.get(name) {
        None => Ok(None),
        Some(value) => match value.as_f64() {
            Some(number) if number.is_finite() => Ok(Some(number)),
            _ => Err(Denied::MalformedConstraint(name.to_owned())),
        },
    };
    let amount = action.amount.unwrap_or(0.0);
    if let Some(limit) = limit("max_amount")? {
        if amount > limit {
            return Err(Denied::Amount { amount, limit });
        }
    }
    if let Some(threshold) = limit("approval_above")? {
        if amount > threshold {
            let approval = approval.ok_or(Denied::ApprovalRequired(threshold))?;
            let principal = verified.claims.get("on_behalf_of").and_then(Value::as_str);
            if principal.is_none() || principal != Some(approval.issuer.as_str()) {
                return Err(Denied::ApprovalMismatch("not issued by the root principal"));
            }
            if approval.vct.as_deref() != Some(APPROVAL_VCT) {
                return Err(Denied::ApprovalMismatch("not an approval credential"));
            }
            if approval.claims.get("action_digest").and_then(Value::as_str)
                != Some(action.digest().as_str())
            {
                return Err(Denied::ApprovalMismatch("approves another action"));
            }
            // Bound to the presenter's key: an approval seen elsewhere (it is a
            // credential, verified without key binding) is useless to anyone else.
            if approval.holder_key.is_none() || approval.holder_key != verified.holder_key {
                return Err(Denied::ApprovalMismatch("issued to another holder"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_that_would_slip_past_a_limit_are_refused() {
        for text in [
            "pay r NaN",
            "pay r nan",
            "pay r inf",
            "pay r -inf",
            "pay r -1",
        ] {
            assert!(Action::parse(text).is_err(), "{text}");
        }
        assert_eq!(Action::parse("pay r 0").unwrap().amount, Some(0.0));
        assert_eq!(Action::parse("pay r").unwrap().amount, None);
        assert!(Action::parse("pay").is_err());
        assert!(Action::parse("pay r 1 extra").is_err());
        assert!(Action::parse(&format!("pay {} 1", "r".repeat(MAX_ACTION_BYTES))).is_err());
    }

    #[test]
    fn action_objects_are_typed() {
        let good = json!({"scope": "pay", "resource": "https://r", "amount": 5, "vct": "x"});
        assert_eq!(Action::from_json(&good).unwrap().amount, Some(5.0));
        for bad in [
            json!({"resource": "https://r"}),
            json!({"scope": 1, "resource": "https://r"}),
            json!({"scope": "pay", "resource": "https://r", "amount": "5"}),
            json!({"scope": "pay", "resource": "https://r", "amount": -5}),
            json!([]),
        ] {
            assert!(Action::from_json(&bad).is_err(), "{bad}");
        }
    }
}
