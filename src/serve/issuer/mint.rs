//! Minting: what a caller asks for, checked at the edge, then signed and recorded
//! with a status list entry no other credential has.
//!
//! An entry is drawn at random from the current list (2^20 entries: an index says
//! little about issuance order); the credential is signed naming it and recorded,
//! and the store's unique key refuses an entry already taken, by any node; then the
//! credential is signed again with another. After [`DRAWS_PER_LIST`] taken entries
//! in a row the list is deemed full enough and the next one is opened (by whichever
//! node gets there first). The credential is answered only once its record is
//! durable: a node killed before then has acknowledged nothing.

use std::sync::atomic::{AtomicU32, Ordering};

use agentid_verifier::{did_key, ClaimPath, PublicKey};
use agentid_wallet::{CredentialRequest, Issuer, WalletError, STATUS_LIST_ENTRIES};
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::errors::ApiRefusal;
use crate::serve::state::issuer::{CredentialStatus, IssuedRecord, IssuerStore, IssuerStoreError};

/// Taken entries drawn in a row before the next list is opened: at a fill of one
/// half that happens once in 256 issuances, so lists fill to well over half.
const DRAWS_PER_LIST: u32 = 8;
/// Lists tried per issuance before giving up.
const LISTS_PER_ISSUANCE: u32 = 3;
/// Largest claims object, serialized, in bytes.
const MAX_CLAIMS_BYTES: usize = 64 * 1024;
/// Deepest nesting of the claims.
const MAX_CLAIMS_DEPTH: usize = 16;
/// Most selectively disclosable paths.
const MAX_SD_PATHS: usize = 256;
/// The lifetime when the caller names none, in seconds.
pub(super) const DEFAULT_TTL_SECS: u64 = 15 * 60;

/// The body of `POST /v1/credentials` (and, without `subject`, of an offer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CredentialBody {
    /// The agent: a DID (did:key) or `{"jwk": {…}}`.
    #[serde(default)]
    pub(super) subject: Option<Value>,
    pub(super) vct: String,
    pub(super) claims: Map<String, Value>,
    /// Claim paths the holder may disclose selectively (`task.purpose`, `a.b[0]`).
    #[serde(default)]
    pub(super) sd: Vec<String>,
    /// Seconds, or a duration such as `10m`.
    #[serde(default)]
    pub(super) ttl: Option<Value>,
}

/// The subject's DID and key.
pub(super) fn subject_of(subject: &Value) -> Result<(String, PublicKey), ApiRefusal> {
    match subject {
        Value::String(did) => {
            let key = did_key::decode(did).map_err(|error| {
                ApiRefusal::Invalid(format!("/subject: not a did:key ({error})"))
            })?;
            Ok((did.clone(), key))
        }
        Value::Object(object) => {
            let jwk = object
                .get("jwk")
                .filter(|_| object.len() == 1)
                .ok_or_else(|| {
                    ApiRefusal::Invalid("/subject: a DID string or {\"jwk\": {…}}".into())
                })?;
            let key = PublicKey::from_jwk(jwk)
                .map_err(|error| ApiRefusal::Invalid(format!("/subject/jwk: {error}")))?;
            Ok((did_key::encode(&key), key))
        }
        _ => Err(ApiRefusal::Invalid(
            "/subject: a DID string or {\"jwk\": {…}}".into(),
        )),
    }
}

/// The lifetime asked for, in seconds.
pub(super) fn ttl_of(ttl: Option<&Value>) -> Result<u64, ApiRefusal> {
    match ttl {
        None => Ok(DEFAULT_TTL_SECS),
        Some(Value::Number(number)) => number
            .as_u64()
            .filter(|secs| *secs > 0)
            .ok_or_else(|| ApiRefusal::Invalid("/ttl: a positive whole number of seconds".into())),
        Some(Value::String(text)) if text.len() <= 32 => humantime::parse_duration(text)
            .ok()
            .map(|duration| duration.as_secs())
            .filter(|secs| *secs > 0)
            .ok_or_else(|| ApiRefusal::Invalid("/ttl: a duration such as 10m".into())),
        Some(_) => Err(ApiRefusal::Invalid(
            "/ttl: seconds, or a duration such as 10m".into(),
        )),
    }
}

/// The checked request to sign, for the holder key `holder`.
pub(super) fn request_of(
    body: &CredentialBody,
    subject: String,
    holder: PublicKey,
) -> Result<CredentialRequest, ApiRefusal> {
    let size = serde_json::to_vec(&body.claims).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_CLAIMS_BYTES {
        return Err(ApiRefusal::Invalid(format!(
            "/claims: larger than {MAX_CLAIMS_BYTES} bytes"
        )));
    }
    if body
        .claims
        .values()
        .any(|value| depth(value) > MAX_CLAIMS_DEPTH)
    {
        return Err(ApiRefusal::Invalid(format!(
            "/claims: nested deeper than {MAX_CLAIMS_DEPTH}"
        )));
    }
    if body.sd.len() > MAX_SD_PATHS {
        return Err(ApiRefusal::Invalid(format!(
            "/sd: more than {MAX_SD_PATHS} paths"
        )));
    }
    let disclosable = body
        .sd
        .iter()
        .enumerate()
        .map(|(at, path)| {
            path.parse::<ClaimPath>()
                .map_err(|error| ApiRefusal::Invalid(format!("/sd/{at}: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CredentialRequest {
        vct: body.vct.clone(),
        subject,
        holder_key: holder,
        claims: body.claims.clone(),
        disclosable,
        lifetime_secs: ttl_of(body.ttl.as_ref())?,
        committed: Vec::new(),
    })
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 1,
    }
}

/// A wallet refusal of the request as the caller's error (schema, lifetime, a
/// rights claim made concealable, …): the wallet's message names the rule.
pub(super) fn refusal_of(error: WalletError) -> ApiRefusal {
    ApiRefusal::Invalid(error.to_string())
}

/// A credential signed and recorded.
#[derive(Debug)]
pub(super) struct Minted {
    pub(super) credential: String,
    pub(super) jti: String,
    pub(super) uri: String,
    pub(super) idx: u32,
    pub(super) expires_at: u64,
}

/// Signs and records credentials for one issuer key.
pub(super) struct Mint {
    pub(super) issuer: Issuer,
    pub(super) store: IssuerStore,
    /// `<public URL>/v1/status-lists/`.
    pub(super) list_base: String,
    /// The list new credentials draw from, as last seen.
    current_list: AtomicU32,
}

impl Mint {
    pub(super) async fn new(
        issuer: Issuer,
        store: IssuerStore,
        public_url: &str,
    ) -> Result<Self, IssuerStoreError> {
        let current = store.current_list().await?;
        Ok(Mint {
            issuer,
            store,
            list_base: format!("{public_url}/v1/status-lists/"),
            current_list: AtomicU32::new(current),
        })
    }

    /// The URI of list `list` (the status list token's `sub`, where it is served).
    pub(super) fn list_uri(&self, list: u32) -> String {
        format!("{}{list}", self.list_base)
    }

    /// Signs `request` on the blocking pool and records it for `caller` (with
    /// `offer_token`, as the one credential of that redeemed offer).
    pub(super) async fn mint(
        self: &std::sync::Arc<Self>,
        request: CredentialRequest,
        caller: &str,
        offer_token: Option<[u8; 32]>,
        now: u64,
    ) -> Result<Minted, ApiRefusal> {
        let request = std::sync::Arc::new(request);
        for _ in 0..LISTS_PER_ISSUANCE {
            let list = self.current_list.load(Ordering::Acquire);
            for _ in 0..DRAWS_PER_LIST {
                let idx = OsRng.next_u32() % STATUS_LIST_ENTRIES;
                let uri = self.list_uri(list);
                let mint = std::sync::Arc::clone(self);
                let signing = std::sync::Arc::clone(&request);
                let signing_uri = uri.clone();
                let issued = tokio::task::spawn_blocking(move || {
                    mint.issuer.issue_with_status(
                        &signing,
                        Some((u64::from(idx), &signing_uri)),
                        now,
                    )
                })
                .await
                .map_err(|_| ApiRefusal::Internal)?
                .map_err(refusal_of)?;
                let record = IssuedRecord {
                    seq: 0,
                    jti: issued.credential_id.clone(),
                    list,
                    idx,
                    vct: request.vct.clone(),
                    subject: request.subject.clone(),
                    caller: caller.to_owned(),
                    issued_at: now,
                    expires_at: issued.expires_at,
                    status: CredentialStatus::Valid,
                    status_changed_at: None,
                };
                match self.store.record_issued(&record, offer_token).await {
                    Ok(_) => {
                        return Ok(Minted {
                            credential: issued.sd_jwt,
                            jti: issued.credential_id,
                            uri,
                            idx,
                            expires_at: issued.expires_at,
                        })
                    }
                    Err(IssuerStoreError::IndexTaken) => continue,
                    Err(IssuerStoreError::OfferUnusable) => {
                        return Err(ApiRefusal::Conflict(
                            "the offer was redeemed for a credential already".into(),
                        ))
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            // Full enough: open the next list (another node may have), use the highest.
            self.store.open_list(list + 1, now).await?;
            let current = self.store.current_list().await?;
            self.current_list.fetch_max(current, Ordering::AcqRel);
            tracing::info!(list = current, "status list opened");
        }
        tracing::error!("no free status list entry found");
        Err(ApiRefusal::Unavailable)
    }
}
