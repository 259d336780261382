//! `ClientBuilder`: every option and its default. What `build()` checks is
//! in `check.rs`.

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;
use crate::settings::DEFAULT_GROUP;
use crate::transport::dialect::Api;

mod check;

#[cfg(test)]
mod tests;

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
#[derive(Clone, Debug)]
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
    password: Option<Secret>,
    max_response_bytes: u64,
    tls_roots_pem: PemFiles,
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
    secret_key: Option<Secret>,
    #[cfg(feature = "aksk")]
    security_token: Option<Secret>,
}

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
            tls_roots_pem: PemFiles::default(),
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
        self.password = Some(Secret::new(password));
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
        self.secret_key = Some(Secret::new(secret_key));
        self
    }

    /// An STS security token to send with AK/SK signatures (temporary
    /// credentials): header `Spas-SecurityToken` on config requests, a
    /// query parameter of that name on naming requests. Needs
    /// [`access_key`](Self::access_key) and [`secret_key`](Self::secret_key).
    /// Defaults to none.
    #[cfg(feature = "aksk")]
    pub fn security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(Secret::new(token));
        self
    }

    /// Trusts the CA certificates in `pem` (one or more PEM blocks) for
    /// `https://` servers, instead of the built-in Mozilla roots: for a
    /// Nacos behind a private CA. May be called more than once.
    ///
    /// Defaults to the built-in roots (`webpki-roots`).
    #[cfg(feature = "tls")]
    pub fn tls_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots_pem.0.push(pem.into());
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

    /// Polls each subscribed service every `interval` (at least 100 ms,
    /// at most a day) instead of as the server advises. After a failed
    /// poll the next comes one interval later, then two, never later.
    ///
    /// Defaults to the server's advice: see
    /// [`poll_interval_as_advised`](Self::poll_interval_as_advised).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = Some(interval);
        self
    }

    /// Polls each subscribed service as its server advises: the
    /// `cacheMillis` of each answer (10 s on Nacos), kept within 1–60 s.
    /// The default; undoes [`poll_interval`](Self::poll_interval).
    pub fn poll_interval_as_advised(mut self) -> Self {
        self.poll_interval = None;
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
    /// spreads a round out). From 100 ms to 24 hours.
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
            self.password = Some(Secret::new(v));
        }
        self
    }
}

/// PEM files as given; `Debug` says how many and how large, not their
/// bytes (a CA certificate is kilobytes of numbers in a derived `Debug`).
#[derive(Clone, Default)]
struct PemFiles(Vec<Vec<u8>>);

impl std::fmt::Debug for PemFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: usize = self.0.iter().map(Vec::len).sum();
        write!(f, "{} PEM file(s), {bytes} bytes", self.0.len())
    }
}
