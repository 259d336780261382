//! `ServiceEvent`, the diff between two instance lists, and push-empty
//! protection. Pure functions: no I/O, no locks.

use std::time::{Duration, Instant};

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

/// The diff from `old` to `new`, in `new`'s order (removed in `old`'s).
pub(crate) fn diff(old: &[Instance], new: &[Instance]) -> Diff {
    let mut d = Diff::default();
    for n in new {
        match old.iter().find(|o| o.same_identity(n)) {
            None => d.added.push(n.clone()),
            Some(o) if changed(o, n) => d.modified.push(n.clone()),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| n.same_identity(o)) {
            d.removed.push(o.clone());
        }
    }
    d
}

/// How long after polls start working again an empty list stays held:
/// a server that restarted has lost its ephemeral instances until their
/// heartbeats re-register them, which takes up to one heartbeat interval
/// (5 s by default in Nacos clients); this is twice that.
pub(crate) const RECOVERY_GRACE: Duration = Duration::from_secs(10);

/// Push-empty protection: what to do with a freshly polled list.
#[derive(Debug, Default)]
pub(crate) struct EmptyGuard {
    /// An empty list replaced a non-empty one and is waiting to be confirmed.
    held: bool,
    /// When polls last started working again after failing.
    recovered_at: Option<Instant>,
}

impl EmptyGuard {
    /// Polls work again after failing (the server may have restarted).
    pub(crate) fn recovered(&mut self, now: Instant) {
        self.recovered_at = Some(now);
    }

    /// `true` when `new` may replace `previous`. With `protect`, an empty
    /// list replacing a non-empty one is accepted only when the poll
    /// before this one was empty too, and, within [`RECOVERY_GRACE`] of
    /// polls recovering from failures, only once that grace is over.
    pub(crate) fn accept(
        &mut self,
        previous: Option<&[Instance]>,
        new: &[Instance],
        protect: bool,
        now: Instant,
    ) -> bool {
        let replaces_nonempty = previous.is_some_and(|p| !p.is_empty());
        if protect && new.is_empty() && replaces_nonempty {
            let recovering = self
                .recovered_at
                .is_some_and(|at| now.saturating_duration_since(at) < RECOVERY_GRACE);
            if !self.held || recovering {
                if !self.held {
                    log::warn!(
                        "nacos: a subscribed service came back empty; holding it until confirmed"
                    );
                }
                self.held = true;
                return false;
            }
        }
        self.held = false;
        true
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
    fn empty_is_held_until_confirmed() {
        let one = vec![inst("10.0.0.1", 1)];
        let mut g = EmptyGuard::default();
        let now = Instant::now();
        assert!(g.accept(None, &[], true, now), "first list, even empty");
        assert!(g.accept(Some(&[]), &one, true, now));
        assert!(!g.accept(Some(&one), &[], true, now), "held");
        assert!(g.accept(Some(&one), &one, true, now), "glitch over");
        assert!(!g.accept(Some(&one), &[], true, now), "held again");
        assert!(g.accept(Some(&one), &[], true, now), "confirmed");
        assert!(g.accept(Some(&[]), &[], true, now));
    }

    #[test]
    fn after_an_outage_empty_is_held_for_the_grace() {
        let one = vec![inst("10.0.0.1", 1)];
        let mut g = EmptyGuard::default();
        let t0 = Instant::now();
        g.recovered(t0);
        let soon = t0 + RECOVERY_GRACE / 2;
        assert!(!g.accept(Some(&one), &[], true, t0), "held");
        assert!(
            !g.accept(Some(&one), &[], true, soon),
            "still held in grace"
        );
        assert!(g.accept(Some(&one), &one, true, soon), "re-registered");
        let later = t0 + RECOVERY_GRACE;
        assert!(!g.accept(Some(&one), &[], true, later), "held once more");
        assert!(
            g.accept(Some(&one), &[], true, later),
            "confirmed after grace"
        );
    }

    #[test]
    fn empty_passes_when_protection_is_off() {
        let one = vec![inst("10.0.0.1", 1)];
        let mut g = EmptyGuard::default();
        assert!(g.accept(Some(&one), &[], false, Instant::now()));
    }
}
