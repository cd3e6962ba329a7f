//! The web chat widget's WebSocket protocol: JSON frames in both directions.
//!
//! The widget first says `hello`; `welcome` names the visitor and, if the visitor
//! has an open chat, that conversation and its history (otherwise `conversation` is
//! null and the history empty). Connecting never opens a conversation: the first
//! `message` of a visitor without an open chat opens one in the queue, and the
//! server answers `opened` (the new conversation) before that message's `ack`.
//! `opened` is also sent when a socket starts following a chat another tab of the
//! same visitor opened, and when a message after a resolution opens a fresh chat.
//! When the chat is resolved the server sends `rate_request`; `rate` rates the
//! resolved conversation until the visitor's next message opens another.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::timeline::model::{Direction, EventPayload, TimelineEvent};

/// Frames the widget sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// First frame: who the visitor is (a stored visitor id, or none for a new one).
    Hello {
        #[serde(default)]
        visitor: Option<String>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        phone: Option<String>,
        #[serde(default)]
        language: Option<String>,
    },
    /// A message with the widget's own id, so a resend after a reconnect is not stored twice.
    Message {
        client_id: String,
        text: String,
    },
    Typing,
    /// Offline mode: a message to be answered by e-mail at `email`.
    LeaveMessage {
        client_id: String,
        email: String,
        text: String,
    },
    /// The visitor's rating of a resolved conversation, 1 to `RATING_SCALE`.
    Rate {
        score: u8,
    },
}

/// The highest rating a visitor can give.
pub const RATING_SCALE: u8 = 5;

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome {
        visitor: String,
        /// The visitor's open chat; null when there is none (yet).
        conversation: Option<Uuid>,
        history: Vec<ChatLine>,
        /// Some agent is signed in; when false (and no chat is open) the widget
        /// offers to leave a message for an e-mail answer instead.
        agents_online: bool,
    },
    /// The offline message is stored in this e-mail conversation; the answer
    /// goes to `email`.
    Left {
        conversation: Uuid,
        email: String,
    },
    /// The visitor's messages now go to this conversation (just opened, or opened
    /// by another tab of the same visitor).
    Opened {
        conversation: Uuid,
    },
    /// The message with this client id is committed.
    Ack {
        client_id: String,
        seq: i64,
    },
    Message(ChatLine),
    /// The conversation is resolved: ask the visitor for a rating.
    RateRequest {
        conversation: Uuid,
        scale: u8,
    },
    /// The rating is stored.
    Rated {
        score: u8,
    },
    Error {
        code: String,
        message: String,
    },
}

/// One message as the widget shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatLine {
    pub seq: i64,
    pub direction: Direction,
    pub author: String,
    pub text: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl ChatLine {
    /// The chat line of a message event; other events are not shown to visitors.
    pub fn from_event(e: &TimelineEvent) -> Option<ChatLine> {
        match &e.payload {
            EventPayload::Message {
                direction,
                author,
                text,
                ..
            } => Some(ChatLine {
                seq: e.seq,
                direction: *direction,
                author: author.clone(),
                text: text.clone(),
                at: e.occurred_at,
            }),
            _ => None,
        }
    }
}

pub fn error(code: &str, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error {
        code: code.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_client_frames_and_rejects_junk() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"message","client_id":"c1","text":"hi"}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Message {
                client_id: "c1".into(),
                text: "hi".into()
            }
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"message","text":"hi"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shell","cmd":"rm"}"#).is_err());
        assert_eq!(
            serde_json::from_str::<ClientFrame>(r#"{"type":"rate","score":4}"#).unwrap(),
            ClientFrame::Rate { score: 4 }
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"rate","score":-1}"#).is_err());
        let ack = serde_json::to_value(ServerFrame::Ack {
            client_id: "c1".into(),
            seq: 7,
        })
        .unwrap();
        assert_eq!(
            ack,
            serde_json::json!({"type": "ack", "client_id": "c1", "seq": 7})
        );
    }

    #[test]
    fn welcome_without_a_chat_and_opened_frames() {
        let welcome = serde_json::to_value(ServerFrame::Welcome {
            visitor: "v-1".into(),
            conversation: None,
            history: vec![],
            agents_online: false,
        })
        .unwrap();
        assert_eq!(
            welcome,
            serde_json::json!({"type": "welcome", "visitor": "v-1", "conversation": null, "history": [], "agents_online": false})
        );
        let leave: ClientFrame = serde_json::from_str(
            r#"{"type": "leave_message", "client_id": "c9", "email": "a@b.cn", "text": "hi"}"#,
        )
        .unwrap();
        assert!(matches!(leave, ClientFrame::LeaveMessage { .. }));
        let id = Uuid::nil();
        assert_eq!(
            serde_json::to_value(ServerFrame::Opened { conversation: id }).unwrap(),
            serde_json::json!({"type": "opened", "conversation": id.to_string()})
        );
    }
}
