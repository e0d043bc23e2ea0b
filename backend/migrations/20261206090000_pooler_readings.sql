-- Every reading of PgBouncer's SHOW POOLS in a run's first moments (every 10 ms), each timed on
-- the run's clock, so its chart draws them all and its lines peak where its summary's peaks do.
-- NULL: none (a run without a pooler, or one stored before these were kept).
ALTER TABLE lab.runs ADD COLUMN IF NOT EXISTS pooler_readings jsonb;
