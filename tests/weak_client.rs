//! Listeners that need the client capture a `WeakClient`: once the
//! program's own handles are gone, every thread stops, detached
//! subscriptions and all, and the process has as many threads as before
//! the client existed. A listener holding a strong clone keeps the client
//! running (documented on `subscribe`); this binary shows the weak way
//! works and the strong way does what the docs say.
//!
//! One test in this binary, so no other test's threads come and go while
//! threads are counted.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nacos_blocking::{ConfigEvent, Instance, NacosClient, ServiceEvent};
use support::{eventually, thread_count, unique, RNacos};

#[test]
fn listeners_holding_weak_clients_let_the_client_stop() {
    let server = RNacos::start();
    let before = thread_count();

    // Threads sized to the work: one registered instance and one config
    // watch run four.
    let small = NacosClient::builder()
        .server_addr(server.addr())
        .disk_cache(false)
        .build()
        .unwrap();
    let beaten = Instance::builder("10.63.0.9", 6309)
        .metadata("preserved.heart.beat.interval", "300")
        .build();
    small.register_instance(unique("small"), &beaten).unwrap();
    let w = small.watch_config(unique("small-cfg").as_str()).unwrap();
    w.recv_timeout(Duration::from_secs(5)).unwrap();
    // A few beats have gone out.
    std::thread::sleep(Duration::from_millis(1000));
    let mut names = support::nacos_thread_names();
    names.sort();
    assert_eq!(
        names,
        [
            "nacos-cfg-0",
            "nacos-deliver-0",
            "nacos-hb-sched",
            "nacos-hb-send-0"
        ]
    );
    drop(w);
    small.shutdown().unwrap();
    assert!(support::nacos_thread_names().is_empty());

    let calls = Arc::new(AtomicUsize::new(0));
    let client = NacosClient::builder()
        .server_addr(server.addr())
        .poll_interval(Duration::from_millis(200))
        .disk_cache(false)
        .build()
        .unwrap();
    let svc = unique("weak");
    client
        .register_instance(&svc, &Instance::new("10.63.0.1", 6301))
        .unwrap();
    let id = unique("weak-cfg");
    client.publish_config(id.as_str(), "v1").unwrap();
    // A detached subscription and a kept one, each calling the client.
    let (weak, seen) = (client.downgrade(), calls.clone());
    client
        .subscribe(&svc, move |_: &ServiceEvent| {
            if let Some(c) = weak.upgrade() {
                if c.list_instances("another").is_ok() {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .unwrap()
        .detach();
    let (weak, seen) = (client.downgrade(), calls.clone());
    let kept = client
        .subscribe_config(id.as_str(), move |_: &ConfigEvent| {
            if let Some(c) = weak.upgrade() {
                if c.get_config("another").is_ok() {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || calls.load(Ordering::SeqCst) >= 2),
        "the listeners did not use the client"
    );
    let weak = client.downgrade();
    drop(client);
    assert!(
        weak.upgrade().is_none(),
        "the program's handles were the last"
    );
    assert!(
        eventually(Duration::from_secs(5), || support::nacos_thread_names()
            .is_empty()),
        "threads left: {:?}",
        support::nacos_thread_names()
    );
    drop(kept);
    assert!(
        eventually(Duration::from_secs(5), || thread_count() == before),
        "threads: {} before, {} now",
        before,
        thread_count()
    );

    // A strong clone in a detached listener keeps the client running, as
    // documented: the same program without `downgrade`.
    let client = NacosClient::builder()
        .server_addr(server.addr())
        .disk_cache(false)
        .build()
        .unwrap();
    let strong = client.clone();
    client
        .subscribe(&svc, move |_: &ServiceEvent| {
            let _ = strong.list_instances("another");
        })
        .unwrap()
        .detach();
    let weak = client.downgrade();
    drop(client);
    std::thread::sleep(Duration::from_millis(300));
    let alive = weak.upgrade().expect("kept alive by its own listener");
    assert!(!support::nacos_thread_names().is_empty());
    // Ended by hand.
    alive.shutdown().unwrap();
    assert!(support::nacos_thread_names().is_empty());
}
