//! Hostile servers and hostile local files: answers that inflate past the
//! response cap, absurd numbers, refusals forever, echoed secrets, FIFOs
//! and devices where cache files should be. Each call must fail (or
//! succeed) cleanly, within its deadline, in bounded memory, and without
//! a secret in any error or log line.
//!
//! These need fakes: r-nacos cannot be made to misbehave on demand.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient};
use support::fake::{ok, response, FakeServer};
use support::{free_port, logs};

/// A server address where nothing listens.
fn dead_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

fn temp_dir(prefix: &str) -> PathBuf {
    support::scratch_dir(prefix)
}

/// Runs `f` on a thread of its own and returns its result, failing the
/// test (instead of hanging it) when it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            t.join().unwrap();
            v
        }
        Err(_) => panic!("still running after {limit:?}"),
    }
}

// --- Memory --------------------------------------------------------------

/// Tests that measure the peak RSS run one at a time.
fn memory_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The peak resident set size (`VmHWM`) in bytes, after resetting it to
/// the current RSS where the kernel allows (`/proc/self/clear_refs`).
fn reset_peak_rss() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    peak_rss()
}

fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

#[cfg(feature = "gzip")]
use std::io::Write;

const MIB: u64 = 1024 * 1024;

#[cfg(feature = "gzip")]
/// What a gzip bomb inflates to: four times the default response cap.
const BOMB_BYTES: u64 = 64 * MIB;

#[cfg(feature = "gzip")]
/// One gzip member of `BOMB_BYTES` zeros (about 64 KiB), made once.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; MIB as usize];
        for _ in 0..BOMB_BYTES / MIB {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap()
    })
}

#[cfg(feature = "gzip")]
/// A server answering every request with the gzip bomb.
fn bomb_server() -> FakeServer {
    FakeServer::start_raw(|_, _| {
        Some(response(
            200,
            &[("Content-Encoding", "gzip"), ("Content-Type", "text/plain")],
            gzip_bomb(),
        ))
    })
}

#[cfg(feature = "gzip")]
#[test]
fn gzip_bomb_fails_at_the_decoded_cap_in_bounded_memory() {
    let bomb_len = gzip_bomb().len() as u64;
    assert!(bomb_len < MIB, "the bomb is small on the wire: {bomb_len}");
    let server = bomb_server();
    let timeout = Duration::from_secs(10);
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .cache_dir(temp_dir("nb-bomb"))
        .timeout(timeout)
        .build()
        .unwrap();

    let _one = memory_lock();
    let before = reset_peak_rss();
    let started = Instant::now();
    let result = c.get_config("bomb");
    let took = started.elapsed();
    let grew = peak_rss().saturating_sub(before);

    let e = result.expect_err("a body inflating past the cap is an error");
    assert!(
        e.to_string()
            .contains("response larger than 16777216 bytes"),
        "{e}"
    );
    assert!(e.is_unavailable() && !e.is_timeout(), "{e:?}");
    assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
    // Reading stops one byte past the 16 MiB cap: nowhere near the 64 MiB.
    assert!(
        grew < 40 * MIB,
        "peak RSS grew by {} MiB for a {} MiB bomb",
        grew / MIB,
        BOMB_BYTES / MIB
    );
    assert_eq!(server.requests(), 1, "too large is not retried");
}

#[cfg(feature = "gzip")]
#[test]
fn gzip_bomb_from_the_address_server_is_refused_too() {
    logs::install();
    let server = bomb_server();
    let _one = memory_lock();
    let before = reset_peak_rss();
    let started = Instant::now();
    let c = NacosClient::builder()
        .endpoint(server.addr())
        .cache_dir(temp_dir("nb-bomb-ep"))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let took = started.elapsed();
    let grew = peak_rss().saturating_sub(before);
    c.shutdown().unwrap();
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(grew < 40 * MIB, "peak RSS grew by {} MiB", grew / MIB);
    let needle = format!("address server http://{}", server.addr());
    let line = logs::lines()
        .into_iter()
        .find(|l| l.contains(&needle))
        .expect("the failure is logged");
    assert!(
        line.contains("response larger than 16777216 bytes"),
        "{line}"
    );
}

#[test]
fn a_body_of_exactly_the_cap_is_read() {
    let body = "x".repeat(2048);
    let server = FakeServer::start(move |_| Some(ok(&body)));
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .cache_dir(temp_dir("nb-cap"))
        .max_response_bytes(2048)
        .build()
        .unwrap();
    assert_eq!(c.get_config("exact").unwrap().unwrap().len(), 2048);
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .cache_dir(temp_dir("nb-cap"))
        .max_response_bytes(2047)
        .build()
        .unwrap();
    let e = c.get_config("over").unwrap_err();
    assert!(e.to_string().contains("larger than 2047 bytes"), "{e}");
}

// --- Durations -----------------------------------------------------------

#[test]
fn absurd_builder_durations_and_counts_are_refused() {
    let b = || NacosClient::builder().server_addr("127.0.0.1:1");
    let field = |r: nacos_blocking::Result<NacosClient>| {
        let e = r.expect_err("refused");
        assert!(e.is_invalid_argument(), "{e:?}");
        e.invalid_field().unwrap()
    };
    let max = Duration::MAX;
    assert_eq!(field(b().timeout(max).build()), "timeout");
    assert_eq!(field(b().connect_timeout(max).build()), "connect_timeout");
    assert_eq!(
        field(b().long_poll_timeout(max).build()),
        "long_poll_timeout"
    );
    assert_eq!(field(b().poll_interval(max).build()), "poll_interval");
    assert_eq!(
        field(b().heartbeat_interval(max).build()),
        "heartbeat_interval"
    );
    assert_eq!(field(b().retries(u32::MAX).build()), "retries");
    assert_eq!(
        field(
            NacosClient::builder()
                .endpoint("127.0.0.1:1")
                .endpoint_refresh(max)
                .build()
        ),
        "endpoint_refresh"
    );
}

/// A server with auth on: logins answer `login`, everything else `ok`.
fn auth_server(login: &'static str) -> (FakeServer, Arc<AtomicUsize>) {
    let logins = Arc::new(AtomicUsize::new(0));
    let counted = logins.clone();
    let server = FakeServer::start(move |head| {
        if head.contains("/v1/auth/users/login") {
            counted.fetch_add(1, Ordering::SeqCst);
            Some(ok(login))
        } else {
            Some(ok("content"))
        }
    });
    (server, logins)
}

#[test]
fn any_token_ttl_works_without_overflow() {
    for login in [
        r#"{"accessToken":"t","tokenTtl":9223372036854775807}"#,
        r#"{"accessToken":"t","tokenTtl":18446744073709551615}"#,
        r#"{"accessToken":"t","tokenTtl":-1}"#,
        r#"{"accessToken":"t","tokenTtl":1e300}"#,
    ] {
        let (server, logins) = auth_server(login);
        let c = NacosClient::builder()
            .server_addr(server.addr())
            .cache_dir(temp_dir("nb-ttl"))
            .credentials("nacos", "pw")
            .build()
            .unwrap();
        assert_eq!(
            c.get_config("a").unwrap().as_deref(),
            Some("content"),
            "{login}"
        );
        assert_eq!(
            c.get_config("a").unwrap().as_deref(),
            Some("content"),
            "{login}"
        );
        assert!(logins.load(Ordering::SeqCst) >= 1);
    }
}

#[test]
fn server_heartbeat_advice_of_ages_is_clamped() {
    let server = FakeServer::start(|head| {
        if head.starts_with("PUT /nacos/v1/ns/instance/beat") {
            Some(ok(
                r#"{"clientBeatInterval":9223372036854775807,"code":10200,"lightBeatEnabled":false}"#,
            ))
        } else {
            Some(ok("ok"))
        }
    });
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .cache_dir(temp_dir("nb-beat"))
        .heartbeat_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let inst = Instance::new("10.9.9.9", 9999);
    c.register_instance("svc", &inst).unwrap();
    let started = Instant::now();
    let state = loop {
        let s = c.heartbeat_state("svc", &inst).unwrap();
        if s.last_success.is_some() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no beat: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(state.is_ok(), "{state:?}");
    // Four fifths of the server's default 15 s heartbeat timeout.
    assert_eq!(state.interval, Duration::from_secs(12), "{state:?}");
    c.shutdown().unwrap();
}

// --- Deadlines and refusals ------------------------------------------------

#[test]
fn refused_logins_are_not_repeated_for_every_call() {
    let logins = Arc::new(AtomicUsize::new(0));
    let counted = logins.clone();
    let server = FakeServer::start(move |head| {
        if head.contains("/v1/auth/users/login") {
            counted.fetch_add(1, Ordering::SeqCst);
            let body = "unknown user!";
            Some(format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ))
        } else {
            Some(ok("content"))
        }
    });
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .cache_dir(temp_dir("nb-403"))
        .credentials("nacos", "wrong")
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        let e = c.get_config("a").unwrap_err();
        assert!(e.is_auth(), "{e:?}");
        assert!(e.to_string().contains("unknown user"), "{e}");
    }
    // Twenty calls in well under the first 1 s pause: one login.
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(logins.load(Ordering::SeqCst), 1);
    }
    assert!(logins.load(Ordering::SeqCst) <= 2);
}

#[test]
fn a_server_list_that_stays_empty_ends_at_the_deadline() {
    // The address server never lists anyone: every round has no server.
    let addr_server = FakeServer::answering("");
    let timeout = Duration::from_millis(600);
    let c = NacosClient::builder()
        .endpoint(addr_server.addr())
        .cache_dir(temp_dir("nb-empty"))
        .timeout(timeout)
        .retries(100)
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get_config("a").unwrap_err();
    let took = started.elapsed();
    assert!(e.to_string().contains("no server address known"), "{e}");
    assert!(
        took >= timeout - Duration::from_millis(50),
        "gave up early: {took:?}"
    );
    assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
}

#[test]
fn address_server_garbage_never_replaces_a_good_list() {
    logs::install();
    // Its big answers must not count in another test's memory figures.
    let _one = memory_lock();
    let nacos = FakeServer::answering(support::V1_METRICS);
    let good = format!("{}\n", nacos.addr());
    let turn = Arc::new(AtomicUsize::new(0));
    let t = turn.clone();
    // First the good list, then a name no resolver should be asked for,
    // a 10 MB line and thousands of bad lines.
    let addr_server = FakeServer::start(move |_| {
        let answer = if t.fetch_add(1, Ordering::SeqCst) == 0 {
            good.clone()
        } else {
            format!(
                "garbage!!\n{}\n{}",
                "a".repeat(10 << 20),
                "bad entry!\n".repeat(10_000)
            )
        };
        Some(ok(&answer))
    });
    let c = NacosClient::builder()
        .endpoint(addr_server.addr())
        .endpoint_refresh(Duration::from_millis(200))
        .cache_dir(temp_dir("nb-addr-garbage"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert_eq!(c.server_status().unwrap(), "UP");
    let seen = Instant::now();
    while turn.load(Ordering::SeqCst) < 4 {
        assert!(seen.elapsed() < Duration::from_secs(10), "no refresh");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The good list is kept: calls still reach the server.
    assert_eq!(c.server_status().unwrap(), "UP");
    // One warning per answer, not one per line.
    let warnings = logs::lines()
        .into_iter()
        .filter(|l| l.contains(&addr_server.addr()) && l.contains("bad entries"))
        .count();
    let refreshes = turn.load(Ordering::SeqCst);
    assert!(
        warnings <= refreshes,
        "{warnings} warnings for {refreshes} answers"
    );
    c.shutdown().unwrap();
}

#[test]
fn an_oversize_answer_fails_over_to_a_server_that_answers_within_bounds() {
    let huge = FakeServer::start(|_| Some(ok(&"x".repeat(64 * 1024))));
    let fine = FakeServer::answering(support::V1_METRICS);
    // Servers are tried from a random start: both orders, many times.
    for _ in 0..8 {
        let c = NacosClient::builder()
            .server_addr(format!("{},{}", huge.addr(), fine.addr()))
            .max_response_bytes(4096)
            .disk_cache(false)
            .build()
            .unwrap();
        assert_eq!(c.server_status().unwrap(), "UP");
        c.shutdown().unwrap();
    }
}

#[test]
fn a_v1_instance_detail_that_names_no_instance_is_an_error() {
    for body in [
        "{}",
        r#"{"code":500}"#,
        r#"{"ip":"","port":0}"#,
        r#"{"metadata":{}}"#,
        "[]",
        "null",
    ] {
        let server = FakeServer::start(move |head| {
            Some(ok(if head.contains("/operator/metrics") {
                support::V1_METRICS
            } else {
                body
            }))
        });
        let c = NacosClient::builder()
            .server_addr(server.addr())
            .disk_cache(false)
            .build()
            .unwrap();
        let e = c.get_instance("svc", "10.0.0.1", 80).unwrap_err();
        assert!(
            matches!(e, nacos_blocking::Error::Decode { .. }),
            "{body}: {e:?}"
        );
        c.shutdown().unwrap();
    }
}

// --- Secrets ----------------------------------------------------------------

/// A server that logs everyone in with `TOKEN-SECRET-2` and answers every
/// other request with `status` and the request echoed back (the form
/// body first, then the head), like a careless error page.
fn echo_server(status: u16, login_status: u16) -> FakeServer {
    FakeServer::start_raw(move |head, body| {
        let echo = [body, b"\n", head.as_bytes()].concat();
        if head.contains("/v1/auth/users/login") {
            if login_status == 200 {
                let answer = br#"{"accessToken":"TOKEN-SECRET-2","tokenTtl":18000}"#;
                return Some(response(200, &[], answer));
            }
            return Some(response(login_status, &[], &echo));
        }
        Some(response(status, &[], &echo))
    })
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in ["TOKEN-SECRET-2", "pw-SECRET-1"] {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

#[test]
fn echoed_secrets_never_reach_errors_or_logs() {
    logs::install();
    let mut servers = Vec::new();
    for (status, login_status) in [(500, 200), (400, 200), (200, 400), (200, 403), (200, 500)] {
        let server = echo_server(status, login_status);
        let c = NacosClient::builder()
            .server_addr(server.addr())
            .cache_dir(temp_dir("nb-echo"))
            .credentials("nacos", "pw-SECRET-1")
            .retries(0)
            .build()
            .unwrap();
        let mut errors = vec![c.get_config("d").map(|_| ()).unwrap_err()];
        if status != 200 {
            errors.push(c.publish_config("d", "v").unwrap_err());
            errors.push(
                c.register_instance("svc", &Instance::new("10.0.0.1", 80))
                    .unwrap_err(),
            );
        }
        for e in errors {
            let shown = format!("{e} | {e:?}");
            assert_no_secret("an error", &shown);
            // The echo made it into the error, redacted; the token travels
            // in headers (redacted where the echo shows them), never in
            // the request line.
            if login_status == 200 {
                assert!(!shown.contains("accessToken="), "{shown}");
                assert!(shown.contains(" HTTP/1.1"), "the echo is there: {shown}");
            } else {
                assert!(shown.contains("password=<redacted>"), "{shown}");
            }
        }
        servers.push((server, c));
    }
    for line in logs::lines() {
        assert_no_secret("a log line", &line);
    }
}

// --- Local files --------------------------------------------------------------

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

fn link_to_dev_zero(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
}

#[test]
fn fifo_and_device_snapshots_and_failover_files_are_skipped() {
    let cache = temp_dir("nb-snapfiles");
    let failover = temp_dir("nb-failover");
    let group = cache.join("config").join("public").join("DEFAULT_GROUP");
    mkfifo(&group.join("fifo"));
    link_to_dev_zero(&group.join("zero"));
    let fo_group = failover.join("public").join("DEFAULT_GROUP");
    mkfifo(&fo_group.join("fifo-fo"));
    link_to_dev_zero(&fo_group.join("zero-fo"));
    let timeout = Duration::from_secs(2);
    let c = NacosClient::builder()
        .server_addr(dead_addr())
        .cache_dir(&cache)
        .config_failover_dir(&failover)
        .timeout(timeout)
        .retries(0)
        .build()
        .unwrap();
    let _one = memory_lock();
    let before = reset_peak_rss();
    for data_id in ["fifo", "zero", "fifo-fo", "zero-fo"] {
        let c = c.clone();
        let result = within(timeout + Duration::from_secs(2), move || {
            c.get_config(data_id)
        });
        let e = result.expect_err("no server and no usable file");
        assert!(e.is_unavailable(), "{data_id}: {e:?}");
    }
    let grew = peak_rss().saturating_sub(before);
    assert!(grew < 16 * MIB, "peak RSS grew by {} MiB", grew / MIB);
}

#[test]
fn fifo_and_device_files_in_the_naming_cache_are_skipped_at_start() {
    logs::install();
    let cache = temp_dir("nb-namingfiles");
    let group = cache.join("naming").join("dev").join("DEFAULT_GROUP");
    mkfifo(&group.join("fifo-svc"));
    link_to_dev_zero(&group.join("zero-svc"));
    let _one = memory_lock();
    let before = reset_peak_rss();
    let cache_dir = cache.clone();
    let c = within(Duration::from_secs(3), move || {
        NacosClient::builder()
            .server_addr(dead_addr())
            .cache_dir(cache_dir)
            .load_cache_at_start(true)
            .build()
    })
    .unwrap();
    let grew = peak_rss().saturating_sub(before);
    assert!(grew < 16 * MIB, "peak RSS grew by {} MiB", grew / MIB);
    let skipped: Vec<String> = logs::lines()
        .into_iter()
        .filter(|l| l.contains(cache.to_str().unwrap()) && l.contains("not a regular file"))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    c.shutdown().unwrap();
}

// --- Builder strings ---------------------------------------------------------------

#[test]
fn header_bound_and_empty_strings_are_refused_at_build() {
    let b = || NacosClient::builder().server_addr("127.0.0.1:1");
    for bad in ["app\r\nX-Injected: 1", "app\n", "tab\tapp", "ünïcode"] {
        let e = b().app_name(bad).build().unwrap_err();
        assert_eq!(e.invalid_field(), Some("app_name"), "{bad:?}: {e}");
    }
    let e = b().credentials("nacos\r\n", "pw").build().unwrap_err();
    assert_eq!(e.invalid_field(), Some("username"), "{e}");
    let e = b().cache_dir("").build().unwrap_err();
    assert_eq!(e.invalid_field(), Some("cache_dir"), "{e}");
    let e = b().config_failover_dir("").build().unwrap_err();
    assert_eq!(e.invalid_field(), Some("config_failover_dir"), "{e}");
    let e = b().context_path("/nacos\r\nX: 1").build().unwrap_err();
    assert_eq!(e.invalid_field(), Some("context_path"), "{e}");
    b().app_name("orders-svc 1.2 (blue)").build().unwrap();
}
