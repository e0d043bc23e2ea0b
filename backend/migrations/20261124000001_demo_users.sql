-- The demo table every request queries: a few thousand users, so a lookup does real work
-- (an index probe and a heap fetch) without being the slow part of the lesson.
CREATE TABLE IF NOT EXISTS users (
    id         integer     PRIMARY KEY,
    name       text        NOT NULL,
    email      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO users (id, name, email)
SELECT g, 'User ' || g, 'user' || g || '@example.test'
FROM generate_series(1, 5000) AS g
ON CONFLICT (id) DO NOTHING;
