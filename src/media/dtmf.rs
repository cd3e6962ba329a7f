//! RFC 4733 telephone-events: each key press is reported once, whether the
//! sender repeats the start packets, sends the three redundant end packets, or
//! loses the end packet (a new event timestamp ends the previous key); and the
//! packets that send one key, for a relay to pace every 20 ms.

/// The digit of an RFC 4733 event code (0–15).
pub fn event_digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

/// The RFC 4733 event code of a keypad digit.
pub fn digit_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        _ => None,
    }
}

/// One telephone-event packet to send: its payload and whether it carries the
/// RTP marker (the first packet of the event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    pub marker: bool,
    pub payload: [u8; 4],
}

/// The packets of one key press at 8 kHz: 100 ms of tone reported every 20 ms
/// (growing duration, marker on the first), then the end packet three times as
/// RFC 4733 §2.5.1.4 recommends. All share the event's RTP timestamp.
pub fn key_packets(digit: char) -> Option<Vec<EventPacket>> {
    const VOLUME: u8 = 10;
    let code = digit_event(digit)?;
    let mut out = Vec::with_capacity(8);
    for step in 1u16..=5 {
        let d = (step * 160).to_be_bytes();
        out.push(EventPacket {
            marker: step == 1,
            payload: [code, VOLUME, d[0], d[1]],
        });
    }
    let d = 800u16.to_be_bytes();
    for _ in 0..3 {
        out.push(EventPacket {
            marker: false,
            payload: [code, 0x80 | VOLUME, d[0], d[1]],
        });
    }
    Some(out)
}

/// De-duplicates telephone-event packets into key presses.
#[derive(Debug, Default)]
pub struct Rfc4733Receiver {
    /// RTP timestamp of the last event reported.
    last: Option<u32>,
    /// The last event's end packet was seen.
    ended: bool,
}

impl Rfc4733Receiver {
    /// Takes one telephone-event payload with its RTP timestamp; returns the key
    /// when this packet starts a new event.
    pub fn receive(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let (&code, _) = payload.split_first()?;
        if payload.len() < 4 {
            return None;
        }
        let end = payload[1] & 0x80 != 0;
        // Same timestamp: the same event, unless it had ended and a fresh start
        // arrives (senders that replay a recording reuse timestamps).
        let same = self.last == Some(timestamp) && (end || !self.ended);
        if same {
            self.ended |= end;
            return None;
        }
        self.last = Some(timestamp);
        self.ended = end;
        event_digit(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(code: u8, end: bool, duration: u16) -> [u8; 4] {
        let d = duration.to_be_bytes();
        [code, if end { 0x8A } else { 0x0A }, d[0], d[1]]
    }

    #[test]
    fn one_key_per_event_despite_repeats_and_redundant_ends() {
        let mut r = Rfc4733Receiver::default();
        let mut keys = Vec::new();
        // '5': start, updates, three end packets, all with timestamp 1000.
        for (end, dur) in [
            (false, 160),
            (false, 320),
            (false, 480),
            (true, 640),
            (true, 640),
            (true, 640),
        ] {
            keys.extend(r.receive(1000, &pkt(5, end, dur)));
        }
        // '#': the end packet is lost; the next event has a new timestamp.
        keys.extend(r.receive(3000, &pkt(11, false, 160)));
        keys.extend(r.receive(3000, &pkt(11, false, 320)));
        keys.extend(r.receive(5000, &pkt(1, false, 160)));
        // A replayed '1' reusing the timestamp after its end is a new key.
        keys.extend(r.receive(5000, &pkt(1, true, 640)));
        keys.extend(r.receive(5000, &pkt(1, false, 160)));
        assert_eq!(keys, ['5', '#', '1', '1']);
        assert_eq!(r.receive(6000, &[1, 2]), None, "truncated");
        assert_eq!(r.receive(7000, &pkt(99, false, 1)), None, "not a key");
    }

    #[test]
    fn sent_keys_are_received_once() {
        let mut r = Rfc4733Receiver::default();
        let mut keys = Vec::new();
        for (i, digit) in ['7', '#', 'A'].into_iter().enumerate() {
            let packets = key_packets(digit).unwrap();
            assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
            assert_eq!(
                packets.iter().filter(|p| p.payload[1] & 0x80 != 0).count(),
                3
            );
            for p in packets {
                keys.extend(r.receive(1000 * i as u32, &p.payload));
            }
        }
        assert_eq!(keys, ['7', '#', 'A']);
        assert_eq!(key_packets('x'), None);
    }
}
