//! Watch a group's service catalog: print every service that appears or
//! leaves (matching a glob pattern) until Ctrl-C, or for a few seconds.
//!
//! `cargo run --example watch_services -- 127.0.0.1:8848 'order-*' [seconds]`

use std::time::{Duration, Instant};

use nacos_blocking::{NacosClient, ServiceQuery};

fn main() -> Result<(), nacos_blocking::Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8848".into());
    let pattern = args.next().unwrap_or_else(|| "*".into());
    let seconds: Option<u64> = args.next().and_then(|a| a.parse().ok());
    let client = NacosClient::builder().server_addr(addr).build()?;

    let query = ServiceQuery::new()
        .pattern(pattern.as_str())
        .every(Duration::from_millis(500));
    let catalog = client.watch_services(query)?;
    println!("watching services matching {pattern:?} (Ctrl-C to stop)");
    let end = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let wait = match end {
            Some(end) => end.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        if wait.is_zero() {
            break;
        }
        let Ok(event) = catalog.recv_timeout(wait) else {
            continue;
        };
        if event.initial {
            let now: Vec<&str> = event.services.iter().map(|s| s.name.as_str()).collect();
            println!("now: {now:?}");
            continue;
        }
        for s in &event.added {
            println!("+ {} ({})", s.name, s.group);
        }
        for s in &event.removed {
            println!("- {} ({})", s.name, s.group);
        }
    }
    client.shutdown()
}
