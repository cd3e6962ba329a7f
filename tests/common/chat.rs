//! A web chat widget for tests: a WebSocket on `/chat/ws` that sends frames and
//! waits for the next frame of a kind.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::Server;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Widget {
    ws: Ws,
}

impl Widget {
    /// Connects and says `hello` with `fields` (visitor, name, email…); the `welcome`.
    pub async fn hello(server: &Server, fields: Value) -> (Widget, Value) {
        let url = format!("ws://{}/chat/ws", server.http);
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut w = Widget { ws };
        let mut hello = json!({"type": "hello"});
        if let (Some(h), Some(f)) = (hello.as_object_mut(), fields.as_object()) {
            h.extend(f.clone());
        }
        w.send(hello).await;
        let welcome = w.next("welcome").await;
        (w, welcome)
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// Sends a message; the frames up to and including its `ack`.
    pub async fn say(&mut self, client_id: &str, text: &str) -> Vec<Value> {
        self.send(json!({"type": "message", "client_id": client_id, "text": text}))
            .await;
        let mut frames = Vec::new();
        loop {
            let f = self.frame(Duration::from_secs(10)).await.expect("an ack");
            let done = f["type"] == "ack" && f["client_id"] == client_id;
            frames.push(f);
            if done {
                return frames;
            }
        }
    }

    /// The next frame of `kind` (skipping others), within 10 s.
    pub async fn next(&mut self, kind: &str) -> Value {
        loop {
            let f = self
                .frame(Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("no `{kind}` frame"));
            if f["type"] == kind {
                return f;
            }
        }
    }

    /// The frames that arrive within `wait`.
    pub async fn frames_within(&mut self, wait: Duration) -> Vec<Value> {
        let mut frames = Vec::new();
        let end = tokio::time::Instant::now() + wait;
        while let Some(f) = self
            .frame(end.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            frames.push(f);
        }
        frames
    }

    /// The next frame within `wait`; `None` when none came.
    async fn frame(&mut self, wait: Duration) -> Option<Value> {
        let read = async {
            while let Some(m) = self.ws.next().await {
                if let Message::Text(t) = m.expect("a WebSocket frame") {
                    return serde_json::from_str::<Value>(&t).expect("a JSON frame");
                }
            }
            panic!("the socket closed");
        };
        tokio::time::timeout(wait, read).await.ok()
    }
}
