//! Tolerant decoding: `null` means "default", and string maps accept any value.

use std::collections::HashMap;

use std::fmt;

use serde::de::{MapAccess, Visitor};
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
    Ok(Option::<StringMap>::deserialize(d)?.unwrap_or_default().0)
}

#[derive(Default)]
struct StringMap(HashMap<String, String>);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(k) = map.next_key::<String>()? {
                    if let Some(v) = map.next_value::<AnyAsString>()?.0 {
                        out.insert(k, v);
                    }
                }
                Ok(StringMap(out))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// A string as is; `null` as `None`; anything else as its JSON text.
struct AnyAsString(Option<String>);

impl<'de> Deserialize<'de> for AnyAsString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(AnyAsString(None)),
            serde_json::Value::String(s) => Ok(AnyAsString(Some(s))),
            other => Ok(AnyAsString(Some(other.to_string()))),
        }
    }
}
