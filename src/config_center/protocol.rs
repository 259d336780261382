//! The long-poll wire format: `Listening-Configs` and the changed-key answer.
//!
//! A request lists each key as `dataId ^B group ^B md5 [^B tenant] ^A`
//! (`^B` = `\x02`, `^A` = `\x01`); the tenant is left out for the public
//! namespace. The answer lists changed keys as `dataId ^B group [^B tenant] ^A`,
//! URL-encoded (`+` for space), possibly followed by a newline; an empty
//! answer (or 204) means nothing changed.

use crate::config_center::key::ConfigKey;

const FIELD: char = '\x02';
const ITEM: char = '\x01';

/// The most keys one long-poll request carries (Java client and server
/// use the same batch size).
pub(crate) const BATCH: usize = 3000;

/// Encodes `(key, md5)` pairs as a `Listening-Configs` value.
pub(crate) fn encode_listening<'a>(
    items: impl IntoIterator<Item = (&'a ConfigKey, &'a str)>,
) -> String {
    let mut out = String::new();
    for (key, md5) in items {
        out.push_str(&key.data_id);
        out.push(FIELD);
        out.push_str(&key.group);
        out.push(FIELD);
        out.push_str(md5);
        if !key.namespace.is_empty() {
            out.push(FIELD);
            out.push_str(&key.namespace);
        }
        out.push(ITEM);
    }
    out
}

/// Decodes the long poll's answer into the keys that changed. Malformed
/// items are skipped.
pub(crate) fn decode_changed(body: &str) -> Vec<ConfigKey> {
    let decoded = percent_decode(body.trim());
    decoded
        .split(ITEM)
        .filter(|item| !item.trim().is_empty())
        .filter_map(|item| {
            let mut fields = item.split(FIELD);
            let data_id = fields.next()?.trim();
            let group = fields.next()?;
            let namespace = fields.next().unwrap_or("");
            if data_id.is_empty() || group.is_empty() {
                log::debug!("nacos: malformed changed-config item {item:?}");
                return None;
            }
            Some(ConfigKey {
                namespace: if namespace == "public" { "" } else { namespace }.to_string(),
                group: group.to_string(),
                data_id: data_id.to_string(),
            })
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` for a space, `%XX`
/// by `percent-encoding` (invalid escapes kept as they are, invalid UTF-8
/// replaced).
fn percent_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: &str, group: &str, data_id: &str) -> ConfigKey {
        ConfigKey::new(ns, group, data_id)
    }

    #[test]
    fn encodes_with_and_without_tenant() {
        let a = key("", "G", "a.yaml");
        let b = key("dev", "DEFAULT_GROUP", "b");
        let md5 = "0cc175b9c0f1b6a831c399e269772661";
        assert_eq!(
            encode_listening([(&a, ""), (&b, md5)]),
            format!("a.yaml\x02G\x02\x01b\x02DEFAULT_GROUP\x02{md5}\x02dev\x01")
        );
        assert_eq!(encode_listening(std::iter::empty()), "");
    }

    #[test]
    fn decodes_server_answers() {
        // r-nacos: form-encoded, newline at the end.
        assert_eq!(
            decode_changed("a.yaml%02G%01b%02DEFAULT_GROUP%02dev%01\n"),
            vec![key("", "G", "a.yaml"), key("dev", "DEFAULT_GROUP", "b")]
        );
        // Java Nacos: the same, tenant `public` meaning the public namespace.
        assert_eq!(
            decode_changed("x%3Ay%02G%02public%01"),
            vec![key("", "G", "x:y")]
        );
        assert!(decode_changed("").is_empty());
        // A broken escape is kept as it is; `+` is a space.
        assert_eq!(
            decode_changed("a%zz%02G+1%01"),
            vec![key("", "G 1", "a%zz")]
        );
        assert!(decode_changed("\n").is_empty());
        assert_eq!(
            decode_changed("only-data-id%01a%02b%01"),
            vec![key("", "b", "a")]
        );
        assert_eq!(percent_decode("a+b%2%zz%41"), "a b%2%zzA");
    }

    #[test]
    fn round_trip_through_the_server_encoding() {
        let keys = [key("", "G", "a"), key("ns-1", "g.2:x", "d_3-y")];
        let md5s = ["", ""];
        let wire = encode_listening(keys.iter().zip(md5s));
        // What a server echoes for changed keys: the same items minus md5.
        let echoed: String = wire
            .split(ITEM)
            .filter(|s| !s.is_empty())
            .map(|item| {
                let f: Vec<&str> = item.split(FIELD).collect();
                let mut back = vec![f[0], f[1]];
                back.extend(f.get(3));
                format!("{}{ITEM}", back.join("\x02"))
            })
            .collect();
        let encoded = echoed.replace('\x02', "%02").replace('\x01', "%01");
        assert_eq!(decode_changed(&encoded), keys.to_vec());
    }
}
