//! Browser softphones: which agents have a workspace page that can take calls, and
//! the signalling between a call and that page. A call rings an agent's pages with
//! an SDP offer; the first page that answers gets the call, the others are told it
//! was taken. Everything a page sends about a call is checked against the agent the
//! call rang, so an agent can never answer or hang up another agent's call.
//! Supervisors' pages attach here too: a supervisor monitors an agent's call
//! through the leg that agent's call has (the API checks the role).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use uuid::Uuid;

/// Messages waiting for one page before it counts as stuck and misses some.
const PAGE_QUEUE: usize = 32;
/// Replies from pages waiting for the call.
const LEG_QUEUE: usize = 8;

/// What an agent's page says about a call it was rung for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromBrowser {
    /// The page's SDP answer.
    Answer {
        page: u64,
        sdp: String,
    },
    /// The agent hung up (or declined before answering).
    Hangup,
    /// A keypad digit to send to the caller.
    Dtmf(char),
    /// Blind transfer of the caller to a queue, an agent or a number.
    Transfer(super::transfer::TransferTo),
    /// Put the caller on hold (true) or take them off it (false).
    Hold(bool),
    /// The page went away (closed, reloaded, lost its socket).
    PageGone {
        page: u64,
    },
    /// A supervisor (page `monitor`) starts monitoring, or changes mode.
    Monitor {
        monitor: u64,
        supervisor: String,
        mode: super::monitor::MonitorMode,
    },
    /// The supervisor page's SDP answer.
    MonitorAnswer {
        monitor: u64,
        sdp: String,
    },
    MonitorStop {
        monitor: u64,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignalError {
    #[error("no such call")]
    UnknownCall,
    #[error("the call belongs to another agent")]
    NotYours,
    #[error("the call is not listening")]
    Busy,
}

struct Page {
    id: u64,
    tx: mpsc::Sender<String>,
}

struct Leg {
    agent: Uuid,
    tx: mpsc::Sender<FromBrowser>,
}

#[derive(Default)]
struct Inner {
    next_page: u64,
    pages: HashMap<Uuid, Vec<Page>>,
    legs: HashMap<String, Leg>,
    /// Supervisors' pages, and the leg each one monitors.
    supervisors: HashMap<u64, (mpsc::Sender<String>, Option<String>)>,
}

/// Shared by the API (pages attach here) and calls (which ring here). A std mutex:
/// never held across an await.
#[derive(Clone, Default)]
pub struct Softphones(Arc<Mutex<Inner>>);

impl Softphones {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A workspace page of `agent` ready to take calls; returns its id and the
    /// stream of messages for it.
    pub fn attach(&self, agent: Uuid) -> (u64, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(PAGE_QUEUE);
        let mut inner = self.lock();
        inner.next_page += 1;
        let id = inner.next_page;
        inner.pages.entry(agent).or_default().push(Page { id, tx });
        (id, rx)
    }

    /// The page closed: calls it holds are told so.
    pub fn detach(&self, agent: Uuid, page: u64) {
        let mut inner = self.lock();
        if let Some(pages) = inner.pages.get_mut(&agent) {
            pages.retain(|p| p.id != page);
            if pages.is_empty() {
                inner.pages.remove(&agent);
            }
        }
        for leg in inner.legs.values().filter(|l| l.agent == agent) {
            let _ = leg.tx.try_send(FromBrowser::PageGone { page });
        }
    }

    pub fn has_page(&self, agent: Uuid) -> bool {
        self.lock().pages.contains_key(&agent)
    }

    /// Rings every page of `agent` with `message` (a JSON text) for the call leg
    /// `leg`; returns where the pages' replies arrive, or `None` if the agent has
    /// no page.
    pub fn ring(
        &self,
        agent: Uuid,
        leg: &str,
        message: String,
    ) -> Option<mpsc::Receiver<FromBrowser>> {
        let mut inner = self.lock();
        let pages = inner.pages.get(&agent)?;
        let delivered = pages
            .iter()
            .filter(|p| p.tx.try_send(message.clone()).is_ok())
            .count();
        if delivered == 0 {
            return None;
        }
        let (tx, rx) = mpsc::channel(LEG_QUEUE);
        inner.legs.insert(leg.to_string(), Leg { agent, tx });
        Some(rx)
    }

    /// Sends `message` to the pages of the agent the leg rang.
    pub fn notify(&self, leg: &str, message: String) {
        let inner = self.lock();
        let Some(l) = inner.legs.get(leg) else { return };
        for p in inner.pages.get(&l.agent).into_iter().flatten() {
            if p.tx.try_send(message.clone()).is_err() {
                tracing::warn!(agent = %l.agent, page = p.id, "workspace page is not reading; message dropped");
            }
        }
    }

    /// The call is over: the leg forgets its pages; supervisors on it are told.
    pub fn end(&self, leg: &str) {
        let mut inner = self.lock();
        inner.legs.remove(leg);
        for (id, (tx, watching)) in inner.supervisors.iter_mut() {
            if watching.as_deref() == Some(leg) {
                *watching = None;
                let ended = serde_json::json!({"type": "monitor.ended", "monitor": id, "reason": "call_ended"});
                let _ = tx.try_send(ended.to_string());
            }
        }
    }

    /// A supervisor's page; its id and the stream of messages for it.
    pub fn attach_supervisor(&self) -> (u64, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(PAGE_QUEUE);
        let mut inner = self.lock();
        inner.next_page += 1;
        let id = inner.next_page;
        inner.supervisors.insert(id, (tx, None));
        (id, rx)
    }

    /// The supervisor's page closed: the call it monitored is told.
    pub fn detach_supervisor(&self, id: u64) {
        let mut inner = self.lock();
        let Some((_, Some(leg))) = inner.supervisors.remove(&id) else {
            return;
        };
        if let Some(l) = inner.legs.get(&leg) {
            let _ = l.tx.try_send(FromBrowser::MonitorStop { monitor: id });
        }
    }

    /// Sends `message` to supervisor page `id`.
    pub fn to_supervisor(&self, id: u64, message: String) {
        let inner = self.lock();
        if let Some((tx, _)) = inner.supervisors.get(&id)
            && tx.try_send(message).is_err()
        {
            tracing::warn!(
                supervisor = id,
                "supervisor page is not reading; message dropped"
            );
        }
    }

    /// Supervisor page `id` says `msg` about `agent`'s current browser call (a
    /// start goes to that call; the rest to the call it already monitors).
    pub fn monitor(
        &self,
        id: u64,
        agent: Option<Uuid>,
        msg: FromBrowser,
    ) -> Result<(), SignalError> {
        let mut inner = self.lock();
        let leg = match agent {
            Some(agent) => inner
                .legs
                .iter()
                .find(|(_, l)| l.agent == agent)
                .map(|(name, _)| name.clone()),
            None => inner.supervisors.get(&id).and_then(|(_, w)| w.clone()),
        };
        let leg = leg.ok_or(SignalError::UnknownCall)?;
        let previous = inner
            .supervisors
            .get_mut(&id)
            .map(|(_, w)| w.replace(leg.clone()))
            .ok_or(SignalError::UnknownCall)?;
        if let Some(old) = previous.filter(|old| *old != leg)
            && let Some(l) = inner.legs.get(&old)
        {
            let _ = l.tx.try_send(FromBrowser::MonitorStop { monitor: id });
        }
        let stop = matches!(msg, FromBrowser::MonitorStop { .. });
        let l = inner.legs.get(&leg).ok_or(SignalError::UnknownCall)?;
        l.tx.try_send(msg).map_err(|_| SignalError::Busy)?;
        if stop && let Some((_, watching)) = inner.supervisors.get_mut(&id) {
            *watching = None;
        }
        Ok(())
    }

    /// A page of `agent` says something about call leg `leg`.
    pub fn from_browser(
        &self,
        agent: Uuid,
        leg: &str,
        msg: FromBrowser,
    ) -> Result<(), SignalError> {
        let inner = self.lock();
        let l = inner.legs.get(leg).ok_or(SignalError::UnknownCall)?;
        if l.agent != agent {
            return Err(SignalError::NotYours);
        }
        l.tx.try_send(msg).map_err(|_| SignalError::Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rings_pages_and_checks_ownership() {
        let phones = Softphones::default();
        let (ann, bob) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(phones.ring(ann, "leg", "{}".into()).is_none());
        let (page, mut page_rx) = phones.attach(ann);
        assert!(phones.has_page(ann));
        let mut replies = phones.ring(ann, "leg", "offer".into()).unwrap();
        assert_eq!(page_rx.recv().await.unwrap(), "offer");
        let answer = FromBrowser::Answer {
            page,
            sdp: "v=0".into(),
        };
        assert_eq!(
            phones.from_browser(bob, "leg", answer.clone()),
            Err(SignalError::NotYours)
        );
        assert_eq!(
            phones.from_browser(ann, "other", answer.clone()),
            Err(SignalError::UnknownCall)
        );
        phones.from_browser(ann, "leg", answer.clone()).unwrap();
        assert_eq!(replies.recv().await.unwrap(), answer);
        phones.detach(ann, page);
        assert_eq!(
            replies.recv().await.unwrap(),
            FromBrowser::PageGone { page }
        );
        assert!(!phones.has_page(ann));
        phones.end("leg");
        assert_eq!(
            phones.from_browser(ann, "leg", FromBrowser::Hangup),
            Err(SignalError::UnknownCall)
        );
    }
}
