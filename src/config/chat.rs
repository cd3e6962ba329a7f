//! The `[chat]` section: how fast one web chat widget connection may send.
//! Each connection has a token bucket; a message beyond it is answered
//! `rate_limited` and not stored (the widget keeps it and resends it).

use serde::Deserialize;

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Messages one connection may send per second on average.
    pub messages_per_second: f64,
    /// Messages one connection may send at once after a quiet spell.
    pub burst: u32,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            messages_per_second: 2.0,
            burst: 10,
        }
    }
}

impl ChatConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.messages_per_second.is_finite() && self.messages_per_second > 0.0) {
            return Err(invalid(
                "config",
                "chat.messages_per_second",
                "must be a number above 0",
            ));
        }
        if self.burst == 0 {
            return Err(invalid("config", "chat.burst", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_not() {
        assert!(ChatConfig::default().validate().is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let c = ChatConfig {
                messages_per_second: bad,
                ..ChatConfig::default()
            };
            assert!(c.validate().is_err(), "{bad}");
        }
        let c = ChatConfig {
            burst: 0,
            ..ChatConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
