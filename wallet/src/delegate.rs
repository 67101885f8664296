//! Creating delegation hops (the wallet's side of `agentid_verifier::delegation`):
//! a holder hands a narrower part of its rights to a sub-agent's key, and a
//! delegate ends the chain with a terminal hop for one verifier.

use agentid_verifier::authorize::Action;
use agentid_verifier::delegation::{Rights, INTERMEDIATE_TYP, TERMINAL_TYP};
use agentid_verifier::{
    b64url_encode, did_key, sha256_b64, Limits, PathSegment, PresentationRequest, PublicKey,
    UnverifiedSdJwt,
};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};

use crate::error::WalletError;
use crate::issuer::cnf;
use crate::jws::sign_compact;
use crate::keys::SigningKey;

/// The `vct` of a delegation object.
pub const DELEGATION_VCT: &str = "urn:agentid:vct:delegation:1";

/// What to hand to a sub-agent: each field left `None` is inherited unchanged.
#[derive(Debug, Clone)]
pub struct DelegationSpec {
    /// The sub-agent's key (its did:key).
    pub to: PublicKey,
    /// Scopes, within the holder's.
    pub scope: Option<Vec<String>>,
    /// URI prefixes, within the holder's.
    pub resources: Option<Vec<String>>,
    /// Constraints, numeric ones at most the holder's (`max_amount`, …).
    pub constraints: Map<String, Value>,
    /// Seconds from now; the delegation may not outlive the holder's rights.
    pub lifetime_secs: u64,
    /// Further delegations the sub-agent may make (default: one less than the holder).
    pub max_depth: Option<u64>,
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    b64url_encode(&bytes)
}

/// The last segment of a credential or chain, as the next hop binds to it (with its
/// trailing `~`).
pub(crate) fn last_segment(chain: &str) -> &str {
    chain.rsplit("~~").next().unwrap_or(chain)
}

/// How a hop binds to the segment before it (draft-gco-oauth-delegate-sd-jwt §5.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HopBinding {
    /// `sd_hash` over the previous segment as sent, disclosures included: later
    /// holders cannot drop any of them. The default.
    #[default]
    SdHash,
    /// `issuer_jwt_hash` over the previous segment's issuer-signed JWT only: later
    /// holders may drop its disclosures.
    IssuerJwtHash,
}

impl HopBinding {
    /// The binding claim and its value for a hop over `previous` (the segment before
    /// it, with its trailing `~`).
    pub(crate) fn claim(self, previous: &str) -> (&'static str, String) {
        match self {
            HopBinding::SdHash => ("sd_hash", sha256_b64(previous)),
            HopBinding::IssuerJwtHash => (
                "issuer_jwt_hash",
                sha256_b64(previous.split('~').next().unwrap_or(previous)),
            ),
        }
    }
}

/// Signs one hop over `previous` and returns the chain extended by it.
#[allow(clippy::too_many_arguments)]
fn extend(
    chain: &str,
    holder_key: &SigningKey,
    typ: &str,
    object: Value,
    audience: &str,
    nonce: &str,
    binding: HopBinding,
    now: u64,
) -> String {
    let disclosure = b64url_encode(json!([random_token(), object]).to_string().as_bytes());
    let mut payload = Map::new();
    payload.insert(
        "delegate_payload".into(),
        json!([{"...": sha256_b64(&disclosure)}]),
    );
    payload.insert("iat".into(), now.into());
    payload.insert("aud".into(), audience.into());
    payload.insert("nonce".into(), nonce.into());
    let (claim, hash) = binding.claim(last_segment(chain));
    payload.insert(claim.into(), hash.into());
    payload.insert("_sd_alg".into(), "sha-256".into());
    let mut header = Map::new();
    header.insert("alg".into(), holder_key.algorithm().as_str().into());
    header.insert("typ".into(), typ.into());
    let hop = sign_compact(&header, &payload, holder_key);
    // Segments are joined by dropping the previous one's trailing '~' and adding "~~".
    format!("{}~~{hop}~{disclosure}~", chain.trim_end_matches('~'))
}

/// Claims of the root credential a delegation keeps disclosed: the principal, whose
/// approvals the delegates' actions may need.
const FORWARDED_CLAIMS: [&str; 1] = ["on_behalf_of"];

/// The root credential as it travels in a delegation: its issuer JWT and only the
/// disclosures of [`FORWARDED_CLAIMS`]. Its rights claims are always in the clear, so
/// neither the sub-agent nor any verifier after it needs (or learns) a concealed
/// claim such as a task's purpose or a committed birthdate.
///
/// Every segment of a chain but the last must carry at least one disclosure: chains
/// join segments with `~~`, so a root `JWT~` would travel as `JWT~~…`, a segment AP2
/// and other Delegate SD-JWT parsers cannot tell from a JWT followed by a KB-JWT
/// (docs/notes-delegation.md, "Serialization"). agentid's issuer keeps the principal
/// disclosable in every delegable credential for this reason; a root with nothing to
/// forward is refused rather than sent in a form others misread.
fn root_for_delegation(root: &str) -> Result<String, WalletError> {
    let parsed = UnverifiedSdJwt::parse(root, &Limits::default())?;
    let map = parsed.disclosure_map()?;
    let disclosures: Vec<&str> = parsed.disclosures().collect();
    let mut forwarded = format!("{}~", parsed.issuer_jwt());
    let mut count = 0;
    for (path, index) in &map.paths {
        let top_level = matches!(path.segments(), [PathSegment::Key(name)] if FORWARDED_CLAIMS.contains(&name.as_str()));
        if let Some(disclosure) = disclosures.get(*index).filter(|_| top_level) {
            forwarded.push_str(disclosure);
            forwarded.push('~');
            count += 1;
        }
    }
    if count == 0 {
        return Err(WalletError::request(
            "the credential has no selectively disclosable on_behalf_of to forward; \
             a delegation chain's root must carry one disclosure (see docs/notes-delegation.md)",
        ));
    }
    Ok(forwarded)
}

/// Delegates part of `parent` rights (those of `chain`, held with `holder_key`) to
/// `spec.to`, refusing anything that would widen them.
///
/// # Errors
/// [`WalletError::Verify`] with `DelegationWidened` naming the widened field;
/// [`WalletError::InvalidRequest`] for a root with no disclosure to forward.
pub fn delegate(
    chain: &str,
    holder_key: &SigningKey,
    parent: &Rights,
    spec: &DelegationSpec,
    now: u64,
) -> Result<String, WalletError> {
    delegate_bound(chain, holder_key, parent, spec, HopBinding::SdHash, now)
}

/// [`delegate`], binding the new hop to the previous segment as `binding` says.
///
/// # Errors
/// As [`delegate`].
pub fn delegate_bound(
    chain: &str,
    holder_key: &SigningKey,
    parent: &Rights,
    spec: &DelegationSpec,
    binding: HopBinding,
    now: u64,
) -> Result<String, WalletError> {
    let expires_at = now
        .checked_add(spec.lifetime_secs)
        .ok_or_else(|| WalletError::request("lifetime overflows"))?;
    let mut object = Map::new();
    object.insert("vct".into(), DELEGATION_VCT.into());
    if let Some(scope) = &spec.scope {
        object.insert("scope".into(), json!(scope));
    }
    if let Some(resources) = &spec.resources {
        object.insert("resources".into(), json!(resources));
    }
    if !spec.constraints.is_empty() {
        object.insert(
            "constraints".into(),
            Value::Object(spec.constraints.clone()),
        );
    }
    if let Some(depth) = spec.max_depth {
        object.insert("max_delegation_depth".into(), depth.into());
    }
    object.insert("exp".into(), expires_at.into());
    object.insert("cnf".into(), cnf(&spec.to));
    // The same check the verifier makes on every hop: a wallet never signs a widening.
    parent.narrow(&object)?;
    let audience = did_key::encode(&spec.to);
    let chain = if chain.contains("~~") {
        chain.to_owned()
    } else {
        root_for_delegation(chain)?
    };
    Ok(extend(
        &chain,
        holder_key,
        INTERMEDIATE_TYP,
        Value::Object(object),
        &audience,
        &random_token(),
        binding,
        now,
    ))
}

/// Ends a delegation chain held with `holder_key` with a terminal hop for one
/// verifier, carrying `action` (an object without `cnf`).
///
/// # Errors
/// [`WalletError::InvalidRequest`] for an action that is not an agentid action
/// object (`{"scope", "resource", "amount"?, "currency"?}`, see
/// [`agentid_verifier::authorize::Action::from_json`]): verifiers authorize exactly
/// the action signed, so the wallet signs nothing they would refuse to read.
pub fn present_delegated(
    chain: &str,
    holder_key: &SigningKey,
    action: &Value,
    request: &PresentationRequest,
    now: u64,
) -> Result<String, WalletError> {
    present_delegated_bound(chain, holder_key, action, request, HopBinding::SdHash, now)
}

/// [`present_delegated`], binding the terminal hop as `binding` says.
///
/// # Errors
/// As [`present_delegated`].
pub fn present_delegated_bound(
    chain: &str,
    holder_key: &SigningKey,
    action: &Value,
    request: &PresentationRequest,
    binding: HopBinding,
    now: u64,
) -> Result<String, WalletError> {
    let Value::Object(object) = action else {
        return Err(WalletError::request("the action must be a JSON object"));
    };
    if object.contains_key("cnf") {
        return Err(WalletError::request(
            "an action cannot name a further delegate (cnf)",
        ));
    }
    Action::from_json(action).map_err(|error| WalletError::request(error.to_string()))?;
    if !request.transaction_data.is_empty() {
        return Err(WalletError::request(
            "a delegation chain cannot acknowledge transaction data (no KB-JWT carries the hashes)",
        ));
    }
    Ok(extend(
        chain,
        holder_key,
        TERMINAL_TYP,
        action.clone(),
        &request.audience,
        &request.nonce,
        binding,
        now,
    ))
}
