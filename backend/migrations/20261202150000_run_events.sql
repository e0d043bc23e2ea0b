-- When a run's outage began and ended and its circuit breaker opened and closed, each at the
-- instant it happened (ms from the run's start, as its requests' records): the page marks its
-- charts there and opens an outage step's picture during the outage. NULL: none happened (or the
-- run was stored before these were recorded).
ALTER TABLE lab.runs ADD COLUMN IF NOT EXISTS events jsonb;
