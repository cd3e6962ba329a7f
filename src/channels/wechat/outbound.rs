//! Sending agents' replies to WeChat followers through the customer-service
//! message API (`/cgi-bin/message/custom/send`), driven by `channels::delivery`.
//! The access token (`/cgi-bin/token`, from the app id and secret) is cached
//! until shortly before it expires, and fetched again at once when WeChat says it
//! expired. WeChat's error codes decide between another try and giving up.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::channels::delivery::{Deliver, Outcome, reply_of};
use crate::config::WechatConfig;
use crate::timeline::TimelineStore;
use crate::timeline::identity::IdentityKind;
use crate::timeline::outbox::Pending;

/// A token is fetched again this long before WeChat says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);

pub struct Sender {
    timeline: TimelineStore,
    config: WechatConfig,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

/// WeChat's answer to an API call.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// What an error code means for the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Sent,
    /// The access token is no longer valid: fetch one and send again.
    TokenExpired,
    Temporary(String),
    Permanent(String),
}

fn classify(code: i64, message: &str) -> Verdict {
    match code {
        0 => Verdict::Sent,
        40001 | 40014 | 42001 => Verdict::TokenExpired,
        -1 | 45009 | 45047 => Verdict::Temporary(format!("WeChat is busy ({code} {message})")),
        45015 => Verdict::Permanent(
            "the follower has not written in the last 48 hours (WeChat 45015)".into(),
        ),
        _ => Verdict::Permanent(format!("WeChat refused the reply: {code} {message}")),
    }
}

impl Deliver for Sender {
    async fn deliver(&self, p: &Pending) -> Outcome {
        let (openid, text) = match self.reply(p).await {
            Ok(r) => r,
            Err(o) => return o,
        };
        for _ in 0..2 {
            let token = match self.access_token().await {
                Ok(t) => t,
                Err(why) => return Outcome::Temporary(why),
            };
            match self.send(&token, &openid, &text).await {
                Ok(Verdict::Sent) => return Outcome::Sent(format!("to WeChat {openid}")),
                Ok(Verdict::TokenExpired) => *self.token.lock().await = None,
                Ok(Verdict::Temporary(why)) | Err(why) => return Outcome::Temporary(why),
                Ok(Verdict::Permanent(why)) => return Outcome::Permanent(why),
            }
        }
        Outcome::Temporary("WeChat kept refusing fresh access tokens".into())
    }
}

impl Sender {
    pub fn new(timeline: TimelineStore, config: WechatConfig) -> Sender {
        let http = crate::channels::delivery::http_client();
        Sender {
            timeline,
            config,
            http,
            token: Mutex::new(None),
        }
    }

    /// The follower's openid and the reply's text.
    async fn reply(&self, p: &Pending) -> Result<(String, String), Outcome> {
        let r = reply_of(&self.timeline, p).await?;
        let openid = r
            .customer
            .identities
            .into_iter()
            .find(|i| i.kind == IdentityKind::Wechat)
            .map(|i| i.value)
            .ok_or_else(|| Outcome::Permanent("the customer has no WeChat openid".into()))?;
        Ok((openid, r.text))
    }

    async fn send(&self, token: &str, openid: &str, text: &str) -> Result<Verdict, String> {
        let url = format!("{}/cgi-bin/message/custom/send", self.base());
        let body = json!({ "touser": openid, "msgtype": "text", "text": { "content": text } });
        let answer: Answer = self
            .http
            .post(url)
            .query(&[("access_token", token)])
            .json(&body)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("WeChat API unreachable: {e}"))?
            .json()
            .await
            .map_err(|e| format!("WeChat API answered something else: {e}"))?;
        Ok(classify(answer.errcode, &answer.errmsg))
    }

    /// A valid access token, cached or fetched.
    async fn access_token(&self) -> Result<String, String> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let url = format!("{}/cgi-bin/token", self.base());
        let answer: Answer = self
            .http
            .get(url)
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", self.config.app_id.as_str()),
                ("secret", self.config.app_secret.as_str()),
            ])
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("WeChat token endpoint unreachable: {e}"))?
            .json()
            .await
            .map_err(|e| format!("WeChat token endpoint answered something else: {e}"))?;
        let (Some(token), 0) = (answer.access_token, answer.errcode) else {
            return Err(format!(
                "no WeChat access token: {} {}",
                answer.errcode, answer.errmsg
            ));
        };
        let life = Duration::from_secs(answer.expires_in.unwrap_or(7200));
        *held = Some((
            token.clone(),
            Instant::now() + life.saturating_sub(TOKEN_MARGIN),
        ));
        Ok(token)
    }

    fn base(&self) -> &str {
        self.config.api_base.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_decide_between_retry_and_giving_up() {
        assert_eq!(classify(0, "ok"), Verdict::Sent);
        assert_eq!(
            classify(42001, "access_token expired"),
            Verdict::TokenExpired
        );
        assert_eq!(classify(40001, "invalid credential"), Verdict::TokenExpired);
        assert!(matches!(classify(-1, "system busy"), Verdict::Temporary(_)));
        assert!(matches!(
            classify(45015, "response out of time limit"),
            Verdict::Permanent(_)
        ));
        assert!(matches!(
            classify(40003, "invalid openid"),
            Verdict::Permanent(_)
        ));
    }
}
