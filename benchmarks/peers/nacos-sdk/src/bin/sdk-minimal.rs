//! The smallest useful program with `nacos-sdk`: register one instance and
//! list the service. Built only to measure binary size.

use nacos_sdk::api::naming::{NamingServiceBuilder, ServiceInstance};
use nacos_sdk::api::props::ClientProps;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8848".into());
    let naming = NamingServiceBuilder::new(ClientProps::new().server_addr(addr))
        .build()
        .await?;
    let inst = ServiceInstance {
        ip: "10.0.0.7".into(),
        port: 8080,
        ..Default::default()
    };
    naming
        .register_instance("orders".into(), None, inst)
        .await?;
    let all = naming
        .get_all_instances("orders".into(), None, Vec::new(), false)
        .await?;
    println!("{} instances", all.len());
    Ok(())
}
