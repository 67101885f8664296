//! `agentid caller`: what an orchestrator needs to call `serve issuer` from a
//! shell: its key's public JWK, and signed client assertions.

use agentid_verifier::b64url_encode;
use rand_core::{OsRng, RngCore};
use serde_json::json;

use crate::cli::CallerCommand;
use crate::error::CliError;
use crate::keyfile::read_private_key;

/// Runs a `caller` subcommand.
pub(crate) fn run(command: &CallerCommand) -> Result<(), CliError> {
    match command {
        CallerCommand::Jwk { key } => {
            let key = read_private_key(key)?;
            println!("{}", key.public_key().to_jwk());
            Ok(())
        }
        CallerCommand::Assertion {
            key,
            id,
            audience,
            lifetime,
        } => {
            let key = read_private_key(key)?;
            let lifetime = humantime::parse_duration(lifetime)
                .map_err(|error| CliError::usage(format!("--lifetime: {error}")))?
                .as_secs();
            if lifetime == 0 {
                return Err(CliError::usage("--lifetime must be at least one second"));
            }
            let mut jti = [0u8; 16];
            OsRng.fill_bytes(&mut jti);
            let now = agentid_wallet::unix_now();
            let header = json!({"alg": key.algorithm().as_str(), "typ": "JWT"});
            let claims = json!({
                "iss": id, "sub": id, "aud": audience,
                "iat": now, "exp": now.saturating_add(lifetime), "jti": b64url_encode(&jti),
            });
            let input = format!(
                "{}.{}",
                b64url_encode(header.to_string().as_bytes()),
                b64url_encode(claims.to_string().as_bytes())
            );
            println!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())));
            Ok(())
        }
    }
}
