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

mod table;
mod threads;
mod timer;

use std::time::{Duration, SystemTime};

use crate::client::NacosClient;
use crate::naming::instance::Instance;
use crate::naming::service::{ServiceKey, ServiceName};

pub(crate) use table::Heartbeats;
pub(crate) use threads::deregister_all;

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
