//! The streaming batch path: NDJSON bytes → validated events → dedup → identity resolution →
//! the segment [`Store`], without ever holding every full [`Event`].
//!
//! Each accepted message is reduced on arrival to what resolution and the store read: its
//! `messageId`, time, call, name, identifiers (interned), profile-trait updates and properties
//! (flattened to a few bytes per value). Ten million generated events take a few GB this way,
//! where full events take about 4 KB each.
//!
//! The answer equals [`crate::ingest::read_file_bytes`] + [`crate::ingest::dedup`] +
//! [`crate::identity::resolve`] + [`Store::build`] on the same bytes.
//!
//! ```
//! use tessera::identity::IdentitySettings;
//! use tessera::ingest::Source;
//! use tessera::pipeline::Loader;
//!
//! let file = b"{\"type\":\"identify\",\"userId\":\"u1\",\"messageId\":\"m1\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"traits\":{\"plan\":\"pro\"}}\n{\"type\":\"page\"}\n";
//! let mut loader = Loader::new(&IdentitySettings::default(), Source::File { derive_ids: false });
//! loader.read(&file[..]).unwrap();
//! let loaded = loader.finish();
//! assert_eq!(loaded.rejected[0].code, "missing_id");
//! assert_eq!(loaded.resolution.profiles[0].traits["plan"], "pro");
//! assert_eq!(loaded.store.event_count(), 1);
//! ```

use std::hash::{Hash, Hasher};
use std::io::{self, BufRead};
use std::ops::Range;

use rustc_hash::{FxHashMap, FxHasher};

use crate::event::{CallType, Event, Object};
use crate::identity::{
    self, CompactResolution, IdentityParts, IdentitySettings, PreparedEvents, Profile, Resolution,
};
use crate::ingest::{self, trim_json_space, Checked, Rejection, Source};
use crate::segment::{EncodedEvent, PropertyEncoder, Store, StoreBuilder};
use crate::time::Timestamp;

const NONE: u32 = u32::MAX;

/// What the pipeline gives: profiles, the store, and what was left out.
#[derive(Debug)]
pub struct Loaded {
    /// Identity resolution; `event_profile` follows the kept events in canonical order.
    pub resolution: Resolution,
    /// The segment store over the resolved events.
    pub store: Store,
    /// Rejected messages, in file order.
    pub rejected: Vec<Rejection>,
    /// Messages accepted (duplicates included).
    pub accepted: usize,
    /// Re-deliveries dropped by the dedup rule.
    pub duplicates: usize,
}

/// Accepted events, reduced to what resolution and the store read, in arrival order.
struct Records {
    message_ids: String,
    message_id_ends: Vec<u64>,
    time: Vec<i64>,
    call: Vec<CallType>,
    /// Index into `names`, `NONE` for no name.
    name: Vec<u32>,
    properties: Vec<u8>,
    property_ends: Vec<u64>,
    /// Per event: index into `trait_sets`, `NONE` when it sets no profile trait.
    traits: Vec<u32>,
    /// Pre-merged profile traits of the events that set any, as JSON text: a tenth of the
    /// memory of the maps, and none of their allocations (10M events hold 300k sets).
    trait_sets: TraitSets,
    /// Per event: a hash of its `messageId`, which dedup groups by.
    message_hash: Vec<u64>,
}

impl Records {
    fn message_id(&self, e: u32) -> &str {
        &self.message_ids[piece(&self.message_id_ends, e)]
    }

    fn properties(&self, e: u32) -> &[u8] {
        &self.properties[piece(&self.property_ends, e)]
    }
}

/// Where item `i` lies in a buffer of items back to back, given where each one `ends`.
fn piece(ends: &[u64], i: u32) -> Range<usize> {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    start..ends[i] as usize
}

fn hash_id(id: &str) -> u64 {
    let mut h = FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// Events sorted by time, then arrival: (time, event) packed into one 64-bit key when the
/// times' span and the event count fit (a file's months of milliseconds and tens of millions of
/// events do), into a 128-bit one otherwise.
fn by_time(time: &[i64], events: impl Iterator<Item = u32> + Clone) -> Vec<u32> {
    let (low, high) = events.clone().fold((i64::MAX, i64::MIN), |(lo, hi), e| {
        let t = time[e as usize];
        (lo.min(t), hi.max(t))
    });
    if low > high {
        return Vec::new();
    }
    let event_bits = 64 - (time.len() as u64).leading_zeros();
    let span = high.abs_diff(low);
    if u64::from(event_bits) + u64::from(64 - span.leading_zeros()) <= 64 {
        let mut keys: Vec<u64> = events
            .map(|e| (time[e as usize].abs_diff(low) << event_bits) | u64::from(e))
            .collect();
        keys.sort_unstable();
        let mask = (1u64 << event_bits) - 1;
        return keys.into_iter().map(|k| (k & mask) as u32).collect();
    }
    let mut keys: Vec<u128> = events
        .map(|e| {
            let t = (time[e as usize] as u64) ^ (1 << 63);
            (u128::from(t) << 32) | u128::from(e)
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|k| k as u32).collect()
}

/// Reads messages and keeps their compact form; [`Loader::finish`] resolves and builds the store.
pub struct Loader {
    source: Source,
    /// Whether each event's name and properties are kept, for the store; a profiles-only
    /// loader still checks them but keeps only what resolution reads.
    keeps_store: bool,
    prepared: PreparedEvents,
    records: Records,
    names: Vec<Box<str>>,
    name_index: FxHashMap<Box<str>, u32>,
    encoder: PropertyEncoder,
    rejected: Vec<Rejection>,
    accepted: usize,
    line: usize,
}

impl Loader {
    /// An empty loader: identity `settings`, and how messages are read (`Source::File` for files).
    pub fn new(settings: &IdentitySettings, source: Source) -> Loader {
        Loader {
            source,
            keeps_store: true,
            prepared: PreparedEvents::new(settings),
            records: Records {
                message_ids: String::new(),
                message_id_ends: Vec::new(),
                time: Vec::new(),
                call: Vec::new(),
                name: Vec::new(),
                properties: Vec::new(),
                property_ends: Vec::new(),
                traits: Vec::new(),
                trait_sets: TraitSets::default(),
                message_hash: Vec::new(),
            },
            names: Vec::new(),
            name_index: FxHashMap::default(),
            encoder: PropertyEncoder::new(),
            rejected: Vec::new(),
            accepted: 0,
            line: 0,
        }
    }

    /// A loader for profiles alone ([`Deduplicated::resolve_profiles`]): every message is
    /// checked as for the store, but names and properties are not kept, which is most of what
    /// a message weighs. [`Resolved::build_store`] must not be called on what it gives.
    pub fn profiles_only(settings: &IdentitySettings, source: Source) -> Loader {
        Loader {
            keeps_store: false,
            ..Loader::new(settings, source)
        }
    }

    /// Reads a whole file in any of the shapes [`ingest::read_file_bytes`] takes. NDJSON is
    /// streamed line by line; an array or batch file (told apart by its first line) is read
    /// whole and parsed as [`ingest::read_file_bytes`] does.
    pub fn read<R: BufRead>(&mut self, mut reader: R) -> io::Result<()> {
        let mut head = Vec::new();
        let first = loop {
            let before = head.len();
            if reader.read_until(b'\n', &mut head)? == 0 {
                break None;
            }
            if !trim_json_space(&head[before..]).is_empty() {
                break Some(before);
            }
        };
        let Some(first) = first else {
            return Ok(());
        };
        let line = trim_json_space(&head[first..]);
        let streamable = match line.first() {
            Some(b'[') => false,
            Some(b'{') => {
                let keys: Result<FxHashMap<String, &serde_json::value::RawValue>, _> =
                    serde_json::from_slice(line);
                keys.is_ok_and(|k| !k.contains_key("batch"))
            }
            _ => true,
        };
        if !streamable {
            reader.read_to_end(&mut head)?;
            let outcome = ingest::read_file_bytes(&head, self.source);
            for event in &outcome.accepted {
                self.push_event(event);
            }
            self.rejected.extend(outcome.rejected);
            return Ok(());
        }
        for text in head.split_inclusive(|&b| b == b'\n') {
            self.push_line(text);
        }
        self.read_ndjson(reader)
    }

    /// Streams NDJSON lines (continuing the line count of earlier reads).
    pub fn read_ndjson<R: BufRead>(&mut self, mut reader: R) -> io::Result<()> {
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let available = match reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !carry.is_empty() {
                    self.push_line(&carry);
                }
                return Ok(());
            }
            let mut used = 0;
            if !carry.is_empty() {
                match memchr::memchr(b'\n', available) {
                    Some(end) => {
                        carry.extend_from_slice(&available[..end]);
                        let text = std::mem::take(&mut carry);
                        self.push_line(&text);
                        used = end + 1;
                    }
                    None => {
                        carry.extend_from_slice(available);
                        let n = available.len();
                        reader.consume(n);
                        continue;
                    }
                }
            }
            // Lines are parsed where they lie in the reader's buffer; only one that straddles
            // two fills is copied.
            while let Some(end) = memchr::memchr(b'\n', &available[used..]) {
                self.push_line(&available[used..used + end]);
                used += end + 1;
            }
            carry.extend_from_slice(&available[used..]);
            let n = available.len();
            reader.consume(n);
        }
    }

    /// One NDJSON line (the next line number); blank lines are skipped.
    fn push_line(&mut self, text: &[u8]) {
        self.line += 1;
        let text = trim_json_space(text);
        if text.is_empty() {
            return;
        }
        match ingest::parse_message_checked(text, self.line, self.source) {
            Ok((message, properties)) => self.push(message, properties),
            Err(rejection) => self.rejected.push(rejection),
        }
    }

    /// Adds one accepted event (the dedup rule applies: the earliest time per `messageId` is
    /// kept, ties keep the first).
    pub fn push_event(&mut self, event: &Event) {
        self.push(Checked::from_event(event.clone()), None);
    }

    /// [`Loader::push_event`] taking the checked message, with its `properties` given as
    /// checked text (then the message's own are empty) or not (`None`).
    fn push(&mut self, event: Checked<'_>, properties: Option<&str>) {
        self.accepted += 1;
        // Duplicates are kept here and settled by one sort in `dedup`: probing a table of ten
        // million ids on arrival missed the cache on nearly every message.
        let hash = hash_id(&event.message_id);
        self.records.message_hash.push(hash);
        self.store_record(event, properties);
    }

    fn store_record(&mut self, mut event: Checked<'_>, properties: Option<&str>) -> u32 {
        let e = self.prepared.push_parts(&IdentityParts {
            call: event.call,
            user_id: event.user_id.as_deref(),
            anonymous_id: event.anonymous_id.as_deref(),
            previous_id: event.previous_id.as_deref(),
            traits: &event.traits,
            context: &event.context,
        });
        let r = &mut self.records;
        r.message_ids.push_str(&event.message_id);
        r.message_id_ends.push(r.message_ids.len() as u64);
        r.time.push(event.time.0);
        if self.keeps_store {
            r.call.push(event.call);
            let name = match event.name.as_deref() {
                None => NONE,
                Some(n) => match self.name_index.get(n) {
                    Some(&id) => id,
                    None => {
                        let id = self.names.len() as u32;
                        self.names.push(n.into());
                        self.name_index.insert(n.into(), id);
                        id
                    }
                },
            };
            r.name.push(name);
            match properties {
                Some(text) => ingest::encode_properties(text, &mut self.encoder, &mut r.properties),
                None => self.encoder.encode(&event.properties, &mut r.properties),
            }
            r.property_ends.push(r.properties.len() as u64);
        }
        let traits = take_profile_traits(&mut event);
        if traits.is_empty() {
            r.traits.push(NONE);
        } else {
            r.traits.push(r.trait_sets.len() as u32);
            r.trait_sets.push(&traits);
        }
        e
    }

    /// How many messages were rejected so far.
    pub fn rejected(&self) -> usize {
        self.rejected.len()
    }

    /// The kept events in canonical order (time, then `messageId`): the dedup stage. Of the
    /// events sharing a `messageId` the earliest is kept, ties keeping the first to arrive.
    pub fn dedup(self) -> Deduplicated {
        let r = &self.records;
        let n = r.message_hash.len();
        // Grouped by the top half of the hash, then arrival: one 64-bit key per message (the
        // sort moves half the bytes of a 128-bit one). A group may hold different ids whose
        // halves collide; ids are compared within it.
        let mut by_hash: Vec<u64> = r
            .message_hash
            .iter()
            .enumerate()
            .map(|(e, &h)| (h & !0xFFFF_FFFF) | e as u64)
            .collect();
        by_hash.sort_unstable();
        let mut live = vec![true; n];
        let mut duplicates = 0;
        let mut i = 0;
        while i < n {
            let h = by_hash[i] >> 32;
            let mut j = i + 1;
            while j < n && by_hash[j] >> 32 == h {
                j += 1;
            }
            if j - i == 1 {
                // Most groups are one message, which stays live: passing them by spares a
                // random read of `live` per message (a quarter of a second at 10M).
                i = j;
                continue;
            }
            // Equal hash halves, in arrival order; equal ids among them are duplicates.
            for a in i..j {
                let ea = by_hash[a] as u32;
                if !live[ea as usize] {
                    continue;
                }
                for &key in &by_hash[a + 1..j] {
                    let eb = key as u32;
                    if !live[eb as usize] || r.message_id(ea) != r.message_id(eb) {
                        continue;
                    }
                    duplicates += 1;
                    if r.time[eb as usize] < r.time[ea as usize] {
                        live[ea as usize] = false;
                        break;
                    }
                    live[eb as usize] = false;
                }
            }
            i = j;
        }
        drop(by_hash);
        let mut canonical = by_time(&r.time, (0..n as u32).filter(|&e| live[e as usize]));
        // Gathered once, in a loop whose reads overlap: the ties below and resolve read them in
        // this order.
        let time: Vec<i64> = canonical.iter().map(|&e| r.time[e as usize]).collect();
        let mut i = 0;
        while i < canonical.len() {
            let mut j = i + 1;
            while j < canonical.len() && time[j] == time[i] {
                j += 1;
            }
            if j - i > 1 {
                canonical[i..j].sort_unstable_by(|&a, &b| r.message_id(a).cmp(r.message_id(b)));
            }
            i = j;
        }
        Deduplicated {
            loader: self,
            canonical,
            time,
            duplicates,
        }
    }

    /// Dedup, resolve and build the store in one go.
    pub fn finish(self) -> Loaded {
        self.dedup().resolve().build_store()
    }
}

/// The kept events in canonical order, ready to resolve.
pub struct Deduplicated {
    loader: Loader,
    canonical: Vec<u32>,
    /// The kept events' times, in canonical order.
    time: Vec<i64>,
    duplicates: usize,
}

impl Deduplicated {
    /// How many events were kept.
    pub fn len(&self) -> usize {
        self.canonical.len()
    }

    /// True when no event was kept.
    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }

    /// Identity resolution over the kept events, every profile built: the resolve stage of the
    /// store pipeline.
    pub fn resolve(self) -> Resolved {
        let (loader, canonical, duplicates, compact, traits) = self.resolve_parts();
        let records = &loader.records;
        let resolution =
            compact.into_resolution(|setters| records.trait_sets.merged(&traits, setters));
        Resolved {
            loader,
            canonical,
            duplicates,
            resolution,
        }
    }

    /// Identity resolution over the kept events, each profile built when it is read: the
    /// resolve stage of `tessera profiles`, which prints them one at a time.
    pub fn resolve_profiles(self) -> Profiles {
        let (loader, _, duplicates, resolution, traits) = self.resolve_parts();
        let Loader {
            records,
            rejected,
            accepted,
            ..
        } = loader;
        Profiles {
            resolution,
            trait_sets: records.trait_sets,
            traits,
            rejected,
            accepted,
            duplicates,
        }
    }

    /// Resolves, leaving the profiles unbuilt; also gives each position's trait set.
    fn resolve_parts(self) -> (Loader, Vec<u32>, usize, CompactResolution, Vec<u32>) {
        let Deduplicated {
            mut loader,
            canonical,
            time,
            duplicates,
        } = self;
        let prepared = std::mem::replace(
            &mut loader.prepared,
            PreparedEvents::new(&IdentitySettings::default()),
        );
        let records = &loader.records;
        // Gathered into canonical order first, as the times were: a simple loop whose reads
        // overlap, where the resolver's own loop would wait on each.
        let traits: Vec<u32> = canonical
            .iter()
            .map(|&e| records.traits[e as usize])
            .collect();
        let resolution = prepared.resolve_compact(
            &canonical,
            |pos| Timestamp(time[pos as usize]),
            |pos| traits[pos as usize] != NONE,
        );
        (loader, canonical, duplicates, resolution, traits)
    }
}

/// Profile-trait updates as JSON texts, back to back.
#[derive(Debug, Default)]
struct TraitSets {
    text: Vec<u8>,
    ends: Vec<u64>,
}

impl TraitSets {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn push(&mut self, traits: &Object) {
        // Writing to a `Vec` cannot fail, and the map's keys are strings.
        let _ = serde_json::to_writer(&mut self.text, traits);
        self.ends.push(self.text.len() as u64);
    }

    fn get(&self, i: u32) -> &[u8] {
        &self.text[piece(&self.ends, i)]
    }

    /// The traits after the updates of the events at canonical positions `setters`, in order
    /// (`sets[pos]` names each one's set): later wins per key, `null` removes it.
    fn merged(&self, sets: &[u32], setters: &[u32]) -> Object {
        let mut traits = Object::new();
        for &pos in setters {
            // Written by serde_json above, so it reads back (the same values: floats
            // round-trip) unless the position names no set.
            if let Some(Ok(set)) = (sets.get(pos as usize))
                .filter(|&&i| i != NONE)
                .map(|&i| serde_json::from_slice::<Object>(self.get(i)))
            {
                identity::apply_traits(&mut traits, set);
            }
        }
        traits
    }
}

/// Resolved profiles, before the store is built.
pub struct Resolved {
    loader: Loader,
    canonical: Vec<u32>,
    duplicates: usize,
    /// Identity resolution; `event_profile` follows the kept events in canonical order.
    pub resolution: Resolution,
}

impl Resolved {
    /// Builds the segment store: the store stage.
    ///
    /// # Panics
    ///
    /// On a loader made by [`Loader::profiles_only`], which kept no properties to build from.
    pub fn build_store(self) -> Loaded {
        assert!(
            self.loader.keeps_store,
            "build_store needs a loader that keeps properties (Loader::new)"
        );
        let Resolved {
            loader,
            canonical,
            duplicates,
            resolution,
        } = self;
        let n = resolution.profiles.len();
        // Counting sort by profile; canonical order is kept within each profile.
        let mut offsets = vec![0u32; n + 1];
        for p in resolution.event_profile.iter().flatten() {
            offsets[*p as usize + 1] += 1;
        }
        for p in 0..n {
            offsets[p + 1] += offsets[p];
        }
        // Each kept event's row: profile order, canonical order within a profile.
        let mut fill = offsets;
        let mut row_of = vec![NONE; loader.records.time.len()];
        for (pos, p) in resolution.event_profile.iter().enumerate() {
            if let Some(p) = p {
                let slot = &mut fill[*p as usize];
                row_of[canonical[pos] as usize] = *slot;
                *slot += 1;
            }
        }
        drop(canonical);
        let rows = fill[n] as usize;
        let ends: Vec<u32> = std::iter::once(0).chain(fill).collect();
        // The records are copied into row order first, reading them in arrival order: random
        // writes, sequential reads, where building straight from arrival order would miss the
        // cache on every read.
        let records = &loader.records;
        let mut time = vec![0i64; rows];
        let mut call = vec![CallType::Track; rows];
        let mut name = vec![NONE; rows];
        let mut property_ends = vec![0u64; rows + 1];
        for (e, &row) in row_of.iter().enumerate() {
            if row != NONE {
                let r = row as usize;
                time[r] = records.time[e];
                call[r] = records.call[e];
                name[r] = records.name[e];
                property_ends[r + 1] = records.properties(e as u32).len() as u64;
            }
        }
        for r in 0..rows {
            property_ends[r + 1] += property_ends[r];
        }
        let mut properties = vec![0u8; property_ends[rows] as usize];
        for (e, &row) in row_of.iter().enumerate() {
            if row != NONE {
                let start = property_ends[row as usize] as usize;
                let bytes = records.properties(e as u32);
                properties[start..start + bytes.len()].copy_from_slice(bytes);
            }
        }
        drop(row_of);
        let Loader {
            records,
            names,
            encoder,
            rejected,
            accepted,
            ..
        } = loader;
        drop(records);
        let mut builder = StoreBuilder::new();
        for (p, profile) in resolution.profiles.iter().enumerate() {
            let events = (ends[p] as usize..ends[p + 1] as usize).map(|r| {
                let n = name[r];
                EncodedEvent {
                    time: time[r],
                    call: call[r],
                    name: (n != NONE).then(|| &*names[n as usize]),
                    properties: &properties
                        [property_ends[r] as usize..property_ends[r + 1] as usize],
                }
            });
            builder.add_profile_encoded(profile, &encoder, events);
        }
        let store = builder.finish();
        Loaded {
            resolution,
            store,
            rejected,
            accepted,
            duplicates,
        }
    }
}

/// What the profiles-only pipeline gives: [`Loaded`] without the store.
#[derive(Debug)]
pub struct Profiles {
    /// Identity resolution; `event_profile` follows the kept events in canonical order.
    resolution: CompactResolution,
    /// Pre-merged profile traits of the events that set any.
    trait_sets: TraitSets,
    /// Per kept event in canonical order: its index in `trait_sets`, `NONE` when it sets none.
    traits: Vec<u32>,
    /// Rejected messages, in file order.
    pub rejected: Vec<Rejection>,
    /// Messages accepted (duplicates included).
    pub accepted: usize,
    /// Re-deliveries dropped by the dedup rule.
    pub duplicates: usize,
}

impl Profiles {
    /// How many events were kept (accepted, less re-deliveries).
    pub fn events(&self) -> usize {
        self.accepted - self.duplicates
    }

    /// How many profiles there are.
    pub fn len(&self) -> usize {
        self.resolution.len()
    }

    /// True when no event identifies anyone.
    pub fn is_empty(&self) -> bool {
        self.resolution.is_empty()
    }

    /// How many kept events belong to no profile.
    pub fn unresolved(&self) -> u64 {
        self.resolution.unresolved()
    }

    /// For each kept event in canonical order, the number of its profile (`None`: unresolved).
    pub fn event_profile(&self) -> &[Option<u32>] {
        self.resolution.event_profile()
    }

    /// Profile `p` (in id order), built.
    pub fn profile(&self, p: usize) -> Profile {
        self.resolution
            .profile(p, |setters| self.trait_sets.merged(&self.traits, setters))
    }

    /// Every profile in id order, each built as it is reached.
    pub fn iter(&self) -> impl Iterator<Item = Profile> + '_ {
        (0..self.len()).map(|p| self.profile(p))
    }
}

/// Reads a file of messages (any shape [`ingest::read_file_bytes`] takes) into profiles alone:
/// what `tessera profiles` prints. Equals the profiles [`load`] gives, for less memory and time.
pub fn load_profiles<R: BufRead>(
    reader: R,
    settings: &IdentitySettings,
    source: Source,
) -> io::Result<Profiles> {
    let mut loader = Loader::profiles_only(settings, source);
    loader.read(reader)?;
    Ok(loader.dedup().resolve_profiles())
}

/// Reads a file of messages (any shape [`ingest::read_file_bytes`] takes) into profiles and the
/// segment store.
pub fn load<R: BufRead>(
    reader: R,
    settings: &IdentitySettings,
    source: Source,
) -> io::Result<Loaded> {
    let mut loader = Loader::new(settings, source);
    loader.read(reader)?;
    Ok(loader.finish())
}

/// The message's profile-trait updates, pre-merged as [`Event::profile_traits`] lists them
/// (`context.traits`, then an identify call's own `traits`, which win per key), moved out.
fn take_profile_traits(event: &mut Checked<'_>) -> Object {
    let mut traits = match event.context.remove("traits") {
        Some(serde_json::Value::Object(o)) => o,
        _ => Object::new(),
    };
    if event.call == CallType::Identify {
        traits.append(&mut event.traits);
    }
    traits
}

#[cfg(test)]
mod tests {
    use super::by_time;

    /// Both key widths give time order, ties by event number, and leave out unlisted events.
    #[test]
    fn by_time_sorts_with_either_key_width() {
        let near = [5_i64, -3, 5, 1_700_000_000_000, -3, 0];
        let far = [i64::MAX / 2, i64::MIN / 2, 7, 7, i64::MIN / 2, 0];
        for time in [near, far] {
            let listed = [0_u32, 1, 2, 3, 4, 5].into_iter().filter(|&e| e != 5);
            let mut want: Vec<u32> = listed.clone().collect();
            want.sort_by_key(|&e| (time[e as usize], e));
            assert_eq!(by_time(&time, listed), want, "{time:?}");
        }
        assert!(by_time(&[], std::iter::empty()).is_empty());
    }
}
