//! Opening a visitor's chat: a conversation opens with the visitor's first message,
//! never when the widget merely connects, so no empty chat waits in a queue.
//!
//! At most one chat of a visitor is open, even when two tabs send their first
//! message at once: finding the customer's open chat and opening one happen under a
//! per-customer lock, and the second tab finds the conversation the first opened.
//! The lock is in-process because this process is the only one writing
//! conversations (the routing actor and the event bus are in-process too). A unique
//! index on open chats is not used: a merge may rightly leave one customer with two.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use crate::api::AppState;
use crate::timeline::TimelineError;
use crate::timeline::messages::Stored;
use crate::timeline::model::{Channel, Direction, EventPayload};

/// One lock per customer whose chat is being opened; an entry lives only while
/// someone holds or waits for its lock.
#[derive(Clone, Default)]
pub struct OpenLocks {
    held: Arc<Mutex<HashMap<Uuid, Weak<tokio::sync::Mutex<()>>>>>,
}

impl OpenLocks {
    /// Waits for the customer's lock; it is released when the guard is dropped.
    pub async fn lock(&self, customer: Uuid) -> OwnedMutexGuard<()> {
        let lock = {
            // A panic elsewhere while holding the map cannot leave it inconsistent.
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.retain(|_, l| l.strong_count() > 0);
            match held.get(&customer).and_then(Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(tokio::sync::Mutex::new(()));
                    held.insert(customer, Arc::downgrade(&l));
                    l
                }
            }
        };
        lock.lock_owned().await
    }
}

/// Where a visitor's message went.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The customer's open chat holding the message; `None` when the message was a
    /// resend of one stored in a chat that is closed since.
    pub conversation: Option<Uuid>,
    pub stored: Stored,
}

/// Stores the message of a visitor who has no open chat on this connection: in the
/// customer's open chat if another tab opened one, acknowledged again if it was
/// stored before (a resend whose chat was resolved meanwhile), otherwise as the first
/// message of a new chat in the queue the routing rules choose, enqueued in routing
/// after the commit.
pub async fn place_message(
    s: &AppState,
    customer: Uuid,
    author: &str,
    client_id: &str,
    text: String,
) -> Result<Placed, TimelineError> {
    let _guard = s.chat_opening.lock(customer).await;
    let open = s.timeline.open_conversation_of(customer, "chat").await?;
    if let Some(seq) = s.timeline.client_message_of(customer, client_id).await? {
        return Ok(Placed {
            conversation: open,
            stored: Stored::Duplicate(seq),
        });
    }
    if let Some(conversation) = open {
        let payload = EventPayload::Message {
            direction: Direction::In,
            author: author.to_string(),
            text,
            attachments: vec![],
        };
        let stored = s
            .timeline
            .append_message(conversation, Some(client_id), payload)
            .await?;
        return Ok(Placed {
            conversation: open,
            stored,
        });
    }
    open_chat(s, customer, client_id, text).await
}

/// Opens a chat with its first message where the routing rules place it.
async fn open_chat(
    s: &AppState,
    customer: Uuid,
    client_id: &str,
    text: String,
) -> Result<Placed, TimelineError> {
    let (conv, first) =
        super::open::open_by_rules(s, customer, Channel::Chat, client_id, text, None).await?;
    Ok(Placed {
        conversation: Some(conv.id),
        stored: Stored::New(first),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_customer_waits_others_do_not_and_entries_go() {
        let locks = OpenLocks::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let held = locks.lock(a).await;
        let other = tokio::time::timeout(Duration::from_millis(100), locks.lock(b)).await;
        assert!(other.is_ok(), "another customer is not blocked");
        let same = tokio::time::timeout(Duration::from_millis(100), locks.lock(a)).await;
        assert!(same.is_err(), "the same customer waits");
        drop((held, other));
        let again = tokio::time::timeout(Duration::from_millis(100), locks.lock(a)).await;
        assert!(again.is_ok(), "released with the guard");
        drop(again);
        let _c = locks.lock(Uuid::new_v4()).await;
        let left = locks.held.lock().unwrap().len();
        assert_eq!(left, 1, "unused entries are dropped");
    }
}
