//! Background heartbeats for registered ephemeral instances.
//!
//! One scheduler thread per client keeps a [timer heap](timer::Timers) of
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

mod timer;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{select, Receiver, Sender};

use crate::client::{NacosClient, Shared};
use crate::error::{Error, Result};
use crate::naming::api;
use crate::naming::beat::{interval_of_metadata, BeatInfo, BeatResult};
use crate::naming::instance::Instance;
use crate::naming::service::{ServiceKey, ServiceName};
use crate::worker::{guarded, StopSignal, Workers};
use timer::Timers;

/// How many threads send beats. Fixed: it never grows with the number of
/// instances.
const SENDERS: usize = 3;

/// The shortest interval taken from a server's advice.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// How long the scheduler sleeps when nothing is scheduled (it is woken by
/// a command or the stop signal long before that).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// What identifies a beat: namespace, group, service, cluster, ip, port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BeatKey {
    service: ServiceKey,
    cluster: String,
    ip: String,
    port: u16,
}

impl BeatKey {
    pub(crate) fn new(service: &ServiceKey, inst: &Instance) -> BeatKey {
        BeatKey {
            service: service.clone(),
            cluster: inst.cluster_name.clone(),
            ip: inst.ip.clone(),
            port: inst.port,
        }
    }
}

/// The heartbeat state of one registered instance, as seen by this client.
///
/// Returned by [`NacosClient::heartbeat_state`] and
/// [`NacosClient::heartbeat_states`]. An application can tell from it
/// whether its instance is really registered: after a successful
/// registration `consecutive_failures` stays `0` for as long as the server
/// takes the beats.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HeartbeatState {
    /// The service the instance is registered in.
    pub service: ServiceKey,
    /// The instance's IP address.
    pub ip: String,
    /// The instance's port.
    pub port: u16,
    /// The instance's cluster.
    pub cluster: String,
    /// The interval between beats in use now.
    pub interval: Duration,
    /// When the server last took a beat (`None`: not yet).
    pub last_success: Option<SystemTime>,
    /// When a beat was last sent (`None`: not yet; the first beat goes out
    /// one interval after registration).
    pub last_attempt: Option<SystemTime>,
    /// Beats failed in a row since the last success.
    pub consecutive_failures: u32,
    /// The most recent failure, kept after a later success. Never holds a
    /// credential.
    pub last_error: Option<String>,
}

impl HeartbeatState {
    /// `true` unless the latest beat failed.
    pub fn is_ok(&self) -> bool {
        self.consecutive_failures == 0
    }
}

/// One heartbeated instance.
#[derive(Debug)]
struct Entry {
    gen: u64,
    key: ServiceKey,
    instance: Instance,
    beat: BeatInfo,
    /// The instance's own interval (metadata), which wins over the server's.
    own_interval: Option<Duration>,
    light_ok: bool,
    need_full: bool,
    state: HeartbeatState,
}

/// Every entry, and which beats are being sent right now.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<BeatKey, Entry>,
    /// Beats on the wire, by key (a replaced entry may briefly have two).
    running: HashMap<BeatKey, usize>,
    next_gen: u64,
    /// How many entries are failing now (for the outage log lines).
    failing: usize,
}

impl Table {
    fn take(&mut self, key: &BeatKey) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        if e.state.consecutive_failures > 0 {
            self.failing -= 1;
        }
        Some(e)
    }
}

/// A command to the scheduler.
#[derive(Debug)]
struct Due {
    key: BeatKey,
    gen: u64,
    at: Instant,
}

/// The heartbeat state of one client; lives in [`Shared`].
#[derive(Debug)]
pub(crate) struct Heartbeats {
    table: Mutex<Table>,
    /// Signalled whenever a beat finishes.
    idle: Condvar,
    /// The scheduler's command channel, once it runs.
    commands: Mutex<Option<Sender<Due>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Heartbeats {
    pub(crate) fn new() -> Heartbeats {
        Heartbeats {
            table: Mutex::new(Table::default()),
            idle: Condvar::new(),
            commands: Mutex::new(None),
        }
    }

    /// Starts the scheduler and the senders unless they run already.
    fn started(&self, shared: &Arc<Shared>, workers: &Workers) -> Result<Sender<Due>> {
        let mut commands = lock(&self.commands);
        if let Some(tx) = &*commands {
            return Ok(tx.clone());
        }
        let (tx, rx) = crossbeam_channel::unbounded::<Due>();
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<(BeatKey, u64)>();
        workers.spawn("beat", move |stop| schedule(&stop, &rx, &job_tx))?;
        for i in 0..SENDERS {
            let (shared, jobs) = (shared.clone(), job_rx.clone());
            workers.spawn(&format!("beat-send-{i}"), move |stop| {
                send_beats(&stop, &jobs, &shared)
            })?;
        }
        *commands = Some(tx.clone());
        Ok(tx)
    }

    /// Adds or replaces the beat entry of a just registered instance; its
    /// first beat is due one interval from now.
    pub(crate) fn add(
        &self,
        shared: &Arc<Shared>,
        workers: &Workers,
        key: &ServiceKey,
        inst: &Instance,
    ) -> Result<()> {
        let tx = self.started(shared, workers)?;
        let bk = BeatKey::new(key, inst);
        let own_interval = interval_of_metadata(inst);
        let interval = own_interval.unwrap_or(shared.config.heartbeat_interval);
        let mut beat = BeatInfo::new(key, inst);
        beat.period = interval.as_millis() as u64;
        beat.scheduled = true;
        let mut table = lock(&self.table);
        table.take(&bk);
        table.next_gen += 1;
        let gen = table.next_gen;
        table.entries.insert(
            bk.clone(),
            Entry {
                gen,
                key: key.clone(),
                instance: inst.clone(),
                beat,
                own_interval,
                light_ok: false,
                need_full: true,
                state: HeartbeatState {
                    service: key.clone(),
                    ip: inst.ip.clone(),
                    port: inst.port,
                    cluster: inst.cluster_name.clone(),
                    interval,
                    last_success: None,
                    last_attempt: None,
                    consecutive_failures: 0,
                    last_error: None,
                },
            },
        );
        drop(table);
        // The scheduler only stops with the client; then nothing is beaten.
        let _ = tx.send(Due {
            key: bk,
            gen,
            at: Instant::now() + interval,
        });
        Ok(())
    }

    /// Stops the beats of an instance, then waits (up to `wait`) for a beat
    /// of it still on the wire, so none can land after what comes next.
    pub(crate) fn remove(&self, key: &BeatKey, wait: Duration) -> Option<Instance> {
        let mut table = lock(&self.table);
        let removed = table.take(key).map(|e| e.instance);
        let until = Instant::now() + wait;
        while table.running.contains_key(key) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                log::warn!(
                    "nacos: a heartbeat of {}:{} is still in flight",
                    key.ip,
                    key.port
                );
                break;
            }
            table = self
                .idle
                .wait_timeout(table, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        removed
    }

    /// Stops every beat (waiting for those on the wire, up to `wait`) and
    /// returns what was being beaten.
    fn remove_all(&self, wait: Duration) -> Vec<(ServiceKey, Instance)> {
        let keys: Vec<BeatKey> = lock(&self.table).entries.keys().cloned().collect();
        let until = Instant::now() + wait;
        keys.into_iter()
            .filter_map(|k| {
                let left = until.saturating_duration_since(Instant::now());
                self.remove(&k, left).map(|inst| (k.service, inst))
            })
            .collect()
    }

    fn state(&self, key: &BeatKey) -> Option<HeartbeatState> {
        lock(&self.table).entries.get(key).map(|e| e.state.clone())
    }

    fn states(&self) -> Vec<HeartbeatState> {
        let mut all: Vec<HeartbeatState> = lock(&self.table)
            .entries
            .values()
            .map(|e| e.state.clone())
            .collect();
        all.sort_by(|a, b| {
            (&a.service, &a.cluster, &a.ip, a.port).cmp(&(&b.service, &b.cluster, &b.ip, b.port))
        });
        all
    }

    /// Takes the entry `key` at `gen` for sending, unless it is gone or
    /// replaced: what to send, and whether the beat may be light.
    fn begin(
        &self,
        key: &BeatKey,
        gen: u64,
        light_allowed: bool,
    ) -> Option<(ServiceKey, Instance, BeatInfo, bool)> {
        let mut table = lock(&self.table);
        let e = table.entries.get(key).filter(|e| e.gen == gen)?;
        let job = (
            e.key.clone(),
            e.instance.clone(),
            e.beat.clone(),
            light_allowed && e.light_ok && !e.need_full,
        );
        *table.running.entry(key.clone()).or_insert(0) += 1;
        Some(job)
    }

    /// Records how a beat went and returns when the next one is due (`None`
    /// when the entry was removed or replaced meanwhile).
    fn finish(
        &self,
        key: &BeatKey,
        gen: u64,
        outcome: std::result::Result<BeatResult, String>,
        default: Duration,
    ) -> Option<Instant> {
        let mut table = lock(&self.table);
        if let Some(n) = table.running.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                table.running.remove(key);
            }
        }
        self.idle.notify_all();
        let table = &mut *table;
        let e = table.entries.get_mut(key).filter(|e| e.gen == gen)?;
        let now = SystemTime::now();
        e.state.last_attempt = Some(now);
        match outcome {
            Ok(answer) => {
                if e.state.consecutive_failures > 0 {
                    log::debug!(
                        "nacos: heartbeats of {} {}:{} recovered after {} failures",
                        e.key,
                        key.ip,
                        key.port,
                        e.state.consecutive_failures
                    );
                    table.failing -= 1;
                    if table.failing == 0 {
                        log::info!("nacos: heartbeats are accepted again");
                    }
                }
                e.state.consecutive_failures = 0;
                e.state.last_success = Some(now);
                e.light_ok = answer.light_beat_enabled;
                // After a 20404 (the instance was registered again) the next
                // beat carries everything once more.
                e.need_full = answer.instance_not_found();
                let advised = answer.interval().map(|d| d.max(MIN_INTERVAL));
                e.state.interval = e.own_interval.or(advised).unwrap_or(default);
                e.beat.period = e.state.interval.as_millis() as u64;
            }
            Err(message) => {
                if e.state.consecutive_failures == 0 {
                    table.failing += 1;
                    if table.failing == 1 {
                        log::warn!(
                            "nacos: heartbeats are failing ({message}); retrying every interval"
                        );
                    }
                }
                e.state.consecutive_failures = e.state.consecutive_failures.saturating_add(1);
                e.state.last_error = Some(message);
                e.need_full = true;
            }
        }
        Some(Instant::now() + e.state.interval)
    }
}

/// The scheduler: keeps the timer heap and hands due beats to the senders.
fn schedule(stop: &StopSignal, commands: &Receiver<Due>, jobs: &Sender<(BeatKey, u64)>) {
    let mut timers: Timers<BeatKey> = Timers::new();
    loop {
        let wait = timers.next_wait(Instant::now()).unwrap_or(IDLE_WAIT);
        select! {
            recv(stop.receiver()) -> _ => return,
            recv(commands) -> cmd => match cmd {
                Ok(d) => timers.push(d.at, d.key, d.gen),
                Err(_) => return,
            },
            default(wait) => {}
        }
        for job in timers.pop_due(Instant::now()) {
            if jobs.send(job).is_err() {
                return;
            }
        }
    }
}

/// A sender: takes due beats one by one until the client stops.
fn send_beats(stop: &StopSignal, jobs: &Receiver<(BeatKey, u64)>, shared: &Shared) {
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
        if let Some(tx) = &*lock(&hb.commands) {
            let _ = tx.send(Due {
                key: key.clone(),
                gen,
                at,
            });
        }
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

/// Graceful leave: stops every beat and deregisters every instance, within
/// about one call deadline in all (instances left over when it runs out
/// simply expire on the server).
pub(crate) fn deregister_all(shared: &Shared) {
    let deadline = shared.config.timeout;
    let until = Instant::now() + deadline;
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

impl NacosClient {
    /// The heartbeat state of an instance this client registered and beats,
    /// or `None` when it beats no such instance (never registered here,
    /// deregistered, persistent, or automatic heartbeats turned off).
    ///
    /// ```no_run
    /// use nacos_blocking::{Instance, NacosClient};
    /// let client = NacosClient::new("127.0.0.1:8848")?;
    /// let me = Instance::new("10.0.0.7", 8080);
    /// client.register_instance("orders", &me)?;
    /// // ... later, e.g. in a readiness probe:
    /// let ok = client.heartbeat_state("orders", &me).is_some_and(|s| s.is_ok());
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn heartbeat_state(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Option<HeartbeatState> {
        let key = self.resolve(service).ok()?;
        self.shared()
            .heartbeats
            .state(&BeatKey::new(&key, instance))
    }

    /// The heartbeat state of every instance this client beats, sorted by
    /// service, cluster, ip and port.
    pub fn heartbeat_states(&self) -> Vec<HeartbeatState> {
        self.shared().heartbeats.states()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ServiceKey {
        ServiceKey {
            namespace: String::new(),
            group: "G".into(),
            name: "s".into(),
        }
    }

    fn table_with(hb: &Heartbeats, inst: &Instance) -> (BeatKey, u64) {
        let bk = BeatKey::new(&key(), inst);
        let mut t = lock(&hb.table);
        t.next_gen += 1;
        let gen = t.next_gen;
        t.entries.insert(
            bk.clone(),
            Entry {
                gen,
                key: key(),
                instance: inst.clone(),
                beat: BeatInfo::new(&key(), inst),
                own_interval: interval_of_metadata(inst),
                light_ok: false,
                need_full: true,
                state: HeartbeatState {
                    service: key(),
                    ip: inst.ip.clone(),
                    port: inst.port,
                    cluster: inst.cluster_name.clone(),
                    interval: Duration::from_secs(5),
                    last_success: None,
                    last_attempt: None,
                    consecutive_failures: 0,
                    last_error: None,
                },
            },
        );
        (bk, gen)
    }

    fn answer(light: bool, interval_ms: u64, code: i64) -> BeatResult {
        BeatResult {
            client_beat_interval: Some(interval_ms),
            code: Some(code),
            light_beat_enabled: light,
        }
    }

    #[test]
    fn light_only_after_the_server_allows_it_and_full_after_failures() {
        let hb = Heartbeats::new();
        let (bk, gen) = table_with(&hb, &Instance::new("1.1.1.1", 80));
        let d = Duration::from_secs(5);
        assert!(!hb.begin(&bk, gen, true).unwrap().3, "first beat is full");
        hb.finish(&bk, gen, Ok(answer(true, 2000, 10200)), d)
            .unwrap();
        assert!(!hb.begin(&bk, gen, false).unwrap().3, "light beats off");
        hb.finish(&bk, gen, Ok(answer(true, 2000, 10200)), d)
            .unwrap();
        assert!(hb.begin(&bk, gen, true).unwrap().3, "light once allowed");
        hb.finish(&bk, gen, Err("down".into()), d).unwrap();
        let s = hb.state(&bk).unwrap();
        assert_eq!(
            (s.consecutive_failures, s.last_error.as_deref()),
            (1, Some("down"))
        );
        assert!(!hb.begin(&bk, gen, true).unwrap().3, "full after a failure");
        hb.finish(&bk, gen, Ok(answer(true, 2000, 20404)), d)
            .unwrap();
        assert!(!hb.begin(&bk, gen, true).unwrap().3, "full after 20404");
        hb.finish(&bk, gen, Ok(answer(true, 2000, 10200)), d)
            .unwrap();
        let s = hb.state(&bk).unwrap();
        assert!(s.is_ok() && s.last_success.is_some());
        assert_eq!(s.interval, Duration::from_secs(2), "server's advice");
        assert_eq!(lock(&hb.table).failing, 0);
        assert!(lock(&hb.table).running.is_empty());
    }

    #[test]
    fn metadata_interval_wins_over_the_server() {
        let hb = Heartbeats::new();
        let inst = Instance::builder("1.1.1.1", 80)
            .metadata(crate::validate::HEART_BEAT_INTERVAL, "1000")
            .build();
        let (bk, gen) = table_with(&hb, &inst);
        hb.begin(&bk, gen, true).unwrap();
        hb.finish(
            &bk,
            gen,
            Ok(answer(true, 5000, 10200)),
            Duration::from_secs(5),
        );
        assert_eq!(hb.state(&bk).unwrap().interval, Duration::from_secs(1));
    }

    #[test]
    fn removed_or_replaced_entries_are_not_beaten_or_rescheduled() {
        let hb = Heartbeats::new();
        let inst = Instance::new("1.1.1.1", 80);
        let (bk, old) = table_with(&hb, &inst);
        let (_, new) = table_with(&hb, &inst);
        assert!(hb.begin(&bk, old, true).is_none());
        assert!(hb.begin(&bk, new, true).is_some());
        // Removed while on the wire: no next beat.
        let waiter = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let t = Instant::now();
                hb.remove(&bk, Duration::from_secs(5));
                t.elapsed()
            });
            std::thread::sleep(Duration::from_millis(100));
            assert!(hb
                .finish(&bk, new, Ok(BeatResult::default()), Duration::from_secs(1))
                .is_none());
            h.join().unwrap()
        });
        assert!(
            waiter >= Duration::from_millis(90),
            "remove waited for the beat"
        );
        assert!(hb.state(&bk).is_none());
    }
}
