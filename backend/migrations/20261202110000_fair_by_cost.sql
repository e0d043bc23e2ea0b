-- The line shares worker time, not turns (see backend/src/class/fair.rs): every run has a cost,
-- the worker time it is expected to take, and a place that the line sets each time someone joins
-- it or a worker takes a run. Places replace the rounds: a learner's next round was a turn, not
-- time, and the line's round and each learner's last one are no longer kept.
ALTER TABLE lab.runs ADD COLUMN IF NOT EXISTS cost_ms bigint NOT NULL DEFAULT 1000;
ALTER TABLE lab.runs RENAME COLUMN round TO place;
ALTER TABLE lab.learners DROP COLUMN IF EXISTS last_round;
ALTER TABLE lab.line DROP COLUMN IF EXISTS round;
-- Who used the workers lately: the runs a worker took in the last few minutes.
CREATE INDEX IF NOT EXISTS runs_started ON lab.runs (started_at) WHERE priority = 1;
