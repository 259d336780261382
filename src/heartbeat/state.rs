//! What identifies a beat, and the public state of one.

use std::time::{Duration, SystemTime};

use crate::naming::instance::Instance;
use crate::naming::service::ServiceKey;

/// What identifies a beat: namespace, group, service, cluster, ip, port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BeatKey {
    pub(super) service: ServiceKey,
    pub(super) cluster: String,
    pub(super) ip: String,
    pub(super) port: u16,
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
/// Returned by [`NacosClient::heartbeat_state`](crate::NacosClient::heartbeat_state) and
/// [`NacosClient::heartbeat_states`](crate::NacosClient::heartbeat_states). An application can tell from it
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
