//! The table of heartbeated instances: what to send, and how it went.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::state::{BeatKey, HeartbeatState};
use crate::naming::beat::{interval_of_metadata, BeatResult};
use crate::naming::instance::Instance;
use crate::naming::service::ServiceKey;
use crate::util::{after, later, lock, FastHash};

/// The shortest interval taken from a server's advice.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// A beat's key, shared by the table, the timer heap, the senders' queue
/// and every beat of the instance: an `Arc` rather than a copy of its five
/// strings at each of those places (on every registration and every beat).
pub(crate) type Key = Arc<BeatKey>;

/// How an instance's beats go: the changing part of its
/// [`HeartbeatState`], which is built from this and the key when asked
/// for (a registration no longer copies the names into one).
#[derive(Debug)]
struct Progress {
    interval: Duration,
    last_success: Option<SystemTime>,
    last_attempt: Option<SystemTime>,
    consecutive_failures: u32,
    last_error: Option<String>,
}

impl Progress {
    fn public(&self, key: &BeatKey) -> HeartbeatState {
        HeartbeatState {
            service: key.service.clone(),
            ip: key.ip.clone(),
            port: key.port,
            cluster: key.cluster.clone(),
            interval: self.interval,
            last_success: self.last_success,
            last_attempt: self.last_attempt,
            consecutive_failures: self.consecutive_failures,
            last_error: self.last_error.clone(),
        }
    }
}

/// One heartbeated instance.
#[derive(Debug)]
struct Entry {
    gen: u64,
    /// Shared with the beats in flight (`Arc`: a beat no longer copies the
    /// instance and its metadata).
    instance: Arc<Instance>,
    /// The period full beats announce, in ms.
    period: u64,
    /// The instance's own interval (metadata), which wins over the server's.
    own_interval: Option<Duration>,
    light_ok: bool,
    need_full: bool,
    /// Beats begun, for the periodic check ([`CHECK_EVERY`]).
    beats: u32,
    state: Progress,
    /// When the beat in hand (or the next one) is due: the next one is due
    /// one interval after it, not after the beat came back, so the time a
    /// request takes does not pile up as drift.
    due: Instant,
}

impl Entry {
    /// A fresh entry: nothing sent yet, the first beat full and due at `due`.
    fn new(inst: &Instance, gen: u64, interval: Duration, due: Instant) -> Entry {
        Entry {
            gen,
            instance: Arc::new(inst.clone()),
            period: millis(interval),
            own_interval: interval_of_metadata(inst),
            light_ok: false,
            need_full: true,
            beats: 0,
            state: Progress {
                interval,
                last_success: None,
                last_attempt: None,
                consecutive_failures: 0,
                last_error: None,
            },
            due,
        }
    }
}

/// Every entry, and which beats are being sent right now.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Key, Entry, FastHash>,
    /// Beats on the wire, by key (a replaced entry may briefly have two).
    running: HashMap<Key, usize, FastHash>,
    next_gen: u64,
    /// How many entries are failing now (for the outage log lines).
    failing: usize,
}

impl Table {
    fn take(&mut self, key: &BeatKey) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        if e.state.consecutive_failures > 0 {
            self.failing -= 1;
        }
        Some(e)
    }
}

/// One beat to send.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) key: Key,
    pub(super) instance: Arc<Instance>,
    /// The period the beat announces, in ms.
    pub(super) period: u64,
    /// The beat may leave the instance's details out.
    pub(super) light: bool,
    /// Earlier beats failed: the server may have restarted and lost the
    /// instance, or re-created it from a beat with less than it has.
    pub(super) recovering: bool,
    /// After this beat, check that the server holds the instance as
    /// registered (see [`CHECK_EVERY`]).
    pub(super) check: bool,
}

/// Every this many beats, an instance that a server re-creating it from a
/// beat would get wrong (a weight other than 1, or disabled: r-nacos 0.8
/// and batata re-create an unknown instance from a beat without either,
/// answering as if nothing happened) is read back after its beat, and
/// registered again if the server holds it otherwise: a server restarted
/// faster than one beat interval loses no update for longer than this.
pub(super) const CHECK_EVERY: u32 = 6;

/// Whether a server that re-creates `inst` from a beat gets it wrong.
fn lost_on_recreation(inst: &Instance) -> bool {
    inst.weight != 1.0 || !inst.enabled
}

/// Every heartbeated instance of one client, and how its beats go.
#[derive(Debug, Default)]
pub(super) struct BeatTable {
    table: Mutex<Table>,
    /// Signalled whenever a beat finishes.
    idle: Condvar,
}

impl BeatTable {
    /// Adds or replaces the beat entry of a just registered instance; its
    /// first beat is due one interval from now: returns its key,
    /// generation and due time, for the timer heap.
    pub(super) fn add(
        &self,
        key: &ServiceKey,
        inst: &Instance,
        default: Duration,
    ) -> (Key, u64, Instant) {
        let bk = Arc::new(BeatKey::new(key, inst));
        let interval = interval_of_metadata(inst).unwrap_or(default);
        let due = after(interval);
        // Built before the lock is taken; its generation is set under it.
        let mut entry = Entry::new(inst, 0, interval, due);
        let mut guard = lock(&self.table);
        let table = &mut *guard;
        table.next_gen += 1;
        let gen = table.next_gen;
        entry.gen = gen;
        // One lookup (one hash of the key) to replace or insert.
        match table.entries.entry(bk.clone()) {
            Slot::Occupied(mut old) => {
                if old.get().state.consecutive_failures > 0 {
                    table.failing -= 1;
                }
                old.insert(entry);
            }
            Slot::Vacant(slot) => {
                slot.insert(entry);
            }
        }
        (bk, gen, due)
    }

    /// Replaces what the beats of an instance carry (weight, metadata,
    /// enabled flag...) after an update, keeping its schedule and state, so
    /// full beats and re-registrations carry the instance as last updated.
    /// `false` when no such instance is beaten.
    pub(super) fn update(&self, key: &ServiceKey, inst: &Instance) -> bool {
        let bk = BeatKey::new(key, inst);
        let mut table = lock(&self.table);
        let Some(e) = table.entries.get_mut(&bk) else {
            return false;
        };
        e.own_interval = interval_of_metadata(inst);
        if let Some(own) = e.own_interval {
            e.state.interval = own;
            e.period = millis(own);
        }
        e.instance = Arc::new(inst.clone());
        // The next beat carries everything once more.
        e.need_full = true;
        true
    }

    /// Stops the beats of an instance, then waits (up to `wait`) for a beat
    /// of it still on the wire, so none can land after what comes next.
    pub(super) fn remove(&self, key: &BeatKey, wait: Duration) -> Option<Instance> {
        let mut table = lock(&self.table);
        let removed = table.take(key).map(|e| Arc::unwrap_or_clone(e.instance));
        let until = after(wait);
        while table.running.contains_key(key) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if wait.is_zero() {
                    break;
                }
                log::warn!(
                    "nacos: a heartbeat of {}:{} is still in flight",
                    key.ip,
                    key.port
                );
                break;
            }
            table = self
                .idle
                .wait_timeout(table, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        removed
    }

    /// Stops every beat (waiting for those on the wire, up to `wait`) and
    /// returns what was being beaten.
    pub(super) fn remove_all(&self, wait: Duration) -> Vec<(ServiceKey, Instance)> {
        let keys: Vec<Key> = lock(&self.table).entries.keys().cloned().collect();
        let until = after(wait);
        keys.into_iter()
            .filter_map(|k| {
                let left = until.saturating_duration_since(Instant::now());
                self.remove(&k, left).map(|inst| (k.service.clone(), inst))
            })
            .collect()
    }

    pub(super) fn state(&self, key: &BeatKey) -> Option<HeartbeatState> {
        let table = lock(&self.table);
        let (k, e) = table.entries.get_key_value(key)?;
        Some(e.state.public(k))
    }

    pub(super) fn states(&self) -> Vec<HeartbeatState> {
        let mut all: Vec<HeartbeatState> = lock(&self.table)
            .entries
            .iter()
            .map(|(k, e)| e.state.public(k))
            .collect();
        all.sort_by(|a, b| {
            (&a.service, &a.cluster, &a.ip, a.port).cmp(&(&b.service, &b.cluster, &b.ip, b.port))
        });
        all
    }

    /// Takes the entry `key` at `gen` for sending, unless it is gone or
    /// replaced: what to send, and whether the beat may be light.
    pub(super) fn begin(&self, key: &Key, gen: u64, light_allowed: bool) -> Option<Job> {
        let mut table = lock(&self.table);
        let e = table.entries.get_mut(key).filter(|e| e.gen == gen)?;
        e.beats = e.beats.wrapping_add(1);
        let job = Job {
            key: key.clone(),
            instance: e.instance.clone(),
            period: e.period,
            light: light_allowed && e.light_ok && !e.need_full,
            recovering: e.state.consecutive_failures > 0,
            check: e.beats % CHECK_EVERY == 0 && lost_on_recreation(&e.instance),
        };
        *table.running.entry(key.clone()).or_insert(0) += 1;
        Some(job)
    }

    /// Records how a beat went and returns when the next one is due (`None`
    /// when the entry was removed or replaced meanwhile).
    pub(super) fn finish(
        &self,
        key: &Key,
        gen: u64,
        outcome: std::result::Result<BeatResult, String>,
        default: Duration,
    ) -> Option<Instant> {
        let mut table = lock(&self.table);
        if let Some(n) = table.running.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                table.running.remove(key);
            }
        }
        self.idle.notify_all();
        let table = &mut *table;
        let e = table.entries.get_mut(key).filter(|e| e.gen == gen)?;
        let now = SystemTime::now();
        e.state.last_attempt = Some(now);
        match outcome {
            Ok(answer) => {
                if e.state.consecutive_failures > 0 {
                    log::debug!(
                        "nacos: heartbeats of {} {}:{} recovered after {} failures",
                        key.service,
                        key.ip,
                        key.port,
                        e.state.consecutive_failures
                    );
                    table.failing -= 1;
                    if table.failing == 0 {
                        log::info!("nacos: heartbeats are accepted again");
                    }
                }
                e.state.consecutive_failures = 0;
                e.state.last_success = Some(now);
                e.light_ok = answer.light_beat_enabled;
                // After a 20404 (the instance was registered again) the next
                // beat carries everything once more.
                e.need_full = answer.instance_not_found();
                let advised = answer.advised(&e.instance).map(|d| d.max(MIN_INTERVAL));
                e.state.interval = e.own_interval.or(advised).unwrap_or(default);
                e.period = millis(e.state.interval);
            }
            Err(message) => {
                if e.state.consecutive_failures == 0 {
                    table.failing += 1;
                    if table.failing == 1 {
                        log::warn!(
                            "nacos: heartbeats are failing ({message}); retrying every interval"
                        );
                    }
                }
                e.state.consecutive_failures = e.state.consecutive_failures.saturating_add(1);
                e.state.last_error = Some(message);
                e.need_full = true;
            }
        }
        // On schedule after a success; a beat that came back later than
        // its successor's due time, or failed, waits a whole interval.
        let now = Instant::now();
        let on_schedule = later(e.due, e.state.interval);
        e.due = if e.state.consecutive_failures == 0 && on_schedule > now {
            on_schedule
        } else {
            later(now, e.state.interval)
        };
        Some(e.due)
    }
}

/// A duration in whole ms, as a beat announces its period.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
