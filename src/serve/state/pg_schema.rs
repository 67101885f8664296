//! The PostgreSQL schema (version 1) and its creation at open.
//!
//! Every node runs [`ensure`] when it opens the store: in one transaction, under an
//! advisory lock (so nodes starting together do not race on `CREATE TABLE`), it
//! creates the version table, reads this component's version, refuses a newer one,
//! creates what is missing and records version 1. The tables live in the first
//! schema of the session's `search_path`.

use deadpool_postgres::Client;

use super::pg_rows::db_error;
use super::StateError;

/// The schema version this build writes and reads.
pub(super) const SCHEMA_VERSION: i32 = 1;
/// This component's row in `agentid_schema_version`.
pub(super) const COMPONENT: &str = "oid4vp_requests";

/// Serializes schema creation per schema; the key is derived from the schema name.
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('agentid_oid4vp_schema/' || \
                    coalesce(current_schema(), '')))";

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS agentid_schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
)";

/// Reads this component's version.
pub(super) const READ_VERSION: &str =
    "SELECT version FROM agentid_schema_version WHERE component = $1";

const REQUESTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS agentid_oid4vp_requests (
    id TEXT PRIMARY KEY,
    state_digest BYTEA NOT NULL CHECK (octet_length(state_digest) = 32),
    phase TEXT NOT NULL
        CHECK (phase IN ('created', 'request_served', 'responding', 'answered')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL CHECK (expires_at > created_at),
    request BYTEA NOT NULL,
    verdict BYTEA,
    CHECK ((verdict IS NOT NULL) = (phase = 'answered'))
)";

const EXPIRY_INDEX: &str = "CREATE INDEX IF NOT EXISTS agentid_oid4vp_requests_expires_at \
                            ON agentid_oid4vp_requests (expires_at)";

const RECORD_VERSION: &str = "INSERT INTO agentid_schema_version (component, version) \
                              VALUES ($1, $2) ON CONFLICT (component) DO NOTHING";

/// Creates the schema if missing; refuses a newer one.
pub(super) async fn ensure(client: &mut Client) -> Result<(), StateError> {
    let tx = client.transaction().await.map_err(db_error)?;
    tx.execute(LOCK, &[]).await.map_err(db_error)?;
    tx.execute(VERSION_TABLE, &[]).await.map_err(db_error)?;
    let found = tx
        .query_opt(READ_VERSION, &[&COMPONENT])
        .await
        .map_err(db_error)?
        .map(|row| row.try_get::<_, i32>(0))
        .transpose()
        .map_err(db_error)?;
    if let Some(found) = found {
        check_version(found)?;
    }
    tx.execute(REQUESTS_TABLE, &[]).await.map_err(db_error)?;
    tx.execute(EXPIRY_INDEX, &[]).await.map_err(db_error)?;
    tx.execute(super::marks::PG_TABLE, &[])
        .await
        .map_err(db_error)?;
    tx.execute(super::marks::PG_INDEX, &[])
        .await
        .map_err(db_error)?;
    tx.execute(RECORD_VERSION, &[&COMPONENT, &SCHEMA_VERSION])
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

/// Refuses a schema newer than this build's.
pub(super) fn check_version(found: i32) -> Result<(), StateError> {
    if found > SCHEMA_VERSION {
        return Err(StateError::SchemaTooNew {
            found: i64::from(found),
            supported: i64::from(SCHEMA_VERSION),
        });
    }
    Ok(())
}
