//! One message: gathered from its JSON text in one pass, then checked field by field in a fixed
//! order, so that a bad message always gets the same single code whatever else is wrong with it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::strict::{self, scalar_arms, Key, KeySet, StrictIgnore, StrictValue};
use super::{codes, Rejection, Source, MAX_MESSAGE_BYTES};
use crate::event::{CallType, Event, Object};
use crate::time::Timestamp;

/// The largest integer an id may be (2^53 − 1), so that JavaScript reads it exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A scalar-ish field as found in the text: what the checks need, nothing more.
#[derive(Debug)]
pub(crate) enum Field<'de> {
    Null,
    Str(Cow<'de, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    /// A boolean, an object or an array (the latter two checked, not kept).
    Other,
}

pub(crate) struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<'de>, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
        Ok(Field::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
        strict::ignore_seq(seq)?;
        Ok(Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        strict::ignore_map(map)?;
        Ok(Field::Other)
    }
}

/// Reads a field, `null` counting as absent.
fn field<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Field<'de>>, A::Error> {
    Ok(match map.next_value_seed(FieldSeed)? {
        Field::Null => None,
        f => Some(f),
    })
}

/// Reads an object-valued field, `null` counting as absent. Unless `keep`, the object is only
/// checked and stands in as an empty object (with a stand-in `traits` for `context`), so the
/// checks run unchanged while nothing is built.
fn object<'de, A: MapAccess<'de>>(
    map: &mut A,
    keep: bool,
    probe_traits: bool,
) -> Result<Option<Value>, A::Error> {
    let value = if keep {
        map.next_value_seed(StrictValue)?
    } else {
        let members = if probe_traits {
            Members::TraitsShape
        } else {
            Members::None
        };
        map.next_value_seed(Shape(members))?
    };
    Ok(match value {
        Value::Null => None,
        v => Some(v),
    })
}

/// Checks a value and gives its shape only: `null`, `false` for anything but an object, and
/// for an object the members [`Members`] names (every other member is checked, not kept).
struct Shape(Members);

/// The members of an object that [`Shape`] keeps.
#[derive(Clone, Copy)]
enum Members {
    /// None: the object stands in as an empty one.
    None,
    /// The shape of `traits` (what `context` needs when only its shape counts).
    TraitsShape,
    /// `traits` and `externalIds`, built (what identity reads of `context`).
    TraitsAndExternalIds,
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_arms!(Value::Bool(false), Value::Null);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        strict::ignore_seq(seq)?;
        Ok(Value::Bool(false))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut keys = KeySet::default();
        let mut kept = Object::new();
        while let Some(Key(key)) = map.next_key()? {
            let value = match (self.0, &*key) {
                (Members::TraitsShape, "traits") => {
                    Some(map.next_value_seed(Shape(Members::None))?)
                }
                (Members::TraitsAndExternalIds, "traits" | "externalIds") => {
                    Some(map.next_value_seed(StrictValue)?)
                }
                _ => {
                    map.next_value_seed(StrictIgnore)?;
                    None
                }
            };
            if let Some(value) = value {
                kept.insert(key.to_string(), value);
            }
            keys.insert::<A::Error>(key)?;
        }
        Ok(Value::Object(kept))
    }
}

/// The fields of one message that the contract looks at.
#[derive(Default, Debug)]
pub(crate) struct RawMessage<'de> {
    pub call: Option<Field<'de>>,
    pub user_id: Option<Field<'de>>,
    pub anonymous_id: Option<Field<'de>>,
    pub previous_id: Option<Field<'de>>,
    pub group_id: Option<Field<'de>>,
    pub message_id: Option<Field<'de>>,
    pub event: Option<Field<'de>>,
    pub name: Option<Field<'de>>,
    pub timestamp: Option<Field<'de>>,
    pub original_timestamp: Option<Field<'de>>,
    pub sent_at: Option<Field<'de>>,
    pub write_key: Option<Field<'de>>,
    pub properties: Option<Value>,
    pub traits: Option<Value>,
    pub context: Option<Value>,
    pub integrations: Option<Value>,
}

/// Parses a message's text; `None` when it is JSON but not an object. Unless `keep`, the
/// object fields are checked but not built.
pub(crate) struct MessageSeed {
    keep: bool,
    lean: bool,
}

impl<'de> DeserializeSeed<'de> for MessageSeed {
    type Value = Option<RawMessage<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(MessageVisitor {
            keep: self.keep,
            lean: self.lean,
        })
    }
}

struct MessageVisitor {
    keep: bool,
    /// Build `properties` and `traits`, of `context` only `traits` and `externalIds`, and no
    /// `integrations` (everything is still checked).
    lean: bool,
}

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Option<RawMessage<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }
    scalar_arms!(None, None);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        strict::ignore_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut m = RawMessage::default();
        // Known keys are tracked by bit (they may be null, hence absent, yet still repeated);
        // other keys go through a key set.
        let mut seen: u32 = 0;
        let mut others = KeySet::default();
        while let Some(Key(key)) = map.next_key()? {
            let bit = match &*key {
                "type" => 0,
                "userId" => 1,
                "anonymousId" => 2,
                "previousId" => 3,
                "groupId" => 4,
                "messageId" => 5,
                "event" => 6,
                "name" => 7,
                "timestamp" => 8,
                "originalTimestamp" => 9,
                "sentAt" => 10,
                "writeKey" => 11,
                "properties" => 12,
                "traits" => 13,
                "context" => 14,
                "integrations" => 15,
                _ => {
                    others.insert::<A::Error>(key)?;
                    map.next_value_seed(StrictIgnore)?;
                    continue;
                }
            };
            if seen & (1 << bit) != 0 {
                return Err(strict::duplicate(&key));
            }
            seen |= 1 << bit;
            match bit {
                0 => m.call = field(&mut map)?,
                1 => m.user_id = field(&mut map)?,
                2 => m.anonymous_id = field(&mut map)?,
                3 => m.previous_id = field(&mut map)?,
                4 => m.group_id = field(&mut map)?,
                5 => m.message_id = field(&mut map)?,
                6 => m.event = field(&mut map)?,
                7 => m.name = field(&mut map)?,
                8 => m.timestamp = field(&mut map)?,
                9 => m.original_timestamp = field(&mut map)?,
                10 => m.sent_at = field(&mut map)?,
                11 => m.write_key = field(&mut map)?,
                12 => m.properties = object(&mut map, self.keep, false)?,
                13 => m.traits = object(&mut map, self.keep, false)?,
                14 if self.lean => m.context = lean_context(&mut map)?,
                14 => m.context = object(&mut map, self.keep, true)?,
                _ if self.lean => m.integrations = object(&mut map, false, false)?,
                _ => m.integrations = object(&mut map, self.keep, false)?,
            }
        }
        Ok(Some(m))
    }
}

/// What a batch contributes to each of its messages.
#[derive(Default, Debug)]
pub(crate) struct BatchDefaults {
    pub context: Option<Object>,
    pub integrations: Option<Object>,
    pub sent_at: Option<Timestamp>,
}

/// Where a message sits and how it is to be read.
pub(crate) struct Place<'a> {
    /// Position reported in a rejection.
    pub index: usize,
    /// Path prefix of the message (`batch[3]`, `[3]`, or empty).
    pub prefix: &'a str,
    /// The call type fixed by a single-call route.
    pub route_call: Option<CallType>,
    pub source: Source,
    pub batch: Option<&'a BatchDefaults>,
    /// Build `properties`, `traits`, `context` and `integrations`; when false they are only
    /// checked and the event carries them empty.
    pub keep_objects: bool,
}

impl Place<'_> {
    /// A message read on its own (an NDJSON line, say): no route, no batch, no path prefix.
    pub(crate) fn alone(index: usize, source: Source) -> Place<'static> {
        Place {
            index,
            prefix: "",
            route_call: None,
            source,
            batch: None,
            keep_objects: true,
        }
    }

    fn path(&self, field: &str) -> String {
        match (self.prefix.is_empty(), field.is_empty()) {
            (true, _) => field.to_owned(),
            (false, true) => self.prefix.to_owned(),
            (false, false) => format!("{}.{field}", self.prefix),
        }
    }

    fn reject(&self, field: &str, code: super::Code, message: impl Into<String>) -> Rejection {
        Rejection {
            index: self.index,
            path: self.path(field),
            code,
            message: message.into(),
        }
    }
}

/// Parses and checks one message's JSON text (already trimmed of surrounding whitespace).
pub(crate) fn parse_text(text: &[u8], place: &Place<'_>) -> Result<Event, Rejection> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(place.reject(
            "",
            codes::MESSAGE_TOO_LARGE,
            format!(
                "message is {} bytes, over the limit of {MAX_MESSAGE_BYTES}",
                text.len()
            ),
        ));
    }
    let utf8 = super::utf8(text)
        .map_err(|e| place.reject("", codes::INVALID_JSON, format!("not UTF-8: {e}")))?;
    let raw = strict::from_str_seed(
        utf8,
        MessageSeed {
            keep: place.keep_objects,
            lean: false,
        },
    )
    .map_err(|e| place.reject("", codes::INVALID_JSON, e.to_string()))?
    .ok_or_else(|| place.reject("", codes::NOT_AN_OBJECT, "a message must be a JSON object"))?;
    check(raw, text, place)
}

/// [`parse_text`] that builds only what identity resolution and the segment store read:
/// `properties`, `traits`, and of `context` only `traits` and `externalIds`; `integrations` stay
/// empty. Verdicts, codes and paths are those of [`parse_text`].
pub(crate) fn parse_text_lean(text: &[u8], place: &Place<'_>) -> Result<Event, Rejection> {
    if text.len() > MAX_MESSAGE_BYTES || place.batch.is_some() {
        return parse_text(text, place);
    }
    let utf8 = super::utf8(text)
        .map_err(|e| place.reject("", codes::INVALID_JSON, format!("not UTF-8: {e}")))?;
    match super::fast::scan_lean(utf8) {
        Ok(raw) => check(raw, text, place),
        Err(super::fast::Unusual) => parse_text_lean_strict(text, place),
    }
}

/// [`parse_text_lean`] giving the checked message itself, borrowed from `text` where it can be:
/// the pipeline's path, which builds no [`Event`]. When the fast scanner reads the message, an
/// object `properties` is left as its checked text (the message's own stay empty); the strict
/// fallback gives the same message with its properties built, and `None`.
pub(crate) fn parse_text_checked<'a>(
    text: &'a [u8],
    place: &Place<'_>,
) -> Result<(Checked<'a>, Option<&'a str>), Rejection> {
    if text.len() > MAX_MESSAGE_BYTES || place.batch.is_some() {
        return parse_text(text, place).map(|e| (Checked::from_event(e), None));
    }
    let utf8 = super::utf8(text)
        .map_err(|e| place.reject("", codes::INVALID_JSON, format!("not UTF-8: {e}")))?;
    let mut raw = RawMessage::default();
    match super::fast::scan_lean_split(utf8, &mut raw) {
        Ok(properties) => check_borrowed(&mut raw, text, place).map(|c| (c, properties)),
        Err(super::fast::Unusual) => lean_strict_raw(utf8, place)
            .and_then(|mut raw| check_borrowed(&mut raw, text, place))
            .map(|c| (c, None)),
    }
}

/// [`parse_text_lean`] through the strict serde parser only: what the fast scanner must agree
/// with, and what settles every message the scanner gives up on.
pub(crate) fn parse_text_lean_strict(text: &[u8], place: &Place<'_>) -> Result<Event, Rejection> {
    if text.len() > MAX_MESSAGE_BYTES || place.batch.is_some() {
        return parse_text(text, place);
    }
    let utf8 = super::utf8(text)
        .map_err(|e| place.reject("", codes::INVALID_JSON, format!("not UTF-8: {e}")))?;
    check(lean_strict_raw(utf8, place)?, text, place)
}

/// The strict serde parser's lean reading of a message (within the size limit, no batch).
fn lean_strict_raw<'a>(utf8: &'a str, place: &Place<'_>) -> Result<RawMessage<'a>, Rejection> {
    strict::from_str_seed(
        utf8,
        MessageSeed {
            keep: true,
            lean: true,
        },
    )
    .map_err(|e| place.reject("", codes::INVALID_JSON, e.to_string()))?
    .ok_or_else(|| place.reject("", codes::NOT_AN_OBJECT, "a message must be a JSON object"))
}

/// Reads `context` keeping only `traits` and `externalIds` (checked like the rest), `null`
/// counting as absent; anything but an object stands in as `false`, as with [`Shape`].
fn lean_context<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Value>, A::Error> {
    Ok(
        match map.next_value_seed(Shape(Members::TraitsAndExternalIds))? {
            Value::Null => None,
            v => Some(v),
        },
    )
}

/// A borrowed string stays borrowed; an owned one (it held escapes) is copied.
fn reborrow<'a>(s: &Cow<'a, str>) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b),
        Cow::Owned(o) => Cow::Owned(o.clone()),
    }
}

fn id_text<'a>(f: &Field<'a>) -> Result<Option<Cow<'a, str>>, ()> {
    let text = match f {
        Field::Str(s) => return Ok((!s.trim().is_empty()).then(|| reborrow(s))),
        Field::U64(n) if *n <= MAX_SAFE_INTEGER => n.to_string(),
        Field::I64(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER => n.to_string(),
        #[allow(clippy::cast_possible_truncation)]
        Field::F64(x) if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER as f64 => {
            // An integral float (`1.0`, `1e3`) is the same number to JavaScript; `as` is exact
            // within the range checked above, and turns -0 into 0.
            (*x as i64).to_string()
        }
        _ => return Err(()),
    };
    Ok(Some(Cow::Owned(text)))
}

fn check_id<'a>(
    f: &Option<Field<'a>>,
    name: &str,
    place: &Place<'_>,
) -> Result<Option<Cow<'a, str>>, Rejection> {
    match f {
        None => Ok(None),
        Some(f) => id_text(f).map_err(|()| {
            place.reject(
                name,
                codes::INVALID_ID,
                format!("{name} must be a string or an integer within ±(2^53−1)"),
            )
        }),
    }
}

fn check_time(
    f: &Option<Field<'_>>,
    name: &str,
    place: &Place<'_>,
) -> Result<Option<Timestamp>, Rejection> {
    match f {
        None => Ok(None),
        Some(Field::Str(s)) => Timestamp::parse(s).map(Some).map_err(|_| {
            place.reject(
                name,
                codes::INVALID_TIMESTAMP,
                format!("{name} is not an RFC 3339 date-time"),
            )
        }),
        Some(_) => Err(place.reject(
            name,
            codes::INVALID_TIMESTAMP,
            format!("{name} must be an RFC 3339 date-time string"),
        )),
    }
}

fn check_object(v: Option<Value>, name: &str, place: &Place<'_>) -> Result<Object, Rejection> {
    match v {
        None => Ok(Object::new()),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(place.reject(name, codes::WRONG_TYPE, format!("{name} must be an object"))),
    }
}

/// Copies each key of the batch's object that the message's own object lacks (a `null` member
/// counting as absent, as everywhere in the contract).
fn merge(own: &mut Object, batch: Option<&Object>) {
    for (key, value) in batch.into_iter().flatten() {
        if own.get(key).is_none_or(Value::is_null) {
            own.insert(key.clone(), value.clone());
        }
    }
}

/// The first 16 bytes of SHA-256 over `parts`, as 32 lowercase hex digits.
pub(crate) fn digest_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(32);
    for byte in &digest[..16] {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    out
}

/// A checked message, borrowing from its text what needs no unescaping: what [`Event`] holds,
/// before anything is copied. The pipeline keeps its compact record from this, so the fast path
/// builds no `Event`.
#[derive(Debug)]
pub(crate) struct Checked<'a> {
    pub message_id: Cow<'a, str>,
    pub call: CallType,
    pub name: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub anonymous_id: Option<Cow<'a, str>>,
    pub previous_id: Option<Cow<'a, str>>,
    pub group_id: Option<Cow<'a, str>>,
    pub time: Timestamp,
    pub received_at: Option<Timestamp>,
    pub properties: Object,
    pub traits: Object,
    pub context: Object,
    pub integrations: Object,
}

impl Checked<'_> {
    /// The event, every string owned.
    pub(crate) fn into_event(self) -> Event {
        Event {
            message_id: self.message_id.into_owned(),
            call: self.call,
            name: self.name.map(Cow::into_owned),
            user_id: self.user_id.map(Cow::into_owned),
            anonymous_id: self.anonymous_id.map(Cow::into_owned),
            previous_id: self.previous_id.map(Cow::into_owned),
            group_id: self.group_id.map(Cow::into_owned),
            time: self.time,
            received_at: self.received_at,
            properties: self.properties,
            traits: self.traits,
            context: self.context,
            integrations: self.integrations,
        }
    }

    /// An event's fields, borrowed (its objects are moved out).
    pub(crate) fn from_event(event: Event) -> Checked<'static> {
        Checked {
            message_id: Cow::Owned(event.message_id),
            call: event.call,
            name: event.name.map(Cow::Owned),
            user_id: event.user_id.map(Cow::Owned),
            anonymous_id: event.anonymous_id.map(Cow::Owned),
            previous_id: event.previous_id.map(Cow::Owned),
            group_id: event.group_id.map(Cow::Owned),
            time: event.time,
            received_at: event.received_at,
            properties: event.properties,
            traits: event.traits,
            context: event.context,
            integrations: event.integrations,
        }
    }
}

fn check(mut raw: RawMessage<'_>, text: &[u8], place: &Place<'_>) -> Result<Event, Rejection> {
    check_borrowed(&mut raw, text, place).map(Checked::into_event)
}

fn check_borrowed<'a>(
    raw: &mut RawMessage<'a>,
    text: &[u8],
    place: &Place<'_>,
) -> Result<Checked<'a>, Rejection> {
    let call = match (&raw.call, place.route_call) {
        (None, Some(route)) => route,
        (None, None) => {
            return Err(place.reject("type", codes::MISSING_TYPE, "type is required"));
        }
        (Some(Field::Str(name)), route) => match CallType::from_name(name) {
            Some(call) if route.is_none_or(|r| r == call) => call,
            Some(_) => {
                return Err(place.reject(
                    "type",
                    codes::INVALID_TYPE,
                    format!("type {name:?} does not match the route"),
                ))
            }
            None => {
                return Err(place.reject(
                    "type",
                    codes::INVALID_TYPE,
                    format!("unknown type {name:?}"),
                ))
            }
        },
        (Some(_), _) => {
            return Err(place.reject(
                "type",
                codes::INVALID_TYPE,
                "type must be one of track, identify, page, screen, group, alias",
            ))
        }
    };

    let user_id = check_id(&raw.user_id, "userId", place)?;
    let anonymous_id = check_id(&raw.anonymous_id, "anonymousId", place)?;
    let previous_id = check_id(&raw.previous_id, "previousId", place)?;
    if call == CallType::Alias {
        if previous_id.is_none() {
            return Err(place.reject(
                "previousId",
                codes::MISSING_PREVIOUS_ID,
                "alias needs a non-empty previousId",
            ));
        }
        if user_id.is_none() {
            return Err(place.reject(
                "userId",
                codes::MISSING_ID,
                "alias needs a non-empty userId",
            ));
        }
    } else if user_id.is_none() && anonymous_id.is_none() {
        return Err(place.reject(
            "userId",
            codes::MISSING_ID,
            "a non-empty userId or anonymousId is required",
        ));
    }

    let mut group_id = None;
    let name = match call {
        CallType::Track => match &raw.event {
            Some(Field::Str(e)) if !e.is_empty() => Some(reborrow(e)),
            None | Some(Field::Str(_)) => {
                return Err(place.reject(
                    "event",
                    codes::MISSING_EVENT,
                    "track needs a non-empty event",
                ))
            }
            Some(_) => {
                return Err(place.reject("event", codes::WRONG_TYPE, "event must be a string"))
            }
        },
        CallType::Group => {
            group_id = match &raw.group_id {
                None => None,
                Some(f) => id_text(f).map_err(|()| {
                    place.reject(
                        "groupId",
                        codes::INVALID_ID,
                        "groupId must be a string or an integer within ±(2^53−1)",
                    )
                })?,
            };
            if group_id.is_none() {
                return Err(place.reject(
                    "groupId",
                    codes::MISSING_GROUP_ID,
                    "group needs a non-empty groupId",
                ));
            }
            None
        }
        _ => None,
    };
    let name = match &raw.name {
        None => name,
        Some(Field::Str(n)) => match call {
            CallType::Page | CallType::Screen => Some(reborrow(n)),
            _ => name,
        },
        Some(_) => return Err(place.reject("name", codes::WRONG_TYPE, "name must be a string")),
    };

    let properties = check_object(raw.properties.take(), "properties", place)?;
    let traits = check_object(raw.traits.take(), "traits", place)?;
    let mut context = check_object(raw.context.take(), "context", place)?;
    let batch = place.batch;
    merge(&mut context, batch.and_then(|b| b.context.as_ref()));
    if context
        .get("traits")
        .is_some_and(|t| !t.is_object() && !t.is_null())
    {
        return Err(place.reject(
            "context.traits",
            codes::WRONG_TYPE,
            "context.traits must be an object",
        ));
    }
    let mut integrations = check_object(raw.integrations.take(), "integrations", place)?;
    merge(
        &mut integrations,
        batch.and_then(|b| b.integrations.as_ref()),
    );

    let timestamp = check_time(&raw.timestamp, "timestamp", place)?;
    let original = check_time(&raw.original_timestamp, "originalTimestamp", place)?;
    let sent_at = check_time(&raw.sent_at, "sentAt", place)?.or(batch.and_then(|b| b.sent_at));

    let own_message_id = match &raw.message_id {
        Some(Field::Str(id)) if !id.is_empty() => Some(reborrow(id)),
        _ => None,
    };
    let (time, received_at, message_id) = match place.source {
        Source::Edge { received_at } => {
            let time = match (sent_at, original.or(timestamp)) {
                // Absurd clocks (sentAt in year 1, originalTimestamp in 9999) would push the
                // event past what a time string can spell, and it could never be replayed.
                (Some(sent), Some(original)) => Timestamp(
                    received_at
                        .0
                        .saturating_sub(sent.0 - original.0)
                        .clamp(Timestamp::MIN.0, Timestamp::MAX.0),
                ),
                _ => timestamp.or(original).unwrap_or(received_at),
            };
            let id = own_message_id.unwrap_or_else(|| {
                let at = received_at.0.to_string();
                Cow::Owned(format!(
                    "edge-{}",
                    digest_hex(&[at.as_bytes(), b"\n", text])
                ))
            });
            (time, Some(received_at), id)
        }
        Source::File { derive_ids } => {
            let time = timestamp.or(original).ok_or_else(|| {
                place.reject(
                    "timestamp",
                    codes::MISSING_TIMESTAMP,
                    "a message read from a file needs timestamp or originalTimestamp",
                )
            })?;
            let id = match own_message_id {
                Some(id) => id,
                None if derive_ids => Cow::Owned(format!("derived-{}", digest_hex(&[text]))),
                None => {
                    return Err(place.reject(
                        "messageId",
                        codes::MISSING_MESSAGE_ID,
                        "a message read from a file needs a non-empty string messageId",
                    ))
                }
            };
            (time, None, id)
        }
    };

    Ok(Checked {
        message_id,
        call,
        name,
        user_id,
        anonymous_id,
        previous_id: previous_id.filter(|_| call == CallType::Alias),
        group_id,
        time,
        received_at,
        properties,
        traits,
        context,
        integrations,
    })
}
