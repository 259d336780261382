//! The client's stop signal as the transport sees it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::util;

/// The client's stop signal as the transport sees it: set by
/// `Transport::interrupt`, it ends every pause between rounds at once and
/// stops a call from trying again.
#[derive(Debug, Default)]
pub(super) struct Stop {
    /// Read on every attempt without a lock.
    set: AtomicBool,
    /// What pauses wait on.
    stopped: Mutex<bool>,
    woken: Condvar,
}

impl Stop {
    pub(super) fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        *util::lock(&self.stopped) = true;
        self.woken.notify_all();
    }

    pub(super) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`, or less when the stop signal comes first; `true`
    /// when it came.
    pub(super) fn pause(&self, d: Duration) -> bool {
        let stopped = util::lock(&self.stopped);
        let (stopped, _) = self
            .woken
            .wait_timeout_while(stopped, d, |s| !*s)
            .unwrap_or_else(|p| p.into_inner());
        *stopped
    }
}
