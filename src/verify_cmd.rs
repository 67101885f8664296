//! `agentid verify`: offline verification of one presentation or credential.

use std::path::{Path, PathBuf};

use agentid_verifier::authorize::{Action, Authorized};
use agentid_verifier::{
    did_key, Policy, PresentationRequest, StatusLists, TrustStore, Verified, Verifier, VerifyError,
    MAX_STATUS_TOKEN_BYTES,
};

use crate::cli::{Profile, VerifyArgs};
use crate::decision::Decision;
use crate::error::CliError;
use crate::io::read_bounded;
use crate::timefmt::{parse_time, relative, rfc3339};

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
    if args.profile == Profile::Ap2 {
        return crate::ap2_cmd::run(args);
    }
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
    let decision = Decision::decide(
        &verifier,
        verdict,
        action.as_ref(),
        approval.as_deref(),
        now,
    );
    if args.json {
        println!("{}", decision.to_json(request.is_some()));
    }
    match decision {
        Decision::Allowed {
            verified,
            authorized,
        } => {
            if !args.json {
                print_verified(&verified, now);
                print_authorization(&verified, authorized.as_ref());
            }
            Ok(())
        }
        refused => Err(CliError::invalid(refused.reason().unwrap_or_default())),
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
