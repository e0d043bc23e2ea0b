-- 20,000 users instead of 5000. The `heavy` query scans the whole table; at 5000 rows a scan
-- took about a millisecond, no more than the round trip and the app's own work around it, so the
-- sizing curve of lesson 7 measured the app as much as the server's CPUs. At 20,000 a scan costs
-- the server several times what the rest of a request costs. Lookups by id are unchanged; runs
-- still ask for at most 5000 distinct users (`work.users`).
INSERT INTO users (id, name, email)
SELECT g, 'User ' || g, 'user' || g || '@example.test'
FROM generate_series(5001, 20000) AS g
ON CONFLICT (id) DO NOTHING;

ANALYZE users;
