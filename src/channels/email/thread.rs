//! E-mail threads in the database: every Message-ID we have seen or sent, its
//! conversation, who sent it and when. Inbound mail finds its conversation here by
//! In-Reply-To / References; a reply finds its recipient (the thread's last
//! sender) and the ids its own threading headers carry.

use sqlx::Row;
use uuid::Uuid;

use crate::db::now_us;
use crate::timeline::identity::IdentityKind;
use crate::timeline::{TimelineError, TimelineStore};

/// The domain of the ids that note an address left in the chat widget's offline
/// form: they give a reply its recipient but are not real messages, so replies
/// never name them in In-Reply-To or References.
pub const WIDGET_DOMAIN: &str = "widget.invalid";

/// Ids a reply's References may draw on (the newest are kept).
const THREAD_IDS: i64 = 50;

/// The conversation the first known id of `ids` belongs to.
pub async fn conversation_of(
    store: &TimelineStore,
    ids: &[String],
) -> Result<Option<Uuid>, TimelineError> {
    for id in ids {
        let row = sqlx::query("SELECT conversation_id FROM email_threads WHERE message_id = $1")
            .bind(id.clone())
            .fetch_optional(&store.db.pool)
            .await?;
        if let Some(r) = row {
            let conv: String = r.try_get("conversation_id")?;
            if let Ok(c) = Uuid::parse_str(&conv) {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

/// Notes a message of `conversation`; `from` is the sender of inbound mail, None
/// for our own replies. A message seen twice keeps its first record.
pub async fn remember(
    store: &TimelineStore,
    message_id: &str,
    conversation: Uuid,
    from: Option<&str>,
) -> Result<(), TimelineError> {
    let exists = sqlx::query("SELECT 1 AS x FROM email_threads WHERE message_id = $1")
        .bind(message_id.to_string())
        .fetch_optional(&store.db.pool)
        .await?;
    if exists.is_none() {
        sqlx::query(
            "INSERT INTO email_threads (message_id, conversation_id, from_addr, seen_us) VALUES ($1, $2, $3, $4)",
        )
        .bind(message_id.to_string())
        .bind(conversation.to_string())
        .bind(from.map(str::to_string))
        .bind(now_us())
        .execute(&store.db.pool)
        .await?;
    }
    Ok(())
}

/// Where a reply in `conversation` goes and what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The last sender of the thread, else the customer's e-mail identity.
    pub address: Option<String>,
    /// The customer's newest message (what In-Reply-To names).
    pub answering: Option<String>,
    /// Message-IDs of the thread, oldest first, without the reply's own.
    pub ids: Vec<String>,
}

/// The recipient and the thread of the reply `own_id` in `conversation` of
/// `customer` (a reply tried before is already in the thread; it is left out).
pub async fn reply_to(
    store: &TimelineStore,
    conversation: Uuid,
    customer: Uuid,
    own_id: &str,
) -> Result<ReplyTo, TimelineError> {
    let rows = sqlx::query(
        "SELECT message_id, from_addr FROM email_threads WHERE conversation_id = $1 \
         ORDER BY COALESCE(seen_us, 0) DESC, message_id LIMIT $2",
    )
    .bind(conversation.to_string())
    .bind(THREAD_IDS)
    .fetch_all(&store.db.pool)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let (mut address, mut answering) = (None, None);
    for r in &rows {
        let id: String = r.try_get("message_id")?;
        if id == own_id {
            continue;
        }
        let from: Option<String> = r.try_get("from_addr")?;
        let real = !id.ends_with(WIDGET_DOMAIN);
        if address.is_none() && from.as_deref().is_some_and(|f| !f.is_empty()) {
            address = from;
            answering = real.then(|| id.clone());
        }
        if real {
            ids.push(id);
        }
    }
    ids.reverse();
    if address.is_none() {
        address = store
            .customer(customer)
            .await?
            .identities
            .into_iter()
            .find(|i| i.kind == IdentityKind::Email)
            .map(|i| i.value);
    }
    Ok(ReplyTo {
        address,
        answering,
        ids,
    })
}
