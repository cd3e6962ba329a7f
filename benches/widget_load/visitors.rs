//! The visitors' side: one widget socket each, through the phases of the run.

use super::*;

/// What one visitor measured.
#[derive(Default)]
pub(super) struct VisitorResult {
    pub(super) welcome: Option<f64>,
    /// Message → ack, ms, by phase.
    pub(super) acks: BTreeMap<Tag, Vec<f64>>,
    /// When each throughput-phase ack came.
    pub(super) load_acks: Vec<Instant>,
    pub(super) sent: usize,
    pub(super) acked: usize,
    pub(super) failed: bool,
}

/// One visitor's widget through the phases.
pub(super) async fn visitor(
    i: usize,
    base: String,
    period: Duration,
    window: usize,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
    connecting: Arc<tokio::sync::Semaphore>,
) -> VisitorResult {
    let mut r = VisitorResult::default();
    let permit = connecting.acquire().await;
    let t0 = Instant::now();
    let ws = connect(&format!("ws://{base}/chat/ws"), None).await;
    let mut w = match ws {
        Ok(ws) => Widget {
            ws,
            n: 0,
            outstanding: Default::default(),
        },
        Err(e) => {
            shared.fail(format!("widget {e}"));
            shared.finished.fetch_add(1, Ordering::SeqCst);
            r.failed = true;
            return r;
        }
    };
    shared.socket_up();
    let hello = json!({"type": "hello", "name": format!("Visitor {i}")});
    let welcome = match w.send(&hello).await {
        Ok(()) => w.until("welcome", Duration::from_secs(30)).await,
        Err(e) => Err(e),
    };
    drop(permit);
    if let Err(e) = welcome {
        shared.fail(format!("welcome: {e}"));
        r.failed = true;
    } else {
        r.welcome = Some(t0.elapsed().as_secs_f64() * 1000.0);
        shared.welcomed.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = w.phases(&mut r, period, window, &mut phase, &shared).await {
            shared.fail(e);
            r.failed = true;
        }
    }
    shared.finished.fetch_add(1, Ordering::SeqCst);
    let _ = phase.wait_for(|p| *p == Phase::Done).await;
    let _ = w.ws.close(None).await;
    shared.open.fetch_sub(1, Ordering::SeqCst);
    r
}

struct Widget {
    ws: Ws,
    n: u64,
    /// Client id → (phase, sent at), oldest first.
    outstanding: std::collections::VecDeque<(String, Tag, Instant)>,
}

impl Widget {
    async fn send(&mut self, frame: &Value) -> Result<(), String> {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    async fn next_frame(&mut self, wait: Duration) -> Result<Value, String> {
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        return serde_json::from_str::<Value>(&t).map_err(|e| e.to_string());
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("socket: {e}")),
                    None => return Err("socket closed".into()),
                }
            }
        };
        tokio::time::timeout(wait, read)
            .await
            .map_err(|_| format!("nothing for {} s", wait.as_secs()))?
    }

    /// Skips frames up to one of `kind`.
    async fn until(&mut self, kind: &str, wait: Duration) -> Result<Value, String> {
        loop {
            let f = self.next_frame(wait).await?;
            if f["type"] == kind {
                return Ok(f);
            }
        }
    }

    async fn message(&mut self, tag: Tag, r: &mut VisitorResult) -> Result<(), String> {
        self.n += 1;
        let client_id = format!("c{}", self.n);
        let frame =
            json!({"type": "message", "client_id": client_id, "text": message_text(tag, self.n)});
        self.send(&frame).await?;
        self.outstanding.push_back((client_id, tag, Instant::now()));
        r.sent += 1;
        Ok(())
    }

    /// Reads frames up to the next ack or error; an error frame answers the
    /// oldest message (the server answers a socket's frames in order). Only a
    /// broken socket or protocol is an `Err`.
    async fn ack(&mut self, r: &mut VisitorResult, shared: &Shared) -> Result<(), String> {
        loop {
            let f = self
                .next_frame(Duration::from_secs(30))
                .await
                .map_err(|e| format!("ack: {e}"))?;
            match f["type"].as_str() {
                Some("ack") => {
                    let at = Instant::now();
                    let pos = self
                        .outstanding
                        .iter()
                        .position(|(c, _, _)| f["client_id"] == c.as_str());
                    let (_, tag, sent) = pos
                        .and_then(|p| self.outstanding.remove(p))
                        .ok_or_else(|| format!("ack of an unknown message: {f}"))?;
                    r.acked += 1;
                    if tag != Tag::Open {
                        shared.acked.fetch_add(1, Ordering::SeqCst);
                    }
                    r.acks
                        .entry(tag)
                        .or_default()
                        .push((at - sent).as_secs_f64() * 1000.0);
                    if tag == Tag::Load {
                        r.load_acks.push(at);
                    }
                    return Ok(());
                }
                Some("error") => {
                    // Not stored: counted, and the visitor goes on with its next message.
                    self.outstanding.pop_front();
                    shared.fail(format!(
                        "error frame: {}",
                        f["code"].as_str().unwrap_or("?")
                    ));
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    async fn phases(
        &mut self,
        r: &mut VisitorResult,
        period: Duration,
        window: usize,
        phase: &mut watch::Receiver<Phase>,
        shared: &Shared,
    ) -> Result<(), String> {
        phase
            .wait_for(|p| *p != Phase::Connect)
            .await
            .map_err(|e| e.to_string())?;
        self.message(Tag::Open, r).await?;
        let _opened = self
            .until("opened", Duration::from_secs(30))
            .await
            .map_err(|e| format!("opened: {e}"))?;
        self.ack(r, shared).await?;
        shared.opened.fetch_add(1, Ordering::SeqCst);
        let until = match *phase
            .wait_for(|p| matches!(p, Phase::Latency { .. }))
            .await
            .map_err(|e| e.to_string())?
        {
            Phase::Latency { until } => until,
            _ => return Ok(()),
        };
        // Each visitor's own phase within the period, so sends spread evenly.
        let mut next = Instant::now() + period.mul_f64(rand::random::<f64>());
        while next < until {
            tokio::time::sleep_until(next).await;
            self.message(Tag::Latency, r).await?;
            self.ack(r, shared).await?;
            next += period;
        }
        let until = match *phase
            .wait_for(|p| matches!(p, Phase::Load { .. }))
            .await
            .map_err(|e| e.to_string())?
        {
            Phase::Load { until } => until,
            _ => return Ok(()),
        };
        while Instant::now() < until {
            while self.outstanding.len() < window {
                self.message(Tag::Load, r).await?;
            }
            self.ack(r, shared).await?;
        }
        while !self.outstanding.is_empty() {
            self.ack(r, shared).await?;
        }
        Ok(())
    }
}
