//! Reception statistics of one RTP source as RFC 3550 keeps them (§6.4.1,
//! Appendix A.1, A.3, A.8): extended highest sequence number, expected and
//! received packets, cumulative and fractional loss, and interarrival jitter.
//! Sans-IO: the caller passes the arrival instant of every packet. Duplicates
//! count as received in report blocks, as the RFC says, and are also counted
//! apart (within the last 64 sequence numbers) so a summary can leave them out.

use std::time::{Duration, Instant};

/// A jump ahead larger than this is a resynchronisation, not loss (A.1).
const MAX_DROPOUT: u16 = 3000;
/// A packet at most this far behind the highest is reordered (A.1).
const MAX_MISORDER: u16 = 100;
const SEQ_MOD: u32 = 1 << 16;

/// One report block's figures (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockFigures {
    pub fraction_lost: u8,
    /// Clamped to the 24-bit signed field.
    pub total_lost: u32,
    pub extended_highest: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
}

/// Counts carried over from a source that was replaced or resynchronised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub expected: u64,
    pub received: u64,
    /// Of `received`, packets seen before.
    pub duplicates: u64,
}

/// Statistics of the source with one SSRC.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    pub ssrc: u32,
    clock_rate: u32,
    epoch: Instant,
    base_seq: u32,
    max_seq: u16,
    /// Wrap-arounds of the sequence number, times 2^16.
    cycles: u32,
    bad_seq: Option<u16>,
    received: u64,
    duplicates: u64,
    /// Bit i: `max_seq - i` was received.
    window: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Totals of the earlier runs of this source, before a resynchronisation.
    earlier: Totals,
    transit: Option<u32>,
    /// Jitter estimate in timestamp units (A.8, with its 1/16 gain).
    jitter: f64,
    jitter_max: f64,
    jitter_sum: f64,
    jitter_samples: u64,
}

impl ReceiveStats {
    /// Starts on the first packet of a source (A.1 `init_seq`).
    pub fn new(ssrc: u32, seq: u16, clock_rate: u32, now: Instant) -> ReceiveStats {
        ReceiveStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            epoch: now,
            base_seq: u32::from(seq),
            max_seq: seq,
            cycles: 0,
            bad_seq: None,
            received: 0,
            duplicates: 0,
            window: 0,
            expected_prior: 0,
            received_prior: 0,
            earlier: Totals::default(),
            transit: None,
            jitter: 0.0,
            jitter_max: 0.0,
            jitter_sum: 0.0,
            jitter_samples: 0,
        }
    }

    /// Accounts one packet; false when it was set aside as a possible jump
    /// (A.1 `update_seq`). With `jitter`, it also feeds the jitter estimate.
    pub fn update(&mut self, now: Instant, seq: u16, ts: u32, jitter: bool) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
            self.window = self.window.checked_shl(u32::from(udelta)).unwrap_or(0);
            self.mark(0);
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            if self.bad_seq != Some(seq) {
                self.bad_seq = Some(seq.wrapping_add(1));
                return false;
            }
            // Two sequential packets after a jump: the source restarted.
            self.resync(seq);
            self.mark(0);
        } else {
            // A duplicate or reordered packet: counted, max unchanged.
            self.mark(self.max_seq.wrapping_sub(seq));
        }
        self.received += 1;
        if jitter {
            self.update_jitter(now, ts);
        }
        true
    }

    /// Notes `max_seq - back` as received; a second time is a duplicate.
    fn mark(&mut self, back: u16) {
        let Some(bit) = 1u64.checked_shl(u32::from(back)) else {
            return;
        };
        if self.window & bit != 0 {
            self.duplicates += 1;
        }
        self.window |= bit;
    }

    fn resync(&mut self, seq: u16) {
        let totals = self.totals();
        *self = ReceiveStats {
            earlier: totals,
            jitter: self.jitter,
            jitter_max: self.jitter_max,
            jitter_sum: self.jitter_sum,
            jitter_samples: self.jitter_samples,
            ..ReceiveStats::new(self.ssrc, seq, self.clock_rate, self.epoch)
        };
    }

    /// A.8: `J += (|D| - J) / 16`, D the change of relative transit time.
    fn update_jitter(&mut self, now: Instant, ts: u32) {
        let arrival = to_units(now.saturating_duration_since(self.epoch), self.clock_rate);
        let transit = arrival.wrapping_sub(ts);
        if let Some(prev) = self.transit {
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
            self.jitter_max = self.jitter_max.max(self.jitter);
            self.jitter_sum += self.jitter;
            self.jitter_samples += 1;
        }
        self.transit = Some(transit);
    }

    pub fn extended_highest(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected so far in this run (A.3).
    fn expected(&self) -> u64 {
        u64::from(self.extended_highest().wrapping_sub(self.base_seq)) + 1
    }

    /// Expected and received packets over every run of this source.
    pub fn totals(&self) -> Totals {
        Totals {
            expected: self.earlier.expected + self.expected(),
            received: self.earlier.received + self.received,
            duplicates: self.earlier.duplicates + self.duplicates,
        }
    }

    /// The figures of a report block; starts the next interval (A.3).
    pub fn report(&mut self) -> BlockFigures {
        let expected = self.expected();
        let lost = expected as i64 - self.received as i64;
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        BlockFigures {
            fraction_lost,
            total_lost: (lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0xFF_FFFF,
            extended_highest: self.extended_highest(),
            jitter: self.jitter as u32,
        }
    }

    /// The current jitter estimate in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// Mean and maximum of the jitter estimate over the packets, in ms.
    pub fn jitter_mean_max_ms(&self) -> (f64, f64) {
        let scale = 1000.0 / f64::from(self.clock_rate);
        let mean = if self.jitter_samples == 0 {
            0.0
        } else {
            self.jitter_sum / self.jitter_samples as f64
        };
        (mean * scale, self.jitter_max * scale)
    }
}

/// A duration in timestamp units, wrapping like RTP timestamps.
fn to_units(d: Duration, clock_rate: u32) -> u32 {
    (d.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn feed(s: &mut ReceiveStats, t0: Instant, seqs: &[u16]) {
        for &q in seqs {
            s.update(t0, q, 0, false);
        }
    }

    #[test]
    fn counts_loss_across_gaps_and_reordering() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 100, 8000, t0);
        // 100..=119 with 105 and 110 missing, 112 and 113 swapped.
        let seqs: Vec<u16> = (100..=119)
            .filter(|q| *q != 105 && *q != 110)
            .map(|q| match q {
                112 => 113,
                113 => 112,
                q => q,
            })
            .collect();
        feed(&mut s, t0, &seqs);
        assert_eq!(s.extended_highest(), 119);
        assert_eq!(
            s.totals(),
            Totals {
                expected: 20,
                received: 18,
                duplicates: 0,
            }
        );
        let r = s.report();
        assert_eq!(r.total_lost, 2);
        assert_eq!(r.fraction_lost, (2 * 256 / 20) as u8);
        // The next interval has no loss; a late packet makes up for one lost.
        feed(&mut s, t0, &[120, 121, 105]);
        let r = s.report();
        assert_eq!((r.fraction_lost, r.total_lost), (0, 1));
    }

    #[test]
    fn sequence_wrap_around_extends_the_highest() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 65_530, 8000, t0);
        feed(
            &mut s,
            t0,
            &[65_530, 65_531, 65_533, 65_534, 65_535, 0, 1, 3],
        );
        assert_eq!(s.extended_highest(), 65_536 + 3);
        assert_eq!(s.totals().expected, 10);
        assert_eq!(s.report().total_lost, 2);
    }

    #[test]
    fn a_large_jump_resynchronises_after_two_packets() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 10, 8000, t0);
        feed(&mut s, t0, &[10, 11, 12]);
        assert!(!s.update(t0, 40_000, 0, false));
        assert!(s.update(t0, 40_001, 0, false));
        feed(&mut s, t0, &[40_002]);
        assert_eq!(
            s.totals(),
            Totals {
                expected: 5,
                received: 5,
                duplicates: 0,
            }
        );
    }

    #[test]
    fn duplicates_are_counted_apart() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 8042, 8000, t0);
        // A telephone-event capture: its end packet three times, played twice.
        let event = [8042, 8043, 8044, 8045, 8046, 8047, 8048, 8049, 8049, 8049];
        feed(&mut s, t0, &event);
        feed(&mut s, t0, &event);
        assert_eq!(
            s.totals(),
            Totals {
                expected: 8,
                received: 20,
                duplicates: 12,
            }
        );
    }

    #[test]
    fn jitter_of_a_known_arrival_pattern() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 0, 8000, t0);
        // Steady 20 ms packets: no jitter.
        for i in 0..50u16 {
            s.update(t0 + 20 * MS * u32::from(i), i, 160 * u32::from(i), true);
        }
        assert!(s.jitter_ms() < 0.01, "{}", s.jitter_ms());
        // Arrivals alternating 10 ms early and late: |D| = 20 ms = 160 units each,
        // so J converges on 160 units (20 ms).
        for i in 50..400u16 {
            let skew: i64 = if i % 2 == 0 { 10 } else { -10 };
            let at = t0 + Duration::from_millis((20 * i64::from(i) + skew) as u64);
            s.update(at, i, 160 * u32::from(i), true);
        }
        assert!((s.jitter_ms() - 20.0).abs() < 0.5, "{}", s.jitter_ms());
        assert_eq!(s.report().jitter, 159);
        let (mean, max) = s.jitter_mean_max_ms();
        assert!(mean > 10.0 && mean < 20.0 && max <= 20.0, "{mean} {max}");
    }
}
