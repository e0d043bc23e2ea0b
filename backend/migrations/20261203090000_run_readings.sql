-- Every reading of the server in a run's first moments (its first second's, every 10 ms), each as
-- a frame would show it: a frame carries only the latest reading, every 100 ms, so the picture of
-- an instant inside a short run pairs it with the reading nearest it. NULL: none (or the run was
-- stored before these were kept).
ALTER TABLE lab.runs ADD COLUMN IF NOT EXISTS readings jsonb;
