//! Runs closure listeners on a small fixed pool, one event at a time per
//! listener, with no internal lock held while user code runs.
//!
//! Each closure listener owns a queue (`Serial`). Delivering an event
//! appends to that queue and, if the listener is not already scheduled,
//! hands it to the pool. A pool thread then drains that one queue. So a
//! listener sees its events in order and never runs twice at once, a slow
//! listener holds up only its own queue (and one pool thread), and the
//! thread count is fixed however many keys are watched. Channel watchers
//! need no thread at all: their events go straight into the channel.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::{select, Receiver, Sender};

use crate::config_center::event::ConfigEvent;
use crate::error::Result;
use crate::worker::{self, Workers};

/// How many threads run closure listeners (started with the first one).
pub(crate) const POOL_THREADS: usize = 4;

type Callback = Box<dyn FnMut(ConfigEvent) + Send>;

#[derive(Default)]
struct Queue {
    events: VecDeque<ConfigEvent>,
    /// In the pool's ready channel or being drained by a pool thread.
    scheduled: bool,
    /// Removed: pending events are dropped.
    removed: bool,
}

/// One closure listener and its queue.
pub(crate) struct Serial {
    /// Locked only by the one pool thread draining this listener's queue,
    /// never by the watch machinery: it just makes the closure `Sync`.
    callback: Mutex<Callback>,
    queue: Mutex<Queue>,
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serial")
            .field("pending", &lock(&self.queue).events.len())
            .finish_non_exhaustive()
    }
}

impl Serial {
    pub(crate) fn new(callback: impl FnMut(ConfigEvent) + Send + 'static) -> Arc<Serial> {
        Arc::new(Serial {
            callback: Mutex::new(Box::new(callback)),
            queue: Mutex::new(Queue::default()),
        })
    }

    /// No more events are run, queued ones included.
    pub(crate) fn remove(&self) {
        let mut q = lock(&self.queue);
        q.removed = true;
        q.events.clear();
    }
}

/// Where one watcher's events go.
#[derive(Debug, Clone)]
pub(crate) enum Sink {
    /// A [`Watcher`](crate::Watcher)'s channel (never blocks).
    Channel(Sender<ConfigEvent>),
    /// A closure, run on the pool.
    Closure(Arc<Serial>),
}

/// The listener pool of one client.
#[derive(Debug)]
pub(crate) struct Pool {
    ready_tx: Sender<Arc<Serial>>,
    ready_rx: Receiver<Arc<Serial>>,
    started: Mutex<bool>,
}

impl Pool {
    pub(crate) fn new() -> Pool {
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
        Pool {
            ready_tx,
            ready_rx,
            started: Mutex::new(false),
        }
    }

    /// Starts the pool threads unless they run already.
    pub(crate) fn start(&self, workers: &Workers) -> Result<()> {
        let mut started = lock(&self.started);
        if *started {
            return Ok(());
        }
        for i in 0..POOL_THREADS {
            let ready = self.ready_rx.clone();
            workers.spawn(&format!("config-listener-{i}"), move |stop| loop {
                select! {
                    recv(stop.receiver()) -> _ => return,
                    recv(ready) -> serial => match serial {
                        Ok(serial) => drain(&serial),
                        Err(_) => return,
                    },
                }
            })?;
        }
        *started = true;
        Ok(())
    }

    /// Delivers `event` to `sink` without blocking.
    pub(crate) fn deliver(&self, sink: &Sink, event: ConfigEvent) {
        match sink {
            Sink::Channel(tx) => {
                // A dropped watcher has unsubscribed already; nothing to do.
                let _ = tx.send(event);
            }
            Sink::Closure(serial) => {
                let mut q = lock(&serial.queue);
                if q.removed {
                    return;
                }
                q.events.push_back(event);
                if !q.scheduled {
                    q.scheduled = true;
                    drop(q);
                    let _ = self.ready_tx.send(serial.clone());
                }
            }
        }
    }
}

/// Runs the queued events of one listener, one at a time, with its queue
/// unlocked while the closure runs.
fn drain(serial: &Serial) {
    loop {
        let event = {
            let mut q = lock(&serial.queue);
            match q.events.pop_front() {
                Some(e) if !q.removed => e,
                _ => {
                    q.scheduled = false;
                    return;
                }
            }
        };
        let mut callback = lock(&serial.callback);
        worker::guarded("config listener", || callback(event));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_center::event::ConfigChange;
    use crate::config_center::key::ConfigKey;
    use std::time::{Duration, Instant};

    fn event(n: u32) -> ConfigEvent {
        ConfigEvent {
            key: ConfigKey {
                namespace: String::new(),
                group: "G".into(),
                data_id: "d".into(),
            },
            kind: ConfigChange::Changed,
            content: Some(n.to_string()),
            md5: String::new(),
        }
    }

    #[test]
    fn slow_or_panicking_listener_does_not_block_others() {
        let workers = Workers::new();
        let pool = Pool::new();
        pool.start(&workers).unwrap();
        let (slow_tx, slow_rx) = crossbeam_channel::unbounded();
        let slow = Serial::new(move |e: ConfigEvent| {
            std::thread::sleep(Duration::from_millis(500));
            slow_tx.send(e.content).unwrap();
        });
        let boom = Serial::new(|_| panic!("listener bug"));
        let (fast_tx, fast_rx) = crossbeam_channel::unbounded();
        let fast = Serial::new(move |e: ConfigEvent| fast_tx.send(e.content).unwrap());
        let started = Instant::now();
        pool.deliver(&Sink::Closure(slow.clone()), event(1));
        pool.deliver(&Sink::Closure(slow.clone()), event(2));
        for n in 0..3 {
            pool.deliver(&Sink::Closure(boom.clone()), event(n));
            pool.deliver(&Sink::Closure(fast.clone()), event(n));
        }
        let got: Vec<_> = (0..3)
            .map(|_| fast_rx.recv_timeout(Duration::from_secs(2)).unwrap())
            .collect();
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(got, ["0", "1", "2"].map(|s| Some(s.to_string())));
        let slow_got: Vec<_> = (0..2)
            .map(|_| slow_rx.recv_timeout(Duration::from_secs(3)).unwrap())
            .collect();
        assert_eq!(slow_got, [Some("1".to_string()), Some("2".to_string())]);
        slow.remove();
        pool.deliver(&Sink::Closure(slow), event(9));
        assert!(slow_rx.recv_timeout(Duration::from_millis(700)).is_err());
        workers.shutdown();
    }
}
