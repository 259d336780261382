//! A soak against a three-node r-nacos cluster on loopback, with a node
//! killed, frozen or restarted with an empty data dir every 30–90 s, while
//! 200 instances heartbeat, 100 services are subscribed to and 100 configs
//! are watched and republished. Not part of CI: run `scripts/soak.sh
//! [minutes]` (30 by default).
//!
//! It prints every failed call (and whether a majority of nodes was up at
//! the time), instances lost (reported removed by a subscription, or not
//! listed at the end), spurious subscription events (listing nobody, no
//! change, or an instance nobody registered), config watchers that missed
//! the last content, the peak thread count and the RSS drift.
//!
//! Settings: the first argument is the duration in minutes; `SOAK_SEED`
//! fixes the fault schedule; `SOAK_LOG=debug` shows the client's log.

#[path = "../tests/support/cluster.rs"]
mod cluster;
#[path = "../tests/support/process.rs"]
mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cluster::RNacosCluster;
use nacos_blocking::{Instance, NacosClient};

const SERVICES: usize = 100;
const INSTANCES_PER_SERVICE: u16 = 2;
const CONFIGS: usize = 100;
const DEADLINE: Duration = Duration::from_secs(8);

fn main() {
    let minutes: f64 = std::env::args()
        .nth(1)
        .map(|m| m.parse().expect("minutes: a number"))
        .unwrap_or(30.0);
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    static LOGGER: Counter = Counter;
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    println!("soak: {minutes} min, seed {seed}");

    let mut cluster = RNacosCluster::start();
    println!("soak: cluster up at {}", cluster.server_addr());
    let stats = Arc::new(Stats::default());
    let live = Arc::new(AtomicUsize::new(3));
    let stop = Arc::new(AtomicBool::new(false));
    let tag = std::process::id();

    let client = |poll: Duration| {
        NacosClient::builder()
            .server_addr(cluster.server_addr())
            .timeout(DEADLINE)
            .poll_interval(poll)
            // Removed with the cluster, which is dropped after the clients.
            .cache_dir(cluster.scratch_dir("client-cache"))
            .build()
            .unwrap()
    };
    let registrar = client(Duration::from_secs(2));
    let subscriber = client(Duration::from_secs(2));
    let watcher_client = client(Duration::from_secs(2));
    let publisher = client(Duration::from_secs(2));

    // 200 instances, heartbeated by the registrar.
    let services: Vec<String> = (0..SERVICES)
        .map(|s| format!("soak-{tag}-svc{s}"))
        .collect();
    let mut registered: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (s, name) in services.iter().enumerate() {
        for k in 0..INSTANCES_PER_SERVICE {
            let port = 30_000 + (s as u16) * 10 + k;
            registrar
                .register_instance(name.as_str(), &Instance::builder("10.1.0.1", port).build())
                .unwrap();
            registered.entry(name.clone()).or_default().insert(port);
        }
    }
    let registered = Arc::new(registered);
    // 100 configs, each watched.
    let configs: Vec<String> = (0..CONFIGS).map(|c| format!("soak-{tag}-cfg{c}")).collect();
    let last_content: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec!["v0".into(); CONFIGS]));
    for c in &configs {
        publisher.publish_config(c.as_str(), "v0").unwrap();
    }
    settle(&cluster, &registered);
    println!(
        "soak: {} instances registered and listed everywhere",
        SERVICES * INSTANCES_PER_SERVICE as usize
    );

    let mut threads = Vec::new();
    // Subscriptions: check every event.
    {
        let watchers: Vec<_> = services
            .iter()
            .map(|s| (s.clone(), subscriber.watch(s.as_str()).unwrap()))
            .collect();
        let (stats, stop, live, registered) = (
            stats.clone(),
            stop.clone(),
            live.clone(),
            registered.clone(),
        );
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (name, w) in &watchers {
                    while let Ok(ev) = w.try_recv() {
                        stats.events.fetch_add(1, Ordering::Relaxed);
                        let majority = live.load(Ordering::SeqCst) >= 2;
                        let want = &registered[name];
                        if ev.instances.is_empty() {
                            stats.note(
                                &stats.spurious,
                                format!("{name}: event listing nobody (majority up: {majority})"),
                            );
                        } else if !ev.initial && ev.is_empty() {
                            stats.note(&stats.spurious, format!("{name}: event with no change"));
                        }
                        if let Some(i) = ev.instances.iter().find(|i| !want.contains(&i.port)) {
                            stats.note(
                                &stats.spurious,
                                format!("{name}: phantom instance :{}", i.port),
                            );
                        }
                        for gone in &ev.removed {
                            stats.note(
                                &stats.lost,
                                format!(
                                    "{name}: :{} reported removed (majority up: {majority})",
                                    gone.port
                                ),
                            );
                        }
                    }
                }
                thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    // Config watchers: remember the newest content each delivered.
    let seen_content: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec!["v0".into(); CONFIGS]));
    {
        let watchers: Vec<_> = configs
            .iter()
            .map(|c| watcher_client.watch_config(c.as_str()).unwrap())
            .collect();
        let (stop, seen, stats) = (stop.clone(), seen_content.clone(), stats.clone());
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (i, w) in watchers.iter().enumerate() {
                    while let Ok(ev) = w.try_recv() {
                        stats.config_events.fetch_add(1, Ordering::Relaxed);
                        seen.lock().unwrap()[i] = ev.content.unwrap_or_default();
                    }
                }
                thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    // The workload: republish a config, list a service, read a config.
    {
        let (stats, stop, live, last) = (
            stats.clone(),
            stop.clone(),
            live.clone(),
            last_content.clone(),
        );
        let (services, configs) = (services.clone(), configs.clone());
        threads.push(thread::spawn(move || {
            let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let c = rng.below(CONFIGS as u64) as usize;
                let content = format!("v{n}");
                let t = Instant::now();
                let majority = live.load(Ordering::SeqCst) >= 2;
                match publisher.publish_config(configs[c].as_str(), content.as_str()) {
                    Ok(()) => last.lock().unwrap()[c] = content,
                    Err(e) => stats.failed(format!(
                        "publish_config after {:?} (majority up: {majority}): {e}",
                        t.elapsed()
                    )),
                }
                let s = &services[rng.below(SERVICES as u64) as usize];
                let t = Instant::now();
                if let Err(e) = registrar.list_instances(s.as_str()) {
                    stats.failed(format!(
                        "list_instances after {:?} (majority up: {majority}): {e}",
                        t.elapsed()
                    ));
                }
                let t = Instant::now();
                if let Err(e) = registrar.get_config(configs[c].as_str()) {
                    stats.failed(format!(
                        "get_config after {:?} (majority up: {majority}): {e}",
                        t.elapsed()
                    ));
                }
                stats.calls.fetch_add(3, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(200));
            }
        }));
    }
    // Threads and memory.
    let rss_start = rss_kb();
    let sampler = {
        let stop = stop.clone();
        thread::spawn(move || {
            let (mut peak_threads, mut peak_rss) = (0, 0);
            while !stop.load(Ordering::SeqCst) {
                peak_threads = peak_threads.max(thread_count());
                peak_rss = peak_rss.max(rss_kb());
                thread::sleep(Duration::from_millis(500));
            }
            (peak_threads, peak_rss)
        })
    };

    // Faults until the time is up; one node at most is down at a time.
    let mut rng = Rng(seed);
    let end = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let started = Instant::now();
    let mut down: Option<(usize, &str)> = None;
    loop {
        let wait = Duration::from_secs(30 + rng.below(61));
        let next = Instant::now() + wait;
        while Instant::now() < next.min(end) {
            thread::sleep(Duration::from_millis(200));
        }
        heal(&mut cluster, &mut down, &live, started);
        if Instant::now() >= end {
            break;
        }
        let node = rng.below(3) as usize;
        let action = ["kill", "freeze", "restart-empty"][rng.below(3) as usize];
        println!(
            "soak: {:>6.1}s {action} node {}",
            started.elapsed().as_secs_f64(),
            node + 1
        );
        match action {
            "kill" => {
                cluster.kill(node);
                down = Some((node, "kill"));
            }
            "freeze" => {
                cluster.freeze(node);
                down = Some((node, "freeze"));
            }
            _ => {
                live.store(2, Ordering::SeqCst);
                cluster.restart_empty(node);
            }
        }
        live.store(cluster.live_count(), Ordering::SeqCst);
    }

    // Let everything settle, then count what is missing.
    println!("soak: {:>6.1}s settling", started.elapsed().as_secs_f64());
    let converged = cluster.converged(Duration::from_secs(60));
    let unlisted = missing_after(&cluster, &registered, Duration::from_secs(60));
    let lagging = {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let last = last_content.lock().unwrap().clone();
            let seen = seen_content.lock().unwrap().clone();
            let lagging: Vec<usize> = (0..CONFIGS).filter(|&i| last[i] != seen[i]).collect();
            if lagging.is_empty() || Instant::now() >= until {
                break lagging;
            }
            thread::sleep(Duration::from_millis(200));
        }
    };
    stop.store(true, Ordering::SeqCst);
    let (peak_threads, peak_rss) = sampler.join().unwrap();
    let rss_end = rss_kb();
    for t in threads {
        let _ = t.join();
    }
    let panicked = cluster.panicked();

    println!(
        "\n=== soak report ({:.1} min, seed {seed}) ===",
        started.elapsed().as_secs_f64() / 60.0
    );
    println!(
        "calls made:                 {}",
        stats.calls.load(Ordering::Relaxed)
    );
    stats.print("failed calls", &stats.failures);
    println!(
        "subscription events:        {}",
        stats.events.load(Ordering::Relaxed)
    );
    stats.print("instances reported removed", &stats.lost);
    println!("instances not listed at end: {}", unlisted.len());
    for u in &unlisted {
        println!("    {u}");
    }
    stats.print("spurious events", &stats.spurious);
    println!(
        "config events:              {}",
        stats.config_events.load(Ordering::Relaxed)
    );
    println!("config watchers behind at end: {}", lagging.len());
    for &i in &lagging {
        let nodes: Vec<Option<String>> = cluster
            .nodes
            .iter()
            .map(|n| {
                process::get_ok_body(
                    n.http_port,
                    &format!(
                        "/nacos/v1/cs/configs?dataId={}&group=DEFAULT_GROUP",
                        configs[i]
                    ),
                )
            })
            .collect();
        println!(
            "    {}: last published {:?}, watcher saw {:?}, nodes serve {nodes:?}",
            configs[i],
            last_content.lock().unwrap()[i],
            seen_content.lock().unwrap()[i]
        );
    }
    println!("cluster converged at end:   {converged}");
    println!(
        "r-nacos panics:             {}",
        panicked.as_deref().unwrap_or("none")
    );
    println!(
        "client log warnings:        {}",
        WARNINGS.load(Ordering::Relaxed)
    );
    println!("peak threads:               {peak_threads}");
    println!(
        "RSS: {rss_start} kB after setup, {rss_end} kB at end (drift {:+} kB), peak {peak_rss} kB",
        rss_end as i64 - rss_start as i64
    );
}

/// Ends the current fault: thaws a frozen node, restarts a killed one
/// with an empty data dir.
fn heal(
    cluster: &mut RNacosCluster,
    down: &mut Option<(usize, &str)>,
    live: &AtomicUsize,
    started: Instant,
) {
    if let Some((node, what)) = down.take() {
        println!(
            "soak: {:>6.1}s heal node {} ({what})",
            started.elapsed().as_secs_f64(),
            node + 1
        );
        if what == "freeze" {
            cluster.thaw(node);
        } else {
            cluster.restart_empty(node);
        }
        live.store(cluster.live_count(), Ordering::SeqCst);
    }
}

/// Waits until every node lists every registered instance.
fn settle(cluster: &RNacosCluster, registered: &BTreeMap<String, BTreeSet<u16>>) {
    let missing = missing_after(cluster, registered, Duration::from_secs(60));
    assert!(missing.is_empty(), "not listed after setup: {missing:?}");
}

/// The instances some live node does not list once `within` has passed
/// (or none, as soon as every node lists every one).
fn missing_after(
    cluster: &RNacosCluster,
    registered: &BTreeMap<String, BTreeSet<u16>>,
    within: Duration,
) -> Vec<String> {
    let per_node: Vec<NacosClient> = cluster
        .nodes
        .iter()
        .filter(|n| n.is_live())
        .map(|n| {
            NacosClient::builder()
                .server_addr(n.addr())
                .timeout(DEADLINE)
                .build()
                .unwrap()
        })
        .collect();
    let until = Instant::now() + within;
    loop {
        let mut missing = Vec::new();
        for (i, c) in per_node.iter().enumerate() {
            for (name, want) in registered {
                let have: BTreeSet<u16> = c
                    .list_instances(name.as_str())
                    .map(|s| s.hosts.iter().map(|h| h.port).collect())
                    .unwrap_or_default();
                for p in want.difference(&have) {
                    missing.push(format!("{name} :{p} (asking live node #{i})"));
                }
            }
        }
        if missing.is_empty() || Instant::now() >= until {
            return missing;
        }
        thread::sleep(Duration::from_secs(1));
    }
}

#[derive(Default)]
struct Stats {
    calls: AtomicUsize,
    events: AtomicUsize,
    config_events: AtomicUsize,
    failures: Mutex<Vec<String>>,
    lost: Mutex<Vec<String>>,
    spurious: Mutex<Vec<String>>,
}

impl Stats {
    fn note(&self, list: &Mutex<Vec<String>>, what: String) {
        println!("soak: {what}");
        list.lock().unwrap().push(what);
    }

    fn failed(&self, what: String) {
        self.note(&self.failures, format!("FAILED {what}"));
    }

    fn print(&self, title: &str, list: &Mutex<Vec<String>>) {
        let list = list.lock().unwrap();
        println!("{title}: {}", list.len());
        for l in list.iter() {
            println!("    {l}");
        }
    }
}

/// xorshift64*: enough to vary the fault schedule, reproducible by seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

static WARNINGS: AtomicUsize = AtomicUsize::new(0);

/// Counts the client's warnings; prints them with `SOAK_LOG=warn` (or
/// everything down to debug with `SOAK_LOG=debug`).
struct Counter;

impl log::Log for Counter {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        if r.level() <= log::Level::Warn {
            WARNINGS.fetch_add(1, Ordering::Relaxed);
        }
        let show = match std::env::var("SOAK_LOG").as_deref() {
            Ok("debug") => true,
            Ok("warn") => r.level() <= log::Level::Warn,
            _ => false,
        };
        if show {
            eprintln!("{} {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}
