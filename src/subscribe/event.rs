//! `ServiceEvent`, the diff between two instance lists, and push-empty
//! protection. Pure functions: no I/O, no locks.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::events::delivery::Coalesce;
use crate::naming::instance::Instance;
use crate::naming::service::ServiceKey;

/// A change to a subscribed service's instances.
///
/// Instances are identified by ip + port + cluster. An instance is
/// *modified* when its weight, health, enabled flag or metadata changed;
/// `modified` holds the new version.
///
/// Every listener (and every [`Watcher`](crate::Watcher)) first receives
/// one event with `initial == true`: the current instances, all in
/// `added`. Later events only carry real changes; an instance present at
/// the initial event is never reported as added again unless it was
/// removed in between.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServiceEvent {
    /// The service.
    pub service: ServiceKey,
    /// The clusters subscribed to (empty: all).
    pub clusters: Vec<String>,
    /// The full new list of instances (healthy or not).
    pub instances: Vec<Instance>,
    /// Instances that were not listed before.
    pub added: Vec<Instance>,
    /// Instances that are no longer listed (their last known version).
    pub removed: Vec<Instance>,
    /// Instances whose weight, health, enabled flag or metadata changed.
    pub modified: Vec<Instance>,
    /// `true` for the first event a listener receives.
    pub initial: bool,
}

impl ServiceEvent {
    /// The first event a listener receives: every current instance, all
    /// of them in `added`. For unit-testing handlers without a server.
    ///
    /// ```
    /// use nacos_blocking::{Instance, ServiceEvent, ServiceKey};
    /// let key = ServiceKey::new("", "DEFAULT_GROUP", "orders");
    /// let first = ServiceEvent::current(key.clone(), vec![Instance::new("10.0.0.1", 80)]);
    /// let next = ServiceEvent::between(key, &first.instances, vec![]);
    /// assert_eq!((first.added.len(), next.removed.len()), (1, 1));
    /// ```
    pub fn current(service: ServiceKey, instances: Vec<Instance>) -> ServiceEvent {
        ServiceEvent {
            service,
            clusters: Vec::new(),
            added: instances.clone(),
            instances,
            removed: Vec::new(),
            modified: Vec::new(),
            initial: true,
        }
    }

    /// The change from `old` to `new` (added, removed and modified
    /// computed as the client does).
    pub fn between(service: ServiceKey, old: &[Instance], new: Vec<Instance>) -> ServiceEvent {
        let d = diff(old, &new);
        ServiceEvent {
            service,
            clusters: Vec::new(),
            instances: new,
            added: d.added,
            removed: d.removed,
            modified: d.modified,
            initial: false,
        }
    }

    /// The same event for a subscription limited to `clusters`.
    #[must_use]
    pub fn with_clusters<I>(mut self, clusters: I) -> ServiceEvent
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.clusters = clusters.into_iter().map(Into::into).collect();
        self
    }

    /// `true` when nothing was added, removed or modified.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

/// What changed from `old` to `new`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Diff {
    pub(crate) added: Vec<Instance>,
    pub(crate) removed: Vec<Instance>,
    pub(crate) modified: Vec<Instance>,
}

impl Diff {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

/// Whether two versions of the same instance differ in what users act on.
fn changed(a: &Instance, b: &Instance) -> bool {
    a.weight != b.weight
        || a.healthy != b.healthy
        || a.enabled != b.enabled
        || a.metadata != b.metadata
}

/// What identifies an instance in a list: ip, port, cluster.
fn identity(i: &Instance) -> (&str, u16, &str) {
    (i.ip.as_str(), i.port, i.cluster_name.as_str())
}

/// The diff from `old` to `new`, in `new`'s order (removed in `old`'s).
/// Linear in the sizes of both lists.
pub(crate) fn diff(old: &[Instance], new: &[Instance]) -> Diff {
    let mut d = Diff::default();
    let before: HashMap<_, &Instance> = old.iter().map(|o| (identity(o), o)).collect();
    let after: HashSet<_> = new.iter().map(identity).collect();
    for n in new {
        match before.get(&identity(n)) {
            None => d.added.push(n.clone()),
            Some(o) if changed(o, n) => d.modified.push(n.clone()),
            Some(_) => {}
        }
    }
    for o in old {
        if !after.contains(&identity(o)) {
            d.removed.push(o.clone());
        }
    }
    d
}

/// Past the queue cap, waiting service events merge into the net change.
impl Coalesce for ServiceEvent {
    /// `self` took the list from `old` to `mid`, `later` from `mid` to
    /// `new`: the merge takes it from `old` to `new`.
    fn weight(&self) -> usize {
        std::mem::size_of::<ServiceEvent>()
            + [&self.instances, &self.added, &self.removed, &self.modified]
                .iter()
                .flat_map(|list| list.iter())
                .map(Instance::weight)
                .sum::<usize>()
    }

    fn merge(self, later: ServiceEvent) -> ServiceEvent {
        if self.initial {
            // Still the first event: everything there now is "added".
            return ServiceEvent::current(later.service.clone(), later.instances)
                .with_clusters(self.clusters);
        }
        let added_first: HashSet<_> = self.added.iter().map(identity).collect();
        let removed_first: HashSet<_> = self.removed.iter().map(identity).collect();
        // Who was there before `self`: listed after it but not added by
        // it, or removed by it.
        let old: HashSet<_> = self
            .instances
            .iter()
            .map(identity)
            .filter(|i| !added_first.contains(i))
            .chain(removed_first.iter().copied())
            .collect();
        let new: HashSet<_> = later.instances.iter().map(identity).collect();
        let modified_any: HashSet<_> = self
            .modified
            .iter()
            .chain(&later.modified)
            .map(identity)
            .collect();
        let added = later
            .instances
            .iter()
            .filter(|i| !old.contains(&identity(i)))
            .cloned()
            .collect();
        let modified = later
            .instances
            .iter()
            .filter(|i| {
                let i_id = identity(i);
                if !old.contains(&i_id) {
                    return false;
                }
                // Removed by `self` and back: compare with the old version.
                match self.removed.iter().find(|r| identity(r) == i_id) {
                    Some(was) => changed(was, i),
                    None => modified_any.contains(&i_id),
                }
            })
            .cloned()
            .collect();
        // Gone by the end: removed by `self` and not back, or listed after
        // `self` (and there before it) and removed by `later`.
        let removed =
            self.removed
                .iter()
                .filter(|i| !new.contains(&identity(i)))
                .chain(later.removed.iter().filter(|i| {
                    old.contains(&identity(i)) && !removed_first.contains(&identity(i))
                }))
                .cloned()
                .collect();
        ServiceEvent {
            service: later.service,
            clusters: later.clusters,
            instances: later.instances,
            added,
            removed,
            modified,
            initial: false,
        }
    }
}

/// Push-empty protection: what to do with a freshly polled list.
///
/// An empty list replacing a non-empty one is held (the last good list
/// stays) for a time window, whatever the poll interval: a server that
/// restarted lists nothing until the heartbeats of its instances come
/// back, which takes up to one beat interval. Only an empty list still
/// there once the window has passed is delivered.
#[derive(Debug, Default)]
pub(crate) struct EmptyGuard {
    /// When the empty list now held was first seen.
    held_since: Option<Instant>,
}

impl EmptyGuard {
    /// `true` when `new` may replace `previous`.
    pub(crate) fn accept(
        &mut self,
        previous: Option<&[Instance]>,
        new: &[Instance],
        window: Option<Duration>,
        now: Instant,
    ) -> bool {
        let replaces_nonempty = previous.is_some_and(|p| !p.is_empty());
        let Some(window) = window else {
            return true;
        };
        if !(new.is_empty() && replaces_nonempty) {
            self.held_since = None;
            return true;
        }
        let since = *self.held_since.get_or_insert_with(|| {
            log::warn!("nacos: a subscribed service came back empty; holding the last list");
            now
        });
        if now.saturating_duration_since(since) < window {
            return false;
        }
        self.held_since = None;
        true
    }

    /// `true` while an empty list is held back.
    pub(crate) fn holding(&self) -> bool {
        self.held_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(ip: &str, port: u16) -> Instance {
        Instance::builder(ip, port).build()
    }

    #[test]
    fn diff_finds_added_removed_modified() {
        let a = inst("10.0.0.1", 1);
        let b = inst("10.0.0.2", 2);
        let c = inst("10.0.0.3", 3);
        let mut b2 = b.clone();
        b2.metadata.insert("v".into(), "2".into());
        let d = diff(&[a.clone(), b.clone()], &[b2.clone(), c.clone()]);
        assert_eq!(d.added, vec![c.clone()]);
        assert_eq!(d.removed, vec![a.clone()]);
        assert_eq!(d.modified, vec![b2.clone()]);
        assert!(diff(&[a.clone(), b.clone()], &[b.clone(), a.clone()]).is_empty());
    }

    #[test]
    fn diff_identity_is_ip_port_cluster() {
        let a = inst("10.0.0.1", 1);
        let other_cluster = Instance::builder("10.0.0.1", 1).cluster("z").build();
        let d = diff(
            std::slice::from_ref(&a),
            std::slice::from_ref(&other_cluster),
        );
        assert_eq!((d.added.len(), d.removed.len()), (1, 1));
        for f in [
            |i: &mut Instance| i.weight = 5.0,
            |i: &mut Instance| i.healthy = false,
            |i: &mut Instance| i.enabled = false,
        ] {
            let mut m = a.clone();
            f(&mut m);
            assert_eq!(
                diff(std::slice::from_ref(&a), &[m.clone()]).modified,
                vec![m]
            );
        }
        // Fields outside the contract (ids, service name) are no change.
        let mut same = a.clone();
        same.instance_id = Some("x".into());
        assert!(diff(std::slice::from_ref(&a), &[same]).is_empty());
    }

    #[test]
    fn empty_is_held_for_the_window_whatever_the_poll_rate() {
        let one = vec![inst("10.0.0.1", 1)];
        let mut g = EmptyGuard::default();
        let w = Some(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(g.accept(None, &[], w, t0), "first list, even empty");
        assert!(g.accept(Some(&[]), &one, w, t0));
        for ms in [0, 200, 400, 5_000, 9_999] {
            let t = t0 + Duration::from_millis(ms);
            assert!(!g.accept(Some(&one), &[], w, t), "held at {ms} ms");
            assert!(g.holding());
        }
        assert!(
            g.accept(Some(&one), &one, w, t0 + Duration::from_secs(5)),
            "back"
        );
        assert!(!g.holding());
        let t1 = t0 + Duration::from_secs(20);
        assert!(!g.accept(Some(&one), &[], w, t1), "a new window starts");
        assert!(
            g.accept(Some(&one), &[], w, t1 + Duration::from_secs(10)),
            "still empty after it"
        );
        assert!(g.accept(Some(&[]), &[], w, t1));
    }

    #[test]
    fn empty_passes_when_protection_is_off() {
        let one = vec![inst("10.0.0.1", 1)];
        let mut g = EmptyGuard::default();
        assert!(g.accept(Some(&one), &[], None, Instant::now()));
    }

    #[test]
    fn diff_of_fifty_thousand_is_linear() {
        let old: Vec<Instance> = (0..50_000u32)
            .map(|i| {
                inst(
                    &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                    80,
                )
            })
            .collect();
        let new: Vec<Instance> = old
            .iter()
            .map(|i| Instance::builder(i.ip.clone(), 81).build())
            .collect();
        let t = Instant::now();
        let d = diff(&old, &new);
        assert_eq!((d.added.len(), d.removed.len()), (50_000, 50_000));
        // A quadratic diff takes minutes here; linear takes milliseconds.
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    fn winst(port: u16, w: f64) -> Instance {
        Instance::builder("10.0.0.1", port).weight(w).build()
    }

    fn skey() -> ServiceKey {
        ServiceKey::new("", "G", "s")
    }

    fn ports(v: &[Instance]) -> Vec<u16> {
        let mut p: Vec<u16> = v.iter().map(|i| i.port).collect();
        p.sort();
        p
    }

    #[test]
    fn services_merge_into_the_net_change() {
        let s0 = vec![winst(1, 1.0), winst(2, 1.0), winst(3, 1.0)];
        let s1 = vec![winst(1, 5.0), winst(3, 1.0), winst(4, 1.0)]; // 1 modified, 2 gone, 4 new
        let s2 = vec![winst(1, 5.0), winst(2, 1.0), winst(4, 1.0), winst(5, 1.0)]; // 2 back, 3 gone, 5 new
        let a = ServiceEvent::between(skey(), &s0, s1.clone());
        let b = ServiceEvent::between(skey(), &s1, s2.clone());
        let m = crate::events::delivery::merge_all([a, b]).unwrap();
        let direct = ServiceEvent::between(skey(), &s0, s2.clone());
        assert_eq!(m.instances, s2);
        assert_eq!(ports(&m.added), ports(&direct.added), "added");
        assert_eq!(ports(&m.removed), ports(&direct.removed), "removed");
        assert_eq!(ports(&m.modified), ports(&direct.modified), "modified");
        assert!(!m.initial);
    }

    #[test]
    fn an_initial_event_stays_initial_with_the_newest_list() {
        let s0 = vec![winst(1, 1.0)];
        let s1 = vec![winst(2, 1.0)];
        let m = ServiceEvent::current(skey(), s0.clone()).merge(ServiceEvent::between(
            skey(),
            &s0,
            s1.clone(),
        ));
        assert!(m.initial);
        assert_eq!((m.instances.clone(), m.added.clone()), (s1.clone(), s1));
        assert!(m.removed.is_empty());
    }
}
