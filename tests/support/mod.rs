//! Test fixtures: a real r-nacos server per test binary (or per test), and
//! small fake servers for what r-nacos cannot do on demand.
#![allow(dead_code, unreachable_pub)]

pub mod fake;
pub mod logs;
pub mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The command that installs the test server, for error messages.
pub const INSTALL_HINT: &str =
    "r-nacos (the test server) was not found. Install it with `bash scripts/install-rnacos.sh` \
     (or `cargo install --locked rnacos --version '~0.8'`), or point RNACOS_BIN at the binary.";

/// The r-nacos binary: `$RNACOS_BIN`, `rnacos` on `PATH`, or `~/.cargo/bin/rnacos`.
/// Panics with install instructions when there is none: tests never skip.
pub fn rnacos_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RNACOS_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "RNACOS_BIN={} is not a file. {INSTALL_HINT}",
            p.display()
        );
        return p;
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("rnacos"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/rnacos"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{INSTALL_HINT}"))
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A unique name for services, data ids and directories within this run.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Settings for fast instance expiry, as the heartbeat tests need.
pub const FAST_EXPIRY: &[(&str, &str)] = &[
    ("RNACOS_NAMING_HEALTH_TIMEOUT_SECOND", "3"),
    ("RNACOS_NAMING_INSTANCE_TIMEOUT_SECOND", "6"),
];

/// A running r-nacos on loopback ports of its own, with its own data dir.
///
/// r-nacos is started under a small `sh` watchdog that kills it when this
/// process's end of the watchdog's stdin closes, so a server kept in a
/// `static` still dies with the test binary.
pub struct RNacos {
    pub http_port: u16,
    pub grpc_port: u16,
    dir: PathBuf,
    env: Vec<(String, String)>,
    proc: Option<Proc>,
    in_static: bool,
}

struct Proc {
    watchdog: Child,
    _stdin: ChildStdin,
    pid: u32,
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
        std::fs::create_dir_all(&dir).unwrap();
        RNacos {
            http_port: free_port(),
            grpc_port: free_port(),
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            proc: None,
            in_static: false,
        }
    }

    /// One server shared by every test of this binary, with fast expiry
    /// (unhealthy 6 s and removed 9 s after the last beat) and no probing
    /// of persistent instances.
    pub fn shared() -> &'static RNacos {
        static SERVER: OnceLock<RNacos> = OnceLock::new();
        SERVER.get_or_init(|| {
            let mut s = RNacos::new(FAST_EXPIRY);
            s.in_static = true;
            s.launch();
            s
        })
    }

    /// `127.0.0.1:<http port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// Starts the process and waits until it serves. A server that does not
    /// come up (for instance because another process took one of its ports
    /// between `free_port()` and the bind) is started again, on new ports
    /// unless `keep_ports`.
    fn launch_with(&mut self, keep_ports: bool) {
        // r-nacos 0.8.8 starts with a broken raft store now and then (more
        // often on a loaded machine; see `keeps_writes`): try a few times.
        const ATTEMPTS: u32 = 8;
        let mut logs = String::new();
        for attempt in 1..=ATTEMPTS {
            self.spawn_once();
            if self.serving(Duration::from_secs(20)) {
                return;
            }
            let log = std::fs::read_to_string(self.dir.join("rnacos.log")).unwrap_or_default();
            logs.push_str(&format!(
                "--- attempt {attempt} on {} ---\n{log}\n",
                self.addr()
            ));
            self.kill();
            let _ = std::fs::remove_dir_all(self.dir.join("data"));
            if !keep_ports {
                self.http_port = free_port();
                self.grpc_port = free_port();
            }
        }
        panic!("r-nacos did not come up in {ATTEMPTS} attempts:\n{logs}");
    }

    fn launch(&mut self) {
        self.launch_with(false);
    }

    /// `true` once `/health` answers and, with auth on, the first user can
    /// log in.
    fn serving(&self, within: Duration) -> bool {
        let until = Instant::now() + within;
        if !self.wait_ready(within) {
            return false;
        }
        if self.setting("RNACOS_ENABLE_OPEN_API_AUTH") != Some("true") {
            // A broken raft store never recovers: give it a few seconds only.
            let left = until.saturating_duration_since(Instant::now());
            return self.keeps_writes(left.min(Duration::from_secs(5)));
        }
        // Logging in needs the first user, which is written through raft too.
        self.wait_for_admin(until.saturating_duration_since(Instant::now()))
    }

    /// r-nacos 0.8.8 sometimes starts with its raft store half set up (a
    /// panic in `raftapply.rs` in its log): it answers `/health`, and even
    /// answers `true` to a config publish, but keeps nothing. Such a server
    /// is useless for tests; `true` once a probe config written through
    /// raft can be read back (the probe is removed again).
    fn keeps_writes(&self, within: Duration) -> bool {
        const PROBE: &str = "dataId=nacos-blocking-fixture-probe&group=FIXTURE";
        let until = Instant::now() + within;
        while Instant::now() < until {
            http(
                self.http_port,
                "POST",
                "/nacos/v1/cs/configs",
                &format!("{PROBE}&content=ok"),
            );
            std::thread::sleep(Duration::from_millis(100));
            let read = http_get(self.http_port, &format!("/nacos/v1/cs/configs?{PROBE}"));
            if read.is_some_and(|r| r.starts_with("HTTP/1.0 200") && r.ends_with("ok")) {
                http(
                    self.http_port,
                    "DELETE",
                    &format!("/nacos/v1/cs/configs?{PROBE}"),
                    "",
                );
                return true;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
        false
    }

    fn spawn_once(&mut self) {
        let bin = rnacos_bin();
        let data = self.dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        // (The watchdog of a static server removes the whole dir on exit.)
        let log = std::fs::File::create(self.dir.join("rnacos.log")).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#""$0" >>"$1" 2>&1 & child=$!; echo $child; read _ignored; kill -9 $child 2>/dev/null; wait $child 2>/dev/null; [ -n "$2" ] && rm -rf "$2""#)
            .arg(&bin)
            .arg(self.dir.join("rnacos.log"))
            // A server that lives in a `static` is never dropped: the
            // watchdog removes its directory when the test binary exits.
            .arg(if self.in_static { self.dir.as_os_str() } else { "".as_ref() })
            .current_dir(&self.dir)
            .env("RNACOS_HTTP_PORT", self.http_port.to_string())
            .env("RNACOS_GRPC_PORT", self.grpc_port.to_string())
            .env("RNACOS_HTTP_CONSOLE_PORT", "0")
            .env("RNACOS_SDK_HOST", "127.0.0.1")
            .env("RNACOS_RAFT_NODE_ADDR", format!("127.0.0.1:{}", self.grpc_port))
            .env("RNACOS_DATA_DIR", &data)
            .env("RUST_LOG", "warn")
            .env("RNACOS_NAMING_PERPETUAL_INSTANCE_PROBE_INTERVAL_SECOND", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut watchdog = cmd.spawn().expect("start sh for r-nacos");
        let stdin = watchdog.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(watchdog.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid: u32 = line.trim().parse().expect("r-nacos pid");
        self.proc = Some(Proc {
            watchdog,
            _stdin: stdin,
            pid,
        });
    }

    fn setting(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// With auth on, r-nacos creates its first user shortly after it answers
    /// `/health`; wait until that user can log in.
    fn wait_for_admin(&self, within: Duration) -> bool {
        let user = self
            .setting("RNACOS_INIT_ADMIN_USERNAME")
            .unwrap_or("admin");
        let pass = self
            .setting("RNACOS_INIT_ADMIN_PASSWORD")
            .unwrap_or("admin");
        let body = format!("username={user}&password={pass}");
        let until = Instant::now() + within;
        while Instant::now() < until {
            if http_post(self.http_port, "/nacos/v1/auth/login", &body)
                .is_some_and(|b| b.contains("accessToken"))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    }

    /// Waits until `GET /health` answers; `false` if it does not in time.
    pub fn wait_ready(&self, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if http_get(self.http_port, "/health").is_some_and(|b| b.contains("success")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            signal(p.pid, "CONT");
            signal(p.pid, "KILL");
            drop(p._stdin);
            let _ = p.watchdog.wait();
        }
    }

    /// Starts the server again on the same ports with a fresh data dir
    /// (r-nacos keeps ephemeral instances in memory only).
    pub fn restart(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(self.dir.join("data"));
        self.launch_with(true);
    }

    /// Freezes the process (SIGSTOP): it accepts connections but never answers.
    pub fn freeze(&self) {
        signal(self.proc.as_ref().unwrap().pid, "STOP");
    }

    /// Lets a frozen process run again.
    pub fn thaw(&self) {
        signal(self.proc.as_ref().unwrap().pid, "CONT");
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RNacos {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// A bare HTTP/1.0 request on loopback (form body, if any); the whole
/// answer, head included, or `None` when nothing answers.
pub fn http(port: u16, method: &str, path: &str, form: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .ok()?;
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).ok()?;
    Some(out)
}

/// A bare HTTP/1.0 GET on loopback; `None` when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path, "")
}

/// A bare HTTP/1.0 form POST on loopback; `None` when nothing answers.
pub fn http_post(port: u16, path: &str, form: &str) -> Option<String> {
    http(port, "POST", path, form)
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

/// The number of threads of this process (from /proc).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}
