//! Test fixtures: a real r-nacos server per test binary (or per test), and
//! small fake servers for what r-nacos cannot do on demand.
#![allow(dead_code, unreachable_pub)]

pub mod batata;
pub mod cluster;
pub mod fake;
pub mod fake_v3;
pub mod logs;
pub mod process;
pub mod proxy;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use process::{free_port, get_ok_body, http, http_get, http_post, LogWatch, Proc, ServerHome};

/// A unique name for services, data ids and directories within this run.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh, empty directory for one test (a client's disk cache, a
/// failover dir) under a root of this test binary's. The root goes when
/// the binary exits, however it exits: a shell started with it reads from
/// a pipe this process holds open and removes the root once the pipe
/// closes.
pub fn scratch_dir(what: &str) -> PathBuf {
    // The shell and the pipe to it live in the static: never dropped, the
    // pipe closes only when this process ends.
    static ROOT: OnceLock<(PathBuf, std::process::Child)> = OnceLock::new();
    let (root, _watchdog) = ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(unique("nacos-blocking-tests"));
        std::fs::create_dir_all(&root).unwrap();
        let watchdog = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"read _ignored; rm -rf "$0""#)
            .arg(&root)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("start the scratch dir's watchdog shell");
        (root, watchdog)
    });
    let dir = root.join(unique(what));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Settings for fast instance expiry, as the heartbeat tests need.
pub const FAST_EXPIRY: &[(&str, &str)] = &[
    ("RNACOS_NAMING_HEALTH_TIMEOUT_SECOND", "3"),
    ("RNACOS_NAMING_INSTANCE_TIMEOUT_SECOND", "6"),
];

/// How many times a server is started before a test gives up on it; each
/// try has a fresh data dir (and fresh ports unless it restarts in place).
const ATTEMPTS: u32 = 10;

/// A running r-nacos on loopback ports of its own, with its own data dir.
///
/// The process runs under a watchdog (see [`Proc`]), so a server kept in a
/// `static` still dies with the test binary. Start-up is checked hard: see
/// `process.rs` for the r-nacos start-up race this guards against.
pub struct RNacos {
    pub http_port: u16,
    pub grpc_port: u16,
    home: ServerHome,
}

impl RNacos {
    /// Starts a server with the default settings.
    pub fn start() -> RNacos {
        RNacos::start_with(&[])
    }

    /// Starts a server with extra `RNACOS_*` settings.
    pub fn start_with(env: &[(&str, &str)]) -> RNacos {
        let mut server = RNacos::new(env);
        server.launch();
        server
    }

    fn new(env: &[(&str, &str)]) -> RNacos {
        let dir = std::env::temp_dir().join(unique("nacos-blocking-rnacos"));
        RNacos {
            http_port: free_port(),
            grpc_port: free_port(),
            home: ServerHome::new(dir, env),
        }
    }

    /// One server shared by every test of this binary, with fast expiry
    /// (unhealthy 6 s and removed 9 s after the last beat) and no probing
    /// of persistent instances.
    pub fn shared() -> &'static RNacos {
        static SERVER: OnceLock<RNacos> = OnceLock::new();
        SERVER.get_or_init(|| RNacos::start_for_static(FAST_EXPIRY))
    }

    /// Starts a server that a `static` will hold (and so never drop): its
    /// watchdog removes its directory when the test binary exits.
    pub fn start_for_static(env: &[(&str, &str)]) -> RNacos {
        let mut s = RNacos::new(env);
        s.home.in_static = true;
        s.launch();
        s
    }

    /// `127.0.0.1:<http port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// Starts the process and waits until it serves. A server that does not
    /// come up (it panicked, lost its first write, or another process took
    /// one of its ports between `free_port()` and the bind) is killed and
    /// started again at once with a fresh data dir, on new ports unless
    /// `keep_ports`, up to [`ATTEMPTS`] times.
    fn launch_with(&mut self, keep_ports: bool) {
        let mut report = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut log = LogWatch::new(&self.log_path());
            self.spawn_once();
            let why = match self.serving(&mut log, Duration::from_secs(20)) {
                Ok(()) => return,
                Err(why) => why,
            };
            report.push_str(&format!(
                "--- attempt {attempt} on {}: {why} ---\n{}\n",
                self.addr(),
                log.text()
            ));
            self.kill();
            self.home.clear_data();
            if !keep_ports {
                self.http_port = free_port();
                self.grpc_port = free_port();
            }
        }
        panic!("r-nacos did not come up in {ATTEMPTS} attempts:\n{report}");
    }

    fn launch(&mut self) {
        self.launch_with(false);
    }

    fn log_path(&self) -> PathBuf {
        self.home.dir.join("rnacos.log")
    }

    /// `Ok` once `/health` answers, a write through raft is kept and, with
    /// auth on, the first user can log in; `Err` (at once) when the log
    /// shows a panic, or when `within` passes.
    fn serving(&self, log: &mut LogWatch, within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        let mut check = |what: &str, until: Instant, cond: &mut dyn FnMut() -> bool| loop {
            if let Some(line) = log.scan() {
                return Err(format!("r-nacos panicked ({line})"));
            }
            if cond() {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!("{what} not within {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        check("/health", until, &mut || {
            http_get(self.http_port, "/health").is_some_and(|b| b.contains("success"))
        })?;
        if self.setting("RNACOS_ENABLE_OPEN_API_AUTH") == Some("true") {
            // Logging in needs the first user, which is written through raft.
            return check("admin login", until, &mut || self.admin_logs_in());
        }
        // A broken raft store never recovers: give it a few seconds only.
        let quick = until.min(Instant::now() + Duration::from_secs(5));
        check("a kept write", quick, &mut || self.keeps_write())?;
        // The panic can come a moment after the first write answered.
        std::thread::sleep(Duration::from_millis(200));
        check("a clean log", Instant::now(), &mut || true)
    }

    /// Writes a probe config through raft and reads it back (removing it
    /// again): r-nacos with a half set-up raft store answers `true` to the
    /// write but keeps nothing.
    fn keeps_write(&self) -> bool {
        const PROBE: &str = "dataId=nacos-blocking-fixture-probe&group=FIXTURE";
        http_post(
            self.http_port,
            "/nacos/v1/cs/configs",
            &format!("{PROBE}&content=ok"),
        );
        let kept = get_ok_body(self.http_port, &format!("/nacos/v1/cs/configs?{PROBE}"))
            .is_some_and(|b| b == "ok");
        if kept {
            http(
                self.http_port,
                "DELETE",
                &format!("/nacos/v1/cs/configs?{PROBE}"),
                "",
            );
        }
        kept
    }

    fn spawn_once(&mut self) {
        let data = self.home.dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut env = vec![
            ("RNACOS_HTTP_PORT".to_string(), self.http_port.to_string()),
            ("RNACOS_GRPC_PORT".to_string(), self.grpc_port.to_string()),
            (
                "RNACOS_RAFT_NODE_ADDR".to_string(),
                format!("127.0.0.1:{}", self.grpc_port),
            ),
            (
                "RNACOS_DATA_DIR".to_string(),
                data.to_string_lossy().into_owned(),
            ),
        ];
        env.extend(self.home.env.iter().cloned());
        // A server that lives in a `static` is never dropped: the watchdog
        // removes its directory when the test binary exits.
        let proc = Proc::spawn(&self.home.dir, &self.log_path(), &env, self.home.in_static);
        self.home.started(proc);
    }

    fn setting(&self, key: &str) -> Option<&str> {
        self.home
            .env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `true` when the first user (created through raft shortly after
    /// `/health` answers) can log in.
    fn admin_logs_in(&self) -> bool {
        let user = self
            .setting("RNACOS_INIT_ADMIN_USERNAME")
            .unwrap_or("admin");
        let pass = self
            .setting("RNACOS_INIT_ADMIN_PASSWORD")
            .unwrap_or("admin");
        http_post(
            self.http_port,
            "/nacos/v1/auth/login",
            &format!("username={user}&password={pass}"),
        )
        .is_some_and(|b| b.contains("accessToken"))
    }

    /// Waits until `GET /health` answers; `false` if it does not in time.
    pub fn wait_ready(&self, within: Duration) -> bool {
        eventually(within, || {
            http_get(self.http_port, "/health").is_some_and(|b| b.contains("success"))
        })
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        self.home.stop();
    }

    /// Starts the server again on the same ports with a fresh data dir
    /// (r-nacos keeps ephemeral instances in memory only).
    pub fn restart(&mut self) {
        self.kill();
        self.home.clear_data();
        self.launch_with(true);
    }

    /// Freezes the process (SIGSTOP): it accepts connections but never answers.
    pub fn freeze(&self) {
        self.home.freeze();
    }

    /// Lets a frozen process run again.
    pub fn thaw(&self) {
        self.home.thaw();
    }

    pub fn dir(&self) -> &Path {
        &self.home.dir
    }
}

/// Polls `cond` every 50 ms until it holds or `within` passes.
pub fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The threads of this process (thread id → name, from
/// `/proc/self/task`) that live through two looks 20 ms apart.
///
/// ureq resolves a request's host on a thread of its own whenever the
/// request has a whole-request timeout (every call a caller makes; the
/// crate's background work to IP servers has none), and a thread spawned
/// without a name inherits its creator's `comm` on Linux: a thread making
/// such a call (a pool thread running a handler that calls the client)
/// briefly has a twin of the same name.
/// Those live for microseconds (the tests' servers are IP literals); the
/// threads a client keeps live on.
pub fn lasting_threads() -> std::collections::BTreeMap<String, String> {
    let look = || -> std::collections::BTreeMap<String, String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| {
                let t = t.ok()?;
                let name = std::fs::read_to_string(t.path().join("comm")).ok()?;
                Some((
                    t.file_name().to_string_lossy().into_owned(),
                    name.trim().to_string(),
                ))
            })
            .collect()
    };
    let first = look();
    std::thread::sleep(Duration::from_millis(20));
    let mut second = look();
    second.retain(|tid, _| first.contains_key(tid));
    second
}

/// The number of threads of this process that last (see
/// [`lasting_threads`]).
pub fn thread_count() -> usize {
    lasting_threads().len()
}

/// The names of this process's lasting threads that a client started
/// (`nacos-*`), sorted.
pub fn nacos_thread_names() -> Vec<String> {
    let mut names: Vec<String> = lasting_threads()
        .into_values()
        .filter(|n| n.starts_with("nacos-"))
        .collect();
    names.sort();
    names
}

/// Registers an instance of `service`, lists it, publishes `round` as the
/// content of config `data_id` and reads it back, panicking with `round`
/// in the message at the first failure: "the client works" for tests that
/// take servers away.
pub fn serves_a_round(c: &nacos_blocking::NacosClient, service: &str, data_id: &str, round: &str) {
    let ip = "10.2.0.9";
    c.register_instance(service, &nacos_blocking::Instance::new(ip, 80))
        .unwrap_or_else(|e| panic!("{round}: register: {e}"));
    let listed = c
        .list_instances(service)
        .unwrap_or_else(|e| panic!("{round}: list: {e}"));
    assert!(
        listed.hosts.iter().any(|h| h.ip == ip),
        "{round}: not listed"
    );
    c.publish_config(data_id, round)
        .unwrap_or_else(|e| panic!("{round}: publish: {e}"));
    let got = c
        .get_config(data_id)
        .unwrap_or_else(|e| panic!("{round}: get: {e}"));
    assert_eq!(got.as_deref(), Some(round));
}

/// What a Nacos 2.x server answers to the API probe
/// (`GET /nacos/v1/ns/operator/metrics?onlyStatus=false`; 2.4.3
/// `OperatorController#metrics` L149–192, trimmed): its counters tell a
/// real v1 server from Nacos 3.2's status-only stand-in.
pub const V1_METRICS: &str = r#"{"status":"UP","serviceCount":0,"instanceCount":0,"subscribeCount":0,"cpu":0.0,"load":0.1,"mem":0.5}"#;

/// A client of two servers at once, e.g. a v1-only and a v3-only one,
/// with a 5 s timeout and no disk cache (for tests that take either away).
pub fn two_server_client(a: &str, b: &str) -> nacos_blocking::NacosClient {
    nacos_blocking::NacosClient::builder()
        .server_addr(format!("{a},{b}"))
        .timeout(Duration::from_secs(5))
        .disk_cache(false)
        .build()
        .unwrap()
}

/// A client built from `b` with `user` and a wrong password: its first
/// call is refused as an auth error, whose text and `Debug` never show
/// the password.
pub fn assert_wrong_password_refused(b: nacos_blocking::ClientBuilder, user: &str, service: &str) {
    const WRONG: &str = "not-the-password";
    let c = b.credentials(user, WRONG).build().unwrap();
    let e = c.list_instances(service).unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!format!("{e} {e:?}").contains(WRONG), "{e:?}");
}
