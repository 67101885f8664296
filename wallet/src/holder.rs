//! The holder role: choosing what to disclose and binding a presentation to one
//! verifier's request with a KB-JWT (RFC 9901 §4.3).

use std::collections::BTreeSet;

use agentid_verifier::predicate::{read_commitments, Predicate, Statements, COMMITMENTS_CLAIM};
use agentid_verifier::{
    b64url_encode, sha256_b64, ClaimPath, Limits, PathSegment, PresentationRequest, PublicKey,
    UnverifiedSdJwt, KB_JWT_TYP,
};
use serde_json::{Map, Value};

use crate::commit::{prove, Opening};
use crate::error::WalletError;
use crate::jws::{header, sign_compact};
use crate::keys::SigningKey;

/// Builds a presentation of `credential` (an issued SD-JWT holding every
/// disclosure) that reveals exactly the claims at `disclose`, their parents, and
/// everything inside them, bound to `request` with a KB-JWT signed by `holder_key`.
///
/// # Errors
/// [`WalletError::NoSuchClaim`] when a path names no claim,
/// [`WalletError::NotHolderKey`] when `holder_key` is not the credential's `cnf` key,
/// [`WalletError::Verify`] when the credential cannot be parsed.
pub fn present(
    credential: &str,
    holder_key: &SigningKey,
    disclose: &[ClaimPath],
    request: &PresentationRequest,
    now: u64,
) -> Result<String, WalletError> {
    present_with_predicates(credential, holder_key, disclose, &[], &[], request, now)
}

/// Like [`present`], and also proves `predicates` about committed claims in zero
/// knowledge, with the holder's `openings`. The proof (one aggregated range proof)
/// travels in the KB-JWT, bound to this presentation, audience and nonce; the
/// openings never leave the wallet.
///
/// # Errors
/// As [`present`]; [`WalletError::FalseStatement`] when a predicate does not hold;
/// [`WalletError::Verify`] for a predicate on a claim without a commitment.
pub fn present_with_predicates(
    credential: &str,
    holder_key: &SigningKey,
    disclose: &[ClaimPath],
    predicates: &[Predicate],
    openings: &[Opening],
    request: &PresentationRequest,
    now: u64,
) -> Result<String, WalletError> {
    let parsed = UnverifiedSdJwt::parse(credential, &Limits::default())?;
    if parsed.has_key_binding() {
        return Err(WalletError::request(
            "expected an issued credential, found a presentation",
        ));
    }
    let map = parsed.disclosure_map()?;
    let bound_key = map
        .claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .and_then(|jwk| PublicKey::from_jwk(jwk).ok());
    if bound_key.as_ref() != Some(holder_key.public_key()) {
        return Err(WalletError::NotHolderKey);
    }
    for path in disclose {
        if !claim_exists(&map.claims, path.segments()) {
            return Err(WalletError::NoSuchClaim(path.to_string()));
        }
    }
    let selected: BTreeSet<usize> = map
        .paths
        .iter()
        .filter(|(path, _)| {
            disclose
                .iter()
                .any(|wanted| path.is_prefix_of(wanted) || wanted.is_prefix_of(path))
        })
        .map(|(_, index)| *index)
        .collect();

    let mut presentation = String::with_capacity(credential.len() + 256);
    presentation.push_str(parsed.issuer_jwt());
    presentation.push('~');
    for (index, disclosure) in parsed.disclosures().enumerate() {
        if selected.contains(&index) {
            presentation.push_str(disclosure);
            presentation.push('~');
        }
    }
    let mut payload = Map::new();
    payload.insert("iat".into(), now.into());
    payload.insert("aud".into(), request.audience.clone().into());
    payload.insert("nonce".into(), request.nonce.clone().into());
    payload.insert("sd_hash".into(), sha256_b64(&presentation).into());
    if !predicates.is_empty() {
        let commitments = match map.claims.get(COMMITMENTS_CLAIM) {
            Some(value) => read_commitments(value)?,
            None => Vec::new(),
        };
        let statements = Statements::new(predicates.to_vec(), &commitments)?;
        let proof = prove(
            &statements,
            openings,
            &presentation,
            &request.audience,
            &request.nonce,
        )?;
        payload.insert(
            "predicates".into(),
            predicates.iter().map(Predicate::to_json).collect(),
        );
        payload.insert("predicate_proof".into(), b64url_encode(&proof).into());
    }
    let kb_jwt = sign_compact(&header(holder_key, KB_JWT_TYP), &payload, holder_key);
    presentation.push_str(&kb_jwt);
    Ok(presentation)
}

/// True when `segments` names a claim in the fully revealed claims.
fn claim_exists(value: &Map<String, Value>, segments: &[PathSegment]) -> bool {
    fn walk(value: &Value, segments: &[PathSegment]) -> bool {
        let Some((first, rest)) = segments.split_first() else {
            return true;
        };
        match (first, value) {
            (PathSegment::Key(key), Value::Object(map)) => {
                map.get(key).is_some_and(|child| walk(child, rest))
            }
            (PathSegment::Index(index), Value::Array(items)) => {
                items.get(*index).is_some_and(|child| walk(child, rest))
            }
            (PathSegment::AnyIndex, Value::Array(items)) => {
                !items.is_empty() && items.iter().all(|child| walk(child, rest))
            }
            _ => false,
        }
    }
    match segments.first() {
        Some(PathSegment::Key(key)) => value
            .get(key)
            .is_some_and(|child| walk(child, &segments[1..])),
        _ => false,
    }
}
