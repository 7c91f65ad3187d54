//! The versioned binary snapshot of a [`Store`]: `to_bytes` / `from_bytes`, no file system.
//!
//! Layout: the magic `TSNAP\r\n\x1a`, a little-endian `u32` format version, a `u64` payload
//! length, the payload, and the CRC-32 of the payload. The payload is varints and byte strings;
//! times are delta-encoded; posting lists are rows in the store's time order (format 2; format 1
//! stored them in row order with their times). Loading checks every length, index and ordering the evaluator relies
//! on, so a damaged or hostile snapshot is an error and never a panic.

use std::fmt;

use super::store::{
    decode, get_varint, put_varint, unzigzag, zigzag, Column, Columns, Dictionary, Encoded,
    IdentifierType, Kind, Store,
};
use crate::event::CallType;

const MAGIC: &[u8; 8] = b"TSNAP\r\n\x1a";
/// The snapshot format this build writes and reads. The builder's schema reader
/// (`www/src/engine/schema.ts`) follows it too: a new format changes both.
pub const SNAPSHOT_VERSION: u32 = 2;

/// Why a snapshot could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError {
    /// `snapshot_version` (another format version, or not a snapshot at all) or
    /// `snapshot_corrupt` (damaged: checksum, lengths or indexes do not hold).
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SnapshotError {}

fn corrupt<T>(message: &str) -> Result<T, SnapshotError> {
    Err(SnapshotError {
        code: "snapshot_corrupt",
        message: message.to_string(),
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, x: u64) {
        put_varint(&mut self.0, x);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn columns(&mut self, columns: &Columns) {
        self.varint(columns.columns.len() as u64);
        for c in &columns.columns {
            self.bytes(c.path.as_bytes());
            self.varint(u64::from(c.entries));
            self.bytes(&c.data);
            self.varint(c.strings.len() as u64);
            for s in c.strings.iter() {
                self.bytes(s.as_bytes());
            }
            self.varint(c.array_offsets.len() as u64);
            for &o in &c.array_offsets {
                self.varint(u64::from(o));
            }
            self.bytes(&c.array_data);
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, SnapshotError> {
        match get_varint(self.data, &mut self.pos) {
            Some(x) => Ok(x),
            None => corrupt("truncated number"),
        }
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        u32::try_from(self.varint()?).or_else(|_| corrupt("number out of range"))
    }

    /// A count of items that each take at least one byte, so it cannot exceed what is left;
    /// this keeps a hostile length from allocating unbounded memory.
    fn count(&mut self) -> Result<usize, SnapshotError> {
        let n = self.varint()?;
        if n > (self.data.len() - self.pos) as u64 {
            return corrupt("length beyond the end of the snapshot");
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], SnapshotError> {
        let n = self.count()?;
        let b = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn string(&mut self) -> Result<String, SnapshotError> {
        match std::str::from_utf8(self.bytes()?) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => corrupt("a string is not UTF-8"),
        }
    }

    fn columns(&mut self, rows: usize) -> Result<Columns, SnapshotError> {
        let n = self.count()?;
        let mut columns = Vec::with_capacity(n);
        for _ in 0..n {
            let path = self.string()?;
            let entries = self.u32()?;
            let data = self.bytes()?.to_vec();
            let mut strings = Dictionary::default();
            for _ in 0..self.count()? {
                strings.push(&self.string()?);
            }
            let array_offsets = (0..self.count()?)
                .map(|_| self.u32())
                .collect::<Result<Vec<_>, _>>()?;
            let array_data = self.bytes()?.to_vec();
            let column = Column {
                path,
                entries,
                data,
                strings,
                array_offsets,
                array_data,
                blocks: Vec::new(),
            };
            check_column(&column, rows)?;
            columns.push(column);
        }
        if columns.windows(2).any(|w| w[0].path >= w[1].path) {
            return corrupt("columns out of order");
        }
        Ok(Columns::new(columns))
    }
}

fn check_scalar(column: &Column, v: Encoded, in_array: bool) -> Result<(), SnapshotError> {
    match v {
        Encoded::Str(id) if id as usize >= column.strings.len() => corrupt("string index"),
        Encoded::Array(_) if in_array => corrupt("nested array"),
        Encoded::Array(i) if i as usize + 1 >= column.array_offsets.len() => corrupt("array index"),
        _ => Ok(()),
    }
}

/// Decodes the whole column once, so evaluation can trust every index in it.
fn check_column(column: &Column, rows: usize) -> Result<(), SnapshotError> {
    if column.array_offsets.windows(2).any(|w| w[0] > w[1])
        || column.array_offsets.first().is_some_and(|&o| o != 0)
        || column
            .array_offsets
            .last()
            .is_some_and(|&o| o as usize != column.array_data.len())
    {
        return corrupt("array offsets");
    }
    let mut pos = 0;
    while pos < column.array_data.len() {
        match decode(&column.array_data, &mut pos) {
            Some(v) => check_scalar(column, v, true)?,
            None => return corrupt("array value"),
        }
    }
    // Every array must start and end on a value boundary.
    for i in 0..column.array_offsets.len().saturating_sub(1) {
        if column.array(i as u32).is_none() {
            return corrupt("array bounds");
        }
    }
    let mut pos = 0;
    let mut next_row = 0u64;
    let mut entries = 0u64;
    let data = &column.data;
    while pos < data.len() {
        let Some(gap) = get_varint(data, &mut pos) else {
            return corrupt("column row");
        };
        let row = next_row.saturating_add(gap);
        if row >= rows as u64 {
            return corrupt("column row out of range");
        }
        match decode(data, &mut pos) {
            Some(v) => check_scalar(column, v, false)?,
            None => return corrupt("column value"),
        }
        next_row = row + 1;
        entries += 1;
    }
    if entries != u64::from(column.entries) {
        return corrupt("column entry count");
    }
    Ok(())
}

impl Store {
    /// The snapshot bytes of this store.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.varint(self.times.len() as u64);
        let mut previous = 0i64;
        for &t in &self.times {
            w.varint(zigzag(t.wrapping_sub(previous)));
            previous = t;
        }
        w.varint(self.profile_ids.len() as u64);
        for (i, id) in self.profile_ids.iter().enumerate() {
            w.bytes(id.as_bytes());
            w.varint(u64::from(
                self.profile_offsets[i + 1] - self.profile_offsets[i],
            ));
        }
        w.varint(self.kinds.len() as u64);
        for k in &self.kinds {
            w.varint(k.call as u64);
            match &k.name {
                Some(name) => {
                    w.varint(1);
                    w.bytes(name.as_bytes());
                }
                None => w.varint(0),
            }
            w.varint(k.rows.len() as u64);
            let mut previous = 0i64;
            for &row in &k.rows {
                w.varint(zigzag(i64::from(row) - previous));
                previous = i64::from(row);
            }
        }
        w.columns(&self.properties);
        w.columns(&self.traits);
        w.varint(self.identifiers.len() as u64);
        for t in &self.identifiers {
            w.bytes(t.name.as_bytes());
            w.varint(t.profiles.len() as u64);
            let mut next = 0u32;
            for &p in &t.profiles {
                w.varint(u64::from(p - next));
                next = p + 1;
            }
        }
        let payload = w.0;
        let mut out = Vec::with_capacity(payload.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out
    }

    /// Loads a snapshot written by [`Store::to_bytes`].
    ///
    /// ```
    /// use tessera::segment::Store;
    /// let store = Store::build(&[], &Default::default());
    /// assert_eq!(Store::from_bytes(&store.to_bytes()).unwrap(), store);
    /// assert_eq!(Store::from_bytes(b"nonsense").unwrap_err().code, "snapshot_version");
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Store, SnapshotError> {
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(SnapshotError {
                code: "snapshot_version",
                message: "not a Tessera snapshot".into(),
            });
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&bytes[8..12]);
        let version = u32::from_le_bytes(version);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError {
                code: "snapshot_version",
                message: format!(
                    "snapshot format {version}; this build reads format {SNAPSHOT_VERSION}"
                ),
            });
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[12..20]);
        let len = u64::from_le_bytes(len);
        if len != (bytes.len() as u64).saturating_sub(24) || bytes.len() < 24 {
            return corrupt("snapshot length does not match");
        }
        let payload = &bytes[20..bytes.len() - 4];
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&bytes[bytes.len() - 4..]);
        if crc32fast::hash(payload) != u32::from_le_bytes(crc) {
            return corrupt("checksum mismatch");
        }
        let mut r = Reader {
            data: payload,
            pos: 0,
        };
        let n = r.count()?;
        let mut times = Vec::with_capacity(n);
        let mut previous = 0i64;
        for _ in 0..n {
            previous = previous.wrapping_add(unzigzag(r.varint()?));
            times.push(previous);
        }
        let profiles = r.count()?;
        let mut profile_ids = Vec::with_capacity(profiles);
        let mut profile_offsets = Vec::with_capacity(profiles + 1);
        profile_offsets.push(0u32);
        let mut end = 0u64;
        for _ in 0..profiles {
            let id = r.string()?;
            if profile_ids.last().is_some_and(|last: &String| *last >= id) {
                return corrupt("profile ids out of order");
            }
            profile_ids.push(id);
            end += r.varint()?;
            if end > n as u64 {
                return corrupt("profile rows beyond the events");
            }
            profile_offsets.push(end as u32);
        }
        if end != n as u64 {
            return corrupt("events outside every profile");
        }
        for w in profile_offsets.windows(2) {
            let times = &times[w[0] as usize..w[1] as usize];
            if times.windows(2).any(|t| t[0] > t[1]) {
                return corrupt("events out of time order");
            }
        }
        let kind_count = r.count()?;
        let mut kinds = Vec::with_capacity(kind_count);
        for _ in 0..kind_count {
            let Some(&call) = CallType::ALL.get(r.varint()? as usize) else {
                return corrupt("call type");
            };
            let name = match r.varint()? {
                0 => None,
                1 => Some(r.string()?),
                _ => return corrupt("event name"),
            };
            let count = r.count()?;
            let mut kind = Kind {
                call,
                name,
                rows: Vec::with_capacity(count),
                times: Vec::with_capacity(count),
            };
            // Rows in time order (then row order), each a delta from the previous one; the
            // times come from the time column, so the evaluator's order needs no sort here.
            let mut previous: Option<(i64, u32)> = None;
            let mut row = 0i64;
            for _ in 0..count {
                row = row.wrapping_add(unzigzag(r.varint()?));
                let Some(&time) = usize::try_from(row).ok().and_then(|i| times.get(i)) else {
                    return corrupt("posting row");
                };
                let posting = (time, row as u32);
                if previous.is_some_and(|p| p >= posting) {
                    return corrupt("postings out of time order");
                }
                previous = Some(posting);
                kind.rows.push(posting.1);
                kind.times.push(time);
            }
            kinds.push(kind);
        }
        let properties = r.columns(n)?;
        let traits = r.columns(profiles)?;
        let types = r.count()?;
        let mut identifiers = Vec::with_capacity(types);
        for _ in 0..types {
            let name = r.string()?;
            let count = r.count()?;
            let mut list = Vec::with_capacity(count);
            let mut next = 0u64;
            for _ in 0..count {
                let p = next.saturating_add(r.varint()?);
                if p >= profiles as u64 {
                    return corrupt("identifier profile out of range");
                }
                list.push(p as u32);
                next = p + 1;
            }
            identifiers.push(IdentifierType {
                name,
                profiles: list,
            });
        }
        if r.pos != payload.len() {
            return corrupt("trailing bytes");
        }
        Ok(Store {
            times,
            profile_offsets,
            profile_ids,
            kinds,
            properties,
            traits,
            identifiers,
        })
    }
}
