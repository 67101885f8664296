//! The `agentid` command-line tool: a thin layer over `agentid-wallet` and
//! `agentid-verifier`. Errors are one line on stderr and a non-zero exit status.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;

use clap::Parser;

mod batch_cmd;
mod cli;
mod demo;
mod error;
mod io;
mod serve;
mod timefmt;
mod verify_cmd;
mod wallet_cmd;

use cli::{Cli, Command, ServeCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::VerifyBatch(args) => batch_cmd::run(args),
        Command::Serve(ServeCommand::Verifier(args)) => serve::run(args),
        other => wallet_cmd::run(other, cli.wallet.as_ref()).unwrap_or(Ok(())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", error.message);
            error.exit_code()
        }
    }
}
