-- Your own pool, measured: what was pasted (library, config), the deployment and the traffic,
-- kept with the sweep that measured it, so the result has its own address.
CREATE TABLE IF NOT EXISTS lab.your_pools (
    sweep_id   text        PRIMARY KEY REFERENCES lab.sweeps (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    measure    jsonb       NOT NULL
);
