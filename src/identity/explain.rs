//! Explanations: which events joined a profile's identifiers, and which merges merge
//! protection blocked, as data and as text.

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::engine::{Engine, Recorder, NONE};
use super::graph::StoredEvent;
use super::Identifier;

/// Why a profile's identifiers belong together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The profile's current id.
    pub profile_id: String,
    /// The id asked about (differs from `profile_id` when it redirected).
    pub requested_id: String,
    /// The profile's identifiers, by type then value.
    pub identifiers: Vec<Identifier>,
    /// The events that created the profile, added identifiers or merged profiles, in canonical
    /// order.
    pub steps: Vec<JoinStep>,
    /// Identifiers merge protection kept out, with the limits that would have been exceeded.
    pub blocked: Vec<BlockedMerge>,
}

/// One event that shaped the profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JoinStep {
    /// The event's `messageId`.
    pub message_id: String,
    /// The event's call type.
    pub call: &'static str,
    /// The event time (RFC 3339).
    pub time: String,
    /// The id of the profile the event created, when it created one.
    pub created: Option<String>,
    /// The identifiers the event kept, highest priority first.
    pub identifiers: Vec<Identifier>,
    /// Identifiers new to the profile.
    pub added: Vec<Identifier>,
    /// For identifiers added to an existing profile: the identifier of the event that profile
    /// already held (the one they joined).
    pub joined: Option<Identifier>,
    /// Ids of profiles merged by this event into `into`.
    pub merged: Vec<String>,
    /// The id of the profile that received the event at that point.
    pub into: String,
}

/// An identifier dropped from an event by merge protection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockedMerge {
    /// The event's `messageId`.
    pub message_id: String,
    /// The event's call type.
    pub call: &'static str,
    /// The event time (RFC 3339).
    pub time: String,
    /// The identifier dropped.
    pub dropped: Identifier,
    /// The profile that held it at that point, if any.
    pub held_by: Option<String>,
    /// The types that would have exceeded their limit.
    pub over_limit: Vec<TypeOverLimit>,
}

/// A type over its limit in a would-be merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypeOverLimit {
    /// The identifier type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The limit in force.
    pub limit: u32,
    /// How many distinct values the merged profile would have held.
    pub values: u32,
}

impl Serialize for Identifier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Identifier", 2)?;
        st.serialize_field("type", &self.kind)?;
        st.serialize_field("value", &self.value)?;
        st.end()
    }
}

impl Explanation {
    /// The explanation as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn list(idents: &[Identifier]) -> String {
    let parts: Vec<String> = idents.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

/// The human text rendering.
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Profile {}", self.profile_id)?;
        if self.requested_id != self.profile_id {
            write!(f, " (asked as {}, which redirects here)", self.requested_id)?;
        }
        writeln!(f)?;
        writeln!(f, "Identifiers: {}", list(&self.identifiers))?;
        writeln!(f, "How they were joined:")?;
        for s in &self.steps {
            let through = format!("through {} {} at {}", s.call, s.message_id, s.time);
            let mut line = String::new();
            if let Some(created) = &s.created {
                let _ = write!(
                    line,
                    "{} created profile {created} {through}",
                    list(&s.identifiers)
                );
            } else if !s.added.is_empty() {
                match &s.joined {
                    Some(j) => {
                        let _ = write!(line, "{} joined {j} {through}", list(&s.added));
                    }
                    None => {
                        let _ = write!(line, "{} joined {} {through}", list(&s.added), s.into);
                    }
                }
            }
            if !s.merged.is_empty() {
                if !line.is_empty() {
                    line.push_str("; ");
                }
                let _ = write!(
                    line,
                    "profile {} merged into {} (the event carried {}) {through}",
                    s.merged.join(", "),
                    s.into,
                    list(&s.identifiers)
                );
            }
            writeln!(f, "  - {line}")?;
        }
        if self.blocked.is_empty() {
            writeln!(f, "Blocked merges: none")?;
        } else {
            writeln!(f, "Blocked merges:")?;
            for b in &self.blocked {
                let limits: Vec<String> = b
                    .over_limit
                    .iter()
                    .map(|o| format!("{} {} values (limit {})", o.kind, o.values, o.limit))
                    .collect();
                let held = b
                    .held_by
                    .as_ref()
                    .map(|h| format!(" (held by {h})"))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "  - {}{held} was kept out of {} {} at {}: joining would give {}",
                    b.dropped,
                    b.call,
                    b.message_id,
                    b.time,
                    limits.join(", ")
                )?;
            }
        }
        Ok(())
    }
}

/// Builds the explanation of the profile rooted at `root` from a recorded replay of its cluster.
pub(crate) fn build(
    engine: &mut Engine,
    events: &[StoredEvent],
    event_slot: &[u32],
    rec: &Recorder,
    root: u32,
    requested: &str,
    current: String,
) -> Explanation {
    let ident = |engine: &Engine, x: u32| {
        Identifier::new(engine.types.name(engine.ids.kind(x)), engine.ids.value(x))
    };
    let mut steps = Vec::new();
    let mut identifiers = Vec::new();
    for j in &rec.joins {
        if engine.find(j.keeper) != root {
            continue;
        }
        let ev = &events[j.event as usize];
        let joined = (!j.created && !j.added.is_empty() && j.joined != NONE)
            .then(|| ident(engine, j.joined));
        let mut added: Vec<Identifier> = j.added.iter().map(|&x| ident(engine, x)).collect();
        added.sort_by(|a, b| {
            let pa = j.kept.iter().position(|&x| ident(engine, x) == *a);
            let pb = j.kept.iter().position(|&x| ident(engine, x) == *b);
            pa.cmp(&pb)
        });
        identifiers.extend(added.iter().cloned());
        steps.push(JoinStep {
            message_id: ev.message_id.to_string(),
            call: ev.call.as_str(),
            time: ev.time.to_string(),
            created: j.created.then(|| engine.slot_id(j.keeper)),
            identifiers: j.kept.iter().map(|&x| ident(engine, x)).collect(),
            added,
            joined,
            merged: j.merged.iter().map(|&s| engine.slot_id(s)).collect(),
            into: engine.slot_id(j.keeper),
        });
    }
    let mut blocked = Vec::new();
    for b in &rec.blocks {
        let event_root = match event_slot[b.event as usize] {
            NONE => NONE,
            s => engine.find(s),
        };
        let dropped_root = engine.holder(b.dropped);
        if event_root != root && dropped_root != root {
            continue;
        }
        let ev = &events[b.event as usize];
        blocked.push(BlockedMerge {
            message_id: ev.message_id.to_string(),
            call: ev.call.as_str(),
            time: ev.time.to_string(),
            dropped: ident(engine, b.dropped),
            held_by: (b.held_by != NONE).then(|| engine.slot_id(b.held_by)),
            over_limit: b
                .over
                .iter()
                .map(|&(t, c)| TypeOverLimit {
                    kind: engine.types.name(t).to_string(),
                    limit: engine.types.limit(t),
                    values: c,
                })
                .collect(),
        });
    }
    identifiers.sort();
    Explanation {
        profile_id: current,
        requested_id: requested.to_string(),
        identifiers,
        steps,
        blocked,
    }
}
