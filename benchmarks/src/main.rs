//! `nbench`: the Rust side of the benchmark harness. Each subcommand runs
//! one scenario for one contender in this process and prints one JSON line.
//! `benchmarks/bench.py` starts it once per contender per run, so CPU
//! figures never mix; `benchmarks/run.sh` drives the whole thing.

mod measure;
mod scenario;

/// Counts every allocation this process makes, so scenarios can report
/// allocations per call (robust to machine load, unlike time).
#[global_allocator]
static ALLOC: measure::CountingAlloc = measure::CountingAlloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        usage();
    };
    let Some(s) = scenario::ALL.iter().find(|s| s.name == name.as_str()) else {
        usage();
    };
    if let Err(e) = (s.run)(&args[1..]) {
        eprintln!("nbench {name}: {e}");
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: nbench <scenario> ...");
    for s in scenario::ALL {
        eprintln!("  nbench {}", s.usage);
    }
    std::process::exit(2);
}
