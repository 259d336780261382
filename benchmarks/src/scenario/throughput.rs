//! Sequential register and list throughput, with client CPU per call.
//!
//! Contenders in this process: `ours` (nacos-blocking), `ureq` (the floor:
//! the same HTTP requests through a bare ureq agent, body read as text) and
//! `ureq-json` (the floor plus parsing the list body into a
//! `serde_json::Value`, to show what decoding alone costs), `ureq-typed`
//! (the typed floor for lists: the floor plus `serde_json::from_str` into
//! a plain derived struct with the fields the client returns) and
//! `ureq-timeout` (the floor with a per-request deadline, as `ours` sets:
//! diagnostic, it shows what that costs inside ureq) and `ureq-wire` (the
//! floor sending the very bytes `ours` sends: parameters in the query,
//! the Java client's headers, a fresh request id; no timeouts, as the
//! floor (with any, ureq's default resolver starts a thread per request);
//! diagnostic, it splits what the protocol costs from what the client
//! adds) and `ureq-threads` (the floor in a process that also holds four
//! idle threads, as many as ours' heartbeat scheduler and senders:
//! diagnostic, it shows what a process pays for no longer being
//! single-threaded), and `raw` and `raw-thread` (register only: the
//! request written by hand on a `TcpStream`, without and with one idle
//! thread in the process: diagnostic, they show what a live thread costs
//! a round trip with no HTTP library involved). The Python v1
//! client and `nacos-sdk` run the same loop in their own programs
//! (`contenders/python_v1.py`, `peers/nacos-sdk`).

use std::collections::HashMap;
use std::time::Duration;

use nacos_blocking::{Instance, NacosClient};
use serde::Deserialize;

use crate::measure::Span;

const GROUP: &str = "DEFAULT_GROUP";
/// The IP every registered benchmark instance gets (ports vary).
const IP: &str = "10.1.0.1";

/// `setup-list <addr> <service> <instances>`: registers persistent
/// instances (they need no heartbeats, so they stay listed for the run),
/// each with two metadata keys.
pub fn setup_list(args: &[String]) -> Result<(), String> {
    let [addr, service, n] = args else {
        return Err("expected <addr> <service> <instances>".into());
    };
    let n: u16 = n.parse().map_err(|e| format!("instances: {e}"))?;
    let client = NacosClient::new(addr).map_err(|e| e.to_string())?;
    for i in 0..n {
        let inst = Instance::builder("10.2.0.1", 20000 + i)
            .ephemeral(false)
            .metadata("zone", "bench")
            .metadata("version", "1.0.0")
            .build();
        client
            .register_instance(service.as_str(), &inst)
            .map_err(|e| e.to_string())?;
    }
    let seen = client
        .list_instances(service.as_str())
        .map_err(|e| e.to_string())?
        .hosts
        .len();
    if seen != n as usize {
        return Err(format!(
            "registered {n} instances but the server lists {seen}"
        ));
    }
    println!("{{\"setup\":\"list\",\"service\":\"{service}\",\"instances\":{seen}}}");
    Ok(())
}

/// One contender's way of making a call; returns how many instances the
/// call saw (0 for register).
trait Contender {
    fn register(&mut self, port: u16) -> Result<usize, String>;
    fn list(&mut self) -> Result<usize, String>;
}

struct Ours {
    client: NacosClient,
    service: String,
}

impl Contender for Ours {
    fn register(&mut self, port: u16) -> Result<usize, String> {
        self.client
            .register_instance(self.service.as_str(), &Instance::new(IP, port))
            .map(|()| 0)
            .map_err(|e| e.to_string())
    }

    fn list(&mut self) -> Result<usize, String> {
        self.client
            .list_instances(self.service.as_str())
            .map(|info| info.hosts.len())
            .map_err(|e| e.to_string())
    }
}

/// The typed floor's model of an `instance/list` answer: a plain derived
/// struct with the fields `nacos_blocking::ServiceInfo` returns (no
/// tolerance for `null`s, unknown fields skipped as serde does).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct TypedList {
    pub name: String,
    pub group_name: String,
    pub clusters: String,
    pub cache_millis: u64,
    pub last_ref_time: i64,
    pub checksum: String,
    pub hosts: Vec<TypedHost>,
}

/// One host of [`TypedList`].
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct TypedHost {
    pub instance_id: Option<String>,
    pub ip: String,
    pub port: u16,
    pub weight: f64,
    pub healthy: bool,
    pub enabled: bool,
    pub ephemeral: bool,
    pub cluster_name: String,
    pub service_name: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// What the floor does with a list body.
#[derive(Clone, Copy, PartialEq)]
enum Parse {
    /// Reads it as text only.
    Text,
    /// Parses it into a `serde_json::Value`.
    Value,
    /// Parses it into [`TypedList`].
    Typed,
}

/// The floor: the request `ours` sends (same method, path and parameters),
/// through a bare ureq agent with no extra headers, retries or checks.
struct Floor {
    agent: ureq::Agent,
    base: String,
    grouped: String,
    parse: Parse,
    /// Sets a per-request deadline as `ours` does (diagnostic: with any
    /// timeout set, ureq resolves the host on a new thread per request).
    timeout: Option<std::time::Duration>,
}

impl Floor {
    fn new(addr: &str, service: &str, parse: Parse, timeout: Option<std::time::Duration>) -> Floor {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Floor {
            agent,
            base: format!("http://{addr}/nacos"),
            grouped: format!("{GROUP}@@{service}"),
            parse,
            timeout,
        }
    }
}

impl Contender for Floor {
    fn register(&mut self, port: u16) -> Result<usize, String> {
        let port = port.to_string();
        let mut resp = self
            .agent
            .post(format!("{}/v1/ns/instance", self.base))
            .config()
            .timeout_global(self.timeout)
            .build()
            .send_form([
                ("serviceName", self.grouped.as_str()),
                ("groupName", GROUP),
                ("ip", IP),
                ("port", port.as_str()),
                ("clusterName", "DEFAULT"),
                ("weight", "1"),
                ("enable", "true"),
                ("enabled", "true"),
                ("healthy", "true"),
                ("ephemeral", "true"),
                ("metadata", "{}"),
            ])
            .map_err(|e| e.to_string())?;
        ok_body(&mut resp)?;
        Ok(0)
    }

    fn list(&mut self) -> Result<usize, String> {
        let mut resp = self
            .agent
            .get(format!("{}/v1/ns/instance/list", self.base))
            .config()
            .timeout_global(self.timeout)
            .build()
            .query("serviceName", &self.grouped)
            .query("groupName", GROUP)
            .query("healthyOnly", "false")
            .call()
            .map_err(|e| e.to_string())?;
        let body = ok_body(&mut resp)?;
        match self.parse {
            Parse::Text => Ok(body.matches("\"instanceId\"").count()),
            Parse::Value => {
                let v: serde_json::Value =
                    serde_json::from_str(&body).map_err(|e| e.to_string())?;
                Ok(v["hosts"].as_array().map_or(0, Vec::len))
            }
            Parse::Typed => {
                let v: TypedList = serde_json::from_str(&body).map_err(|e| e.to_string())?;
                Ok(v.hosts.len())
            }
        }
    }
}

/// The floor sending what `ours` sends on the wire for the same calls
/// (see the module docs): the parameters in the URL query as the Java
/// naming client puts them, an empty form body for the POST, and the
/// headers the client adds to every request (`Client-Version`,
/// `Request-Module`, `RequestId`, `Accept-Charset`).
struct Wire {
    agent: ureq::Agent,
    base: String,
    grouped: String,
    ids: u64,
}

impl Wire {
    fn new(addr: &str, service: &str) -> Wire {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent("nacos-blocking/0.1.0")
            .max_redirects(0)
            .build()
            .into();
        Wire {
            agent,
            base: format!("http://{addr}/nacos"),
            // Form-encoded: the benchmark's names are `[A-Za-z0-9_-]`.
            grouped: format!("{GROUP}%40%40{service}"),
            ids: 0,
        }
    }

    /// `rb` with the headers ours sends: the Java naming client's and a
    /// UUID-shaped request id, different for every request.
    fn java_headers<B>(&mut self, rb: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        self.ids += 1;
        let id = format!("{:08x}-0000-4000-8000-{:012x}", self.ids >> 48, self.ids);
        rb.header("Client-Version", "2.4.3")
            .header("Request-Module", "Naming")
            .header("RequestId", id)
            .header("Accept-Charset", "UTF-8")
    }
}

impl Contender for Wire {
    fn register(&mut self, port: u16) -> Result<usize, String> {
        let grouped = &self.grouped;
        let url = format!(
            "{}/v1/ns/instance?serviceName={grouped}&groupName={GROUP}&clusterName=DEFAULT&ip={IP}\
             &port={port}&weight=1&enable=true&enabled=true&healthy=true&ephemeral=true&metadata=%7B%7D",
            self.base
        );
        let rb = self.agent.post(url);
        let mut resp = self
            .java_headers(rb)
            .send_form(std::iter::empty::<(&str, &str)>())
            .map_err(|e| e.to_string())?;
        ok_body(&mut resp)?;
        Ok(0)
    }

    fn list(&mut self) -> Result<usize, String> {
        let grouped = &self.grouped;
        let url = format!(
            "{}/v1/ns/instance/list?serviceName={grouped}&healthyOnly=false",
            self.base
        );
        let rb = self.agent.get(url);
        let mut resp = self.java_headers(rb).call().map_err(|e| e.to_string())?;
        let body = ok_body(&mut resp)?;
        Ok(body.matches("\"instanceId\"").count())
    }
}

/// The least a client can do: the register request `ureq-wire` sends
/// (parameters in the query), written by hand on a kept-alive
/// `std::net::TcpStream` with only the headers HTTP/1.1 needs, and the
/// answer read by its `Content-Length`. No HTTP library, no allocation
/// per call beyond the request line. Diagnostic: with `raw-thread` it
/// shows what a live thread costs a round trip on this machine when no
/// HTTP library is involved.
struct Raw {
    stream: std::net::TcpStream,
    host: String,
    grouped: String,
    request: Vec<u8>,
    answer: Vec<u8>,
}

impl Raw {
    fn new(addr: &str, service: &str) -> Result<Raw, String> {
        let stream = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Raw {
            stream,
            host: addr.to_string(),
            // Form-encoded: the benchmark's names are `[A-Za-z0-9_-]`.
            grouped: format!("{GROUP}%40%40{service}"),
            request: Vec::with_capacity(512),
            answer: vec![0; 4096],
        })
    }

    /// Reads more of an answer into `answer[got..]`; returns the new end.
    fn read_more(&mut self, got: usize) -> Result<usize, String> {
        use std::io::Read;
        if got == self.answer.len() {
            return Err("answer over 4 KiB".into());
        }
        match self.stream.read(&mut self.answer[got..]) {
            Ok(0) => Err("connection closed mid-answer".into()),
            Ok(n) => Ok(got + n),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Reads one answer: the head up to its blank line, then the body by
    /// `Content-Length`; `Err` unless it is `200` with the body `ok`.
    fn read_answer(&mut self) -> Result<(), String> {
        let mut got = 0;
        let head_end = loop {
            got = self.read_more(got)?;
            if let Some(i) = self.answer[..got].windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = std::str::from_utf8(&self.answer[..head_end]).map_err(|e| e.to_string())?;
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("answer {head:?}"));
        }
        while got < head_end + len {
            got = self.read_more(got)?;
        }
        match &self.answer[head_end..got] {
            b"ok" => Ok(()),
            other => Err(format!("body {:?}", String::from_utf8_lossy(other))),
        }
    }
}

impl Contender for Raw {
    fn register(&mut self, port: u16) -> Result<usize, String> {
        use std::io::Write;
        self.request.clear();
        write!(
            self.request,
            "POST /nacos/v1/ns/instance?serviceName={}&groupName={GROUP}&clusterName=DEFAULT&ip={IP}\
             &port={port}&weight=1&enable=true&enabled=true&healthy=true&ephemeral=true&metadata=%7B%7D \
             HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n",
            self.grouped, self.host
        )
        .map_err(|e| e.to_string())?;
        self.stream
            .write_all(&self.request)
            .map_err(|e| e.to_string())?;
        self.read_answer()?;
        Ok(0)
    }

    fn list(&mut self) -> Result<usize, String> {
        Err("raw: register only".into())
    }
}

/// Starts `n` threads that wait, without waking, until the process ends:
/// what ours' idle heartbeat threads are to the process.
fn idle_threads(n: usize) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    for _ in 0..n {
        let rx = rx.clone();
        std::thread::spawn(move || {
            // Never answered: the sender is leaked below.
            let _ = rx.lock().map(|r| r.recv());
        });
    }
    std::mem::forget(tx);
}

/// `throughput <contender> <op> <addr> <service> <calls> <warmup> <port base>`
pub fn run(args: &[String]) -> Result<(), String> {
    let [contender, op, addr, service, calls, warmup, base] = args else {
        return Err(
            "expected <contender> <op> <addr> <service> <calls> <warmup> <port base>".into(),
        );
    };
    let num = |s: &str, what: &str| s.parse::<u32>().map_err(|e| format!("{what}: {e}"));
    let (calls, warmup, base) = (
        num(calls, "calls")?,
        num(warmup, "warmup")?,
        num(base, "port base")?,
    );
    if base + calls + warmup > u16::MAX as u32 {
        return Err("port base + calls + warmup must stay below 65536".into());
    }
    let mut c: Box<dyn Contender> = match contender.as_str() {
        "ours" => Box::new(Ours {
            client: NacosClient::new(addr).map_err(|e| e.to_string())?,
            service: service.clone(),
        }),
        "ureq" => Box::new(Floor::new(addr, service, Parse::Text, None)),
        "ureq-json" => Box::new(Floor::new(addr, service, Parse::Value, None)),
        "ureq-typed" => Box::new(Floor::new(addr, service, Parse::Typed, None)),
        "ureq-wire" => Box::new(Wire::new(addr, service)),
        "ureq-threads" => {
            idle_threads(4);
            Box::new(Floor::new(addr, service, Parse::Text, None))
        }
        "raw" => Box::new(Raw::new(addr, service)?),
        "raw-thread" => {
            idle_threads(1);
            Box::new(Raw::new(addr, service)?)
        }
        "ureq-timeout" => Box::new(Floor::new(
            addr,
            service,
            Parse::Text,
            Some(Duration::from_secs(5)),
        )),
        other => return Err(format!("unknown contender {other}")),
    };
    let call = |c: &mut Box<dyn Contender>, i: u32| match op.as_str() {
        "register" => c.register((base + i) as u16),
        "list" => c.list(),
        other => Err(format!("unknown op {other}")),
    };
    // Warm-up: connection set up, caches filled; not timed. Its ports
    // follow the timed ones so no registration repeats.
    let mut seen = 0;
    for i in 0..warmup {
        seen = call(&mut c, calls + i)?;
    }
    let mut ok = 0u32;
    let mut first_err = None;
    let span = Span::start();
    for i in 0..calls {
        match call(&mut c, i) {
            Ok(n) => {
                ok += 1;
                seen = n;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let sample = span.stop();
    if let Some(e) = first_err {
        eprintln!(
            "nbench throughput {contender} {op}: {} of {calls} calls failed; first: {e}",
            calls - ok
        );
    }
    println!(
        "{{\"contender\":\"{contender}\",\"op\":\"{op}\",\"calls\":{calls},\"ok\":{ok},\"instances_seen\":{seen},{}}}",
        sample.json_fields()
    );
    Ok(())
}

/// The body of a `200` answer; anything else is an error with the body.
fn ok_body(resp: &mut ureq::http::Response<ureq::Body>) -> Result<String, String> {
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if resp.status() != 200 {
        return Err(format!("status {}: {body}", resp.status()));
    }
    Ok(body)
}
