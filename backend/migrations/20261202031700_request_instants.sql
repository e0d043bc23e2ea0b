-- When each request asked for a connection, got it, and gave it back (ms from its run's start),
-- so that the app's figures at any instant are counted from the requests themselves. NULL: it
-- never did (or the run was stored before these were noted).
ALTER TABLE lab.run_requests
    ADD COLUMN IF NOT EXISTS asked_ms      double precision,
    ADD COLUMN IF NOT EXISTS held_from_ms  double precision,
    ADD COLUMN IF NOT EXISTS given_back_ms double precision;
