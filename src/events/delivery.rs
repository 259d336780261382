//! The one path every event takes to a listener: a queue per listener,
//! drained by a small fixed pool of threads shared by the whole client.
//!
//! Delivering an event appends it to the listener's queue and, unless the
//! listener is already scheduled, hands the listener to the pool; a pool
//! thread then drains that one queue. So a listener sees its events one at
//! a time and in order, a slow listener holds up only its own queue (and
//! one pool thread while it runs), a panicking one is logged and lives on,
//! and the thread count never depends on the number of listeners. No
//! internal lock is held while user code runs.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use crate::events::handler::EventHandler;
use crate::metrics::Recorder;
use crate::threads::{guarded, Pool, Workers};
use crate::util::lock;

/// How many threads run listeners at most: one starts with the first
/// event, another only while every one is busy with a listener.
pub(crate) const POOL_THREADS: usize = 4;

/// How many events may wait for one listener (or one watcher) before they
/// are merged: queues nobody reads stay bounded, and nothing is lost.
pub(crate) const QUEUE_CAP: usize = 1024;

/// How many bytes of events (by [`Coalesce::weight`]) may wait for one
/// listener or watcher before they are merged: 1,024 lists of a 2,000-host
/// service held 262 MiB.
pub(crate) const QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// Events that can be merged when too many wait: `a.merge(b)` says what
/// `a` then `b` say (a config: the latest content; a service: the net
/// change from the oldest waiting list to the newest).
pub(crate) trait Coalesce: Sized {
    fn merge(self, later: Self) -> Self;

    /// About how many bytes the event holds, for [`QUEUE_BYTES`].
    fn weight(&self) -> usize;
}

/// Merges `events` (oldest first) into one; `None` when there are none.
pub(crate) fn merge_all<E: Coalesce>(events: impl IntoIterator<Item = E>) -> Option<E> {
    events.into_iter().reduce(Coalesce::merge)
}

/// A listener the pool can drain, whatever its event type.
trait Drain: Send + Sync {
    fn drain(&self);
}

/// The pool of one client.
pub(crate) struct Delivery {
    /// Listeners with events to run, and the threads that run them.
    ready: Pool<Arc<dyn Drain>>,
    workers: Workers,
    metrics: Arc<Recorder>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(metrics: Arc<Recorder>) -> Delivery {
        Delivery {
            ready: Pool::new("deliver-", POOL_THREADS),
            workers: Workers::new(),
            metrics,
        }
    }

    /// Stops and joins the pool (a listener running now finishes first).
    /// Queued events are dropped with their listeners.
    pub(crate) fn shutdown(&self) -> Vec<String> {
        let problems = self.workers.shutdown();
        self.ready.clear();
        problems
    }

    fn schedule(&self, listener: Arc<dyn Drain>) {
        let started = self.ready.submit(&self.workers, listener, || {
            |listener: Arc<dyn Drain>| listener.drain()
        });
        if let Err(e) = started {
            log::debug!("nacos: no delivery thread: {e}");
        }
    }
}

struct Queue<E> {
    events: VecDeque<Arc<E>>,
    /// The weight of `events`, for [`QUEUE_BYTES`].
    bytes: usize,
    /// In the pool's ready channel or being drained by a pool thread.
    scheduled: bool,
    /// Removed: pending events are dropped, the handler is dropped.
    removed: bool,
}

/// One listener: its handler and its queue.
pub(crate) struct Listener<E> {
    /// Locked only by the pool thread draining this listener.
    handler: Mutex<Option<Box<dyn EventHandler<E>>>>,
    queue: Mutex<Queue<E>>,
    /// The client's counters, known from the first event pushed.
    metrics: OnceLock<Arc<Recorder>>,
}

impl<E> fmt::Debug for Listener<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("pending", &lock(&self.queue).events.len())
            .finish_non_exhaustive()
    }
}

impl<E: Clone + Coalesce + Send + Sync + 'static> Listener<E> {
    pub(crate) fn new(handler: impl EventHandler<E>) -> Arc<Listener<E>> {
        Arc::new(Listener {
            handler: Mutex::new(Some(Box::new(handler))),
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                bytes: 0,
                scheduled: false,
                removed: false,
            }),
            metrics: OnceLock::new(),
        })
    }

    /// Queues `event` for this listener without blocking.
    pub(crate) fn push(self: &Arc<Self>, event: Arc<E>, delivery: &Delivery) {
        let mut q = lock(&self.queue);
        if q.removed {
            return;
        }
        let metrics = self.metrics.get_or_init(|| delivery.metrics.clone());
        metrics.queued(1);
        q.bytes = q.bytes.saturating_add(event.weight());
        q.events.push_back(event);
        if q.events.len() > QUEUE_CAP || (q.bytes > QUEUE_BYTES && q.events.len() > 1) {
            metrics.merged(q.events.len());
            let waiting = std::mem::take(&mut q.events).into_iter().map(owned);
            let merged = merge_all(waiting);
            q.bytes = merged.as_ref().map_or(0, Coalesce::weight);
            q.events.extend(merged.map(Arc::new));
            log::warn!(
                "nacos: a listener falls behind; its waiting events ({QUEUE_CAP}+, or over \
                 {} MiB) merged into one",
                QUEUE_BYTES >> 20
            );
        }
        if !q.scheduled {
            q.scheduled = true;
            drop(q);
            delivery.schedule(self.clone());
        }
    }

    /// Nothing more runs: queued events are dropped, and so is the handler
    /// (at once, or right after the event it is running now). Never waits
    /// for user code, so a listener may remove itself.
    pub(crate) fn remove(&self) {
        {
            let mut q = lock(&self.queue);
            q.removed = true;
            if let Some(metrics) = self.metrics.get() {
                metrics.unqueued(q.events.len());
            }
            q.events.clear();
            q.bytes = 0;
        }
        if let Ok(mut h) = self.handler.try_lock() {
            h.take();
        }
    }
}

impl<E: Clone + Coalesce + Send + Sync + 'static> Drain for Listener<E> {
    fn drain(&self) {
        loop {
            let event = {
                let mut q = lock(&self.queue);
                match q.events.pop_front() {
                    Some(e) if !q.removed => {
                        q.bytes = q.bytes.saturating_sub(e.weight());
                        e
                    }
                    _ => {
                        q.scheduled = false;
                        if q.removed {
                            drop(q);
                            lock(&self.handler).take();
                        }
                        return;
                    }
                }
            };
            if let Some(metrics) = self.metrics.get() {
                metrics.delivered();
            }
            let mut handler = lock(&self.handler);
            if let Some(h) = handler.as_mut() {
                let event = owned(event);
                guarded("a listener", || h.handle_event(event));
            }
            if lock(&self.queue).removed {
                handler.take();
            }
        }
    }
}

/// The event itself when no other listener shares it, else a copy.
fn owned<E: Clone>(event: Arc<E>) -> E {
    Arc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    impl Coalesce for u32 {
        fn merge(self, later: u32) -> u32 {
            self + later
        }

        fn weight(&self) -> usize {
            4
        }
    }

    #[test]
    fn a_listener_that_falls_behind_gets_merged_events_not_fewer() {
        let pool = Delivery::new(Default::default());
        let (tx, rx) = crossbeam_channel::unbounded();
        // The handler holds its first event until the gate opens: the
        // queue fills up behind it.
        let (gate, held) = crossbeam_channel::bounded::<()>(0);
        let l = Listener::new(move |n: &u32| {
            let _ = held.recv_timeout(Duration::from_secs(10));
            tx.send(*n).unwrap();
        });
        for _ in 0..10 * QUEUE_CAP {
            l.push(Arc::new(1), &pool);
        }
        assert!(lock(&l.queue).events.len() <= QUEUE_CAP + 1);
        drop(gate);
        let mut sum = 0;
        while let Ok(n) = rx.recv_timeout(Duration::from_millis(500)) {
            sum += n;
        }
        assert_eq!(sum as usize, 10 * QUEUE_CAP, "every event counted once");
        pool.shutdown();
    }

    impl Coalesce for Vec<u8> {
        fn merge(mut self, later: Vec<u8>) -> Vec<u8> {
            self.extend(later);
            self
        }

        fn weight(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn a_queue_of_heavy_events_is_merged_by_bytes() {
        let pool = Delivery::new(Default::default());
        let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        let (gate, held) = crossbeam_channel::bounded::<()>(0);
        let l = Listener::new(move |v: &Vec<u8>| {
            let _ = held.recv_timeout(Duration::from_secs(10));
            tx.send(v.clone()).unwrap();
        });
        let each = 64 * 1024;
        for _ in 0..600 {
            l.push(Arc::new(vec![1u8; each]), &pool);
        }
        {
            let q = lock(&l.queue);
            assert!(q.events.len() < 600, "merged: {} waiting", q.events.len());
            assert_eq!(q.bytes, q.events.iter().map(|e| e.len()).sum::<usize>());
        }
        drop(gate);
        let mut total = 0;
        while let Ok(v) = rx.recv_timeout(Duration::from_millis(500)) {
            total += v.len();
        }
        assert_eq!(total, 600 * each, "every byte delivered once");
        assert_eq!(lock(&l.queue).bytes, 0);
        pool.shutdown();
    }

    #[test]
    fn slow_or_panicking_listener_does_not_block_others() {
        let pool = Delivery::new(Default::default());
        let (slow_tx, slow_rx) = crossbeam_channel::unbounded();
        let slow = Listener::new(move |e: &u32| {
            std::thread::sleep(Duration::from_millis(500));
            slow_tx.send(*e).unwrap();
        });
        let boom = Listener::new(|_: &u32| panic!("listener bug"));
        let (fast_tx, fast_rx) = crossbeam_channel::unbounded();
        let fast = Listener::new(fast_tx);
        let started = Instant::now();
        slow.push(Arc::new(1), &pool);
        slow.push(Arc::new(2), &pool);
        for n in 0..3 {
            boom.push(Arc::new(n), &pool);
            fast.push(Arc::new(n), &pool);
        }
        let got: Vec<u32> = (0..3)
            .map(|_| fast_rx.recv_timeout(Duration::from_secs(2)).unwrap())
            .collect();
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(got, [0, 1, 2]);
        let slow_got: Vec<u32> = (0..2)
            .map(|_| slow_rx.recv_timeout(Duration::from_secs(3)).unwrap())
            .collect();
        assert_eq!(slow_got, [1, 2]);
        slow.remove();
        slow.push(Arc::new(9), &pool);
        assert!(slow_rx.recv_timeout(Duration::from_millis(700)).is_err());
        // Removing drops the handler: a channel handler's receiver sees the end.
        fast.remove();
        assert!(fast_rx.recv_timeout(Duration::from_secs(1)).is_err());
        assert!(pool.shutdown().is_empty());
    }

    #[test]
    fn a_listener_can_remove_itself() {
        let pool = Delivery::new(Default::default());
        let slot: Arc<Mutex<Option<Arc<Listener<u32>>>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = crossbeam_channel::unbounded();
        let me = slot.clone();
        let l = Listener::new(move |e: &u32| {
            tx.send(*e).unwrap();
            if let Some(l) = lock(&me).take() {
                l.remove();
            }
        });
        *lock(&slot) = Some(l.clone());
        l.push(Arc::new(1), &pool);
        l.push(Arc::new(2), &pool);
        assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap(), 1);
        // Removed during its own run: the handler (and its sender) is gone.
        assert!(rx.recv_timeout(Duration::from_secs(1)).is_err());
        pool.shutdown();
    }
}
