//! Subscriptions: many subscribed services on one client; the latency of
//! a notification for a change made by another process, and the idle cost.
//!
//! `subscribe ours <addr> <prefix> <services> <interval_ms> <idle_s> <changes> <max_wait_s>`
//! subscribes `<prefix>-0` .. `<prefix>-{services-1}` (`interval_ms` 0:
//! the client's default, which follows the server's `cacheMillis`, 10 s
//! on r-nacos), waits for every initial event and prints `{"ready":..}`;
//! then measures an idle window of `idle_s` (no changes) and prints
//! `{"idle":..}`; then waits until `changes` notifications arrived (or
//! `max_wait_s` passed) and prints `{"latencies_ms":[..],..}`.
//!
//! `subscribe ureq <addr> <prefix> <services> <interval_ms> <idle_s> ..`
//! is the idle-poll floor: the same polls through a bare ureq loop (see
//! [`idle_floor`]).
//!
//! `sub-driver <addr> <prefix> <services> <changes> <gap_ms>` is the other
//! process: change k registers a persistent instance (port 40000+k) in one
//! of the subscribed services, with metadata `t` = epoch µs taken just
//! before the request; a listener that sees the instance added records
//! `now - t` (both processes read CLOCK_REALTIME on the same machine).
//! `bench.py` starts the driver once the subscriber printed its idle line.
//! The Python v1 client runs the same protocol in
//! `contenders/python_v1_subscribe.py`.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient, ServiceEvent};

use super::heartbeat::epoch_us;
use crate::measure::Span;

fn nums(args: &[String], what: &[&str]) -> Result<Vec<u64>, String> {
    args.iter()
        .zip(what)
        .map(|(s, w)| s.parse::<u64>().map_err(|e| format!("{w}: {e}")))
        .collect()
}

/// Which service change `k` touches: spread over the subscribed ones.
pub fn target(k: u64, services: u64) -> u64 {
    (k * 7919) % services
}

pub fn run(args: &[String]) -> Result<(), String> {
    let [contender, addr, prefix, rest @ ..] = args else {
        return Err("expected ours <addr> <prefix> <services> <interval_ms> <idle_s> <changes> <max_wait_s>".into());
    };
    let v = nums(
        rest,
        &["services", "interval_ms", "idle_s", "changes", "max_wait_s"],
    )?;
    let [services, interval_ms, idle_s, changes, max_wait_s] = v[..] else {
        return Err("expected 5 numbers".into());
    };
    match contender.as_str() {
        "ours" => {}
        "ureq" => return idle_floor(addr, prefix, services, interval_ms, idle_s),
        other => return Err(format!("unknown contender {other}")),
    }
    let cache = std::env::temp_dir().join(format!("nbench-subscribe-{}", std::process::id()));
    let mut b = NacosClient::builder()
        .server_addr(addr.as_str())
        .cache_dir(&cache);
    if interval_ms > 0 {
        b = b.poll_interval(Duration::from_millis(interval_ms));
    }
    let client = b.build().map_err(|e| e.to_string())?;
    let threads_before = crate::measure::proc_status("Threads");
    let initial = Arc::new(AtomicUsize::new(0));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let setup = Span::start();
    for i in 0..services {
        let (initial, latencies) = (initial.clone(), latencies.clone());
        client
            .subscribe(format!("{prefix}-{i}"), move |ev: &ServiceEvent| {
                let now = epoch_us();
                if ev.initial {
                    initial.fetch_add(1, Ordering::Relaxed);
                }
                for inst in &ev.added {
                    if let Some(t) = inst.metadata.get("t").and_then(|t| t.parse::<u64>().ok()) {
                        latencies
                            .lock()
                            .unwrap()
                            .push(now.saturating_sub(t) as f64 / 1000.0);
                    }
                }
            })
            .map_err(|e| e.to_string())?
            .detach();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while initial.load(Ordering::Relaxed) < services as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let setup = setup.stop();
    let got = initial.load(Ordering::Relaxed);
    println!(
        "{{\"ready\":true,\"initial_events\":{got},\"setup_s\":{:.3},\"threads_before\":{threads_before}}}",
        setup.wall_s
    );
    std::io::stdout().flush().ok();
    if got < services as usize {
        return Err(format!(
            "only {got} of {services} initial events within 120 s"
        ));
    }

    let from_us = epoch_us();
    let idle = Span::start();
    std::thread::sleep(Duration::from_secs(idle_s));
    let idle = idle.stop();
    println!(
        "{{\"idle\":true,\"from_us\":{from_us},\"to_us\":{},{}}}",
        epoch_us(),
        idle.json_fields()
    );
    std::io::stdout().flush().ok();

    let span = Span::start();
    let deadline = Instant::now() + Duration::from_secs(max_wait_s);
    while latencies.lock().unwrap().len() < changes as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let sample = span.stop();
    let lat = latencies.lock().unwrap().clone();
    let list: Vec<String> = lat.iter().map(|x| format!("{x:.3}")).collect();
    println!(
        "{{\"contender\":\"ours\",\"services\":{services},\"interval_ms\":{interval_ms},\"subscribed\":{},\"latencies_ms\":[{}],{}}}",
        client.subscribed_services(),
        list.join(","),
        sample.json_fields()
    );
    std::io::stdout().flush().ok();
    let _ = std::fs::remove_dir_all(&cache);
    std::process::exit(0);
}

pub fn driver(args: &[String]) -> Result<(), String> {
    let [addr, prefix, rest @ ..] = args else {
        return Err("expected <addr> <prefix> <services> <changes> <gap_ms>".into());
    };
    let v = nums(rest, &["services", "changes", "gap_ms"])?;
    let [services, changes, gap_ms] = v[..] else {
        return Err("expected 3 numbers".into());
    };
    let client = NacosClient::builder()
        .server_addr(addr.as_str())
        .auto_heartbeat(false)
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    for k in 0..changes {
        let at = start + Duration::from_millis(k * gap_ms);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let inst = Instance::builder("10.3.0.1", 40000 + k as u16)
            .ephemeral(false)
            .metadata("t", epoch_us().to_string())
            .build();
        client
            .register_instance(format!("{prefix}-{}", target(k, services)), &inst)
            .map_err(|e| e.to_string())?;
    }
    println!("{{\"driver\":true,\"changes\":{changes}}}");
    Ok(())
}

/// The idle-poll floor: one thread and a bare ureq agent making the polls
/// `ours` makes (the same `instance/list` request per service, every
/// `interval_ms`, spread evenly over the interval), reading each body as
/// text and nothing else. It prints the same `ready` and `idle` lines as
/// `ours`, then a result line with no latencies (it has no listeners).
fn idle_floor(
    addr: &str,
    prefix: &str,
    services: u64,
    interval_ms: u64,
    idle_s: u64,
) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://{addr}/nacos/v1/ns/instance/list");
    let names: Vec<String> = (0..services)
        .map(|i| format!("DEFAULT_GROUP@@{prefix}-{i}"))
        .collect();
    let poll = |name: &str| -> Result<(), String> {
        let mut resp = agent
            .get(&url)
            .query("serviceName", name)
            .query("healthyOnly", "false")
            .call()
            .map_err(|e| e.to_string())?;
        resp.body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok(())
    };
    let threads_before = crate::measure::proc_status("Threads");
    let setup = Span::start();
    for n in &names {
        poll(n)?;
    }
    let setup = setup.stop();
    println!(
        "{{\"ready\":true,\"initial_events\":{services},\"setup_s\":{:.3},\"threads_before\":{threads_before}}}",
        setup.wall_s
    );
    std::io::stdout().flush().ok();
    let interval = Duration::from_millis(interval_ms.max(1));
    let step = interval / services.max(1) as u32;
    let from_us = epoch_us();
    let idle = Span::start();
    let start = Instant::now();
    let end = start + Duration::from_secs(idle_s);
    let mut k: u32 = 0;
    loop {
        let at = start + step * k;
        if at >= end {
            break;
        }
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        poll(&names[k as usize % names.len()])?;
        k += 1;
    }
    let idle = idle.stop();
    println!(
        "{{\"idle\":true,\"from_us\":{from_us},\"to_us\":{},\"polls\":{k},{}}}",
        epoch_us(),
        idle.json_fields()
    );
    println!(
        "{{\"contender\":\"ureq\",\"services\":{services},\"interval_ms\":{interval_ms},\"subscribed\":{services},\"latencies_ms\":[],{}}}",
        Span::start().stop().json_fields()
    );
    std::io::stdout().flush().ok();
    Ok(())
}
