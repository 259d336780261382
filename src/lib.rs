//! A small, synchronous, blocking client for the [Nacos] service registry
//! and config center, over HTTP: the Nacos v1 OpenAPI (Nacos 1.x–3.1,
//! r-nacos) or the v3 API (Nacos 3.2+, batata), chosen per server by itself
//! (see [`Api`]). No async runtime.
//!
//! ```no_run
//! use nacos_blocking::{Instance, NacosClient};
//!
//! let client = NacosClient::new("127.0.0.1:8848")?;
//! client.register_instance("orders", &Instance::builder("10.0.0.7", 8080).weight(2.0).build())?;
//! let one = client.select_one_healthy_instance("orders")?;
//! println!("call {}", one.addr());
//! client.deregister_instance("orders", &Instance::new("10.0.0.7", 8080))?;
//! # Ok::<(), nacos_blocking::Error>(())
//! ```
//!
//! The config center works the same way:
//!
//! ```no_run
//! # let client = nacos_blocking::NacosClient::new("127.0.0.1:8848")?;
//! client.publish_config(("app.yaml", "shop"), "greeting: hello")?;
//! assert_eq!(client.get_config(("app.yaml", "shop"))?.as_deref(), Some("greeting: hello"));
//! let changes = client.watch_config(("app.yaml", "shop"))?;
//! let now = changes.recv()?; // the initial event: the content now
//! if let Ok(event) = changes.recv_timeout(std::time::Duration::from_secs(30)) {
//!     println!("was {:?}, now {:?}", now.content, event.content);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every call finishes or fails within the client's deadline
//! ([`ClientBuilder::timeout`]), trying each configured server in turn.
//! Bad input is refused with [`Error::InvalidArgument`] before any request
//! is sent.
//!
//! # Subscriptions
//!
//! [`NacosClient::subscribe`] hands every change of a service's instances
//! to an [`EventHandler`] (a closure or a channel sender);
//! [`NacosClient::watch`] gives the same events as a blocking [`Watcher`].
//! Each listener first gets one [initial](ServiceEvent::initial) event with
//! the current instances, then one [`ServiceEvent`] per change (added /
//! removed / modified). Configs work the same way
//! ([`NacosClient::subscribe_config`], [`NacosClient::watch_config`]).
//! Dropping a [`Subscription`] or a [`Watcher`] unsubscribes. One
//! scheduler thread and a pool of at most four pollers serve every
//! subscription of a client; while subscribed, lookups answer from the
//! subscription's list, which is also kept on disk
//! ([`ClientBuilder::cache_dir`], [`ClientBuilder::load_cache_at_start`]).
//! After a failed poll the next comes one interval later, then two, never
//! later, and at once when any request to the servers succeeds again.
//! A listener that needs the client captures a [`WeakClient`]
//! ([`NacosClient::downgrade`]): a clone would keep the client running.
//!
//! ```no_run
//! # let client = nacos_blocking::NacosClient::new("127.0.0.1:8848")?;
//! let watcher = client.watch("orders")?;
//! let stopper = watcher.stopper();
//! std::thread::spawn(move || {
//!     for event in watcher {
//!         for gone in &event.removed {
//!             println!("{} left", gone.addr());
//!         }
//!     }
//! });
//! // later: stopper.stop();
//! # Ok::<(), nacos_blocking::Error>(())
//! ```
//!
//! # Heartbeats
//!
//! Registering an ephemeral instance keeps it alive: one background
//! scheduler thread per client (plus a pool of at most three sender
//! threads, however many instances there are) beats it every
//! `preserved.heart.beat.interval` ms of its metadata, else as often as the
//! server advises, else every [`ClientBuilder::heartbeat_interval`]
//! (5 s). A server that lost the instance gets it back: beats after a
//! failure carry everything, and on `20404` it is registered again.
//! Deregistering stops its beats before the removal is sent; shutting the
//! client down stops them all (and with
//! [`ClientBuilder::deregister_on_shutdown`] deregisters every instance).
//! [`NacosClient::heartbeat_state`] tells whether the beats get through.
//!
//! # Threads, shutdown and files
//!
//! Threads start with the work that needs them and pools grow only while
//! every thread is busy: one registered instance and one config watch run
//! four threads (heartbeat scheduler and sender, the namespace's long poll,
//! one delivery thread). At most: 1 + 3 for heartbeats, 1 + 4 for
//! subscriptions, 4 for delivery, and one long-poll thread per watched
//! namespace (briefly one more after keys were added), whatever the number
//! of instances, services or keys.
//!
//! [`NacosClient::shutdown`] (or dropping the last handle) interrupts every
//! request in flight and joins every thread within about a second,
//! whatever `retries` and `timeout` say; a graceful leave
//! ([`ClientBuilder::deregister_on_shutdown`]) has one second of its own.
//!
//! Service lists and config snapshots under [`ClientBuilder::cache_dir`]
//! are created `0700` (directories) and `0600` (files); a cache dir every
//! user may write, or another user's, is refused by `build()`.
//!
//! [Nacos]: https://nacos.io

mod builder;
mod catalog;
mod client;
mod config_center;
mod context;
mod disk;
mod error;
mod events;
mod heartbeat;
pub mod metrics;
mod namespace;
mod naming;
mod secret;
mod serde_util;
mod settings;
mod subscribe;
mod threads;
mod transport;
mod util;
mod validate;

/// The channel crate whose `Sender` is an [`EventHandler`]: the version
/// this crate is built with, so a program need not name a matching one.
pub use crossbeam_channel;

pub use crate::builder::ClientBuilder;
pub use crate::catalog::{CatalogEvent, ServiceQuery};
pub use crate::client::{BatchOutcome, NacosClient, WeakClient};
pub use crate::config_center::api::{ConfigSource, ConfigValue, Publish};
pub use crate::config_center::event::ConfigEvent;
pub use crate::config_center::key::{ConfigKey, ConfigName};
pub use crate::error::{Error, Result};
pub use crate::events::handler::EventHandler;
/// The blocking faces of a subscription: [`Watcher`] and its iterators,
/// errors and stopper, and the [`Subscription`] guard.
pub use crate::events::watch;
pub use crate::events::watch::{Subscription, Watcher};
pub use crate::heartbeat::HeartbeatState;
pub use crate::metrics::Metrics;
pub use crate::namespace::Namespace;
pub use crate::naming::beat::BeatResult;
pub use crate::naming::instance::{Instance, InstanceBuilder, DEFAULT_CLUSTER};
pub use crate::naming::select::pick_weighted;
pub use crate::naming::service::{
    ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServiceName, ServicePage, ServiceSpec,
};
pub use crate::settings::DEFAULT_GROUP;
pub use crate::subscribe::{ServiceEvent, SubscriptionState};
pub use crate::transport::dialect::Api;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
