//! One module per scenario; each is a subcommand of `nbench` and prints
//! one JSON line per run for `bench.py` to aggregate.

pub mod config;
pub mod decode;
pub mod extras;
pub mod heartbeat;
pub mod proxy;
pub mod subscribe;
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
        usage: "throughput <ours|ureq|ureq-json|ureq-typed|ureq-timeout> <register|list> <addr> <service> <calls> <warmup> <port base>",
        run: throughput::run,
    },
    Scenario {
        name: "decode",
        usage: "decode <ours|typed|value> <file> <iterations>   (list decoding alone, no HTTP)",
        run: decode::run,
    },
    Scenario {
        name: "proxy",
        usage: "proxy <upstream addr>   (counting loopback proxy; commands on stdin)",
        run: proxy::run,
    },
    Scenario {
        name: "heartbeat",
        usage: "heartbeat ours <addr> <service> <instances> <interval_ms> <warmup_s> <window_s> <port base>",
        run: heartbeat::run,
    },
    Scenario {
        name: "subscribe",
        usage: "subscribe <ours|ureq> <addr> <prefix> <services> <interval_ms|0> <idle_s> <changes> <max_wait_s>",
        run: subscribe::run,
    },
    Scenario {
        name: "sub-driver",
        usage: "sub-driver <addr> <prefix> <services> <changes> <gap_ms>",
        run: subscribe::driver,
    },
    Scenario {
        name: "cfg-setup",
        usage: "cfg-setup <addr> <prefix> <keys>   (publishes the keys to watch)",
        run: config::setup,
    },
    Scenario {
        name: "config",
        usage: "config ours <addr> <prefix> <keys>   (watches; `quit` on stdin ends it)",
        run: config::run,
    },
    Scenario {
        name: "cfg-driver",
        usage: "cfg-driver <addr> <prefix> <keys> <changes> <gap_ms>",
        run: config::driver,
    },
    Scenario {
        name: "extras",
        usage: "extras <addr>   (batch registration; config latency across namespaces)",
        run: extras::run,
    },
];
