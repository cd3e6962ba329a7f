//! SIP over WebSocket (RFC 7118), for browser softphones such as JsSIP and
//! SIP.js: the HTTP server's `/sip` route upgrades a request that offers the
//! `sip` subprotocol. Each connection is a task like a TCP one: every text or
//! binary frame is one whole SIP message for the shell (a reliable transport),
//! and what the shell addresses to the peer goes back over the connection, the
//! only way to reach a WebSocket client. When the connection closes, the
//! registrar bindings made over it go.

use std::net::SocketAddr;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::registrar::Bindings;
use super::tcp::{Connections, StreamKind};
use crate::sip::parse::MAX_MESSAGE;

/// The WebSocket subprotocol for SIP (RFC 7118 §4).
pub const SUBPROTOCOL: &str = "sip";

/// Messages queued towards one WebSocket peer before the shell drops them.
const OUTBOUND_QUEUE: usize = 256;

/// What a WebSocket connection needs from the SIP shell: the open connections
/// the shell sends through, its inbound channel, the registrar's bindings (to
/// drop on close) and the shutdown signal.
#[derive(Clone)]
pub struct SipWebSocket {
    pub connections: Connections,
    pub inbound: mpsc::Sender<(Bytes, SocketAddr)>,
    pub bindings: Bindings,
    pub shutdown: CancellationToken,
}

/// True when the request's `Sec-WebSocket-Protocol` offers `sip`.
pub fn offers_sip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL)
}

/// `GET /sip`: upgrades to SIP over WebSocket; 400 without the `sip` subprotocol.
pub async fn upgrade(
    State(gate): State<SipWebSocket>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !offers_sip(&headers) {
        return (
            StatusCode::BAD_REQUEST,
            "SIP over WebSocket needs the `sip` subprotocol (Sec-WebSocket-Protocol: sip)",
        )
            .into_response();
    }
    ws.protocols([SUBPROTOCOL])
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(crate::api::WS_READ_BUFFER)
        .on_upgrade(move |socket| connection(socket, peer, gate))
}

/// Runs one connection until the peer closes it, it fails, or shutdown.
async fn connection(socket: WebSocket, peer: SocketAddr, gate: SipWebSocket) {
    let (tx, mut outbound) = mpsc::channel::<Bytes>(OUTBOUND_QUEUE);
    gate.connections
        .insert(peer, tx.clone(), StreamKind::WebSocket);
    tracing::debug!(%peer, "SIP WebSocket connection opened");
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            _ = gate.shutdown.cancelled() => {
                let bye = CloseFrame { code: 1001, reason: "server shutting down".into() };
                let _ = sink.send(Message::Close(Some(bye))).await;
                break;
            }
            out = outbound.recv() => match out {
                Some(data) => if sink.send(frame_for(data)).await.is_err() { break },
                None => break,
            },
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let data = Bytes::copy_from_slice(text.as_str().as_bytes());
                    if gate.inbound.send((data, peer)).await.is_err() { break }
                }
                Some(Ok(Message::Binary(data))) => {
                    if gate.inbound.send((data, peer)).await.is_err() { break }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "SIP WebSocket connection failed");
                    break;
                }
            },
        }
    }
    gate.connections.remove(peer, &tx);
    let dropped = gate.bindings.drop_websocket(peer);
    tracing::debug!(%peer, dropped, "SIP WebSocket connection closed");
}

/// A SIP message as a frame: text when it is UTF-8 (what browsers expect),
/// else binary (RFC 7118 §5.1 allows both).
fn frame_for(data: Bytes) -> Message {
    match std::str::from_utf8(&data) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_sip_subprotocol_must_be_offered() {
        let mut h = HeaderMap::new();
        assert!(!offers_sip(&h));
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("chat, sip"),
        );
        assert!(offers_sip(&h));
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("sipx"),
        );
        assert!(!offers_sip(&h));
    }

    #[test]
    fn utf8_goes_as_text_and_the_rest_as_binary() {
        assert!(matches!(
            frame_for(Bytes::from_static(b"OPTIONS sip:x SIP/2.0\r\n\r\n")),
            Message::Text(_)
        ));
        assert!(matches!(
            frame_for(Bytes::from_static(&[0xff, 0xfe])),
            Message::Binary(_)
        ));
    }
}
