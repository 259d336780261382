//! What a service-catalog watch reports: the services matching it now, and
//! which came and went since the last event.

use std::collections::BTreeSet;

use crate::events::delivery::Coalesce;
use crate::naming::service::ServiceKey;

/// The services of a namespace, in one group or in every group (matching a
/// pattern, if one was given) after a change; see
/// [`NacosClient::watch_services`](crate::NacosClient::watch_services).
///
/// The first event of a watch is marked `initial` and lists every matching
/// service as `added`. Each service is a [`ServiceKey`] (namespace, group,
/// bare name), which [`subscribe`](crate::NacosClient::subscribe) and the
/// lookups take as it is; the lists are sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogEvent {
    /// The first event of the watch: what matches now.
    pub initial: bool,
    /// Namespace id (empty: public).
    pub namespace: String,
    /// The group watched (`None`: every group).
    pub group: Option<String>,
    /// Every matching service now.
    pub services: Vec<ServiceKey>,
    /// Services that appeared since the last event.
    pub added: Vec<ServiceKey>,
    /// Services that left since the last event.
    pub removed: Vec<ServiceKey>,
}

impl CatalogEvent {
    /// The event for a watch that saw `before` (`None`: nothing yet) and
    /// now sees `now`; `None` when nothing changed.
    pub(crate) fn between(
        namespace: &str,
        group: Option<&str>,
        before: Option<&BTreeSet<ServiceKey>>,
        now: &BTreeSet<ServiceKey>,
    ) -> Option<CatalogEvent> {
        let empty = BTreeSet::new();
        let old = before.unwrap_or(&empty);
        let added: Vec<ServiceKey> = now.difference(old).cloned().collect();
        let removed: Vec<ServiceKey> = old.difference(now).cloned().collect();
        if before.is_some() && added.is_empty() && removed.is_empty() {
            return None;
        }
        Some(CatalogEvent {
            initial: before.is_none(),
            namespace: namespace.to_string(),
            group: group.map(str::to_string),
            services: now.iter().cloned().collect(),
            added,
            removed,
        })
    }

    /// The services before this event.
    fn before(&self) -> BTreeSet<ServiceKey> {
        let mut old: BTreeSet<ServiceKey> = self.services.iter().cloned().collect();
        for a in &self.added {
            old.remove(a);
        }
        old.extend(self.removed.iter().cloned());
        old
    }
}

impl Coalesce for CatalogEvent {
    /// From what `self` started from to what `later` ends with.
    fn merge(self, later: CatalogEvent) -> CatalogEvent {
        let now: BTreeSet<ServiceKey> = later.services.iter().cloned().collect();
        let before = (!self.initial).then(|| self.before());
        let group = later.group.as_deref();
        let mut merged = CatalogEvent::between(&later.namespace, group, before.as_ref(), &now)
            .unwrap_or(CatalogEvent {
                initial: false,
                added: Vec::new(),
                removed: Vec::new(),
                ..later
            });
        merged.initial = self.initial;
        merged
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<CatalogEvent>()
            + [&self.services, &self.added, &self.removed]
                .iter()
                .flat_map(|l| l.iter())
                .map(|s| {
                    s.namespace.len()
                        + s.group.len()
                        + s.name.len()
                        + std::mem::size_of::<ServiceKey>()
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ServiceKey {
        ServiceKey::new("", "G", name)
    }

    fn keys(names: &[&str]) -> Vec<ServiceKey> {
        names.iter().map(|n| key(n)).collect()
    }

    fn set(names: &[&str]) -> BTreeSet<ServiceKey> {
        keys(names).into_iter().collect()
    }

    #[test]
    fn the_first_event_adds_everything_and_later_ones_only_changes() {
        let first = CatalogEvent::between("", Some("G"), None, &set(&["a", "b"])).unwrap();
        assert!(first.initial);
        assert_eq!(first.added, keys(&["a", "b"]));
        let same = CatalogEvent::between("", Some("G"), Some(&set(&["a", "b"])), &set(&["b", "a"]));
        assert_eq!(same, None);
        let next = CatalogEvent::between("", Some("G"), Some(&set(&["a", "b"])), &set(&["b", "c"]))
            .unwrap();
        assert!(!next.initial);
        assert_eq!((next.added, next.removed), (keys(&["c"]), keys(&["a"])));
        // An empty catalog at first is still an initial event.
        assert!(CatalogEvent::between("", Some("G"), None, &set(&[])).is_some());
    }

    #[test]
    fn merged_events_say_the_net_change() {
        let s0 = set(&["a", "b"]);
        let s1 = set(&["b", "c"]);
        let s2 = set(&["a", "c", "d"]);
        let e1 = CatalogEvent::between("", Some("G"), Some(&s0), &s1).unwrap();
        let e2 = CatalogEvent::between("", Some("G"), Some(&s1), &s2).unwrap();
        let m = e1.merge(e2);
        assert_eq!(
            m,
            CatalogEvent::between("", Some("G"), Some(&s0), &s2).unwrap()
        );
        assert_eq!((m.added, m.removed), (keys(&["c", "d"]), keys(&["b"])));
        // Back where it started: an event that changes nothing.
        let e3 = CatalogEvent::between("", Some("G"), Some(&s0), &s1).unwrap();
        let e4 = CatalogEvent::between("", Some("G"), Some(&s1), &s0).unwrap();
        let back = e3.merge(e4);
        assert!(back.added.is_empty() && back.removed.is_empty());
        assert_eq!(back.services, keys(&["a", "b"]));
        // Merged into the initial event: still initial, everything added.
        let i = CatalogEvent::between("", Some("G"), None, &s0).unwrap();
        let m = i.merge(CatalogEvent::between("", Some("G"), Some(&s0), &s2).unwrap());
        assert!(m.initial);
        assert_eq!(m.added, keys(&["a", "c", "d"]));
        assert!(m.removed.is_empty());
    }
}
