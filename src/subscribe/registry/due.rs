//! The due queue of the subscription table: which idle entry falls due
//! next, reviving failing entries when the servers answer again, and the
//! jitter that keeps subscriptions apart.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Table;
use crate::naming::service::Target;

impl Table {
    /// Queues `e` (idle) for its due time.
    pub(super) fn schedule(&mut self, id: u64, due: Instant, target: &Arc<Target>) {
        self.due.push(Reverse(Due {
            at: due,
            id,
            target: target.clone(),
        }));
    }

    /// Makes every failing entry due at once (a request to the servers
    /// succeeded: they answer again); `true` when there was one.
    pub(super) fn revive(&mut self) -> bool {
        if !self.any_failing {
            return false;
        }
        self.any_failing = false;
        let now = Instant::now();
        let revived: Vec<(u64, Arc<Target>)> = self
            .entries
            .values_mut()
            .filter(|e| e.failures > 0 && !e.in_flight)
            .map(|e| {
                e.next_due = now;
                (e.id, e.target.clone())
            })
            .collect();
        for (id, target) in &revived {
            self.schedule(*id, now, target);
        }
        !revived.is_empty()
    }
}

/// An item of the due queue, ordered by time (then entry id).
pub(super) struct Due {
    pub(super) at: Instant,
    pub(super) id: u64,
    pub(super) target: Arc<Target>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.id) == (other.at, other.id)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.id).cmp(&(other.at, other.id))
    }
}

/// `d` give or take up to 10%, so services subscribed together drift apart
/// instead of being polled in one burst every interval.
pub(super) fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.9 + 0.2 * crate::util::random_f64())
}
