//! A single-pass scanner for the common message shape, in front of the strict serde parser.
//!
//! It reads a message's text into the same [`RawMessage`] that the lean serde visitor gives, so
//! the same field checks (`message::check`) run on it and verdicts, codes and paths cannot
//! differ. It gives up ([`Unusual`]) on anything it does not handle on its own: any syntax
//! error, any backslash or control byte in the text, duplicate keys, objects with many keys,
//! deep nesting, a number whose conversion has edge cases. The caller then runs the strict
//! parser, which settles the message (and names the error). Giving up is always safe; accepting
//! is only done when the strict parser would accept the same text with the same values.
//!
//! A string ends at the next quote of a bitmap made in one vector pass over the text
//! (`quotes.rs`), which also finds the backslashes and control bytes the scanner leaves to the
//! strict parser. The text was checked as UTF-8 before, so every slice between quotes is valid
//! UTF-8.

use std::borrow::Cow;
use std::cell::Cell;

use serde_json::{Map, Number, Value};

use super::message::{Field, RawMessage};
use super::{quotes, strict};
use crate::segment::{addressable, push_key, FlatProperty, PropertyEncoder};

/// Nesting deeper than this goes to the strict parser (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 64;
/// Objects with more keys go to the strict parser (the duplicate check here is quadratic).
const MAX_KEYS: usize = 32;

/// The scanner cannot settle this text on its own; the strict parser must.
#[derive(Debug)]
pub(crate) struct Unusual;

type Scan<T> = Result<T, Unusual>;

/// Reads the message in `text` (already trimmed and checked as UTF-8) the way the lean serde
/// visitor does, or gives up.
pub(crate) fn scan_lean(text: &str) -> Scan<RawMessage<'_>> {
    let mut message = RawMessage::default();
    scan(text, false, &mut message)?;
    Ok(message)
}

/// [`scan_lean`] into `message` (left partly filled when it gives up) that leaves an object
/// `properties` unbuilt: it stands in as an empty object (for the checks) and its checked text
/// is given back, for [`encode_properties`]. Filled in place: the message is some 400 bytes,
/// and each move of it is a copy.
pub(crate) fn scan_lean_split<'a>(
    text: &'a str,
    message: &mut RawMessage<'a>,
) -> Scan<Option<&'a str>> {
    scan(text, true, message)
}

fn scan<'a>(text: &'a str, split: bool, message: &mut RawMessage<'a>) -> Scan<Option<&'a str>> {
    with_scanner(text, split, |s| {
        s.message(message)?;
        s.space();
        if s.at != text.len() {
            return Err(Unusual);
        }
        Ok(s.properties)
    })
}

/// Runs `read` with a scanner over `text` whose buffers come from [`SCRATCH`] and go back to
/// it; gives up at once on a text that is not clean, which the scanner does not read.
#[inline]
fn with_scanner<'a, T>(
    text: &'a str,
    split: bool,
    read: impl FnOnce(&mut Scanner<'a>) -> Scan<T>,
) -> Scan<T> {
    let mut s = Scanner::new(text, split);
    let read = if s.clean { read(&mut s) } else { Err(Unusual) };
    s.finish();
    read
}

thread_local! {
    /// The buffers of the last scanner on this thread, reused by the next: a message is scanned
    /// with no allocation.
    static SCRATCH: Cell<Scratch> = const {
        Cell::new(Scratch {
            keys: Vec::new(),
            quotes: Vec::new(),
        })
    };
}

#[derive(Default)]
struct Scratch {
    keys: Vec<(u32, u32)>,
    quotes: Vec<u64>,
}

/// Appends the encoding of an event's `properties`, given as the text [`scan_lean_split`]
/// checked, to `out`: the same bytes as [`PropertyEncoder::encode`] on the parsed object, with
/// no map built.
pub(crate) fn encode_properties(text: &str, encoder: &mut PropertyEncoder, out: &mut Vec<u8>) {
    let mut path = String::new();
    let mut items = Vec::new();
    let before = out.len();
    let walked = with_scanner(text, false, |s| {
        s.encode_object(&mut path, &mut items, encoder, out)
    });
    if walked.is_err() {
        // Checked text always walks; should it not, the strict parser's object is encoded.
        out.truncate(before);
        if let Ok(serde_json::Value::Object(map)) = strict::from_str_seed(text, strict::StrictValue)
        {
            encoder.encode(&map, out);
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Leave an object `properties` unbuilt (see [`scan_lean_split`]).
    split: bool,
    properties: Option<&'a str>,
    /// Whether the text holds no backslash and no control byte ([`quotes::index_quotes`]):
    /// the scanner reads only such texts ([`with_scanner`] checks it before reading).
    clean: bool,
    /// Where the text's quotes are ([`quotes::index_quotes`]).
    quotes: Vec<u64>,
    /// The keys of the objects being read, innermost last, as byte ranges of `text`: each
    /// object pushes its keys above its parent's and drops them when it closes. One buffer for
    /// the whole message, where a fixed array per object cost a 512-byte clear for every
    /// object of every message; ranges rather than `&str` so that it outlives the message and
    /// the next one reuses it ([`SCRATCH`]).
    keys: Vec<(u32, u32)>,
    /// [`Scanner::encode_object`]'s members (key, offset of the value), stacked the same way.
    value_at: Vec<(&'a str, usize)>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, split: bool) -> Scanner<'a> {
        let Scratch {
            mut keys,
            mut quotes,
        } = SCRATCH.take();
        keys.clear();
        let clean = quotes::index_quotes(text.as_bytes(), &mut quotes);
        Scanner {
            text,
            bytes: text.as_bytes(),
            at: 0,
            split,
            properties: None,
            clean,
            quotes,
            keys,
            value_at: Vec::new(),
        }
    }

    /// Gives the buffers back for the next scanner on this thread.
    fn finish(self) {
        SCRATCH.set(Scratch {
            keys: self.keys,
            quotes: self.quotes,
        });
    }

    /// Records `key` among the keys of the object whose keys start at `base`, giving up on a
    /// duplicate or past [`MAX_KEYS`]. `seen` has one bit per key seen, chosen by its length
    /// and last byte: keys are compared only when their bits collide, which most keys of an
    /// object never do (keys hold no escapes here, so equal text is an equal key). Inlined, with
    /// the comparison out of line: this runs for every key of every message.
    #[inline]
    fn insert_key(&mut self, base: usize, seen: &mut u64, key: &'a [u8]) -> Scan<()> {
        let last = key.last().copied().unwrap_or(0);
        let bit = 1u64 << ((key.len().wrapping_mul(7) ^ usize::from(last)) & 63);
        if *seen & bit != 0 && self.holds_key(base, key) || self.keys.len() - base == MAX_KEYS {
            return Err(Unusual);
        }
        *seen |= bit;
        // A key is a slice of `text`, so its offset is where it starts in `bytes`.
        let start = key.as_ptr() as usize - self.bytes.as_ptr() as usize;
        self.keys.push((start as u32, (start + key.len()) as u32));
        Ok(())
    }

    /// Whether the object whose keys start at `base` has `key` already.
    #[cold]
    #[inline(never)]
    fn holds_key(&self, base: usize, key: &[u8]) -> bool {
        self.keys[base..]
            .iter()
            .any(|&(start, end)| &self.bytes[start as usize..end as usize] == key)
    }

    fn peek(&self) -> Scan<u8> {
        self.bytes.get(self.at).copied().ok_or(Unusual)
    }

    /// Skips spaces: the only whitespace a clean text can hold (tabs and line breaks are control
    /// bytes, which send the text to the strict parser).
    fn space(&mut self) {
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    /// The next non-space byte, consumed.
    fn next_token(&mut self) -> Scan<u8> {
        self.space();
        let b = self.peek()?;
        self.at += 1;
        Ok(b)
    }

    fn expect(&mut self, b: u8) -> Scan<()> {
        if self.next_token()? == b {
            Ok(())
        } else {
            Err(Unusual)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Unusual)
        }
    }

    /// A string without escapes, the opening quote already consumed: it ends at the next quote,
    /// since a clean text has no escaped ones (only clean texts are read: see `clean`).
    #[inline]
    fn string_bytes(&mut self) -> Scan<&'a [u8]> {
        let start = self.at;
        let end = quotes::next_quote(&self.quotes, start).ok_or(Unusual)?;
        self.at = end + 1;
        self.bytes.get(start..end).ok_or(Unusual)
    }

    /// [`Scanner::string_bytes`] as text.
    fn string_body(&mut self) -> Scan<&'a str> {
        let bytes = self.string_bytes()?;
        self.text_of(bytes)
    }

    /// A part of `bytes` as the text it is (a string's body lies between two quotes of UTF-8
    /// text, so it is whole characters).
    fn text_of(&self, part: &'a [u8]) -> Scan<&'a str> {
        let start = part.as_ptr() as usize - self.bytes.as_ptr() as usize;
        self.text.get(start..start + part.len()).ok_or(Unusual)
    }

    /// An object key and the colon after it. Keys stay bytes: most are only matched or
    /// skipped, and a `&str` costs a check of both ends.
    #[inline]
    fn key(&mut self) -> Scan<&'a [u8]> {
        self.expect(b'"')?;
        let key = self.string_bytes()?;
        self.expect(b':')?;
        Ok(key)
    }

    /// After a member or an item: `true` for a comma, `false` for the closing `close`.
    fn more(&mut self, close: u8) -> Scan<bool> {
        match self.next_token()? {
            b',' => Ok(true),
            b if b == close => Ok(false),
            _ => Err(Unusual),
        }
    }

    /// Consumes `close` when the container is empty.
    fn empty(&mut self, close: u8) -> Scan<bool> {
        self.space();
        if self.peek()? == close {
            self.at += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// The members of an object whose `{` was consumed: `member` reads each value.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Scan<()>) -> Scan<()> {
        if self.empty(b'}')? {
            return Ok(());
        }
        let base = self.keys.len();
        let mut seen = 0;
        loop {
            let key = self.key()?;
            self.insert_key(base, &mut seen, key)?;
            member(self, key)?;
            if !self.more(b'}')? {
                self.keys.truncate(base);
                return Ok(());
            }
        }
    }

    /// A number as serde_json reads it: a non-negative integer is a `u64`, a negative one an
    /// `i64`, anything with a fraction or an exponent an `f64`. Edge cases (integers past 19
    /// digits, out-of-range floats) go to the strict parser.
    fn number(&mut self) -> Scan<Number> {
        let start = self.at;
        let bytes = self.bytes;
        let mut i = start;
        let negative = bytes.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits = i;
        match bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = bytes.get(i) {
                    i += 1;
                }
            }
            _ => return Err(Unusual),
        }
        let integer_end = i;
        // The end of the one or more digits a fraction or an exponent must have from `i`.
        let digits_from = |i: usize| -> Scan<usize> {
            let end = i + bytes[i.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if end == i {
                Err(Unusual)
            } else {
                Ok(end)
            }
        };
        let mut float = false;
        if bytes.get(i) == Some(&b'.') {
            i = digits_from(i + 1)?;
            float = true;
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            i = digits_from(i)?;
            float = true;
        }
        self.at = i;
        if float {
            // serde_json's own float reading, so that rounding is the same to the last bit.
            let x: f64 = serde_json::from_str(&self.text[start..i]).map_err(|_| Unusual)?;
            return Number::from_f64(x).ok_or(Unusual);
        }
        if integer_end - digits > 19 {
            return Err(Unusual);
        }
        let mut n: u64 = 0;
        for &d in &bytes[digits..integer_end] {
            n = n * 10 + u64::from(d - b'0');
        }
        if !negative {
            return Ok(Number::from(n));
        }
        // As serde_json: `-0` and magnitudes past i64 become floats.
        let negated = (n as i64).wrapping_neg();
        if negated >= 0 {
            return Number::from_f64(-(n as f64)).ok_or(Unusual);
        }
        Ok(Number::from(negated))
    }

    /// A value, built as `StrictValue` builds it.
    fn value(&mut self, depth: u32) -> Scan<Value> {
        self.space();
        Ok(match self.peek()? {
            b'"' => {
                self.at += 1;
                Value::String(self.string_body()?.to_owned())
            }
            b'n' => {
                self.literal(b"null")?;
                Value::Null
            }
            b't' => {
                self.literal(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Value::Bool(false)
            }
            b'{' => Value::Object(self.object(depth)?),
            b'[' => {
                self.at += 1;
                let depth = nested(depth)?;
                let mut items = Vec::new();
                if !self.empty(b']')? {
                    loop {
                        items.push(self.value(depth)?);
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
                Value::Array(items)
            }
            b'-' | b'0'..=b'9' => Value::Number(self.number()?),
            _ => return Err(Unusual),
        })
    }

    /// An object, built; `{` not yet consumed.
    fn object(&mut self, depth: u32) -> Scan<Map<String, Value>> {
        let depth = nested(depth)?;
        self.expect(b'{')?;
        let mut object = Map::new();
        self.members(|s, key| {
            let value = s.value(depth)?;
            object.insert(s.text_of(key)?.to_owned(), value);
            Ok(())
        })?;
        Ok(object)
    }

    /// [`Scanner::skip`] with a string, the commonest value of skipped objects, read inline.
    #[inline]
    fn skip_member(&mut self, depth: u32) -> Scan<()> {
        if self.bytes.get(self.at) == Some(&b'"') {
            self.at += 1;
            return self.string_bytes().map(drop);
        }
        self.skip(depth)
    }

    /// A value checked and not kept, as `StrictIgnore` does.
    fn skip(&mut self, depth: u32) -> Scan<()> {
        self.space();
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string_bytes()?;
            }
            b'n' => self.literal(b"null")?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'{' => {
                self.at += 1;
                let depth = nested(depth)?;
                self.members(|s, _| s.skip_member(depth))?;
            }
            b'[' => {
                self.at += 1;
                let depth = nested(depth)?;
                if !self.empty(b']')? {
                    loop {
                        self.skip(depth)?;
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                self.number()?;
            }
            _ => return Err(Unusual),
        }
        Ok(())
    }

    /// A scalar-ish field (`FieldSeed`), `null` counting as absent.
    fn field(&mut self) -> Scan<Option<Field<'a>>> {
        self.space();
        Ok(Some(match self.peek()? {
            b'"' => {
                self.at += 1;
                Field::Str(Cow::Borrowed(self.string_body()?))
            }
            b'n' => {
                self.literal(b"null")?;
                return Ok(None);
            }
            b'-' | b'0'..=b'9' => match self.number()? {
                n if n.is_u64() => Field::U64(n.as_u64().ok_or(Unusual)?),
                n if n.is_i64() => Field::I64(n.as_i64().ok_or(Unusual)?),
                n => Field::F64(n.as_f64().ok_or(Unusual)?),
            },
            _ => {
                self.skip(1)?;
                Field::Other
            }
        }))
    }

    /// An object-valued field kept whole (`properties`, `traits`), `null` counting as absent.
    fn kept(&mut self) -> Scan<Option<Value>> {
        self.space();
        match self.peek()? {
            b'{' => Ok(Some(Value::Object(self.object(1)?))),
            b'n' => {
                self.literal(b"null")?;
                Ok(None)
            }
            _ => Ok(Some(self.value(1)?)),
        }
    }

    /// `properties` checked and kept as text when it is an object.
    fn properties_text(&mut self) -> Scan<Option<Value>> {
        self.space();
        if self.peek()? != b'{' {
            return self.kept();
        }
        let start = self.at;
        self.skip(1)?;
        self.properties = Some(self.text.get(start..self.at).ok_or(Unusual)?);
        Ok(Some(Value::Object(Map::new())))
    }

    /// Walks a checked object as [`PropertyEncoder::encode`] walks the parsed one.
    fn encode_object(
        &mut self,
        path: &mut String,
        items: &mut Vec<FlatProperty<'a>>,
        encoder: &mut PropertyEncoder,
        out: &mut Vec<u8>,
    ) -> Scan<()> {
        self.expect(b'{')?;
        let base = self.value_at.len();
        self.members(|s, key| {
            s.space();
            let key = s.text_of(key)?;
            s.value_at.push((key, s.at));
            s.skip(1)
        })?;
        let end = self.at;
        self.value_at[base..].sort_unstable_by(|a, b| a.0.cmp(b.0));
        // A nested object pushes its members above these and drops them when done.
        for m in base..self.value_at.len() {
            let (key, at) = self.value_at[m];
            if !addressable(key) {
                continue;
            }
            self.at = at;
            let value = match self.peek()? {
                b'n' => continue,
                b'{' => FlatProperty::Nested,
                b'[' => {
                    self.at += 1;
                    items.clear();
                    if !self.empty(b']')? {
                        loop {
                            self.space();
                            let item = match self.peek()? {
                                b'"' | b'-' | b'0'..=b'9' | b't' | b'f' => self.flat_scalar()?,
                                _ => {
                                    self.skip(1)?;
                                    FlatProperty::Nested
                                }
                            };
                            items.push(item);
                            if !self.more(b']')? {
                                break;
                            }
                        }
                    }
                    FlatProperty::Array(items)
                }
                _ => self.flat_scalar()?,
            };
            let len = push_key(path, key);
            encoder.encode_value(path, value, out);
            if let FlatProperty::Nested = value {
                self.at = at;
                self.encode_object(path, items, encoder, out)?;
            }
            path.truncate(len);
        }
        self.value_at.truncate(base);
        self.at = end;
        Ok(())
    }

    /// A string, number or boolean as the store flattens it.
    fn flat_scalar(&mut self) -> Scan<FlatProperty<'a>> {
        Ok(match self.peek()? {
            b'"' => {
                self.at += 1;
                FlatProperty::Str(self.string_body()?)
            }
            b't' => {
                self.literal(b"true")?;
                FlatProperty::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                FlatProperty::Bool(false)
            }
            _ => FlatProperty::Num(self.number()?.as_f64().ok_or(Unusual)?),
        })
    }

    /// A value seen only for its shape (as `Shape` in `message.rs`): `null` is absent, an
    /// object stands in as an empty one, anything else as `false`.
    fn probe(&mut self) -> Scan<Option<Value>> {
        self.space();
        match self.peek()? {
            b'n' => {
                self.literal(b"null")?;
                Ok(None)
            }
            b'{' => {
                self.skip(1)?;
                Ok(Some(Value::Object(Map::new())))
            }
            _ => {
                self.skip(1)?;
                Ok(Some(Value::Bool(false)))
            }
        }
    }

    /// `context` as the lean visitor keeps it: only `traits` and `externalIds`.
    fn lean_context(&mut self) -> Scan<Option<Value>> {
        self.space();
        if self.peek()? != b'{' {
            return self.probe();
        }
        self.at += 1;
        let depth = nested(1)?;
        let mut kept = Map::new();
        self.members(|s, key| {
            if key == b"traits" || key == b"externalIds" {
                let value = s.value(depth)?;
                kept.insert(s.text_of(key)?.to_owned(), value);
                Ok(())
            } else {
                s.skip_member(depth)
            }
        })?;
        Ok(Some(Value::Object(kept)))
    }

    fn message(&mut self, m: &mut RawMessage<'a>) -> Scan<()> {
        self.expect(b'{')?;
        self.members(|s, key| {
            match key {
                b"type" => m.call = s.field()?,
                b"userId" => m.user_id = s.field()?,
                b"anonymousId" => m.anonymous_id = s.field()?,
                b"previousId" => m.previous_id = s.field()?,
                b"groupId" => m.group_id = s.field()?,
                b"messageId" => m.message_id = s.field()?,
                b"event" => m.event = s.field()?,
                b"name" => m.name = s.field()?,
                b"timestamp" => m.timestamp = s.field()?,
                b"originalTimestamp" => m.original_timestamp = s.field()?,
                b"sentAt" => m.sent_at = s.field()?,
                b"writeKey" => m.write_key = s.field()?,
                b"properties" if s.split => m.properties = s.properties_text()?,
                b"properties" => m.properties = s.kept()?,
                b"traits" => m.traits = s.kept()?,
                b"context" => m.context = s.lean_context()?,
                b"integrations" => m.integrations = s.probe()?,
                _ => s.skip_member(1)?,
            }
            Ok(())
        })
    }
}

/// One level deeper, or give up past [`MAX_DEPTH`].
fn nested(depth: u32) -> Scan<u32> {
    if depth >= MAX_DEPTH {
        Err(Unusual)
    } else {
        Ok(depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_end_at_the_next_quote_in_clean_texts() {
        for (text, end) in [
            ("abcdefghij\"", Some(10)),
            ("\"", Some(0)),
            ("abcdefg\u{e9}\"", Some(9)),
            ("abcdefgh", None),
        ] {
            let mut s = Scanner::new(text, false);
            assert!(s.clean);
            assert_eq!(s.string_body().ok().map(str::len), end, "{text:?}");
        }
        // Texts the scanner does not read: an escaped quote, a control byte.
        for text in ["abcdefghijklmnop\\\"", "abc\tdef\""] {
            assert!(!Scanner::new(text, false).clean, "{text:?}");
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_settle() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"type":"track","properties":{"k":1,"k":2}}"#,
            r#"{"type":"tr\u0061ck"}"#,
            r#"{"x":1e999}"#,
            r#"{"x":123456789012345678901}"#,
            r#"{"x":01}"#,
            r#"{"x":[1,]}"#,
            r#"{"x":1} x"#,
            r#"[1]"#,
            r#"{"x":nul}"#,
        ] {
            assert!(scan_lean(text).is_err(), "{text}");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(70), "]".repeat(70));
        assert!(scan_lean(&deep).is_err());
    }

    #[test]
    fn reads_spaces_between_tokens_and_leaves_other_whitespace() {
        let spaced = r#"{ "type" : "track" , "event" : "x" , "properties" : { "a" : [ 1 , 2 ] } }"#;
        let message = scan_lean(spaced).expect("spaces are read");
        assert!(matches!(message.event, Some(Field::Str(ref e)) if e == "x"));
        for other in ["\t", "\n", "\r"] {
            let text = format!(r#"{{"type":"track",{other}"event":"x"}}"#);
            assert!(scan_lean(&text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn reads_numbers_as_serde_json_does() {
        for text in [
            "0",
            "-0",
            "-1",
            "9999999999999999999",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.5",
            "-2.5e-3",
            "1E2",
            "0.1",
            "49.99",
        ] {
            let mut s = Scanner::new(text, false);
            let mine = s.number().ok();
            let theirs: Option<Number> = serde_json::from_str(text).ok();
            assert_eq!(mine, theirs, "{text}");
        }
    }
}
