//! Benchmark contender: the async `nacos-sdk` crate (gRPC).
//!
//! `sdk-peer <op> <http addr> <grpc port> <service> <calls> <warmup> <port base>`
//! runs `op` (`register` or `list`) `calls` times, sequentially, after
//! `warmup` untimed calls, and prints one JSON line in the harness's schema.

use std::time::Instant;

use nacos_sdk::api::naming::{NamingServiceBuilder, ServiceInstance};
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
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
