//! Validation of the `transfer` step: exactly one of `extension` and `number`,
//! an extension without spaces, a literal number of digits with an optional
//! leading `+` (a number with `{variables}` is checked when the call runs), and
//! the ring time. Its prompts and targets are checked with every step's.

use serde_saphyr::Spanned;

use super::Checker;
use crate::dialplan::schema::{self, Step};

/// Shortest and longest ring of a transfer, in seconds.
const RING_SECONDS: std::ops::RangeInclusive<u32> = 5..=120;

pub(super) fn check_transfer(c: &mut Checker<'_>, step: &Spanned<Step>) {
    let Some(t) = &step.value.transfer else {
        return;
    };
    match (&t.extension, &t.number) {
        (Some(e), None) => check_extension(c, e),
        (None, Some(n)) => check_number(c, n),
        _ => c.at(
            step,
            "the `transfer` step needs exactly one of `extension` and `number`",
        ),
    }
    if !RING_SECONDS.contains(&t.ring_seconds.value) {
        c.at_or(
            &t.ring_seconds,
            step,
            "`ring_seconds` must be between 5 and 120",
        );
    }
}

fn check_extension(c: &mut Checker<'_>, e: &Spanned<String>) {
    if e.value.is_empty() || e.value.chars().any(char::is_whitespace) {
        c.at(
            e,
            format!(
                "`extension` must be a registered user name without spaces, not `{}`",
                e.value
            ),
        );
    }
}

fn check_number(c: &mut Checker<'_>, n: &Spanned<String>) {
    if !n.value.contains('{') && !schema::is_dialable(&n.value) {
        c.at(
            n,
            format!(
                "`number` must be digits with an optional leading +, not `{}`",
                n.value
            ),
        );
    }
}
