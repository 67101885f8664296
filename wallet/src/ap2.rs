//! Signing AP2 v0.2 mandates (the wallet's side of
//! `agentid_verifier::Verifier::verify_mandate_chain`): a user's open mandate as the
//! root of a chain, a delegation of it to another agent key, and the closed mandate
//! an agent presents to one verifier — in the exact wire form the AP2 SDK builds and
//! verifies (Delegate SD-JWT, `~~`-joined, each token's `delegate_payload` one
//! array-element disclosure).
//!
//! AP2 requires ECDSA: its checkout JWTs are ES256, and the SDK reads only P-256
//! holder keys (`cnf.jwk`). Every mandate is therefore signed with ES256, whatever
//! the wallet's default key type: [`MANDATE_ALGORITHM`], and signing refuses any other
//! key rather than emit a chain AP2 verifiers refuse. (agentid's ES256 signatures are
//! RFC 6979 deterministic with low S, which ECDSA verifiers accept.)

use agentid_verifier::{b64url_encode, sha256_b64, Algorithm, PublicKey};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};

use crate::delegate::{last_segment, HopBinding};
use crate::error::WalletError;
use crate::issuer::cnf;
use crate::jws::sign_compact;
use crate::keys::SigningKey;

/// The algorithm of every AP2 mandate signature.
pub const MANDATE_ALGORITHM: Algorithm = Algorithm::ES256;
/// `typ` of a mandate chain's root, as the AP2 SDK writes it.
pub const MANDATE_ROOT_TYP: &str = "example+sd-jwt";

/// The open and closed mandate types AP2 v0.2 defines (`vct`).
pub const MANDATE_TYPES: [&str; 4] = [
    "mandate.checkout.open.1",
    "mandate.checkout.1",
    "mandate.payment.open.1",
    "mandate.payment.1",
];

fn require_es256(key: &SigningKey, what: &str) -> Result<(), WalletError> {
    if key.algorithm() == MANDATE_ALGORITHM {
        Ok(())
    } else {
        Err(WalletError::request(format!(
            "AP2 mandates are signed with ES256 (P-256); the {what} key is {} — make a \
             P-256 key for AP2 (agentid key new --task … --alg es256)",
            key.algorithm()
        )))
    }
}

fn mandate_object(mandate: &Value, open: bool) -> Result<Map<String, Value>, WalletError> {
    let Value::Object(object) = mandate else {
        return Err(WalletError::request("a mandate is a JSON object"));
    };
    let vct = object
        .get("vct")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let expected = if open { ".open.1" } else { ".1" };
    if !MANDATE_TYPES.contains(&vct) || (open != vct.ends_with(".open.1")) {
        return Err(WalletError::request(format!(
            "the mandate's vct must be one of AP2's {} mandate types (…{expected}), not {vct:?}",
            if open { "open" } else { "closed" }
        )));
    }
    if object.contains_key("cnf") {
        return Err(WalletError::request(
            "the mandate's holder (cnf) is set by the wallet",
        ));
    }
    Ok(object.clone())
}

/// One token: `JWT~<delegate_payload disclosure>~`.
fn token(key: &SigningKey, typ: &str, mut payload: Map<String, Value>, object: Value) -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let disclosure = b64url_encode(json!([b64url_encode(&salt), object]).to_string().as_bytes());
    payload.insert(
        "delegate_payload".into(),
        json!([{"...": sha256_b64(&disclosure)}]),
    );
    payload.insert("_sd_alg".into(), "sha-256".into());
    let mut header = Map::new();
    header.insert("alg".into(), key.algorithm().as_str().into());
    header.insert("typ".into(), typ.into());
    format!("{}~{disclosure}~", sign_compact(&header, &payload, key))
}

/// The user's open mandate (`mandate.checkout.open.1` or `mandate.payment.open.1`),
/// handed to the agent key `holder`: the root of a chain, signed by `user`.
///
/// # Errors
/// [`WalletError::InvalidRequest`] for a key that is not ES256 or a mandate that is
/// not an open AP2 mandate.
pub fn create_open_mandate(
    user: &SigningKey,
    mandate: &Value,
    holder: &PublicKey,
) -> Result<String, WalletError> {
    require_es256(user, "user's")?;
    if holder.algorithm() != MANDATE_ALGORITHM {
        return Err(WalletError::request(
            "the mandate's holder key must be P-256 (ES256)",
        ));
    }
    let mut object = mandate_object(mandate, true)?;
    object.insert("cnf".into(), cnf(holder));
    Ok(token(
        user,
        MANDATE_ROOT_TYP,
        Map::new(),
        Value::Object(object),
    ))
}

fn hop_payload(
    chain: &str,
    audience: &str,
    nonce: &str,
    binding: HopBinding,
    now: u64,
) -> Map<String, Value> {
    let mut payload = Map::new();
    payload.insert("iat".into(), now.into());
    payload.insert("aud".into(), audience.into());
    payload.insert("nonce".into(), nonce.into());
    let (claim, hash) = binding.claim(last_segment(chain));
    payload.insert(claim.into(), hash.into());
    payload
}

fn append(chain: &str, hop: &str) -> String {
    format!("{}~~{hop}", chain.trim_end_matches('~'))
}

/// Hands an open mandate on to the agent key `to` (a `kb+sd-jwt+kb` hop signed by
/// the current holder), with the narrowed open mandate `mandate`.
///
/// # Errors
/// As [`create_open_mandate`].
#[allow(clippy::too_many_arguments)]
pub fn delegate_mandate(
    chain: &str,
    holder: &SigningKey,
    mandate: &Value,
    to: &PublicKey,
    audience: &str,
    nonce: &str,
    binding: HopBinding,
    now: u64,
) -> Result<String, WalletError> {
    require_es256(holder, "holder's")?;
    if to.algorithm() != MANDATE_ALGORITHM {
        return Err(WalletError::request(
            "the next holder's key must be P-256 (ES256)",
        ));
    }
    let mut object = mandate_object(mandate, true)?;
    object.insert("cnf".into(), cnf(to));
    let payload = hop_payload(chain, audience, nonce, binding, now);
    Ok(append(
        chain,
        &token(holder, "kb+sd-jwt+kb", payload, Value::Object(object)),
    ))
}

/// Closes the chain with the closed mandate `mandate` (`mandate.checkout.1` or
/// `mandate.payment.1`) for one verifier (`audience`, `nonce`): a `kb+sd-jwt` hop
/// signed by the current holder.
///
/// # Errors
/// As [`create_open_mandate`].
pub fn close_mandate(
    chain: &str,
    holder: &SigningKey,
    mandate: &Value,
    audience: &str,
    nonce: &str,
    binding: HopBinding,
    now: u64,
) -> Result<String, WalletError> {
    require_es256(holder, "holder's")?;
    let object = mandate_object(mandate, false)?;
    let payload = hop_payload(chain, audience, nonce, binding, now);
    Ok(append(
        chain,
        &token(holder, "kb+sd-jwt", payload, Value::Object(object)),
    ))
}
