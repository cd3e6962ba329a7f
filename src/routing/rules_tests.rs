//! Routing rules: each condition, first match wins, the default, Chinese keywords,
//! hours in a time zone, and the checks with their field names.

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::routing::rules_check::{Known, references};

fn rules(v: serde_json::Value) -> Rules {
    Rules::new(serde_json::from_value(v).expect("a rule set")).expect("valid rules")
}

/// Tuesday 2026-11-24 02:00 UTC: 10:00 in Shanghai, 21:00 the day before in New York.
fn tuesday_morning_in_shanghai() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap()
}

fn chat(text: &str) -> Facts<'_> {
    Facts {
        channel: Channel::Chat,
        text,
        to: &[],
        tier: None,
        language: None,
        now: tuesday_morning_in_shanghai(),
    }
}

fn hotline_intents() -> Intents {
    let n = |words: &[&str]| words.iter().map(|w| intent::normalise(w)).collect();
    Intents::from([
        ("order".to_string(), n(&["order", "delivery", "订单"])),
        ("sales".to_string(), n(&["buy", "price", "购买"])),
    ])
}

fn decide(r: &Rules, f: &Facts<'_>) -> (String, String) {
    let d = r.decide(f, &hotline_intents());
    (d.rule_name().to_string(), d.actions.queue)
}

#[test]
fn first_matching_rule_wins_else_the_default() {
    let r = rules(json!({
        "rules": [
            {"name": "refunds", "if": {"keywords": ["refund", "退款"]}, "then": {"queue": "billing", "priority": 5, "skills": {"billing": 2}}},
            {"name": "money", "if": {"keywords": "refund"}, "then": {"queue": "sales"}},
            {"name": "orders", "if": {"intent": "order"}, "then": {"queue": "orders"}}
        ]
    }));
    let d = r.decide(&chat("Hi, I want a REFUND please!"), &hotline_intents());
    assert_eq!(
        d.rule,
        Some(Matched {
            index: 0,
            name: "refunds".into()
        })
    );
    assert_eq!(d.actions.queue, "billing");
    assert_eq!(d.actions.priority, 5);
    assert_eq!(d.actions.skills.get("billing"), Some(&2));
    assert_eq!(d.because, ["keyword refund"]);
    let d = r.decide(&chat("hello"), &hotline_intents());
    assert_eq!(d.rule, None);
    assert_eq!(d.rule_name(), "default");
    assert_eq!(d.actions, Actions::default());
    assert_eq!(d.actions.queue, "support");
}

#[test]
fn keywords_are_whole_words_in_english_and_substrings_in_chinese() {
    let r = rules(json!({"rules": [
        {"name": "refunds", "if": {"keywords": ["refund", "退款", "money back"]}, "then": {"queue": "billing"}}
    ]}));
    assert_eq!(
        decide(&r, &chat("refunds?")).0,
        "default",
        "not inside a word"
    );
    assert_eq!(decide(&r, &chat("Refund.")).0, "refunds");
    assert_eq!(decide(&r, &chat("I want my money  back")).0, "refunds");
    assert_eq!(decide(&r, &chat("我要退款，谢谢")).0, "refunds");
    assert_eq!(decide(&r, &chat("我要退款")).1, "billing");
    assert_eq!(
        decide(&r, &chat("請幫我退款")).0,
        "refunds",
        "traditional characters"
    );
    assert_eq!(decide(&r, &chat("退货")).0, "default");
}

#[test]
fn intents_are_the_dialplans_keywords() {
    let r = rules(json!({"rules": [
        {"name": "orders", "if": {"intent": ["sales", "order"]}, "then": {"queue": "orders"}}
    ]}));
    let d = r.decide(&chat("where is my delivery"), &hotline_intents());
    assert_eq!(d.actions.queue, "orders");
    assert_eq!(d.because, ["intent order"]);
    assert_eq!(decide(&r, &chat("我的订单呢")).1, "orders");
    assert_eq!(decide(&r, &chat("hello")).1, "support");
    let none = r.decide(&chat("where is my delivery"), &Intents::new());
    assert_eq!(none.rule, None, "an intent no dialplan has never holds");
}

#[test]
fn channel_tier_language_and_recipient() {
    let r = rules(json!({"rules": [
        {"name": "vip", "if": {"tier": ["VIP", "gold"]}, "then": {"queue": "vip", "priority": 10}},
        {"name": "chinese mail", "if": {"channel": "email", "language": "zh"}, "then": {"queue": "cn", "language": "zh"}},
        {"name": "sales mail", "if": {"channel": ["email"], "to": "Sales@Acme.test"}, "then": {"queue": "sales"}},
        {"name": "chats", "if": {"channel": ["chat", "social"]}, "then": {"queue": "chat"}}
    ]}));
    let vip = Facts {
        tier: Some("vip"),
        ..chat("hi")
    };
    let d = r.decide(&vip, &Intents::new());
    assert_eq!((d.actions.queue.as_str(), d.actions.priority), ("vip", 10));
    assert_eq!(d.because, ["tier vip"]);
    let mail = Facts {
        channel: Channel::Email,
        ..chat("hi")
    };
    assert_eq!(decide(&r, &mail).0, "default");
    let chinese = Facts {
        language: Some("zh-CN"),
        ..mail
    };
    let d = r.decide(&chinese, &Intents::new());
    assert_eq!(d.actions.queue, "cn");
    assert_eq!(d.actions.language.as_deref(), Some("zh"));
    assert_eq!(d.because, ["channel email", "language zh-CN"]);
    let zhuang = Facts {
        language: Some("zha"),
        ..mail
    };
    assert_eq!(
        decide(&r, &zhuang).0,
        "default",
        "zh is not a prefix of zha"
    );
    let to = [
        "support@acme.test".to_string(),
        "sales@acme.test".to_string(),
    ];
    let sales = Facts { to: &to, ..mail };
    let d = r.decide(&sales, &Intents::new());
    assert_eq!(d.actions.queue, "sales");
    assert_eq!(d.because, ["channel email", "to sales@acme.test"]);
    assert_eq!(decide(&r, &chat("hi")).1, "chat");
    let voice = Facts {
        channel: Channel::Voice,
        ..chat("hi")
    };
    assert_eq!(decide(&r, &voice).0, "default");
}

#[test]
fn all_conditions_of_a_rule_must_hold() {
    let r = rules(json!({"rules": [
        {"name": "vip refunds", "if": {"tier": "vip", "keywords": "refund", "channel": "chat"}, "then": {"queue": "billing", "priority": 20}}
    ]}));
    let vip = |text: &'static str| Facts {
        tier: Some("vip"),
        ..chat(text)
    };
    assert_eq!(decide(&r, &vip("refund")).0, "vip refunds");
    assert_eq!(decide(&r, &vip("hello")).0, "default");
    assert_eq!(decide(&r, &chat("refund")).0, "default");
}

#[test]
fn hours_in_their_time_zone() {
    let r = rules(json!({"rules": [
        {"name": "night", "if": {"hours": {"timezone": "Asia/Shanghai", "open": {"mon-fri": "09:00-18:00"}, "outside": true}}, "then": {"queue": "overnight"}},
        {"name": "new york day", "if": {"hours": {"timezone": "America/New_York", "open": {"mon-fri": "09:00-18:00"}}}, "then": {"queue": "us"}},
        {"name": "weekend", "if": {"hours": {"timezone": "Asia/Shanghai", "open": {"sat,sun": "00:00-23:59"}, "holidays": ["2026-11-24"]}}, "then": {"queue": "weekend"}}
    ]}));
    // 10:00 on a Tuesday in Shanghai: open there, 21:00 Monday in New York.
    let morning = chat("hi");
    assert_eq!(decide(&r, &morning).0, "default");
    // 20:00 in Shanghai: closed there; 07:00 in New York.
    let evening = Facts {
        now: Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap(),
        ..morning
    };
    let d = r.decide(&evening, &Intents::new());
    assert_eq!(d.actions.queue, "overnight");
    assert_eq!(d.because, ["outside hours"]);
    // Wednesday 10:00 in New York is 23:00 in Shanghai: the night rule comes first.
    let ny = Facts {
        now: Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap(),
        ..morning
    };
    assert_eq!(decide(&r, &ny).0, "night");
    let r2 = rules(json!({"rules": [
        {"name": "new york day", "if": {"hours": {"timezone": "America/New_York", "open": {"mon-fri": "09:00-18:00"}}}, "then": {"queue": "us"}}
    ]}));
    let d = r2.decide(&ny, &Intents::new());
    assert_eq!(d.actions.queue, "us");
    assert_eq!(d.because, ["open hours"]);
    assert_eq!(decide(&r2, &morning).0, "default", "21:00 in New York");
    // A holiday is closed even on an open day.
    let holiday = rules(json!({"rules": [
        {"name": "open", "if": {"hours": {"timezone": "Asia/Shanghai", "open": {"mon-fri": "09:00-18:00"}, "holidays": ["2026-11-24"]}}, "then": {"queue": "day"}}
    ]}));
    assert_eq!(decide(&holiday, &morning).0, "default");
}

#[test]
fn a_rule_set_round_trips_and_takes_single_values() {
    let set: RuleSet = serde_json::from_value(json!({"rules": [
        {"name": "a", "if": {"channel": "chat", "tier": "vip"}, "then": {"queue": "vip"}}
    ], "default": {"queue": "general"}}))
    .unwrap();
    assert_eq!(set.rules[0].when.channel, [Channel::Chat]);
    assert_eq!(set.rules[0].when.tier, ["vip"]);
    let back: RuleSet = serde_json::from_value(serde_json::to_value(&set).unwrap()).unwrap();
    assert_eq!(back, set);
    assert_eq!(
        serde_json::to_value(&set).unwrap()["rules"][0]["if"],
        json!({"channel": ["chat"], "tier": ["vip"]})
    );
    let empty: RuleSet = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty.default.queue, "support");
    let bad = serde_json::from_value::<RuleSet>(json!({"rules": [
        {"name": "a", "if": {"channel": ["chat", "sms"]}, "then": {"queue": "x"}}
    ]}))
    .unwrap_err()
    .to_string();
    assert!(bad.contains("item 1") && bad.contains("sms"), "{bad}");
    let unknown = serde_json::from_value::<RuleSet>(
        json!({"rules": [{"name": "a", "if": {"colour": "red"}, "then": {"queue": "x"}}]}),
    );
    assert!(unknown.is_err());
}

fn shape_error(v: serde_json::Value) -> String {
    let set: RuleSet = serde_json::from_value(v).expect("parses");
    Rules::new(set).expect_err("refused").to_string()
}

#[test]
fn the_shape_check_names_the_rule_and_field() {
    let one = |rule: serde_json::Value| shape_error(json!({"rules": [rule]}));
    let e = one(json!({"name": "", "then": {"queue": "x"}}));
    assert!(e.starts_with("rules[0].name:"), "{e}");
    let e = one(json!({"name": "default", "then": {"queue": "x"}}));
    assert!(e.starts_with("rules[0] (default).name:"), "{e}");
    let e = shape_error(json!({"rules": [
        {"name": "a", "then": {"queue": "x"}}, {"name": "A", "then": {"queue": "y"}}
    ]}));
    assert!(e.starts_with("rules[1] (A).name: another rule"), "{e}");
    let e = one(json!({"name": "k", "if": {"keywords": ["ok", "?!"]}, "then": {"queue": "x"}}));
    assert!(e.starts_with("rules[0] (k).if.keywords:"), "{e}");
    let e = one(
        json!({"name": "h", "if": {"hours": {"open": {"mon-fri": "18:00-09:00"}}}, "then": {"queue": "x"}}),
    );
    assert!(e.starts_with("rules[0] (h).if.hours.open:"), "{e}");
    let e = one(
        json!({"name": "h", "if": {"hours": {"open": {"weekdays": "09:00-18:00"}}}, "then": {"queue": "x"}}),
    );
    assert!(e.starts_with("rules[0] (h).if.hours.open:"), "{e}");
    let e = one(
        json!({"name": "h", "if": {"hours": {"timezone": "Mars/Base", "open": {"mon": "09:00-10:00"}}}, "then": {"queue": "x"}}),
    );
    assert!(e.starts_with("rules[0] (h).if.hours.timezone:"), "{e}");
    let e = one(json!({"name": "h", "if": {"hours": {"open": {}}}, "then": {"queue": "x"}}));
    assert!(e.starts_with("rules[0] (h).if.hours.open:"), "{e}");
    let e = one(
        json!({"name": "h", "if": {"hours": {"open": {"mon": "09:00-10:00"}, "holidays": ["1 May"]}}, "then": {"queue": "x"}}),
    );
    assert!(e.starts_with("rules[0] (h).if.hours.holidays:"), "{e}");
    let e = one(json!({"name": "p", "then": {"queue": "x", "priority": 1000}}));
    assert!(e.starts_with("rules[0] (p).then.priority:"), "{e}");
    let e = one(json!({"name": "s", "then": {"queue": "x", "skills": {"billing": 6}}}));
    assert_eq!(
        e,
        "rules[0] (s).then.skills.billing: proficiency must be 1 to 5"
    );
    let e = one(json!({"name": "s", "then": {"queue": "x", "skills": {"billing": 0}}}));
    assert!(e.starts_with("rules[0] (s).then.skills.billing:"), "{e}");
    let e = one(json!({"name": "s", "then": {"queue": "x", "skills": {" ": 3}}}));
    assert!(e.starts_with("rules[0] (s).then.skills:"), "{e}");
    let e = one(json!({"name": "q", "then": {"queue": " "}}));
    assert!(e.starts_with("rules[0] (q).then.queue:"), "{e}");
    let e = one(json!({"name": "l", "if": {"language": "中文"}, "then": {"queue": "x"}}));
    assert!(e.starts_with("rules[0] (l).if.language:"), "{e}");
    let e = shape_error(json!({"default": {"queue": "x", "priority": -101}}));
    assert!(e.starts_with("default.priority:"), "{e}");
}

#[test]
fn references_must_exist_and_odd_sets_get_warnings() {
    let known = Known {
        queues: ["support", "billing"].map(String::from).into(),
        intents: ["order"].map(String::from).into(),
        skills: ["billing"].map(String::from).into(),
    };
    let set = |v: serde_json::Value| -> RuleSet { serde_json::from_value(v).unwrap() };
    let e = references(
        &set(json!({"rules": [{"name": "r", "then": {"queue": "bililng"}}]})),
        &known,
    )
    .unwrap_err();
    assert_eq!(e.at, "rules[0] (r).then.queue");
    assert!(
        e.message.contains("unknown queue `bililng`") && e.message.contains("billing, support"),
        "{e}"
    );
    let e = references(&set(json!({"default": {"queue": "nowhere"}})), &known).unwrap_err();
    assert_eq!(e.at, "default.queue");
    let e = references(
        &set(json!({"rules": [{"name": "r", "if": {"intent": "refund"}, "then": {"queue": "billing"}}]})),
        &known,
    )
    .unwrap_err();
    assert_eq!(e.at, "rules[0] (r).if.intent");
    let warnings = references(
        &set(json!({"rules": [
            {"name": "all", "then": {"queue": "billing", "skills": {"refunds": 2, "billing": 1}}},
            {"name": "never", "if": {"intent": "order"}, "then": {"queue": "support"}}
        ]})),
        &known,
    )
    .unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("rules[0] (all).then.skills.refunds:"));
    assert!(warnings[1].contains("never match"), "{warnings:?}");
    let fine = references(
        &set(json!({"rules": [{"name": "last", "then": {"queue": "billing"}}]})),
        &known,
    )
    .unwrap();
    assert!(fine.is_empty(), "a catch-all last rule is fine: {fine:?}");
}
