//! The chat widget's offline mode: when no agent is signed in (every agent of
//! every queue offline or away), `welcome` says so and the widget offers to leave
//! an e-mail address and a message instead. `leave_message` opens an e-mail
//! conversation (where the routing rules place it) with the message, noting the
//! address as the thread's sender, so an agent's reply later goes out by e-mail
//! (`email::outbound`) and the customer's answer threads back into it.

use uuid::Uuid;

use super::email::thread;
use super::webchat_protocol::{ServerFrame, error};
use crate::api::AppState;
use crate::timeline::identity::{self, IdentityKind};
use crate::timeline::messages::MAX_MESSAGE;
use crate::timeline::model::{Channel, Identity};

/// Whether some agent is signed in and not away (available, ringing, busy or in
/// wrap-up) in any queue.
pub async fn agents_online(s: &AppState) -> bool {
    let names = match s.routing.queue_names().await {
        Ok(n) => n,
        Err(e) => {
            // The chat still works (it waits in its queue); only the hint is lost.
            tracing::warn!(error = %e, "routing did not answer; the widget offers chat");
            return true;
        }
    };
    for q in names {
        if let Ok(Some(stats)) = s.routing.stats(&q).await {
            let on = ["available", "offered", "busy", "wrap_up"];
            if on
                .iter()
                .any(|k| stats.agents.get(*k).is_some_and(|n| *n > 0))
            {
                return true;
            }
        }
    }
    false
}

/// Stores an offline message as a new e-mail conversation; answers `left` and
/// the message's `ack`, or an error frame.
pub async fn leave_message(
    s: &AppState,
    customer: Uuid,
    name: &str,
    client_id: String,
    email: String,
    text: String,
) -> Vec<ServerFrame> {
    let address = match identity::normalize(IdentityKind::Email, &email) {
        Ok(a) => a,
        Err(e) => return vec![error("bad_email", e.to_string())],
    };
    let text = text.trim().to_string();
    if text.is_empty() || text.len() > MAX_MESSAGE {
        return vec![error("bad_message", "the message is empty or too long")];
    }
    match store(s, customer, name, &client_id, &address, text).await {
        Ok((conversation, seq)) => vec![
            ServerFrame::Left {
                conversation,
                email: address,
            },
            ServerFrame::Ack { client_id, seq },
        ],
        Err(e) => {
            tracing::error!(error = %e, "offline chat message not stored; the widget resends it");
            vec![error("not_stored", "the message was not stored; try again")]
        }
    }
}

async fn store(
    s: &AppState,
    customer: Uuid,
    name: &str,
    client_id: &str,
    address: &str,
    text: String,
) -> Result<(Uuid, i64), crate::timeline::TimelineError> {
    if let Some(seq) = s.timeline.client_message_of(customer, client_id).await? {
        let open = s.timeline.open_conversation_of(customer, "email").await?;
        return Ok((open.unwrap_or_default(), seq));
    }
    let subject = format!("Chat message from {name}");
    let (conv, first) =
        super::open::open_by_rules(s, customer, Channel::Email, client_id, text, Some(subject))
            .await?;
    let marker = format!("{client_id}.{}@{}", conv.id.simple(), thread::WIDGET_DOMAIN);
    thread::remember(&s.timeline, &marker, conv.id, Some(address)).await?;
    if s.timeline
        .find_by_identity(IdentityKind::Email, address)
        .await?
        .is_none()
    {
        let identity = Identity {
            kind: IdentityKind::Email,
            value: address.to_string(),
            verified: false,
        };
        s.timeline.add_identity(customer, identity).await?;
    }
    Ok((conv.id, first.seq))
}
