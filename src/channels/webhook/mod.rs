//! The generic webhook channel: an app, a mini program or another platform posts
//! customers' messages as JSON to `/channels/webhook` (`inbound`) and receives
//! agents' replies as JSON at `webhook.deliver_url` (`outbound`, from the
//! outbox). Both directions carry `X-Switchboard-Timestamp` and
//! `X-Switchboard-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`,
//! so either side can check who sent a request and that it is recent.

pub mod inbound;
pub mod outbound;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
/// Client ids of webhook messages start with this (WeChat's with `wx-`), which
/// tells a `social` conversation's replies where to go.
pub const CLIENT_ID_PREFIX: &str = "wh-";
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";

/// The identity value of a platform's user: `hook:<user>` (an `external` identity).
pub fn identity_of(user: &str) -> String {
    format!("hook:{user}")
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The signature header's value for a request.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Whether `signature` is right for the request (checked in constant time).
pub fn verify(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_part) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_part) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_timestamp_and_body() {
        let sig = sign("0123456789abcdef", "1700000000", b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify("0123456789abcdef", "1700000000", b"{\"a\":1}", &sig));
        assert!(!verify(
            "0123456789abcdef",
            "1700000001",
            b"{\"a\":1}",
            &sig
        ));
        assert!(!verify(
            "0123456789abcdef",
            "1700000000",
            b"{\"a\":2}",
            &sig
        ));
        assert!(!verify(
            "another-secret-16",
            "1700000000",
            b"{\"a\":1}",
            &sig
        ));
        assert!(!verify(
            "0123456789abcdef",
            "1700000000",
            b"{\"a\":1}",
            "sha256=zz"
        ));
        assert!(!verify(
            "0123456789abcdef",
            "1700000000",
            b"{\"a\":1}",
            &sig[7..]
        ));
    }
}
