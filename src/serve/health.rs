//! What `/healthz` knows: whether every status list the service holds is still
//! usable.
//!
//! A list becomes unusable when it expires or grows older than the policy's
//! `status_max_age_secs`; credentials that reference it are then refused
//! (`status_unknown`) until a fresh token is loaded (SIGHUP). `/healthz` then
//! answers 200 `{"status": "degraded", "status_lists": [{"uri", "reason", "since"}]}`
//! rather than `{"status": "ok"}`: still 200, because a stale list is usually
//! stale on every node at once and a load balancer that drops 503 nodes would take
//! the whole service down; the service keeps answering every other credential.
//! A watcher logs each list's transitions, once each, not per request.

use std::collections::BTreeMap;
use std::time::Duration;

use agentid_verifier::{StatusList, Verifier};
use serde_json::{json, Value};

use super::Shared;
use crate::timefmt::rfc3339;

/// How often the watcher looks at the lists.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// A status list the service holds and may not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unusable {
    pub(super) uri: String,
    pub(super) reason: String,
    /// When it became unusable (Unix seconds): its `exp`, or `iat` plus the
    /// maximum age, whichever passed first; `None` for a list issued in the future
    /// (the clock went back after it was loaded).
    pub(super) since: Option<u64>,
}

/// The lists `verifier` may not use at `now`, by URI.
pub(super) fn unusable_lists(verifier: &Verifier, now: u64) -> Vec<Unusable> {
    let policy = verifier.policy();
    let mut lists: Vec<Unusable> = verifier
        .status_lists()
        .iter()
        .filter_map(|list| {
            let reason = list.staleness(now, policy.status_max_age_secs, policy.clock_skew_secs)?;
            Some(Unusable {
                uri: list.uri().to_owned(),
                reason,
                since: unusable_since(list, now, policy.status_max_age_secs),
            })
        })
        .collect();
    lists.sort_by(|a, b| a.uri.cmp(&b.uri));
    lists
}

fn unusable_since(list: &StatusList, now: u64, max_age_secs: u64) -> Option<u64> {
    let expired = list.expires_at().filter(|&exp| exp < now);
    let aged = Some(list.issued_at().saturating_add(max_age_secs)).filter(|&end| end < now);
    match (expired, aged) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (one, other) => one.or(other),
    }
}

/// The `/healthz` body.
pub(super) fn report(verifier: &Verifier, now: u64) -> Value {
    let unusable = unusable_lists(verifier, now);
    if unusable.is_empty() {
        return json!({"status": "ok"});
    }
    let lists: Vec<Value> = unusable
        .iter()
        .map(|list| {
            let mut entry = json!({"uri": list.uri, "reason": list.reason});
            if let Some(since) = list.since {
                entry["since"] = json!(rfc3339(since));
            }
            entry
        })
        .collect();
    json!({"status": "degraded", "status_lists": lists})
}

/// Logs a warning when a list becomes unusable and a note when it is usable again
/// (a fresh token loaded), once per transition.
pub(super) async fn watch_status_lists(service: Shared) {
    let mut known: BTreeMap<String, Unusable> = BTreeMap::new();
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = agentid_wallet::unix_now();
        let verifier = service.verifier();
        let current: BTreeMap<String, Unusable> = unusable_lists(&verifier, now)
            .into_iter()
            .map(|list| (list.uri.clone(), list))
            .collect();
        for (uri, list) in &current {
            if !known.contains_key(uri) {
                tracing::warn!(
                    uri = uri.as_str(),
                    reason = list.reason.as_str(),
                    since = list.since.map(rfc3339),
                    "status list unusable: credentials that reference it are refused"
                );
            }
        }
        for uri in known.keys() {
            if current.contains_key(uri) {
                continue;
            }
            if verifier.status_lists().iter().any(|list| list.uri() == uri) {
                tracing::info!(uri = uri.as_str(), "status list usable again");
            } else {
                tracing::info!(uri = uri.as_str(), "status list no longer served");
            }
        }
        known = current;
    }
}
