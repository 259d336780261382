//! Subscriptions, watchers and the local and disk caches against a real r-nacos.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_blocking::watch::RecvTimeoutError;
use nacos_blocking::{Instance, NacosClient, ServiceEvent, ServiceName, Subscription, Watcher};
use support::{unique, RNacos};

const FAST: Duration = Duration::from_millis(200);
/// How long a change may take to reach a subscriber polling every 200 ms.
const WITHIN: Duration = Duration::from_secs(1);
/// How long the fast clients hold an empty list (push-empty protection).
const EMPTY_WINDOW: Duration = Duration::from_millis(300);

fn fast_client(addr: &str) -> NacosClient {
    NacosClient::builder()
        .server_addr(addr)
        .poll_interval(FAST)
        .push_empty_window(EMPTY_WINDOW)
        .cache_dir(shared_cache())
        .build()
        .unwrap()
}

fn client() -> NacosClient {
    NacosClient::new(&RNacos::shared().addr()).unwrap()
}

/// One cache dir for the tests that do not look at it (their services differ).
fn shared_cache() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| support::scratch_dir("sub-tests-cache"))
        .clone()
}

fn temp_dir(what: &str) -> PathBuf {
    support::scratch_dir(&format!("sub-{what}"))
}

/// A persistent instance (no heartbeat needed to stay listed).
fn persistent(ip: &str, port: u16) -> nacos_blocking::InstanceBuilder {
    Instance::builder(ip, port).ephemeral(false).weight(2.0)
}

fn addrs(list: &[Instance]) -> Vec<(String, u16)> {
    let mut v: Vec<_> = list.iter().map(|i| (i.ip.clone(), i.port)).collect();
    v.sort();
    v
}

fn next(w: &Watcher<ServiceEvent>, within: Duration, what: &str) -> ServiceEvent {
    w.recv_timeout(within)
        .unwrap_or_else(|e| panic!("no event within {within:?} for: {what} ({e})"))
}

#[test]
fn sees_added_modified_removed_once_each_in_order() {
    let sub = fast_client(&RNacos::shared().addr());
    let other = client();
    let svc = unique("changes");
    let w = sub.watch(svc.as_str()).unwrap();
    let first = next(&w, Duration::from_secs(3), "initial");
    assert!(first.initial && first.instances.is_empty(), "{first:?}");

    let inst = persistent("10.50.0.1", 5001).metadata("v", "1").build();
    other.register_instance(svc.as_str(), &inst).unwrap();
    let ev = next(&w, WITHIN, "added");
    assert!(!ev.initial);
    assert_eq!(addrs(&ev.added), vec![("10.50.0.1".into(), 5001)]);
    assert!(ev.removed.is_empty() && ev.modified.is_empty(), "{ev:?}");
    assert_eq!(ev.instances.len(), 1);

    let meta = persistent("10.50.0.1", 5001).metadata("v", "2").build();
    other.update_instance(svc.as_str(), &meta).unwrap();
    let ev = next(&w, WITHIN, "metadata change");
    assert!(ev.added.is_empty() && ev.removed.is_empty(), "{ev:?}");
    assert_eq!(ev.modified.len(), 1);
    assert_eq!(ev.modified[0].metadata["v"], "2");

    let weight = persistent("10.50.0.1", 5001)
        .metadata("v", "2")
        .weight(5.0)
        .build();
    other.update_instance(svc.as_str(), &weight).unwrap();
    let ev = next(&w, WITHIN, "weight change");
    assert!(ev.added.is_empty() && ev.removed.is_empty(), "{ev:?}");
    assert_eq!(ev.modified.len(), 1);
    assert_eq!(ev.modified[0].weight, 5.0);

    let removed_at = Instant::now();
    other.deregister_instance(svc.as_str(), &weight).unwrap();
    // The empty list is held back for the push-empty window (300 ms here),
    // then delivered.
    let ev = next(&w, WITHIN + EMPTY_WINDOW, "removed");
    let took = removed_at.elapsed();
    assert!(
        took >= EMPTY_WINDOW,
        "the empty list was not held: {took:?}"
    );
    assert_eq!(addrs(&ev.removed), vec![("10.50.0.1".into(), 5001)]);
    assert!(ev.added.is_empty() && ev.modified.is_empty() && ev.instances.is_empty());

    // Nothing is delivered twice.
    assert_eq!(
        w.recv_timeout(Duration::from_millis(800)),
        Err(RecvTimeoutError::Timeout)
    );
    w.stop();
    assert_eq!(sub.subscribed_services(), 0);
}

#[test]
fn server_restart_brings_no_empty_event_and_polling_resumes() {
    let mut server = RNacos::start();
    let sub = NacosClient::builder()
        .server_addr(server.addr())
        .poll_interval(FAST)
        .timeout(Duration::from_secs(2))
        .cache_dir(shared_cache())
        .build()
        .unwrap();
    // The instance lives by its heartbeats, as in production. They are
    // slower than the subscriber's polls, so the subscriber sees the new
    // server's empty list for a few polls before they bring `a` back.
    let other = NacosClient::builder()
        .server_addr(server.addr())
        .heartbeat_interval(Duration::from_secs(3))
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let svc = unique("restart");
    let a = Instance::builder("10.51.0.1", 5101)
        .metadata("k", "v")
        .build();
    other.register_instance(svc.as_str(), &a).unwrap();

    let events = Arc::new(Mutex::new(Vec::<ServiceEvent>::new()));
    let e = events.clone();
    let _sub = sub
        .subscribe(svc.as_str(), move |ev: &ServiceEvent| {
            e.lock().unwrap().push(ev.clone())
        })
        .unwrap();
    assert!(support::eventually(Duration::from_secs(3), || {
        events.lock().unwrap().len() == 1
    }));
    assert_eq!(events.lock().unwrap()[0].instances.len(), 1);

    server.kill();
    std::thread::sleep(Duration::from_secs(5));
    server.restart();
    // The new server knows no instance until the heartbeats bring `a` back;
    // meanwhile the subscriber answers from its kept list.
    assert_eq!(sub.list_instances(svc.as_str()).unwrap().hosts.len(), 1);

    assert!(support::eventually(Duration::from_secs(8), || {
        other
            .heartbeat_state(svc.as_str(), &a)
            .is_some_and(|s| s.is_ok())
    }));
    let b = persistent("10.51.0.1", 5102).build();
    other.register_instance(svc.as_str(), &b).unwrap();
    let resumed = support::eventually(Duration::from_secs(30), || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|ev| !ev.added.is_empty() && !ev.initial)
    });
    let seen = events.lock().unwrap().clone();
    assert!(resumed, "polling did not resume: {seen:?}");
    for ev in &seen {
        assert!(
            !ev.instances.is_empty(),
            "an empty list was delivered: {ev:?}"
        );
        assert!(ev.removed.is_empty(), "spurious removal: {ev:?}");
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(addrs(&seen[1].added), vec![("10.51.0.1".into(), 5102)]);
}

#[test]
fn a_panicking_listener_does_not_stop_the_others() {
    let sub = fast_client(&RNacos::shared().addr());
    let other = client();
    let (one, two) = (unique("panic-a"), unique("panic-b"));
    let panics = Arc::new(AtomicUsize::new(0));
    let p = panics.clone();
    let mut subs: Vec<Subscription> = Vec::new();
    subs.push(
        sub.subscribe(one.as_str(), move |_: &ServiceEvent| {
            p.fetch_add(1, Ordering::SeqCst);
            panic!("listener bug");
        })
        .unwrap(),
    );
    let (tx, rx) = crossbeam_channel::unbounded::<(String, ServiceEvent)>();
    for svc in [&one, &two] {
        let (tx, name) = (tx.clone(), svc.clone());
        subs.push(
            sub.subscribe(svc.as_str(), move |ev: &ServiceEvent| {
                tx.send((name.clone(), ev.clone())).unwrap();
            })
            .unwrap(),
        );
    }
    // Both initial events first, so the changes below are changes.
    for _ in 0..2 {
        let (_, ev) = rx.recv_timeout(Duration::from_secs(3)).unwrap();
        assert!(ev.initial);
    }
    let wait_added = |svc: &str, port: u16| {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let (name, ev) = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no event for {svc}:{port}"));
            if name == svc && ev.added.iter().any(|i| i.port == port) && !ev.initial {
                return;
            }
        }
    };
    other
        .register_instance(one.as_str(), &persistent("10.52.0.1", 5201).build())
        .unwrap();
    wait_added(&one, 5201);
    other
        .register_instance(two.as_str(), &persistent("10.52.0.1", 5202).build())
        .unwrap();
    wait_added(&two, 5202);
    other
        .register_instance(one.as_str(), &persistent("10.52.0.1", 5203).build())
        .unwrap();
    wait_added(&one, 5203);
    // Initial + two changes, each panicking: the subscription lives on.
    assert!(support::eventually(Duration::from_secs(2), || panics
        .load(Ordering::SeqCst)
        == 3));
}

#[test]
fn watch_iterates_on_another_thread_until_stopped() {
    let sub = fast_client(&RNacos::shared().addr());
    let other = client();
    let svc = unique("watch");
    let watcher = sub.watch(svc.as_str()).unwrap();
    let stopper = watcher.stopper();
    let (tx, rx) = crossbeam_channel::unbounded();
    let t = std::thread::spawn(move || {
        let mut n = 0;
        for ev in watcher {
            n += 1;
            tx.send(ev).unwrap();
        }
        n
    });
    assert!(rx.recv_timeout(Duration::from_secs(3)).unwrap().initial);
    other
        .register_instance(svc.as_str(), &persistent("10.53.0.1", 5301).build())
        .unwrap();
    let ev = rx.recv_timeout(Duration::from_secs(3)).unwrap();
    assert_eq!(ev.added.len(), 1);
    stopper.stop();
    assert_eq!(t.join().unwrap(), 2);
    assert_eq!(sub.subscribed_services(), 0);
}

#[test]
fn local_cache_answers_lookups_while_subscribed() {
    // A long interval: after the first poll, the subscriber does not ask again
    // for 10 s, so an answer that still shows a removed instance came from
    // the cache.
    let sub = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .poll_interval(Duration::from_secs(10))
        .cache_dir(shared_cache())
        .build()
        .unwrap();
    let other = client();
    let svc = unique("cache");
    let inst = persistent("10.54.0.1", 5401).cluster("c1").build();
    other.register_instance(svc.as_str(), &inst).unwrap();
    let w = sub.watch(svc.as_str()).unwrap();
    assert_eq!(
        next(&w, Duration::from_secs(3), "initial").instances.len(),
        1
    );
    other.deregister_instance(svc.as_str(), &inst).unwrap();
    assert!(other.list_instances(svc.as_str()).unwrap().hosts.is_empty());

    assert_eq!(
        sub.list_healthy_instances(svc.as_str())
            .unwrap()
            .hosts
            .len(),
        1
    );
    assert_eq!(
        sub.list_instances(ServiceName::new(svc.as_str()).clusters(["c1"]))
            .unwrap()
            .hosts
            .len(),
        1
    );
    assert!(sub
        .list_instances(ServiceName::new(svc.as_str()).clusters(["c2"]))
        .unwrap()
        .hosts
        .is_empty());
    assert_eq!(
        sub.select_one_healthy_instance(svc.as_str()).unwrap().port,
        5401
    );
    assert_eq!(
        sub.discover(svc.as_str()).unwrap(),
        vec![("10.54.0.1".to_string(), 5401)]
    );

    drop(w);
    assert!(sub.list_instances(svc.as_str()).unwrap().hosts.is_empty());
}

#[test]
fn offline_start_answers_from_the_disk_cache() {
    let dir = temp_dir("offline");
    let svc = unique("offline");
    let inst = persistent("10.55.0.1", 5501).metadata("zone", "a").build();
    client().register_instance(svc.as_str(), &inst).unwrap();
    {
        let first = NacosClient::builder()
            .server_addr(RNacos::shared().addr())
            .cache_dir(&dir)
            .build()
            .unwrap();
        let w = first.watch(svc.as_str()).unwrap();
        assert_eq!(
            next(&w, Duration::from_secs(3), "initial").instances.len(),
            1
        );
        first.shutdown().unwrap();
    }
    let file = dir
        .join("naming")
        .join("%")
        .join("DEFAULT_GROUP")
        .join(&svc);
    assert!(file.is_file(), "{} missing", file.display());

    let nowhere = format!("127.0.0.1:{}", support::free_port());
    let offline = |load: bool| {
        NacosClient::builder()
            .server_addr(&nowhere)
            .timeout(Duration::from_secs(2))
            .cache_dir(&dir)
            .load_cache_at_start(load)
            .build()
            .unwrap()
    };
    let without = offline(false);
    assert!(without
        .list_healthy_instances(svc.as_str())
        .unwrap_err()
        .is_unavailable());

    let with = offline(true);
    let hosts = with.list_healthy_instances(svc.as_str()).unwrap().hosts;
    assert_eq!(addrs(&hosts), vec![("10.55.0.1".into(), 5501)]);
    assert_eq!(hosts[0].metadata["zone"], "a");
    assert_eq!(with.discover(svc.as_str()).unwrap().len(), 1);
    let w = with.watch(svc.as_str()).unwrap();
    let ev = next(&w, Duration::from_secs(5), "initial from disk");
    assert!(ev.initial);
    assert_eq!(addrs(&ev.instances), vec![("10.55.0.1".into(), 5501)]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every file under `root`.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn cache_files_stay_inside_the_cache_dir() {
    let root = temp_dir("escape");
    let cache = root.join("a").join("b").join("cache");
    let sub = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .cache_dir(&cache)
        .build()
        .unwrap();
    let err = sub.subscribe("../../x", |_: &ServiceEvent| {}).unwrap_err();
    assert!(err.is_invalid_argument());
    // Dots pass name validation; they must not become path steps.
    let dots = ServiceName::new("..").group("..");
    let w = sub.watch(dots).unwrap();
    assert!(next(&w, Duration::from_secs(3), "initial").initial);
    assert!(support::eventually(Duration::from_secs(2), || {
        !files_under(&root).is_empty()
    }));
    sub.shutdown().unwrap();
    let files = files_under(&root);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with(cache.join("naming")), "{files:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn unsubscribe_handles_and_stop_subscribe() {
    let sub = fast_client(&RNacos::shared().addr());
    let svc = unique("unsub");
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let h1 = sub
        .subscribe(svc.as_str(), move |_: &ServiceEvent| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    let h2 = sub.subscribe(svc.as_str(), |_: &ServiceEvent| {}).unwrap();
    // Detached: it stays until unsubscribe_all ends it below.
    sub.subscribe(
        ServiceName::new(svc.as_str()).clusters(["c1"]),
        |_: &ServiceEvent| {},
    )
    .unwrap()
    .detach();
    assert_eq!(sub.subscribed_services(), 2, "same service shares one poll");
    assert!(support::eventually(Duration::from_secs(3), || calls
        .load(Ordering::SeqCst)
        == 1));
    // (`unsubscribe` consumes the guard: it cannot be called twice.)
    h1.unsubscribe();
    assert_eq!(sub.subscribed_services(), 2);
    // Dropping a guard unsubscribes too.
    drop(h2);
    assert_eq!(sub.subscribed_services(), 1);
    assert!(sub.unsubscribe_all(svc.as_str()).unwrap());
    assert!(!sub.unsubscribe_all(svc.as_str()).unwrap());
    assert_eq!(sub.subscribed_services(), 0);

    let w = sub.watch(svc.as_str()).unwrap();
    assert!(next(&w, Duration::from_secs(3), "initial").initial);
    sub.stop_subscribe();
    assert_eq!(
        w.recv_timeout(Duration::from_secs(2)),
        Err(RecvTimeoutError::Stopped)
    );
    assert!(w.is_stopped());
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    sub.shutdown().unwrap();
    assert!(matches!(
        sub.subscribe(svc.as_str(), |_: &ServiceEvent| {}),
        Err(nacos_blocking::Error::Shutdown)
    ));
}

#[test]
fn a_slow_listener_delays_only_its_own_service() {
    let sub = fast_client(&RNacos::shared().addr());
    let other = client();
    let (slow, quick) = (unique("slow"), unique("quick"));
    let release = Arc::new(Mutex::new(()));
    let gate = release.lock().unwrap();
    let r = release.clone();
    let slow_calls = Arc::new(AtomicUsize::new(0));
    let s = slow_calls.clone();
    let _slow = sub
        .subscribe(slow.as_str(), move |_: &ServiceEvent| {
            s.fetch_add(1, Ordering::SeqCst);
            // Blocks until the test lets go.
            drop(r.lock().unwrap());
        })
        .unwrap();
    let w = sub.watch(quick.as_str()).unwrap();
    assert!(next(&w, Duration::from_secs(3), "initial").initial);
    assert!(support::eventually(Duration::from_secs(3), || slow_calls
        .load(Ordering::SeqCst)
        == 1));
    // The slow listener is stuck in its initial event; the other service
    // still sees its changes in time.
    other
        .register_instance(quick.as_str(), &persistent("10.56.0.1", 5601).build())
        .unwrap();
    assert_eq!(
        next(&w, WITHIN, "added while the other service is stuck")
            .added
            .len(),
        1
    );
    other
        .register_instance(slow.as_str(), &persistent("10.56.0.1", 5602).build())
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        slow_calls.load(Ordering::SeqCst),
        1,
        "stuck: no second call yet"
    );
    drop(gate);
    assert!(support::eventually(Duration::from_secs(3), || slow_calls
        .load(Ordering::SeqCst)
        == 2));
}

#[test]
fn offline_start_catches_up_when_the_server_appears() {
    let mut server = RNacos::start();
    let dir = temp_dir("catch-up");
    let svc = unique("catch-up");
    let other = NacosClient::new(&server.addr()).unwrap();
    let old = persistent("10.57.0.1", 5701).build();
    other.register_instance(svc.as_str(), &old).unwrap();
    {
        let first = NacosClient::builder()
            .server_addr(server.addr())
            .cache_dir(&dir)
            .build()
            .unwrap();
        let w = first.watch(svc.as_str()).unwrap();
        assert_eq!(
            next(&w, Duration::from_secs(3), "initial").instances.len(),
            1
        );
    }
    server.kill();
    let offline = NacosClient::builder()
        .server_addr(server.addr())
        .poll_interval(FAST)
        .timeout(Duration::from_secs(2))
        .cache_dir(&dir)
        .load_cache_at_start(true)
        .build()
        .unwrap();
    let w = offline.watch(svc.as_str()).unwrap();
    let ev = next(&w, Duration::from_secs(5), "initial from disk");
    assert_eq!(addrs(&ev.instances), vec![("10.57.0.1".into(), 5701)]);

    server.restart();
    let new = persistent("10.57.0.1", 5702).build();
    other.register_instance(svc.as_str(), &new).unwrap();
    let ev = next(&w, Duration::from_secs(30), "catching up");
    assert_eq!(addrs(&ev.instances), vec![("10.57.0.1".into(), 5702)]);
    assert_eq!(addrs(&ev.added), vec![("10.57.0.1".into(), 5702)]);
    assert_eq!(addrs(&ev.removed), vec![("10.57.0.1".into(), 5701)]);
    assert_eq!(
        offline
            .list_healthy_instances(svc.as_str())
            .unwrap()
            .hosts
            .len(),
        1
    );
    drop(w);
    std::fs::remove_dir_all(&dir).unwrap();
}
