//! Group commit for messages. `append_message` hands its message to one writer
//! task, which stores every message waiting at that moment (up to `MAX_BATCH`)
//! in one transaction and answers each caller only once that transaction is
//! committed, after publishing the new events on the bus in seq order. A lone
//! message goes at once; under load one commit and a few multi-row statements
//! serve a whole batch instead of a transaction per message, and message writers
//! no longer queue one by one for SQLite's single write lock.
//!
//! Each message is still stored once per client id: the batch reads the ids it
//! carries first, and a resend within the same batch gets the seq of the first.
//! When a batch fails (one message's conversation deleted, say), each of its
//! messages is written again alone, so only the faulty one fails. The queue to
//! the writer is bounded: callers wait for room.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Row};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::bus::EventBus;
use super::error::TimelineError;
use super::messages::Stored;
use super::model::{Channel, Direction, EventPayload, TimelineEvent};
use super::{outbox, rows};
use crate::db::{Db, DbError, now_us};

/// Messages stored in one transaction at most.
pub const MAX_BATCH: usize = 256;
/// Messages waiting for the writer before callers wait for room.
const QUEUE: usize = 4096;

/// A message to store in a conversation (its channel: whether a reply goes
/// through the outbox). The event joins the timeline of the customer holding
/// the conversation at the commit.
#[derive(Debug)]
pub struct Job {
    pub conversation: Uuid,
    pub channel: Channel,
    pub client_id: Option<String>,
    pub payload: EventPayload,
}

struct Queued {
    job: Job,
    reply: oneshot::Sender<Result<Stored, TimelineError>>,
}

/// The handle to the writer task, started with the first message (inside the
/// runtime that serves it) and stopped when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    db: Db,
    bus: EventBus,
    queue: Arc<OnceLock<mpsc::Sender<Queued>>>,
}

impl GroupCommit {
    pub fn new(db: Db, bus: EventBus) -> GroupCommit {
        GroupCommit {
            db,
            bus,
            queue: Arc::new(OnceLock::new()),
        }
    }

    /// Stores the message; returns once it is committed and published.
    pub async fn write(&self, job: Job) -> Result<Stored, TimelineError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(self.db.clone(), self.bus.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        queue
            .send(Queued { job, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> TimelineError {
    TimelineError::Db(DbError::Unreachable("the message writer stopped".into()))
}

async fn run(db: Db, bus: EventBus, mut rx: mpsc::Receiver<Queued>) {
    // The writer keeps a connection of its own, unless the pool has only one:
    // then it would starve every other query.
    let keep = db.pool.options().get_max_connections() > 1;
    let mut held: Option<PoolConnection<Any>> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs: Vec<&Job> = batch.iter().map(|q| &q.job).collect();
        match write_batch(&db, &mut held, &jobs).await {
            Ok(stored) => answer(&bus, batch.drain(..).zip(stored.into_iter().map(Ok))),
            Err(e) if batch.len() == 1 => answer(&bus, batch.drain(..).zip([Err(e)])),
            Err(e) => {
                tracing::warn!(error = %e, messages = batch.len(), "message batch failed; storing its messages one by one");
                for q in batch.drain(..) {
                    let alone = write_batch(&db, &mut held, &[&q.job]).await;
                    let result = alone.map(|mut s| s.remove(0));
                    answer(&bus, [(q, result)].into_iter());
                }
            }
        }
        if !keep {
            held = None;
        }
    }
}

/// Publishes the new events (in seq order), then answers their callers.
fn answer(bus: &EventBus, results: impl Iterator<Item = (Queued, Result<Stored, TimelineError>)>) {
    let mut results: Vec<_> = results.collect();
    let mut new: Vec<&TimelineEvent> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Stored::New(e)) => Some(e),
            _ => None,
        })
        .collect();
    new.sort_by_key(|e| e.seq);
    for e in new {
        bus.publish(e.clone());
    }
    for (q, r) in results.drain(..) {
        // A caller that gave up waiting still has its message stored.
        let _ = q.reply.send(r);
    }
}

/// Stores `jobs` in one transaction on the held connection (taken from the
/// pool when there is none, let go after a failure); one outcome per job, in order.
async fn write_batch(
    db: &Db,
    held: &mut Option<PoolConnection<Any>>,
    jobs: &[&Job],
) -> Result<Vec<Stored>, TimelineError> {
    let mut conn = match held.take() {
        Some(c) => c,
        None => db.pool.acquire().await?,
    };
    let stored = write_on(db, &mut conn, jobs).await;
    if stored.is_ok() {
        *held = Some(conn);
    }
    stored
}

async fn write_on(
    db: &Db,
    conn: &mut AnyConnection,
    jobs: &[&Job],
) -> Result<Vec<Stored>, TimelineError> {
    let mut tx = db.begin_write_on(conn).await?;
    let seen = stored_ids(&mut tx, jobs).await?;
    // Each job: already stored (its seq), a resend of an earlier job of this
    // batch (that job's index), or new (its index among the new events).
    enum Plan {
        Seen(i64),
        SameAs(usize),
        New(usize),
    }
    let mut first_of: HashMap<(Uuid, &str), usize> = HashMap::new();
    let mut fresh: Vec<&Job> = Vec::new();
    let mut plans = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let key = job.client_id.as_deref().map(|c| (job.conversation, c));
        let plan = match key {
            Some(k) if seen.contains_key(&k) => Plan::Seen(seen[&k]),
            Some(k) if first_of.contains_key(&k) => Plan::SameAs(first_of[&k]),
            _ => {
                if let Some(k) = key {
                    first_of.insert(k, i);
                }
                fresh.push(job);
                Plan::New(fresh.len() - 1)
            }
        };
        plans.push(plan);
    }
    let events = insert_events(&mut tx, &fresh).await?;
    for (job, event) in fresh.iter().zip(&events) {
        reply_bookkeeping(&mut tx, job, event.seq).await?;
    }
    remember_client_ids(&mut tx, &fresh, &events).await?;
    tx.commit().await?;
    let seq_of = |i: usize| match &plans[i] {
        Plan::New(n) => events[*n].seq,
        Plan::Seen(seq) => *seq,
        Plan::SameAs(_) => 0,
    };
    Ok(plans
        .iter()
        .map(|p| match p {
            Plan::Seen(seq) => Stored::Duplicate(*seq),
            Plan::SameAs(i) => Stored::Duplicate(seq_of(*i)),
            Plan::New(n) => Stored::New(events[*n].clone()),
        })
        .collect())
}

/// The seqs already stored under the batch's client ids, by (conversation, id).
async fn stored_ids<'j>(
    tx: &mut AnyConnection,
    jobs: &[&'j Job],
) -> Result<HashMap<(Uuid, &'j str), i64>, TimelineError> {
    let keyed: Vec<(Uuid, &str)> = jobs
        .iter()
        .filter_map(|j| j.client_id.as_deref().map(|c| (j.conversation, c)))
        .collect();
    let mut found = HashMap::new();
    if keyed.is_empty() {
        return Ok(found);
    }
    let pairs: Vec<String> = (0..keyed.len())
        .map(|i| {
            format!(
                "(conversation_id = ${} AND client_id = ${})",
                2 * i + 1,
                2 * i + 2
            )
        })
        .collect();
    let sql = format!(
        "SELECT conversation_id, client_id, seq FROM message_dedup WHERE {}",
        pairs.join(" OR ")
    );
    let mut query = sqlx::query(&sql);
    for (conversation, client_id) in &keyed {
        query = query
            .bind(conversation.to_string())
            .bind(client_id.to_string());
    }
    for row in query.fetch_all(&mut *tx).await? {
        let conversation = rows::uuid(&row, "conversation_id")?;
        let client_id: String = row.try_get("client_id")?;
        if let Some(key) = keyed
            .iter()
            .find(|(c, id)| *c == conversation && *id == client_id)
        {
            found.insert(*key, row.try_get("seq")?);
        }
    }
    Ok(found)
}

/// Inserts the new message events in one statement; the events, in job order.
async fn insert_events(
    tx: &mut AnyConnection,
    jobs: &[&Job],
) -> Result<Vec<TimelineEvent>, TimelineError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let occurred = now_us();
    let mut events = Vec::with_capacity(jobs.len());
    let mut values = Vec::with_capacity(jobs.len());
    let mut bodies = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let p = 5 * i;
        values.push(format!(
            "(${id}, (SELECT customer_id FROM conversations WHERE id = ${c}), ${c}, ${}, ${}, ${})",
            p + 3,
            p + 4,
            p + 5,
            id = p + 1,
            c = p + 2,
        ));
        bodies.push(
            serde_json::to_string(&job.payload)
                .map_err(|e| super::error::invalid("payload", e.to_string()))?,
        );
        events.push(TimelineEvent {
            seq: 0,
            // Time-ordered ids: the events' unique index on `id` grows at its
            // end instead of dirtying a random page for every message.
            id: Uuid::now_v7(),
            customer_id: Uuid::nil(),
            conversation_id: Some(job.conversation),
            occurred_at: rows::time(occurred),
            payload: job.payload.clone(),
        });
    }
    let sql = format!(
        "INSERT INTO timeline_events (id, customer_id, conversation_id, kind, payload, occurred_us) \
         VALUES {} RETURNING id, seq, customer_id",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (event, body) in events.iter().zip(bodies) {
        query = query
            .bind(event.id.to_string())
            .bind(event.conversation_id.map(|c| c.to_string()))
            .bind(event.payload.kind())
            .bind(body)
            .bind(occurred);
    }
    // RETURNING promises no row order: match the rows by event id.
    let mut stored = HashMap::with_capacity(events.len());
    for row in query.fetch_all(&mut *tx).await? {
        let owner = rows::uuid(&row, "customer_id")?;
        stored.insert(
            rows::uuid(&row, "id")?,
            (row.try_get::<i64, _>("seq")?, owner),
        );
    }
    for event in &mut events {
        (event.seq, event.customer_id) = *stored
            .get(&event.id)
            .ok_or_else(|| TimelineError::Conflict(format!("no seq for event {}", event.id)))?;
    }
    Ok(events)
}

/// For a reply: the conversation's first response time and, on channels that
/// deliver, its outbox row.
async fn reply_bookkeeping(
    tx: &mut AnyConnection,
    job: &Job,
    seq: i64,
) -> Result<(), TimelineError> {
    let outbound = matches!(
        job.payload,
        EventPayload::Message {
            direction: Direction::Out,
            ..
        }
    );
    if !outbound {
        return Ok(());
    }
    sqlx::query("UPDATE conversations SET first_response_us = $1 WHERE id = $2 AND first_response_us IS NULL")
        .bind(now_us())
        .bind(job.conversation.to_string())
        .execute(&mut *tx)
        .await?;
    if outbox::delivers(job.channel) {
        outbox::enqueue(&mut *tx, seq, job.conversation, job.channel).await?;
    }
    Ok(())
}

/// Records the client ids of the new messages in one statement.
async fn remember_client_ids(
    tx: &mut AnyConnection,
    jobs: &[&Job],
    events: &[TimelineEvent],
) -> Result<(), TimelineError> {
    let ids: Vec<(Uuid, &str, i64)> = jobs
        .iter()
        .zip(events)
        .filter_map(|(j, e)| j.client_id.as_deref().map(|c| (j.conversation, c, e.seq)))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..ids.len())
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    let sql = format!(
        "INSERT INTO message_dedup (conversation_id, client_id, seq) VALUES {}",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (conversation, client_id, seq) in ids {
        query = query
            .bind(conversation.to_string())
            .bind(client_id.to_string())
            .bind(seq);
    }
    query.execute(&mut *tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::TimelineStore;
    use crate::timeline::model::{NewConversation, NewCustomer};

    async fn chat() -> (TimelineStore, Uuid) {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        db.migrate().await.unwrap();
        let t = TimelineStore::new(db, EventBus::new());
        let ann = NewCustomer {
            name: "Ann".into(),
            ..Default::default()
        };
        let customer = t.create_customer(ann).await.unwrap();
        let new = NewConversation {
            customer_id: customer.id,
            channel: Channel::Chat,
            queue: Some("support".into()),
            priority: 0,
            subject: None,
            text: None,
        };
        let conv = t.open_conversation(new).await.unwrap();
        (t, conv.id)
    }

    fn message(text: &str) -> EventPayload {
        EventPayload::Message {
            direction: Direction::In,
            author: "Ann".into(),
            text: text.into(),
            attachments: vec![],
        }
    }

    #[tokio::test]
    async fn a_batch_stores_each_client_id_once_and_publishes_in_order() {
        let (t, conv) = chat().await;
        let mut bus = t.bus.subscribe();
        // 40 messages at once, each sent twice: one batch with resends in it.
        let sends = (0..80).map(|i| {
            let (t, cid) = (t.clone(), format!("c{}", i % 40));
            async move { t.append_message(conv, Some(&cid), message(&cid)).await }
        });
        let stored: Vec<Stored> = futures::future::try_join_all(sends).await.unwrap();
        let mut seq_of = HashMap::new();
        for (i, s) in stored.iter().enumerate() {
            if let Stored::New(e) = s {
                assert!(
                    seq_of.insert(i % 40, e.seq).is_none(),
                    "c{} stored twice",
                    i % 40
                );
            }
        }
        assert_eq!(seq_of.len(), 40);
        for (i, s) in stored.iter().enumerate() {
            if let Stored::Duplicate(seq) = s {
                assert_eq!(*seq, seq_of[&(i % 40)], "a resend gets the first one's seq");
            }
        }
        let published: Vec<i64> =
            std::iter::from_fn(|| bus.try_recv().ok().map(|e| e.seq)).collect();
        assert_eq!(published.len(), 40);
        assert!(published.windows(2).all(|w| w[0] < w[1]), "{published:?}");
        assert_eq!(t.conversation_messages(conv, 100).await.unwrap().len(), 40);
        let again = t
            .append_message(conv, Some("c7"), message("c7"))
            .await
            .unwrap();
        assert_eq!(
            again,
            Stored::Duplicate(seq_of[&7]),
            "resent after the batch"
        );
    }

    #[tokio::test]
    async fn a_message_that_cannot_be_stored_fails_alone() {
        let (t, conv) = chat().await;
        let job = |conversation: Uuid, cid: &str| Job {
            conversation,
            channel: Channel::Chat,
            client_id: Some(cid.into()),
            payload: message(cid),
        };
        let (good, bad, good2) = tokio::join!(
            t.messages.write(job(conv, "a")),
            t.messages.write(job(Uuid::new_v4(), "b")),
            t.messages.write(job(conv, "c")),
        );
        assert!(matches!(good, Ok(Stored::New(_))), "{good:?}");
        assert!(bad.is_err(), "no such conversation: {bad:?}");
        assert!(matches!(good2, Ok(Stored::New(_))), "{good2:?}");
        let owner = match good.unwrap() {
            Stored::New(e) => e.customer_id,
            other => panic!("{other:?}"),
        };
        assert_eq!(owner, t.conversation(conv).await.unwrap().customer_id);
    }
}
