//! Reading and printing times on the command line.

use std::time::{Duration, UNIX_EPOCH};

use crate::error::CliError;

/// Reads `--at`: RFC 3339 (`2026-11-22T10:00:00Z`) or whole seconds since the epoch.
pub(crate) fn parse_time(text: &str) -> Result<u64, CliError> {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| CliError::usage(format!("--at {text}: number too large")));
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|_| CliError::usage(format!("--at {text}: expected RFC 3339 or Unix seconds")))?;
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .map_err(|_| CliError::usage(format!("--at {text}: before 1970")))
}

/// Formats Unix seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// "in 14m 59s" / "3m ago", relative to `now`.
pub(crate) fn relative(secs: u64, now: u64) -> String {
    if secs >= now {
        format!(
            "in {}",
            humantime::format_duration(Duration::from_secs(secs - now))
        )
    } else {
        format!(
            "{} ago",
            humantime::format_duration(Duration::from_secs(now - secs))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_accepts_rfc3339_and_unix_seconds() {
        assert_eq!(parse_time("1700000000").ok(), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z").ok(), Some(1_700_000_000));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("99999999999999999999999").is_err());
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
