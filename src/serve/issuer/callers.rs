//! Who may ask the issuer for credentials: the callers file, and the check of a
//! request's `Authorization: Bearer <assertion>`.
//!
//! ```json
//! {
//!   "callers": [
//!     {"id": "orchestrator", "jwk": {"kty": "EC", "crv": "P-256", "x": "…", "y": "…"},
//!      "vct": ["urn:agentid:vct:task:1"]},
//!     {"id": "ops", "jwk": {…}, "admin": true},
//!     {"id": "spiffe://example.org/orchestrator"}
//!   ],
//!   "spiffe_bundles": {"example.org": {"keys": [{"kty": "EC", "use": "jwt-svid", "kid": "…", …}]}}
//! }
//! ```
//!
//! A caller with a `jwk` signs RFC 7523 client assertions (a `kid` in the JWK is the
//! one its assertions must name; list a caller twice to rotate keys); a caller whose
//! id is a SPIFFE ID presents JWT-SVIDs signed by a JWT authority of its trust
//! domain's bundle. `vct` limits the types a caller may have issued (default: all);
//! `admin` lets it manage and list every credential, not only its own.

use std::collections::HashMap;
use std::path::Path;

use agentid_verifier::client_assertion::{
    verify_client_assertion, AssertionCheck, CallerKeys, VerifiedAssertion,
};
use agentid_verifier::PublicKey;
use axum::http::{header, HeaderMap};
use serde::Deserialize;
use serde_json::Value;

use super::errors::ApiRefusal;
use crate::error::CliError;
use crate::serve::state::marks::MarkKind;
use crate::serve::state::StateStore;

/// Largest callers file read, in bytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most callers in a file.
const MAX_CALLERS: usize = 10_000;
/// Clock difference tolerated either way, in seconds.
pub(super) const SKEW_SECS: u64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallersFile {
    callers: Vec<CallerEntry>,
    #[serde(default)]
    spiffe_bundles: HashMap<String, Bundle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerEntry {
    id: String,
    #[serde(default)]
    jwk: Option<Value>,
    #[serde(default)]
    vct: Option<Vec<String>>,
    #[serde(default)]
    admin: bool,
}

#[derive(Deserialize)]
struct Bundle {
    keys: Vec<Value>,
}

/// What a caller may do.
#[derive(Debug, Clone, Default)]
pub(super) struct CallerRights {
    /// Types it may have issued; `None`: all.
    pub(super) vcts: Option<Vec<String>>,
    /// Manages and lists every credential.
    pub(super) admin: bool,
}

/// The configured callers.
#[derive(Debug)]
pub(super) struct Callers {
    keys: CallerKeys,
    rights: HashMap<String, CallerRights>,
    /// The audience assertions must name: the service's public URL.
    audience: String,
    max_lifetime_secs: u64,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub(super) id: String,
    pub(super) rights: CallerRights,
}

impl Caller {
    /// Whether this caller may have `vct` issued.
    pub(super) fn may_issue(&self, vct: &str) -> bool {
        self.rights
            .vcts
            .as_ref()
            .is_none_or(|vcts| vcts.iter().any(|allowed| allowed == vct))
    }

    /// Whether this caller may manage a credential `issued_by` asked for.
    pub(super) fn may_manage(&self, issued_by: &str) -> bool {
        self.rights.admin || issued_by == self.id || issued_by == offer_caller(&self.id)
    }
}

/// The caller recorded for a credential issued by redeeming `caller`'s offer.
pub(super) fn offer_caller(caller: &str) -> String {
    format!("oid4vci:{caller}")
}

impl Callers {
    /// Reads the callers file.
    pub(super) fn load(
        path: &Path,
        audience: &str,
        max_lifetime_secs: u64,
    ) -> Result<Self, CliError> {
        let refuse = |why: String| CliError::usage(format!("--callers {}: {why}", path.display()));
        let size = std::fs::metadata(path)
            .map_err(|error| refuse(error.to_string()))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(refuse(format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|error| refuse(error.to_string()))?;
        let file: CallersFile =
            serde_json::from_str(&text).map_err(|error| refuse(error.to_string()))?;
        if file.callers.is_empty() {
            return Err(refuse(
                "no callers: nobody could ask for a credential".into(),
            ));
        }
        if file.callers.len() > MAX_CALLERS {
            return Err(refuse(format!("more than {MAX_CALLERS} callers")));
        }
        let mut keys = CallerKeys::new();
        let mut rights = HashMap::new();
        for entry in file.callers {
            if entry.id.is_empty() || entry.id.len() > 512 {
                return Err(refuse("a caller id is 1 to 512 bytes".into()));
            }
            match (&entry.jwk, entry.id.starts_with("spiffe://")) {
                (Some(jwk), _) => {
                    let key = PublicKey::from_jwk(jwk)
                        .map_err(|error| refuse(format!("caller {:?}: {error}", entry.id)))?;
                    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
                    keys.add_caller(entry.id.clone(), kid, key);
                }
                (None, true) => keys
                    .allow_spiffe_id(&entry.id)
                    .map_err(|error| refuse(format!("caller {:?}: {error}", entry.id)))?,
                (None, false) => {
                    return Err(refuse(format!(
                        "caller {:?} has no jwk (only a SPIFFE ID may go without one)",
                        entry.id
                    )))
                }
            }
            rights.insert(
                entry.id,
                CallerRights {
                    vcts: entry.vct,
                    admin: entry.admin,
                },
            );
        }
        for (domain, bundle) in file.spiffe_bundles {
            for jwk in bundle.keys {
                // A bundle also holds X.509 authorities (`use: x509-svid`): not ours.
                let usage = jwk.get("use").and_then(Value::as_str);
                if usage.is_some_and(|usage| usage != "jwt-svid") {
                    continue;
                }
                let kid = jwk
                    .get("kid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| refuse(format!("a JWT authority of {domain} has no kid")))?
                    .to_owned();
                let key = PublicKey::from_jwk(&jwk).map_err(|error| {
                    refuse(format!("JWT authority {kid:?} of {domain}: {error}"))
                })?;
                keys.add_spiffe_authority(domain.clone(), kid, key);
            }
        }
        Ok(Callers {
            keys,
            rights,
            audience: audience.to_owned(),
            max_lifetime_secs,
        })
    }

    /// How many callers are configured.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The caller of a request: its bearer assertion checked, its `jti` (if any)
    /// spent in `marks`.
    pub(super) async fn authenticate(
        &self,
        headers: &HeaderMap,
        marks: &StateStore,
        now: u64,
    ) -> Result<Caller, ApiRefusal> {
        let token = bearer(headers).ok_or_else(|| {
            ApiRefusal::Unauthenticated(
                "send Authorization: Bearer <a JWT signed by a configured caller key>".into(),
            )
        })?;
        let check = AssertionCheck {
            audience: &self.audience,
            now,
            max_lifetime_secs: self.max_lifetime_secs,
            skew_secs: SKEW_SECS,
        };
        let VerifiedAssertion {
            caller,
            jti,
            expires_at,
            ..
        } = verify_client_assertion(token, &self.keys, &check)
            .map_err(|error| ApiRefusal::Unauthenticated(error.to_string()))?;
        if let Some(jti) = jti {
            // One mark per caller and jti, kept while the assertion could be accepted.
            let mark = format!("{caller}\u{0}{jti}");
            let fresh = marks
                .mark_used(
                    MarkKind::CallerAssertion,
                    &mark,
                    expires_at.saturating_add(SKEW_SECS + 1),
                )
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "cannot record an assertion's jti");
                    ApiRefusal::Unavailable
                })?;
            if !fresh {
                return Err(ApiRefusal::Unauthenticated(
                    "this assertion was already used (its jti is single-use)".into(),
                ));
            }
        }
        let rights = self.rights.get(&caller).cloned().unwrap_or_default();
        Ok(Caller { id: caller, rights })
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}
