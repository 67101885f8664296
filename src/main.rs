//! The `agentid` command-line tool: a thin layer over `agentid-wallet` and
//! `agentid-verifier`. Errors are one line on stderr and a non-zero exit status.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;

use clap::Parser;

mod answer_cmd;
mod ap2_cmd;
mod approve_cmd;
mod batch_cmd;
mod caller_cmd;
mod cli;
mod decision;
mod demo;
mod error;
mod io;
mod keyfile;
mod mandate_cmd;
mod oid4vp;
mod receive_offer;
mod request_cmd;
mod serve;
mod timefmt;
mod verify_cmd;
mod wallet_cmd;

use cli::{Cli, Command, ServeCommand};

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::VerifyBatch(args) => batch_cmd::run(args),
        Command::Serve(ServeCommand::Verifier(args)) => serve::run(args, cli.wallet.as_ref()),
        Command::Serve(ServeCommand::Issuer(args)) => serve::run_issuer(args, cli.wallet.as_ref()),
        Command::Request(command) => request_cmd::run(command, cli.wallet.as_ref()),
        Command::Caller(command) => caller_cmd::run(command),
        Command::Mandate(command) => {
            mandate_cmd::run(command, cli.wallet.as_ref(), cli.allow_expensive_kdf)
        }
        Command::Approve(args) => {
            approve_cmd::run(args, cli.wallet.as_ref(), cli.allow_expensive_kdf)
        }
        other => {
            wallet_cmd::run(other, cli.wallet.as_ref(), cli.allow_expensive_kdf).unwrap_or(Ok(()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A verdict already printed its own account (`request verify`).
            if !error.message.is_empty() {
                eprintln!("{}", error.message);
            }
            error.exit_code()
        }
    }
}

/// `agentid … | head` closes standard output early; the write then fails and Rust's
/// print macros panic. Exit quietly as a Unix tool does on SIGPIPE (status 141)
/// instead of printing a panic; every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}
