//! Identity kinds and their normal forms, so that one phone number or e-mail
//! address always finds the same customer whatever way it was written.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// E.164, e.g. `+8613800138000`.
    Phone,
    /// Lower-cased address.
    Email,
    /// Web chat visitor id.
    Chat,
    /// WeChat openid.
    Wechat,
    /// An id in an external system such as a CRM.
    External,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone",
            IdentityKind::Email => "email",
            IdentityKind::Chat => "chat",
            IdentityKind::Wechat => "wechat",
            IdentityKind::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<IdentityKind> {
        Some(match s {
            "phone" => IdentityKind::Phone,
            "email" => IdentityKind::Email,
            "chat" => IdentityKind::Chat,
            "wechat" => IdentityKind::Wechat,
            "external" => IdentityKind::External,
            _ => return None,
        })
    }
}

/// Why an identity value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("phone number `{0}` is not in international form (+ and 8 to 15 digits)")]
    Phone(String),
    #[error("`{0}` is not an e-mail address")]
    Email(String),
    #[error("{0} identity is empty or longer than 256 characters")]
    Length(&'static str),
}

/// Returns the normal form of `value` for `kind`.
pub fn normalize(kind: IdentityKind, value: &str) -> Result<String, IdentityError> {
    let v = value.trim();
    if v.is_empty() || v.len() > 256 {
        return Err(IdentityError::Length(kind.as_str()));
    }
    match kind {
        IdentityKind::Phone => normalize_phone(v),
        IdentityKind::Email => normalize_email(v),
        _ => Ok(v.to_string()),
    }
}

fn normalize_phone(v: &str) -> Result<String, IdentityError> {
    let compact: String = v
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest
    } else {
        return Err(IdentityError::Phone(v.to_string()));
    };
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(format!("+{digits}"))
    } else {
        Err(IdentityError::Phone(v.to_string()))
    }
}

fn normalize_email(v: &str) -> Result<String, IdentityError> {
    let lower = v.to_lowercase();
    let mut parts = lower.split('@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let valid = parts.next().is_none()
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !lower.chars().any(char::is_whitespace);
    if valid {
        Ok(lower)
    } else {
        Err(IdentityError::Email(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(
            normalize(IdentityKind::Phone, "+86 138-0013-8000").unwrap(),
            "+8613800138000"
        );
        assert_eq!(
            normalize(IdentityKind::Phone, "0044 (20) 7946 0958").unwrap(),
            "+442079460958"
        );
        assert!(normalize(IdentityKind::Phone, "13800138000").is_err());
        assert!(normalize(IdentityKind::Phone, "+12ab").is_err());
        assert!(normalize(IdentityKind::Phone, "+0123456789").is_err());
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            normalize(IdentityKind::Email, " Li@Example.COM ").unwrap(),
            "li@example.com"
        );
        assert!(normalize(IdentityKind::Email, "li@@example.com").is_err());
        assert!(normalize(IdentityKind::Email, "li@localhost").is_err());
        assert!(normalize(IdentityKind::Email, "").is_err());
    }

    #[test]
    fn other_kinds_are_trimmed() {
        assert_eq!(normalize(IdentityKind::Chat, " v-123 ").unwrap(), "v-123");
    }
}
