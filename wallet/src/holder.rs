//! The holder role: choosing what to disclose and binding a presentation to one
//! verifier's request with a KB-JWT (RFC 9901 §4.3).

use std::collections::BTreeSet;

use agentid_verifier::oid4vp::transaction_data::SHA_256;
use agentid_verifier::oid4vp::TransactionData;
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
/// The KB-JWT acknowledges the request's transaction data, if any
/// (`transaction_data_hashes`, OpenID4VP 1.0 Appendix B.3.3.1).
///
/// # Errors
/// [`WalletError::NoSuchClaim`] when a path names no claim,
/// [`WalletError::NotHolderKey`] when `holder_key` is not the credential's `cnf` key,
/// [`WalletError::Verify`] when the credential cannot be parsed,
/// [`WalletError::InvalidRequest`] for transaction data that breaks OpenID4VP 1.0
/// §5.1 or does not allow `sha-256`.
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
    insert_transaction_data_hashes(&mut payload, &request.transaction_data)?;
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

/// Acknowledges the request's transaction data in the KB-JWT (OpenID4VP 1.0 §8.4,
/// Appendix B.3.3.1): `transaction_data_hashes`, the SHA-256 of each string exactly
/// as received, in request order, and `transaction_data_hashes_alg` when an entry
/// named hash algorithms (it is then required). Entries that break §5.1 or do not
/// allow `sha-256` are refused: the holder signs only what it can read.
fn insert_transaction_data_hashes(
    payload: &mut Map<String, Value>,
    transaction_data: &[String],
) -> Result<(), WalletError> {
    if transaction_data.is_empty() {
        return Ok(());
    }
    let entries = transaction_data
        .iter()
        .map(|encoded| TransactionData::parse(encoded))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| WalletError::request(error.to_string()))?;
    if !entries.iter().all(TransactionData::allows_sha256) {
        return Err(WalletError::request(
            "transaction data asks for a hash algorithm other than sha-256",
        ));
    }
    let hashes: Vec<Value> = entries.iter().map(|entry| entry.hash().into()).collect();
    payload.insert("transaction_data_hashes".into(), hashes.into());
    if entries.iter().any(|entry| entry.hashes_alg().is_some()) {
        payload.insert("transaction_data_hashes_alg".into(), SHA_256.into());
    }
    Ok(())
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
