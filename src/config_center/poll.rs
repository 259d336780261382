//! The threads behind config watching: one per watched namespace, plus one
//! for a fresh poll after a key was added while the namespace's poll was
//! held (see `listen.rs` for why).
//!
//! A server without a long poll (the v3 API) is polled by the same
//! threads instead, a round every `config_poll_interval` at a bounded
//! request rate (see `v3_poll.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config_center::api;
use crate::config_center::key::ConfigKey;
use crate::config_center::listen::ConfigWatch;
use crate::config_center::wire::wire;
use crate::config_center::{protocol, v3_poll};
use crate::error::{Error, Result};
use crate::metrics::Operation;
use crate::threads::{schedule, StopSignal};
use crate::transport::dialect::Dialect;
use crate::transport::Timing;

/// A fresh poll thread waits until no key was added to its namespace for
/// this long (but [`DEBOUNCE_MAX`] at most), so that keys added together go
/// out in one request.
const DEBOUNCE: Duration = Duration::from_millis(50);
const DEBOUNCE_MAX: Duration = Duration::from_millis(500);

/// A long poll answered faster than this with nothing new is suspicious
/// (a server that does not hold): the second in a row backs off.
const TOO_FAST: Duration = Duration::from_secs(1);

/// First and longest pause between attempts while the servers fail.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Asks which of `items` changed, holding the request up to `hold` when
/// nothing did. Every item must be of one namespace, sent as `tenant`
/// (left out for the public namespace); see
/// [`Wire::listen`](crate::config_center::wire::Wire::listen).
fn listen(
    cw: &ConfigWatch,
    items: &[(ConfigKey, String)],
    hold: Duration,
) -> Result<Vec<ConfigKey>> {
    let namespace = items.first().map_or("", |(k, _)| k.namespace.as_str());
    debug_assert!(items.iter().all(|(k, _)| k.namespace == namespace));
    let configs = protocol::encode_listening(items.iter().map(|(k, m)| (k, m.as_str())));
    let timing = Timing {
        hold,
        ..Timing::default()
    };
    let build = |d: Dialect| wire(d).listen(&configs, namespace, hold);
    Ok(protocol::decode_changed(
        &cw.ctx
            .send_timed(Operation::ConfigPoll, timing, &build)?
            .body,
    ))
}

/// Whether the servers known so far call for polling: some speak v3 and
/// none v1 (a v1 server, or none known yet, gets a long poll first; a
/// long poll no server can take falls back to polling).
fn polls(cw: &ConfigWatch) -> bool {
    !cw.ctx.speaks(Dialect::V1) && cw.ctx.speaks(Dialect::V3)
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

impl Outcome {
    fn and(self, other: Outcome) -> Outcome {
        Outcome {
            delivered: self.delivered || other.delivered,
            failed: self.failed || other.failed,
            shutdown: self.shutdown || other.shutdown,
        }
    }
}

/// What handling one answer (or one polling round) came to.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) delivered: bool,
    pub(super) failed: bool,
    /// The client shut down meanwhile.
    pub(super) shutdown: bool,
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
            Ok(fetched) => out.delivered |= cw.apply(&key, fetched),
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

/// The pause after `failures` failed (or fruitless) rounds in a row.
fn backoff(failures: u32) -> Duration {
    schedule::backoff(FIRST_BACKOFF, failures, MAX_BACKOFF)
}

/// Starts a poll thread for `namespace` on `cw`'s workers (after
/// [`ConfigWatch::claim_poller`] said one is needed).
pub(crate) fn spawn(cw: &Arc<ConfigWatch>, namespace: &str) -> Result<()> {
    let (c, ns) = (cw.clone(), namespace.to_string());
    let name = format!("cfg-{}", cw.next_thread() % 100_000);
    cw.workers
        .spawn(&name, move |stop| poll_loop(&c, &ns, &stop))
}

/// One namespace's polls, until a newer thread takes over, its last key
/// goes, or the client stops.
fn poll_loop(cw: &ConfigWatch, namespace: &str, stop: &StopSignal) {
    let hold = cw.ctx.settings.long_poll_timeout;
    let mut failures = 0u32;
    let mut fruitless = 0u32;
    // Keys added together go out in one request.
    let mut fresh = true;
    let born = Instant::now();
    loop {
        let wait = cw.quiet_in(namespace, DEBOUNCE);
        let left = DEBOUNCE_MAX.saturating_sub(born.elapsed());
        if wait.is_zero() || left.is_zero() {
            break;
        }
        if stop.wait(wait.min(left)) {
            return;
        }
    }
    while let Some((gen, items)) = cw.start_poll(namespace, std::mem::take(&mut fresh)) {
        let started = Instant::now();
        let mut polled = polls(cw);
        let outcome = if polled {
            v3_poll::round(cw, &items, stop)
        } else {
            // Past one batch, every batch is its own concurrent request.
            let answers = std::thread::scope(|s| {
                let mut chunks = batches(items).into_iter();
                let first = chunks.next().unwrap_or_default();
                let others: Vec<_> = chunks
                    .map(|chunk| s.spawn(move || (listen(cw, &chunk, hold), chunk)))
                    .collect();
                let mut answers = vec![(listen(cw, &first, hold), first)];
                answers.extend(others.into_iter().filter_map(|h| h.join().ok()));
                answers
            });
            let mut outcome = Outcome::default();
            for (answer, chunk) in answers {
                outcome = outcome.and(match answer {
                    Ok(changed) => process(cw, changed),
                    Err(Error::Shutdown) => return,
                    Err(e) if e.is_unsupported() => {
                        polled = true;
                        v3_poll::round(cw, &chunk, stop)
                    }
                    Err(e) => {
                        log::warn!("nacos: config long poll failed: {e}");
                        Outcome {
                            failed: true,
                            ..Outcome::default()
                        }
                    }
                });
            }
            outcome
        };
        if outcome.shutdown {
            return;
        }
        let pause = if outcome.failed {
            failures += 1;
            backoff(failures)
        } else {
            failures = 0;
            Duration::ZERO
        };
        // Never spin on a server that answers at once with nothing new.
        let fast_and_fruitless = !polled && !outcome.delivered && started.elapsed() < TOO_FAST;
        fruitless = if fast_and_fruitless { fruitless + 1 } else { 0 };
        let pause = if fruitless >= 2 {
            pause.max(backoff(fruitless - 1))
        } else {
            pause
        };
        let pause = if polled {
            pause.max(cw.ctx.settings.config_poll_interval)
        } else {
            pause
        };
        // Still counted as in flight while pausing, so a fresh thread is
        // started only for keys added meanwhile.
        let stopped = !pause.is_zero() && stop.wait(pause);
        cw.end_poll(namespace, gen);
        if stopped {
            return;
        }
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
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
