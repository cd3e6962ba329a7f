//! G.711 µ-law and A-law (ITU-T G.711): 16-bit linear PCM to 8-bit codes and back.
//! Decoding is table-driven; encoding uses the segment search of the standard.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// Encodes one linear sample to µ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let exponent = exponent_of(s);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 as i32 | mantissa) as u8
}

fn exponent_of(biased: i32) -> i32 {
    let mut exp = 7;
    let mut mask = 0x4000;
    while exp > 0 && biased & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    exp
}

/// Decodes one µ-law code.
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

const fn ulaw_decode(code: u8) -> i16 {
    let u = !code;
    let sign = u & 0x80;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    if sign != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encodes one linear sample to A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = i32::from(sample) >> 3; // 13-bit
    let mask: u8 = if s >= 0 { 0xD5 } else { 0x55 };
    if s < 0 {
        s = -s - 1;
    }
    let seg_ends = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let seg = seg_ends.iter().position(|&e| s <= e).unwrap_or(8) as i32;
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mantissa = if seg < 2 {
        (s >> 1) & 0x0F
    } else {
        (s >> seg) & 0x0F
    };
    (((seg << 4) | mantissa) as u8) ^ mask
}

/// Decodes one A-law code.
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

const fn alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let seg = ((a & 0x70) >> 4) as i32;
    let mut t = ((a & 0x0F) as i32) << 4;
    t = match seg {
        0 => t + 8,
        1 => t + 0x108,
        _ => (t + 0x108) << (seg - 1),
    };
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn table(ulaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if ulaw {
            ulaw_decode(i as u8)
        } else {
            alaw_decode(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_TABLE: [i16; 256] = table(true);
static ALAW_TABLE: [i16; 256] = table(false);

/// Encodes a frame; `out` must be as long as `pcm`.
pub fn encode(law: Law, pcm: &[i16], out: &mut [u8]) {
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = match law {
            Law::Ulaw => linear_to_ulaw(s),
            Law::Alaw => linear_to_alaw(s),
        };
    }
}

/// Decodes one sample (table lookup).
pub fn decode_sample(law: Law, code: u8) -> i16 {
    match law {
        Law::Ulaw => ULAW_TABLE[usize::from(code)],
        Law::Alaw => ALAW_TABLE[usize::from(code)],
    }
}

/// Decodes a frame; `out` must be as long as `codes`.
pub fn decode(law: Law, codes: &[u8], out: &mut [i16]) {
    let t = match law {
        Law::Ulaw => &ULAW_TABLE,
        Law::Alaw => &ALAW_TABLE,
    };
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = t[c as usize];
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    Ulaw,
    Alaw,
}

impl Law {
    /// The law of a static payload type (0 = PCMU, 8 = PCMA).
    pub fn from_payload_type(pt: u8) -> Option<Law> {
        match pt {
            0 => Some(Law::Ulaw),
            8 => Some(Law::Alaw),
            _ => None,
        }
    }

    pub fn silence(self) -> u8 {
        match self {
            Law::Ulaw => 0xFF,
            Law::Alaw => 0xD5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_values() {
        // ITU-T G.711 table 2: µ-law code points and their decoded values.
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(32767), 0x80);
        assert_eq!(linear_to_ulaw(-32768), 0x00);
    }

    #[test]
    fn alaw_reference_values() {
        // ITU-T G.711 table 1 (even bits inverted on the line): 0xD5 is +8, 0x55 is -8.
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(32767), 0xAA);
        assert_eq!(linear_to_alaw(-32768), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "alaw {c:#x}");
            let back = linear_to_ulaw(ulaw_to_linear(c));
            // µ-law has two codes for zero (0x7F and 0xFF).
            assert!(
                back == c || (c == 0x7F && back == 0xFF),
                "ulaw {c:#x} -> {back:#x}"
            );
        }
    }

    #[test]
    fn quantisation_error_is_small() {
        for s in (-32000i32..32000).step_by(97) {
            let s = s as i16;
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            let tol = (i32::from(s).abs() / 16).max(16);
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= tol,
                "ulaw {s} -> {u}"
            );
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= tol,
                "alaw {s} -> {a}"
            );
        }
    }
}
