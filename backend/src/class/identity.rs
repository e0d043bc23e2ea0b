//! Who sends a request: the instructor, or a learner the coordinator itself named.
//!
//! The instructor signs in with the token given at start (`--instructor-token`), sent as
//! `Authorization: Bearer <token>`. Learners stay anonymous, but they no longer name themselves:
//! the first time a browser asks anything of the lab, the coordinator makes up its learner id and
//! sends it back in a cookie it signs (HMAC-SHA256, with a key kept in the data directory) and
//! that scripts cannot read (`HttpOnly`). A request whose cookie is missing, altered or signed
//! with another key is a new learner. So the fair line is as fair as the ids are real: one
//! browser, one place in each round. A script that drops its cookies gets a new id every time,
//! which is why the line also caps what one address may have waiting
//! ([`crate::class::line::Caps::per_address`]).
//!
//! These are the classroom's rules; reading them off an HTTP request (the middleware that issues
//! cookies, the `Who` and `Instructor` extractors) is the web layer's, beside the routes
//! (`web::identity`).

use std::path::{Path, PathBuf};

use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};

/// The cookie a learner's id travels in.
pub const COOKIE: &str = "poollab_learner";
/// How long a browser keeps its learner id: a course, with room.
const COOKIE_DAYS: i64 = 365;
/// The key file's length: HMAC-SHA256 signing needs at least 64 bytes of key material.
const KEY_BYTES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read or write the cookie key {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the cookie key {0} is damaged (it must hold {KEY_BYTES} bytes); delete it to make a new one")]
    Damaged(PathBuf),
}

/// A learner, by the id the coordinator issued, and the address their request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learner {
    pub id: String,
    pub address: String,
}

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Instructor,
    Learner(Learner),
}

impl Who {
    pub fn learner_id(&self) -> Option<&str> {
        match self {
            Who::Instructor => None,
            Who::Learner(l) => Some(&l.id),
        }
    }
}

/// The coordinator's means of telling who is who.
pub struct Identity {
    key: Key,
    token: Option<String>,
}

impl Identity {
    /// Reads the signing key from `path`, making one the first time (readable by the lab only).
    pub fn load(path: &Path, token: Option<String>) -> Result<Identity, IdentityError> {
        let io = |source| IdentityError::Io { path: path.to_owned(), source };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; KEY_BYTES] = std::array::from_fn(|_| rand::random());
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_secret(path, &key).map_err(io)?;
                tracing::info!(path = %path.display(), "made a new key for learners' cookies");
                key.to_vec()
            }
            Err(e) => return Err(io(e)),
        };
        let key = Key::try_from(bytes.as_slice()).map_err(|_| IdentityError::Damaged(path.to_owned()))?;
        Ok(Identity { key, token: token.filter(|t| !t.is_empty()) })
    }

    pub fn has_instructor(&self) -> bool {
        self.token.is_some()
    }

    /// The learner id a request's signed cookie carries, if it carries a genuine one.
    pub fn learner_in(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let jar = SignedCookieJar::from_headers(headers, self.key.clone());
        jar.get(COOKIE).map(|c| c.value().to_owned()).filter(|id| is_learner_id(id))
    }

    /// A `Set-Cookie` that gives a browser its learner id; `Secure` (sent back over HTTPS only)
    /// when the page came over HTTPS.
    pub fn issue(&self, id: String, secure: bool) -> SignedCookieJar {
        let mut cookie = Cookie::new(COOKIE, id);
        cookie.set_http_only(true);
        cookie.set_secure(secure);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path("/");
        cookie.set_max_age(cookie::time::Duration::days(COOKIE_DAYS));
        SignedCookieJar::new(self.key.clone()).add(cookie)
    }

    /// Whether `given` is the instructor's token (false when the lab has none).
    pub fn is_instructor_token(&self, given: &str) -> bool {
        self.token.as_deref().is_some_and(|token| constant_time_eq(token.as_bytes(), given.as_bytes()))
    }
}

/// Writes a file only its owner may read.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

/// What the coordinator's learner ids look like (`l-` and 16 hex digits).
fn is_learner_id(id: &str) -> bool {
    id.len() == 18 && id.starts_with("l-") && id[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn new_learner_id() -> String {
    let n: u64 = rand::random();
    format!("l-{n:016x}")
}

/// Compares without returning early, so the time taken does not tell how much of a token matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::response::IntoResponse;

    #[test]
    fn only_cookies_the_lab_signed_name_a_learner() {
        let dir = tempfile::tempdir().expect("dir");
        let ours = Identity::load(&dir.path().join("k"), None).expect("key");
        let again = Identity::load(&dir.path().join("k"), None).expect("the same key, read back");
        let theirs = Identity::load(&dir.path().join("other"), None).expect("another key");
        let set_cookie = |jar: SignedCookieJar| {
            let response = (jar, ()).into_response();
            let value = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
            assert!(value.contains("HttpOnly") && value.contains("SameSite=Lax"), "{value}");
            value.split(';').next().expect("pair").to_owned()
        };
        let headers = |cookie: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert("cookie", cookie.parse().expect("header"));
            h
        };
        let id = new_learner_id();
        let genuine = set_cookie(ours.issue(id.clone(), false));
        assert!(!genuine.contains("Secure"));
        let over_https = (ours.issue(id.clone(), true), ()).into_response();
        let over_https = over_https.headers()["set-cookie"].to_str().expect("ascii");
        assert!(over_https.contains("; Secure"), "{over_https}");
        assert_eq!(ours.learner_in(&headers(&genuine)), Some(id.clone()));
        assert_eq!(again.learner_in(&headers(&genuine)), Some(id.clone()), "the key survives a restart");
        assert_eq!(theirs.learner_in(&headers(&genuine)), None, "another lab's key does not verify it");
        // The value is the signature followed by the id: change the id, keep the signature.
        let forged = genuine.replace(&id[2..], "0123456789abcdef");
        assert_ne!(forged, genuine);
        assert_eq!(ours.learner_in(&headers(&forged)), None, "an altered id is nobody");
        assert_eq!(ours.learner_in(&headers(&format!("{COOKIE}=l-0123456789abcdef"))), None, "unsigned");
    }

    #[test]
    fn a_short_key_file_is_refused_not_used() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k");
        std::fs::write(&path, b"short").expect("write");
        assert!(matches!(Identity::load(&path, None), Err(IdentityError::Damaged(_))));
    }
}
