//! Background heartbeats against a real r-nacos with fast expiry
//! (unhealthy about 6 s and removed about 9 s after the last beat).
//!
//! Tests that kill, freeze or restart a server start their own. The
//! thread-count test runs in a child process of its own, where no other
//! test starts or stops threads while it counts.

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient};
use support::{eventually, fake, unique, RNacos, FAST_EXPIRY};

const INTERVAL_KEY: &str = "preserved.heart.beat.interval";
/// The call deadline of every test client.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long the fast-expiry server keeps an instance without beats, with
/// room for its 2 s sweep and a slow machine.
const EXPIRY: Duration = Duration::from_secs(15);

fn client(addr: &str) -> NacosClient {
    NacosClient::builder()
        .server_addr(addr)
        .timeout(TIMEOUT)
        .retries(0)
        .build()
        .unwrap()
}

/// An ephemeral instance beaten every `ms` milliseconds.
fn beaten(ip: &str, port: u16, ms: u64) -> Instance {
    Instance::builder(ip, port)
        .metadata(INTERVAL_KEY, ms.to_string())
        .metadata("version", "7.1")
        .build()
}

/// `Some(healthy)` when the instance is listed, `None` when it is not.
fn listed(c: &NacosClient, svc: &str, inst: &Instance) -> Option<bool> {
    c.list_instances(svc)
        .ok()?
        .hosts
        .into_iter()
        .find(|h| h.ip == inst.ip && h.port == inst.port)
        .map(|h| h.healthy)
}

fn beaten_ok(c: &NacosClient, svc: &str, inst: &Instance) -> bool {
    c.heartbeat_state(svc, inst)
        .is_some_and(|s| s.last_success.is_some() && s.is_ok())
}

#[test]
fn stays_listed_and_healthy_then_expires_after_shutdown() {
    let server = RNacos::shared();
    let c = client(&server.addr());
    let observer = client(&server.addr());
    let svc = unique("hb-alive");
    let inst = beaten("10.60.0.1", 6001, 1000);
    c.register_instance(svc.as_str(), &inst).unwrap();

    // Checked every second for 20 s: well past the 6 s unhealthy and 9 s
    // removal times of the server.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        assert_eq!(
            listed(&observer, &svc, &inst),
            Some(true),
            "after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let state = c.heartbeat_state(svc.as_str(), &inst).unwrap();
    assert!(state.is_ok(), "{state:?}");
    assert_eq!(state.interval, Duration::from_secs(1));
    assert!(state.last_success.is_some());

    c.shutdown().unwrap();
    assert!(
        eventually(EXPIRY, || listed(&observer, &svc, &inst).is_none()),
        "still listed {EXPIRY:?} after shutdown"
    );
}

#[test]
fn deregistered_instance_stays_gone() {
    let server = RNacos::shared();
    let c = client(&server.addr());
    let svc = unique("hb-dereg");
    // A short interval makes a beat on the wire during the DELETE likely.
    let inst = beaten("10.60.0.2", 6002, 200);
    c.register_instance(svc.as_str(), &inst).unwrap();
    assert!(eventually(Duration::from_secs(5), || beaten_ok(
        &c, &svc, &inst
    )));

    c.deregister_instance(svc.as_str(), &inst).unwrap();
    assert!(c.heartbeat_state(svc.as_str(), &inst).is_none());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        assert_eq!(
            listed(&c, &svc, &inst),
            None,
            "resurrected {:?} after deregistering",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn deregister_on_shutdown_removes_instances_at_once() {
    let server = RNacos::shared();
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(TIMEOUT)
        .deregister_on_shutdown(true)
        .build()
        .unwrap();
    let observer = client(&server.addr());
    let svc = unique("hb-leave");
    let insts: Vec<Instance> = (0..3)
        .map(|i| beaten("10.60.0.3", 6100 + i, 1000))
        .collect();
    for inst in &insts {
        c.register_instance(svc.as_str(), inst).unwrap();
    }
    assert_eq!(c.heartbeat_states().len(), 3);
    c.shutdown().unwrap();
    // Gone right away, not after the server's expiry.
    for inst in &insts {
        assert_eq!(listed(&observer, &svc, inst), None);
    }
}

#[test]
fn persistent_instances_and_auto_heartbeat_off_are_not_beaten() {
    let server = RNacos::shared();
    let c = client(&server.addr());
    let svc = unique("hb-none");
    let persistent = Instance::builder("10.60.0.4", 6004)
        .ephemeral(false)
        .build();
    c.register_instance(svc.as_str(), &persistent).unwrap();
    assert!(c.heartbeat_state(svc.as_str(), &persistent).is_none());
    c.deregister_instance(svc.as_str(), &persistent).unwrap();

    let manual = NacosClient::builder()
        .server_addr(server.addr())
        .auto_heartbeat(false)
        .build()
        .unwrap();
    let inst = beaten("10.60.0.4", 6005, 1000);
    manual.register_instance(svc.as_str(), &inst).unwrap();
    assert!(manual.heartbeat_state(svc.as_str(), &inst).is_none());
    assert!(manual.heartbeat_states().is_empty());
    manual.deregister_instance(svc.as_str(), &inst).unwrap();
}

#[test]
fn reregistering_replaces_the_beat_entry() {
    let server = RNacos::shared();
    let c = client(&server.addr());
    let svc = unique("hb-replace");
    let first = beaten("10.60.0.5", 6006, 1000);
    let second = beaten("10.60.0.5", 6006, 500);
    c.register_instance(svc.as_str(), &first).unwrap();
    c.register_instance(svc.as_str(), &second).unwrap();
    let all = c.heartbeat_states();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].interval, Duration::from_millis(500));
    c.deregister_instance(svc.as_str(), &second).unwrap();
    assert!(c.heartbeat_states().is_empty());
}

#[test]
fn instances_come_back_with_metadata_after_restart() {
    let mut server = RNacos::start_with(FAST_EXPIRY);
    let c = client(&server.addr());
    let svcs = [unique("hb-restart-a"), unique("hb-restart-b")];
    let insts = [
        beaten("10.60.1.1", 7001, 1000),
        beaten("10.60.1.2", 7002, 1000),
    ];
    for (svc, inst) in svcs.iter().zip(&insts) {
        c.register_instance(svc.as_str(), inst).unwrap();
    }
    for (svc, inst) in svcs.iter().zip(&insts) {
        assert!(eventually(Duration::from_secs(5), || beaten_ok(
            &c, svc, inst
        )));
    }

    server.restart(); // returns once the new process answers /health
    let ready = Instant::now();
    // Two intervals, plus a little for the server to take the beats in.
    let within = Duration::from_millis(2 * 1000 + 500);
    let back = eventually(within, || {
        svcs.iter().zip(&insts).all(|(svc, inst)| {
            c.list_instances(svc.as_str()).is_ok_and(|info| {
                info.hosts.iter().any(|h| {
                    h.ip == inst.ip
                        && h.port == inst.port
                        && h.metadata.get("version").map(String::as_str) == Some("7.1")
                })
            })
        })
    });
    let now: Vec<_> = svcs
        .iter()
        .map(|svc| c.list_instances(svc.as_str()).map(|i| i.hosts))
        .collect();
    assert!(
        back,
        "not every instance was back with its metadata {:?} after the restart: {now:?} {:?}",
        ready.elapsed(),
        c.heartbeat_states()
    );
}

#[test]
fn state_reports_failures_while_down_and_success_after() {
    let mut server = RNacos::start_with(FAST_EXPIRY);
    let c = client(&server.addr());
    let svc = unique("hb-state");
    let inst = beaten("10.60.2.1", 7101, 500);
    c.register_instance(svc.as_str(), &inst).unwrap();
    assert!(eventually(Duration::from_secs(5), || beaten_ok(
        &c, &svc, &inst
    )));

    server.kill();
    assert!(eventually(Duration::from_secs(10), || {
        c.heartbeat_state(svc.as_str(), &inst)
            .is_some_and(|s| s.consecutive_failures >= 2 && s.last_error.is_some())
    }));
    let down = c.heartbeat_state(svc.as_str(), &inst).unwrap();
    assert!(!down.is_ok());
    let failed_since = down.last_success;

    server.restart();
    assert!(eventually(Duration::from_secs(10), || {
        c.heartbeat_state(svc.as_str(), &inst)
            .is_some_and(|s| s.is_ok() && s.last_success > failed_since)
    }));
    let up = c.heartbeat_state(svc.as_str(), &inst).unwrap();
    assert_eq!(up.consecutive_failures, 0);
    // The last error stays visible for diagnosis.
    assert!(up.last_error.is_some());
}

#[test]
fn shutdown_is_bounded_while_the_server_is_frozen() {
    let server = RNacos::start_with(FAST_EXPIRY);
    let c = client(&server.addr());
    let svc = unique("hb-frozen");
    let inst = beaten("10.60.3.1", 7201, 200);
    c.register_instance(svc.as_str(), &inst).unwrap();
    assert!(eventually(Duration::from_secs(5), || beaten_ok(
        &c, &svc, &inst
    )));

    server.freeze();
    // Let beats go out and hang on the frozen server.
    std::thread::sleep(Duration::from_millis(600));
    let t = Instant::now();
    c.shutdown().unwrap();
    let took = t.elapsed();
    server.thaw();
    assert!(
        took <= TIMEOUT + Duration::from_secs(1),
        "shutdown took {took:?}"
    );
}

/// Set in the child process that runs the thread-count test alone: the
/// server's address.
const CHILD_ADDR: &str = "NACOS_BLOCKING_TEST_THREADS_CHILD_ADDR";

#[test]
fn five_hundred_instances_use_the_threads_of_one() {
    if let Ok(addr) = std::env::var(CHILD_ADDR) {
        return five_hundred_instances(&addr);
    }
    let name = "five_hundred_instances_use_the_threads_of_one";
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(CHILD_ADDR, RNacos::shared().addr())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // The child really ran it (it was not filtered out).
    assert!(text.contains("1 passed"), "{text}");
}

fn five_hundred_instances(addr: &str) {
    let c = client(addr);
    let svc = unique("hb-many");
    let ms = 2000;
    let first = beaten("10.61.0.1", 1, ms);
    c.register_instance(svc.as_str(), &first).unwrap();
    assert!(eventually(Duration::from_secs(5), || beaten_ok(
        &c, &svc, &first
    )));
    // The scheduler and one sender: the sender pool grows only while
    // every sender is busy.
    let mut with_one = support::nacos_thread_names();
    with_one.sort();
    assert_eq!(with_one, ["nacos-hb-sched", "nacos-hb-send-0"]);

    let rest: Vec<Instance> = (2..=500).map(|p| beaten("10.61.0.1", p, ms)).collect();
    for inst in &rest {
        c.register_instance(svc.as_str(), inst).unwrap();
    }
    // Past the server's 9 s removal time: only beats keep them listed.
    std::thread::sleep(Duration::from_secs(12));
    let with_many = support::nacos_thread_names();
    assert!(
        with_many.len() <= 4
            && with_many
                .iter()
                .filter(|n| n.starts_with("nacos-hb-send"))
                .count()
                <= 3,
        "{with_many:?}"
    );

    let info = c.list_healthy_instances(svc.as_str()).unwrap();
    assert_eq!(info.hosts.len(), 500);
    let states = c.heartbeat_states();
    assert_eq!(states.len(), 500);
    let failing: Vec<_> = states.iter().filter(|s| !s.is_ok()).collect();
    assert!(failing.is_empty(), "{failing:?}");
    assert!(states.iter().all(|s| s.last_success.is_some()));
    c.shutdown().unwrap();
}

#[test]
fn instance_lost_by_the_server_is_registered_again() {
    // r-nacos never answers 20404; a fake server does.
    let registrations = Arc::new(AtomicUsize::new(0));
    let beats = Arc::new(AtomicUsize::new(0));
    let (r, b) = (registrations.clone(), beats.clone());
    let server = fake::FakeServer::start(move |head| {
        // Parameters travel in the query: the path ends at `?`.
        if head.starts_with("POST /nacos/v1/ns/instance?") {
            r.fetch_add(1, Ordering::SeqCst);
            Some(fake::ok("ok"))
        } else if head.starts_with("PUT /nacos/v1/ns/instance/beat") {
            b.fetch_add(1, Ordering::SeqCst);
            Some(fake::ok(r#"{"code":20404,"clientBeatInterval":200}"#))
        } else {
            Some(fake::ok("ok"))
        }
    });
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(TIMEOUT)
        .heartbeat_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let inst = Instance::new("10.62.0.1", 80);
    c.register_instance("lost", &inst).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        registrations.load(Ordering::SeqCst) >= 3
    }));
    // Once per lost answer: never more registrations than beats, plus the first.
    assert!(registrations.load(Ordering::SeqCst) <= beats.load(Ordering::SeqCst) + 1);
    c.shutdown().unwrap();
}
