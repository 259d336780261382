//! The v1 and v3 rows side by side: the same client code (`Api::Auto`)
//! against a v1 server (r-nacos) and a v3 server (batata) in one run,
//! alternating rounds. Run by `bash benchmarks/v3.sh`, which starts both
//! servers and writes `benchmarks/V3.md` from the JSON printed here.
//!
//! `v3rows <v1-addr> <v3-addr> [rounds]` prints one JSON object per
//! measurement: `{"api": "v1"|"v3", "what": ..., "round": n, ...}`.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nacos_blocking::metrics::Operation;
use nacos_blocking::{ConfigEvent, Instance, NacosClient};

/// Client CPU (user + system) of this process, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn client(addr: &str, beats: bool) -> NacosClient {
    NacosClient::builder()
        .server_addr(addr)
        .auto_heartbeat(beats)
        .heartbeat_interval(Duration::from_secs(1))
        .disk_cache(false)
        .build()
        .expect("client")
}

/// Sequential registrations of new instances: calls/s and CPU per call.
fn register(addr: &str, api: &str, round: usize, calls: usize) {
    let c = client(addr, false);
    let svc = format!("v3rows-reg-{api}-{round}-{}", std::process::id());
    for i in 0..50 {
        c.register_instance(&svc, &Instance::new("10.3.0.1", 1 + i as u16))
            .expect("warm-up register");
    }
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..calls {
        c.register_instance(&svc, &Instance::new("10.3.1.1", 1000 + i as u16))
            .expect("register");
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        r#"{{"api":"{api}","what":"register","round":{round},"calls_per_s":{:.1},"cpu_us_per_call":{:.1}}}"#,
        calls as f64 / secs,
        cpu * 1e6 / calls as f64
    );
    c.shutdown().ok();
}

/// Lists of a service with 200 instances (2 metadata keys each).
fn list(addr: &str, api: &str, round: usize, calls: usize) {
    let c = client(addr, false);
    let svc = format!("v3rows-list-{api}-{round}-{}", std::process::id());
    for i in 0..200u16 {
        let inst = Instance::builder("10.3.2.1", 2000 + i)
            .ephemeral(false)
            .metadata("zone", "a")
            .metadata("version", "1.2.3")
            .build();
        c.register_instance(&svc, &inst).expect("register for list");
    }
    let n = c.list_instances(&svc).expect("list").hosts.len();
    assert_eq!(n, 200, "{api}: listed {n} of 200");
    for _ in 0..20 {
        c.list_instances(&svc).expect("warm-up list");
    }
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..calls {
        let n = c.list_instances(&svc).expect("list").hosts.len();
        assert_eq!(n, 200);
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        r#"{{"api":"{api}","what":"list","round":{round},"calls_per_s":{:.1},"cpu_us_per_call":{:.1}}}"#,
        calls as f64 / secs,
        cpu * 1e6 / calls as f64
    );
    c.shutdown().ok();
}

/// Heartbeat cost: `instances` beaten every second over `window`.
fn heartbeat(addr: &str, api: &str, round: usize, instances: usize, window: Duration) {
    let c = client(addr, true);
    let svc = format!("v3rows-hb-{api}-{round}-{}", std::process::id());
    for i in 0..instances {
        // Its own 1 s interval, so neither server's advice changes the rate.
        let inst = Instance::builder("10.3.3.1", 3000 + i as u16)
            .metadata("preserved.heart.beat.interval", "1000")
            .build();
        c.register_instance(&svc, &inst)
            .expect("register for beats");
    }
    std::thread::sleep(Duration::from_secs(2));
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    std::thread::sleep(window);
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let states = c.heartbeat_states();
    let failing = states.iter().filter(|s| !s.is_ok()).count();
    assert_eq!(failing, 0, "{api}: {failing} instances failing their beats");
    // Every instance beats once a second.
    let beats = instances as f64 * secs;
    println!(
        r#"{{"api":"{api}","what":"heartbeat","round":{round},"instances":{instances},"cpu_pct":{:.2},"cpu_us_per_beat":{:.1}}}"#,
        cpu * 100.0 / secs,
        cpu * 1e6 / beats
    );
    c.shutdown().ok();
}

/// Latency from a publish returning to the watcher's event.
fn config_watch(addr: &str, api: &str, round: usize, changes: usize) {
    let c = client(addr, false);
    let id = format!("v3rows-cfg-{api}-{round}-{}", std::process::id());
    c.publish_config(id.as_str(), "v=0").expect("publish");
    let (tx, rx) = mpsc::channel::<ConfigEvent>();
    let _sub = c.subscribe_config(id.as_str(), tx).expect("watch");
    rx.recv_timeout(Duration::from_secs(10))
        .expect("initial event");
    let mut lat = Vec::with_capacity(changes);
    // Gaps that do not line up with the poll interval.
    let gaps = [700u64, 1300, 450, 950, 1700, 600, 1100];
    for i in 1..=changes {
        std::thread::sleep(Duration::from_millis(gaps[i % gaps.len()]));
        let want = format!("v={i}");
        c.publish_config(id.as_str(), want.as_str())
            .expect("publish");
        let t0 = Instant::now();
        loop {
            let ev = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("change event");
            if ev.content.as_deref() == Some(want.as_str()) {
                break;
            }
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    println!(
        r#"{{"api":"{api}","what":"config_watch","round":{round},"changes":{changes},"p50_ms":{:.1},"p90_ms":{:.1},"max_ms":{:.1}}}"#,
        pct(0.5),
        pct(0.9),
        lat[lat.len() - 1]
    );
    c.shutdown().ok();
}

/// Many watched configs on one client: the requests a second it sends
/// while nothing changes (from the client's own metrics: config polls and
/// reads), then publish → event latency for changes to random keys.
fn config_watch_many(addr: &str, api: &str, round: usize, keys: usize, idle: Duration, changes: usize) {
    let c = client(addr, false);
    let prefix = format!("v3rows-many-{api}-{round}-{}", std::process::id());
    for i in 0..keys {
        c.publish_config(format!("{prefix}-{i}").as_str(), "v=0")
            .expect("publish");
    }
    let (tx, rx) = mpsc::channel::<ConfigEvent>();
    let subs: Vec<_> = (0..keys)
        .map(|i| {
            c.subscribe_config(format!("{prefix}-{i}").as_str(), tx.clone())
                .expect("watch")
        })
        .collect();
    for _ in 0..keys {
        rx.recv_timeout(Duration::from_secs(30)).expect("initial event");
    }
    // Past the first rounds (a v1 long poll is sent at once).
    std::thread::sleep(Duration::from_secs(3));
    let requests = |c: &NacosClient| -> u64 {
        let m = c.metrics();
        [Operation::ConfigPoll, Operation::ConfigRead]
            .iter()
            .filter_map(|&op| m.operation(op).map(|o| o.calls))
            .sum()
    };
    let r0 = requests(&c);
    let t0 = Instant::now();
    std::thread::sleep(idle);
    let per_s = (requests(&c) - r0) as f64 / t0.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(changes);
    let gaps = [700u64, 1300, 450, 950, 1700, 600, 1100];
    for i in 1..=changes {
        std::thread::sleep(Duration::from_millis(gaps[i % gaps.len()]));
        let key = format!("{prefix}-{}", (i * 7919) % keys);
        let want = format!("v={i}");
        c.publish_config(key.as_str(), want.as_str()).expect("publish");
        let t0 = Instant::now();
        loop {
            let ev = rx.recv_timeout(Duration::from_secs(60)).expect("change event");
            if ev.key.data_id == key && ev.content.as_deref() == Some(want.as_str()) {
                break;
            }
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    println!(
        r#"{{"api":"{api}","what":"config_watch_many","round":{round},"keys":{keys},"idle_requests_per_s":{per_s:.1},"changes":{changes},"p50_ms":{:.1},"p90_ms":{:.1},"max_ms":{:.1}}}"#,
        pct(0.5),
        pct(0.9),
        lat[lat.len() - 1]
    );
    drop(subs);
    c.shutdown().ok();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (v1, v3) = (&args[1], &args[2]);
    let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(3);
    let calls = env_usize("V3ROWS_CALLS", 1000);
    let hb_instances = env_usize("V3ROWS_HB_INSTANCES", 200);
    let hb_window = Duration::from_secs(env_usize("V3ROWS_HB_WINDOW", 10) as u64);
    let changes = env_usize("V3ROWS_CHANGES", 20);
    let many_keys = env_usize("V3ROWS_MANY_KEYS", 1000);
    let many_idle = Duration::from_secs(env_usize("V3ROWS_MANY_IDLE", 10) as u64);
    let many_changes = env_usize("V3ROWS_MANY_CHANGES", 10);
    let servers: HashMap<&str, &String> = [("v1", v1), ("v3", v3)].into_iter().collect();
    for round in 0..rounds {
        // Alternate which API goes first, so drift hits both alike.
        let order = if round % 2 == 0 {
            ["v1", "v3"]
        } else {
            ["v3", "v1"]
        };
        for api in order {
            let addr = servers[api];
            register(addr, api, round, calls);
            list(addr, api, round, calls);
            heartbeat(addr, api, round, hb_instances, hb_window);
            config_watch(addr, api, round, changes);
            config_watch_many(addr, api, round, many_keys, many_idle, many_changes);
        }
    }
}
