-- Grading on the server: a learner's report on a step names the run (or, for a sweep step, the
-- sweep) that measured it, and the lab works out the measured figure, whether the prediction was
-- close and whether the claim held from that stored run (`class/grade.rs`). `run` is what the row
-- was graded on. Rows from before have none: their figures are what a browser claimed, and the
-- class's progress, its predictions and progress.csv leave them out.
ALTER TABLE lab.progress ADD COLUMN IF NOT EXISTS run text;
