//! The heartbeat wire models: what a beat says and what the server answers.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::naming::instance::Instance;
use crate::naming::service::{ServiceKey, GROUP_SEPARATOR};
use crate::validate::{DEFAULT_HEART_BEAT_TIMEOUT, HEART_BEAT_INTERVAL, HEART_BEAT_TIMEOUT};

/// The server's code for "I do not know this instance".
pub(crate) const BEAT_NOT_FOUND: i64 = 20404;

/// The `beat` JSON of a full heartbeat, borrowing the service and the
/// instance it is about: built for each beat sent without allocating (the
/// heartbeat table keeps only the instance and its period, so a
/// registration builds no beat).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct BeatInfo<'a> {
    /// Written as the grouped name, `group@@name`.
    #[serde(rename = "serviceName", serialize_with = "grouped_name")]
    pub(crate) service: &'a ServiceKey,
    pub(crate) ip: &'a str,
    pub(crate) port: u16,
    pub(crate) cluster: &'a str,
    pub(crate) weight: f64,
    pub(crate) metadata: &'a HashMap<String, String>,
    /// Not in v1's beat JSON; a v3 beat carries it (see `v3::beat_request`).
    #[serde(skip)]
    pub(crate) enabled: bool,
    /// The beat period in ms.
    pub(crate) period: u64,
    pub(crate) scheduled: bool,
    pub(crate) stopped: bool,
}

impl<'a> BeatInfo<'a> {
    /// A beat sent by hand: its period is the instance's own interval or
    /// Java's default 5 s.
    pub(crate) fn new(key: &'a ServiceKey, inst: &'a Instance) -> BeatInfo<'a> {
        let period = interval_of(inst, Duration::from_secs(5)).as_millis() as u64;
        BeatInfo::with_period(key, inst, period, false)
    }

    /// A beat of the heartbeat scheduler, every `period` ms.
    pub(crate) fn scheduled(key: &'a ServiceKey, inst: &'a Instance, period: u64) -> BeatInfo<'a> {
        BeatInfo::with_period(key, inst, period, true)
    }

    fn with_period(
        key: &'a ServiceKey,
        inst: &'a Instance,
        period: u64,
        scheduled: bool,
    ) -> BeatInfo<'a> {
        BeatInfo {
            service: key,
            ip: &inst.ip,
            port: inst.port,
            cluster: &inst.cluster_name,
            weight: inst.weight,
            metadata: &inst.metadata,
            enabled: inst.enabled,
            period,
            scheduled,
            stopped: false,
        }
    }
}

/// A service key as `group@@name`, written straight into the serializer.
fn grouped_name<S: serde::Serializer>(
    key: &&ServiceKey,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}{GROUP_SEPARATOR}{}", key.group, key.name))
}

/// The instance's own beat interval (metadata), or `default`.
pub(crate) fn interval_of(inst: &Instance, default: Duration) -> Duration {
    interval_of_metadata(inst).unwrap_or(default)
}

/// The instance's own beat interval, when its metadata sets one.
pub(crate) fn interval_of_metadata(inst: &Instance) -> Option<Duration> {
    inst.metadata
        .get(HEART_BEAT_INTERVAL)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// What the server answered to a heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BeatResult {
    /// The interval the server asks for, in ms (`None` when it sent none,
    /// or a negative number or no number at all).
    #[serde(default, deserialize_with = "lenient_ms")]
    pub client_beat_interval: Option<u64>,
    /// `10200` when the beat was taken; `20404` when the server has lost
    /// the instance (it must be registered again).
    #[serde(default)]
    pub code: Option<i64>,
    /// Whether later beats may leave the instance details out.
    #[serde(default)]
    pub light_beat_enabled: bool,
}

/// A number of ms as servers send it: negative or unreadable means none,
/// a float is cut, a string holding a number is read.
fn lenient_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

impl BeatResult {
    pub(crate) fn parse(body: &str) -> Result<BeatResult> {
        let body_trim = body.trim();
        if body_trim.is_empty() || body_trim == "ok" {
            return Ok(BeatResult::default());
        }
        serde_json::from_str(body_trim).map_err(|e| Error::decode("beat answer", e, body))
    }

    /// `true` when the server says it does not know the instance.
    pub fn instance_not_found(&self) -> bool {
        self.code == Some(BEAT_NOT_FOUND)
    }

    /// The interval the server asks for, if it sent one.
    pub fn interval(&self) -> Option<Duration> {
        self.client_beat_interval
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// The interval the server asks for, if it sent one, but never longer
    /// than four fifths of `inst`'s heartbeat timeout (its metadata, else
    /// the server default of 15 s): advice beyond it (a day, `i64::MAX`
    /// ms) would let the instance expire, so it is clamped and logged.
    pub(crate) fn advised(&self, inst: &Instance) -> Option<Duration> {
        let advised = self.interval()?;
        let timeout = inst
            .metadata
            .get(HEART_BEAT_TIMEOUT)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(DEFAULT_HEART_BEAT_TIMEOUT, Duration::from_millis);
        let limit = timeout - timeout / 5;
        if advised > limit {
            log::debug!(
                "nacos: server advised a heartbeat interval of {advised:?} for {}:{}; using {limit:?} (its heartbeat timeout is {timeout:?})",
                inst.ip,
                inst.port
            );
            return Some(limit);
        }
        Some(advised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_answers() {
        let r = BeatResult::parse(
            r#"{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}"#,
        )
        .unwrap();
        assert_eq!(r.interval(), Some(Duration::from_secs(5)));
        assert!(r.light_beat_enabled && !r.instance_not_found());
        assert!(BeatResult::parse(r#"{"code":20404}"#)
            .unwrap()
            .instance_not_found());
        assert_eq!(BeatResult::parse("ok").unwrap(), BeatResult::default());
        assert!(BeatResult::parse("<html>").is_err());
    }

    #[test]
    fn advised_intervals_stay_below_the_heartbeat_timeout() {
        let inst = Instance::builder("1.1.1.1", 80).build();
        let advice = |json: &str| BeatResult::parse(json).unwrap().advised(&inst);
        assert_eq!(
            advice(r#"{"clientBeatInterval":5000}"#),
            Some(Duration::from_secs(5))
        );
        for huge in ["86400000", "9223372036854775807", "18446744073709551615"] {
            let json = format!(r#"{{"clientBeatInterval":{huge}}}"#);
            assert_eq!(advice(&json), Some(Duration::from_secs(12)), "{huge}");
        }
        assert_eq!(advice(r#"{"clientBeatInterval":0}"#), None);
        assert_eq!(advice("ok"), None);
        let slow = Instance::builder("1.1.1.1", 80)
            .metadata(HEART_BEAT_TIMEOUT, "60000")
            .build();
        let r = BeatResult::parse(r#"{"clientBeatInterval":86400000}"#).unwrap();
        assert_eq!(r.advised(&slow), Some(Duration::from_secs(48)));
        // A negative or odd interval is no advice; the answer still counts.
        for odd in ["-1", "-9223372036854775808", "\"x\"", "null", "1e400"] {
            let json = format!(r#"{{"clientBeatInterval":{odd},"code":10200}}"#);
            match BeatResult::parse(&json) {
                Ok(r) => assert!(r.advised(&inst) <= Some(Duration::from_secs(12)), "{odd}"),
                Err(e) => assert!(odd == "1e400", "{odd}: {e}"),
            }
        }
        assert_eq!(
            advice(r#"{"clientBeatInterval":-1}"#),
            None,
            "negative is no advice"
        );
    }

    #[test]
    fn beat_json_uses_grouped_name_and_metadata_interval() {
        let key = ServiceKey {
            namespace: String::new(),
            group: "G".into(),
            name: "s".into(),
        };
        let inst = Instance::builder("1.1.1.1", 80)
            .metadata(HEART_BEAT_INTERVAL, "1000")
            .build();
        let b = BeatInfo::new(&key, &inst);
        assert_eq!(b.period, 1000);
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.contains(r#""serviceName":"G@@s""#), "{json}");
    }
}
