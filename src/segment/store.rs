//! The columnar, profile-ordered event store that segments are evaluated over.
//!
//! Rows are events: each profile's events are contiguous and in canonical order (time, then
//! `messageId`), so a profile is a row range. Per event the store keeps an `i64` time; event
//! names live in per-(call, name) posting lists (rows and times in time order) and property
//! values in per-path columns (varint-encoded row gaps and values, with a block index), which
//! keeps the resident size near two dozen bytes per event plus a few per property value. Traits
//! are columns too, with profiles as rows.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::event::{CallType, Event};
use crate::identity::{Profile, Resolution};

/// Appends `x` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Reads a LEB128 varint at `*pos`; `None` when the bytes end early or it overflows 64 bits.
#[inline(always)]
pub(crate) fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    // Most gaps, ids and small numbers take one byte.
    let first = *data.get(*pos)?;
    if first < 0x80 {
        *pos += 1;
        return Some(u64::from(first));
    }
    let mut x = 0u64;
    let mut shift = 0;
    loop {
        let b = *data.get(*pos)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        x |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(x);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

const TAG_STR: u64 = 0;
const TAG_UINT: u64 = 1;
const TAG_NEG_INT: u64 = 2;
const TAG_F64: u64 = 3;
const TAG_BOOL: u64 = 4;
const TAG_ARRAY: u64 = 5;
const TAG_OBJECT: u64 = 6;
/// Integers up to 2^53 are exact doubles, so they may be stored as varints without loss.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// A stored value: strings and arrays as indexes into their column's tables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Encoded {
    Str(u32),
    Num(f64),
    Bool(bool),
    Array(u32),
    Object,
}

fn encode(out: &mut Vec<u8>, v: Encoded) {
    match v {
        Encoded::Str(id) => put_varint(out, (u64::from(id) << 3) | TAG_STR),
        Encoded::Num(n) => {
            if n.fract() == 0.0 && n.abs() < EXACT_INT && !(n == 0.0 && n.is_sign_negative()) {
                if n >= 0.0 {
                    put_varint(out, ((n as u64) << 3) | TAG_UINT);
                } else {
                    put_varint(out, (((-n) as u64 - 1) << 3) | TAG_NEG_INT);
                }
            } else {
                put_varint(out, TAG_F64);
                out.extend_from_slice(&n.to_bits().to_le_bytes());
            }
        }
        Encoded::Bool(b) => put_varint(out, (u64::from(b) << 3) | TAG_BOOL),
        Encoded::Array(i) => put_varint(out, (u64::from(i) << 3) | TAG_ARRAY),
        Encoded::Object => put_varint(out, TAG_OBJECT),
    }
}

#[inline(always)]
pub(crate) fn decode(data: &[u8], pos: &mut usize) -> Option<Encoded> {
    let x = get_varint(data, pos)?;
    let payload = x >> 3;
    Some(match x & 7 {
        TAG_STR => Encoded::Str(u32::try_from(payload).ok()?),
        TAG_UINT => Encoded::Num(payload as f64),
        TAG_NEG_INT => Encoded::Num(-(payload as f64) - 1.0),
        TAG_F64 => {
            let bytes = data.get(*pos..*pos + 8)?;
            *pos += 8;
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            Encoded::Num(f64::from_bits(u64::from_le_bytes(b)))
        }
        TAG_BOOL if payload <= 1 => Encoded::Bool(payload == 1),
        TAG_ARRAY => Encoded::Array(u32::try_from(payload).ok()?),
        TAG_OBJECT if payload == 0 => Encoded::Object,
        _ => return None,
    })
}

/// Distinct strings of a column, stored end to end in one buffer (one allocation, no per-string
/// header), numbered in order of first appearance.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Dictionary {
    text: String,
    ends: Vec<u32>,
}

impl Dictionary {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.text.get(start..end)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }

    pub(crate) fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }
}

/// The values found at one path, for the rows that have one (null counts as missing).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Column {
    pub path: String,
    /// How many rows have a value.
    pub entries: u32,
    /// Per entry: varint row gap (row − previous row − 1), then the encoded value.
    pub data: Vec<u8>,
    /// The column's string dictionary.
    pub strings: Dictionary,
    /// Start of each array in `array_data`, plus the end.
    pub array_offsets: Vec<u32>,
    /// Array elements, encoded; nested arrays and objects are stored as objects.
    pub array_data: Vec<u8>,
    /// Where every block of [`BLOCK_ENTRIES`] entries starts: derived from `data` (snapshots do
    /// not carry it), so a filter over a few rows skips the blocks that hold none of them.
    pub blocks: Vec<BlockStart>,
}

/// Entries per block of a column's skip index: 8 bytes per 32 entries, a quarter byte each.
const BLOCK_ENTRIES: u32 = 32;

/// The start of a block of column entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockStart {
    /// The lowest row the block can hold: the previous entry's row + 1.
    pub row: u32,
    /// Byte offset of the block's first entry in `data`.
    pub pos: u32,
}

impl Column {
    /// Computes [`Column::blocks`]. Left empty (every read then scans the whole column) when
    /// the data is malformed or too large for 32-bit offsets.
    fn index_blocks(&mut self) {
        self.blocks = self.block_starts().unwrap_or_default();
    }

    fn block_starts(&self) -> Option<Vec<BlockStart>> {
        let len = u32::try_from(self.data.len()).ok()?;
        let mut blocks = Vec::with_capacity((self.entries / BLOCK_ENTRIES) as usize + 1);
        let mut cursor = self.cursor();
        let mut entry = 0u32;
        while cursor.pos < len as usize {
            if entry % BLOCK_ENTRIES == 0 {
                blocks.push(BlockStart {
                    row: u32::try_from(cursor.next_row).ok()?,
                    pos: cursor.pos as u32,
                });
            }
            cursor.next()?;
            entry += 1;
        }
        Some(blocks)
    }

    /// Calls `f` with `(row, value)` in row order for the rows that pass `wanted_row`, reading
    /// only the blocks whose row range `lo..hi` passes `wanted_block`; the values of other rows
    /// are stepped over, not decoded. A loop rather than an iterator: this is the hot path of
    /// property filters.
    pub(crate) fn for_each_in(
        &self,
        mut wanted_block: impl FnMut(usize, usize) -> bool,
        mut wanted_row: impl FnMut(usize) -> bool,
        mut f: impl FnMut(u32, Encoded),
    ) {
        let whole = [BlockStart { row: 0, pos: 0 }];
        let blocks = if self.blocks.is_empty() {
            &whole[..]
        } else {
            &self.blocks[..]
        };
        for (k, start) in blocks.iter().enumerate() {
            let next = blocks.get(k + 1);
            if !wanted_block(
                start.row as usize,
                next.map_or(usize::MAX, |b| b.row as usize),
            ) {
                continue;
            }
            let data = self
                .data
                .get(..next.map_or(self.data.len(), |b| b.pos as usize))
                .unwrap_or_default();
            let mut pos = start.pos as usize;
            let mut next_row = u64::from(start.row);
            while pos < data.len() {
                let Some(row) = get_varint(data, &mut pos).and_then(|gap| {
                    let row = u32::try_from(next_row.checked_add(gap)?).ok()?;
                    next_row = u64::from(row) + 1;
                    Some(row)
                }) else {
                    return;
                };
                if wanted_row(row as usize) {
                    match decode(data, &mut pos) {
                        Some(v) => f(row, v),
                        None => return,
                    }
                } else {
                    match get_varint(data, &mut pos) {
                        Some(x) if x & 7 == TAG_F64 => pos += 8,
                        Some(_) => {}
                        None => return,
                    }
                }
            }
        }
    }

    /// Iterates `(row, value)` in row order; stops early on malformed data.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor {
            data: &self.data,
            pos: 0,
            next_row: 0,
        }
    }

    /// The elements of array `i`; `None` when the index or the bytes are bad.
    pub(crate) fn array(&self, i: u32) -> Option<Vec<Encoded>> {
        let i = i as usize;
        let start = *self.array_offsets.get(i)? as usize;
        let end = *self.array_offsets.get(i + 1)? as usize;
        let bytes = self.array_data.get(start..end)?;
        let mut pos = 0;
        let mut out = Vec::new();
        while pos < bytes.len() {
            out.push(decode(bytes, &mut pos)?);
        }
        Some(out)
    }
}

/// Reads a column's entries in row order.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    next_row: u64,
}

impl Iterator for Cursor<'_> {
    type Item = (u32, Encoded);

    #[inline(always)]
    fn next(&mut self) -> Option<(u32, Encoded)> {
        if self.pos >= self.data.len() {
            return None;
        }
        let gap = get_varint(self.data, &mut self.pos)?;
        let row = self.next_row.checked_add(gap)?;
        let value = decode(self.data, &mut self.pos)?;
        self.next_row = row + 1;
        Some((u32::try_from(row).ok()?, value))
    }
}

#[derive(Default)]
struct ColumnBuilder {
    column: Column,
    next_row: u64,
    string_ids: FxHashMap<Box<str>, u32>,
}

impl ColumnBuilder {
    fn string(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.column.strings.len() as u32;
        self.column.strings.push(s);
        self.string_ids.insert(s.into(), id);
        id
    }

    fn scalar(&mut self, v: &Value) -> Encoded {
        match v {
            Value::String(s) => Encoded::Str(self.string(s)),
            Value::Number(n) => Encoded::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => Encoded::Bool(*b),
            _ => Encoded::Object,
        }
    }

    fn push(&mut self, row: u32, v: &Value) {
        let encoded = match v {
            Value::Array(items) => {
                if self.column.array_offsets.is_empty() {
                    self.column.array_offsets.push(0);
                }
                for item in items {
                    let e = self.scalar(item);
                    encode(&mut self.column.array_data, e);
                }
                self.column
                    .array_offsets
                    .push(self.column.array_data.len() as u32);
                Encoded::Array(self.column.array_offsets.len() as u32 - 2)
            }
            other => self.scalar(other),
        };
        put_varint(&mut self.column.data, u64::from(row) - self.next_row);
        encode(&mut self.column.data, encoded);
        self.next_row = u64::from(row) + 1;
        self.column.entries += 1;
    }
}

/// Every column of a row kind (event properties or profile traits), found by dot path.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Columns {
    pub columns: Vec<Column>,
    index: FxHashMap<String, usize>,
}

impl Columns {
    pub(crate) fn new(mut columns: Vec<Column>) -> Columns {
        columns.sort_by(|a, b| a.path.cmp(&b.path));
        for column in &mut columns {
            column.index_blocks();
        }
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.clone(), i))
            .collect();
        Columns { columns, index }
    }

    pub(crate) fn get(&self, path: &str) -> Option<&Column> {
        self.index.get(path).map(|&i| &self.columns[i])
    }
}

impl ColumnBuilder {
    /// [`ColumnBuilder::push`] for a value written by [`PropertyEncoder`]; `None` when the
    /// bytes are malformed (then nothing is pushed).
    fn push_flat(&mut self, row: u32, tag: u8, data: &[u8], pos: &mut usize) -> Option<()> {
        let encoded = if tag == FLAT_ARRAY {
            let n = get_varint(data, pos)?;
            if self.column.array_offsets.is_empty() {
                self.column.array_offsets.push(0);
            }
            for _ in 0..n {
                let item_tag = *data.get(*pos)?;
                *pos += 1;
                let e = self.flat_scalar(item_tag, data, pos)?;
                encode(&mut self.column.array_data, e);
            }
            self.column
                .array_offsets
                .push(self.column.array_data.len() as u32);
            Encoded::Array(self.column.array_offsets.len() as u32 - 2)
        } else {
            self.flat_scalar(tag, data, pos)?
        };
        put_varint(&mut self.column.data, u64::from(row) - self.next_row);
        encode(&mut self.column.data, encoded);
        self.next_row = u64::from(row) + 1;
        self.column.entries += 1;
        Some(())
    }

    fn flat_scalar(&mut self, tag: u8, data: &[u8], pos: &mut usize) -> Option<Encoded> {
        Some(match tag {
            FLAT_STR => {
                let len = usize::try_from(get_varint(data, pos)?).ok()?;
                let bytes = data.get(*pos..pos.checked_add(len)?)?;
                *pos += len;
                Encoded::Str(self.string(std::str::from_utf8(bytes).ok()?))
            }
            FLAT_F64 => {
                let bytes = data.get(*pos..*pos + 8)?;
                *pos += 8;
                let mut b = [0u8; 8];
                b.copy_from_slice(bytes);
                Encoded::Num(f64::from_bits(u64::from_le_bytes(b)))
            }
            FLAT_UINT => Encoded::Num(get_varint(data, pos)? as f64),
            FLAT_FALSE => Encoded::Bool(false),
            FLAT_TRUE => Encoded::Bool(true),
            FLAT_OBJECT => Encoded::Object,
            _ => return None,
        })
    }
}

const FLAT_STR: u8 = 0;
const FLAT_F64: u8 = 1;
const FLAT_UINT: u8 = 2;
const FLAT_FALSE: u8 = 3;
const FLAT_TRUE: u8 = 4;
const FLAT_OBJECT: u8 = 5;
const FLAT_ARRAY: u8 = 6;

/// Event properties flattened to the store's dot paths and written to bytes, a few per value,
/// so that a loader can hold millions of events' properties until their profiles are known.
/// [`StoreBuilder::add_profile_encoded`] reads them back into exactly the columns that
/// [`StoreBuilder::add_profile`] builds from the same properties.
#[derive(Clone, Debug, Default)]
pub struct PropertyEncoder {
    paths: Vec<Box<str>>,
    index: FxHashMap<Box<str>, u32>,
    path: String,
}

impl PropertyEncoder {
    /// An encoder with no paths yet.
    pub fn new() -> PropertyEncoder {
        PropertyEncoder::default()
    }

    /// Appends the encoding of one event's `properties` to `out`.
    pub fn encode(&mut self, properties: &Map<String, Value>, out: &mut Vec<u8>) {
        // Same walk as `ColumnsBuilder::add`: keys no path names and nulls are left out.
        for (key, value) in properties {
            if !addressable(key) || value.is_null() {
                continue;
            }
            let len = push_key(&mut self.path, key);
            let id = intern(&mut self.paths, &mut self.index, &self.path);
            put_varint(out, u64::from(id));
            match value {
                Value::Array(items) => {
                    out.push(FLAT_ARRAY);
                    put_varint(out, items.len() as u64);
                    for item in items {
                        flat_scalar(out, item);
                    }
                }
                other => flat_scalar(out, other),
            }
            if let Value::Object(inner) = value {
                self.encode(inner, out);
            }
            self.path.truncate(len);
        }
    }

    /// Appends one value at dot path `path`, as [`PropertyEncoder::encode`] writes it, without
    /// recursing: for loaders that walk properties in their own JSON text. They must visit
    /// what `encode` visits in its order: an object's keys in byte order, empty keys, keys
    /// holding a `.` and `null` values left out, an object's members right after the object.
    pub fn encode_value(&mut self, path: &str, value: FlatProperty<'_>, out: &mut Vec<u8>) {
        let id = intern(&mut self.paths, &mut self.index, path);
        put_varint(out, u64::from(id));
        match value {
            FlatProperty::Array(items) => {
                out.push(FLAT_ARRAY);
                put_varint(out, items.len() as u64);
                for item in items {
                    flat_property(out, item);
                }
            }
            other => flat_property(out, &other),
        }
    }

    /// The dot path of an encoded path id.
    fn path(&self, id: u64) -> Option<&str> {
        self.paths.get(usize::try_from(id).ok()?).map(|p| &**p)
    }
}

fn flat_scalar(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => flat_property(out, &FlatProperty::Str(s)),
        Value::Number(n) => flat_property(out, &FlatProperty::Num(n.as_f64().unwrap_or(f64::NAN))),
        Value::Bool(b) => flat_property(out, &FlatProperty::Bool(*b)),
        _ => out.push(FLAT_OBJECT),
    }
}

/// Whether a dot path can name `key`. Keys holding a `.` can never be reached (paths split on
/// `.`), and an empty key would make `{"": {"a": 1}}` and `{"a": 1}` the same path, so both are
/// left out of the store rather than made ambiguous.
pub(crate) fn addressable(key: &str) -> bool {
    !key.is_empty() && !key.contains('.')
}

/// Appends `key` to the dot path `path`; returns the length to truncate back to.
pub(crate) fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if len > 0 {
        path.push('.');
    }
    path.push_str(key);
    len
}

/// The id of `path`, numbered in order of first appearance.
fn intern(paths: &mut Vec<Box<str>>, index: &mut FxHashMap<Box<str>, u32>, path: &str) -> u32 {
    if let Some(&id) = index.get(path) {
        return id;
    }
    let id = paths.len() as u32;
    let boxed: Box<str> = path.into();
    paths.push(boxed.clone());
    index.insert(boxed, id);
    id
}

/// One property value for [`PropertyEncoder::encode_value`]: what a JSON value is to the
/// store once flattened.
#[derive(Clone, Copy, Debug)]
pub enum FlatProperty<'a> {
    /// A string.
    Str(&'a str),
    /// A number, as `serde_json::Number::as_f64` gives it.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// An object, or (inside an array) `null`, an object or an array.
    Nested,
    /// An array of scalars (nested containers and `null` as [`FlatProperty::Nested`]).
    Array(&'a [FlatProperty<'a>]),
}

fn flat_property(out: &mut Vec<u8>, v: &FlatProperty<'_>) {
    match *v {
        FlatProperty::Str(s) => {
            out.push(FLAT_STR);
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        FlatProperty::Num(x) => {
            if x.fract() == 0.0 && (0.0..EXACT_INT).contains(&x) && x.is_sign_positive() {
                out.push(FLAT_UINT);
                put_varint(out, x as u64);
            } else {
                out.push(FLAT_F64);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
        }
        FlatProperty::Bool(false) => out.push(FLAT_FALSE),
        FlatProperty::Bool(true) => out.push(FLAT_TRUE),
        FlatProperty::Nested | FlatProperty::Array(_) => out.push(FLAT_OBJECT),
    }
}

/// One event as [`StoreBuilder::add_profile_encoded`] takes it.
#[derive(Clone, Copy, Debug)]
pub struct EncodedEvent<'a> {
    /// Event time, ms since the epoch.
    pub time: i64,
    /// Call type.
    pub call: CallType,
    /// Track event name, or the page/screen name.
    pub name: Option<&'a str>,
    /// `properties` as written by [`PropertyEncoder::encode`].
    pub properties: &'a [u8],
}

#[derive(Default)]
struct ColumnsBuilder {
    builders: Vec<ColumnBuilder>,
    index: FxHashMap<String, usize>,
    path: String,
}

impl ColumnsBuilder {
    /// Adds every value reachable by a dot path (see [`addressable`]).
    fn add(&mut self, row: u32, object: &Map<String, Value>) {
        for (key, value) in object {
            if !addressable(key) || value.is_null() {
                continue;
            }
            let len = push_key(&mut self.path, key);
            // The path buffer is lent out while `column` borrows the builder.
            let path = std::mem::take(&mut self.path);
            let i = self.column(&path);
            self.path = path;
            self.builders[i].push(row, value);
            if let Value::Object(inner) = value {
                self.add(row, inner);
            }
            self.path.truncate(len);
        }
    }

    /// The index of the column at `path`, created empty when new.
    fn column(&mut self, path: &str) -> usize {
        if let Some(&i) = self.index.get(path) {
            return i;
        }
        self.builders.push(ColumnBuilder {
            column: Column {
                path: path.to_owned(),
                ..Column::default()
            },
            ..ColumnBuilder::default()
        });
        self.index.insert(path.to_owned(), self.builders.len() - 1);
        self.builders.len() - 1
    }

    fn finish(self) -> Columns {
        let columns = self.builders.into_iter().map(|b| {
            let mut c = b.column;
            c.data.shrink_to_fit();
            c.array_data.shrink_to_fit();
            c
        });
        Columns::new(columns.collect())
    }
}

/// The events of one (call type, name) pair, in time order (then row order): a time window is
/// a slice found by binary search, so a narrow window costs its matches, not the whole history.
/// Plain arrays rather than varints: these are the hottest reads of evaluation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Kind {
    pub call: CallType,
    pub name: Option<String>,
    pub rows: Vec<u32>,
    pub times: Vec<i64>,
}

impl Kind {
    /// Puts postings gathered in row order into time order.
    pub(crate) fn sort_by_time(&mut self) {
        if self.times.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let mut pairs: Vec<(i64, u32)> = self
            .times
            .iter()
            .copied()
            .zip(self.rows.iter().copied())
            .collect();
        pairs.sort_unstable();
        for (i, (t, r)) in pairs.into_iter().enumerate() {
            self.times[i] = t;
            self.rows[i] = r;
        }
    }

    /// The postings with a time in `[low, high)`.
    pub(crate) fn window(&self, low: i64, high: i64) -> (&[u32], &[i64]) {
        let start = self.times.partition_point(|&t| t < low);
        let end = start + self.times[start..].partition_point(|&t| t < high);
        (&self.rows[start..end], &self.times[start..end])
    }
}

pub(crate) fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

pub(crate) fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

/// The profiles that hold at least one identifier of a type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IdentifierType {
    pub name: String,
    /// Profile indexes, ascending.
    pub profiles: Vec<u32>,
}

/// The in-memory, columnar store that segments are evaluated over.
///
/// ```
/// use tessera::segment::Store;
/// let store = Store::build(&[], &Default::default());
/// assert_eq!((store.event_count(), store.profile_count()), (0, 0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Store {
    pub(crate) times: Vec<i64>,
    /// Row range of profile `p`: `profile_offsets[p]..profile_offsets[p + 1]`.
    pub(crate) profile_offsets: Vec<u32>,
    pub(crate) profile_ids: Vec<String>,
    pub(crate) kinds: Vec<Kind>,
    pub(crate) properties: Columns,
    pub(crate) traits: Columns,
    pub(crate) identifiers: Vec<IdentifierType>,
}

/// Resident bytes of a store, by part (vector capacities, string heap bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Events held.
    pub events: usize,
    /// Profiles held.
    pub profiles: usize,
    /// Per-event data: times, posting lists, property value streams.
    pub event_bytes: usize,
    /// Dictionaries: property strings and arrays, event names, paths.
    pub dictionary_bytes: usize,
    /// Per-profile data: ids, row ranges, traits, identifier types.
    pub profile_bytes: usize,
}

impl MemoryUsage {
    /// Per-event bytes divided by the number of events.
    pub fn bytes_per_event(&self) -> f64 {
        self.event_bytes as f64 / self.events.max(1) as f64
    }
}

impl Store {
    /// Builds the store from events and their resolution; events of no profile are left out.
    pub fn build(events: &[Event], resolution: &Resolution) -> Store {
        let count = resolution.profiles.len();
        let mut per_profile: Vec<Vec<&Event>> = vec![Vec::new(); count];
        for (event, profile) in events.iter().zip(&resolution.event_profile) {
            if let Some(list) = profile.and_then(|p| per_profile.get_mut(p as usize)) {
                list.push(event);
            }
        }
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by(|&a, &b| resolution.profiles[a].id.cmp(&resolution.profiles[b].id));
        let mut builder = StoreBuilder::new();
        for p in order {
            builder.add_profile(&resolution.profiles[p], std::mem::take(&mut per_profile[p]));
        }
        builder.finish()
    }

    /// Number of events held.
    pub fn event_count(&self) -> usize {
        self.times.len()
    }

    /// The time of the newest event held, if any (the default `now` of suggestions).
    pub fn latest_event(&self) -> Option<crate::time::Timestamp> {
        self.times.iter().max().map(|&t| crate::time::Timestamp(t))
    }

    /// Number of profiles held.
    pub fn profile_count(&self) -> usize {
        self.profile_ids.len()
    }

    /// The id of profile `index` (indexes follow profile id order).
    pub fn profile_id(&self, index: u32) -> Option<&str> {
        self.profile_ids.get(index as usize).map(String::as_str)
    }

    /// Row range of profile `p`.
    #[inline]
    pub(crate) fn rows(&self, p: usize) -> (usize, usize) {
        (
            self.profile_offsets[p] as usize,
            self.profile_offsets[p + 1] as usize,
        )
    }

    /// Resident memory, measured from the store's own vectors.
    pub fn memory_usage(&self) -> MemoryUsage {
        let columns = |c: &Columns| -> (usize, usize) {
            let mut data = 0;
            let mut dict = 0;
            for col in &c.columns {
                data += col.data.capacity() + col.blocks.capacity() * 8;
                dict += col.path.capacity()
                    + col.array_data.capacity()
                    + col.array_offsets.capacity() * 4
                    + col.strings.bytes();
            }
            (data, dict)
        };
        let (prop_data, prop_dict) = columns(&self.properties);
        let (trait_data, trait_dict) = columns(&self.traits);
        let postings: usize = self
            .kinds
            .iter()
            .map(|k| k.rows.capacity() * 4 + k.times.capacity() * 8)
            .sum();
        let names: usize = self
            .kinds
            .iter()
            .map(|k| k.name.as_ref().map_or(0, String::capacity) + std::mem::size_of::<Kind>())
            .sum();
        MemoryUsage {
            events: self.times.len(),
            profiles: self.profile_ids.len(),
            event_bytes: self.times.capacity() * 8 + postings + prop_data,
            dictionary_bytes: prop_dict + names,
            profile_bytes: self.profile_offsets.capacity() * 4
                + self
                    .profile_ids
                    .iter()
                    .map(|s| s.capacity() + std::mem::size_of::<String>())
                    .sum::<usize>()
                + trait_data
                + trait_dict
                + self
                    .identifiers
                    .iter()
                    .map(|t| t.name.capacity() + t.profiles.capacity() * 4)
                    .sum::<usize>(),
        }
    }
}

/// Builds a [`Store`] one profile at a time, so that large data sets never need every
/// [`Event`] in memory at once.
pub struct StoreBuilder {
    times: Vec<i64>,
    profile_offsets: Vec<u32>,
    profile_ids: Vec<String>,
    kinds: Vec<Kind>,
    kind_index: [FxHashMap<String, usize>; 6],
    unnamed: [Option<usize>; 6],
    properties: ColumnsBuilder,
    traits: ColumnsBuilder,
    identifiers: FxHashMap<String, Vec<u32>>,
    /// Per [`PropertyEncoder`] path id: the property column it fills (`usize::MAX`: not yet).
    flat_columns: Vec<usize>,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl StoreBuilder {
    /// An empty builder.
    pub fn new() -> StoreBuilder {
        StoreBuilder {
            times: Vec::new(),
            profile_offsets: vec![0],
            profile_ids: Vec::new(),
            kinds: Vec::new(),
            kind_index: Default::default(),
            unnamed: [None; 6],
            properties: ColumnsBuilder::default(),
            traits: ColumnsBuilder::default(),
            identifiers: FxHashMap::default(),
            flat_columns: Vec::new(),
        }
    }

    /// Records a profile's id, traits and identifier types, unless it is out of id order
    /// (then nothing is added and the answer is `false`). Its events follow.
    fn begin_profile(&mut self, profile: &Profile) -> bool {
        if self
            .profile_ids
            .last()
            .is_some_and(|last| last.as_str() >= profile.id.as_str())
        {
            return false;
        }
        let p = self.profile_ids.len() as u32;
        self.profile_ids.push(profile.id.clone());
        self.traits.add(p, &profile.traits);
        for (kind, values) in &profile.identifiers {
            if !values.is_empty() {
                self.identifiers.entry(kind.clone()).or_default().push(p);
            }
        }
        true
    }

    /// Adds a profile with its events (any order: they are put in canonical order here).
    /// Profiles must come in ascending id order; a profile that does not is skipped and the
    /// call returns `false`, so that member lists stay sorted by id.
    pub fn add_profile<'e>(
        &mut self,
        profile: &Profile,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> bool {
        if !self.begin_profile(profile) {
            return false;
        }
        let mut events: Vec<&Event> = events.into_iter().collect();
        events.sort_by(|a, b| (a.time, &a.message_id).cmp(&(b.time, &b.message_id)));
        for event in events {
            let row = self.times.len() as u32;
            self.times.push(event.time.0);
            let k = self.kind(event.call, event.name.as_deref());
            let kind = &mut self.kinds[k];
            kind.rows.push(row);
            kind.times.push(event.time.0);
            self.properties.add(row, &event.properties);
        }
        self.profile_offsets.push(self.times.len() as u32);
        true
    }

    /// [`StoreBuilder::add_profile`] for events whose properties were written by `encoder`
    /// (one encoder for every call on this builder). The events must already be in canonical
    /// order (time, then `messageId`). Returns `false`, adding nothing, when the profile is out
    /// of id order; properties whose bytes are malformed are skipped.
    pub fn add_profile_encoded<'e>(
        &mut self,
        profile: &Profile,
        encoder: &PropertyEncoder,
        events: impl IntoIterator<Item = EncodedEvent<'e>>,
    ) -> bool {
        if !self.begin_profile(profile) {
            return false;
        }
        for event in events {
            let row = self.times.len() as u32;
            self.times.push(event.time);
            let k = self.kind(event.call, event.name);
            let kind = &mut self.kinds[k];
            kind.rows.push(row);
            kind.times.push(event.time);
            self.add_flat(row, encoder, event.properties);
        }
        self.profile_offsets.push(self.times.len() as u32);
        true
    }

    fn add_flat(&mut self, row: u32, encoder: &PropertyEncoder, data: &[u8]) {
        let mut pos = 0;
        while pos < data.len() {
            let Some(id) = get_varint(data, &mut pos) else {
                return;
            };
            let Some(&tag) = data.get(pos) else {
                return;
            };
            pos += 1;
            let Some(column) = self.flat_column(encoder, id) else {
                return;
            };
            if self.properties.builders[column]
                .push_flat(row, tag, data, &mut pos)
                .is_none()
            {
                return;
            }
        }
    }

    fn flat_column(&mut self, encoder: &PropertyEncoder, id: u64) -> Option<usize> {
        let i = usize::try_from(id).ok()?;
        if let Some(&c) = self.flat_columns.get(i).filter(|&&c| c != usize::MAX) {
            return Some(c);
        }
        let c = self.properties.column(encoder.path(id)?);
        if self.flat_columns.len() <= i {
            self.flat_columns.resize(i + 1, usize::MAX);
        }
        self.flat_columns[i] = c;
        Some(c)
    }

    fn kind(&mut self, call: CallType, name: Option<&str>) -> usize {
        let c = call as usize;
        let found = match name {
            Some(n) => self.kind_index[c].get(n).copied(),
            None => self.unnamed[c],
        };
        if let Some(k) = found {
            return k;
        }
        let k = self.kinds.len();
        self.kinds.push(Kind {
            call,
            name: name.map(str::to_string),
            rows: Vec::new(),
            times: Vec::new(),
        });
        match name {
            Some(n) => {
                self.kind_index[c].insert(n.to_string(), k);
            }
            None => self.unnamed[c] = Some(k),
        }
        k
    }

    /// The finished store.
    pub fn finish(self) -> Store {
        let mut kinds = self.kinds;
        for kind in &mut kinds {
            kind.rows.shrink_to_fit();
            kind.times.shrink_to_fit();
            kind.sort_by_time();
        }
        kinds.sort_by(|a, b| (a.call, &a.name).cmp(&(b.call, &b.name)));
        let mut identifiers: Vec<IdentifierType> = self
            .identifiers
            .into_iter()
            .map(|(name, profiles)| IdentifierType { name, profiles })
            .collect();
        identifiers.sort_by(|a, b| a.name.cmp(&b.name));
        let mut times = self.times;
        times.shrink_to_fit();
        Store {
            times,
            profile_offsets: self.profile_offsets,
            profile_ids: self.profile_ids,
            kinds,
            properties: self.properties.finish(),
            traits: self.traits.finish(),
            identifiers,
        }
    }
}
