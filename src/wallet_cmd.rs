//! The wallet commands: `init`, `did`, `key new`, `key list`, `issue`, `receive`,
//! `list`, `show`, `present`, `purge`, `passphrase change`, `export`, `import`,
//! `audit`, `delegate`, `revoke`, `status publish`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentid_verifier::predicate::Predicate;
use agentid_verifier::{Algorithm, ClaimPath, PresentationRequest, TrustStore};
use agentid_wallet::{
    issuance_text, unix_now, CredentialRequest, DelegationSpec, KdfLimits, KdfOrigin, KdfParams,
    Passphrase, StoreError, Wallet, WalletError,
};
use serde_json::{json, Value};

use crate::cli::{
    AlgArg, AuditCommand, Command, KdfArgs, KeyCommand, PassphraseCommand, StatusCommand,
};
use crate::error::CliError;
use crate::io::read_bounded;
use crate::timefmt::{reason, relative, rfc3339};

/// Largest claims file read, in bytes.
const MAX_CLAIMS_BYTES: usize = 256 * 1024;
/// Largest credential read by `receive`, in bytes.
const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;
/// Shortest passphrase accepted for a new wallet.
const MIN_PASSPHRASE_CHARS: usize = 8;

impl From<AlgArg> for Algorithm {
    fn from(alg: AlgArg) -> Self {
        match alg {
            AlgArg::Eddsa => Algorithm::EdDSA,
            AlgArg::Es256 => Algorithm::ES256,
            AlgArg::Es256k => Algorithm::ES256K,
        }
    }
}

impl KdfArgs {
    /// The parameters to seal something new under. Above `limits` they are refused,
    /// so nothing is written that would then not open without --allow-expensive-kdf.
    fn params(self, limits: &KdfLimits) -> Result<KdfParams, CliError> {
        let defaults = KdfParams::default();
        let params = KdfParams {
            memory_kib: self.kdf_memory_kib.unwrap_or(defaults.memory_kib),
            iterations: self.kdf_iterations.unwrap_or(defaults.iterations),
            parallelism: defaults.parallelism,
        };
        limits
            .check(&params, KdfOrigin::Requested)
            .map_err(|error| wallet_error(error.into()))?;
        Ok(params)
    }
}

/// The Argon2id ceiling for this run: the default, or the format's maximum with
/// --allow-expensive-kdf.
pub(crate) fn kdf_limits(allow_expensive_kdf: bool) -> KdfLimits {
    if allow_expensive_kdf {
        KdfLimits::FORMAT_MAXIMUM
    } else {
        KdfLimits::DEFAULT
    }
}

/// The exit status of a wallet error, by the rule in `cli.rs`: verification
/// failures are `invalid` (1); requests the wallet refuses as asked, and a wallet
/// directory that is missing or already taken, are usage (2); the rest failed (1).
pub(crate) fn wallet_error(error: WalletError) -> CliError {
    match error {
        WalletError::Verify(error) => CliError::invalid(reason(&error)),
        // The command's own --kdf-* flags: a usage error.
        WalletError::Store(StoreError::KdfAboveCeiling {
            origin: KdfOrigin::Requested,
            ..
        }) => CliError::usage(format!(
            "{error}; pass --allow-expensive-kdf to write a file that needs it to open"
        )),
        WalletError::Store(StoreError::KdfAboveCeiling { .. }) => CliError::failed(format!(
            "{error}; pass --allow-expensive-kdf if you trust this file"
        )),
        WalletError::InvalidRequest(_)
        | WalletError::InvalidClaims { .. }
        | WalletError::UnknownCredentialType(..)
        | WalletError::InvalidClaimPath(_)
        | WalletError::NoSuchClaim(_)
        | WalletError::Store(
            StoreError::NotAWallet(_)
            | StoreError::AlreadyExists(_)
            | StoreError::InvalidKdfParams(_),
        ) => CliError::usage(error.to_string()),
        other => CliError::failed(other.to_string()),
    }
}

/// `--prove` text with the spaces around its operators removed, so
/// `'3 <= level <= 5'` and `'age >= 18'` read as `3<=level<=5` and `age>=18`.
/// Spaces inside a claim path or bound are kept (and refused by the parser).
fn compact_predicate(text: &str) -> String {
    text.split("<=")
        .map(|part| {
            part.split(">=")
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(">=")
        })
        .collect::<Vec<_>>()
        .join("<=")
}

/// Reads a passphrase from `variable`, or prompts on the terminal.
fn read_passphrase(variable: &str, prompt: &str, confirm: bool) -> Result<Passphrase, CliError> {
    if let Ok(passphrase) = std::env::var(variable) {
        return Ok(Passphrase::new(passphrase));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "no passphrase: set {variable} or run in a terminal"
        )));
    }
    let first = rpassword::prompt_password(prompt)
        .map_err(|error| CliError::usage(format!("cannot read passphrase: {error}")))?;
    if confirm {
        let second = rpassword::prompt_password("Repeat it: ")
            .map_err(|error| CliError::usage(format!("cannot read passphrase: {error}")))?;
        if first != second {
            return Err(CliError::usage("the passphrases differ"));
        }
    }
    Ok(Passphrase::new(first))
}

fn new_passphrase(variable: &str, prompt: &str) -> Result<Passphrase, CliError> {
    let passphrase = read_passphrase(variable, prompt, true)?;
    if passphrase.char_count() < MIN_PASSPHRASE_CHARS {
        return Err(CliError::usage(format!(
            "the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(passphrase)
}

pub(crate) fn wallet_dir(wallet: Option<&PathBuf>) -> Result<&Path, CliError> {
    wallet
        .map(PathBuf::as_path)
        .ok_or_else(|| CliError::usage("this command needs --wallet DIR (or AGENTID_WALLET)"))
}

pub(crate) fn open_within(dir: &Path, limits: &KdfLimits) -> Result<Wallet, CliError> {
    let passphrase = read_passphrase("AGENTID_PASSPHRASE", "Wallet passphrase: ", false)?;
    Wallet::open_with_limits(dir, &passphrase, limits).map_err(wallet_error)
}

fn paths(texts: &[String]) -> Result<Vec<ClaimPath>, CliError> {
    texts
        .iter()
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse()
                .map_err(|error: agentid_verifier::InvalidClaimPath| {
                    CliError::usage(error.to_string())
                })
        })
        .collect()
}

/// Runs a wallet command. Returns `None` if `command` is not one.
/// `allow_expensive_kdf` lifts the Argon2id ceiling to the format's maximum.
pub(crate) fn run(
    command: &Command,
    wallet: Option<&PathBuf>,
    allow_expensive_kdf: bool,
) -> Option<Result<(), CliError>> {
    let limits = kdf_limits(allow_expensive_kdf);
    let limits = &limits;
    let open = |dir: &Path| open_within(dir, limits);
    let result = match command {
        Command::Demo(_) | Command::Verify(_) | Command::VerifyBatch(_) | Command::Serve(_)
        | Command::Request(_)
        | Command::Caller(_)
        | Command::Approve(_)
        | Command::Mandate(_) => {
            return None
        }
        Command::Init(args) => wallet_dir(wallet).and_then(|dir| {
            let kdf = args.kdf.params(limits)?;
            let passphrase = new_passphrase("AGENTID_PASSPHRASE", "New wallet passphrase: ")?;
            let wallet = Wallet::create(
                dir,
                &passphrase,
                &kdf,
                args.alg.into(),
                unix_now(),
            )
            .map_err(wallet_error)?;
            println!("{}", wallet.did());
            Ok(())
        }),
        Command::Did => wallet_dir(wallet)
            .and_then(open)
            .map(|wallet| println!("{}", wallet.did())),
        Command::Key(KeyCommand::List { json }) => {
            wallet_dir(wallet).and_then(open).and_then(|wallet| {
                let keys = wallet.keys().map_err(wallet_error)?;
                if *json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&keys).unwrap_or_default()
                    );
                    return Ok(());
                }
                for key in &keys {
                    let role = match &key.task {
                        Some(task) => format!("task {task}"),
                        None if key.root => "root".to_owned(),
                        None => "(no task)".to_owned(),
                    };
                    println!(
                        "{}  {}  {role}  created {}",
                        key.did,
                        key.alg,
                        rfc3339(key.created_at)
                    );
                }
                Ok(())
            })
        }
        Command::Key(KeyCommand::New { task, alg }) => {
            wallet_dir(wallet).and_then(open).and_then(|mut wallet| {
                let did = wallet
                    .new_task_key(task, (*alg).into(), unix_now())
                    .map_err(wallet_error)?;
                println!("{did}");
                Ok(())
            })
        }
        Command::Issue(args) => wallet_dir(wallet).and_then(|dir| issue(dir, args, limits)),
        Command::Receive(args) => wallet_dir(wallet).and_then(|dir| {
            let trust =
                match &args.trust {
                    None => None,
                    Some(path) => {
                        let bytes = read_bounded(&path.display().to_string(), 1024 * 1024)
                            .map_err(CliError::into_usage)?;
                        Some(TrustStore::from_json(&bytes).map_err(|error| {
                            CliError::usage(format!("{}: {error}", path.display()))
                        })?)
                    }
                };
            if let Some(offer) = &args.offer {
                let mut wallet = open(dir)?;
                let id = crate::receive_offer::receive(&mut wallet, offer, args, trust.as_ref())?;
                println!("{id}");
                return Ok(());
            }
            let input = args.input.as_deref().unwrap_or("-");
            let bytes = read_bounded(input, MAX_CREDENTIAL_BYTES)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| CliError::invalid("input is not UTF-8 text"))?;
            let mut wallet = open(dir)?;
            let id = wallet
                .receive(text, trust.as_ref(), unix_now())
                .map_err(wallet_error)?;
            println!("{id}");
            Ok(())
        }),
        Command::List(args) => wallet_dir(wallet).and_then(open).and_then(|wallet| {
            let list = wallet.list().map_err(wallet_error)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else if list.is_empty() {
                println!("no credentials");
            } else {
                let now = unix_now();
                for summary in list {
                    let expiry = summary.expires_at.map_or_else(
                        || "never".to_owned(),
                        |exp| format!("{} ({})", rfc3339(exp), relative(exp, now)),
                    );
                    println!(
                        "{}  {}  from {}  expires {}",
                        summary.id,
                        summary.vct.as_deref().unwrap_or("(no vct)"),
                        summary.issuer,
                        expiry
                    );
                }
            }
            Ok(())
        }),
        Command::Show(args) => wallet_dir(wallet).and_then(open).and_then(|wallet| {
            let details = wallet.show(&args.id).map_err(wallet_error)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&details).unwrap_or_default()
                );
            } else {
                let summary = &details.summary;
                println!("id:          {}", summary.id);
                println!(
                    "type:        {}",
                    summary.vct.as_deref().unwrap_or("(none)")
                );
                println!("issuer:      {}", summary.issuer);
                println!("bound to:    {}", summary.holder);
                if let Some(exp) = summary.expires_at {
                    println!(
                        "expires:     {} ({})",
                        rfc3339(exp),
                        relative(exp, unix_now())
                    );
                }
                println!("disclosable: {}", details.disclosable.join(", "));
                let claims = serde_json::to_string_pretty(&details.claims).unwrap_or_default();
                println!("claims:      {}", claims.replace('\n', "\n             "));
            }
            Ok(())
        }),
        Command::Present(args) if args.oid4vp.request.is_some() => wallet_dir(wallet)
            .and_then(|dir| crate::answer_cmd::run(&args.oid4vp, open(dir)?)),
        Command::Present(args) => wallet_dir(wallet).and_then(|dir| {
            let (Some(credential), Some(audience), Some(nonce)) =
                (&args.credential, &args.audience, &args.nonce)
            else {
                return Err(CliError::usage(
                    "present needs --credential, --audience and --nonce, or --request",
                ));
            };
            let disclose = paths(&args.disclose)?;
            let now = unix_now();
            // Days since 1970-01-01, for the age>=N shorthand.
            let today = i64::try_from(now / 86_400).unwrap_or_default();
            let predicates = args
                .prove
                .iter()
                .map(|text| {
                    Predicate::parse(&compact_predicate(text), today)
                        .map_err(|error| CliError::usage(error.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let request = PresentationRequest::new(audience.clone(), nonce.clone());
            let action = match &args.action {
                None => None,
                Some(text) => Some(
                    serde_json::from_str::<Value>(text)
                        .map_err(|error| CliError::usage(format!("--action is not JSON: {error}")))?,
                ),
            };
            let mut wallet = open(dir)?;
            let presentation = match action {
                Some(action) => wallet.present_action(credential, &action, &request, now),
                None => wallet.present_with_predicates(credential, &disclose, &predicates, &request, now),
            }
            .map_err(wallet_error)?;
            println!("{presentation}");
            Ok(())
        }),
        Command::Purge => wallet_dir(wallet).and_then(open).and_then(|mut wallet| {
            let report = wallet.purge(unix_now()).map_err(wallet_error)?;
            println!(
                "purged {} expired credential(s) and destroyed {} task key(s)",
                report.credentials, report.keys
            );
            Ok(())
        }),
        Command::Passphrase(PassphraseCommand::Change { kdf }) => {
            wallet_dir(wallet).and_then(|dir| {
                let kdf = kdf.params(limits)?;
                let mut wallet = open(dir)?;
                let new = new_passphrase("AGENTID_NEW_PASSPHRASE", "New passphrase: ")?;
                wallet
                    .change_passphrase(&new, &kdf, unix_now())
                    .map_err(wallet_error)?;
                println!("passphrase changed");
                Ok(())
            })
        }
        Command::Export(args) => wallet_dir(wallet).and_then(|dir| {
            let kdf = args.kdf.params(limits)?;
            // Refused before the passphrase is asked for and the key derived.
            if !args.force && args.file.symlink_metadata().is_ok() {
                return Err(refuse_overwrite(&args.file));
            }
            let passphrase = read_passphrase("AGENTID_PASSPHRASE", "Wallet passphrase: ", false)?;
            let mut wallet =
                Wallet::open_with_limits(dir, &passphrase, limits).map_err(wallet_error)?;
            let count = export_atomically(&args.file, args.force, |path| {
                wallet
                    .export(path, &passphrase, &kdf, unix_now())
                    .map_err(wallet_error)
            })?;
            println!(
                "wrote {count} records to {} (encrypted under the wallet passphrase)",
                args.file.display()
            );
            Ok(())
        }),
        Command::Import(args) => wallet_dir(wallet).and_then(|dir| {
            let kdf = args.kdf.params(limits)?;
            std::fs::File::open(&args.file).map_err(|error| {
                CliError::usage(format!("cannot read {}: {error}", args.file.display()))
            })?;
            let passphrase = read_passphrase("AGENTID_PASSPHRASE", "Backup passphrase: ", false)?;
            let wallet = Wallet::import_with_limits(
                dir,
                &args.file,
                &passphrase,
                &passphrase,
                &kdf,
                limits,
                unix_now(),
            )
            .map_err(wallet_error)?;
            println!("restored {} into {}", wallet.did(), dir.display());
            Ok(())
        }),
        Command::Delegate(args) => wallet_dir(wallet).and_then(|dir| {
            let to = agentid_verifier::did_key::decode(&args.to)
                .map_err(|error| CliError::usage(format!("--to must be a did:key: {error}")))?;
            let lifetime = humantime::parse_duration(&args.ttl)
                .map_err(|error| CliError::usage(format!("--ttl {}: {error}", args.ttl)))?;
            let mut constraints = serde_json::Map::new();
            if let Some(max_amount) = args.max_amount {
                // Whole amounts stay integers in the JSON (50, not 50.0).
                let amount = if max_amount.fract() == 0.0 && max_amount.abs() < 9e15 {
                    serde_json::Number::from(max_amount as i64)
                } else {
                    serde_json::Number::from_f64(max_amount)
                        .ok_or_else(|| CliError::usage("--max-amount must be a finite number"))?
                };
                constraints.insert("max_amount".into(), Value::Number(amount));
            }
            let spec = DelegationSpec {
                to,
                scope: (!args.scope.is_empty()).then(|| args.scope.clone()),
                resources: (!args.resource.is_empty()).then(|| args.resource.clone()),
                constraints,
                lifetime_secs: lifetime.as_secs(),
                max_depth: args.depth,
            };
            let mut wallet = open(dir)?;
            let delegation = wallet.delegate(&args.credential, &spec, unix_now()).map_err(wallet_error)?;
            println!("{delegation}");
            Ok(())
        }),
        Command::Revoke { jti } => wallet_dir(wallet).and_then(open).and_then(|mut wallet| {
            wallet.revoke(jti, unix_now()).map_err(wallet_error)?;
            println!("revoked {jti}: publish the status list (agentid status publish) for verifiers to see it");
            Ok(())
        }),
        Command::Status(StatusCommand::Publish { out, ttl }) => wallet_dir(wallet).and_then(|dir| {
            let ttl = humantime::parse_duration(ttl).map_err(|error| CliError::usage(format!("--ttl {ttl}: {error}")))?;
            if ttl < Duration::from_secs(60) {
                return Err(CliError::usage("--ttl must be at least 1m"));
            }
            let mut wallet = open(dir)?;
            let token = wallet.publish_status(unix_now(), ttl.as_secs()).map_err(wallet_error)?;
            let uri = wallet.status_list_uri().map_err(wallet_error)?;
            if out.as_os_str() == "-" {
                // Standard output holds the token alone, for a pipe.
                println!("{token}");
                eprintln!("wrote the status list token for {uri} to standard output");
                return Ok(());
            }
            std::fs::write(out, format!("{token}\n"))
                .map_err(|error| CliError::failed(format!("cannot write {}: {error}", out.display())))?;
            println!("wrote the status list token for {uri} to {}", out.display());
            Ok(())
        }),
        Command::Audit(AuditCommand::Verify) => {
            wallet_dir(wallet).and_then(open).and_then(|wallet| {
                let count = wallet
                    .audit_verify()
                    .map_err(|error| CliError::invalid(error.to_string()))?;
                println!("audit log intact: {count} entries");
                Ok(())
            })
        }
        Command::Audit(AuditCommand::Export { jsonl }) => {
            wallet_dir(wallet).and_then(open).and_then(|wallet| {
                let entries = wallet
                    .audit_entries()
                    .map_err(|error| CliError::invalid(error.to_string()))?;
                if *jsonl {
                    for entry in entries {
                        println!("{}", serde_json::to_string(&entry).unwrap_or_default());
                    }
                } else {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&entries).unwrap_or_default()
                    );
                }
                Ok(())
            })
        }
    };
    Some(result)
}

fn issue(dir: &Path, args: &crate::cli::IssueArgs, limits: &KdfLimits) -> Result<(), CliError> {
    let holder_key = agentid_verifier::did_key::decode(&args.subject)
        .map_err(|error| CliError::usage(format!("--subject must be a did:key: {error}")))?;
    let bytes = read_bounded(&args.claims, MAX_CLAIMS_BYTES).map_err(CliError::into_usage)?;
    let claims = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(claims)) => claims,
        Ok(_) => {
            return Err(CliError::usage(format!(
                "{}: claims must be a JSON object",
                args.claims
            )))
        }
        Err(error) => {
            return Err(CliError::usage(format!(
                "{}: not JSON: {error}",
                args.claims
            )))
        }
    };
    let lifetime = humantime::parse_duration(&args.ttl)
        .map_err(|error| CliError::usage(format!("--ttl {}: {error}", args.ttl)))?;
    if lifetime < Duration::from_secs(1) {
        return Err(CliError::usage("--ttl must be at least 1s"));
    }
    let request = CredentialRequest {
        vct: args.vct.clone(),
        subject: args.subject.clone(),
        holder_key,
        claims,
        disclosable: paths(&args.sd)?,
        lifetime_secs: lifetime.as_secs(),
        committed: paths(&args.commit)?,
    };
    let mut wallet = open_within(dir, limits)?;
    let issued = wallet.issue(&request, unix_now()).map_err(wallet_error)?;
    let credential = issuance_text(&issued.sd_jwt, &issued.openings);
    if args.json {
        println!(
            "{}",
            json!({"credential": credential, "jti": issued.credential_id, "expires_at": issued.expires_at})
        );
    } else {
        // Standard output stays the credential alone, for `receive` and pipes.
        println!("{credential}");
        eprintln!("jti: {}", issued.credential_id);
    }
    Ok(())
}

fn refuse_overwrite(path: &Path) -> CliError {
    CliError::usage(format!(
        "{} exists; give --force to replace it",
        path.display()
    ))
}

/// Runs `write` on a fresh temporary file beside `path`, then moves it to `path`:
/// over an existing file only with `force` (a rename, atomic), else only if `path`
/// still does not exist (a hard link, which never replaces). Either way `path` is
/// never left half-written, and the temporary file is removed on failure.
fn export_atomically<T>(
    path: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temporary = tempfile::Builder::new()
        .prefix(".agentid-export-")
        .tempfile_in(dir)
        .map_err(|error| CliError::usage(format!("cannot write in {}: {error}", dir.display())))?;
    let result = write(temporary.path())?;
    let persisted = if force {
        temporary.persist(path)
    } else {
        temporary.persist_noclobber(path)
    };
    persisted.map_err(|error| {
        if error.error.kind() == std::io::ErrorKind::AlreadyExists {
            refuse_overwrite(path)
        } else {
            CliError::failed(format!("cannot write {}: {}", path.display(), error.error))
        }
    })?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::compact_predicate;

    #[test]
    fn predicates_read_the_same_with_spaces_around_operators() {
        for (text, compact) in [
            ("age >= 18", "age>=18"),
            (" age>=18 ", "age>=18"),
            ("age>= 18", "age>=18"),
            ("birthdate <= 2008-11-22", "birthdate<=2008-11-22"),
            ("3 <= level <= 5", "3<=level<=5"),
            ("\t3<=  level\t<=5\n", "3<=level<=5"),
            ("level >= 3", "level>=3"),
            ("a[0].b >= -7", "a[0].b>=-7"),
            ("birth date <= 1", "birth date<=1"),
            ("a >= 1 >= 2", "a>=1>=2"),
            ("", ""),
        ] {
            assert_eq!(compact_predicate(text), compact, "{text:?}");
        }
    }
}
