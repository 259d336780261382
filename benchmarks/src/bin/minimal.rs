//! The smallest useful program with `nacos-blocking`: register one instance
//! and list the service. Built only to measure binary size.

use nacos_blocking::{Instance, NacosClient};

fn main() -> Result<(), nacos_blocking::Error> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8848".into());
    let client = NacosClient::new(&addr)?;
    client.register_instance("orders", &Instance::new("10.0.0.7", 8080))?;
    let info = client.list_instances("orders")?;
    println!("{} instances", info.hosts.len());
    Ok(())
}
