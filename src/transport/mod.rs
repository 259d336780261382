//! The HTTP transport: one keep-alive agent, failover across servers,
//! retries within a deadline, standard headers and auth. The request model
//! is in `request.rs` (its parameters' encoding in `form.rs`), the headers
//! every request carries in `headers.rs`, one attempt on one server (URL,
//! exchange, classification) in `attempt.rs`, the API probe (and the v3 retry
//! of a call a Nacos 3.0/3.1 server gates) in `probe.rs` with what each
//! server speaks in `dialect.rs`, body reading in `body.rs`, the stop signal
//! that ends every pause at shutdown in `stop.rs`; the server list in
//! `server_list.rs` (which `client/address_server.rs` keeps fresh from an
//! address server), the token and login in `auth.rs` and `login.rs`,
//! AK/SK signing in `sign.rs`, and the v3 answer envelope in `envelope.rs`. Only ureq's public, versioned API is used (none of its
//! unstable modules): a caret requirement on ureq 3 keeps working as
//! ureq moves on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::Agent;

use crate::error::{snippet, Error, Result};
use crate::metrics::{Operation, Recorder};
use crate::settings::Settings;
use crate::threads::schedule::backoff;
use crate::transport::auth::{Auth, Token};
use crate::transport::dialect::Dialects;
use crate::transport::server_list::{ServerAddr, ServerList};
use crate::util;

mod attempt;
pub(crate) mod auth;
mod body;
pub(crate) mod dialect;
pub(crate) mod envelope;
mod form;
mod headers;
mod login;
mod probe;
mod request;
pub(crate) mod server_list;
#[cfg(feature = "aksk")]
pub(crate) mod sign;
mod stop;

use attempt::transport;
use body::{read_capped, BodyError};
use headers::StandardHeaders;
pub(crate) use request::{Build, Method, Module, Request, Response, Timing};
use stop::Stop;

const USER_AGENT: &str = concat!("nacos-blocking/", env!("CARGO_PKG_VERSION"));

pub(crate) use headers::CLIENT_VERSION;

/// The first and the longest pause between two rounds over the server
/// list.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// What one attempt on one server came to.
enum Attempt {
    Done(Response),
    /// Try the next server (connect error, timeout, 5xx).
    Next(Error),
    /// Stop here (4xx).
    Fail(Error),
    /// 403: the token may be stale.
    Forbidden(Error),
    /// An answer larger than `max_response_bytes`: asking this server again
    /// costs the same, another server may answer within bounds.
    Oversize(Error),
    /// 410 to a v1 call: switched off on this server (Nacos 3.0/3.1
    /// `ApiCompatibilityFilter`); its v3 form may be open.
    Gone(Error),
}

/// Sends requests for one client; shared by all its threads.
#[derive(Debug)]
pub(crate) struct Transport {
    agent: Agent,
    servers: ServerList,
    context_path: String,
    connect_timeout: Duration,
    timeout: Duration,
    retries: u32,
    max_response_bytes: u64,
    app_name: Option<String>,
    /// The headers every request carries.
    headers: StandardHeaders,
    auth: Auth,
    dialects: Dialects,
    #[cfg(feature = "aksk")]
    signer: Option<crate::transport::sign::Signer>,
    stop: Stop,
    /// Whether an attempt failed since the last success.
    failing: AtomicBool,
    /// Told when a request succeeds after a failure (the servers are back).
    recovery: Mutex<Vec<crossbeam_channel::Sender<()>>>,
    metrics: Arc<Recorder>,
}

/// The time one call has: its deadline, its whole length (the timeout
/// plus the hold), how long a server may hold it (a long poll), and
/// whether it is background work (see `attempt.rs`).
#[derive(Clone, Copy)]
struct Bounds {
    deadline: Instant,
    total: Duration,
    hold: Duration,
    background: bool,
}

impl Transport {
    pub(crate) fn new(
        settings: &Settings,
        servers: Vec<ServerAddr>,
        metrics: Arc<Recorder>,
    ) -> Transport {
        let builder = Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .max_redirects(0)
            .max_idle_connections_per_host(8)
            .max_idle_age(Duration::from_secs(30))
            // What a request with the whole timeout as its budget runs on
            // (see `exchange` in `attempt.rs`).
            .timeout_global(Some(settings.timeout))
            .timeout_connect(Some(settings.connect_timeout.min(settings.timeout)));
        #[cfg(feature = "tls")]
        let builder = if settings.tls_roots.is_empty() {
            builder
        } else {
            let roots: Vec<ureq::tls::Certificate<'static>> = settings
                .tls_roots
                .iter()
                .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
                .collect();
            builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                    .build(),
            )
        };
        // ureq resolves the host of every request, on a thread of its own
        // whenever a whole-request timeout applies, even for an IP address:
        // callers' calls pay it (measured in the benchmark report; doing
        // without it took ureq's unstable resolver API), background work
        // to IP servers bounds each phase instead (`exchange`).
        let agent: Agent = builder.build().into();
        Transport {
            agent,
            servers: ServerList::new(servers),
            context_path: settings.context_path.clone(),
            connect_timeout: settings.connect_timeout,
            timeout: settings.timeout,
            retries: settings.retries,
            max_response_bytes: settings.max_response_bytes,
            app_name: settings.app_name.clone(),
            headers: StandardHeaders::new(settings.app_name.as_deref()),
            auth: Auth::new(settings.credentials.clone()),
            dialects: Dialects::new(settings.api),
            #[cfg(feature = "aksk")]
            signer: settings
                .aksk
                .clone()
                .map(crate::transport::sign::Signer::new),
            stop: Stop::default(),
            failing: AtomicBool::new(false),
            recovery: Mutex::new(Vec::new()),
            metrics,
        }
    }

    pub(crate) fn servers(&self) -> &ServerList {
        &self.servers
    }

    /// What each server speaks, as far as known.
    pub(crate) fn dialects(&self) -> &Dialects {
        &self.dialects
    }

    /// Interrupts every request in flight (its socket is shut down, so a
    /// blocked read returns at once) and refuses new ones: for shutdown.
    /// Pauses between rounds end at once, and a call interrupted so fails
    /// with [`Error::Shutdown`] instead of trying again.
    pub(crate) fn interrupt(&self) {
        self.stop.set();
        self.agent.clone().shutdown();
    }

    /// `tx` is sent `()` (without blocking) whenever a request succeeds
    /// after one failed: whatever waits out a backoff may try again now.
    pub(crate) fn on_recovery(&self, tx: crossbeam_channel::Sender<()>) {
        util::lock(&self.recovery).push(tx);
    }

    /// Sends the call `build` makes for each server (in the API that server
    /// speaks), with failover, retries and auth, within the deadline, and
    /// counts it as one call of `op`. Background work (a beat, a poll: no
    /// caller waits on it) bounds each phase of a request to an IP-literal
    /// server by the budget instead of the whole request, which spares
    /// ureq's lookup thread (see `attempt.rs`).
    pub(crate) fn send(&self, op: Operation, timing: Timing, build: Build<'_>) -> Result<Response> {
        let started = Instant::now();
        let result = self.send_uncounted(timing, op.is_background(), build);
        self.metrics
            .call(op, started.elapsed(), result.as_ref().map(|_| ()));
        result
    }

    fn send_uncounted(
        &self,
        timing: Timing,
        background: bool,
        build: Build<'_>,
    ) -> Result<Response> {
        let timeout = timing.within.map_or(self.timeout, |w| w.min(self.timeout));
        if timeout.is_zero() {
            return Err(Error::Timeout {
                deadline: self.timeout,
                server: None,
            });
        }
        if self.stop.is_set() {
            return Err(Error::Shutdown);
        }
        let total = timeout.saturating_add(timing.hold);
        let deadline = util::after(total);
        let mut token = self.token(deadline, total)?;
        let mut relogged = false;
        let bounds = Bounds {
            deadline,
            total,
            hold: timing.hold,
            background,
        };
        loop {
            match self.send_once(build, bounds, token.as_ref()) {
                Err(Error::Auth { message }) if !self.auth.enabled() => {
                    return Err(Error::Auth {
                        message: format!(
                            "{message}; no credentials are set: set them with \
                             `ClientBuilder::credentials` (or NACOS_USERNAME and NACOS_PASSWORD)"
                        ),
                    });
                }
                Err(Error::Auth { message }) if relogged => {
                    return Err(self.denied(message));
                }
                Err(Error::Auth { message }) => {
                    if let Some(t) = &token {
                        if !self.auth.invalidate(t.generation) {
                            return Err(self.denied(message));
                        }
                    }
                    log::debug!("nacos: server refused the token ({message}); logging in again");
                    relogged = true;
                    self.metrics.relogin();
                    token = self.token(deadline, total)?;
                }
                Ok(resp) => {
                    if token.is_some() {
                        self.auth.token_worked();
                    }
                    return Ok(resp);
                }
                other => return other,
            }
        }
    }

    /// One pass of failover and retries, with the token given.
    fn send_once(
        &self,
        build: Build<'_>,
        bounds: Bounds,
        token: Option<&Token>,
    ) -> Result<Response> {
        let Bounds {
            deadline,
            total,
            hold,
            background,
        } = bounds;
        // Servers that failed, noted as they fail: a call that succeeds at
        // once copies no label.
        let mut tried: Vec<String> = Vec::new();
        let mut last: Option<Error> = None;
        let mut only_statuses = true;
        let mut attempts = 0u32;
        // Whether one of several servers answered at all (a 5xx, say) in
        // the round just made: a cluster electing a leader answers 500 for a
        // few seconds, then serves again, so while any of its servers
        // answers, rounds go on until the deadline. When none even takes a
        // connection (all down: a snapshot may answer instead), or a single
        // server answers 5xx (that is its answer), the call gives up after
        // `retries` more rounds.
        let mut answered = false;
        // Servers whose answer was too large: not asked again in this call.
        let mut oversize: Vec<String> = Vec::new();
        let mut round = 0u32;
        // The server whose failure this call is moving away from (counted
        // as a failover when another server is tried next).
        let mut leaving: Option<String> = None;
        'rounds: loop {
            if round > 0 {
                if round > self.retries && !answered {
                    break;
                }
                let pause = backoff(FIRST_PAUSE, round, MAX_PAUSE);
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    // However many retries are left (an empty server list
                    // makes rounds that try nothing).
                    break;
                }
                if self.stop.pause(pause.min(remaining)) {
                    return Err(Error::Shutdown);
                }
            }
            round = round.saturating_add(1);
            answered = false;
            // Servers whose API cannot make this call, this round.
            let mut unsupported = 0usize;
            // The list itself (an `Arc`), not a copy of every address:
            // copying cost two allocations per server and call.
            let (servers, start) = self.servers.rotated();
            let servers: &[ServerAddr] = &servers;
            if servers.is_empty() {
                last = Some(Error::Transport {
                    server: "-".into(),
                    message: "no server address known yet".into(),
                    source: None,
                });
                only_statuses = false;
                continue;
            }
            let count = servers.len();
            for i in 0..count {
                let server = &servers[(start + i) % count];
                if oversize.iter().any(|s| s == server.label()) {
                    unsupported += 1;
                    continue;
                }
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break 'rounds;
                }
                // A server that stalls must leave time for the others.
                let left = (count - i) as u32;
                let budget = if left > 1 {
                    (hold + remaining.saturating_sub(hold) / left).min(remaining)
                } else {
                    remaining
                };
                attempts += 1;
                if let Some(left) = leaving.take() {
                    if left != server.label() {
                        self.metrics.failover(&left);
                    }
                }
                let probe_started = Instant::now();
                let outcome = match self.dialect_of(server, budget) {
                    // The probe's time comes out of this server's share.
                    Ok(dialect) => match self.request_for(server, build, dialect) {
                        Ok((req, dialect)) => {
                            let budget = budget.saturating_sub(probe_started.elapsed());
                            self.attempt_or_v3(
                                server,
                                build,
                                &req,
                                dialect,
                                (budget, background),
                                token,
                            )
                        }
                        // This server's API cannot make the call: another
                        // server's may.
                        Err(e @ Error::Unsupported { .. }) => {
                            unsupported += 1;
                            last = Some(e);
                            continue;
                        }
                        Err(e) => return Err(e),
                    },
                    Err(attempt) => attempt,
                };
                let failed = matches!(outcome, Attempt::Next(_));
                self.metrics.request(server.label(), failed);
                match outcome {
                    Attempt::Done(resp) => {
                        if self.failing.load(Ordering::Relaxed)
                            && self.failing.swap(false, Ordering::SeqCst)
                        {
                            for tx in util::lock(&self.recovery).iter() {
                                let _ = tx.try_send(());
                            }
                        }
                        return Ok(resp);
                    }
                    Attempt::Fail(e) | Attempt::Gone(e) => return Err(e),
                    Attempt::Oversize(e) if count == 1 => return Err(e),
                    Attempt::Oversize(e) => {
                        log::debug!("nacos: {e}; trying the next server");
                        oversize.push(server.label().to_string());
                        unsupported += 1;
                        only_statuses = false;
                        last = Some(e);
                    }
                    Attempt::Forbidden(e) => return Err(e),
                    // Cut short by the client's shutdown: never tried again.
                    Attempt::Next(_) if self.stop.is_set() => return Err(Error::Shutdown),
                    Attempt::Next(e) => {
                        self.failing.store(true, Ordering::Relaxed);
                        if !tried.iter().any(|t| t == server.label()) {
                            tried.push(server.label().to_string());
                        }
                        log::debug!("nacos: a call to {} failed: {e}", server.label());
                        let status = matches!(e, Error::Status { .. });
                        answered |= count > 1 && status;
                        only_statuses &= status;
                        if matches!(e, Error::Transport { .. }) {
                            // Refused or reset: it may come back as another
                            // version. (A timeout is no outage: a check the
                            // server holds past its short deadline times
                            // out by design.)
                            self.dialects.forget(server.label());
                        }
                        self.servers.mark_failed(server);
                        leaving = Some(server.label().to_string());
                        last = Some(e);
                    }
                }
            }
            if unsupported == count {
                // No server of the list can make this call.
                break;
            }
        }
        // A timeout names the call's deadline, not one server's share.
        let last = match last {
            Some(Error::Timeout { server, .. }) => Error::Timeout {
                deadline: total,
                server,
            },
            Some(e) => e,
            None => Error::Timeout {
                deadline: total,
                server: None,
            },
        };
        if last.is_unsupported() || only_statuses || attempts <= 1 {
            // Every server answered: its own message is the useful one.
            return Err(last);
        }
        Err(Error::AllServersFailed {
            tried,
            last: Box::new(last),
        })
    }

    /// Fetches a plain-text URL (the address server), within the deadline.
    pub(crate) fn get_plain(&self, url: &str) -> Result<String> {
        let label = url.to_string();
        let mut resp = self
            .agent
            .get(url)
            .header("RequestId", util::request_id_header())
            .config()
            .timeout_global(Some(self.timeout))
            .timeout_connect(Some(self.connect_timeout))
            .build()
            .call()
            .map_err(|e| transport(label.clone(), e))?;
        let status = resp.status().as_u16();
        let body = read_capped(resp.body_mut(), self.max_response_bytes).map_err(|e| match e {
            BodyError::TooLarge => self.too_large(&label),
            BodyError::Read(e) => transport(label.clone(), e),
        })?;
        if status != 200 {
            return Err(Error::Status {
                status,
                body: snippet(&body),
                server: label,
            });
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests;
