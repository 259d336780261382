//! Watch a service: print every change of its instances until Ctrl-C.
//!
//! `cargo run --example watch -- 127.0.0.1:8848 orders`

use std::time::Duration;

use nacos_blocking::NacosClient;

fn main() -> Result<(), nacos_blocking::Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8848".into());
    let service = args.next().unwrap_or_else(|| "quickstart-orders".into());
    let client = NacosClient::builder()
        .server_addr(addr)
        .poll_interval(Duration::from_secs(1))
        .build()?;

    let watcher = client.watch(&service)?;
    println!("watching {service}; change it from another client (Ctrl-C to stop)");
    for event in &watcher {
        let label = if event.initial { "now" } else { "change" };
        println!("{label}: {} instances", event.instances.len());
        for h in &event.added {
            println!("  + {} weight={}", h.addr(), h.weight);
        }
        for h in &event.modified {
            println!("  ~ {} weight={} healthy={}", h.addr(), h.weight, h.healthy);
        }
        for h in &event.removed {
            println!("  - {}", h.addr());
        }
    }
    Ok(())
}
