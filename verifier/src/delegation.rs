//! Delegation chains in the Delegate SD-JWT wire format (AP2 v0.2,
//! draft-gco-oauth-delegate-sd-jwt): `<root SD-JWT>~<d…>~~<hop>~<d…>~~…~~<terminal>~<d…>~`.
//!
//! Each hop is an SD-JWT signed with the previous holder's `cnf` key, bound to the
//! preceding segment by `sd_hash` (or `issuer_jwt_hash`), whose one disclosed
//! `delegate_payload` object either names the next delegate (`cnf`, an intermediate
//! hop, `typ: kb+sd-jwt+kb`) with the narrowed rights, or is the action for one
//! verifier (no `cnf`, the terminal hop, `typ: kb+sd-jwt`, carrying that verifier's
//! `aud` and `nonce`). Every hop may only narrow: scopes within the parent's (`*`
//! suffix wildcards), resources within the parent's URI prefixes, numeric
//! constraints at most the parent's, expiry at most the parent's, remaining depth
//! one less. See `docs/notes-delegation.md`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::did_key;
pub(crate) use crate::error::truncate;
use crate::error::{SignatureRole, VerifyError};
use crate::jws::{numeric_date, string_claim, CompactJws};
use crate::key::PublicKey;
use crate::resource::resource_within;
use crate::reveal::reveal;
use crate::sd_jwt::{sha256_b64, SdJwtParts};
use crate::verify::{Checked, KeyBinding, PendingSignature, PresentationRequest, Verifier};

/// `typ` of an intermediate hop (AP2 emits it; draft -01 spells it `kb-sd-jwt+kb`).
pub const INTERMEDIATE_TYP: &str = "kb+sd-jwt+kb";
/// `typ` of the terminal hop (draft -01: `kb-sd-jwt`).
pub const TERMINAL_TYP: &str = "kb+sd-jwt";
/// Claims that grant or limit rights (read by [`Rights::from_root`] and by
/// [`crate::authorize::authorize`]). They must be issuer-signed in the clear: a
/// concealed limit is one the holder could simply not disclose. A credential whose
/// rights claims are (or contain) selectively disclosable parts grants no rights.
pub const RIGHTS_CLAIMS: [&str; 5] = [
    "scope",
    "resources",
    "audience",
    "constraints",
    "max_delegation_depth",
];

/// Most delegations a chain may have (the terminal hop comes on top); the task
/// schema's `max_delegation_depth` has the same ceiling.
pub const MAX_DELEGATIONS: usize = 8;

/// What a link of the chain may do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Rights {
    /// Permitted scopes; a trailing `*` matches any suffix.
    pub scope: Vec<String>,
    /// URI prefixes the holder may act on; `None` (the claim absent) means
    /// unrestricted, an empty list means none.
    pub resources: Option<Vec<String>>,
    /// Verifiers that may accept the credential (their `aud`); `None` (the claim
    /// absent) means any verifier, an empty list means none.
    pub audience: Option<Vec<String>>,
    /// Numeric limits (`max_amount`, …) and other constraints that must match.
    pub constraints: Map<String, Value>,
    /// When the rights end.
    pub expires_at: u64,
    /// How many further delegations are allowed.
    pub max_depth: u64,
}

/// One delegation in a verified chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Delegation {
    /// The delegate's did:key.
    pub delegate: String,
    /// The rights handed to it (already checked to be within the parent's).
    pub rights: Rights,
    /// When the delegating agent signed it.
    pub issued_at: u64,
}

/// A chain that passed every structural check: root, delegations, the terminal
/// action, and the effective rights of the presenting agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Chain {
    /// The rights the root credential grants.
    pub root_rights: Rights,
    /// Each delegation, in order.
    pub delegations: Vec<Delegation>,
    /// The presenting agent's rights: the last delegation's, or the root's.
    pub effective_rights: Rights,
    /// The terminal hop's delegate object: the action requested of this verifier
    /// (`null` for a delegation checked without a request, as a sub-agent's wallet does).
    pub action: Value,
}

fn widened(what: &str) -> VerifyError {
    VerifyError::DelegationWidened(what.to_owned())
}

impl Rights {
    /// Reads rights from a root credential's claims (its `exp` passed separately).
    /// The rights a root credential grants, from its verified claims and `exp`.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] without a scope or `exp`.
    pub fn from_root(
        claims: &Map<String, Value>,
        expires_at: Option<u64>,
    ) -> Result<Self, VerifyError> {
        let scope = strings(claims.get("scope"), "scope")?
            .ok_or_else(|| VerifyError::malformed("a delegated credential needs a scope"))?;
        let resources = strings(claims.get("resources"), "resources")?;
        let audience = strings(claims.get("audience"), "audience")?;
        let constraints = match claims.get("constraints") {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(VerifyError::malformed("constraints is not an object")),
        };
        let max_depth = match claims.get("max_delegation_depth") {
            None => 0,
            Some(value) => value.as_u64().ok_or_else(|| {
                VerifyError::malformed("max_delegation_depth is not a whole number")
            })?,
        };
        let expires_at =
            expires_at.ok_or_else(|| VerifyError::malformed("a delegated credential needs exp"))?;
        Ok(Rights {
            scope,
            resources,
            audience,
            constraints,
            expires_at,
            max_depth,
        })
    }

    /// True when these rights let the credential be presented to `verifier` (the
    /// request's audience, compared exactly as RFC 7519 compares `aud` values).
    pub fn allows_audience(&self, verifier: &str) -> bool {
        audience_allows(self.audience.as_deref(), verifier)
    }

    /// Reads a delegation's rights, inheriting what it does not restrict, and checks
    /// that they are within `parent`.
    /// The rights a delegation object grants, checked to be within `self`: what the
    /// verifier checks on every hop, and what a wallet checks before it signs one.
    ///
    /// # Errors
    /// [`VerifyError::DelegationWidened`] naming the first widened field.
    pub fn narrow(&self, object: &Map<String, Value>) -> Result<Self, VerifyError> {
        let parent = self;
        if parent.max_depth == 0 {
            return Err(widened("depth (no further delegation allowed)"));
        }
        let scope = strings(object.get("scope"), "scope")?.unwrap_or_else(|| parent.scope.clone());
        for wanted in &scope {
            if !parent
                .scope
                .iter()
                .any(|granted| scope_within(wanted, granted))
            {
                return Err(widened("scope"));
            }
        }
        let resources = match strings(object.get("resources"), "resources")? {
            None => parent.resources.clone(),
            Some(child) => {
                if let Some(granted) = &parent.resources {
                    if !child
                        .iter()
                        .all(|wanted| granted.iter().any(|prefix| resource_within(wanted, prefix)))
                    {
                        return Err(widened("resources"));
                    }
                }
                Some(child)
            }
        };
        let audience = match strings(object.get("audience"), "audience")? {
            None => parent.audience.clone(),
            Some(child) => {
                if !child.iter().all(|wanted| parent.allows_audience(wanted)) {
                    return Err(widened("audience"));
                }
                Some(child)
            }
        };
        let mut constraints = parent.constraints.clone();
        if let Some(child) = object.get("constraints") {
            let Value::Object(child) = child else {
                return Err(VerifyError::malformed("constraints is not an object"));
            };
            for (name, value) in child {
                match (parent.constraints.get(name), value) {
                    (Some(Value::Number(granted)), Value::Number(wanted)) => {
                        let (Some(granted), Some(wanted)) = (granted.as_f64(), wanted.as_f64())
                        else {
                            return Err(widened("constraints"));
                        };
                        if wanted > granted {
                            return Err(widened(&format!("constraints.{name}")));
                        }
                    }
                    (Some(granted), wanted) if granted != wanted => {
                        return Err(widened(&format!("constraints.{name}")))
                    }
                    _ => {}
                }
                constraints.insert(name.clone(), value.clone());
            }
        }
        let expires_at = numeric_date(object, "exp", "delegation")?
            .ok_or_else(|| VerifyError::malformed("a delegation needs exp"))?;
        if expires_at > parent.expires_at {
            return Err(widened("expiry"));
        }
        let max_depth = match object.get("max_delegation_depth") {
            None => parent.max_depth - 1,
            Some(value) => {
                let depth = value.as_u64().ok_or_else(|| {
                    VerifyError::malformed("max_delegation_depth is not a whole number")
                })?;
                if depth > parent.max_depth - 1 {
                    return Err(widened("depth"));
                }
                depth
            }
        };
        Ok(Rights {
            scope,
            resources,
            audience,
            constraints,
            expires_at,
            max_depth,
        })
    }
}

/// True when an `audience` rights claim (absent: any verifier) admits `verifier`.
pub(crate) fn audience_allows(audience: Option<&[String]>, verifier: &str) -> bool {
    audience.is_none_or(|allowed| allowed.iter().any(|entry| entry == verifier))
}

/// True when scope `wanted` is within `granted` (`refunds:*` grants `refunds:write`
/// and `refunds:w*`).
pub fn scope_within(wanted: &str, granted: &str) -> bool {
    match granted.strip_suffix('*') {
        None => wanted == granted,
        Some(prefix) => wanted.starts_with(prefix),
    }
}

pub(crate) fn strings(
    value: Option<&Value>,
    what: &str,
) -> Result<Option<Vec<String>>, VerifyError> {
    match value {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| VerifyError::malformed(format!("{what} holds a non-string")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(VerifyError::malformed(format!("{what} is not an array"))),
    }
}

impl Verifier {
    /// Checks a delegation chain: the root as an issued credential, then every hop.
    pub(crate) fn check_chain(
        &self,
        input: &str,
        request: Option<&PresentationRequest>,
        now: u64,
    ) -> Result<Checked, VerifyError> {
        let limit = self.policy().limits.max_presentation_bytes;
        if input.len() > limit {
            return Err(VerifyError::LimitExceeded(format!(
                "presentation is larger than {limit} bytes"
            )));
        }
        let restored = split_chain(input)?;
        let mut checked = self.check(&restored[0], None, now)?;
        let mut holder = checked.verified.holder_key.clone().ok_or_else(|| {
            VerifyError::MissingHolderKey("the root credential has no cnf".into())
        })?;
        if checked.verified.rights_concealable {
            return Err(VerifyError::disclosure(
                "the root credential's rights claims are selectively disclosable, so a limit could be withheld",
            ));
        }
        let root_rights = Rights::from_root(&checked.verified.claims, checked.verified.expires_at)?;
        let mut rights = root_rights.clone();
        let mut seen_keys = vec![did_key::encode(&holder)];
        let mut delegations = Vec::new();
        let depth = self.policy().limits.max_json_depth;
        let skew = self.policy().clock_skew_secs;

        for (position, segment) in restored.iter().enumerate().skip(1) {
            let last = position + 1 == restored.len();
            let parts = SdJwtParts::parse(segment, &self.policy().limits)?;
            if parts.kb_jwt.is_some() {
                return Err(VerifyError::malformed("a delegation hop ends with '~'"));
            }
            let mut hop = CompactJws::parse(parts.issuer_jwt, depth, "delegation hop")?;
            if hop.alg != holder.algorithm() {
                return Err(VerifyError::InvalidSignature(SignatureRole::Delegation));
            }
            checked.signatures.push(PendingSignature {
                role: SignatureRole::Delegation,
                key: holder.clone(),
                alg: hop.alg,
                message: hop.signing_input.as_bytes().to_vec(),
                signature: std::mem::take(&mut hop.signature),
            });
            let previous = &restored[position - 1];
            check_binding(&hop.payload, previous)?;
            let issued_at = numeric_date(&hop.payload, "iat", "delegation hop")?
                .ok_or_else(|| VerifyError::malformed("a delegation hop has no iat"))?;
            if issued_at > now.saturating_add(skew) {
                return Err(VerifyError::NotYetValid {
                    valid_from: issued_at,
                });
            }
            crate::jws::check_token_window(&hop.payload, "delegation hop", now, skew)?;
            let audience = string_claim(&hop.payload, "aud", "delegation hop")?
                .ok_or_else(|| VerifyError::malformed("a delegation hop has no aud"))?
                .to_owned();
            let nonce = string_claim(&hop.payload, "nonce", "delegation hop")?
                .ok_or_else(|| VerifyError::malformed("a delegation hop has no nonce"))?
                .to_owned();
            let typ = hop.typ.clone();
            let revealed = reveal(std::mem::take(&mut hop.payload), &parts.disclosures, depth)?;
            let object = match revealed.get("delegate_payload") {
                Some(Value::Array(items)) if items.len() == 1 => match &items[0] {
                    Value::Object(object) => object.clone(),
                    _ => return Err(VerifyError::malformed("delegate_payload holds no object")),
                },
                _ => {
                    return Err(VerifyError::malformed(
                        "delegate_payload must disclose exactly one object",
                    ))
                }
            };
            match object.get("cnf") {
                Some(cnf) => {
                    // A presentation must end with a terminal hop; a delegation handed to a
                    // sub-agent (checked without a request) ends with an intermediate one.
                    if !matches!(typ.as_deref(), Some(INTERMEDIATE_TYP | "kb-sd-jwt+kb"))
                        || (last && request.is_some())
                    {
                        return Err(VerifyError::UnexpectedType {
                            found: typ,
                            expected: INTERMEDIATE_TYP.into(),
                        });
                    }
                    let delegate = cnf
                        .get("jwk")
                        .ok_or_else(|| {
                            VerifyError::MissingHolderKey("the delegation's cnf has no jwk".into())
                        })
                        .and_then(|jwk| {
                            PublicKey::from_jwk(jwk)
                                .map_err(|error| VerifyError::MissingHolderKey(error.to_string()))
                        })?;
                    let delegate_did = did_key::encode(&delegate);
                    if seen_keys.contains(&delegate_did) {
                        return Err(VerifyError::DelegationCycle);
                    }
                    rights = rights.narrow(&object)?;
                    if now > rights.expires_at.saturating_add(skew) {
                        return Err(VerifyError::Expired {
                            expired_at: rights.expires_at,
                        });
                    }
                    // The delegating holder's DID is the last key seen.
                    let delegator = seen_keys.last().map(String::as_str).unwrap_or_default();
                    self.check_status(object.get("status"), delegator, now)?;
                    seen_keys.push(delegate_did.clone());
                    delegations.push(Delegation {
                        delegate: delegate_did,
                        rights: rights.clone(),
                        issued_at,
                    });
                    holder = delegate;
                }
                None => {
                    let Some(request) = request else {
                        return Err(VerifyError::UnexpectedKeyBinding);
                    };
                    if !matches!(typ.as_deref(), Some(TERMINAL_TYP | "kb-sd-jwt")) || !last {
                        return Err(VerifyError::UnexpectedType {
                            found: typ,
                            expected: TERMINAL_TYP.into(),
                        });
                    }
                    if audience != request.audience {
                        return Err(VerifyError::AudienceMismatch);
                    }
                    if !rights.allows_audience(&request.audience) {
                        return Err(VerifyError::AudienceNotAllowed(truncate(&request.audience)));
                    }
                    if nonce != request.nonce {
                        return Err(VerifyError::NonceMismatch);
                    }
                    // A terminal hop has no transaction_data_hashes: a request that
                    // sent transaction data is not acknowledged by a chain.
                    if !request.transaction_data.is_empty() {
                        return Err(VerifyError::TransactionDataMismatch(
                            "a delegation chain cannot acknowledge transaction data".into(),
                        ));
                    }
                    let oldest = now.saturating_sub(
                        self.policy().max_key_binding_age_secs.saturating_add(skew),
                    );
                    if issued_at < oldest {
                        return Err(VerifyError::StaleKeyBinding { iat: issued_at });
                    }
                    checked.verified.key_binding = Some(KeyBinding {
                        audience,
                        nonce,
                        issued_at,
                        transaction_data_hashes: Vec::new(),
                    });
                    checked.verified.holder_key = Some(holder.clone());
                    checked.verified.chain = Some(Chain {
                        root_rights,
                        delegations,
                        effective_rights: rights,
                        action: Value::Object(object),
                    });
                    return Ok(checked);
                }
            }
        }
        if request.is_some() {
            return Err(VerifyError::malformed("the chain has no terminal hop"));
        }
        // A delegation as received by the sub-agent: no key binding yet.
        checked.verified.holder_key = Some(holder);
        checked.verified.chain = Some(Chain {
            root_rights,
            delegations,
            effective_rights: rights,
            action: Value::Null,
        });
        Ok(checked)
    }
}

/// The segments of a `~~`-joined chain, each as the SD-JWT it was before the join
/// (every segment but the last lost its trailing `~`), at most [`MAX_DELEGATIONS`]
/// delegations plus the terminal hop.
pub(crate) fn split_chain(input: &str) -> Result<Vec<String>, VerifyError> {
    let segments: Vec<&str> = input.split("~~").collect();
    if segments.len() - 1 > MAX_DELEGATIONS + 1 {
        return Err(VerifyError::LimitExceeded(format!(
            "more than {MAX_DELEGATIONS} delegations"
        )));
    }
    let last = segments.len() - 1;
    Ok(segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            if index < last {
                format!("{segment}~")
            } else {
                (*segment).to_owned()
            }
        })
        .collect())
}

/// Exactly one of `sd_hash` (over the previous segment as presented, with its
/// disclosures and trailing '~') and `issuer_jwt_hash` (over its JWT alone).
pub(crate) fn check_binding(
    payload: &Map<String, Value>,
    previous: &str,
) -> Result<(), VerifyError> {
    let sd_hash = string_claim(payload, "sd_hash", "delegation hop")?;
    let jwt_hash = string_claim(payload, "issuer_jwt_hash", "delegation hop")?;
    let matches = match (sd_hash, jwt_hash) {
        (Some(hash), None) => hash == sha256_b64(previous),
        (None, Some(hash)) => {
            let jwt = previous.split('~').next().unwrap_or_default();
            hash == sha256_b64(jwt)
        }
        _ => {
            return Err(VerifyError::malformed(
                "a hop needs exactly one of sd_hash and issuer_jwt_hash",
            ))
        }
    };
    if matches {
        Ok(())
    } else {
        Err(VerifyError::SdHashMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_with_suffix_wildcards() {
        assert!(scope_within("refunds:write", "refunds:write"));
        assert!(scope_within("refunds:write", "refunds:*"));
        assert!(scope_within("refunds:w*", "refunds:*"));
        assert!(!scope_within("refunds:*", "refunds:write"));
        assert!(!scope_within("orders:read", "refunds:*"));
        assert!(scope_within("anything", "*"));
    }
}
