//! Benchmark contender: the async `nacos-sdk` crate (gRPC).
//!
//! `sdk-peer <op> <http addr> <grpc port> <service> <calls> <warmup> <port base>`
//! runs `op` (`register` or `list`) `calls` times, sequentially, after
//! `warmup` untimed calls, and prints one JSON line in the harness's schema.
//!
//! `sdk-peer subscribe <http addr> <grpc port> <prefix> <services> <interval_ms> <idle_s> <changes> <max_wait_s>`
//! follows the stdout protocol of `nbench subscribe` (ready line, idle
//! line, result line) with the crate's gRPC `subscribe` (server push; it
//! has no poll interval, so `interval_ms` is ignored). Its listener gets
//! the full instance list; an instance carrying metadata `t` (epoch µs)
//! seen for the first time counts as the change, `now - t` its latency.
//!
//! `sdk-peer config <http addr> <grpc port> <prefix> <keys>` follows the
//! protocol of `nbench config ours` (benchmarks/src/scenario/config.rs):
//! `ConfigService::add_listener` on `<prefix>-0` .. `<prefix>-{keys-1}`
//! (group `bench`), a ready line, then `{"lat_ms":..}` per notified change
//! whose content is `t=<epoch µs>`; ends on `quit` or end of input.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::config::{ConfigChangeListener, ConfigResponse, ConfigServiceBuilder};
use nacos_sdk::api::naming::{
    NamingChangeEvent, NamingEventListener, NamingServiceBuilder, ServiceInstance,
};
use nacos_sdk::api::props::ClientProps;

/// A field of `/proc/self/status` (`Threads`, `VmRSS` in kB).
fn proc_status(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .strip_prefix(':')?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime))
}

fn epoch_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

struct Listener {
    seen: Mutex<HashSet<(String, String)>>,
    latencies: Arc<Mutex<Vec<f64>>>,
    events: Arc<AtomicUsize>,
}

impl NamingEventListener for Listener {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        let now = epoch_us();
        self.events.fetch_add(1, Ordering::Relaxed);
        for inst in event.instances.iter().flatten() {
            let Some(t) = inst.metadata.get("t").and_then(|t| t.parse::<u64>().ok()) else {
                continue;
            };
            let key = (
                event.service_name.clone(),
                format!("{}:{}", inst.ip, inst.port),
            );
            if self.seen.lock().unwrap().insert(key) {
                self.latencies
                    .lock()
                    .unwrap()
                    .push(now.saturating_sub(t) as f64 / 1000.0);
            }
        }
    }
}

async fn subscribe(a: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (addr, grpc, prefix) = (a[2].clone(), a[3].parse::<u16>()?, a[4].clone());
    let n: Vec<u64> = a[5..10]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let (services, interval_ms, idle_s, changes, max_wait_s) = (n[0], n[1], n[2], n[3], n[4]);
    let (cache, props) = props(&addr, grpc);
    let threads_before = proc_status("Threads");
    let naming = NamingServiceBuilder::new(props).build().await?;
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let events: Arc<AtomicUsize> = Arc::default();
    let t0 = Instant::now();
    // Concurrently: each call is a gRPC round trip (tens of ms here).
    let mut set = tokio::task::JoinSet::new();
    for i in 0..services {
        let naming = naming.clone();
        let listener = Arc::new(Listener {
            seen: Mutex::default(),
            latencies: latencies.clone(),
            events: events.clone(),
        });
        let service = format!("{prefix}-{i}");
        set.spawn(async move { naming.subscribe(service, None, Vec::new(), listener).await });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    println!(
        "{{\"ready\":true,\"initial_events\":{},\"setup_s\":{:.3},\"threads_before\":{threads_before}}}",
        events.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
    let from_us = epoch_us();
    let (u0, s0) = cpu_seconds();
    let w0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(idle_s)).await;
    let (u1, s1) = cpu_seconds();
    println!(
        "{{\"idle\":true,\"from_us\":{from_us},\"to_us\":{},\"wall_s\":{:.6},\"user_s\":{:.6},\"sys_s\":{:.6},\"threads\":{},\"rss_kb\":{}}}",
        epoch_us(),
        w0.elapsed().as_secs_f64(),
        u1 - u0,
        s1 - s0,
        proc_status("Threads"),
        proc_status("VmRSS")
    );
    let (u0, s0) = cpu_seconds();
    let w0 = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(max_wait_s);
    while latencies.lock().unwrap().len() < changes as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (u1, s1) = cpu_seconds();
    let lat: Vec<String> = latencies
        .lock()
        .unwrap()
        .iter()
        .map(|x| format!("{x:.3}"))
        .collect();
    println!(
        "{{\"contender\":\"nacos-sdk\",\"services\":{services},\"interval_ms\":{interval_ms},\"subscribed\":{services},\"latencies_ms\":[{}],\"wall_s\":{:.6},\"user_s\":{:.6},\"sys_s\":{:.6},\"threads\":{},\"rss_kb\":{}}}",
        lat.join(","),
        w0.elapsed().as_secs_f64(),
        u1 - u0,
        s1 - s0,
        proc_status("Threads"),
        proc_status("VmRSS")
    );
    let _ = std::fs::remove_dir_all(&cache);
    std::process::exit(0);
}

struct ConfigLatency;

impl ConfigChangeListener for ConfigLatency {
    fn notify(&self, resp: ConfigResponse) {
        let now = epoch_us();
        if let Some(t) = resp
            .content()
            .strip_prefix("t=")
            .and_then(|t| t.trim().parse::<u64>().ok())
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{{\"lat_ms\":{:.3}}}",
                now.saturating_sub(t) as f64 / 1000.0
            );
            let _ = out.flush();
        }
    }
}

async fn config(a: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (addr, grpc, prefix, keys) = (
        a[2].clone(),
        a[3].parse::<u16>()?,
        a[4].clone(),
        a[5].parse::<u64>()?,
    );
    let (cache, props) = props(&addr, grpc);
    let threads_before = proc_status("Threads");
    let cs = ConfigServiceBuilder::new(props).build().await?;
    let t0 = Instant::now();
    // Concurrently: each call may be a gRPC round trip (tens of ms here).
    let mut set = tokio::task::JoinSet::new();
    let listener: Arc<dyn ConfigChangeListener> = Arc::new(ConfigLatency);
    for i in 0..keys {
        let (cs, listener) = (cs.clone(), listener.clone());
        let id = format!("{prefix}-{i}");
        set.spawn(async move { cs.add_listener(id, "bench".into(), listener).await });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    println!(
        "{{\"ready\":true,\"keys\":{keys},\"setup_s\":{:.3},\"threads_before\":{threads_before},\"pid\":{}}}",
        t0.elapsed().as_secs_f64(),
        std::process::id()
    );
    let _ = tokio::task::spawn_blocking(|| {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "quit" => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(&cache);
    std::process::exit(0);
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() == 6 && a[1] == "config" {
        return config(&a).await;
    }
    if a.len() == 10 && a[1] == "subscribe" {
        return subscribe(&a).await;
    }
    if a.len() != 8 {
        eprintln!("usage: sdk-peer <register|list> <http addr> <grpc port> <service> <calls> <warmup> <port base>");
        std::process::exit(2);
    }
    let (op, addr, grpc, service) = (a[1].as_str(), &a[2], a[3].parse::<u16>()?, a[4].clone());
    let (calls, warmup, base): (u32, u32, u32) = (a[5].parse()?, a[6].parse()?, a[7].parse()?);
    let cache = std::env::temp_dir().join(format!("nacos-sdk-peer-{}", std::process::id()));
    let props = ClientProps::new()
        .server_addr(addr.clone())
        .remote_grpc_port(grpc)
        .cache_dir(&cache)
        .app_name("bench");
    let naming = NamingServiceBuilder::new(props).build().await?;
    if std::env::var_os("SDK_NODELAY").is_some() {
        force_nodelay(grpc);
    }

    let mut ok = 0u32;
    let run = |i: u32| {
        let naming = naming.clone();
        let service = service.clone();
        async move {
            match op {
                "register" => {
                    let inst = ServiceInstance {
                        ip: "10.1.0.1".into(),
                        port: (base + i) as i32,
                        weight: 1.0,
                        healthy: true,
                        enabled: true,
                        ephemeral: true,
                        ..Default::default()
                    };
                    naming
                        .register_instance(service, None, inst)
                        .await
                        .map(|_| 0)
                }
                _ => naming
                    .get_all_instances(service, None, Vec::new(), false)
                    .await
                    .map(|v| v.len()),
            }
        }
    };
    let mut seen = 0usize;
    for i in 0..warmup {
        seen = run(calls + i).await?;
    }
    let (u0, s0) = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..calls {
        if let Ok(n) = run(i).await {
            ok += 1;
            seen = n;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let (u1, s1) = cpu_seconds();
    println!(
        "{{\"contender\":\"nacos-sdk\",\"op\":\"{op}\",\"calls\":{calls},\"ok\":{ok},\"wall_s\":{wall:.6},\"user_s\":{:.6},\"sys_s\":{:.6},\"instances_seen\":{seen},\"threads\":{},\"rss_kb\":{}}}",
        u1 - u0,
        s1 - s0,
        proc_status("Threads"),
        proc_status("VmRSS")
    );
    let _ = std::fs::remove_dir_all(&cache);
    std::process::exit(0);
}

/// Sets `TCP_NODELAY` on every socket of this process connected to port
/// `grpc`: nacos-sdk 0.8.3 turns it off on its gRPC connection
/// (`common/remote/grpc/config.rs:58` defaults `tcp_nodelay` to false and
/// `tonic.rs:117` applies it, over tonic's own default of true), so each
/// unary call's last small HTTP/2 frame waits for r-nacos's delayed ACK
/// (~40 ms). No option of the crate changes it; `build()` has connected
/// already (it waits for a health check), so the socket is there to set.
fn force_nodelay(grpc: u16) {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let mut set = 0;
    for fd in fds.flatten() {
        let Some(fd) = fd.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: getpeername and setsockopt only read and write the local
        // buffers given; a descriptor that is not a socket fails harmlessly.
        unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            if libc::getpeername(fd, &mut addr as *mut _ as *mut libc::sockaddr, &mut len) != 0 {
                continue;
            }
            let port = match addr.ss_family as i32 {
                libc::AF_INET => {
                    u16::from_be((*(&addr as *const _ as *const libc::sockaddr_in)).sin_port)
                }
                libc::AF_INET6 => {
                    u16::from_be((*(&addr as *const _ as *const libc::sockaddr_in6)).sin6_port)
                }
                _ => continue,
            };
            if port != grpc {
                continue;
            }
            let one: libc::c_int = 1;
            if libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
            {
                set += 1;
            }
        }
    }
    eprintln!("sdk-peer: TCP_NODELAY set on {set} gRPC socket(s)");
}

/// Client settings shared by the peer's modes, with a cache dir of its own.
fn props(addr: &str, grpc: u16) -> (std::path::PathBuf, ClientProps) {
    let cache = std::env::temp_dir().join(format!("nacos-sdk-peer-{}", std::process::id()));
    let props = ClientProps::new()
        .server_addr(addr)
        .remote_grpc_port(grpc)
        .cache_dir(&cache)
        .app_name("bench");
    (cache, props)
}
