//! `Watcher<T>`: the channel face of every subscription (services, configs).
//!
//! A watcher is the receiving end of a channel fed by a background worker.
//! `next()` blocks until an event arrives or the watcher is stopped; a
//! stopped or dropped watcher unsubscribes itself.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{select, Receiver, Sender};

type OnStop = Box<dyn FnOnce() + Send>;

/// Shared by a watcher and its stoppers.
struct StopState {
    /// Dropped on stop: wakes every blocked `next()`.
    wake: Mutex<Option<Sender<()>>>,
    /// Unsubscribes from the worker; run once.
    on_stop: Mutex<Option<OnStop>>,
}

impl StopState {
    fn stop(&self) {
        let on_stop = self
            .on_stop
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.wake.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(f) = on_stop {
            f();
        }
    }
}

/// A blocking stream of events (service changes or config changes).
///
/// ```no_run
/// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
/// # let watcher: nacos_blocking::Watcher<u32> = unimplemented!();
/// let stopper = watcher.stopper();
/// std::thread::spawn(move || {
///     for event in watcher.iter() {
///         println!("{event:?}");
///     }
///     // ends once `stopper.stop()` is called
/// });
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
pub struct Watcher<T> {
    events: Receiver<T>,
    stopped: Receiver<()>,
    state: Arc<StopState>,
}

/// Stops a [`Watcher`] from another thread.
#[derive(Clone)]
pub struct WatchStopper(Arc<StopState>);

impl WatchStopper {
    /// Stops the watcher: a blocked `next()` returns `None`, and the
    /// subscription behind it ends.
    pub fn stop(&self) {
        self.0.stop();
    }
}

impl fmt::Debug for WatchStopper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStopper").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Watcher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("pending", &self.events.len())
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// A new channel: the sender for the worker, the watcher for the user.
/// `on_stop` runs once, when the watcher is stopped or dropped.
pub(crate) fn channel<T>(on_stop: impl FnOnce() + Send + 'static) -> (Sender<T>, Watcher<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let (wake_tx, wake_rx) = crossbeam_channel::bounded(0);
    let state = Arc::new(StopState {
        wake: Mutex::new(Some(wake_tx)),
        on_stop: Mutex::new(Some(Box::new(on_stop))),
    });
    (
        tx,
        Watcher {
            events: rx,
            stopped: wake_rx,
            state,
        },
    )
}

impl<T> Watcher<T> {
    /// Blocks until the next event; `None` once the watcher is stopped (or
    /// the client shut down).
    pub fn next(&self) -> Option<T> {
        if self.is_stopped() {
            return None;
        }
        select! {
            recv(self.events) -> e => e.ok(),
            recv(self.stopped) -> _ => None,
        }
    }

    /// Like [`next`](Self::next), but gives up after `timeout`; `None` on
    /// timeout or stop ([`is_stopped`](Self::is_stopped) tells which).
    pub fn next_timeout(&self, timeout: Duration) -> Option<T> {
        if self.is_stopped() {
            return None;
        }
        select! {
            recv(self.events) -> e => e.ok(),
            recv(self.stopped) -> _ => None,
            default(timeout) => None,
        }
    }

    /// The next event if one is waiting; never blocks.
    pub fn try_next(&self) -> Option<T> {
        if self.is_stopped() {
            return None;
        }
        self.events.try_recv().ok()
    }

    /// A blocking iterator over events; it ends when the watcher stops.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.next())
    }

    /// Stops the watcher and ends its subscription. Idempotent.
    pub fn stop(&self) {
        self.state.stop();
    }

    /// A handle that stops this watcher from another thread.
    pub fn stopper(&self) -> WatchStopper {
        WatchStopper(self.state.clone())
    }

    /// `true` once stopped, or once the worker feeding it is gone.
    pub fn is_stopped(&self) -> bool {
        let stopped = self
            .state
            .wake
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none();
        stopped || (self.events.is_empty() && is_disconnected(&self.events))
    }
}

fn is_disconnected<T>(rx: &Receiver<T>) -> bool {
    matches!(
        rx.try_recv(),
        Err(crossbeam_channel::TryRecvError::Disconnected)
    )
}

impl<T> Drop for Watcher<T> {
    fn drop(&mut self) {
        self.state.stop();
    }
}

impl<T> IntoIterator for Watcher<T> {
    type Item = T;
    type IntoIter = WatcherIter<T>;
    fn into_iter(self) -> WatcherIter<T> {
        WatcherIter(self)
    }
}

/// The owning iterator of a [`Watcher`].
#[derive(Debug)]
pub struct WatcherIter<T>(Watcher<T>);

impl<T> Iterator for WatcherIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    #[test]
    fn delivers_then_stops_from_another_thread() {
        let stops = Arc::new(AtomicUsize::new(0));
        let s = stops.clone();
        let (tx, w) = channel::<u32>(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(w.try_next(), Some(1));
        assert_eq!(w.next_timeout(Duration::from_millis(10)), Some(2));
        assert_eq!(w.next_timeout(Duration::from_millis(10)), None);
        assert!(!w.is_stopped());
        let stopper = w.stopper();
        let t = std::thread::spawn(move || w.iter().collect::<Vec<_>>());
        tx.send(3).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let at = Instant::now();
        stopper.stop();
        assert_eq!(t.join().unwrap(), vec![3]);
        assert!(at.elapsed() < Duration::from_secs(1));
        stopper.stop();
        assert_eq!(stops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn drop_unsubscribes_and_dead_sender_ends_iteration() {
        let stops = Arc::new(AtomicUsize::new(0));
        let s = stops.clone();
        let (tx, w) = channel::<u32>(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        drop(w);
        assert_eq!(stops.load(Ordering::SeqCst), 1);
        assert!(tx.send(1).is_err());

        let (tx, w) = channel::<u32>(|| {});
        tx.send(7).unwrap();
        drop(tx);
        assert_eq!(w.into_iter().collect::<Vec<_>>(), vec![7]);
    }
}
