//! RTP sockets from the configured port range: an even port for RTP and the
//! next odd one for RTCP (RFC 3550 §11), picked at random so concurrent calls
//! rarely collide, retried on conflict.

use std::net::{IpAddr, SocketAddr};

use rand::Rng;
use tokio::net::UdpSocket;

#[derive(Debug, thiserror::Error)]
#[error("no free RTP port in {min}-{max}")]
pub struct NoPort {
    pub min: u16,
    pub max: u16,
}

/// Binds a UDP socket on an even port in `min..=max` at `ip`.
pub async fn bind_rtp(ip: IpAddr, min: u16, max: u16) -> Result<UdpSocket, NoPort> {
    let pairs = u32::from((max - min) / 2).max(1);
    for _ in 0..64 {
        let offset = rand::rng().random_range(0..pairs) as u16;
        let port = (min + offset * 2) & !1;
        if let Ok(s) = UdpSocket::bind(SocketAddr::new(ip, port)).await {
            return Ok(s);
        }
    }
    Err(NoPort { min, max })
}

/// Binds an RTP socket on an even port in `min..=max` and its RTCP socket on
/// the port above.
pub async fn bind_pair(ip: IpAddr, min: u16, max: u16) -> Result<(UdpSocket, UdpSocket), NoPort> {
    let pairs = u32::from(max.saturating_sub(min) / 2).max(1);
    for _ in 0..64 {
        let offset = rand::rng().random_range(0..pairs) as u16;
        let port = (min + offset * 2) & !1;
        let Ok(rtp) = UdpSocket::bind(SocketAddr::new(ip, port)).await else {
            continue;
        };
        if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
            return Ok((rtp, rtcp));
        }
    }
    Err(NoPort { min, max })
}

/// The local address the kernel would use to reach `remote` (for SDP and Contact
/// when listening on a wildcard address). Sends nothing.
pub fn local_ip_towards(remote: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if remote.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(remote).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_even_ports_in_range() {
        for _ in 0..5 {
            let s = bind_rtp("127.0.0.1".parse().unwrap(), 30000, 30100)
                .await
                .unwrap();
            let p = s.local_addr().unwrap().port();
            assert!((30000..=30100).contains(&p) && p % 2 == 0, "{p}");
        }
        let (rtp, rtcp) = bind_pair("127.0.0.1".parse().unwrap(), 30200, 30300)
            .await
            .unwrap();
        let p = rtp.local_addr().unwrap().port();
        assert_eq!(rtcp.local_addr().unwrap().port(), p + 1);
        assert!((30200..=30300).contains(&p) && p % 2 == 0, "{p}");
        assert_eq!(
            local_ip_towards("127.0.0.1:5060".parse().unwrap()),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
