//! Opening a text conversation (a chat, a WeChat thread) with its customer's
//! first message, in the queue the routing rules choose: the conversation, the
//! message with its client id and the rules' decision are committed together,
//! and only then is the conversation enqueued in routing.

use uuid::Uuid;

use crate::api::AppState;
use crate::routing::engine::Input;
use crate::routing::placement::{Opening, customer_of};
use crate::timeline::TimelineError;
use crate::timeline::model::{Channel, Conversation, NewConversation, TimelineEvent};

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
