//! Thread use of subscriptions. Alone in its own binary, so no other test's
//! threads are counted.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nacos_blocking::NacosClient;
use support::{unique, RNacos};

#[test]
fn a_thousand_subscriptions_use_the_threads_of_one() {
    let dir = std::env::temp_dir().join(unique("nacos-blocking-threads"));
    let c = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .cache_dir(&dir)
        .build()
        .unwrap();
    let initial = Arc::new(AtomicUsize::new(0));
    let subscribe = |svc: String| {
        let n = initial.clone();
        c.subscribe(svc.as_str(), &[], move |ev| {
            if ev.initial {
                n.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    };
    let base = unique("many");
    subscribe(format!("{base}-0"));
    assert!(support::eventually(Duration::from_secs(5), || initial
        .load(Ordering::SeqCst)
        == 1));
    let with_one = support::thread_count();
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
    assert_eq!(support::thread_count(), with_one);
    c.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
