//! PostgreSQL connection strings: the `postgres://` URL of libpq and tokio-postgres,
//! less the parameters this store reads itself, with its timeouts filled in.
//!
//! The store's own parameter, `pool_max_size=N` (1 to [`MAX_POOL_SIZE`]), is taken
//! out before tokio-postgres sees the URL. TLS is not built in: `sslmode=disable`,
//! `allow` or `prefer` (or none) connect without TLS, as those modes permit;
//! `require`, `verify-ca`, `verify-full` and the other `ssl…` parameters are
//! refused with [`StateError::TlsUnsupported`], never downgraded. Errors never quote
//! the URL, which may hold a password.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::SslMode;

use super::{StateError, StateLimits, MAX_POOL_SIZE};

/// The `application_name` sessions carry unless the URL names one.
const APPLICATION_NAME: &str = "agentid-verifier";

/// What [`parse`] makes of a URL.
pub(super) struct PgConfig {
    /// The connection settings, timeouts included.
    pub(super) config: tokio_postgres::Config,
    /// The pool's size.
    pub(super) pool_max_size: usize,
}

/// Parses `url` and applies `limits`: the pool size unless the URL sets it, the
/// connect timeout unless the URL sets it, and the statement timeout as a session
/// option placed before the URL's own `options`, so an explicit
/// `-c statement_timeout=…` there wins.
pub(super) fn parse(url: &str, limits: &StateLimits) -> Result<PgConfig, StateError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pool_max_size = limits.pool_max_size;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "pool_max_size" => {
                pool_max_size = value
                    .parse::<usize>()
                    .ok()
                    .filter(|size| (1..=MAX_POOL_SIZE).contains(size))
                    .ok_or_else(|| {
                        StateError::InvalidConfig(format!(
                            "pool_max_size must be a number between 1 and {MAX_POOL_SIZE}"
                        ))
                    })?;
            }
            "sslmode" => match value {
                "disable" | "allow" | "prefer" => {}
                "require" | "verify-ca" | "verify-full" => {
                    return Err(StateError::TlsUnsupported(format!("sslmode={value}")))
                }
                _ => {
                    return Err(StateError::InvalidConfig(
                        "unknown sslmode (expected disable, allow or prefer)".into(),
                    ))
                }
            },
            _ if key.starts_with("ssl") => {
                return Err(StateError::TlsUnsupported(format!("parameter {key}")));
            }
            _ => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config = tokio_postgres::Config::from_str(&rebuilt).map_err(|error| {
        // tokio-postgres names the option or part at fault, never a value.
        StateError::InvalidConfig(format!("bad PostgreSQL URL: {error}"))
    })?;
    match config.get_ssl_mode() {
        // Without a TLS connector `prefer` already connects in plaintext; say so
        // and skip the refused SSLRequest round trip.
        SslMode::Disable | SslMode::Prefer => {
            config.ssl_mode(SslMode::Disable);
        }
        _ => return Err(StateError::TlsUnsupported("sslmode".into())),
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(limits.connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name(APPLICATION_NAME);
    }
    let timeout = format!("-c statement_timeout={}", millis(limits.statement_timeout));
    let options = match config.get_options() {
        Some(own) if !own.is_empty() => format!("{timeout} {own}"),
        _ => timeout,
    };
    config.options(options);
    Ok(PgConfig {
        config,
        pool_max_size,
    })
}

/// Whole milliseconds, at least one.
fn millis(duration: Duration) -> u128 {
    duration.as_millis().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> Result<PgConfig, StateError> {
        parse(url, &StateLimits::default())
    }

    #[test]
    fn store_parameters_are_taken_out() {
        let config = parsed(
            "postgres://u:secret@127.0.0.1:5432/db?pool_max_size=3&options=-csearch_path%3Dx",
        );
        let config = config.ok();
        assert_eq!(config.as_ref().map(|c| c.pool_max_size), Some(3));
        let config = config.map(|c| c.config);
        assert_eq!(
            config
                .as_ref()
                .and_then(|c| c.get_options().map(str::to_owned)),
            Some("-c statement_timeout=5000 -csearch_path=x".to_owned())
        );
        assert_eq!(
            config
                .as_ref()
                .and_then(|c| c.get_connect_timeout().copied()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            config.as_ref().map(|c| c.get_ssl_mode()),
            Some(SslMode::Disable)
        );
        let default = parsed("postgresql://127.0.0.1/db").ok();
        assert_eq!(default.map(|c| c.pool_max_size), Some(8));
    }

    #[test]
    fn tls_is_refused_not_downgraded() {
        for url in [
            "postgres://h/db?sslmode=require",
            "postgres://h/db?sslmode=verify-full",
            "postgres://h/db?sslmode=verify-ca",
            "postgres://h/db?sslrootcert=/ca.pem",
            "postgres://h/db?sslmode=disable&sslcert=/c.pem",
            // tokio-postgres decodes keys: an encoded `sslmode` is caught after parsing.
            "postgres://h/db?%73slmode=require",
        ] {
            assert!(
                matches!(parsed(url), Err(StateError::TlsUnsupported(_))),
                "{url}"
            );
        }
        assert!(parsed("postgres://h/db?sslmode=disable").is_ok());
        assert!(parsed("postgres://h/db?sslmode=prefer").is_ok());
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for url in [
            "postgres://u:hunter2@h/db?pool_max_size=0",
            "postgres://u:hunter2@h/db?pool_max_size=257",
            "postgres://u:hunter2@h/db?pool_max_size=x",
            "postgres://u:hunter2@h/db?sslmode=bogus",
            "postgres://u:hunter2@h/db?no_such_option=1",
            "postgres://u:hunter2@h:notaport/db",
        ] {
            match parsed(url) {
                Err(StateError::InvalidConfig(message)) => {
                    assert!(!message.contains("hunter2"), "{message}");
                }
                other => panic!("{url}: {:?}", other.err()),
            }
        }
    }
}
