//! A service of 50,000 instances that all change at once is delivered
//! within a poll interval or two: decode and diff are linear. A fake
//! server, because registering 50,000 instances on r-nacos would take
//! minutes.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nacos_blocking::NacosClient;
use support::fake::{ok, FakeServer};

const N: usize = 50_000;

/// An `instance/list` answer: N instances on `port`.
fn list(port: u16) -> String {
    let mut hosts = String::with_capacity(N * 120);
    for i in 0..N {
        if i > 0 {
            hosts.push(',');
        }
        hosts.push_str(&format!(
            r#"{{"ip":"10.{}.{}.{}","port":{port},"weight":1.0,"healthy":true,"enabled":true,"ephemeral":true,"clusterName":"DEFAULT","metadata":{{}}}}"#,
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    format!(r#"{{"name":"DEFAULT_GROUP@@big","cacheMillis":1000,"hosts":[{hosts}]}}"#)
}

#[test]
fn fifty_thousand_changed_instances_arrive_within_a_poll_or_two() {
    let (before, after) = (Arc::new(ok(&list(80))), Arc::new(ok(&list(81))));
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let server = FakeServer::start(move |head| {
        if !head.starts_with("GET /nacos/v1/ns/instance/list") {
            return Some(ok("ok"));
        }
        // The first two polls see the old list, every later one the new.
        let n = p.fetch_add(1, Ordering::SeqCst);
        Some(if n < 2 {
            before.to_string()
        } else {
            after.to_string()
        })
    });
    let client = NacosClient::builder()
        .server_addr(server.addr())
        .poll_interval(Duration::from_millis(500))
        .timeout(Duration::from_secs(10))
        .disk_cache(false)
        .build()
        .unwrap();
    let watcher = client.watch("big").unwrap();
    let initial = watcher.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(initial.initial);
    assert_eq!(initial.instances.len(), N);
    // The change is served from the third poll on, 1 s after the first.
    let t = Instant::now();
    let change = watcher.recv_timeout(Duration::from_secs(20)).unwrap();
    let took = t.elapsed();
    assert_eq!((change.added.len(), change.removed.len()), (N, N));
    assert_eq!(change.instances.len(), N);
    assert!(
        took < Duration::from_secs(5),
        "a 50,000-instance change took {took:?} to arrive (poll interval 500 ms)"
    );
    client.shutdown().unwrap();
}
