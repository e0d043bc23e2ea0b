-- Shared runs: a learner who asks for a run identical to one already waiting joins it instead of
-- adding another, so one run can belong to several learners. `lab.runs.learner` stays the one who
-- put it in line (its place in the fair line is theirs); every learner on the run, that one
-- included, is a row here, in the order they joined.
CREATE TABLE IF NOT EXISTS lab.run_learners (
    run_id    text        NOT NULL REFERENCES lab.runs (id) ON DELETE CASCADE,
    learner   text        NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, learner)
);
CREATE INDEX IF NOT EXISTS run_learners_learner ON lab.run_learners (learner);

-- The runs from before: each had one learner.
INSERT INTO lab.run_learners (run_id, learner, joined_at)
SELECT id, learner, submitted_at FROM lab.runs WHERE learner IS NOT NULL
ON CONFLICT DO NOTHING;

-- Whether a waiting run is held back: it is learners' (not the instructor's) and every learner on
-- it is paused. Pausing one learner never holds a run another learner shares.
CREATE OR REPLACE FUNCTION lab.run_held(run text, owner text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT owner IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM lab.run_learners rl JOIN lab.learners l ON l.id = rl.learner
        WHERE rl.run_id = run AND NOT l.paused)
$$;
