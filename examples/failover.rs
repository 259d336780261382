//! The naming failover switch, as an operator uses it: while the registry
//! is in trouble, freeze what clients see of a service by writing its list
//! under the cache dir's `failover/` and turning the switch on (the Java
//! client's layout, so the same files serve Java clients too).
//!
//! `cargo run --example failover -- 127.0.0.1:8848`

use std::path::Path;
use std::time::Duration;

use nacos_blocking::{Instance, NacosClient, DEFAULT_GROUP};

/// Java's `UtilAndComs.FAILOVER_SWITCH`.
const SWITCH: &str = "00-00---000-VIPSRV_FAILOVER_SWITCH-000---00-00";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8848".into());
    let cache = std::env::temp_dir().join(format!("nacos-failover-demo-{}", std::process::id()));
    let client = NacosClient::builder()
        .server_addr(addr)
        .cache_dir(&cache)
        .build()?;
    let service = "failover-demo";
    let (a, b) = (
        Instance::new("127.0.0.1", 9461),
        Instance::new("127.0.0.1", 9462),
    );
    client.register_instance(service, &a)?;
    client.register_instance(service, &b)?;
    let now = client.list_instances(service)?;
    println!("the server lists {} instances", now.hosts.len());

    // The operator: this service's list into its failover file, then the
    // switch on.
    let failover = cache.join("failover");
    std::fs::create_dir_all(&failover)?;
    let file = failover.join(format!("{DEFAULT_GROUP}%40%40{service}"));
    std::fs::write(&file, serde_json::to_string(&now)?)?;
    write_switch(&failover, "1")?;
    std::thread::sleep(Duration::from_millis(1200)); // read once a second

    client.deregister_instance(service, &b)?;
    let frozen = client.list_instances(service)?;
    println!(
        "failover on ({}): {} instances, from the file, though one left",
        client.naming_failover_active(),
        frozen.hosts.len()
    );

    write_switch(&failover, "0")?;
    std::thread::sleep(Duration::from_millis(1200));
    let live = client.list_instances(service)?;
    println!(
        "failover off ({}): {} instance, from the server",
        client.naming_failover_active(),
        live.hosts.len()
    );

    client.deregister_instance(service, &a)?;
    client.shutdown()?;
    std::fs::remove_dir_all(&cache)?;
    Ok(())
}

fn write_switch(dir: &Path, on: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(SWITCH), format!("{on}\n"))
}
