//! Measurements of this crate alone, against the same r-nacos in the same
//! run, that have no peer row: `extras <addr>` prints one JSON line each.
//!
//! - `batch`: 1,000 instances of one service registered by one
//!   `register_instances` call and by a `register_instance` loop (heartbeats
//!   off; deregistered between rounds), three rounds each, alternating.
//! - `cfg_latency`: publish → event for a config watched on one client
//!   while the client also watches keys in the same namespace, in a second
//!   namespace, and for a key first watched while its namespace's long poll
//!   is held (the cases of issue 21; the publisher is a second client).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use nacos_blocking::{ConfigEvent, Instance, NacosClient};

fn client(addr: &str) -> Result<NacosClient, String> {
    NacosClient::builder()
        .server_addr(addr)
        .auto_heartbeat(false)
        .disk_cache(false)
        .build()
        .map_err(|e| e.to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentiles(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99), xs[xs.len() - 1])
}

fn batch(addr: &str) -> Result<(), String> {
    let c = client(addr)?;
    let n = 1000u16;
    let svc = format!("extras-batch-{}", std::process::id());
    let instances: Vec<Instance> = (0..n)
        .map(|i| Instance::new("10.77.0.1", 20_000 + i))
        .collect();
    for round in 0..3 {
        for how in ["one_call", "loop"] {
            let t0 = Instant::now();
            match how {
                "one_call" => {
                    let out = c
                        .register_instances(svc.as_str(), &instances)
                        .map_err(|e| e.to_string())?;
                    if !out.is_complete() {
                        return Err(format!("batch: {} failed", out.failed().count()));
                    }
                }
                _ => {
                    for inst in &instances {
                        c.register_instance(svc.as_str(), inst)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            let took = t0.elapsed();
            println!(
                r#"{{"what":"batch","how":"{how}","round":{round},"instances":{n},"ms":{:.1}}}"#,
                ms(took)
            );
            let out = c
                .deregister_instances(svc.as_str(), &instances)
                .map_err(|e| e.to_string())?;
            if !out.is_complete() {
                return Err("batch: deregistration incomplete".into());
            }
        }
    }
    c.shutdown().map_err(|e| e.to_string())
}

/// Publishes `value` to `key` from `publisher` and waits for `rx` to see it.
fn change_seen(
    publisher: &NacosClient,
    rx: &mpsc::Receiver<ConfigEvent>,
    key: (&str, &str, &str),
    value: &str,
) -> Result<Duration, String> {
    let (ns, group, id) = key;
    let name = nacos_blocking::ConfigName::new(id).group(group).namespace(ns);
    publisher
        .publish_config(name, value)
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    loop {
        let ev = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| format!("no event for {id} within 60 s"))?;
        if ev.key.data_id == id && ev.content.as_deref() == Some(value) {
            return Ok(t0.elapsed());
        }
    }
}

fn cfg_latency(addr: &str) -> Result<(), String> {
    let watcher = client(addr)?;
    let publisher = client(addr)?;
    let tag = std::process::id();
    let group = "extras";
    let second_ns = format!("extras-ns-{tag}");
    let (tx, rx) = mpsc::channel::<ConfigEvent>();
    let mut subs = Vec::new();
    let mut watch = |ns: &str, id: &str| -> Result<(), String> {
        let name = nacos_blocking::ConfigName::new(id).group(group).namespace(ns);
        publisher
            .publish_config(name.clone(), "init")
            .map_err(|e| e.to_string())?;
        subs.push(
            watcher
                .subscribe_config(name, tx.clone())
                .map_err(|e| e.to_string())?,
        );
        rx.recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("no initial event for {id}"))?;
        Ok(())
    };
    // Five keys in the public namespace and five in a second one.
    let public: Vec<String> = (0..5).map(|i| format!("extras-pub-{tag}-{i}")).collect();
    let other: Vec<String> = (0..5).map(|i| format!("extras-ns2-{tag}-{i}")).collect();
    for id in &public {
        watch("", id)?;
    }
    // Both long polls held before measuring.
    std::thread::sleep(Duration::from_millis(500));
    let mut one_ns = Vec::new();
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(150));
        let id = &public[i % public.len()];
        one_ns.push(ms(change_seen(&publisher, &rx, ("", group, id), &format!("a{i}"))?));
    }
    for id in &other {
        watch(&second_ns, id)?;
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut two_ns = Vec::new();
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(150));
        let (ns, id) = if i % 2 == 0 {
            ("", &public[i % public.len()])
        } else {
            (second_ns.as_str(), &other[i % other.len()])
        };
        two_ns.push(ms(change_seen(&publisher, &rx, (ns, group, id), &format!("b{i}"))?));
    }
    // A key first watched while the public namespace's poll is held: its
    // first change right after.
    let mut added = Vec::new();
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(300));
        let id = format!("extras-late-{tag}-{i}");
        watch("", &id)?;
        added.push(ms(change_seen(&publisher, &rx, ("", group, &id), "changed")?));
    }
    for (case, xs) in [
        ("one_namespace", one_ns),
        ("two_namespaces", two_ns),
        ("key_added_while_held", added),
    ] {
        let n = xs.len();
        let (p50, p99, max) = percentiles(xs);
        println!(
            r#"{{"what":"cfg_latency","case":"{case}","changes":{n},"p50_ms":{p50:.2},"p99_ms":{p99:.2},"max_ms":{max:.2}}}"#
        );
    }
    drop(subs);
    watcher.shutdown().map_err(|e| e.to_string())?;
    publisher.shutdown().map_err(|e| e.to_string())
}

pub fn run(args: &[String]) -> Result<(), String> {
    let [addr] = args else {
        return Err("expected <addr>".into());
    };
    batch(addr)?;
    cfg_latency(addr)
}
