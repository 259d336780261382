//! What a service-catalog watch reports: the services matching it now, and
//! which came and went since the last event.

use std::collections::BTreeSet;

use crate::events::delivery::Coalesce;

/// The services of a namespace and group (matching a pattern, if one was
/// given) after a change; see
/// [`NacosClient::watch_services`](crate::NacosClient::watch_services).
///
/// The first event of a watch is marked `initial` and lists every matching
/// service as `added`. Names are bare service names, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogEvent {
    /// The first event of the watch: what matches now.
    pub initial: bool,
    /// Namespace id (empty: public).
    pub namespace: String,
    /// Group.
    pub group: String,
    /// Every matching service now.
    pub services: Vec<String>,
    /// Services that appeared since the last event.
    pub added: Vec<String>,
    /// Services that left since the last event.
    pub removed: Vec<String>,
}

impl CatalogEvent {
    /// The event for a watch that saw `before` (`None`: nothing yet) and
    /// now sees `now`; `None` when nothing changed.
    pub(crate) fn between(
        namespace: &str,
        group: &str,
        before: Option<&BTreeSet<String>>,
        now: &BTreeSet<String>,
    ) -> Option<CatalogEvent> {
        let empty = BTreeSet::new();
        let old = before.unwrap_or(&empty);
        let added: Vec<String> = now.difference(old).cloned().collect();
        let removed: Vec<String> = old.difference(now).cloned().collect();
        if before.is_some() && added.is_empty() && removed.is_empty() {
            return None;
        }
        Some(CatalogEvent {
            initial: before.is_none(),
            namespace: namespace.to_string(),
            group: group.to_string(),
            services: now.iter().cloned().collect(),
            added,
            removed,
        })
    }

    /// The services before this event.
    fn before(&self) -> BTreeSet<String> {
        let mut old: BTreeSet<String> = self.services.iter().cloned().collect();
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
        let now: BTreeSet<String> = later.services.iter().cloned().collect();
        let before = (!self.initial).then(|| self.before());
        let mut merged =
            CatalogEvent::between(&later.namespace, &later.group, before.as_ref(), &now).unwrap_or(
                CatalogEvent {
                    initial: false,
                    added: Vec::new(),
                    removed: Vec::new(),
                    ..later
                },
            );
        merged.initial = self.initial;
        merged
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<CatalogEvent>()
            + [&self.services, &self.added, &self.removed]
                .iter()
                .flat_map(|l| l.iter())
                .map(|s| s.len() + std::mem::size_of::<String>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_event_adds_everything_and_later_ones_only_changes() {
        let first = CatalogEvent::between("", "G", None, &set(&["a", "b"])).unwrap();
        assert!(first.initial);
        assert_eq!(first.added, ["a", "b"]);
        let same = CatalogEvent::between("", "G", Some(&set(&["a", "b"])), &set(&["b", "a"]));
        assert_eq!(same, None);
        let next =
            CatalogEvent::between("", "G", Some(&set(&["a", "b"])), &set(&["b", "c"])).unwrap();
        assert!(!next.initial);
        assert_eq!(
            (next.added, next.removed),
            (vec!["c".to_string()], vec!["a".to_string()])
        );
        // An empty catalog at first is still an initial event.
        assert!(CatalogEvent::between("", "G", None, &set(&[])).is_some());
    }

    #[test]
    fn merged_events_say_the_net_change() {
        let s0 = set(&["a", "b"]);
        let s1 = set(&["b", "c"]);
        let s2 = set(&["a", "c", "d"]);
        let e1 = CatalogEvent::between("", "G", Some(&s0), &s1).unwrap();
        let e2 = CatalogEvent::between("", "G", Some(&s1), &s2).unwrap();
        let m = e1.merge(e2);
        assert_eq!(m, CatalogEvent::between("", "G", Some(&s0), &s2).unwrap());
        assert_eq!(
            (m.added, m.removed),
            (
                vec!["c".to_string(), "d".to_string()],
                vec!["b".to_string()]
            )
        );
        // Back where it started: an event that changes nothing.
        let e3 = CatalogEvent::between("", "G", Some(&s0), &s1).unwrap();
        let e4 = CatalogEvent::between("", "G", Some(&s1), &s0).unwrap();
        let back = e3.merge(e4);
        assert!(back.added.is_empty() && back.removed.is_empty());
        assert_eq!(back.services, ["a", "b"]);
        // Merged into the initial event: still initial, everything added.
        let i = CatalogEvent::between("", "G", None, &s0).unwrap();
        let m = i.merge(CatalogEvent::between("", "G", Some(&s0), &s2).unwrap());
        assert!(m.initial);
        assert_eq!(m.added, ["a", "c", "d"]);
        assert!(m.removed.is_empty());
    }
}
