//! The polling engine: one scheduler thread per client hands due polls to a
//! small pool that grows only while every thread is busy (up to
//! [`POOL_SIZE`]), so a slow server answer holds up only its own service.
//! Events go to listeners through the client's delivery pool. Threads
//! start with the first subscription.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

use crate::error::Result;
use crate::metrics::Operation;
use crate::naming::api::{decode_list, fetch_instance_list};
use crate::subscribe::body::KeptBody;
use crate::subscribe::registry::Job;
use crate::subscribe::{disk_cache, Subscriptions};
use crate::threads::{guarded, Pool, StopSignal};

/// Threads that run polls, at most.
pub(crate) const POOL_SIZE: usize = 4;

/// The scheduler's longest nap when nothing is due.
const IDLE: Duration = Duration::from_secs(60);

/// The channels between the scheduler, the pool and subscribers.
#[derive(Debug)]
pub(crate) struct Channels {
    /// Wakes the scheduler (a new subscription, a finished poll).
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
    /// Due polls and the threads that run them.
    jobs: Pool<Job>,
}

impl Channels {
    pub(crate) fn new() -> Channels {
        let (wake_tx, wake_rx) = crossbeam_channel::bounded(1);
        Channels {
            wake_tx,
            wake_rx,
            jobs: Pool::new("sub-poll", POOL_SIZE),
        }
    }

    /// Drops the polls not yet taken (for shutdown).
    pub(crate) fn clear(&self) {
        self.jobs.clear();
    }

    /// Asks the scheduler to look at the table again.
    pub(crate) fn wake(&self) {
        let _ = self.wake_tx.try_send(());
    }
}

/// Starts the scheduler and the pool.
pub(crate) fn start(subs: &Arc<Subscriptions>) -> Result<()> {
    let s = subs.clone();
    // Any request that succeeds after a failure (a heartbeat, a config
    // read) makes the failing subscriptions due at once.
    let (recovered_tx, recovered) = crossbeam_channel::bounded(1);
    subs.ctx.transport.on_recovery(recovered_tx);
    subs.workers
        .spawn("sub-sched", move |stop| schedule(&s, &stop, &recovered))
}

fn schedule(subs: &Arc<Subscriptions>, stop: &StopSignal, recovered: &Receiver<()>) {
    loop {
        let now = Instant::now();
        let (jobs, next) = subs.registry.take_due(now);
        for job in jobs {
            let worker = || {
                let subs = subs.clone();
                move |job: Job| {
                    guarded("a subscription poll", || run(&subs, &job));
                    if subs.registry.finish(&job) {
                        subs.channels.wake();
                    }
                }
            };
            if subs
                .channels
                .jobs
                .submit(&subs.workers, job, worker)
                .is_err()
            {
                return;
            }
        }
        let nap = next.map_or(IDLE, |t| t.saturating_duration_since(now));
        select! {
            recv(stop.receiver()) -> _ => return,
            recv(subs.channels.wake_rx) -> _ => {}
            recv(recovered) -> _ => {
                subs.registry.revive_failing();
            }
            default(nap) => {}
        }
    }
}

/// One poll: ask the server, record, store, then queue the events.
fn run(subs: &Subscriptions, job: &Job) {
    let ctx = &subs.ctx;
    // The failover switch on: the file answers, as a poll would.
    if let Some((info, text)) = subs.failover.list(&job.target) {
        if subs.registry.unchanged(job, &text) {
            return;
        }
        let outcome =
            subs.registry
                .complete(job, Ok((info, KeptBody::new(text, 1))), subs.empty_window());
        for (listener, event) in outcome.deliveries {
            listener.push(event, &ctx.delivery);
        }
        return;
    }
    let result = fetch_instance_list(ctx, Operation::ServicePoll, &job.target).and_then(|raw| {
        if subs.registry.unchanged(job, &raw.body) {
            ctx.metrics.service_poll(false);
            return Ok(None);
        }
        let info = decode_list(&job.target, &raw)?;
        let depth = raw.stamp_depth();
        Ok(Some((info, KeptBody::new(raw.body, depth))))
    });
    let result = match result {
        Ok(None) => return,
        Ok(Some(decoded)) => Ok(decoded),
        Err(e) => Err(e),
    };
    let decoded = result.is_ok();
    let outcome = subs.registry.complete(job, result, subs.empty_window());
    if decoded {
        ctx.metrics.service_poll(!outcome.deliveries.is_empty());
    }
    if let (Some((key, info)), Some(dir)) = (&outcome.store, &ctx.settings.cache_dir) {
        disk_cache::store(dir, key, info);
    }
    for (listener, event) in outcome.deliveries {
        listener.push(event, &ctx.delivery);
    }
}
