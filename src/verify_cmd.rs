//! `agentid verify`: offline verification of one presentation or credential.

use std::path::{Path, PathBuf};

use agentid_verifier::authorize::{authorize, Action, Authorized};
use agentid_verifier::{
    did_key, Policy, PresentationRequest, StatusLists, TrustStore, Verified, Verifier, VerifyError,
    MAX_STATUS_TOKEN_BYTES,
};
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::error::CliError;
use crate::io::read_bounded;
use crate::timefmt::{parse_time, reason, relative, rfc3339};

/// Largest trust file read, in bytes (the verifier also checks).
const MAX_TRUST_FILE_BYTES: usize = 1024 * 1024;

/// Reads a trust file; any problem with it is a usage error (exit 2).
pub(crate) fn load_trust(path: &Path) -> Result<TrustStore, CliError> {
    let trust_path = path.display().to_string();
    let trust_bytes =
        read_bounded(&trust_path, MAX_TRUST_FILE_BYTES).map_err(CliError::into_usage)?;
    TrustStore::from_json(&trust_bytes)
        .map_err(|error| CliError::usage(format!("{trust_path}: {error}")))
}

/// Reads and checks status list tokens. A stale or expired token is skipped with a
/// warning (credentials on that list are then of unknown status and refused); any
/// other defect is a usage error.
pub(crate) fn load_status(
    paths: &[PathBuf],
    trust: &TrustStore,
    policy: &Policy,
    now: u64,
) -> Result<StatusLists, CliError> {
    let mut lists = StatusLists::new();
    for path in paths {
        let name = path.display().to_string();
        let bytes = read_bounded(&name, MAX_STATUS_TOKEN_BYTES).map_err(CliError::into_usage)?;
        let token = std::str::from_utf8(&bytes)
            .map_err(|_| CliError::usage(format!("{name}: not UTF-8 text")))?;
        match lists.add_token(token, trust, now, policy.status_max_age_secs) {
            Ok(()) => {}
            Err(VerifyError::StatusUnknown(reason)) => {
                eprintln!("warning: {name}: {reason}; ignored")
            }
            Err(error) => return Err(CliError::usage(format!("{name}: {error}"))),
        }
    }
    Ok(lists)
}

pub(crate) fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let trust = load_trust(&args.trust)?;
    let mut policy = Policy::default();
    if !args.typ.is_empty() {
        policy = policy.with_accepted_typs(args.typ.clone());
    }
    let now = match &args.at {
        Some(at) => parse_time(at)?,
        None => agentid_wallet::unix_now(),
    };
    let max_bytes = policy.limits.max_presentation_bytes;
    let action = args.action.as_deref().map(parse_action).transpose()?;
    if args.approval.is_some() && action.is_none() {
        return Err(CliError::usage(
            "--approval needs --action (the action it approves)",
        ));
    }
    let approval = args.approval.as_deref().map(read_approval).transpose()?;
    let status = load_status(&args.status, &trust, &policy, now)?;
    let verifier = Verifier::new(trust, policy).with_status_lists(status);

    let bytes = read_bounded(&args.input, max_bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::invalid("input is not UTF-8 text"))?
        .trim();
    let request = match (&args.audience, &args.nonce) {
        (Some(audience), Some(nonce)) => {
            Some(PresentationRequest::new(audience.clone(), nonce.clone()))
        }
        _ => None,
    };
    let verdict = match &request {
        Some(request) => verifier.verify_presentation(text, request, now),
        None => verifier.verify_credential(text, now),
    };
    let verdict = verdict.map_err(|error| (error.kind().as_str(), reason(&error)));
    let verdict = match (verdict, &action) {
        (Ok(verified), Some(action)) => {
            authorize_action(&verified, action, approval.as_deref(), &verifier, now)
                .map(|authorized| (verified, Some(authorized)))
        }
        (Ok(verified), None) => Ok((verified, None)),
        (Err(error), _) => Err(error),
    };
    match verdict {
        Ok((verified, authorized)) => {
            if args.json {
                println!(
                    "{}",
                    json!({
                        "valid": true,
                        "holder_binding_checked": request.is_some(),
                        "status_checked": verified.status.is_some(),
                        "authorization": authorized,
                        "verified": verified,
                    })
                );
            } else {
                print_verified(&verified, now);
                print_authorization(&verified, authorized.as_ref());
            }
            Ok(())
        }
        Err((kind, reason)) => {
            if args.json {
                println!(
                    "{}",
                    json!({"valid": false, "kind": kind, "reason": reason})
                );
            }
            Err(CliError::invalid(reason))
        }
    }
}

/// Reads `--action 'SCOPE RESOURCE [AMOUNT [CURRENCY]]'` or a JSON action object.
fn parse_action(text: &str) -> Result<Action, CliError> {
    Action::parse(text).map_err(|error| CliError::usage(format!("--action: {error}")))
}

/// Most bytes an approval file may hold.
const MAX_APPROVAL_BYTES: usize = 64 * 1024;

/// Reads an approval file: the command's own input, so a missing or unreadable one
/// is a usage error (exit 2).
fn read_approval(path: &Path) -> Result<String, CliError> {
    let name = path.display().to_string();
    let bytes = read_bounded(&name, MAX_APPROVAL_BYTES).map_err(CliError::into_usage)?;
    String::from_utf8(bytes).map_err(|_| CliError::usage(format!("{name}: not UTF-8 text")))
}

/// Decides the `--action` for a verified presentation. The approval is checked by
/// the same verifier (trust store, status lists, policy) as the presentation, as a
/// credential from its root principal. A denial is `("denied", reason)`.
fn authorize_action(
    verified: &Verified,
    action: &Action,
    approval: Option<&str>,
    verifier: &Verifier,
    now: u64,
) -> Result<Authorized, (&'static str, String)> {
    let approval = approval
        .map(|text| verifier.verify_approval(text.trim(), verified, now))
        .transpose()
        .map_err(|denied| ("denied", format!("action denied: {denied}")))?;
    authorize(verified, action, approval.as_ref())
        .map_err(|denied| ("denied", format!("action denied: {denied}")))
}

/// What was authorized, or that nothing was.
fn print_authorization(verified: &Verified, authorized: Option<&Authorized>) {
    match authorized {
        Some(authorized) => {
            let constraints = if authorized.constraints.is_empty() {
                "none".to_owned()
            } else {
                authorized.constraints.join(", ")
            };
            println!(
                "  authorized: {} (scope, resources, audience; constraints: {constraints}{}{})",
                authorized.action,
                if authorized.delegated {
                    "; the action the delegate signed"
                } else {
                    ""
                },
                if authorized.approval_checked {
                    "; principal's approval verified"
                } else {
                    ""
                }
            );
        }
        None => {
            if verified
                .chain
                .as_ref()
                .is_some_and(|chain| !chain.action.is_null())
            {
                println!("  authorized: NOT checked (the delegate signed an action; give --action to authorize it)");
            } else {
                println!("  authorized: NOT checked (give --action to check an action against the rights)");
            }
        }
    }
}

/// The JSON form of a rejection: its class and its reason.
pub(crate) fn rejection_json(error: &VerifyError) -> serde_json::Value {
    json!({"valid": false, "kind": error.kind().as_str(), "reason": error.to_string()})
}

/// The readable account of a verified presentation or credential.
pub(crate) fn print_verified(verified: &Verified, now: u64) {
    let what = if verified.key_binding.is_some() {
        "presentation"
    } else {
        "credential"
    };
    println!("VALID {what}");
    println!("  issuer:    {}", verified.issuer);
    if let Some(vct) = &verified.vct {
        println!("  type:      {vct}");
    }
    if let Some(subject) = &verified.subject {
        println!("  subject:   {subject}");
    }
    if let Some(holder) = &verified.holder_key {
        println!("  holder:    {}", did_key::encode(holder));
    }
    match &verified.key_binding {
        Some(binding) => println!(
            "  binding:   checked (audience {}, nonce {}, signed {}, {})",
            binding.audience,
            binding.nonce,
            rfc3339(binding.issued_at),
            relative(binding.issued_at, now)
        ),
        None => println!("  binding:   NOT checked (issued credential; give --audience and --nonce to check a presentation)"),
    }
    if let Some(chain) = &verified.chain {
        println!(
            "  delegated: {} hop(s) from the credential's holder",
            chain.delegations.len()
        );
        for delegation in &chain.delegations {
            println!(
                "    → {} (scope {})",
                delegation.delegate,
                delegation.rights.scope.join(", ")
            );
        }
        let rights = &chain.effective_rights;
        println!(
            "  rights:    scope {}; constraints {}; until {}",
            rights.scope.join(", "),
            serde_json::Value::Object(rights.constraints.clone()),
            rfc3339(rights.expires_at)
        );
        if !chain.action.is_null() {
            println!("  action:    {}", chain.action);
        }
    }
    for predicate in &verified.predicates {
        println!("  proven:    {predicate}  (zero-knowledge: the value itself was not disclosed)");
    }
    if let Some(expires_at) = verified.expires_at {
        println!(
            "  expires:   {} ({})",
            rfc3339(expires_at),
            relative(expires_at, now)
        );
    }
    let claims = serde_json::to_string_pretty(&verified.claims).unwrap_or_default();
    println!("  claims:    {}", claims.replace('\n', "\n             "));
}
