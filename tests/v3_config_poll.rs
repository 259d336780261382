//! Config watches on a v3 server (no long poll) at a bounded request rate:
//! many watched keys cost one list of the namespace's MD5s a round (Java
//! 3.x `ConfigControllerV3#list`, answered by the fake as cited
//! there), not a read each; where the list is refused (403) the keys are
//! read one by one, no faster than `config_poll_rate`.

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::{ConfigEvent, Error, NacosClient};
use support::fake_v3::FakeV3;
use support::unique;

const LIST: &str = "/v3/admin/cs/config/list";
const READ: &str = "/v3/client/cs/config";

fn client(addr: &str, rate: u32) -> NacosClient {
    NacosClient::builder()
        .server_addr(addr)
        .config_poll_interval(Duration::from_millis(200))
        .config_poll_rate(rate)
        .timeout(Duration::from_secs(3))
        .disk_cache(false)
        .build()
        .unwrap()
}

/// Publishes `n` configs and watches them all; returns their ids and the
/// receiver, once every initial event arrived.
fn watch_many(
    c: &NacosClient,
    n: usize,
) -> (
    Vec<String>,
    crossbeam_channel::Receiver<ConfigEvent>,
    Vec<nacos_blocking::Subscription>,
) {
    let prefix = unique("many");
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    for id in &ids {
        c.publish_config(id.as_str(), format!("v0 of {id}"))
            .unwrap();
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    let subs: Vec<_> = ids
        .iter()
        .map(|id| c.subscribe_config(id.as_str(), tx.clone()).unwrap())
        .collect();
    for _ in 0..n {
        let e = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(e.initial, "{e:?}");
    }
    (ids, rx, subs)
}

#[test]
fn many_watched_keys_cost_one_list_a_round_and_a_read_only_when_changed() {
    let fake = FakeV3::start();
    let c = client(&fake.addr(), 20);
    let (ids, rx, _subs) = watch_many(&c, 60);
    fake.clear_requests();
    std::thread::sleep(Duration::from_millis(1500));
    let lists = fake.to("GET", LIST);
    let reads = fake.to("GET", READ);
    // A round every 200 ms: about 7 lists in 1.5 s, and no reads.
    assert!((3..=9).contains(&lists.len()), "{} lists", lists.len());
    assert!(reads.is_empty(), "{} reads of unchanged keys", reads.len());
    assert_eq!(lists[0].query("search"), Some("accurate"));
    assert_eq!(lists[0].query("pageSize"), Some("500"));
    assert!(lists[0].query("dataId").is_none() && lists[0].query("groupName").is_none());

    // One change: its key alone is read, and its listener hears of it.
    fake.clear_requests();
    let changed_at = Instant::now();
    c.publish_config(ids[17].as_str(), "v1").unwrap();
    let e = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let took = changed_at.elapsed();
    assert_eq!(e.content.as_deref(), Some("v1"));
    assert_eq!(e.key.data_id, ids[17]);
    assert!(took < Duration::from_secs(2), "seen after {took:?}");
    std::thread::sleep(Duration::from_millis(500));
    let reads = fake.to("GET", READ);
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].query("dataId"), Some(ids[17].as_str()));
    assert!(rx.try_recv().is_err(), "one change, one event");
    c.shutdown().unwrap();
}

#[test]
fn a_refused_list_falls_back_to_reads_no_faster_than_the_rate() {
    let fake = FakeV3::builder().refuse_config_list().start();
    let rate = 10;
    let c = client(&fake.addr(), rate);
    let (ids, rx, _subs) = watch_many(&c, 30);
    // Let the first rounds go, then count over a window.
    std::thread::sleep(Duration::from_millis(500));
    fake.clear_requests();
    let window = Duration::from_secs(3);
    std::thread::sleep(window);
    let reads = fake.to("GET", READ).len();
    let ceiling = rate as usize * window.as_secs() as usize + 2;
    assert!(reads <= ceiling, "{reads} reads in {window:?} at {rate}/s");
    assert!(reads >= ceiling / 2, "only {reads} reads in {window:?}");
    // Refused once, not asked again within the next ten minutes.
    assert!(fake.to("GET", LIST).is_empty());
    // A change still arrives, within one round (30 keys at 10/s: 3 s).
    c.publish_config(ids[3].as_str(), "v1").unwrap();
    let e = rx.recv_timeout(Duration::from_secs(8)).unwrap();
    assert_eq!(
        (e.key.data_id.as_str(), e.content.as_deref()),
        (ids[3].as_str(), Some("v1"))
    );
    c.shutdown().unwrap();
}

#[test]
fn the_rate_is_checked_when_the_client_is_built() {
    for bad in [0, 10_001] {
        let e = NacosClient::builder()
            .server_addr("127.0.0.1:8848")
            .config_poll_rate(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument { .. })
                && e.to_string().contains("config_poll_rate"),
            "{e}"
        );
    }
}
