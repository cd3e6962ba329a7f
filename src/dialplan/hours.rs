//! Business hours: weekday ranges with opening spans, evaluated in the plan's time
//! zone, with holidays closed.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveTime, TimeZone, Timelike, Weekday};

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn day(s: &str) -> Option<usize> {
    DAYS.iter()
        .position(|(n, _)| *n == s.trim().to_ascii_lowercase())
}

/// `mon`, `mon-fri` or `sat,sun` → the weekdays (Monday = 0).
pub fn parse_days(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(day(part)?),
        }
    }
    Some(out)
}

/// `09:00-18:00` → (open, close).
pub fn parse_span(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = s.split_once('-')?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
    (a < b).then_some((a, b))
}

/// True when `at` (UTC) falls inside the hours in `tz`, and is not a holiday.
pub fn is_open(
    hours: &BTreeMap<String, String>,
    holidays: &[String],
    tz: chrono_tz::Tz,
    at: chrono::DateTime<chrono::Utc>,
) -> bool {
    let local = tz.from_utc_datetime(&at.naive_utc());
    let date = local.date_naive().format("%Y-%m-%d").to_string();
    if holidays.contains(&date) {
        return false;
    }
    let today = local.weekday().num_days_from_monday() as usize;
    let time =
        NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second()).unwrap_or_default();
    hours.iter().any(|(days, span)| {
        let on_day = parse_days(days).is_some_and(|d| d.contains(&today));
        on_day && parse_span(span).is_some_and(|(a, b)| time >= a && time < b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_in_the_plans_time_zone() {
        let hours = BTreeMap::from([("mon-fri".to_string(), "09:00-18:00".to_string())]);
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        // Tuesday 2026-11-24 02:00 UTC = 10:00 in Shanghai.
        let t = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap();
        assert!(is_open(&hours, &[], tz, t));
        assert!(!is_open(&hours, &["2026-11-24".into()], tz, t), "holiday");
        let night = chrono::Utc
            .with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
            .unwrap();
        assert!(!is_open(&hours, &[], tz, night));
        let saturday = chrono::Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap();
        assert!(!is_open(&hours, &[], tz, saturday));
        assert_eq!(parse_days("sat,sun"), Some(vec![5, 6]));
        assert_eq!(parse_days("fri-mon"), None);
        assert_eq!(parse_span("18:00-09:00"), None);
    }
}
