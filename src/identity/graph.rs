//! The incremental identity graph: events in any arrival order, the batch answer at all times.
//!
//! Identifiers that ever appeared in one event together form a *cluster* (a union-find over
//! identifiers that only grows). The algorithm's outcome inside a cluster depends only on the
//! cluster's own events, so an event later than everything its cluster has seen is simply
//! processed on top of the current state, and a late one replays its cluster in canonical order.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};

use super::engine::{parse_profile_id, Engine, Recorder, NONE};
use super::explain::{self, Explanation};
use super::extract;
use super::staging::StagedEvent;
use super::{
    apply_traits, assemble, canonical_order, prepare, suppress_all, Deletion, Identifier,
    IdentitySettings, Profile, Resolution, Suppression,
};
use crate::event::{CallType, Event, Object};
use crate::time::Timestamp;

/// What [`IdentityGraph::add`] did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// A new `messageId`: the event is in the graph.
    New,
    /// A `messageId` already seen (or deleted): nothing changed.
    Duplicate,
    /// A `messageId` already seen with a later event time: by the dedup rule this one replaces it.
    Replaced,
}

/// The profiles a change to the graph touched, so a store kept beside the graph (a table of
/// profiles, audience memberships) can update just those.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// Current ids of every profile in the identity clusters the change reached, sorted: each may
    /// have new events, traits or identifiers.
    pub current: Vec<String>,
    /// Ids that were current before the change and no longer are (merged away, deleted, or
    /// re-created under another id by a replay), sorted.
    pub removed: Vec<String>,
}

/// The part of an event the graph keeps.
#[derive(Clone, Debug)]
pub(crate) struct StoredEvent {
    pub(crate) message_id: Box<str>,
    pub(crate) call: CallType,
    pub(crate) time: Timestamp,
    start: u32,
    len: u32,
    previous: [u32; 2],
    /// The event's profile traits, pre-merged in application order (a `null` stays a `null`,
    /// which removes the key when applied).
    traits: Object,
    /// False once replaced by an earlier duplicate or deleted.
    pub(crate) live: bool,
}

/// Identity resolution that takes events one by one, or in batches, in any order.
///
/// After every call its profiles equal [`super::resolve_with`] over the same set of events.
///
/// **Persistence**: the graph is rebuilt from the stored events, the settings and the
/// suppression list (`IdentityGraph::new` + [`IdentityGraph::add_batch`]); it holds no state
/// that those three do not determine, so there is no separate snapshot format to migrate.
#[derive(Clone, Debug)]
pub struct IdentityGraph {
    engine: Engine,
    settings: IdentitySettings,
    suppression: Suppression,
    pub(crate) events: Vec<StoredEvent>,
    arena: Vec<u32>,
    by_message: FxHashMap<Box<str>, u32>,
    /// Per event: the slot it was attached to.
    event_slot: Vec<u32>,
    /// Cluster union-find over identifiers; lists are kept at the root.
    cluster_parent: Vec<u32>,
    cluster_events: Vec<Vec<u32>>,
    cluster_idents: Vec<Vec<u32>>,
    /// Per cluster root: the last event processed in canonical order, `NONE` when none.
    cluster_last: Vec<u32>,
    cluster_dirty: Vec<bool>,
    dirty: Vec<u32>,
    /// Scratch for reading an event's identifiers.
    staged: StagedEvent,
}

impl IdentityGraph {
    /// An empty graph under these settings.
    pub fn new(settings: &IdentitySettings) -> IdentityGraph {
        IdentityGraph::with_suppression(settings, Suppression::new())
    }

    /// An empty graph with identifiers already suppressed (restored from storage).
    pub fn with_suppression(
        settings: &IdentitySettings,
        suppression: Suppression,
    ) -> IdentityGraph {
        let mut engine = Engine::new(settings);
        engine.creators = Some(FxHashMap::default());
        suppress_all(&mut engine, &suppression);
        let mut graph = IdentityGraph {
            engine,
            settings: settings.clone(),
            suppression,
            events: Vec::new(),
            arena: Vec::new(),
            by_message: FxHashMap::default(),
            event_slot: Vec::new(),
            cluster_parent: Vec::new(),
            cluster_events: Vec::new(),
            cluster_idents: Vec::new(),
            cluster_last: Vec::new(),
            cluster_dirty: Vec::new(),
            dirty: Vec::new(),
            staged: StagedEvent::default(),
        };
        graph.grow_clusters();
        graph
    }

    /// A graph holding these events (any order).
    pub fn from_events(events: &[Event], settings: &IdentitySettings) -> IdentityGraph {
        let mut graph = IdentityGraph::new(settings);
        graph.add_batch(events);
        graph
    }

    /// The settings in force.
    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// The suppressed identifiers (deleted profiles' and removed ones): store them with the
    /// events to restore the graph.
    pub fn suppression(&self) -> &Suppression {
        &self.suppression
    }

    /// Adds one event; a late one replays its cluster before returning.
    pub fn add(&mut self, event: &Event) -> Added {
        let added = self.insert(event);
        self.settle();
        added
    }

    /// Adds a batch of events (any order); each cluster a late event touched is replayed once.
    pub fn add_batch(&mut self, events: &[Event]) -> Vec<Added> {
        if self.events.is_empty() && events.len() > 1 {
            return self.add_first_batch(events);
        }
        let added = events.iter().map(|e| self.insert(e)).collect();
        self.settle();
        added
    }

    /// [`IdentityGraph::add_batch`], also reporting which profiles the batch touched. A batch
    /// changes nothing outside the identity clusters of its events (and of the stored events its
    /// duplicates replace), so those clusters' profiles before and after are the whole change.
    pub fn add_batch_tracked(&mut self, events: &[Event]) -> (Vec<Added>, ProfileChanges) {
        let mut nodes = Vec::new();
        for event in events {
            extract::for_each_identifier(event, |kind, value| {
                nodes.extend(self.engine.lookup(kind, value));
            });
            if let Some(prev) = extract::previous_id(event) {
                for kind in [extract::USER_ID, extract::ANONYMOUS_ID] {
                    nodes.extend(self.engine.lookup(kind, prev));
                }
            }
            if let Some(&old) = self.by_message.get(event.message_id.as_str()) {
                nodes.extend(self.first_node(old));
            }
        }
        let before = self.profiles_in_clusters(&nodes);
        let added = self.add_batch(events);
        for event in events {
            if let Some(&e) = self.by_message.get(event.message_id.as_str()) {
                nodes.extend(self.first_node(e));
            }
        }
        let after = self.profiles_in_clusters(&nodes);
        (added, changes(before, after))
    }

    /// [`IdentityGraph::delete_profile`], also reporting the profiles of the deleted one's
    /// cluster, which is recomputed without it.
    pub fn delete_profile_tracked(&mut self, id: &str) -> Option<(Deletion, ProfileChanges)> {
        let root = self.slot_for_id(id)?;
        let nodes = [self.engine.creator[root as usize]];
        let before = self.profiles_in_clusters(&nodes);
        let deletion = self.delete_profile(id)?;
        let after = self.profiles_in_clusters(&nodes);
        Some((deletion, changes(before, after)))
    }

    /// A profile's live events as (event time, `messageId`), in canonical order; accepts a
    /// redirected id. Lets a store keep event bodies elsewhere and fetch one profile's.
    pub fn profile_events(&self, id: &str) -> Option<Vec<(Timestamp, &str)>> {
        let root = self.slot_for_id(id)?;
        let (_, events) = self.members(root);
        Some(
            events
                .iter()
                .map(|&e| {
                    let ev = &self.events[e as usize];
                    (ev.time, &*ev.message_id)
                })
                .collect(),
        )
    }

    /// One identifier node of a stored event, which names its cluster.
    fn first_node(&self, e: u32) -> Option<u32> {
        let ev = &self.events[e as usize];
        if ev.len > 0 {
            Some(self.arena[ev.start as usize])
        } else {
            ev.previous.iter().copied().find(|&x| x != NONE)
        }
    }

    /// Current profile ids over the clusters of these identifier nodes.
    fn profiles_in_clusters(&self, nodes: &[u32]) -> BTreeSet<String> {
        let mut seen = FxHashSet::default();
        let mut ids = BTreeSet::new();
        for &x in nodes {
            let c = self.cluster_root(x);
            if !seen.insert(c) {
                continue;
            }
            for &y in &self.cluster_idents[c as usize] {
                let s = self.engine.owner[y as usize];
                if s != NONE {
                    ids.insert(self.engine.slot_id(self.engine.root(s)));
                }
            }
        }
        ids
    }

    /// An empty graph's first batch is sorted once up front, so every event takes the cheap
    /// in-order path instead of each cluster being replayed.
    fn add_first_batch(&mut self, events: &[Event]) -> Vec<Added> {
        let order = canonical_order(events.len(), |i| {
            let e = &events[i as usize];
            (e.time, e.message_id.as_str())
        });
        let mut added = vec![Added::Duplicate; events.len()];
        for i in order {
            added[i as usize] = self.insert(&events[i as usize]);
        }
        self.settle();
        added
    }

    fn grow_clusters(&mut self) {
        let n = self.engine.ids.len();
        while self.cluster_parent.len() < n {
            let x = self.cluster_parent.len() as u32;
            self.cluster_parent.push(x);
            self.cluster_events.push(Vec::new());
            self.cluster_idents.push(vec![x]);
            self.cluster_last.push(NONE);
            self.cluster_dirty.push(false);
        }
    }

    fn cluster_find(&mut self, mut x: u32) -> u32 {
        while self.cluster_parent[x as usize] != x {
            let grand = self.cluster_parent[self.cluster_parent[x as usize] as usize];
            self.cluster_parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn cluster_root(&self, mut x: u32) -> u32 {
        while self.cluster_parent[x as usize] != x {
            x = self.cluster_parent[x as usize];
        }
        x
    }

    fn key_cmp(&self, a: u32, b: u32) -> Ordering {
        key_cmp(&self.events, a, b)
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.cluster_find(a), self.cluster_find(b));
        if ra == rb {
            return ra;
        }
        let size = |g: &Self, r: u32| {
            g.cluster_events[r as usize].len() + g.cluster_idents[r as usize].len()
        };
        let (keep, gone) = if size(self, ra) >= size(self, rb) {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.cluster_parent[gone as usize] = keep;
        let events = std::mem::take(&mut self.cluster_events[gone as usize]);
        self.cluster_events[keep as usize].extend(events);
        let idents = std::mem::take(&mut self.cluster_idents[gone as usize]);
        self.cluster_idents[keep as usize].extend(idents);
        let (lk, lg) = (
            self.cluster_last[keep as usize],
            self.cluster_last[gone as usize],
        );
        if lk == NONE || (lg != NONE && self.key_cmp(lg, lk) == Ordering::Greater) {
            self.cluster_last[keep as usize] = lg;
        }
        if self.cluster_dirty[gone as usize] {
            self.cluster_dirty[keep as usize] = true;
            self.dirty.push(keep);
        }
        keep
    }

    fn mark_dirty(&mut self, root: u32) {
        if !self.cluster_dirty[root as usize] {
            self.cluster_dirty[root as usize] = true;
            self.dirty.push(root);
        }
    }

    /// The cluster of an event's identifiers, if it has any.
    fn cluster_of_event(&mut self, e: u32) -> Option<u32> {
        let ev = &self.events[e as usize];
        let first = if ev.len > 0 {
            self.arena[ev.start as usize]
        } else if ev.previous[0] != NONE {
            ev.previous[0]
        } else {
            return None;
        };
        Some(self.cluster_find(first))
    }

    /// Stores an event and processes it when it is in order for its cluster; marks the cluster
    /// for replay otherwise.
    fn insert(&mut self, event: &Event) -> Added {
        let mut added = Added::New;
        if let Some(&old) = self.by_message.get(event.message_id.as_str()) {
            let old_ev = &self.events[old as usize];
            if !old_ev.live || event.time >= old_ev.time {
                return Added::Duplicate;
            }
            self.events[old as usize].live = false;
            self.events[old as usize].traits = Object::new();
            if let Some(c) = self.cluster_of_event(old) {
                self.mark_dirty(c);
            }
            added = Added::Replaced;
        }
        let e = self.events.len() as u32;
        let start = self.arena.len() as u32;
        let previous = prepare(&mut self.engine, event, &mut self.arena, &mut self.staged);
        let len = self.arena.len() as u32 - start;
        self.grow_clusters();
        let mut traits = Object::new();
        for (k, v) in event.profile_traits() {
            traits.insert(k.clone(), v.clone());
        }
        self.events.push(StoredEvent {
            message_id: event.message_id.as_str().into(),
            call: event.call,
            time: event.time,
            start,
            len,
            previous,
            traits,
            live: true,
        });
        self.event_slot.push(NONE);
        self.by_message.insert(event.message_id.as_str().into(), e);
        let nodes: Vec<u32> = self.arena[start as usize..(start + len) as usize]
            .iter()
            .copied()
            .chain(previous.into_iter().filter(|&x| x != NONE))
            .collect();
        let Some((&first, rest)) = nodes.split_first() else {
            return added;
        };
        let mut root = self.cluster_find(first);
        for &x in rest {
            root = self.union(root, x);
        }
        self.cluster_events[root as usize].push(e);
        let last = self.cluster_last[root as usize];
        let in_order = last == NONE || self.key_cmp(e, last) == Ordering::Greater;
        if self.cluster_dirty[root as usize] {
            self.mark_dirty(root);
        } else if !in_order {
            // A late event that only repeats identifiers its profile already had at its time
            // (a page view arriving late, say) changes nothing a replay would see.
            match self.settled_slot(e) {
                Some(slot) => self.event_slot[e as usize] = slot,
                None => self.mark_dirty(root),
            }
        } else {
            self.event_slot[e as usize] = self.step(e, None);
            self.cluster_last[root as usize] = e;
        }
        added
    }

    /// [`Engine::settled_slot`] for stored event `e` (an alias call never qualifies: its
    /// `previousId` is read by its own rules).
    fn settled_slot(&self, e: u32) -> Option<u32> {
        let events = &self.events;
        let ev = &events[e as usize];
        if ev.previous != [NONE, NONE] {
            return None;
        }
        let ids = &self.arena[ev.start as usize..(ev.start + ev.len) as usize];
        let earlier = |a: u32, b: u32| key_cmp(events, a, b) == Ordering::Less;
        self.engine.settled_slot(ids, e, &earlier)
    }

    fn step(&mut self, e: u32, rec: Option<&mut Recorder>) -> u32 {
        let events = &self.events;
        let ev = &events[e as usize];
        let ids = &self.arena[ev.start as usize..(ev.start + ev.len) as usize];
        let earlier = |a: u32, b: u32| key_cmp(events, a, b) == Ordering::Less;
        self.engine.step(ids, ev.previous, e, &earlier, rec)
    }

    fn settle(&mut self) {
        while let Some(r) = self.dirty.pop() {
            let r = self.cluster_find(r);
            if self.cluster_dirty[r as usize] {
                self.replay(r, None);
            }
        }
    }

    /// Recomputes one cluster from its live events in canonical order.
    fn replay(&mut self, root: u32, mut rec: Option<&mut Recorder>) {
        let mut events = std::mem::take(&mut self.cluster_events[root as usize]);
        let slots: Vec<u32> = events
            .iter()
            .map(|&e| self.event_slot[e as usize])
            .collect();
        let idents = std::mem::take(&mut self.cluster_idents[root as usize]);
        self.engine.reset(&idents, slots);
        self.cluster_idents[root as usize] = idents;
        for &e in &events {
            self.event_slot[e as usize] = NONE;
        }
        events.retain(|&e| self.events[e as usize].live);
        events.sort_unstable_by(|&a, &b| self.key_cmp(a, b));
        for &e in &events {
            self.event_slot[e as usize] = self.step(e, rec.as_deref_mut());
        }
        self.cluster_last[root as usize] = events.last().copied().unwrap_or(NONE);
        self.cluster_dirty[root as usize] = false;
        self.cluster_events[root as usize] = events;
    }

    /// Live events, in the order [`IdentityGraph::resolution`] indexes them (arrival order).
    pub fn message_ids(&self) -> impl Iterator<Item = &str> {
        self.events
            .iter()
            .filter(|e| e.live)
            .map(|e| &*e.message_id)
    }

    /// How many live events the graph holds.
    pub fn len(&self) -> usize {
        self.events.iter().filter(|e| e.live).count()
    }

    /// True when the graph holds no live event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every profile, as [`super::resolve_with`] gives them; `event_profile` follows
    /// [`IdentityGraph::message_ids`].
    pub fn resolution(&mut self) -> Resolution {
        let live: Vec<u32> = (0..self.events.len() as u32)
            .filter(|&e| self.events[e as usize].live)
            .collect();
        let order = canonical_order(live.len(), |i| {
            let ev = &self.events[live[i as usize] as usize];
            (ev.time, &*ev.message_id)
        });
        let canonical: Vec<u32> = order.into_iter().map(|i| live[i as usize]).collect();
        let events = &self.events;
        let mut resolution = assemble(
            &mut self.engine,
            canonical.iter().copied(),
            &self.event_slot,
            events.len(),
            |e| events[e as usize].time,
            |e| events[e as usize].traits.iter(),
        );
        resolution.event_profile = live
            .iter()
            .map(|&e| resolution.event_profile[e as usize])
            .collect();
        resolution
    }

    /// How many live events belong to no profile.
    pub fn unresolved(&self) -> u64 {
        self.events
            .iter()
            .zip(&self.event_slot)
            .filter(|(e, &s)| e.live && s == NONE)
            .count() as u64
    }

    /// The root slot a profile id (current or redirected) leads to.
    fn slot_for_id(&self, id: &str) -> Option<u32> {
        let prefix = parse_profile_id(id)?;
        let creator = *self.engine.creators.as_ref()?.get(&prefix)?;
        match self.engine.owner[creator as usize] {
            NONE => None,
            s => Some(self.engine.root(s)),
        }
    }

    /// The current id for a profile id: itself when current, the id of the profile that now
    /// holds its identifiers when it was merged away (or re-created by a replay); `None` when
    /// unknown or deleted.
    pub fn redirect(&self, id: &str) -> Option<String> {
        self.slot_for_id(id).map(|s| self.engine.slot_id(s))
    }

    /// The profile with this id (a redirected id gives the current profile).
    pub fn profile(&self, id: &str) -> Option<Profile> {
        self.slot_for_id(id).map(|s| self.build_profile(s))
    }

    /// The profile holding an identifier; `value` is normalized by the type's rule first.
    pub fn profile_by_identifier(&self, kind: &str, value: &str) -> Option<Profile> {
        let ident = Identifier::normalized(kind, value)?;
        let x = self.engine.lookup(&ident.kind, &ident.value)?;
        match self.engine.owner[x as usize] {
            NONE => None,
            s => Some(self.build_profile(self.engine.root(s))),
        }
    }

    /// The id of the profile an event belongs to, `None` when unresolved or unknown.
    pub fn profile_id_of_message(&self, message_id: &str) -> Option<String> {
        let &e = self.by_message.get(message_id)?;
        if !self.events[e as usize].live {
            return None;
        }
        match self.event_slot[e as usize] {
            NONE => None,
            s => Some(self.engine.slot_id(self.engine.root(s))),
        }
    }

    /// A profile's identifiers and live events (canonical order), found through its cluster.
    fn members(&self, root: u32) -> (Vec<u32>, Vec<u32>) {
        let creator = self.engine.creator[root as usize];
        let c = self.cluster_root(creator);
        let idents = self.cluster_idents[c as usize]
            .iter()
            .copied()
            .filter(|&x| {
                let s = self.engine.owner[x as usize];
                s != NONE && self.engine.root(s) == root
            })
            .collect();
        let mut events: Vec<u32> = self.cluster_events[c as usize]
            .iter()
            .copied()
            .filter(|&e| {
                let s = self.event_slot[e as usize];
                self.events[e as usize].live && s != NONE && self.engine.root(s) == root
            })
            .collect();
        events.sort_unstable_by(|&a, &b| self.key_cmp(a, b));
        (idents, events)
    }

    fn build_profile(&self, root: u32) -> Profile {
        let (idents, events) = self.members(root);
        let mut profile = Profile {
            id: self.engine.slot_id(root),
            identifiers: Default::default(),
            traits: Object::new(),
            event_count: events.len() as u64,
            first_seen: Timestamp(i64::MAX),
            last_seen: Timestamp(i64::MIN),
        };
        for x in idents {
            profile
                .identifiers
                .entry(self.engine.types.name(self.engine.ids.kind(x)).to_string())
                .or_default()
                .insert(self.engine.ids.value(x).to_string());
        }
        for e in events {
            let ev = &self.events[e as usize];
            profile.first_seen = profile.first_seen.min(ev.time);
            profile.last_seen = profile.last_seen.max(ev.time);
            let set = ev.traits.iter().map(|(k, v)| (k.clone(), v.clone()));
            apply_traits(&mut profile.traits, set);
        }
        profile
    }

    /// Why a profile's identifiers are one person, and which merges were blocked. Accepts a
    /// redirected id. Replays the profile's cluster with recording on (the result is unchanged).
    pub fn explain(&mut self, id: &str) -> Option<Explanation> {
        let root = self.slot_for_id(id)?;
        let creator = self.engine.creator[root as usize];
        let c = self.cluster_find(creator);
        let mut rec = Recorder::default();
        self.replay(c, Some(&mut rec));
        let root = self.engine.holder(creator);
        let current = self.engine.slot_id(root);
        Some(explain::build(
            &mut self.engine,
            &self.events,
            &self.event_slot,
            &rec,
            root,
            id,
            current,
        ))
    }

    /// Deletes a profile (a privacy request): its events leave the graph (their `messageId`s
    /// stay known, so a re-delivery is ignored) and its identifiers are suppressed, so they never
    /// form a profile again. The rest of its cluster is recomputed.
    pub fn delete_profile(&mut self, id: &str) -> Option<Deletion> {
        let root = self.slot_for_id(id)?;
        let profile_id = self.engine.slot_id(root);
        let (idents, events) = self.members(root);
        let creator = self.engine.creator[root as usize];
        let mut identifiers: Vec<Identifier> = idents
            .iter()
            .map(|&x| {
                Identifier::new(
                    self.engine.types.name(self.engine.ids.kind(x)),
                    self.engine.ids.value(x),
                )
            })
            .collect();
        identifiers.sort();
        let mut message_ids: Vec<String> = events
            .iter()
            .map(|&e| self.events[e as usize].message_id.to_string())
            .collect();
        message_ids.sort();
        for &e in &events {
            let ev = &mut self.events[e as usize];
            ev.live = false;
            ev.traits = Object::new();
        }
        for &x in &idents {
            self.engine.suppress(x);
        }
        self.suppression.extend(identifiers.iter().cloned());
        let c = self.cluster_find(creator);
        self.replay(c, None);
        Some(Deletion {
            profile_id,
            message_ids,
            identifiers,
        })
    }

    /// Removes one identifier from the graph (a shared device id, say): from now on it acts as
    /// blocked, and its cluster is recomputed as if it had been blocked from the start. Returns
    /// whether any event carried it. `value` is normalized by the type's rule first.
    pub fn remove_identifier(&mut self, kind: &str, value: &str) -> bool {
        let Some(ident) = Identifier::normalized(kind, value) else {
            return false;
        };
        let known = self.engine.lookup(&ident.kind, &ident.value);
        let x = self.engine.intern(&ident.kind, &ident.value);
        self.grow_clusters();
        self.engine.suppress(x);
        self.suppression.insert(ident);
        let c = self.cluster_find(x);
        self.replay(c, None);
        known.is_some()
    }
}

fn changes(before: BTreeSet<String>, after: BTreeSet<String>) -> ProfileChanges {
    ProfileChanges {
        removed: before.difference(&after).cloned().collect(),
        current: after.into_iter().collect(),
    }
}

/// Canonical order of two stored events: event time, then `messageId`.
fn key_cmp(events: &[StoredEvent], a: u32, b: u32) -> Ordering {
    let (ea, eb) = (&events[a as usize], &events[b as usize]);
    ea.time
        .cmp(&eb.time)
        .then_with(|| ea.message_id.cmp(&eb.message_id))
}
