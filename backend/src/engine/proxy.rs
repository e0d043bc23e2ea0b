//! Network distance and outages, for real: a TCP proxy between the app and PostgreSQL.
//!
//! A run whose spec sets `network` sends its connections through a [`NetworkProxy`] on a local
//! port. The proxy delays every chunk of bytes by half the chosen round-trip time in each
//! direction, so a connect (TCP, startup, SCRAM's several round trips) pays the distance several
//! times while a pooled query pays it once. That is the lesson, measured.
//!
//! It can also stage an outage:
//! - **refuse**: every open connection is reset and new ones are reset at once, as when the
//!   server is gone: callers fail fast;
//! - **blackhole**: connections stay open but nothing gets through until the outage ends, as when
//!   a network path silently drops packets: only timeouts notice. A connect the client gives up
//!   on meanwhile never reaches the server, as an abandoned connect's lost SYNs never do.
//!
//! It is also the lab's **no-delay relay** (`nodelay` in the run spec). sqlx 0.9.0 sets no
//! `TCP_NODELAY` on its sockets and offers no way to, so the client's Nagle algorithm holds back
//! a small write until the bytes before it are acknowledged; the server delays that ACK (tens of
//! milliseconds) when it has nothing to send back, which is what happens in a TLS connect when the
//! client writes two records back to back. A relay asked to `quick_ack` re-arms `TCP_QUICKACK` on
//! the app's socket after every read, so each arriving write is acknowledged at once and the next
//! one leaves at once; its own socket to the server has `TCP_NODELAY`, as every proxy socket does.
//!
//! It records the instant it begins and ends an outage ([`NetworkProxy::switches`]), so the run's
//! record says when the outage was, not which frame first showed it.
//!
//! The proxy's owner drops it to stop it: its tasks end with it, and so do the connections.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poollab_shared::{OutageMode, RunEventKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Chunks in flight per direction before the proxy stops reading (back-pressure).
const IN_FLIGHT_CHUNKS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the network proxy needs a TCP address for the database (this one uses a Unix socket)")]
    NotTcp,
    #[error("could not start the network proxy: {0}")]
    Bind(#[from] std::io::Error),
}

/// A running proxy to one upstream address.
pub struct NetworkProxy {
    addr: SocketAddr,
    outage: watch::Sender<Option<OutageMode>>,
    /// Every outage's beginning and end, at the instant the switch was thrown.
    switches: Mutex<Vec<(std::time::Instant, RunEventKind)>>,
    _tasks: JoinSet<()>,
}

impl NetworkProxy {
    /// Listens on a free local port and forwards to `upstream` with `round_trip` added; with
    /// `quick_ack`, acknowledges every read from the app at once (see the module's words).
    pub async fn start(
        upstream: (String, u16),
        round_trip: Duration,
        quick_ack: bool,
    ) -> Result<NetworkProxy, ProxyError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (outage, _) = watch::channel(None);
        let mut tasks = JoinSet::new();
        let way = Way { upstream: Arc::new(upstream), one_way: round_trip / 2, quick_ack };
        tasks.spawn(accept_loop(listener, way, outage.clone()));
        Ok(NetworkProxy { addr, outage, switches: Mutex::default(), _tasks: tasks })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Starts (`Some`) or ends (`None`) an outage, and records the instant it did.
    pub fn set_outage(&self, mode: Option<OutageMode>) {
        let was = self.outage.send_replace(mode);
        let switched = match (was, mode) {
            (None, Some(_)) => Some(RunEventKind::OutageBegins),
            (Some(_), None) => Some(RunEventKind::OutageEnds),
            _ => None,
        };
        if let Some(kind) = switched {
            let now = std::time::Instant::now();
            self.switches.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((now, kind));
            tracing::info!(?mode, "network proxy outage");
        }
    }

    /// Every outage's beginning and end so far, in order, at the instant it happened.
    pub fn switches(&self) -> Vec<(std::time::Instant, RunEventKind)> {
        self.switches.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn outage(&self) -> Option<OutageMode> {
        *self.outage.borrow()
    }

    /// Follows the outage switch (for the live view).
    pub fn watch_outage(&self) -> watch::Receiver<Option<OutageMode>> {
        self.outage.subscribe()
    }
}

/// How the proxy forwards each connection.
#[derive(Clone)]
struct Way {
    upstream: Arc<(String, u16)>,
    one_way: Duration,
    quick_ack: bool,
}

/// Acknowledge what has arrived on `socket` now, and the next segments as they come, instead of
/// delaying the ACK. Linux leaves quick-ACK mode again on its own, so it is re-armed after every
/// read.
fn quick_ack(socket: &TcpStream) {
    if let Err(e) = socket2::SockRef::from(socket).set_tcp_quickack(true) {
        tracing::debug!(error = %e, "could not set TCP_QUICKACK");
    }
}

async fn accept_loop(listener: TcpListener, way: Way, outage: watch::Sender<Option<OutageMode>>) {
    // Connections live in this set, so they end when the proxy (and with it this task) is dropped.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(connection(client, way.clone(), outage.subscribe()));
                }
                Err(e) => tracing::debug!(error = %e, "proxy accept failed"),
            },
            // Reap finished connections so the set does not grow with every one ever made.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Closes a socket with a reset (RST) instead of a polite FIN: what a vanished server looks like.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Most bytes a connection attempt may send while a blackhole holds it (a PostgreSQL client sends
/// one short message, then waits for the answer).
const HELD_MAX: usize = 16 * 1024;

/// Holds a new connection while a blackhole is on: returns the outage's mode once it is no longer
/// one, with the bytes the client sent meanwhile. A client that gives up meanwhile (closes or
/// resets its socket) is gone for good: none (its attempt never reaches the server, as a real
/// network's abandoned SYNs never do; without this, every connect a pool gave up on in the silence
/// reached the server at once when it lifted, 163 of them in lesson 13.2's 1.5 s outage, and the
/// server's forks for them slowed the pool's fresh connects).
async fn swallowed(
    client: &mut TcpStream,
    outage: &mut watch::Receiver<Option<OutageMode>>,
) -> Option<(Option<OutageMode>, Vec<u8>)> {
    let mut held = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        tokio::select! {
            // The outage first: with none, the connection goes on at once, reading nothing here.
            biased;
            mode = outage.wait_for(|m| *m != Some(OutageMode::Blackhole)) => {
                return mode.ok().map(|m| (*m, held));
            }
            read = client.read(&mut chunk), if held.len() < HELD_MAX => match read {
                Ok(0) | Err(_) => return None,
                Ok(n) => held.extend_from_slice(&chunk[..n]),
            },
        }
    }
}

async fn connection(mut client: TcpStream, way: Way, mut outage: watch::Receiver<Option<OutageMode>>) {
    if way.quick_ack {
        quick_ack(&client);
    }
    // A blackhole swallows the connection attempt: wait, silently, until it lifts (or it turns
    // into a refusal), holding what the client sends meanwhile.
    let Some((mode, held)) = swallowed(&mut client, &mut outage).await else { return };
    if mode == Some(OutageMode::Refuse) {
        return reset(client);
    }
    let mut server = match TcpStream::connect((way.upstream.0.as_str(), way.upstream.1)).await {
        Ok(server) => server,
        Err(e) => {
            tracing::debug!(error = %e, "proxy could not reach the database");
            return reset(client);
        }
    };
    if server.write_all(&held).await.is_err() {
        return reset(client);
    }
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut pumps = JoinSet::new();
    pumps.spawn(pump(client_read, server_write, way.one_way, way.quick_ack, outage.clone()));
    pumps.spawn(pump(server_read, client_write, way.one_way, false, outage.clone()));
    let closed = tokio::select! {
        // Either side closing ends the connection.
        _ = pumps.join_next() => true,
        // A refusal cuts every open connection.
        _ = outage.wait_for(|m| *m == Some(OutageMode::Refuse)) => false,
    };
    // In a blackhole, a close ends the connection only once it lifts: the close is lost with
    // everything else, so the server keeps the backend until then (as it keeps one whose
    // client's goodbye vanished on the way).
    if closed {
        let _ = outage.wait_for(|m| *m != Some(OutageMode::Blackhole)).await;
    }
    // Dropping the pumps drops both halves of both sockets.
    pumps.abort_all();
    while pumps.join_next().await.is_some() {}
}

/// Copies one direction, each chunk delivered `one_way` after it was read, in order; held back
/// while a blackhole is on. With `ack_at_once`, every read is acknowledged to the sender at once.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    one_way: Duration,
    ack_at_once: bool,
    mut outage: watch::Receiver<Option<OutageMode>>,
) {
    if one_way.is_zero() {
        // Nothing to delay (the no-delay relay): each chunk goes on as soon as it is read, from
        // this one task, with no queue and no second task to wake on the way.
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if ack_at_once {
                quick_ack(from.as_ref());
            }
            if outage.wait_for(|m| *m != Some(OutageMode::Blackhole)).await.is_err() {
                return;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
        return;
    }
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT_CHUNKS);
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if ack_at_once {
                        quick_ack(from.as_ref());
                    }
                    if tx.send((Instant::now() + one_way, buf[..n].to_vec())).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if outage.wait_for(|m| *m != Some(OutageMode::Blackhole)).await.is_err() {
                return;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    // The writer drains what the reader queued before the reader's end closes the channel.
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use std::time::Instant as StdInstant;

    use super::*;

    /// An echo server on a free port: what the relay forwards to in these tests.
    async fn echo() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        port
    }

    /// Median microseconds of `rounds` connects, each followed by three small round trips (about
    /// what a plain PostgreSQL connect is).
    async fn connects(port: u16, rounds: usize) -> f64 {
        let mut took = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = StdInstant::now();
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
            let mut back = [0u8; 64];
            for _ in 0..3 {
                s.write_all(&[7u8; 64]).await.expect("write");
                s.read_exact(&mut back).await.expect("read");
                assert_eq!(back, [7u8; 64], "the relay passes bytes on unchanged");
            }
            took.push(start.elapsed().as_secs_f64() * 1e6);
        }
        took.sort_by(f64::total_cmp);
        took[rounds / 2]
    }

    #[tokio::test]
    async fn a_connect_given_up_in_a_blackhole_never_reaches_the_server() {
        // The server: counts the connections it accepts, and echoes.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (accepted_tx, mut accepted) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = accepted_tx.send(());
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let proxy = NetworkProxy::start(("127.0.0.1".into(), port), Duration::ZERO, false).await.expect("proxy");
        proxy.set_outage(Some(OutageMode::Blackhole));
        // One client gives up in the silence, after sending its first message; one waits.
        let mut gave_up = TcpStream::connect(("127.0.0.1", proxy.port())).await.expect("connect");
        gave_up.write_all(b"startup").await.expect("write");
        let mut waits = TcpStream::connect(("127.0.0.1", proxy.port())).await.expect("connect");
        waits.write_all(b"hello").await.expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(gave_up);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(accepted.try_recv().is_err(), "nothing reaches the server in a blackhole");
        proxy.set_outage(None);
        // The one that waited gets through, with what it sent in the silence.
        let mut back = [0u8; 5];
        tokio::time::timeout(Duration::from_secs(5), waits.read_exact(&mut back))
            .await
            .expect("an answer once the blackhole lifts")
            .expect("read");
        assert_eq!(&back, b"hello");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut reached = 0;
        while accepted.try_recv().is_ok() {
            reached += 1;
        }
        assert_eq!(reached, 1, "only the connect still wanted reached the server");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_no_delay_relay_passes_bytes_on_and_prints_what_its_hop_costs() {
        let port = echo().await;
        let relay = NetworkProxy::start(("127.0.0.1".into(), port), Duration::ZERO, true).await.expect("relay");
        // Warm both ways, then measure them in turns.
        connects(port, 20).await;
        connects(relay.port(), 20).await;
        let (mut direct, mut relayed) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            direct.push(connects(port, 40).await);
            relayed.push(connects(relay.port(), 40).await);
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (direct, relayed) = (median(direct), median(relayed));
        println!(
            "a connect and three round trips: {direct:.0} us direct, {relayed:.0} us through the relay ({:.0} us more)",
            relayed - direct
        );
    }
}
