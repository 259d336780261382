//! The subscription table: one entry per (service, clusters), shared by all
//! its listeners, holding the last good list and the poll schedule.
//!
//! Every method takes the lock briefly and never calls user code: what to
//! deliver is handed back to the caller, who runs it after unlocking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::Result;
use crate::naming::instance::Instance;
use crate::naming::service::{ServiceInfo, ServiceKey};
use crate::subscribe::disk_cache;
use crate::subscribe::event::{diff, EmptyGuard, ServiceEvent};

/// A listener as stored: shared so delivery can run outside the lock.
pub(crate) type ListenerFn = Arc<dyn Fn(&ServiceEvent) + Send + Sync>;

/// Errors back off up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The interval before the server has advised one (`cacheMillis`).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Server advice is kept within these bounds.
const ADVISED_MIN: Duration = Duration::from_secs(1);

/// What one subscription table entry is keyed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubKey {
    pub(crate) service: ServiceKey,
    /// Sorted, without duplicates; empty means all.
    pub(crate) clusters: Vec<String>,
}

impl SubKey {
    pub(crate) fn new(service: ServiceKey, clusters: &[&str]) -> SubKey {
        let mut clusters: Vec<String> = clusters.iter().map(|c| c.to_string()).collect();
        clusters.sort();
        clusters.dedup();
        SubKey { service, clusters }
    }

    fn cluster_refs(&self) -> Vec<&str> {
        self.clusters.iter().map(String::as_str).collect()
    }
}

/// A poll the pool should run.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) sub: SubKey,
    /// The entry's id: a result for a removed-then-re-added entry is dropped.
    entry: u64,
}

impl Job {
    pub(crate) fn clusters(&self) -> Vec<&str> {
        self.sub.cluster_refs()
    }
}

struct Listener {
    id: u64,
    f: ListenerFn,
    /// Has had its initial event.
    primed: bool,
}

struct Entry {
    id: u64,
    listeners: Vec<Listener>,
    good: Option<ServiceInfo>,
    guard: EmptyGuard,
    failures: u32,
    next_due: Instant,
    in_flight: bool,
}

/// Events to hand to listeners once the lock is released, and a list to
/// write to disk.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) deliveries: Vec<(ListenerFn, Arc<ServiceEvent>)>,
    pub(crate) store: Option<(ServiceKey, ServiceInfo)>,
}

struct Table {
    entries: HashMap<SubKey, Entry>,
    closed: bool,
}

/// The settings the table needs.
#[derive(Clone, Debug)]
struct Settings {
    interval: Option<Duration>,
    protect: bool,
}

/// Every subscription of one client.
pub(crate) struct Registry {
    table: Mutex<Table>,
    ids: AtomicU64,
    settings: Settings,
    /// Lists loaded from disk at start (`load_cache_at_start`).
    from_disk: HashMap<ServiceKey, ServiceInfo>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("services", &self.lock().entries.len())
            .field("from_disk", &self.from_disk.len())
            .finish_non_exhaustive()
    }
}

/// `hosts` restricted to `clusters` (empty: all).
fn in_clusters(hosts: &[Instance], clusters: &[String]) -> Vec<Instance> {
    hosts
        .iter()
        .filter(|h| clusters.is_empty() || clusters.contains(&h.cluster_name))
        .cloned()
        .collect()
}

impl Registry {
    pub(crate) fn new(config: &Config) -> Registry {
        let from_disk = if config.load_cache_at_start {
            disk_cache::load_all(&config.cache_dir)
        } else {
            HashMap::new()
        };
        Registry {
            table: Mutex::new(Table {
                entries: HashMap::new(),
                closed: false,
            }),
            ids: AtomicU64::new(1),
            settings: Settings {
                interval: config.poll_interval,
                protect: config.push_empty_protection,
            },
            from_disk,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a listener (creating the entry, due at once); `None` once closed.
    pub(crate) fn add(&self, sub: &SubKey, f: ListenerFn) -> Option<u64> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut t = self.lock();
        if t.closed {
            return None;
        }
        let seed = self.disk_list(&sub.service, &sub.clusters);
        let entry = t.entries.entry(sub.clone()).or_insert_with(|| Entry {
            id,
            listeners: Vec::new(),
            good: seed,
            guard: EmptyGuard::default(),
            failures: 0,
            next_due: Instant::now(),
            in_flight: false,
        });
        entry.listeners.push(Listener {
            id,
            f,
            primed: false,
        });
        // A new listener waits for its initial event: poll now.
        entry.next_due = Instant::now();
        Some(id)
    }

    /// Removes one listener; the entry goes with its last listener.
    pub(crate) fn remove(&self, sub: &SubKey, listener: u64) {
        let mut t = self.lock();
        if let Some(e) = t.entries.get_mut(sub) {
            e.listeners.retain(|l| l.id != listener);
            if e.listeners.is_empty() {
                t.entries.remove(sub);
            }
        }
    }

    /// Removes every entry of `service`, whatever its clusters.
    pub(crate) fn remove_service(&self, service: &ServiceKey) -> usize {
        let mut t = self.lock();
        let before = t.entries.len();
        t.entries.retain(|k, _| &k.service != service);
        before - t.entries.len()
    }

    /// Removes everything; listeners (and watcher channels) are dropped.
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut self.lock().entries);
        drop(old);
    }

    /// Clears and refuses new subscriptions.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The subscribed list for `service` and `clusters`, if one is known: an
    /// entry for exactly these clusters, or one for all clusters.
    pub(crate) fn cached(&self, service: &ServiceKey, clusters: &[&str]) -> Option<ServiceInfo> {
        let exact = SubKey::new(service.clone(), clusters);
        let t = self.lock();
        if let Some(info) = t.entries.get(&exact).and_then(|e| e.good.as_ref()) {
            return Some(info.clone());
        }
        let all = SubKey::new(service.clone(), &[]);
        let info = t.entries.get(&all).and_then(|e| e.good.as_ref())?;
        Some(ServiceInfo {
            hosts: in_clusters(&info.hosts, &exact.clusters),
            clusters: exact.clusters.join(","),
            ..info.clone()
        })
    }

    /// The list loaded from disk at start for `service`, if it covers `clusters`.
    pub(crate) fn disk_list(
        &self,
        service: &ServiceKey,
        clusters: &[String],
    ) -> Option<ServiceInfo> {
        let info = self.from_disk.get(service)?;
        let joined = clusters.join(",");
        if !(info.clusters.is_empty() || info.clusters == joined) {
            return None;
        }
        Some(ServiceInfo {
            hosts: in_clusters(&info.hosts, clusters),
            clusters: joined,
            ..info.clone()
        })
    }

    /// Marks every due, idle entry in flight and returns their polls, and
    /// when the next idle entry falls due.
    pub(crate) fn take_due(&self, now: Instant) -> (Vec<Job>, Option<Instant>) {
        let mut t = self.lock();
        let mut jobs = Vec::new();
        let mut next: Option<Instant> = None;
        for (k, e) in t.entries.iter_mut().filter(|(_, e)| !e.in_flight) {
            if e.next_due <= now {
                e.in_flight = true;
                jobs.push(Job {
                    sub: k.clone(),
                    entry: e.id,
                });
            } else {
                next = Some(next.map_or(e.next_due, |n| n.min(e.next_due)));
            }
        }
        (jobs, next)
    }

    /// Records a poll's result and says what to deliver and store.
    pub(crate) fn complete(&self, job: &Job, result: Result<ServiceInfo>) -> Outcome {
        let mut out = Outcome::default();
        let mut t = self.lock();
        let Some(e) = t.entries.get_mut(&job.sub).filter(|e| e.id == job.entry) else {
            return out;
        };
        let now = Instant::now();
        match result {
            Err(err) => {
                e.failures = e.failures.saturating_add(1);
                let base = self.settings.interval.unwrap_or(DEFAULT_INTERVAL);
                let backoff = base
                    .saturating_mul(1 << e.failures.min(16))
                    .min(MAX_BACKOFF);
                e.next_due = crate::util::later(now, jittered(backoff).min(MAX_BACKOFF));
                let level = if e.failures == 1 {
                    log::Level::Warn
                } else {
                    log::Level::Debug
                };
                log::log!(
                    level,
                    "nacos: polling {} failed ({} in a row), keeping the last list, next try in {backoff:?}: {err}",
                    job.sub.service,
                    e.failures
                );
            }
            Ok(mut info) => {
                if e.failures > 0 {
                    log::info!("nacos: polling {} works again", job.sub.service);
                    e.guard.recovered(now);
                }
                e.failures = 0;
                let advised = Duration::from_millis(info.cache_millis);
                let interval = self.settings.interval.unwrap_or(if advised.is_zero() {
                    DEFAULT_INTERVAL
                } else {
                    advised.clamp(ADVISED_MIN, MAX_BACKOFF)
                });
                e.next_due = crate::util::later(now, jittered(interval));
                info.clusters = job.sub.clusters.join(",");
                let previous = e.good.as_ref().map(|g| g.hosts.as_slice());
                if e.guard
                    .accept(previous, &info.hosts, self.settings.protect, now)
                {
                    let d = diff(previous.unwrap_or(&[]), &info.hosts);
                    if e.good.is_none() || !d.is_empty() {
                        out.store = Some((job.sub.service.clone(), info.clone()));
                    }
                    if e.good.is_some() && !d.is_empty() {
                        let ev = Arc::new(ServiceEvent {
                            service: job.sub.service.clone(),
                            clusters: job.sub.clusters.clone(),
                            instances: info.hosts.clone(),
                            added: d.added,
                            removed: d.removed,
                            modified: d.modified,
                            initial: false,
                        });
                        for l in e.listeners.iter().filter(|l| l.primed) {
                            out.deliveries.push((l.f.clone(), ev.clone()));
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
                    Arc::new(ServiceEvent {
                        service: job.sub.service.clone(),
                        clusters: job.sub.clusters.clone(),
                        instances: good.hosts.clone(),
                        added: good.hosts.clone(),
                        removed: Vec::new(),
                        modified: Vec::new(),
                        initial: true,
                    })
                });
                out.deliveries.push((l.f.clone(), ev.clone()));
            }
        }
        out
    }

    /// The poll and its deliveries are over: the entry may be polled again.
    pub(crate) fn finish(&self, job: &Job) {
        let mut t = self.lock();
        if let Some(e) = t.entries.get_mut(&job.sub).filter(|e| e.id == job.entry) {
            e.in_flight = false;
        }
    }
}

/// `d` give or take up to 10%, so services subscribed together drift apart
/// instead of being polled in one burst every interval.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.9 + 0.2 * crate::util::random_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ClientBuilder;
    use std::sync::atomic::AtomicUsize;

    fn registry(protect: bool) -> Registry {
        let c = ClientBuilder::default()
            .server_addr("127.0.0.1")
            .poll_interval(Some(Duration::from_millis(100)))
            .push_empty_protection(protect)
            .into_config()
            .unwrap();
        Registry::new(&c)
    }

    fn sub() -> SubKey {
        SubKey::new(
            ServiceKey {
                namespace: String::new(),
                group: "G".into(),
                name: "svc".into(),
            },
            &[],
        )
    }

    fn list(ports: &[u16]) -> ServiceInfo {
        ServiceInfo {
            hosts: ports
                .iter()
                .map(|p| Instance::builder("10.0.0.1", *p).build())
                .collect(),
            ..ServiceInfo::default()
        }
    }

    /// Runs one poll with `result`; returns (initial?, added, removed) per delivery.
    fn poll(r: &Registry, result: Result<ServiceInfo>) -> Vec<(bool, usize, usize)> {
        let (jobs, _) = r.take_due(Instant::now() + Duration::from_secs(3600));
        assert_eq!(jobs.len(), 1);
        let out = r.complete(&jobs[0], result);
        r.finish(&jobs[0]);
        out.deliveries
            .iter()
            .map(|(_, e)| (e.initial, e.added.len(), e.removed.len()))
            .collect()
    }

    #[test]
    fn initial_then_changes_and_errors_keep_the_list() {
        let r = registry(true);
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        r.add(
            &sub(),
            Arc::new(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        assert_eq!(poll(&r, Ok(list(&[1, 2]))), vec![(true, 2, 0)]);
        assert_eq!(poll(&r, Ok(list(&[1, 2]))), vec![]);
        assert_eq!(poll(&r, Ok(list(&[1, 3]))), vec![(false, 1, 1)]);
        // Push-empty: held once, then confirmed.
        assert_eq!(poll(&r, Ok(list(&[]))), vec![]);
        assert_eq!(r.cached(&sub().service, &[]).unwrap().hosts.len(), 2);
        assert_eq!(poll(&r, Ok(list(&[]))), vec![(false, 0, 2)]);
        assert_eq!(poll(&r, Ok(list(&[1, 3]))), vec![(false, 2, 0)]);
        // An error keeps the list; right after it, empty lists stay held
        // (the server may have restarted and lost its instances).
        assert_eq!(poll(&r, Err(crate::error::Error::Shutdown)), vec![]);
        assert_eq!(r.cached(&sub().service, &[]).unwrap().hosts.len(), 2);
        assert_eq!(poll(&r, Ok(list(&[]))), vec![]);
        assert_eq!(poll(&r, Ok(list(&[]))), vec![]);
        assert_eq!(r.cached(&sub().service, &[]).unwrap().hosts.len(), 2);
        // A second listener gets its own initial event only.
        let id = r.add(&sub(), Arc::new(|_| {})).unwrap();
        assert_eq!(poll(&r, Ok(list(&[1, 3]))), vec![(true, 2, 0)]);
        r.remove(&sub(), id);
        assert_eq!(r.len(), 1);
        r.close();
        assert_eq!(r.len(), 0);
        assert!(r.add(&sub(), Arc::new(|_| {})).is_none());
    }

    #[test]
    fn empty_is_delivered_at_once_without_protection() {
        let r = registry(false);
        r.add(&sub(), Arc::new(|_| {})).unwrap();
        poll(&r, Ok(list(&[1])));
        assert_eq!(poll(&r, Ok(list(&[]))), vec![(false, 0, 1)]);
    }

    #[test]
    fn errors_back_off_and_cache_filters_clusters() {
        let r = registry(true);
        r.add(&sub(), Arc::new(|_| {})).unwrap();
        let mut info = list(&[1]);
        info.hosts
            .push(Instance::builder("10.0.0.2", 1).cluster("z").build());
        poll(&r, Ok(info));
        let z = r.cached(&sub().service, &["z"]).unwrap();
        assert_eq!(z.hosts.len(), 1);
        assert_eq!(z.hosts[0].cluster_name, "z");
        let before = Instant::now();
        for _ in 0..10 {
            poll(&r, Err(crate::error::Error::Shutdown));
        }
        let (_, next) = r.take_due(before);
        let wait = next.unwrap() - before;
        assert!(wait <= MAX_BACKOFF + Duration::from_secs(1), "{wait:?}");
        // Jittered by up to 10% below the cap.
        assert!(
            wait >= MAX_BACKOFF.mul_f64(0.9) - Duration::from_secs(1),
            "{wait:?}"
        );
    }
}
