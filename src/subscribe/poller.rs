//! The polling engine: one scheduler thread per client hands due polls to a
//! small fixed pool, so a slow server answer or a slow listener holds up
//! only its own service. Threads start with the first subscription.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

use crate::client::Shared;
use crate::error::Result;
use crate::naming::api::query_instances;
use crate::subscribe::disk_cache;
use crate::subscribe::registry::Job;
use crate::worker::{guarded, StopSignal, Workers};

/// Threads that run polls and deliver their events.
pub(crate) const POOL_SIZE: usize = 4;

/// The scheduler's longest nap when nothing is due.
const IDLE: Duration = Duration::from_secs(60);

/// The channels between the scheduler, the pool and subscribers.
#[derive(Debug)]
pub(crate) struct Channels {
    /// Wakes the scheduler (a new subscription, a finished poll).
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
    jobs_tx: Sender<Job>,
    jobs_rx: Receiver<Job>,
}

impl Channels {
    pub(crate) fn new() -> Channels {
        let (wake_tx, wake_rx) = crossbeam_channel::bounded(1);
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
        Channels {
            wake_tx,
            wake_rx,
            jobs_tx,
            jobs_rx,
        }
    }

    /// Asks the scheduler to look at the table again.
    pub(crate) fn wake(&self) {
        let _ = self.wake_tx.try_send(());
    }
}

/// Starts the scheduler and the pool on `workers`.
pub(crate) fn start(shared: &Arc<Shared>, workers: &Workers) -> Result<()> {
    let s = shared.clone();
    workers.spawn("subscribe-poller", move |stop| schedule(&s, &stop))?;
    for i in 0..POOL_SIZE {
        let s = shared.clone();
        workers.spawn(&format!("subscribe-{i}"), move |stop| work(&s, &stop))?;
    }
    Ok(())
}

fn schedule(shared: &Shared, stop: &StopSignal) {
    let subs = &shared.subscriptions;
    loop {
        let now = Instant::now();
        let (jobs, next) = subs.registry.take_due(now);
        for job in jobs {
            if subs.channels.jobs_tx.send(job).is_err() {
                return;
            }
        }
        let nap = next.map_or(IDLE, |t| t.saturating_duration_since(now));
        select! {
            recv(stop.receiver()) -> _ => return,
            recv(subs.channels.wake_rx) -> _ => {}
            default(nap) => {}
        }
    }
}

fn work(shared: &Shared, stop: &StopSignal) {
    let subs = &shared.subscriptions;
    loop {
        select! {
            recv(stop.receiver()) -> _ => return,
            recv(subs.channels.jobs_rx) -> job => match job {
                Ok(job) => run(shared, &job),
                Err(_) => return,
            },
        }
    }
}

/// One poll: ask the server, record, store, then deliver outside the lock.
fn run(shared: &Shared, job: &Job) {
    let subs = &shared.subscriptions;
    let result = query_instances(shared, &job.sub.service, &job.clusters(), false);
    let outcome = subs.registry.complete(job, result);
    if let Some((key, info)) = &outcome.store {
        disk_cache::store(&shared.config.cache_dir, key, info);
    }
    for (listener, event) in &outcome.deliveries {
        guarded("a service listener", || listener(event));
    }
    subs.registry.finish(job);
    subs.channels.wake();
}
