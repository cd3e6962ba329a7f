//! The trunk's health: an OPTIONS ping every `trunk.options_seconds`, sent
//! through the SIP shell under a Call-ID of its own (joined like a placed
//! call). Any final answer means the trunk is reachable; a transaction timeout
//! means it is not. The state is the `switchboard_trunk_up` gauge and a log
//! line when it changes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::call::{self, CallCommand, CallContext, CallInput};
use crate::sip::dialog::{new_branch, random_token};
use crate::sip::transaction::TxKey;
use crate::sip::uri::Uri;
use crate::sip::via::Via;
use crate::sip::{Message, Method};

/// Gauge values.
pub const UNKNOWN: i64 = -1;
pub const DOWN: i64 = 0;
pub const UP: i64 = 1;

/// Pings the trunk until `shutdown`; does nothing without a trunk or interval.
pub async fn run(
    ctx: Arc<CallContext>,
    out: mpsc::Sender<CallCommand>,
    shutdown: CancellationToken,
) {
    let every = Duration::from_secs(ctx.config.trunk.options_seconds.into());
    let Ok(trunk) = ctx.config.trunk.address.parse::<SocketAddr>() else {
        return;
    };
    if every.is_zero() {
        return;
    }
    let call_id = format!("{}@switchboard", random_token());
    let (tx, mut rx) = mpsc::channel(8);
    let join = CallCommand::Join {
        call_id: call_id.clone(),
        input: tx,
    };
    if out.send(join).await.is_err() {
        return;
    }
    let tag = random_token();
    let mut ticker = tokio::time::interval(every);
    let mut pending: Option<TxKey> = None;
    for seq in 1u32.. {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick(), if pending.is_none() => {
                let Some(ping) = options(&ctx, trunk, &call_id, &tag, seq) else {
                    tracing::error!(trunk = %trunk, "the trunk's address is not a SIP URI; not pinged");
                    break;
                };
                pending = TxKey::for_sent_request(&ping);
                let req = CallCommand::Request { call_id: call_id.clone(), msg: ping, dest: trunk };
                if out.send(req).await.is_err() {
                    break;
                }
            }
            input = rx.recv() => match input {
                Some(CallInput::Response { key, msg }) if Some(&key) == pending.as_ref() => {
                    if msg.status().is_some_and(|c| c >= 200) {
                        pending = None;
                        set(&ctx, UP);
                    }
                }
                Some(CallInput::TxTimeout { key }) if Some(&key) == pending.as_ref() => {
                    pending = None;
                    set(&ctx, DOWN);
                }
                Some(CallInput::Shutdown) | None => break,
                Some(_) => {}
            },
        }
    }
    let _ = out.send(CallCommand::Ended { call_id }).await;
}

/// Records the trunk's state, logging a change.
fn set(ctx: &CallContext, state: i64) {
    let before = ctx.stats.trunk_up.swap(state, Ordering::Relaxed);
    if before != state {
        match state {
            UP => tracing::info!(trunk = %ctx.config.trunk.address, "trunk answers OPTIONS"),
            _ => tracing::warn!(trunk = %ctx.config.trunk.address, "trunk does not answer OPTIONS"),
        }
    }
}

/// One OPTIONS to the trunk.
fn options(
    ctx: &CallContext,
    trunk: SocketAddr,
    call_id: &str,
    tag: &str,
    seq: u32,
) -> Option<Message> {
    let local = SocketAddr::new(call::local_ip(ctx, trunk), ctx.sip_local.port());
    let uri = Uri::parse(&format!("sip:{trunk}")).ok()?;
    let mut m = Message::request(Method::Options, uri);
    m.headers
        .push("Via", Via::new("UDP", local, &new_branch()).to_string());
    m.headers.push("Max-Forwards", "70");
    let user = &ctx.config.trunk.caller_id;
    m.headers
        .push("From", format!("<sip:{user}@{local}>;tag={tag}"));
    m.headers.push("To", format!("<sip:{trunk}>"));
    m.headers.push("Call-ID", call_id);
    m.headers.push("CSeq", format!("{seq} OPTIONS"));
    m.headers
        .push("User-Agent", ctx.config.sip.user_agent.clone());
    Some(m)
}
