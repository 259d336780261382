//! The v1 paths of the fake Nacos 3 server, per generation
//! ([`Generation`]): what Java Nacos 3.x as shipped still answers under
//! `/nacos/v1/`. Everything here works on the same in-memory state as the
//! v3 paths (`mod.rs`), so a call made in v1 and one made in v3 see each
//! other, as on a real server.
//!
//! Sources (`alibaba/nacos`, tag `3.0.3`; `develop` at 3.1.0-SNAPSHOT has
//! the same controllers, filter and config):
//! - The gate: `core/.../controller/compatibility/ApiCompatibilityFilter`
//!   L78–108 checks each handler's `@Compatibility(apiType)`; a refused
//!   call gets `response.sendError(SC_GONE, …)` (L127) with code 40000
//!   `API_DEPRECATED` in the message, so Spring's error page is the body.
//!   `ApiCompatibilityConfig` L58–60: `client.enabled=true`,
//!   `admin.enabled=false`, `console.enabled=false`.
//! - OPEN_API (open by default): `InstanceController` register L116,
//!   deregister L146, list L335, beat L400; `ServiceController#list` L171;
//!   `OperatorController#metrics` L156 (no `@Secured`; `onlyStatus`
//!   defaults to `true`, L158); `ConfigController` publish L160, get L239,
//!   delete L298, listener L358; `UserController#login` L276.
//! - ADMIN_API (410 by default): `InstanceController` update L173, detail
//!   L364, patch L292; `ServiceController` create L105, remove L133, detail
//!   L155, update L197. CONSOLE_API: `/v1/console/namespaces`
//!   (`console/.../NamespaceController` L78).
//! - Nacos 3.2 (alibaba/nacos #14050; `OperatorMetricsV1Controller` L49–55
//!   "onlyStatus=true only", and the login-only `UserController`): every v1
//!   path moved to the legacy adapter but `GET /v1/ns/operator/metrics`,
//!   answering `{"status":"UP"}` whatever is asked, and
//!   `POST /v1/auth/users/login`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    instance_json, key, response, spring_error, Answer, ApiError, Auth, FakeInstance, Inner,
    Params, Reply, Service, Stored,
};
use crate::support::proxy::Recorded;

/// Which Nacos 3 release the fake answers as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// Nacos 3.2+ as shipped, without the legacy adapter: v1 gone but for
    /// the status-only metrics and the login.
    V3_2,
    /// Nacos 3.0/3.1 with the default compatibility switches: the v1
    /// client calls (OPEN_API) served, the v1 admin and console calls
    /// answered `410`.
    V3_0,
    /// Nacos 3.0/3.1 with `nacos.core.api.compatibility.admin.enabled` and
    /// `.console.enabled` switched on: every v1 call served.
    V3_0AdminOpen,
}

impl Generation {
    /// What `GET /v3/admin/core/state` reports as `version`
    /// (`EnvModuleStateBuilder` L36).
    pub(super) fn version(self) -> &'static str {
        match self {
            Generation::V3_2 => "3.2.0",
            Generation::V3_0 | Generation::V3_0AdminOpen => "3.0.3",
        }
    }
}

/// The ADMIN_API and CONSOLE_API v1 calls this client makes (see the
/// module docs for each one's line).
fn gated(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        ("PUT" | "GET" | "PATCH", "/nacos/v1/ns/instance")
            | ("POST" | "PUT" | "DELETE" | "GET", "/nacos/v1/ns/service")
    ) || path.starts_with("/nacos/v1/console/")
}

/// `ApiCompatibilityFilter#responseReject` through Spring's error page.
fn gone(path: &str) -> Vec<u8> {
    let message = json!({
        "code": 40000,
        "message": "Current API will be deprecated, please use API(s) `the v3 admin API` instead, \
                    or set `nacos.core.api.compatibility.admin.enabled=true` in application.properties.",
        "data": null,
    });
    spring_error(410, "Gone", &message.to_string(), path)
}

fn text(status: u16, body: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![("Content-Type", "text/plain;charset=UTF-8")];
    headers.extend_from_slice(extra);
    response(status, &headers, body.as_bytes())
}

fn json_v1(v: &Value) -> Vec<u8> {
    response(
        200,
        &[("Content-Type", "application/json")],
        v.to_string().as_bytes(),
    )
}

/// A v1 failure: `NacosException`'s code as the HTTP status, its message as
/// plain text (`ResponseExceptionHandler` in 3.0.3 naming/config).
fn v1_error(e: ApiError) -> Vec<u8> {
    let ApiError(status, _, message, detail) = e;
    text(status, &format!("caused: {message}: {detail};"), &[])
}

/// A v1 request rewritten in v3's parameter names, so the v3 handlers of
/// `mod.rs` serve it: `serviceName=group@@name` split (`NamingUtils`),
/// config `group`/`tenant` as `groupName`/`namespaceId`.
fn as_v3(req: &Recorded) -> Recorded {
    let mut r = req.clone();
    for list in [&mut r.query, &mut r.form] {
        let mut group = None;
        for (k, v) in list.iter_mut() {
            match k.as_str() {
                "serviceName" => {
                    if let Some((g, n)) = v.split_once("@@") {
                        group = Some(g.to_string());
                        *v = n.to_string();
                    }
                }
                "group" => *k = "groupName".into(),
                "tenant" => *k = "namespaceId".into(),
                _ => {}
            }
        }
        if let Some(g) = group {
            if !list.iter().any(|(k, _)| k == "groupName") {
                list.push(("groupName".into(), g));
            }
        }
    }
    r
}

impl Inner {
    /// A request under `/nacos/v1/`, as this generation answers it.
    pub(super) fn handle_v1(&self, req: &Recorded) -> Vec<u8> {
        let (method, path) = (req.method.as_str(), req.path.as_str());
        let generation = self.opts.generation;
        let p = Params(req);
        match (generation, method, path) {
            (_, "POST", "/nacos/v1/auth/users/login") => return self.login(&p),
            (Generation::V3_2, "GET", "/nacos/v1/ns/operator/metrics") => {
                return json_v1(&json!({"status": "UP"}))
            }
            (Generation::V3_2, _, _) => {
                return spring_error(404, "Not Found", "No static resource", path)
            }
            (Generation::V3_0, _, _) if gated(method, path) => return gone(path),
            _ => {}
        }
        // `nacos.core.auth.enabled` covers the open v1 calls too.
        if self.opts.auth == Auth::On {
            if let Err(message) = self.check_token(req, &p) {
                return spring_error(403, "Forbidden", message, path);
            }
        }
        let v3 = as_v3(req);
        let q = Params(&v3);
        let done = |a: Answer| match a {
            Ok(_) => text(200, "ok", &[]),
            Err(e) => v1_error(e),
        };
        match (method, path) {
            ("GET", "/nacos/v1/ns/operator/metrics") => self.metrics(&p),
            ("POST", "/nacos/v1/ns/instance") => done(self.register_or_beat(&q)),
            ("DELETE", "/nacos/v1/ns/instance") => done(self.deregister(&q)),
            ("PUT", "/nacos/v1/ns/instance") => done(self.update_instance(&q)),
            ("GET", "/nacos/v1/ns/instance") => self.detail_v1(&q),
            ("PUT", "/nacos/v1/ns/instance/beat") => self.beat_v1(&q),
            ("GET", "/nacos/v1/ns/instance/list") => self.list_v1(&q),
            ("GET", "/nacos/v1/ns/service/list") => self.service_list_v1(&q),
            ("POST", "/nacos/v1/ns/service") => done(self.create_service(&q)),
            ("PUT", "/nacos/v1/ns/service") => done(self.update_service(&q)),
            ("DELETE", "/nacos/v1/ns/service") => done(self.delete_service(&q)),
            ("GET", "/nacos/v1/ns/service") => self.service_v1(&q),
            // `RestResultUtils.success(list)` (NamespaceController L78).
            ("GET", "/nacos/v1/console/namespaces") => json_v1(&json!({
                "code": 200,
                "message": null,
                "data": self.namespaces(),
            })),
            ("GET", "/nacos/v1/cs/configs") => self.get_config_v1(&q),
            ("POST", "/nacos/v1/cs/configs") => match self.publish_config(&q) {
                Ok(_) => text(200, "true", &[]),
                Err(e) => v1_error(e),
            },
            ("DELETE", "/nacos/v1/cs/configs") => match self.remove_config(&q) {
                Ok(_) => text(200, "true", &[]),
                Err(e) => v1_error(e),
            },
            ("POST", "/nacos/v1/cs/configs/listener") => self.listen_v1(req),
            _ => spring_error(404, "Not Found", "No static resource", path),
        }
    }

    /// `OperatorController#metrics` (3.0.3 L155–198): the status alone
    /// unless `onlyStatus=false`.
    fn metrics(&self, p: &Params) -> Vec<u8> {
        if p.get("onlyStatus") != Some("false") {
            return json_v1(&json!({"status": "UP"}));
        }
        let naming = self.naming.lock().unwrap();
        let instances: usize = naming.values().map(|s| s.instances.len()).sum();
        json_v1(&json!({
            "status": "UP",
            "serviceCount": naming.len(),
            "instanceCount": instances,
            "subscribeCount": 0,
            "responsibleInstanceCount": instances,
            "clientCount": 1,
            "connectionBasedClientCount": 0,
            "ephemeralIpPortClientCount": 1,
            "persistentIpPortClientCount": 0,
            "responsibleClientCount": 1,
            "cpu": 0.01,
            "load": 0.2,
            "mem": 0.5,
        }))
    }

    /// `InstanceController#beat` → `InstanceOperatorClientImpl#handleBeat`:
    /// an unknown instance is registered from the beat's JSON (weight and
    /// metadata included) when one was sent, else `20404`; the answer
    /// carries `clientBeatInterval` and `lightBeatEnabled`.
    fn beat_v1(&self, p: &Params) -> Vec<u8> {
        let form = match super::InstanceForm::parse(p) {
            Ok(f) => f,
            Err(e) => return v1_error(e),
        };
        let beat: Option<Value> = p.get("beat").and_then(|b| serde_json::from_str(b).ok());
        let mut naming = self.naming.lock().unwrap();
        let service = naming
            .entry(form.key())
            .or_insert_with(|| Service::new(true));
        let code = match service.instances.iter_mut().find(|i| form.is(&i.inst)) {
            Some(i) => {
                i.last_beat = Instant::now();
                i.inst.healthy = true;
                10200
            }
            None => match beat {
                None => 20404,
                Some(b) => {
                    let metadata: BTreeMap<String, String> = b
                        .get("metadata")
                        .and_then(|m| serde_json::from_value(m.clone()).ok())
                        .unwrap_or_default();
                    service.instances.push(Stored {
                        inst: FakeInstance {
                            ip: form.ip.clone(),
                            port: form.port,
                            cluster: form.cluster.clone(),
                            weight: b.get("weight").and_then(Value::as_f64).unwrap_or(1.0),
                            healthy: true,
                            enabled: true,
                            ephemeral: true,
                            metadata,
                        },
                        last_beat: Instant::now(),
                    });
                    10200
                }
            },
        };
        json_v1(&json!({"clientBeatInterval": 5000, "code": code, "lightBeatEnabled": true}))
    }

    /// `InstanceController#list` (v1): a `ServiceInfo`; every cluster when
    /// none is named; disabled instances left out.
    fn list_v1(&self, p: &Params) -> Vec<u8> {
        let Some(service) = p.text("serviceName") else {
            return text(400, "caused: Param 'serviceName' is required.;", &[]);
        };
        let group = p.or("groupName", "DEFAULT_GROUP");
        let clusters: Vec<&str> = p
            .get("clusters")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let hosts = self.listed(p, group, service, &clusters);
        json_v1(&json!({
            "name": format!("{group}@@{service}"),
            "groupName": group,
            "clusters": clusters.join(","),
            "cacheMillis": 10000,
            "hosts": hosts,
            "lastRefTime": super::now_millis(),
            "checksum": "",
            "allIPs": false,
            "reachProtectionThreshold": false,
            "valid": true,
        }))
    }

    /// `InstanceController#detail` (v1, served only with admin
    /// compatibility on): the instance's own fields.
    fn detail_v1(&self, p: &Params) -> Vec<u8> {
        match self.find_instance(p) {
            Ok((group, service, i)) => {
                let mut v = instance_json(&group, &service, &i);
                v["service"] = json!(format!("{group}@@{service}"));
                json_v1(&v)
            }
            Err(e) => v1_error(e),
        }
    }

    /// `ServiceController#list` (v1): `{count, doms}`, names bare.
    fn service_list_v1(&self, p: &Params) -> Vec<u8> {
        let page_no = p
            .get("pageNo")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1usize)
            .max(1);
        let page_size = p
            .get("pageSize")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20usize);
        let (ns, group) = (
            p.namespace(),
            p.or("groupName", "DEFAULT_GROUP").to_string(),
        );
        let naming = self.naming.lock().unwrap();
        let names: Vec<&str> = naming
            .keys()
            .filter(|k| k.0 == ns && k.1 == group)
            .map(|k| k.2.as_str())
            .collect();
        let page: Vec<&str> = names
            .iter()
            .skip((page_no - 1) * page_size)
            .take(page_size)
            .copied()
            .collect();
        json_v1(&json!({"count": names.len(), "doms": page}))
    }

    /// `ServiceController#detail` (v1, admin compatibility on).
    fn service_v1(&self, p: &Params) -> Vec<u8> {
        match self.get_service(p) {
            Ok(Reply::Data(d)) => json_v1(&json!({
                "namespaceId": d["namespaceId"],
                "groupName": d["groupName"],
                "name": d["serviceName"],
                "protectThreshold": d["protectThreshold"],
                "metadata": d["metadata"],
                "selector": d["selector"],
                "clusters": [],
            })),
            Ok(Reply::Failure(_)) => text(500, "caused: unexpected;", &[]),
            Err(e) => v1_error(e),
        }
    }

    /// `ConfigServletInner#doGetConfig` (2.4.3 L130–255, the same in
    /// 3.0.3): the content as text with `Content-MD5` (L211) and
    /// `Config-Type` (L158); `404 config data not exist` when missing. The
    /// content of a `cipher-` config is decrypted (L219–222), its
    /// `Content-MD5` that of the stored, encrypted content.
    fn get_config_v1(&self, p: &Params) -> Vec<u8> {
        let k = match Self::config_key(p) {
            Ok(k) => k,
            Err(e) => return v1_error(e),
        };
        if self.busy.load(std::sync::atomic::Ordering::SeqCst) {
            return text(
                409,
                "requested file is being modified, please try later.",
                &[],
            );
        }
        let configs = self.configs.lock().unwrap();
        match configs.get(&k) {
            None => text(404, "config data not exist", &[]),
            Some(c) => text(
                200,
                &c.content,
                &[("Content-MD5", &c.md5), ("Config-Type", &c.kind)],
            ),
        }
    }

    /// `ConfigController#listener` → `ConfigServletInner#doPollingConfig`:
    /// `Listening-Configs` lines `dataId^2group^2md5[^2tenant]^1`; the
    /// changed keys answer at once (`dataId^2group[^2tenant]^1`,
    /// URL-encoded: `MD5Util.compareMd5ResultString`), else the request is
    /// held for `Long-Pulling-Timeout` less 500 ms (`LongPollingService`),
    /// or answered empty at once with `Long-Pulling-Timeout-No-Hangup`.
    fn listen_v1(&self, req: &Recorded) -> Vec<u8> {
        let Some(listening) = req.param("Listening-Configs") else {
            return text(400, "caused: invalid probeModify;", &[]);
        };
        let keys: Vec<(String, String, String, String)> = listening
            .split('\u{1}')
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\u{2}').collect();
                match f[..] {
                    [d, g, m] => Some((d.into(), g.into(), m.into(), String::new())),
                    [d, g, m, t] => Some((d.into(), g.into(), m.into(), t.into())),
                    _ => None,
                }
            })
            .collect();
        let hold = req
            .header("long-pulling-timeout")
            .and_then(|t| t.parse::<u64>().ok())
            .map_or(Duration::from_secs(30), Duration::from_millis)
            .saturating_sub(Duration::from_millis(500));
        let no_hangup = req.header("long-pulling-timeout-no-hangup") == Some("true");
        let until = Instant::now() + hold;
        loop {
            let changed: Vec<String> = {
                let configs = self.configs.lock().unwrap();
                keys.iter()
                    .filter(|(d, g, m, t)| {
                        let ns = if t.is_empty() { "public" } else { t.as_str() };
                        let now = configs.get(&key(ns, g, d)).map_or("", |c| c.md5.as_str());
                        now != m
                    })
                    .map(|(d, g, _, t)| {
                        if t.is_empty() {
                            format!("{d}\u{2}{g}\u{1}")
                        } else {
                            format!("{d}\u{2}{g}\u{2}{t}\u{1}")
                        }
                    })
                    .collect()
            };
            if !changed.is_empty() || no_hangup || Instant::now() >= until {
                let body: String =
                    form_urlencoded::byte_serialize(changed.concat().as_bytes()).collect();
                return text(200, &body, &[]);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The instance a detail call names (`InstanceOperatorClientImpl#getInstance`:
    /// unknown → `NacosException(NOT_FOUND, "no matched ip found!")`).
    pub(super) fn find_instance(
        &self,
        p: &Params,
    ) -> Result<(String, String, FakeInstance), ApiError> {
        let form = super::InstanceForm::parse(p)?;
        let naming = self.naming.lock().unwrap();
        naming
            .get(&form.key())
            .and_then(|s| s.instances.iter().find(|i| form.is(&i.inst)))
            .map(|i| (form.group.clone(), form.service.clone(), i.inst.clone()))
            .ok_or_else(|| super::err(404, super::RESOURCE_NOT_FOUND, "no matched ip found!"))
    }
}
