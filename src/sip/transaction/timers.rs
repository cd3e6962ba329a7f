//! Timer values (RFC 3261 §17.1.1.1, table 4): T1, T2, T4 and the derived timers.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Round-trip estimate, 500 ms by default.
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Longest time a message stays in the network, 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// Timers B, F, H, J, L: 64·T1.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D for unreliable transports: at least 32 s.
    pub fn timer_d(&self) -> Duration {
        Duration::from_secs(32).max(self.t1 * 64)
    }

    /// The next retransmit interval after `current`, capped at T2 when `capped`.
    pub fn backoff(&self, current: Duration, capped: bool) -> Duration {
        let next = current * 2;
        if capped { next.min(self.t2) } else { next }
    }
}
