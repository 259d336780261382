//! Register an instance, list it, pick one by weight, deregister it.
//!
//! `cargo run --example quickstart -- 127.0.0.1:8848` (or set `NACOS_SERVER_ADDR`).

use nacos_blocking::{Instance, NacosClient};

fn main() -> Result<(), nacos_blocking::Error> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("NACOS_SERVER_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8848".to_string());
    let client = NacosClient::new(&addr)?;
    println!("server {addr} says {}", client.server_status()?);

    let service = "quickstart-orders";
    for (port, weight) in [(8080, 1.0), (8081, 3.0)] {
        let instance = Instance::builder("127.0.0.1", port)
            .weight(weight)
            .metadata("version", "1.0")
            .ephemeral(false)
            .build();
        client.register_instance(service, &instance)?;
        println!("registered 127.0.0.1:{port} (weight {weight})");
    }

    let info = client.list_healthy_instances(service)?;
    println!("{} has {} healthy instances:", info.name, info.hosts.len());
    for h in &info.hosts {
        println!(
            "  {} weight={} metadata={:?}",
            h.addr(),
            h.weight,
            h.metadata
        );
    }

    let picked = client.select_one_healthy_instance(service)?;
    println!("selected by weight: {}", picked.addr());
    println!("discover: {:?}", client.discover(service)?);

    for port in [8080, 8081] {
        client.deregister_instance(
            service,
            &Instance::builder("127.0.0.1", port)
                .ephemeral(false)
                .build(),
        )?;
    }
    println!(
        "after deregistering: {} instances",
        client.list_instances(service)?.hosts.len()
    );
    Ok(())
}
