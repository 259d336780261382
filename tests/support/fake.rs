//! Fake HTTP servers for what the real server cannot do on demand:
//! count connections, stall forever, answer with canned bytes (binary
//! ones too, e.g. a gzip bomb), or echo what they were sent. Also the
//! HTTP plumbing of the fake v3 server (`fake_v3.rs`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Gets the request head and body; returns the raw response bytes
/// (`None`: keep the connection open and never answer).
type Handler = dyn Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync;

/// A loopback server on a free port. Every accepted connection is counted;
/// the handler gets the request head and returns the raw response to send
/// (`None`: keep the connection open and never answer).
pub struct FakeServer {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    /// Connections being served, closed when the server is dropped.
    open: Arc<Mutex<HashMap<usize, TcpStream>>>,
}

impl FakeServer {
    pub fn start(handler: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> FakeServer {
        FakeServer::start_raw(move |head, _| handler(head).map(String::into_bytes))
    }

    /// Like [`start`](Self::start), but the handler also gets the request
    /// body and answers with raw bytes.
    pub fn start_raw(
        handler: impl Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> FakeServer {
        FakeServer::start_raw_on(0, handler).unwrap()
    }

    /// Like [`start_raw`](Self::start_raw), on loopback port `port` (`0`:
    /// any free one); fails when the port is taken. Dropping the server
    /// closes its connections, so the same port can host a "restarted"
    /// server at once.
    pub fn start_raw_on(
        port: u16,
        handler: impl Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(Mutex::new(HashMap::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (a, s, h, r, o) = (
            accepted.clone(),
            stop.clone(),
            held.clone(),
            requests.clone(),
            open.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let id = a.fetch_add(1, Ordering::SeqCst);
                        // Accepted sockets may inherit non-blocking mode.
                        let _ = stream.set_nonblocking(false);
                        if let Ok(clone) = stream.try_clone() {
                            o.lock().unwrap().insert(id, clone);
                        }
                        let handler = handler.clone();
                        let (h, r, o) = (h.clone(), r.clone(), o.clone());
                        std::thread::spawn(move || {
                            serve(stream, &*handler, &h, &r);
                            o.lock().unwrap().remove(&id);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(FakeServer {
            port,
            accepted,
            requests,
            stop,
            thread: Some(thread),
            held,
            open,
        })
    }

    /// Accepts and never answers.
    pub fn stalling() -> FakeServer {
        FakeServer::start(|_| None)
    }

    /// Answers every request with `200` and `body`.
    pub fn answering(body: &'static str) -> FakeServer {
        FakeServer::start(move |_| Some(ok(body)))
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Requests read so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A `200 OK` response with `body`.
pub fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    )
}

/// A response with `status` (and its reason), `headers` and a binary `body`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Whatever",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one request from `stream`: its head (up to the blank line) and
/// its `Content-Length` body. `None` when the client closed the connection
/// or the read failed.
pub fn read_request(stream: &mut impl Read) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn serve(
    mut stream: TcpStream,
    handler: &Handler,
    held: &Mutex<Vec<TcpStream>>,
    requests: &AtomicUsize,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    loop {
        let Some((head, body)) = read_request(&mut stream) else {
            return;
        };
        requests.fetch_add(1, Ordering::SeqCst);
        match handler(&head, &body) {
            Some(resp) => {
                if stream.write_all(&resp).is_err() || closes_after(&head) {
                    return;
                }
            }
            None => {
                held.lock().unwrap().push(stream);
                return;
            }
        }
    }
}

/// `true` when the client asked for the connection to end after this
/// request: HTTP/1.0 without `Connection: keep-alive`, or `Connection: close`.
fn closes_after(head: &str) -> bool {
    let connection = head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("connection")
            .then(|| v.trim().to_ascii_lowercase())
    });
    let http10 = head.lines().next().is_some_and(|l| l.ends_with("HTTP/1.0"));
    match connection.as_deref() {
        Some("close") => true,
        Some("keep-alive") => false,
        _ => http10,
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.held.lock().unwrap().clear();
        for (_, s) in self.open.lock().unwrap().drain() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}
