//! The runnable examples of `client.metrics()`, `watch_services` and the
//! naming failover switch, run against r-nacos as a user would run them
//! (`scripts/test.sh` builds them first, `cargo build --examples`, into
//! `target/<profile>/examples`; `cargo test` alone builds them only in
//! test mode, where `main` does not run).

mod support;

use nacos_blocking::{NacosClient, ServiceSpec};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::RNacos;

fn example(name: &str) -> Command {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name);
    let built = std::fs::metadata(&path).and_then(|m| m.modified());
    let source = std::fs::metadata(format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR")))
        .and_then(|m| m.modified())
        .unwrap();
    assert!(
        built.is_ok_and(|b| b >= source),
        "{} is missing or older than its source: `cargo build --examples --all-features` first \
         (scripts/test.sh does)",
        path.display()
    );
    Command::new(path)
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{:?} failed: {stdout}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_metrics_example_prints_a_table_every_round() {
    let server = RNacos::shared();
    let mut cmd = example("metrics");
    cmd.args([server.addr().as_str(), "2", "1"]);
    let out = run(cmd);
    assert_eq!(out.matches("--- round").count(), 2, "{out}");
    for line in [
        "register",
        "beat",
        "service_poll",
        "config_write",
        "events delivered",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    assert!(!out.contains("beats failed"), "{out}");
}

#[test]
fn the_watch_services_example_prints_what_comes_and_goes() {
    let server = RNacos::shared();
    let client = NacosClient::builder()
        .server_addr(server.addr())
        .disk_cache(false)
        .build()
        .unwrap();
    let spec = ServiceSpec::default();
    client.create_service("exw-first", &spec).unwrap();
    let mut child = example("watch_services")
        .args([server.addr().as_str(), "exw-*", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    assert!(next().starts_with("watching services"));
    assert_eq!(next(), r#"now: ["exw-first"]"#);
    client.create_service("exw-second", &spec).unwrap();
    client.create_service("other-svc", &spec).unwrap();
    assert_eq!(next(), "+ exw-second (DEFAULT_GROUP)");
    client.delete_service("exw-first").unwrap();
    assert_eq!(next(), "- exw-first (DEFAULT_GROUP)");
    // It ran with a deadline of its own (20 s); no need to wait for it.
    let _ = child.kill();
    let _ = child.wait();
    client.shutdown().unwrap();
}

#[test]
fn the_failover_example_freezes_and_releases_a_service() {
    let server = RNacos::shared();
    let mut cmd = example("failover");
    cmd.arg(server.addr());
    let out = run(cmd);
    assert!(out.contains("the server lists 2 instances"), "{out}");
    assert!(out.contains("failover on (true): 2 instances"), "{out}");
    assert!(out.contains("failover off (false): 1 instance"), "{out}");
}
