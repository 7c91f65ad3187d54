//! The accepted form of a message: what the event contract (`events.md`) produces and what
//! identity resolution and segments consume.
//!
//! Parsing and validation live in [`crate::ingest`]; this module only holds the data model, so
//! every other part of the core depends on a small, stable type.

use serde_json::{Map, Value};

use crate::time::Timestamp;

/// A JSON object, as found in `properties`, `traits`, `context` and `integrations`.
pub type Object = Map<String, Value>;

/// The six Segment call types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallType {
    /// `track`: a named action with properties.
    Track,
    /// `identify`: who the user is, with traits.
    Identify,
    /// `page`: a web page view.
    Page,
    /// `screen`: a mobile screen view.
    Screen,
    /// `group`: the user belongs to a group (account, company).
    Group,
    /// `alias`: two user ids are the same person.
    Alias,
}

impl CallType {
    /// Every call type, in the order of the contract.
    pub const ALL: [CallType; 6] = [
        CallType::Track,
        CallType::Identify,
        CallType::Page,
        CallType::Screen,
        CallType::Group,
        CallType::Alias,
    ];

    /// The lowercase name used in the `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Track => "track",
            CallType::Identify => "identify",
            CallType::Page => "page",
            CallType::Screen => "screen",
            CallType::Group => "group",
            CallType::Alias => "alias",
        }
    }

    /// The call type named by a `type` field (lowercase only, as the contract says).
    pub fn from_name(name: &str) -> Option<CallType> {
        CallType::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// One accepted message, normalized.
///
/// Ids are kept as the text the sender gave (numbers turned into their decimal text); identity
/// resolution trims, lowercases and blocks them by its own rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The idempotency key, unique per workspace among accepted events.
    pub message_id: String,
    /// The call type.
    pub call: CallType,
    /// The track event name, or the page/screen `name` when present.
    pub name: Option<String>,
    /// `userId`, as text.
    pub user_id: Option<String>,
    /// `anonymousId`, as text.
    pub anonymous_id: Option<String>,
    /// `previousId` (alias calls), as text.
    pub previous_id: Option<String>,
    /// `groupId` (group calls), as text.
    pub group_id: Option<String>,
    /// The event time (after clock-skew correction at the edge).
    pub time: Timestamp,
    /// When the edge received the message; `None` for files and replays.
    pub received_at: Option<Timestamp>,
    /// `properties` (track, page, screen).
    pub properties: Object,
    /// `traits` (identify: the user's; group: the group's).
    pub traits: Object,
    /// `context`, after the batch-level merge.
    pub context: Object,
    /// `integrations`, after the batch-level merge.
    pub integrations: Object,
}

impl Event {
    /// The traits this event sets on its profile, in the order they apply: for identify calls
    /// `context.traits` then `traits` (traits win per key); for every other call `context.traits`.
    /// Group traits describe the group and never touch the profile.
    pub fn profile_traits(&self) -> impl Iterator<Item = (&String, &Value)> {
        let context_traits = self
            .context
            .get("traits")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        let own = (self.call == CallType::Identify)
            .then_some(&self.traits)
            .into_iter()
            .flatten();
        context_traits.chain(own)
    }

    /// The message as JSON in the contract's shape, with `timestamp` set to the event time, so
    /// that replaying it from a file gives back the same event.
    pub fn to_json(&self) -> Value {
        let mut m = Object::new();
        m.insert("type".into(), self.call.as_str().into());
        m.insert("messageId".into(), self.message_id.clone().into());
        if let Some(name) = &self.name {
            let key = if self.call == CallType::Track {
                "event"
            } else {
                "name"
            };
            m.insert(key.into(), name.clone().into());
        }
        for (key, value) in [
            ("userId", &self.user_id),
            ("anonymousId", &self.anonymous_id),
            ("previousId", &self.previous_id),
            ("groupId", &self.group_id),
        ] {
            if let Some(v) = value {
                m.insert(key.into(), v.clone().into());
            }
        }
        m.insert("timestamp".into(), self.time.to_string().into());
        if let Some(r) = self.received_at {
            m.insert("receivedAt".into(), r.to_string().into());
        }
        for (key, obj) in [
            ("properties", &self.properties),
            ("traits", &self.traits),
            ("context", &self.context),
            ("integrations", &self.integrations),
        ] {
            if !obj.is_empty() {
                m.insert(key.into(), Value::Object(obj.clone()));
            }
        }
        Value::Object(m)
    }
}
