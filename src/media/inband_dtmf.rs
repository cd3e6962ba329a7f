//! In-band DTMF: keys heard as tones in the caller's audio, for phones and
//! trunks that do not send RFC 4733 events. The Goertzel algorithm measures
//! the eight DTMF frequencies over blocks of 205 samples (about 26 ms at
//! 8 kHz, bins 39 Hz apart); a block holds a key when one row and one column
//! tone stand out of their groups, carry most of the block's energy, and are
//! within the allowed twist. A key is reported once, after two blocks in a
//! row (about 50 ms), and again only after a block without it. Pure: samples
//! in, keys out.

const RATE: f32 = 8000.0;
/// Samples per analysis block.
const BLOCK: usize = 205;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Quietest tone pair heard: each tone's RMS amplitude (about -42 dBm0 in
/// G.711 terms).
const MIN_AMPLITUDE: f32 = 100.0;
/// The strongest tone of a group over the next one: 6 dB.
const GROUP_MARGIN: f32 = 4.0;
/// Share of the block's energy the two tones must carry.
const MIN_SHARE: f32 = 0.8;
/// Column over row power allowed: +4 dB (normal twist) to -8 dB (reverse).
const TWIST: (f32, f32) = (0.158, 2.51);
/// Blocks in a row that make a key.
const CONFIRM: u8 = 2;

/// The detector of one caller's audio.
#[derive(Debug, Clone, Default)]
pub struct InbandDtmf {
    block: Vec<f32>,
    /// The key of the last blocks and how many blocks in a row held it.
    candidate: Option<(char, u8)>,
    /// The key already reported, until a block without it.
    reported: Option<char>,
}

impl InbandDtmf {
    pub fn new() -> InbandDtmf {
        InbandDtmf {
            block: Vec::with_capacity(BLOCK),
            ..Default::default()
        }
    }

    /// Takes samples (any count); returns the key that became pressed, if one did.
    pub fn push(&mut self, samples: &[i16]) -> Option<char> {
        let mut pressed = None;
        for &s in samples {
            self.block.push(f32::from(s));
            if self.block.len() == BLOCK {
                let key = block_key(&self.block);
                self.block.clear();
                pressed = self.settle(key).or(pressed);
            }
        }
        pressed
    }

    /// Debounces one block's finding.
    fn settle(&mut self, key: Option<char>) -> Option<char> {
        let Some(k) = key else {
            self.candidate = None;
            self.reported = None;
            return None;
        };
        let count = match self.candidate {
            Some((c, n)) if c == k => n.saturating_add(1),
            _ => 1,
        };
        self.candidate = Some((k, count));
        if count >= CONFIRM && self.reported != Some(k) {
            self.reported = Some(k);
            return Some(k);
        }
        None
    }
}

/// The key one block holds, if any.
fn block_key(block: &[f32]) -> Option<char> {
    let energy: f32 = block.iter().map(|s| s * s).sum();
    let rows = ROWS.map(|f| goertzel(block, f));
    let cols = COLS.map(|f| goertzel(block, f));
    let (r, row) = strongest(&rows)?;
    let (c, col) = strongest(&cols)?;
    // A pure tone of amplitude A over N samples gives Goertzel power (A·N/2)².
    let floor = (MIN_AMPLITUDE * std::f32::consts::SQRT_2 * BLOCK as f32 / 2.0).powi(2);
    if row < floor || col < floor {
        return None;
    }
    let twist = col / row;
    if !(TWIST.0..=TWIST.1).contains(&twist) {
        return None;
    }
    // The tones' energy in the block: power · 2 / N for each.
    let share = (row + col) * 2.0 / BLOCK as f32 / energy.max(1.0);
    (share >= MIN_SHARE).then_some(KEYS[r][c])
}

/// The strongest of a group when it stands out of the others by the margin.
fn strongest(powers: &[f32; 4]) -> Option<(usize, f32)> {
    let (i, &best) = powers
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let clear = powers
        .iter()
        .enumerate()
        .all(|(j, &p)| j == i || p * GROUP_MARGIN <= best);
    clear.then_some((i, best))
}

/// Power of `freq` in `block` (Goertzel, any frequency).
fn goertzel(block: &[f32], freq: f32) -> f32 {
    let coeff = 2.0 * (2.0 * std::f32::consts::PI * freq / RATE).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in block {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// 8 kHz samples of `key`'s two tones, each of RMS amplitude `rms`, for `ms`.
pub fn tone(key: char, ms: u32, rms: f32) -> Vec<i16> {
    let Some((r, c)) = KEYS
        .iter()
        .enumerate()
        .find_map(|(r, row)| row.iter().position(|&k| k == key).map(|c| (r, c)))
    else {
        return Vec::new();
    };
    let peak = rms * std::f32::consts::SQRT_2;
    (0..(ms * 8))
        .map(|n| {
            let t = n as f32 / RATE;
            let v = (2.0 * std::f32::consts::PI * ROWS[r] * t).sin()
                + (2.0 * std::f32::consts::PI * COLS[c] * t).sin();
            (v * peak).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711::{self, Law};

    /// Samples through G.711 A-law and back, as a telephone line carries them.
    fn over_the_line(samples: &[i16]) -> Vec<i16> {
        let mut coded = vec![0u8; samples.len()];
        g711::encode(Law::Alaw, samples, &mut coded);
        coded
            .iter()
            .map(|&b| g711::decode_sample(Law::Alaw, b))
            .collect()
    }

    fn keys_in(samples: &[i16]) -> String {
        let mut d = InbandDtmf::new();
        // 20 ms frames, as the media task hands them over.
        samples.chunks(160).filter_map(|f| d.push(f)).collect()
    }

    fn silence(ms: u32) -> Vec<i16> {
        vec![0; (ms * 8) as usize]
    }

    #[test]
    fn every_key_is_heard_once_over_g711() {
        for key in "123A456B789C*0#D".chars() {
            let mut s = silence(40);
            s.extend(tone(key, 80, 3000.0));
            s.extend(silence(60));
            assert_eq!(keys_in(&over_the_line(&s)), key.to_string(), "key {key}");
        }
    }

    #[test]
    fn a_held_key_is_one_press_and_a_gap_makes_two() {
        let mut s = tone('5', 400, 2000.0);
        assert_eq!(keys_in(&s), "5");
        s.extend(silence(60));
        s.extend(tone('5', 80, 2000.0));
        assert_eq!(keys_in(&s), "55");
    }

    #[test]
    fn quiet_and_short_tones_are_not_keys() {
        assert_eq!(keys_in(&tone('1', 80, 40.0)), "", "too quiet");
        assert_eq!(keys_in(&tone('1', 20, 3000.0)), "", "too short");
        assert_eq!(keys_in(&silence(500)), "");
    }

    #[test]
    fn single_tones_chords_and_noise_are_not_keys() {
        let one: Vec<i16> = (0..4000)
            .map(|n| {
                ((2.0 * std::f32::consts::PI * 1000.0 * n as f32 / RATE).sin() * 8000.0) as i16
            })
            .collect();
        assert_eq!(keys_in(&one), "", "a 1 kHz tone");
        // A chord of three tones, as in music on hold.
        let chord: Vec<i16> = (0..4000)
            .map(|n| {
                let t = n as f32 / RATE;
                let v: f32 = [440.0f32, 697.0, 1209.0]
                    .iter()
                    .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum();
                (v * 4000.0) as i16
            })
            .collect();
        assert_eq!(keys_in(&chord), "", "a key's tones under a louder third");
        let mut seed = 12345u32;
        let noise: Vec<i16> = (0..8000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((seed >> 16) as i16) / 4
            })
            .collect();
        assert_eq!(keys_in(&noise), "", "white noise");
    }

    #[test]
    fn a_key_under_noise_is_still_heard() {
        let mut seed = 7u32;
        let s: Vec<i16> = tone('9', 100, 3000.0)
            .into_iter()
            .map(|v| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                v.saturating_add(((seed >> 16) as i16) / 64)
            })
            .collect();
        assert_eq!(keys_in(&s), "9");
    }

    #[test]
    fn too_much_twist_is_not_a_key() {
        // Column tone 12 dB above the row tone.
        let s: Vec<i16> = (0..800)
            .map(|n| {
                let t = n as f32 / RATE;
                let v = (2.0 * std::f32::consts::PI * 697.0 * t).sin() * 700.0
                    + (2.0 * std::f32::consts::PI * 1209.0 * t).sin() * 2800.0;
                v as i16
            })
            .collect();
        assert_eq!(keys_in(&s), "");
    }
}
