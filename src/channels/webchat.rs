//! The web chat channel: the widget's WebSocket (`/chat/ws`, public). A visitor is a
//! `chat` identity; e-mail or phone from the pre-chat form is linked only when no
//! other customer holds it (never a silent merge). `hello` only finds the visitor's
//! open chat; the first message opens one (`webchat_open`). Every message is
//! committed before its `ack`, resends are de-duplicated by client id, and agents'
//! replies on the conversation are pushed back live.

use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use uuid::Uuid;

use super::webchat_open::{Placed, place_message};
use super::webchat_protocol::{ChatLine, ClientFrame, RATING_SCALE, ServerFrame, error};
use crate::api::AppState;
use crate::config::ChatConfig;
use crate::timeline::TimelineError;
use crate::timeline::follow::{Follower, Key, Missed};
use crate::timeline::identity::IdentityKind;
use crate::timeline::messages::Stored;
use crate::timeline::model::{
    Conversation, ConversationStatus, Direction, EventPayload, Identity, NewCustomer, NewEvent,
    TimelineEvent,
};

/// Largest frame a widget may send.
const MAX_FRAME: usize = 20 * 1024;

pub async fn upgrade(State(s): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_FRAME)
        .read_buffer_size(crate::api::WS_READ_BUFFER)
        .on_upgrade(move |socket| session(s, socket))
}

/// The visitor and conversation a connection speaks for, after `hello`.
struct Visitor {
    name: String,
    customer: Uuid,
    /// The chat this connection shows: the open one, or once resolved that one (to
    /// rate it) until the next message opens another; `None` before the first message.
    conversation: Option<Uuid>,
    /// The conversation's rating is stored (one per conversation and session).
    rated: bool,
}

impl Visitor {
    /// What the connection follows on the bus: the customer's events (another
    /// tab's chat, this one's) and the chat's (whose events carry another
    /// customer after a merge).
    fn keys(&self) -> Vec<Key> {
        let mut keys = vec![Key::Customer(self.customer)];
        keys.extend(self.conversation.map(Key::Conversation));
        keys
    }
}

async fn session(s: AppState, mut socket: WebSocket) {
    // The visitor's customer and open chat, once `hello` says who it is.
    let mut bus = s.timeline.bus.follower();
    let mut visitor: Option<Visitor> = None;
    let mut bucket = TokenBucket::new(&s.config.chat, Instant::now());
    loop {
        if let Some(v) = &visitor {
            bus.follow(&v.keys());
        }
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let reply = handle_frame(&s, &mut visitor, &mut bucket, &mut bus, text.as_str()).await;
                for frame in reply {
                    if send(&mut socket, &frame).await.is_err() {
                        return;
                    }
                }
            }
            event = bus.recv() => match event {
                Ok(e) => {
                    let Some(v) = visitor.as_mut() else { continue };
                    let frames = match on_event(&s, v, &e).await {
                        Ok(frames) => frames,
                        Err(err) => {
                            // Closing makes the widget reconnect and read its chat afresh.
                            tracing::warn!(error = %err, "chat socket closed: its conversation not read");
                            return;
                        }
                    };
                    for frame in frames {
                        if send(&mut socket, &frame).await.is_err() { return; }
                    }
                }
                Err(Missed(_)) => {
                    // Missed live events: send the recent history again; the widget de-duplicates by seq.
                    if let Some(conversation) = visitor.as_ref().and_then(|v| v.conversation)
                        && let Ok(history) = s.timeline.conversation_messages(conversation, 100).await {
                            for line in history.iter().filter_map(ChatLine::from_event) {
                                if send(&mut socket, &ServerFrame::Message(line)).await.is_err() { return; }
                            }
                        }
                }
            },
        }
    }
}

/// The frames a committed event means for this connection: `opened` when it follows
/// a chat another tab opened, a rating request, an agent's reply.
async fn on_event(
    s: &AppState,
    v: &mut Visitor,
    e: &TimelineEvent,
) -> Result<Vec<ServerFrame>, TimelineError> {
    let mut frames: Vec<ServerFrame> = follow_other_tab(s, v, e).await?.into_iter().collect();
    if e.conversation_id.is_none() || e.conversation_id != v.conversation {
        return Ok(frames);
    }
    frames.extend(rate_request(e, v));
    let reply = ChatLine::from_event(e).filter(|l| l.direction == Direction::Out);
    frames.extend(reply.map(ServerFrame::Message));
    Ok(frames)
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame)
        .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":""}"#.into());
    socket.send(Message::Text(text.into())).await
}

async fn handle_frame(
    s: &AppState,
    visitor: &mut Option<Visitor>,
    bucket: &mut TokenBucket,
    bus: &mut Follower,
    text: &str,
) -> Vec<ServerFrame> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => f,
        Err(e) => return vec![error("bad_frame", e.to_string())],
    };
    match (frame, visitor.as_ref()) {
        (
            ClientFrame::Hello {
                visitor: id,
                name,
                email,
                phone,
                language,
            },
            _,
        ) => match hello(s, bus, id, name, email, phone, language).await {
            Ok((v, welcome)) => {
                *visitor = Some(v);
                vec![welcome]
            }
            Err(e) => vec![error("hello_failed", e.to_string())],
        },
        (_, None) => vec![error("no_hello", "send hello first")],
        (ClientFrame::Rate { score }, Some(_)) => match visitor.as_mut() {
            Some(v) => rate(s, v, score).await,
            None => vec![],
        },
        (ClientFrame::Typing, Some(_)) => vec![],
        (
            ClientFrame::LeaveMessage {
                client_id,
                email,
                text,
            },
            Some(v),
        ) => {
            if !bucket.take(Instant::now()) {
                return vec![error("rate_limited", "too many messages; wait a moment")];
            }
            let (customer, name) = (v.customer, v.name.clone());
            super::webchat_offline::leave_message(s, customer, &name, client_id, email, text).await
        }
        (ClientFrame::Message { client_id, text }, Some(_)) => {
            if !bucket.take(Instant::now()) {
                return vec![error(
                    "rate_limited",
                    "too many messages; wait a moment and resend",
                )];
            }
            match visitor.as_mut() {
                Some(v) => message(s, v, client_id, text).await,
                None => vec![],
            }
        }
    }
}

/// Stores a visitor's message in their open chat, or through `place_message` (which
/// may open one) when this connection has none; `opened` precedes the `ack` when the
/// message went to a conversation the widget did not know.
async fn message(
    s: &AppState,
    v: &mut Visitor,
    client_id: String,
    text: String,
) -> Vec<ServerFrame> {
    let placed = match still_open(s, v.conversation).await {
        Ok(Some(conv)) => {
            let payload = EventPayload::Message {
                direction: Direction::In,
                author: v.name.clone(),
                text,
                attachments: vec![],
            };
            s.timeline
                .append_message_to(&conv, Some(&client_id), payload)
                .await
                .map(|stored| Placed {
                    conversation: Some(conv.id),
                    stored,
                })
        }
        Ok(None) => place_message(s, v.customer, &v.name, &client_id, text).await,
        Err(e) => Err(e),
    };
    match placed {
        Ok(p) => {
            let seq = match p.stored {
                Stored::New(e) => e.seq,
                Stored::Duplicate(seq) => seq,
            };
            let opened = p.conversation.and_then(|c| switch_to(v, c));
            opened
                .into_iter()
                .chain([ServerFrame::Ack { client_id, seq }])
                .collect()
        }
        Err(e @ TimelineError::Invalid { .. }) => vec![error("invalid", e.to_string())],
        Err(e) => {
            tracing::error!(error = %e, "chat message not stored");
            vec![error(
                "unavailable",
                "the message was not stored; resend it",
            )]
        }
    }
}

/// `conversation` if it is still open (neither resolved nor abandoned).
async fn still_open(
    s: &AppState,
    conversation: Option<Uuid>,
) -> Result<Option<Conversation>, TimelineError> {
    let Some(id) = conversation else {
        return Ok(None);
    };
    let c = s.timeline.conversation(id).await?;
    let closed = matches!(
        c.status,
        ConversationStatus::Resolved | ConversationStatus::Abandoned
    );
    Ok((!closed).then_some(c))
}

/// Makes `conversation` the one this connection shows; `opened` if it is another.
fn switch_to(v: &mut Visitor, conversation: Uuid) -> Option<ServerFrame> {
    if v.conversation == Some(conversation) {
        return None;
    }
    v.conversation = Some(conversation);
    v.rated = false;
    Some(ServerFrame::Opened { conversation })
}

/// A message of this visitor in a chat this connection does not show: another tab
/// opened it. The connection follows it when it has no open chat of its own.
async fn follow_other_tab(
    s: &AppState,
    v: &mut Visitor,
    e: &TimelineEvent,
) -> Result<Option<ServerFrame>, TimelineError> {
    let Some(conversation) = e.conversation_id else {
        return Ok(None);
    };
    let other = e.customer_id == v.customer
        && v.conversation != Some(conversation)
        && matches!(e.payload, EventPayload::Message { .. });
    if !other || still_open(s, v.conversation).await?.is_some() {
        return Ok(None);
    }
    let open = s.timeline.open_conversation_of(v.customer, "chat").await?;
    Ok((open == Some(conversation))
        .then(|| switch_to(v, conversation))
        .flatten())
}

async fn hello(
    s: &AppState,
    bus: &mut Follower,
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    language: Option<String>,
) -> Result<(Visitor, ServerFrame), TimelineError> {
    let visitor_id = id
        .filter(|v| v.starts_with("v-") && v.len() <= 64)
        .unwrap_or_else(|| format!("v-{}", Uuid::new_v4().simple()));
    let customer = match s
        .timeline
        .find_by_identity(IdentityKind::Chat, &visitor_id)
        .await?
    {
        Some(c) => c,
        None => {
            let display = name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "Web visitor".into());
            let new = NewCustomer {
                name: display,
                language,
                identities: vec![Identity {
                    kind: IdentityKind::Chat,
                    value: visitor_id.clone(),
                    verified: false,
                }],
                ..Default::default()
            };
            s.timeline.create_customer(new).await?
        }
    };
    link_unverified(s, customer.id, IdentityKind::Email, email).await;
    link_unverified(s, customer.id, IdentityKind::Phone, phone).await;
    let owner = customer.merged_into.unwrap_or(customer.id);
    // Before the chat and its history are read, so no reply falls in between.
    bus.follow(&[Key::Customer(owner)]);
    let conversation = s.timeline.open_conversation_of(owner, "chat").await?;
    let history = match conversation {
        Some(c) => s.timeline.conversation_messages(c, 200).await?,
        None => vec![],
    };
    let welcome = ServerFrame::Welcome {
        visitor: visitor_id,
        conversation,
        history: history.iter().filter_map(ChatLine::from_event).collect(),
        agents_online: super::webchat_offline::agents_online(s).await,
    };
    Ok((
        Visitor {
            name: customer.name,
            customer: owner,
            conversation,
            rated: false,
        },
        welcome,
    ))
}

/// A rating request when `e` says the visitor's conversation was resolved.
fn rate_request(e: &TimelineEvent, v: &Visitor) -> Option<ServerFrame> {
    let resolved = matches!(
        e.payload,
        EventPayload::StatusChanged {
            status: ConversationStatus::Resolved
        }
    );
    let conversation = v.conversation.filter(|_| resolved && !v.rated)?;
    Some(ServerFrame::RateRequest {
        conversation,
        scale: RATING_SCALE,
    })
}

/// Stores the visitor's rating of their resolved conversation as a `csat` event.
async fn rate(s: &AppState, v: &mut Visitor, score: u8) -> Vec<ServerFrame> {
    if !(1..=RATING_SCALE).contains(&score) {
        return vec![error("invalid", format!("a rating is 1 to {RATING_SCALE}"))];
    }
    if v.rated {
        return vec![error("already_rated", "this conversation is rated already")];
    }
    let Some(conversation) = v.conversation else {
        return vec![error(
            "not_resolved",
            "there is no resolved conversation to rate",
        )];
    };
    match s.timeline.conversation(conversation).await {
        Ok(c) if c.status == ConversationStatus::Resolved => {}
        Ok(_) => {
            return vec![error(
                "not_resolved",
                "a conversation is rated once it is resolved",
            )];
        }
        Err(e) => {
            tracing::error!(error = %e, "conversation of a rating not read");
            return vec![error("unavailable", "the rating was not stored; try again")];
        }
    }
    let new = NewEvent {
        conversation_id: Some(conversation),
        payload: EventPayload::Csat {
            score: i32::from(score),
        },
    };
    match s.timeline.append(v.customer, new).await {
        Ok(_) => {
            v.rated = true;
            vec![ServerFrame::Rated { score }]
        }
        Err(e) => {
            tracing::error!(error = %e, "chat rating not stored");
            vec![error("unavailable", "the rating was not stored; try again")]
        }
    }
}

/// Links an e-mail or phone the visitor typed, unverified, unless it is invalid or
/// already someone's (then it is left for an agent to link or merge explicitly).
async fn link_unverified(s: &AppState, customer: Uuid, kind: IdentityKind, value: Option<String>) {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return;
    };
    match s.timeline.find_by_identity(kind, &value).await {
        Ok(None) => {
            if let Err(e) = s
                .timeline
                .add_identity(
                    customer,
                    Identity {
                        kind,
                        value,
                        verified: false,
                    },
                )
                .await
            {
                tracing::info!(error = %e, "pre-chat identity not linked");
            }
        }
        Ok(Some(_)) => {}
        Err(e) => tracing::info!(error = %e, "pre-chat identity ignored"),
    }
}

/// A per-connection token bucket: `[chat] messages_per_second` tokens a second,
/// up to `burst`.
struct TokenBucket {
    tokens: f64,
    at: Instant,
    rate: f64,
    burst: f64,
}

impl TokenBucket {
    fn new(c: &ChatConfig, now: Instant) -> TokenBucket {
        let burst = f64::from(c.burst);
        TokenBucket {
            tokens: burst,
            at: now,
            rate: c.messages_per_second,
            burst,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_limits_bursts_and_refills() {
        let t0 = Instant::now();
        let c = ChatConfig::default();
        let mut b = TokenBucket::new(&c, t0);
        assert_eq!((0..20).filter(|_| b.take(t0)).count(), c.burst as usize);
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(600)));
        let fast = ChatConfig {
            messages_per_second: 1000.0,
            burst: 1,
        };
        let mut b = TokenBucket::new(&fast, t0);
        assert!(b.take(t0) && !b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(1)));
    }
}
