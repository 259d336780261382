//! Which HTTP API each server speaks: the Nacos v1 OpenAPI or the v3 API.
//!
//! Nacos 1.x, 2.x, 3.0–3.1 and r-nacos speak v1; Nacos 3.2+ (without the
//! legacy adapter plugin) and batata speak only v2/v3. With
//! [`Api::Auto`] each server is probed once, on first use, and the answer
//! is remembered per server until a connection to it is refused or reset
//! (it may come back upgraded): then it is probed again. A timeout keeps
//! it (a config check the server holds times out by design).
//!
//! The probes ask what only a server of that generation answers, in one
//! round, without a token:
//! - `GET /nacos/v1/ns/operator/metrics?onlyStatus=false`: a `200` whose
//!   JSON carries the counters a v1 naming module reports (`serviceCount`,
//!   `instanceCount`: Java 1.4.8, 2.4.3 and 3.0.3 `OperatorController#metrics`)
//!   means v1, and nothing more is asked. A bare `200` is not
//!   enough: Nacos 3.2+ keeps this one path for old clients and answers
//!   `{"status":"UP"}` whatever is asked, with every other v1 path gone
//!   (alibaba/nacos #14050; 3.2 `OperatorMetricsV1Controller`).
//! - Otherwise `GET /nacos/v3/admin/core/state` (Java 3.x
//!   `core/.../controller/v3/ServerStateController`, no `@Secured`): a `200`
//!   `{code: 0, data: {version, ...}}` envelope means the v3 API is there.
//!   A server reporting 3.0 or 3.1 whose v1 metrics path exists (it
//!   answered, say `403` with auth on, or `410` where the compatibility
//!   filter gates it) is spoken to in v1: those versions keep the v1
//!   client calls and the config long poll open by default. Any other v3
//!   server (3.2+, batata, a version it does not state) gets v3.
//! - No v3 state: v1 when the metrics path answered at all (r-nacos 0.8,
//!   which answers the status alone; an older server with auth on), else
//!   the server speaks neither API.
//!
//! Nacos 3.0 and 3.1 refuse the v1 *admin* calls by default (instance
//! update and detail, services, namespaces: `ApiCompatibilityFilter`
//! answers HTTP `410`; `nacos.core.api.compatibility.admin.enabled` and
//! `.console.enabled` default to `false`). A v1 call answered `410` is
//! made again at once in v3 on that server, and that call (method and
//! path) goes to v3 there from then on (`Dialects::gate`); a server whose
//! admin compatibility is switched on never answers `410`, and keeps v1.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::transport::{envelope, Method};
use crate::util::{lock, FastHash};

/// Which Nacos HTTP API the client speaks, set with
/// [`ClientBuilder::api`](crate::ClientBuilder::api).
///
/// | server | `Auto` speaks |
/// |---|---|
/// | Nacos 1.x, 2.x, r-nacos, 3.2+ with the legacy adapter | v1 |
/// | Nacos 3.0, 3.1 | v1; v3 admin for the calls their default switches refuse (HTTP 410) |
/// | Nacos 3.2+ (no legacy adapter), batata | v3 |
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

/// The v1 probe: the naming metrics with every counter. 2.x and 3.0/3.1
/// answer only `{"status":"UP"}` unless asked for more (2.4.3 and 3.0.3
/// `OperatorController#metrics`: `onlyStatus` defaults to `true`); 1.4.8
/// sends every counter anyway; 3.2+ sends only the status whatever is
/// asked (`OperatorMetricsV1Controller`, "onlyStatus=true only"), and so
/// does r-nacos 0.8 (which has no v3 state, so it is taken for v1 after
/// the second probe).
pub(crate) const V1_PROBE: &str = "/v1/ns/operator/metrics?onlyStatus=false";

/// The v3 probe: the server state, answered without auth.
pub(crate) const V3_PROBE: &str = "/v3/admin/core/state";

/// What the v1 probe's answer says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum V1Probe {
    /// The counters only a v1 naming module reports: v1.
    Real,
    /// The path is there but says nothing about the API behind it (`403`
    /// with auth on, `410` where gated, 3.2's bare `{"status":"UP"}`).
    Answered,
    /// No such path (`404`, `405`, `501`).
    Missing,
}

/// Fields of the v1 metrics answer that 1.x, 2.x and 3.0/3.1
/// (`OperatorController#metrics` with `onlyStatus=false`) send, and 3.2's
/// stand-in does not (nor r-nacos 0.8: status alone).
const V1_METRICS_FIELDS: [&str; 2] = ["serviceCount", "instanceCount"];

/// Reads the v1 probe's answer.
pub(crate) fn read_v1_probe(status: u16, body: &str) -> V1Probe {
    match status {
        404 | 405 | 501 => V1Probe::Missing,
        200..=299 => {
            let fields = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body);
            if fields.is_ok_and(|f| V1_METRICS_FIELDS.iter().any(|k| f.contains_key(*k))) {
                V1Probe::Real
            } else {
                V1Probe::Answered
            }
        }
        _ => V1Probe::Answered,
    }
}

/// What the v3 probe's answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum V3Probe {
    /// The v3 API is there; the server's `version`, if it states one.
    Serves(Option<String>),
    /// Not a v3 server state.
    Not,
}

/// Reads the v3 probe's answer: a 2xx envelope with code 0.
pub(crate) fn read_v3_probe(status: u16, body: &str) -> V3Probe {
    #[derive(serde::Deserialize)]
    struct State {
        version: Option<String>,
    }
    if !(200..300).contains(&status) {
        return V3Probe::Not;
    }
    match envelope::open::<State>("server state", body) {
        Ok(Ok(data)) => V3Probe::Serves(data.and_then(|d| d.version)),
        _ => V3Probe::Not,
    }
}

/// Whether a stated version is Nacos 3.0 or 3.1: the v3 API beside the v1
/// client API (`3.0.3`, `3.1.0-BETA`, ...).
fn is_3_0_or_3_1(version: &str) -> bool {
    let mut parts = version.trim().split(['.', '-']);
    matches!((parts.next(), parts.next()), (Some("3"), Some("0" | "1")))
}

/// What a server speaks, from both probes' answers (`None`: neither API).
pub(crate) fn decide(v1: V1Probe, v3: &V3Probe) -> Option<Dialect> {
    match (v1, v3) {
        (V1Probe::Real, _) => Some(Dialect::V1),
        (V1Probe::Answered, V3Probe::Serves(Some(version))) if is_3_0_or_3_1(version) => {
            Some(Dialect::V1)
        }
        (_, V3Probe::Serves(_)) => Some(Dialect::V3),
        (V1Probe::Answered, V3Probe::Not) => Some(Dialect::V1),
        (V1Probe::Missing, V3Probe::Not) => None,
    }
}

/// One call as a server's compatibility filter sees it: method and v1 path.
pub(crate) type Call = (Method, &'static str);

/// What each server speaks: fixed by [`Api`], or detected per server; and
/// the v1 calls a server refused with `410` (Nacos 3.0/3.1 gates), which go
/// to v3 on that server.
#[derive(Debug)]
pub(crate) struct Dialects {
    api: Api,
    /// Detected so far, by server label.
    known: Mutex<HashMap<String, Dialect, FastHash>>,
    /// Gated v1 calls, by server label.
    gated: Mutex<HashMap<String, Vec<Call>, FastHash>>,
    /// Whether `gated` holds anything: a client of servers that gate
    /// nothing never takes its lock.
    any_gated: AtomicBool,
}

impl Dialects {
    pub(crate) fn new(api: Api) -> Dialects {
        Dialects {
            api,
            known: Mutex::new(HashMap::default()),
            gated: Mutex::new(HashMap::default()),
            any_gated: AtomicBool::new(false),
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

    /// Forgets what `server` speaks and gates: it did not answer, and may
    /// come back as another version.
    pub(crate) fn forget(&self, server: &str) {
        if self.api == Api::Auto {
            lock(&self.known).remove(server);
        }
        if self.any_gated.load(Ordering::Relaxed) {
            lock(&self.gated).remove(server);
        }
    }

    /// Whether `server` refused the v1 form of `call` with `410`.
    pub(crate) fn is_gated(&self, server: &str, call: Call) -> bool {
        self.any_gated.load(Ordering::Relaxed)
            && lock(&self.gated)
                .get(server)
                .is_some_and(|calls| calls.contains(&call))
    }

    /// Records that `server` refused the v1 form of `call` with `410`;
    /// logs it once per server and call.
    pub(crate) fn gate(&self, server: &str, call: Call) {
        let mut gated = lock(&self.gated);
        let calls = gated.entry(server.to_string()).or_default();
        if !calls.contains(&call) {
            calls.push(call);
            self.any_gated.store(true, Ordering::Relaxed);
            log::info!(
                "nacos: {server} refuses the v1 call {} {} (HTTP 410: Nacos 3.0/3.1 \
                 API compatibility off); it goes through the v3 admin API there",
                call.0.name(),
                call.1
            );
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
        // Java 2.4.3 `OperatorController#metrics` with `onlyStatus=false`
        // (trimmed), and 1.4.8's whole answer.
        let v2 = r#"{"status":"UP","serviceCount":3,"instanceCount":5,"subscribeCount":0}"#;
        let v1 = r#"{"serviceCount":1,"load":0.1,"mem":0.5,"responsibleServiceCount":1,"instanceCount":1,"cpu":0.0,"status":"UP","responsibleInstanceCount":0}"#;
        assert_eq!(read_v1_probe(200, v2), V1Probe::Real);
        assert_eq!(read_v1_probe(200, v1), V1Probe::Real);
        // Nacos 3.2+ keeps the path with nothing behind it (#14050).
        assert_eq!(read_v1_probe(200, r#"{"status":"UP"}"#), V1Probe::Answered);
        assert_eq!(read_v1_probe(200, "<html>"), V1Probe::Answered);
        assert_eq!(read_v1_probe(200, "[1]"), V1Probe::Answered);
        assert_eq!(read_v1_probe(403, ""), V1Probe::Answered);
        assert_eq!(read_v1_probe(410, ""), V1Probe::Answered);
        assert_eq!(read_v1_probe(404, v2), V1Probe::Missing);
        let state = r#"{"code":0,"message":"success","data":{"version":"3.2.0"}}"#;
        assert_eq!(
            read_v3_probe(200, state),
            V3Probe::Serves(Some("3.2.0".into()))
        );
        assert_eq!(
            read_v3_probe(200, r#"{"code":0,"data":"up"}"#),
            V3Probe::Not,
            "data must be a state"
        );
        assert_eq!(
            read_v3_probe(200, r#"{"code":0,"data":{}}"#),
            V3Probe::Serves(None)
        );
        assert_eq!(read_v3_probe(404, state), V3Probe::Not);
        assert_eq!(read_v3_probe(200, "<html>"), V3Probe::Not);
        assert_eq!(read_v3_probe(200, "[0]"), V3Probe::Not);
        assert_eq!(read_v3_probe(200, r#"{"code":30000}"#), V3Probe::Not);
    }

    #[test]
    fn each_generation_gets_its_api() {
        let v = |s: &str| V3Probe::Serves(Some(s.into()));
        use V1Probe::*;
        // 1.x, 2.x, 3.0/3.1 and 3.2+ with the legacy adapter: one probe.
        assert_eq!(decide(Real, &V3Probe::Not), Some(Dialect::V1));
        // r-nacos 0.8 (status alone), 1.x/2.x with auth on: no v3.
        assert_eq!(decide(Answered, &V3Probe::Not), Some(Dialect::V1));
        // 3.0/3.1: metrics gated (410) or refused (403), v3 says 3.0/3.1.
        assert_eq!(decide(Answered, &v("3.0.3")), Some(Dialect::V1));
        assert_eq!(decide(Answered, &v("3.1.0-BETA")), Some(Dialect::V1));
        // 3.2+: `{"status":"UP"}` on the kept path, v3 says so.
        assert_eq!(decide(Answered, &v("3.2.0")), Some(Dialect::V3));
        assert_eq!(decide(Answered, &v("3.10.1")), Some(Dialect::V3));
        assert_eq!(decide(Answered, &V3Probe::Serves(None)), Some(Dialect::V3));
        // batata, a 3.2 fixture without the path: v3 whatever it states.
        assert_eq!(decide(Missing, &v("3.1.0")), Some(Dialect::V3));
        assert_eq!(decide(Missing, &V3Probe::Not), None);
        assert!(!is_3_0_or_3_1("30.1") && !is_3_0_or_3_1("2.4.3") && !is_3_0_or_3_1(""));
    }

    #[test]
    fn gated_calls_are_remembered_per_server_and_forgotten_on_outage() {
        let d = Dialects::new(Api::Auto);
        let update = (Method::Put, "/v1/ns/instance");
        assert!(!d.is_gated("a:1", update));
        d.gate("a:1", update);
        d.gate("a:1", update);
        assert!(d.is_gated("a:1", update));
        assert!(!d.is_gated("b:1", update));
        assert!(!d.is_gated("a:1", (Method::Get, "/v1/ns/instance")));
        d.forget("a:1");
        assert!(!d.is_gated("a:1", update));
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
