//! Strict JSON (RFC 8259) on top of serde_json: the same grammar, plus the rejection of duplicate
//! keys, which serde_json's own `Value` silently resolves by keeping the last one.
//!
//! Two seeds: [`StrictValue`] builds a `Value`; [`StrictIgnore`] only checks, allocating nothing
//! for keys without escapes, so fields that are not kept cost little.

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashSet;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// An object key, borrowed from the input when it has no escapes.
pub(crate) struct Key<'de>(pub Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The keys seen so far in one object: a short list scanned linearly (objects are small), turned
/// into a hash set when an object grows large, so a hostile object cannot make the check
/// quadratic.
#[derive(Default)]
pub(crate) struct KeySet<'de> {
    small: Vec<Cow<'de, str>>,
    large: Option<FxHashSet<Cow<'de, str>>>,
}

const SMALL_KEYS: usize = 16;

impl<'de> KeySet<'de> {
    /// Records `key`; an error when it was already there.
    pub(crate) fn insert<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        if let Some(large) = &mut self.large {
            if large.contains(&key) {
                return Err(duplicate(&key));
            }
            large.insert(key);
            return Ok(());
        }
        if self.small.contains(&key) {
            return Err(duplicate(&key));
        }
        self.small.push(key);
        if self.small.len() > SMALL_KEYS {
            self.large = Some(self.small.drain(..).collect());
        }
        Ok(())
    }
}

pub(crate) fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate key {key:?}"))
}

/// The scalar arms of a visitor that only tells values apart by shape: `$scalar` for a
/// boolean, a number or a string, `$null` for `null`.
macro_rules! scalar_arms {
    ($scalar:expr, $null:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($scalar)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($scalar)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($scalar)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($scalar)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($scalar)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($null)
        }
    };
}
pub(crate) use scalar_arms;

/// Builds a `Value`, rejecting duplicate keys at any depth.
pub(crate) struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell a non-finite number, so this only guards the type.
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictValue)?;
            match object.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => return Err(duplicate(slot.key())),
            }
        }
        Ok(Value::Object(object))
    }
}

/// Checks a value (duplicate keys at any depth) without keeping it.
pub(crate) struct StrictIgnore;

impl<'de> DeserializeSeed<'de> for StrictIgnore {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(IgnoreVisitor)
    }
}

struct IgnoreVisitor;

impl<'de> Visitor<'de> for IgnoreVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_arms!((), ());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ignore_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        ignore_map(map)
    }
}

/// Consumes the rest of an array, checking its items.
pub(crate) fn ignore_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element_seed(StrictIgnore)?.is_some() {}
    Ok(())
}

/// Consumes the rest of an object, checking its keys and values.
pub(crate) fn ignore_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    let mut keys = KeySet::default();
    while let Some(Key(key)) = map.next_key()? {
        keys.insert::<A::Error>(key)?;
        map.next_value_seed(StrictIgnore)?;
    }
    Ok(())
}

/// Runs `seed` over the whole of `text`, refusing trailing characters.
pub(crate) fn from_str_seed<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Parses `text` as one strict JSON value.
#[cfg(test)]
pub(crate) fn parse_value(text: &str) -> Result<Value, serde_json::Error> {
    from_str_seed(text, StrictValue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates_at_any_depth_and_through_escapes() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":[{"b":1,"b":1}]}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            assert!(parse_value(bad).is_err(), "{bad}");
            assert!(from_str_seed(bad, StrictIgnore).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(parse_value(&ok).is_ok());
        assert!(from_str_seed(&ok, StrictIgnore).is_ok());
        let bad = format!("{{{},\"k39\":0}}", many.join(","));
        assert!(from_str_seed(&bad, StrictIgnore).is_err());
    }

    #[test]
    fn refuses_what_rfc_8259_refuses() {
        for bad in [
            "NaN",
            "[Infinity]",
            "{\"a\":-Infinity}",
            "[1,]",
            "'a'",
            "{} x",
        ] {
            assert!(parse_value(bad).is_err(), "{bad}");
        }
    }
}
