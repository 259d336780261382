//! Server addresses: parsing, the live list, and failover order.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// The port a server entry without one gets.
pub(crate) const DEFAULT_PORT: u16 = 8848;

/// One Nacos server: where to send requests.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ServerAddr {
    /// `http://host:port` (IPv6 hosts in brackets), no trailing slash.
    base: String,
    /// `host:port`, for errors and logs.
    label: String,
    /// The host is an IP address (no name to resolve).
    ip: bool,
}

/// The longest server entry read: a scheme, a 253-byte host name and a
/// port fit well within it.
const MAX_ENTRY: usize = 300;

/// A name a resolver can be asked for: dot-separated labels of ASCII
/// letters, digits, `-` and `_` (container and `/etc/hosts` names use it),
/// each 1–63 bytes, 253 in all.
fn is_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A host as the URL writes it (an IPv6 address in brackets, names in
/// lower case), and whether it is an IP address. Names are checked here,
/// before anything asks a resolver for them; a name that ends in a number
/// is refused unless it is a dotted-quad IPv4 address, so that `127.1` or
/// `0x7f.1` (which resolvers read as addresses, each its own way) never
/// reaches one.
fn parse_host(host: &str) -> std::result::Result<(String, bool), &'static str> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("an unclosed `[`")?;
        let a: Ipv6Addr = inner
            .parse()
            .map_err(|_| "not an IPv6 address between `[` and `]`")?;
        return Ok((format!("[{a}]"), true));
    }
    if let Ok(a) = host.parse::<Ipv4Addr>() {
        return Ok((a.to_string(), true));
    }
    if !host.is_ascii() {
        return Err("write an internationalized host name in its ASCII (`xn--`) form");
    }
    if !is_server_name(host) {
        return Err("not a host name (letters, digits, `-` and `_` in dot-separated labels)");
    }
    let last = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err("an IPv4 address is four decimal numbers: `127.0.0.1`");
    }
    Ok((host.to_ascii_lowercase(), false))
}

impl ServerAddr {
    /// Parses one entry: `host`, `host:port`, `[v6]:port`, `http://…` or `https://…`.
    pub(crate) fn parse(entry: &str, default_port: u16) -> Result<ServerAddr> {
        let entry = entry.trim();
        if entry.len() > MAX_ENTRY {
            let start: String = entry.chars().take(40).collect();
            return Err(Error::invalid(
                "server_addr",
                format!(
                    "`{start}…`: longer than {MAX_ENTRY} bytes ({} bytes)",
                    entry.len()
                ),
            ));
        }
        let bad = |why: &str| Error::invalid("server_addr", format!("`{entry}`: {why}"));
        if entry.is_empty() {
            return Err(bad("empty server address"));
        }
        if entry.contains([';', ' ', '\t', '\n']) {
            return Err(bad("separate servers with commas: `h1:8848,h2:8848`"));
        }
        let (scheme, rest) = if let Some(r) = entry.strip_prefix("http://") {
            ("http", r)
        } else if let Some(r) = entry.strip_prefix("https://") {
            ("https", r)
        } else if entry.contains("://") {
            return Err(bad("only http:// and https:// are supported"));
        } else {
            ("", entry)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if let Some((_, path)) = rest.split_once('/') {
            if path.trim_end_matches('/') == "nacos" {
                return Err(bad(
                    "`/nacos` is already the default context path: give host and port only",
                ));
            }
        }
        if rest.contains('/') || rest.contains('?') || rest.contains('#') || rest.contains('@') {
            return Err(bad(
                "give host and port only; set the context path separately",
            ));
        }
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => default_port,
        };
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("cannot read host and port"))?;
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return Err(bad("port must be 1..=65535")),
            },
        };
        if host.contains(':') && !host.starts_with('[') {
            // `::1:8848`: an address ending in 8848, or `::1` on port 8848?
            return Err(bad(
                "write an IPv6 address in brackets, the port after them: `[::1]:8848`",
            ));
        }
        let (host, ip) = parse_host(host).map_err(bad)?;
        let scheme = if scheme.is_empty() { "http" } else { scheme };
        Ok(ServerAddr {
            base: format!("{scheme}://{host}:{port}"),
            label: format!("{host}:{port}"),
            ip,
        })
    }

    /// Whether the host is an IP address.
    pub(crate) fn is_ip(&self) -> bool {
        self.ip
    }

    /// `http://host:port`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `host:port`.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

impl fmt::Debug for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &s[..close + 2];
        let after = &rest[close + 1..];
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match s.matches(':').count() {
        0 => Some((s, None)),
        1 => {
            let (h, p) = s.split_once(':')?;
            Some((h, Some(p)))
        }
        // A bare IPv6 address: no port can be told apart.
        _ => Some((s, None)),
    }
}

/// Parses a comma-separated list of server entries.
pub(crate) fn parse_list(list: &str, default_port: u16) -> Result<Vec<ServerAddr>> {
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let addr = ServerAddr::parse(entry, default_port)?;
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    Ok(out)
}

/// The live server list, shared by every call and thread of a client.
///
/// Calls start at the server that last worked and move round-robin on
/// failure; a new client starts at a random server.
#[derive(Debug)]
pub(crate) struct ServerList {
    servers: RwLock<Arc<Vec<ServerAddr>>>,
    cursor: AtomicUsize,
}

impl ServerList {
    pub(crate) fn new(servers: Vec<ServerAddr>) -> ServerList {
        let start = crate::util::random_u64() as usize;
        ServerList {
            servers: RwLock::new(Arc::new(servers)),
            cursor: AtomicUsize::new(start),
        }
    }

    /// The servers in the order one call should try them.
    #[cfg(test)]
    pub(crate) fn rotation(&self) -> Vec<ServerAddr> {
        let servers = self.snapshot();
        if servers.is_empty() {
            return Vec::new();
        }
        let start = self.cursor.load(Ordering::Relaxed) % servers.len();
        servers[start..]
            .iter()
            .chain(&servers[..start])
            .cloned()
            .collect()
    }

    /// The current list and where one call should start in it (try
    /// `list[(start + i) % len]`): [`rotation`](Self::rotation) without
    /// copying a single address.
    pub(crate) fn rotated(&self) -> (Arc<Vec<ServerAddr>>, usize) {
        let servers = self.snapshot();
        let start = match servers.len() {
            0 => 0,
            n => self.cursor.load(Ordering::Relaxed) % n,
        };
        (servers, start)
    }

    /// The current list.
    pub(crate) fn snapshot(&self) -> Arc<Vec<ServerAddr>> {
        self.servers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Moves the starting point past `failed`, so later calls begin elsewhere.
    pub(crate) fn mark_failed(&self, failed: &ServerAddr) {
        let servers = self.snapshot();
        if let Some(i) = servers.iter().position(|s| s == failed) {
            self.cursor.store(i + 1, Ordering::Relaxed);
        }
    }

    /// Replaces the list (address-server refresh). An empty list is ignored.
    pub(crate) fn replace(&self, new: Vec<ServerAddr>) -> bool {
        if new.is_empty() {
            return false;
        }
        let mut guard = self.servers.write().unwrap_or_else(|p| p.into_inner());
        if **guard == new {
            return false;
        }
        *guard = Arc::new(new);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> String {
        ServerAddr::parse(s, DEFAULT_PORT)
            .unwrap()
            .base()
            .to_string()
    }

    #[test]
    fn parses_every_documented_form() {
        assert_eq!(base("127.0.0.1"), "http://127.0.0.1:8848");
        assert_eq!(base("nacos.local:9000"), "http://nacos.local:9000");
        assert_eq!(base("http://10.0.0.1:8848"), "http://10.0.0.1:8848");
        assert_eq!(
            base("https://nacos.example.com"),
            "https://nacos.example.com:443"
        );
        assert_eq!(base("http://h/"), "http://h:80");
        assert_eq!(base("[::1]:8848"), "http://[::1]:8848");
        assert_eq!(base("[::1]"), "http://[::1]:8848");
        assert_eq!(base(" Nacos:1 "), "http://nacos:1");
        assert_eq!(base("[0:0::1]:1"), "http://[::1]:1");
        assert_eq!(base("NACOS.Example.COM"), "http://nacos.example.com:8848");
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in [
            "",
            "host:0",
            "host:70000",
            "host:abc",
            "ftp://h",
            "http://h:1/nacos",
            "[::1",
            "bad host",
            "user@h:1",
            "garbage!!",
            "::1",
            "::1:8848",
            "a..b",
            "-a.b",
            "h$:1",
        ] {
            let e = ServerAddr::parse(bad, DEFAULT_PORT).unwrap_err();
            assert_eq!(e.invalid_field(), Some("server_addr"), "{bad}");
        }
        // Each says how to write it.
        let says = |entry: &str, hint: &str| {
            let e = ServerAddr::parse(entry, DEFAULT_PORT)
                .unwrap_err()
                .to_string();
            assert!(e.contains(hint), "{entry}: {e}");
        };
        says("a;b", "separate servers with commas");
        says("a b", "separate servers with commas");
        says("::1:8848", "[::1]:8848");
        says(
            "http://h:8848/nacos",
            "`/nacos` is already the default context path",
        );
        says(
            "http://h:8848/nacos/",
            "`/nacos` is already the default context path",
        );
        says("http://h:8848/other", "set the context path separately");
        // A huge entry is refused without being copied into the error.
        let huge = "a".repeat(10 * 1024 * 1024);
        let e = ServerAddr::parse(&huge, DEFAULT_PORT).unwrap_err();
        assert!(e.to_string().len() < 300, "{}", e.to_string().len());
        // Hosts that end in a number are addresses or nothing: resolvers
        // read `127.1` and `0x7f.1` as addresses, each its own way.
        for numeric in [
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "a.0x1F",
            "1.2.3.4.5",
            "h.123",
        ] {
            says(numeric, "four decimal numbers");
        }
        says("ünï.example", "(`xn--`) form");
        says("[::1]x:1", "cannot read host and port");
        says("[::g]:1", "not an IPv6 address");
        for good in [
            "nacos_1:8848",
            "localhost",
            "a-b.c.example.",
            "x.y_z",
            "h.0xg",
            "0x1.example",
            "xn--n3h.example",
        ] {
            assert!(ServerAddr::parse(good, DEFAULT_PORT).is_ok(), "{good}");
        }
    }

    #[test]
    fn list_dedups_and_rotates() {
        let list = parse_list("a:1, b:2,a:1,,c:3", DEFAULT_PORT).unwrap();
        assert_eq!(list.len(), 3);
        let sl = ServerList::new(list.clone());
        let r = sl.rotation();
        assert_eq!(r.len(), 3);
        sl.mark_failed(&r[0]);
        assert_eq!(sl.rotation()[0], r[1]);
        assert!(!sl.replace(Vec::new()));
        assert!(sl.replace(vec![list[0].clone()]));
        assert_eq!(sl.rotation(), vec![list[0].clone()]);
    }
}
