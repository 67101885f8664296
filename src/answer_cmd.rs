//! `agentid present --request`: the wallet answering an OpenID4VP 1.0 request.
//!
//! Fetch the request object (`https` only unless `--allow-http`), check it (its
//! signature by the client identifier's key, the prefix's rules, X.509 chains to the
//! holder's `--verifier-anchor`s), refuse one already answered, evaluate its DCQL
//! query against the credentials held, and disclose the fewest claims that satisfy
//! it — within the disclosure policy, or after showing what would go and to whom
//! (`--yes`). Then bind every presentation to the client identifier, the nonce and
//! the transaction data, encrypt when asked (`direct_post.jwt`) and post.

use std::path::Path;

use agentid_verifier::dcql::DcqlQuery;
use agentid_verifier::oid4vp::jwe::Enc;
use agentid_verifier::oid4vp::request::{
    parse_request_uri_with, verify_request_object, AuthorizationRequest, RequestOptions,
    RequestReference, RequestUriMethod,
};
use agentid_verifier::oid4vp::response::{error_response_form, AuthorizationResponse};
use agentid_verifier::oid4vp::transaction_data::MAX_TRANSACTION_DATA;
use agentid_verifier::oid4vp::TransactionData;
use agentid_verifier::x509::X509Anchor;
use agentid_wallet::{AnswerBinding, AnswerPlan, AuditAction, Wallet};
use serde_json::{json, Value};

use crate::cli::AnswerArgs;
use crate::error::CliError;
use crate::oid4vp::http::{HttpClient, HttpOptions};
use crate::oid4vp::policy::DisclosurePolicy;

/// Largest request object or request file read.
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Largest answer read from the response endpoint.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The encryptions this wallet offers, preferred first (HAIP 1.0 §5).
const WALLET_ENCS: [Enc; 2] = [Enc::A256GCM, Enc::A128GCM];

pub(crate) fn run(args: &AnswerArgs, wallet: Wallet) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(answer(args, wallet))
}

async fn answer(args: &AnswerArgs, mut wallet: Wallet) -> Result<(), CliError> {
    let given = args.request.as_deref().unwrap_or_default();
    let http = HttpClient::new(&HttpOptions {
        allow_http: args.allow_http,
        tls_ca: args.tls_ca.clone(),
    })?;
    let anchors = args
        .verifier_anchor
        .iter()
        .map(|path| read_anchor(path))
        .collect::<Result<Vec<_>, _>>()?;
    let policy = args
        .policy
        .as_deref()
        .map(DisclosurePolicy::read)
        .transpose()?;
    let now = agentid_wallet::unix_now();
    let text = if given.contains("://") {
        given.to_owned()
    } else {
        let bytes = crate::io::read_bounded(given, MAX_REQUEST_BYTES)?;
        String::from_utf8(bytes)
            .map_err(|_| CliError::usage(format!("{given}: not text")))?
            .trim()
            .to_owned()
    };
    let reference = if text.contains("://") {
        parse_request_uri_with(
            &text,
            &RequestOptions::default().with_http_response_uri_allowed(args.allow_http),
        )
        .map_err(|e| CliError::invalid(format!("the request: {e}")))?
    } else {
        // A request object in a file: its own client_id is the only one.
        RequestReference::Object {
            client_id: String::new(),
            request: text,
        }
    };
    let options = |types: Vec<String>| {
        RequestOptions::default()
            .with_http_response_uri_allowed(args.allow_http)
            .with_transaction_data_types(types)
    };
    // The transaction data types the holder accepts: the policy's, or (without one)
    // whatever the request carries, shown before anything is signed.
    let accepted_types = |object: &str| match &policy {
        Some(policy) => policy.transaction_data_types(),
        None => peek_transaction_data_types(object),
    };
    let request = match reference {
        RequestReference::ByReference {
            client_id,
            request_uri,
            method,
        } => {
            let fetched = match method {
                RequestUriMethod::Post => {
                    http.post_form(request_uri.as_str(), String::new(), MAX_REQUEST_BYTES).await?
                }
                _ => {
                    http.get(
                        request_uri.as_str(),
                        "application/oauth-authz-req+jwt",
                        MAX_REQUEST_BYTES,
                    )
                    .await?
                }
            };
            if fetched.status != 200 {
                return Err(CliError::invalid(format!(
                    "the request object could not be fetched: {request_uri} answered {}",
                    fetched.status
                )));
            }
            if !matches!(
                fetched.content_type.as_str(),
                "application/oauth-authz-req+jwt" | "application/jwt" | ""
            ) {
                return Err(CliError::invalid(format!(
                    "the request object: {request_uri} sent {}, not application/oauth-authz-req+jwt",
                    fetched.content_type
                )));
            }
            let object = String::from_utf8(fetched.body)
                .map_err(|_| CliError::invalid("the request object is not text"))?;
            let object = object.trim();
            verify_request_object(object, Some(&client_id), &anchors, now, &options(accepted_types(object)))
        }
        RequestReference::Object { client_id, request } => {
            let url_client_id = (!client_id.is_empty()).then_some(client_id.as_str());
            verify_request_object(&request, url_client_id, &anchors, now, &options(accepted_types(&request)))
        }
        RequestReference::ByValue(by_value) => {
            let types = match &policy {
                Some(policy) => policy.transaction_data_types(),
                None => by_value_types(by_value.parameters()),
            };
            by_value.verify(&options(types))
        }
        _ => return Err(CliError::invalid("the request: an unsupported form")),
    }
    .map_err(|e| CliError::invalid(format!("the request: {e}")))?;
    let client_id = request.client_id().as_str().to_owned();
    if already_answered(&wallet, &client_id, request.nonce())? {
        return Err(CliError::invalid(format!(
            "the request: already answered (a request object replayed): {client_id} with this nonce"
        )));
    }
    let query = DcqlQuery::from_value(request.dcql_query())
        .map_err(|e| CliError::invalid(format!("the request's DCQL query: {e}")))?;
    let plan = match wallet.plan_answer(&query, now) {
        Ok(plan) => plan,
        Err(agentid_wallet::WalletError::Unanswerable(why)) => {
            if !args.dry_run {
                // §8.5: the wallet tells the verifier it has nothing to give.
                let form = error_response_form(
                    "access_denied",
                    Some("no matching credential"),
                    request.state(),
                );
                let _ = http
                    .post_form(request.response_uri().as_str(), form, MAX_ANSWER_BYTES)
                    .await;
            }
            return Err(CliError::invalid(format!(
                "cannot answer {client_id}: {why}"
            )));
        }
        Err(other) => return Err(crate::wallet_cmd::wallet_error(other)),
    };
    let shown = describe(&request, &plan);
    if args.dry_run {
        print_plan(&shown, args.json);
        return Ok(());
    }
    match &policy {
        Some(policy) => policy
            .allows(&client_id, &plan, &request)
            .map_err(|why| CliError::invalid(format!("the disclosure policy refuses: {why}")))?,
        None if !args.yes => {
            print_plan(&shown, args.json);
            return Err(CliError::usage(
                "nothing was sent: give --yes to disclose this, or a --policy that allows it",
            ));
        }
        None => {}
    }
    let binding = AnswerBinding {
        client_id: client_id.clone(),
        nonce: request.nonce().to_owned(),
        transaction_data: request
            .transaction_data()
            .iter()
            .map(|data| (data.encoded().to_owned(), data.credential_ids().to_vec()))
            .collect(),
    };
    let vp_token = wallet
        .answer(&plan, &binding, now)
        .map_err(crate::wallet_cmd::wallet_error)?;
    let response = AuthorizationResponse {
        vp_token,
        state: request.state().map(str::to_owned),
    };
    let form = response
        .to_form_for(&request, &WALLET_ENCS)
        .map_err(|e| CliError::invalid(format!("the response: {e}")))?;
    let answer = http
        .post_form(request.response_uri().as_str(), form, MAX_ANSWER_BYTES)
        .await?;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let accepted = (200..300).contains(&answer.status);
    if args.json {
        println!(
            "{}",
            json!({"accepted": accepted, "status": answer.status, "verifier": client_id,
                   "presented": shown["presentations"], "answer": body})
        );
    } else if accepted {
        println!(
            "presented to {client_id}: the verifier accepted ({})",
            answer.status
        );
    } else {
        println!(
            "presented to {client_id}: the verifier refused ({}): {}",
            answer.status,
            body.get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
        );
    }
    if accepted {
        Ok(())
    } else {
        Err(CliError {
            status: 1,
            message: String::new(),
        })
    }
}

fn read_anchor(path: &Path) -> Result<X509Anchor, CliError> {
    let bytes = crate::io::read_bounded(&path.to_string_lossy(), 64 * 1024)?;
    let pem = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{}: not PEM", path.display())))?;
    X509Anchor::from_pem(&pem)
        .map_err(|e| CliError::usage(format!("--verifier-anchor {}: {e}", path.display())))
}

/// True when the audit log shows a presentation already made to this verifier for
/// this nonce: the request is being replayed.
fn already_answered(wallet: &Wallet, client_id: &str, nonce: &str) -> Result<bool, CliError> {
    let entries = wallet
        .audit_entries()
        .map_err(|e| CliError::failed(format!("the audit log: {e}")))?;
    Ok(entries.iter().any(|entry| {
        entry.action == AuditAction::Present
            && entry.details.get("audience").and_then(Value::as_str) == Some(client_id)
            && entry.details.get("nonce").and_then(Value::as_str) == Some(nonce)
    }))
}

/// What will be disclosed, to whom: for people and for `--json`.
fn describe(request: &AuthorizationRequest, plan: &AnswerPlan) -> Value {
    let transaction_data: Vec<Value> = request
        .transaction_data()
        .iter()
        .map(|data| json!({"type": data.transaction_type(), "credential_ids": data.credential_ids()}))
        .collect();
    json!({
        "verifier": request.client_id().as_str(),
        "response_uri": request.response_uri().as_str(),
        "response_mode": request.response_mode().as_str(),
        "presentations": plan.presentations,
        "transaction_data": transaction_data,
    })
}

fn print_plan(shown: &Value, json: bool) {
    if json {
        println!("{shown}");
        return;
    }
    println!(
        "{} asks (answer to {}):",
        shown["verifier"].as_str().unwrap_or_default(),
        shown["response_uri"].as_str().unwrap_or_default()
    );
    for presentation in shown["presentations"].as_array().into_iter().flatten() {
        println!(
            "  {}: credential {} ({}) from {}: disclose {}; prove {}",
            presentation["query_id"].as_str().unwrap_or_default(),
            presentation["credential"].as_str().unwrap_or_default(),
            presentation["vct"].as_str().unwrap_or_default(),
            presentation["issuer"].as_str().unwrap_or_default(),
            presentation["disclose"],
            presentation["prove"],
        );
    }
    for data in shown["transaction_data"].as_array().into_iter().flatten() {
        println!("  and signs over transaction data of type {}", data["type"]);
    }
}

/// The transaction data types a request object carries, read before it is checked
/// (only to decide which types the holder is asked about; the check comes after).
fn peek_transaction_data_types(object: &str) -> Vec<String> {
    use base64::Engine as _;
    let payload = object
        .split('.')
        .nth(1)
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    types_in(payload.as_ref().and_then(|p| p.get("transaction_data")))
}

fn by_value_types(parameters: &serde_json::Map<String, Value>) -> Vec<String> {
    let parsed = parameters
        .get("transaction_data")
        .and_then(|value| match value {
            Value::String(text) => serde_json::from_str::<Value>(text).ok(),
            other => Some(other.clone()),
        });
    types_in(parsed.as_ref())
}

fn types_in(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(MAX_TRANSACTION_DATA)
        .filter_map(|entry| TransactionData::parse(entry).ok())
        .map(|data| data.transaction_type().to_owned())
        .collect()
}
