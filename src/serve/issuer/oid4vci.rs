//! OpenID4VCI 1.0, pre-authorized code flow: the issuer is its own authorization
//! server.
//!
//! 1. A caller (the orchestrator) `POST /v1/offers` what the agent is to get; the
//!    answer is a credential offer (by value, in an `openid-credential-offer://`
//!    URI) holding a single-use pre-authorized code, stored as its SHA-256 with the
//!    offer's details sealed under the state secret.
//! 2. The agent's wallet reads the metadata (`/.well-known/openid-credential-issuer`,
//!    `/.well-known/oauth-authorization-server`), redeems the code at the token
//!    endpoint (`offered → redeemed`, once) for an access token, gets a `c_nonce`
//!    from the nonce endpoint, and asks the credential endpoint with a key proof
//!    (`proofs.jwt`) over that nonce. The credential is bound to the proof's key;
//!    the nonce is spent and the offer moves to `issued` in the transaction that
//!    records the credential, so one offer gives one credential.

use agentid_verifier::key_proof::{verify_key_proof, KeyProofCheck, KeyProofError};
use agentid_verifier::{b64url_encode, did_key};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::api::json_body;
use super::callers::{bearer, offer_caller};
use super::errors::{ApiRefusal, OauthRefusal};
use super::mint::{request_of, subject_of, ttl_of, CredentialBody};
use super::Shared;
use crate::serve::state::issuer::{IssuerStoreError, OfferRecord};
use crate::serve::state::marks::MarkKind;

/// The pre-authorized code grant (OpenID4VCI 1.0 §3.5).
pub(crate) const PRE_AUTHORIZED_GRANT: &str =
    "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// How old a key proof may be, in seconds.
const PROOF_MAX_AGE_SECS: u64 = 300;
/// Clock difference tolerated on key proofs, in seconds.
const PROOF_SKEW_SECS: u64 = 30;
/// Largest token request form, in bytes.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// The credential configuration id of a credential type: `urn:agentid:vct:task:1`
/// is `agentid_task_1`; any other vct keeps its letters and digits.
pub(crate) fn configuration_id(vct: &str) -> String {
    let name = vct
        .strip_prefix("urn:agentid:vct:")
        .map_or_else(|| vct.to_owned(), |rest| format!("agentid_{rest}"));
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `GET /.well-known/openid-credential-issuer` (§12.2).
pub(super) async fn issuer_metadata(State(role): State<Shared>) -> Response {
    let algorithm = role.mint.issuer.public_key().algorithm().as_str();
    let mut configurations = Map::new();
    for vct in role.vcts.iter() {
        configurations.insert(
            configuration_id(vct),
            json!({
                "format": "dc+sd-jwt",
                "vct": vct,
                "cryptographic_binding_methods_supported": ["jwk", "did:key"],
                "credential_signing_alg_values_supported": [algorithm],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA", "ES256K"]}
                },
            }),
        );
    }
    let url = &role.public_url;
    Json(json!({
        "credential_issuer": url,
        "credential_endpoint": format!("{url}/v1/oid4vci/credential"),
        "nonce_endpoint": format!("{url}/v1/oid4vci/nonce"),
        "credential_configurations_supported": configurations,
    }))
    .into_response()
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414): the token endpoint
/// of the pre-authorized code flow; there is no authorization endpoint.
pub(super) async fn authorization_server_metadata(State(role): State<Shared>) -> Response {
    let url = &role.public_url;
    Json(json!({
        "issuer": url,
        "token_endpoint": format!("{url}/v1/oid4vci/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": true,
    }))
    .into_response()
}

/// What an offer is for, sealed in the store.
#[derive(Serialize, Deserialize)]
struct OfferDetails {
    vct: String,
    claims: Map<String, Value>,
    sd: Vec<String>,
    ttl: Option<Value>,
    /// The agent DID the proof key must be, when the caller named one.
    subject: Option<String>,
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    b64url_encode(&bytes)
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The sealing id of an offer: its code's digest, so no other row's blob opens.
fn seal_id(code_digest: &[u8; 32]) -> String {
    format!("issuer-offer:{}", b64url_encode(code_digest))
}

/// `POST /v1/offers`: 201 `{credential_offer, credential_offer_uri, expires_at}`.
pub(super) async fn create_offer(
    State(role): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiRefusal> {
    let now = agentid_wallet::unix_now();
    let caller = role
        .callers
        .authenticate(&headers, &role.marks, now)
        .await?;
    let body: CredentialBody = json_body(&headers, &body)?;
    if !caller.may_issue(&body.vct) {
        return Err(ApiRefusal::Forbidden(
            "this caller may not have credentials of this vct issued".into(),
        ));
    }
    if !role.vcts.iter().any(|vct| vct == &body.vct) {
        return Err(ApiRefusal::Invalid(format!(
            "/vct: no schema for this credential type (known: {})",
            role.vcts.join(", ")
        )));
    }
    // Check now what can be checked without the holder key, with a stand-in key:
    // a bad offer is refused to the caller, not to the agent later.
    let (subject, stand_in) = match &body.subject {
        Some(subject) => {
            let (did, key) = subject_of(subject)?;
            (Some(did), key)
        }
        None => (None, role.mint.issuer.public_key().clone()),
    };
    let probe = request_of(&body, subject.clone().unwrap_or_default(), stand_in)?;
    role.mint
        .issuer
        .issue(&probe, now)
        .map_err(super::mint::refusal_of)?;
    ttl_of(body.ttl.as_ref())?;

    let code = random_secret();
    let code_digest = digest(&code);
    let details = OfferDetails {
        vct: body.vct.clone(),
        claims: body.claims,
        sd: body.sd,
        ttl: body.ttl,
        subject,
    };
    let plain =
        zeroize::Zeroizing::new(serde_json::to_vec(&details).map_err(|_| ApiRefusal::Internal)?);
    let expires_at = now.saturating_add(role.offer_ttl_secs);
    role.mint
        .store
        .insert_offer(&OfferRecord {
            code_digest,
            caller: caller.id.clone(),
            created_at: now,
            expires_at,
            sealed: role.secret.seal(&seal_id(&code_digest), &plain),
        })
        .await?;
    let offer = json!({
        "credential_issuer": role.public_url,
        "credential_configuration_ids": [configuration_id(&details.vct)],
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": code}},
    });
    let encoded: String =
        url::form_urlencoded::byte_serialize(offer.to_string().as_bytes()).collect();
    tracing::info!(caller = %caller.id, vct = %details.vct, "credential offer made");
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(json!({
            "credential_offer": offer,
            "credential_offer_uri": format!("openid-credential-offer://?credential_offer={encoded}"),
            "expires_at": expires_at,
        })),
    )
        .into_response())
}

/// `POST /v1/oid4vci/token`: a pre-authorized code for an access token, once.
pub(super) async fn token(
    State(role): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OauthRefusal> {
    let form_declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_declared || body.len() > MAX_FORM_BYTES {
        return Err(OauthRefusal::bad_request(
            "invalid_request",
            "the token request is a form (application/x-www-form-urlencoded) of at most 8 KiB",
        ));
    }
    let mut grant_type = None;
    let mut code = None;
    for (name, value) in url::form_urlencoded::parse(&body) {
        let slot = match name.as_ref() {
            "grant_type" => &mut grant_type,
            "pre-authorized_code" => &mut code,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(OauthRefusal::bad_request(
                "invalid_request",
                format!("{name} given twice"),
            ));
        }
    }
    match grant_type.as_deref() {
        Some(PRE_AUTHORIZED_GRANT) => {}
        Some(_) => {
            return Err(OauthRefusal::bad_request(
                "unsupported_grant_type",
                "only the pre-authorized code grant is supported",
            ))
        }
        None => {
            return Err(OauthRefusal::bad_request(
                "invalid_request",
                "no grant_type",
            ))
        }
    }
    let code = code
        .filter(|code| !code.is_empty() && code.len() <= 256)
        .ok_or_else(|| OauthRefusal::bad_request("invalid_request", "no pre-authorized_code"))?;
    let now = agentid_wallet::unix_now();
    let access_token = random_secret();
    let expires_at = now.saturating_add(role.token_ttl_secs);
    match role
        .mint
        .store
        .redeem_offer(&digest(&code), &digest(&access_token), expires_at, now)
        .await
    {
        Ok(_) => {}
        Err(IssuerStoreError::OfferUnusable) => {
            return Err(OauthRefusal::bad_request(
                "invalid_grant",
                "the pre-authorized code is unknown, expired or already used",
            ))
        }
        Err(other) => return Err(OauthRefusal::from_store(other)),
    }
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": role.token_ttl_secs,
        })),
    )
        .into_response())
}

/// `POST /v1/oid4vci/nonce` (§7): a fresh `c_nonce`, written nowhere until spent.
pub(super) async fn nonce(State(role): State<Shared>) -> Response {
    let now = agentid_wallet::unix_now();
    let nonce = role.nonces.issue(now.saturating_add(role.nonce_ttl_secs));
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(json!({"c_nonce": nonce})),
    )
        .into_response()
}

/// The credential request (§8.2), as far as this issuer reads it.
#[derive(Deserialize)]
struct CredentialRequestBody {
    credential_configuration_id: Option<String>,
    credential_identifier: Option<String>,
    proofs: Option<Proofs>,
    proof: Option<Value>,
    credential_response_encryption: Option<Value>,
}

#[derive(Deserialize)]
struct Proofs {
    jwt: Option<Vec<String>>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

fn invalid_request(description: impl Into<String>) -> OauthRefusal {
    OauthRefusal::bad_request("invalid_credential_request", description)
}

fn proof_refusal(error: &KeyProofError) -> OauthRefusal {
    match error {
        KeyProofError::WrongNonce => OauthRefusal::bad_request("invalid_nonce", error.to_string()),
        other => OauthRefusal::bad_request("invalid_proof", other.to_string()),
    }
}

/// `POST /v1/oid4vci/credential`: the offer's credential, bound to the proof's key.
pub(super) async fn credential(
    State(role): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OauthRefusal> {
    let now = agentid_wallet::unix_now();
    let token = bearer(&headers)
        .ok_or_else(|| OauthRefusal::invalid_token("send Authorization: Bearer <access token>"))?;
    let token_digest = digest(token);
    let redeemed = match role.mint.store.offer_by_token(&token_digest, now).await {
        Ok(redeemed) => redeemed,
        Err(IssuerStoreError::OfferUnusable) => {
            return Err(OauthRefusal::invalid_token(
                "the access token is unknown or expired",
            ))
        }
        Err(other) => return Err(OauthRefusal::from_store(other)),
    };
    if redeemed.issued_jti.is_some() {
        return Err(OauthRefusal::bad_request(
            "credential_request_denied",
            "this offer's credential was issued already",
        ));
    }
    let request: CredentialRequestBody =
        json_body(&headers, &body).map_err(|refusal| invalid_request(format!("{refusal:?}")))?;
    let details: OfferDetails = {
        let plain = role
            .secret
            .open(
                &seal_id(&redeemed.offer.code_digest),
                &redeemed.offer.sealed,
            )
            .map_err(|_| {
                tracing::error!("an offer does not open under the state secret");
                OauthRefusal::from_store(IssuerStoreError::Store(
                    crate::serve::state::StateError::Corrupt("sealed offer".into()),
                ))
            })?;
        serde_json::from_slice(&plain)
            .map_err(|_| invalid_request("the stored offer is unreadable"))?
    };
    if request.credential_identifier.is_some() {
        return Err(invalid_request(
            "credential_identifier is for authorization_details, which this issuer does not use; \
             send credential_configuration_id",
        ));
    }
    if request.credential_response_encryption.is_some() {
        return Err(OauthRefusal::bad_request(
            "invalid_encryption_parameters",
            "credential response encryption is not supported",
        ));
    }
    let configuration = request
        .credential_configuration_id
        .ok_or_else(|| invalid_request("no credential_configuration_id"))?;
    if configuration != configuration_id(&details.vct) {
        return Err(OauthRefusal::bad_request(
            "unknown_credential_configuration",
            "the offer is for another credential configuration",
        ));
    }
    if request.proof.is_some() {
        return Err(invalid_request("send proofs (OpenID4VCI 1.0), not proof"));
    }
    let proofs = request
        .proofs
        .ok_or_else(|| invalid_request("no proofs: the credential is bound to a key you prove"))?;
    if !proofs.other.is_empty() {
        return Err(invalid_request("only jwt proofs are supported"));
    }
    let proof = match proofs.jwt.as_deref() {
        Some([one]) => one,
        Some(_) => {
            return Err(invalid_request(
                "exactly one jwt proof: batch issuance is not offered",
            ))
        }
        None => return Err(invalid_request("only jwt proofs are supported")),
    };
    let check = KeyProofCheck {
        issuer: &role.public_url,
        nonce: None,
        now,
        max_age_secs: PROOF_MAX_AGE_SECS,
        skew_secs: PROOF_SKEW_SECS,
    };
    let verified = verify_key_proof(proof, &check).map_err(|error| proof_refusal(&error))?;
    let nonce = verified
        .nonce
        .as_deref()
        .ok_or_else(|| proof_refusal(&KeyProofError::WrongNonce))?;
    let nonce_expires = role
        .nonces
        .check(nonce, now)
        .ok_or_else(|| proof_refusal(&KeyProofError::WrongNonce))?;
    let holder_did = verified
        .did
        .clone()
        .unwrap_or_else(|| did_key::encode(&verified.key));
    if details
        .subject
        .as_deref()
        .is_some_and(|subject| subject != holder_did)
    {
        return Err(OauthRefusal::bad_request(
            "invalid_proof",
            "the proof is for another key than the offer names",
        ));
    }
    let fresh = role
        .marks
        .mark_used(MarkKind::CredentialNonce, nonce, nonce_expires)
        .await
        .map_err(|error| OauthRefusal::from_store(error.into()))?;
    if !fresh {
        return Err(proof_refusal(&KeyProofError::WrongNonce));
    }
    let body = CredentialBody {
        subject: None,
        vct: details.vct,
        claims: details.claims,
        sd: details.sd,
        ttl: details.ttl,
    };
    let credential_request = request_of(&body, holder_did, verified.key)
        .map_err(|refusal| invalid_request(format!("{refusal:?}")))?;
    let minted = role
        .mint
        .mint(
            credential_request,
            &offer_caller(&redeemed.offer.caller),
            Some(token_digest),
            now,
        )
        .await
        .map_err(|refusal| match refusal {
            ApiRefusal::Conflict(why) => {
                OauthRefusal::bad_request("credential_request_denied", why)
            }
            ApiRefusal::Unavailable => OauthRefusal::from_store(IssuerStoreError::Store(
                crate::serve::state::StateError::Unavailable("store".into()),
            )),
            other => invalid_request(format!("{other:?}")),
        })?;
    tracing::info!(caller = %redeemed.offer.caller, vct = %body.vct, jti = %minted.jti, "credential issued for an offer");
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(json!({"credentials": [{"credential": minted.credential}]})),
    )
        .into_response())
}
