//! Saying values with prompt snippets: digits, numbers, amounts of money and
//! dates, per language. A value becomes a list of snippet names under
//! `sounds/<language>/say/` (`12`, `hundred`, `month_11`, …), which the caller
//! hears as one playback. Pure functions: no files, no clock.

use std::fmt;

/// How a value is said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One digit at a time (order and phone numbers); `*` and `#` too.
    Digits,
    /// A whole or decimal number: "one hundred twenty-three point five".
    Number,
    /// Money with its currency: "twelve yuan and fifty cents", 十二元五角.
    Amount,
    /// A calendar date `YYYY-MM-DD`, said as month and day.
    Date,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Digits => "digits",
            Kind::Number => "number",
            Kind::Amount => "amount",
            Kind::Date => "date",
        })
    }
}

/// Currencies an amount can be said in.
pub const CURRENCIES: &[&str] = &["cny", "usd"];

/// Languages with snippets; other languages are said in English.
pub const LANGUAGES: &[&str] = &["en", "zh"];

/// Largest whole number said (just under a trillion).
pub const MAX_NUMBER: u64 = 999_999_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SayError {
    #[error("`{value}` cannot be said as {kind}")]
    Invalid { value: String, kind: Kind },
    #[error("{value} is too large to say (at most {MAX_NUMBER})")]
    TooLarge { value: String },
    #[error("unknown currency `{0}` (known: cny, usd)")]
    Currency(String),
}

/// The snippet names that say `value` as `kind` in `language`.
pub fn snippets(
    language: &str,
    kind: Kind,
    value: &str,
    currency: &str,
) -> Result<Vec<String>, SayError> {
    let value = value.trim();
    let invalid = || SayError::Invalid {
        value: value.to_string(),
        kind,
    };
    let zh = language == "zh";
    match kind {
        Kind::Digits => digits(value).ok_or_else(invalid),
        Kind::Number => number(value, zh),
        Kind::Amount => {
            if !CURRENCIES.contains(&currency) {
                return Err(SayError::Currency(currency.to_string()));
            }
            amount(value, zh, currency)
        }
        Kind::Date => date(value, zh).ok_or_else(invalid),
    }
}

/// Names of every snippet a language needs, for checks and the sound script.
pub fn all_snippets(language: &str) -> Vec<String> {
    let mut out: Vec<String> = (0..10).map(|d| format!("digit_{d}")).collect();
    out.extend(["star", "pound", "minus", "point", "hundred", "thousand"].map(String::from));
    if language == "zh" {
        out.extend((0..=10).map(|n| n.to_string()));
        out.extend(["ten_thousand", "hundred_million", "month", "day"].map(String::from));
        out.extend(["yuan", "jiao", "fen", "usd", "usd_minor"].map(String::from));
    } else {
        out.extend((0..20).map(|n| n.to_string()));
        out.extend((2..10).map(|t| (t * 10).to_string()));
        out.extend(["million", "billion", "and"].map(String::from));
        out.extend((1..=12).map(|m| format!("month_{m}")));
        out.extend((1..=31).map(|d| format!("ordinal_{d}")));
        out.extend(["cny", "cny_minor", "usd", "usd_minor"].map(String::from));
    }
    out
}

fn digits(value: &str) -> Option<Vec<String>> {
    if value.is_empty() {
        return None;
    }
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| match c {
            '0'..='9' => Some(format!("digit_{c}")),
            '*' => Some("star".into()),
            '#' => Some("pound".into()),
            _ => None,
        })
        .collect()
}

/// A whole number, optionally negative, optionally with decimals.
fn number(value: &str, zh: bool) -> Result<Vec<String>, SayError> {
    let invalid = || SayError::Invalid {
        value: value.to_string(),
        kind: Kind::Number,
    };
    let (negative, rest) = match value.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || rest.ends_with('.') {
        return Err(invalid());
    }
    let n = parse_whole(whole, value)?;
    let mut out = Vec::new();
    if negative && (n > 0 || fraction.bytes().any(|b| b != b'0')) {
        out.push("minus".to_string());
    }
    out.extend(if zh { whole_zh(n) } else { whole_en(n) });
    if !fraction.is_empty() {
        out.push("point".into());
        out.extend(fraction.chars().map(|d| format!("digit_{d}")));
    }
    Ok(out)
}

fn parse_whole(whole: &str, value: &str) -> Result<u64, SayError> {
    let too_large = || SayError::TooLarge {
        value: value.to_string(),
    };
    let n: u64 = whole.parse().map_err(|_| too_large())?;
    if n > MAX_NUMBER {
        return Err(too_large());
    }
    Ok(n)
}

/// English: "one hundred twenty three thousand four hundred five".
fn whole_en(n: u64) -> Vec<String> {
    if n == 0 {
        return vec!["0".into()];
    }
    let mut out = Vec::new();
    let scales = [
        (1_000_000_000, Some("billion")),
        (1_000_000, Some("million")),
        (1_000, Some("thousand")),
        (1, None),
    ];
    let mut rest = n;
    for (size, word) in scales {
        let chunk = rest / size;
        rest %= size;
        if chunk == 0 {
            continue;
        }
        out.extend(below_thousand_en(chunk));
        out.extend(word.map(String::from));
    }
    out
}

fn below_thousand_en(n: u64) -> Vec<String> {
    let mut out = Vec::new();
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(hundreds.to_string());
        out.push("hundred".into());
    }
    if rest >= 20 {
        out.push((rest / 10 * 10).to_string());
        if rest % 10 > 0 {
            out.push((rest % 10).to_string());
        }
    } else if rest > 0 {
        out.push(rest.to_string());
    }
    out
}

/// Chinese: groups of four digits with 万 and 亿, one 零 for each run of zeros,
/// and 十 rather than 一十 at the start.
fn whole_zh(n: u64) -> Vec<String> {
    if n == 0 {
        return vec!["0".into()];
    }
    let groups = [
        (n / 100_000_000, Some("hundred_million")),
        (n / 10_000 % 10_000, Some("ten_thousand")),
        (n % 10_000, None),
    ];
    let mut out: Vec<String> = Vec::new();
    let mut zero_pending = false;
    for (g, unit) in groups {
        if g == 0 {
            zero_pending |= !out.is_empty();
            continue;
        }
        if !out.is_empty() && (zero_pending || g < 1000) {
            out.push("0".into());
        }
        zero_pending = false;
        out.extend(group_zh(g, out.is_empty()));
        out.extend(unit.map(String::from));
    }
    out
}

/// One group below 10 000: 一千零五, 三百二十, 十五 (leading).
fn group_zh(g: u64, leading: bool) -> Vec<String> {
    let places = [
        (1000, Some("thousand")),
        (100, Some("hundred")),
        (10, Some("10")),
        (1, None),
    ];
    let mut out: Vec<String> = Vec::new();
    let mut zero = false;
    for (size, unit) in places {
        let d = g / size % 10;
        if d == 0 {
            zero |= !out.is_empty();
            continue;
        }
        if zero {
            out.push("0".into());
            zero = false;
        }
        let ten_at_start = size == 10 && d == 1 && leading && out.is_empty();
        if !ten_at_start {
            out.push(d.to_string());
        }
        out.extend(unit.map(String::from));
    }
    out
}

/// Money: whole units and hundredths, said with the currency's words.
fn amount(value: &str, zh: bool, currency: &str) -> Result<Vec<String>, SayError> {
    let invalid = || SayError::Invalid {
        value: value.to_string(),
        kind: Kind::Amount,
    };
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_ok(whole) || !digits_ok(fraction) || fraction.len() > 2 {
        return Err(invalid());
    }
    let major = parse_whole(whole, value)?;
    let minor: u64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    Ok(if zh {
        amount_zh(major, minor, currency)
    } else {
        amount_en(major, minor, currency)
    })
}

fn amount_en(major: u64, minor: u64, currency: &str) -> Vec<String> {
    let mut out = Vec::new();
    if major > 0 || minor == 0 {
        out.extend(whole_en(major));
        out.push(currency.to_string());
    }
    if minor > 0 {
        if major > 0 {
            out.push("and".into());
        }
        out.extend(whole_en(minor));
        out.push(format!("{currency}_minor"));
    }
    out
}

/// 十二元五角三分; US dollars as 美元 and 美分.
fn amount_zh(major: u64, minor: u64, currency: &str) -> Vec<String> {
    let mut out = Vec::new();
    if currency == "usd" {
        if major > 0 || minor == 0 {
            out.extend(whole_zh(major));
            out.push("usd".into());
        }
        if minor > 0 {
            out.extend(whole_zh(minor));
            out.push("usd_minor".into());
        }
        return out;
    }
    let (jiao, fen) = (minor / 10, minor % 10);
    if major > 0 || minor == 0 {
        out.extend(whole_zh(major));
        out.push("yuan".into());
    }
    if jiao > 0 {
        out.extend([jiao.to_string(), "jiao".into()]);
    } else if fen > 0 && major > 0 {
        out.push("0".into());
    }
    if fen > 0 {
        out.extend([fen.to_string(), "fen".into()]);
    }
    out
}

/// `YYYY-MM-DD` (a time after it is ignored) as month and day.
fn date(value: &str, zh: bool) -> Option<Vec<String>> {
    let day_part = value.get(..10)?;
    let d = chrono::NaiveDate::parse_from_str(day_part, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    let (m, day) = (u64::from(d.month()), u64::from(d.day()));
    Some(if zh {
        let mut out = whole_zh(m);
        out.push("month".into());
        out.extend(whole_zh(day));
        out.push("day".into());
        out
    } else {
        vec![format!("month_{m}"), format!("ordinal_{day}")]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(kind: Kind, v: &str) -> String {
        snippets("en", kind, v, "cny").unwrap().join(" ")
    }

    fn zh(kind: Kind, v: &str) -> String {
        snippets("zh", kind, v, "cny").unwrap().join(" ")
    }

    #[test]
    fn english_numbers() {
        assert_eq!(en(Kind::Number, "0"), "0");
        assert_eq!(en(Kind::Number, "7"), "7");
        assert_eq!(en(Kind::Number, "19"), "19");
        assert_eq!(en(Kind::Number, "40"), "40");
        assert_eq!(en(Kind::Number, "42"), "40 2");
        assert_eq!(en(Kind::Number, "100"), "1 hundred");
        assert_eq!(en(Kind::Number, "305"), "3 hundred 5");
        assert_eq!(en(Kind::Number, "1000"), "1 thousand");
        assert_eq!(en(Kind::Number, "12345"), "12 thousand 3 hundred 40 5");
        assert_eq!(en(Kind::Number, "2000017"), "2 million 17");
        assert_eq!(en(Kind::Number, "-3.25"), "minus 3 point digit_2 digit_5");
        assert_eq!(en(Kind::Number, "-0"), "0");
    }

    #[test]
    fn chinese_numbers() {
        assert_eq!(zh(Kind::Number, "0"), "0");
        assert_eq!(zh(Kind::Number, "10"), "10");
        assert_eq!(zh(Kind::Number, "15"), "10 5");
        assert_eq!(zh(Kind::Number, "20"), "2 10");
        assert_eq!(zh(Kind::Number, "110"), "1 hundred 1 10");
        assert_eq!(zh(Kind::Number, "1005"), "1 thousand 0 5");
        assert_eq!(zh(Kind::Number, "1050"), "1 thousand 0 5 10");
        assert_eq!(zh(Kind::Number, "10000"), "1 ten_thousand");
        assert_eq!(zh(Kind::Number, "100010"), "10 ten_thousand 0 1 10");
        assert_eq!(
            zh(Kind::Number, "120000300"),
            "1 hundred_million 2 thousand ten_thousand 0 3 hundred"
        );
        assert_eq!(zh(Kind::Number, "100000000"), "1 hundred_million");
        assert_eq!(zh(Kind::Number, "100000001"), "1 hundred_million 0 1");
    }

    #[test]
    fn digits_and_symbols() {
        assert_eq!(en(Kind::Digits, "40-1#"), "digit_4 digit_0 digit_1 pound");
        assert!(snippets("en", Kind::Digits, "12a", "cny").is_err());
        assert!(snippets("en", Kind::Digits, "", "cny").is_err());
    }

    #[test]
    fn amounts() {
        assert_eq!(en(Kind::Amount, "12.5"), "12 cny and 50 cny_minor");
        assert_eq!(en(Kind::Amount, "0.05"), "5 cny_minor");
        assert_eq!(en(Kind::Amount, "3"), "3 cny");
        assert_eq!(zh(Kind::Amount, "12.53"), "10 2 yuan 5 jiao 3 fen");
        assert_eq!(zh(Kind::Amount, "12.03"), "10 2 yuan 0 3 fen");
        assert_eq!(zh(Kind::Amount, "0.5"), "5 jiao");
        assert_eq!(
            snippets("zh", Kind::Amount, "2.99", "usd")
                .unwrap()
                .join(" "),
            "2 usd 9 10 9 usd_minor"
        );
        assert!(snippets("en", Kind::Amount, "1.234", "cny").is_err());
        assert!(snippets("en", Kind::Amount, "1", "eur").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(en(Kind::Date, "2026-11-30"), "month_11 ordinal_30");
        assert_eq!(
            zh(Kind::Date, "2026-11-30T10:00:00Z"),
            "10 1 month 3 10 day"
        );
        assert!(snippets("en", Kind::Date, "2026-02-30", "cny").is_err());
        assert!(snippets("en", Kind::Date, "tomorrow", "cny").is_err());
    }

    #[test]
    fn bad_numbers_are_errors_not_panics() {
        for v in ["", "-", "1.", ".5", "1e3", "12 34", "9999999999999", "一"] {
            assert!(snippets("en", Kind::Number, v, "cny").is_err(), "{v}");
            assert!(snippets("zh", Kind::Number, v, "cny").is_err(), "{v}");
        }
    }

    #[test]
    fn every_snippet_said_is_listed() {
        for lang in LANGUAGES {
            let all = all_snippets(lang);
            let samples = [
                (Kind::Number, "-987654321012.5"),
                (Kind::Number, "1010101"),
                (Kind::Digits, "0123456789*#"),
                (Kind::Amount, "1234.56"),
                (Kind::Date, "2026-12-31"),
            ];
            for (kind, v) in samples {
                for cur in CURRENCIES {
                    for s in snippets(lang, kind, v, cur).unwrap_or_default() {
                        assert!(all.contains(&s), "{lang}: {s} from {v}");
                    }
                }
            }
            for n in 0..=MAX_NUMBER.min(12_000) {
                for s in snippets(lang, Kind::Number, &n.to_string(), "cny").unwrap() {
                    assert!(all.contains(&s), "{lang}: {s} from {n}");
                }
            }
        }
    }
}
