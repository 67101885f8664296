//! The agentid issuer API, for the orchestrators configured as callers: mint,
//! revoke, suspend, resume, list, audit; and the status lists, for everyone.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::callers::Caller;
use super::errors::ApiRefusal;
use super::mint::{request_of, subject_of, CredentialBody};
use super::Shared;
use crate::serve::state::issuer::{CredentialStatus, IssuedRecord, MAX_PAGE};

/// Parses a JSON body declared as JSON.
pub(super) fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiRefusal> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let media = value.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json")
        });
    if !declared {
        return Err(ApiRefusal::Invalid(
            "the body must be application/json".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|error| {
        // serde's message names the member and what was expected, and may quote
        // an unknown member's name; never a value.
        ApiRefusal::Invalid(format!(
            "the body is not the request's shape: {}",
            error_text(&error)
        ))
    })
}

/// serde_json's message without a quoted value (`invalid type: string "…"`).
fn error_text(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match error.classify() {
        serde_json::error::Category::Data => {
            if let Some(start) = text.find(['"', '`']) {
                if text.starts_with("invalid") {
                    return format!(
                        "{} at line {} column {}",
                        text[..start].trim_end(),
                        error.line(),
                        error.column()
                    );
                }
            }
            text
        }
        _ => format!(
            "malformed JSON at line {} column {}",
            error.line(),
            error.column()
        ),
    }
}

async fn caller(role: &Shared, headers: &HeaderMap) -> Result<Caller, ApiRefusal> {
    role.callers
        .authenticate(headers, &role.marks, agentid_wallet::unix_now())
        .await
}

/// `POST /v1/credentials`: 201 `{credential, jti, status: {uri, idx}, expires_at}`.
pub(super) async fn issue(
    State(role): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiRefusal> {
    let caller = caller(&role, &headers).await?;
    let body: CredentialBody = json_body(&headers, &body)?;
    if !caller.may_issue(&body.vct) {
        return Err(ApiRefusal::Forbidden(
            "this caller may not have credentials of this vct issued".into(),
        ));
    }
    let subject = body
        .subject
        .as_ref()
        .ok_or_else(|| ApiRefusal::Invalid("/subject: required (the agent's DID or JWK)".into()))?;
    let (subject, holder) = subject_of(subject)?;
    let request = request_of(&body, subject, holder)?;
    let now = agentid_wallet::unix_now();
    let minted = role.mint.mint(request, &caller.id, None, now).await?;
    tracing::info!(caller = %caller.id, vct = %body.vct, jti = %minted.jti, "credential issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "credential": minted.credential,
            "jti": minted.jti,
            "status": {"uri": minted.uri, "idx": minted.idx},
            "expires_at": minted.expires_at,
        })),
    )
        .into_response())
}

/// What a status change asks for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change {
    Revoke,
    Suspend,
    Resume,
}

/// `POST /v1/credentials/{jti}/revoke|suspend|resume`: 200 with the record.
pub(super) async fn change_status(
    role: Shared,
    headers: HeaderMap,
    jti: String,
    change: Change,
) -> Result<Response, ApiRefusal> {
    let caller = caller(&role, &headers).await?;
    let mut record = managed_record(&role, &caller, &jti).await?;
    let to = match change {
        Change::Revoke => CredentialStatus::Revoked,
        Change::Suspend => CredentialStatus::Suspended,
        Change::Resume => CredentialStatus::Valid,
    };
    let now = agentid_wallet::unix_now();
    let outcome = role
        .mint
        .store
        .set_status(&jti, to, &caller.id, now)
        .await?;
    tracing::info!(caller = %caller.id, jti = %jti, from = outcome.from.name(), to = to.name(), "status changed");
    // The record as the store now holds it, without reading it again.
    if outcome.from != to {
        record.status = to;
        record.status_changed_at = Some(now);
    }
    Ok(Json(summary(&role, &record)).into_response())
}

/// The record of `jti` if `caller` may manage it; not found otherwise, so a caller
/// learns nothing of others' `jti`s.
async fn managed_record(
    role: &Shared,
    caller: &Caller,
    jti: &str,
) -> Result<IssuedRecord, ApiRefusal> {
    role.mint
        .store
        .get(jti)
        .await?
        .filter(|record| caller.may_manage(&record.caller))
        .ok_or(ApiRefusal::NotFound)
}

/// A record as the API shows it: no claim value.
fn summary(role: &Shared, record: &IssuedRecord) -> Value {
    json!({
        "jti": record.jti,
        "vct": record.vct,
        "subject": record.subject,
        "caller": record.caller,
        "issued_at": record.issued_at,
        "expires_at": record.expires_at,
        "status": {"uri": role.mint.list_uri(record.list), "idx": record.idx},
        "state": record.status.name(),
        "status_changed_at": record.status_changed_at,
        "seq": record.seq,
    })
}

/// `?after=SEQ&limit=N` (both optional; limit 1 to [`MAX_PAGE`], default 100).
fn page_query(uri: &Uri) -> Result<(u64, usize), ApiRefusal> {
    let refuse = || ApiRefusal::Invalid("query: after=SEQ&limit=N (whole numbers)".into());
    let (mut after, mut limit) = (0u64, 100usize);
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "after" => after = value.parse().map_err(|_| refuse())?,
            "limit" => limit = value.parse().map_err(|_| refuse())?,
            _ => return Err(refuse()),
        }
    }
    Ok((after, limit.clamp(1, MAX_PAGE)))
}

/// `GET /v1/credentials`: what was issued, in order, without claim values; a
/// caller sees its own, an admin all. `next` is the `after` of the next page.
pub(super) async fn list(
    State(role): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiRefusal> {
    let caller = caller(&role, &headers).await?;
    let (after, limit) = page_query(&uri)?;
    let page = role.mint.store.page(after, limit).await?;
    let next = page.last().map(|record| record.seq);
    let items: Vec<Value> = page
        .iter()
        .filter(|record| caller.may_manage(&record.caller))
        .map(|record| summary(&role, record))
        .collect();
    let full = page.len() == limit;
    Ok(Json(json!({"credentials": items, "next": if full { next } else { None }})).into_response())
}

/// `GET /v1/credentials/{jti}`.
pub(super) async fn show(
    State(role): State<Shared>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> Result<Response, ApiRefusal> {
    let caller = caller(&role, &headers).await?;
    let record = managed_record(&role, &caller, &jti).await?;
    Ok(Json(summary(&role, &record)).into_response())
}

/// `GET /v1/audit`: the audit log, in order (admins only).
pub(super) async fn audit(
    State(role): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiRefusal> {
    let caller = caller(&role, &headers).await?;
    if !caller.rights.admin {
        return Err(ApiRefusal::Forbidden(
            "the audit log is for admin callers".into(),
        ));
    }
    let (after, limit) = page_query(&uri)?;
    let entries = role.mint.store.audit(after, limit).await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|entry| entry.seq))
        .flatten();
    Ok(Json(json!({"entries": entries, "next": next})).into_response())
}

/// `GET /v1/status-lists`: the URI of every list, for verifiers that fetch them all.
pub(super) async fn status_lists(State(role): State<Shared>) -> Result<Response, ApiRefusal> {
    let lists = role.mint.store.lists().await?;
    let uris: Vec<String> = lists.iter().map(|list| role.mint.list_uri(*list)).collect();
    Ok(Json(json!({"lists": uris})).into_response())
}

/// `GET /v1/status-lists/{list}`: the signed status list token.
pub(super) async fn status_list(
    State(role): State<Shared>,
    headers: HeaderMap,
    Path(list): Path<String>,
) -> Result<Response, ApiRefusal> {
    let list: u32 = list
        .parse()
        .ok()
        .filter(|list| *list > 0)
        .ok_or(ApiRefusal::NotFound)?;
    role.publisher
        .serve(&role.mint, list, &headers, agentid_wallet::unix_now())
        .await
}

/// `GET /healthz`: 200 while the store answers.
pub(super) async fn health(State(role): State<Shared>) -> Response {
    match role.marks.health().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}
