//! Config watching: many watched keys on one client; the latency of a
//! notification for a change published by another process, and the idle
//! cost of the watches.
//!
//! `cfg-setup <addr> <prefix> <keys>` publishes `<prefix>-0` ..
//! `<prefix>-{keys-1}` (group [`GROUP`]) with the content `init`, so every
//! watched key exists before any contender watches it.
//!
//! `config ours <addr> <prefix> <keys>` watches every key with
//! `add_config_listener` on one client with default settings (long-poll
//! timeout 30 s) and prints `{"ready":..}`; after that, for each change it
//! is notified of whose content is `t=<epoch µs>`, one line
//! `{"lat_ms":..}` (`now - t`). It exits on `quit` or end of input.
//! `bench.py` measures the process from outside meanwhile (CPU, threads,
//! RSS from `/proc`), counts the requests the server receives through the
//! counting proxy, and runs the driver. The Python v1 client and the
//! async nacos-sdk follow the same protocol
//! (`contenders/python_v1_config.py`, `peers/nacos-sdk`).
//!
//! `cfg-driver <addr> <prefix> <keys> <changes> <gap_ms>` is the other
//! process: change k publishes `t=<epoch µs>` (taken just before the
//! request) to key `(k·7919) mod keys`, one every `gap_ms`.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use nacos_blocking::{ConfigEvent, NacosClient, Publish};

use super::heartbeat::epoch_us;
use super::subscribe::target;

/// The group of every benchmark config.
pub const GROUP: &str = "bench";

fn nums(args: &[String], what: &[&str]) -> Result<Vec<u64>, String> {
    args.iter()
        .zip(what)
        .map(|(s, w)| s.parse::<u64>().map_err(|e| format!("{w}: {e}")))
        .collect()
}

fn client(addr: &str) -> Result<NacosClient, String> {
    NacosClient::builder()
        .server_addr(addr)
        .auto_heartbeat(false)
        .build()
        .map_err(|e| e.to_string())
}

pub fn setup(args: &[String]) -> Result<(), String> {
    let [addr, prefix, keys] = args else {
        return Err("expected <addr> <prefix> <keys>".into());
    };
    let keys = nums(std::slice::from_ref(keys), &["keys"])?[0];
    let client = client(addr)?;
    let t0 = Instant::now();
    for i in 0..keys {
        let id = format!("{prefix}-{i}");
        client
            .publish_config((id.as_str(), GROUP), Publish::new("init"))
            .map_err(|e| e.to_string())?;
    }
    println!(
        "{{\"setup\":true,\"keys\":{keys},\"publish_s\":{:.3}}}",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    let [contender, addr, prefix, keys] = args else {
        return Err("expected ours <addr> <prefix> <keys>".into());
    };
    if contender != "ours" {
        return Err(format!("unknown contender {contender}"));
    }
    let keys = nums(std::slice::from_ref(keys), &["keys"])?[0];
    let cache = std::env::temp_dir().join(format!("nbench-config-{}", std::process::id()));
    let client = NacosClient::builder()
        .server_addr(addr.as_str())
        .cache_dir(&cache)
        .build()
        .map_err(|e| e.to_string())?;
    let threads_before = crate::measure::proc_status("Threads");
    let t0 = Instant::now();
    let mut listeners = Vec::with_capacity(keys as usize);
    for i in 0..keys {
        let id = format!("{prefix}-{i}");
        let l = client
            .subscribe_config((id.as_str(), GROUP), move |ev: &ConfigEvent| {
                let now = epoch_us();
                let Some(t) = ev
                    .content
                    .as_deref()
                    .and_then(|c| c.strip_prefix("t="))
                    .and_then(|t| t.trim().parse::<u64>().ok())
                else {
                    return;
                };
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{{\"lat_ms\":{:.3}}}",
                    now.saturating_sub(t) as f64 / 1000.0
                );
                let _ = out.flush();
            })
            .map_err(|e| e.to_string())?;
        listeners.push(l);
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{{\"ready\":true,\"keys\":{keys},\"setup_s\":{:.3},\"threads_before\":{threads_before},\"pid\":{}}}",
            t0.elapsed().as_secs_f64(),
            std::process::id()
        );
        let _ = out.flush();
    }
    for line in std::io::stdin().lock().lines() {
        match line {
            Ok(l) if l.trim() == "quit" => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
    // The long-poll threads are detached and may sit in a held request.
    std::process::exit(0);
}

pub fn driver(args: &[String]) -> Result<(), String> {
    let [addr, prefix, rest @ ..] = args else {
        return Err("expected <addr> <prefix> <keys> <changes> <gap_ms>".into());
    };
    let v = nums(rest, &["keys", "changes", "gap_ms"])?;
    let [keys, changes, gap_ms] = v[..] else {
        return Err("expected 3 numbers".into());
    };
    let client = client(addr)?;
    let start = Instant::now();
    for k in 0..changes {
        let at = start + Duration::from_millis(k * gap_ms);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let id = format!("{prefix}-{}", target(k, keys));
        client
            .publish_config(
                (id.as_str(), GROUP),
                Publish::new(format!("t={}", epoch_us())),
            )
            .map_err(|e| e.to_string())?;
    }
    println!("{{\"driver\":true,\"changes\":{changes}}}");
    Ok(())
}
