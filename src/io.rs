//! Bounded reads of files and standard input.

use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// Why a bounded read failed.
#[derive(Debug)]
pub(crate) enum BoundedReadError {
    /// The file or stream could not be read.
    Io(std::io::Error),
    /// It holds more than the limit.
    TooLarge,
}

/// Reads all of `reader`, refusing more than `max_bytes` (it reads at most one byte
/// past the limit).
pub(crate) fn read_limited(
    reader: impl Read,
    max_bytes: usize,
) -> Result<Vec<u8>, BoundedReadError> {
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    reader
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(BoundedReadError::Io)?;
    if bytes.len() > max_bytes {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(bytes)
}

/// Reads the file at `path`, refusing more than `max_bytes`.
pub(crate) fn read_file_limited(
    path: &Path,
    max_bytes: usize,
) -> Result<Vec<u8>, BoundedReadError> {
    let file = std::fs::File::open(path).map_err(BoundedReadError::Io)?;
    read_limited(file, max_bytes)
}

/// Reads `path` (or standard input for `-`), refusing more than `max_bytes`.
pub(crate) fn read_bounded(path: &str, max_bytes: usize) -> Result<Vec<u8>, CliError> {
    let result = if path == "-" {
        read_limited(std::io::stdin().lock(), max_bytes)
    } else {
        read_file_limited(Path::new(path), max_bytes)
    };
    result.map_err(|error| match error {
        BoundedReadError::Io(error) => CliError::usage(format!("cannot read {path}: {error}")),
        BoundedReadError::TooLarge => {
            CliError::invalid(format!("{path} is larger than {max_bytes} bytes"))
        }
    })
}

/// Writes a file, naming it in the error.
pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, contents)
        .map_err(|error| CliError::failed(format!("cannot write {}: {error}", path.display())))
}
