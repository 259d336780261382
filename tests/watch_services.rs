//! `watch_services` against r-nacos: services appearing in and leaving a
//! group reach the watcher (filtered by a glob), `keep_subscribed` follows
//! them, and dropping the watcher ends its thread.

mod support;

use std::time::Duration;

use nacos_blocking::metrics::Operation;
use nacos_blocking::{CatalogEvent, Error, NacosClient, ServiceKey, ServiceQuery, ServiceSpec};
use support::{eventually, unique, RNacos};

fn client(server: &RNacos) -> NacosClient {
    NacosClient::builder()
        .server_addr(server.addr())
        .timeout(Duration::from_secs(3))
        .poll_interval(Duration::from_millis(200))
        .disk_cache(false)
        .build()
        .unwrap()
}

/// The bare names of `services`.
fn names(services: &[ServiceKey]) -> Vec<&str> {
    services.iter().map(|s| s.name.as_str()).collect()
}

fn next(w: &nacos_blocking::Watcher<CatalogEvent>) -> CatalogEvent {
    w.recv_timeout(Duration::from_secs(10))
        .expect("a catalog event within 10 s")
}

#[test]
fn services_that_come_and_go_reach_the_watcher() {
    let server = RNacos::start();
    let client = client(&server);
    let group = unique("CAT");
    let spec = ServiceSpec::default();
    client
        .create_service((group.as_str(), "cat-a"), &spec)
        .unwrap();
    client
        .create_service((group.as_str(), "dog-a"), &spec)
        .unwrap();

    let all = client
        .watch_services(ServiceQuery::new().group(&group))
        .unwrap();
    let cats = client
        .watch_services(ServiceQuery::new().group(&group).pattern("cat-*"))
        .unwrap();
    let first = next(&all);
    assert!(first.initial);
    assert_eq!(first.group.as_deref(), Some(group.as_str()));
    assert_eq!(names(&first.services), ["cat-a", "dog-a"]);
    assert_eq!(first.added, first.services);
    // Each with the public namespace and the group asked for.
    let key = |name: &str| ServiceKey::new("", group.as_str(), name);
    assert_eq!(first.services, [key("cat-a"), key("dog-a")]);
    let first = next(&cats);
    assert!(first.initial);
    assert_eq!(names(&first.services), ["cat-a"]);

    client
        .create_service((group.as_str(), "cat-b"), &spec)
        .unwrap();
    let e = next(&cats);
    assert!(!e.initial);
    assert_eq!(
        (names(&e.added), names(&e.removed)),
        (vec!["cat-b"], vec![])
    );
    assert_eq!(names(&e.services), ["cat-a", "cat-b"]);
    assert_eq!(names(&next(&all).added), ["cat-b"]);

    client
        .create_service((group.as_str(), "dog-b"), &spec)
        .unwrap();
    assert_eq!(names(&next(&all).added), ["dog-b"]);
    client.delete_service((group.as_str(), "cat-a")).unwrap();
    let e = next(&cats);
    assert_eq!(names(&e.removed), ["cat-a"]);
    assert_eq!(names(&e.services), ["cat-b"]);
    // The dog came and the cat went: the pattern kept the dog out.
    assert!(cats.try_recv().is_err());
    let e = next(&all);
    assert_eq!(names(&e.removed), ["cat-a"]);
    assert_eq!(names(&e.services), ["cat-b", "dog-a", "dog-b"]);

    // The watches' polls are counted apart from the caller's service calls
    // (four creates, one delete): they are background work. Each event
    // above took a poll of its own: four for `all`, three for `cats`.
    let metrics = client.metrics();
    let calls = |op| metrics.operation(op).map_or(0, |o| o.calls);
    assert_eq!(calls(Operation::Services), 5, "{metrics}");
    assert!(calls(Operation::CatalogPoll) >= 7, "{metrics}");

    // Dropping the watchers ends their threads.
    assert!(support::nacos_thread_names()
        .iter()
        .any(|n| n.starts_with("nacos-svcs-")));
    drop(all);
    drop(cats);
    assert!(eventually(Duration::from_secs(5), || {
        !support::nacos_thread_names()
            .iter()
            .any(|n| n.starts_with("nacos-svcs-"))
    }));
    client.shutdown().unwrap();
}

/// Every group of a namespace: r-nacos answers from its console catalog
/// (`/v1/ns/catalog/services`), each service with its group.
#[test]
fn a_watch_of_every_group_sees_each_service_with_its_group() {
    let client = client(RNacos::shared());
    let ns = unique("ns-cat");
    let spec = ServiceSpec::default();
    let create = |group: &str, name: &str| {
        let service = nacos_blocking::ServiceName::new(name)
            .group(group)
            .namespace(ns.as_str());
        client.create_service(service, &spec).unwrap();
    };
    create("GA", "one");
    create("GB", "one");
    // Kept subscribed: one subscription per service, told apart by group
    // (the two `one`s are two subscriptions).
    let query = ServiceQuery::new()
        .namespace(ns.as_str())
        .all_groups()
        .keep_subscribed(true);
    let all = client.watch_services(query).unwrap();
    let first = next(&all);
    assert!(first.initial && first.group.is_none(), "{first:?}");
    let key = |group: &str, name: &str| ServiceKey::new(ns.as_str(), group, name);
    assert_eq!(first.services, [key("GA", "one"), key("GB", "one")]);
    assert!(eventually(Duration::from_secs(5), || client
        .subscribed_services()
        == 2));
    create("GC", "two");
    let e = next(&all);
    assert_eq!((e.added, e.removed), (vec![key("GC", "two")], vec![]));
    assert!(eventually(Duration::from_secs(5), || client
        .subscribed_services()
        == 3));
    drop(all);
    client.shutdown().unwrap();
}

#[test]
fn keep_subscribed_follows_the_matching_services() {
    let server = RNacos::start();
    let client = client(&server);
    let group = unique("KEEP");
    let spec = ServiceSpec::default();
    client
        .create_service((group.as_str(), "keep-1"), &spec)
        .unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let sub = client
        .subscribe_services(ServiceQuery::new().group(&group).keep_subscribed(true), tx)
        .unwrap();
    let first: CatalogEvent = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(names(&first.services), ["keep-1"]);
    assert!(eventually(Duration::from_secs(5), || client
        .subscribed_services()
        == 1));
    client
        .create_service((group.as_str(), "keep-2"), &spec)
        .unwrap();
    let e: CatalogEvent = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(names(&e.added), ["keep-2"]);
    assert!(eventually(Duration::from_secs(5), || client
        .subscribed_services()
        == 2));
    client.delete_service((group.as_str(), "keep-1")).unwrap();
    let e: CatalogEvent = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(names(&e.removed), ["keep-1"]);
    assert!(eventually(Duration::from_secs(5), || client
        .subscribed_services()
        == 1));
    drop(sub);
    assert!(eventually(Duration::from_secs(5), || client
        .subscribed_services()
        == 0));
    client.shutdown().unwrap();
}

#[test]
fn a_bad_query_is_refused_before_any_request() {
    // Nothing listens here: a request would fail differently.
    let client = NacosClient::builder()
        .server_addr("127.0.0.1:1")
        .disk_cache(false)
        .build()
        .unwrap();
    let e = client
        .watch_services(ServiceQuery::new().pattern("cat-[a"))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    let e = client
        .watch_services(ServiceQuery::new().group("no spaces"))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    assert!(client.metrics().servers.is_empty());
    client.shutdown().unwrap();
}
