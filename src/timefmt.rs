//! Reading and printing times on the command line.
//!
//! Every time a person reads is printed by [`rfc3339`], never as Unix seconds alone
//! (JSON output keeps the numbers). Formatting is total: any `u64` a credential,
//! key binding or status list may carry prints without panicking.

use std::time::UNIX_EPOCH;

use agentid_verifier::VerifyError;

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

/// Formats Unix seconds as RFC 3339 (UTC); total for every `u64` (see
/// [`agentid_verifier::rfc3339`], which the verifier's own messages use too).
pub(crate) fn rfc3339(secs: u64) -> String {
    agentid_verifier::rfc3339(secs)
}

/// "in 14m 59s" / "3m ago", relative to `now`; total for every pair of `u64`.
pub(crate) fn relative(secs: u64, now: u64) -> String {
    let format = |secs| humantime::format_duration(std::time::Duration::from_secs(secs));
    if secs >= now {
        format!("in {}", format(secs - now))
    } else {
        format!("{} ago", format(now - secs))
    }
}

/// A rejection as a person reads it. The verifier's messages already name times in
/// RFC 3339 rather than Unix seconds (the JSON `kind` stays the machine-readable
/// part).
pub(crate) fn reason(error: &VerifyError) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    const DAY: u64 = 86_400;

    #[test]
    fn at_accepts_rfc3339_and_unix_seconds() {
        assert_eq!(parse_time("1700000000").ok(), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z").ok(), Some(1_700_000_000));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("99999999999999999999999").is_err());
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn times_beyond_year_9999_format_without_panicking() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "+10000-01-01T00:00:00Z");
        assert_eq!(rfc3339(1 << 53), "+285428751-11-12T07:36:32Z");
        assert_eq!(rfc3339(u64::MAX), "+584554051223-11-09T07:00:15Z");
        // Leap days, in and out of centuries.
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
        for now in [0, 1_800_000_000, u64::MAX] {
            for secs in [0, 253_402_300_800, u64::MAX] {
                assert!(!relative(secs, now).is_empty());
            }
        }
        assert_eq!(
            relative(u64::MAX, 0),
            format!(
                "in {}",
                humantime::format_duration(std::time::Duration::from_secs(u64::MAX))
            )
        );
        assert_eq!(relative(0, u64::MAX).chars().last(), Some('o'));
    }

    #[test]
    fn rejections_name_times_in_rfc3339() {
        assert_eq!(
            reason(&VerifyError::Expired {
                expired_at: u64::MAX
            }),
            "credential expired at +584554051223-11-09T07:00:15Z"
        );
        assert_eq!(
            reason(&VerifyError::NotYetValid {
                valid_from: 1_700_000_000
            }),
            "credential not valid before 2023-11-14T22:13:20Z"
        );
        assert_eq!(
            reason(&VerifyError::StaleKeyBinding { iat: 0 }),
            "key binding issued at 1970-01-01T00:00:00Z is outside the accepted window"
        );
        assert_eq!(
            reason(&VerifyError::AudienceMismatch),
            VerifyError::AudienceMismatch.to_string()
        );
    }

    /// `[+]YEAR-MM-DDTHH:MM:SSZ` as (year, month, day, seconds into the day).
    fn fields(text: &str) -> (u64, u64, u64, u64) {
        let body = text.strip_prefix('+').unwrap_or(text);
        let (date, time) = body.split_once('T').unwrap();
        let mut date = date
            .splitn(3, '-')
            .map(|field| field.parse::<u64>().unwrap());
        let mut time = time
            .trim_end_matches('Z')
            .splitn(3, ':')
            .map(|field| field.parse::<u64>().unwrap());
        let next = |fields: &mut dyn Iterator<Item = u64>| fields.next().unwrap();
        let (year, month, day) = (next(&mut date), next(&mut date), next(&mut date));
        let seconds = next(&mut time) * 3600 + next(&mut time) * 60 + next(&mut time);
        (year, month, day, seconds)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Up to year 9999 the output is exactly humantime's RFC 3339, and it
        /// reads back to the same second.
        #[test]
        fn rfc3339_matches_humantime_and_reads_back(secs in 0u64..=253_402_300_799) {
            let text = rfc3339(secs);
            let expected = humantime::format_rfc3339_seconds(
                UNIX_EPOCH + std::time::Duration::from_secs(secs),
            )
            .to_string();
            prop_assert_eq!(&text, &expected);
            prop_assert_eq!(parse_time(&text).ok(), Some(secs));
        }

        /// Every u64 formats, as a valid date and time of day, and a later second
        /// never prints as an earlier time.
        #[test]
        fn every_u64_formats_in_order(secs in any::<u64>()) {
            let text = rfc3339(secs);
            prop_assert_eq!(text.starts_with('+'), secs > 253_402_300_799);
            let (year, month, day, time) = fields(&text);
            prop_assert!(year >= 1970 && (1..=12).contains(&month) && (1..=31).contains(&day));
            prop_assert!(time < DAY);
            if let Some(next) = secs.checked_add(1) {
                prop_assert!(fields(&rfc3339(next)) > (year, month, day, time));
            }
            prop_assert!(!relative(secs, 1_800_000_000).is_empty());
        }
    }
}
