//! Tolerant decoding: `null` means "default", and string maps accept any value.
//!
//! Also the pieces of the hand-written instance-list decoder that are not
//! about one model: string maps parsed with borrowed strings, and a map
//! that repeats the previous host's is cloned instead of built again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A default value named by a type, for fields whose default is not `Default`.
pub(crate) trait DefaultValue<T> {
    fn value() -> T;
}

/// Decodes `null` as `T::default()`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Decodes `null` as `V::value()`.
pub(crate) fn null_or<'de, D, T, V>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
    V: DefaultValue<T>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_else(V::value))
}

/// Decodes a JSON object into string values: strings as they are, other
/// values as their JSON text, `null` entries dropped; `null` as empty.
///
/// Strings (nearly every metadata value) go straight into the map, without
/// an intermediate `serde_json::Value`.
pub(crate) fn string_map<'de, D>(d: D) -> Result<HashMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let mut scratch = MapScratch::default();
    d.deserialize_option(OptionalMap(StringMapSeed {
        scratch: &mut scratch,
        previous: None,
    }))
}

/// What the string-map decoder reuses from one map to the next: the
/// entries as parsed (borrowed from the body where they have no escapes),
/// this map's and the previous one's. Whoever decodes no map for an item
/// (no field at all) calls [`MapScratch::empty`] for it.
#[derive(Default)]
pub(crate) struct MapScratch<'de> {
    entries: Vec<(Cow<'de, str>, Cow<'de, str>)>,
    previous: Vec<(Cow<'de, str>, Cow<'de, str>)>,
}

impl MapScratch<'_> {
    /// The previous item had an empty map.
    pub(crate) fn empty(&mut self) {
        self.previous.clear();
    }
}

/// Decodes one string map (see [`string_map`]). When its entries are, in
/// order, those of the map decoded just before with the same scratch,
/// `previous` (that map) is cloned: no hashing, no probing. Hosts of one
/// service mostly carry the same metadata.
pub(crate) struct StringMapSeed<'a, 'de> {
    pub(crate) scratch: &'a mut MapScratch<'de>,
    pub(crate) previous: Option<&'a HashMap<String, String>>,
}

impl<'de> DeserializeSeed<'de> for StringMapSeed<'_, 'de> {
    type Value = HashMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(OptionalMap(self))
    }
}

/// `null` (an empty map) or a map.
struct OptionalMap<'a, 'de>(StringMapSeed<'a, 'de>);

impl<'de> Visitor<'de> for OptionalMap<'_, 'de> {
    type Value = HashMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        // An empty map: what the next one is compared with.
        self.0.scratch.previous.clear();
        Ok(HashMap::new())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        self.0.scratch.previous.clear();
        Ok(HashMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let StringMapSeed { scratch, previous } = self.0;
        let entries = &mut scratch.entries;
        entries.clear();
        while let Some(k) = map.next_key::<Text<'de>>()? {
            if let Some(v) = map.next_value::<AnyAsText<'de>>()?.0 {
                entries.push((k.0, v));
            }
        }
        let out = map_of(entries, &scratch.previous, previous);
        std::mem::swap(&mut scratch.entries, &mut scratch.previous);
        Ok(out)
    }
}

/// The map of `entries` (the last of equal keys wins): a clone of
/// `previous_map` when `previous_entries` (what it was made of) are the
/// same entries, else built.
pub(crate) fn map_of(
    entries: &[(Cow<'_, str>, Cow<'_, str>)],
    previous_entries: &[(Cow<'_, str>, Cow<'_, str>)],
    previous_map: Option<&HashMap<String, String>>,
) -> HashMap<String, String> {
    match previous_map {
        Some(prev) if same_entries(entries, previous_entries) => prev.clone(),
        _ => {
            let mut out = HashMap::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.as_ref().to_owned(), v.as_ref().to_owned());
            }
            out
        }
    }
}

/// Whether `cur` makes the same map as `prev`: the same entries in the
/// same order, or (for a few entries, as servers that keep metadata in a
/// hash map write them in any order) the same entries with no key twice.
fn same_entries(
    cur: &[(Cow<'_, str>, Cow<'_, str>)],
    prev: &[(Cow<'_, str>, Cow<'_, str>)],
) -> bool {
    if cur.len() != prev.len() {
        return false;
    }
    if cur == prev {
        return true;
    }
    // Each entry of `cur` in `prev`, and no key of `cur` twice: then `prev`
    // holds as many distinct keys as it has entries, each with the value
    // `cur` gives it.
    cur.len() <= 8
        && cur.iter().enumerate().all(|(i, (k, v))| {
            prev.iter().any(|(pk, pv)| pk == k && pv == v)
                && !cur[..i].iter().any(|(ek, _)| ek == k)
        })
}

/// A string, borrowed from the input when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string as is; `null` as `None`; anything else as its JSON text
/// (numbers and booleans written as `serde_json` writes them, objects and
/// arrays through a `serde_json::Value`, the only values that need one).
struct AnyAsText<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for AnyAsText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyAsText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Owned(s))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(AnyAsText(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(AnyAsText(None))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Borrowed(if b {
                    "true"
                } else {
                    "false"
                }))))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
                Ok(AnyAsText(Some(Cow::Owned(
                    serde_json::Value::from(n).to_string(),
                ))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(AnyAsText(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(AnyAsText(Some(Cow::Owned(v.to_string()))))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> HashMap<String, String> {
        string_map(&mut serde_json::Deserializer::from_str(json)).unwrap()
    }

    #[test]
    fn any_value_becomes_its_text() {
        let m = decode(
            r#"{"s":"x","e":"a\"b","n":3,"neg":-4,"f":1e3,"g":0.1,"t":true,"x":null,
                "o":{"k":[1,"v",null]},"a":[]}"#,
        );
        let want = [
            ("s", "x"),
            ("e", "a\"b"),
            ("n", "3"),
            ("neg", "-4"),
            ("f", "1000.0"),
            ("g", "0.1"),
            ("t", "true"),
            ("o", r#"{"k":[1,"v",null]}"#),
            ("a", "[]"),
        ];
        assert_eq!(m.len(), want.len(), "{m:?}");
        for (k, v) in want {
            assert_eq!(m[k], v, "{k}");
        }
        assert!(decode("null").is_empty());
        for bad in ["[]", "1", r#""s""#, r#"{"a":}"#] {
            assert!(
                string_map(&mut serde_json::Deserializer::from_str(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_repeated_map_is_the_previous_one_and_a_different_one_is_its_own() {
        let mut scratch = MapScratch::default();
        let mut next = |json: &'static str, prev: Option<&HashMap<String, String>>| {
            StringMapSeed {
                scratch: &mut scratch,
                previous: prev,
            }
            .deserialize(&mut serde_json::Deserializer::from_str(json))
            .unwrap()
        };
        let a = next(r#"{"k":"v","z":"1"}"#, None);
        let b = next(r#"{"k":"v","z":"1"}"#, Some(&a));
        assert_eq!(a, b);
        let c = next(r#"{"k":"v","z":"2"}"#, Some(&b));
        assert_eq!(c["z"], "2");
        // The same entries in another order: the same map.
        let g = next(r#"{"z":"2","k":"v"}"#, Some(&c));
        assert_eq!(g, c);
        // Duplicate keys: the last one wins, cloned or not.
        let d = next(r#"{"k":"v","k":"w"}"#, Some(&c));
        let e = next(r#"{"k":"v","k":"w"}"#, Some(&d));
        assert_eq!((d.len(), &d["k"]), (1, &"w".to_string()));
        assert_eq!(d, e);
        let f = next("null", Some(&e));
        assert!(f.is_empty());
    }
}
