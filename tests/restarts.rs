//! Server restarts lose nothing: an updated instance comes back as
//! updated, and subscribers never see an empty list because the server
//! restarted faster than one poll interval. Each test has its own r-nacos,
//! restarted with an empty data dir (r-nacos keeps ephemeral instances in
//! memory only).

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::watch::RecvTimeoutError;
use nacos_blocking::{Instance, NacosClient, ServiceEvent};
use support::{eventually, unique, RNacos};

/// Beats every second (the instance's own setting wins over the server's
/// 5 s advice), so a restarted server sees the instance again soon.
const FAST_BEAT: (&str, &str) = ("preserved.heart.beat.interval", "1000");

fn client(server: &RNacos) -> NacosClient {
    NacosClient::builder()
        .server_addr(server.addr())
        .timeout(Duration::from_secs(3))
        .disk_cache(false)
        .build()
        .unwrap()
}

#[test]
fn an_update_survives_a_restart_with_an_empty_data_dir() {
    let mut server = RNacos::start();
    let owner = client(&server);
    let reader = client(&server);
    let service = unique("updated");
    let first = Instance::builder("10.9.0.1", 8080)
        .metadata(FAST_BEAT.0, FAST_BEAT.1)
        .metadata("version", "1")
        .build();
    owner.register_instance(&service, &first).unwrap();
    let updated = Instance::builder("10.9.0.1", 8080)
        .metadata(FAST_BEAT.0, FAST_BEAT.1)
        .metadata("version", "2")
        .weight(3.0)
        .build();
    owner.update_instance(&service, &updated).unwrap();
    let version = |c: &NacosClient| -> Option<(String, f64)> {
        let hosts = c.list_instances(&service).ok()?.hosts;
        let h = hosts.first()?;
        Some((h.metadata.get("version")?.clone(), h.weight))
    };
    assert!(eventually(Duration::from_secs(5), || version(&reader)
        == Some(("2".into(), 3.0))));

    // Down for longer than a beat interval, then back with nothing.
    server.kill();
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    // The first beat that gets through registers it again, as updated.
    let mut seen = Vec::new();
    let back = eventually(Duration::from_secs(15), || {
        let v = version(&reader);
        if let Some(v) = &v {
            seen.push(v.clone());
        }
        v.is_some()
    });
    assert!(back, "the instance did not come back");
    assert!(
        seen.iter().all(|v| v == &("2".to_string(), 3.0)),
        "came back as first registered: {seen:?}"
    );
    owner.shutdown().unwrap();
}

/// A restart faster than one beat interval: no beat fails, and r-nacos
/// re-creates the instance from the next beat without its weight
/// (`../shared/nacos-v1-protocol.md` §10). The periodic read-back after a
/// beat (every 6th beat of an instance whose weight is not 1 or that is
/// disabled) finds it held otherwise and registers it again, as updated.
#[test]
fn an_update_survives_an_instant_restart_the_server_hides() {
    let mut server = RNacos::start();
    let owner = client(&server);
    let reader = client(&server);
    let service = unique("hidden");
    // Beats every 5 s: the restart (a second or two) falls between two.
    let beat = ("preserved.heart.beat.interval", "5000");
    let first = Instance::builder("10.9.0.3", 8080)
        .metadata(beat.0, beat.1)
        .build();
    owner.register_instance(&service, &first).unwrap();
    let updated = Instance::builder("10.9.0.3", 8080)
        .metadata(beat.0, beat.1)
        .metadata("version", "2")
        .weight(3.0)
        .build();
    owner.update_instance(&service, &updated).unwrap();
    let held = |c: &NacosClient| -> Option<(Option<String>, f64)> {
        let hosts = c.list_instances(&service).ok()?.hosts;
        let h = hosts.first()?;
        Some((h.metadata.get("version").cloned(), h.weight))
    };
    let as_updated = Some((Some("2".to_string()), 3.0));
    assert!(eventually(Duration::from_secs(5), || held(&reader) == as_updated));
    // Right after a beat went through, restart at once with nothing.
    let beaten = |after: Option<std::time::SystemTime>| {
        owner
            .heartbeat_state(&service, &updated)
            .and_then(|s| s.last_success)
            .filter(|t| Some(*t) > after)
    };
    let before = beaten(None);
    assert!(eventually(Duration::from_secs(8), || beaten(before).is_some()));
    server.restart();
    let restarted = Instant::now();
    // Re-created from the next beat (weight 1), then registered again
    // after a read-back: within six beats.
    let mut seen = Vec::new();
    let back = eventually(Duration::from_secs(45), || {
        let h = held(&reader);
        seen.push(h.clone());
        h == as_updated
    });
    let state = owner.heartbeat_state(&service, &updated).unwrap();
    assert!(
        state.last_error.is_none(),
        "a beat failed, so this is no hidden restart: {state:?}"
    );
    assert!(
        back,
        "still held otherwise {:?} after the restart: {seen:?}",
        restarted.elapsed()
    );
    assert!(
        seen.iter()
            .any(|h| h.as_ref().is_some_and(|(_, w)| *w == 1.0)),
        "never saw the re-created instance, so the check was not needed: {seen:?}"
    );
    owner.shutdown().unwrap();
}

#[test]
fn an_instant_restart_never_shows_subscribers_an_empty_list() {
    let mut server = RNacos::start();
    let owner = client(&server);
    let service = unique("instant");
    for port in [8081, 8082, 8083] {
        let inst = Instance::builder("10.9.0.2", port)
            .metadata(FAST_BEAT.0, FAST_BEAT.1)
            .build();
        owner.register_instance(&service, &inst).unwrap();
    }
    let watcher_client = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(Duration::from_secs(3))
        .poll_interval(Duration::from_millis(200))
        .disk_cache(false)
        .build()
        .unwrap();
    let watcher = watcher_client.watch(&service).unwrap();
    let initial = watcher.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(initial.initial);
    assert_eq!(initial.instances.len(), 3);

    // Killed and started again at once, with nothing: the first polls of
    // the new server list no instance until the beats come back (~1 s).
    let restarted = Instant::now();
    server.restart();
    let mut events: Vec<ServiceEvent> = Vec::new();
    let mut instances = 3;
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        match watcher.recv_timeout(Duration::from_millis(200)) {
            Ok(ev) => {
                instances = ev.instances.len();
                events.push(ev);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Stopped) => panic!("the watcher stopped"),
        }
    }
    assert!(
        events.iter().all(|e| !e.instances.is_empty()),
        "an empty list reached the subscriber after the restart ({:?} later): {events:?}",
        restarted.elapsed()
    );
    assert_eq!(instances, 3, "every instance is seen again: {events:?}");
    let cached = watcher_client.list_instances(&service).unwrap();
    assert_eq!(cached.hosts.len(), 3);
    let state = watcher_client.subscription_state(&service).unwrap();
    assert!(state.is_ok() && !state.holding_empty, "{state:?}");
    owner.shutdown().unwrap();
}

/// After an outage long enough for error backoff to saturate, a watch polled
/// every second is fresh again within two intervals of the server answering
/// (backoff is capped at twice the interval), not after a minute.
#[test]
fn a_watch_is_fresh_within_two_intervals_of_the_server_answering_again() {
    let mut server = RNacos::start();
    let interval = Duration::from_secs(1);
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(Duration::from_secs(2))
        .poll_interval(interval)
        .disk_cache(false)
        .build()
        .unwrap();
    let svc = unique("fresh");
    c.register_instance(&svc, &Instance::new("10.62.0.1", 6201))
        .unwrap();
    let watcher = c.watch(&svc).unwrap();
    assert_eq!(
        watcher
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .instances
            .len(),
        1
    );
    assert!(c.subscription_state(&svc).unwrap().is_ok());
    server.kill();
    std::thread::sleep(Duration::from_secs(15));
    let down = c.subscription_state(&svc).unwrap();
    assert!(!down.is_ok() && down.consecutive_failures >= 3, "{down:?}");
    server.restart(); // empty data dir; returns once the server answers
    let answering = Instant::now();
    let answering_at = std::time::SystemTime::now();
    assert!(
        eventually(Duration::from_secs(10), || c
            .subscription_state(&svc)
            .is_some_and(|s| s.is_ok() && s.last_success >= Some(answering_at))),
        "{:?}",
        c.subscription_state(&svc)
    );
    let took = answering.elapsed();
    // Two intervals, plus the poll itself and a loaded machine's slack.
    assert!(
        took <= interval * 2 + Duration::from_millis(800),
        "fresh after {took:?}"
    );
    drop(watcher);
    c.shutdown().unwrap();
}

/// A watch on a server that is down: its state says no poll has
/// succeeded (not `ok`), and with a list kept on disk from an earlier run
/// that list is the initial event.
#[test]
fn a_watch_on_a_server_that_is_down_is_honest_and_serves_the_disk_cache() {
    let server = RNacos::start();
    let dir = support::scratch_dir("down-watch");
    let builder = || {
        NacosClient::builder()
            .server_addr(server.addr())
            .timeout(Duration::from_secs(1))
            .retries(0)
            .poll_interval(Duration::from_millis(200))
            .cache_dir(&dir)
    };
    let svc = unique("down-watch");
    let earlier = builder().build().unwrap();
    earlier
        .register_instance(&svc, &Instance::new("10.62.0.2", 6202))
        .unwrap();
    let w = earlier.watch(&svc).unwrap();
    assert_eq!(
        w.recv_timeout(Duration::from_secs(5))
            .unwrap()
            .instances
            .len(),
        1
    );
    drop(w);
    earlier.shutdown().unwrap();
    // Nothing listens on this port: a server that is down.
    let down = support::free_port();
    let c = NacosClient::builder()
        .server_addr(format!("127.0.0.1:{down}"))
        .timeout(Duration::from_secs(1))
        .retries(0)
        .poll_interval(Duration::from_millis(200))
        .cache_dir(&dir)
        .build()
        .unwrap();
    let never = unique("never-seen");
    let fresh = c.watch(&never).unwrap();
    // Before the first poll has even been tried, and after it failed.
    let s = c.subscription_state(&never).unwrap();
    assert!(!s.is_ok() && s.instances.is_none(), "{s:?}");
    std::thread::sleep(Duration::from_millis(500));
    let s = c.subscription_state(&never).unwrap();
    assert!(
        !s.is_ok() && s.instances.is_none() && s.consecutive_failures > 0,
        "{s:?}"
    );
    assert!(fresh.try_recv().is_err(), "no event without a list");
    drop(fresh);
    // The same service name in another client's cache: the initial event.
    let kept = c.watch(&svc).unwrap();
    let first = kept.recv_timeout(Duration::from_secs(3)).unwrap();
    assert!(first.initial && first.instances.len() == 1, "{first:?}");
    let s = c.subscription_state(&svc).unwrap();
    assert!(!s.is_ok(), "served from disk is not a poll: {s:?}");
    c.shutdown().unwrap();
}

/// Error backoff is cut short when any request to the servers succeeds:
/// a heartbeat that gets through after an outage makes the failing
/// subscriptions poll at once, well before their backoff (here up to 10 s)
/// runs out.
#[test]
fn a_heartbeat_that_gets_through_revives_failing_subscriptions() {
    let mut server = RNacos::start();
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(Duration::from_secs(2))
        .poll_interval(Duration::from_secs(5))
        .disk_cache(false)
        .build()
        .unwrap();
    let svc = unique("revive");
    let inst = Instance::builder("10.62.0.3", 6203)
        .metadata(FAST_BEAT.0, FAST_BEAT.1)
        .build();
    c.register_instance(&svc, &inst).unwrap();
    let watcher = c.watch(&svc).unwrap();
    watcher.recv_timeout(Duration::from_secs(5)).unwrap();
    server.kill();
    std::thread::sleep(Duration::from_secs(12));
    let down = c.subscription_state(&svc).unwrap();
    assert!(!down.is_ok(), "{down:?}");
    server.restart();
    let answering = Instant::now();
    let answering_at = std::time::SystemTime::now();
    assert!(
        eventually(Duration::from_secs(15), || c
            .subscription_state(&svc)
            .is_some_and(|s| s.is_ok() && s.last_success >= Some(answering_at))),
        "{:?}",
        c.subscription_state(&svc)
    );
    // A beat goes every second; the poll follows the first one that gets
    // through at once, not when its own backoff runs out.
    let took = answering.elapsed();
    assert!(took < Duration::from_secs(4), "fresh after {took:?}");
    let polled = c.subscription_state(&svc).unwrap().last_success.unwrap();
    // The first request through after the restart is the instance's
    // re-registration or its beat (a second apart at most); the poll is
    // no later than shortly after it.
    assert!(eventually(Duration::from_secs(3), || c
        .heartbeat_state(&svc, &inst)
        .is_some_and(|s| s.last_success >= Some(answering_at))));
    let beaten = c
        .heartbeat_state(&svc, &inst)
        .unwrap()
        .last_success
        .unwrap();
    let after_beat = polled.duration_since(beaten).unwrap_or_default();
    assert!(
        after_beat < Duration::from_millis(1500),
        "polled {after_beat:?} after the beat got through"
    );
    drop(watcher);
    c.shutdown().unwrap();
}
