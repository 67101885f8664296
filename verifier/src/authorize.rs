//! Action authorization: may the verified presenter do this?
//!
//! The rights are the chain's effective rights, or the credential's own for a
//! presentation without delegation. A constraint `approval_above: X` means an
//! action whose amount exceeds X also needs an approval credential from the root
//! principal (`on_behalf_of`) over exactly this action (its digest), verified on its
//! own and passed alongside.

use serde::Serialize;
use serde_json::{json, Value};

use crate::delegation::{scope_within, Rights};
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
    /// The digest an approval names: SHA-256 of the action's canonical JSON
    /// (`{"amount","resource","scope"}`, keys sorted), base64url.
    pub fn digest(&self) -> String {
        sha256_b64(
            &json!({"amount": self.amount, "resource": self.resource, "scope": self.scope})
                .to_string(),
        )
    }
}

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
            .any(|prefix| action.resource.starts_with(prefix.as_str()))
        {
            return Err(Denied::Resource(action.resource.clone()));
        }
    }
    let limit = |name: &str| rights.constraints.get(name).and_then(Value::as_f64);
    let amount = action.amount.unwrap_or(0.0);
    if let Some(limit) = limit("max_amount") {
        if amount > limit {
            return Err(Denied::Amount { amount, limit });
        }
    }
    if let Some(threshold) = limit("approval_above") {
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
        }
    }
    Ok(())
}
