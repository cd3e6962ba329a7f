//! Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 8760 SHA-256):
//! parsing credentials, stateless nonces that carry their own time and a keyed
//! hash (so expiry is checked without storage), and verifying responses.

use md5::Md5;
use sha2::{Digest, Sha256};

use super::headers::split_list;

/// How long a nonce is good for before the client must retry with `stale=true`.
pub const NONCE_SECONDS: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    pub fn hash(self, text: &str) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(text.as_bytes())),
            Algorithm::Sha256 => hex::encode(Sha256::digest(text.as_bytes())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    #[error("not Digest credentials")]
    Scheme,
    #[error("credentials lack `{0}`")]
    Missing(&'static str),
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("the nonce was not issued by us")]
    ForgedNonce,
    #[error("the nonce has expired")]
    Stale,
    #[error("wrong realm")]
    Realm,
    #[error("wrong password")]
    BadResponse,
}

/// Credentials from an Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let inner = v
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(v);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

impl Credentials {
    pub fn parse(value: &str) -> Result<Credentials, DigestError> {
        let rest = value.trim();
        let (scheme, params) = rest
            .split_once(char::is_whitespace)
            .ok_or(DigestError::Scheme)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::Scheme);
        }
        let mut get = std::collections::HashMap::new();
        for part in split_list(params) {
            if let Some((k, v)) = part.split_once('=') {
                get.insert(k.trim().to_ascii_lowercase(), unquote(v));
            }
        }
        let take = |k: &'static str| get.get(k).cloned().ok_or(DigestError::Missing(k));
        let algorithm = match get.get("algorithm").map(|a| a.to_ascii_uppercase()) {
            None => Algorithm::Md5,
            Some(a) if a == "MD5" => Algorithm::Md5,
            Some(a) if a == "SHA-256" => Algorithm::Sha256,
            Some(_) => return Err(DigestError::Algorithm),
        };
        Ok(Credentials {
            username: take("username")?,
            realm: take("realm")?,
            nonce: take("nonce")?,
            uri: take("uri")?,
            response: take("response")?.to_ascii_lowercase(),
            algorithm,
            qop: get.get("qop").cloned(),
            nc: get.get("nc").cloned(),
            cnonce: get.get("cnonce").cloned(),
        })
    }
}

/// HA1 = H(username:realm:password), what we store instead of passwords.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash(&format!("{username}:{realm}:{password}"))
}

/// The expected response for `creds` given the stored HA1.
pub fn expected_response(creds: &Credentials, method: &str, ha1: &str) -> String {
    let alg = creds.algorithm;
    let ha2 = alg.hash(&format!("{method}:{}", creds.uri));
    match (&creds.qop, &creds.nc, &creds.cnonce) {
        (Some(qop), Some(nc), Some(cnonce)) => {
            alg.hash(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", creds.nonce))
        }
        _ => alg.hash(&format!("{ha1}:{}:{ha2}", creds.nonce)),
    }
}

/// Issues and checks nonces with a server secret.
#[derive(Clone)]
pub struct Authenticator {
    pub realm: String,
    secret: String,
}

impl Authenticator {
    pub fn new(realm: &str, secret: &str) -> Authenticator {
        Authenticator {
            realm: realm.into(),
            secret: secret.into(),
        }
    }

    /// A nonce made at `now` (seconds since the epoch).
    pub fn nonce(&self, now: u64) -> String {
        let mac = Algorithm::Sha256.hash(&format!("{}:{now}:{}", self.secret, self.realm));
        format!("{now:x}.{}", &mac[..24])
    }

    /// The WWW-Authenticate values to send: MD5 first, because many deployed phones
    /// answer the first challenge whatever its algorithm, then SHA-256 (RFC 8760).
    pub fn challenges(&self, now: u64, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now);
        let stale = if stale { ", stale=true" } else { "" };
        [Algorithm::Md5, Algorithm::Sha256]
            .iter()
            .map(|a| {
                format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}",
                    self.realm,
                    a.name()
                )
            })
            .collect()
    }

    /// Checks credentials for `method` against the stored HA1 of their user and algorithm.
    pub fn verify(
        &self,
        creds: &Credentials,
        method: &str,
        ha1: &str,
        now: u64,
    ) -> Result<(), DigestError> {
        if creds.realm != self.realm {
            return Err(DigestError::Realm);
        }
        let (time, _) = creds
            .nonce
            .split_once('.')
            .ok_or(DigestError::ForgedNonce)?;
        let issued = u64::from_str_radix(time, 16).map_err(|_| DigestError::ForgedNonce)?;
        if self.nonce(issued) != creds.nonce {
            return Err(DigestError::ForgedNonce);
        }
        if expected_response(creds, method, ha1) != creds.response {
            return Err(DigestError::BadResponse);
        }
        if now.saturating_sub(issued) > NONCE_SECONDS {
            return Err(DigestError::Stale);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_worked_example() {
        // RFC 2617 §3.5: Mufasa / "Circle Of Life".
        let creds = Credentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: String::new(),
            algorithm: Algorithm::Md5,
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
        };
        let h = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert_eq!(
            expected_response(&creds, "GET", &h),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn verifies_and_detects_stale_forged_and_wrong() {
        let auth = Authenticator::new("switchboard", "s3cret");
        let nonce = auth.nonce(1000);
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let h = ha1(alg, "ann", "switchboard", "pw");
            let mut c = Credentials {
                username: "ann".into(),
                realm: "switchboard".into(),
                nonce: nonce.clone(),
                uri: "sip:x".into(),
                response: String::new(),
                algorithm: alg,
                qop: None,
                nc: None,
                cnonce: None,
            };
            c.response = expected_response(&c, "REGISTER", &h);
            assert_eq!(auth.verify(&c, "REGISTER", &h, 1100), Ok(()));
            assert_eq!(
                auth.verify(&c, "REGISTER", &h, 1000 + NONCE_SECONDS + 1),
                Err(DigestError::Stale)
            );
            assert_eq!(
                auth.verify(&c, "REGISTER", &ha1(alg, "ann", "switchboard", "bad"), 1100),
                Err(DigestError::BadResponse)
            );
            let mut forged = c.clone();
            forged.nonce = "3e8.000000000000000000000000".into();
            assert_eq!(
                auth.verify(&forged, "REGISTER", &h, 1100),
                Err(DigestError::ForgedNonce)
            );
        }
    }

    #[test]
    fn parses_authorization_values() {
        let c = Credentials::parse(r#"Digest username="ann", realm="switchboard", nonce="3e8.abc", uri="sip:127.0.0.1", response="ABCDEF", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="xyz""#).unwrap();
        assert_eq!(
            (
                c.username.as_str(),
                c.algorithm,
                c.response.as_str(),
                c.qop.as_deref()
            ),
            ("ann", Algorithm::Sha256, "abcdef", Some("auth"))
        );
        assert_eq!(Credentials::parse("Basic abc"), Err(DigestError::Scheme));
        assert_eq!(
            Credentials::parse("Digest username=\"a\""),
            Err(DigestError::Missing("realm"))
        );
    }
}
