//! Replies in `social` conversations go back to the platform the customer wrote
//! from: the client id of the conversation's latest platform message says which
//! (`wx-` WeChat, `wh-` the webhook channel). One delivery loop serves both.

use crate::channels::delivery::{Deliver, Outcome};
use crate::channels::{webhook, wechat};
use crate::timeline::TimelineStore;
use crate::timeline::outbox::Pending;

pub struct Sender {
    pub timeline: TimelineStore,
    pub wechat: Option<wechat::outbound::Sender>,
    pub webhook: Option<webhook::outbound::Sender>,
}

impl Deliver for Sender {
    async fn deliver(&self, p: &Pending) -> Outcome {
        let prefixes = [wechat::xml::CLIENT_ID_PREFIX, webhook::CLIENT_ID_PREFIX];
        let last = match self
            .timeline
            .last_client_id(p.conversation_id, &prefixes)
            .await
        {
            Ok(l) => l,
            Err(e) => return Outcome::Temporary(e.to_string()),
        };
        let Some(last) = last else {
            return Outcome::Permanent("no platform message in this conversation to answer".into());
        };
        if last.starts_with(wechat::xml::CLIENT_ID_PREFIX) {
            match &self.wechat {
                Some(w) => w.deliver(p).await,
                None => Outcome::Temporary("the WeChat channel is not configured".into()),
            }
        } else {
            match &self.webhook {
                Some(w) => w.deliver(p).await,
                None => Outcome::Temporary("the webhook channel is not configured".into()),
            }
        }
    }
}
