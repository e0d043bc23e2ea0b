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
//!   a network path silently drops packets: only timeouts notice.
//!
//! The proxy's owner drops it to stop it: its tasks end with it, and so do the connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poollab_shared::OutageMode;
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
    _tasks: JoinSet<()>,
}

impl NetworkProxy {
    /// Listens on a free local port and forwards to `upstream` with `round_trip` added.
    pub async fn start(upstream: (String, u16), round_trip: Duration) -> Result<NetworkProxy, ProxyError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (outage, _) = watch::channel(None);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(listener, Arc::new(upstream), round_trip / 2, outage.clone()));
        Ok(NetworkProxy { addr, outage, _tasks: tasks })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Starts (`Some`) or ends (`None`) an outage.
    pub fn set_outage(&self, mode: Option<OutageMode>) {
        tracing::info!(?mode, "network proxy outage");
        self.outage.send_replace(mode);
    }

    pub fn outage(&self) -> Option<OutageMode> {
        *self.outage.borrow()
    }

    /// Follows the outage switch (for the live view).
    pub fn watch_outage(&self) -> watch::Receiver<Option<OutageMode>> {
        self.outage.subscribe()
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: Arc<(String, u16)>,
    one_way: Duration,
    outage: watch::Sender<Option<OutageMode>>,
) {
    // Connections live in this set, so they end when the proxy (and with it this task) is dropped.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(connection(client, upstream.clone(), one_way, outage.subscribe()));
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

async fn connection(
    client: TcpStream,
    upstream: Arc<(String, u16)>,
    one_way: Duration,
    mut outage: watch::Receiver<Option<OutageMode>>,
) {
    // A blackhole swallows the connection attempt: wait, silently, until it lifts (or it turns
    // into a refusal).
    let Ok(mode) = outage.wait_for(|m| *m != Some(OutageMode::Blackhole)).await.map(|m| *m) else { return };
    if mode == Some(OutageMode::Refuse) {
        return reset(client);
    }
    let server = match TcpStream::connect((upstream.0.as_str(), upstream.1)).await {
        Ok(server) => server,
        Err(e) => {
            tracing::debug!(error = %e, "proxy could not reach the database");
            return reset(client);
        }
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut pumps = JoinSet::new();
    pumps.spawn(pump(client_read, server_write, one_way, outage.clone()));
    pumps.spawn(pump(server_read, client_write, one_way, outage.clone()));
    tokio::select! {
        // Either side closing ends the connection.
        _ = pumps.join_next() => {}
        // A refusal cuts every open connection.
        _ = outage.wait_for(|m| *m == Some(OutageMode::Refuse)) => {}
    }
    // Dropping the pumps drops both halves of both sockets.
    pumps.abort_all();
    while pumps.join_next().await.is_some() {}
}

/// Copies one direction, each chunk delivered `one_way` after it was read, in order; held back
/// while a blackhole is on.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    one_way: Duration,
    mut outage: watch::Receiver<Option<OutageMode>>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT_CHUNKS);
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
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
