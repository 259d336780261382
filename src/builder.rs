//! `ClientBuilder`: every option, its default, and validation at `build()`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, Credentials, Servers, DEFAULT_GROUP};
use crate::dialect::Api;
use crate::error::{Error, Result};
use crate::server_list::{self, ServerAddr, DEFAULT_PORT};
use crate::validate::{self, DEFAULT_HEART_BEAT_TIMEOUT};

/// The port of an address server given without one.
const ENDPOINT_DEFAULT_PORT: u16 = 8080;

/// The shortest subscription poll interval accepted.
pub(crate) const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The longest timeout accepted (connect, call, long poll): longer ones
/// are mistakes, and would overflow the clock arithmetic if unbounded.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The longest interval accepted (subscription polls, address-server refresh).
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// The most retry rounds accepted.
const MAX_RETRIES: u32 = 100;

/// The largest response cap accepted.
const MAX_RESPONSE_BYTES: u64 = 1 << 30;

/// Builds a [`NacosClient`](crate::NacosClient). Every setter consumes and returns the builder;
/// [`build`](ClientBuilder::build) validates everything and starts the client.
///
/// ```no_run
/// use std::time::Duration;
/// let client = nacos_blocking::NacosClient::builder()
///     .server_addr("10.0.0.1:8848,10.0.0.2:8848")
///     .namespace("dev")
///     .timeout(Duration::from_secs(5))
///     .credentials("nacos", "nacos")
///     .build()?;
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    server_addr: String,
    endpoint: Option<String>,
    endpoint_refresh: Duration,
    context_path: String,
    namespace: String,
    group: String,
    connect_timeout: Duration,
    timeout: Duration,
    retries: u32,
    app_name: Option<String>,
    username: Option<String>,
    password: Option<String>,
    max_response_bytes: u64,
    tls_roots_pem: Vec<Vec<u8>>,
    cache_dir: Option<PathBuf>,
    poll_interval: Option<Duration>,
    push_empty_protection: bool,
    push_empty_window: Duration,
    disk_cache: bool,
    load_cache_at_start: bool,
    heartbeat_interval: Duration,
    auto_heartbeat: bool,
    deregister_on_shutdown: bool,
    light_heartbeats: bool,
    long_poll_timeout: Duration,
    api: Api,
    config_poll_interval: Duration,
    config_poll_rate: u32,
    config_failover_dir: Option<PathBuf>,
    snapshot_encrypted: bool,
    #[cfg(feature = "aksk")]
    access_key: Option<String>,
    #[cfg(feature = "aksk")]
    secret_key: Option<String>,
    #[cfg(feature = "aksk")]
    security_token: Option<String>,
}

/// The shortest long poll servers honour (both clamp shorter ones up).
const MIN_LONG_POLL: Duration = Duration::from_secs(10);

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            server_addr: String::new(),
            endpoint: None,
            endpoint_refresh: Duration::from_secs(30),
            context_path: "/nacos".to_string(),
            namespace: String::new(),
            group: DEFAULT_GROUP.to_string(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            retries: 2,
            app_name: None,
            username: None,
            password: None,
            max_response_bytes: 16 * 1024 * 1024,
            tls_roots_pem: Vec::new(),
            cache_dir: None,
            poll_interval: None,
            push_empty_protection: true,
            push_empty_window: Duration::from_secs(10),
            disk_cache: true,
            load_cache_at_start: false,
            heartbeat_interval: Duration::from_secs(5),
            auto_heartbeat: true,
            deregister_on_shutdown: false,
            light_heartbeats: false,
            long_poll_timeout: Duration::from_secs(30),
            api: Api::Auto,
            config_poll_interval: Duration::from_secs(1),
            config_poll_rate: 20,
            config_failover_dir: None,
            snapshot_encrypted: false,
            #[cfg(feature = "aksk")]
            access_key: None,
            #[cfg(feature = "aksk")]
            secret_key: None,
            #[cfg(feature = "aksk")]
            security_token: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("ClientBuilder");
        f.field("server_addr", &self.server_addr)
            .field("endpoint", &self.endpoint)
            .field("context_path", &self.context_path)
            .field("namespace", &self.namespace)
            .field("group", &self.group)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("app_name", &self.app_name)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("cache_dir", &self.cache_dir)
            .field("poll_interval", &self.poll_interval)
            .field("push_empty_protection", &self.push_empty_protection)
            .field("push_empty_window", &self.push_empty_window)
            .field("disk_cache", &self.disk_cache)
            .field("load_cache_at_start", &self.load_cache_at_start)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("auto_heartbeat", &self.auto_heartbeat)
            .field("deregister_on_shutdown", &self.deregister_on_shutdown)
            .field("light_heartbeats", &self.light_heartbeats)
            .field("long_poll_timeout", &self.long_poll_timeout)
            .field("api", &self.api)
            .field("config_poll_interval", &self.config_poll_interval)
            .field("config_poll_rate", &self.config_poll_rate)
            .field("config_failover_dir", &self.config_failover_dir)
            .field("snapshot_encrypted", &self.snapshot_encrypted);
        #[cfg(feature = "aksk")]
        f.field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            );
        f.finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Servers as a comma-separated list of `host`, `host:port`, `[v6]:port`,
    /// `http://host:port` or `https://host:port`. A bare entry gets port 8848.
    ///
    /// Defaults to none: give servers or an [`endpoint`](Self::endpoint).
    pub fn server_addr(mut self, list: impl Into<String>) -> Self {
        self.server_addr = list.into();
        self
    }

    /// An address server (`host[:port]`, port 8080 by default, or a full
    /// `http://` URL) whose `/nacos/serverlist` lists the servers; used
    /// instead of a fixed list and refreshed in the background.
    ///
    /// Defaults to none.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// How often the address server is asked again, at most once a day.
    /// Defaults to 30 s.
    pub fn endpoint_refresh(mut self, every: Duration) -> Self {
        self.endpoint_refresh = every;
        self
    }

    /// The server's context path. Defaults to `/nacos`.
    pub fn context_path(mut self, path: impl Into<String>) -> Self {
        self.context_path = path.into();
        self
    }

    /// The namespace (tenant) id calls use unless they name one.
    /// Defaults to the public namespace (empty).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The group calls use unless they name one. Defaults to `DEFAULT_GROUP`.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// How long one connection attempt may take (above zero, at most 1 hour).
    /// Defaults to 3 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of one call, retries and failover included: every call
    /// finishes or fails within it. Above zero, at most 1 hour.
    /// Defaults to 10 s.
    pub fn timeout(mut self, deadline: Duration) -> Self {
        self.timeout = deadline;
        self
    }

    /// How many more rounds over the server list a failing call makes
    /// when no server answers (connections refused, timeouts) or a single
    /// server answers 5xx, within its deadline; at most 100. While one of
    /// several servers answers 5xx (a cluster electing a leader), rounds
    /// go on until the deadline, pausing up to 1 s between them.
    /// Defaults to 2.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The application name sent to the server (in a header, so printable
    /// ASCII only). Defaults to none.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Username (no control characters) and password for servers with auth
    /// on. The password is sent only in the login form body and never
    /// logged. Defaults to none.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// The access key for AK/SK request signing (Alibaba Cloud MSE / ACM);
    /// needs [`secret_key`](Self::secret_key) too. Config requests then
    /// carry `Spas-AccessKey`, `Timestamp` and `Spas-Signature` headers,
    /// naming requests `ak`, `data` and `signature` query parameters, as the
    /// Java client sends them. Defaults to none (no signing).
    #[cfg(feature = "aksk")]
    pub fn access_key(mut self, access_key: impl Into<String>) -> Self {
        self.access_key = Some(access_key.into());
        self
    }

    /// The secret key that signs requests (HMAC-SHA1). It never leaves the
    /// client except as a signature, and never appears in `Debug`, errors
    /// or logs. Defaults to none.
    #[cfg(feature = "aksk")]
    pub fn secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.secret_key = Some(secret_key.into());
        self
    }

    /// An STS security token to send with AK/SK signatures (temporary
    /// credentials): header `Spas-SecurityToken` on config requests, a
    /// query parameter of that name on naming requests. Needs
    /// [`access_key`](Self::access_key) and [`secret_key`](Self::secret_key).
    /// Defaults to none.
    #[cfg(feature = "aksk")]
    pub fn security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Trusts the CA certificates in `pem` (one or more PEM blocks) for
    /// `https://` servers, instead of the built-in Mozilla roots: for a
    /// Nacos behind a private CA. May be called more than once.
    ///
    /// Defaults to the built-in roots (`webpki-roots`).
    #[cfg(feature = "tls")]
    pub fn tls_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots_pem.push(pem.into());
        self
    }

    /// The largest response body read, in bytes, counted after gzip
    /// decoding; from 1 KiB to 1 GiB. Defaults to 16 MiB.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Where service lists and config snapshots are kept on disk (not
    /// empty). Directories are created `0700` and files `0600` (configs
    /// usually hold credentials); an existing directory writable by every
    /// user, or (on Linux) owned by another user, is refused by `build()`.
    ///
    /// Defaults to `$XDG_CACHE_HOME/nacos-blocking`, else
    /// `$HOME/.cache/nacos-blocking`; with neither variable set there is no
    /// default (no shared temporary directory) and the disk cache is off.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    // --- Subscriptions -------------------------------------------------

    /// How often each subscribed service is polled: `Some(interval)`, at
    /// least 100 ms and at most a day, or `None` to follow the server's advice (`cacheMillis`
    /// of each answer, kept within 1–60 s). Errors back off from it,
    /// doubling up to 60 s.
    ///
    /// Defaults to `None`: the server's `cacheMillis` (10 s on Nacos).
    pub fn poll_interval(mut self, interval: Option<Duration>) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Whether an empty instance list replacing a non-empty one is held
    /// back for [`push_empty_window`](Self::push_empty_window): a server
    /// that restarted (or glitched) otherwise looks like every instance
    /// leaving. The lookups answered from the subscription cache keep the
    /// old list meanwhile; an empty list still there once the window has
    /// passed is delivered.
    ///
    /// Defaults to `true`.
    pub fn push_empty_protection(mut self, on: bool) -> Self {
        self.push_empty_protection = on;
        self
    }

    /// How long push-empty protection holds an empty list, whatever the
    /// poll interval; a heartbeat interval the server advises that is
    /// longer wins (a restarted server lists an instance again once its
    /// next beat arrives). At most 10 minutes.
    ///
    /// Defaults to 10 s.
    pub fn push_empty_window(mut self, window: Duration) -> Self {
        self.push_empty_window = window;
        self
    }

    /// Whether service lists and config snapshots are kept on disk under
    /// [`cache_dir`](Self::cache_dir). Off: nothing is written or read
    /// there (no offline start, no snapshot when every server fails).
    ///
    /// Defaults to `true`.
    pub fn disk_cache(mut self, on: bool) -> Self {
        self.disk_cache = on;
        self
    }

    /// Whether the service lists saved under [`cache_dir`](Self::cache_dir)
    /// by earlier runs are loaded at start: while no server answers,
    /// lookups answer from them, and new subscriptions start from them.
    ///
    /// Defaults to `false`.
    pub fn load_cache_at_start(mut self, on: bool) -> Self {
        self.load_cache_at_start = on;
        self
    }

    // --- Heartbeats ------------------------------------------------------

    /// The interval between heartbeats of an ephemeral instance whose
    /// metadata sets no `preserved.heart.beat.interval`, until the server
    /// advises one (`clientBeatInterval`). Must be above zero and below
    /// 15 s, the server's default heartbeat timeout. Defaults to 5 s.
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.heartbeat_interval = every;
        self
    }

    /// Whether registering an ephemeral instance starts its heartbeats in
    /// the background (persistent instances are never heartbeated). Turn it
    /// off to beat by hand with
    /// [`send_heartbeat`](crate::NacosClient::send_heartbeat). Defaults to `true`.
    pub fn auto_heartbeat(mut self, on: bool) -> Self {
        self.auto_heartbeat = on;
        self
    }

    /// Whether [`shutdown`](crate::NacosClient::shutdown) (or dropping the last
    /// clone) deregisters every instance this client heartbeats, instead
    /// of leaving them to expire on the server. Defaults to `false`.
    pub fn deregister_on_shutdown(mut self, on: bool) -> Self {
        self.deregister_on_shutdown = on;
        self
    }

    /// Whether heartbeats leave the instance's details out when the server
    /// says it allows that (`lightBeatEnabled`). That saves a few hundred
    /// bytes per beat, but a server that re-creates a lost instance from a
    /// light beat without answering `20404` (r-nacos does, after a restart)
    /// then lists it without its metadata. Defaults to `false`.
    pub fn light_heartbeats(mut self, on: bool) -> Self {
        self.light_heartbeats = on;
        self
    }

    // --- Config center ---------------------------------------------------

    /// How long the server may hold a config long poll (sent as
    /// `Long-Pulling-Timeout`); an idle client sends about one request per
    /// this period. At least 10 s (servers clamp shorter polls up to 10 s,
    /// which would then outlast the client's own deadline), at most 1 hour.
    ///
    /// Defaults to 30 s.
    pub fn long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = timeout;
        self
    }

    /// How often watched configs are checked on a server that has no long
    /// poll (the v3 API: Nacos 3.2+, batata). Each round of a namespace
    /// lists the MD5s of its configs (500 a request, where the server lets
    /// the user list them) or else reads each watched config, then reads
    /// the ones whose MD5 moved; a change reaches listeners within about
    /// this interval (longer when [`config_poll_rate`](Self::config_poll_rate)
    /// spreads a round out). From 100 ms to 1 hour.
    ///
    /// Defaults to 1 s.
    pub fn config_poll_interval(mut self, interval: Duration) -> Self {
        self.config_poll_interval = interval;
        self
    }

    /// The most requests a second this client sends to check watched
    /// configs on v3 servers, in all namespaces together, however many
    /// configs are watched: a round that needs more requests takes longer.
    /// With the config list (two requests a round for 1,000 configs) the
    /// default is seldom reached; read one by one (the list refused), 1,000
    /// keys take 50 s a round at the default. From 1 to 10,000.
    ///
    /// Defaults to 20.
    pub fn config_poll_rate(mut self, requests_per_second: u32) -> Self {
        self.config_poll_rate = requests_per_second;
        self
    }

    // --- Protocol --------------------------------------------------------

    /// Which Nacos HTTP API to speak; see [`Api`]. With [`Api::Auto`] each
    /// server is asked once what it speaks (and again after a connection
    /// to it was refused or reset), so one client works with Nacos 1.x–3.x, r-nacos and
    /// batata, and with a cluster in the middle of an upgrade.
    ///
    /// Defaults to [`Api::Auto`].
    pub fn api(mut self, api: Api) -> Self {
        self.api = api;
        self
    }

    /// A directory of failover files that override the server for reads:
    /// `get_config` returns `<dir>/<namespace>/<group>/<data id>` when it
    /// exists (namespace `public` for the public namespace; each part
    /// percent-encoded as in the cache dir). Watching is not affected.
    ///
    /// Defaults to none.
    pub fn config_failover_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_failover_dir = Some(dir.into());
        self
    }

    /// Whether configs the server's encryption plugin keeps encrypted
    /// (data ids starting `cipher-`, Java Nacos 2.2+) are written to
    /// snapshot files under [`cache_dir`](Self::cache_dir) like the others.
    /// Such a config usually holds a credential, and the server hands it
    /// out decrypted, so by default it is never written to disk (a read
    /// with every server down then has no snapshot to fall back on).
    ///
    /// Defaults to `false`.
    pub fn snapshot_encrypted_configs(mut self, on: bool) -> Self {
        self.snapshot_encrypted = on;
        self
    }

    /// Reads `NACOS_SERVER_ADDR`, `NACOS_NAMESPACE`, `NACOS_USERNAME`,
    /// `NACOS_PASSWORD` and `NACOS_CONTEXT_PATH` over this builder's settings.
    pub fn env(self) -> Self {
        self.env_from(|k| std::env::var(k).ok())
    }

    fn env_from(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = var("NACOS_SERVER_ADDR") {
            self.server_addr = v;
        }
        if let Some(v) = var("NACOS_NAMESPACE") {
            self.namespace = v;
        }
        if let Some(v) = var("NACOS_CONTEXT_PATH") {
            self.context_path = v;
        }
        if let Some(v) = var("NACOS_USERNAME") {
            self.username = Some(v);
        }
        if let Some(v) = var("NACOS_PASSWORD") {
            self.password = Some(v);
        }
        self
    }

    pub(crate) fn into_config(self) -> Result<Config> {
        let cache_dir = match (self.disk_cache, &self.cache_dir) {
            (false, _) => None,
            (true, Some(dir)) => Some(dir.clone()),
            (true, None) => crate::disk::default_cache_dir(),
        };
        if let Some(dir) = &cache_dir {
            if let Some(why) = crate::disk::unsafe_cache_dir(dir) {
                return Err(Error::invalid(
                    "cache_dir",
                    format!("{} cannot hold cached configs: {why}", dir.display()),
                ));
            }
        }
        let servers = match &self.endpoint {
            Some(ep) if self.server_addr.trim().is_empty() => {
                if self.endpoint_refresh.is_zero() {
                    return Err(Error::invalid("endpoint_refresh", "must be above zero"));
                }
                let addr = ServerAddr::parse(ep, ENDPOINT_DEFAULT_PORT).map_err(|_| {
                    Error::invalid("endpoint", format!("`{ep}` is not host[:port]"))
                })?;
                Servers::Endpoint {
                    url: format!("{}/nacos/serverlist", addr.base()),
                    refresh: self.endpoint_refresh,
                }
            }
            Some(_) => {
                return Err(Error::invalid(
                    "endpoint",
                    "give either server_addr or endpoint, not both",
                ))
            }
            None => {
                let list = server_list::parse_list(&self.server_addr, DEFAULT_PORT)?;
                if list.is_empty() {
                    return Err(Error::invalid("server_addr", "no server given"));
                }
                if cfg!(not(feature = "tls")) && list.iter().any(|s| s.base().starts_with("https:"))
                {
                    return Err(Error::invalid(
                        "server_addr",
                        "https:// needs the crate's `tls` feature",
                    ));
                }
                Servers::Fixed(list)
            }
        };
        let context_path = normalize_context_path(&self.context_path)?;
        validate::namespace(&self.namespace)?;
        validate::name("group", &self.group)?;
        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("timeout", self.timeout),
        ] {
            if d.is_zero() {
                return Err(Error::invalid(field, "must be above zero"));
            }
        }
        for (field, d, max) in [
            ("connect_timeout", Some(self.connect_timeout), MAX_TIMEOUT),
            ("timeout", Some(self.timeout), MAX_TIMEOUT),
            (
                "long_poll_timeout",
                Some(self.long_poll_timeout),
                MAX_TIMEOUT,
            ),
            ("poll_interval", self.poll_interval, MAX_INTERVAL),
            (
                "config_poll_interval",
                Some(self.config_poll_interval),
                MAX_INTERVAL,
            ),
            (
                "endpoint_refresh",
                Some(self.endpoint_refresh),
                MAX_INTERVAL,
            ),
        ] {
            if d.is_some_and(|d| d > max) {
                return Err(Error::invalid(field, format!("must be at most {max:?}")));
            }
        }
        if !(1..=10_000).contains(&self.config_poll_rate) {
            return Err(Error::invalid(
                "config_poll_rate",
                "must be from 1 to 10,000 requests a second",
            ));
        }
        if self.retries > MAX_RETRIES {
            return Err(Error::invalid(
                "retries",
                format!("must be at most {MAX_RETRIES}"),
            ));
        }
        if let Some(name) = &self.app_name {
            if !name.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err(Error::invalid(
                    "app_name",
                    "is sent as a header: printable ASCII only (no control characters)",
                ));
            }
        }
        if self
            .username
            .as_deref()
            .is_some_and(|u| u.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "username",
                "must not contain control characters",
            ));
        }
        for (field, dir) in [
            ("cache_dir", &self.cache_dir),
            ("config_failover_dir", &self.config_failover_dir),
        ] {
            if dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
                return Err(Error::invalid(field, "must not be empty"));
            }
        }
        if let Some(d) = self.poll_interval {
            if d < MIN_POLL_INTERVAL {
                return Err(Error::invalid(
                    "poll_interval",
                    format!("{d:?} is below the minimum of 100 ms"),
                ));
            }
        }
        if self.heartbeat_interval.is_zero() {
            return Err(Error::invalid("heartbeat_interval", "must be above zero"));
        }
        if self.heartbeat_interval >= DEFAULT_HEART_BEAT_TIMEOUT {
            return Err(Error::invalid(
                "heartbeat_interval",
                "must be below the server's heartbeat timeout (15 s)",
            ));
        }
        if self.push_empty_window > Duration::from_secs(600) {
            return Err(Error::invalid(
                "push_empty_window",
                "must be at most 10 minutes",
            ));
        }
        if self.config_poll_interval < Duration::from_millis(100) {
            return Err(Error::invalid(
                "config_poll_interval",
                "must be at least 100 ms",
            ));
        }
        if self.long_poll_timeout < MIN_LONG_POLL {
            return Err(Error::invalid("long_poll_timeout", "must be at least 10 s"));
        }
        if !(1024..=MAX_RESPONSE_BYTES).contains(&self.max_response_bytes) {
            return Err(Error::invalid(
                "max_response_bytes",
                format!("must be from 1024 to {MAX_RESPONSE_BYTES}"),
            ));
        }
        let credentials = match (self.username, self.password) {
            (None, None) => None,
            (Some(u), _) if u.is_empty() => {
                return Err(Error::invalid("username", "must not be empty"))
            }
            (Some(username), Some(password)) => Some(Credentials { username, password }),
            (Some(_), None) => {
                return Err(Error::invalid("password", "a username needs a password"))
            }
            (None, Some(_)) => {
                return Err(Error::invalid("username", "a password needs a username"))
            }
        };
        #[cfg(feature = "aksk")]
        let aksk = match (self.access_key, self.secret_key, self.security_token) {
            (None, None, None) => None,
            (Some(access_key), Some(secret_key), security_token)
                if !access_key.is_empty() && !secret_key.is_empty() =>
            {
                Some(crate::sign::AkSk {
                    access_key,
                    secret_key,
                    security_token: security_token.filter(|t| !t.is_empty()),
                })
            }
            (None | Some(_), _, _) => {
                return Err(Error::invalid(
                    "access_key",
                    "AK/SK signing needs both a non-empty access key and secret key",
                ))
            }
        };
        Ok(Config {
            #[cfg(feature = "aksk")]
            aksk,
            servers,
            context_path,
            namespace: self.namespace,
            group: self.group,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            retries: self.retries,
            app_name: self.app_name,
            credentials,
            max_response_bytes: self.max_response_bytes,
            tls_roots: parse_pem_certificates(&self.tls_roots_pem)?,
            cache_dir,
            poll_interval: self.poll_interval,
            push_empty_protection: self.push_empty_protection,
            push_empty_window: self.push_empty_window,
            load_cache_at_start: self.load_cache_at_start,
            heartbeat_interval: self.heartbeat_interval,
            auto_heartbeat: self.auto_heartbeat,
            deregister_on_shutdown: self.deregister_on_shutdown,
            light_heartbeats: self.light_heartbeats,
            long_poll_timeout: self.long_poll_timeout,
            api: self.api,
            config_poll_interval: self.config_poll_interval,
            config_poll_rate: self.config_poll_rate,
            config_failover_dir: self.config_failover_dir,
            snapshot_encrypted: self.snapshot_encrypted,
        })
    }
}

/// The DER certificates in PEM blocks; an error when a block yields none.
#[cfg(feature = "tls")]
fn parse_pem_certificates(pems: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for pem in pems {
        let before = out.len();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => out.push(c.der().to_vec()),
                Ok(_) => {}
                Err(e) => return Err(Error::invalid("tls_root_certificates_pem", e.to_string())),
            }
        }
        if out.len() == before {
            return Err(Error::invalid(
                "tls_root_certificates_pem",
                "no certificate in the PEM given",
            ));
        }
    }
    Ok(out)
}

#[cfg(not(feature = "tls"))]
fn parse_pem_certificates(_: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    Ok(Vec::new())
}

/// `nacos`, `/nacos/`, `/` → `/nacos`, `/nacos`, `` (no trailing slash).
fn normalize_context_path(path: &str) -> Result<String> {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')))
        || trimmed.contains("//")
    {
        return Err(Error::invalid(
            "context_path",
            format!("`{path}` is not a plain path"),
        ));
    }
    Ok(format!("/{trimmed}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(b: ClientBuilder) -> Result<Config> {
        b.into_config()
    }

    #[cfg(feature = "aksk")]
    #[test]
    fn aksk_needs_both_keys_and_debug_hides_the_secret() {
        let b = || ClientBuilder::default().server_addr("127.0.0.1");
        let field = |b: ClientBuilder| cfg(b).unwrap_err().invalid_field();
        assert_eq!(field(b().access_key("ak")), Some("access_key"));
        assert_eq!(field(b().secret_key("sk")), Some("access_key"));
        assert_eq!(
            field(b().access_key("").secret_key("sk")),
            Some("access_key")
        );
        assert_eq!(field(b().security_token("t")), Some("access_key"));
        assert!(cfg(b()).unwrap().aksk.is_none());
        let full = b()
            .access_key("ak-1")
            .secret_key("sk-SECRET")
            .security_token("tok-SECRET");
        let text = format!("{full:?}");
        assert!(text.contains("ak-1") && !text.contains("SECRET"), "{text}");
        let c = cfg(full).unwrap();
        let text = format!("{c:?}");
        assert!(text.contains("ak-1") && !text.contains("SECRET"), "{text}");
        assert_eq!(
            c.aksk.unwrap().security_token.as_deref(),
            Some("tok-SECRET")
        );
    }

    #[test]
    fn defaults_and_validation() {
        let c = cfg(ClientBuilder::default().server_addr("127.0.0.1")).unwrap();
        assert_eq!(c.context_path, "/nacos");
        assert_eq!(c.group, DEFAULT_GROUP);
        assert_eq!(c.timeout, Duration::from_secs(10));
        let field = |b: ClientBuilder| cfg(b).unwrap_err().invalid_field();
        let b = || ClientBuilder::default().server_addr("127.0.0.1");
        assert_eq!(field(ClientBuilder::default()), Some("server_addr"));
        assert_eq!(field(b().server_addr("h:0")), Some("server_addr"));
        assert_eq!(field(b().group("a@@b")), Some("group"));
        assert_eq!(field(b().namespace("a b")), Some("namespace"));
        assert_eq!(field(b().timeout(Duration::ZERO)), Some("timeout"));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(5));
        assert!(c.auto_heartbeat && !c.deregister_on_shutdown && !c.light_heartbeats);
        for bad in [Duration::ZERO, Duration::from_secs(15)] {
            assert_eq!(
                field(b().heartbeat_interval(bad)),
                Some("heartbeat_interval")
            );
        }
        assert_eq!(field(b().context_path("/a?b")), Some("context_path"));
        assert_eq!(field(b().endpoint("e:1")), Some("endpoint"));
        assert_eq!(field(b().credentials("", "x")), Some("username"));
        let ms = Duration::from_millis;
        assert_eq!(
            field(b().poll_interval(Some(ms(99)))),
            Some("poll_interval")
        );
        assert_eq!(
            field(b().poll_interval(Some(Duration::ZERO))),
            Some("poll_interval")
        );
        let fast = cfg(b().poll_interval(Some(ms(100)))).unwrap();
        assert_eq!(fast.poll_interval, Some(ms(100)));
        assert_eq!(
            (
                c.poll_interval,
                c.push_empty_protection,
                c.load_cache_at_start
            ),
            (None, true, false)
        );
        assert_eq!(
            field(b().long_poll_timeout(Duration::from_secs(9))),
            Some("long_poll_timeout")
        );
        assert_eq!(c.long_poll_timeout, Duration::from_secs(30));
        assert_eq!(c.config_failover_dir, None);
        assert_eq!(
            cfg(b().context_path("nacos/")).unwrap().context_path,
            "/nacos"
        );
        assert_eq!(cfg(b().context_path("/")).unwrap().context_path, "");
    }

    #[test]
    fn absurd_values_are_refused_naming_the_field() {
        let b = || ClientBuilder::default().server_addr("127.0.0.1");
        let field = |b: ClientBuilder| cfg(b).unwrap_err().invalid_field();
        let max = Duration::MAX;
        assert_eq!(field(b().timeout(max)), Some("timeout"));
        assert_eq!(field(b().connect_timeout(max)), Some("connect_timeout"));
        assert_eq!(field(b().long_poll_timeout(max)), Some("long_poll_timeout"));
        assert_eq!(field(b().poll_interval(Some(max))), Some("poll_interval"));
        assert_eq!(
            field(b().heartbeat_interval(max)),
            Some("heartbeat_interval")
        );
        assert_eq!(field(b().retries(u32::MAX)), Some("retries"));
        assert_eq!(
            field(b().max_response_bytes(u64::MAX)),
            Some("max_response_bytes")
        );
        assert_eq!(
            field(ClientBuilder::default().endpoint("e").endpoint_refresh(max)),
            Some("endpoint_refresh")
        );
        for bad in ["app\r\nX-Evil: 1", "tab\there", "nul\0", "ünï"] {
            assert_eq!(field(b().app_name(bad)), Some("app_name"), "{bad:?}");
        }
        assert_eq!(field(b().credentials("u\r\nX: y", "pw")), Some("username"));
        assert_eq!(field(b().cache_dir("")), Some("cache_dir"));
        assert_eq!(
            field(b().config_failover_dir("")),
            Some("config_failover_dir")
        );
        // The largest accepted values still build.
        let c = cfg(b()
            .timeout(MAX_TIMEOUT)
            .connect_timeout(MAX_TIMEOUT)
            .long_poll_timeout(MAX_TIMEOUT)
            .poll_interval(Some(MAX_INTERVAL))
            .retries(MAX_RETRIES)
            .max_response_bytes(MAX_RESPONSE_BYTES)
            .app_name("my-app 1.0 (x)"))
        .unwrap();
        assert_eq!(c.retries, MAX_RETRIES);
    }

    #[test]
    fn endpoint_gets_port_8080_and_path() {
        let c = cfg(ClientBuilder::default().endpoint("addr.local")).unwrap();
        match c.servers {
            Servers::Endpoint { url, .. } => {
                assert_eq!(url, "http://addr.local:8080/nacos/serverlist")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn env_overrides_and_debug_redacts() {
        let b = ClientBuilder::default().env_from(|k| match k {
            "NACOS_SERVER_ADDR" => Some("10.1.1.1:9000".into()),
            "NACOS_NAMESPACE" => Some("dev".into()),
            "NACOS_USERNAME" => Some("u".into()),
            "NACOS_PASSWORD" => Some("s3cr3t-pw".into()),
            "NACOS_CONTEXT_PATH" => Some("/x".into()),
            _ => None,
        });
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("s3cr3t-pw"), "{dbg}");
        let c = cfg(b).unwrap();
        assert_eq!(c.namespace, "dev");
        assert_eq!(c.context_path, "/x");
        assert!(!format!("{c:?}").contains("s3cr3t-pw"));
        assert_eq!(c.credentials.unwrap().password, "s3cr3t-pw");
    }
}
