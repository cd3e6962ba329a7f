//! The RTP fixed header (RFC 3550 §5.1): validation of received packets and in-place
//! rewriting of the fields a relay changes, with no allocation per packet.

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    #[error("packet shorter than an RTP header")]
    Short,
    #[error("not RTP version 2")]
    Version,
    #[error("header extension or CSRC list longer than the packet")]
    Truncated,
}

/// A validated view of an RTP packet's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Offset of the payload in the packet.
    pub payload_offset: usize,
    /// Payload length without padding.
    pub payload_len: usize,
}

pub fn parse(p: &[u8]) -> Result<Header, RtpError> {
    if p.len() < 12 {
        return Err(RtpError::Short);
    }
    if p[0] >> 6 != 2 {
        return Err(RtpError::Version);
    }
    let cc = usize::from(p[0] & 0x0F);
    let mut offset = 12 + 4 * cc;
    if p[0] & 0x10 != 0 {
        let ext = p.get(offset + 2..offset + 4).ok_or(RtpError::Truncated)?;
        offset += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let padding = if p[0] & 0x20 != 0 {
        usize::from(*p.last().unwrap_or(&0))
    } else {
        0
    };
    let end = p.len().checked_sub(padding).ok_or(RtpError::Truncated)?;
    if offset > end {
        return Err(RtpError::Truncated);
    }
    Ok(Header {
        marker: p[1] & 0x80 != 0,
        payload_type: p[1] & 0x7F,
        sequence: u16::from_be_bytes([p[2], p[3]]),
        timestamp: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload_offset: offset,
        payload_len: end - offset,
    })
}

/// Writes a 12-byte header (no CSRC, no extension) into `out[..12]`.
pub fn write_header(out: &mut [u8], marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32) {
    out[0] = 0x80;
    out[1] = (u8::from(marker) << 7) | (pt & 0x7F);
    out[2..4].copy_from_slice(&seq.to_be_bytes());
    out[4..8].copy_from_slice(&ts.to_be_bytes());
    out[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// Rewrites sequence, timestamp and SSRC of a packet in place (len ≥ 12 checked by `parse`).
pub fn rewrite(p: &mut [u8], seq: u16, ts: u32, ssrc: u32) {
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_written_header_and_rejects_junk() {
        let mut p = [0u8; 172];
        write_header(&mut p, true, 8, 65535, 160, 0xDEADBEEF);
        let h = parse(&p).unwrap();
        assert_eq!(
            (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (true, 8, 65535, 160, 0xDEADBEEF)
        );
        assert_eq!((h.payload_offset, h.payload_len), (12, 160));
        assert_eq!(parse(&p[..11]), Err(RtpError::Short));
        p[0] = 0x40;
        assert_eq!(parse(&p), Err(RtpError::Version));
        let mut ext = [0u8; 16];
        ext[0] = 0x90;
        ext[14] = 0xFF;
        assert_eq!(parse(&ext), Err(RtpError::Truncated));
        let mut pad = [0u8; 13];
        pad[0] = 0xA0;
        pad[12] = 200;
        assert_eq!(parse(&pad), Err(RtpError::Truncated));
    }
}
