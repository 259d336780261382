//! A client's own numbers: register an instance, watch its service and a
//! config, change the config now and then, and print `client.metrics()`
//! every few seconds.
//!
//! `cargo run --example metrics -- 127.0.0.1:8848 [rounds] [seconds]`
//! (rounds 0, the default: until Ctrl-C; every 5 s)

use std::time::Duration;

use nacos_blocking::metrics::Operation;
use nacos_blocking::{Instance, NacosClient};

fn main() -> Result<(), nacos_blocking::Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8848".into());
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let every: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let client = NacosClient::builder()
        .server_addr(addr)
        .poll_interval(Duration::from_secs(1))
        .build()?;

    let me = Instance::builder("127.0.0.1", 9451)
        .metadata("preserved.heart.beat.interval", "1000")
        .build();
    client.register_instance("metrics-demo", &me)?;
    let _service = client.watch("metrics-demo")?;
    client.publish_config("metrics-demo.properties", "round=0")?;
    let _config = client.watch_config("metrics-demo.properties")?;

    let mut round = 0u64;
    loop {
        round += 1;
        std::thread::sleep(Duration::from_secs(every));
        client.publish_config("metrics-demo.properties", format!("round={round}"))?;
        let m = client.metrics();
        println!("--- round {round}\n{m}");
        if let Some(beats) = m.operation(Operation::Beat) {
            if beats.failures.total() > 0 {
                println!(
                    "! {} of {} beats failed",
                    beats.failures.total(),
                    beats.calls
                );
            }
        }
        if rounds != 0 && round >= rounds {
            break;
        }
    }
    client.deregister_instance("metrics-demo", &me)?;
    client.shutdown()
}
