//! Server restarts lose nothing: an updated instance comes back as
//! updated, and subscribers never see an empty list because the server
//! restarted faster than one poll interval. Each test has its own r-nacos,
//! restarted with an empty data dir (r-nacos keeps ephemeral instances in
//! memory only).

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient, RecvTimeoutError, ServiceEvent};
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
        .poll_interval(Some(Duration::from_millis(200)))
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
