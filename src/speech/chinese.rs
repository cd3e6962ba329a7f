//! Chinese text in simplified characters: whisper often writes Mandarin in
//! traditional characters; transcripts and intent matching use simplified, the
//! form our callers and agents read. OpenCC's traditional-to-simplified rules
//! (phrases first, then characters), in pure Rust, loaded once.

use std::sync::OnceLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

fn converter() -> Option<&'static OpenCC> {
    static CONVERTER: OnceLock<Option<OpenCC>> = OnceLock::new();
    CONVERTER
        .get_or_init(|| match OpenCC::from_config(BuiltinConfig::T2s) {
            Ok(c) => Some(c),
            Err(e) => {
                // Built-in tables: only a broken build gets here; the unit test
                // below catches it.
                tracing::error!(error = %e, "traditional-to-simplified tables did not load");
                None
            }
        })
        .as_ref()
}

/// `text` with traditional characters made simplified (other text unchanged).
pub fn to_simplified(text: &str) -> String {
    match converter() {
        Some(c) if text.chars().any(|ch| ch as u32 >= 0x2e80) => c.convert(text),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_becomes_simplified_and_the_rest_stays() {
        assert!(converter().is_some(), "built-in tables load");
        assert_eq!(to_simplified("我想查詢我的訂單"), "我想查询我的订单");
        assert_eq!(to_simplified("我的電腦有問題"), "我的电脑有问题");
        assert_eq!(to_simplified("已经是简体"), "已经是简体");
        assert_eq!(to_simplified("Order 1234, please."), "Order 1234, please.");
    }
}
