//! `decode <ours|typed|value> <file> <iterations>`: decodes one saved
//! `instance/list` answer over and over, without HTTP, and prints CPU and
//! allocations per decode. `ours` is `nacos_blocking::ServiceInfo`'s
//! public `Deserialize` (what the disk cache and users' own serde code
//! run; the client decodes list answers with its own crate-private parser,
//! measured end to end by `throughput ours list`), `typed` the typed-serde
//! floor ([`TypedList`](super::throughput::TypedList)), `value` a
//! `serde_json::Value`. For profiling (e.g. `valgrind --tool=callgrind`
//! with two iteration counts, the difference divided by the difference in
//! iterations) rather than for the report.

use std::hint::black_box;

use crate::measure::Span;

pub fn run(args: &[String]) -> Result<(), String> {
    let [which, file, iterations] = args else {
        return Err("expected <ours|typed|value> <file> <iterations>".into());
    };
    let body = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let n: u64 = iterations.parse().map_err(|e| format!("iterations: {e}"))?;
    let decode = |body: &str| -> Result<usize, String> {
        Ok(match which.as_str() {
            "ours" => serde_json::from_str::<nacos_blocking::ServiceInfo>(body)
                .map_err(|e| e.to_string())?
                .hosts
                .len(),
            "typed" => serde_json::from_str::<super::throughput::TypedList>(body)
                .map_err(|e| e.to_string())?
                .hosts
                .len(),
            "value" => serde_json::from_str::<serde_json::Value>(body)
                .map_err(|e| e.to_string())?["hosts"]
                .as_array()
                .map_or(0, Vec::len),
            other => return Err(format!("unknown decoder {other}")),
        })
    };
    let hosts = decode(&body)?;
    let span = Span::start();
    for _ in 0..n {
        black_box(decode(black_box(&body))?);
    }
    let s = span.stop();
    println!(
        "{{\"decoder\":\"{which}\",\"hosts\":{hosts},\"iterations\":{n},\"cpu_us\":{:.2},\"allocs_per\":{:.1},{}}}",
        (s.user_s + s.sys_s) / n.max(1) as f64 * 1e6,
        s.allocs as f64 / n.max(1) as f64,
        s.json_fields()
    );
    Ok(())
}
