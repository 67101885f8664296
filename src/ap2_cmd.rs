//! `agentid verify --profile ap2`: an AP2 v0.2 mandate chain, checked offline.

use agentid_verifier::ap2::{evaluate_chain, MandateContext};
use agentid_verifier::{Policy, PresentationRequest, VerifiedMandateChain, Verifier};
use serde_json::{json, Value};

use crate::cli::VerifyArgs;
use crate::error::CliError;
use crate::io::read_bounded;
use crate::timefmt::{parse_time, reason};
use crate::verify_cmd::{load_status, load_trust};

/// The clock skew the AP2 SDK allows on `exp` and `iat` (`clock_skew_seconds`).
const AP2_CLOCK_SKEW_SECS: u64 = 300;

pub(crate) fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let (Some(audience), Some(nonce)) = (&args.audience, &args.nonce) else {
        return Err(CliError::usage(
            "--profile ap2 checks a mandate chain for one verifier: give --audience and --nonce",
        ));
    };
    if args.action.is_some() {
        return Err(CliError::usage(
            "--action does not apply to --profile ap2 (the closed mandate is the action)",
        ));
    }
    let trust = load_trust(&args.trust)?;
    let policy = Policy::default().with_clock_skew(AP2_CLOCK_SKEW_SECS);
    let now = match &args.at {
        Some(at) => parse_time(at)?,
        None => agentid_wallet::unix_now(),
    };
    let status = load_status(&args.status, &trust, &policy, now)?;
    let max_bytes = policy.limits.max_presentation_bytes;
    let verifier = Verifier::new(trust, policy).with_status_lists(status);
    let bytes = read_bounded(&args.input, max_bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::invalid("input is not UTF-8 text"))?
        .trim();
    let request = PresentationRequest::new(audience.clone(), nonce.clone());
    let verdict = verifier
        .verify_mandate_chain(text, &request, now)
        .map_err(|error| (error.kind().as_str(), reason(&error)))
        .and_then(|chain| {
            // The mandates: the closed one within every open one, as AP2 evaluates.
            let context = chain
                .payloads
                .last()
                .map(MandateContext::from_closed_mandate)
                .unwrap_or_default();
            match evaluate_chain(&chain.payloads, &context) {
                Ok(report) => Ok((chain, report)),
                Err(violation) => Err((
                    if violation.could_not_check() {
                        "malformed"
                    } else {
                        "mandate_refused"
                    },
                    format!("mandate refused: {violation}"),
                )),
            }
        });
    match verdict {
        Ok((chain, report)) => {
            if args.json {
                println!(
                    "{}",
                    json!({"valid": true, "profile": "ap2", "chain": chain, "mandates": report})
                );
            } else {
                print_chain(&chain, report.checks.len());
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

/// The readable account of a verified mandate chain.
fn print_chain(chain: &VerifiedMandateChain, checks: usize) {
    println!("VALID AP2 mandate chain");
    println!("  root:      signed by {}", chain.root_signer);
    for (index, payload) in chain.payloads.iter().enumerate() {
        let vct = payload
            .get("vct")
            .and_then(Value::as_str)
            .unwrap_or("(no vct)");
        let role = if index == 0 {
            "open"
        } else if index + 1 == chain.payloads.len() {
            "closed"
        } else {
            "hop"
        };
        println!("  {role:<9}  {vct}");
    }
    println!(
        "  binding:   checked (audience {}, nonce {})",
        chain.key_binding.audience, chain.key_binding.nonce
    );
    println!(
        "  mandates:  the closed mandate meets every open mandate's constraints ({checks} checks)"
    );
    if let Some(closed) = chain.payloads.last() {
        let text = serde_json::to_string_pretty(closed).unwrap_or_default();
        println!("  mandate:   {}", text.replace('\n', "\n             "));
    }
}
