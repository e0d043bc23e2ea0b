-- The coordinator's state lives here, not in its memory, so a restart loses nothing and a second
-- coordinator could take over: the line of runs, who submitted each and from where, which worker
-- carries it out; the learners, the class (lock, step to follow, burst), progress and sweeps.

-- A run's place in the fair line: the instructor's first (priority 0), then round by round, each
-- learner's next run in the next round they have not had a turn in; seq breaks ties in the order
-- runs arrived.
ALTER TABLE lab.runs
    ADD COLUMN IF NOT EXISTS learner     text,
    ADD COLUMN IF NOT EXISTS address     text,
    ADD COLUMN IF NOT EXISTS priority    integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS round       bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS seq         bigserial,
    ADD COLUMN IF NOT EXISTS worker      text,
    ADD COLUMN IF NOT EXISTS started_at  timestamptz,
    -- A running run belongs to the coordinator that renews this; past it, the run is failed.
    ADD COLUMN IF NOT EXISTS lease_until timestamptz;

CREATE INDEX IF NOT EXISTS runs_line ON lab.runs (priority, round, seq) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS runs_running ON lab.runs (lease_until) WHERE state = 'running';

-- The round the line has reached (the round of the last run handed to a worker).
CREATE TABLE IF NOT EXISTS lab.line (
    id    integer PRIMARY KEY CHECK (id = 1),
    round bigint  NOT NULL DEFAULT 0
);
INSERT INTO lab.line (id) VALUES (1) ON CONFLICT DO NOTHING;

-- Every learner the coordinator has issued an id to and heard from.
CREATE TABLE IF NOT EXISTS lab.learners (
    id         text        PRIMARY KEY,
    name       text        NOT NULL DEFAULT '',
    paused     boolean     NOT NULL DEFAULT false,
    -- The round of this learner's latest run in line.
    last_round bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- What each learner reported of each step: the prediction at Run, the measurement at the end.
CREATE TABLE IF NOT EXISTS lab.progress (
    learner    text             NOT NULL REFERENCES lab.learners (id) ON DELETE CASCADE,
    lesson     text             NOT NULL,
    step       integer          NOT NULL,
    prediction double precision,
    measured   double precision,
    passed     boolean,
    close      boolean,
    updated_at timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (learner, lesson, step)
);
CREATE INDEX IF NOT EXISTS progress_step ON lab.progress (lesson, step);

-- The class: one row. `follow` is {"lesson", "step"}; `burst` is {"run", "per_click"}.
CREATE TABLE IF NOT EXISTS lab.class (
    id     integer PRIMARY KEY CHECK (id = 1),
    locked boolean NOT NULL DEFAULT false,
    follow jsonb,
    burst  jsonb
);
INSERT INTO lab.class (id) VALUES (1) ON CONFLICT DO NOTHING;

-- Learners who clicked into the armed class burst.
CREATE TABLE IF NOT EXISTS lab.burst_clicks (
    learner text PRIMARY KEY
);

-- Sizing sweeps: each point's pool size and the run that measures it.
CREATE TABLE IF NOT EXISTS lab.sweeps (
    id         text        PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    points     jsonb       NOT NULL
);
