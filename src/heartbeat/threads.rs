//! The threads: one scheduler with the timer heap, a fixed pool of senders.

use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

use super::table::lock;
use super::BeatKey;
use crate::client::Shared;
use crate::error::{Error, Result};
use crate::naming::api;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::Instance;
use crate::naming::service::ServiceKey;
use crate::worker::{guarded, StopSignal};

/// How many threads send beats. Fixed: it never grows with the number of
/// instances.
pub(super) const SENDERS: usize = 3;

/// How long the scheduler sleeps when nothing is scheduled (it is woken by
/// a command or the stop signal long before that).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// The scheduler: hands due beats to the senders, then sleeps until the
/// next one is due or it is woken (a beat due earlier was scheduled).
pub(super) fn schedule(
    stop: &StopSignal,
    wake: &Receiver<()>,
    shared: &Shared,
    jobs: &Sender<(BeatKey, u64)>,
) {
    loop {
        let (due, wait) = {
            let mut s = lock(&shared.heartbeats.schedule);
            let now = Instant::now();
            let due = s.timers.pop_due(now);
            let wait = s.timers.next_wait(now).unwrap_or(IDLE_WAIT);
            s.planned = Some(crate::util::later(now, wait));
            (due, wait)
        };
        for job in due {
            if jobs.send(job).is_err() {
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

/// A sender: takes due beats one by one until the client stops.
pub(super) fn send_beats(stop: &StopSignal, jobs: &Receiver<(BeatKey, u64)>, shared: &Shared) {
    loop {
        select! {
            recv(stop.receiver()) -> _ => return,
            recv(jobs) -> job => match job {
                Ok((key, gen)) => run(shared, &key, gen),
                Err(_) => return,
            },
        }
    }
}

/// Sends one due beat and schedules the next.
fn run(shared: &Shared, key: &BeatKey, gen: u64) {
    let hb = &shared.heartbeats;
    let Some((service, inst, beat, light)) = hb.begin(key, gen, shared.config.light_heartbeats)
    else {
        return; // deregistered or replaced meanwhile
    };
    let outcome = guarded("a heartbeat", || {
        beat_once(shared, &service, &inst, &beat, light)
    });
    let outcome = match outcome {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(Error::Shutdown)) => return,
        Some(Err(e)) => Err(e.to_string()),
        None => Err("the heartbeat panicked".to_string()),
    };
    if let Some(at) = hb.finish(key, gen, outcome, shared.config.heartbeat_interval) {
        lock(&hb.schedule).push(key.clone(), gen, at);
    }
}

/// One beat; on `20404` the instance is registered again at once.
fn beat_once(
    shared: &Shared,
    service: &ServiceKey,
    inst: &Instance,
    beat: &BeatInfo,
    light: bool,
) -> Result<BeatResult> {
    let resp = shared.send(&api::beat_request(service, beat, light)?)?;
    let answer = BeatResult::parse(&resp.body)?;
    if answer.instance_not_found() {
        log::info!(
            "nacos: the server lost {service} {}:{}; registering it again",
            inst.ip,
            inst.port
        );
        shared.send(&api::register_request(service, inst))?;
    }
    Ok(answer)
}

/// Graceful leave: stops every beat (waiting up to one call deadline for
/// beats on the wire) and deregisters every instance, starting no DELETE
/// after one call deadline has passed (instances left over then simply
/// expire on the server).
pub(crate) fn deregister_all(shared: &Shared) {
    let deadline = shared.config.timeout;
    let until = crate::util::after(deadline);
    for (service, inst) in shared.heartbeats.remove_all(deadline) {
        if Instant::now() >= until {
            log::warn!("nacos: out of time deregistering instances on shutdown");
            return;
        }
        if let Err(e) = shared.send(&api::deregister_request(&service, &inst)) {
            log::warn!(
                "nacos: could not deregister {service} {}:{} on shutdown: {e}",
                inst.ip,
                inst.port
            );
        }
    }
}
