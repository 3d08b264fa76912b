//! Jobs and tokens in SQLite (one file beside the node, WAL) or PostgreSQL (shared by several
//! nodes), through sqlx's `Any` driver: one set of portable statements, and one claim statement
//! per database.
//!
//! A job is claimed with a lease: the claiming worker writes its id and a lease end, renews the
//! lease while it proves, and finishes the job only if it still holds it. A worker that dies
//! (kill -9, a lost machine) stops renewing; once its lease ends, any node claims the job again.
//! A late finisher whose lease was taken over writes nothing, so the buyer sees one result.
//!
//! On PostgreSQL the claim is `SELECT … FOR UPDATE SKIP LOCKED` inside the `UPDATE`, so nodes
//! never block on or double-claim each other's rows; SQLite serialises writers, so the same
//! `UPDATE … WHERE id = (SELECT …)` is atomic there.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};
use zkinfer_client::api::{JobReport, JobState, JobView};

use crate::NodeError;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The job database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    postgres: bool,
}

/// A job a worker holds.
pub struct Claimed {
    pub id: String,
    pub model_id: String,
    pub input: Vec<Vec<f64>>,
    pub created_ms: i64,
}

/// A new job.
pub struct NewJob<'a> {
    pub id: &'a str,
    pub model_id: &'a str,
    pub token_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub input: &'a [Vec<f64>],
}

/// A buyer's token as stored (the secret itself is never stored, only its SHA-256).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    /// Submissions allowed per minute.
    pub per_minute: u32,
    /// Jobs queued or running at once.
    pub concurrent: u32,
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "jobs and tokens".into(),
        MigrationType::Simple,
        include_str!("../migrations/0001_jobs_and_tokens.sql").into_sql_str(),
        false,
    )])
}

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', worker = $1, lease_until = $2, attempts = attempts + 1, \
     started_ms = $3 WHERE id = (SELECT id FROM jobs WHERE model_id = $4 AND (state = 'queued' OR (state = 'running' AND lease_until < $3)) \
     ORDER BY created_ms LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, model_id, input, created_ms";
const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', worker = $1, lease_until = $2, attempts = attempts + 1, \
     started_ms = $3 WHERE id = (SELECT id FROM jobs WHERE model_id = $4 AND (state = 'queued' OR (state = 'running' AND lease_until < $3)) \
     ORDER BY created_ms LIMIT 1) RETURNING id, model_id, input, created_ms";

impl Store {
    /// Opens (creating if needed) the database at `url` (`sqlite://FILE` or `postgres://…`) and
    /// brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, NodeError> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let url = if postgres || url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new().max_connections(if postgres { 16 } else { 4 }).connect_with(options).await?;
        if !postgres {
            // Readers never block the writer, and a writer waits for another instead of failing.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
            sqlx::query("PRAGMA busy_timeout = 5000").execute(&pool).await?;
        }
        migrator().run(&pool).await?;
        Ok(Store { pool, postgres })
    }

    /// Inserts a queued job. With an idempotency key already used by the same token, inserts
    /// nothing and returns the earlier job's id and state instead (`true`: newly created).
    pub async fn insert(&self, job: NewJob<'_>) -> Result<(String, JobState, bool), NodeError> {
        let input = serde_json::to_string(job.input).map_err(|e| NodeError::Internal(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, model_id, token_id, idempotency_key, input, state, created_ms) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6) ON CONFLICT (token_id, idempotency_key) DO NOTHING",
        )
        .bind(job.id)
        .bind(job.model_id)
        .bind(job.token_id)
        .bind(job.idempotency_key)
        .bind(input)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok((job.id.to_string(), JobState::Queued, true));
        }
        let row = sqlx::query("SELECT id, state FROM jobs WHERE token_id = $1 AND idempotency_key = $2")
            .bind(job.token_id)
            .bind(job.idempotency_key)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get("id")?, state(&row)?, false))
    }

    /// Claims the oldest queued job of `model_id` (or one whose lease ended) for `worker` until
    /// `lease_until`. Nodes serving different models share a database: each claims only what
    /// it can prove.
    pub async fn claim(&self, worker: &str, lease_until: i64, model_id: &str) -> Result<Option<Claimed>, NodeError> {
        let sql = if self.postgres { CLAIM_POSTGRES } else { CLAIM_SQLITE };
        let row = sqlx::query(sql)
            .bind(worker)
            .bind(lease_until)
            .bind(now_ms())
            .bind(model_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let input: String = row.try_get("input")?;
        Ok(Some(Claimed {
            id: row.try_get("id")?,
            model_id: row.try_get("model_id")?,
            input: serde_json::from_str(&input).map_err(|e| NodeError::Internal(format!("stored input: {e}")))?,
            created_ms: row.try_get("created_ms")?,
        }))
    }

    /// Extends `worker`'s lease on job `id`; false when the worker no longer holds it.
    pub async fn renew(&self, id: &str, worker: &str, lease_until: i64) -> Result<bool, NodeError> {
        let done = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND worker = $3 AND state = 'running'")
            .bind(lease_until)
            .bind(id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the result of job `id` if `worker` still holds it; false when it does not (the
    /// job was cancelled or taken over: the result is dropped).
    pub async fn finish(
        &self,
        id: &str,
        worker: &str,
        result: Result<(String, JobReport), String>,
    ) -> Result<bool, NodeError> {
        let now = now_ms();
        let done = match result {
            Ok((bundle, r)) => sqlx::query(
                "UPDATE jobs SET state = 'done', bundle = $1, queue_ms = $2, prove_ms = $3, inference_ms = $4, \
                 proof_bytes = $5, finished_ms = $6, lease_until = NULL WHERE id = $7 AND worker = $8 AND state = 'running'",
            )
            .bind(bundle)
            .bind(r.queue_ms)
            .bind(r.prove_ms)
            .bind(r.inference_ms)
            .bind(r.proof_bytes as i64)
            .bind(now)
            .bind(id)
            .bind(worker),
            Err(error) => sqlx::query(
                "UPDATE jobs SET state = 'failed', error = $1, finished_ms = $2, lease_until = NULL \
                 WHERE id = $3 AND worker = $4 AND state = 'running'",
            )
            .bind(error)
            .bind(now)
            .bind(id)
            .bind(worker),
        }
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts `worker`'s running jobs back in the queue (a graceful stop that cannot finish them).
    pub async fn requeue(&self, worker: &str) -> Result<u64, NodeError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL WHERE worker = $1 AND state = 'running'",
        )
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Cancels job `id` unless it is already final; returns its state afterwards.
    pub async fn cancel(&self, id: &str) -> Result<Option<JobState>, NodeError> {
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', finished_ms = $1, lease_until = NULL \
             WHERE id = $2 AND state IN ('queued', 'running')",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(self.job(id).await?.map(|(j, _)| j.state))
    }

    /// The job's view and the id of the token it was filed under, if it exists.
    pub async fn job(&self, id: &str) -> Result<Option<(JobView, String)>, NodeError> {
        let row = sqlx::query(
            "SELECT id, model_id, token_id, state, attempts, bundle, error, queue_ms, prove_ms, inference_ms, proof_bytes \
             FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let state = state(&row)?;
        let bundle: Option<String> = row.try_get("bundle")?;
        let bundle = match bundle {
            Some(json) => Some(
                zkinfer_verifier::ProofBundle::from_bytes(json.as_bytes())
                    .map_err(|e| NodeError::Internal(format!("stored bundle of job {id}: {e}")))?,
            ),
            None => None,
        };
        let report = match row.try_get::<Option<f64>, _>("prove_ms")? {
            Some(prove_ms) => {
                let inference_ms: f64 = row.try_get::<Option<f64>, _>("inference_ms")?.unwrap_or(0.0);
                Some(JobReport {
                    queue_ms: row.try_get::<Option<f64>, _>("queue_ms")?.unwrap_or(0.0),
                    prove_ms,
                    inference_ms,
                    overhead: if inference_ms > 0.0 { prove_ms / inference_ms } else { 0.0 },
                    proof_bytes: row.try_get::<Option<i64>, _>("proof_bytes")?.unwrap_or(0) as usize,
                })
            }
            None => None,
        };
        let view = JobView {
            id: row.try_get("id")?,
            model_id: row.try_get("model_id")?,
            state,
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            bundle,
            report,
            error: row.try_get("error")?,
        };
        Ok(Some((view, row.try_get("token_id")?)))
    }

    /// Jobs per state (all nodes sharing the database).
    pub async fn counts(&self) -> Result<Vec<(JobState, i64)>, NodeError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((state(row)?, row.try_get("n")?))).collect()
    }

    /// Jobs of `token_id` queued or running.
    pub async fn active_for(&self, token_id: &str) -> Result<i64, NodeError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE token_id = $1 AND state IN ('queued', 'running')")
            .bind(token_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Stores a token (by the SHA-256 of its secret).
    pub async fn add_token(&self, record: &TokenRecord, hash: &str) -> Result<(), NodeError> {
        sqlx::query(
            "INSERT INTO tokens (id, name, hash, created_ms, per_minute, concurrent) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&record.id)
        .bind(&record.name)
        .bind(hash)
        .bind(record.created_ms)
        .bind(i64::from(record.per_minute))
        .bind(i64::from(record.concurrent))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every token, revoked ones included.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, NodeError> {
        let rows = sqlx::query(
            "SELECT id, name, created_ms, revoked_ms, per_minute, concurrent FROM tokens ORDER BY created_ms",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token).collect()
    }

    /// The live (not revoked) token whose secret hashes to `hash`.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, NodeError> {
        let row = sqlx::query(
            "SELECT id, name, created_ms, revoked_ms, per_minute, concurrent FROM tokens \
             WHERE hash = $1 AND revoked_ms IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token).transpose()
    }

    /// Revokes token `id`; false when there is no such live token.
    pub async fn revoke(&self, id: &str) -> Result<bool, NodeError> {
        let done = sqlx::query("UPDATE tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn state(row: &AnyRow) -> Result<JobState, NodeError> {
    let s: String = row.try_get("state")?;
    JobState::parse(&s).ok_or_else(|| NodeError::Internal(format!("unknown job state `{s}` in the database")))
}

fn token(row: &AnyRow) -> Result<TokenRecord, NodeError> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
        per_minute: row.try_get::<i64, _>("per_minute")?.clamp(0, u32::MAX as i64) as u32,
        concurrent: row.try_get::<i64, _>("concurrent")?.clamp(0, u32::MAX as i64) as u32,
    })
}
