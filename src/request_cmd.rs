//! `agentid request create|verify`: OpenID4VP for a verifier without a service. The
//! request object goes wherever the operator publishes it; the request's private
//! state (nonce, state, the response-decryption key) stays in a 0600 file until the
//! wallet's answer arrives as a file.

use std::path::{Path, PathBuf};

use agentid_verifier::b64url_encode;
use agentid_verifier::dcql::DcqlQuery;
use agentid_verifier::oid4vp::TransactionData;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::cli::{RequestCommand, RequestCreateArgs, RequestVerifyArgs};
use crate::error::CliError;
use crate::io::read_bounded;
use crate::oid4vp::check::{read_response, state_matches, verdict_json, verify_vp_token, Refusal};
use crate::oid4vp::secret::StateSecret;
use crate::oid4vp::session::{
    make_request, random_token, response_kid, Endpoints, NewRequest, RequestDetails, DIRECT_POST,
    DIRECT_POST_JWT,
};
use crate::verify_cmd::{load_status, load_trust};

/// Largest DCQL, transaction-data, state or response file read.
const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// The state file: what `request verify` checks the answer against.
#[derive(Serialize, Deserialize)]
struct StateFile {
    details: RequestDetails,
    /// The response-decryption key (P-256 scalar, base64url); secret.
    response_key: Zeroizing<String>,
}

pub(crate) fn run(command: &RequestCommand, wallet: Option<&PathBuf>) -> Result<(), CliError> {
    match command {
        RequestCommand::Create(args) => create(args, wallet),
        RequestCommand::Verify(args) => verify(args),
    }
}

fn read_json(path: &Path, what: &str) -> Result<Value, CliError> {
    let bytes = read_bounded(&path.to_string_lossy(), MAX_INPUT_BYTES)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::usage(format!("{what} {}: not JSON: {e}", path.display())))
}

fn create(args: &RequestCreateArgs, wallet: Option<&PathBuf>) -> Result<(), CliError> {
    let dcql_query = DcqlQuery::from_value(&read_json(&args.dcql, "--dcql")?)
        .map_err(|e| CliError::usage(format!("--dcql: {e}")))?;
    let mut transaction_data = Vec::new();
    if let Some(path) = &args.transaction_data {
        let objects = match read_json(path, "--transaction-data")? {
            Value::Array(items) => items,
            object => vec![object],
        };
        for object in objects {
            let Value::Object(object) = object else {
                return Err(CliError::usage("--transaction-data: objects only"));
            };
            transaction_data.push(
                TransactionData::encode(&object)
                    .map_err(|e| CliError::usage(format!("--transaction-data: {e}")))?,
            );
        }
    }
    if args.response_mode != DIRECT_POST && args.response_mode != DIRECT_POST_JWT {
        return Err(CliError::usage(
            "--response-mode: direct_post or direct_post.jwt",
        ));
    }
    let ttl =
        humantime::parse_duration(&args.ttl).map_err(|e| CliError::usage(format!("--ttl: {e}")))?;
    let signer = crate::serve::request_signer(&args.identity, wallet)?;
    let secret = StateSecret::generate();
    let id = random_token();
    let new = NewRequest {
        dcql_query,
        transaction_data,
        response_mode: args.response_mode.clone(),
        callback_url: None,
        ttl_secs: ttl.as_secs().max(1),
    };
    let endpoints = Endpoints {
        response_uri: args.response_uri.clone(),
        request_uri: args.request_uri.clone(),
    };
    let details = make_request(
        id.clone(),
        &new,
        &endpoints,
        &signer,
        &secret,
        agentid_wallet::unix_now(),
    )
    .map_err(|e| CliError::usage(format!("the request would be refused by wallets: {e}")))?;
    let key = secret.response_key(&id);
    let state = StateFile {
        details,
        response_key: Zeroizing::new(b64url_encode(&key.to_bytes())),
    };
    let contents = Zeroizing::new(
        serde_json::to_vec_pretty(&state).map_err(|e| CliError::failed(e.to_string()))?,
    );
    crate::oid4vp::secret::write_private(&args.state, &contents)?;
    let written = state
        .details
        .request_object
        .clone()
        .unwrap_or_else(|| state.details.authorization_request_uri.clone());
    crate::io::write_file(&args.out, written.as_bytes())?;
    println!("{}", state.details.authorization_request_uri);
    Ok(())
}

fn verify(args: &RequestVerifyArgs) -> Result<(), CliError> {
    let state_bytes = Zeroizing::new(read_bounded(
        &args.state.to_string_lossy(),
        MAX_INPUT_BYTES,
    )?);
    let state: StateFile = serde_json::from_slice(&state_bytes)
        .map_err(|e| CliError::usage(format!("--state: not a request state file: {e}")))?;
    let key_bytes = {
        use base64::Engine as _;
        Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(state.response_key.as_bytes())
                .map_err(|_| CliError::usage("--state: unreadable response key"))?,
        )
    };
    let key = p256::SecretKey::from_slice(&key_bytes)
        .map_err(|_| CliError::usage("--state: unreadable response key"))?;
    let trust = load_trust(&args.trust)?;
    let policy = agentid_verifier::Policy::default();
    let now = agentid_wallet::unix_now();
    let status = load_status(&args.status, &trust, &policy, now)?;
    let verifier = agentid_verifier::Verifier::new(trust, policy).with_status_lists(status);
    let body = read_bounded(&args.response, MAX_INPUT_BYTES)?;
    let details = &state.details;
    let checked =
        read_response(body.trim_ascii(), &key, &response_kid(&details.id)).and_then(|received| {
            if !state_matches(details, received.state.as_deref()) {
                return Err(Refusal::new(
                    "invalid_request",
                    "the state is not this request's",
                ));
            }
            if now >= details.expires_at {
                return Err(Refusal::new("invalid_request", "the request expired"));
            }
            if (details.response_mode == DIRECT_POST_JWT) != received.encrypted {
                return Err(Refusal::new(
                    "invalid_request",
                    format!(
                        "the request asked for response_mode {}",
                        details.response_mode
                    ),
                ));
            }
            if let Some(error) = received.wallet_error {
                return Err(Refusal::new(
                    "wallet_error",
                    format!("the wallet answered {error}"),
                ));
            }
            verify_vp_token(
                &verifier,
                details,
                &received.vp_token.unwrap_or_default(),
                now,
            )
        });
    let verdict = verdict_json(&checked, now);
    if args.json {
        println!("{verdict}");
    } else {
        match &checked {
            Ok(credentials) => {
                println!(
                    "accepted: {} credential quer(ies) answered",
                    credentials.len()
                );
                for (query, decisions) in credentials {
                    for decision in decisions {
                        let claims = decision
                            .pointer("/verified/claims")
                            .cloned()
                            .unwrap_or(json!({}));
                        println!("  {query}: {claims}");
                    }
                }
            }
            Err(refusal) => println!("refused ({}): {}", refusal.kind, refusal.reason),
        }
    }
    match checked {
        Ok(_) => Ok(()),
        Err(_) => Err(CliError {
            status: 1,
            message: String::new(),
        }),
    }
}
