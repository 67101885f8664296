//! `agentid approve`: a principal approves one exact action by one agent.

use std::path::PathBuf;

use agentid_verifier::authorize::Action;
use agentid_wallet::unix_now;

use crate::cli::ApproveArgs;
use crate::error::CliError;
use crate::wallet_cmd::{kdf_limits, open_within, wallet_dir, wallet_error};

/// Issues the approval from the wallet's root key and prints it (stdout: the
/// credential; stderr: its `jti` and what it approves).
pub(crate) fn run(
    args: &ApproveArgs,
    wallet: Option<&PathBuf>,
    allow_expensive_kdf: bool,
) -> Result<(), CliError> {
    let dir = wallet_dir(wallet)?;
    let action = Action::parse(&args.action)
        .map_err(|error| CliError::usage(format!("--action: {error}")))?;
    let lifetime = humantime::parse_duration(&args.ttl)
        .map_err(|error| CliError::usage(format!("--ttl {}: {error}", args.ttl)))?;
    if lifetime.as_secs() < 1 {
        return Err(CliError::usage("--ttl must be at least 1s"));
    }
    agentid_verifier::did_key::decode(&args.to)
        .map_err(|error| CliError::usage(format!("--to must be a did:key: {error}")))?;
    let mut wallet = open_within(dir, &kdf_limits(allow_expensive_kdf))?;
    let approval = wallet
        .approve(&args.to, &action, lifetime.as_secs(), unix_now())
        .map_err(wallet_error)?;
    eprintln!(
        "approved {action} for {} (jti {})",
        args.to, approval.credential_id
    );
    println!("{}", approval.sd_jwt);
    Ok(())
}
