//! Tolerant decoding: `null` means "default", and string maps accept any value.

use std::collections::HashMap;

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
pub(crate) fn string_map<'de, D>(d: D) -> Result<HashMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<HashMap<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}
