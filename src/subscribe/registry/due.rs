//! The subscription table's use of the crate's scheduler: queuing an idle
//! entry for its due time (tagged with the entry's id), and reviving
//! failing entries when the servers answer again.

use std::sync::Arc;
use std::time::Instant;

use super::Table;
use crate::naming::service::Target;

impl Table {
    /// Queues `e` (idle) for its due time.
    /// `true` when the scheduler must be woken for it (see
    /// [`Timers::push`](crate::threads::schedule::Timers::push)).
    pub(super) fn schedule(&mut self, id: u64, due: Instant, target: &Arc<Target>) -> bool {
        self.due.push(due, target.clone(), id)
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
