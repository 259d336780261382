//! Every naming call of [`NacosClient`]: instances, heartbeats, services,
//! subscriptions. Each resolves its arguments and delegates.

use std::time::{Duration, Instant};

use super::NacosClient;
use crate::catalog::{CatalogEvent, ServiceQuery};
use crate::error::{Error, Result};
use crate::events::handler::EventHandler;
use crate::events::watch::{Subscription, Watcher};
use crate::heartbeat::{BeatKey, HeartbeatState};
use crate::naming::api;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::Instance;
use crate::naming::select;
use crate::naming::service::{
    ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServiceName, ServicePage, ServiceSpec,
    Target,
};
use crate::subscribe::{ServiceEvent, SubscriptionState};
use crate::transport::Method;

/// # Instances
impl NacosClient {
    /// Registers (or re-registers) an instance of `service`.
    ///
    /// An ephemeral instance is then heartbeated in the background until it
    /// is deregistered or the client shuts down (unless
    /// [`auto_heartbeat`](crate::ClientBuilder::auto_heartbeat) is off);
    /// registering the same instance again replaces its heartbeat, and
    /// [`heartbeat_state`](NacosClient::heartbeat_state) tells how it goes.
    ///
    /// Python v1: `add_naming_instance`.
    pub fn register_instance(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<()> {
        let key = self.target(service)?.service;
        api::validate_instance(instance)?;
        api::register(self.ctx(), &key, instance)?;
        self.beat_after_register(&key, instance)
    }

    /// After a registration: heartbeats for an ephemeral instance (when
    /// automatic), none for a persistent one (re-registered as persistent:
    /// no more beats).
    pub(super) fn beat_after_register(&self, key: &ServiceKey, instance: &Instance) -> Result<()> {
        let hb = &self.inner.heartbeats;
        if instance.ephemeral && self.ctx().settings.auto_heartbeat {
            hb.add(key, instance)
        } else {
            hb.remove(&BeatKey::new(key, instance), Duration::ZERO);
            Ok(())
        }
    }

    /// Removes an instance (found by ip, port, cluster and ephemerality).
    ///
    /// Its heartbeats stop first (a beat already on the wire is waited
    /// for, up to half the call's deadline), so no beat can bring it back;
    /// the whole call keeps the client's deadline.
    ///
    /// Python v1: `remove_naming_instance`.
    pub fn deregister_instance(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<()> {
        let key = self.target(service)?.service;
        api::validate_identity(instance)?;
        // One deadline for both: a beat on the wire gets at most half.
        let started = Instant::now();
        let timeout = self.ctx().settings.timeout;
        self.inner
            .heartbeats
            .remove(&BeatKey::new(&key, instance), timeout / 2);
        let left = timeout.saturating_sub(started.elapsed());
        api::deregister_within(self.ctx(), &key, instance, left)
    }

    /// Changes an instance's weight, enabled flag and metadata. When this
    /// client heartbeats the instance, its beats (and a re-registration
    /// after the server lost it) carry the instance as updated from now on.
    ///
    /// Python v1: `modify_naming_instance`.
    pub fn update_instance(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<()> {
        let key = self.target(service)?.service;
        api::validate_instance(instance)?;
        api::update(self.ctx(), &key, instance)?;
        self.inner.heartbeats.update(&key, instance);
        Ok(())
    }

    /// One instance, with its raw health, in the one cluster `service`
    /// names (`ServiceName::new(s).clusters(["c"])`), else the default
    /// cluster.
    ///
    /// Python v1: `get_naming_instance`.
    pub fn get_instance(
        &self,
        service: impl Into<ServiceName>,
        ip: &str,
        port: u16,
    ) -> Result<Instance> {
        api::get_instance(self.ctx(), &self.target(service)?, ip, port)
    }

    /// Every instance of `service` (in the clusters it names), healthy or
    /// not: from the subscription's list while subscribed, else from the
    /// server (else, with no server answering, from the disk cache loaded
    /// at start).
    ///
    /// Python v1: `list_naming_instance`.
    pub fn list_instances(&self, service: impl Into<ServiceName>) -> Result<ServiceInfo> {
        self.inner.subscriptions.list(&self.target(service)?)
    }

    /// Like [`list_instances`](Self::list_instances), healthy instances only.
    pub fn list_healthy_instances(&self, service: impl Into<ServiceName>) -> Result<ServiceInfo> {
        let target = self.target(service)?;
        let info = self.inner.subscriptions.list(&target)?;
        Ok(api::filter_hosts(info, &target.clusters, true))
    }

    /// The instances that can take traffic: healthy, enabled, weight > 0.
    pub fn select_instances(&self, service: impl Into<ServiceName>) -> Result<Vec<Instance>> {
        let info = self.list_instances(service)?;
        Ok(info
            .hosts
            .into_iter()
            .filter(Instance::is_available)
            .collect())
    }

    /// One instance that can take traffic, picked at random by weight.
    ///
    /// Fails with [`Error::NoInstanceAvailable`] when there is none.
    pub fn select_one_healthy_instance(&self, service: impl Into<ServiceName>) -> Result<Instance> {
        let target = self.target(service)?;
        let info = self.inner.subscriptions.list(&target)?;
        select::pick_weighted(&info.hosts)
            .cloned()
            .ok_or_else(|| Error::NoInstanceAvailable {
                service: target.service.to_string(),
            })
    }

    /// `(host, port)` of every instance that can take traffic: the shape
    /// generic service-discovery interfaces expect.
    pub fn discover(&self, service: impl Into<ServiceName>) -> Result<Vec<(String, u16)>> {
        Ok(self
            .select_instances(service)?
            .into_iter()
            .map(|h| (h.ip, h.port))
            .collect())
    }
}

/// # Heartbeats
impl NacosClient {
    /// Sends one heartbeat for an instance and returns the server's advice.
    ///
    /// Python v1: `send_heartbeat`. Registered ephemeral instances are
    /// beaten automatically; this is for callers who beat by hand.
    pub fn send_heartbeat(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<BeatResult> {
        let key = self.target(service)?.service;
        api::validate_instance(instance)?;
        api::beat(self.ctx(), &key, &BeatInfo::new(&key, instance), false)
    }

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
        let key = self.target(service).ok()?.service;
        self.inner.heartbeats.state(&BeatKey::new(&key, instance))
    }

    /// The heartbeat state of every instance this client beats, sorted by
    /// service, cluster, ip and port.
    pub fn heartbeat_states(&self) -> Vec<HeartbeatState> {
        self.inner.heartbeats.states()
    }
}

/// # Services and the server
impl NacosClient {
    /// A service's settings.
    pub fn get_service(&self, service: impl Into<ServiceName>) -> Result<ServiceDetail> {
        api::get_service(self.ctx(), &self.target(service)?.service)
    }

    /// Creates a service.
    pub fn create_service(
        &self,
        service: impl Into<ServiceName>,
        spec: &ServiceSpec,
    ) -> Result<()> {
        let key = self.target(service)?.service;
        api::write_service(self.ctx(), Method::Post, &key, spec)
    }

    /// Updates a service's settings.
    pub fn update_service(
        &self,
        service: impl Into<ServiceName>,
        spec: &ServiceSpec,
    ) -> Result<()> {
        let key = self.target(service)?.service;
        api::write_service(self.ctx(), Method::Put, &key, spec)
    }

    /// Deletes a service (the server refuses while it has instances).
    pub fn delete_service(&self, service: impl Into<ServiceName>) -> Result<()> {
        api::delete_service(self.ctx(), &self.target(service)?.service)
    }

    /// One page of services, and how many there are in all: of the
    /// client's group, another ([`ServicePage::group`]) or every group
    /// ([`ServicePage::all_groups`]).
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// use nacos_blocking::ServicePage;
    /// let page = client.list_services(&ServicePage::new(1, 100).all_groups())?;
    /// for s in &page.services {
    ///     println!("{}/{}", s.group, s.name);
    /// }
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn list_services(&self, page: &ServicePage) -> Result<ServiceList> {
        api::list_services(self.ctx(), page)
    }

    /// Every namespace of the server, the public one (id `"public"`)
    /// first: v1 `console/namespaces`, v3 the namespace admin API (also on
    /// Nacos 3.0/3.1, which refuse the v1 path by default).
    pub fn list_namespaces(&self) -> Result<Vec<crate::Namespace>> {
        crate::namespace::list(self.ctx())
    }

    /// The server's own status (`UP` when it serves), from `operator/metrics`.
    pub fn server_status(&self) -> Result<String> {
        api::server_status(self.ctx())
    }

    /// `true` when a server answers and says it is `UP`.
    pub fn server_healthy(&self) -> bool {
        matches!(self.server_status().as_deref(), Ok("UP"))
    }
}

/// # Subscriptions
impl NacosClient {
    /// Hands every change of `service`'s instances (in the clusters it
    /// names) to `handler`: a closure `|event: &ServiceEvent|`, or a
    /// channel sender (crossbeam or std).
    ///
    /// The handler first gets one [initial](ServiceEvent::initial) event
    /// with the current instances, then one event per change, in order.
    /// The service is polled every [`poll_interval`](crate::ClientBuilder::poll_interval);
    /// a failed poll keeps the last list and delivers nothing (see
    /// [`subscription_state`](Self::subscription_state)), and with
    /// [`push_empty_protection`](crate::ClientBuilder::push_empty_protection)
    /// an empty list replacing a non-empty one is held for a time window.
    /// While subscribed, the list and select calls answer from this list
    /// without a request.
    ///
    /// Handlers run on the client's small delivery pool, one event at a
    /// time each, never under an internal lock; a panic is caught and
    /// logged. A slow handler holds up only its own events (and one pool
    /// thread while it runs).
    ///
    /// Dropping the returned guard unsubscribes; `.detach()` keeps the
    /// handler for the client's life. A handler that needs the client
    /// should capture a [`WeakClient`](crate::WeakClient)
    /// ([`downgrade`](Self::downgrade)), not a clone: a clone in a
    /// registered handler keeps the client and its threads running after
    /// the program dropped its own handles. Python v1: `subscribe`.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// use nacos_blocking::ServiceEvent;
    /// let sub = client.subscribe("orders", |ev: &ServiceEvent| {
    ///     println!("{}: +{} -{} ~{}", ev.service, ev.added.len(), ev.removed.len(), ev.modified.len());
    /// })?;
    /// // ... `sub` unsubscribes when dropped
    /// # drop(sub);
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn subscribe(
        &self,
        service: impl Into<ServiceName>,
        handler: impl EventHandler<ServiceEvent>,
    ) -> Result<Subscription> {
        let target = self.target(service)?;
        self.inner.subscriptions.subscribe(target, handler)
    }

    /// A blocking stream of `service`'s changes: the same events as
    /// [`subscribe`](Self::subscribe), the initial one first. Stopping or
    /// dropping the watcher unsubscribes.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// let watcher = client.watch("orders")?;
    /// let first = watcher.recv()?;
    /// println!("{} instances", first.instances.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch(&self, service: impl Into<ServiceName>) -> Result<Watcher<ServiceEvent>> {
        let target = self.target(service)?;
        self.inner.subscriptions.watch(target)
    }

    /// Events when services appear in or leave a namespace, in one group
    /// or in every group (only those whose name matches the query's
    /// pattern, if it has one):
    /// first an [initial](CatalogEvent::initial) event listing every
    /// matching service, then one per change. The catalog is polled through
    /// the paged service list (v1 `/v1/ns/service/list`, or the console
    /// catalog for [every group](ServiceQuery::all_groups); v3 the admin
    /// list) every [`ServiceQuery::every`], else the client's
    /// `poll_interval`, else 10 s; an answer that did not change costs no
    /// decode. One thread per watch, `nacos-svcs-<n>`, ended by dropping
    /// the watcher. A failed poll sends nothing (the next comes one
    /// interval later, then two); an empty catalog right after a full one
    /// is reported only when the next poll agrees. With
    /// [`ServiceQuery::keep_subscribed`] each matching service is also
    /// subscribed while it is there. The Java 3.x client's fuzzy watch
    /// (gRPC only) does this by push.
    ///
    /// A bad pattern, group or namespace is refused before any request.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// use nacos_blocking::ServiceQuery;
    /// let services = client.watch_services(ServiceQuery::new().pattern("order-*"))?;
    /// for event in &services {
    ///     for s in &event.added {
    ///         println!("{} appeared in {}", s.name, s.group);
    ///     }
    ///     for s in &event.removed {
    ///         println!("{} left {}", s.name, s.group);
    ///     }
    /// }
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn watch_services(&self, query: ServiceQuery) -> Result<Watcher<CatalogEvent>> {
        self.inner.catalogs.watch(query)
    }

    /// [`watch_services`](Self::watch_services) delivered to `handler` (a
    /// closure or a channel sender) instead; dropping the guard ends it.
    pub fn subscribe_services(
        &self,
        query: ServiceQuery,
        handler: impl EventHandler<CatalogEvent>,
    ) -> Result<Subscription> {
        self.inner.catalogs.subscribe(query, handler)
    }

    /// How polling a subscribed service goes (last success, failures in a
    /// row, last error); `None` when it is not subscribed.
    pub fn subscription_state(&self, service: impl Into<ServiceName>) -> Option<SubscriptionState> {
        let target = self.target(service).ok()?;
        self.inner.subscriptions.state(&target)
    }

    /// Ends every subscription and watcher of `service` (all cluster
    /// selections); returns whether there was any.
    pub fn unsubscribe_all(&self, service: impl Into<ServiceName>) -> Result<bool> {
        let target = self.target(service)?;
        Ok(self.inner.subscriptions.unsubscribe_all(&target.service))
    }

    /// Ends every service subscription of this client. Python v1:
    /// `stop_subscribe`.
    pub fn stop_subscribe(&self) {
        self.inner.subscriptions.clear();
    }

    /// Whether the naming failover switch is on: the cache dir's
    /// `failover/00-00---000-VIPSRV_FAILOVER_SWITCH-000---00-00` says `1`
    /// (the Java client's layout). Then every lookup and subscription of a
    /// service with a failover file (`failover/<group>%40%40<service>`,
    /// `ServiceInfo` JSON) answers from that file, not from the servers;
    /// the switch is read at most once a second, and turning it on or off
    /// is logged.
    pub fn naming_failover_active(&self) -> bool {
        self.inner.subscriptions.failover_active()
    }

    /// How many (service, clusters) pairs are being polled.
    pub fn subscribed_services(&self) -> usize {
        self.inner.subscriptions.len()
    }

    /// Resolves a service against the client's defaults and validates it.
    pub(super) fn target(&self, service: impl Into<ServiceName>) -> Result<Target> {
        service.into().resolve(&self.ctx().settings)
    }
}
