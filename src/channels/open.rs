//! Opening a text conversation (a chat, a WeChat or webhook thread) with its
//! customer's first message, in the queue the routing rules choose: the
//! conversation, the message with its client id and the rules' decision are
//! committed together, and only then is the conversation enqueued in routing.
//! Platforms that post messages (WeChat, webhooks) place each one here too: in
//! the customer's open conversation of the channel, or a new one, once per
//! client id, under the per-customer lock the chat uses.

use uuid::Uuid;

use crate::api::AppState;
use crate::routing::engine::Input;
use crate::routing::placement::{Opening, customer_of};
use crate::timeline::TimelineError;
use crate::timeline::model::{
    Channel, Conversation, Direction, EventPayload, NewConversation, TimelineEvent,
};

/// Opens the conversation and enqueues it; returns it with its first message.
pub async fn open_by_rules(
    s: &AppState,
    customer: Uuid,
    channel: Channel,
    client_id: &str,
    text: String,
    subject: Option<String>,
) -> Result<(Conversation, TimelineEvent), TimelineError> {
    let who = customer_of(&s.timeline, customer).await?;
    let opening = Opening {
        customer: &who,
        channel,
        text: &text,
        to: &[],
    };
    let placement = s.rules.place(&opening, chrono::Utc::now());
    let new = NewConversation {
        customer_id: customer,
        channel,
        queue: Some(placement.queue().to_string()),
        priority: placement.priority(),
        subject,
        text: Some(text),
    };
    let (conv, first) = s
        .timeline
        .open_with_message(new, client_id, Some(placement.event()))
        .await?;
    if let Err(e) = s
        .routing
        .apply(Input::Enqueue(placement.work_item(&conv)))
        .await
    {
        tracing::error!(error = %e, conversation = %conv.id, ?channel, "conversation not queued; it is restored from the database at the next start");
    }
    Ok((conv, first))
}

/// Where a posted message went: its conversation (None for a redelivery of a
/// message whose conversation is closed since) and its seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub conversation: Option<Uuid>,
    pub seq: i64,
    pub duplicate: bool,
}

/// Stores a customer's message once per `client_id`: in their open conversation
/// of `channel`, else in a new one placed by the rules.
pub async fn place_posted(
    s: &AppState,
    customer: Uuid,
    channel: Channel,
    client_id: &str,
    text: String,
    subject: &str,
) -> Result<Placed, TimelineError> {
    let _guard = s.chat_opening.lock(customer).await;
    let open = s
        .timeline
        .open_conversation_of(customer, crate::timeline::channel_str(channel))
        .await?;
    if let Some(seq) = s.timeline.client_message_of(customer, client_id).await? {
        return Ok(Placed {
            conversation: open,
            seq,
            duplicate: true,
        });
    }
    if let Some(conv) = open {
        let payload = EventPayload::Message {
            direction: Direction::In,
            author: s.timeline.customer(customer).await?.name,
            text,
            attachments: vec![],
        };
        let stored = s
            .timeline
            .append_message(conv, Some(client_id), payload)
            .await?;
        let (seq, duplicate) = match stored {
            crate::timeline::messages::Stored::New(e) => (e.seq, false),
            crate::timeline::messages::Stored::Duplicate(seq) => (seq, true),
        };
        return Ok(Placed {
            conversation: Some(conv),
            seq,
            duplicate,
        });
    }
    let subject = Some(subject.to_string());
    let (conv, first) = open_by_rules(s, customer, channel, client_id, text, subject).await?;
    Ok(Placed {
        conversation: Some(conv.id),
        seq: first.seq,
        duplicate: false,
    })
}
