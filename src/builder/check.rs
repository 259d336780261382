//! Validation: everything `build()` checks before anything starts, and
//! the [`Settings`] a valid builder makes.

use std::time::Duration;

use super::ClientBuilder;
use crate::error::{Error, Result};
use crate::settings::{Credentials, Servers, Settings};
use crate::transport::server_list::{self, ServerAddr, DEFAULT_PORT};
use crate::validate::{self, DEFAULT_HEART_BEAT_TIMEOUT};

/// The port of an address server given without one.
const ENDPOINT_DEFAULT_PORT: u16 = 8080;

/// The shortest subscription poll interval accepted.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The longest timeout accepted (connect, call, long poll): longer ones
/// are mistakes, and would overflow the clock arithmetic if unbounded.
pub(super) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The longest interval accepted (subscription polls, address-server refresh).
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// The most retry rounds accepted.
pub(super) const MAX_RETRIES: u32 = 100;

/// The largest response cap accepted.
pub(super) const MAX_RESPONSE_BYTES: u64 = 1 << 30;

/// The shortest long poll servers honour (both clamp shorter ones up).
const MIN_LONG_POLL: Duration = Duration::from_secs(10);

impl ClientBuilder {
    pub(crate) fn into_settings(self) -> Result<Settings> {
        let cache_dir = match (self.disk_cache, &self.cache_dir) {
            (false, _) => None,
            (true, Some(dir)) => Some(dir.clone()),
            (true, None) => crate::disk::default_cache_dir(),
        };
        if let Some(dir) = &cache_dir {
            if let Some(why) = crate::disk::unsafe_cache_dir(dir) {
                return Err(Error::invalid(
                    "cache_dir",
                    format!("{} cannot hold cached configs: {why}", dir.display()),
                ));
            }
        }
        let servers = match &self.endpoint {
            Some(ep) if self.server_addr.trim().is_empty() => {
                if self.endpoint_refresh.is_zero() {
                    return Err(Error::invalid("endpoint_refresh", "must be above zero"));
                }
                let addr = ServerAddr::parse(ep, ENDPOINT_DEFAULT_PORT).map_err(|_| {
                    Error::invalid("endpoint", format!("`{ep}` is not host[:port]"))
                })?;
                Servers::Endpoint {
                    url: format!("{}/nacos/serverlist", addr.base()),
                    refresh: self.endpoint_refresh,
                }
            }
            Some(_) => {
                return Err(Error::invalid(
                    "endpoint",
                    "give either server_addr or endpoint, not both",
                ))
            }
            None => {
                let list = server_list::parse_list(&self.server_addr, DEFAULT_PORT)?;
                if list.is_empty() {
                    return Err(Error::invalid("server_addr", "no server given"));
                }
                if cfg!(not(feature = "tls")) && list.iter().any(|s| s.base().starts_with("https:"))
                {
                    return Err(Error::invalid(
                        "server_addr",
                        "https:// needs the crate's `tls` feature",
                    ));
                }
                Servers::Fixed(list)
            }
        };
        let context_path = normalize_context_path(&self.context_path)?;
        validate::namespace(&self.namespace)?;
        validate::name("group", &self.group)?;
        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("timeout", self.timeout),
        ] {
            if d.is_zero() {
                return Err(Error::invalid(field, "must be above zero"));
            }
        }
        for (field, d, max) in [
            ("connect_timeout", Some(self.connect_timeout), MAX_TIMEOUT),
            ("timeout", Some(self.timeout), MAX_TIMEOUT),
            (
                "long_poll_timeout",
                Some(self.long_poll_timeout),
                MAX_TIMEOUT,
            ),
            ("poll_interval", self.poll_interval, MAX_INTERVAL),
            (
                "config_poll_interval",
                Some(self.config_poll_interval),
                MAX_INTERVAL,
            ),
            (
                "endpoint_refresh",
                Some(self.endpoint_refresh),
                MAX_INTERVAL,
            ),
        ] {
            if d.is_some_and(|d| d > max) {
                return Err(Error::invalid(field, format!("must be at most {max:?}")));
            }
        }
        if !(1..=10_000).contains(&self.config_poll_rate) {
            return Err(Error::invalid(
                "config_poll_rate",
                "must be from 1 to 10,000 requests a second",
            ));
        }
        if self.retries > MAX_RETRIES {
            return Err(Error::invalid(
                "retries",
                format!("must be at most {MAX_RETRIES}"),
            ));
        }
        if let Some(name) = &self.app_name {
            if !name.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err(Error::invalid(
                    "app_name",
                    "is sent as a header: printable ASCII only (no control characters)",
                ));
            }
        }
        if self
            .username
            .as_deref()
            .is_some_and(|u| u.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "username",
                "must not contain control characters",
            ));
        }
        for (field, dir) in [
            ("cache_dir", &self.cache_dir),
            ("config_failover_dir", &self.config_failover_dir),
        ] {
            if dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
                return Err(Error::invalid(field, "must not be empty"));
            }
        }
        if let Some(d) = self.poll_interval {
            if d < MIN_POLL_INTERVAL {
                return Err(Error::invalid(
                    "poll_interval",
                    format!("{d:?} is below the minimum of 100 ms"),
                ));
            }
        }
        if self.heartbeat_interval.is_zero() {
            return Err(Error::invalid("heartbeat_interval", "must be above zero"));
        }
        if self.heartbeat_interval >= DEFAULT_HEART_BEAT_TIMEOUT {
            return Err(Error::invalid(
                "heartbeat_interval",
                "must be below the server's heartbeat timeout (15 s)",
            ));
        }
        if self.push_empty_window > Duration::from_secs(600) {
            return Err(Error::invalid(
                "push_empty_window",
                "must be at most 10 minutes",
            ));
        }
        if self.config_poll_interval < MIN_POLL_INTERVAL {
            return Err(Error::invalid(
                "config_poll_interval",
                "must be at least 100 ms",
            ));
        }
        if self.long_poll_timeout < MIN_LONG_POLL {
            return Err(Error::invalid("long_poll_timeout", "must be at least 10 s"));
        }
        if !(1024..=MAX_RESPONSE_BYTES).contains(&self.max_response_bytes) {
            return Err(Error::invalid(
                "max_response_bytes",
                format!("must be from 1024 to {MAX_RESPONSE_BYTES}"),
            ));
        }
        let credentials = match (self.username, self.password) {
            (None, None) => None,
            (Some(u), _) if u.is_empty() => {
                return Err(Error::invalid("username", "must not be empty"))
            }
            (Some(username), Some(password)) => Some(Credentials { username, password }),
            (Some(_), None) => {
                return Err(Error::invalid("password", "a username needs a password"))
            }
            (None, Some(_)) => {
                return Err(Error::invalid("username", "a password needs a username"))
            }
        };
        #[cfg(feature = "aksk")]
        let aksk = match (self.access_key, self.secret_key, self.security_token) {
            (None, None, None) => None,
            (Some(access_key), Some(secret_key), security_token)
                if !access_key.is_empty() && !secret_key.is_empty() =>
            {
                Some(crate::transport::sign::AkSk {
                    access_key,
                    secret_key,
                    security_token: security_token.filter(|t| !t.is_empty()),
                })
            }
            (None | Some(_), _, _) => {
                return Err(Error::invalid(
                    "access_key",
                    "AK/SK signing needs both a non-empty access key and secret key",
                ))
            }
        };
        Ok(Settings {
            #[cfg(feature = "aksk")]
            aksk,
            servers,
            context_path,
            namespace: self.namespace,
            group: self.group,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            retries: self.retries,
            app_name: self.app_name,
            credentials,
            max_response_bytes: self.max_response_bytes,
            tls_roots: parse_pem_certificates(&self.tls_roots_pem.0)?,
            cache_dir,
            poll_interval: self.poll_interval,
            push_empty_protection: self.push_empty_protection,
            push_empty_window: self.push_empty_window,
            load_cache_at_start: self.load_cache_at_start,
            heartbeat_interval: self.heartbeat_interval,
            auto_heartbeat: self.auto_heartbeat,
            deregister_on_shutdown: self.deregister_on_shutdown,
            light_heartbeats: self.light_heartbeats,
            long_poll_timeout: self.long_poll_timeout,
            api: self.api,
            config_poll_interval: self.config_poll_interval,
            config_poll_rate: self.config_poll_rate,
            config_failover_dir: self.config_failover_dir,
            snapshot_encrypted: self.snapshot_encrypted,
        })
    }
}

/// The DER certificates in PEM blocks; an error when a block yields none.
#[cfg(feature = "tls")]
fn parse_pem_certificates(pems: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for pem in pems {
        let before = out.len();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => out.push(c.der().to_vec()),
                Ok(_) => {}
                Err(e) => return Err(Error::invalid("tls_root_certificates_pem", e.to_string())),
            }
        }
        if out.len() == before {
            return Err(Error::invalid(
                "tls_root_certificates_pem",
                "no certificate in the PEM given",
            ));
        }
    }
    Ok(out)
}

#[cfg(not(feature = "tls"))]
fn parse_pem_certificates(_: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    Ok(Vec::new())
}

/// `nacos`, `/nacos/`, `/` → `/nacos`, `/nacos`, `` (no trailing slash),
/// with `.` and `..` segments resolved (the one place the path is
/// normalized: requests use it as it is).
fn normalize_context_path(path: &str) -> Result<String> {
    let trimmed = path.trim().trim_matches('/');
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')))
        || trimmed.contains("//")
    {
        return Err(Error::invalid(
            "context_path",
            format!("`{path}` is not a plain path"),
        ));
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in trimmed.split('/').filter(|s| !s.is_empty()) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    Ok(segments.iter().map(|s| format!("/{s}")).collect())
}
