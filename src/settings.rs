//! The validated settings of a client (built by [`ClientBuilder`](crate::ClientBuilder)).

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;
use crate::transport::server_list::ServerAddr;

/// The group used when a call names none.
pub const DEFAULT_GROUP: &str = "DEFAULT_GROUP";

/// A username and password. `Debug` never shows the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: Secret,
}

/// Where the server list comes from.
#[derive(Clone, Debug)]
pub(crate) enum Servers {
    /// A fixed list.
    Fixed(Vec<ServerAddr>),
    /// An address server answering `GET <endpoint>/nacos/serverlist`.
    Endpoint { url: String, refresh: Duration },
}

/// The validated settings of a client. Built by [`ClientBuilder`](crate::ClientBuilder).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) servers: Servers,
    pub(crate) context_path: String,
    pub(crate) namespace: String,
    pub(crate) group: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) app_name: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) max_response_bytes: u64,
    /// Extra trust anchors (DER), replacing the built-in roots when set.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) tls_roots: Vec<Vec<u8>>,
    /// `None`: the disk cache is off.
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) poll_interval: Option<Duration>,
    pub(crate) push_empty_protection: bool,
    pub(crate) push_empty_window: Duration,
    pub(crate) load_cache_at_start: bool,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) auto_heartbeat: bool,
    pub(crate) deregister_on_shutdown: bool,
    pub(crate) light_heartbeats: bool,
    pub(crate) long_poll_timeout: Duration,
    /// The API to speak (detected per server by default).
    pub(crate) api: crate::transport::dialect::Api,
    /// How often a watched config is read from a server without long
    /// polling (v3).
    pub(crate) config_poll_interval: Duration,
    /// v3 config polling: requests per second at most.
    pub(crate) config_poll_rate: u32,
    pub(crate) config_failover_dir: Option<PathBuf>,
    /// Whether `cipher-` configs (decrypted by the server's encryption
    /// plugin) are written to snapshot files too.
    pub(crate) snapshot_encrypted: bool,
    /// AK/SK signing keys (`Debug` redacts the secret and the token).
    #[cfg(feature = "aksk")]
    pub(crate) aksk: Option<crate::transport::sign::AkSk>,
}
