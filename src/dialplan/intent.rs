//! Matching what a caller said against a `listen` step's intents. Text and
//! keywords are normalised the same way (lower case, punctuation to spaces,
//! traditional Chinese characters to simplified), then a
//! keyword matches as whole words in alphabetic scripts and as a substring in
//! Chinese, which has no spaces between words. Routing rules (`routing::rules`)
//! match a chat's or an e-mail's words with the same functions, so a keyword means
//! the same thing typed as spoken.

use std::collections::BTreeMap;

use super::load::Dialplan;
use super::schema::Intent;

/// Lower case, letters and digits kept, everything else one space, trimmed;
/// traditional characters become simplified.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    let text = crate::speech::chinese::to_simplified(text);
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_string()
}

/// The first intent, in the step's order, with a keyword in `heard`.
pub fn find<'a>(intents: &'a [Intent], heard: &str) -> Option<&'a Intent> {
    let text = normalise(heard);
    if text.is_empty() {
        return None;
    }
    intents.iter().find(|i| {
        i.keywords
            .iter()
            .any(|k| contains(&text, &normalise(&k.value)))
    })
}

/// True when `keyword` is in `text`, both already `normalise`d: whole words, or a
/// substring when the keyword is Chinese.
pub fn contains(text: &str, keyword: &str) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if keyword.chars().any(is_cjk) {
        let squeeze = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
        return squeeze(text).contains(&squeeze(keyword));
    }
    format!(" {text} ").contains(&format!(" {keyword} "))
}

/// The named intents of every `listen` step in `plans`, each with its keywords
/// `normalise`d; an intent named in several steps has all their keywords.
pub fn named<'a>(plans: impl IntoIterator<Item = &'a Dialplan>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let listens = plans
        .into_iter()
        .flat_map(|p| p.file.steps.values())
        .filter_map(|s| s.value.listen.as_ref());
    for intent in listens.flat_map(|l| &l.intents) {
        let keywords = out.entry(intent.name.clone()).or_default();
        for k in &intent.keywords {
            let k = normalise(&k.value);
            if !k.is_empty() && !keywords.contains(&k) {
                keywords.push(k);
            }
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_saphyr::{Location, Spanned};

    fn s(v: &str) -> Spanned<String> {
        Spanned::new(v.into(), Location::UNKNOWN, Location::UNKNOWN)
    }

    fn intents() -> Vec<Intent> {
        let intent = |name: &str, words: &[&str]| Intent {
            name: name.into(),
            keywords: words.iter().map(|w| s(w)).collect(),
            goto: s(name),
        };
        vec![
            intent("order", &["order", "delivery", "订单", "快递"]),
            intent("support", &["help", "not working", "帮助", "故障"]),
        ]
    }

    #[test]
    fn english_matches_whole_words_ignoring_case_and_punctuation() {
        let all = intents();
        let hit = |t: &str| find(&all, t).map(|i| i.name.clone());
        assert_eq!(hit("I want to check my Order."), Some("order".into()));
        assert_eq!(hit("Hi, my phone is NOT working!"), Some("support".into()));
        assert_eq!(hit("Where is my delivery?"), Some("order".into()));
        assert_eq!(hit("The border is closed"), None, "no match inside a word");
        assert_eq!(
            hit("Can you help me with my order"),
            Some("order".into()),
            "first intent wins"
        );
        assert_eq!(hit(""), None);
        assert_eq!(hit("..."), None);
    }

    #[test]
    fn chinese_matches_substrings_in_either_script() {
        let all = intents();
        let hit = |t: &str| find(&all, t).map(|i| i.name.clone());
        assert_eq!(hit("我想查询一下我的订单。"), Some("order".into()));
        assert_eq!(
            hit("我想查詢一下我的訂單"),
            Some("order".into()),
            "traditional"
        );
        assert_eq!(hit("机器 有 故障"), Some("support".into()));
        assert_eq!(hit("你好"), None);
    }

    #[test]
    fn named_intents_of_the_hotline() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("dialplans/hotline.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let plan = crate::dialplan::load::parse(&path, &text, &root.join("sounds"))
            .unwrap_or_else(|e| panic!("{e:?}"))
            .0;
        let all = named([&plan]);
        assert_eq!(
            all.keys().map(String::as_str).collect::<Vec<_>>(),
            ["operator", "order", "sales", "support"]
        );
        assert!(all["support"].contains(&"not working".to_string()));
        assert!(all["order"].contains(&"订单".to_string()));
    }

    #[test]
    fn normalise_keeps_letters_and_digits() {
        assert_eq!(normalise("  Order #1234, please! "), "order 1234 please");
        assert_eq!(normalise("訂單號碼"), "订单号码");
        assert_eq!(normalise("?!"), "");
    }
}
