//! Bounded reads of files and standard input.

use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// Reads `path` (or standard input for `-`), refusing more than `max_bytes`.
pub(crate) fn read_bounded(path: &str, max_bytes: usize) -> Result<Vec<u8>, CliError> {
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    let result = if path == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|error| CliError::usage(format!("cannot read {path}: {error}")))?;
    if bytes.len() > max_bytes {
        return Err(CliError::invalid(format!(
            "{path} is larger than {max_bytes} bytes"
        )));
    }
    Ok(bytes)
}

/// Writes a file, naming it in the error.
pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, contents)
        .map_err(|error| CliError::failed(format!("cannot write {}: {error}", path.display())))
}
