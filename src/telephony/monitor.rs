//! A supervisor on an agent's browser call: listen (hears caller and agent, is
//! heard by nobody), whisper (the agent hears the supervisor, the caller does not)
//! or barge (a three-way call). The supervisor's browser is one more WebRTC leg
//! of the relay (`browser_relay`); `Mixer` is the audio part, free of sockets and
//! clocks. Each party's decoded samples wait in a short queue (at most 200 ms,
//! the oldest dropped beyond): every 20 ms the supervisor gets caller and agent
//! summed, and a packet toward the agent (whisper, barge) or the caller (barge)
//! takes as many of the supervisor's samples as it carries, whatever its
//! packet time. G.711 in and out.

use std::collections::VecDeque;

use serde::Deserialize;
use tokio::net::UdpSocket;

use crate::media::g711::{self, Law};
use crate::media::webrtc_peer::WebRtcPeer;

/// Samples in one 20 ms frame at 8 kHz: what the supervisor gets per tick.
const FRAME: usize = 160;
/// The longest a party's samples wait to be mixed (200 ms).
const MAX_QUEUED: usize = 1600;
/// The largest packet mixed (60 ms); larger ones pass unmixed.
const MAX_PACKET: usize = 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMode {
    Listen,
    Whisper,
    Barge,
}

impl MonitorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
            MonitorMode::Barge => "barge",
        }
    }
}

/// The supervisor's leg, handed to the relay.
pub struct MonitorLeg {
    pub peer: WebRtcPeer,
    pub socket: UdpSocket,
    pub mode: MonitorMode,
}

impl std::fmt::Debug for MonitorLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorLeg")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// One party's decoded samples waiting to be mixed.
#[derive(Default)]
struct Queued(VecDeque<i16>);

impl Queued {
    fn push(&mut self, law: Law, payload: &[u8]) {
        self.0
            .extend(payload.iter().map(|c| g711::decode_sample(law, *c)));
        let extra = self.0.len().saturating_sub(MAX_QUEUED);
        self.0.drain(..extra);
    }

    /// The next sample, silence when none waits.
    fn next(&mut self) -> i16 {
        self.0.pop_front().unwrap_or(0)
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

pub struct Mixer {
    law: Law,
    pub mode: MonitorMode,
    caller: Queued,
    agent: Queued,
    /// The supervisor's samples, not yet mixed toward the agent / the caller.
    for_agent: Queued,
    for_caller: Queued,
    seq: u16,
    ts: u32,
}

impl Mixer {
    pub fn new(law: Law, mode: MonitorMode) -> Mixer {
        Mixer {
            law,
            mode,
            caller: Queued::default(),
            agent: Queued::default(),
            for_agent: Queued::default(),
            for_caller: Queued::default(),
            seq: rand::random(),
            ts: rand::random(),
        }
    }

    pub fn set_mode(&mut self, mode: MonitorMode) {
        self.mode = mode;
        self.for_agent.clear();
        self.for_caller.clear();
    }

    pub fn heard_caller(&mut self, payload: &[u8]) {
        self.caller.push(self.law, payload);
    }

    pub fn heard_agent(&mut self, payload: &[u8]) {
        self.agent.push(self.law, payload);
    }

    /// The supervisor spoke: heard by the agent (whisper, barge) and the caller (barge).
    pub fn heard_supervisor(&mut self, payload: &[u8]) {
        match self.mode {
            MonitorMode::Listen => {}
            MonitorMode::Whisper => self.for_agent.push(self.law, payload),
            MonitorMode::Barge => {
                self.for_agent.push(self.law, payload);
                self.for_caller.push(self.law, payload);
            }
        }
    }

    /// Every 20 ms: the next 20 ms of caller and agent, summed, with the RTP
    /// sequence number and timestamp of the supervisor's stream.
    pub fn for_supervisor(&mut self) -> ([u8; FRAME], u16, u32) {
        let mut mixed = [0i16; FRAME];
        for s in &mut mixed {
            *s = self.caller.next().saturating_add(self.agent.next());
        }
        let mut out = [0u8; FRAME];
        g711::encode(self.law, &mixed, &mut out);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME as u32);
        (out, self.seq, self.ts)
    }

    /// The caller's packet for the agent with the supervisor in it; `None`: as it is.
    pub fn into_agent(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        mix_in(self.law, payload, &mut self.for_agent)
    }

    /// The agent's packet for the caller with the supervisor in it (barge).
    pub fn into_caller(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        mix_in(self.law, payload, &mut self.for_caller)
    }
}

/// `payload` with as many of `extra`'s samples added; `None` when none wait.
fn mix_in(law: Law, payload: &[u8], extra: &mut Queued) -> Option<Vec<u8>> {
    if extra.0.is_empty() || payload.len() > MAX_PACKET {
        return None;
    }
    let mixed: Vec<i16> = payload
        .iter()
        .map(|c| g711::decode_sample(law, *c).saturating_add(extra.next()))
        .collect();
    let mut out = vec![0u8; mixed.len()];
    g711::encode(law, &mixed, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(law: Law, level: i16, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        g711::encode(law, &vec![level; n], &mut out);
        out
    }

    fn level(law: Law, p: &[u8]) -> i32 {
        i32::from(g711::decode_sample(law, p[0]))
    }

    #[test]
    fn the_supervisor_hears_both_and_is_heard_by_whom_the_mode_says() {
        let law = Law::Alaw;
        let mut m = Mixer::new(law, MonitorMode::Listen);
        m.heard_caller(&tone(law, 1000, 160));
        m.heard_agent(&tone(law, 2000, 160));
        let (mixed, seq, ts) = m.for_supervisor();
        assert!((level(law, &mixed) - 3000).abs() < 100);
        let (quiet, seq2, ts2) = m.for_supervisor();
        assert!(level(law, &quiet).abs() < 16, "nothing new: silence");
        assert_eq!((seq2, ts2), (seq.wrapping_add(1), ts.wrapping_add(160)));

        // Listen: nobody hears the supervisor.
        m.heard_supervisor(&tone(law, 500, 160));
        assert!(m.into_agent(&tone(law, 1000, 160)).is_none());
        assert!(m.into_caller(&tone(law, 1000, 160)).is_none());

        // Whisper: the agent does; the caller does not.
        m.set_mode(MonitorMode::Whisper);
        m.heard_supervisor(&tone(law, 500, 160));
        assert!(m.into_caller(&tone(law, 1000, 160)).is_none());
        let to_agent = m.into_agent(&tone(law, 1000, 160)).unwrap();
        assert!((level(law, &to_agent) - 1500).abs() < 60);
        assert!(
            m.into_agent(&tone(law, 1000, 160)).is_none(),
            "each sample once"
        );

        // Barge: both do.
        m.set_mode(MonitorMode::Barge);
        m.heard_supervisor(&tone(law, 500, 160));
        assert!(m.into_agent(&tone(law, 1000, 160)).is_some());
        assert!(m.into_caller(&tone(law, 1000, 160)).is_some());
    }

    #[test]
    fn packets_of_other_lengths_take_what_they_carry() {
        let law = Law::Ulaw;
        let mut m = Mixer::new(law, MonitorMode::Whisper);
        // 20 ms of supervisor into 30 ms caller packets: 160 samples mixed, 80 not.
        m.heard_supervisor(&tone(law, 500, 160));
        let out = m.into_agent(&tone(law, 1000, 240)).unwrap();
        assert_eq!(out.len(), 240);
        assert!((level(law, &out[..1]) - 1500).abs() < 60);
        assert!((level(law, &out[200..]) - 1000).abs() < 40);
        // 30 ms caller packets for the supervisor: 20 ms ticks take them in turn.
        m.heard_caller(&tone(law, 1000, 240));
        let (a, _, _) = m.for_supervisor();
        let (b, _, _) = m.for_supervisor();
        assert!((level(law, &a) - 1000).abs() < 40);
        assert!((level(law, &b[..80]) - 1000).abs() < 40);
        assert!(level(law, &b[80..]).abs() < 16);
    }

    #[test]
    fn a_party_never_queues_more_than_200_ms() {
        let law = Law::Alaw;
        let mut m = Mixer::new(law, MonitorMode::Barge);
        for _ in 0..50 {
            m.heard_supervisor(&tone(law, 500, 160));
        }
        assert_eq!(m.for_agent.0.len(), MAX_QUEUED);
    }
}
