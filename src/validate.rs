//! Client-side checks, run before any request is sent.
//!
//! They mirror what Java Nacos enforces (and r-nacos does not always):
//! group, service and data ids `[0-9a-zA-Z.:_-]+` without `@@`, cluster
//! names `[0-9a-zA-Z-]+`, ports 1..=65535, weights finite in 0..=10000.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::error::{Error, Result};

/// The largest weight Nacos accepts.
pub(crate) const MAX_WEIGHT: f64 = 10_000.0;

/// The heartbeat timeout servers apply when an instance sets none.
pub(crate) const DEFAULT_HEART_BEAT_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest heartbeat interval instance metadata may set (a day).
const MAX_HEART_BEAT_INTERVAL_MS: u64 = 24 * 3600 * 1000;

/// Metadata key: heartbeat interval in milliseconds.
pub(crate) const HEART_BEAT_INTERVAL: &str = "preserved.heart.beat.interval";
/// Metadata key: after this many milliseconds without a beat the instance is unhealthy.
pub(crate) const HEART_BEAT_TIMEOUT: &str = "preserved.heart.beat.timeout";
/// Metadata key: after this many milliseconds without a beat the instance is removed.
pub(crate) const IP_DELETE_TIMEOUT: &str = "preserved.ip.delete.timeout";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-')
}

/// A group, service name or config data id: `[0-9a-zA-Z.:_-]+`, never `@@`.
pub(crate) fn name(field: &'static str, value: &str) -> Result<()> {
    // The common case in one pass over the bytes (`@` is not a name
    // character, so no `@@` either); the checks below say what is wrong.
    if !value.is_empty() && value.chars().all(is_name_char) {
        return Ok(());
    }
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.contains("@@") {
        return Err(Error::invalid(
            field,
            format!("`{value}` must not contain `@@`"),
        ));
    }
    if let Some(c) = value.chars().find(|c| !is_name_char(*c)) {
        return Err(Error::invalid(
            field,
            format!("`{value}` contains `{c}`; allowed are 0-9 a-z A-Z . : _ -"),
        ));
    }
    Ok(())
}

/// A namespace id: like a name, but empty means the public namespace.
pub(crate) fn namespace(value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    name("namespace", value)
}

/// A cluster name: `[0-9a-zA-Z-]+`.
pub(crate) fn cluster(value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid("cluster", "must not be empty"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(Error::invalid(
            "cluster",
            format!("`{value}` contains `{c}`; allowed are 0-9 a-z A-Z -"),
        ));
    }
    Ok(())
}

/// An instance address: a literal IPv4 or IPv6 address, or an RFC 1123
/// host name (letters, digits, `-` and `.`; at most 253 characters, labels
/// of 1 to 63 characters that neither start nor end with `-`). Java Nacos
/// takes host names as instance `ip`: 1.4.8 `naming/core/Instance.validate`
/// checks the address syntax only when it is all digits and dots, and
/// 2.4.3 `NamingUtils.checkInstanceIsLegal` checks only heartbeat settings.
/// What never passes: spaces, `&`, `=`, control characters, empty, and an
/// all-digits-and-dots string that is not an IPv4 address.
pub(crate) fn ip(value: &str) -> Result<()> {
    if value.parse::<IpAddr>().is_ok() || is_host_name(value) {
        return Ok(());
    }
    Err(Error::invalid(
        "ip",
        format!(
            "`{}` is neither an IP address nor a host name",
            value.escape_debug()
        ),
    ))
}

/// RFC 1123 host name (a trailing dot, the DNS root, is not accepted).
fn is_host_name(value: &str) -> bool {
    if value.is_empty() || value.len() > 253 {
        return false;
    }
    // All digits and dots is an IPv4 attempt that failed to parse (e.g.
    // `10.0.0.256`), not a name.
    if value.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return false;
    }
    value.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// A port other than 0.
pub(crate) fn port(value: u16) -> Result<()> {
    if value == 0 {
        return Err(Error::invalid("port", "must be 1..=65535"));
    }
    Ok(())
}

/// A finite weight in `0..=10000`.
pub(crate) fn weight(value: f64) -> Result<()> {
    if !value.is_finite() || !(0.0..=MAX_WEIGHT).contains(&value) {
        return Err(Error::invalid(
            "weight",
            format!("{value} is not a finite number in 0..=10000"),
        ));
    }
    Ok(())
}

/// The heartbeat keys of instance metadata, when present, are numbers and
/// the interval is below both timeouts.
pub(crate) fn heartbeat_metadata(metadata: &HashMap<String, String>) -> Result<()> {
    let read = |key: &str| -> Result<Option<u64>> {
        match metadata.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                Error::invalid("metadata", format!("`{key}` = `{v}` is not a number of ms"))
            }),
        }
    };
    let interval = read(HEART_BEAT_INTERVAL)?;
    let timeout = read(HEART_BEAT_TIMEOUT)?;
    let delete = read(IP_DELETE_TIMEOUT)?;
    if interval == Some(0) {
        return Err(Error::invalid(
            "metadata",
            format!("`{HEART_BEAT_INTERVAL}` must be above 0"),
        ));
    }
    if interval.is_some_and(|ms| ms > MAX_HEART_BEAT_INTERVAL_MS) {
        return Err(Error::invalid(
            "metadata",
            format!("`{HEART_BEAT_INTERVAL}` must be at most {MAX_HEART_BEAT_INTERVAL_MS} (a day)"),
        ));
    }
    let interval = interval.unwrap_or(5_000);
    for (key, limit) in [
        (
            HEART_BEAT_TIMEOUT,
            timeout.unwrap_or(DEFAULT_HEART_BEAT_TIMEOUT.as_millis() as u64),
        ),
        (IP_DELETE_TIMEOUT, delete.unwrap_or(30_000)),
    ] {
        if interval >= limit {
            return Err(Error::invalid(
                "metadata",
                format!(
                    "`{HEART_BEAT_INTERVAL}` ({interval} ms) must be below `{key}` ({limit} ms)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "svc-1.v2:x_y", "DEFAULT_GROUP"] {
            name("service_name", ok).unwrap();
        }
        for bad in ["", "a@@b", "bad@@", "has space", "slash/x", "é", "a@b"] {
            assert_eq!(
                name("service_name", bad).unwrap_err().invalid_field(),
                Some("service_name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn clusters_ips_ports_weights() {
        cluster("DEFAULT").unwrap();
        cluster("zone-a1").unwrap();
        assert!(cluster("zone_a").is_err());
        assert!(cluster("").is_err());
        ip("10.0.0.1").unwrap();
        ip("::1").unwrap();
        assert!(ip("10.0.0.256").is_err());
        for host in [
            "localhost",
            "svc-1.example.com",
            "a",
            "x1.y2",
            &"a".repeat(63),
        ] {
            ip(host).unwrap();
        }
        let long = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long.len(), 253);
        ip(&long).unwrap();
        for bad in [
            "",
            "has space",
            "a&b",
            "a=b",
            "tab\there",
            "nl\n",
            "-lead.example",
            "trail-.example",
            "double..dot",
            "trailing.",
            ".leading",
            "under_score",
            "é.example",
            "1.2.3",
            &"a".repeat(64),
            &format!("{long}a"),
        ] {
            assert_eq!(ip(bad).unwrap_err().invalid_field(), Some("ip"), "{bad:?}");
        }
        assert!(port(0).is_err());
        port(1).unwrap();
        weight(0.0).unwrap();
        weight(10_000.0).unwrap();
        for w in [-0.1, f64::NAN, f64::INFINITY, 10_000.5] {
            assert!(weight(w).is_err(), "{w}");
        }
    }

    #[test]
    fn heartbeat_metadata_interval_below_timeouts() {
        let md = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        heartbeat_metadata(&md(&[])).unwrap();
        heartbeat_metadata(&md(&[(HEART_BEAT_INTERVAL, "1000")])).unwrap();
        assert!(heartbeat_metadata(&md(&[(HEART_BEAT_INTERVAL, "20000")])).is_err());
        assert!(heartbeat_metadata(&md(&[
            (HEART_BEAT_INTERVAL, "1000"),
            (HEART_BEAT_TIMEOUT, "1000")
        ]))
        .is_err());
        assert!(heartbeat_metadata(&md(&[
            (HEART_BEAT_INTERVAL, "3000"),
            (HEART_BEAT_TIMEOUT, "5000"),
            (IP_DELETE_TIMEOUT, "2000")
        ]))
        .is_err());
        assert!(heartbeat_metadata(&md(&[(HEART_BEAT_INTERVAL, "x")])).is_err());
        assert!(heartbeat_metadata(&md(&[(HEART_BEAT_INTERVAL, "0")])).is_err());
        let huge = u64::MAX.to_string();
        let below = (u64::MAX - 1).to_string();
        assert!(heartbeat_metadata(&md(&[
            (HEART_BEAT_INTERVAL, below.as_str()),
            (HEART_BEAT_TIMEOUT, huge.as_str()),
            (IP_DELETE_TIMEOUT, huge.as_str())
        ]))
        .is_err());
    }
}
