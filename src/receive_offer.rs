//! `agentid receive --offer URI`: the agent's side of OpenID4VCI 1.0, pre-authorized
//! code flow.
//!
//! The offer names the credential issuer and one credential configuration; the
//! wallet reads the issuer's metadata and its authorization server's, redeems the
//! pre-authorized code for an access token, fetches a `c_nonce`, makes a fresh task
//! key, proves it (`openid4vci-proof+jwt`, `kid` the key's did:key URL), receives
//! the credential and stores it through [`agentid_wallet::Wallet::receive`], which
//! verifies it and that it is bound to the new key. The key is made only once the
//! token is granted and a nonce fetched, so a refused or replayed offer leaves
//! nothing behind; a refusal at the credential endpoint leaves that unused task key
//! (`key list` shows it). Every fetch is bounded
//! ([`crate::oid4vp::http`]): `https` unless `--allow-http`, no redirects, timeouts,
//! size caps.

use agentid_verifier::{b64url_encode, TrustStore};
use agentid_wallet::{SigningKey, Wallet};
use serde_json::{json, Value};

use crate::cli::ReceiveArgs;
use crate::error::CliError;
use crate::oid4vp::http::{Fetched, HttpClient, HttpOptions};
use crate::wallet_cmd::wallet_error;

/// The pre-authorized code grant.
const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// Largest metadata document or token answer read, in bytes.
const MAX_METADATA_BYTES: usize = 256 * 1024;
/// Largest credential answer read, in bytes.
const MAX_CREDENTIAL_BYTES: usize = 1024 * 1024;
/// Longest offer URI accepted, in bytes.
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// What an offer asks the wallet to do.
#[derive(Debug)]
struct Offer {
    issuer: String,
    configuration: String,
    code: String,
}

/// Receives the offered credential into `wallet`; returns its wallet id.
pub(crate) fn receive(
    wallet: &mut Wallet,
    offer_uri: &str,
    args: &ReceiveArgs,
    trust: Option<&TrustStore>,
) -> Result<String, CliError> {
    let http = HttpClient::new(&HttpOptions {
        allow_http: args.allow_http,
        tls_ca: args.tls_ca.clone(),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let offer = read_offer(&http, offer_uri).await?;
        let metadata = json_of(
            http.get(
                &well_known(&offer.issuer, "openid-credential-issuer")?,
                "application/json",
                MAX_METADATA_BYTES,
            )
            .await?,
            "the credential issuer metadata",
        )?;
        let credential_endpoint = text(&metadata, "credential_endpoint", "issuer metadata")?;
        let nonce_endpoint = text(&metadata, "nonce_endpoint", "issuer metadata")?;
        if metadata.get("credential_issuer").and_then(Value::as_str) != Some(offer.issuer.as_str())
        {
            return Err(CliError::invalid(
                "the issuer metadata names another credential issuer than the offer",
            ));
        }
        let configuration = metadata
            .get("credential_configurations_supported")
            .and_then(|all| all.get(&offer.configuration))
            .ok_or_else(|| {
                CliError::invalid("the issuer does not describe the offered configuration")
            })?;
        if configuration.get("format").and_then(Value::as_str) != Some("dc+sd-jwt") {
            return Err(CliError::invalid(
                "the offered credential is not an SD-JWT VC (format dc+sd-jwt)",
            ));
        }
        let server = metadata
            .get("authorization_servers")
            .and_then(Value::as_array)
            .and_then(|servers| servers.first())
            .and_then(Value::as_str)
            .unwrap_or(&offer.issuer)
            .to_owned();
        let server_metadata = json_of(
            http.get(
                &well_known(&server, "oauth-authorization-server")?,
                "application/json",
                MAX_METADATA_BYTES,
            )
            .await?,
            "the authorization server metadata",
        )?;
        let token_endpoint = text(
            &server_metadata,
            "token_endpoint",
            "authorization server metadata",
        )?;

        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", PRE_AUTHORIZED_GRANT)
            .append_pair("pre-authorized_code", &offer.code)
            .finish();
        let token = json_of(
            http.post_form(&token_endpoint, form, MAX_METADATA_BYTES)
                .await?,
            "the token endpoint",
        )?;
        let access_token = text(&token, "access_token", "token answer")?;
        let nonce = json_of(
            http.post_form(&nonce_endpoint, String::new(), MAX_METADATA_BYTES)
                .await?,
            "the nonce endpoint",
        )?;
        let c_nonce = text(&nonce, "c_nonce", "nonce answer")?;

        let now = agentid_wallet::unix_now();
        let task = args
            .task
            .clone()
            .unwrap_or_else(|| offer.configuration.clone());
        let did = wallet
            .new_task_key(&task, args.alg.into(), now)
            .map_err(wallet_error)?;
        let key = wallet.signing_key(&did).map_err(wallet_error)?;
        let proof = key_proof(&key, &did, &offer.issuer, &c_nonce, now);
        let request = json!({
            "credential_configuration_id": offer.configuration,
            "proofs": {"jwt": [proof]},
        });
        let answer = json_of(
            http.post_json_with(
                &credential_endpoint,
                &request,
                Some(&access_token),
                MAX_CREDENTIAL_BYTES,
            )
            .await?,
            "the credential endpoint",
        )?;
        let credential = answer
            .get("credentials")
            .and_then(Value::as_array)
            .and_then(|credentials| credentials.first())
            .and_then(|first| first.get("credential"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                CliError::invalid("the credential endpoint answered without a credential")
            })?;
        wallet
            .receive(credential, trust, agentid_wallet::unix_now())
            .map_err(wallet_error)
    })
}

/// The offer, by value or fetched from `credential_offer_uri`.
async fn read_offer(http: &HttpClient, uri: &str) -> Result<Offer, CliError> {
    if uri.len() > MAX_OFFER_BYTES {
        return Err(CliError::invalid("the offer URI is too long"));
    }
    let parsed = url::Url::parse(uri)
        .map_err(|error| CliError::usage(format!("--offer is not a URI: {error}")))?;
    let mut by_value = None;
    let mut by_reference = None;
    for (name, value) in parsed.query_pairs() {
        match name.as_ref() {
            "credential_offer" => by_value = Some(value.into_owned()),
            "credential_offer_uri" => by_reference = Some(value.into_owned()),
            _ => {}
        }
    }
    let offer: Value = match (by_value, by_reference) {
        (Some(text), None) => serde_json::from_str(&text).map_err(|error| {
            CliError::invalid(format!("the credential offer is not JSON: {error}"))
        })?,
        (None, Some(reference)) => json_of(
            http.get(&reference, "application/json", MAX_METADATA_BYTES)
                .await?,
            "the credential offer URI",
        )?,
        _ => {
            return Err(CliError::usage(
                "--offer carries exactly one of credential_offer and credential_offer_uri",
            ))
        }
    };
    let issuer = text(&offer, "credential_issuer", "credential offer")?;
    let configuration = match offer
        .get("credential_configuration_ids")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([Value::String(one)]) => one.clone(),
        Some([_, _, ..]) => {
            return Err(CliError::invalid(
                "the offer names several credentials; this wallet receives one at a time",
            ))
        }
        _ => {
            return Err(CliError::invalid(
                "the offer names no credential configuration",
            ))
        }
    };
    let grant = offer
        .get("grants")
        .and_then(|grants| grants.get(PRE_AUTHORIZED_GRANT))
        .ok_or_else(|| {
            CliError::invalid("the offer has no pre-authorized code (the only grant supported)")
        })?;
    if grant.get("tx_code").is_some() {
        return Err(CliError::invalid(
            "the offer requires a transaction code, which this wallet does not support",
        ));
    }
    let code = text(grant, "pre-authorized_code", "credential offer")?;
    Ok(Offer {
        issuer,
        configuration,
        code,
    })
}

/// `https://host/.well-known/<name>/path` for an issuer or server identifier
/// (RFC 8414 §3.1, OpenID4VCI 1.0 §12.2.2).
fn well_known(identifier: &str, name: &str) -> Result<String, CliError> {
    let parsed = url::Url::parse(identifier)
        .map_err(|error| CliError::invalid(format!("{identifier:?} is not a URL: {error}")))?;
    let path = parsed.path().trim_end_matches('/');
    let origin = parsed.origin().ascii_serialization();
    Ok(format!("{origin}/.well-known/{name}{path}"))
}

/// The key proof (OpenID4VCI 1.0 Appendix F.1) for the issuer, over `nonce`.
fn key_proof(key: &SigningKey, did: &str, issuer: &str, nonce: &str, now: u64) -> String {
    let fragment = did.strip_prefix("did:key:").unwrap_or(did);
    let header = json!({
        "alg": key.algorithm().as_str(),
        "typ": "openid4vci-proof+jwt",
        "kid": format!("{did}#{fragment}"),
    });
    let payload = json!({"aud": issuer, "iat": now, "nonce": nonce});
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    format!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())))
}

/// The JSON body of a successful answer; an OAuth error answer as its code and
/// description.
fn json_of(fetched: Fetched, what: &str) -> Result<Value, CliError> {
    let body: Option<Value> = serde_json::from_slice(&fetched.body).ok();
    if !(200..300).contains(&fetched.status) {
        let error = body
            .as_ref()
            .and_then(|body| body.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("no OAuth error");
        let description = body
            .as_ref()
            .and_then(|body| body.get("error_description"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(CliError::invalid(format!(
            "{what} refused (HTTP {}): {error}{}{description}",
            fetched.status,
            if description.is_empty() { "" } else { ": " }
        )));
    }
    body.ok_or_else(|| CliError::invalid(format!("{what} did not answer JSON")))
}

fn text(value: &Value, member: &str, what: &str) -> Result<String, CliError> {
    value
        .get(member)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty() && text.len() <= 8 * 1024)
        .map(str::to_owned)
        .ok_or_else(|| CliError::invalid(format!("the {what} has no {member}")))
}
