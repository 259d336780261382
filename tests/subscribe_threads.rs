//! Thread use of subscriptions. Alone in its own binary, so no other test's
//! threads are counted.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nacos_blocking::{NacosClient, ServiceEvent};
use support::{unique, RNacos};

#[test]
fn a_thousand_subscriptions_use_the_threads_of_one() {
    let dir = support::scratch_dir("threads");
    let c = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .cache_dir(&dir)
        .build()
        .unwrap();
    let initial = Arc::new(AtomicUsize::new(0));
    let subscribe = |svc: String| {
        let n = initial.clone();
        // Detached: each subscription lasts as long as the client.
        c.subscribe(svc.as_str(), move |ev: &ServiceEvent| {
            if ev.initial {
                n.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap()
        .detach();
    };
    let base = unique("many");
    subscribe(format!("{base}-0"));
    assert!(support::eventually(Duration::from_secs(5), || initial
        .load(Ordering::SeqCst)
        == 1));
    // One scheduler, one poller, one delivery thread: the pools grow only
    // while every thread of theirs is busy.
    assert_eq!(
        support::nacos_thread_names(),
        ["nacos-deliver-0", "nacos-sub-poll0", "nacos-sub-sched"]
    );
    for i in 1..1000 {
        subscribe(format!("{base}-{i}"));
    }
    assert_eq!(c.subscribed_services(), 1000);
    assert!(
        support::eventually(Duration::from_secs(60), || initial.load(Ordering::SeqCst)
            == 1000),
        "only {} initial events",
        initial.load(Ordering::SeqCst)
    );
    // However many subscriptions: the scheduler and at most four pollers
    // and four delivery threads.
    let names = support::nacos_thread_names();
    let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
    assert!(
        count("nacos-sub-sched") == 1
            && count("nacos-sub-poll") <= 4
            && count("nacos-deliver-") <= 4
            && names.len() <= 9,
        "{names:?}"
    );
    c.shutdown().unwrap();
    assert!(
        support::nacos_thread_names().is_empty(),
        "{:?}",
        support::nacos_thread_names()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
