//! One module per scenario; each is a subcommand of `nbench` and prints
//! one JSON line per run for `bench.py` to aggregate.
//!
//! Scenarios still to come, each added by the issue that brings its API
//! (and listed as "not yet measured" in the report until then):
//! - `heartbeat`: 1,000 instances on one client: beats/s, lateness, CPU,
//!   threads, RSS;
//! - `subscribe`: 1,000 subscribed services: notification latency p50/p99
//!   for a change made by another process, CPU, threads, RSS;
//! - `config`: notification latency for a published change, idle cost of
//!   1,000 watched keys.

pub mod throughput;

/// A subcommand: its name, its usage line and its entry point.
pub struct Scenario {
    pub name: &'static str,
    pub usage: &'static str,
    pub run: fn(&[String]) -> Result<(), String>,
}

/// Every scenario this harness can run.
pub const ALL: &[Scenario] = &[
    Scenario {
        name: "setup-list",
        usage: "setup-list <addr> <service> <instances>   (persistent instances to list)",
        run: throughput::setup_list,
    },
    Scenario {
        name: "throughput",
        usage: "throughput <ours|ureq|ureq-json|ureq-timeout> <register|list> <addr> <service> <calls> <warmup> <port base>",
        run: throughput::run,
    },
];
