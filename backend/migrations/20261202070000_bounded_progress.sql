-- Progress is kept for a bounded number of learners (`class/progress.rs`): a learner's latest
-- report says from which address and when they were last heard from, so that when the class is
-- full a quiet learner can give way to a new one. `reported_at` is NULL for a learner whose
-- progress is not kept (never reported, or gave way).
ALTER TABLE lab.learners
    ADD COLUMN IF NOT EXISTS address     text,
    ADD COLUMN IF NOT EXISTS reported_at timestamptz;

UPDATE lab.learners l SET reported_at = p.last
  FROM (SELECT learner, max(updated_at) AS last FROM lab.progress GROUP BY learner) p
 WHERE p.learner = l.id AND l.reported_at IS NULL;

CREATE INDEX IF NOT EXISTS learners_reported ON lab.learners (reported_at) WHERE reported_at IS NOT NULL;
