//! Times as people read them: RFC 3339, total for every `u64`.

/// Seconds per day.
const DAY: u64 = 86_400;

/// Formats Unix seconds as an RFC 3339 UTC timestamp, `2023-11-14T22:13:20Z`.
///
/// RFC 3339 has four-digit years only, so it ends at `9999-12-31T23:59:59Z`
/// (253402300799). Later times, which a signed `exp` may well hold, print in the
/// ISO 8601 expanded form: a `+` and as many year digits as needed, the rest
/// unchanged (`+10000-01-01T00:00:00Z`; `u64::MAX` is
/// `+584554051223-11-09T07:00:15Z`). The function is total: it never panics and
/// never overflows, for every `u64`.
pub fn rfc3339(secs: u64) -> String {
    let (year, month, day) = civil_from_days(secs / DAY);
    let time = secs % DAY;
    let (hour, minute, second) = (time / 3600, time % 3600 / 60, time % 60);
    let sign = if year > 9999 { "+" } else { "" };
    format!("{sign}{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, in unsigned arithmetic: `days` ≤ `u64::MAX / 86400`, so
/// every intermediate value stays far below `u64::MAX`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01, so leap days end each 400-year era.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_beyond_year_9999_format_without_panicking() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "+10000-01-01T00:00:00Z");
        assert_eq!(rfc3339(u64::MAX), "+584554051223-11-09T07:00:15Z");
    }
}
