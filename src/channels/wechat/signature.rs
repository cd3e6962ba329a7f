//! WeChat's request signature: SHA-1 over the token, timestamp and nonce sorted
//! and joined, in lower-case hex, as the Official Account documentation gives it.
//! Checked in constant time; a timestamp far from now is refused, so a captured
//! request cannot be replayed later.

use sha1::{Digest, Sha1};

/// How far a request's timestamp may be from our clock, in seconds.
pub const WINDOW_SECONDS: i64 = 300;

/// The signature WeChat sends for `token`, `timestamp` and `nonce`.
pub fn sign(token: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

/// Whether `signature` is right for the request.
pub fn verify(token: &str, timestamp: &str, nonce: &str, signature: &str) -> bool {
    let want = sign(token, timestamp, nonce);
    let got = signature.to_ascii_lowercase();
    want.len() == got.len()
        && want
            .bytes()
            .zip(got.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether `timestamp` (seconds) is within the window around `now_seconds`.
pub fn fresh(timestamp: &str, now_seconds: i64) -> bool {
    timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now_seconds - t).abs() <= WINDOW_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_sorted_concatenation() {
        // sha1("1409304348" + "nonce1" + "token123"), sorted lexically.
        let want = hex::encode(Sha1::digest(b"1409304348nonce1token123"));
        assert_eq!(sign("token123", "1409304348", "nonce1"), want);
        assert!(verify("token123", "1409304348", "nonce1", &want));
        assert!(verify(
            "token123",
            "1409304348",
            "nonce1",
            &want.to_uppercase()
        ));
        assert!(!verify("token123", "1409304349", "nonce1", &want));
        assert!(!verify("token123", "1409304348", "nonce1", "abc"));
    }

    #[test]
    fn old_and_garbled_timestamps_are_refused() {
        assert!(fresh("1000", 1000 + WINDOW_SECONDS));
        assert!(!fresh("1000", 1001 + WINDOW_SECONDS));
        assert!(fresh("1300", 1000));
        assert!(!fresh("x", 1000));
    }
}
