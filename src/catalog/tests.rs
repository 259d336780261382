//! Unit tests of the catalog watch.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;

use super::*;
use crate::builder::ClientBuilder;

thread_local! {
    /// Pages [`fetch`] decoded on this thread.
    pub(super) static DECODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn decoded() -> usize {
    DECODED.with(|n| n.get())
}

fn ctx() -> Arc<Context> {
    Context::new(
        ClientBuilder::default()
            .server_addr("127.0.0.1:1")
            .into_settings()
            .unwrap(),
    )
}

#[test]
fn a_query_is_checked_before_any_request() {
    let c = ctx();
    let e = Resolved::new(ServiceQuery::new().pattern("order-["), &c)
        .err()
        .unwrap();
    assert!(e.to_string().contains("pattern"), "{e}");
    let e = Resolved::new(ServiceQuery::new().group("a b"), &c)
        .err()
        .unwrap();
    assert!(e.to_string().contains("group"), "{e}");
    let e = Resolved::new(ServiceQuery::new().every(Duration::from_millis(10)), &c)
        .err()
        .unwrap();
    assert!(e.to_string().contains("100 ms"), "{e}");
    // No server was tried.
    assert!(c.metrics.snapshot().servers.is_empty());
}

#[test]
fn patterns_match_as_globs() {
    let c = ctx();
    let q = Resolved::new(ServiceQuery::new().pattern("order-*"), &c).unwrap();
    assert!(q.matches("order-api") && q.matches("order-") && !q.matches("orders"));
    let q = Resolved::new(ServiceQuery::new().pattern("svc-?[0-9]"), &c).unwrap();
    assert!(q.matches("svc-a1") && !q.matches("svc-a") && !q.matches("svc-ab"));
    let all = Resolved::new(ServiceQuery::new(), &c).unwrap();
    assert!(all.matches("anything"));
    assert_eq!(all.interval, DEFAULT_INTERVAL);
}

/// A loopback v1 server answering every service-list request with the next
/// of `bodies` (the last one again once they run out), counting them.
fn answering(bodies: Vec<&'static str>) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = Arc::new(Mutex::new(0usize));
    let count = served.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(|s| s.ok()) {
            let (bodies, count) = (bodies.clone(), count.clone());
            std::thread::spawn(move || loop {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                // The client's first contact asks which API the server
                // speaks: a v1 server's metrics, and no v3 state.
                let (status, body) = if head.starts_with("GET /nacos/v1/ns/service/list") {
                    let mut n = count.lock().unwrap();
                    *n += 1;
                    ("200 OK", bodies[(*n - 1).min(bodies.len() - 1)])
                } else if head.starts_with("GET /nacos/v1/ns/operator/metrics") {
                    ("200 OK", r#"{"status":"UP"}"#)
                } else {
                    ("404 Not Found", "")
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            });
        }
    });
    (addr, served)
}

/// A round whose pages are byte for byte the last round's decodes nothing
/// and reports nothing; when a later page changed, the pages skipped before
/// it are decoded too.
#[test]
fn an_unchanged_catalog_is_not_decoded() {
    // Two pages (1,000 services claimed at 500 a page), three rounds.
    let (p1, p2) = (
        r#"{"count":1000,"doms":["a"]}"#,
        r#"{"count":1000,"doms":["b"]}"#,
    );
    let p2_changed = r#"{"count":1000,"doms":["c"]}"#;
    let (addr, served) = answering(vec![p1, p2, p1, p2, p1, p2_changed]);
    let c = Context::new(
        ClientBuilder::default()
            .server_addr(addr)
            .disk_cache(false)
            .into_settings()
            .unwrap(),
    );
    let q = Resolved::new(ServiceQuery::new().group("G"), &c).unwrap();
    let names = |services: &[ServiceKey]| -> Vec<String> {
        services.iter().map(|s| s.name.clone()).collect()
    };
    let (pages, services) = fetch(&c, &q, &[]).unwrap().expect("a first round decodes");
    assert_eq!(names(&services), ["a", "b"]);
    assert_eq!(services[0], ServiceKey::new("", "G", "a"));
    assert_eq!(pages, [p1, p2]);
    assert_eq!(decoded(), 2);
    assert!(
        fetch(&c, &q, &pages).unwrap().is_none(),
        "the same bytes again"
    );
    assert_eq!(decoded(), 2, "an unchanged round decodes nothing");
    let (pages, services) = fetch(&c, &q, &pages)
        .unwrap()
        .expect("a changed page decodes");
    assert_eq!(names(&services), ["a", "c"]);
    assert_eq!(pages, [p1, p2_changed]);
    // The first page, skipped while it was the same, then the second.
    assert_eq!(decoded(), 4);
    assert_eq!(*served.lock().unwrap(), 6);
}
