//! `agentid verify-batch`: every presentation in a directory, for one audience and
//! nonce, through the verifier's batch path (or, to compare, one by one).

use std::collections::BTreeMap;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentid_verifier::{
    BatchItem, Policy, PresentationRequest, Verified, Verifier, VerifyError, MAX_BATCH,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::{BatchMode, VerifyBatchArgs};
use crate::error::CliError;
use crate::io::{read_file_limited, BoundedReadError};
use crate::timefmt::{parse_time, reason};
use crate::verify_cmd::{load_status, load_trust};

/// Files read and verified together: bounds memory to this many presentations.
const CHUNK: usize = 1024;

/// Invalid files named in the readable output (`--json` gives every file).
const MAX_LISTED: usize = 20;

/// Kind reported for a file that could not be read at all (permissions, I/O).
const UNREADABLE: &str = "unreadable";

/// One file to verify.
struct Entry {
    name: String,
    path: PathBuf,
}

/// The verdict on one file.
enum Outcome {
    Valid(Box<Verified>),
    Invalid { kind: &'static str, reason: String },
}

impl From<Result<Verified, VerifyError>> for Outcome {
    fn from(verdict: Result<Verified, VerifyError>) -> Self {
        match verdict {
            Ok(verified) => Outcome::Valid(Box::new(verified)),
            Err(error) => Outcome::Invalid {
                kind: error.kind().as_str(),
                reason: reason(&error),
            },
        }
    }
}

pub(crate) fn run(args: &VerifyBatchArgs) -> Result<(), CliError> {
    let trust = load_trust(&args.trust)?;
    let now = match &args.at {
        Some(at) => parse_time(at)?,
        None => agentid_wallet::unix_now(),
    };
    let policy = Policy::default();
    let max_bytes = policy.limits.max_presentation_bytes;
    let status = load_status(&args.status, &trust, &policy, now)?;
    let verifier = Verifier::new(trust, policy).with_status_lists(status);
    let request = PresentationRequest::new(args.audience.clone(), args.nonce.clone());
    let files = list_files(&args.dir)?;

    let started = Instant::now();
    let progress = progress_bar(files.len());
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut valid = 0usize;
    let mut invalid: Vec<(String, &'static str, String)> = Vec::new();
    for chunk in files.chunks(CHUNK) {
        let inputs: Vec<Result<String, Outcome>> = chunk
            .iter()
            .map(|entry| read_presentation(&entry.path, max_bytes))
            .collect();
        let outcomes = match args.mode {
            BatchMode::Batch => {
                let outcomes = verify_chunk(&verifier, inputs, &request, now)?;
                progress.inc(chunk.len() as u64);
                outcomes
            }
            BatchMode::Single => inputs
                .into_iter()
                .map(|input| {
                    let outcome = match input {
                        Ok(text) => verifier.verify_presentation(&text, &request, now).into(),
                        Err(outcome) => outcome,
                    };
                    progress.inc(1);
                    outcome
                })
                .collect(),
        };
        for (entry, outcome) in chunk.iter().zip(outcomes) {
            if args.json {
                writeln!(out, "{}", outcome_json(&entry.name, &outcome)).map_err(stdout_error)?;
            }
            match outcome {
                Outcome::Valid(_) => valid += 1,
                Outcome::Invalid { kind, reason } => {
                    invalid.push((entry.name.clone(), kind, reason));
                }
            }
        }
        out.flush().map_err(stdout_error)?;
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed();

    let summary = summary(files.len(), valid, &invalid, elapsed, args.mode);
    if args.json {
        eprint!("{summary}");
    } else {
        for (name, _, reason) in invalid.iter().take(MAX_LISTED) {
            writeln!(out, "INVALID {name}: {reason}").map_err(stdout_error)?;
        }
        if invalid.len() > MAX_LISTED {
            writeln!(
                out,
                "… and {} more invalid (--json lists every file)",
                invalid.len() - MAX_LISTED
            )
            .map_err(stdout_error)?;
        }
        write!(out, "{summary}").map_err(stdout_error)?;
        out.flush().map_err(stdout_error)?;
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(CliError::invalid(format!(
            "{} of {} presentations are invalid",
            invalid.len(),
            files.len()
        )))
    }
}

/// The regular, non-hidden files of `dir` (symbolic links followed), sorted by name.
fn list_files(dir: &Path) -> Result<Vec<Entry>, CliError> {
    let shown = dir.display();
    let entries = std::fs::read_dir(dir)
        .map_err(|error| CliError::usage(format!("cannot read directory {shown}: {error}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|error| CliError::usage(format!("cannot read directory {shown}: {error}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // A dangling link or a directory is not a file to verify.
        if !std::fs::metadata(&path).is_ok_and(|metadata| metadata.is_file()) {
            continue;
        }
        if files.len() == MAX_BATCH {
            return Err(CliError::usage(format!(
                "{shown} holds more than {MAX_BATCH} files; split it"
            )));
        }
        files.push(Entry { name, path });
    }
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "{shown} holds no presentation files"
        )));
    }
    files.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
    Ok(files)
}

/// Reads one presentation with `verify`'s bound; a file that cannot be one is
/// already a verdict.
fn read_presentation(path: &Path, max_bytes: usize) -> Result<String, Outcome> {
    let bytes = read_file_limited(path, max_bytes).map_err(|error| match error {
        BoundedReadError::TooLarge => Outcome::from(Err(VerifyError::LimitExceeded(format!(
            "presentation is larger than {max_bytes} bytes"
        )))),
        BoundedReadError::Io(error) => Outcome::Invalid {
            kind: UNREADABLE,
            reason: format!("cannot read: {error}"),
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Outcome::from(Err(VerifyError::Malformed(
            "input is not UTF-8 text".into(),
        )))
    })?;
    Ok(text.trim().to_owned())
}

/// The batch path over one chunk: the readable files through `verify_batch`.
fn verify_chunk(
    verifier: &Verifier,
    inputs: Vec<Result<String, Outcome>>,
    request: &PresentationRequest,
    now: u64,
) -> Result<Vec<Outcome>, CliError> {
    let items: Vec<BatchItem<'_>> = inputs
        .iter()
        .filter_map(|input| input.as_ref().ok())
        .map(|presentation| BatchItem {
            presentation,
            request,
        })
        .collect();
    let verdicts = verifier.verify_batch(&items, now);
    // One verdict per item, in order, or the files cannot be matched to verdicts.
    if verdicts.len() != items.len() {
        return Err(CliError::failed(format!(
            "internal error: {} verdicts for {} presentations",
            verdicts.len(),
            items.len()
        )));
    }
    drop(items);
    let mut verdicts = verdicts.into_iter();
    Ok(inputs
        .into_iter()
        .map(|input| match input {
            Ok(_) => verdicts.next().map_or_else(
                || Outcome::from(Err(VerifyError::Malformed("no verdict".into()))),
                Outcome::from,
            ),
            Err(outcome) => outcome,
        })
        .collect())
}

fn outcome_json(name: &str, outcome: &Outcome) -> serde_json::Value {
    match outcome {
        Outcome::Valid(verified) => {
            json!({"file": name, "valid": true, "issuer": verified.issuer})
        }
        Outcome::Invalid { kind, reason } => {
            json!({"file": name, "valid": false, "kind": kind, "reason": reason})
        }
    }
}

fn summary(
    total: usize,
    valid: usize,
    invalid: &[(String, &'static str, String)],
    elapsed: Duration,
    mode: BatchMode,
) -> String {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, kind, _) in invalid {
        *by_kind.entry(kind).or_default() += 1;
    }
    let mut text = format!(
        "{total} presentations: {valid} valid, {} invalid\n",
        invalid.len()
    );
    for (kind, count) in by_kind {
        text.push_str(&format!("  {kind}: {count}\n"));
    }
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { total as f64 / secs } else { 0.0 };
    let mode = match mode {
        BatchMode::Batch => "batch",
        BatchMode::Single => "single",
    };
    text.push_str(&format!(
        "elapsed {secs:.3} s, {rate:.0} presentations/s ({mode} mode)\n"
    ));
    text
}

fn progress_bar(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} presentations, {rate}, eta {eta}")
    {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0}/s", state.per_sec());
            },
        ));
    }
    bar
}

fn stdout_error(error: std::io::Error) -> CliError {
    CliError::failed(format!("cannot write to standard output: {error}"))
}
