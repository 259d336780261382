//! The subscription table: one entry per (service, clusters), shared by all
//! its listeners, holding the last good list, the poll schedule and how
//! polling goes.
//!
//! Every method takes the lock briefly and never calls user code: what to
//! deliver is handed back to the caller, who queues it after unlocking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Result;
use crate::events::delivery::Listener;
use crate::naming::service::{ServiceInfo, ServiceKey, Target};
use crate::settings::Settings;
use crate::subscribe::body::KeptBody;
use crate::subscribe::disk_cache;
use crate::subscribe::event::{diff, EmptyGuard, ServiceEvent};
use crate::subscribe::state::SubscriptionState;
use crate::util::{later, lock};

mod due;
mod lookup;

use crate::threads::schedule::{backoff, jittered, jittered_below, Timers};

/// Errors back off up to this, whatever the interval.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// After a failed poll the entry is tried again after its interval, then
/// twice it: never later, so a watch is fresh within two intervals of the
/// server answering again.
const BACKOFF_CAP: u32 = 2;
/// The interval before the server has advised one (`cacheMillis`).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Entries due this soon after the scheduler looks are polled with those
/// due now: 1,000 subscriptions polled every second fall due about 1 ms
/// apart, and a wake-up of the scheduler (and of a pool thread) per poll
/// cost more system time than the polls' own HTTP. Polls come at most this
/// much early, well inside the ±10 % jitter of every interval.
const BATCH: Duration = Duration::from_millis(10);
/// Server advice is kept within these bounds.
const ADVISED_MIN: Duration = Duration::from_secs(1);

/// A poll the pool should run.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    /// Shared with the entry: a poll copies no name.
    pub(crate) target: Arc<Target>,
    /// The entry's id: a result for a removed-then-re-added entry is dropped.
    entry: u64,
}

struct Registered {
    id: u64,
    listener: Arc<Listener<ServiceEvent>>,
    /// Has had its initial event.
    primed: bool,
}

struct Entry {
    id: u64,
    target: Arc<Target>,
    listeners: Vec<Registered>,
    good: Option<ServiceInfo>,
    guard: EmptyGuard,
    /// The last answer taken: one that says the same is not decoded.
    last_body: Option<KeptBody>,
    /// The poll interval the last decoded answer advised (`cacheMillis`):
    /// an identical answer advises the same.
    advised: Option<Duration>,
    failures: u32,
    last_success: Option<SystemTime>,
    last_error: Option<String>,
    next_due: Instant,
    in_flight: bool,
}

impl Entry {
    fn state(&self, target: &Target) -> SubscriptionState {
        SubscriptionState {
            service: target.service.clone(),
            clusters: target.clusters.clone(),
            instances: self.good.as_ref().map(|g| g.hosts.len()),
            last_success: self.last_success,
            consecutive_failures: self.failures,
            last_error: self.last_error.clone(),
            holding_empty: self.guard.holding(),
        }
    }
}

/// Events to queue for listeners once the lock is released, and a list to
/// write to disk.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) deliveries: Vec<(Arc<Listener<ServiceEvent>>, Arc<ServiceEvent>)>,
    pub(crate) store: Option<(ServiceKey, ServiceInfo)>,
}

struct Table {
    entries: HashMap<Target, Entry>,
    /// When idle entries fall due, earliest first: `(due, entry id,
    /// target)`. An item whose entry is gone, in flight or due at another
    /// time since is stale and dropped when it comes up, so the scheduler
    /// never walks the whole table (it did on every wake-up, once per poll:
    /// 38 % of the client's instructions with 1,000 idle subscriptions).
    due: Timers<Arc<Target>>,
    /// Whether an entry's last poll failed: the next success revives the
    /// others at once (the server is back).
    any_failing: bool,
    closed: bool,
}

/// Every subscription of one client.
pub(crate) struct Registry {
    table: Mutex<Table>,
    ids: AtomicU64,
    interval: Option<Duration>,
    /// Lists loaded from disk at start (`load_cache_at_start`).
    from_disk: HashMap<ServiceKey, ServiceInfo>,
    /// Where lists are kept: a first poll that fails serves the kept list.
    cache_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("services", &self.lock().entries.len())
            .field("from_disk", &self.from_disk.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    pub(crate) fn new(settings: &Settings) -> Registry {
        let from_disk = match &settings.cache_dir {
            Some(dir) if settings.load_cache_at_start => disk_cache::load_all(dir),
            _ => HashMap::new(),
        };
        Registry {
            table: Mutex::new(Table {
                entries: HashMap::new(),
                due: Timers::new(),
                any_failing: false,
                closed: false,
            }),
            ids: AtomicU64::new(1),
            interval: settings.poll_interval,
            from_disk,
            cache_dir: settings.cache_dir.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        lock(&self.table)
    }

    /// Adds a listener (creating the entry, due at once); returns its id,
    /// or `None` once closed.
    pub(crate) fn add(
        &self,
        target: &Target,
        listener: Arc<Listener<ServiceEvent>>,
    ) -> Option<u64> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut t = self.lock();
        if t.closed {
            return None;
        }
        let seed = self.disk_list(&target.service, &target.clusters);
        let entry = t.entries.entry(target.clone()).or_insert_with(|| Entry {
            id,
            target: Arc::new(target.clone()),
            listeners: Vec::new(),
            good: seed,
            guard: EmptyGuard::default(),
            last_body: None,
            advised: None,
            failures: 0,
            last_success: None,
            last_error: None,
            next_due: Instant::now(),
            in_flight: false,
        });
        entry.listeners.push(Registered {
            id,
            listener,
            primed: false,
        });
        // A new listener waits for its initial event: poll now (an entry
        // in flight is queued again when its poll finishes).
        let now = Instant::now();
        entry.next_due = now;
        if !entry.in_flight {
            let (entry_id, target) = (entry.id, entry.target.clone());
            t.schedule(entry_id, now, &target);
        }
        Some(id)
    }

    /// Removes one listener; the entry goes with its last listener.
    pub(crate) fn remove(&self, target: &Target, listener: u64) {
        let mut t = self.lock();
        if let Some(e) = t.entries.get_mut(target) {
            e.listeners.retain(|l| {
                let keep = l.id != listener;
                if !keep {
                    l.listener.remove();
                }
                keep
            });
            if e.listeners.is_empty() {
                t.entries.remove(target);
            }
        }
    }

    /// Removes every entry of `service`, whatever its clusters; how many.
    pub(crate) fn remove_service(&self, service: &ServiceKey) -> usize {
        let mut t = self.lock();
        let gone: Vec<Target> = t
            .entries
            .keys()
            .filter(|k| &k.service == service)
            .cloned()
            .collect();
        for k in &gone {
            if let Some(e) = t.entries.remove(k) {
                e.listeners.iter().for_each(|l| l.listener.remove());
            }
        }
        gone.len()
    }

    /// Removes everything; every listener (and watcher) ends.
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut self.lock().entries);
        for e in old.values() {
            e.listeners.iter().for_each(|l| l.listener.remove());
        }
    }

    /// Clears and refuses new subscriptions.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// How polling goes for `target`, if it is subscribed.
    pub(crate) fn state(&self, target: &Target) -> Option<SubscriptionState> {
        self.lock().entries.get(target).map(|e| e.state(target))
    }

    /// Marks every idle entry due by `now` (or within [`BATCH`] of it) in
    /// flight and returns their polls, and when the next idle entry falls
    /// due (what the scheduler plans for).
    pub(crate) fn take_due(&self, now: Instant) -> (Vec<Job>, Option<Instant>) {
        let mut guard = self.lock();
        let t = &mut *guard;
        let mut jobs = Vec::new();
        let horizon = later(now, BATCH);
        for due in t.due.pop_due(horizon) {
            if let Some(e) = t.entries.get_mut(&*due.key) {
                if e.id == due.tag && !e.in_flight && e.next_due == due.at {
                    e.in_flight = true;
                    jobs.push(Job {
                        target: due.key,
                        entry: due.tag,
                    });
                }
            }
        }
        let next = t.due.next_at();
        t.due.plan(next);
        (jobs, next)
    }

    /// `true` when `body` changes nothing: it says what the last answer
    /// taken said (see [`KeptBody::same_as`]), every listener is primed,
    /// no empty list is held. Then it counts as a successful poll, without
    /// decoding.
    pub(crate) fn unchanged(&self, job: &Job, body: &str) -> bool {
        let mut t = self.lock();
        let Some(e) = t
            .entries
            .get_mut(&*job.target)
            .filter(|e| e.id == job.entry)
        else {
            return true; // gone: nothing to do with the answer
        };
        let same = e.good.is_some()
            && !e.guard.holding()
            && e.listeners.iter().all(|l| l.primed)
            && e.last_body.as_ref().is_some_and(|kept| kept.same_as(body));
        if same {
            self.succeeded(e, Instant::now());
        }
        same
    }

    fn succeeded(&self, e: &mut Entry, now: Instant) {
        if e.failures > 0 {
            log::info!("nacos: polling a subscribed service works again");
        }
        e.failures = 0;
        e.last_success = Some(SystemTime::now());
        e.next_due = later(now, jittered(self.interval_of(e)));
    }

    /// The entry's poll interval: configured, else advised, else 10 s.
    fn interval_of(&self, e: &Entry) -> Duration {
        self.interval.unwrap_or(match e.advised {
            Some(d) if !d.is_zero() => d.clamp(ADVISED_MIN, MAX_BACKOFF),
            _ => DEFAULT_INTERVAL,
        })
    }

    /// Records a poll's result and says what to deliver and store.
    /// `window` is how long an empty list is held (`None`: not at all).
    pub(crate) fn complete(
        &self,
        job: &Job,
        result: Result<(ServiceInfo, KeptBody)>,
        window: Option<Duration>,
    ) -> Outcome {
        let mut out = Outcome::default();
        let mut guard = self.lock();
        let t = &mut *guard;
        let Some(e) = t
            .entries
            .get_mut(&*job.target)
            .filter(|e| e.id == job.entry)
        else {
            return out;
        };
        let now = Instant::now();
        let service = &job.target.service;
        match result {
            Err(err) => {
                e.failures = e.failures.saturating_add(1);
                let base = self.interval_of(e);
                let cap = base.saturating_mul(BACKOFF_CAP).min(MAX_BACKOFF);
                let backoff = backoff(base, e.failures, cap);
                // Jittered below only: never past the cap.
                e.next_due = later(now, jittered_below(backoff));
                t.any_failing = true;
                let level = if e.failures == 1 {
                    log::Level::Warn
                } else {
                    log::Level::Debug
                };
                log::log!(
                    level,
                    "nacos: polling {service} failed ({} in a row), keeping the last list, next try in {backoff:?}: {err}",
                    e.failures
                );
                e.last_error = Some(err.to_string());
                // A first poll that fails: the list kept on disk, if any,
                // is the listeners' initial event (the state still says
                // no poll has succeeded).
                if e.good.is_none() {
                    if let Some(kept) = self
                        .cache_dir
                        .as_deref()
                        .and_then(|d| disk_cache::load(d, service))
                    {
                        e.good = Some(kept.for_clusters(&job.target.clusters));
                    }
                }
            }
            Ok((mut info, body)) => {
                e.advised = Some(Duration::from_millis(info.cache_millis));
                self.succeeded(e, now);
                info.clusters = job.target.clusters.clone();
                let previous = e.good.as_ref().map(|g| g.hosts.as_slice());
                if e.guard.accept(previous, &info.hosts, window, now) {
                    e.last_body = Some(body);
                    let d = diff(previous.unwrap_or(&[]), &info.hosts);
                    if e.good.is_none() || !d.is_empty() {
                        out.store = Some((service.clone(), info.clone()));
                    }
                    if e.good.is_some() && !d.is_empty() {
                        let ev = Arc::new(ServiceEvent {
                            service: service.clone(),
                            clusters: job.target.clusters.clone(),
                            instances: info.hosts.clone(),
                            added: d.added,
                            removed: d.removed,
                            modified: d.modified,
                            initial: false,
                        });
                        for l in e.listeners.iter().filter(|l| l.primed) {
                            out.deliveries.push((l.listener.clone(), ev.clone()));
                        }
                    }
                    e.good = Some(info);
                }
            }
        }
        if let Some(good) = &e.good {
            let mut initial: Option<Arc<ServiceEvent>> = None;
            for l in e.listeners.iter_mut().filter(|l| !l.primed) {
                l.primed = true;
                let ev = initial.get_or_insert_with(|| {
                    Arc::new(
                        ServiceEvent::current(service.clone(), good.hosts.clone())
                            .with_clusters(job.target.clusters.iter().cloned()),
                    )
                });
                out.deliveries.push((l.listener.clone(), ev.clone()));
            }
        }
        out
    }

    /// The poll and its deliveries are over: the entry may be polled
    /// again. `true` when it falls due before the scheduler planned to
    /// look (so it must be woken); otherwise the scheduler finds it in
    /// time by itself, and the poll costs it no wake-up.
    ///
    /// A poll that succeeded while others had failed revives them: they
    /// are due at once (the server answers again), and the scheduler is
    /// woken.
    pub(crate) fn finish(&self, job: &Job) -> bool {
        let mut guard = self.lock();
        let t = &mut *guard;
        let Some(e) = t
            .entries
            .get_mut(&*job.target)
            .filter(|e| e.id == job.entry)
        else {
            return false;
        };
        e.in_flight = false;
        let (id, due, ok) = (e.id, e.next_due, e.failures == 0);
        let wake = t.schedule(id, due, &job.target);
        let revived = ok && t.revive();
        wake || revived
    }

    /// Makes every failing entry due at once (a request to the servers
    /// succeeded: they answer again); `true` when there was one.
    pub(crate) fn revive_failing(&self) -> bool {
        self.lock().revive()
    }
}

#[cfg(test)]
mod tests;
