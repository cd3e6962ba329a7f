//! The e-mail channel, inbound: a built-in SMTP listener (off unless
//! `email.smtp_listen` is set) that the company's mail server forwards the support
//! address to. Each message is resolved to a customer by address, threaded into
//! its conversation by Message-ID / In-Reply-To / References (or opens one in the
//! queue the routing rules choose), committed to the timeline, and only then
//! accepted with 250.

pub mod compose;
pub mod encoded_word;
pub mod message;
pub mod outbound;
pub mod smtp;
pub mod thread;

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::routing::actor::RoutingService;
use crate::routing::engine::Input;
use crate::routing::placement::{Opening, Placement, customer_of};
use crate::routing::rules_store::RoutingRules;
use crate::timeline::identity::IdentityKind;
use crate::timeline::model::{Channel, Direction, EventPayload, NewConversation, NewCustomer};
use crate::timeline::{TimelineError, TimelineStore};
use smtp::{Session, Step};

/// Longest SMTP line accepted (RFC 5321 allows 1,000 with CRLF).
const MAX_LINE: usize = 4096;

#[derive(Clone)]
pub struct EmailChannel {
    pub timeline: TimelineStore,
    pub routing: RoutingService,
    pub rules: RoutingRules,
}

/// Accepts SMTP connections until `shutdown`.
pub async fn serve(listener: TcpListener, channel: EmailChannel, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => { tokio::spawn(connection(stream, peer, channel.clone(), shutdown.clone())); }
                Err(e) => tracing::warn!(error = %e, "SMTP accept failed"),
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    channel: EmailChannel,
    shutdown: CancellationToken,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut session = Session::new("switchboard");
    if write
        .write_all(format!("{}\r\n", session.greeting()).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE as u64);
        let read = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = limited.read_until(b'\n', &mut line) => r,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !line.ends_with(b"\n") {
            let _ = write.write_all(b"500 Line too long\r\n").await;
            break;
        }
        let text = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&line);
        let reply = match session.line(text) {
            Step::Reply(r) if r.is_empty() => continue,
            Step::Reply(r) => r,
            Step::Close(r) => {
                let _ = write.write_all(format!("{r}\r\n").as_bytes()).await;
                break;
            }
            Step::Message(envelope) => match ingest(&channel, &envelope).await {
                Ok(id) => format!("250 OK queued as {id}"),
                Err(e) => {
                    tracing::error!(%peer, error = %e, "e-mail not stored; the sender will retry");
                    "451 Temporary failure, try again later".to_string()
                }
            },
        };
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
}

/// Stores one message; returns the conversation it joined.
pub async fn ingest(
    channel: &EmailChannel,
    envelope: &smtp::Envelope,
) -> Result<Uuid, TimelineError> {
    let mail = message::parse(&envelope.data, &envelope.from);
    let store = &channel.timeline;
    let name = mail.from_name.clone().unwrap_or_else(|| mail.from.clone());
    let customer = match store
        .customer_of_identity(IdentityKind::Email, &mail.from, &name)
        .await
    {
        Ok(id) => id,
        // A sender address we cannot use as an identity: a customer without one.
        Err(TimelineError::Identity(_)) => {
            let new = NewCustomer {
                name,
                ..Default::default()
            };
            store.create_customer(new).await?.id
        }
        Err(e) => return Err(e),
    };
    let conversation = match thread::conversation_of(store, &mail.refers_to).await? {
        Some(c) => c,
        None => {
            let placement = place(channel, customer, &mail, &envelope.to).await?;
            let conv = store
                .open_conversation_noted(
                    NewConversation {
                        customer_id: customer,
                        channel: Channel::Email,
                        queue: Some(placement.queue().to_string()),
                        priority: placement.priority(),
                        subject: Some(mail.subject.clone()),
                        text: None,
                    },
                    placement.event(),
                )
                .await?;
            if let Err(e) = channel
                .routing
                .apply(Input::Enqueue(placement.work_item(&conv)))
                .await
            {
                tracing::error!(error = %e, "e-mail conversation not queued; it is restored at the next start");
            }
            conv.id
        }
    };
    let author = mail.from_name.clone().unwrap_or_else(|| mail.from.clone());
    let text = if mail.subject.is_empty() {
        mail.text.clone()
    } else {
        format!("{}\n\n{}", mail.subject, mail.text)
    };
    let text = if text.trim().is_empty() {
        "(empty message)".to_string()
    } else {
        text.chars()
            .take(crate::timeline::messages::MAX_MESSAGE / 4)
            .collect()
    };
    let payload = EventPayload::Message {
        direction: Direction::In,
        author,
        text,
        attachments: vec![],
    };
    store
        .append_message(
            conversation,
            mail.message_id.as_deref().map(|m| &m[..m.len().min(64)]),
            payload,
        )
        .await?;
    if let Some(id) = &mail.message_id {
        thread::remember(store, id, conversation, Some(&mail.from)).await?;
    }
    Ok(conversation)
}

/// Where the routing rules put a new thread, by its subject and text and the
/// addresses it was sent to.
async fn place(
    channel: &EmailChannel,
    customer: Uuid,
    mail: &message::Mail,
    to: &[String],
) -> Result<Placement, TimelineError> {
    let who = customer_of(&channel.timeline, customer).await?;
    let text = format!("{}\n{}", mail.subject, mail.text);
    let opening = Opening {
        customer: &who,
        channel: Channel::Email,
        text: &text,
        to,
    };
    Ok(channel.rules.place(&opening, chrono::Utc::now()))
}
