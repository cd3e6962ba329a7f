//! Matching what a caller said against a `listen` step's intents. Text and
//! keywords are normalised the same way (lower case, punctuation to spaces,
//! traditional Chinese characters common in support calls to simplified), then a
//! keyword matches as whole words in alphabetic scripts and as a substring in
//! Chinese, which has no spaces between words.

use super::schema::Intent;

/// Lower case, letters and digits kept, everything else one space, trimmed; the
/// traditional forms of common characters become simplified.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(simplified(c));
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

fn contains(text: &str, keyword: &str) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if keyword.chars().any(is_cjk) {
        let squeeze = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
        return squeeze(text).contains(&squeeze(keyword));
    }
    format!(" {text} ").contains(&format!(" {keyword} "))
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// Traditional → simplified for characters a support hotline hears often
/// (whisper writes either form for Mandarin).
fn simplified(c: char) -> char {
    const PAIRS: &[(char, char)] = &[
        ('訂', '订'),
        ('單', '单'),
        ('詢', '询'),
        ('幫', '帮'),
        ('問', '问'),
        ('題', '题'),
        ('買', '买'),
        ('價', '价'),
        ('錢', '钱'),
        ('貨', '货'),
        ('號', '号'),
        ('碼', '码'),
        ('賬', '账'),
        ('帳', '账'),
        ('戶', '户'),
        ('務', '务'),
        ('銷', '销'),
        ('壞', '坏'),
        ('維', '维'),
        ('換', '换'),
        ('運', '运'),
        ('費', '费'),
        ('發', '发'),
        ('還', '还'),
        ('沒', '没'),
        ('們', '们'),
        ('個', '个'),
        ('這', '这'),
        ('說', '说'),
        ('話', '话'),
        ('電', '电'),
        ('態', '态'),
        ('麼', '么'),
        ('嗎', '吗'),
        ('請', '请'),
        ('謝', '谢'),
        ('見', '见'),
        ('處', '处'),
        ('閱', '阅'),
        ('轉', '转'),
        ('員', '员'),
        ('聯', '联'),
        ('繫', '系'),
        ('係', '系'),
        ('開', '开'),
        ('關', '关'),
        ('網', '网'),
        ('絡', '络'),
        ('線', '线'),
        ('機', '机'),
        ('資', '资'),
        ('訊', '讯'),
        ('準', '准'),
        ('備', '备'),
        ('會', '会'),
        ('險', '险'),
        ('報', '报'),
        ('銀', '银'),
        ('進', '进'),
        ('狀', '状'),
        ('況', '况'),
        ('詳', '详'),
        ('細', '细'),
        ('預', '预'),
        ('約', '约'),
        ('時', '时'),
        ('間', '间'),
        ('愛', '爱'),
        ('腦', '脑'),
        ('將', '将'),
        ('給', '给'),
        ('幣', '币'),
        ('訴', '诉'),
        ('護', '护'),
        ('讓', '让'),
        ('認', '认'),
        ('證', '证'),
    ];
    PAIRS
        .iter()
        .find(|(t, _)| *t == c)
        .map(|(_, s)| *s)
        .unwrap_or(c)
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
    fn normalise_keeps_letters_and_digits() {
        assert_eq!(normalise("  Order #1234, please! "), "order 1234 please");
        assert_eq!(normalise("訂單號碼"), "订单号码");
        assert_eq!(normalise("?!"), "");
    }
}
