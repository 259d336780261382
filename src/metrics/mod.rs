//! What a client did, as numbers: [`NacosClient::metrics`] takes a
//! [`Metrics`] snapshot of counters kept as it works (a few relaxed atomic
//! adds per request; per-server counters under one short lock).
//!
//! [`NacosClient::metrics`]: crate::NacosClient::metrics

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::util::lock;

mod histogram;

use histogram::Histogram;

/// What a call was for, as [`Metrics`] counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// Registering an instance (by the caller, or again after a server
    /// lost it).
    Register,
    /// Deregistering an instance (including the graceful leave at shutdown).
    Deregister,
    /// Updating a registered instance.
    UpdateInstance,
    /// Reading one instance (also the heartbeat's occasional read-back).
    GetInstance,
    /// Listing a service's instances for the caller.
    ListInstances,
    /// A heartbeat.
    Beat,
    /// A subscription's poll of a service's instances.
    ServicePoll,
    /// Listing, reading or writing services (not their instances).
    Services,
    /// A catalog watch's poll of a namespace's services.
    CatalogPoll,
    /// Reading a config (by the caller, or after a watch saw it change).
    ConfigRead,
    /// Publishing or removing a config.
    ConfigWrite,
    /// A config watch's check: a v1 long poll, or a v3 read of a watched key.
    ConfigPoll,
    /// Logging in (a token).
    Login,
    /// The server's status, its namespaces.
    Server,
}

impl Operation {
    /// Every operation, in the order [`Metrics::operations`] lists them.
    pub const ALL: [Operation; 14] = [
        Operation::Register,
        Operation::Deregister,
        Operation::UpdateInstance,
        Operation::GetInstance,
        Operation::ListInstances,
        Operation::Beat,
        Operation::ServicePoll,
        Operation::Services,
        Operation::CatalogPoll,
        Operation::ConfigRead,
        Operation::ConfigWrite,
        Operation::ConfigPoll,
        Operation::Login,
        Operation::Server,
    ];

    /// A short lower-case name (`"register"`, `"config_poll"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Register => "register",
            Operation::Deregister => "deregister",
            Operation::UpdateInstance => "update_instance",
            Operation::GetInstance => "get_instance",
            Operation::ListInstances => "list_instances",
            Operation::Beat => "beat",
            Operation::ServicePoll => "service_poll",
            Operation::Services => "services",
            Operation::CatalogPoll => "catalog_poll",
            Operation::ConfigRead => "config_read",
            Operation::ConfigWrite => "config_write",
            Operation::ConfigPoll => "config_poll",
            Operation::Login => "login",
            Operation::Server => "server",
        }
    }

    /// Work no caller waits on: beats and polls.
    pub(crate) fn is_background(self) -> bool {
        matches!(
            self,
            Operation::Beat
                | Operation::ServicePoll
                | Operation::CatalogPoll
                | Operation::ConfigPoll
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Failed calls of one operation, by what failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failures {
    /// The call's deadline passed ([`Error::Timeout`]).
    pub timeout: u64,
    /// No server could be reached ([`Error::Transport`],
    /// [`Error::AllServersFailed`]).
    pub unavailable: u64,
    /// A server refused or failed the call (an HTTP status or a Nacos
    /// error code, [`Error::Conflict`]).
    pub rejected: u64,
    /// Authentication or permission ([`Error::Auth`]).
    pub auth: u64,
    /// An answer that could not be read ([`Error::Decode`]) or anything
    /// else (a call cut short by shutdown is not counted).
    pub other: u64,
}

impl Failures {
    /// Every failure counted.
    pub fn total(&self) -> u64 {
        self.timeout + self.unavailable + self.rejected + self.auth + self.other
    }
}

/// One operation: how often, how often it failed, how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationMetrics {
    /// Which operation.
    pub operation: Operation,
    /// Calls finished (succeeded or failed), retries and failover within a
    /// call included in that one call.
    pub calls: u64,
    /// Of those, the calls that failed, by kind.
    pub failures: Failures,
    /// The median time a call took (failures included; a long poll's time
    /// includes the time the server held it), to within 12.5%.
    pub p50: Option<Duration>,
    /// The 99th percentile, to within 12.5%.
    pub p99: Option<Duration>,
    /// The longest call.
    pub max: Duration,
}

/// One server (as written in the server list): the HTTP requests it was
/// sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerMetrics {
    /// `host:port` as in the server list.
    pub server: String,
    /// Requests sent to it (each attempt of a call; not the probes that
    /// ask which API it speaks).
    pub requests: u64,
    /// Requests that failed there for want of an answer (refused, reset,
    /// timed out, a 5xx).
    pub failures: u64,
    /// Of those, how many moved the call on to another server.
    pub failovers: u64,
}

/// A snapshot of what a client did since it was built; see
/// [`NacosClient::metrics`](crate::NacosClient::metrics). Its `Display` is
/// a small table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// How long ago the client was built.
    pub uptime: Duration,
    /// Every [`Operation`] that was called at least once, in
    /// [`Operation::ALL`] order.
    pub operations: Vec<OperationMetrics>,
    /// Every server a request was sent to.
    pub servers: Vec<ServerMetrics>,
    /// Logins that got a token, the first and every renewal.
    pub logins: u64,
    /// Logins again because a server refused a token it had issued.
    pub relogins: u64,
    /// Subscription polls whose answer was the last one but for its stamps
    /// (nothing decoded, nothing delivered).
    pub service_polls_idle: u64,
    /// Subscription polls that found a change and queued its events.
    pub service_polls_changed: u64,
    /// Config watch checks that found a changed config.
    pub config_changes: u64,
    /// Events handed to listeners, and to watchers' channels (service and
    /// config).
    pub events_delivered: u64,
    /// Events merged into later ones because their listener fell behind
    /// (1,024 waiting, or 16 MiB); a watcher's channel merges past 1,024
    /// on its own and is not counted here.
    pub events_merged: u64,
    /// Events waiting for listeners now.
    pub events_queued: usize,
}

impl Metrics {
    /// The numbers of `operation`, if it was called.
    pub fn operation(&self, operation: Operation) -> Option<&OperationMetrics> {
        self.operations.iter().find(|o| o.operation == operation)
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn ms(d: Option<Duration>) -> String {
            d.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e3))
        }
        writeln!(f, "uptime {:.1} s", self.uptime.as_secs_f64())?;
        writeln!(
            f,
            "{:<16} {:>8} {:>8} {:>10} {:>10} {:>10}",
            "operation", "calls", "failed", "p50 ms", "p99 ms", "max ms"
        )?;
        for o in &self.operations {
            writeln!(
                f,
                "{:<16} {:>8} {:>8} {:>10} {:>10} {:>10}",
                o.operation.name(),
                o.calls,
                o.failures.total(),
                ms(o.p50),
                ms(o.p99),
                ms(Some(o.max)),
            )?;
        }
        for s in &self.servers {
            writeln!(
                f,
                "server {}: {} requests, {} failed, {} failovers",
                s.server, s.requests, s.failures, s.failovers
            )?;
        }
        writeln!(
            f,
            "logins {} (again after a refusal: {}); service polls idle {}, changed {}; \
             config changes {}",
            self.logins,
            self.relogins,
            self.service_polls_idle,
            self.service_polls_changed,
            self.config_changes
        )?;
        write!(
            f,
            "events delivered {}, merged {}, queued {}",
            self.events_delivered, self.events_merged, self.events_queued
        )
    }
}

#[derive(Default)]
struct OperationCounters {
    calls: AtomicU64,
    timeout: AtomicU64,
    unavailable: AtomicU64,
    rejected: AtomicU64,
    auth: AtomicU64,
    other: AtomicU64,
    latency: Histogram,
}

#[derive(Default)]
struct ServerCounters {
    requests: u64,
    failures: u64,
    failovers: u64,
}

/// Where a client's parts count what they do.
pub(crate) struct Recorder {
    started: Instant,
    operations: [OperationCounters; Operation::ALL.len()],
    /// By server label; a handful of entries, so a list.
    servers: Mutex<Vec<(String, ServerCounters)>>,
    logins: AtomicU64,
    relogins: AtomicU64,
    polls_idle: AtomicU64,
    polls_changed: AtomicU64,
    config_changes: AtomicU64,
    delivered: AtomicU64,
    merged: AtomicU64,
    queued: AtomicUsize,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            started: Instant::now(),
            operations: std::array::from_fn(|_| OperationCounters::default()),
            servers: Mutex::new(Vec::new()),
            logins: AtomicU64::new(0),
            relogins: AtomicU64::new(0),
            polls_idle: AtomicU64::new(0),
            polls_changed: AtomicU64::new(0),
            config_changes: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            merged: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Recorder {
    /// One call of `op` finished after `took`.
    pub(crate) fn call(&self, op: Operation, took: Duration, outcome: Result<(), &Error>) {
        let c = &self.operations[op.index()];
        let kind = match outcome {
            Ok(()) => None,
            // Not a failure of the call: the client stopped it.
            Err(Error::Shutdown) => return,
            Err(Error::Timeout { .. }) => Some(&c.timeout),
            Err(Error::Transport { .. } | Error::AllServersFailed { .. }) => Some(&c.unavailable),
            Err(Error::Status { .. } | Error::Api { .. } | Error::Conflict { .. }) => {
                Some(&c.rejected)
            }
            Err(Error::Auth { .. }) => Some(&c.auth),
            Err(_) => Some(&c.other),
        };
        bump(&c.calls);
        if let Some(kind) = kind {
            bump(kind);
        }
        c.latency.record(took);
        if op == Operation::Login && outcome.is_ok() {
            bump(&self.logins);
        }
    }

    /// One request went to `server`; `failed` when it got no usable answer
    /// there.
    pub(crate) fn request(&self, server: &str, failed: bool) {
        self.server(server, |c| {
            c.requests += 1;
            c.failures += u64::from(failed);
        });
    }

    /// A call that failed on `server` went on to another.
    pub(crate) fn failover(&self, server: &str) {
        self.server(server, |c| c.failovers += 1);
    }

    fn server(&self, server: &str, update: impl FnOnce(&mut ServerCounters)) {
        let mut servers = lock(&self.servers);
        let at = match servers.iter().position(|(s, _)| s == server) {
            Some(at) => at,
            None => {
                servers.push((server.to_string(), ServerCounters::default()));
                servers.len() - 1
            }
        };
        update(&mut servers[at].1);
    }

    pub(crate) fn relogin(&self) {
        bump(&self.relogins);
    }

    /// A subscription poll: `changed` when it queued events, else idle.
    pub(crate) fn service_poll(&self, changed: bool) {
        bump(if changed {
            &self.polls_changed
        } else {
            &self.polls_idle
        });
    }

    pub(crate) fn config_changed(&self) {
        bump(&self.config_changes);
    }

    /// `n` events were queued for listeners.
    pub(crate) fn queued(&self, n: usize) {
        self.queued.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` queued events left their queue without being delivered (dropped
    /// with their listener).
    pub(crate) fn unqueued(&self, n: usize) {
        // Never below zero, whatever the order of updates.
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(n))
            });
    }

    /// `n` queued events were merged into one.
    pub(crate) fn merged(&self, n: usize) {
        if n > 1 {
            self.merged.fetch_add(n as u64 - 1, Ordering::Relaxed);
            self.unqueued(n - 1);
        }
    }

    /// One queued event was handed to its listener.
    pub(crate) fn delivered(&self) {
        bump(&self.delivered);
        self.unqueued(1);
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        let operations = Operation::ALL
            .iter()
            .zip(&self.operations)
            .filter_map(|(&operation, c)| {
                let calls = c.calls.load(Ordering::Relaxed);
                (calls > 0).then(|| OperationMetrics {
                    operation,
                    calls,
                    failures: Failures {
                        timeout: c.timeout.load(Ordering::Relaxed),
                        unavailable: c.unavailable.load(Ordering::Relaxed),
                        rejected: c.rejected.load(Ordering::Relaxed),
                        auth: c.auth.load(Ordering::Relaxed),
                        other: c.other.load(Ordering::Relaxed),
                    },
                    p50: c.latency.quantile(0.5),
                    p99: c.latency.quantile(0.99),
                    max: c.latency.max(),
                })
            })
            .collect();
        let servers = lock(&self.servers)
            .iter()
            .map(|(server, c)| ServerMetrics {
                server: server.clone(),
                requests: c.requests,
                failures: c.failures,
                failovers: c.failovers,
            })
            .collect();
        Metrics {
            uptime: self.started.elapsed(),
            operations,
            servers,
            logins: self.logins.load(Ordering::Relaxed),
            relogins: self.relogins.load(Ordering::Relaxed),
            service_polls_idle: self.polls_idle.load(Ordering::Relaxed),
            service_polls_changed: self.polls_changed.load(Ordering::Relaxed),
            config_changes: self.config_changes.load(Ordering::Relaxed),
            events_delivered: self.delivered.load(Ordering::Relaxed),
            events_merged: self.merged.load(Ordering::Relaxed),
            events_queued: self.queued.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
