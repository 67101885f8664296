//! PostgreSQL's answers as the store's types: errors (connection trouble and
//! timeouts are [`StateError::Unavailable`], a row that does not decode is
//! [`StateError::Corrupt`]) and rows.

use deadpool_postgres::{PoolError, TimeoutType};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{OpenRequest, Phase, StateDigest, StateError, StateLimits};

/// A database error as a [`StateError`]: connection trouble and timeouts are
/// [`StateError::Unavailable`]. The message is the SQLSTATE and the server's
/// primary message, never its `DETAIL` (which may quote a row).
pub(super) fn db_error(error: tokio_postgres::Error) -> StateError {
    let Some(db) = error.as_db_error() else {
        let text = match std::error::Error::source(&error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        };
        return StateError::Unavailable(text);
    };
    let code = db.code();
    let text = format!("{} ({})", db.message(), code.code());
    let class = code.code().get(..2).unwrap_or_default();
    if *code == SqlState::QUERY_CANCELED
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || matches!(class, "08" | "53")
    {
        StateError::Unavailable(text)
    } else {
        StateError::Backend(text)
    }
}

pub(super) fn pool_error(error: PoolError, limits: &StateLimits) -> StateError {
    match error {
        PoolError::Timeout(TimeoutType::Wait) => StateError::Unavailable(format!(
            "no free database connection within {} ms",
            limits.statement_timeout.as_millis()
        )),
        PoolError::Timeout(_) => StateError::Unavailable(format!(
            "could not connect to the database within {} ms",
            limits.connect_timeout.as_millis()
        )),
        PoolError::Backend(error) => db_error(error),
        PoolError::Closed => StateError::Unavailable("the connection pool is closed".into()),
        other => StateError::Backend(other.to_string()),
    }
}

pub(super) fn corrupt(error: tokio_postgres::Error) -> StateError {
    StateError::Corrupt(error.to_string())
}

/// A stored time, refused if negative.
pub(super) fn time_of(row: &Row, column: &str) -> Result<u64, StateError> {
    let value: i64 = row.try_get(column).map_err(corrupt)?;
    u64::try_from(value).map_err(|_| StateError::Corrupt(format!("negative {column}")))
}

pub(super) fn digest_of(row: &Row) -> Result<StateDigest, StateError> {
    let bytes: Vec<u8> = row.try_get("state_digest").map_err(corrupt)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(StateDigest::from_bytes)
        .map_err(|_| StateError::Corrupt("state digest not 32 bytes".into()))
}

pub(super) fn phase_of(row: &Row) -> Result<Phase, StateError> {
    let name: &str = row.try_get("phase").map_err(corrupt)?;
    Phase::from_name(name).ok_or_else(|| StateError::Corrupt("unknown phase".into()))
}

pub(super) fn request_of(id: &str, row: &Row) -> Result<OpenRequest, StateError> {
    Ok(OpenRequest {
        id: id.to_owned(),
        state_digest: digest_of(row)?,
        created_at: time_of(row, "created_at")?,
        expires_at: time_of(row, "expires_at")?,
        request: row.try_get("request").map_err(corrupt)?,
    })
}

/// A caller's clock as a `BIGINT`; a time past its range is simply later than
/// every stored one.
pub(super) fn db_time(time: u64) -> i64 {
    i64::try_from(time).unwrap_or(i64::MAX)
}
