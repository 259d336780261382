//! Background heartbeats for registered ephemeral instances.
//!
//! One scheduler thread per client keeps a [timer heap](crate::threads::schedule::Timers) of
//! due beats and hands each due beat to a small, fixed pool of sender
//! threads (so a slow server delays a few beats, not all of them). The
//! number of threads never depends on the number of instances. Both kinds
//! of thread wait on channels with timeouts and stop on the client's stop
//! signal.
//!
//! The interval of an instance is its `preserved.heart.beat.interval`
//! metadata when set; otherwise the server's `clientBeatInterval` once it
//! has sent one, and the builder's
//! [`heartbeat_interval`](crate::ClientBuilder::heartbeat_interval) before
//! that. The instance's own setting wins over the server's advice because
//! Java Nacos answers with exactly that setting anyway, while r-nacos
//! always answers 5000 ms whatever the instance asked for.
//!
//! Beats are full (they carry the instance's weight and metadata) unless
//! light beats are turned on with
//! [`light_heartbeats`](crate::ClientBuilder::light_heartbeats). Then a
//! beat is light only when the server said `lightBeatEnabled` and nothing
//! went wrong since the last full beat: the first beat, every beat after a
//! failure and every beat after a `20404` is full. They are off by default
//! because r-nacos re-creates a lost instance (after a restart) from a
//! light beat *without its metadata* instead of answering `20404`, and a
//! later full beat does not restore it. On `20404` the instance is
//! registered again at once.

mod state;
mod table;
mod timer;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::naming::api;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::Instance;
use crate::naming::service::ServiceKey;
use crate::threads::{guarded, Pool, StopSignal, Workers};
use crate::util::{after, later, lock};

use crate::threads::schedule::Timers;
pub(crate) use state::BeatKey;
pub use state::HeartbeatState;
use table::{BeatTable, Job, Key};
use timer::Schedule;

/// The heartbeats of one client: its table, its timer heap and its threads.
#[derive(Debug)]
pub(crate) struct Heartbeats {
    ctx: Arc<Context>,
    workers: Workers,
    /// Due beats and the threads that send them (up to [`SENDERS`]).
    senders: Pool<(Key, u64)>,
    table: BeatTable,
    /// Due beats, and how to wake the scheduler.
    schedule: Mutex<Schedule>,
}

impl Heartbeats {
    pub(crate) fn new(ctx: Arc<Context>) -> Arc<Heartbeats> {
        Arc::new(Heartbeats {
            ctx,
            workers: Workers::new(),
            senders: Pool::new("hb-send-", SENDERS),
            table: BeatTable::default(),
            schedule: Mutex::new(Schedule {
                timers: Timers::new(),
                wake: None,
            }),
        })
    }

    /// Starts the scheduler and the senders unless they run already.
    fn start(self: &Arc<Self>) -> Result<()> {
        let mut sched = lock(&self.schedule);
        if sched.wake.is_some() {
            return Ok(());
        }
        let (tx, rx) = crossbeam_channel::bounded::<()>(1);
        let hb = self.clone();
        self.workers
            .spawn("hb-sched", move |stop| schedule(&stop, &rx, &hb))?;
        sched.wake = Some(tx);
        Ok(())
    }

    /// Beats a just registered ephemeral instance from now on (replacing
    /// an earlier entry for it); its first beat is due one interval later.
    pub(crate) fn add(self: &Arc<Self>, key: &ServiceKey, inst: &Instance) -> Result<()> {
        self.start()?;
        let (bk, gen, due) = self
            .table
            .add(key, inst, self.ctx.settings.heartbeat_interval);
        lock(&self.schedule).push(bk, gen, due);
        Ok(())
    }

    /// The beats of an instance carry it as updated from now on (schedule
    /// kept); `false` when it is not beaten.
    pub(crate) fn update(&self, key: &ServiceKey, inst: &Instance) -> bool {
        self.table.update(key, inst)
    }

    /// Stops the beats of an instance, waiting up to `wait` for one on the
    /// wire, so that none lands after what the caller does next.
    pub(crate) fn remove(&self, key: &BeatKey, wait: Duration) {
        self.table.remove(key, wait);
    }

    pub(crate) fn state(&self, key: &BeatKey) -> Option<HeartbeatState> {
        self.table.state(key)
    }

    pub(crate) fn states(&self) -> Vec<HeartbeatState> {
        self.table.states()
    }

    /// Graceful leave: stops every beat and deregisters every instance
    /// (within one call deadline); returns what could not be deregistered.
    pub(crate) fn deregister_all(&self) -> Vec<String> {
        deregister_all(self)
    }

    /// Stops and joins the threads (requests in flight were interrupted
    /// by the context's close); returns what went wrong.
    pub(crate) fn shutdown(&self) -> Vec<String> {
        let problems = self.workers.shutdown();
        self.senders.clear();
        problems
    }
}

/// How many threads send beats at most: one starts with the first beat,
/// another only while every one is busy (a slow server), never more
/// however many instances.
const SENDERS: usize = 3;

/// How long the scheduler sleeps when nothing is scheduled (it is woken by
/// a command or the stop signal long before that).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// The scheduler: hands due beats to the senders, then sleeps until the
/// next one is due or it is woken (a beat due earlier was scheduled).
fn schedule(stop: &StopSignal, wake: &Receiver<()>, hb: &Arc<Heartbeats>) {
    loop {
        let (due, wait) = {
            let mut s = lock(&hb.schedule);
            let now = Instant::now();
            let due = s.timers.pop_due(now);
            let wait = s.timers.next_wait(now).unwrap_or(IDLE_WAIT);
            s.timers.plan(Some(later(now, wait)));
            (due, wait)
        };
        for job in due.into_iter().map(|d| (d.key, d.tag)) {
            let sender = || {
                let hb = hb.clone();
                move |(key, gen): (Key, u64)| run(&hb, &key, gen)
            };
            if hb.senders.submit(&hb.workers, job, sender).is_err() {
                return;
            }
        }
        select! {
            recv(stop.receiver()) -> _ => return,
            recv(wake) -> w => if w.is_err() { return },
            default(wait) => {}
        }
    }
}

/// Sends one due beat and schedules the next.
fn run(hb: &Heartbeats, key: &Key, gen: u64) {
    let settings = &hb.ctx.settings;
    let Some(job) = hb.table.begin(key, gen, settings.light_heartbeats) else {
        return; // deregistered or replaced meanwhile
    };
    let outcome = guarded("a heartbeat", || beat_once(hb, &job));
    let outcome = match outcome {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(Error::Shutdown)) => return,
        Some(Err(e)) => Err(e.to_string()),
        None => Err("the heartbeat panicked".to_string()),
    };
    if let Some(at) = hb
        .table
        .finish(key, gen, outcome, settings.heartbeat_interval)
    {
        lock(&hb.schedule).push(key.clone(), gen, at);
    }
}

/// One beat. After failures the instance is registered again first, as
/// last updated (a server that restarted may have lost it, or, like
/// r-nacos, re-create it from the beat without its weight or enabled flag);
/// on `20404` it is registered again at once.
fn beat_once(hb: &Heartbeats, job: &Job) -> Result<BeatResult> {
    let (service, inst) = (&job.key.service, &*job.instance);
    if job.recovering {
        api::register(&hb.ctx, service, inst)?;
    }
    let beat = BeatInfo::scheduled(service, inst, job.period);
    let answer = api::beat(&hb.ctx, service, &beat, job.light)?;
    if let Some(advised) = answer.interval() {
        hb.ctx.note_beat_interval(advised);
    }
    if answer.instance_not_found() {
        log::info!(
            "nacos: the server lost {service} {}:{}; registering it again",
            inst.ip,
            inst.port
        );
        api::register(&hb.ctx, service, inst)?;
    } else if job.check && !job.recovering {
        check_held(hb, service, inst);
    }
    Ok(answer)
}

/// Reads the instance back and registers it again when the server holds
/// it otherwise than registered (a server restarted faster than one beat
/// interval that re-created it from a beat: r-nacos 0.8 keeps neither its
/// weight nor its `enabled`, and answers the beat as usual). A failed
/// read changes nothing: the next check asks again.
fn check_held(hb: &Heartbeats, service: &ServiceKey, inst: &Instance) {
    let target = crate::naming::service::Target {
        service: service.clone(),
        clusters: vec![inst.cluster_name.clone()],
    };
    match api::get_instance(&hb.ctx, &target, &inst.ip, inst.port) {
        Ok(held) if (held.weight - inst.weight).abs() > 1e-9 || held.enabled != inst.enabled => {
            log::info!(
                "nacos: the server holds {service} {}:{} with weight {} and enabled {}, \
                 not as registered (restarted and re-created from a beat?); registering it again",
                inst.ip,
                inst.port,
                held.weight,
                held.enabled
            );
            if let Err(e) = api::register(&hb.ctx, service, inst) {
                log::debug!(
                    "nacos: registering {service} {}:{} again failed: {e}",
                    inst.ip,
                    inst.port
                );
            }
        }
        Ok(_) => {}
        Err(e) => log::debug!(
            "nacos: could not read {service} {}:{} back: {e}",
            inst.ip,
            inst.port
        ),
    }
}

/// The whole of a graceful leave (at most the client's `timeout`): the
/// wait for beats on the wire and every DELETE share it, so `shutdown()`
/// stays within about a second.
const LEAVE_DEADLINE: Duration = Duration::from_secs(1);

/// Graceful leave: stops every beat (waiting for beats on the wire) and
/// deregisters every instance, all within one deadline
/// ([`LEAVE_DEADLINE`], or the client's `timeout` if shorter); instances
/// left over then simply expire on the server.
/// Returns what could not be deregistered.
fn deregister_all(hb: &Heartbeats) -> Vec<String> {
    let deadline = hb.ctx.settings.timeout.min(LEAVE_DEADLINE);
    let until = after(deadline);
    let mut problems = Vec::new();
    for (service, inst) in hb.table.remove_all(deadline) {
        let what = format!("{service} {}:{}", inst.ip, inst.port);
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            problems.push(format!("{what} not deregistered: out of time"));
            continue;
        }
        if let Err(e) = api::deregister_within(&hb.ctx, &service, &inst, left) {
            log::warn!("nacos: could not deregister {what} on shutdown: {e}");
            problems.push(format!("{what} not deregistered: {e}"));
        }
    }
    problems
}
