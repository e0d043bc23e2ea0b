//! Where a request came from: the client's address, and whether its page came over HTTPS.
//!
//! Every per-address rule of the lab (the line's caps, the class's learners per address, rate
//! limits, wrong-credential lockouts, websocket caps) counts by the address this file decides,
//! once per request, in [`locate`].
//!
//! Without a proxy, the client is the peer: whoever opened the TCP connection. Behind a reverse
//! proxy (Caddy terminating HTTPS, see `deploy/Caddyfile`), every peer is the proxy, and the
//! client's address is in the `X-Forwarded-For` header the proxy adds. That header is only as true
//! as whoever wrote it, so it is read only when the peer is a proxy the lab was told to trust
//! (`--trusted-proxy`); from anyone else it is ignored, or any script could be any address. Each
//! proxy appends the address it saw, so the list is read from the right: hops that are trusted
//! proxies are passed over, and the first that is not is the client (the addresses to its left
//! were written by the client itself, and prove nothing). Likewise `X-Forwarded-Proto` says
//! whether the page came over HTTPS only when a trusted proxy sent it; the learner's cookie is
//! then marked `Secure`, so the browser never sends it over plain HTTP.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;

use crate::web::state::AppState;

/// The proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` the lab believes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// Reads one `--trusted-proxy` entry: a network (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is neither an address (127.0.0.1) nor a network (10.0.0.0/8)"))
}

/// Where a request came from, as [`locate`] decided it: every per-address rule reads this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// None when the router is driven without a listener (tests that call it directly).
    pub address: Option<IpAddr>,
    /// The page came over HTTPS (to a trusted proxy that said so).
    pub https: bool,
}

/// The rule: the client's address, from the peer and the `X-Forwarded-For` values it sent (each
/// header line, in order). A peer that is not a trusted proxy is the client, whatever it sends.
/// From a trusted proxy, the rightmost hop that is not itself a trusted proxy; when every hop is
/// one, the leftmost; with no header, or a hop that is not an address, the peer.
pub fn client_address(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = peer.map(|p| p.to_canonical())?;
    if !trusted.trusts(peer) {
        return Some(peer);
    }
    let mut hops = forwarded_for.iter().flat_map(|line| line.split(',')).map(str::trim).rev().peekable();
    if hops.peek().is_none() {
        return Some(peer);
    }
    let mut leftmost = peer;
    for hop in hops {
        let Some(ip) = hop_address(hop) else { return Some(peer) };
        if !trusted.trusts(ip) {
            return Some(ip);
        }
        leftmost = ip;
    }
    Some(leftmost)
}

/// One hop of `X-Forwarded-For`: an address, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip().to_canonical())
}

/// Whether the page came over HTTPS: only a trusted proxy is believed, and it says so in
/// `X-Forwarded-Proto` (the first value, the scheme the client used).
pub fn came_over_https(peer: Option<IpAddr>, forwarded_proto: Option<&str>, trusted: &TrustedProxies) -> bool {
    peer.is_some_and(|p| trusted.trusts(p))
        && forwarded_proto
            .and_then(|v| v.split(',').next())
            .is_some_and(|scheme| scheme.trim().eq_ignore_ascii_case("https"))
}

/// Decides where a request came from, from its connection and headers.
pub fn client_of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> Client {
    let forwarded: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap_or("not an address")).collect();
    let proto = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    Client { address: client_address(peer, &forwarded, trusted), https: came_over_https(peer, proto, trusted) }
}

/// Middleware, outermost: every request carries its [`Client`] from here on.
pub async fn locate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = client_of(peer, req.headers(), &state.trusted_proxies);
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// The client's address of a request that went through [`locate`].
pub fn address_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<Client>().and_then(|c| c.address)
}

/// `tower_governor`'s key: the client's address as [`locate`] decided it (its own extractors
/// would read the peer, or believe any `X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        address_of(req.extensions()).ok_or(GovernorError::UnableToExtractKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn the_client_is_the_rightmost_hop_a_trusted_proxy_vouches_for() {
        let trusted =
            TrustedProxies::new(["127.0.0.1", "10.0.0.0/8"].iter().map(|s| parse_proxy(s).expect("proxy")).collect());
        let none = TrustedProxies::default();
        let cases: &[(Option<&str>, &[&str], &TrustedProxies, Option<&str>, &str)] = &[
            (Some("192.0.2.7"), &[], &trusted, Some("192.0.2.7"), "no proxy: the peer"),
            (Some("192.0.2.7"), &["203.0.113.9"], &trusted, Some("192.0.2.7"), "an untrusted peer's header is ignored"),
            (Some("127.0.0.1"), &["203.0.113.9"], &none, Some("127.0.0.1"), "no proxy is trusted by default"),
            (Some("127.0.0.1"), &["203.0.113.9"], &trusted, Some("203.0.113.9"), "through the proxy: the client"),
            (Some("127.0.0.1"), &[], &trusted, Some("127.0.0.1"), "from the proxy itself"),
            (
                Some("127.0.0.1"),
                &["6.6.6.6, 203.0.113.9"],
                &trusted,
                Some("203.0.113.9"),
                "a forged hop to the left proves nothing",
            ),
            (
                Some("127.0.0.1"),
                &["203.0.113.9, 10.1.2.3"],
                &trusted,
                Some("203.0.113.9"),
                "trusted hops are passed over",
            ),
            (
                Some("127.0.0.1"),
                &["203.0.113.9", "10.1.2.3"],
                &trusted,
                Some("203.0.113.9"),
                "several header lines are one list",
            ),
            (Some("127.0.0.1"), &["10.9.9.9, 10.1.2.3"], &trusted, Some("10.9.9.9"), "all trusted: the leftmost"),
            (Some("127.0.0.1"), &["6.6.6.6, nonsense"], &trusted, Some("127.0.0.1"), "garbage: the proxy"),
            (Some("127.0.0.1"), &["203.0.113.9:4711"], &trusted, Some("203.0.113.9"), "a hop with a port"),
            (Some("127.0.0.1"), &["[2001:db8::1]:443"], &trusted, Some("2001:db8::1"), "IPv6 with a port"),
            (Some("::ffff:127.0.0.1"), &["203.0.113.9"], &trusted, Some("203.0.113.9"), "a mapped IPv4 peer"),
            (Some("127.0.0.1"), &["::ffff:203.0.113.9"], &trusted, Some("203.0.113.9"), "one address, one key"),
            (None, &["203.0.113.9"], &trusted, None, "no listener: nobody"),
        ];
        for (peer, forwarded, trusted, want, why) in cases {
            assert_eq!(client_address(peer.map(ip), forwarded, trusted), want.map(ip), "{why}");
        }
    }

    #[test]
    fn https_is_what_a_trusted_proxy_says() {
        let trusted = TrustedProxies::new(vec![parse_proxy("127.0.0.1").expect("proxy")]);
        let cases: &[(&str, Option<&str>, bool, &str)] = &[
            ("127.0.0.1", Some("https"), true, "the proxy says https"),
            ("127.0.0.1", Some("HTTPS"), true, "in any case"),
            ("127.0.0.1", Some("http"), false, "the proxy says http"),
            ("127.0.0.1", None, false, "the proxy says nothing"),
            ("127.0.0.1", Some("https, http"), true, "the client's scheme comes first"),
            ("192.0.2.7", Some("https"), false, "anyone else is not believed"),
        ];
        for (peer, proto, want, why) in cases {
            assert_eq!(came_over_https(Some(ip(peer)), *proto, &trusted), *want, "{why}");
        }
    }

    #[test]
    fn a_trusted_proxy_is_an_address_or_a_network() {
        assert!(parse_proxy("127.0.0.1").is_ok());
        assert!(parse_proxy(" 10.0.0.0/8 ").is_ok());
        assert!(parse_proxy("::1").is_ok());
        let err = parse_proxy("localhost").expect_err("a name is not an address");
        assert!(err.contains("neither an address"), "{err}");
    }
}
