use super::*;
use crate::builder::ClientBuilder;
use crate::error::Error;
use crate::naming::instance::Instance;

fn registry() -> Registry {
    let c = ClientBuilder::default()
        .server_addr("127.0.0.1")
        .poll_interval(Duration::from_millis(100))
        .into_settings()
        .unwrap();
    Registry::new(&c)
}

fn target() -> Target {
    Target {
        service: ServiceKey::new("", "G", "svc"),
        clusters: Vec::new(),
    }
}

fn list(ports: &[u16]) -> ServiceInfo {
    ServiceInfo {
        hosts: ports
            .iter()
            .map(|p| Instance::builder("10.0.0.1", *p).build())
            .collect(),
        ..ServiceInfo::default()
    }
}

fn listener() -> Arc<Listener<ServiceEvent>> {
    Listener::new(|_: &ServiceEvent| {})
}

const HOLD: Option<Duration> = Some(Duration::from_secs(3600));

/// Runs one poll with `result`; returns (initial?, added, removed) per delivery.
fn poll(r: &Registry, result: Result<ServiceInfo>) -> Vec<(bool, usize, usize)> {
    poll_with(r, result, HOLD)
}

fn poll_with(
    r: &Registry,
    result: Result<ServiceInfo>,
    window: Option<Duration>,
) -> Vec<(bool, usize, usize)> {
    let (jobs, _) = r.take_due(Instant::now() + Duration::from_secs(3600));
    assert_eq!(jobs.len(), 1);
    let body = KeptBody::new(format!("{{\"n\":{}}}", crate::util::random_u64()), 1);
    let out = r.complete(&jobs[0], result.map(|i| (i, body)), window);
    r.finish(&jobs[0]);
    out.deliveries
        .iter()
        .map(|(_, e)| (e.initial, e.added.len(), e.removed.len()))
        .collect()
}

#[test]
fn initial_then_changes_and_errors_keep_the_list() {
    let r = registry();
    r.add(&target(), listener()).unwrap();
    assert_eq!(poll(&r, Ok(list(&[1, 2]))), vec![(true, 2, 0)]);
    assert_eq!(poll(&r, Ok(list(&[1, 2]))), vec![]);
    assert_eq!(poll(&r, Ok(list(&[1, 3]))), vec![(false, 1, 1)]);
    // Push-empty: held for the window, however many polls see it.
    for _ in 0..5 {
        assert_eq!(poll(&r, Ok(list(&[]))), vec![]);
    }
    assert_eq!(r.cached(&target()).unwrap().hosts.len(), 2);
    assert!(r.state(&target()).unwrap().holding_empty);
    assert_eq!(poll(&r, Ok(list(&[1, 3]))), vec![]);
    // An error keeps the list and shows in the state.
    assert_eq!(poll(&r, Err(Error::Shutdown)), vec![]);
    let s = r.state(&target()).unwrap();
    assert_eq!((s.consecutive_failures, s.instances), (1, Some(2)));
    assert!(s.last_error.is_some());
    // A second listener gets its own initial event only.
    let id = r.add(&target(), listener()).unwrap();
    assert_eq!(poll(&r, Ok(list(&[1, 3]))), vec![(true, 2, 0)]);
    assert!(r.state(&target()).unwrap().is_ok());
    r.remove(&target(), id);
    assert_eq!(r.len(), 1);
    r.close();
    assert_eq!(r.len(), 0);
    assert!(r.add(&target(), listener()).is_none());
}

#[test]
fn empty_is_delivered_once_the_window_passed_or_without_protection() {
    let r = registry();
    r.add(&target(), listener()).unwrap();
    poll(&r, Ok(list(&[1])));
    assert_eq!(poll_with(&r, Ok(list(&[])), None), vec![(false, 0, 1)]);
    poll(&r, Ok(list(&[1])));
    let zero = Some(Duration::ZERO);
    assert_eq!(poll_with(&r, Ok(list(&[])), zero), vec![(false, 0, 1)]);
}

fn kept(body: &str) -> KeptBody {
    KeptBody::new(body.to_string(), 1)
}

#[test]
fn identical_answers_are_not_decoded_again() {
    let (a, b) = (r#"{"hosts":[1]}"#, r#"{"hosts":[2]}"#);
    let r = registry();
    r.add(&target(), listener()).unwrap();
    let (jobs, _) = r.take_due(Instant::now());
    assert!(!r.unchanged(&jobs[0], a), "nothing taken yet");
    r.complete(&jobs[0], Ok((list(&[1]), kept(a))), HOLD);
    r.finish(&jobs[0]);
    let (jobs, _) = r.take_due(Instant::now() + Duration::from_secs(3600));
    assert!(r.unchanged(&jobs[0], a));
    assert!(!r.unchanged(&jobs[0], b));
    r.finish(&jobs[0]);
    // A new listener needs its initial event: decode again.
    r.add(&target(), listener()).unwrap();
    let (jobs, _) = r.take_due(Instant::now());
    assert!(!r.unchanged(&jobs[0], a));
}

#[test]
fn an_unchanged_answer_keeps_the_servers_advised_interval() {
    let c = ClientBuilder::default()
        .server_addr("127.0.0.1")
        .into_settings()
        .unwrap();
    let r = Registry::new(&c); // no poll_interval: follow cacheMillis
    r.add(&target(), listener()).unwrap();
    let mut info = list(&[1]);
    info.cache_millis = 2000;
    let body = r#"{"hosts":[1]}"#;
    let (jobs, _) = r.take_due(Instant::now());
    r.complete(&jobs[0], Ok((info, kept(body))), HOLD);
    r.finish(&jobs[0]);
    let (jobs, _) = r.take_due(Instant::now() + Duration::from_secs(3600));
    let before = Instant::now();
    assert!(r.unchanged(&jobs[0], body));
    r.finish(&jobs[0]);
    let (_, next) = r.take_due(before);
    let wait = next.unwrap() - before;
    // 2 s give or take 10%, not the 10 s default.
    assert!(wait <= Duration::from_millis(2300), "{wait:?}");
}

#[test]
fn the_scheduler_is_woken_only_for_what_falls_due_before_it_looks() {
    let r = registry(); // polls every 100 ms
    r.add(&target(), listener()).unwrap();
    let (jobs, next) = r.take_due(Instant::now());
    assert_eq!((jobs.len(), next), (1, None));
    r.complete(&jobs[0], Ok((list(&[1]), kept("{}"))), HOLD);
    // Nothing else queued: the scheduler waits for no time, so it
    // must hear of the next poll.
    assert!(r.finish(&jobs[0]));
    let other = Target {
        clusters: vec!["c".into()],
        ..target()
    };
    r.add(&other, listener()).unwrap();
    let (jobs, next) = r.take_due(Instant::now());
    assert_eq!(jobs.len(), 1);
    assert!(next.is_some(), "the first entry's next poll is planned");
    r.complete(&jobs[0], Ok((list(&[1]), kept("{}"))), HOLD);
    // Due about 100 ms from now, after the first entry: no wake-up
    // unless it comes first (the jitter decides).
    let (first, second) = (next.unwrap(), r.lock().entries[&other].next_due);
    assert_eq!(r.finish(&jobs[0]), second < first);
    // Both come due, each once.
    let (jobs, _) = r.take_due(Instant::now() + Duration::from_secs(1));
    assert_eq!(jobs.len(), 2);
    let (jobs, next) = r.take_due(Instant::now() + Duration::from_secs(1));
    assert_eq!((jobs.len(), next), (0, None));
}

#[test]
fn errors_back_off_and_cache_filters_clusters() {
    let r = registry();
    r.add(&target(), listener()).unwrap();
    let mut info = list(&[1]);
    info.hosts
        .push(Instance::builder("10.0.0.2", 1).cluster("z").build());
    poll(&r, Ok(info));
    let z = Target {
        clusters: vec!["z".into()],
        ..target()
    };
    let z = r.cached(&z).unwrap();
    assert_eq!(z.hosts.len(), 1);
    assert_eq!(z.hosts[0].cluster_name, "z");
    // Backoff: the interval (100 ms), then twice it, never more.
    let interval = Duration::from_millis(100);
    for failures in 1..=10u32 {
        let before = Instant::now();
        poll(&r, Err(Error::Shutdown));
        let after = Instant::now();
        let (_, next) = r.take_due(before);
        let next = next.unwrap();
        let cap = interval * failures.min(BACKOFF_CAP);
        assert!(next <= after + cap, "{failures}: {:?}", next - before);
        // Jittered by up to 10% below.
        assert!(
            next >= before + cap.mul_f64(0.9),
            "{failures}: {:?}",
            next - before
        );
    }
}

#[test]
fn a_success_revives_failing_entries_at_once() {
    let r = registry();
    let other = Target {
        service: ServiceKey::new("", "G", "other"),
        clusters: Vec::new(),
    };
    r.add(&target(), listener()).unwrap();
    r.add(&other, listener()).unwrap();
    let (jobs, _) = r.take_due(Instant::now());
    assert_eq!(jobs.len(), 2);
    let body = || KeptBody::new(format!("{{\"n\":{}}}", crate::util::random_u64()), 1);
    // Both fail; one succeeds on its next try: the other is due now.
    for job in &jobs {
        r.complete(job, Err(Error::Shutdown), HOLD);
        r.finish(job);
    }
    assert!(!r.state(&target()).unwrap().is_ok());
    let (first, _) = r.take_due(Instant::now() + Duration::from_millis(150));
    let ok = first
        .iter()
        .find(|j| *j.target == target())
        .unwrap()
        .clone();
    let failing = first.iter().find(|j| *j.target == other).unwrap().clone();
    r.complete(&failing, Err(Error::Shutdown), HOLD);
    r.finish(&failing);
    r.complete(&ok, Ok((list(&[1]), body())), HOLD);
    assert!(r.finish(&ok), "the scheduler is woken");
    let (now, _) = r.take_due(Instant::now());
    assert_eq!(now.len(), 1);
    assert_eq!(*now[0].target, other);
    assert!(r.state(&target()).unwrap().is_ok());
}

#[test]
fn before_the_first_poll_the_state_is_not_ok() {
    let r = registry();
    r.add(&target(), listener()).unwrap();
    let s = r.state(&target()).unwrap();
    assert!(!s.is_ok() && s.instances.is_none(), "{s:?}");
}

#[test]
fn a_first_poll_that_fails_serves_the_list_kept_on_disk() {
    let dir = std::env::temp_dir().join(format!("nb-subdisk-{}", crate::util::random_u64()));
    let c = ClientBuilder::default()
        .server_addr("127.0.0.1")
        .cache_dir(&dir)
        .into_settings()
        .unwrap();
    disk_cache::store(&dir, &target().service, &list(&[1, 2]));
    let r = Registry::new(&c);
    r.add(&target(), listener()).unwrap();
    assert_eq!(poll(&r, Err(Error::Shutdown)), vec![(true, 2, 0)]);
    let s = r.state(&target()).unwrap();
    assert!(!s.is_ok() && s.instances == Some(2), "{s:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
