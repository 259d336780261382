//! Named background threads that stop when told and are joined, and the
//! due-time scheduler ([`schedule`]) the heartbeat and subscription
//! threads share.
//!
//! Every worker of a client waits on the same stop channel (with a
//! timeout instead of `sleep`), so dropping its sender wakes them all at once.

pub(crate) mod schedule;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{select, Receiver, RecvTimeoutError, Sender};

use crate::error::{Error, Result};
use crate::util::lock;

/// The stop signal a worker waits on.
#[derive(Clone, Debug)]
pub(crate) struct StopSignal(Receiver<()>);

impl StopSignal {
    /// Waits up to `d`; `true` means "stop now".
    pub(crate) fn wait(&self, d: Duration) -> bool {
        !matches!(self.0.recv_timeout(d), Err(RecvTimeoutError::Timeout))
    }

    /// The raw receiver, for `select!` alongside other channels.
    pub(crate) fn receiver(&self) -> &Receiver<()> {
        &self.0
    }
}

/// Up to `max` threads taking jobs from one channel, started one at a time
/// as the work needs them: a job queued while more jobs wait than threads
/// of the pool are idle starts another, until there are `max`. A client with one
/// registered instance or one listener runs one such thread, not `max`.
pub(crate) struct Pool<J> {
    name: &'static str,
    max: usize,
    tx: Sender<J>,
    rx: Receiver<J>,
    started: AtomicUsize,
    idle: Arc<AtomicUsize>,
}

impl<J> std::fmt::Debug for Pool<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name)
            .field("threads", &self.started.load(Ordering::SeqCst))
            .field("max", &self.max)
            .field("queued", &self.rx.len())
            .finish()
    }
}

impl<J: Send + 'static> Pool<J> {
    /// A pool whose threads are named `nacos-<name><n>`.
    pub(crate) fn new(name: &'static str, max: usize) -> Pool<J> {
        let (tx, rx) = crossbeam_channel::unbounded();
        Pool {
            name,
            max,
            tx,
            rx,
            started: AtomicUsize::new(0),
            idle: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Queues `job`; starts a thread on `workers` for it when none of the
    /// pool is idle and fewer than `max` run. `runner` makes what a new
    /// thread runs each job with (called only when one starts).
    pub(crate) fn submit<R>(
        &self,
        workers: &Workers,
        job: J,
        runner: impl FnOnce() -> R,
    ) -> Result<()>
    where
        R: FnMut(J) + Send + 'static,
    {
        self.tx.send(job).map_err(|_| Error::Shutdown)?;
        if self.rx.len() <= self.idle.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = self.started.load(Ordering::SeqCst);
        if n >= self.max
            || self
                .started
                .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return Ok(());
        }
        let (rx, idle, mut run) = (self.rx.clone(), self.idle.clone(), runner());
        workers.spawn(&format!("{}{n}", self.name), move |stop| loop {
            idle.fetch_add(1, Ordering::SeqCst);
            let job = select! {
                recv(stop.receiver()) -> _ => return,
                recv(rx) -> job => job,
            };
            idle.fetch_sub(1, Ordering::SeqCst);
            match job {
                Ok(job) => run(job),
                Err(_) => return,
            }
        })
    }

    /// How many threads the pool has started.
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Drops every queued job (for shutdown).
    pub(crate) fn clear(&self) {
        while self.rx.try_recv().is_ok() {}
    }
}

/// The background threads of one client.
#[derive(Debug)]
pub(crate) struct Workers {
    stop_tx: Mutex<Option<Sender<()>>>,
    stop_rx: Receiver<()>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// Threads joined before shutdown that had panicked, for its report.
    panicked: Mutex<Vec<String>>,
}

impl Workers {
    pub(crate) fn new() -> Workers {
        let (tx, rx) = crossbeam_channel::bounded(0);
        Workers {
            stop_tx: Mutex::new(Some(tx)),
            stop_rx: rx,
            handles: Mutex::new(Vec::new()),
            panicked: Mutex::new(Vec::new()),
        }
    }

    /// Starts `body` on a thread named `nacos-<name>` (at most 15 bytes in
    /// all, the most Linux keeps); [`shutdown`] signals and joins it.
    ///
    /// [`shutdown`]: Workers::shutdown
    pub(crate) fn spawn(
        &self,
        name: &str,
        body: impl FnOnce(StopSignal) + Send + 'static,
    ) -> Result<()> {
        let name = format!("nacos-{name}");
        debug_assert!(name.len() <= 15, "thread name {name} is too long");
        if lock(&self.stop_tx).is_none() {
            return Err(Error::Shutdown);
        }
        let stop = StopSignal(self.stop_rx.clone());
        let handle = thread::Builder::new()
            .name(name)
            .spawn(move || body(stop))
            .map_err(Error::Thread)?;
        let mut handles = lock(&self.handles);
        // Threads that ended on their own (a watch dropped) are joined now,
        // so the list holds only running ones.
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *handles)
            .into_iter()
            .partition(JoinHandle::is_finished);
        *handles = running;
        handles.push(handle);
        drop(handles);
        for h in done {
            let name = h.thread().name().unwrap_or("nacos").to_string();
            if h.join().is_err() {
                log::error!("nacos: background thread {name} panicked");
                lock(&self.panicked).push(format!("thread {name} panicked"));
            }
        }
        Ok(())
    }

    /// Signals every worker to stop and joins them; returns what went wrong
    /// (a worker that panicked). Idempotent. A worker that calls this on
    /// itself is not joined (it is already stopping).
    pub(crate) fn shutdown(&self) -> Vec<String> {
        lock(&self.stop_tx).take();
        let handles = std::mem::take(&mut *lock(&self.handles));
        let me = thread::current().id();
        let mut problems = std::mem::take(&mut *lock(&self.panicked));
        for h in handles {
            if h.thread().id() == me {
                continue;
            }
            let name = h.thread().name().unwrap_or("nacos").to_string();
            if h.join().is_err() {
                log::error!("nacos: background thread {name} panicked");
                problems.push(format!("thread {name} panicked"));
            }
        }
        problems
    }
}

/// Runs `f`, catching and logging a panic; `what` names the work.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".into());
            log::error!("nacos: {what} panicked: {msg}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_pool_grows_only_while_every_thread_is_busy() {
        let w = Workers::new();
        let pool: Pool<u64> = Pool::new("tp", 3);
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let runner = || {
            let done = done_tx.clone();
            move |ms: u64| {
                std::thread::sleep(Duration::from_millis(ms));
                done.send(()).unwrap();
            }
        };
        // One job at a time: one thread, however many jobs.
        for _ in 0..5 {
            pool.submit(&w, 0, runner).unwrap();
            done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(pool.threads(), 1);
        // Jobs that wait for each other: up to the limit.
        for _ in 0..10 {
            pool.submit(&w, 200, runner).unwrap();
        }
        for _ in 0..10 {
            done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        assert_eq!(pool.threads(), 3);
        assert!(w.shutdown().is_empty());
    }

    #[test]
    fn shutdown_wakes_and_joins_workers() {
        let w = Workers::new();
        let ticks = Arc::new(AtomicUsize::new(0));
        for i in 0..3 {
            let ticks = ticks.clone();
            w.spawn(&format!("t{i}"), move |stop| {
                while !stop.wait(Duration::from_secs(60)) {
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
            .unwrap();
        }
        let t = Instant::now();
        assert!(w.shutdown().is_empty());
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(ticks.load(Ordering::SeqCst), 0);
        assert!(matches!(w.spawn("late", |_| {}), Err(Error::Shutdown)));
        w.shutdown();
    }

    #[test]
    fn guarded_catches_panics() {
        assert_eq!(guarded("ok", || 1), Some(1));
        assert_eq!(guarded("boom", || -> u8 { panic!("boom") }), None);
    }
}
