//! A fake Nacos 3 server for the v3 conformance tests that run without
//! Batata: in-memory instances, services and configs behind the v3 HTTP
//! paths, written from the **Java** controllers (`alibaba/nacos` `develop`;
//! see `docs/v3-protocol.md`). Where Batata answers otherwise ("Verified
//! against Batata" in that file) this fake follows Java, so a client that
//! passes here and against Batata handles both.
//!
//! What it serves (Java class per behaviour; `…` = `com.alibaba.nacos`):
//! - `/nacos/v3/client/ns/instance` POST register / heartbeat (`heartBeat=true`),
//!   DELETE deregister, GET `/list` — `naming/…/controllers/v3/InstanceOpenApiController`;
//! - `/nacos/v3/admin/ns/instance` PUT — `InstanceControllerV3#update`;
//! - `/nacos/v3/admin/ns/service` POST/PUT/DELETE/GET and GET `/list` —
//!   `ServiceControllerV3`;
//! - `/nacos/v3/client/cs/config` GET — `config/…/controller/v3/ConfigOpenApiController`;
//! - `/nacos/v3/admin/cs/config` POST/DELETE — `ConfigControllerV3`;
//! - `/nacos/v3/admin/core/state` (+ `/liveness`, `/readiness`) — `ServerStateController` (v3);
//! - `/nacos/v3/auth/user/login` — `plugin/auth/impl/controller/v3/UserControllerV3#login`;
//! - `/nacos/v3/admin/ns/instance` GET — `InstanceControllerV3#detail`;
//! - under `/nacos/v1/`, what the chosen [`Generation`] keeps (`legacy.rs`):
//!   3.2+ only the status-only metrics and the login; 3.0/3.1 the v1 client
//!   calls, with the admin and console calls answered `410` unless their
//!   compatibility switch is on.
//!
//! Parameters are Spring's *request parameters*: the query string and a
//! form body alike (query first). Envelopes are `api/…/model/v2/Result`,
//! codes `ErrorCode`. Not modelled: the protect threshold, persistent
//! instance health checks, namespaces having to exist, gray configs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::fake::{response, FakeServer};
use super::proxy::{Recorded, RequestLog};

mod legacy;
pub use legacy::Generation;

/// The one user of the fake ([`FakeV3::username`]).
pub const FAKE_USER: &str = "nacos";
/// [`FAKE_USER`]'s password.
pub const FAKE_PASSWORD: &str = "fake-v3-secret";

/// Which calls need a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// None (login still works).
    Off,
    /// Only the admin API (`/nacos/v3/admin/...` but the state probes):
    /// Java's `nacos.core.auth.enabled=false` with `nacos.core.auth.admin.enabled=true`.
    AdminOnly,
    /// The client and the admin API.
    On,
}

/// Options for [`FakeV3`]; start with [`FakeV3::builder`].
#[derive(Clone, Debug)]
pub struct FakeV3Builder {
    auth: Auth,
    generation: Generation,
    token_ttl: Duration,
    unhealthy_after: Duration,
    delete_after: Duration,
    refuse_config_list: bool,
}

impl FakeV3Builder {
    /// Which calls need a token. Defaults to [`Auth::Off`].
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Which Nacos 3 release to answer as. Defaults to
    /// [`Generation::V3_2`].
    pub fn generation(mut self, generation: Generation) -> Self {
        self.generation = generation;
        self
    }

    /// How long a token from login lives (`tokenTtl`). Defaults to 18000 s
    /// (Java's `nacos.core.auth.plugin.nacos.token.expire.seconds`).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// An ephemeral instance not beaten for `unhealthy` turns unhealthy and
    /// for `delete` is removed (Java's `ClientBeatCheckTaskV2`: 15 s / 30 s).
    pub fn expiry(mut self, unhealthy: Duration, delete: Duration) -> Self {
        self.unhealthy_after = unhealthy;
        self.delete_after = delete;
        self
    }

    /// Answers the config list (`/v3/admin/cs/config/list`) 403 as Java's
    /// `AbstractWebAuthFilter` does for a user without the read right on
    /// the namespace (3.0.3 L112–134), the rest served as usual.
    pub fn refuse_config_list(mut self) -> Self {
        self.refuse_config_list = true;
        self
    }

    /// Starts the server on a free loopback port.
    pub fn start(self) -> FakeV3 {
        let inner = Arc::new(Inner {
            opts: self,
            naming: Mutex::new(BTreeMap::new()),
            configs: Mutex::new(BTreeMap::new()),
            tokens: Mutex::new(HashMap::new()),
            log: RequestLog::default(),
            seq: AtomicU64::new(0),
            busy: std::sync::atomic::AtomicBool::new(false),
        });
        let server = serve(&inner, 0).expect("bind the fake v3 server");
        FakeV3 {
            port: server.port,
            inner,
            server: Some(server),
        }
    }
}

/// One instance as the fake holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeInstance {
    pub ip: String,
    pub port: u16,
    pub cluster: String,
    pub weight: f64,
    pub healthy: bool,
    pub enabled: bool,
    pub ephemeral: bool,
    pub metadata: BTreeMap<String, String>,
}

/// A fake Nacos 3 server (see the module docs). Dropping it stops it.
pub struct FakeV3 {
    port: u16,
    inner: Arc<Inner>,
    server: Option<FakeServer>,
}

impl std::fmt::Debug for FakeV3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeV3")
            .field("addr", &self.addr())
            .field("auth", &self.inner.opts.auth)
            .field("running", &self.is_running())
            .finish()
    }
}

impl FakeV3 {
    /// Options: auth, token lifetime, instance expiry.
    pub fn builder() -> FakeV3Builder {
        FakeV3Builder {
            auth: Auth::Off,
            generation: Generation::V3_2,
            token_ttl: Duration::from_secs(18_000),
            unhealthy_after: Duration::from_secs(15),
            delete_after: Duration::from_secs(30),
            refuse_config_list: false,
        }
    }

    /// A server with auth off.
    pub fn start() -> FakeV3 {
        FakeV3::builder().start()
    }

    /// A server where every client and admin call needs a token from
    /// logging in as [`FAKE_USER`] / [`FAKE_PASSWORD`].
    pub fn start_with_auth() -> FakeV3 {
        FakeV3::builder().auth(Auth::On).start()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn username(&self) -> &'static str {
        FAKE_USER
    }

    pub fn password(&self) -> &'static str {
        FAKE_PASSWORD
    }

    /// Every request received so far (across restarts), oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.log.all()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.inner.log.clear();
    }

    /// The recorded requests to `method path` (`path` after `/nacos`,
    /// e.g. `"/v3/client/ns/instance"`).
    pub fn to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.inner.log.to(method, path)
    }

    /// Waits until `cond` holds for the recorded requests.
    pub fn wait_for(&self, within: Duration, cond: impl Fn(&[Recorded]) -> bool) -> bool {
        self.inner.log.wait_for(within, cond)
    }

    /// The instances of `service` in `public` / `DEFAULT_GROUP`, all
    /// clusters, disabled ones included.
    pub fn instances(&self, service: &str) -> Vec<FakeInstance> {
        self.instances_in("public", "DEFAULT_GROUP", service)
    }

    /// The instances of `namespace` / `group` / `service`.
    pub fn instances_in(&self, namespace: &str, group: &str, service: &str) -> Vec<FakeInstance> {
        self.inner.expire();
        let naming = self.inner.naming.lock().unwrap();
        naming
            .get(&key(namespace, group, service))
            .map(|s| s.instances.iter().map(|i| i.inst.clone()).collect())
            .unwrap_or_default()
    }

    /// Removes an instance behind the client's back (as an expiry would):
    /// its next heartbeat gets `21003`.
    pub fn forget_instance(&self, service: &str, ip: &str, port: u16) {
        let mut naming = self.inner.naming.lock().unwrap();
        if let Some(s) = naming.get_mut(&key("public", "DEFAULT_GROUP", service)) {
            s.instances
                .retain(|i| !(i.inst.ip == ip && i.inst.port == port));
        }
    }

    /// The content of a config, if published.
    pub fn config(&self, namespace: &str, group: &str, data_id: &str) -> Option<String> {
        let configs = self.inner.configs.lock().unwrap();
        configs
            .get(&key(namespace, group, data_id))
            .map(|c| c.content.clone())
    }

    /// While `on`, v1 config reads answer `409 requested file is being
    /// modified, please try later.` (2.4.3 `ConfigServletInner#doGetConfig`
    /// L248–251, L268–277: the read lock of the cache item not taken).
    pub fn busy_configs(&self, on: bool) {
        self.inner.busy.store(on, Ordering::SeqCst);
    }

    /// Makes every token issued so far invalid (403 `token invalid!`), as
    /// a changed secret key would.
    pub fn revoke_tokens(&self) {
        self.inner.tokens.lock().unwrap().clear();
    }

    /// `false` between [`stop`](Self::stop) and [`start_again`](Self::start_again).
    pub fn is_running(&self) -> bool {
        self.server.is_some()
    }

    /// Stops serving and closes every connection; instances and services
    /// are forgotten (Java keeps ephemeral instances in memory only).
    /// Configs and issued tokens stay, as Java keeps them (database, JWT).
    pub fn stop(&mut self) {
        self.server = None;
        self.inner.naming.lock().unwrap().clear();
    }

    /// Serves again on the same port.
    pub fn start_again(&mut self) {
        assert!(self.server.is_none(), "start_again: the fake is running");
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            match serve(&self.inner, self.port) {
                Ok(s) => {
                    self.server = Some(s);
                    return;
                }
                Err(e) if Instant::now() >= until => {
                    panic!("fake v3: port {} not free again: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }
}

fn serve(inner: &Arc<Inner>, port: u16) -> std::io::Result<FakeServer> {
    let inner = inner.clone();
    FakeServer::start_raw_on(port, move |head, body| Some(inner.handle(head, body)))
}

// ---------------------------------------------------------------------------
// State.

type Key = (String, String, String);

fn key(namespace: &str, group: &str, name: &str) -> Key {
    (namespace.to_owned(), group.to_owned(), name.to_owned())
}

struct Stored {
    inst: FakeInstance,
    last_beat: Instant,
}

struct Service {
    ephemeral: bool,
    protect_threshold: f64,
    metadata: BTreeMap<String, String>,
    selector: Value,
    instances: Vec<Stored>,
}

impl Service {
    fn new(ephemeral: bool) -> Service {
        Service {
            ephemeral,
            protect_threshold: 0.0,
            metadata: BTreeMap::new(),
            selector: json!({"type": "none", "contextType": "NONE"}),
            instances: Vec::new(),
        }
    }
}

struct Config {
    content: String,
    md5: String,
    kind: String,
    modified: u64,
}

struct Inner {
    opts: FakeV3Builder,
    naming: Mutex<BTreeMap<Key, Service>>,
    configs: Mutex<BTreeMap<Key, Config>>,
    /// Token → when it expires.
    tokens: Mutex<HashMap<String, Instant>>,
    log: RequestLog,
    seq: AtomicU64,
    /// v1 config reads answer 409 (see [`FakeV3::busy_configs`]).
    busy: std::sync::atomic::AtomicBool,
}

// ---------------------------------------------------------------------------
// Answers.

/// A Java error: the HTTP status, the `ErrorCode` and the detail that
/// `NacosApiExceptionHandler` puts in `data`.
struct ApiError(u16, i64, &'static str, String);

/// What a controller returns normally (HTTP 200): `Result.success(data)`,
/// or `Result.failure(code)` with `data: null`.
enum Reply {
    Data(Value),
    Failure((i64, &'static str)),
}

type Answer = Result<Reply, ApiError>;

fn data(v: Value) -> Answer {
    Ok(Reply::Data(v))
}

const PARAMETER_MISSING: (i64, &str) = (10000, "parameter missing");
const PARAMETER_VALIDATE_ERROR: (i64, &str) = (20002, "parameter validate error");
const RESOURCE_NOT_FOUND: (i64, &str) = (20004, "resource not found");
const RESOURCE_CONFLICT: (i64, &str) = (20005, "resource conflict");
const WEIGHT_ERROR: (i64, &str) = (21001, "weight error");
const INSTANCE_METADATA_ERROR: (i64, &str) = (21002, "instance metadata error");
const INSTANCE_NOT_FOUND: (i64, &str) = (21003, "instance not found");
const INSTANCE_ERROR: (i64, &str) = (21004, "instance error");
const SERVICE_ALREADY_EXIST: (i64, &str) = (21007, "service already exist");
const SERVICE_NOT_EXIST: (i64, &str) = (21008, "service not exist");
const SERVICE_DELETE_FAILURE: (i64, &str) = (21009, "service delete failure");

fn err(status: u16, code: (i64, &'static str), detail: impl Into<String>) -> ApiError {
    ApiError(status, code.0, code.1, detail.into())
}

fn missing(name: &str, ty: &str) -> ApiError {
    err(
        400,
        PARAMETER_MISSING,
        format!("Required parameter '{name}' type {ty} is not present"),
    )
}

fn json_response(status: u16, body: &Value, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend_from_slice(extra);
    response(status, &headers, body.to_string().as_bytes())
}

/// `Result.success(data)`.
fn success(data: Value) -> Vec<u8> {
    json_response(
        200,
        &json!({"code": 0, "message": "success", "data": data}),
        &[],
    )
}

/// What Spring's `BasicErrorController` writes for `resp.sendError` or an
/// unmapped path: JSON, but not a Nacos envelope (no `code`).
fn spring_error(status: u16, error: &str, message: &str, path: &str) -> Vec<u8> {
    json_response(
        status,
        &json!({
            "timestamp": "2026-11-21T00:00:00.000+00:00",
            "status": status,
            "error": error,
            "message": message,
            "path": path,
        }),
        &[],
    )
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Spring's request parameters: query first, then the form body.
struct Params<'a>(&'a Recorded);

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.query(name).or_else(|| self.0.form(name))
    }

    /// A non-blank value.
    fn text(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    fn or<'b>(&'b self, name: &str, default: &'b str) -> &'b str {
        self.text(name).unwrap_or(default)
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.text(name).ok_or_else(|| missing(name, "String"))
    }

    /// A number; unparsable → 400 / 20002 (Spring's bind error).
    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                err(
                    400,
                    PARAMETER_VALIDATE_ERROR,
                    format!("Failed to convert value '{v}' of parameter '{name}'"),
                )
            }),
        }
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        self.text(name)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }

    /// `NamespaceUtil.processNamespaceParameter`: blank → `public`.
    fn namespace(&self) -> String {
        self.or("namespaceId", "public").to_owned()
    }

    /// `PageForm` (3.0.3 L33–47): `pageNo` 1 and `pageSize` 100 by default,
    /// each at least 1, no maximum.
    fn page(&self) -> Result<(i64, i64), ApiError> {
        let page_no = self.number::<i64>("pageNo")?.unwrap_or(1);
        let page_size = self.number::<i64>("pageSize")?.unwrap_or(100);
        if page_no < 1 || page_size < 1 {
            return Err(err(
                400,
                PARAMETER_VALIDATE_ERROR,
                "pageNo and pageSize must be greater than 0",
            ));
        }
        Ok((page_no, page_size))
    }
}

/// A `Page` (`api/model/Page.java`): page `page_no` of `all`.
fn page_of(all: Vec<Value>, page_no: i64, page_size: i64) -> Value {
    let total = all.len() as i64;
    let items: Vec<Value> = all
        .into_iter()
        .skip(((page_no - 1) * page_size) as usize)
        .take(page_size as usize)
        .collect();
    json!({
        "totalCount": total,
        "pageNumber": page_no,
        "pagesAvailable": (total + page_size - 1) / page_size,
        "pageItems": items,
    })
}

/// `UtilsAndCommons.parseMetadata`: a JSON object, or `k=v,k=v`.
fn parse_metadata(raw: Option<&str>) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let bad = || {
        err(
            400,
            INSTANCE_METADATA_ERROR,
            format!("metadata format incorrect:{raw}"),
        )
    };
    if raw.starts_with('{') {
        let v: serde_json::Map<String, Value> = serde_json::from_str(raw).map_err(|_| bad())?;
        return Ok(v
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect());
    }
    raw.split(',')
        .map(|kv| match kv.split('=').collect::<Vec<_>>()[..] {
            [k, v] => Ok((k.to_owned(), v.to_owned())),
            _ => Err(bad()),
        })
        .collect()
}

/// `InstanceForm` after `validate()` and `fillDefaultValue()`.
struct InstanceForm {
    namespace: String,
    group: String,
    service: String,
    ip: String,
    port: u16,
    cluster: String,
    weight: f64,
    healthy: bool,
    enabled: bool,
    ephemeral: bool,
    metadata: BTreeMap<String, String>,
}

impl InstanceForm {
    fn parse(p: &Params) -> Result<InstanceForm, ApiError> {
        let service = p.required("serviceName")?.to_owned();
        let ip = p.required("ip")?.to_owned();
        let port = p
            .number::<u16>("port")?
            .ok_or_else(|| missing("port", "Integer"))?;
        let weight = p.number::<f64>("weight")?.unwrap_or(1.0);
        Ok(InstanceForm {
            namespace: p.namespace(),
            group: p.or("groupName", "DEFAULT_GROUP").to_owned(),
            service,
            ip,
            port,
            cluster: p.or("clusterName", "DEFAULT").to_owned(),
            weight,
            healthy: p.flag("healthy", true),
            enabled: p.flag("enabled", true),
            ephemeral: p.flag("ephemeral", true),
            metadata: parse_metadata(p.get("metadata"))?,
        })
    }

    fn key(&self) -> Key {
        key(&self.namespace, &self.group, &self.service)
    }

    fn is(&self, i: &FakeInstance) -> bool {
        i.ip == self.ip && i.port == self.port && i.cluster == self.cluster
    }

    fn instance(&self) -> FakeInstance {
        FakeInstance {
            ip: self.ip.clone(),
            port: self.port,
            cluster: self.cluster.clone(),
            weight: self.weight,
            healthy: self.healthy,
            enabled: self.enabled,
            ephemeral: self.ephemeral,
            metadata: self.metadata.clone(),
        }
    }
}

/// `NamingRequestUtil.checkWeight`.
fn check_weight(weight: f64) -> Result<(), ApiError> {
    if (0.0..=10_000.0).contains(&weight) {
        Ok(())
    } else {
        Err(err(
            400,
            WEIGHT_ERROR,
            "instance format invalid: The weights range from 0.0 to 10000.0",
        ))
    }
}

/// The api `Instance` as Jackson writes it.
fn instance_json(group: &str, service: &str, i: &FakeInstance) -> Value {
    let grouped = format!("{group}@@{service}");
    json!({
        "instanceId": format!("{}#{}#{}#{grouped}", i.ip, i.port, i.cluster),
        "ip": i.ip,
        "port": i.port,
        "weight": i.weight,
        "healthy": i.healthy,
        "enabled": i.enabled,
        "ephemeral": i.ephemeral,
        "clusterName": i.cluster,
        "serviceName": grouped,
        "metadata": i.metadata,
        "instanceHeartBeatInterval": 5000,
        "instanceHeartBeatTimeOut": 15000,
        "ipDeleteTimeout": 30000,
        "instanceIdGenerator": "simple",
    })
}

/// The MD5 a Nacos server reports for a config (RustCrypto `md-5`, the
/// crate the client uses too).
fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    format!("{:x}", md5::Md5::digest(data))
}

impl Inner {
    fn handle(&self, head: &str, body: &[u8]) -> Vec<u8> {
        let req = Recorded::parse(head, body);
        self.log.push(req.clone());
        self.expire();
        let path = req.path.as_str();
        let method = req.method.as_str();
        let p = Params(&req);

        if path.starts_with("/nacos/v1/") {
            return self.handle_v1(&req);
        }
        // No @Secured on these.
        match (method, path) {
            ("GET", "/nacos/v3/admin/core/state") => return success(self.state()),
            (
                "GET",
                "/nacos/v3/admin/core/state/liveness" | "/nacos/v3/admin/core/state/readiness",
            ) => return success(json!("ok")),
            ("POST", "/nacos/v3/auth/user/login") => return self.login(&p),
            _ => {}
        }
        let admin = path.starts_with("/nacos/v3/admin/");
        let checked = match self.opts.auth {
            Auth::Off => false,
            Auth::AdminOnly => admin,
            Auth::On => true,
        };
        if checked {
            if let Err(message) = self.check_token(&req, &p) {
                // `AbstractWebAuthFilter`: resp.sendError(403, msg).
                return spring_error(403, "Forbidden", message, path);
            }
        }
        let answer = match (method, path) {
            ("POST", "/nacos/v3/client/ns/instance") => self.register_or_beat(&p),
            ("DELETE", "/nacos/v3/client/ns/instance") => self.deregister(&p),
            ("GET", "/nacos/v3/client/ns/instance/list") => self.list(&p),
            ("PUT", "/nacos/v3/admin/ns/instance") => self.update_instance(&p),
            ("GET", "/nacos/v3/admin/ns/instance") => self.get_instance(&p),
            ("POST", "/nacos/v3/admin/ns/service") => self.create_service(&p),
            ("PUT", "/nacos/v3/admin/ns/service") => self.update_service(&p),
            ("DELETE", "/nacos/v3/admin/ns/service") => self.delete_service(&p),
            ("GET", "/nacos/v3/admin/ns/service") => self.get_service(&p),
            ("GET", "/nacos/v3/admin/ns/service/list") => self.list_services(&p),
            ("GET", "/nacos/v3/admin/cs/config/list") if self.opts.refuse_config_list => {
                return spring_error(403, "Forbidden", "authorization failed!", path);
            }
            ("GET", "/nacos/v3/admin/cs/config/list") => self.list_configs(&p),
            ("GET", "/nacos/v3/admin/core/namespace/list") => data(self.namespaces()),
            ("GET", "/nacos/v3/client/cs/config") => self.get_config(&p),
            ("POST", "/nacos/v3/admin/cs/config") => self.publish_config(&p),
            ("DELETE", "/nacos/v3/admin/cs/config") => self.remove_config(&p),
            (_, "/nacos/v3/client/ns/instance" | "/nacos/v3/client/ns/instance/list")
            | (_, "/nacos/v3/admin/ns/instance" | "/nacos/v3/admin/ns/service")
            | (_, "/nacos/v3/admin/ns/service/list")
            | (_, "/nacos/v3/client/cs/config" | "/nacos/v3/admin/cs/config") => {
                return spring_error(405, "Method Not Allowed", "", path);
            }
            _ => return spring_error(404, "Not Found", "No static resource", path),
        };
        match answer {
            Ok(Reply::Data(data)) => success(data),
            // A `Result.failure` returned normally: HTTP 200 all the same.
            Ok(Reply::Failure((code, message))) => json_response(
                200,
                &json!({"code": code, "message": message, "data": null}),
                &[],
            ),
            // `NacosApiExceptionHandler`: the exception's status and code,
            // the ErrorCode's text as message, the detail as data.
            Err(ApiError(status, code, message, detail)) => json_response(
                status,
                &json!({"code": code, "message": message, "data": detail}),
                &[],
            ),
        }
    }

    /// Removes ephemeral instances not beaten for `delete_after` and marks
    /// those not beaten for `unhealthy_after` unhealthy.
    fn expire(&self) {
        let mut naming = self.naming.lock().unwrap();
        for s in naming.values_mut() {
            s.instances.retain_mut(|i| {
                let quiet = i.last_beat.elapsed();
                if !i.inst.ephemeral {
                    return true;
                }
                if quiet > self.opts.unhealthy_after {
                    i.inst.healthy = false;
                }
                quiet <= self.opts.delete_after
            });
        }
    }

    fn state(&self) -> Value {
        json!({
            "version": self.opts.generation.version(),
            "standalone_mode": "standalone",
            "startup_mode": "standalone",
            "function_mode": null,
            "auth_enabled": (self.opts.auth == Auth::On).to_string(),
            "auth_admin_request": "true",
            "auth_system_type": "nacos",
            "login_page_enabled": "true",
            "console_ui_enabled": "true",
            "config_retention_days": "30",
        })
    }

    /// `UserControllerV3#login`: not an envelope; bad credentials throw
    /// `AccessException`, which the global handler writes as 403 text.
    fn login(&self, p: &Params) -> Vec<u8> {
        if p.get("username") != Some(FAKE_USER) || p.get("password") != Some(FAKE_PASSWORD) {
            return response(
                403,
                &[("Content-Type", "text/plain;charset=UTF-8")],
                b"user not found!",
            );
        }
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let token = format!("fake-v3-token-{n}-{}", now_millis());
        let ttl = self.opts.token_ttl;
        self.tokens
            .lock()
            .unwrap()
            .insert(token.clone(), Instant::now() + ttl);
        let bearer = format!("Bearer {token}");
        json_response(
            200,
            &json!({
                "accessToken": token,
                "tokenTtl": ttl.as_secs(),
                "globalAdmin": true,
                "username": FAKE_USER,
            }),
            &[("Authorization", &bearer)],
        )
    }

    /// The token from `Authorization: Bearer`, an `accessToken` header, or
    /// the `accessToken` parameter (query or form), checked.
    fn check_token(&self, req: &Recorded, p: &Params) -> Result<(), &'static str> {
        let token = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .or_else(|| req.header("accesstoken"))
            .or_else(|| p.text("accessToken"))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or("user not found!")?;
        match self.tokens.lock().unwrap().get(token) {
            None => Err("token invalid!"),
            Some(until) if Instant::now() >= *until => Err("token expired!"),
            Some(_) => Ok(()),
        }
    }

    /// `InstanceOpenApiController#register`: `heartBeat=true` beats, and
    /// answers `Result.failure(INSTANCE_NOT_FOUND)` (HTTP 200, code 21003)
    /// when the instance is unknown.
    fn register_or_beat(&self, p: &Params) -> Answer {
        let form = InstanceForm::parse(p)?;
        let mut naming = self.naming.lock().unwrap();
        if p.flag("heartBeat", false) {
            let beaten = naming
                .get_mut(&form.key())
                .and_then(|s| s.instances.iter_mut().find(|i| form.is(&i.inst)));
            return match beaten {
                Some(i) => {
                    i.last_beat = Instant::now();
                    i.inst.healthy = true;
                    data(json!("ok"))
                }
                None => Ok(Reply::Failure(INSTANCE_NOT_FOUND)),
            };
        }
        check_weight(form.weight)?;
        let service = naming
            .entry(form.key())
            .or_insert_with(|| Service::new(form.ephemeral));
        service.instances.retain(|i| !form.is(&i.inst));
        service.instances.push(Stored {
            inst: form.instance(),
            last_beat: Instant::now(),
        });
        data(json!("ok"))
    }

    /// `InstanceOpenApiController#deregister`: success also when unknown.
    fn deregister(&self, p: &Params) -> Answer {
        let form = InstanceForm::parse(p)?;
        if let Some(s) = self.naming.lock().unwrap().get_mut(&form.key()) {
            s.instances.retain(|i| !form.is(&i.inst));
        }
        data(json!("ok"))
    }

    /// `InstanceOpenApiController#list`: `data` is the bare list; only the
    /// clusters in `clusterName` (default `DEFAULT`); `enabled=false` never
    /// returned; `healthyOnly` accepted and ignored (the controller passes
    /// `false`).
    fn list(&self, p: &Params) -> Answer {
        let service = p.required("serviceName")?;
        let group = p.or("groupName", "DEFAULT_GROUP");
        let clusters: Vec<&str> = p
            .or("clusterName", "DEFAULT")
            .split(',')
            .map(str::trim)
            .collect();
        data(Value::Array(self.listed(p, group, service, &clusters)))
    }

    /// The enabled instances of a service in `clusters` (all when empty),
    /// as Jackson writes them.
    fn listed(&self, p: &Params, group: &str, service: &str, clusters: &[&str]) -> Vec<Value> {
        let naming = self.naming.lock().unwrap();
        naming
            .get(&key(&p.namespace(), group, service))
            .map(|s| {
                s.instances
                    .iter()
                    .map(|i| &i.inst)
                    .filter(|i| {
                        i.enabled && (clusters.is_empty() || clusters.contains(&i.cluster.as_str()))
                    })
                    .map(|i| instance_json(group, service, i))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `InstanceControllerV3#update` → `InstanceOperatorClientImpl.updateInstance`:
    /// the service must exist (400 / 21004); weight, enabled and metadata
    /// are replaced (omitted: 1.0, true, empty).
    fn update_instance(&self, p: &Params) -> Answer {
        let form = InstanceForm::parse(p)?;
        check_weight(form.weight)?;
        let mut naming = self.naming.lock().unwrap();
        let Some(service) = naming.get_mut(&form.key()) else {
            return Err(err(
                400,
                INSTANCE_ERROR,
                format!(
                    "service not found, namespace: {}, service: {}@@{}",
                    form.namespace, form.group, form.service
                ),
            ));
        };
        if let Some(i) = service.instances.iter_mut().find(|i| form.is(&i.inst)) {
            i.inst.weight = form.weight;
            i.inst.enabled = form.enabled;
            i.inst.metadata = form.metadata.clone();
        }
        data(json!("ok"))
    }

    /// `ServiceForm`: namespace, group, required name.
    fn service_key(p: &Params) -> Result<(Key, String), ApiError> {
        let name = p.required("serviceName")?;
        let group = p.or("groupName", "DEFAULT_GROUP");
        Ok((key(&p.namespace(), group, name), format!("{group}@@{name}")))
    }

    /// `ServiceControllerV3#create`: `ephemeral` defaults to false.
    fn create_service(&self, p: &Params) -> Answer {
        let (k, grouped) = Self::service_key(p)?;
        let mut naming = self.naming.lock().unwrap();
        if naming.contains_key(&k) {
            return Err(err(
                400,
                SERVICE_ALREADY_EXIST,
                format!("service {grouped} already exists"),
            ));
        }
        let mut s = Service::new(p.flag("ephemeral", false));
        s.protect_threshold = p.number("protectThreshold")?.unwrap_or(0.0);
        s.metadata = parse_metadata(p.get("metadata"))?;
        if let Some(sel) = p.text("selector") {
            s.selector = serde_json::from_str(sel).unwrap_or(Value::Null);
        }
        naming.insert(k, s);
        data(json!("ok"))
    }

    /// `ServiceControllerV3#update`: protectThreshold, metadata, selector replaced.
    fn update_service(&self, p: &Params) -> Answer {
        let (k, _) = Self::service_key(p)?;
        let threshold = p.number("protectThreshold")?.unwrap_or(0.0);
        let metadata = parse_metadata(p.get("metadata"))?;
        let mut naming = self.naming.lock().unwrap();
        let s = naming
            .get_mut(&k)
            .ok_or_else(|| err(400, SERVICE_NOT_EXIST, "service not exist"))?;
        s.protect_threshold = threshold;
        s.metadata = metadata;
        if let Some(sel) = p.text("selector") {
            s.selector = serde_json::from_str(sel).unwrap_or(Value::Null);
        }
        data(json!("ok"))
    }

    /// `ServiceControllerV3#delete`: not while it has instances.
    fn delete_service(&self, p: &Params) -> Answer {
        let (k, grouped) = Self::service_key(p)?;
        let mut naming = self.naming.lock().unwrap();
        let s = naming
            .get(&k)
            .ok_or_else(|| err(400, SERVICE_NOT_EXIST, "service not exist"))?;
        if !s.instances.is_empty() {
            return Err(err(
                400,
                SERVICE_DELETE_FAILURE,
                format!(
                    "Service {grouped} is not empty, can't be delete. Please unregister instance first"
                ),
            ));
        }
        naming.remove(&k);
        data(json!("ok"))
    }

    /// `ServiceControllerV3#detail`.
    fn get_service(&self, p: &Params) -> Answer {
        let (k, _) = Self::service_key(p)?;
        let naming = self.naming.lock().unwrap();
        let s = naming
            .get(&k)
            .ok_or_else(|| err(400, SERVICE_NOT_EXIST, "service not exist"))?;
        let mut clusters: BTreeMap<&str, Value> = BTreeMap::new();
        for i in &s.instances {
            clusters.entry(&i.inst.cluster).or_insert_with(|| {
                json!({
                    "clusterName": i.inst.cluster,
                    "healthChecker": {"type": "TCP"},
                    "healthyCheckPort": 80,
                    "useInstancePortForCheck": true,
                    "metadata": {},
                })
            });
        }
        data(json!({
            "namespaceId": k.0,
            "groupName": k.1,
            "serviceName": k.2,
            "clusterMap": clusters,
            "metadata": s.metadata,
            "protectThreshold": s.protect_threshold,
            "selector": s.selector,
            "ephemeral": s.ephemeral,
        }))
    }

    /// `ServiceControllerV3#list`: `groupNameParam` / `serviceNameParam`
    /// match by substring, `ignoreEmptyService` defaults to true, pages
    /// from 1.
    fn list_services(&self, p: &Params) -> Answer {
        let (page_no, page_size) = p.page()?;
        let ns = p.namespace();
        let group = p.get("groupNameParam").unwrap_or("");
        let name = p.get("serviceNameParam").unwrap_or("");
        let ignore_empty = p.flag("ignoreEmptyService", true);
        let naming = self.naming.lock().unwrap();
        let all: Vec<Value> = naming
            .iter()
            .filter(|(k, s)| {
                k.0 == ns
                    && k.1.contains(group)
                    && k.2.contains(name)
                    && !(ignore_empty && s.instances.is_empty())
            })
            .map(|(k, s)| {
                let mut clusters: Vec<&str> = s
                    .instances
                    .iter()
                    .map(|i| i.inst.cluster.as_str())
                    .collect();
                clusters.sort_unstable();
                clusters.dedup();
                json!({
                    "name": k.2,
                    "groupName": k.1,
                    "clusterCount": clusters.len(),
                    "ipCount": s.instances.len(),
                    "healthyInstanceCount": s.instances.iter().filter(|i| i.inst.healthy).count(),
                    "triggerFlag": "false",
                })
            })
            .collect();
        data(page_of(all, page_no, page_size))
    }

    /// `NamespaceControllerV3#getNamespaceList` (3.0.3 L80–84): the public
    /// namespace first (`NamespaceOperationService` L61–77), then the
    /// namespaces anything was stored in.
    fn namespaces(&self) -> Value {
        let mut ids: Vec<String> = self
            .naming
            .lock()
            .unwrap()
            .keys()
            .map(|k| k.0.clone())
            .collect();
        ids.extend(self.configs.lock().unwrap().keys().map(|k| k.0.clone()));
        ids.retain(|id| id != "public");
        ids.sort();
        ids.dedup();
        let configs = self.configs.lock().unwrap();
        let one = |id: &str, kind: i32| {
            json!({
                "namespace": id,
                "namespaceShowName": id,
                "namespaceDesc": if kind == 0 { "Public Namespace" } else { "" },
                "quota": 200,
                "configCount": configs.keys().filter(|k| k.0 == id).count(),
                "type": kind,
            })
        };
        let mut all = vec![one("public", 0)];
        all.extend(ids.iter().map(|id| one(id, 2)));
        Value::Array(all)
    }

    /// `InstanceControllerV3#detail` (L278–289): `Result<Instance>`.
    fn get_instance(&self, p: &Params) -> Answer {
        let (group, service, i) = self.find_instance(p)?;
        data(instance_json(&group, &service, &i))
    }

    /// `ConfigFormV3.validate`: `groupName` (not `group`) is required.
    fn config_key(p: &Params) -> Result<Key, ApiError> {
        let group = p.required("groupName")?;
        let data_id = p.required("dataId")?;
        Ok(key(&p.namespace(), group, data_id))
    }

    /// `ConfigOpenApiController#getConfig`: a `ConfigQueryResponse`; a
    /// missing config is `Result.failure(RESOURCE_NOT_FOUND)`, HTTP 200.
    fn get_config(&self, p: &Params) -> Answer {
        let k = Self::config_key(p)?;
        let configs = self.configs.lock().unwrap();
        match configs.get(&k) {
            None => Ok(Reply::Failure(RESOURCE_NOT_FOUND)),
            Some(c) => data(json!({
                "resultCode": 200,
                "errorCode": 0,
                "message": null,
                "requestId": null,
                "content": c.content,
                "encryptedDataKey": null,
                "contentType": c.kind,
                "md5": c.md5,
                "lastModified": c.modified,
                "tag": null,
                "beta": false,
                "success": true,
            })),
        }
    }

    /// `ConfigControllerV3#publishConfig`: content required; `type`
    /// defaults to `text`.
    ///
    /// With a `casMd5` header (2.4.3 `ConfigController` L210, 3.x
    /// `ConfigControllerV3` L226), a config whose MD5 differs is left alone
    /// and the publish fails with HTTP 500 / `RESOURCE_CONFLICT`
    /// (`ConfigOperationService` L103–111: `insertOrUpdateCas`, whose
    /// update matches on the MD5; an absent config is inserted).
    fn publish_config(&self, p: &Params) -> Answer {
        let k = Self::config_key(p)?;
        let content = p
            .get("content")
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| missing("content", "String"))?;
        if let Some(cas) = p.0.header("casmd5").filter(|c| !c.is_empty()) {
            let configs = self.configs.lock().unwrap();
            if configs.get(&k).is_some_and(|c| c.md5 != cas) {
                return Err(err(
                    500,
                    RESOURCE_CONFLICT,
                    "Cas publish fail, server md5 may have changed.",
                ));
            }
        }
        // The encryption plugin (2.2+; 2.4.3 `ConfigOperationService` →
        // `EncryptionHandler.encryptHandler` for `cipher-` data ids) stores
        // the encrypted content, and the cache keeps the MD5 of what is
        // stored (`ConfigCacheService.dumpWithMd5`): a stand-in cipher here.
        let stored_md5 = if k.2.starts_with("cipher-") {
            md5_hex(format!("encrypted:{}", content.chars().rev().collect::<String>()).as_bytes())
        } else {
            md5_hex(content.as_bytes())
        };
        let config = Config {
            content: content.to_owned(),
            md5: stored_md5,
            kind: p.or("type", "text").to_owned(),
            modified: now_millis(),
        };
        self.configs.lock().unwrap().insert(k, config);
        data(json!(true))
    }

    /// `ConfigControllerV3#list` (3.0.3 L303–338): `PageForm`
    /// `pageNo` 1 / `pageSize` 100 by default, each at least 1, no maximum
    /// (`PageForm.java` L33–47); `namespaceId` blank is public; `dataId`
    /// and `groupName` empty filter nothing, else match exactly in
    /// `search=accurate` (`ExternalConfigInfoPersistServiceImpl` L734–775).
    /// Items are `ConfigBasicInfo` (`id` a string, `createTime` and
    /// `modifyTime` 0, `md5` of the stored content).
    fn list_configs(&self, p: &Params) -> Answer {
        let (page_no, page_size) = p.page()?;
        let ns = p.namespace();
        let group = p.get("groupName").unwrap_or("");
        let data_id = p.get("dataId").unwrap_or("");
        let configs = self.configs.lock().unwrap();
        let all: Vec<Value> = configs
            .iter()
            .filter(|(k, _)| {
                k.0 == ns
                    && (group.is_empty() || k.1 == group)
                    && (data_id.is_empty() || k.2 == data_id)
            })
            .enumerate()
            .map(|(i, (k, c))| {
                json!({
                    "id": (i + 1).to_string(),
                    "namespaceId": k.0,
                    "groupName": k.1,
                    "dataId": k.2,
                    "md5": c.md5,
                    "type": c.kind,
                    "appName": "",
                    "createTime": 0,
                    "modifyTime": 0,
                })
            })
            .collect();
        data(page_of(all, page_no, page_size))
    }

    /// `ConfigControllerV3#deleteConfig`: `true` also when there was none.
    fn remove_config(&self, p: &Params) -> Answer {
        let k = Self::config_key(p)?;
        self.configs.lock().unwrap().remove(&k);
        data(json!(true))
    }
}
