//! Publish a config, read it back, and print its changes for a while.
//!
//! `cargo run --example config -- 127.0.0.1:8848`

use std::time::{Duration, Instant};

use nacos_blocking::{NacosClient, Publish};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8848".into());
    let client = NacosClient::new(&addr)?;
    let key = ("example.properties", "DEFAULT_GROUP");

    client.publish_config(
        key,
        Publish::new("greeting=hello").config_type("properties"),
    )?;
    println!("published; read back: {:?}", client.get_config(key)?);

    let watcher = client.watch_config(key)?;
    // A watch starts with the content now, then reports each change.
    let now = watcher.recv()?;
    println!("watching; now: {:?}", now.content);
    client.publish_config(key, "greeting=hello again")?;
    let until = Instant::now() + Duration::from_secs(10);
    while let Ok(event) = watcher.recv_timeout(until.saturating_duration_since(Instant::now())) {
        match &event.content {
            Some(text) => println!("changed (md5 {}): {text}", event.md5),
            None => println!("removed"),
        }
        if event.content.is_none() {
            break;
        }
        client.remove_config(key)?;
    }
    Ok(())
}
