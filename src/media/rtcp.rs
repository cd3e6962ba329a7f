//! The RTCP side of one SIP call leg (RFC 3550 §6), sans-IO: it keeps the
//! reception statistics of the peer's RTP and our send counters, builds a
//! compound SR or RR with one report block and our CNAME at a randomised
//! interval, and reads the peer's SR/RR to learn the round-trip time from
//! LSR/DLSR. The caller owns the sockets and the clocks: it passes the
//! monotonic `now` (and the wall clock for NTP timestamps) into every call.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rtc::rtcp::packet::{self as rtcp_packet, Packet};
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};

use super::quality::{ReceiveStats, Totals};
use super::rtp;

/// RFC 3550's minimum report interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Seconds between 1900 (NTP) and 1970 (Unix).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// SRs we remember to match the LSR of the peer's report blocks.
const SENT_SR_MEMORY: usize = 8;
/// Sources of the peer kept apart at once (interleaved streams, a new SSRC).
const MAX_SOURCES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    #[error("not an RTCP packet (too short or not version 2)")]
    NotRtcp,
    #[error("malformed RTCP: {0}")]
    Malformed(String),
    #[error("RTCP packet could not be built: {0}")]
    Build(String),
}

/// What a leg's RTCP session is set up with.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our SSRC in reports; the SSRC of the RTP we originate.
    pub ssrc: u32,
    pub cname: String,
    pub clock_rate: u32,
    /// The audio payload type: only its packets feed the jitter estimate
    /// (telephone-events repeat timestamps).
    pub payload_type: u8,
    pub interval: Duration,
}

/// The quality of one leg over its whole life.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualitySummary {
    pub packets_sent: u64,
    pub octets_sent: u64,
    /// Distinct packets received (duplicates left out).
    pub packets_received: u64,
    pub packets_expected: u64,
    /// Expected minus received.
    pub packets_lost: i64,
    pub loss_percent: f64,
    pub jitter_mean_ms: f64,
    pub jitter_max_ms: f64,
    /// Mean and maximum round-trip time, when the peer reported on our SRs.
    pub rtt_mean_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct SendCounters {
    /// Packets and octets (payload) of our own SSRC, for SRs.
    packets: u32,
    octets: u32,
    /// Everything sent on the leg, relayed packets included.
    all_packets: u64,
    all_octets: u64,
    last_ts: u32,
    last_at: Option<Instant>,
    /// Own RTP sent since the last report: the next one is an SR.
    since_report: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct RttStats {
    count: u64,
    sum_ms: f64,
    max_ms: f64,
}

/// RTCP state of one leg.
pub struct RtcpSession {
    cfg: SessionConfig,
    rng: StdRng,
    /// The peer's sources, the one heard last at the end.
    sources: Vec<ReceiveStats>,
    /// Counts of sources dropped to make room for newer ones.
    earlier: Totals,
    /// Jitter figures of replaced sources: (sum of means × packets, packets, max).
    earlier_jitter: (f64, u64, f64),
    sent: SendCounters,
    next_report: Instant,
    /// The middle 32 bits of the peer's last SR and when it came.
    peer_sr: Option<(u32, Instant)>,
    our_srs: VecDeque<(u32, Instant)>,
    rtt: RttStats,
    rtcp_sent: u64,
    rtcp_received: u64,
}

impl RtcpSession {
    /// A session whose first report is due after half an interval (§6.2),
    /// randomised like every later one.
    pub fn new(cfg: SessionConfig, now: Instant, seed: u64) -> RtcpSession {
        let mut rng = StdRng::seed_from_u64(seed);
        let first = randomised(&mut rng, cfg.interval / 2);
        RtcpSession {
            cfg,
            rng,
            sources: Vec::with_capacity(MAX_SOURCES),
            earlier: Totals::default(),
            earlier_jitter: (0.0, 0, 0.0),
            sent: SendCounters::default(),
            next_report: now + first,
            peer_sr: None,
            our_srs: VecDeque::with_capacity(SENT_SR_MEMORY),
            rtt: RttStats::default(),
            rtcp_sent: 0,
            rtcp_received: 0,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.cfg.ssrc
    }

    /// Accounts a received RTP packet under its source (SSRC).
    pub fn handle_rtp(&mut self, now: Instant, h: &rtp::Header) {
        match self.sources.iter().position(|s| s.ssrc == h.ssrc) {
            Some(i) if i + 1 == self.sources.len() => {}
            Some(i) => {
                let s = self.sources.remove(i);
                self.sources.push(s);
            }
            None => {
                if self.sources.len() == MAX_SOURCES {
                    self.retire_oldest();
                }
                let rate = self.cfg.clock_rate;
                self.sources
                    .push(ReceiveStats::new(h.ssrc, h.sequence, rate, now));
            }
        }
        let Some(s) = self.sources.last_mut() else {
            return;
        };
        s.update(
            now,
            h.sequence,
            h.timestamp,
            h.payload_type == self.cfg.payload_type,
        );
    }

    fn retire_oldest(&mut self) {
        if self.sources.is_empty() {
            return;
        }
        let old = self.sources.remove(0);
        let t = old.totals();
        self.earlier.expected += t.expected;
        self.earlier.received += t.received;
        self.earlier.duplicates += t.duplicates;
        let (mean, max) = old.jitter_mean_max_ms();
        let (sum, n, m) = self.earlier_jitter;
        self.earlier_jitter = (sum + mean * t.received as f64, n + t.received, m.max(max));
    }

    /// Accounts RTP we sent with our own SSRC.
    pub fn on_sent(&mut self, now: Instant, ts: u32, payload_len: usize) {
        let s = &mut self.sent;
        s.packets = s.packets.wrapping_add(1);
        s.octets = s.octets.wrapping_add(payload_len as u32);
        s.last_ts = ts;
        s.last_at = Some(now);
        s.since_report = true;
        self.on_relayed(payload_len);
    }

    /// Accounts RTP we forwarded from the other leg (another SSRC than ours).
    pub fn on_relayed(&mut self, payload_len: usize) {
        self.sent.all_packets += 1;
        self.sent.all_octets += payload_len as u64;
    }

    /// When the next report is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    /// The compound report to send now, if one is due; `wall` is the wall
    /// clock as time since the Unix epoch, for the SR's NTP timestamp.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        wall: Duration,
    ) -> Result<Option<Bytes>, RtcpError> {
        if now < self.next_report {
            return Ok(None);
        }
        let interval = randomised(&mut self.rng, self.cfg.interval);
        self.next_report = now + interval;
        let report = self.build_report(now, wall)?;
        self.rtcp_sent += 1;
        Ok(Some(report))
    }

    fn build_report(&mut self, now: Instant, wall: Duration) -> Result<Bytes, RtcpError> {
        let reports: Vec<ReceptionReport> = self.report_block(now).into_iter().collect();
        let first: Box<dyn Packet> = if self.sent.since_report {
            let ntp = ntp_time(wall);
            self.remember_sr(ntp, now);
            Box::new(self.sender_report(ntp, now, reports))
        } else {
            Box::new(ReceiverReport {
                ssrc: self.cfg.ssrc,
                reports,
                ..Default::default()
            })
        };
        self.sent.since_report = false;
        let sdes: Box<dyn Packet> = Box::new(self.cname());
        rtcp_packet::marshal(&[first, sdes])
            .map(|b| b.freeze())
            .map_err(|e| RtcpError::Build(e.to_string()))
    }

    fn sender_report(&self, ntp: u64, now: Instant, reports: Vec<ReceptionReport>) -> SenderReport {
        let s = &self.sent;
        // The RTP time of this instant: the last sent timestamp moved on.
        let since = s.last_at.map_or(Duration::ZERO, |t| now - t);
        let advance = (since.as_nanos() * u128::from(self.cfg.clock_rate) / 1_000_000_000) as u32;
        SenderReport {
            ssrc: self.cfg.ssrc,
            ntp_time: ntp,
            rtp_time: s.last_ts.wrapping_add(advance),
            packet_count: s.packets,
            octet_count: s.octets,
            reports,
            ..Default::default()
        }
    }

    fn remember_sr(&mut self, ntp: u64, now: Instant) {
        if self.our_srs.len() == SENT_SR_MEMORY {
            self.our_srs.pop_front();
        }
        self.our_srs.push_back((middle32(ntp), now));
    }

    fn report_block(&mut self, now: Instant) -> Option<ReceptionReport> {
        let s = self.sources.last_mut()?;
        let f = s.report();
        let (lsr, dlsr) = match self.peer_sr {
            Some((lsr, at)) => (lsr, to_1_65536(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc: s.ssrc,
            fraction_lost: f.fraction_lost,
            total_lost: f.total_lost,
            last_sequence_number: f.extended_highest,
            jitter: f.jitter,
            last_sender_report: lsr,
            delay: dlsr,
        })
    }

    fn cname(&self) -> SourceDescription {
        SourceDescription {
            chunks: vec![SourceDescriptionChunk {
                source: self.cfg.ssrc,
                items: vec![SourceDescriptionItem {
                    sdes_type: SdesType::SdesCname,
                    text: Bytes::from(self.cfg.cname.clone()),
                }],
            }],
        }
    }

    /// Reads a received compound packet: remembers the peer's SR for our LSR,
    /// and takes the round-trip time from report blocks about our SSRC.
    pub fn handle_rtcp(&mut self, now: Instant, bytes: &[u8]) -> Result<(), RtcpError> {
        if bytes.len() < 8 || bytes[0] >> 6 != 2 {
            return Err(RtcpError::NotRtcp);
        }
        let mut buf = Bytes::copy_from_slice(bytes);
        let packets =
            rtcp_packet::unmarshal(&mut buf).map_err(|e| RtcpError::Malformed(e.to_string()))?;
        self.rtcp_received += 1;
        for p in &packets {
            let any = p.as_any();
            if let Some(sr) = any.downcast_ref::<SenderReport>() {
                self.peer_sr = Some((middle32(sr.ntp_time), now));
                self.read_blocks(now, &sr.reports);
            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                self.read_blocks(now, &rr.reports);
            }
        }
        Ok(())
    }

    fn read_blocks(&mut self, now: Instant, blocks: &[ReceptionReport]) {
        for b in blocks.iter().filter(|b| b.ssrc == self.cfg.ssrc) {
            if let Some(rtt) = self.round_trip(now, b.last_sender_report, b.delay) {
                let ms = rtt.as_secs_f64() * 1000.0;
                self.rtt.count += 1;
                self.rtt.sum_ms += ms;
                self.rtt.max_ms = self.rtt.max_ms.max(ms);
            }
        }
    }

    /// §6.4.1: RTT = arrival − LSR − DLSR, with the SR's send instant found by
    /// its LSR so that only the monotonic clock is used.
    fn round_trip(&self, now: Instant, lsr: u32, dlsr: u32) -> Option<Duration> {
        if lsr == 0 {
            return None;
        }
        let (_, sent) = self.our_srs.iter().find(|(mid, _)| *mid == lsr)?;
        let delay = Duration::from_nanos(u64::from(dlsr) * 1_000_000_000 / 65_536);
        Some(now.saturating_duration_since(*sent).saturating_sub(delay))
    }

    /// The leg's quality so far.
    pub fn summary(&self) -> QualitySummary {
        // Duplicates are left out: lost is what never came.
        let (mut received, mut expected) = (
            self.earlier.received - self.earlier.duplicates,
            self.earlier.expected,
        );
        for t in self.sources.iter().map(ReceiveStats::totals) {
            received += t.received - t.duplicates;
            expected += t.expected;
        }
        let lost = expected as i64 - received as i64;
        let (jitter_mean_ms, jitter_max_ms) = self.jitter_summary();
        let rtt = (self.rtt.count > 0).then_some(self.rtt);
        QualitySummary {
            packets_sent: self.sent.all_packets,
            octets_sent: self.sent.all_octets,
            packets_received: received,
            packets_expected: expected,
            packets_lost: lost,
            loss_percent: if expected == 0 {
                0.0
            } else {
                lost.max(0) as f64 * 100.0 / expected as f64
            },
            jitter_mean_ms,
            jitter_max_ms,
            rtt_mean_ms: rtt.map(|r| r.sum_ms / r.count as f64),
            rtt_max_ms: rtt.map(|r| r.max_ms),
            rtcp_sent: self.rtcp_sent,
            rtcp_received: self.rtcp_received,
        }
    }

    /// Mean (weighted by packets) and maximum jitter over every source.
    fn jitter_summary(&self) -> (f64, f64) {
        let (mut sum, mut n, mut max) = self.earlier_jitter;
        for s in &self.sources {
            let (mean, m) = s.jitter_mean_max_ms();
            let k = s.totals().received;
            sum += mean * k as f64;
            n += k;
            max = max.max(m);
        }
        (if n == 0 { 0.0 } else { sum / n as f64 }, max)
    }
}

/// `base` times a random factor in [0.5, 1.5) (RFC 3550 §6.3.1).
fn randomised(rng: &mut StdRng, base: Duration) -> Duration {
    base.mul_f64(rng.random_range(0.5..1.5))
}

/// The 64-bit NTP timestamp of a wall-clock time since the Unix epoch.
pub fn ntp_time(wall: Duration) -> u64 {
    let secs = wall.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(wall.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp (the LSR of §6.4.1).
pub fn middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration in units of 1/65536 s (DLSR).
fn to_1_65536(d: Duration) -> u32 {
    (d.as_nanos() * 65_536 / 1_000_000_000).min(u128::from(u32::MAX)) as u32
}

#[cfg(test)]
#[path = "rtcp_tests.rs"]
mod tests;
