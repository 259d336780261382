//! A real Nacos v3 server for the tests: Batata (`easynet-cn/batata`, a
//! Rust Nacos-compatible server that speaks the v2/v3 HTTP APIs and not v1),
//! one process per fixture on loopback ports of its own, with its own data
//! dir and its own copy of `conf/`.
//!
//! The binary is built once per machine by `bash scripts/install-batata.sh`
//! (about an hour on 2 cores) and cached outside the work tree. Where the
//! fixture looks, first match wins:
//! - `$BATATA_BIN` (its `conf/` next to it, or `$BATATA_CONF`);
//! - `${NACOS_BLOCKING_CACHE:-~/.cache/nacos-blocking}/batata/batata-server`
//!   and the `conf/` next to it (where the install script puts them).
//!
//! # Ports and settings (read from Batata's source at `f896fd1`)
//!
//! Batata reads `conf/application.yml` from its working directory; an env
//! `BATATA_A_B_C` overrides key `batata.a.b.c` (every `_` becomes a `.`, so
//! keys that contain `_`, such as `persistence.embedded.data_dir`, cannot be
//! set this way: the data dir is `data/` under the working directory).
//! Started with `-d server` (no console server) it listens on:
//! - the main HTTP port `batata.server.main.port` (context path `/nacos`),
//!   bound to `batata.server.address`;
//! - gRPC on main + 1000 and main + 1001, always on `0.0.0.0`: not movable
//!   on their own, so the fixture picks a main port whose +1000 and +1001
//!   are free too, below the kernel's ephemeral range;
//! - Consul API (`batata.plugin.consul.enabled/port`, 8500) and Apollo API
//!   (`batata.plugin.apollo.enabled/port`, 8080): on by default, turned off
//!   here; MCP registry (`batata.ai.mcp.registry.enabled`, 9080) and xDS
//!   (`batata.mesh.xds.enabled`, 15010): off by default, off here too;
//! - Raft (main - 1000) only in cluster mode (`batata.standalone: false`).
//!
//! Start-up to a serving `GET /nacos/v3/admin/core/state/liveness` takes
//! 0.1-0.6 s here (the HTTP server starts last, after storage and naming).
//!
//! # Auth
//!
//! [`Batata::start_with_auth`] turns on `batata.core.auth.enabled` (client
//! API) and `batata.core.auth.admin.enabled` (admin API) and creates the
//! first admin with `POST /nacos/v3/auth/user/admin` ([`ADMIN_USER`],
//! [`ADMIN_PASSWORD`]); there is no default user. Beware: five failed
//! logins from one IP lock that IP out of *every* login (HTTP 429) for
//! 300 s, per server process. A test that tries bad passwords wants a
//! server of its own.
//!
//! # What a restart keeps
//!
//! Configs, users, roles and permissions (RocksDB under `data/`) survive
//! [`Batata::restart`]; instances (ephemeral and, in standalone mode,
//! persistent ones too) and services created through the admin API do not.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::process::{body, http, http_get, http_post, status, LogWatch, Proc, ServerHome};
use super::unique;

/// What to do when Batata is missing, for error messages.
pub const INSTALL_HINT: &str =
    "Batata (the Nacos v3 test server) was not found. Build and cache it \
     once with `bash scripts/install-batata.sh` (about an hour on 2 cores; it lands in \
     ${NACOS_BLOCKING_CACHE:-~/.cache/nacos-blocking}/batata/), or point BATATA_BIN at a \
     batata-server binary (with its conf/ next to it, or BATATA_CONF).";

/// The first admin [`Batata::start_with_auth`] creates.
pub const ADMIN_USER: &str = "nacos";
/// [`ADMIN_USER`]'s password.
pub const ADMIN_PASSWORD: &str = "nacos-blocking-test";

/// Settings every fixture server gets (a test's own settings win).
pub const BASE_ENV: &[(&str, &str)] = &[
    ("BATATA_STANDALONE", "true"),
    // Empty platform + standalone = embedded RocksDB (the shipped conf says mysql).
    ("BATATA_SQL_INIT_PLATFORM", ""),
    ("BATATA_SERVER_ADDRESS", "127.0.0.1"),
    // Not bound with `-d server`; 0 in case it ever is.
    ("BATATA_CONSOLE_PORT", "0"),
    ("BATATA_PLUGIN_CONSUL_ENABLED", "false"),
    ("BATATA_PLUGIN_APOLLO_ENABLED", "false"),
    ("BATATA_AI_MCP_REGISTRY_ENABLED", "false"),
    ("BATATA_MESH_XDS_ENABLED", "false"),
    ("BATATA_LOGS_LEVEL", "warn"),
    ("RUST_LOG", "warn"),
];

/// How many times a server is started before a test gives up on it.
const ATTEMPTS: u32 = 5;

/// How long one start may take before it counts as failed (it takes well
/// under a second, but this machine is busy).
const START_WITHIN: Duration = Duration::from_secs(30);

/// `${NACOS_BLOCKING_CACHE:-$HOME/.cache/nacos-blocking}/batata`, as in
/// `scripts/install-batata.sh`.
pub fn batata_cache_dir() -> PathBuf {
    let base = match std::env::var_os("NACOS_BLOCKING_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/nacos-blocking"),
    };
    base.join("batata")
}

/// Where the binary should be (`$BATATA_BIN`, else the cache); not checked.
pub fn batata_bin_path() -> PathBuf {
    match std::env::var_os("BATATA_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => batata_cache_dir().join("batata-server"),
    }
}

/// Where its `conf/` should be (`$BATATA_CONF`, else next to the binary).
pub fn batata_conf_dir() -> PathBuf {
    match std::env::var_os("BATATA_CONF") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => batata_bin_path()
            .parent()
            .map(|d| d.join("conf"))
            .unwrap_or_else(|| PathBuf::from("conf")),
    }
}

/// `true` when the binary and its `conf/application.yml` are there.
pub fn batata_available() -> bool {
    batata_bin_path().is_file() && batata_conf_dir().join("application.yml").is_file()
}

/// The binary; panics with [`INSTALL_HINT`] when it (or its conf) is missing.
pub fn batata_bin() -> PathBuf {
    let bin = batata_bin_path();
    assert!(
        bin.is_file(),
        "{INSTALL_HINT}\n(looked for {})",
        bin.display()
    );
    let conf = batata_conf_dir();
    assert!(
        conf.join("application.yml").is_file(),
        "{INSTALL_HINT}\n(found {} but no {}/application.yml)",
        bin.display(),
        conf.display()
    );
    bin
}

/// A main port `p` such that `p`, `p + 1000` and `p + 1001` (Batata's gRPC
/// ports) are free on loopback, between 20000 and 30000: below the
/// kernel's ephemeral range (32768+), so outgoing connections do not take
/// them, and none that this process handed out before.
pub fn free_port_block() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    let seed = RandomState::new();
    for n in 0u64..10_000 {
        let mut h = seed.build_hasher();
        h.write_u64(n);
        let p = 20_000 + (h.finish() % 10_000) as u16;
        let block = [p, p + 1000, p + 1001];
        if block.iter().any(|q| given.lock().unwrap().contains(q)) {
            continue;
        }
        // 0.0.0.0 conflicts with a listener on any address (gRPC binds 0.0.0.0).
        let held: Vec<_> = block
            .iter()
            .map_while(|q| TcpListener::bind(("0.0.0.0", *q)).ok())
            .collect();
        if held.len() == 3 {
            drop(held);
            given.lock().unwrap().extend(block);
            return p;
        }
    }
    panic!("no free port block (p, p+1000, p+1001) between 20000 and 30000");
}

/// A running Batata on loopback ports of its own, with its own data dir.
///
/// The process runs under a watchdog (see [`Proc`]), so a server kept in a
/// `static` still dies with the test binary.
pub struct Batata {
    /// The main HTTP port; gRPC listens on `http_port + 1000` and `+ 1001`.
    pub http_port: u16,
    auth: bool,
    home: ServerHome,
}

impl std::fmt::Debug for Batata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batata")
            .field("addr", &self.addr())
            .field("auth", &self.auth)
            .field("dir", &self.home.dir)
            .field("running", &self.is_running())
            .finish()
    }
}

impl Batata {
    /// Starts a server with auth off (client and admin API open).
    pub fn start() -> Batata {
        Batata::start_with(false, &[])
    }

    /// Starts a server with auth on for the client and the admin API, and
    /// the admin [`ADMIN_USER`] / [`ADMIN_PASSWORD`] created.
    pub fn start_with_auth() -> Batata {
        Batata::start_with(true, &[])
    }

    /// Starts a server with extra `BATATA_*` settings (they win over the
    /// fixture's), e.g. `("BATATA_CORE_AUTH_PLUGIN_DEFAULT_TOKEN_EXPIRE_SECONDS", "5")`.
    pub fn start_with(auth: bool, env: &[(&str, &str)]) -> Batata {
        let mut server = Batata::new(auth, env);
        server.launch(false);
        server
    }

    /// One auth-off server shared by every test of this binary.
    pub fn shared() -> &'static Batata {
        static SERVER: OnceLock<Batata> = OnceLock::new();
        SERVER.get_or_init(|| {
            let mut s = Batata::new(false, &[]);
            s.home.in_static = true;
            s.launch(false);
            s
        })
    }

    fn new(auth: bool, env: &[(&str, &str)]) -> Batata {
        let bin = batata_bin();
        let home = ServerHome::new(
            std::env::temp_dir().join(unique("nacos-blocking-batata")),
            env,
        );
        copy_dir(&batata_conf_dir(), &home.dir.join("conf"))
            .unwrap_or_else(|e| panic!("copy Batata's conf/ next to {}: {e}", bin.display()));
        Batata {
            http_port: free_port_block(),
            auth,
            home,
        }
    }

    /// `127.0.0.1:<http port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// Whether this server checks credentials.
    pub fn auth(&self) -> bool {
        self.auth
    }

    /// The admin's user name ([`ADMIN_USER`]); with auth off any name logs in.
    pub fn username(&self) -> &'static str {
        ADMIN_USER
    }

    /// The admin's password ([`ADMIN_PASSWORD`]).
    pub fn password(&self) -> &'static str {
        ADMIN_PASSWORD
    }

    /// Logs the admin in and returns the access token (with auth off,
    /// Batata hands out a fixed dummy token). Panics when login fails.
    pub fn login(&self) -> String {
        login_token(self.http_port, ADMIN_USER, ADMIN_PASSWORD).unwrap_or_else(|| {
            panic!(
                "admin login to Batata at {} failed:\n{}",
                self.addr(),
                self.log()
            )
        })
    }

    /// The server's working directory (`conf/`, `data/`, `batata.log`).
    pub fn dir(&self) -> &Path {
        &self.home.dir
    }

    /// The server's output so far (its last 8 KB).
    pub fn log(&self) -> String {
        LogWatch::new(&self.log_path()).text()
    }

    /// `true` while the process runs (not after [`stop`](Self::stop)).
    pub fn is_running(&self) -> bool {
        self.home.is_running()
    }

    /// Kills the server (SIGKILL) and waits for it; ports and data dir are
    /// kept for [`start_again`](Self::start_again).
    pub fn stop(&mut self) {
        self.home.stop();
    }

    /// Starts a stopped server again on the same ports and data dir.
    pub fn start_again(&mut self) {
        assert!(
            self.home.proc().is_none(),
            "start_again: the server is running"
        );
        self.launch(true);
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub fn restart(&mut self) {
        self.stop();
        self.launch(true);
    }

    /// Freezes the process (SIGSTOP): it accepts connections but never answers.
    pub fn freeze(&self) {
        self.home.freeze();
    }

    /// Lets a frozen process run again.
    pub fn thaw(&self) {
        self.home.thaw();
    }

    fn log_path(&self) -> PathBuf {
        self.home.dir.join("batata.log")
    }

    /// Starts the process and waits until it serves. A server that does not
    /// come up is killed and started again, up to [`ATTEMPTS`] times; a
    /// fresh start (`!in_place`) gets new ports and an empty data dir each
    /// time, a restart keeps both.
    fn launch(&mut self, in_place: bool) {
        let mut report = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut log = LogWatch::new(&self.log_path());
            self.spawn_once();
            let why = match self.serving(&mut log) {
                Ok(()) => return,
                Err(why) => why,
            };
            report.push_str(&format!(
                "--- attempt {attempt} on {}: {why} ---\n{}\n",
                self.addr(),
                log.text()
            ));
            self.stop();
            if !in_place {
                self.home.clear_data();
                self.http_port = free_port_block();
            }
        }
        panic!("Batata did not come up in {ATTEMPTS} attempts:\n{report}");
    }

    fn spawn_once(&mut self) {
        let mut env: Vec<(String, String)> = BASE_ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let auth = self.auth.to_string();
        env.extend(
            [
                ("BATATA_SERVER_MAIN_PORT", self.http_port.to_string()),
                ("BATATA_CORE_AUTH_ENABLED", auth.clone()),
                ("BATATA_CORE_AUTH_ADMIN_ENABLED", auth.clone()),
                ("BATATA_CORE_AUTH_CONSOLE_ENABLED", auth),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        env.extend(self.home.env.iter().cloned());
        // A server that lives in a `static` is never dropped: the watchdog
        // removes its directory when the test binary exits.
        let proc = Proc::spawn_program(
            &batata_bin(),
            &["-d", "server"],
            &self.home.dir,
            &self.log_path(),
            &env,
            self.home.in_static,
        );
        self.home.started(proc);
    }

    /// `Ok` once the liveness probe answers and, with auth on, the admin
    /// exists and logs in; `Err` at once when the process dies or panics,
    /// or when [`START_WITHIN`] passes.
    fn serving(&self, log: &mut LogWatch) -> Result<(), String> {
        let until = Instant::now() + START_WITHIN;
        let mut check = |what: &str, cond: &mut dyn FnMut() -> bool| loop {
            if let Some(line) = log.scan() {
                return Err(format!("Batata panicked ({line})"));
            }
            if cond() {
                return Ok(());
            }
            if !self.is_running() {
                return Err(format!("Batata exited before {what}"));
            }
            if Instant::now() >= until {
                return Err(format!("{what} not within {START_WITHIN:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        check("the liveness probe", &mut || is_live(self.http_port))?;
        if self.auth {
            // 200 the first time, 409 once an admin exists (after a restart).
            check("the first admin", &mut || {
                http_post(
                    self.http_port,
                    "/nacos/v3/auth/user/admin",
                    &format!("username={ADMIN_USER}&password={ADMIN_PASSWORD}"),
                )
                .is_some_and(|r| status(&r) == Some(200) || status(&r) == Some(409))
            })?;
            check("admin login", &mut || {
                login_token(self.http_port, ADMIN_USER, ADMIN_PASSWORD).is_some()
            })?;
        }
        Ok(())
    }
}

/// `true` when `GET /nacos/v3/admin/core/state/liveness` answers 200
/// `{"code":0,...,"data":"ok"}` (it needs no token, auth on or off).
pub fn is_live(port: u16) -> bool {
    http_get(port, "/nacos/v3/admin/core/state/liveness")
        .is_some_and(|r| status(&r) == Some(200) && r.contains("\"ok\""))
}

/// `POST /nacos/v3/auth/user/login`; the `accessToken`, or `None`.
pub fn login_token(port: u16, user: &str, password: &str) -> Option<String> {
    let r = http(
        port,
        "POST",
        "/nacos/v3/auth/user/login",
        &format!("username={user}&password={password}"),
    )?;
    let body: serde_json::Value = serde_json::from_str(body(&r)).ok()?;
    body.get("accessToken")?.as_str().map(str::to_owned)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
