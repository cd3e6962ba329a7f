//! Typed configuration: loaded once from `config/switchboard.toml` (or a given path),
//! overridden by `SWITCHBOARD_*` environment variables, and validated before use.
//! Every error names the file, line and column it comes from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod channels;
mod chat;
pub use channels::{EmailConfig, WebhookConfig, WechatConfig};
pub use chat::ChatConfig;

/// Why a configuration could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}:{col}: {message}")]
    Syntax {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        source_name: String,
        key: String,
        message: String,
    },
}

/// The whole server configuration. Defaults are documented in `config/switchboard.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub sip: SipConfig,
    pub media: MediaConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub dialplans: DialplansConfig,
    pub sounds: DirConfig,
    pub email: EmailConfig,
    pub wechat: WechatConfig,
    pub webhook: WebhookConfig,
    pub chat: ChatConfig,
    pub speech: SpeechConfig,
    pub trunk: TrunkConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechConfig {
    /// `base` (multilingual) or `tiny.en`; empty = transcription off.
    pub model: String,
    /// Where `ggml-<model>.bin` is; empty = `<data_dir>/models`.
    pub models_dir: PathBuf,
    /// Recordings transcribed at the same time.
    pub workers: usize,
    /// Callers' utterances (IVR `listen`) recognised at the same time, apart
    /// from the recordings, so a caller never waits behind them.
    pub live_workers: usize,
    /// Transcribe calls while they happen (else after they end).
    pub live_transcripts: bool,
    /// CPU threads per worker.
    pub threads: usize,
    /// Language of the calls (`en`, `zh`) or `auto` to detect it.
    pub language: String,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            model: "base".into(),
            models_dir: PathBuf::new(),
            workers: 1,
            live_workers: 1,
            live_transcripts: true,
            threads: 2,
            language: "auto".into(),
        }
    }
}

impl SpeechConfig {
    pub fn models_dir(&self, data_dir: &std::path::Path) -> PathBuf {
        if self.models_dir.as_os_str().is_empty() {
            data_dir.join("models")
        } else {
            self.models_dir.clone()
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DialplansConfig {
    pub dir: PathBuf,
    /// Variables every call starts with (e.g. `open = "always"` to override
    /// business hours in the demo hotline).
    pub variables: std::collections::BTreeMap<String, String>,
}

impl Default for DialplansConfig {
    fn default() -> Self {
        DialplansConfig {
            dir: PathBuf::from("./dialplans"),
            variables: Default::default(),
        }
    }
}

/// A folder setting (`[dialplans] dir`, `[sounds] dir`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: String,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    pub listen: String,
    /// RFC 3261 T1 in milliseconds (round-trip estimate).
    pub t1_ms: u64,
    /// RFC 3261 T2 in milliseconds (retransmit cap).
    pub t2_ms: u64,
    /// RFC 3261 T4 in milliseconds (network lifetime).
    pub t4_ms: u64,
    /// Transactions alive at once before new requests get 503.
    pub max_transactions: usize,
    /// Calls alive at once before new INVITEs get 503.
    pub max_calls: usize,
    /// The User-Agent / Server header value.
    pub user_agent: String,
    /// Digest realm for REGISTER authentication.
    pub realm: String,
    /// How long the echo test (9999) rings before answering.
    pub echo_ring_ms: u64,
    /// SIP over WebSocket (RFC 7118) on the HTTP server's `/sip` route.
    pub websocket: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// First and last UDP port for RTP (RTCP uses the next odd port).
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// Send to the address RTP actually comes from (NAT), not only the SDP's.
    pub symmetric_rtp: bool,
    /// Hang up when no RTP arrives for this many seconds.
    pub media_timeout_secs: u64,
    /// Record calls (caller audio while in the IVR and queue) under `<data_dir>/recordings`.
    pub record_calls: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            rtp_port_min: 10000,
            rtp_port_max: 20000,
            symmetric_rtp: true,
            media_timeout_secs: 30,
            record_calls: true,
        }
    }
}

/// The SIP trunk outbound calls (callbacks) go through.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrunkConfig {
    /// `host:port` of the carrier's trunk or SBC; empty = no outbound calls.
    pub address: String,
    /// The number customers see (the From user of our INVITEs).
    pub caller_id: String,
    /// How long a customer's phone may ring.
    pub ring_seconds: u32,
    /// Tries per callback before it is given up.
    pub callback_attempts: u32,
    /// Wait between tries of a callback.
    pub callback_retry_seconds: u32,
    /// An OPTIONS ping to the trunk this often (its state is on `/metrics`); 0 = never.
    pub options_seconds: u32,
}

impl Default for TrunkConfig {
    fn default() -> Self {
        TrunkConfig {
            address: String::new(),
            caller_id: "4000".into(),
            ring_seconds: 40,
            callback_attempts: 3,
            callback_retry_seconds: 300,
            options_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub session_hours: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            http: HttpConfig::default(),
            sip: SipConfig::default(),
            media: MediaConfig::default(),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            dialplans: DialplansConfig::default(),
            sounds: DirConfig {
                dir: PathBuf::from("./sounds"),
            },
            email: EmailConfig::default(),
            wechat: WechatConfig::default(),
            webhook: WebhookConfig::default(),
            chat: ChatConfig::default(),
            speech: SpeechConfig::default(),
            trunk: TrunkConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1 << 20,
        }
    }
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: "0.0.0.0:5060".into(),
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
            max_transactions: 50_000,
            max_calls: 12_000,
            user_agent: "Switchboard".into(),
            realm: "switchboard".into(),
            echo_ring_ms: 500,
            websocket: true,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 8,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { session_hours: 12 }
    }
}

/// The environment variables that override file values, in the order they apply.
pub const ENV_KEYS: &[&str] = &[
    "SWITCHBOARD_DATA_DIR",
    "SWITCHBOARD_HTTP_LISTEN",
    "SWITCHBOARD_SIP_LISTEN",
    "SWITCHBOARD_DATABASE_URL",
    "SWITCHBOARD_LOG_FORMAT",
    "SWITCHBOARD_ECHO_RING_MS",
    "SWITCHBOARD_DIALPLANS_DIR",
    "SWITCHBOARD_DIALPLAN_VARS",
    "SWITCHBOARD_SOUNDS_DIR",
    "SWITCHBOARD_SMTP_LISTEN",
    "SWITCHBOARD_SMTP_RELAY",
    "SWITCHBOARD_EMAIL_ADDRESS",
    "SWITCHBOARD_EMAIL_RETRY_SECONDS",
    "SWITCHBOARD_WECHAT_TOKEN",
    "SWITCHBOARD_WECHAT_APP_ID",
    "SWITCHBOARD_WECHAT_APP_SECRET",
    "SWITCHBOARD_WECHAT_API_BASE",
    "SWITCHBOARD_WEBHOOK_SECRET",
    "SWITCHBOARD_WEBHOOK_URL",
    "SWITCHBOARD_SPEECH_MODEL",
    "SWITCHBOARD_MODEL_DIR",
    "SWITCHBOARD_LIVE_TRANSCRIPTS",
    "SWITCHBOARD_TRUNK_ADDRESS",
    "SWITCHBOARD_CALLBACK_RETRY_SECONDS",
    "SWITCHBOARD_TRUNK_OPTIONS_SECONDS",
];

impl Config {
    /// Loads `path` (or the defaults when `path` is `None` and `config/switchboard.toml`
    /// does not exist), applies environment overrides from `env`, and validates.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let default_path = Path::new("config/switchboard.toml");
        let chosen = match path {
            Some(p) => Some(p),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let mut config = match chosen {
            Some(p) => Self::parse_file(p)?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn parse_file(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: name.clone(),
            reason: e.to_string(),
        })?;
        Self::parse_str(&name, &text)
    }

    /// Parses configuration text; `name` is used in error messages.
    pub fn parse_str(name: &str, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Syntax {
                path: name.to_string(),
                line,
                col,
                message: e.message().to_string(),
            }
        })
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("SWITCHBOARD_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("SWITCHBOARD_HTTP_LISTEN") {
            self.http.listen = v;
        }
        if let Some(v) = env("SWITCHBOARD_SIP_LISTEN") {
            self.sip.listen = v;
        }
        if let Some(v) = env("SWITCHBOARD_DATABASE_URL") {
            self.database.url = v;
        }
        if let Some(v) = env("SWITCHBOARD_DIALPLANS_DIR") {
            self.dialplans.dir = PathBuf::from(v);
        }
        if let Some(v) = env("SWITCHBOARD_DIALPLAN_VARS") {
            for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, val) = pair.split_once('=').ok_or_else(|| {
                    invalid(
                        "environment",
                        "SWITCHBOARD_DIALPLAN_VARS",
                        "expected name=value,name=value",
                    )
                })?;
                self.dialplans
                    .variables
                    .insert(k.trim().to_string(), val.trim().to_string());
            }
        }
        if let Some(v) = env("SWITCHBOARD_SMTP_LISTEN") {
            self.email.smtp_listen = v;
        }
        if let Some(v) = env("SWITCHBOARD_SMTP_RELAY") {
            self.email.smtp_relay = v;
        }
        if let Some(v) = env("SWITCHBOARD_EMAIL_ADDRESS") {
            self.email.address = v;
        }
        if let Some(v) = env("SWITCHBOARD_EMAIL_RETRY_SECONDS") {
            self.email.retry_seconds = v.parse().map_err(|_| {
                invalid(
                    "environment",
                    "SWITCHBOARD_EMAIL_RETRY_SECONDS",
                    "expected whole seconds",
                )
            })?;
        }
        for (key, field) in [
            ("SWITCHBOARD_WECHAT_TOKEN", &mut self.wechat.token),
            ("SWITCHBOARD_WECHAT_APP_ID", &mut self.wechat.app_id),
            ("SWITCHBOARD_WECHAT_APP_SECRET", &mut self.wechat.app_secret),
            ("SWITCHBOARD_WECHAT_API_BASE", &mut self.wechat.api_base),
            ("SWITCHBOARD_WEBHOOK_SECRET", &mut self.webhook.secret),
            ("SWITCHBOARD_WEBHOOK_URL", &mut self.webhook.deliver_url),
        ] {
            if let Some(v) = env(key) {
                *field = v;
            }
        }
        if let Some(v) = env("SWITCHBOARD_SPEECH_MODEL") {
            self.speech.model = v;
        }
        if let Some(v) = env("SWITCHBOARD_MODEL_DIR") {
            self.speech.models_dir = PathBuf::from(v);
        }
        if let Some(v) = env("SWITCHBOARD_LIVE_TRANSCRIPTS") {
            self.speech.live_transcripts = v.parse().map_err(|_| {
                invalid(
                    "environment",
                    "SWITCHBOARD_LIVE_TRANSCRIPTS",
                    "expected true or false",
                )
            })?;
        }
        if let Some(v) = env("SWITCHBOARD_TRUNK_ADDRESS") {
            self.trunk.address = v;
        }
        if let Some(v) = env("SWITCHBOARD_CALLBACK_RETRY_SECONDS") {
            self.trunk.callback_retry_seconds = v.parse().map_err(|_| {
                invalid(
                    "environment",
                    "SWITCHBOARD_CALLBACK_RETRY_SECONDS",
                    "expected a number of seconds",
                )
            })?;
        }
        if let Some(v) = env("SWITCHBOARD_TRUNK_OPTIONS_SECONDS") {
            self.trunk.options_seconds = v.parse().map_err(|_| {
                invalid(
                    "environment",
                    "SWITCHBOARD_TRUNK_OPTIONS_SECONDS",
                    "expected a number of seconds",
                )
            })?;
        }
        if let Some(v) = env("SWITCHBOARD_SOUNDS_DIR") {
            self.sounds.dir = PathBuf::from(v);
        }
        if let Some(v) = env("SWITCHBOARD_ECHO_RING_MS") {
            self.sip.echo_ring_ms = v.parse().map_err(|_| {
                invalid(
                    "environment",
                    "SWITCHBOARD_ECHO_RING_MS",
                    "expected milliseconds",
                )
            })?;
        }
        if let Some(v) = env("SWITCHBOARD_LOG_FORMAT") {
            self.log.format = match v.as_str() {
                "human" => LogFormat::Human,
                "json" => LogFormat::Json,
                _ => {
                    return Err(invalid(
                        "environment",
                        "SWITCHBOARD_LOG_FORMAT",
                        "expected human or json",
                    ));
                }
            };
        }
        Ok(())
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_addr(&self.http.listen, "http.listen")?;
        parse_addr(&self.sip.listen, "sip.listen")?;
        if !self.email.smtp_listen.is_empty() {
            parse_addr(&self.email.smtp_listen, "email.smtp_listen")?;
        }
        self.email.validate()?;
        self.wechat.validate()?;
        self.webhook.validate()?;
        self.chat.validate()?;
        if self.http.max_body_bytes < 1024 {
            return Err(invalid(
                "config",
                "http.max_body_bytes",
                "must be at least 1024",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid(
                "config",
                "database.max_connections",
                "must be at least 1",
            ));
        }
        let url = &self.database.url;
        if !url.is_empty()
            && !url.starts_with("sqlite:")
            && !url.starts_with("postgres://")
            && !url.starts_with("postgresql://")
        {
            return Err(invalid(
                "config",
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.media.rtp_port_min >= self.media.rtp_port_max || self.media.rtp_port_min < 1024 {
            return Err(invalid(
                "config",
                "media.rtp_port_min",
                "must be at least 1024 and below media.rtp_port_max",
            ));
        }
        if self.sip.t1_ms == 0 || self.sip.t2_ms < self.sip.t1_ms {
            return Err(invalid(
                "config",
                "sip.t2_ms",
                "T1 must be positive and T2 at least T1",
            ));
        }
        if !self.trunk.address.is_empty() {
            parse_addr(&self.trunk.address, "trunk.address")?;
        }
        if self.trunk.callback_attempts == 0 || self.trunk.ring_seconds == 0 {
            return Err(invalid(
                "config",
                "trunk.callback_attempts",
                "attempts and ring_seconds must be at least 1",
            ));
        }
        if self.auth.session_hours == 0 {
            return Err(invalid(
                "config",
                "auth.session_hours",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    pub fn http_addr(&self) -> SocketAddr {
        parse_addr(&self.http.listen, "http.listen")
            .unwrap_or_else(|_| ([127, 0, 0, 1], 8080).into())
    }

    pub fn sip_addr(&self) -> SocketAddr {
        parse_addr(&self.sip.listen, "sip.listen").unwrap_or_else(|_| ([0, 0, 0, 0], 5060).into())
    }

    /// The database URL in use: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("switchboard.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }
}

pub(crate) fn invalid(source_name: &str, key: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        source_name: source_name.into(),
        key: key.into(),
        message: message.into(),
    }
}

fn parse_addr(s: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| {
        invalid(
            "config",
            key,
            &format!("`{s}` is not an address such as 127.0.0.1:8080"),
        )
    })
}

/// 1-based line and column of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn shipped_file_equals_defaults() {
        let text = include_str!("../config/switchboard.toml");
        let parsed = Config::parse_str("switchboard.toml", text).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_key_reports_line_and_column() {
        let err = Config::parse_str("c.toml", "[http]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n")
            .unwrap_err();
        match err {
            ConfigError::Syntax {
                line, col, message, ..
            } => {
                assert_eq!((line, col), (3, 1));
                assert!(message.contains("lisen"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn env_overrides_file() {
        let env = |k: &str| match k {
            "SWITCHBOARD_HTTP_LISTEN" => Some("127.0.0.1:0".to_string()),
            "SWITCHBOARD_DATABASE_URL" => Some("postgres://x@y/z".to_string()),
            _ => None,
        };
        let c = Config::load(None, &env).unwrap();
        assert_eq!(c.http_addr().port(), 0);
        assert_eq!(c.database_url(), "postgres://x@y/z");
    }

    #[test]
    fn bad_address_is_rejected() {
        let mut c = Config::default();
        c.http.listen = "nowhere".into();
        assert!(
            matches!(c.validate(), Err(ConfigError::Invalid { key, .. }) if key == "http.listen")
        );
        assert!(Config::load(Some(Path::new("/nonexistent.toml")), &no_env).is_err());
    }

    #[test]
    fn default_database_is_sqlite_under_data_dir() {
        assert!(
            Config::default()
                .database_url()
                .starts_with("sqlite://./data/switchboard.db")
        );
    }
}
