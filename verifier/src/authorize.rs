//! Action authorization: may the verified presenter do this?
//!
//! The rights are the chain's effective rights, or the credential's own for a
//! presentation without delegation. Every rights claim is enforced and anything not
//! understood denies (fail closed):
//!
//! | rights claim | absent | present |
//! |---|---|---|
//! | `scope` | grants nothing | the action's scope must be within one entry (`refunds:*` suffix wildcards) |
//! | `resources` | any resource | the action's resource must be within one URL prefix ([`crate::resource`]); `[]` grants none |
//! | `audience` | any verifier | the presentation's `aud` must be one entry (checked at verification too); `[]` admits none |
//! | `constraints` | no limits | every member must be one of [`KNOWN_CONSTRAINTS`], or the action is denied |
//!
//! The constraints understood: `max_amount` (the action's amount, 0 when it has
//! none, must not exceed it), `approval_above` (an amount above it also needs an
//! approval, see below), and `currency` (an action with an amount must name this
//! currency). A numeric constraint that is not a finite number at least 0 denies.
//!
//! An approval is a credential from the root principal (`on_behalf_of`) over
//! exactly one action, issued to the presenter's key, checked with the same trust
//! store, status lists and policy as the presentation
//! ([`Verifier::verify_approval`]). Its digest is recomputed from the action it
//! shows (RFC 8785), so what a person read is what it approves.
//!
//! A delegation chain's terminal hop signs the action the delegate asks for; the
//! action authorized must be that one, in canonical form, or it is denied.

use serde::Serialize;
use serde_json::Value;

pub use crate::action::{canonical_json, Action, InvalidAction, ACTION_MEMBERS, MAX_ACTION_BYTES};
use crate::delegation::{scope_within, truncate, Rights};
use crate::error::VerifyError;
use crate::resource::resource_within;
use crate::trust::TrustStore;
use crate::verify::{Verified, Verifier};

/// The `vct` of an approval credential.
pub const APPROVAL_VCT: &str = "urn:agentid:vct:approval:1";

/// The constraints [`authorize`] understands; any other denies.
pub const KNOWN_CONSTRAINTS: [&str; 3] = ["max_amount", "approval_above", "currency"];

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
    /// The credential's `audience` does not name the verifier it was presented to.
    #[error("the credential may not be presented to {0}")]
    Audience(String),
    /// The amount exceeds `max_amount`.
    #[error("amount {amount} exceeds the limit {limit}")]
    Amount {
        /// Requested.
        amount: f64,
        /// Granted.
        limit: f64,
    },
    /// The action's currency is not the one the constraints are in.
    #[error("the credential's limits are in {expected}; the action is in {}", found.as_deref().unwrap_or("no stated currency"))]
    Currency {
        /// The `currency` constraint.
        expected: String,
        /// The action's currency.
        found: Option<String>,
    },
    /// A constraint this verifier does not understand: it cannot be enforced, so
    /// nothing is allowed.
    #[error("constraint {0} is not understood by this verifier")]
    UnknownConstraint(String),
    /// The amount is above `approval_above` and no approval came with it.
    #[error("amounts above {0} need the principal's approval")]
    ApprovalRequired(f64),
    /// The approval did not verify (signature, trust, validity, status).
    #[error("approval rejected: {0}")]
    ApprovalRejected(VerifyError),
    /// The approval verified but is not from the root principal, not for this
    /// holder, or not for this action.
    #[error("approval rejected: {0}")]
    ApprovalMismatch(&'static str),
    /// The action differs from the one the delegation chain's terminal hop signed.
    #[error("the action differs from the one the delegate signed ({0})")]
    ActionMismatch(String),
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
    /// A numeric constraint in the rights is not a finite number at least 0, so it
    /// cannot be enforced; the action is denied rather than treated as unlimited.
    #[error("constraint {0} is not a number at least 0")]
    MalformedConstraint(String),
}

/// What [`authorize`] checked for an allowed action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Authorized {
    /// The action allowed.
    pub action: Action,
    /// True when the rights came from a delegation chain; the action then equals the
    /// one its terminal hop signed.
    pub delegated: bool,
    /// The constraints enforced, by name.
    pub constraints: Vec<String>,
    /// True when an approval was needed (and verified for this exact action).
    pub approval_checked: bool,
}

/// An approval credential verified by [`Verifier::verify_approval`] for one
/// presentation: only this crate builds it.
#[derive(Debug, Clone)]
pub struct VerifiedApproval {
    /// The approval as a verified credential.
    pub credential: Verified,
    /// The action it approves (its digest checked against it).
    pub action: Action,
}

impl Verifier {
    /// Verifies an approval credential for the presentation `presented` (already
    /// verified by this verifier): with the same trust store, status lists and
    /// policy, its issuer the root principal (`on_behalf_of`, trusted for this one
    /// check if it is a did:key and not in the trust store), of type
    /// [`APPROVAL_VCT`], issued to the presenter's key, and its `action_digest`
    /// the digest of the `action` it shows.
    ///
    /// # Errors
    /// [`Denied::ApprovalRejected`] when it does not verify as a credential;
    /// [`Denied::ApprovalMismatch`] for the other checks.
    pub fn verify_approval(
        &self,
        approval: &str,
        presented: &Verified,
        now: u64,
    ) -> Result<VerifiedApproval, Denied> {
        let principal = presented
            .claims
            .get("on_behalf_of")
            .and_then(Value::as_str)
            .ok_or(Denied::ApprovalMismatch(
                "the credential names no principal (on_behalf_of)",
            ))?;
        let extra =
            if !self.trust().trusts(principal) {
                if !principal.starts_with("did:key:") {
                    return Err(Denied::ApprovalMismatch(
                        "the principal is neither a did:key nor a trusted issuer",
                    ));
                }
                Some(TrustStore::did_issuer(principal).map_err(|_| {
                    Denied::ApprovalMismatch("the principal is not a valid did:key")
                })?)
            } else {
                None
            };
        if approval.contains("~~") {
            return Err(Denied::ApprovalMismatch("an approval cannot be delegated"));
        }
        let credential = self
            .check_with(approval.trim(), None, now, extra.as_ref())
            .and_then(|checked| checked.finish())
            .map_err(Denied::ApprovalRejected)?;
        if credential.issuer != principal {
            return Err(Denied::ApprovalMismatch("not issued by the root principal"));
        }
        if credential.vct.as_deref() != Some(APPROVAL_VCT) {
            return Err(Denied::ApprovalMismatch("not an approval credential"));
        }
        // Bound to the presenter's key: an approval seen elsewhere (it is a
        // credential, verified without key binding) is useless to anyone else.
        if credential.holder_key.is_none() || credential.holder_key != presented.holder_key {
            return Err(Denied::ApprovalMismatch("issued to another holder"));
        }
        let action = credential
            .claims
            .get("action")
            .ok_or(Denied::ApprovalMismatch("it shows no action"))
            .and_then(|action| {
                Action::from_json(action)
                    .map_err(|_| Denied::ApprovalMismatch("the action it shows is malformed"))
            })?;
        if credential
            .claims
            .get("action_digest")
            .and_then(Value::as_str)
            != Some(action.digest().as_str())
        {
            return Err(Denied::ApprovalMismatch(
                "its action_digest is not the digest of the action it shows",
            ));
        }
        Ok(VerifiedApproval { credential, action })
    }
}

/// Decides whether `verified` allows `action`. `approval` is an approval verified
/// for this presentation by [`Verifier::verify_approval`].
///
/// # Errors
/// [`Denied`] with the first reason.
pub fn authorize(
    verified: &Verified,
    action: &Action,
    approval: Option<&VerifiedApproval>,
) -> Result<Authorized, Denied> {
    let Some(binding) = &verified.key_binding else {
        return Err(Denied::Unbound);
    };
    if verified.rights_concealable() {
        return Err(Denied::ConcealableRights);
    }
    action.check().map_err(Denied::InvalidAction)?;
    let rights = match &verified.chain {
        Some(chain) => {
            let signed = Action::from_json(&chain.action).map_err(|error| {
                Denied::ActionMismatch(format!("the signed action is not usable: {}", error.0))
            })?;
            if !signed.same_as(action) {
                return Err(Denied::ActionMismatch(format!("signed: {signed}")));
            }
            chain.effective_rights.clone()
        }
        None => Rights::from_root(&verified.claims, verified.expires_at)
            .map_err(|_| Denied::NoRights)?,
    };
    if !rights.allows_audience(&binding.audience) {
        return Err(Denied::Audience(truncate(&binding.audience)));
    }
    if !rights
        .scope
        .iter()
        .any(|granted| scope_within(&action.scope, granted))
    {
        return Err(Denied::Scope(truncate(&action.scope)));
    }
    if let Some(prefixes) = &rights.resources {
        if !prefixes
            .iter()
            .any(|prefix| resource_within(&action.resource, prefix))
        {
            return Err(Denied::Resource(truncate(&action.resource)));
        }
    }
    let approval_checked = check_constraints(&rights, verified, action, approval)?;
    Ok(Authorized {
        action: action.clone(),
        delegated: verified.chain.is_some(),
        constraints: rights.constraints.keys().cloned().collect(),
        approval_checked,
    })
}

/// Enforces every constraint; returns whether an approval was needed.
fn check_constraints(
    rights: &Rights,
    verified: &Verified,
    action: &Action,
    approval: Option<&VerifiedApproval>,
) -> Result<bool, Denied> {
    let constraints = &rights.constraints;
    if let Some(unknown) = constraints
        .keys()
        .find(|name| !KNOWN_CONSTRAINTS.contains(&name.as_str()))
    {
        return Err(Denied::UnknownConstraint(truncate(unknown)));
    }
    let limit = |name: &str| match constraints.get(name) {
        None => Ok(None),
        Some(value) => match value.as_f64() {
            Some(number) if number.is_finite() && number >= 0.0 => Ok(Some(number)),
            _ => Err(Denied::MalformedConstraint(name.to_owned())),
        },
    };
    let max_amount = limit("max_amount")?;
    let approval_above = limit("approval_above")?;
    if let Some(currency) = constraints.get("currency") {
        let expected = currency
            .as_str()
            .ok_or_else(|| Denied::MalformedConstraint("currency".to_owned()))?;
        if action.amount.is_some() && action.currency.as_deref() != Some(expected) {
            return Err(Denied::Currency {
                expected: expected.to_owned(),
                found: action.currency.clone(),
            });
        }
    }
    let amount = action.amount.unwrap_or(0.0);
    if let Some(limit) = max_amount {
        if amount > limit {
            return Err(Denied::Amount { amount, limit });
        }
    }
    let Some(threshold) = approval_above else {
        return Ok(false);
    };
    if amount <= threshold {
        return Ok(false);
    }
    let approval = approval.ok_or(Denied::ApprovalRequired(threshold))?;
    // The approval was verified for a presentation; make sure it was this one's
    // principal and holder, then that it approves exactly this action.
    let principal = verified.claims.get("on_behalf_of").and_then(Value::as_str);
    if principal.is_none() || principal != Some(approval.credential.issuer.as_str()) {
        return Err(Denied::ApprovalMismatch("not issued by the root principal"));
    }
    if approval.credential.holder_key.is_none()
        || approval.credential.holder_key != verified.holder_key
    {
        return Err(Denied::ApprovalMismatch("issued to another holder"));
    }
    if !approval.action.same_as(action) {
        return Err(Denied::ApprovalMismatch("approves another action"));
    }
    Ok(true)
}
