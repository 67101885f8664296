//! The shared backend: one PostgreSQL table for every verifier node.
//!
//! Each step is one statement, `UPDATE … WHERE id = $1 AND phase = … AND
//! expires_at > $now [AND state_digest = $s] RETURNING …`: PostgreSQL locks the row,
//! and a concurrent `UPDATE` of it waits, then re-checks its `WHERE` on the row as
//! the winner left it, so of two nodes taking the same step exactly one gets the row.
//! When no row comes back, the row is read again and [`rules::next_phase`] names the
//! refusal, as sled does. A statement returns only once committed (autocommit), so
//! an `Ok` is durable as far as the server's `synchronous_commit` makes it.
//!
//! Connections come from a bounded pool ([`StateLimits::pool_max_size`]); opening
//! one is bounded by the connect timeout, waiting for one and every statement by the
//! statement timeout (on the server as `statement_timeout`, and on the client one
//! second later, in case the server does not answer at all).

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::pg_config::{self, PgConfig};
use super::pg_rows::{
    corrupt, db_error, db_time, digest_of, phase_of, pool_error, request_of, time_of,
};
use super::pg_schema;
use super::rules::{self, Step};
use super::{OpenRequest, RequestStatus, StateDigest, StateError, StateLimits};

/// How much longer than the server's `statement_timeout` the client waits.
const CLIENT_GRACE: Duration = Duration::from_secs(1);
/// How often a step is tried when its row appeared between the `UPDATE` and the
/// read that names the refusal (an `insert` racing the step).
const ATTEMPTS: usize = 2;

const INSERT: &str = "INSERT INTO agentid_oid4vp_requests \
    (id, state_digest, phase, created_at, expires_at, request) \
    SELECT $1::text, $2::bytea, 'created', $3::bigint, $4::bigint, $5::bytea \
    WHERE (SELECT count(*) FROM (SELECT 1 FROM agentid_oid4vp_requests \
        WHERE expires_at > $3::bigint LIMIT $6::bigint) AS open) < $6::bigint";
const TAKE_REQUEST_OBJECT: &str = "UPDATE agentid_oid4vp_requests SET phase = 'request_served' \
    WHERE id = $1 AND phase = 'created' AND expires_at > $2 \
    RETURNING state_digest, created_at, expires_at, request";
const BEGIN_RESPONSE: &str = "UPDATE agentid_oid4vp_requests SET phase = 'responding' \
    WHERE id = $1 AND phase IN ('created', 'request_served') AND expires_at > $2 \
    AND state_digest = $3 \
    RETURNING state_digest, created_at, expires_at, request";
const FINISH: &str = "UPDATE agentid_oid4vp_requests SET phase = 'answered', verdict = $2 \
    WHERE id = $1 AND phase = 'responding' RETURNING id";
const READ_PHASE: &str =
    "SELECT phase, state_digest, expires_at FROM agentid_oid4vp_requests WHERE id = $1";
const RESULT: &str = "SELECT phase, verdict, expires_at FROM agentid_oid4vp_requests WHERE id = $1";
const SWEEP: &str = "DELETE FROM agentid_oid4vp_requests WHERE id IN \
    (SELECT id FROM agentid_oid4vp_requests WHERE expires_at <= $1 \
     ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// A request-state store in PostgreSQL. Clones share the pool.
#[derive(Clone)]
pub(crate) struct PgStateStore {
    pool: Pool,
    limits: StateLimits,
}

impl std::fmt::Debug for PgStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStateStore")
            .field("pool_max_size", &status.max_size)
            .field("pool_size", &status.size)
            .finish_non_exhaustive()
    }
}

impl PgStateStore {
    /// Connects (one connection, to fail early) and creates the schema if missing.
    pub(super) async fn connect(url: &str, limits: StateLimits) -> Result<Self, StateError> {
        let PgConfig {
            config,
            pool_max_size,
        } = pg_config::parse(url, &limits)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(limits.statement_timeout))
            .create_timeout(Some(limits.connect_timeout))
            .recycle_timeout(Some(limits.statement_timeout))
            .build()
            .map_err(|error| StateError::InvalidConfig(error.to_string()))?;
        let store = PgStateStore { pool, limits };
        let mut client = store.client().await?;
        // Several statements in one transaction: bounded as a whole.
        let deadline = limits.statement_timeout.saturating_mul(2) + CLIENT_GRACE;
        tokio::time::timeout(deadline, pg_schema::ensure(&mut client))
            .await
            .map_err(|_| StateError::Unavailable("creating the schema timed out".into()))??;
        Ok(store)
    }

    pub(super) async fn client(&self) -> Result<Client, StateError> {
        self.pool
            .get()
            .await
            .map_err(|error| pool_error(error, &self.limits))
    }

    /// Runs one statement, bounded on the client side too; the database's own
    /// error is left to the caller.
    async fn bounded_raw<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<Result<T, tokio_postgres::Error>, StateError> {
        tokio::time::timeout(self.limits.statement_timeout + CLIENT_GRACE, statement)
            .await
            .map_err(|_| StateError::Unavailable("the database did not answer in time".into()))
    }

    /// Runs one statement, bounded on the client side too.
    async fn bounded<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StateError> {
        self.bounded_raw(statement).await?.map_err(db_error)
    }

    async fn query_opt(
        &self,
        client: &Client,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StateError> {
        let statement = self.bounded(client.prepare_cached(sql)).await?;
        self.bounded(client.query_opt(&statement, params)).await
    }

    pub(super) async fn query(
        &self,
        client: &Client,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StateError> {
        let statement = self.bounded(client.prepare_cached(sql)).await?;
        self.bounded(client.query(&statement, params)).await
    }

    /// Runs a transaction's statements bounded as a whole on the client side (the
    /// server bounds each by `statement_timeout`); the database's own error is left
    /// to the caller.
    pub(super) async fn bounded_tx<T>(
        &self,
        work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<Result<T, tokio_postgres::Error>, StateError> {
        let deadline = self.limits.statement_timeout.saturating_mul(2) + CLIENT_GRACE;
        tokio::time::timeout(deadline, work)
            .await
            .map_err(|_| StateError::Unavailable("the database did not answer in time".into()))
    }

    pub(super) async fn execute(
        &self,
        client: &Client,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StateError> {
        let statement = self.bounded(client.prepare_cached(sql)).await?;
        self.bounded(client.execute(&statement, params)).await
    }

    pub(super) async fn insert(&self, request: &OpenRequest) -> Result<(), StateError> {
        rules::check_new(request, &self.limits)?;
        let max_open = self.limits.max_open_requests;
        let client = self.client().await?;
        let statement = self.bounded(client.prepare_cached(INSERT)).await?;
        let params: [&(dyn ToSql + Sync); 6] = [
            &request.id,
            &request.state_digest.as_bytes().as_slice(),
            &db_time(request.created_at),
            &db_time(request.expires_at),
            &request.request,
            &db_time(max_open),
        ];
        match self
            .bounded_raw(client.execute(&statement, &params))
            .await?
        {
            // The count in the statement's WHERE found the store full.
            Ok(0) => Err(StateError::Full { max_open }),
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(StateError::Duplicate)
            }
            Err(error) => Err(db_error(error)),
        }
    }

    /// Runs the `UPDATE` of `step`; when it matches no row, names the refusal.
    async fn step(
        &self,
        id: &str,
        step: Step,
        now: u64,
        state: Option<&StateDigest>,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StateError> {
        rules::lookup_id(id)?;
        let sql = match step {
            Step::TakeRequestObject => TAKE_REQUEST_OBJECT,
            Step::BeginResponse => BEGIN_RESPONSE,
            Step::Finish => FINISH,
        };
        let client = self.client().await?;
        for _ in 0..ATTEMPTS {
            if let Some(row) = self.query_opt(&client, sql, params).await? {
                return Ok(row);
            }
            let row = self
                .query_opt(&client, READ_PHASE, &[&id])
                .await?
                .ok_or(StateError::NotFound)?;
            let stored = digest_of(&row)?;
            let matches = || state.is_some_and(|state| stored.matches(state));
            rules::next_phase(
                step,
                phase_of(&row)?,
                time_of(&row, "expires_at")?,
                now,
                matches,
            )?;
            // The row allows the step now: it was inserted after the UPDATE ran.
        }
        Err(StateError::Backend(
            "the request changed during the step; try again".into(),
        ))
    }

    pub(super) async fn take_request_object(
        &self,
        id: &str,
        now: u64,
    ) -> Result<OpenRequest, StateError> {
        let now_db = db_time(now);
        let row = self
            .step(id, Step::TakeRequestObject, now, None, &[&id, &now_db])
            .await?;
        request_of(id, &row)
    }

    pub(super) async fn begin_response(
        &self,
        id: &str,
        state: &StateDigest,
        now: u64,
    ) -> Result<OpenRequest, StateError> {
        let now_db = db_time(now);
        let digest = state.as_bytes().as_slice();
        let row = self
            .step(
                id,
                Step::BeginResponse,
                now,
                Some(state),
                &[&id, &now_db, &digest],
            )
            .await?;
        request_of(id, &row)
    }

    pub(super) async fn finish(&self, id: &str, verdict: &[u8]) -> Result<(), StateError> {
        self.limits.check_blob("verdict", verdict)?;
        self.step(id, Step::Finish, 0, None, &[&id, &verdict])
            .await
            .map(|_| ())
    }

    pub(super) async fn result(&self, id: &str) -> Result<RequestStatus, StateError> {
        rules::lookup_id(id)?;
        let client = self.client().await?;
        let row = self
            .query_opt(&client, RESULT, &[&id])
            .await?
            .ok_or(StateError::NotFound)?;
        Ok(RequestStatus {
            phase: phase_of(&row)?,
            verdict: row.try_get("verdict").map_err(corrupt)?,
            expires_at: time_of(&row, "expires_at")?,
        })
    }

    pub(super) async fn sweep(&self, now: u64, retention_secs: u64) -> Result<u64, StateError> {
        let cutoff = db_time(now.saturating_sub(retention_secs));
        let batch = i64::from(self.limits.sweep_batch);
        let client = self.client().await?;
        self.execute(&client, SWEEP, &[&cutoff, &batch]).await
    }

    pub(super) async fn health(&self) -> Result<(), StateError> {
        let client = self.client().await?;
        let row = self
            .query_opt(&client, pg_schema::READ_VERSION, &[&pg_schema::COMPONENT])
            .await?
            .ok_or_else(|| StateError::Corrupt("the schema version row is missing".into()))?;
        pg_schema::check_version(row.try_get(0).map_err(corrupt)?)
    }
}
