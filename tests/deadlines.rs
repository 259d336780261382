//! Calls keep the caller's deadline even when a background request of the
//! same instance is stuck. A fake server, because no real one stalls only
//! heartbeats on demand.

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient};
use support::fake::{ok, read_request, FakeServer};

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

/// A loopback server that answers registrations at once and drips every
/// heartbeat's answer: the status line and headers a byte at a time over
/// `headers_over`, then the body a byte every 20 ms for as long as the
/// client reads. It reports, per beat, how long the client kept the
/// connection from the request's end until it closed it.
fn dripping_server(headers_over: Duration) -> (String, crossbeam_channel::Receiver<Duration>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || loop {
                let Some((head, _)) = read_request(&mut stream) else {
                    return;
                };
                if !head.starts_with("PUT /nacos/v1/ns/instance/beat") {
                    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                    if stream.write_all(answer).is_err() {
                        return;
                    }
                    continue;
                }
                let started = Instant::now();
                let headers = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
                let pause = headers_over / headers.len() as u32;
                let closed = headers
                    .iter()
                    .chain(std::iter::repeat(&b' '))
                    .enumerate()
                    .any(|(i, b)| {
                        std::thread::sleep(if i < headers.len() {
                            pause
                        } else {
                            Duration::from_millis(20)
                        });
                        stream.write_all(&[*b]).is_err()
                    });
                if closed {
                    // The write that fails follows the client's close by
                    // one or two pauses of 20 ms.
                    let _ = tx.send(started.elapsed());
                }
                return;
            });
        }
    });
    (addr, rx)
}

/// A background request (here a heartbeat) to a server given as an IP
/// address bounds each phase by its budget rather than the whole request,
/// which spares ureq's lookup thread per beat (`transport/attempt.rs`). A
/// server slow in two phases (headers and body, each just under the
/// budget) can therefore hold a beat for up to about twice its budget,
/// never longer: this pins that bound.
#[test]
fn a_beat_to_a_server_slow_in_two_phases_ends_within_twice_its_budget() {
    let budget = Duration::from_secs(1);
    let (addr, beats) = dripping_server(budget / 2);
    let client = NacosClient::builder()
        .server_addr(addr)
        .timeout(budget)
        .retries(0)
        .disk_cache(false)
        .build()
        .unwrap();
    let me = Instance::builder("10.9.2.2", 7000)
        .metadata("preserved.heart.beat.interval", "200")
        .build();
    client.register_instance("two-phase", &me).unwrap();
    let held = beats
        .recv_timeout(Duration::from_secs(10))
        .expect("a beat reached the dripping server and was given up");
    // Headers at half the budget, then the body's own budget: about 1.5
    // s here, and the server notices the close a write or two later.
    assert!(
        held <= budget * 2 + Duration::from_millis(500),
        "a beat was held {held:?} with a budget of {budget:?}"
    );
    // Each phase had a budget of its own (a whole-request timeout would
    // have ended the beat at 1 s): the background path was taken.
    assert!(
        held >= budget + Duration::from_millis(300),
        "a beat was held {held:?}: not bounded per phase"
    );
    // The client records the failure once the beat returns.
    let failed = || {
        client
            .heartbeat_state("two-phase", &me)
            .is_some_and(|s| s.consecutive_failures >= 1)
    };
    assert!(
        support::eventually(Duration::from_secs(5), failed),
        "{:?}",
        client.heartbeat_state("two-phase", &me)
    );
    client.shutdown().unwrap();
}
