//! Identity resolution (`identity.md`): identifiers, the canonical-order algorithm with merge
//! protection, stable profile ids, explanations, deletion and un-merge.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, Object};
use crate::time::Timestamp;

/// Workspace identity settings: priorities and per-type limits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdentitySettings {}

/// A unified customer profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Stable id: `p_` + 16 hex digits.
    pub id: String,
    /// Identifier values by type (`user_id`, `email`, ...), each set sorted by byte order.
    pub identifiers: BTreeMap<String, BTreeSet<String>>,
    /// Profile traits after applying every event in canonical order.
    pub traits: Object,
    /// How many events belong to the profile.
    pub event_count: u64,
    /// Time of the profile's first event.
    pub first_seen: Timestamp,
    /// Time of the profile's last event.
    pub last_seen: Timestamp,
}

/// The result of resolving a set of events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolution {
    /// Every profile, sorted by id.
    pub profiles: Vec<Profile>,
    /// For each input event (same index as the input slice), the index in `profiles` of the
    /// profile it belongs to, or `None` when it identifies no one (unresolved).
    pub event_profile: Vec<Option<u32>>,
}

/// Resolves a set of events into profiles, by the canonical-order algorithm.
pub fn resolve(events: &[Event], settings: &IdentitySettings) -> Resolution {
    let _ = (events, settings);
    todo!("identity resolution")
}
