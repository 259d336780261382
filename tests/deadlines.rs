//! Calls keep the caller's deadline even when a background request of the
//! same instance is stuck. A fake server, because no real one stalls only
//! heartbeats on demand.

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient};
use support::fake::{ok, FakeServer};

#[test]
fn deregister_keeps_its_deadline_with_a_beat_stuck_on_the_wire() {
    // Registrations and removals are answered; heartbeats never are.
    let server = FakeServer::start(|head| {
        if head.starts_with("PUT /nacos/v1/ns/instance/beat") {
            None
        } else {
            Some(ok("ok"))
        }
    });
    let deadline = Duration::from_secs(2);
    let client = NacosClient::builder()
        .server_addr(server.addr())
        .timeout(deadline)
        .retries(0)
        .disk_cache(false)
        .build()
        .unwrap();
    let me = Instance::builder("10.9.2.1", 7000)
        .metadata("preserved.heart.beat.interval", "100")
        .build();
    client.register_instance("stuck-beats", &me).unwrap();
    // The first beat goes out 100 ms later and hangs.
    std::thread::sleep(Duration::from_millis(400));
    let state = client.heartbeat_state("stuck-beats", &me).unwrap();
    assert!(
        state.last_attempt.is_none(),
        "a beat is on the wire: {state:?}"
    );

    let t = Instant::now();
    client.deregister_instance("stuck-beats", &me).unwrap();
    let took = t.elapsed();
    assert!(
        took <= deadline + Duration::from_millis(200),
        "deregister took {took:?} with a deadline of {deadline:?}"
    );
    assert!(client.heartbeat_state("stuck-beats", &me).is_none());
    let t = Instant::now();
    client.shutdown().unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}

/// A timeout says the caller's deadline in human units, not one server's
/// share of it in `Debug` format (`timed out after 1.877023176s`).
#[test]
fn a_timeout_names_the_calls_deadline() {
    let a = FakeServer::stalling();
    let b = FakeServer::stalling();
    let c = NacosClient::builder()
        .server_addr(format!("{},{}", a.addr(), b.addr()))
        .api(nacos_blocking::Api::V1)
        .timeout(Duration::from_millis(1500))
        .disk_cache(false)
        .build()
        .unwrap();
    let e = c.list_instances("svc").unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("the call's deadline of 1.5 s"), "{text}");
    c.shutdown().unwrap();
}
