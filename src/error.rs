//! How the CLI fails: one line on stderr and an exit status.

use std::process::ExitCode;

/// A failure that ends the command.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) status: u8,
    pub(crate) message: String,
}

impl CliError {
    /// The input was checked and is invalid (exit 1).
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        CliError {
            status: 1,
            message: format!("invalid: {}", message.into()),
        }
    }

    /// The command was used wrongly or its own inputs are unusable (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError {
            status: 2,
            message: format!("error: {}", message.into()),
        }
    }

    /// Something failed while running (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        CliError {
            status: 1,
            message: format!("error: {}", message.into()),
        }
    }

    /// The same error, reported as a usage error (exit 2): for the command's own
    /// inputs (trust files), as opposed to the material under test.
    pub(crate) fn into_usage(self) -> Self {
        CliError { status: 2, ..self }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.status)
    }
}
