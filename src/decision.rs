//! One presentation's decision, for `agentid verify` and the verifier service
//! alike: the verification's verdict, then, when an action is named, its
//! authorization, with the principal's approval checked by the same verifier (trust
//! store, status lists, policy) as a credential from the root principal.
//!
//! [`Decision::to_json`] is the one JSON shape both answer with:
//!
//! - allowed: `{"valid": true, "holder_binding_checked", "status_checked",
//!   "authorization": <Authorized> | null, "verified": <Verified>}`
//!   (`authorization` is null when no action was named);
//! - not verified: `{"valid": false, "kind": "<rejection kind>", "reason"}`;
//! - verified, the action denied: `{"valid": false, "kind": "denied",
//!   "reason": "action denied: …"}`.

use agentid_verifier::authorize::{authorize, Action, Authorized, Denied};
use agentid_verifier::{Verified, Verifier, VerifyError};
use serde_json::{json, Value};

/// The `kind` of a verified presentation whose action is denied.
pub(crate) const DENIED: &str = "denied";

/// What one presentation (and the action it names, if any) gets.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Verified, and the action named (if any) authorized.
    Allowed {
        /// What was verified.
        verified: Box<Verified>,
        /// What was authorized; `None` when no action was named.
        authorized: Option<Authorized>,
    },
    /// The presentation (or credential) did not verify.
    Rejected(VerifyError),
    /// Verified, but the action it names is not allowed.
    Denied(Denied),
}

impl Decision {
    /// Decides `verdict` (made by `verifier` at `now`) for `action`, if one is
    /// named, with `approval` (the principal's approval credential, as text).
    pub(crate) fn decide(
        verifier: &Verifier,
        verdict: Result<Verified, VerifyError>,
        action: Option<&Action>,
        approval: Option<&str>,
        now: u64,
    ) -> Decision {
        let verified = match verdict {
            Ok(verified) => verified,
            Err(error) => return Decision::Rejected(error),
        };
        let Some(action) = action else {
            return Decision::Allowed {
                verified: Box::new(verified),
                authorized: None,
            };
        };
        match authorize_action(&verified, action, approval, verifier, now) {
            Ok(authorized) => Decision::Allowed {
                verified: Box::new(verified),
                authorized: Some(authorized),
            },
            Err(denied) => Decision::Denied(denied),
        }
    }

    /// The rejection's `kind` (`denied` for an action denied); `None` when allowed.
    pub(crate) fn kind(&self) -> Option<&'static str> {
        match self {
            Decision::Allowed { .. } => None,
            Decision::Rejected(error) => Some(error.kind().as_str()),
            Decision::Denied(_) => Some(DENIED),
        }
    }

    /// Why it was refused; `None` when allowed.
    pub(crate) fn reason(&self) -> Option<String> {
        match self {
            Decision::Allowed { .. } => None,
            Decision::Rejected(error) => Some(crate::timefmt::reason(error)),
            Decision::Denied(denied) => Some(format!("action denied: {denied}")),
        }
    }

    /// The JSON answer (see the module docs). `holder_binding_checked` says whether
    /// a presentation's key binding was checked (false for a bare credential).
    pub(crate) fn to_json(&self, holder_binding_checked: bool) -> Value {
        match self {
            Decision::Allowed {
                verified,
                authorized,
            } => json!({
                "valid": true,
                "holder_binding_checked": holder_binding_checked,
                "status_checked": verified.status.is_some(),
                "authorization": authorized,
                "verified": verified,
            }),
            refused => json!({
                "valid": false,
                "kind": refused.kind(),
                "reason": refused.reason(),
            }),
        }
    }
}

/// Decides `action` for a verified presentation. The approval is checked by the
/// same verifier (trust store, status lists, policy) as the presentation, as a
/// credential from its root principal.
fn authorize_action(
    verified: &Verified,
    action: &Action,
    approval: Option<&str>,
    verifier: &Verifier,
    now: u64,
) -> Result<Authorized, Denied> {
    let approval = approval
        .map(|text| verifier.verify_approval(text.trim(), verified, now))
        .transpose()?;
    authorize(verified, action, approval.as_ref())
}
