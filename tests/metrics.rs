//! `client.metrics()` against r-nacos: what a client did, counted as it
//! did it — calls, failures by kind and latency per operation, requests,
//! failures and failovers per server, idle and changed subscription polls,
//! events delivered.

mod support;

use std::time::Duration;

use nacos_blocking::metrics::Operation;
use nacos_blocking::{Instance, NacosClient};
use support::proxy::RecordingProxy;
use support::{eventually, free_port, unique, RNacos};

#[test]
fn a_client_counts_what_it_does_and_where() {
    let server = RNacos::start();
    let upstream: u16 = server.addr().rsplit(':').next().unwrap().parse().unwrap();
    // Two ways to the one server: either can be taken away.
    let mut proxies = [
        Some(RecordingProxy::start(upstream)),
        Some(RecordingProxy::start(upstream)),
    ];
    let addrs: Vec<String> = proxies.iter().flatten().map(|p| p.addr()).collect();
    let client = NacosClient::builder()
        .server_addr(addrs.join(","))
        .timeout(Duration::from_secs(3))
        .poll_interval(Duration::from_millis(200))
        .disk_cache(false)
        .build()
        .unwrap();
    let fresh = client.metrics();
    assert!(fresh.operations.is_empty() && fresh.servers.is_empty());

    let service = unique("metrics");
    let beaten = Instance::builder("10.64.0.1", 6401)
        .metadata("preserved.heart.beat.interval", "300")
        .build();
    client.register_instance(service.as_str(), &beaten).unwrap();
    let watcher = client.watch(service.as_str()).unwrap();
    assert_eq!(
        watcher
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .instances
            .len(),
        1
    );
    client
        .register_instance(service.as_str(), &Instance::new("10.64.0.2", 6402))
        .unwrap();
    let changed = watcher.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(changed.added.len(), 1);
    let data_id = unique("metrics-cfg");
    client.publish_config(data_id.as_str(), "v1").unwrap();
    assert_eq!(
        client.get_config(data_id.as_str()).unwrap().as_deref(),
        Some("v1")
    );
    // Beats and idle polls go on meanwhile.
    assert!(eventually(Duration::from_secs(10), || {
        let m = client.metrics();
        m.operation(Operation::Beat).is_some_and(|b| b.calls >= 2) && m.service_polls_idle >= 2
    }));

    let m = client.metrics();
    let reg = m.operation(Operation::Register).unwrap();
    assert_eq!((reg.calls, reg.failures.total()), (2, 0), "{m}");
    let (p50, p99) = (reg.p50.unwrap(), reg.p99.unwrap());
    assert!(
        p50 <= p99 && p99 <= reg.max && reg.max < Duration::from_secs(3),
        "{m}"
    );
    assert_eq!(m.operation(Operation::ConfigWrite).unwrap().calls, 1);
    assert!(m.operation(Operation::ConfigRead).unwrap().calls >= 1);
    assert!(m.operation(Operation::ServicePoll).unwrap().calls >= 3);
    assert!(m.service_polls_changed >= 1, "{m}");
    // The initial event and the change reached the watcher.
    assert!(m.events_delivered >= 2, "{m}");
    assert!(m.operation(Operation::Deregister).is_none());
    // Every request went to the server the client started with: no
    // failure moved it.
    assert_eq!(m.servers.len(), 1, "{m}");
    let used = m.servers[0].clone();
    assert_eq!((used.failures, used.failovers), (0, 0), "{m}");
    assert!(used.requests >= reg.calls + 3, "{m}");
    let shown = m.to_string();
    assert!(
        shown.contains("register") && shown.contains(&used.server),
        "{shown}"
    );

    // Take that way away: the next calls fail there and go on to the other.
    let at = addrs.iter().position(|a| *a == used.server).unwrap();
    drop(proxies[at].take());
    // (Not a list of the watched service: the watch's list answers that.)
    let reads = m.operation(Operation::ConfigRead).unwrap().calls;
    assert_eq!(
        client.get_config(data_id.as_str()).unwrap().as_deref(),
        Some("v1")
    );
    let m = client.metrics();
    let gone = m.servers.iter().find(|s| s.server == used.server).unwrap();
    assert!(gone.failures >= 1 && gone.failovers >= 1, "{m}");
    let other = m.servers.iter().find(|s| s.server != used.server).unwrap();
    assert!(other.requests >= 1, "{m}");
    let read = m.operation(Operation::ConfigRead).unwrap();
    assert_eq!((read.calls, read.failures.total()), (reads + 1, 0), "{m}");
    client.shutdown().unwrap();
}

#[test]
fn a_call_no_server_answers_is_counted_as_unavailable() {
    let dead = format!("127.0.0.1:{}", free_port());
    let client = NacosClient::builder()
        .server_addr(&dead)
        .timeout(Duration::from_millis(500))
        .retries(0)
        .disk_cache(false)
        .build()
        .unwrap();
    assert!(client.list_instances("nowhere").is_err());
    let m = client.metrics();
    let list = m.operation(Operation::ListInstances).unwrap();
    assert_eq!((list.calls, list.failures.unavailable), (1, 1), "{m}");
    assert_eq!(list.failures.total(), 1);
    assert_eq!(m.servers.len(), 1);
    assert_eq!(m.servers[0].server, dead);
    assert!(m.servers[0].failures >= 1);
    // One server: nowhere to move on to.
    assert_eq!(m.servers[0].failovers, 0);
    client.shutdown().unwrap();
}
