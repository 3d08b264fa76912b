-- Portable between SQLite and PostgreSQL: text, 64-bit integers (times in ms since the Unix
-- epoch) and doubles only.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    idempotency_key TEXT,
    input TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until BIGINT,
    created_ms BIGINT NOT NULL,
    started_ms BIGINT,
    finished_ms BIGINT,
    bundle TEXT,
    error TEXT,
    queue_ms DOUBLE PRECISION,
    prove_ms DOUBLE PRECISION,
    inference_ms DOUBLE PRECISION,
    proof_bytes BIGINT
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (token_id, idempotency_key);
CREATE INDEX jobs_queue ON jobs (state, created_ms);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT,
    per_minute BIGINT NOT NULL,
    concurrent BIGINT NOT NULL
);
