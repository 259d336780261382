//! The config center against a real r-nacos: get, publish, remove, watch,
//! snapshots and the long poll's request rate.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use nacos_blocking::watch::{RecvTimeoutError, Stopped, TryRecvError};
use nacos_blocking::{ConfigEvent, ConfigName, ConfigSource, Error, NacosClient, Publish, Watcher};
use support::{unique, RNacos};

/// Tests that count threads take this exclusively; every other test shares it.
static THREADS: RwLock<()> = RwLock::new(());

fn shared_lock() -> RwLockReadGuard<'static, ()> {
    THREADS.read().unwrap_or_else(|p| p.into_inner())
}

fn cache_dir() -> std::path::PathBuf {
    support::scratch_dir("cc-cache")
}

fn client_for(addr: &str) -> NacosClient {
    NacosClient::builder()
        .server_addr(addr)
        .cache_dir(cache_dir())
        .long_poll_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

/// r-nacos 0.8.8 sometimes starts broken: its raft apply actor panics
/// (`raftapply.rs:421`, a manager not yet set) and from then on every
/// publish answers `true` but is silently dropped. Publishes a probe until one sticks; `false` if none did
/// within `within`.
fn keeps_config_writes(c: &NacosClient, within: Duration) -> bool {
    let probe = unique("probe");
    support::eventually(within, || {
        c.publish_config(probe.as_str(), "probe").is_ok()
            && (0..4).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                matches!(c.get_config(probe.as_str()), Ok(Some(_)))
            })
    })
}

/// (Re)starts `server` until it keeps configs (a few tries).
fn restart_until_it_keeps_configs(server: &mut RNacos, c: &NacosClient, restart_first: bool) {
    if restart_first {
        server.restart();
    }
    // About one start in four is broken (a panic in its raft apply actor
    // shows in its log); a restart usually cures it.
    for _ in 0..8 {
        if keeps_config_writes(c, Duration::from_secs(4)) {
            return;
        }
        let log = std::fs::read_to_string(server.dir().join("rnacos.log")).unwrap_or_default();
        eprintln!(
            "r-nacos on {} dropped a published config (panicked: {}); restarting it",
            server.addr(),
            log.contains("panicked")
        );
        server.restart();
    }
    panic!("r-nacos on {} never kept a published config", server.addr());
}

/// The server shared by this binary's tests, restarted until it keeps
/// configs.
fn server() -> &'static RNacos {
    static SERVER: OnceLock<RNacos> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut server = RNacos::start_for_static(&[]);
        let c = client_for(&server.addr());
        restart_until_it_keeps_configs(&mut server, &c, false);
        server
    })
}

fn shared_addr() -> String {
    server().addr()
}

fn client() -> NacosClient {
    client_for(&shared_addr())
}

/// The new content of a change; `None` for an initial event or a removal.
fn changed(ev: &ConfigEvent) -> Option<&str> {
    if ev.initial {
        None
    } else {
        ev.content.as_deref()
    }
}

/// `true` for a change that removed the config.
fn removed(ev: &ConfigEvent) -> bool {
    !ev.initial && ev.is_absent()
}

/// The watch's first event, which must be its initial one, with `content`.
fn initial(w: &Watcher<ConfigEvent>, content: Option<&str>) -> ConfigEvent {
    let ev = w
        .recv_timeout(Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("no initial event: {e}"));
    assert!(ev.initial, "{ev:?}");
    assert_eq!(ev.content.as_deref(), content, "{ev:?}");
    ev
}

/// Every event that arrives within `within`.
fn drain(w: &Watcher<ConfigEvent>, within: Duration) -> Vec<ConfigEvent> {
    let until = Instant::now() + within;
    let mut out = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match w.recv_timeout(left) {
            Ok(e) => out.push(e),
            Err(_) => break,
        }
    }
    out
}

#[test]
fn publish_get_round_trips_content_unchanged() {
    let _g = shared_lock();
    let c = client();
    let big: String = "0123456789abcdé\n".repeat(100 * 1024 / 17 + 1);
    assert!(big.len() >= 100 * 1024);
    let contents = [
        "x".to_string(),
        big,
        "a&b=c+d%20e%\nline 2\r\n\tnon-ASCII: é 中文 🙂 ?#/ !()~*'".to_string(),
    ];
    for (i, content) in contents.iter().enumerate() {
        let id = unique(&format!("rt{i}"));
        c.publish_config(id.as_str(), content).unwrap();
        let got = c.get_config_value(id.as_str()).unwrap().unwrap();
        assert_eq!(&got.content, content, "content {i}");
        assert_eq!(got.source, ConfigSource::Server);
        assert_eq!(got.md5.len(), 32);
    }
}

#[test]
fn get_missing_remove_groups_namespaces_and_types() {
    let _g = shared_lock();
    let c = client();
    let id = unique("crud");
    assert_eq!(c.get_config(id.as_str()).unwrap(), None);
    c.publish_config(
        (id.as_str(), "G1"),
        Publish::new("{\"a\":1}")
            .config_type("json")
            .app_name("shop"),
    )
    .unwrap();
    c.publish_config(
        ConfigName::new(id.as_str()).group("G1").namespace("ns-cc"),
        "in ns",
    )
    .unwrap();
    assert_eq!(c.get_config(id.as_str()).unwrap(), None);
    assert_eq!(
        c.get_config((id.as_str(), "G1")).unwrap().as_deref(),
        Some("{\"a\":1}")
    );
    let in_ns = ConfigName::new(id.as_str()).group("G1").namespace("ns-cc");
    assert_eq!(c.get_config(&in_ns).unwrap().as_deref(), Some("in ns"));
    c.remove_config((id.as_str(), "G1")).unwrap();
    assert_eq!(c.get_config((id.as_str(), "G1")).unwrap(), None);
    assert_eq!(c.get_config(&in_ns).unwrap().as_deref(), Some("in ns"));
    c.remove_config(&in_ns).unwrap();
    c.remove_config(&in_ns).unwrap();
}

#[test]
fn bad_names_are_refused_before_any_request() {
    let _g = shared_lock();
    let fake = support::fake::FakeServer::answering("true");
    let c = client_for(&fake.addr());
    let bad: Vec<ConfigName> = vec![
        "".into(),
        "a b".into(),
        "a/b".into(),
        "a&b".into(),
        ("ok", "").into(),
        ("ok", "g%").into(),
        ConfigName::new("ok").namespace("n s"),
    ];
    for name in bad {
        for err in [
            c.get_config(&name).unwrap_err(),
            c.publish_config(&name, "x").unwrap_err(),
            c.remove_config(&name).unwrap_err(),
            c.watch_config(&name).unwrap_err(),
            c.subscribe_config(&name, |_: &ConfigEvent| {}).unwrap_err(),
        ] {
            assert!(err.is_invalid_argument(), "{name:?}: {err}");
        }
    }
    assert_eq!(
        c.publish_config("ok", "").unwrap_err().invalid_field(),
        Some("content")
    );
    assert_eq!(fake.requests(), 0);
}

#[test]
fn watcher_sees_change_once_within_a_second_and_removal() {
    let _g = shared_lock();
    let (c1, c2) = (client(), client());
    let id = unique("watch");
    c2.publish_config(id.as_str(), "v1").unwrap();
    let w = c1.watch_config(id.as_str()).unwrap();
    let (tx, from_listener) = crossbeam_channel::unbounded();
    // A channel sender is a listener too.
    let listener = c1.subscribe_config(id.as_str(), tx).unwrap();
    let _boom = c1
        .subscribe_config(id.as_str(), |_: &ConfigEvent| panic!("a listener bug"))
        .unwrap();
    // What was there at the start comes once, as the initial event.
    let first = initial(&w, Some("v1"));
    assert_eq!(first.md5, "6654c734ccab8f440ff0825eb443dc7f"); // md5("v1")
    assert_eq!(
        (first.data_id(), first.group(), first.namespace()),
        (id.as_str(), "DEFAULT_GROUP", "")
    );
    assert_eq!(
        from_listener.recv_timeout(Duration::from_secs(2)).unwrap(),
        first
    );
    assert_eq!(
        w.recv_timeout(Duration::from_millis(700)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(from_listener.try_recv().is_err());

    let at = Instant::now();
    c2.publish_config(id.as_str(), "v2").unwrap();
    let ev = w.recv_timeout(Duration::from_secs(3)).expect("change seen");
    assert!(
        at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        at.elapsed()
    );
    assert_eq!(changed(&ev), Some("v2"));
    assert_eq!(ev.md5, "1b267619c4812cc46ee281747884ca50"); // md5("v2")
    assert_eq!(
        (ev.data_id(), ev.group(), ev.namespace()),
        (id.as_str(), "DEFAULT_GROUP", "")
    );
    let ev2 = from_listener.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(ev2, ev);
    assert!(
        drain(&w, Duration::from_millis(1500)).is_empty(),
        "delivered once"
    );
    assert!(from_listener.try_recv().is_err());

    listener.unsubscribe();
    c2.remove_config(id.as_str()).unwrap();
    let ev = w
        .recv_timeout(Duration::from_secs(3))
        .expect("removal seen");
    assert!(removed(&ev), "{ev:?}");
    assert_eq!((ev.content.as_deref(), ev.md5.as_str()), (None, ""));
    assert!(from_listener
        .recv_timeout(Duration::from_millis(500))
        .is_err());

    // Stopping the watcher ends it; watching the key again works.
    w.stop();
    assert_eq!(w.recv(), Err(Stopped));
    let w = c1.watch_config(id.as_str()).unwrap();
    let first = initial(&w, None);
    assert!(first.is_absent() && first.md5.is_empty(), "{first:?}");
    c2.publish_config(id.as_str(), "v3").unwrap();
    let ev = w
        .recv_timeout(Duration::from_secs(3))
        .expect("re-added watcher sees change");
    assert_eq!(changed(&ev), Some("v3"));
}

#[test]
fn watcher_added_during_a_long_poll_does_not_wait_for_it() {
    let _g = shared_lock();
    let c = NacosClient::builder()
        .server_addr(shared_addr())
        .cache_dir(cache_dir())
        .long_poll_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let other = client();
    let first = c.watch_config(unique("first").as_str()).unwrap();
    initial(&first, None);
    std::thread::sleep(Duration::from_millis(500)); // the long poll is in flight
    let id = unique("late");
    let late = c.watch_config(id.as_str()).unwrap();
    initial(&late, None);
    let at = Instant::now();
    other.publish_config(id.as_str(), "hello").unwrap();
    let ev = late.recv_timeout(Duration::from_secs(10)).expect("seen");
    assert_eq!(changed(&ev), Some("hello"));
    assert!(
        at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        at.elapsed()
    );
    // A third, while both long polls (one for `first`, a newer one for
    // both) are in flight: the checker covers it within seconds, not 30.
    let id = unique("later");
    let later = c.watch_config(id.as_str()).unwrap();
    initial(&later, None);
    std::thread::sleep(Duration::from_millis(2500));
    let at = Instant::now();
    other.publish_config(id.as_str(), "again").unwrap();
    let ev = later.recv_timeout(Duration::from_secs(10)).expect("seen");
    assert_eq!(changed(&ev), Some("again"));
    assert!(
        at.elapsed() < Duration::from_secs(3),
        "took {:?}",
        at.elapsed()
    );
    assert_eq!(first.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn shutdown_is_prompt_with_a_long_poll_in_flight() {
    let _g = shared_lock();
    let c = client();
    let w = c.watch_config(unique("sd").as_str()).unwrap();
    initial(&w, None);
    std::thread::sleep(Duration::from_millis(500));
    let at = Instant::now();
    c.shutdown().unwrap();
    assert!(
        at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        at.elapsed()
    );
    assert!(w.is_stopped());
    let at = Instant::now();
    assert_eq!(
        w.recv_timeout(Duration::from_secs(1)),
        Err(RecvTimeoutError::Stopped)
    );
    assert!(
        at.elapsed() < Duration::from_millis(500),
        "{:?}",
        at.elapsed()
    );
    assert!(matches!(c.get_config("x"), Err(Error::Shutdown)));
    assert!(matches!(c.watch_config("x"), Err(Error::Shutdown)));
}

/// This process's threads, less the test harness's: a thread the harness
/// starts for a test blocked on `THREADS` must not count as the client's.
fn threads_but_the_harness() -> usize {
    const TESTS: &[&str] = &[
        "publish_get_round_trips_content_unchanged",
        "get_missing_remove_groups_namespaces_and_types",
        "bad_names_are_refused_before_any_request",
        "watcher_sees_change_once_within_a_second_and_removal",
        "watcher_added_during_a_long_poll_does_not_wait_for_it",
        "shutdown_is_prompt_with_a_long_poll_in_flight",
        "two_hundred_keys_share_one_long_poll_thread",
        "snapshot_when_the_server_is_gone_and_watch_resumes",
        "failover_files_override_the_server",
        "idle_long_poll_makes_only_a_few_requests",
        "changes_in_every_namespace_and_to_keys_added_later_arrive_at_once",
        "snapshots_are_private_and_an_open_cache_dir_is_refused",
    ];
    support::lasting_threads()
        .into_values()
        .filter(|n| {
            // Linux keeps the first 15 bytes of a thread's name.
            let n = n.trim();
            !TESTS.iter().any(|t| &t[..t.len().min(15)] == n)
        })
        .count()
}

#[test]
fn two_hundred_keys_share_one_long_poll_thread() {
    let _g = THREADS.write().unwrap_or_else(|p| p.into_inner());
    // Clients other tests dropped joined their threads as they went.
    assert!(
        support::eventually(Duration::from_secs(2), || support::nacos_thread_names()
            .is_empty()),
        "{:?}",
        support::nacos_thread_names()
    );
    let before = threads_but_the_harness();
    let c = client();
    let mut watchers = vec![c.watch_config(unique("k").as_str()).unwrap()];
    std::thread::sleep(Duration::from_millis(300));
    let with_one = threads_but_the_harness();
    let names = support::nacos_thread_names();
    // One long-poll thread for the namespace and one delivery thread.
    assert_eq!(names, ["nacos-cfg-0", "nacos-deliver-0"]);
    assert!(with_one - before <= names.len(), "{before} -> {with_one}");
    for _ in 1..200 {
        watchers.push(c.watch_config(unique("k").as_str()).unwrap());
    }
    std::thread::sleep(Duration::from_millis(800));
    // The adds went out in a fresh poll or two; the first poll's thread
    // ends when its held poll returns. Never one thread per key.
    let names = support::nacos_thread_names();
    let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
    assert!(
        count("nacos-cfg-") <= 3 && count("nacos-deliver-") <= 4,
        "{names:?}"
    );
    // They all work: a change to the last one arrives.
    let last = unique("k");
    let w = c.watch_config(last.as_str()).unwrap();
    initial(&w, None);
    client().publish_config(last.as_str(), "x").unwrap();
    let ev = w.recv_timeout(Duration::from_secs(3)).expect("change seen");
    assert_eq!(changed(&ev), Some("x"));
    // At most three poll threads and four delivery threads, 201 keys or one.
    let now = threads_but_the_harness();
    assert!(now <= before + 7, "{before} -> {now}");
}

/// One client watching keys in two namespaces, with keys added while the
/// long polls are held: every change reaches its watcher at once (a
/// generous 1 s bound: one round trip on loopback). Polls were sent one
/// namespace after another by one thread, so a change in one namespace
/// waited for the other's held poll (26.6–27.9 s of a 30 s hold), and a key
/// added while both poll threads were busy waited for a backing-off
/// checker (p50 1.8 s).
#[test]
fn changes_in_every_namespace_and_to_keys_added_later_arrive_at_once() {
    let _g = shared_lock();
    let c = NacosClient::builder()
        .server_addr(shared_addr())
        .disk_cache(false)
        .long_poll_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let publisher = client();
    let other = unique("ns-b");
    let name = |ns: &str, id: &str| ConfigName::new(id).namespace(ns);
    let mut keys: Vec<(ConfigName, Watcher<ConfigEvent>)> = Vec::new();
    let mut watch = |n: ConfigName| {
        let w = c.watch_config(n.clone()).unwrap();
        initial(&w, None);
        keys.push((n, w));
    };
    watch(name("", &unique("pub-1")));
    watch(name(&other, &unique("b-1")));
    // Both namespaces' polls are held now; add keys to each.
    std::thread::sleep(Duration::from_millis(500));
    watch(name("", &unique("pub-2")));
    watch(name(&other, &unique("b-2")));
    std::thread::sleep(Duration::from_millis(700));
    let mut slow = Vec::new();
    for round in 0..3 {
        for (n, w) in &keys {
            let content = format!("round {round}");
            let sent = Instant::now();
            publisher
                .publish_config(n.clone(), content.as_str())
                .unwrap();
            let ev = w
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{n:?}: no change in 5 s: {e}"));
            let took = sent.elapsed();
            assert_eq!(changed(&ev), Some(content.as_str()));
            if took > Duration::from_secs(1) {
                slow.push(format!("{n:?} round {round}: {took:?}"));
            }
        }
    }
    assert!(slow.is_empty(), "changes seen late: {slow:#?}");
    let names = support::nacos_thread_names();
    let polls = names.iter().filter(|n| n.starts_with("nacos-cfg-")).count();
    assert!(polls >= 2, "one poll thread per namespace: {names:?}");
    c.shutdown().unwrap();
}

#[test]
fn snapshot_when_the_server_is_gone_and_watch_resumes() {
    let _g = shared_lock();
    let mut server = RNacos::start();
    let cache = cache_dir();
    let addr = server.addr();
    let make = || {
        NacosClient::builder()
            .server_addr(addr.as_str())
            .cache_dir(&cache)
            .long_poll_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(2))
            .retries(0)
            .build()
            .unwrap()
    };
    let c = make();
    restart_until_it_keeps_configs(&mut server, &c, false);
    let id = unique("snap");
    c.publish_config(id.as_str(), "v1 é").unwrap();
    assert_eq!(c.get_config(id.as_str()).unwrap().as_deref(), Some("v1 é"));
    let w = c.watch_config(id.as_str()).unwrap();
    initial(&w, Some("v1 é"));

    server.kill();
    let v = c.get_config_value(id.as_str()).unwrap().unwrap();
    assert_eq!(
        (v.content.as_str(), v.source),
        ("v1 é", ConfigSource::Snapshot)
    );
    assert!(v.from_snapshot());
    assert!(c.get_config("never-fetched").unwrap_err().is_unavailable());
    // A second client watching while the server is away starts from the
    // snapshot: its initial event has the snapshot's content, and nothing
    // else fires.
    let c3 = make();
    let w3 = c3.watch_config(id.as_str()).unwrap();
    let first = initial(&w3, Some("v1 é"));
    assert_eq!(first.md5, "e547831b22c20bb366abe0f67665f82e"); // md5("v1 é")
    assert!(drain(&w3, Duration::from_secs(1)).is_empty());
    assert!(drain(&w, Duration::from_millis(10)).is_empty());

    // Fresh data dir: the config must be published again.
    let c2 = make();
    restart_until_it_keeps_configs(&mut server, &c2, true);
    c2.publish_config(id.as_str(), "v2").unwrap();
    for (name, w) in [("first", &w), ("started from snapshot", &w3)] {
        let mut events = Vec::new();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until && !events.iter().any(|e| changed(e) == Some("v2")) {
            events.extend(w.recv_timeout(Duration::from_millis(200)).ok());
        }
        events.extend(drain(w, Duration::from_millis(1500)));
        let v2 = events.iter().filter(|e| changed(e) == Some("v2")).count();
        assert_eq!(v2, 1, "{name}: {events:?}");
        // Only a deletion (the fresh server briefly lacked the key) may come first.
        assert!(
            events
                .iter()
                .all(|e| removed(e) || changed(e) == Some("v2")),
            "{name}: {events:?}"
        );
    }
    let v = c.get_config_value(id.as_str()).unwrap().unwrap();
    assert_eq!((v.content.as_str(), v.source), ("v2", ConfigSource::Server));
}

#[test]
fn failover_files_override_the_server() {
    let _g = shared_lock();
    let dir = support::scratch_dir("failover");
    let c = NacosClient::builder()
        .server_addr(shared_addr())
        .cache_dir(cache_dir())
        .config_failover_dir(&dir)
        .build()
        .unwrap();
    let id = unique("fo");
    c.publish_config(id.as_str(), "from server").unwrap();
    assert_eq!(
        c.get_config(id.as_str()).unwrap().as_deref(),
        Some("from server")
    );
    let file = dir.join("public").join("DEFAULT_GROUP").join(&id);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "from failover").unwrap();
    let v = c.get_config_value(id.as_str()).unwrap().unwrap();
    assert_eq!(
        (v.content.as_str(), v.source),
        ("from failover", ConfigSource::Failover)
    );
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        c.get_config(id.as_str()).unwrap().as_deref(),
        Some("from server")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP proxy in front of a server that counts the HTTP requests going
/// through it (each carries exactly one `RequestId` header).
struct CountingProxy {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl CountingProxy {
    fn start(upstream: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let counter = counter.clone();
                std::thread::spawn(move || pipe(client, server, Some(&counter)));
                std::thread::spawn(move || pipe(s2, c2, None));
            }
        });
        CountingProxy { port, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, count: Option<&AtomicUsize>) {
    const NEEDLE: &[u8] = b"\r\nrequestid:";
    let mut buf = [0u8; 16 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(count) = count {
            tail.extend(buf[..n].iter().map(u8::to_ascii_lowercase));
            let hits = tail.windows(NEEDLE.len()).filter(|w| *w == NEEDLE).count();
            count.fetch_add(hits, Ordering::SeqCst);
            let keep = tail.len().min(NEEDLE.len() - 1);
            tail.drain(..tail.len() - keep);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[test]
fn idle_long_poll_makes_only_a_few_requests() {
    let _g = shared_lock();
    shared_addr();
    let proxy = CountingProxy::start(server().http_port);
    let c = client_for(&format!("127.0.0.1:{}", proxy.port));
    let keys: Vec<String> = (0..3).map(|_| unique("idle")).collect();
    let watchers: Vec<_> = keys
        .iter()
        .map(|k| c.watch_config(k.as_str()).unwrap())
        .collect();
    assert!(
        proxy.requests() >= 3,
        "the proxy counts: {}",
        proxy.requests()
    );
    // Keys added while both long polls were in flight are checked every
    // few seconds until a long poll covers them, at most one long-poll
    // timeout (10 s) later: idle starts after that.
    std::thread::sleep(Duration::from_secs(11));
    let start = proxy.requests();
    std::thread::sleep(Duration::from_secs(20));
    let made = proxy.requests() - start;
    // A 10 s long poll: about 2 in 20 s (12 a minute at most).
    assert!((1..=4).contains(&made), "{made} requests in 20 s");
    // Each watcher got its initial event (absent), and nothing else.
    for w in &watchers {
        let first = w.try_recv().expect("the initial event");
        assert!(first.initial && first.is_absent(), "{first:?}");
        assert_eq!(w.try_recv(), Err(TryRecvError::Empty));
    }
}

/// Snapshots are private: directories `0700`, files `0600`; a cache dir
/// every user may write is refused at `build()`.
#[cfg(unix)]
#[test]
fn snapshots_are_private_and_an_open_cache_dir_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let _g = shared_lock();
    let dir = support::scratch_dir("private");
    let c = client_for_cache(&dir);
    let id = unique("private");
    c.publish_config(id.as_str(), "password=1").unwrap();
    assert_eq!(
        c.get_config(id.as_str()).unwrap().as_deref(),
        Some("password=1")
    );
    let mut files = 0;
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let mode = e.metadata().unwrap().mode() & 0o777;
            if e.path().is_dir() {
                assert_eq!(mode, 0o700, "{:?}", e.path());
                stack.push(e.path());
            } else {
                assert_eq!(mode, 0o600, "{:?}", e.path());
                files += 1;
            }
        }
    }
    assert!(files >= 1, "no snapshot written");
    c.shutdown().unwrap();
    let open = support::scratch_dir("open");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = NacosClient::builder()
        .server_addr(shared_addr())
        .cache_dir(&open)
        .build()
        .unwrap_err();
    assert_eq!(e.invalid_field(), Some("cache_dir"), "{e}");
    assert!(e.to_string().contains("writable by every user"), "{e}");
}

fn client_for_cache(dir: &std::path::Path) -> NacosClient {
    NacosClient::builder()
        .server_addr(shared_addr())
        .cache_dir(dir)
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}
