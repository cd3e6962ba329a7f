//! SIP over TCP: a listener beside the UDP socket; each connection is framed by
//! `SipCodec`, answers keep-alive pings, hands whole messages to the SIP shell
//! over a bounded channel, and sends what the shell addresses to its peer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::sip::framing::{Frame, SipCodec};

/// The stream transport a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Tcp,
    /// SIP over WebSocket (RFC 7118): the peer cannot be reached any other way.
    WebSocket,
}

struct Peer {
    tx: mpsc::Sender<Bytes>,
    kind: StreamKind,
}

/// Open connections (TCP and WebSocket) by peer address. A std mutex: held only
/// to look up or insert a sender, never across an await.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<SocketAddr, Peer>>>);

impl Connections {
    /// Queues `data` for the connection to `to`; false when there is none (or it is full).
    pub fn send(&self, to: SocketAddr, data: Bytes) -> Option<bool> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&to).map(|p| p.tx.try_send(data).is_ok())
    }

    /// The transport of the open connection to `peer`, if there is one.
    pub fn kind(&self, peer: SocketAddr) -> Option<StreamKind> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&peer).map(|p| p.kind)
    }

    pub(crate) fn insert(&self, peer: SocketAddr, tx: mpsc::Sender<Bytes>, kind: StreamKind) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer, Peer { tx, kind });
    }

    /// Forgets the connection to `peer` if `tx` is still its sender (a newer
    /// connection from the same address keeps its entry).
    pub(crate) fn remove(&self, peer: SocketAddr, tx: &mpsc::Sender<Bytes>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&peer).is_some_and(|p| p.tx.same_channel(tx)) {
            map.remove(&peer);
        }
    }
}

/// Accepts connections until `shutdown`; messages go to `inbound`.
pub async fn serve(
    listener: TcpListener,
    connections: Connections,
    inbound: mpsc::Sender<(Bytes, SocketAddr)>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (tx, rx) = mpsc::channel(256);
                    connections.insert(peer, tx.clone(), StreamKind::Tcp);
                    tokio::spawn(connection(Framed::new(stream, SipCodec), peer, (tx, rx), inbound.clone(), connections.clone(), shutdown.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "SIP TCP accept failed"),
            }
        }
    }
}

async fn connection(
    mut framed: Framed<tokio::net::TcpStream, SipCodec>,
    peer: SocketAddr,
    (me, mut outbound): (mpsc::Sender<Bytes>, mpsc::Receiver<Bytes>),
    inbound: mpsc::Sender<(Bytes, SocketAddr)>,
    connections: Connections,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            out = outbound.recv() => match out {
                Some(data) => if framed.send(data).await.is_err() { break },
                None => break,
            },
            frame = framed.next() => match frame {
                Some(Ok(Frame::Message(m))) => if inbound.send((m, peer)).await.is_err() { break },
                Some(Ok(Frame::Ping)) => if framed.send(Bytes::from_static(b"\r\n")).await.is_err() { break },
                Some(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "SIP TCP connection closed on bad framing");
                    break;
                }
                None => break,
            },
        }
    }
    connections.remove(peer, &me);
}
