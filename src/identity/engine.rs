//! The canonical-order algorithm (`identity.md`, "The algorithm"), one event at a time.
//!
//! Identifiers are interned as `u32`; a profile is a slot in a union-find forest, so a merge is
//! a pointer write plus a sum of per-type counts. The batch and incremental paths both drive
//! this one `Engine`, which is what makes them agree.

use std::cmp::Ordering;
use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};
use sha2::{Digest, Sha256};

use super::extract::{ANONYMOUS_ID, EMAIL, PHONE, USER_ID};
use super::IdentitySettings;
use crate::memory::{prefer_huge_pages, prefetch};

/// "No identifier / no slot".
pub(crate) const NONE: u32 = u32::MAX;

/// Identifier types with their priority rank and limit under one workspace's settings.
#[derive(Clone, Debug)]
pub(crate) struct TypeTable {
    names: Vec<Box<str>>,
    by_name: FxHashMap<Box<str>, u16>,
    /// (position in the settings' priority list or `u32::MAX`, default class): smaller ranks
    /// higher; ties are broken by the name in byte order.
    rank: Vec<(u32, u8)>,
    limit: Vec<u32>,
    settings: IdentitySettings,
}

impl TypeTable {
    pub(crate) fn new(settings: &IdentitySettings) -> TypeTable {
        let mut table = TypeTable {
            names: Vec::new(),
            by_name: FxHashMap::default(),
            rank: Vec::new(),
            limit: Vec::new(),
            settings: settings.clone(),
        };
        for name in [USER_ID, EMAIL, PHONE, ANONYMOUS_ID] {
            table.id_of(name);
        }
        table
    }

    /// The type id of `name`, registering a custom type on first sight.
    pub(crate) fn id_of(&mut self, name: &str) -> u16 {
        // The built-in types are registered first, in this order (see `new`): every event
        // names some, and a match is cheaper than a hash lookup.
        if self.names.len() >= 4 {
            match name {
                USER_ID => return 0,
                EMAIL => return 1,
                PHONE => return 2,
                ANONYMOUS_ID => return 3,
                _ => {}
            }
        }
        if let Some(&t) = self.by_name.get(name) {
            return t;
        }
        let t = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
        let class = match name {
            USER_ID => 0,
            EMAIL => 1,
            PHONE => 2,
            ANONYMOUS_ID => 4,
            _ => 3,
        };
        let listed = self
            .settings
            .priorities
            .iter()
            .position(|p| p == name)
            .map_or(u32::MAX, |p| p as u32);
        self.names.push(name.into());
        self.by_name.insert(name.into(), t);
        self.rank.push((listed, class));
        self.limit.push(self.settings.limit(name));
        t
    }

    pub(crate) fn get(&self, name: &str) -> Option<u16> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn name(&self, t: u16) -> &str {
        &self.names[usize::from(t)]
    }

    pub(crate) fn limit(&self, t: u16) -> u32 {
        self.limit[usize::from(t)]
    }

    /// `Less` when `a` has the higher priority.
    pub(crate) fn priority_cmp(&self, a: u16, b: u16) -> Ordering {
        let (ra, rb) = (self.rank[usize::from(a)], self.rank[usize::from(b)]);
        ra.cmp(&rb).then_with(|| self.name(a).cmp(self.name(b)))
    }
}

/// Interned identifiers: `(type, normalized value)` ↔ `u32`.
///
/// Values sit back to back in one text buffer (no allocation per identifier, nothing to free
/// one by one), found through an open-addressing table whose slots keep the type and 16 bits of
/// the hash next to the number: a probe reads the text only when both match, which is almost
/// only for the identifier sought.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    kinds: Vec<u16>,
    text: String,
    /// `starts[x]..starts[x + 1]` is identifier `x`'s value in `text`.
    starts: Vec<u64>,
    /// `hash >> 48 << 48 | type << 32 | (x + 1)`, 0 when empty; a power of two, at most half
    /// full.
    slots: Vec<u64>,
}

/// The hash of an identifier, type included.
pub(crate) fn ident_hash(t: u16, value: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write_u16(t);
    h.write(value.as_bytes());
    h.finish()
}

/// Where probing starts for a hash.
fn start_slot(hash: u64, mask: usize) -> usize {
    (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

/// What a slot holds besides the number: 16 bits of the hash and the type.
fn slot_key(hash: u64, t: u16) -> u64 {
    (hash >> 48 << 48) | (u64::from(t) << 32)
}

impl Interner {
    pub(crate) fn len(&self) -> usize {
        self.kinds.len()
    }

    /// The slot holding `(t, value)`, or the empty slot where it would go.
    fn probe(&self, t: u16, value: &str, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let key = slot_key(hash, t);
        let mut i = start_slot(hash, mask);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return i;
            }
            if s & !0xFFFF_FFFF == key && self.value((s as u32) - 1) == value {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    pub(crate) fn get(&self, t: u16, value: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        match self.slots[self.probe(t, value, ident_hash(t, value))] {
            0 => None,
            s => Some((s as u32) - 1),
        }
    }

    // The three reads of a lookup, asked for ahead of interning (see `staging.rs`): each
    // address is known only once the read before it has arrived. None changes anything.

    /// Asks the CPU for the table slot where probing for `hash` starts.
    pub(crate) fn prefetch_slot(&self, hash: u64) {
        if !self.slots.is_empty() {
            prefetch(
                std::ptr::from_ref(&self.slots[start_slot(hash, self.slots.len() - 1)]).cast(),
            );
        }
    }

    /// Once the slot has arrived: the identifier the first slot matching `(t, hash)` holds
    /// (almost always the one sought), its value's bounds asked for.
    pub(crate) fn prefetch_bounds(&self, t: u16, hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let key = slot_key(hash, t);
        let mut i = start_slot(hash, mask);
        let x = loop {
            match self.slots[i] {
                0 => return None,
                s if s & !0xFFFF_FFFF == key => break s as u32 - 1,
                _ => i = (i + 1) & mask,
            }
        };
        prefetch(std::ptr::from_ref(&self.starts[x as usize]).cast());
        Some(x)
    }

    /// Once the bounds have arrived: identifier `x`'s value asked for.
    pub(crate) fn prefetch_value(&self, x: u32) {
        prefetch(self.text.as_bytes()[self.starts[x as usize] as usize..].as_ptr());
    }

    /// Interns `(t, value)`, whose [`ident_hash`] is `hash`.
    fn intern(&mut self, t: u16, value: &str, hash: u64) -> u32 {
        if (self.kinds.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let i = self.probe(t, value, hash);
        if self.slots[i] != 0 {
            return (self.slots[i] as u32) - 1;
        }
        let x = self.kinds.len() as u32;
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        self.kinds.push(t);
        self.text.push_str(value);
        self.starts.push(self.text.len() as u64);
        self.slots[i] = slot_key(hash, t) | u64::from(x + 1);
        x
    }

    /// Doubles the table; positions need the whole hash, so each value is hashed again (in
    /// number order, reading the text sequentially).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        self.slots = vec![0; size];
        // Read at random, once per identifier of every event.
        prefer_huge_pages(&self.slots);
        let mask = size - 1;
        for x in 0..self.kinds.len() as u32 {
            let t = self.kinds[x as usize];
            let hash = ident_hash(t, self.value(x));
            let mut i = start_slot(hash, mask);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot_key(hash, t) | u64::from(x + 1);
        }
    }

    pub(crate) fn kind(&self, x: u32) -> u16 {
        self.kinds[x as usize]
    }

    pub(crate) fn value(&self, x: u32) -> &str {
        let x = x as usize;
        &self.text[self.starts[x] as usize..self.starts[x + 1] as usize]
    }
}

/// What happened to one event, for explanations. Only collected when asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) joins: Vec<JoinRecord>,
    pub(crate) blocks: Vec<BlockRecord>,
}

/// An event that created a profile, added identifiers to one, or merged several.
#[derive(Clone, Debug)]
pub(crate) struct JoinRecord {
    pub(crate) event: u32,
    /// The identifiers the event kept, in priority order.
    pub(crate) kept: Vec<u32>,
    /// Identifiers new to the profile.
    pub(crate) added: Vec<u32>,
    /// Slots merged into the keeper.
    pub(crate) merged: Vec<u32>,
    /// The highest-priority identifier of the event the keeper already held, `NONE` if none.
    pub(crate) joined: u32,
    pub(crate) keeper: u32,
    pub(crate) created: bool,
}

/// An identifier dropped from an event by merge protection.
#[derive(Clone, Debug)]
pub(crate) struct BlockRecord {
    pub(crate) event: u32,
    pub(crate) dropped: u32,
    /// Types over their limit in the would-be union, with the count they would have reached.
    pub(crate) over: Vec<(u16, u32)>,
    /// The slot that held the dropped identifier, if any.
    pub(crate) held_by: u32,
}

/// The profile forest and the per-identifier owner table.
#[derive(Clone, Debug)]
pub(crate) struct Engine {
    pub(crate) types: TypeTable,
    pub(crate) ids: Interner,
    /// Per identifier: acts as blocked (suppressed or removed).
    suppressed: Vec<bool>,
    /// Whether any identifier is suppressed: the common case skips a random read per identifier.
    any_suppressed: bool,
    /// Per identifier: the slot it was attached to, `NONE` when no profile holds it.
    pub(crate) owner: Vec<u32>,
    /// Per identifier: the event whose step attached it to its owner (meaningful while it has
    /// one).
    joined_by: Vec<u32>,
    pub(crate) parent: Vec<u32>,
    /// Per slot: the event that created it (the earliest created, in canonical order, keeps its
    /// id on merge; separately processed clusters may be joined later, so arrival order is no
    /// guide).
    born: Vec<u32>,
    /// Per slot: the identifier its id derives from.
    pub(crate) creator: Vec<u32>,
    /// Per slot: distinct values held, by type.
    counts: Vec<TypeCounts>,
    free: Vec<u32>,
    /// When set, every identifier that ever created a profile, by its id's 64-bit prefix, so
    /// that an old or merged-away id can be followed to the profile holding its identifier.
    pub(crate) creators: Option<FxHashMap<u64, u32>>,
    scratch_i: Vec<u32>,
    scratch_p: Vec<u32>,
    scratch_u: Vec<(u16, u32)>,
}

impl Engine {
    pub(crate) fn new(settings: &IdentitySettings) -> Engine {
        Engine {
            types: TypeTable::new(settings),
            ids: Interner::default(),
            suppressed: Vec::new(),
            any_suppressed: false,
            owner: Vec::new(),
            joined_by: Vec::new(),
            parent: Vec::new(),
            born: Vec::new(),
            creator: Vec::new(),
            counts: Vec::new(),
            free: Vec::new(),
            creators: None,
            scratch_i: Vec::new(),
            scratch_p: Vec::new(),
            scratch_u: Vec::new(),
        }
    }

    /// Interns an already normalized identifier.
    pub(crate) fn intern(&mut self, kind: &str, value: &str) -> u32 {
        let t = self.types.id_of(kind);
        self.intern_hashed(t, value, ident_hash(t, value))
    }

    /// [`Engine::intern`] given the type's number and the identifier's [`ident_hash`].
    pub(crate) fn intern_hashed(&mut self, t: u16, value: &str, hash: u64) -> u32 {
        let x = self.ids.intern(t, value, hash);
        if x as usize == self.owner.len() {
            self.owner.push(NONE);
            self.joined_by.push(NONE);
            self.suppressed.push(false);
        }
        x
    }

    /// The slot an event would join without changing anything, when that is certain: every one
    /// of its identifiers `ids` (none blocked) is held by one slot and was attached to it by an
    /// event before this one (`earlier`). At its place in canonical order such an event finds
    /// them all in that slot's profile, merges nothing and adds nothing, so it can be attached
    /// out of order with no replay: the state is what a replay would rebuild.
    pub(crate) fn settled_slot(
        &self,
        ids: &[u32],
        event: u32,
        earlier: &dyn Fn(u32, u32) -> bool,
    ) -> Option<u32> {
        let slot = self.owner[*ids.first()? as usize];
        let settled = |x: u32| {
            let x = x as usize;
            self.owner[x] == slot
                && !self.is_suppressed(x as u32)
                && earlier(self.joined_by[x], event)
        };
        (slot != NONE && ids.iter().all(|&x| settled(x))).then_some(slot)
    }

    /// Makes an identifier act as blocked from now on.
    pub(crate) fn suppress(&mut self, x: u32) {
        self.suppressed[x as usize] = true;
        self.any_suppressed = true;
    }

    fn is_suppressed(&self, x: u32) -> bool {
        self.any_suppressed && self.suppressed[x as usize]
    }

    pub(crate) fn lookup(&self, kind: &str, value: &str) -> Option<u32> {
        self.ids.get(self.types.get(kind)?, value)
    }

    /// The current profile (root slot) holding identifier `x`.
    pub(crate) fn holder(&mut self, x: u32) -> u32 {
        match self.owner[x as usize] {
            NONE => NONE,
            s => self.find(s),
        }
    }

    pub(crate) fn find(&mut self, mut s: u32) -> u32 {
        while self.parent[s as usize] != s {
            let grand = self.parent[self.parent[s as usize] as usize];
            self.parent[s as usize] = grand;
            s = grand;
        }
        s
    }

    /// Asks the CPU for what [`Engine::step`] reads first for an event holding `ids`, some
    /// events ahead of it: each identifier's type, owner and joining event.
    pub(crate) fn prefetch_identifiers(&self, ids: &[u32]) {
        for &x in ids {
            let x = x as usize;
            prefetch(std::ptr::from_ref(&self.owner[x]).cast());
            prefetch(std::ptr::from_ref(&self.joined_by[x]).cast());
            prefetch(std::ptr::from_ref(&self.ids.kinds[x]).cast());
        }
    }

    /// What [`Engine::step`] reads next for an event holding `ids`, once their owners were
    /// fetched ([`Engine::prefetch_identifiers`]): each owner's parent and type counts.
    pub(crate) fn prefetch_owners(&self, ids: &[u32]) {
        for &x in ids {
            let s = self.owner[x as usize];
            if s != NONE {
                prefetch(std::ptr::from_ref(&self.parent[s as usize]).cast());
                prefetch(std::ptr::from_ref(&self.counts[s as usize]).cast());
            }
        }
    }

    /// Read-only root lookup (no path compression).
    pub(crate) fn root(&self, mut s: u32) -> u32 {
        while self.parent[s as usize] != s {
            s = self.parent[s as usize];
        }
        s
    }

    /// The stable profile id derived from a slot's creating identifier.
    pub(crate) fn slot_id(&self, s: u32) -> String {
        profile_id_from_prefix(self.slot_id_prefix(s))
    }

    /// The number a slot's profile id spells ([`id_prefix`] of its creating identifier).
    pub(crate) fn slot_id_prefix(&self, s: u32) -> u64 {
        let x = self.creator[s as usize];
        id_prefix(self.types.name(self.ids.kind(x)), self.ids.value(x))
    }

    /// Forgets the profiles built from these identifiers and slots, so they can be replayed.
    pub(crate) fn reset(&mut self, idents: &[u32], slots: impl IntoIterator<Item = u32>) {
        for &x in idents {
            self.owner[x as usize] = NONE;
        }
        for s in slots {
            if s != NONE && self.parent[s as usize] != NONE {
                self.parent[s as usize] = NONE;
                self.counts[s as usize].clear();
                self.free.push(s);
            }
        }
    }

    fn new_slot(&mut self, creator: u32, born: u32) -> u32 {
        if let Some(map) = self.creators.as_mut() {
            let t = self.types.name(self.ids.kind(creator));
            map.insert(id_prefix(t, self.ids.value(creator)), creator);
        }
        if let Some(s) = self.free.pop() {
            let i = s as usize;
            self.parent[i] = s;
            self.born[i] = born;
            self.creator[i] = creator;
            return s;
        }
        let s = self.parent.len() as u32;
        self.parent.push(s);
        self.born.push(born);
        self.creator.push(creator);
        self.counts.push(TypeCounts::default());
        s
    }

    /// `Less` when identifier `a` should be dropped before `b`: lower priority, then the greater
    /// value in byte order.
    fn drop_before(&self, a: u32, b: u32) -> bool {
        let (ta, tb) = (self.ids.kind(a), self.ids.kind(b));
        match self.types.priority_cmp(ta, tb) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => self.ids.value(a) > self.ids.value(b),
        }
    }

    /// True when identifier `a` ranks before `b`: higher priority, then the smaller value.
    fn ranks_before(&self, a: u32, b: u32) -> bool {
        match self.types.priority_cmp(self.ids.kind(a), self.ids.kind(b)) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => self.ids.value(a) < self.ids.value(b),
        }
    }

    /// Processes one event (steps 1–4) and returns the slot it belongs to, or `NONE`.
    ///
    /// `ids` are the event's identifiers (deduplicated); `previous` the alias `previousId`
    /// interned as `[user_id, anonymous_id]`, or `[NONE, NONE]`.
    /// `earlier(a, b)` tells whether event `a` comes before event `b` in canonical order.
    pub(crate) fn step(
        &mut self,
        ids: &[u32],
        previous: [u32; 2],
        event: u32,
        earlier: &dyn Fn(u32, u32) -> bool,
        mut rec: Option<&mut Recorder>,
    ) -> u32 {
        let mut i = std::mem::take(&mut self.scratch_i);
        let mut p = std::mem::take(&mut self.scratch_p);
        let mut u = std::mem::take(&mut self.scratch_u);
        i.clear();
        i.extend(ids.iter().copied().filter(|&x| !self.is_suppressed(x)));
        let [prev_user, prev_anon] = previous;
        let prev_held = prev_user != NONE
            && !self.is_suppressed(prev_user)
            && self.owner[prev_user as usize] != NONE;
        let typed = if prev_held {
            prev_user
        } else if prev_anon != NONE && !self.is_suppressed(prev_anon) {
            prev_anon
        } else {
            NONE
        };
        if typed != NONE && !i.contains(&typed) {
            i.push(typed);
        }
        let slot = loop {
            if i.is_empty() {
                break NONE;
            }
            p.clear();
            u.clear();
            for &x in &i {
                match self.owner[x as usize] {
                    NONE => add_count(&mut u, self.ids.kind(x), 1),
                    s => {
                        let r = self.find(s);
                        if !p.contains(&r) {
                            p.push(r);
                        }
                    }
                }
            }
            for &r in &p {
                for (t, c) in self.counts[r as usize].iter() {
                    add_count(&mut u, t, c);
                }
            }
            let over = u.iter().any(|&(t, c)| c > self.types.limit(t));
            if !over {
                break self.attach(&i, &p, event, earlier, rec.as_deref_mut());
            }
            let mut pick: Option<usize> = None;
            for (k, &x) in i.iter().enumerate() {
                let t = self.ids.kind(x);
                let conflicting = self.owner[x as usize] != NONE
                    || u.iter().any(|&(ut, c)| ut == t && c > self.types.limit(t));
                if conflicting && pick.is_none_or(|q| self.drop_before(x, i[q])) {
                    pick = Some(k);
                }
            }
            // Some type is over its limit, so the conflict set is never empty (identity.md,
            // step 3); the guard only keeps a logic error from looping forever.
            let Some(k) = pick else {
                break NONE;
            };
            let dropped = i.swap_remove(k);
            if let Some(rec) = rec.as_deref_mut() {
                let held_by = self.holder(dropped);
                let over = u
                    .iter()
                    .copied()
                    .filter(|&(t, c)| c > self.types.limit(t))
                    .collect();
                rec.blocks.push(BlockRecord {
                    event,
                    dropped,
                    over,
                    held_by,
                });
            }
        };
        self.scratch_i = i;
        self.scratch_p = p;
        self.scratch_u = u;
        slot
    }

    /// Step 2's success branch: merge `p` (roots) into the earliest created, or create a
    /// profile, and add the unowned identifiers of `i`.
    fn attach(
        &mut self,
        i: &[u32],
        p: &[u32],
        event: u32,
        earlier: &dyn Fn(u32, u32) -> bool,
        rec: Option<&mut Recorder>,
    ) -> u32 {
        let created = p.is_empty();
        let first = p.iter().copied().reduce(|a, b| {
            if earlier(self.born[b as usize], self.born[a as usize]) {
                b
            } else {
                a
            }
        });
        let joined_to = first.map_or(NONE, |k| {
            if rec.is_none() {
                return NONE;
            }
            let mut best = NONE;
            for &x in i {
                let s = self.owner[x as usize];
                if s != NONE && self.root(s) == k && (best == NONE || self.ranks_before(x, best)) {
                    best = x;
                }
            }
            best
        });
        let keeper = match first {
            Some(k) => k,
            None => {
                let mut best = i[0];
                for &x in &i[1..] {
                    if self.ranks_before(x, best) {
                        best = x;
                    }
                }
                self.new_slot(best, event)
            }
        };
        for &r in p {
            if r != keeper {
                self.parent[r as usize] = keeper;
                let moved = std::mem::take(&mut self.counts[r as usize]);
                for (t, c) in moved.iter() {
                    self.counts[keeper as usize].add(t, c);
                }
            }
        }
        let record = rec.is_some();
        let mut added = Vec::new();
        for &x in i {
            if self.owner[x as usize] == NONE {
                self.owner[x as usize] = keeper;
                self.joined_by[x as usize] = event;
                let t = self.ids.kind(x);
                self.counts[keeper as usize].add(t, 1);
                if record {
                    added.push(x);
                }
            }
        }
        if let Some(rec) = rec {
            let mut kept = i.to_vec();
            kept.sort_by(|&a, &b| {
                self.types
                    .priority_cmp(self.ids.kind(a), self.ids.kind(b))
                    .then_with(|| self.ids.value(a).cmp(self.ids.value(b)))
            });
            let merged: Vec<u32> = p.iter().copied().filter(|&r| r != keeper).collect();
            if created || !added.is_empty() || !merged.is_empty() {
                rec.joins.push(JoinRecord {
                    event,
                    kept,
                    added,
                    merged,
                    joined: joined_to,
                    keeper,
                    created,
                });
            }
        }
        keeper
    }
}

/// Distinct values held per type by one slot, in the order the types joined. Most profiles hold
/// four types or fewer: those stay inline, so reading a profile's counts (every event does)
/// follows no pointer.
#[derive(Clone, Debug, Default)]
struct TypeCounts {
    inline: [(u16, u32); 4],
    len: u8,
    more: Vec<(u16, u32)>,
}

impl TypeCounts {
    fn iter(&self) -> impl Iterator<Item = (u16, u32)> + '_ {
        self.inline[..usize::from(self.len)]
            .iter()
            .chain(&self.more)
            .copied()
    }

    fn add(&mut self, t: u16, n: u32) {
        let len = usize::from(self.len);
        match self.inline[..len]
            .iter_mut()
            .chain(&mut self.more)
            .find(|(ct, _)| *ct == t)
        {
            Some((_, c)) => *c += n,
            None if len < 4 => {
                self.inline[len] = (t, n);
                self.len += 1;
            }
            None => self.more.push((t, n)),
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.more.clear();
    }
}

fn add_count(counts: &mut Vec<(u16, u32)>, t: u16, n: u32) {
    match counts.iter_mut().find(|(ct, _)| *ct == t) {
        Some((_, c)) => *c += n,
        None => counts.push((t, n)),
    }
}

/// The first 8 bytes of SHA-256 over `type:value`, big-endian: what a profile id spells in hex.
pub(crate) fn id_prefix(kind: &str, value: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update(b":");
    h.update(value.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The 64-bit prefix a profile id spells, when `id` is `p_` + 16 lowercase hex digits.
pub(crate) fn parse_profile_id(id: &str) -> Option<u64> {
    let hex = id.strip_prefix("p_")?;
    if hex.len() != 16 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// `p_` + the first 16 lowercase hex digits of SHA-256 over the UTF-8 bytes of `type:value`.
///
/// ```
/// assert_eq!(tessera::identity::profile_id_for("user_id", "42").len(), 18);
/// ```
pub fn profile_id_for(kind: &str, value: &str) -> String {
    profile_id_from_prefix(id_prefix(kind, value))
}

/// The profile id spelling `prefix`: `p_` + 16 lowercase hex digits.
pub(crate) fn profile_id_from_prefix(prefix: u64) -> String {
    format!("p_{prefix:016x}")
}
