//! The two faces of every subscription, services and configs alike: the
//! [`Subscription`] guard, and the [`Watcher`] receiver built on it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{select, Receiver, Sender};

use crate::events::delivery::{Coalesce, QUEUE_BYTES, QUEUE_CAP};
use crate::events::handler::EventHandler;
use crate::util::lock;

type Stop = Box<dyn FnOnce() + Send>;

/// A running subscription (a service or a config). Dropping it
/// unsubscribes; [`detach`](Self::detach) keeps it running for the
/// client's life instead.
///
/// Returned by [`NacosClient::subscribe`](crate::NacosClient::subscribe)
/// and [`NacosClient::subscribe_config`](crate::NacosClient::subscribe_config).
#[must_use = "dropping a Subscription unsubscribes at once; call .detach() to keep it running"]
pub struct Subscription {
    what: String,
    stop: Mutex<Option<Stop>>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("of", &self.what)
            .field("active", &lock(&self.stop).is_some())
            .finish()
    }
}

impl Subscription {
    pub(crate) fn new(what: String, stop: impl FnOnce() + Send + 'static) -> Subscription {
        Subscription {
            what,
            stop: Mutex::new(Some(Box::new(stop))),
        }
    }

    /// Ends the subscription now: no event reaches its handler after this
    /// returns, except one the handler is running already. Same as dropping.
    pub fn unsubscribe(self) {
        drop(self)
    }

    /// Keeps the subscription running until the client shuts down (or
    /// [`unsubscribe_all`](crate::NacosClient::unsubscribe_all) /
    /// [`stop_subscribe`](crate::NacosClient::stop_subscribe) end it).
    pub fn detach(self) {
        lock(&self.stop).take();
    }

    fn end(&self) {
        let stop = lock(&self.stop).take();
        if let Some(stop) = stop {
            stop();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.end();
    }
}

/// [`Watcher::recv`] found the watcher stopped and no event left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the watcher is stopped")
    }
}

impl std::error::Error for Stopped {}

/// Why [`Watcher::recv_timeout`] returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// No event arrived in time; the watcher still runs.
    Timeout,
    /// The watcher is stopped and every event was taken.
    Stopped,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "no event within the timeout",
            RecvTimeoutError::Stopped => "the watcher is stopped",
        })
    }
}

impl std::error::Error for RecvTimeoutError {}

/// Why [`Watcher::try_recv`] returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// No event is waiting; the watcher still runs.
    Empty,
    /// The watcher is stopped and every event was taken.
    Stopped,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "no event waiting",
            TryRecvError::Stopped => "the watcher is stopped",
        })
    }
}

impl std::error::Error for TryRecvError {}

/// Shared by a watcher, its stoppers and the handler feeding it.
struct StopState {
    stopped: AtomicBool,
    /// Dropped on stop: wakes every blocked `recv`.
    wake: Mutex<Option<Sender<()>>>,
    woken: Receiver<()>,
    /// The subscription feeding the watcher; dropped on stop.
    guard: Mutex<Option<Subscription>>,
    /// `false` once the feeding handler is gone (unsubscribed elsewhere,
    /// client shut down): no event will come any more.
    fed: AtomicBool,
}

impl StopState {
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        lock(&self.wake).take();
        let guard = lock(&self.guard).take();
        drop(guard);
    }
}

/// The handler behind a watcher: forwards into its channel, and tells the
/// watcher when it is dropped.
pub(crate) struct Feed<E> {
    tx: Sender<E>,
    overflow: Overflow<E>,
    /// The weight of the events in the channel (shared with the watcher,
    /// which takes it off as it reads).
    queued: Arc<AtomicUsize>,
    state: Arc<StopState>,
}

/// Events that came while [`QUEUE_CAP`] others waited, merged into one
/// (see [`Coalesce`]). Everything in the channel is older than it; the
/// reader takes it once the channel is empty. The feed and the reader
/// decide under this lock, so the order always holds.
type Overflow<E> = Arc<Mutex<Option<E>>>;

impl<E: Coalesce + Send + 'static> EventHandler<E> for Feed<E> {
    fn handle_event(&mut self, event: E) {
        let mut over = lock(&self.overflow);
        let weight = event.weight();
        let queued = self.queued.load(Ordering::SeqCst);
        if over.is_some()
            || self.tx.len() >= QUEUE_CAP
            || (queued > 0 && queued.saturating_add(weight) > QUEUE_BYTES)
        {
            *over = Some(match over.take() {
                Some(waiting) => waiting.merge(event),
                None => event,
            });
        } else {
            self.queued.fetch_add(weight, Ordering::SeqCst);
            let _ = self.tx.send(event);
        }
    }
}

impl<E> Drop for Feed<E> {
    fn drop(&mut self) {
        self.state.fed.store(false, Ordering::SeqCst);
    }
}

/// A blocking stream of events (service or config changes), read like a
/// crossbeam receiver. Dropping it, or [`stop`](Self::stop), unsubscribes.
///
/// No method consumes an event it does not return: events queued before a
/// stop can still be read, then every read answers "stopped". A watcher
/// nobody reads stays bounded: past 1,024 waiting events the newer ones
/// are merged into one that says the same in sum (a config's latest
/// content; a service's net change), so nothing is lost.
///
/// ```no_run
/// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
/// let watcher = client.watch("orders")?;
/// let stopper = watcher.stopper();
/// let reader = std::thread::spawn(move || {
///     for event in &watcher {
///         println!("{} instances", event.instances.len());
///     }
///     // ends once `stopper.stop()` is called
/// });
/// stopper.stop();
/// reader.join().unwrap();
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[must_use = "dropping a Watcher unsubscribes at once"]
pub struct Watcher<E> {
    events: Receiver<E>,
    overflow: Overflow<E>,
    queued: Arc<AtomicUsize>,
    /// `Coalesce::weight` of its events.
    weigh: fn(&E) -> usize,
    state: Arc<StopState>,
}

/// Stops a [`Watcher`] from another thread.
#[derive(Clone)]
pub struct WatchStopper(Arc<StopState>);

impl WatchStopper {
    /// Stops the watcher: a blocked `recv` returns (with an event still
    /// queued, or [`Stopped`]), and the subscription behind it ends.
    pub fn stop(&self) {
        self.0.stop();
    }
}

impl fmt::Debug for WatchStopper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStopper").finish_non_exhaustive()
    }
}

impl<E> fmt::Debug for Watcher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("pending", &self.len())
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// A new watcher and the handler that feeds it. `subscribe` registers the
/// handler and returns the guard that ends it.
pub(crate) fn watcher<E: Coalesce + Send + 'static, Err>(
    subscribe: impl FnOnce(Feed<E>) -> Result<Subscription, Err>,
) -> Result<Watcher<E>, Err> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let (wake, woken) = crossbeam_channel::bounded(0);
    let state = Arc::new(StopState {
        stopped: AtomicBool::new(false),
        wake: Mutex::new(Some(wake)),
        woken,
        guard: Mutex::new(None),
        fed: AtomicBool::new(true),
    });
    let overflow: Overflow<E> = Arc::new(Mutex::new(None));
    let queued = Arc::new(AtomicUsize::new(0));
    let feed = Feed {
        tx,
        overflow: overflow.clone(),
        queued: queued.clone(),
        state: state.clone(),
    };
    let guard = subscribe(feed)?;
    *lock(&state.guard) = Some(guard);
    Ok(Watcher {
        events: rx,
        overflow,
        queued,
        weigh: E::weight,
        state,
    })
}

impl<E> Watcher<E> {
    /// The oldest waiting event, if any: the channel's, else the overflow.
    fn take(&self) -> Option<E> {
        let mut over = lock(&self.overflow);
        match self.events.try_recv() {
            Ok(e) => Some(self.taken(e)),
            Err(_) => over.take(),
        }
    }

    /// An event read off the channel: its weight no longer waits.
    fn taken(&self, e: E) -> E {
        let w = (self.weigh)(&e);
        let _ = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| {
                Some(q.saturating_sub(w))
            });
        e
    }

    /// Blocks until the next event; [`Stopped`] once the watcher is stopped
    /// (or the client shut down) and every event was taken.
    pub fn recv(&self) -> Result<E, Stopped> {
        if let Some(e) = self.take() {
            return Ok(e);
        }
        select! {
            recv(self.events) -> e => e.map(|e| self.taken(e)).or_else(|_| self.take().ok_or(Stopped)),
            recv(self.state.woken) -> _ => self.take().ok_or(Stopped),
        }
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<E, RecvTimeoutError> {
        if let Some(e) = self.take() {
            return Ok(e);
        }
        select! {
            recv(self.events) -> e => e.map(|e| self.taken(e)).or_else(|_| self.take().ok_or(RecvTimeoutError::Stopped)),
            recv(self.state.woken) -> _ => self.take().ok_or(RecvTimeoutError::Stopped),
            default(timeout) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// The next event if one is waiting; never blocks.
    pub fn try_recv(&self) -> Result<E, TryRecvError> {
        if let Some(e) = self.take() {
            return Ok(e);
        }
        if self.is_stopped() {
            // An event may have landed between the two looks.
            return self.take().ok_or(TryRecvError::Stopped);
        }
        Err(TryRecvError::Empty)
    }

    /// A blocking iterator over events; it ends when the watcher stops.
    pub fn iter(&self) -> Iter<'_, E> {
        Iter(self)
    }

    /// An iterator over the events waiting now; never blocks.
    pub fn try_iter(&self) -> TryIter<'_, E> {
        TryIter(self)
    }

    /// How many events are waiting (past 1,024, the newest are merged
    /// into one, so this stays bounded).
    pub fn len(&self) -> usize {
        self.events.len() + usize::from(lock(&self.overflow).is_some())
    }

    /// `true` when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the watcher and ends its subscription. Idempotent.
    pub fn stop(&self) {
        self.state.stop();
    }

    /// A handle that stops this watcher from another thread.
    pub fn stopper(&self) -> WatchStopper {
        WatchStopper(self.state.clone())
    }

    /// `true` once stopped, or once nothing feeds it any more (unsubscribed
    /// elsewhere, client shut down). Events may still be waiting: `recv`
    /// returns them first. Never takes an event.
    pub fn is_stopped(&self) -> bool {
        self.state.stopped.load(Ordering::SeqCst) || !self.state.fed.load(Ordering::SeqCst)
    }
}

impl<E> Drop for Watcher<E> {
    fn drop(&mut self) {
        self.state.stop();
    }
}

/// The blocking iterator of [`Watcher::iter`].
#[derive(Debug)]
pub struct Iter<'a, E>(&'a Watcher<E>);

impl<E> Iterator for Iter<'_, E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        self.0.recv().ok()
    }
}

/// The non-blocking iterator of [`Watcher::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, E>(&'a Watcher<E>);

impl<E> Iterator for TryIter<'_, E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        self.0.try_recv().ok()
    }
}

/// The owning blocking iterator of a [`Watcher`].
#[derive(Debug)]
pub struct IntoIter<E>(Watcher<E>);

impl<E> Iterator for IntoIter<E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        self.0.recv().ok()
    }
}

impl<E> IntoIterator for Watcher<E> {
    type Item = E;
    type IntoIter = IntoIter<E>;
    fn into_iter(self) -> IntoIter<E> {
        IntoIter(self)
    }
}

impl<'a, E> IntoIterator for &'a Watcher<E> {
    type Item = E;
    type IntoIter = Iter<'a, E>;
    fn into_iter(self) -> Iter<'a, E> {
        Iter(self)
    }
}

#[cfg(test)]
mod tests;
