//! The `[email]`, `[wechat]` and `[webhook]` sections: text channels that reach
//! customers through someone else's servers, with their checks.

use serde::Deserialize;

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Address of the built-in SMTP listener; empty = off.
    pub smtp_listen: String,
    /// The support address replies come from (and the domain of their Message-IDs).
    pub address: String,
    /// Shown after the agent's name in a reply's From: "Ann (Support)".
    pub from_name: String,
    /// Where replies are sent: `smtp://host:port`, `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://host:465`; empty = replies wait in the outbox.
    pub smtp_relay: String,
    /// First wait before a failed reply is tried again; it doubles each try, up to an hour.
    pub retry_seconds: u32,
    /// Tries before a reply is given up as failed.
    pub max_attempts: u32,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            smtp_listen: String::new(),
            address: "support@localhost".into(),
            from_name: "Support".into(),
            smtp_relay: String::new(),
            retry_seconds: 60,
            max_attempts: 8,
        }
    }
}

impl EmailConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let e = self;
        let (local, domain) = e.address.split_once('@').unwrap_or(("", ""));
        if local.is_empty() || domain.is_empty() || e.address.contains(char::is_whitespace) {
            return Err(invalid(
                "config",
                "email.address",
                "expected an address such as support@example.com",
            ));
        }
        if !e.smtp_relay.is_empty()
            && lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&e.smtp_relay)
                .is_err()
        {
            return Err(invalid(
                "config",
                "email.smtp_relay",
                "expected smtp://host:port, smtp://user:password@host:587?tls=required or smtps://host:465",
            ));
        }
        if e.retry_seconds == 0 || e.max_attempts == 0 {
            return Err(invalid(
                "config",
                "email.retry_seconds",
                "retry_seconds and max_attempts must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The WeChat Official Account channel: the callback `/channels/wechat` and
/// replies through the customer-service message API.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    /// The token set in the account's server configuration; empty = channel off.
    pub token: String,
    pub app_id: String,
    pub app_secret: String,
    /// Base URL of the WeChat API (a test stand-in or a proxy may replace it).
    pub api_base: String,
    /// First wait before a reply the API did not take is tried again (doubling).
    pub retry_seconds: u32,
    pub max_attempts: u32,
}

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            token: String::new(),
            app_id: String::new(),
            app_secret: String::new(),
            api_base: "https://api.weixin.qq.com".into(),
            retry_seconds: 30,
            max_attempts: 5,
        }
    }
}

impl WechatConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.token.is_empty() {
            return Ok(());
        }
        if !self.token.chars().all(|c| c.is_ascii_alphanumeric()) || self.token.len() > 32 {
            return Err(invalid(
                "config",
                "wechat.token",
                "WeChat tokens are 3 to 32 letters and digits",
            ));
        }
        if !(self.api_base.starts_with("https://") || self.api_base.starts_with("http://")) {
            return Err(invalid(
                "config",
                "wechat.api_base",
                "expected an http(s) URL",
            ));
        }
        if self.retry_seconds == 0 || self.max_attempts == 0 {
            return Err(invalid(
                "config",
                "wechat.retry_seconds",
                "retry_seconds and max_attempts must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The generic webhook channel: an app or platform posts customers' messages to
/// `/channels/webhook` and receives agents' replies at `deliver_url`, both
/// signed with HMAC-SHA256 over the timestamp and the body.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// The shared secret; empty = channel off.
    pub secret: String,
    /// Where replies are posted; empty = replies wait in the outbox.
    pub deliver_url: String,
    pub retry_seconds: u32,
    pub max_attempts: u32,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            secret: String::new(),
            deliver_url: String::new(),
            retry_seconds: 30,
            max_attempts: 5,
        }
    }
}

impl WebhookConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.secret.is_empty() {
            return Ok(());
        }
        if self.secret.len() < 16 {
            return Err(invalid(
                "config",
                "webhook.secret",
                "use at least 16 characters",
            ));
        }
        let url_ok = self.deliver_url.is_empty()
            || self.deliver_url.starts_with("https://")
            || self.deliver_url.starts_with("http://");
        if !url_ok {
            return Err(invalid(
                "config",
                "webhook.deliver_url",
                "expected an http(s) URL",
            ));
        }
        if self.retry_seconds == 0 || self.max_attempts == 0 {
            return Err(invalid(
                "config",
                "webhook.retry_seconds",
                "retry_seconds and max_attempts must be at least 1",
            ));
        }
        Ok(())
    }
}
