//! Identifier extraction and normalization (`identity.md`, "Identifiers" and "Precise rules").
//!
//! Kept free of any graph state so the batch and incremental paths read events identically.

use std::borrow::Cow;

use serde_json::Value;

use crate::event::{CallType, Event, Object};

/// The built-in identifier types, by their names in the contract.
pub(crate) const USER_ID: &str = "user_id";
pub(crate) const EMAIL: &str = "email";
pub(crate) const PHONE: &str = "phone";
pub(crate) const ANONYMOUS_ID: &str = "anonymous_id";

/// Values that never act as identifiers, compared case-insensitively after trimming.
const BLOCKED: [&str; 9] = [
    "",
    "null",
    "undefined",
    "anonymous",
    "0",
    "-1",
    "none",
    "nan",
    "[object object]",
];

/// True when `text` (trimmed or normalized) is a blocked value.
///
/// Every blocked word is ASCII and no non-ASCII character lowercases to one of their letters
/// except through multi-character mappings, so an ASCII case-insensitive match equals Unicode
/// default lowercasing here.
pub(crate) fn is_blocked_text(text: &str) -> bool {
    BLOCKED.iter().any(|b| b.eq_ignore_ascii_case(text))
}

/// Normalizes a raw value for an identifier type; `None` when it yields no identifier (blocked,
/// an email without `@`, a phone without digits).
pub(crate) fn normalize<'a>(kind: &str, raw: &'a str) -> Option<Cow<'a, str>> {
    let trimmed = raw.trim();
    if is_blocked_text(trimmed) {
        return None;
    }
    let normalized: Cow<'a, str> = match kind {
        EMAIL => {
            if !trimmed.contains('@') {
                return None;
            }
            if trimmed.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
                Cow::Owned(trimmed.to_lowercase())
            } else {
                Cow::Borrowed(trimmed)
            }
        }
        PHONE => {
            let mut out = String::with_capacity(trimmed.len());
            if trimmed.starts_with('+') {
                out.push('+');
            }
            out.extend(trimmed.chars().filter(char::is_ascii_digit));
            if out.trim_start_matches('+').is_empty() {
                return None;
            }
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(trimmed),
    };
    if is_blocked_text(&normalized) {
        return None;
    }
    Some(normalized)
}

/// Text of an id given as a JSON string or integer.
fn id_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Calls `found(type, normalized value)` for every identifier the event carries, before alias
/// typing (the alias `previousId` is returned separately by [`previous_id`]). Duplicates are
/// possible; callers deduplicate.
pub(crate) fn for_each_identifier(event: &Event, found: impl FnMut(&str, &str)) {
    for_each_identifier_in(&IdentityParts::of(event), found);
}

/// What identifiers are read from: an event's fields, borrowed (so loaders that never build an
/// [`Event`] read them exactly as the batch path does).
#[derive(Clone, Copy, Debug)]
pub struct IdentityParts<'a> {
    /// The call type.
    pub call: CallType,
    /// `userId`, as checked.
    pub user_id: Option<&'a str>,
    /// `anonymousId`, as checked.
    pub anonymous_id: Option<&'a str>,
    /// An alias call's `previousId`.
    pub previous_id: Option<&'a str>,
    /// `traits`.
    pub traits: &'a Object,
    /// `context` (only `traits` and `externalIds` are read).
    pub context: &'a Object,
}

impl<'a> IdentityParts<'a> {
    /// The parts of a full event.
    pub fn of(event: &'a Event) -> IdentityParts<'a> {
        IdentityParts {
            call: event.call,
            user_id: event.user_id.as_deref(),
            anonymous_id: event.anonymous_id.as_deref(),
            previous_id: event.previous_id.as_deref(),
            traits: &event.traits,
            context: &event.context,
        }
    }
}

/// [`for_each_identifier`] over borrowed parts.
pub(crate) fn for_each_identifier_in(event: &IdentityParts<'_>, mut found: impl FnMut(&str, &str)) {
    if let Some(v) = event.user_id.and_then(|r| normalize(USER_ID, r)) {
        found(USER_ID, &v);
    }
    if let Some(v) = event.anonymous_id.and_then(|r| normalize(ANONYMOUS_ID, r)) {
        found(ANONYMOUS_ID, &v);
    }
    let context_traits = event.context.get("traits").and_then(Value::as_object);
    let own_traits = (event.call == CallType::Identify).then_some(event.traits);
    for traits in context_traits.into_iter().chain(own_traits) {
        for kind in [EMAIL, PHONE] {
            if let Some(v) = traits
                .get(kind)
                .and_then(Value::as_str)
                .and_then(|r| normalize(kind, r))
            {
                found(kind, &v);
            }
        }
    }
    if let Some(Value::Array(entries)) = event.context.get("externalIds") {
        for entry in entries {
            let Some(obj) = entry.as_object() else {
                continue;
            };
            let (Some(kind), Some(id)) = (
                obj.get("type").and_then(Value::as_str),
                obj.get("id").and_then(id_text),
            ) else {
                continue;
            };
            let kind = kind.trim();
            if kind.is_empty() {
                continue;
            }
            if let Some(v) = normalize(kind, &id) {
                found(kind, &v);
            }
        }
    }
}

/// The alias call's `previousId`, trimmed, unless blocked. Its type is settled at processing time.
pub(crate) fn previous_id(event: &Event) -> Option<&str> {
    previous_id_in(&IdentityParts::of(event))
}

/// [`previous_id`] over borrowed parts.
pub(crate) fn previous_id_in<'a>(event: &IdentityParts<'a>) -> Option<&'a str> {
    if event.call != CallType::Alias {
        return None;
    }
    let trimmed = event.previous_id?.trim();
    (!is_blocked_text(trimmed)).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_by_type() {
        assert_eq!(normalize(EMAIL, "  A@X.com ").as_deref(), Some("a@x.com"));
        assert_eq!(normalize(EMAIL, "nobody"), None);
        assert_eq!(
            normalize(PHONE, " +1 (555) 010-99 ").as_deref(),
            Some("+155501099")
        );
        assert_eq!(normalize(PHONE, "555-01").as_deref(), Some("55501"));
        assert_eq!(normalize(PHONE, "+ext"), None);
        assert_eq!(normalize(PHONE, "-1"), None);
        assert_eq!(normalize(PHONE, "(0)"), None);
        assert_eq!(normalize(USER_ID, " NULL "), None);
        assert_eq!(normalize(USER_ID, "[Object object]"), None);
        assert_eq!(normalize(USER_ID, " 42 ").as_deref(), Some("42"));
        assert_eq!(normalize("idfa", "\u{2003}x\u{2003}").as_deref(), Some("x"));
    }
}
