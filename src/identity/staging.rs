//! Identifier lookups run a few events behind the reading, for the streaming pipeline.
//!
//! At ten million events the interning table, the values' bounds and their text are far larger
//! than the CPU's caches, and looking an identifier up reads all three in turn, each address
//! known only once the read before it has arrived: three waits on memory per identifier, most
//! of the cost of preparing an event. So each event's identifiers are read and hashed when it
//! is pushed, and its lookups advance one step per later push: its slots are asked for at once,
//! the bounds they name one push later, the text the next, and it is interned the push after
//! that, every read then served from cache. The work done is the same, in the same event order,
//! so identifiers get the same numbers as interning each event as it comes.

use std::collections::VecDeque;

use super::engine::{ident_hash, Engine, NONE};
use super::extract::{self, IdentityParts};

/// The lookup's reads asked for ahead (slot, bounds, value), one per push: an event is interned
/// once it has been through all of them.
const STEPS: usize = 3;

/// Events whose identifiers were read but not yet interned, oldest first.
#[derive(Clone, Debug, Default)]
pub(super) struct Staging {
    events: VecDeque<StagedEvent>,
    /// Interned events' buffers, reused so that staging allocates nothing once warm.
    spare: Vec<StagedEvent>,
}

impl Staging {
    /// How many events wait.
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    /// Reads an event's identifiers and advances the lookups of those waiting; gives back the
    /// oldest once it has been through every step, to intern ([`Staging::done`] after).
    pub(super) fn push(
        &mut self,
        engine: &mut Engine,
        parts: &IdentityParts<'_>,
    ) -> Option<StagedEvent> {
        let mut event = self.spare.pop().unwrap_or_default();
        event.read(engine, parts);
        self.events.push_back(event);
        // Newest first: this event's slots, the last one's bounds, the one before's values.
        let mut by_age = self.events.iter_mut().rev();
        for id in by_age.next().iter().flat_map(|e| &e.ids) {
            engine.ids.prefetch_slot(id.hash);
        }
        for id in by_age.next().into_iter().flat_map(|e| &mut e.ids) {
            id.found = engine.ids.prefetch_bounds(id.t, id.hash);
        }
        for x in by_age
            .next()
            .iter()
            .flat_map(|e| &e.ids)
            .filter_map(|id| id.found)
        {
            engine.ids.prefetch_value(x);
        }
        if self.events.len() > STEPS {
            return self.events.pop_front();
        }
        None
    }

    /// The oldest waiting event, whatever its steps (at the end of the input).
    pub(super) fn pop(&mut self) -> Option<StagedEvent> {
        self.events.pop_front()
    }

    /// Takes back an interned event's buffers.
    pub(super) fn done(&mut self, mut event: StagedEvent) {
        event.clear();
        self.spare.push(event);
    }
}

/// One event's normalized identifiers, values back to back in `text`; its `previousId` last.
#[derive(Clone, Debug, Default)]
pub(super) struct StagedEvent {
    text: String,
    ids: Vec<StagedId>,
}

#[derive(Clone, Copy, Debug)]
struct StagedId {
    t: u16,
    hash: u64,
    /// Where the value ends in `text` (it starts where the one before ends).
    end: u32,
    /// `None` for an identifier of the event; `Some(i)` for its `previousId` read as the type
    /// at `i` of [`PREVIOUS_TYPES`].
    previous: Option<usize>,
    /// The identifier the table's slot named when its bounds were asked for, if any: where
    /// its value is to be asked for next (interning checks it).
    found: Option<u32>,
}

/// The types an alias call's `previousId` is interned as: which one it is gets settled when the
/// event is resolved.
const PREVIOUS_TYPES: [&str; 2] = [extract::USER_ID, extract::ANONYMOUS_ID];

impl StagedEvent {
    /// Empties it for another event, keeping its buffers.
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.ids.clear();
    }

    /// Reads an event's identifiers (registering custom types on first sight, in event order).
    pub(super) fn read(&mut self, engine: &mut Engine, parts: &IdentityParts<'_>) {
        extract::for_each_identifier_in(parts, |kind, value| {
            self.add(engine.types.id_of(kind), value, None);
        });
        if let Some(previous) = extract::previous_id_in(parts) {
            for (i, kind) in PREVIOUS_TYPES.into_iter().enumerate() {
                self.add(engine.types.id_of(kind), previous, Some(i));
            }
        }
    }

    fn add(&mut self, t: u16, value: &str, previous: Option<usize>) {
        self.text.push_str(value);
        self.ids.push(StagedId {
            t,
            hash: ident_hash(t, value),
            end: self.text.len() as u32,
            previous,
            found: None,
        });
    }

    /// Interns the identifiers: the event's own, each once, go to the end of `arena`; gives the
    /// numbers of its `previousId` as each type (`NONE` without one).
    pub(super) fn intern(&self, engine: &mut Engine, arena: &mut Vec<u32>) -> [u32; 2] {
        let begin = arena.len();
        let mut previous = [NONE, NONE];
        let mut from = 0;
        for id in &self.ids {
            let value = &self.text[from..id.end as usize];
            from = id.end as usize;
            let x = engine.intern_hashed(id.t, value, id.hash);
            match id.previous {
                Some(i) => previous[i] = x,
                None if !arena[begin..].contains(&x) => arena.push(x),
                None => {}
            }
        }
        previous
    }
}
