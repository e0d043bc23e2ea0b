//! What any one address may ask of the lab, so that one curious student cannot spoil the class.
//!
//! - **Wrong credentials are slowed down.** Each address may show a wrong instructor token or
//!   worker secret a few times a minute ([`Bounds::credential_failures`]); past that, every token
//!   it shows, the right one included, is refused with a `429` for [`LOCKOUT`]. Refusing the right
//!   one too is the point: otherwise a guesser would tell a right guess from a slowed one.
//! - **Anonymous routes and exports are rate-limited per address** (`/healthz`, `/metrics`,
//!   `/api/workers`, unknown `/api/...`; a run's timeline and CSV), with `governor`'s cell rate
//!   algorithm: a burst, then a steady rate (`429` with `Retry-After` beyond it).
//! - **Websockets are bounded**: each address may hold [`Bounds::sockets_per_address`] sockets at
//!   once, and a browser's socket must come from a page of this lab (its `Origin` names the host
//!   the request went to, or one the instructor allowed): a page elsewhere cannot open a socket
//!   with a learner's cookie.
//!
//! Every address here is the client's, as [`crate::web::client`] decides it (behind a trusted
//! proxy, the forwarded one). The counting is `governor`'s (the keyed limiters, also behind `tower_governor`'s layer); a
//! lockout is an entry in a `moka` cache that expires by itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::middleware::NoOpMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_governor::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};

use crate::web::client::ClientKey;
use crate::web::error::AppError;

/// How long an address that showed too many wrong credentials is refused.
pub const LOCKOUT: Duration = Duration::from_secs(60);

/// How long an export waits for its turn before it is refused as busy (`503`).
pub const EXPORT_WAIT: Duration = Duration::from_secs(20);

/// The limits, from the configuration.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Wrong tokens or secrets one address may show per minute before it is locked out.
    pub credential_failures: u32,
    /// Requests per second (and the burst) one address may make of the anonymous routes.
    pub anonymous_per_second: u32,
    pub anonymous_burst: u32,
    /// Timeline and CSV exports one address may ask for per minute.
    pub exports_per_minute: u32,
    /// Websockets one address may hold open.
    pub sockets_per_address: usize,
    /// Page origins besides the lab's own host that may open a websocket (`https://lab.school.org`).
    pub allowed_origins: Vec<String>,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            credential_failures: 10,
            anonymous_per_second: 10,
            anonymous_burst: 60,
            exports_per_minute: 60,
            sockets_per_address: 64,
            allowed_origins: Vec::new(),
        }
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// The layer that rate-limits the anonymous routes, per address.
pub type AnonymousLimit = tower_governor::GovernorLayer<ClientKey, NoOpMiddleware<QuantaInstant>, Body>;
type AnonymousConfig = Arc<GovernorConfig<ClientKey, NoOpMiddleware<QuantaInstant>>>;

/// The lab's guard: what each address has done lately.
pub struct Guard {
    bounds: Bounds,
    anonymous: Option<AnonymousConfig>,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    locked_out: moka::sync::Cache<IpAddr, ()>,
    exports: DefaultKeyedRateLimiter<IpAddr>,
    /// Exports are built one at a time, whoever asks: a run's timeline is thousands of rows read,
    /// decoded and written out, and a crowd of them at once would take the cores a run in progress
    /// is measured on.
    exporting: Arc<tokio::sync::Semaphore>,
    sockets: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Guard {
    pub fn new(bounds: Bounds) -> Guard {
        let per_minute = |n: u32| Quota::per_minute(nonzero(n)).allow_burst(nonzero(n));
        let period = Duration::from_secs(1) / bounds.anonymous_per_second.max(1);
        let anonymous = GovernorConfigBuilder::default()
            .key_extractor(ClientKey)
            .period(period.max(Duration::from_nanos(1)))
            .burst_size(bounds.anonymous_burst.max(1))
            .finish()
            .map(Arc::new);
        Guard {
            anonymous,
            failures: RateLimiter::keyed(per_minute(bounds.credential_failures)),
            locked_out: moka::sync::Cache::builder().max_capacity(100_000).time_to_live(LOCKOUT).build(),
            exports: RateLimiter::keyed(per_minute(bounds.exports_per_minute)),
            exporting: Arc::new(tokio::sync::Semaphore::new(1)),
            sockets: Arc::default(),
            bounds,
        }
    }

    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// A request from `peer` showed a credential, `right` or not: `Ok` lets a right one through; a
    /// wrong one is a `401`, and the one too many locks the address out (`429`). An address that
    /// is locked out is refused whatever it shows.
    pub fn check_credential(&self, peer: Option<IpAddr>, right: bool) -> Result<(), AppError> {
        let Some(peer) = peer else { return if right { Ok(()) } else { Err(AppError::Unauthorized) } };
        if self.locked_out.contains_key(&peer) {
            return Err(AppError::TooManyFailures { retry_after: LOCKOUT });
        }
        if right {
            return Ok(());
        }
        match self.failures.check_key(&peer) {
            Ok(()) => Err(AppError::Unauthorized),
            Err(_) => {
                tracing::warn!(%peer, "too many wrong credentials from one address: locked out for a while");
                self.locked_out.insert(peer, ());
                Err(AppError::TooManyFailures { retry_after: LOCKOUT })
            }
        }
    }

    /// An export (a run's timeline or CSV) asked for by `peer`.
    pub fn check_export(&self, peer: Option<IpAddr>) -> Result<(), AppError> {
        let Some(peer) = peer else { return Ok(()) };
        self.exports.check_key(&peer).map_err(|not_until| AppError::RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }

    /// An export's turn: within `peer`'s share ([`Guard::check_export`]), then the one export
    /// built at a time, held until the permit is dropped; `503` after waiting [`EXPORT_WAIT`].
    pub async fn export(&self, peer: Option<IpAddr>) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        self.check_export(peer)?;
        match tokio::time::timeout(EXPORT_WAIT, self.exporting.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or (never: the semaphore is not closed) closed.
            _ => Err(AppError::ExportsBusy),
        }
    }

    /// Takes one of `peer`'s websocket places, held until the permit is dropped (the socket
    /// closed); a `429` when the address holds all its places.
    pub fn socket(&self, peer: Option<IpAddr>) -> Result<SocketPermit, AppError> {
        let Some(peer) = peer else { return Ok(SocketPermit { sockets: None, peer: None }) };
        let mut open = lock(&self.sockets);
        let held = open.entry(peer).or_default();
        if *held >= self.bounds.sockets_per_address {
            return Err(AppError::TooManySockets { cap: self.bounds.sockets_per_address });
        }
        *held += 1;
        Ok(SocketPermit { sockets: Some(self.sockets.clone()), peer: Some(peer) })
    }

    /// Whether a websocket whose request came with `origin`, to `host`, may open.
    pub fn origin_allowed(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        origin_allowed(origin, host, &self.bounds.allowed_origins)
    }

    /// The rate limit of the anonymous routes (`tower_governor`), answering `429` with the lab's
    /// JSON error and `Retry-After`.
    pub fn anonymous_limit(&self) -> Option<AnonymousLimit> {
        let layer = tower_governor::GovernorLayer::new(self.anonymous.clone()?);
        Some(layer.error_handler(|e| match e {
            GovernorError::TooManyRequests { wait_time, .. } => {
                AppError::RateLimited { retry_after: Duration::from_secs(wait_time) }.into_response()
            }
            other => {
                tracing::warn!(error = %other, "the anonymous routes' rate limit could not tell the caller's address");
                AppError::RateLimited { retry_after: Duration::from_secs(1) }.into_response()
            }
        }))
    }

    /// Forgets addresses that have been quiet long enough to have their whole allowance back.
    pub fn forget_quiet(&self) {
        if let Some(anonymous) = &self.anonymous {
            anonymous.limiter().retain_recent();
        }
        self.failures.retain_recent();
        self.exports.retain_recent();
        self.failures.shrink_to_fit();
        self.exports.shrink_to_fit();
    }
}

fn lock(sockets: &Mutex<HashMap<IpAddr, usize>>) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
    sockets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One open websocket's place among its address's.
pub struct SocketPermit {
    sockets: Option<Arc<Mutex<HashMap<IpAddr, usize>>>>,
    peer: Option<IpAddr>,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let (Some(sockets), Some(peer)) = (&self.sockets, self.peer) else { return };
        let mut open = lock(sockets);
        if let Some(held) = open.get_mut(&peer) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.remove(&peer);
            }
        }
    }
}

/// The websocket origin rule: a browser always says which page opens a socket (`Origin`); that
/// page must be the lab's own (the same host and port the request went to) or one of `allowed`.
/// No `Origin` at all is not a browser (a script, a worker), which a cookie-stealing page is not.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin.map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()) else { return true };
    if allowed.iter().any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(&origin)) {
        return true;
    }
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    match (authority, host) {
        (Some(authority), Some(host)) => !authority.is_empty() && authority.eq_ignore_ascii_case(host.trim()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_opens_only_from_the_labs_own_page_or_an_allowed_one() {
        let allowed = vec!["https://lab.school.org".to_owned()];
        let cases: &[(Option<&str>, Option<&str>, bool, &str)] = &[
            (None, Some("127.0.0.1:8080"), true, "no Origin: not a browser"),
            (Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080"), true, "the lab's own page"),
            (Some("http://LOCALHOST:8080/"), Some("localhost:8080"), true, "case and a trailing slash"),
            (Some("http://127.0.0.1:9999"), Some("127.0.0.1:8080"), false, "another port is another origin"),
            (Some("https://evil.example"), Some("127.0.0.1:8080"), false, "another site"),
            (Some("null"), Some("127.0.0.1:8080"), false, "a sandboxed or file page"),
            (Some("http://127.0.0.1:8080"), None, false, "no Host to compare with"),
            (Some("https://lab.school.org"), Some("10.0.0.5:8080"), true, "allowed by the instructor"),
            (Some("https://lab.school.org.evil.example"), Some("10.0.0.5:8080"), false, "not a prefix match"),
        ];
        for (origin, host, want, why) in cases {
            assert_eq!(origin_allowed(*origin, *host, &allowed), *want, "{why}: {origin:?} to {host:?}");
        }
    }

    #[test]
    fn too_many_wrong_credentials_lock_an_address_out_even_for_the_right_one() {
        let guard = Guard::new(Bounds { credential_failures: 3, ..Bounds::default() });
        let (me, other) = (Some(IpAddr::from([10, 0, 0, 1])), Some(IpAddr::from([10, 0, 0, 2])));
        for _ in 0..3 {
            assert!(matches!(guard.check_credential(me, false), Err(AppError::Unauthorized)));
        }
        assert!(guard.check_credential(me, true).is_ok(), "the right token still goes before the limit");
        assert!(matches!(guard.check_credential(me, false), Err(AppError::TooManyFailures { .. })));
        assert!(
            matches!(guard.check_credential(me, true), Err(AppError::TooManyFailures { .. })),
            "locked out: a right guess looks like a wrong one"
        );
        assert!(guard.check_credential(other, true).is_ok(), "another address is not touched");
    }

    #[test]
    fn an_address_holds_at_most_its_sockets_and_gets_them_back_on_close() {
        let guard = Guard::new(Bounds { sockets_per_address: 2, ..Bounds::default() });
        let me = Some(IpAddr::from([10, 0, 0, 1]));
        let first = guard.socket(me).expect("one");
        let _second = guard.socket(me).expect("two");
        assert!(matches!(guard.socket(me), Err(AppError::TooManySockets { cap: 2 })));
        assert!(guard.socket(Some(IpAddr::from([10, 0, 0, 2]))).is_ok(), "per address");
        drop(first);
        assert!(guard.socket(me).is_ok(), "a closed socket gives its place back");
    }
}
