//! Subscriptions: listeners and watchers on services, fed by one polling
//! engine per client, with a local cache that answers lookups and a disk
//! cache for offline starts.
//!
//! # First delivery
//!
//! Every listener (and every watcher) receives exactly one event with
//! [`ServiceEvent::initial`] set as soon as a list is known — fetched right
//! after subscribing, or loaded from disk with
//! [`load_cache_at_start`](crate::ClientBuilder::load_cache_at_start). It
//! lists the current instances in both `instances` and `added`. Later
//! events carry changes only, so an instance already present is never
//! reported as added again.

mod disk_cache;
mod event;
mod poller;
mod registry;

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use crate::client::NacosClient;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::naming::service::{ServiceInfo, ServiceKey, ServiceName};
use crate::validate;
use crate::watch::{self, Watcher};

pub use self::event::ServiceEvent;
use self::poller::Channels;
use self::registry::{Registry, SubKey};

/// The subscription state of one client (a field of its shared state).
#[derive(Debug)]
pub(crate) struct Subscriptions {
    registry: Registry,
    channels: Channels,
    /// Whether the poller and pool run (they start with the first subscription).
    started: Mutex<bool>,
    /// Handles hold this weakly, so they never keep a client alive.
    me: Weak<Subscriptions>,
}

impl Subscriptions {
    pub(crate) fn new(config: &Config) -> Arc<Subscriptions> {
        Arc::new_cyclic(|me| Subscriptions {
            registry: Registry::new(config),
            channels: Channels::new(),
            started: Mutex::new(false),
            me: me.clone(),
        })
    }

    /// The subscribed list, if `service` (with these clusters, or all) is
    /// subscribed and a list is known.
    pub(crate) fn cached(&self, service: &ServiceKey, clusters: &[&str]) -> Option<ServiceInfo> {
        self.registry.cached(service, clusters)
    }

    /// The list loaded from disk at start, for when no server answers.
    pub(crate) fn disk_copy(&self, service: &ServiceKey, clusters: &[&str]) -> Option<ServiceInfo> {
        let clusters = SubKey::new(service.clone(), clusters).clusters;
        self.registry.disk_list(service, &clusters)
    }

    /// Drops every subscription and refuses new ones (client shutdown).
    pub(crate) fn close(&self) {
        self.registry.close();
    }

    fn remove(&self, sub: &SubKey, listener: u64) {
        self.registry.remove(sub, listener);
    }
}

/// The handle of one listener added by [`NacosClient::subscribe`].
///
/// Dropping the handle does *not* unsubscribe (so `client.subscribe(..)?;`
/// keeps listening); call [`unsubscribe`](Subscription::unsubscribe),
/// [`NacosClient::unsubscribe_all`] or [`NacosClient::stop_subscribe`].
pub struct Subscription {
    subs: Weak<Subscriptions>,
    sub: SubKey,
    listener: u64,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("service", &self.sub.service)
            .field("clusters", &self.sub.clusters)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The service subscribed to.
    pub fn service(&self) -> &ServiceKey {
        &self.sub.service
    }

    /// Removes this listener; the service stops being polled when its last
    /// listener goes. Idempotent. A delivery already under way may still
    /// reach the listener once.
    pub fn unsubscribe(&self) {
        if let Some(subs) = self.subs.upgrade() {
            subs.remove(&self.sub, self.listener);
        }
    }
}

impl NacosClient {
    /// Calls `listener` with every change of `service`'s instances (in
    /// `clusters`; empty: all), healthy or not.
    ///
    /// The listener first gets one [initial](ServiceEvent::initial) event
    /// with the current instances, then one event per change, in order.
    /// The service is polled every [`poll_interval`](crate::ClientBuilder::poll_interval);
    /// a failed poll keeps the last list and delivers nothing, and with
    /// [`push_empty_protection`](crate::ClientBuilder::push_empty_protection)
    /// an empty list replacing a non-empty one is delivered only once the
    /// next poll confirms it. While subscribed, [`list_instances`](Self::list_instances),
    /// the `select_*` calls and [`discover`](Self::discover) answer from this
    /// list without a request.
    ///
    /// Listeners run on the client's small poll pool, never under an
    /// internal lock; a panic is caught and logged. A slow listener holds up
    /// only its own service's events (and one of the pool's threads: with
    /// more slow listeners than pool threads, the others wait too).
    /// A listener that holds a clone of this client keeps it alive until
    /// [`stop_subscribe`](Self::stop_subscribe) or [`shutdown`](Self::shutdown).
    ///
    /// Python v1: `subscribe`.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// let sub = client.subscribe("orders", &[], |ev| {
    ///     println!("{}: +{} -{} ~{}", ev.service, ev.added.len(), ev.removed.len(), ev.modified.len());
    /// })?;
    /// // ...
    /// sub.unsubscribe();
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn subscribe(
        &self,
        service: impl Into<ServiceName>,
        clusters: &[&str],
        listener: impl Fn(&ServiceEvent) + Send + Sync + 'static,
    ) -> Result<Subscription> {
        let sub = self.subscription_key(service, clusters)?;
        let subs = &self.shared().subscriptions;
        let listener = subs
            .registry
            .add(&sub, Arc::new(listener))
            .ok_or(Error::Shutdown)?;
        subs.channels.wake();
        Ok(Subscription {
            subs: subs.me.clone(),
            sub,
            listener,
        })
    }

    /// A blocking stream of `service`'s changes: the same events as
    /// [`subscribe`](Self::subscribe), the initial one first. Stopping or
    /// dropping the watcher unsubscribes it; it also ends on
    /// [`stop_subscribe`](Self::stop_subscribe) and shutdown.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// let watcher = client.watch("orders", &[])?;
    /// let stopper = watcher.stopper();
    /// let t = std::thread::spawn(move || {
    ///     for ev in watcher {
    ///         println!("{} instances", ev.instances.len());
    ///     }
    /// });
    /// stopper.stop();
    /// t.join().unwrap();
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn watch(
        &self,
        service: impl Into<ServiceName>,
        clusters: &[&str],
    ) -> Result<Watcher<ServiceEvent>> {
        let sub = self.subscription_key(service, clusters)?;
        let subs = &self.shared().subscriptions;
        // The sender lives in the listener, the listener in the table: once
        // removed, the watcher sees its channel close and ends.
        let slot: Arc<Mutex<Option<Subscription>>> = Arc::new(Mutex::new(None));
        let on_stop_slot = slot.clone();
        let (tx, watcher) = watch::channel(move || {
            let taken = on_stop_slot
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(handle) = taken {
                handle.unsubscribe();
            }
        });
        let listener = subs
            .registry
            .add(
                &sub,
                Arc::new(move |ev: &ServiceEvent| {
                    let _ = tx.send(ev.clone());
                }),
            )
            .ok_or(Error::Shutdown)?;
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Subscription {
            subs: subs.me.clone(),
            sub,
            listener,
        });
        subs.channels.wake();
        Ok(watcher)
    }

    /// Removes every listener and watcher of `service` (all cluster
    /// selections); returns whether there was any.
    pub fn unsubscribe_all(&self, service: impl Into<ServiceName>) -> Result<bool> {
        let key = self.resolve(service)?;
        Ok(self.shared().subscriptions.registry.remove_service(&key) > 0)
    }

    /// Removes every subscription of this client. Python v1: `stop_subscribe`.
    pub fn stop_subscribe(&self) {
        self.shared().subscriptions.registry.clear();
    }

    /// How many (service, clusters) pairs are being polled.
    pub fn subscribed_services(&self) -> usize {
        self.shared().subscriptions.registry.len()
    }

    /// Starts the poller and pool once.
    /// Resolves and checks what to subscribe to, and makes sure the
    /// poller runs.
    fn subscription_key(
        &self,
        service: impl Into<ServiceName>,
        clusters: &[&str],
    ) -> Result<SubKey> {
        let key = self.resolve(service)?;
        validate::clusters(clusters)?;
        self.start_polling()?;
        Ok(SubKey::new(key, clusters))
    }

    fn start_polling(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Shutdown);
        }
        let mut started = self
            .shared()
            .subscriptions
            .started
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !*started {
            poller::start(self.shared(), self.workers())?;
            *started = true;
        }
        Ok(())
    }
}
