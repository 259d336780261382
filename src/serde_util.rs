//! Tolerant decoding: `null` means "default", and string maps accept any value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
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

/// A comma-separated list (`"a,b"`; `""` or `null`: none), as Nacos
/// writes cluster lists.
pub(crate) fn comma_list<'de, D>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect())
}

/// Writes a list the way [`comma_list`] reads it.
pub(crate) fn comma_joined<S: serde::Serializer>(list: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&list.join(","))
}

/// Decodes a JSON object into string values: strings as they are, other
/// values as their JSON text, `null` entries dropped; `null` as empty.
///
/// Keys and string values are borrowed from the input while parsed and
/// copied once into the map; only objects and arrays (never seen in
/// practice) go through a `serde_json::Value`.
pub(crate) fn string_map<'de, D>(d: D) -> Result<HashMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    d.deserialize_option(OptionalMap)
}

/// `null` (an empty map) or a map.
struct OptionalMap;

impl<'de> Visitor<'de> for OptionalMap {
    type Value = HashMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(HashMap::new())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(HashMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(k) = map.next_key::<Text<'de>>()? {
            if let Some(v) = map.next_value::<AnyAsText<'de>>()?.0 {
                out.insert(k.0.into_owned(), v.into_owned());
            }
        }
        Ok(out)
    }
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
    fn cluster_lists_read_and_write_as_commas() {
        use crate::naming::service::ServiceInfo;
        let info: ServiceInfo =
            serde_json::from_str(r#"{"clusters":"a, b,,c","hosts":[]}"#).unwrap();
        assert_eq!(info.clusters, ["a", "b", "c"]);
        let none: ServiceInfo = serde_json::from_str(r#"{"clusters":null,"hosts":[]}"#).unwrap();
        assert!(none.clusters.is_empty());
        let text = serde_json::to_string(&info).unwrap();
        assert!(text.contains(r#""clusters":"a,b,c""#), "{text}");
    }
}
