//! Token exchange (RFC 8693) decisions: what an access token may grant for a
//! verified presentation, with no I/O — the authorization server's rule, and the
//! one a resource server accepting presentations directly applies.
//!
//! The agent asks for scopes on one resource (RFC 8707). [`grant_token`] allows it
//! only within the credential's effective rights (the root credential's, or the
//! last delegation's):
//!
//! - each scope asked for is named (no `*`: the token carries exact scopes) and
//!   within a granted one (`tools:*` grants `tools:read`);
//! - the resource is within the granted `resources`;
//! - the resource is an audience the rights allow (when `audience` is present the
//!   token's `aud` must be in it, as the presentation's `aud` is): a credential
//!   meant for a tool server behind an authorization server names both;
//! - every constraint is understood (they travel in the token for the resource
//!   server to enforce);
//! - a delegation chain's terminal hop signed this very request: its action's
//!   `resource` is the resource asked for, and every scope asked for is one of the
//!   space-separated scopes of its `scope`, so a stolen chain cannot be replayed
//!   for another tool.
//!
//! The token's lifetime ends no later than the credential and the rights.

use serde_json::Value;

use crate::action::Action;
use crate::authorize::{Denied, KNOWN_CONSTRAINTS};
use crate::delegation::{scope_within, Rights};
use crate::error::truncate;
use crate::resource::resource_within;
use crate::verify::Verified;

/// Most scopes one token request may name.
pub const MAX_SCOPES: usize = 32;

/// What an agent asks a token for.
#[derive(Debug, Clone, Copy)]
pub struct TokenAsk<'a> {
    /// The scopes asked for, each by name.
    pub scopes: &'a [String],
    /// The resource the token is for (its `aud`), an absolute URL.
    pub resource: &'a str,
}

/// What a token may carry, decided by [`grant_token`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Grant {
    /// The scopes granted: those asked for, in their order, without repeats.
    pub scopes: Vec<String>,
    /// The presenting agent's DID (the token's `sub`).
    pub subject: String,
    /// The agents that delegated, nearest first: the one that delegated to
    /// `subject`, then its delegator, …, the root credential's holder last. Empty
    /// for a credential presented by its own holder.
    pub actors: Vec<String>,
    /// The principal the agent acts for (the credential's `on_behalf_of`).
    pub principal: Option<String>,
    /// The credential's task id (`task.id`).
    pub task_id: Option<String>,
    /// The effective rights the grant is within.
    pub rights: Rights,
    /// When the grant ends at the latest: the credential's and the rights' expiry.
    pub expires_at: u64,
}

/// Decides what a token asked for by `ask` may grant to the agent that made the
/// verified presentation `verified`.
///
/// # Errors
/// [`Denied`] with the first reason: unbound or concealable rights, no rights, a
/// scope, resource or audience beyond them, an unknown constraint, or (for a
/// chain) a request other than the one the terminal hop signed.
pub fn grant_token(verified: &Verified, ask: &TokenAsk<'_>) -> Result<Grant, Denied> {
    if verified.key_binding.is_none() {
        return Err(Denied::Unbound);
    }
    if verified.rights_concealable() {
        return Err(Denied::ConcealableRights);
    }
    if ask.scopes.is_empty() {
        return Err(Denied::NoRights);
    }
    let rights = match &verified.chain {
        Some(chain) => {
            check_signed_request(&chain.action, ask)?;
            chain.effective_rights.clone()
        }
        None => Rights::from_root(&verified.claims, verified.expires_at)
            .map_err(|_| Denied::NoRights)?,
    };
    let mut scopes: Vec<String> = Vec::with_capacity(ask.scopes.len());
    for wanted in ask.scopes {
        if wanted.contains('*')
            || !rights
                .scope
                .iter()
                .any(|granted| scope_within(wanted, granted))
        {
            return Err(Denied::Scope(truncate(wanted)));
        }
        if !scopes.contains(wanted) {
            scopes.push(wanted.clone());
        }
    }
    if let Some(prefixes) = &rights.resources {
        if !prefixes
            .iter()
            .any(|prefix| resource_within(ask.resource, prefix))
        {
            return Err(Denied::Resource(truncate(ask.resource)));
        }
    }
    if !rights.allows_audience(ask.resource) {
        return Err(Denied::Audience(truncate(ask.resource)));
    }
    if let Some(unknown) = rights
        .constraints
        .keys()
        .find(|name| !KNOWN_CONSTRAINTS.contains(&name.as_str()))
    {
        return Err(Denied::UnknownConstraint(truncate(unknown)));
    }
    let expires_at = verified
        .expires_at
        .map_or(rights.expires_at, |exp| exp.min(rights.expires_at));
    let (subject, actors) = parties(verified)?;
    Ok(Grant {
        scopes,
        subject,
        actors,
        principal: claim_text(verified.claims.get("on_behalf_of")),
        task_id: claim_text(verified.claims.get("task").and_then(|task| task.get("id"))),
        rights,
        expires_at,
    })
}

/// A chain's terminal hop must have signed this request: the same resource, and
/// every scope asked for among its scopes.
fn check_signed_request(action: &Value, ask: &TokenAsk<'_>) -> Result<(), Denied> {
    let signed = Action::from_json(action).map_err(|error| {
        Denied::ActionMismatch(format!("the signed action is not usable: {}", error.0))
    })?;
    if signed.amount.is_some() || signed.resource != ask.resource {
        return Err(Denied::ActionMismatch(format!(
            "signed for {}",
            truncate(&signed.resource)
        )));
    }
    let signed_scopes: Vec<&str> = signed.scope.split(' ').collect();
    match ask
        .scopes
        .iter()
        .find(|wanted| !signed_scopes.contains(&wanted.as_str()))
    {
        Some(wanted) => Err(Denied::ActionMismatch(format!(
            "scope {} was not signed",
            truncate(wanted)
        ))),
        None => Ok(()),
    }
}

/// The presenting agent and the delegating agents, nearest first.
fn parties(verified: &Verified) -> Result<(String, Vec<String>), Denied> {
    let root_holder = verified.subject.clone();
    match &verified.chain {
        Some(chain) if !chain.delegations.is_empty() => {
            let mut delegates: Vec<String> = chain
                .delegations
                .iter()
                .map(|delegation| delegation.delegate.clone())
                .collect();
            let subject = delegates.pop().ok_or(Denied::NoRights)?;
            let mut actors: Vec<String> = delegates.into_iter().rev().collect();
            actors.extend(root_holder);
            Ok((subject, actors))
        }
        _ => {
            let key = verified.holder_key.as_ref().ok_or(Denied::Unbound)?;
            Ok((crate::did_key::encode(key), Vec::new()))
        }
    }
}

fn claim_text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// The `nonce` a presentation says it answers, read without verifying anything:
/// the KB-JWT's (the last segment of an SD-JWT+KB) or a delegation chain's
/// terminal hop's. A server that hands out nonces uses it only to find which of its
/// nonces to verify the presentation against; `None` when there is none to read.
pub fn presented_nonce(presentation: &str) -> Option<String> {
    const MAX_BINDING_BYTES: usize = 64 * 1024;
    let binding = match presentation.rsplit_once("~~") {
        Some((_, terminal)) => terminal.split('~').next()?,
        None => presentation.rsplit('~').next()?,
    };
    if binding.is_empty() || binding.len() > MAX_BINDING_BYTES {
        return None;
    }
    let jws = crate::jws::CompactJws::parse(binding, 8, "key binding").ok()?;
    jws.payload
        .get("nonce")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::b64url_encode;

    fn jwt(payload: &Value) -> String {
        format!(
            "{}.{}.c2ln",
            b64url_encode(br#"{"alg":"ES256","typ":"kb+jwt"}"#),
            b64url_encode(payload.to_string().as_bytes())
        )
    }

    #[test]
    fn the_nonce_is_read_from_the_kb_jwt_or_the_terminal_hop() {
        let kb = jwt(&serde_json::json!({"nonce": "n-1", "aud": "https://as.example"}));
        assert_eq!(
            presented_nonce(&format!("a.b.c~d1~{kb}")),
            Some("n-1".into())
        );
        assert_eq!(presented_nonce(&format!("a.b.c~{kb}")), Some("n-1".into()));
        let terminal = jwt(&serde_json::json!({"nonce": "n-2"}));
        let chain = format!("a.b.c~d~~h.o.p~d2~~{terminal}~d3~");
        assert_eq!(presented_nonce(&chain), Some("n-2".into()));
        // No key binding, no nonce, or nothing readable: none.
        for presentation in [
            "a.b.c~d1~".to_owned(),
            String::new(),
            "~~~".to_owned(),
            format!("a.b.c~{}", jwt(&serde_json::json!({"nonce": 7}))),
            format!("a.b.c~{}", "x".repeat(70_000)),
        ] {
            assert_eq!(presented_nonce(&presentation), None, "{:.40}", presentation);
        }
    }
}
