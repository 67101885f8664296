//! Checking a response against the request it answers, for the verifier service and
//! `agentid request verify` alike: every presentation verified by the one pipeline
//! (trust store, status lists, policy) bound to the request's client identifier,
//! nonce and transaction data, then the whole `vp_token` checked against the DCQL
//! query (required credentials present, requested values, nothing disclosed beyond
//! the query).

use std::collections::BTreeMap;

use agentid_verifier::dcql::{check_response, DcqlQuery, PresentedCredential};
use agentid_verifier::oid4vp::response::{
    parse_direct_post, parse_direct_post_jwt, ResponseLimits,
};
use agentid_verifier::oid4vp::ResponseError;
use agentid_verifier::{PresentationRequest, Verifier};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::session::{RequestDetails, RESPONSE_ENCS};
use crate::decision::Decision;

/// A refused response: a stable kind for programs and a reason for people. Neither
/// holds a claim value or the nonce.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// `invalid_presentation`, `query_not_answered`, `state_mismatch`, …
    pub(crate) kind: &'static str,
    /// One line.
    pub(crate) reason: String,
}

impl Refusal {
    pub(crate) fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        Refusal {
            kind,
            reason: reason.into(),
        }
    }
}

/// The verdict kept for the caller: `{"status": "accepted", "credentials": {query id:
/// [decision]}}` or `{"status": "refused", "kind", "reason"}`.
pub(crate) fn verdict_json(
    result: &Result<BTreeMap<String, Vec<Value>>, Refusal>,
    now: u64,
) -> Value {
    match result {
        Ok(credentials) => {
            json!({"status": "accepted", "credentials": credentials, "checked_at": now})
        }
        Err(refusal) => json!({
            "status": "refused", "kind": refusal.kind, "reason": refusal.reason, "checked_at": now
        }),
    }
}

/// True when `state` is the request's (constant time).
pub(crate) fn state_matches(details: &RequestDetails, state: Option<&str>) -> bool {
    state.is_some_and(|state| bool::from(state.as_bytes().ct_eq(details.state.as_bytes())))
}

/// Verifies every presentation of `vp_token` for the request, then the DCQL query.
/// Returns each query's verified presentations (the decision JSON of each).
pub(crate) fn verify_vp_token(
    verifier: &Verifier,
    details: &RequestDetails,
    vp_token: &BTreeMap<String, Vec<String>>,
    now: u64,
) -> Result<BTreeMap<String, Vec<Value>>, Refusal> {
    let query = DcqlQuery::from_value(&details.dcql_query).map_err(|e| {
        Refusal::new(
            "server_error",
            format!("the stored query no longer parses: {e}"),
        )
    })?;
    let transaction_data: Vec<agentid_verifier::oid4vp::TransactionData> = details
        .transaction_data
        .iter()
        .map(|raw| agentid_verifier::oid4vp::TransactionData::parse(raw))
        .collect::<Result<_, _>>()
        .map_err(|e| Refusal::new("server_error", format!("stored transaction data: {e}")))?;
    let mut presented: BTreeMap<String, Vec<PresentedCredential>> = BTreeMap::new();
    let mut decisions: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (query_id, presentations) in vp_token {
        if query.credential(query_id).is_none() {
            return Err(Refusal::new(
                "query_not_answered",
                format!("vp_token answers {query_id:?}, which the query does not ask for"),
            ));
        }
        let request = PresentationRequest::new(details.client_id.clone(), details.nonce.clone())
            .with_transaction_data(
                transaction_data
                    .iter()
                    .filter(|data| data.credential_ids().iter().any(|id| id == query_id))
                    .map(|data| data.encoded().to_owned()),
            );
        for (position, presentation) in presentations.iter().enumerate() {
            let verdict = verifier.verify_presentation(presentation.trim(), &request, now);
            let decision = Decision::decide(verifier, verdict, None, None, now);
            let Decision::Allowed { verified, .. } = &decision else {
                return Err(Refusal::new(
                    "invalid_presentation",
                    format!(
                        "{query_id}[{position}]: {}",
                        decision.reason().unwrap_or_default()
                    ),
                ));
            };
            presented
                .entry(query_id.clone())
                .or_default()
                .push(PresentedCredential::from_verified(verified));
            decisions
                .entry(query_id.clone())
                .or_default()
                .push(decision.to_json(true));
        }
    }
    check_response(&query, &presented)
        .map_err(|violation| Refusal::new("query_not_answered", violation.to_string()))?;
    Ok(decisions)
}

/// What a response body held, once read (and decrypted).
pub(crate) struct Received {
    pub(crate) vp_token: Option<BTreeMap<String, Vec<String>>>,
    pub(crate) state: Option<String>,
    pub(crate) wallet_error: Option<String>,
    pub(crate) encrypted: bool,
}

/// Reads a `direct_post` or `direct_post.jwt` body with the verifier crate's parsers
/// (limits, one value per parameter, the JWE `kid`, the wallet's error responses).
pub(crate) fn read_response(
    body: &[u8],
    key: &p256::SecretKey,
    kid: &str,
) -> Result<Received, Refusal> {
    let invalid = |why: String| Refusal::new("invalid_request", why);
    let text = std::str::from_utf8(body)
        .map_err(|_| invalid("the response is not a form (§8.2)".into()))?;
    let encrypted = url::form_urlencoded::parse(body).any(|(name, _)| name == "response");
    let limits = ResponseLimits::default();
    let parsed = if encrypted {
        parse_direct_post_jwt(text, key, Some(kid), &RESPONSE_ENCS, &limits)
    } else {
        parse_direct_post(text, &limits)
    };
    match parsed {
        Ok(response) => Ok(Received {
            vp_token: Some(response.vp_token),
            state: response.state,
            wallet_error: None,
            encrypted,
        }),
        Err(ResponseError::ErrorResponse { error, state, .. }) => Ok(Received {
            vp_token: None,
            state,
            wallet_error: Some(error),
            encrypted,
        }),
        Err(error) => Err(invalid(error.to_string())),
    }
}
