use super::*;

#[test]
fn operations_are_listed_in_order_and_named_once() {
    for (i, op) in Operation::ALL.iter().enumerate() {
        assert_eq!(op.index(), i);
    }
    let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Operation::ALL.len());
}

#[test]
fn failures_are_counted_by_kind_and_shutdown_not_at_all() {
    let r = Recorder::default();
    let ms = Duration::from_millis(3);
    r.call(Operation::Register, ms, Ok(()));
    let timeout = Error::Timeout {
        deadline: ms,
        server: None,
    };
    r.call(Operation::Register, ms, Err(&timeout));
    let status = Error::Status {
        status: 500,
        body: String::new(),
        server: "s".into(),
    };
    r.call(Operation::Register, ms, Err(&status));
    r.call(Operation::Register, ms, Err(&Error::Shutdown));
    let m = r.snapshot();
    let reg = m.operation(Operation::Register).unwrap();
    assert_eq!(reg.calls, 3);
    assert_eq!(reg.failures.timeout, 1);
    assert_eq!(reg.failures.rejected, 1);
    assert_eq!(reg.failures.total(), 2);
    assert!(m.operation(Operation::Beat).is_none());
}

#[test]
fn queue_depth_follows_queued_merged_and_delivered() {
    let r = Recorder::default();
    r.queued(5);
    r.merged(3); // 3 became 1: 3 waiting
    r.delivered();
    let m = r.snapshot();
    assert_eq!(
        (m.events_queued, m.events_merged, m.events_delivered),
        (2, 2, 1)
    );
    r.unqueued(10);
    assert_eq!(r.snapshot().events_queued, 0);
}

#[test]
fn servers_count_failures_and_failovers() {
    let r = Recorder::default();
    r.request("a:8848", true);
    r.failover("a:8848");
    r.request("a:8848", false);
    r.request("b:8848", true);
    let m = r.snapshot();
    assert_eq!(
        m.servers,
        vec![
            ServerMetrics {
                server: "a:8848".into(),
                requests: 2,
                failures: 1,
                failovers: 1,
            },
            ServerMetrics {
                server: "b:8848".into(),
                requests: 1,
                failures: 1,
                failovers: 0,
            },
        ]
    );
    assert!(m.to_string().contains("server a:8848: 2 requests"));
}
