//! The threads behind config watching: two long-poll threads and a
//! checker for keys added while both are busy (see `listen.rs` for why).
//!
//! A server without a long poll (the v3 API) is polled by the same
//! threads instead: each round reads every watched key once (v3 has no
//! batch read) and compares the MD5 the server reports with the one held,
//! so an unchanged config costs its request and nothing else; then the
//! thread waits `config_poll_interval`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::select;

use crate::config_center::api;
use crate::config_center::key::ConfigKey;
use crate::config_center::listen::{ConfigWatch, POLLERS};
use crate::config_center::{protocol, snapshot};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::transport::{Method, Module, Request, Timing};
use crate::worker::StopSignal;

const LISTENER: &str = "/v1/cs/configs/listener";

/// How long an idle poll thread waits after a key is added, so that keys
/// added together go out in one request.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// First and longest interval between checks of keys no poll covers.
const CHECK_FIRST: Duration = Duration::from_millis(250);
const CHECK_MAX: Duration = Duration::from_secs(2);

/// The longest a check of keys no poll covers waits for its answer (a
/// server that holds it anyway is left to answer no one).
const CHECK_WAIT: Duration = Duration::from_secs(1);

/// A long poll answered faster than this with nothing new is suspicious
/// (a server that does not hold): the second in a row backs off.
const TOO_FAST: Duration = Duration::from_secs(1);

/// Longest pause between attempts while the servers fail.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Asks which of `items` changed. Every item must be of one namespace,
/// sent as `tenant` (left out for the public namespace).
///
/// As the Java client (1.4.8 `ClientWorker.checkUpdateConfigStr`): every
/// request carries `Long-Pulling-Timeout: <ms>`, and a check that must not
/// be held (`Hold::No`) adds `Long-Pulling-Timeout-No-Hangup: true`. The
/// Java server (2.4.3 `LongPollingService.addLongPollingClient`) then
/// answers at once, in the body, changed or not; without
/// `Long-Pulling-Timeout` it would take the short-poll path of
/// `ConfigServletInner.doPollingConfig`, which answers in
/// `Probe-Modify-Response*` headers for `Client-Version` below 2.0.4 and
/// not at all (the list goes to a request attribute nobody reads) from
/// 2.0.4 on. r-nacos ignores the no-hangup header and holds a check like a
/// long poll (up to the timeout, clamped to 10–120 s), answering at once
/// only when something changed, so a check is given the same hold.
///
/// The `tenant` parameter is what the Java client adds to every config
/// request of a namespaced client (1.4.8 `ServerHttpAgent.injectSecurityInfo`);
/// one Java client has one namespace, hence one namespace per request.
fn listen(
    cw: &ConfigWatch,
    items: &[(ConfigKey, String)],
    hold: Duration,
    hang: Hold,
) -> Result<Vec<ConfigKey>> {
    let namespace = items.first().map_or("", |(k, _)| k.namespace.as_str());
    debug_assert!(items.iter().all(|(k, _)| k.namespace == namespace));
    let configs = protocol::encode_listening(items.iter().map(|(k, m)| (k, m.as_str())));
    let timing = match hang {
        Hold::Yes => Timing { within: None, hold },
        // Java answers a no-hangup check at once (2.4.3
        // `LongPollingService.addLongPollingClient`); r-nacos ignores the
        // header and holds it like a long poll, answering at once only when
        // one of its keys changes. So a check waits `CHECK_WAIT` at most:
        // the checker is then free to check keys added meanwhile.
        Hold::No => Timing::within(CHECK_WAIT),
    };
    let build = |d: Dialect| match d {
        Dialect::V1 => {
            let req = Request::new(Method::Post, Module::Config, LISTENER)
                .param("Listening-Configs", configs.as_str())
                .nonempty_param("tenant", namespace)
                .header("Long-Pulling-Timeout", hold.as_millis().to_string());
            Ok(match hang {
                Hold::Yes => req,
                Hold::No => req.header("Long-Pulling-Timeout-No-Hangup", "true"),
            })
        }
        Dialect::V3 => Err(Error::Unsupported {
            what: "config listening: the v3 API has none (watches poll instead)".into(),
        }),
    };
    Ok(protocol::decode_changed(
        &cw.ctx.send_timed(timing, &build)?.body,
    ))
}

/// One polling round over `items` (for servers without a long poll):
/// reads each watched key and applies those whose MD5 moved.
fn read_round(cw: &ConfigWatch, items: &[(ConfigKey, String)]) -> Outcome {
    let mut out = Outcome::default();
    for (key, held) in items {
        if !cw.is_watched(key) {
            continue;
        }
        match api::read(&cw.ctx, key) {
            // The server's MD5 is the one held: nothing to decode or hash.
            Ok(f) if !f.md5.is_empty() && f.md5 == *held => {}
            Ok(f) => {
                let _serial = cw.process_lock();
                if cw.apply(key, f.content.clone()) {
                    out.delivered = true;
                    if let Some(dir) = &cw.ctx.config.cache_dir {
                        snapshot::record(dir, key, f.content.as_deref());
                    }
                }
            }
            Err(Error::Shutdown) => {
                out.failed = true;
                out.shutdown = true;
                return out;
            }
            Err(e) => {
                log::warn!("nacos: config {key} could not be read: {e}");
                out.failed = true;
            }
        }
    }
    out
}

/// Whether the servers known so far call for polling: some speak v3 and
/// none v1 (a v1 server, or none known yet, gets a long poll first; a
/// long poll no server can take falls back to polling).
fn polls(cw: &ConfigWatch) -> bool {
    !cw.ctx.speaks(Dialect::V1) && cw.ctx.speaks(Dialect::V3)
}

/// Whether the server may hold a listener request until something changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    Yes,
    No,
}

/// `items` as requests: grouped by namespace (each request carries one
/// `tenant`), then cut into batches of at most [`protocol::BATCH`] keys.
fn batches(mut items: Vec<(ConfigKey, String)>) -> Vec<Vec<(ConfigKey, String)>> {
    items.sort_by(|a, b| a.0.namespace.cmp(&b.0.namespace));
    let mut out = Vec::new();
    for same_ns in items.chunk_by(|a, b| a.0.namespace == b.0.namespace) {
        out.extend(same_ns.chunks(protocol::BATCH).map(<[_]>::to_vec));
    }
    out
}

/// What handling one answer came to.
#[derive(Debug, Default)]
struct Outcome {
    delivered: bool,
    failed: bool,
    /// The client shut down meanwhile.
    shutdown: bool,
}

/// Fetches and applies every watched key in `changed`.
fn process(cw: &ConfigWatch, changed: Vec<ConfigKey>) -> Outcome {
    let _serial = cw.process_lock();
    let mut out = Outcome::default();
    for key in changed {
        if !cw.is_watched(&key) {
            continue;
        }
        match api::fetch(&cw.ctx, &key) {
            Ok(content) => out.delivered |= cw.apply(&key, content),
            Err(e) => {
                if !matches!(e, Error::Shutdown) {
                    log::warn!("nacos: config {key} changed but could not be fetched: {e}");
                }
                out.failed = true;
            }
        }
    }
    out
}

fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(500) * 2u32.saturating_pow(failures.min(8))).min(MAX_BACKOFF)
}

/// Starts the poll threads and the checker on `cw`'s workers.
pub(crate) fn start(cw: &Arc<ConfigWatch>) -> Result<()> {
    for i in 0..POLLERS {
        let c = cw.clone();
        cw.workers
            .spawn(&format!("cfg-lp-{i}"), move |stop| poll_loop(&c, &stop))?;
    }
    let c = cw.clone();
    cw.workers
        .spawn("cfg-check", move |stop| check_loop(&c, &stop))
}

fn poll_loop(cw: &ConfigWatch, stop: &StopSignal) {
    let hold = cw.ctx.config.long_poll_timeout;
    let mut failures = 0u32;
    let mut fruitless = 0u32;
    loop {
        let Some((gen, items)) = cw.start_poll() else {
            if cw.is_closed() {
                return;
            }
            select! {
                recv(stop.receiver()) -> _ => return,
                recv(cw.wake_poll.1) -> _ => {}
            }
            if stop.wait(DEBOUNCE) {
                return;
            }
            continue;
        };
        let mut failed = false;
        let mut fast_and_fruitless = false;
        let mut polled = polls(cw);
        for chunk in batches(items) {
            let started = Instant::now();
            let answer = if polled {
                Err(Error::Unsupported {
                    what: String::new(),
                })
            } else {
                listen(cw, &chunk, hold, Hold::Yes)
            };
            match answer {
                Ok(changed) => {
                    let outcome = process(cw, changed);
                    failed |= outcome.failed;
                    fast_and_fruitless |= !outcome.delivered && started.elapsed() < TOO_FAST;
                }
                Err(Error::Shutdown) => return,
                Err(e) if e.is_unsupported() => {
                    polled = true;
                    let outcome = read_round(cw, &chunk);
                    if outcome.shutdown {
                        return;
                    }
                    failed |= outcome.failed;
                }
                Err(e) => {
                    log::warn!("nacos: config long poll failed: {e}");
                    failed = true;
                }
            }
        }
        let pause = if failed {
            failures += 1;
            backoff(failures - 1)
        } else {
            failures = 0;
            Duration::ZERO
        };
        // Never spin on a server that answers at once with nothing new.
        fruitless = if fast_and_fruitless { fruitless + 1 } else { 0 };
        let pause = if fruitless >= 2 {
            pause.max(backoff(fruitless - 2))
        } else {
            pause
        };
        let pause = if polled {
            pause.max(cw.ctx.config.config_poll_interval)
        } else {
            pause
        };
        // Still counted as in flight while pausing, so the other poll
        // thread does not take over and double the rate.
        let stopped = !pause.is_zero() && stop.wait(pause);
        cw.end_poll(gen);
        if stopped {
            return;
        }
    }
}

fn check_loop(cw: &ConfigWatch, stop: &StopSignal) {
    let mut every = CHECK_FIRST;
    loop {
        if cw.is_closed() {
            return;
        }
        let items = cw.uncovered();
        if items.is_empty() {
            every = CHECK_FIRST;
            select! {
                recv(stop.receiver()) -> _ => return,
                recv(cw.wake_check.1) -> _ => {}
            }
            // Let an idle poll thread take the new key first.
            if stop.wait(DEBOUNCE * 2) {
                return;
            }
            continue;
        }
        for chunk in batches(items) {
            let answer = if polls(cw) {
                Err(Error::Unsupported {
                    what: String::new(),
                })
            } else {
                listen(cw, &chunk, cw.ctx.config.long_poll_timeout, Hold::No)
            };
            match answer {
                Ok(changed) => {
                    process(cw, changed);
                }
                Err(Error::Shutdown) => return,
                Err(e) if e.is_unsupported() => {
                    if read_round(cw, &chunk).shutdown {
                        return;
                    }
                }
                // A server that held the check (r-nacos): checked again soon.
                Err(e) if e.is_timeout() => {}
                Err(e) => log::debug!("nacos: config check of new keys failed: {e}"),
            }
        }
        if stop.wait(every) {
            return;
        }
        every = (every * 2).min(CHECK_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(namespace: &str, data_id: &str) -> (ConfigKey, String) {
        (
            ConfigKey {
                namespace: namespace.into(),
                group: "G".into(),
                data_id: data_id.into(),
            },
            String::new(),
        )
    }

    #[test]
    fn batches_hold_one_namespace_each() {
        let mut items = vec![key("b", "1"), key("", "2"), key("a", "3"), key("b", "4")];
        items.extend((0..protocol::BATCH + 1).map(|i| key("a", &i.to_string())));
        let out = batches(items);
        let shape: Vec<(&str, usize)> = out
            .iter()
            .map(|b| (b[0].0.namespace.as_str(), b.len()))
            .collect();
        assert_eq!(shape, [("", 1), ("a", protocol::BATCH), ("a", 2), ("b", 2)]);
        for b in &out {
            assert!(b.iter().all(|(k, _)| k.namespace == b[0].0.namespace));
        }
        assert!(batches(Vec::new()).is_empty());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
