//! The README's first example, as a newcomer writes it: owned `String`s,
//! a `Vec<String>` of clusters, and an event's key passed straight back
//! into a call. Compiled in CI (`cargo test --all-targets` builds every
//! example); run it against a server with `cargo run --example first_program`.

use nacos_blocking::{ConfigEvent, Instance, NacosClient, ServiceEvent, ServiceName};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = NacosClient::new("127.0.0.1:8848")?;

    // Register: heartbeats keep the instance alive in the background.
    let service = String::from("orders");
    client.register_instance(
        &service,
        &Instance::builder("10.0.0.7", 8080).weight(2.0).build(),
    )?;

    // Look up: every instance, healthy ones, one picked by weight, (host, port) pairs.
    let zones: Vec<String> = vec!["zone-a".into(), "zone-b".into()];
    let in_zones = client.list_healthy_instances(ServiceName::new(&service).clusters(zones))?;
    let one = client.select_one_healthy_instance(&service)?;
    let pairs: Vec<(String, u16)> = client.discover(&service)?;
    println!(
        "{} in zones; calling {}; all: {pairs:?}",
        in_zones.hosts.len(),
        one.addr()
    );

    // Watch: the first event is the current list, then one event per change.
    let changes = client.watch(&service)?;
    let now: ServiceEvent = changes.recv()?;
    println!("{} instances of {}", now.instances.len(), now.service);
    let again = client.list_instances(&now.service)?; // an event's key goes straight back in

    // Configs: publish, read, and listen with a closure (or a channel sender).
    client.publish_config(("app.yaml", "shop"), "greeting: hello")?;
    let text: Option<String> = client.get_config(("app.yaml", "shop"))?;
    let listener = client.subscribe_config(("app.yaml", "shop"), |event: &ConfigEvent| {
        println!("{} is now {:?}", event.data_id(), event.content);
    })?; // dropping `listener` unsubscribes; `.detach()` keeps it
    println!("{} instances; config {text:?}", again.hosts.len());

    drop(listener);
    client.deregister_instance(&service, &Instance::new("10.0.0.7", 8080))?;
    client.shutdown()?;
    Ok(())
}
