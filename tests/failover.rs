//! Failover, retries and deadlines: dead servers, stalled servers, broken
//! answers, and the real server behind them.

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::{Api, Error, Instance, NacosClient};
use support::fake::{ok, FakeServer};
use support::{free_port, unique, RNacos};

#[test]
fn a_closed_port_before_a_live_server_is_skipped() {
    let live = RNacos::shared();
    let list = format!("127.0.0.1:{},{}", free_port(), live.addr());
    // Several clients: each starts at a random server.
    for _ in 0..6 {
        let c = NacosClient::builder()
            .server_addr(list.as_str())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let svc = unique("fo");
        c.register_instance(
            svc.as_str(),
            &Instance::builder("10.9.0.1", 1).ephemeral(false).build(),
        )
        .unwrap();
        assert_eq!(c.list_instances(svc.as_str()).unwrap().hosts.len(), 1);
        assert_eq!(c.server_status().unwrap(), "UP");
    }
}

#[test]
fn only_dead_servers_fail_within_the_deadline_naming_them() {
    let (p1, p2) = (free_port(), free_port());
    let deadline = Duration::from_secs(2);
    let c = NacosClient::builder()
        .server_addr(format!("127.0.0.1:{p1},127.0.0.1:{p2}"))
        .timeout(deadline)
        .build()
        .unwrap();
    let t = Instant::now();
    let e = c.list_healthy_instances("svc").unwrap_err();
    assert!(
        t.elapsed() <= deadline + Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    match &e {
        Error::AllServersFailed { tried, .. } => {
            assert!(tried.contains(&format!("127.0.0.1:{p1}")), "{tried:?}");
            assert!(tried.contains(&format!("127.0.0.1:{p2}")), "{tried:?}");
        }
        other => panic!("expected AllServersFailed, got {other:?}"),
    }
    assert!(e.is_unavailable());
    let text = e.to_string();
    assert!(
        text.contains(&p1.to_string()) && text.contains(&p2.to_string()),
        "{text}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_within_the_deadline() {
    let stall = FakeServer::stalling();
    let deadline = Duration::from_millis(1500);
    let c = NacosClient::builder()
        .server_addr(stall.addr())
        .timeout(deadline)
        .build()
        .unwrap();
    let t = Instant::now();
    let e = c.list_healthy_instances("svc").unwrap_err();
    let took = t.elapsed();
    assert!(e.is_timeout(), "{e:?}");
    assert!(took <= deadline + Duration::from_millis(500), "{took:?}");
    assert!(took >= deadline - Duration::from_millis(100), "{took:?}");
    assert!(stall.connections() >= 1);
}

#[test]
fn a_stalled_server_leaves_time_for_a_live_one() {
    let stall = FakeServer::stalling();
    let live = RNacos::shared();
    let c = NacosClient::builder()
        .server_addr(format!("{},{}", stall.addr(), live.addr()))
        .timeout(Duration::from_secs(4))
        .build()
        .unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(c.server_status().unwrap(), "UP");
        assert!(t.elapsed() < Duration::from_secs(4));
    }
}

#[test]
fn server_errors_fail_over_and_client_errors_do_not() {
    let broken = FakeServer::start(|_| {
        Some("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\n\r\nstarting".into())
    });
    let live = RNacos::shared();
    let c = NacosClient::builder()
        .server_addr(format!("{},{}", broken.addr(), live.addr()))
        .build()
        .unwrap();
    for _ in 0..4 {
        assert_eq!(c.server_status().unwrap(), "UP");
    }

    let bad_request = FakeServer::start(|_| {
        Some("HTTP/1.1 400 Bad Request\r\nContent-Length: 13\r\n\r\nbad parameter".into())
    });
    // Counting requests: the API is fixed, so no probe comes first.
    let c = NacosClient::builder()
        .server_addr(bad_request.addr())
        .api(Api::V1)
        .retries(3)
        .build()
        .unwrap();
    let e = c.server_status().unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");
    assert!(e.to_string().contains("bad parameter"), "{e}");
    assert_eq!(bad_request.requests(), 1, "a 400 must not be retried");
}

#[test]
fn a_single_server_is_retried_and_its_message_surfaces() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let flaky = FakeServer::start(move |_| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(if n < 2 {
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom".into()
        } else {
            ok(r#"{"status":"UP"}"#)
        })
    });
    // Counting requests: the API is fixed, so no probe comes first.
    let c = NacosClient::builder()
        .server_addr(flaky.addr())
        .api(Api::V1)
        .retries(2)
        .build()
        .unwrap();
    assert_eq!(c.server_status().unwrap(), "UP");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);

    let always = FakeServer::start(|_| {
        Some(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 19\r\n\r\nserviceName invalid"
                .into(),
        )
    });
    let c = NacosClient::builder()
        .server_addr(always.addr())
        .retries(1)
        .build()
        .unwrap();
    let e = c.server_status().unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(e.to_string().contains("serviceName invalid"), "{e}");
}

#[test]
fn garbage_and_oversized_answers_are_errors() {
    let garbage = FakeServer::answering("<html>not json</html>");
    let c = NacosClient::new(&garbage.addr()).unwrap();
    let e = c.list_healthy_instances("svc").unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("instance list"), "{e}");

    let huge = FakeServer::start(|_| Some(ok(&"x".repeat(64 * 1024))));
    let c = NacosClient::builder()
        .server_addr(huge.addr())
        .max_response_bytes(4096)
        .retries(0)
        .build()
        .unwrap();
    let e = c.server_status().unwrap_err();
    assert!(e.to_string().to_lowercase().contains("limit"), "{e:?}");
}

#[test]
fn the_address_server_supplies_the_list() {
    let live = RNacos::shared();
    let body: &'static str = Box::leak(format!("{}\n", live.addr()).into_boxed_str());
    let address_server = FakeServer::start(move |head| {
        assert!(head.starts_with("GET /nacos/serverlist "), "{head}");
        Some(ok(body))
    });
    let c = NacosClient::builder()
        .endpoint(address_server.addr())
        .endpoint_refresh(Duration::from_millis(200))
        .build()
        .unwrap();
    assert_eq!(c.server_status().unwrap(), "UP");
    // It is asked again periodically.
    assert!(support::eventually(Duration::from_secs(3), || {
        address_server.requests() >= 3
    }));
    c.shutdown().unwrap();
}
