//! A supervisor's requests about a bridged browser call, on the call's side: a
//! first `Monitor` opens the supervisor's WebRTC leg (our offer, in the caller's
//! G.711 law, goes to their page) and hands it to the relay; later ones change
//! the mode; the page's answer and stop go to the relay. Each start and change
//! is a `call_monitored` event in the timeline, so monitoring is on the record.

use std::time::Instant;

use serde_json::json;
use tokio::sync::mpsc;

use super::browser_relay::RelayCommand;
use super::call::Call;
use super::monitor::{MonitorLeg, MonitorMode};
use super::rtp_port;
use super::timeline_writer::CallRecord;
use crate::media::g711::Law;
use crate::media::webrtc_peer::WebRtcPeer;
use crate::timeline::model::EventPayload;

/// The bridged call as a supervisor sees it.
pub(super) struct Monitored<'a> {
    pub relay: &'a mpsc::Sender<RelayCommand>,
    pub agent: &'a str,
    pub law: Law,
    /// The supervisor page monitoring the call, if any.
    pub by: Option<u64>,
}

impl Call {
    /// Supervisor page `monitor` (`supervisor`) starts monitoring or changes mode.
    pub(super) async fn monitor_start(
        &mut self,
        m: &mut Monitored<'_>,
        monitor: u64,
        supervisor: &str,
        mode: MonitorMode,
    ) {
        let phones = self.ctx.softphones.clone();
        let command = if m.by == Some(monitor) {
            RelayCommand::MonitorMode(mode)
        } else {
            match self.monitor_leg(m.law, mode).await {
                Ok((leg, offer)) => {
                    let msg = json!({"type": "monitor.offer", "monitor": monitor, "sdp": offer,
                        "agent": m.agent, "caller": self.dialog.remote.uri.user, "mode": mode.as_str()});
                    phones.to_supervisor(monitor, msg.to_string());
                    RelayCommand::Monitor(Box::new(leg))
                }
                Err(why) => return refuse(&phones, monitor, &why),
            }
        };
        if m.relay.try_send(command).is_err() {
            return refuse(&phones, monitor, "the call is busy; try again");
        }
        if m.by == Some(monitor) {
            let msg = json!({"type": "monitor.mode", "monitor": monitor, "mode": mode.as_str()});
            phones.to_supervisor(monitor, msg.to_string());
        }
        m.by = Some(monitor);
        self.record(CallRecord::Event {
            call_id: self.call_id(),
            payload: EventPayload::CallMonitored {
                supervisor: supervisor.to_string(),
                agent: m.agent.to_string(),
                mode: mode.as_str().to_string(),
            },
        });
    }

    /// The supervisor page's answer, or its stop.
    pub(super) fn monitor_signal(
        &mut self,
        m: &mut Monitored<'_>,
        monitor: u64,
        answer: Option<String>,
    ) {
        if m.by != Some(monitor) {
            return;
        }
        let command = match answer {
            Some(sdp) => RelayCommand::MonitorAnswer(sdp),
            None => {
                m.by = None;
                RelayCommand::MonitorStop
            }
        };
        if m.relay.try_send(command).is_err() {
            tracing::warn!(monitor, "relay busy; supervisor's request dropped");
        }
    }

    /// The supervisor's leg failed: their page is told.
    pub(super) fn monitor_ended(&mut self, m: &mut Monitored<'_>) {
        if let Some(monitor) = m.by.take() {
            let msg =
                json!({"type": "monitor.ended", "monitor": monitor, "reason": "media_failed"});
            self.ctx.softphones.to_supervisor(monitor, msg.to_string());
        }
    }

    async fn monitor_leg(
        &self,
        law: Law,
        mode: MonitorMode,
    ) -> Result<(MonitorLeg, String), String> {
        let media = &self.ctx.config.media;
        let socket = rtp_port::bind_rtp(self.local_ip, media.rtp_port_min, media.rtp_port_max)
            .await
            .map_err(|e| e.to_string())?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let (peer, offer) =
            WebRtcPeer::offer(Instant::now(), local, law).map_err(|e| e.to_string())?;
        Ok((MonitorLeg { peer, socket, mode }, offer))
    }
}

fn refuse(phones: &super::softphones::Softphones, monitor: u64, why: &str) {
    tracing::warn!(monitor, why, "monitoring refused");
    let msg = json!({"type": "monitor.ended", "monitor": monitor, "reason": why});
    phones.to_supervisor(monitor, msg.to_string());
}
