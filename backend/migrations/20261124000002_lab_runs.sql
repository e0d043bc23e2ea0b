-- The lab's own records: every run, its live frames and its requests, so a run can be reopened,
-- replayed and compared after a restart. Kept in their own schema, apart from the demo table.
CREATE SCHEMA IF NOT EXISTS lab;

CREATE TABLE IF NOT EXISTS lab.runs (
    id           text        PRIMARY KEY,
    submitted_at timestamptz NOT NULL,
    state        text        NOT NULL,
    spec         jsonb       NOT NULL,
    summary      jsonb,
    error        text,
    -- The frames the live view sent during the run, in seq order.
    frames       jsonb       NOT NULL DEFAULT '[]'
);

CREATE INDEX IF NOT EXISTS runs_submitted_at ON lab.runs (submitted_at DESC);

CREATE TABLE IF NOT EXISTS lab.run_requests (
    run_id          text             NOT NULL REFERENCES lab.runs (id) ON DELETE CASCADE,
    n               bigint           NOT NULL,
    instance        integer          NOT NULL,
    start_ms        double precision NOT NULL,
    acquire_wait_ms double precision NOT NULL,
    connect_ms      double precision NOT NULL,
    query_ms        double precision NOT NULL,
    total_ms        double precision NOT NULL,
    outcome         text             NOT NULL,
    cache_hit       boolean          NOT NULL,
    PRIMARY KEY (run_id, n)
);
