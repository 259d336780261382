//! A recording loopback HTTP/1.1 proxy: sits between the client and a real
//! server, records each request's method, path, query, form body and
//! headers, and forwards it unchanged (but for `Connection: close`).
//!
//! One request per client connection: the proxy answers with
//! `Connection: close`, so the client opens a new connection for the next
//! call. A request is recorded when it has arrived, before it is
//! forwarded, so a long poll the server holds is already visible.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request as the client sent it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub raw_head: String,
}

fn find<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

impl Recorded {
    /// Parses a request as it came off the wire: `head` is the request line
    /// and the header lines (CRLF-separated; a trailing blank line is fine),
    /// `body` what followed. The form is decoded only for an
    /// `application/x-www-form-urlencoded` body.
    pub fn parse(head: &str, body: &[u8]) -> Recorded {
        let request_line = head.split("\r\n").next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("");
        let headers = header_pairs(head);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), decode(q)),
            None => (target.to_string(), Vec::new()),
        };
        let form = match find(&headers, "content-type") {
            Some(ct) if ct.starts_with("application/x-www-form-urlencoded") => {
                decode(&String::from_utf8_lossy(body))
            }
            _ => Vec::new(),
        };
        Recorded {
            method,
            path,
            query,
            form,
            headers,
            raw_head: head.trim_end_matches("\r\n").to_string() + "\r\n",
        }
    }

    pub fn query(&self, key: &str) -> Option<&str> {
        find(&self.query, key)
    }
    pub fn form(&self, key: &str) -> Option<&str> {
        find(&self.form, key)
    }
    /// A request parameter as Spring reads it: the query first, then the form.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query(key).or_else(|| self.form(key))
    }
    pub fn header(&self, key: &str) -> Option<&str> {
        find(&self.headers, &key.to_ascii_lowercase())
    }
    /// Query keys, sorted, without `accessToken` (checked on its own).
    pub fn query_keys(&self) -> Vec<&str> {
        keys(&self.query)
    }
    pub fn form_keys(&self) -> Vec<&str> {
        keys(&self.form)
    }
}

fn keys(list: &[(String, String)]) -> Vec<&str> {
    let mut k: Vec<&str> = list
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "accessToken")
        .collect();
    k.sort_unstable();
    k
}

/// Requests in the order they arrived: what the recording proxy and the
/// fake v3 server (`fake_v3.rs`) keep, and how tests ask about them.
#[derive(Debug, Default)]
pub struct RequestLog(Mutex<Vec<Recorded>>);

impl RequestLog {
    pub fn push(&self, r: Recorded) {
        self.0.lock().unwrap().push(r);
    }

    /// Every request recorded so far.
    pub fn all(&self) -> Vec<Recorded> {
        self.0.lock().unwrap().clone()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// The recorded requests to `method path` (path after `/nacos`).
    pub fn to(&self, method: &str, path: &str) -> Vec<Recorded> {
        let full = format!("/nacos{path}");
        self.all()
            .into_iter()
            .filter(|r| r.method == method && r.path == full)
            .collect()
    }

    /// Waits until `cond` holds for the recorded requests.
    pub fn wait_for(&self, within: Duration, cond: impl Fn(&[Recorded]) -> bool) -> bool {
        let end = Instant::now() + within;
        loop {
            if cond(&self.all()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub struct RecordingProxy {
    pub port: u16,
    log: Arc<RequestLog>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RecordingProxy {
    /// Forwards to `127.0.0.1:<upstream>`.
    pub fn start(upstream: u16) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(RequestLog::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (log.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("wire-proxy".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let l = l.clone();
                    // Detached: a long poll may be held for a while.
                    std::thread::spawn(move || {
                        if let Err(e) = relay(stream, upstream, &l) {
                            eprintln!("wire-proxy: {e}");
                        }
                    });
                }
            })
            .unwrap();
        RecordingProxy {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.all()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.log.clear();
    }

    /// The recorded requests to `method path` (path after the context path).
    pub fn to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.log.to(method, path)
    }

    /// Waits until `cond` holds for the recorded requests.
    pub fn wait_for(&self, within: Duration, cond: impl Fn(&[Recorded]) -> bool) -> bool {
        self.log.wait_for(within, cond)
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The header lines of a request head, names lowercased.
fn header_pairs(head: &str) -> Vec<(String, String)> {
    head.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

fn decode(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn relay(mut client: TcpStream, upstream: u16, log: &RequestLog) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some((head, body)) = super::fake::read_request(&mut client) else {
        return Ok(());
    };
    // The head without the blank line that ends it.
    let raw_head = head.strip_suffix("\r\n").unwrap_or(&head);
    let target = raw_head.split(' ').nth(1).unwrap_or("").to_string();
    let headers = header_pairs(raw_head);
    assert!(
        find(&headers, "transfer-encoding").is_none(),
        "wire-proxy: chunked requests are not supported"
    );
    let recorded = Recorded::parse(raw_head, &body);
    let method = recorded.method.clone();
    log.push(recorded);

    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in &headers {
        if k != "connection" {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    up.flush()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    // Make sure the client does not keep this connection for another call.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let mut out: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    out.push("connection: close");
    // `answer[split..]` starts with the blank line that ends the head.
    let out = out.join("\r\n");
    client.write_all(out.as_bytes())?;
    client.write_all(&answer[split.min(answer.len())..])?;
    client.flush()?;
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}
