//! Heartbeats: many ephemeral instances registered on one client, beating
//! in the background for a fixed window.
//!
//! `heartbeat ours <addr> <service> <instances> <interval_ms> <warmup_s> <window_s> <port base>`
//!
//! The client talks to r-nacos through the counting proxy (`proxy.rs`),
//! which records every beat the server receives; this process reports its
//! own side: the window (epoch µs, for the proxy's count), CPU over the
//! window, and threads and RSS at its end. Every instance carries
//! `preserved.heart.beat.interval` = the interval, and the builder's
//! `heartbeat_interval` is the same: r-nacos answers every beat with
//! `clientBeatInterval` 5000, which would otherwise replace the builder's
//! interval after the first beat. The Python v1 client gets the same
//! interval (`contenders/python_v1_heartbeat.py`).
//!
//! There is no bare-ureq floor here: a floor for "beat N instances on
//! time" would itself be a heartbeat scheduler.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nacos_blocking::{Instance, NacosClient};

use crate::measure::Span;

/// The IP every heartbeat instance gets (ports vary).
const IP: &str = "10.4.0.1";

pub fn epoch_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

pub fn run(args: &[String]) -> Result<(), String> {
    let [contender, addr, service, n, interval_ms, warmup_s, window_s, base] = args else {
        return Err("expected ours <addr> <service> <instances> <interval_ms> <warmup_s> <window_s> <port base>".into());
    };
    if contender != "ours" {
        return Err(format!("unknown contender {contender}"));
    }
    let num = |s: &str, what: &str| s.parse::<u64>().map_err(|e| format!("{what}: {e}"));
    let (n, interval_ms, warmup_s, window_s, base) = (
        num(n, "instances")?,
        num(interval_ms, "interval_ms")?,
        num(warmup_s, "warmup_s")?,
        num(window_s, "window_s")?,
        num(base, "port base")?,
    );
    if base + n > u16::MAX as u64 {
        return Err("port base + instances must stay below 65536".into());
    }
    let client = NacosClient::builder()
        .server_addr(addr.as_str())
        .heartbeat_interval(Duration::from_millis(interval_ms))
        .build()
        .map_err(|e| e.to_string())?;
    let threads_before = crate::measure::proc_status("Threads");
    let reg = Span::start();
    for i in 0..n {
        let inst = Instance::builder(IP, (base + i) as u16)
            .metadata("preserved.heart.beat.interval", interval_ms.to_string())
            .build();
        client
            .register_instance(service.as_str(), &inst)
            .map_err(|e| e.to_string())?;
    }
    let reg = reg.stop();
    std::thread::sleep(Duration::from_secs(warmup_s));
    let from_us = epoch_us();
    let span = Span::start();
    std::thread::sleep(Duration::from_secs(window_s));
    let to_us = epoch_us();
    let sample = span.stop();
    let states = client.heartbeat_states();
    let failing = states.iter().filter(|s| !s.is_ok()).count();
    let never = states.iter().filter(|s| s.last_success.is_none()).count();
    println!(
        "{{\"contender\":\"ours\",\"instances\":{n},\"interval_ms\":{interval_ms},\"beating\":{},\"failing\":{failing},\"never_ok\":{never},\"register_s\":{:.3},\"threads_before\":{threads_before},\"from_us\":{from_us},\"to_us\":{to_us},{}}}",
        states.len(),
        reg.wall_s,
        sample.json_fields()
    );
    // Leave the instances to expire on the server: the next run uses
    // another service.
    std::process::exit(0);
}
