//! `agentid mandate`: sign AP2 v0.2 mandates with the wallet's P-256 keys.

use std::path::{Path, PathBuf};

use agentid_wallet::ap2::{close_mandate, create_open_mandate, delegate_mandate};
use agentid_wallet::{unix_now, HopBinding, SigningKey, Wallet};
use serde_json::Value;

use crate::cli::{BindingArg, MandateCommand};
use crate::error::CliError;
use crate::io::read_bounded;
use crate::wallet_cmd::{kdf_limits, open_within, wallet_dir, wallet_error};

/// Largest mandate or chain file read, in bytes.
const MAX_MANDATE_BYTES: usize = 64 * 1024;

fn read_text(path: &Path) -> Result<String, CliError> {
    let name = path.display().to_string();
    let bytes = read_bounded(&name, MAX_MANDATE_BYTES).map_err(CliError::into_usage)?;
    String::from_utf8(bytes)
        .map(|text| text.trim().to_owned())
        .map_err(|_| CliError::usage(format!("{name}: not UTF-8 text")))
}

fn read_mandate(path: &Path) -> Result<Value, CliError> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|_| CliError::usage(format!("{}: not JSON", path.display())))
}

fn holder(to: &str) -> Result<agentid_verifier::PublicKey, CliError> {
    agentid_verifier::did_key::decode(to)
        .map_err(|error| CliError::usage(format!("--to must be a did:key: {error}")))
}

fn key(wallet: &Wallet, did: &str) -> Result<SigningKey, CliError> {
    wallet.signing_key(did).map_err(wallet_error)
}

fn binding(arg: BindingArg) -> HopBinding {
    match arg {
        BindingArg::SdHash => HopBinding::SdHash,
        BindingArg::IssuerJwtHash => HopBinding::IssuerJwtHash,
    }
}

/// Runs a mandate command: the result on stdout, that it is ES256 on stderr.
pub(crate) fn run(
    command: &MandateCommand,
    wallet: Option<&PathBuf>,
    allow_expensive_kdf: bool,
) -> Result<(), CliError> {
    let dir = wallet_dir(wallet)?;
    let signed = match command {
        MandateCommand::Open {
            key: did,
            to,
            mandate,
        } => {
            let (mandate, to) = (read_mandate(mandate)?, holder(to)?);
            let wallet = open_within(dir, &kdf_limits(allow_expensive_kdf))?;
            create_open_mandate(&key(&wallet, did)?, &mandate, &to).map_err(wallet_error)?
        }
        MandateCommand::Delegate {
            chain,
            key: did,
            to,
            mandate,
            audience,
            nonce,
            binding: mode,
        } => {
            let (chain, mandate, to) = (read_text(chain)?, read_mandate(mandate)?, holder(to)?);
            let wallet = open_within(dir, &kdf_limits(allow_expensive_kdf))?;
            delegate_mandate(
                &chain,
                &key(&wallet, did)?,
                &mandate,
                &to,
                audience,
                nonce,
                binding(*mode),
                unix_now(),
            )
            .map_err(wallet_error)?
        }
        MandateCommand::Close {
            chain,
            key: did,
            mandate,
            audience,
            nonce,
            binding: mode,
        } => {
            let (chain, mandate) = (read_text(chain)?, read_mandate(mandate)?);
            let wallet = open_within(dir, &kdf_limits(allow_expensive_kdf))?;
            close_mandate(
                &chain,
                &key(&wallet, did)?,
                &mandate,
                audience,
                nonce,
                binding(*mode),
                unix_now(),
            )
            .map_err(wallet_error)?
        }
    };
    eprintln!(
        "signed with ES256 (AP2 mandates are always ES256, whatever the wallet's default key type)"
    );
    println!("{signed}");
    Ok(())
}
