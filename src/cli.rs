//! Command-line definitions (clap). The contract is in docs/architecture.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Decentralized identities and verifiable credentials for AI agents.
#[derive(Debug, Parser)]
#[command(name = "agentid", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the end-to-end scenario: an issuer grants an agent a task credential, the
    /// agent presents it to another organization, which verifies it offline.
    Demo(DemoArgs),
    /// Verify a presentation (or, without --audience/--nonce, an issued credential).
    /// Exit status: 0 valid, 1 invalid, 2 usage error.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Also write credential.sd-jwt, presentation.sd-jwt, trust.json and request.json here.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The presentation or credential: a file, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub(crate) input: String,
    /// The audience the key binding must name (this verifier's identifier).
    #[arg(long, requires = "nonce")]
    pub(crate) audience: Option<String>,
    /// The nonce this verifier sent with its request.
    #[arg(long, requires = "audience")]
    pub(crate) nonce: Option<String>,
    /// Trust file: {"issuers": [{"id": "did:key:…"}, {"id": "https://…", "jwk": {…}}]}.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: PathBuf,
    /// Verify as of this time (RFC 3339, or seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,
    /// Accept this issuer-JWT typ instead of dc+sd-jwt (repeatable).
    #[arg(long, value_name = "TYP")]
    pub(crate) typ: Vec<String>,
    /// Print the verdict as JSON on standard output.
    #[arg(long)]
    pub(crate) json: bool,
}
