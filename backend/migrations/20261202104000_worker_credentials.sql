-- Each worker's own credential, issued by the instructor under a name: a worker that dials the
-- coordinator with it is known by that name, and no other. Only a hash of the secret is kept
-- (SHA-256 of 32 random bytes: nothing to guess, so no salt or slow hash is needed); the secret is
-- shown once, when it is issued. Revoking a credential deletes its row.
CREATE TABLE IF NOT EXISTS lab.worker_credentials (
    name        text        PRIMARY KEY,
    secret_hash bytea       NOT NULL UNIQUE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    -- When a worker last joined or left with it.
    last_seen   timestamptz
);
