//! Which HTTP API each server speaks: the Nacos v1 OpenAPI or the v3 API.
//!
//! Nacos 1.x, 2.x, 3.0–3.1 and r-nacos speak v1; Nacos 3.2+ (without the
//! legacy adapter plugin) and batata speak only v2/v3. With
//! [`Api::Auto`] each server is probed once, on first use, and the answer
//! is remembered per server until a connection to it is refused or reset
//! (it may come back upgraded): then it is probed again. A timeout keeps
//! it (a config check the server holds times out by design).
//!
//! The probe asks for the v1 path this client uses least, and only when
//! that is missing (`404`) for the v3 server state:
//! - `GET /nacos/v1/ns/operator/metrics`: any answer but `404` (`200`, or
//!   `403` with auth on) means v1. A server that speaks both is spoken to
//!   in v1, which pushes config changes by long poll and needs no admin
//!   rights for writes.
//! - `GET /nacos/v3/admin/core/state` (Java 3.x
//!   `core/.../controller/v3/ServerStateController`, no `@Secured`): `200`
//!   with a `{code: 0, ...}` envelope means v3.
//!
//! So a v1 server costs one probe, a v3 server two, once each.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::util::{lock, FastHash};

/// Which Nacos HTTP API the client speaks, set with
/// [`ClientBuilder::api`](crate::ClientBuilder::api).
///
/// | server | `Auto` speaks |
/// |---|---|
/// | Nacos 1.x, 2.x, 3.0, 3.1, r-nacos | v1 |
/// | Nacos 3.2+ (no v1 plugin), batata | v3 |
///
/// Where v3 has no push, the client polls instead: config watches read
/// each watched config every
/// [`config_poll_interval`](crate::ClientBuilder::config_poll_interval)
/// (instance lists are polled on both APIs). Writes beyond registering
/// instances (instance updates, services, config publish and remove) go
/// through v3's admin API and need a user with the rights for them when
/// auth is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// Detect what each server speaks on first use (one or two cheap
    /// requests per server, remembered; again after a connection to it was
    /// refused or reset). Servers of a mixed cluster are each spoken to in
    /// their own API.
    #[default]
    Auto,
    /// The v1 OpenAPI (`/nacos/v1/...`) for every server.
    V1,
    /// The v3 API (`/nacos/v3/...`) for every server.
    V3,
}

/// The API one request is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dialect {
    V1,
    V3,
}

impl Dialect {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::V1 => "v1",
            Dialect::V3 => "v3",
        }
    }
}

/// The v1 probe: a path every v1 server has and a v3-only server lacks.
pub(crate) const V1_PROBE: &str = "/v1/ns/operator/metrics";

/// The v3 probe: the server state, answered without auth.
pub(crate) const V3_PROBE: &str = "/v3/admin/core/state";

/// What a probe found out about one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probed {
    Speaks(Dialect),
    /// Not this API (404); try the next probe.
    Not,
}

/// Reads the v1 probe's answer status.
pub(crate) fn read_v1_probe(status: u16) -> Probed {
    match status {
        404 | 405 | 501 => Probed::Not,
        _ => Probed::Speaks(Dialect::V1),
    }
}

/// Reads the v3 probe's answer: a 2xx envelope with code 0.
pub(crate) fn read_v3_probe(status: u16, body: &str) -> Probed {
    #[derive(serde::Deserialize)]
    struct Envelope {
        code: i64,
    }
    let ok = (200..300).contains(&status)
        && serde_json::from_str::<Envelope>(body).is_ok_and(|e| e.code == 0);
    if ok {
        Probed::Speaks(Dialect::V3)
    } else {
        Probed::Not
    }
}

/// What each server speaks: fixed by [`Api`], or detected per server.
#[derive(Debug)]
pub(crate) struct Dialects {
    api: Api,
    /// Detected so far, by server label.
    known: Mutex<HashMap<String, Dialect, FastHash>>,
}

impl Dialects {
    pub(crate) fn new(api: Api) -> Dialects {
        Dialects {
            api,
            known: Mutex::new(HashMap::default()),
        }
    }

    /// What `server` speaks, if fixed or already detected.
    pub(crate) fn get(&self, server: &str) -> Option<Dialect> {
        match self.api {
            Api::V1 => Some(Dialect::V1),
            Api::V3 => Some(Dialect::V3),
            Api::Auto => lock(&self.known).get(server).copied(),
        }
    }

    /// Records what `server` speaks; logs it (once per change).
    pub(crate) fn learn(&self, server: &str, dialect: Dialect) {
        let before = lock(&self.known).insert(server.to_string(), dialect);
        if before != Some(dialect) {
            log::info!(
                "nacos: {server} speaks the Nacos {} HTTP API",
                dialect.name()
            );
        }
    }

    /// Forgets what `server` speaks: it did not answer, and may come back
    /// as another version.
    pub(crate) fn forget(&self, server: &str) {
        if self.api == Api::Auto {
            lock(&self.known).remove(server);
        }
    }

    /// What the servers seen so far speak; for the choice between a long
    /// poll and polling.
    pub(crate) fn any_known(&self, dialect: Dialect) -> bool {
        match self.api {
            Api::V1 => dialect == Dialect::V1,
            Api::V3 => dialect == Dialect::V3,
            Api::Auto => lock(&self.known).values().any(|d| *d == dialect),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_read_as_documented() {
        assert_eq!(read_v1_probe(200), Probed::Speaks(Dialect::V1));
        assert_eq!(read_v1_probe(403), Probed::Speaks(Dialect::V1));
        assert_eq!(read_v1_probe(404), Probed::Not);
        let state = r#"{"code":0,"message":"success","data":{"version":"3.2.0"}}"#;
        assert_eq!(read_v3_probe(200, state), Probed::Speaks(Dialect::V3));
        assert_eq!(read_v3_probe(404, state), Probed::Not);
        assert_eq!(read_v3_probe(200, "<html>"), Probed::Not);
        assert_eq!(read_v3_probe(200, r#"{"code":30000}"#), Probed::Not);
    }

    #[test]
    fn detection_is_per_server_and_forgotten_on_outage() {
        let d = Dialects::new(Api::Auto);
        assert_eq!(d.get("a:1"), None);
        d.learn("a:1", Dialect::V3);
        d.learn("b:1", Dialect::V1);
        assert_eq!(d.get("a:1"), Some(Dialect::V3));
        assert!(d.any_known(Dialect::V1) && d.any_known(Dialect::V3));
        d.forget("a:1");
        assert_eq!(d.get("a:1"), None);
        assert!(!d.any_known(Dialect::V3));
        let fixed = Dialects::new(Api::V3);
        fixed.forget("a:1");
        assert_eq!(fixed.get("a:1"), Some(Dialect::V3));
    }
}
