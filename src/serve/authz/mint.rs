//! The access token: an RFC 9068 JWT (`typ: at+jwt`) signed with the role's key.
//! Each claim and where it comes from is listed in `docs/oauth.md`.

use agentid_verifier::b64url_encode;
use agentid_verifier::grant::Grant;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};

use super::Authz;

/// `typ` of a JWT access token (RFC 9068 §2.1).
pub(super) const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// A signed token and what the response and the log say of it.
pub(super) struct Minted {
    pub(super) token: String,
    pub(super) jti: String,
    pub(super) expires_at: u64,
}

/// Signs the token for `grant` on `resource`, issued at `now`, bound to the DPoP
/// key `jkt` when given; it ends at the grant's end or after the role's maximum
/// lifetime, whichever is first.
pub(super) fn mint(
    role: &Authz,
    grant: &Grant,
    resource: &str,
    jkt: Option<&str>,
    now: u64,
) -> Minted {
    let expires_at = grant
        .expires_at
        .min(now.saturating_add(role.max_ttl.as_secs()));
    let mut random = [0u8; 16];
    OsRng.fill_bytes(&mut random);
    let jti = b64url_encode(&random);
    let mut claims = Map::new();
    claims.insert("iss".into(), role.issuer.clone().into());
    claims.insert("sub".into(), grant.subject.clone().into());
    // The agent is its own OAuth client: no registration, its DID names it.
    claims.insert("client_id".into(), grant.subject.clone().into());
    claims.insert("aud".into(), resource.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), expires_at.into());
    claims.insert("jti".into(), jti.clone().into());
    claims.insert("scope".into(), grant.scopes.join(" ").into());
    if let Some(task_id) = &grant.task_id {
        claims.insert("task_id".into(), task_id.clone().into());
    }
    if let Some(principal) = &grant.principal {
        claims.insert("on_behalf_of".into(), principal.clone().into());
    }
    if let Some(act) = actors(&grant.actors) {
        claims.insert("act".into(), act);
    }
    if let Some(jkt) = jkt {
        claims.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    if !grant.rights.constraints.is_empty() {
        claims.insert(
            "constraints".into(),
            Value::Object(grant.rights.constraints.clone()),
        );
    }
    let header = json!({
        "alg": role.signer.algorithm().as_str(),
        "typ": ACCESS_TOKEN_TYP,
        "kid": role.kid,
    });
    let mut token = b64url_encode(header.to_string().as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(Value::Object(claims).to_string().as_bytes()));
    let signature = role.signer.sign(token.as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(&signature));
    Minted {
        token,
        jti,
        expires_at,
    }
}

/// RFC 8693 §4.1 nested actors, the current actor outermost: `{"sub": nearest,
/// "act": {"sub": next, …}}`.
fn actors(actors: &[String]) -> Option<Value> {
    actors.iter().rev().fold(None, |inner, actor| {
        let mut act = Map::new();
        act.insert("sub".into(), actor.clone().into());
        if let Some(inner) = inner {
            act.insert("act".into(), inner);
        }
        Some(Value::Object(act))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_nest_nearest_outermost() {
        assert_eq!(actors(&[]), None);
        assert_eq!(
            actors(&["did:b".into(), "did:a".into()]),
            Some(json!({"sub": "did:b", "act": {"sub": "did:a"}}))
        );
    }
}
