//! The read side of the subscription table: the list a lookup answers
//! from (a subscription's own, one for all clusters narrowed, or the one
//! loaded from disk at start).

use crate::naming::service::{ServiceInfo, ServiceKey, Target};

use super::Registry;

impl Registry {
    /// The subscribed list for `target`, if one is known: an entry for
    /// exactly these clusters, or one for all clusters.
    pub(crate) fn cached(&self, target: &Target) -> Option<ServiceInfo> {
        let t = self.lock();
        if let Some(info) = t.entries.get(target).and_then(|e| e.good.as_ref()) {
            return Some(info.clone());
        }
        if target.clusters.is_empty() {
            return None; // that was the entry for all clusters
        }
        let all = Target {
            service: target.service.clone(),
            clusters: Vec::new(),
        };
        let info = t.entries.get(&all).and_then(|e| e.good.as_ref())?;
        Some(info.for_clusters(&target.clusters))
    }

    /// The list loaded from disk at start for `service`, if it covers `clusters`.
    pub(crate) fn disk_list(
        &self,
        service: &ServiceKey,
        clusters: &[String],
    ) -> Option<ServiceInfo> {
        let info = self.from_disk.get(service)?;
        if !(info.clusters.is_empty() || info.clusters == clusters) {
            return None;
        }
        Some(info.for_clusters(clusters))
    }
}
