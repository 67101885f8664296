//! The status list tokens, served at `GET /v1/status-lists/{list}` for verifiers
//! and any HTTP cache or CDN in front of them.
//!
//! A node keeps the last token it signed per list with the list's revision. On a
//! request it reads the revision (one indexed read); the token is re-signed when a
//! status changed since (on any node) or when half its lifetime has passed, so a
//! token served is never close to expiry. The answer carries `ETag` (a digest of
//! the token: the same token gives the same tag on every node that signed it at the
//! same second; any node gives a fresh one after a change) and `Cache-Control:
//! public, max-age=N`, with `N` the token's `ttl` (the draft's hint of when to
//! fetch again) and never past its `exp`; `If-None-Match` gets 304.

use std::collections::HashMap;
use std::sync::Arc;

use agentid_verifier::b64url_encode;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::errors::ApiRefusal;
use super::mint::Mint;

/// The media type of a status list token (draft-ietf-oauth-status-list §10).
pub(super) const STATUS_LIST_MEDIA_TYPE: &str = "application/statuslist+jwt";
/// Bits per entry: VALID, INVALID (revoked), SUSPENDED.
const BITS: u8 = 2;

/// A signed token and what it is of.
struct Signed {
    revision: u64,
    issued_at: u64,
    token: Arc<str>,
    etag: HeaderValue,
}

/// The tokens this node signed, by list.
pub(super) struct Publisher {
    /// How long a token is valid (`exp − iat`), in seconds.
    lifetime_secs: u64,
    /// How long a cache may keep it (`ttl`, `max-age`), in seconds.
    ttl_secs: u64,
    /// One lock for signing: a burst of requests after a change signs once.
    signed: Mutex<HashMap<u32, Arc<Signed>>>,
}

impl Publisher {
    pub(super) fn new(lifetime_secs: u64, ttl_secs: u64) -> Self {
        Publisher {
            lifetime_secs,
            ttl_secs: ttl_secs.min(lifetime_secs),
            signed: Mutex::new(HashMap::new()),
        }
    }

    /// The answer to `GET /v1/status-lists/{list}`.
    pub(super) async fn serve(
        &self,
        mint: &Arc<Mint>,
        list: u32,
        request: &HeaderMap,
        now: u64,
    ) -> Result<Response, ApiRefusal> {
        let signed = self.current(mint, list, now).await?;
        let Some(signed) = signed else {
            return Err(ApiRefusal::NotFound);
        };
        let expires_at = signed.issued_at.saturating_add(self.lifetime_secs);
        let max_age = self.ttl_secs.min(expires_at.saturating_sub(now));
        let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or_else(|_| HeaderValue::from_static("no-cache"));
        let matches = request
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',').any(|tag| {
                    tag.trim() == "*" || tag.trim().trim_start_matches("W/") == signed.etag
                })
            });
        let mut response = if matches {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(STATUS_LIST_MEDIA_TYPE),
                )],
                signed.token.to_string(),
            )
                .into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, signed.etag.clone());
        headers.insert(header::CACHE_CONTROL, cache);
        Ok(response)
    }

    /// The token to serve for `list`, signed again if stale; `None` for no such list.
    async fn current(
        &self,
        mint: &Arc<Mint>,
        list: u32,
        now: u64,
    ) -> Result<Option<Arc<Signed>>, ApiRefusal> {
        let Some(revision) = mint.store.revision(list).await? else {
            return Ok(None);
        };
        let mut signed = self.signed.lock().await;
        if let Some(held) = signed.get(&list) {
            let fresh = now < held.issued_at.saturating_add(self.lifetime_secs / 2);
            if held.revision >= revision && fresh {
                return Ok(Some(Arc::clone(held)));
            }
        }
        let Some(snapshot) = mint.store.snapshot(list).await? else {
            return Ok(None);
        };
        let uri = mint.list_uri(list);
        let (lifetime, ttl) = (self.lifetime_secs, self.ttl_secs);
        let signer = Arc::clone(mint);
        let (revision, count) = (snapshot.revision, snapshot.entries.len());
        let token = tokio::task::spawn_blocking(move || {
            signer
                .issuer
                .status_list_token(&uri, BITS, &snapshot.entries, now, lifetime, ttl)
        })
        .await
        .map_err(|_| ApiRefusal::Internal)?
        .map_err(|error| {
            tracing::error!(%error, list, "cannot sign the status list");
            ApiRefusal::Internal
        })?;
        let digest = Sha256::digest(token.as_bytes());
        let etag = HeaderValue::from_str(&format!("\"{}\"", b64url_encode(&digest[..16])))
            .map_err(|_| ApiRefusal::Internal)?;
        let fresh = Arc::new(Signed {
            revision,
            issued_at: now,
            token: token.into(),
            etag,
        });
        signed.insert(list, Arc::clone(&fresh));
        tracing::info!(list, revision, entries = count, "status list signed");
        Ok(Some(fresh))
    }
}
