//! Honest shutdown: every thread the client starts is joined, within a
//! second even with a frozen server and requests in flight, and the
//! process has as many threads afterwards as before the client existed.
//!
//! One test in this binary, so no other test's threads come and go while
//! threads are counted.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use nacos_blocking::{ConfigEvent, Instance, NacosClient, ServiceEvent};
use support::{eventually, thread_count, unique, RNacos};

fn busy_client(server: &RNacos) -> (NacosClient, Vec<Box<dyn std::any::Any>>) {
    let client = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(Duration::from_secs(10))
        .poll_interval(Duration::from_millis(100))
        .long_poll_timeout(Duration::from_secs(30))
        .disk_cache(false)
        .build()
        .unwrap();
    let service = unique("shutdown");
    let inst = Instance::builder("10.9.1.1", 9000)
        .metadata("preserved.heart.beat.interval", "200")
        .build();
    client.register_instance(&service, &inst).unwrap();
    let data_id = unique("shutdown-cfg");
    client.publish_config(&data_id, "v1").unwrap();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    keep.push(Box::new(client.watch(&service).unwrap()));
    keep.push(Box::new(
        client.subscribe(&service, |_: &ServiceEvent| {}).unwrap(),
    ));
    keep.push(Box::new(client.watch_config(&data_id).unwrap()));
    keep.push(Box::new(
        client
            .subscribe_config(&data_id, |_: &ConfigEvent| {})
            .unwrap(),
    ));
    (client, keep)
}

#[test]
fn shutdown_joins_every_thread_within_a_second_even_with_a_frozen_server() {
    let server = RNacos::start();
    let before = thread_count();

    // 1. Explicit shutdown while every worker waits on a frozen server.
    let (client, keep) = busy_client(&server);
    std::thread::sleep(Duration::from_millis(500));
    let names = support::nacos_thread_names();
    let distinct: HashSet<&String> = names.iter().collect();
    // Every kind of thread runs: beats, subscriptions, config polls, delivery.
    for kind in ["nacos-hb-", "nacos-sub-", "nacos-cfg-", "nacos-deliver-"] {
        assert!(
            names.iter().any(|n| n.starts_with(kind)),
            "no {kind}: {names:?}"
        );
    }
    assert_eq!(
        distinct.len(),
        names.len(),
        "names tell threads apart: {names:?}"
    );
    assert!(names.iter().all(|n| n.len() <= 15), "{names:?}");
    server.freeze();
    // Beats every 200 ms and polls every 100 ms are now stuck in flight,
    // and the config long poll is held.
    std::thread::sleep(Duration::from_millis(600));
    let t = Instant::now();
    let result = client.shutdown();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        support::nacos_thread_names().is_empty(),
        "{:?}",
        support::nacos_thread_names()
    );
    // Idempotent, from several threads at once.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| client.shutdown().unwrap());
        }
    });
    assert!(client
        .list_instances("x")
        .unwrap_err()
        .to_string()
        .contains("shut down"));
    drop(keep);
    drop(client);
    server.thaw();
    // (ureq resolves each request's host on a short-lived thread of its
    // own: one may still be ending.)
    assert!(
        eventually(Duration::from_secs(2), || thread_count() == before),
        "threads left behind: {} for {before}",
        thread_count()
    );

    // 2. Dropping the last clone does the same.
    let (client, keep) = busy_client(&server);
    std::thread::sleep(Duration::from_millis(300));
    server.freeze();
    std::thread::sleep(Duration::from_millis(600));
    let t = Instant::now();
    drop(keep);
    drop(client);
    let took = t.elapsed();
    server.thaw();
    assert!(took < Duration::from_secs(1), "the last drop took {took:?}");
    assert!(
        eventually(Duration::from_secs(2), || thread_count() == before),
        "threads left behind after drop: {} for {before}",
        thread_count()
    );
}
