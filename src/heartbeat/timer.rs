//! The heartbeats' use of the crate's scheduler ([`Timers`]): when the
//! scheduler thread plans to wake, and how to wake it earlier.

use std::time::Instant;

use crossbeam_channel::Sender;

use super::table::Key;
use crate::threads::schedule::Timers;

/// The timer heap, shared by the scheduler and whoever schedules a beat.
///
/// Scheduling pushes onto the heap directly and wakes the scheduler only
/// when the new beat is due before the scheduler planned to wake up, so a
/// registration (or a beat rescheduling itself) costs no thread switch.
#[derive(Debug)]
pub(super) struct Schedule {
    pub(super) timers: Timers<Key>,
    /// Wakes the scheduler; `None` until it runs.
    pub(super) wake: Option<Sender<()>>,
}

impl Schedule {
    /// Schedules a beat of `key` (generation `gen`) at `at`.
    pub(super) fn push(&mut self, key: Key, gen: u64, at: Instant) {
        if self.timers.push(at, key, gen) {
            if let Some(w) = &self.wake {
                // A full channel already holds a wake-up.
                let _ = w.try_send(());
            }
        }
    }
}
