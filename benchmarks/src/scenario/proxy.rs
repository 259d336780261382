//! `proxy <upstream addr>`: a counting loopback TCP proxy in front of
//! r-nacos, so beats and polls are counted the same way for every
//! contender, outside the contender's process (its CPU never shows up in a
//! contender's figures).
//!
//! It forwards bytes both ways untouched, one thread per direction per
//! connection, and sniffs the client-to-server stream for request lines:
//! each complete request (head plus `Content-Length` body) that is a
//! `PUT /nacos/v1/ns/instance/beat` is recorded with its arrival time
//! (epoch µs) and the instance port found in it, URL-decoded (`port=N` of
//! our client, `"port": N` inside the Python client's `beat` JSON); each
//! `GET /nacos/v1/ns/instance/list` with its arrival time.
//!
//! Prints `{"port":P}` once listening, then obeys commands on stdin, one a
//! line, answering each with one JSON line on stdout:
//! - `beats <from_us> <to_us> <interval_ms>`: beats that arrived in the
//!   window: count, per second, and the lateness of each beat (its gap to
//!   the previous beat of the same instance, minus the interval) p50/p99;
//! - `lists <from_us> <to_us>`: list requests in the window, per second;
//! - `reqs <from_us> <to_us>`: every request that arrived in the window,
//!   counted by method and path (query left out), as a JSON object;
//! - `clear`: forgets everything recorded;
//! - end of input: exits.

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

const BEAT: &[u8] = b"PUT /nacos/v1/ns/instance/beat";
const LIST: &[u8] = b"GET /nacos/v1/ns/instance/list";

#[derive(Default)]
struct Log {
    beats: Vec<(u64, u32)>,
    lists: Vec<u64>,
    /// Every request: arrival time and `METHOD /path`.
    reqs: Vec<(u64, String)>,
}

/// `METHOD /path` of a request (its query left out).
fn request_name(req: &[u8]) -> String {
    let end = find(req, b"\r\n").unwrap_or(req.len()).min(512);
    let line = String::from_utf8_lossy(&req[..end]);
    let mut w = line.split_whitespace();
    let method = w.next().unwrap_or("?");
    let path = w.next().unwrap_or("?").split('?').next().unwrap_or("?");
    format!("{method} {path}")
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `%XX` and `+` decoded (URL query and form bodies), lossy.
fn url_decode(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < buf.len() => match (hex(buf[i + 1]), hex(buf[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The instance port of a decoded beat request: the first number that
/// follows `port` with only `=`, `:`, `"` or spaces between
/// (`port=30001`, `"port": 30001`).
fn port_of(req: &[u8]) -> u32 {
    let mut from = 0;
    while let Some(i) = find(&req[from..], b"port") {
        let start = from + i + 4;
        let sep = req[start..]
            .iter()
            .take_while(|c| matches!(c, b'=' | b':' | b'"' | b' '))
            .count();
        let digits: Vec<u8> = req[start + sep..]
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        if sep > 0 && !digits.is_empty() {
            if let Ok(p) = std::str::from_utf8(&digits).unwrap().parse() {
                return p;
            }
        }
        from = start;
    }
    0
}

/// The length of the first complete request in `buf` (head and
/// `Content-Length` body), if it is all there.
fn complete_request(buf: &[u8]) -> Option<usize> {
    let head = find(buf, b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
    let len = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= head + len).then_some(head + len)
}

fn pump_up(mut from: TcpStream, mut to: TcpStream, log: Arc<Mutex<Log>>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        // Forward first: the proxy's parsing never delays a request.
        if to.write_all(chunk).is_err() {
            break;
        }
        let t = now_us();
        pending.extend_from_slice(chunk);
        while let Some(len) = complete_request(&pending) {
            let req = &pending[..len];
            log.lock().unwrap().reqs.push((t, request_name(req)));
            if req.starts_with(BEAT) {
                let port = port_of(&url_decode(req));
                log.lock().unwrap().beats.push((t, port));
            } else if req.starts_with(LIST) {
                log.lock().unwrap().lists.push(t);
            }
            pending.drain(..len);
        }
        if pending.len() > 1 << 20 {
            pending.clear(); // not HTTP as expected: stop sniffing this one
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn pump_down(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".into()
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let [upstream] = args else {
        return Err("expected <upstream addr>".into());
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let log = Arc::new(Mutex::new(Log::default()));
    {
        let log = log.clone();
        let upstream = upstream.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (c2, s2) = match (client.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => (c, s),
                    _ => continue,
                };
                let log = log.clone();
                std::thread::spawn(move || pump_up(client, server, log));
                std::thread::spawn(move || pump_down(s2, c2));
            }
        });
    }
    println!("{{\"port\":{port}}}");
    std::io::stdout().flush().ok();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| w.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        match w.first().copied() {
            Some("beats") => {
                let (from, to, interval_ms) = (num(1), num(2), num(3));
                let log = log.lock().unwrap();
                let inside: Vec<(u64, u32)> = log
                    .beats
                    .iter()
                    .copied()
                    .filter(|(t, _)| *t >= from && *t <= to)
                    .collect();
                let mut by_port: std::collections::HashMap<u32, Vec<u64>> = Default::default();
                for (t, p) in &inside {
                    by_port.entry(*p).or_default().push(*t);
                }
                let mut late: Vec<f64> = Vec::new();
                for ts in by_port.values_mut() {
                    ts.sort_unstable();
                    for w in ts.windows(2) {
                        late.push((w[1] - w[0]) as f64 / 1000.0 - interval_ms as f64);
                    }
                }
                late.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let secs = (to - from) as f64 / 1e6;
                println!(
                    "{{\"beats\":{},\"per_s\":{:.3},\"instances\":{},\"unknown_port\":{},\"gaps\":{},\"late_p50_ms\":{},\"late_p99_ms\":{},\"late_max_ms\":{}}}",
                    inside.len(),
                    inside.len() as f64 / secs,
                    by_port.len(),
                    by_port.get(&0).map_or(0, Vec::len),
                    late.len(),
                    json_num(percentile(&late, 0.5)),
                    json_num(percentile(&late, 0.99)),
                    json_num(late.last().copied().unwrap_or(f64::NAN)),
                );
            }
            Some("lists") => {
                let (from, to) = (num(1), num(2));
                let log = log.lock().unwrap();
                let n = log
                    .lists
                    .iter()
                    .filter(|t| **t >= from && **t <= to)
                    .count();
                println!(
                    "{{\"lists\":{n},\"per_s\":{:.3}}}",
                    n as f64 / ((to - from) as f64 / 1e6)
                );
            }
            Some("reqs") => {
                let (from, to) = (num(1), num(2));
                let log = log.lock().unwrap();
                let mut by: std::collections::BTreeMap<&str, u64> = Default::default();
                for (t, name) in &log.reqs {
                    if *t >= from && *t <= to {
                        *by.entry(name.as_str()).or_default() += 1;
                    }
                }
                let fields: Vec<String> = by
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(*k)))
                    .collect();
                println!("{{{}}}", fields.join(","));
            }
            Some("clear") => {
                *log.lock().unwrap() = Log::default();
                println!("{{\"cleared\":true}}");
            }
            _ => println!("{{\"error\":\"unknown command\"}}"),
        }
        std::io::stdout().flush().ok();
    }
    Ok(())
}
