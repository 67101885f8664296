//! The issuer's state in PostgreSQL, shared by every issuer node.
//!
//! Allocation needs no lock: a node picks an entry at random and inserts the
//! credential's row; the unique key `(list_id, idx)` refuses a second row for an
//! entry, which the node sees as [`IssuerStoreError::IndexTaken`] and retries with
//! another. A status change updates the row and raises the list's revision in one
//! transaction; a node publishing the list reads the revision, then the entries
//! (never older entries under a newer revision). An acknowledged write is
//! committed (autocommit or `COMMIT`), durable as the server's
//! `synchronous_commit` makes it.

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::super::pg_rows::{corrupt, db_error, time_of};
use super::super::pg_store::PgStateStore;
use super::{
    AuditRecord, CredentialStatus, IssuedRecord, IssuerStoreError, ListSnapshot, OfferRecord,
    RedeemedOffer, StateError, StatusChange,
};

/// This component's schema version (in `agentid_schema_version`).
const SCHEMA_VERSION: i32 = 1;
const COMPONENT: &str = "issuer";

/// The schema, created in one transaction under an advisory lock at open.
const SCHEMA: [&str; 7] = [
    "CREATE TABLE IF NOT EXISTS agentid_issuer_lists (
        list_id INTEGER PRIMARY KEY CHECK (list_id > 0),
        revision BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS agentid_issuer_credentials (
        seq BIGSERIAL UNIQUE,
        jti TEXT PRIMARY KEY,
        list_id INTEGER NOT NULL REFERENCES agentid_issuer_lists (list_id),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        vct TEXT NOT NULL,
        subject TEXT NOT NULL,
        caller TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'suspended')),
        status_changed_at BIGINT,
        UNIQUE (list_id, idx)
    )",
    "CREATE INDEX IF NOT EXISTS agentid_issuer_credentials_marked \
        ON agentid_issuer_credentials (list_id) WHERE status <> 'valid'",
    "CREATE TABLE IF NOT EXISTS agentid_issuer_offers (
        code_digest BYTEA PRIMARY KEY CHECK (octet_length(code_digest) = 32),
        token_digest BYTEA UNIQUE CHECK (octet_length(token_digest) = 32),
        phase TEXT NOT NULL CHECK (phase IN ('offered', 'redeemed', 'issued')),
        caller TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        token_expires_at BIGINT,
        offer BYTEA NOT NULL,
        jti TEXT
    )",
    "CREATE TABLE IF NOT EXISTS agentid_issuer_audit (
        seq BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        action TEXT NOT NULL,
        caller TEXT NOT NULL,
        jti TEXT
    )",
    "CREATE TABLE IF NOT EXISTS agentid_schema_version (
        component TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    )",
    "INSERT INTO agentid_schema_version (component, version) VALUES ('issuer', 1) \
        ON CONFLICT (component) DO NOTHING",
];

const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('agentid_issuer_schema/' || \
                    coalesce(current_schema(), '')))";
const READ_VERSION: &str = "SELECT version FROM agentid_schema_version WHERE component = $1";
const VERSION_TABLE_EXISTS: &str = "SELECT to_regclass('agentid_schema_version') IS NOT NULL";

const CURRENT_LIST: &str = "SELECT coalesce(max(list_id), 1) FROM agentid_issuer_lists";
const OPEN_LIST: &str = "INSERT INTO agentid_issuer_lists (list_id, created_at) VALUES ($1, $2) \
    ON CONFLICT (list_id) DO NOTHING";
const LISTS: &str = "SELECT list_id FROM agentid_issuer_lists ORDER BY list_id";
const INSERT_CREDENTIAL: &str = "INSERT INTO agentid_issuer_credentials \
    (jti, list_id, idx, vct, subject, caller, issued_at, expires_at, status) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'valid') RETURNING seq";
const INSERT_AUDIT: &str =
    "INSERT INTO agentid_issuer_audit (at, action, caller, jti) VALUES ($1, $2, $3, $4)";
const TAKE_REDEEMED: &str = "UPDATE agentid_issuer_offers SET phase = 'issued', jti = $2 \
    WHERE token_digest = $1 AND phase = 'redeemed' AND token_expires_at > $3 RETURNING 1";
const LOCK_CREDENTIAL: &str =
    "SELECT list_id, status FROM agentid_issuer_credentials WHERE jti = $1 FOR UPDATE";
const SET_STATUS: &str = "UPDATE agentid_issuer_credentials \
    SET status = $2, status_changed_at = $3 WHERE jti = $1";
const RAISE_REVISION: &str =
    "UPDATE agentid_issuer_lists SET revision = revision + 1 WHERE list_id = $1";
const COLUMNS: &str = "seq, jti, list_id, idx, vct, subject, caller, issued_at, expires_at, \
    status, status_changed_at";
const REVISION: &str = "SELECT revision FROM agentid_issuer_lists WHERE list_id = $1";
const MARKED: &str = "SELECT idx, status FROM agentid_issuer_credentials \
    WHERE list_id = $1 AND status <> 'valid' ORDER BY idx";
const INSERT_OFFER: &str = "INSERT INTO agentid_issuer_offers \
    (code_digest, phase, caller, created_at, expires_at, offer) \
    VALUES ($1, 'offered', $2, $3, $4, $5)";
const REDEEM_OFFER: &str = "UPDATE agentid_issuer_offers \
    SET phase = 'redeemed', token_digest = $2, token_expires_at = $3 \
    WHERE code_digest = $1 AND phase = 'offered' AND expires_at > $4 \
    RETURNING caller, created_at, expires_at, offer";
const OFFER_BY_TOKEN: &str = "SELECT code_digest, caller, created_at, expires_at, offer, \
    token_expires_at, jti FROM agentid_issuer_offers \
    WHERE token_digest = $1 AND token_expires_at > $2";
const AUDIT: &str = "SELECT seq, at, action, caller, jti FROM agentid_issuer_audit \
    WHERE seq > $1 ORDER BY seq LIMIT $2";

/// The issuer's tables, on the state store's connection pool. Clones share it.
#[derive(Debug, Clone)]
pub(crate) struct PgIssuerStore {
    state: PgStateStore,
}

fn db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn db32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn unsigned32(row: &Row, column: &str) -> Result<u32, StateError> {
    let value: i32 = row.try_get(column).map_err(corrupt)?;
    u32::try_from(value).map_err(|_| StateError::Corrupt(format!("negative {column}")))
}

fn record_of(row: &Row) -> Result<IssuedRecord, IssuerStoreError> {
    let status: String = row.try_get("status").map_err(corrupt)?;
    let changed: Option<i64> = row.try_get("status_changed_at").map_err(corrupt)?;
    Ok(IssuedRecord {
        seq: time_of(row, "seq")?,
        jti: row.try_get("jti").map_err(corrupt)?,
        list: unsigned32(row, "list_id")?,
        idx: unsigned32(row, "idx")?,
        vct: row.try_get("vct").map_err(corrupt)?,
        subject: row.try_get("subject").map_err(corrupt)?,
        caller: row.try_get("caller").map_err(corrupt)?,
        issued_at: time_of(row, "issued_at")?,
        expires_at: time_of(row, "expires_at")?,
        status: CredentialStatus::parse(&status)?,
        status_changed_at: changed.and_then(|at| u64::try_from(at).ok()),
    })
}

fn digest_of(row: &Row, column: &str) -> Result<[u8; 32], StateError> {
    let bytes: Vec<u8> = row.try_get(column).map_err(corrupt)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StateError::Corrupt(format!("malformed {column}")))
}

impl PgIssuerStore {
    pub(super) async fn open(state: PgStateStore) -> Result<Self, IssuerStoreError> {
        let mut client = state.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        tx.execute(LOCK, &[]).await.map_err(db_error)?;
        let has_versions: bool = tx
            .query_one(VERSION_TABLE_EXISTS, &[])
            .await
            .map_err(db_error)?
            .try_get(0)
            .map_err(corrupt)?;
        if has_versions {
            if let Some(row) = tx
                .query_opt(READ_VERSION, &[&COMPONENT])
                .await
                .map_err(db_error)?
            {
                let found: i32 = row.try_get(0).map_err(corrupt)?;
                if found > SCHEMA_VERSION {
                    return Err(StateError::SchemaTooNew {
                        found: i64::from(found),
                        supported: i64::from(SCHEMA_VERSION),
                    }
                    .into());
                }
            }
        }
        for statement in SCHEMA {
            tx.execute(statement, &[]).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(PgIssuerStore { state })
    }

    async fn rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, IssuerStoreError> {
        let client = self.state.client().await?;
        Ok(self.state.query(&client, sql, params).await?)
    }

    pub(super) async fn current_list(&self) -> Result<u32, IssuerStoreError> {
        let rows = self.rows(CURRENT_LIST, &[]).await?;
        let row = rows
            .first()
            .ok_or_else(|| StateError::Corrupt("no list".into()))?;
        let value: i32 = row.try_get(0).map_err(corrupt)?;
        Ok(u32::try_from(value).map_err(|_| StateError::Corrupt("negative list".into()))?)
    }

    pub(super) async fn open_list(&self, list: u32, now: u64) -> Result<(), IssuerStoreError> {
        let client = self.state.client().await?;
        self.state
            .execute(&client, OPEN_LIST, &[&db32(list), &db(now)])
            .await?;
        Ok(())
    }

    pub(super) async fn lists(&self) -> Result<Vec<u32>, IssuerStoreError> {
        self.rows(LISTS, &[])
            .await?
            .iter()
            .map(|row| Ok(unsigned32(row, "list_id")?))
            .collect()
    }

    pub(super) async fn record_issued(
        &self,
        record: &IssuedRecord,
        offer_token: Option<[u8; 32]>,
    ) -> Result<u64, IssuerStoreError> {
        let mut client = self.state.client().await?;
        let work = async {
            let tx = client.transaction().await?;
            if let Some(token) = offer_token {
                let taken = tx
                    .query_opt(
                        TAKE_REDEEMED,
                        &[&token.as_slice(), &record.jti, &db(record.issued_at)],
                    )
                    .await?;
                if taken.is_none() {
                    return Ok(Err(IssuerStoreError::OfferUnusable));
                }
            }
            let inserted = tx
                .query_one(
                    INSERT_CREDENTIAL,
                    &[
                        &record.jti,
                        &db32(record.list),
                        &db32(record.idx),
                        &record.vct,
                        &record.subject,
                        &record.caller,
                        &db(record.issued_at),
                        &db(record.expires_at),
                    ],
                )
                .await;
            let seq: i64 = match inserted {
                Ok(row) => row.try_get(0)?,
                Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    let taken = error
                        .as_db_error()
                        .and_then(|db| db.constraint())
                        .is_some_and(|name| name.contains("list_id_idx"));
                    return Ok(Err(if taken {
                        IssuerStoreError::IndexTaken
                    } else {
                        StateError::Duplicate.into()
                    }));
                }
                Err(error) if error.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                    return Ok(Err(StateError::InvalidRequest("no such status list").into()));
                }
                Err(error) => return Err(error),
            };
            tx.execute(
                INSERT_AUDIT,
                &[
                    &db(record.issued_at),
                    &"issue",
                    &record.caller,
                    &Some(&record.jti),
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(u64::try_from(seq).unwrap_or_default()))
        };
        self.state.bounded_tx(work).await?.map_err(db_error)?
    }

    pub(super) async fn set_status(
        &self,
        jti: &str,
        to: CredentialStatus,
        caller: &str,
        now: u64,
    ) -> Result<StatusChange, IssuerStoreError> {
        let mut client = self.state.client().await?;
        let work = async {
            let tx = client.transaction().await?;
            let Some(row) = tx.query_opt(LOCK_CREDENTIAL, &[&jti]).await? else {
                return Ok(Err(IssuerStoreError::UnknownCredential));
            };
            let list: i32 = row.try_get("list_id")?;
            let status: String = row.try_get("status")?;
            let from = match CredentialStatus::parse(&status) {
                Ok(from) => from,
                Err(error) => return Ok(Err(error.into())),
            };
            let change = StatusChange {
                list: u32::try_from(list).unwrap_or_default(),
                from,
                to,
            };
            if from == to {
                return Ok(Ok(change));
            }
            if from == CredentialStatus::Revoked {
                return Ok(Err(IssuerStoreError::Final));
            }
            tx.execute(SET_STATUS, &[&jti, &to.name(), &db(now)])
                .await?;
            tx.execute(RAISE_REVISION, &[&list]).await?;
            let action = match to {
                CredentialStatus::Valid => "resume",
                CredentialStatus::Revoked => "revoke",
                CredentialStatus::Suspended => "suspend",
            };
            tx.execute(INSERT_AUDIT, &[&db(now), &action, &caller, &Some(jti)])
                .await?;
            tx.commit().await?;
            Ok(Ok(change))
        };
        self.state.bounded_tx(work).await?.map_err(db_error)?
    }

    pub(super) async fn get(&self, jti: &str) -> Result<Option<IssuedRecord>, IssuerStoreError> {
        let sql = format!("SELECT {COLUMNS} FROM agentid_issuer_credentials WHERE jti = $1");
        self.rows(&sql, &[&jti])
            .await?
            .first()
            .map(record_of)
            .transpose()
    }

    pub(super) async fn page(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<IssuedRecord>, IssuerStoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM agentid_issuer_credentials WHERE seq > $1 ORDER BY seq LIMIT $2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(&sql, &[&db(after), &limit])
            .await?
            .iter()
            .map(record_of)
            .collect()
    }

    pub(super) async fn revision(&self, list: u32) -> Result<Option<u64>, IssuerStoreError> {
        self.rows(REVISION, &[&db32(list)])
            .await?
            .first()
            .map(|row| Ok(time_of(row, "revision")?))
            .transpose()
    }

    pub(super) async fn snapshot(
        &self,
        list: u32,
    ) -> Result<Option<ListSnapshot>, IssuerStoreError> {
        // Two statements, revision first: under READ COMMITTED the entries are
        // read after, so they are at least as new as the revision says.
        let Some(revision) = self.revision(list).await? else {
            return Ok(None);
        };
        let entries = self
            .rows(MARKED, &[&db32(list)])
            .await?
            .iter()
            .map(|row| {
                let status: String = row.try_get("status").map_err(corrupt)?;
                Ok((
                    unsigned32(row, "idx")?,
                    CredentialStatus::parse(&status)?.value(),
                ))
            })
            .collect::<Result<Vec<_>, IssuerStoreError>>()?;
        Ok(Some(ListSnapshot { revision, entries }))
    }

    pub(super) async fn insert_offer(&self, offer: &OfferRecord) -> Result<(), IssuerStoreError> {
        let mut client = self.state.client().await?;
        let work = async {
            let tx = client.transaction().await?;
            let inserted = tx
                .execute(
                    INSERT_OFFER,
                    &[
                        &offer.code_digest.as_slice(),
                        &offer.caller,
                        &db(offer.created_at),
                        &db(offer.expires_at),
                        &offer.sealed,
                    ],
                )
                .await;
            match inserted {
                Ok(_) => {}
                Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    return Ok(Err(StateError::Duplicate.into()))
                }
                Err(error) => return Err(error),
            }
            tx.execute(
                INSERT_AUDIT,
                &[
                    &db(offer.created_at),
                    &"offer",
                    &offer.caller,
                    &None::<&str>,
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(()))
        };
        self.state.bounded_tx(work).await?.map_err(db_error)?
    }

    pub(super) async fn redeem_offer(
        &self,
        code_digest: &[u8; 32],
        token_digest: &[u8; 32],
        token_expires_at: u64,
        now: u64,
    ) -> Result<OfferRecord, IssuerStoreError> {
        let mut client = self.state.client().await?;
        let work = async {
            let tx = client.transaction().await?;
            let Some(row) = tx
                .query_opt(
                    REDEEM_OFFER,
                    &[
                        &code_digest.as_slice(),
                        &token_digest.as_slice(),
                        &db(token_expires_at),
                        &db(now),
                    ],
                )
                .await?
            else {
                return Ok(Err(IssuerStoreError::OfferUnusable));
            };
            let caller: String = row.try_get("caller")?;
            tx.execute(INSERT_AUDIT, &[&db(now), &"redeem", &caller, &None::<&str>])
                .await?;
            tx.commit().await?;
            Ok(Ok(row))
        };
        let row = match self.state.bounded_tx(work).await?.map_err(db_error)? {
            Ok(row) => row,
            Err(error) => return Err(error),
        };
        Ok(OfferRecord {
            code_digest: *code_digest,
            caller: row.try_get("caller").map_err(corrupt)?,
            created_at: time_of(&row, "created_at")?,
            expires_at: time_of(&row, "expires_at")?,
            sealed: row.try_get("offer").map_err(corrupt)?,
        })
    }

    pub(super) async fn offer_by_token(
        &self,
        token_digest: &[u8; 32],
        now: u64,
    ) -> Result<RedeemedOffer, IssuerStoreError> {
        let rows = self
            .rows(OFFER_BY_TOKEN, &[&token_digest.as_slice(), &db(now)])
            .await?;
        let row = rows.first().ok_or(IssuerStoreError::OfferUnusable)?;
        Ok(RedeemedOffer {
            offer: OfferRecord {
                code_digest: digest_of(row, "code_digest")?,
                caller: row.try_get("caller").map_err(corrupt)?,
                created_at: time_of(row, "created_at")?,
                expires_at: time_of(row, "expires_at")?,
                sealed: row.try_get("offer").map_err(corrupt)?,
            },
            token_expires_at: time_of(row, "token_expires_at")?,
            issued_jti: row.try_get("jti").map_err(corrupt)?,
        })
    }

    pub(super) async fn audit(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, IssuerStoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(AUDIT, &[&db(after), &limit])
            .await?
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    seq: time_of(row, "seq")?,
                    at: time_of(row, "at")?,
                    action: row.try_get("action").map_err(corrupt)?,
                    caller: row.try_get("caller").map_err(corrupt)?,
                    jti: row.try_get("jti").map_err(corrupt)?,
                })
            })
            .collect()
    }
}
