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

mod body;
mod disk_cache;
mod event;
mod failover;
mod poller;
mod registry;
mod state;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::events::delivery::Listener;
use crate::events::handler::EventHandler;
use crate::events::watch::{self, Subscription, Watcher};
use crate::naming::api;
use crate::naming::service::{ServiceInfo, ServiceKey, Target};
use crate::threads::Workers;
use crate::util::lock;

pub use self::event::ServiceEvent;
use self::poller::Channels;
use self::registry::Registry;
pub use self::state::SubscriptionState;

/// The subscriptions of one client: the table, the poller and its threads.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    ctx: Arc<Context>,
    registry: Registry,
    /// The naming failover switch and files.
    failover: failover::Failover,
    channels: Channels,
    workers: Workers,
    /// Whether the poller runs (it starts with the first subscription).
    started: Mutex<bool>,
    /// Guards hold this weakly, so they never keep a client alive.
    me: Weak<Subscriptions>,
}

impl Subscriptions {
    pub(crate) fn new(ctx: Arc<Context>) -> Arc<Subscriptions> {
        Arc::new_cyclic(|me| Subscriptions {
            registry: Registry::new(&ctx.settings),
            failover: failover::Failover::new(&ctx.settings),
            ctx,
            channels: Channels::new(),
            workers: Workers::new(),
            started: Mutex::new(false),
            me: me.clone(),
        })
    }

    /// Adds `handler` to `target`'s listeners; the guard removes it.
    pub(crate) fn subscribe<H: EventHandler<ServiceEvent>>(
        self: &Arc<Self>,
        target: Target,
        handler: H,
    ) -> Result<Subscription> {
        self.start()?;
        let listener = Listener::new(handler);
        let id = self
            .registry
            .add(&target, listener)
            .ok_or(Error::Shutdown)?;
        self.channels.wake();
        let subs = self.me.clone();
        let what = format!("service {}", target.service);
        Ok(Subscription::new(what, move || {
            if let Some(subs) = subs.upgrade() {
                subs.registry.remove(&target, id);
            }
        }))
    }

    /// A watcher fed by a subscription to `target`.
    pub(crate) fn watch(self: &Arc<Self>, target: Target) -> Result<Watcher<ServiceEvent>> {
        watch::watcher(|feed| self.subscribe(target, feed))
    }

    /// Every instance of `target`: from the subscription's list when it is
    /// subscribed, else from the server, else (no server answering) from
    /// the lists loaded at start.
    pub(crate) fn list(&self, target: &Target) -> Result<ServiceInfo> {
        if let Some((info, _)) = self.failover.list(target) {
            return Ok(info);
        }
        if let Some(info) = self.registry.cached(target) {
            return Ok(info);
        }
        match api::query_instances(&self.ctx, target) {
            Err(e) if e.is_unavailable() => {
                match self.registry.disk_list(&target.service, &target.clusters) {
                    Some(info) => {
                        log::debug!(
                            "nacos: no server answers; {} from the disk cache",
                            target.service
                        );
                        Ok(info)
                    }
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    /// Whether the naming failover switch is on.
    pub(crate) fn failover_active(&self) -> bool {
        self.failover.active()
    }

    pub(crate) fn state(&self, target: &Target) -> Option<SubscriptionState> {
        self.registry.state(target)
    }

    /// Ends every subscription of `service`; `true` when there was any.
    pub(crate) fn unsubscribe_all(&self, service: &ServiceKey) -> bool {
        self.registry.remove_service(service) > 0
    }

    /// Ends every subscription.
    pub(crate) fn clear(&self) {
        self.registry.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.registry.len()
    }

    /// Ends every subscription, refuses new ones, stops and joins the
    /// threads; returns what went wrong.
    pub(crate) fn shutdown(&self) -> Vec<String> {
        self.registry.close();
        let problems = self.workers.shutdown();
        self.channels.clear();
        problems
    }

    /// How long an empty list replacing a non-empty one is held: the
    /// configured window, or one heartbeat interval the server advised
    /// when that is longer; `None` with protection off.
    fn empty_window(&self) -> Option<Duration> {
        let settings = &self.ctx.settings;
        settings.push_empty_protection.then(|| {
            let advised = self.ctx.advised_beat_interval().unwrap_or_default();
            settings.push_empty_window.max(advised)
        })
    }

    /// Starts the poller once.
    fn start(self: &Arc<Self>) -> Result<()> {
        if self.ctx.is_closed() {
            return Err(Error::Shutdown);
        }
        let mut started = lock(&self.started);
        if !*started {
            poller::start(self)?;
            *started = true;
        }
        Ok(())
    }
}
