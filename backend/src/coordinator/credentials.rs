//! Workers' credentials: each worker its own, issued and revoked by the instructor.
//!
//! A credential is a name and a secret. The instructor issues it (`POST /api/workers/credentials`)
//! and hands the secret to whoever runs the worker, once; the coordinator keeps only the secret's
//! SHA-256 (the secret is 32 random bytes, so there is nothing to guess and no need for a salt or
//! a slow hash). A worker that dials with it is known by the credential's name, and by no other:
//! what it says of itself in its hello does not change who it is. Revoking a credential deletes it,
//! and the coordinator the worker joined with it is joined to drops it at once (its run fails as a
//! lost worker's does): the one that revoked it, or another on the same database, which hears of
//! it ([`super::notify`]).
//!
//! The workers the coordinator starts itself (`--workers N`) get credentials made at start-up and
//! kept only in memory: they last as long as the coordinator runs. The lab's shared
//! `--worker-secret`, from before credentials, is still accepted (see [`Joiner::SharedSecret`]).

use std::time::{SystemTime, UNIX_EPOCH};

use poollab_shared::{IssuedCredential, WorkerCredential};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The longest name a credential may have (its error message says so).
pub const MAX_NAME_CHARS: usize = 64;

/// How a worker that joins proved who it is, which decides the name it is known by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joiner {
    /// Built into the coordinator's own process: the name in its hello stands.
    BuiltIn,
    /// Showed the lab's shared `--worker-secret`: known by the name in its hello, made unique
    /// among joined workers and never one a credential is issued under.
    SharedSecret,
    /// Showed its own credential: known by the credential's name, and only while nobody else is.
    Credential(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("a worker's name is 1 to 64 letters, digits, '.', '_' or '-' (got {0:?})")]
    BadName(String),
    #[error("a worker credential named {0:?} already exists, or a worker of that name is joined: revoke it first")]
    Taken(String),
    #[error("{0:?} is a worker this lab started itself (--workers): its credential lasts as long as the lab")]
    Local(String),
    #[error("a worker is already joined with the credential {0:?}: one worker per credential")]
    InUse(String),
    #[error("no worker credential named {0:?}")]
    NotFound(String),
    #[error("the coordinator's database is unreachable: {0}")]
    Database(#[from] sqlx::Error),
}

/// Whether `name` may be a credential's (the name pages, runs and logs show the worker by).
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A fresh secret: 32 random bytes, in hex.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the coordinator keeps of a secret.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The credentials: the instructor's in the coordinator's database, the local workers' in memory.
pub struct Credentials {
    db: PgPool,
    /// The local workers' names and hashed secrets.
    local: std::sync::Mutex<Vec<(String, Vec<u8>)>>,
    /// When the local ones were made.
    started_ms: u64,
}

impl Credentials {
    pub fn new(db: PgPool) -> Credentials {
        Credentials { db, local: std::sync::Mutex::default(), started_ms: now_ms() }
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Vec<(String, Vec<u8>)>> {
        self.local.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes a credential for a worker this coordinator starts itself; returns its secret.
    pub fn make_local(&self, name: &str) -> String {
        let secret = new_secret();
        let mut local = self.local();
        local.retain(|(n, _)| n != name);
        local.push((name.to_owned(), hash(&secret)));
        secret
    }

    fn is_local(&self, name: &str) -> bool {
        self.local().iter().any(|(n, _)| n == name)
    }

    /// Issues a credential under `name`, unless the name is taken (by a credential, or by a joined
    /// worker, which `joined` tells).
    pub async fn issue(&self, name: &str, joined: bool) -> Result<IssuedCredential, CredentialError> {
        let name = name.trim();
        if !valid_name(name) {
            return Err(CredentialError::BadName(name.to_owned()));
        }
        if joined || self.is_local(name) {
            return Err(CredentialError::Taken(name.to_owned()));
        }
        let secret = new_secret();
        let issued: Option<i64> = sqlx::query_scalar(
            "INSERT INTO lab.worker_credentials (name, secret_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING \
             RETURNING (extract(epoch FROM issued_at) * 1000)::bigint",
        )
        .bind(name)
        .bind(hash(&secret))
        .fetch_optional(&self.db)
        .await?;
        let issued_at_ms = issued.ok_or_else(|| CredentialError::Taken(name.to_owned()))?.max(0) as u64;
        Ok(IssuedCredential { name: name.to_owned(), secret, issued_at_ms })
    }

    /// Every credential (the local workers' first), with whether a worker is joined with it.
    pub async fn list(&self, connected: impl Fn(&str) -> bool) -> Result<Vec<WorkerCredential>, CredentialError> {
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT name, (extract(epoch FROM issued_at) * 1000)::bigint, \
                    (extract(epoch FROM last_seen) * 1000)::bigint \
             FROM lab.worker_credentials ORDER BY name",
        )
        .fetch_all(&self.db)
        .await?;
        let local = self.local().iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
        let local = local.into_iter().map(|name| WorkerCredential {
            connected: connected(&name),
            name,
            issued_at_ms: self.started_ms,
            last_seen_ms: None,
            local: true,
        });
        let issued = rows.into_iter().map(|(name, issued, seen)| WorkerCredential {
            connected: connected(&name),
            name,
            issued_at_ms: issued.max(0) as u64,
            last_seen_ms: seen.map(|s| s.max(0) as u64),
            local: false,
        });
        Ok(local.chain(issued).collect())
    }

    /// Deletes a credential: no worker can join with it any more.
    pub async fn revoke(&self, name: &str) -> Result<(), CredentialError> {
        if self.is_local(name) {
            return Err(CredentialError::Local(name.to_owned()));
        }
        let deleted = sqlx::query("DELETE FROM lab.worker_credentials WHERE name = $1")
            .bind(name)
            .execute(&self.db)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(CredentialError::NotFound(name.to_owned()));
        }
        Ok(())
    }

    /// The name of the credential whose secret this is, if any.
    pub async fn known_by(&self, secret: &str) -> Result<Option<String>, CredentialError> {
        let hashed = hash(secret);
        let local = self.local().iter().find(|(_, h)| *h == hashed).map(|(name, _)| name.clone());
        if local.is_some() {
            return Ok(local);
        }
        Ok(sqlx::query_scalar("SELECT name FROM lab.worker_credentials WHERE secret_hash = $1")
            .bind(hashed)
            .fetch_optional(&self.db)
            .await?)
    }

    /// Every name a credential is issued under (a worker with the shared secret may take none).
    pub async fn names(&self) -> Result<Vec<String>, CredentialError> {
        let mut names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM lab.worker_credentials").fetch_all(&self.db).await?;
        names.extend(self.local().iter().map(|(n, _)| n.clone()));
        Ok(names)
    }

    /// A worker joined or left with credential `name`; false when the credential is no longer
    /// issued (revoked since the worker showed it).
    pub async fn seen(&self, name: &str) -> bool {
        if self.is_local(name) {
            return true;
        }
        let updated = sqlx::query("UPDATE lab.worker_credentials SET last_seen = now() WHERE name = $1")
            .bind(name)
            .execute(&self.db)
            .await;
        match updated {
            Ok(done) => done.rows_affected() > 0,
            Err(e) => {
                // It was shown a moment ago: an unreachable database does not drop the worker.
                tracing::debug!(worker = %name, error = %e, "could not note when a worker was last seen");
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        let cases: &[(&str, bool)] = &[
            ("lab-a", true),
            ("worker.2_b", true),
            ("W9", true),
            ("", false),
            ("has space", false),
            ("slash/", false),
            ("<script>", false),
            ("é", false),
            (&"x".repeat(MAX_NAME_CHARS), true),
            (&"x".repeat(MAX_NAME_CHARS + 1), false),
        ];
        for (name, ok) in cases {
            assert_eq!(valid_name(name), *ok, "{name:?}");
        }
    }

    #[test]
    fn secrets_are_fresh_and_only_their_hash_is_kept() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(hash(&a).len(), 32);
        assert_ne!(hash(&a), a.as_bytes());
        assert_eq!(hash(&a), hash(&format!(" {a}\n")), "as pasted, with blanks around it");
        assert_ne!(hash(&a), hash(&b));
    }
}
