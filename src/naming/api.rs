//! The naming calls: instances, services, server status.

use std::time::Duration;

use crate::client::{NacosClient, Shared};
use crate::error::{Error, Result};
use crate::heartbeat::BeatKey;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::{Instance, InstanceDetail};
use crate::naming::select;
use crate::naming::service::{
    ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServiceName, ServicePage, ServiceSpec,
};
use crate::transport::{Method, Module, Request};
use crate::validate;

const INSTANCE: &str = "/v1/ns/instance";
const INSTANCE_LIST: &str = "/v1/ns/instance/list";
const INSTANCE_BEAT: &str = "/v1/ns/instance/beat";
const SERVICE: &str = "/v1/ns/service";
const SERVICE_LIST: &str = "/v1/ns/service/list";
const METRICS: &str = "/v1/ns/operator/metrics";

/// Checks every field of an instance that is about to be sent.
pub(crate) fn validate_instance(inst: &Instance) -> Result<()> {
    validate::ip(&inst.ip)?;
    validate::port(inst.port)?;
    validate::weight(inst.weight)?;
    validate::cluster(&inst.cluster_name)?;
    validate::heartbeat_metadata(&inst.metadata)
}

/// A naming request addressed to `key` (grouped `serviceName`, `groupName`,
/// `namespaceId`), its parameters in the URL query whatever the method, as
/// the Java client sends them (1.4.8 `NamingProxy.callServer`, 2.4.3
/// `NamingHttpClientProxy.callServer`: `exchangeForm(url, header,
/// Query(params), body, method)` with an empty body but for the beat).
/// Java Nacos can lose a naming POST's form parameters (seen on
/// 1.4.4–1.4.8): its `DistroFilter` wraps the request in a
/// `ReuseHttpServletRequest` whose constructor reads the body stream before
/// asking for the parameters (same code 1.4.3–2.4.3). r-nacos merges query
/// and form (`merge_web_param!`), so the query works on both.
pub(crate) fn naming_request(method: Method, path: &'static str, key: &ServiceKey) -> Request {
    Request::new(method, Module::Naming, path)
        .in_query()
        .param("serviceName", key.grouped_name())
        .param("groupName", key.group.as_str())
        .nonempty_param("namespaceId", &key.namespace)
}

/// A naming request that names the service only by its grouped name (no
/// `groupName`), as the Java client's deregister and beat do.
fn grouped_request(method: Method, path: &'static str, key: &ServiceKey) -> Request {
    Request::new(method, Module::Naming, path)
        .in_query()
        .nonempty_param("namespaceId", &key.namespace)
        .param("serviceName", key.grouped_name())
}

/// A service-level request. The Java client sends the bare `serviceName`
/// with `groupName` (2.4.3 `NamingHttpClientProxy.createService`/
/// `updateService`/`deleteService`/`queryService`; the Java server's
/// `DistroFilter` joins them). r-nacos joins them too when it creates,
/// updates or deletes a service, but its `query_service` ignores
/// `groupName` and splits `serviceName`, so a read sends the grouped name
/// (which the Java server's `DistroFilter` leaves as it is).
pub(crate) fn service_request(method: Method, key: &ServiceKey) -> Request {
    let name = match method {
        Method::Get => key.grouped_name(),
        _ => key.name.clone(),
    };
    Request::new(method, Module::Naming, SERVICE)
        .in_query()
        .nonempty_param("namespaceId", &key.namespace)
        .param("serviceName", name)
        .param("groupName", key.group.as_str())
}

/// The registration of an already validated instance: 2.4.3
/// `NamingHttpClientProxy.registerService` (1.4.8 `NamingProxy.registerService`),
/// plus `enabled` beside Java's `enable`: r-nacos reads only `enabled`, the
/// Java server either (`enabled` first).
pub(crate) fn register_request(key: &ServiceKey, inst: &Instance) -> Request {
    naming_request(Method::Post, INSTANCE, key)
        .param("clusterName", inst.cluster_name.as_str())
        .param("ip", inst.ip.as_str())
        .param("port", inst.port.to_string())
        .param("weight", inst.weight.to_string())
        .param("enable", inst.enabled.to_string())
        .param("enabled", inst.enabled.to_string())
        .param("healthy", inst.healthy.to_string())
        .param("ephemeral", inst.ephemeral.to_string())
        .param("metadata", metadata_json(inst))
}

/// The removal of an instance (found by ip, port, cluster and
/// ephemerality): 2.4.3 `NamingHttpClientProxy.deregisterService`.
pub(crate) fn deregister_request(key: &ServiceKey, inst: &Instance) -> Request {
    grouped_request(Method::Delete, INSTANCE, key)
        .param("clusterName", inst.cluster_name.as_str())
        .param("ip", inst.ip.as_str())
        .param("port", inst.port.to_string())
        .param("ephemeral", inst.ephemeral.to_string())
}

/// A change of weight, enabled flag and metadata: 2.4.3
/// `NamingHttpClientProxy.updateInstance` (bare `serviceName` with
/// `groupName`, no `healthy`: health is the server's to judge).
pub(crate) fn update_request(key: &ServiceKey, inst: &Instance) -> Request {
    Request::new(Method::Put, Module::Naming, INSTANCE)
        .in_query()
        .nonempty_param("namespaceId", &key.namespace)
        .param("serviceName", key.name.as_str())
        .param("groupName", key.group.as_str())
        .param("clusterName", inst.cluster_name.as_str())
        .param("ip", inst.ip.as_str())
        .param("port", inst.port.to_string())
        .param("weight", inst.weight.to_string())
        .param("enabled", inst.enabled.to_string())
        .param("ephemeral", inst.ephemeral.to_string())
        .param("metadata", metadata_json(inst))
}

/// One beat: 1.4.8 `NamingProxy.sendBeat` puts the address in the query
/// and the beat JSON in the form body (`bodyMap`); a light beat leaves the
/// body empty.
pub(crate) fn beat_request(key: &ServiceKey, beat: &BeatInfo, light: bool) -> Result<Request> {
    let mut req = grouped_request(Method::Put, INSTANCE_BEAT, key)
        .param("clusterName", beat.cluster.as_str())
        .param("ip", beat.ip.as_str())
        .param("port", beat.port.to_string());
    if !light {
        let json = serde_json::to_string(beat).map_err(|e| Error::decode("beat", e, ""))?;
        req = req.form_param("beat", json);
    }
    Ok(req)
}

/// `GET /instance`: the Java server's `InstanceController.detail` (1.4.8,
/// 2.4.3) reads `serviceName`, `clusterName`, `ip`, `port`, `namespaceId`.
pub(crate) fn detail_request(key: &ServiceKey, ip: &str, port: u16, cluster: &str) -> Request {
    grouped_request(Method::Get, INSTANCE, key)
        .param("clusterName", cluster)
        .param("ip", ip)
        .param("port", port.to_string())
}

fn metadata_json(inst: &Instance) -> String {
    serde_json::to_string(&inst.metadata).unwrap_or_else(|_| "{}".into())
}

/// One instance: `GET /instance` for what it says, `instance/list` for
/// what it does not.
///
/// Java Nacos's detail answer (1.4.8 and 2.4.3
/// `InstanceController.detail`) carries `ip`, `port`, `clusterName`,
/// `weight`, `healthy` (raw, never lifted by the protect threshold),
/// `instanceId` and `metadata` — not `enabled` or `ephemeral`. Rather than
/// invent them, they are taken from the detail answer when it has them
/// (r-nacos's does), else from the instance in `instance/list`
/// (`healthyOnly=false`). Both servers leave disabled instances out of the
/// list (1.4.8 `InstanceController.doSrvIpxt`: "remove disabled instance"),
/// so an instance the detail knows but the list lacks is reported
/// `enabled: false`; its `ephemeral` is then unknown and reported as the
/// Nacos default, `true`.
pub(crate) fn get_instance(
    shared: &Shared,
    key: &ServiceKey,
    ip: &str,
    port: u16,
    cluster: &str,
) -> Result<Instance> {
    let resp = shared.send(&detail_request(key, ip, port, cluster))?;
    let detail: InstanceDetail =
        serde_json::from_str(&resp.body).map_err(|e| Error::decode("instance", e, &resp.body))?;
    let listed = if detail.enabled.is_some() && detail.ephemeral.is_some() {
        None
    } else {
        let info = query_instances(shared, key, &[cluster], false)?;
        info.hosts
            .into_iter()
            .find(|h| h.ip == ip && h.port == port && h.cluster_name == cluster)
    };
    Ok(detail.into_instance(ip, port, cluster, listed.as_ref()))
}

/// `instance/list` from the server, filtered client-side too.
pub(crate) fn query_instances(
    shared: &Shared,
    key: &ServiceKey,
    clusters: &[&str],
    healthy_only: bool,
) -> Result<ServiceInfo> {
    // 1.4.8 `NamingProxy.queryList` (no `udpPort`/`clientIP`: no UDP push).
    let req = grouped_request(Method::Get, INSTANCE_LIST, key)
        .nonempty_param("clusters", &clusters.join(","))
        .param("healthyOnly", healthy_only.to_string());
    let resp = shared.send(&req)?;
    let info: ServiceInfo = serde_json::from_str(&resp.body)
        .map_err(|e| Error::decode("instance list", e, &resp.body))?;
    Ok(filter_hosts(info.normalize(key), clusters, healthy_only))
}

/// Keeps the hosts in `clusters` (empty: all), and only healthy ones if asked.
fn filter_hosts(mut info: ServiceInfo, clusters: &[&str], healthy_only: bool) -> ServiceInfo {
    if !clusters.is_empty() {
        info.hosts
            .retain(|h| clusters.contains(&h.cluster_name.as_str()));
    }
    if healthy_only {
        info.hosts.retain(|h| h.healthy);
    }
    info
}

impl NacosClient {
    /// Resolves a service against the client's defaults and validates it.
    pub(crate) fn resolve(&self, service: impl Into<ServiceName>) -> Result<ServiceKey> {
        let service = service.into();
        let config = &self.shared().config;
        let key = ServiceKey {
            namespace: service
                .namespace
                .unwrap_or_else(|| config.namespace.clone()),
            group: service.group.unwrap_or_else(|| config.group.clone()),
            name: service.name,
        };
        validate::name("service_name", &key.name)?;
        validate::name("group", &key.group)?;
        validate::namespace(&key.namespace)?;
        Ok(key)
    }

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
        let key = self.resolve(service)?;
        validate_instance(instance)?;
        self.send(&register_request(&key, instance))?;
        let shared = self.shared();
        if instance.ephemeral && shared.config.auto_heartbeat {
            shared
                .heartbeats
                .add(shared, self.workers(), &key, instance)?;
        } else {
            // Re-registered as persistent: no more beats.
            shared
                .heartbeats
                .remove(&BeatKey::new(&key, instance), Duration::ZERO);
        }
        Ok(())
    }

    /// Removes an instance (found by ip, port, cluster and ephemerality).
    ///
    /// Its heartbeats stop first (a beat already on the wire is waited
    /// for), so no beat can bring it back after the removal.
    ///
    /// Python v1: `remove_naming_instance`.
    pub fn deregister_instance(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<()> {
        let key = self.resolve(service)?;
        validate::ip(&instance.ip)?;
        validate::port(instance.port)?;
        validate::cluster(&instance.cluster_name)?;
        let shared = self.shared();
        let in_flight = shared.config.timeout + Duration::from_secs(1);
        shared
            .heartbeats
            .remove(&BeatKey::new(&key, instance), in_flight);
        self.send(&deregister_request(&key, instance)).map(drop)
    }

    /// Changes an instance's weight, enabled flag and metadata.
    ///
    /// Python v1: `modify_naming_instance`.
    pub fn update_instance(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<()> {
        let key = self.resolve(service)?;
        validate_instance(instance)?;
        self.send(&update_request(&key, instance)).map(drop)
    }

    /// One instance, with its raw health.
    ///
    /// The server's detail answer (`GET /instance`) says neither `enabled`
    /// nor `ephemeral` on Java Nacos, so they come from the instance list
    /// (see `get_instance` in this module for the rules).
    ///
    /// Python v1: `get_naming_instance`.
    pub fn get_instance(
        &self,
        service: impl Into<ServiceName>,
        ip: &str,
        port: u16,
        cluster: Option<&str>,
    ) -> Result<Instance> {
        let key = self.resolve(service)?;
        validate::ip(ip)?;
        validate::port(port)?;
        let cluster = cluster.unwrap_or(crate::naming::instance::DEFAULT_CLUSTER);
        validate::cluster(cluster)?;
        get_instance(self.shared(), &key, ip, port, cluster)
    }

    /// A service's instances, straight from the server.
    ///
    /// `clusters` (empty: all) is also applied here, since some servers
    /// ignore it; `healthy_only` is always sent explicitly.
    ///
    /// Python v1: `list_naming_instance`.
    pub fn list_instances(
        &self,
        service: impl Into<ServiceName>,
        clusters: &[&str],
        healthy_only: bool,
    ) -> Result<ServiceInfo> {
        let key = self.resolve(service)?;
        validate::clusters(clusters)?;
        self.fetch_instances(&key, clusters, healthy_only)
    }

    /// `instance/list` for an already validated key: from the subscription
    /// cache when the service is subscribed, else from the server, else
    /// (no server answering) from the lists loaded at start.
    pub(crate) fn fetch_instances(
        &self,
        key: &ServiceKey,
        clusters: &[&str],
        healthy_only: bool,
    ) -> Result<ServiceInfo> {
        let subs = &self.shared().subscriptions;
        if let Some(info) = subs.cached(key, clusters) {
            return Ok(filter_hosts(info, clusters, healthy_only));
        }
        match query_instances(self.shared(), key, clusters, healthy_only) {
            Err(e) if e.is_unavailable() => match subs.disk_copy(key, clusters) {
                Some(info) => {
                    log::debug!("nacos: no server answers; {key} from the disk cache");
                    Ok(filter_hosts(info, clusters, healthy_only))
                }
                None => Err(e),
            },
            other => other,
        }
    }

    /// Sends one heartbeat for an instance and returns the server's advice.
    ///
    /// Python v1: `send_heartbeat`. Registered ephemeral instances are
    /// beaten automatically; this is for callers who beat by hand.
    pub fn send_heartbeat(
        &self,
        service: impl Into<ServiceName>,
        instance: &Instance,
    ) -> Result<BeatResult> {
        let key = self.resolve(service)?;
        validate_instance(instance)?;
        self.beat(&key, &BeatInfo::new(&key, instance), false)
    }

    /// Sends one beat; a light beat leaves the instance's details out.
    pub(crate) fn beat(
        &self,
        key: &ServiceKey,
        beat: &BeatInfo,
        light: bool,
    ) -> Result<BeatResult> {
        let resp = self.send(&beat_request(key, beat, light)?)?;
        BeatResult::parse(&resp.body)
    }

    /// A service's settings.
    pub fn get_service(&self, service: impl Into<ServiceName>) -> Result<ServiceDetail> {
        let key = self.resolve(service)?;
        let resp = self.send(&service_request(Method::Get, &key))?;
        let mut detail: ServiceDetail = serde_json::from_str(&resp.body)
            .map_err(|e| Error::decode("service", e, &resp.body))?;
        let (group, name) = crate::naming::service::split_grouped(&detail.name);
        let (group, name) = (group.map(str::to_string), name.to_string());
        detail.name = if name.is_empty() { key.name } else { name };
        if detail.group_name.is_empty() {
            detail.group_name = group.unwrap_or(key.group);
        }
        Ok(detail)
    }

    /// Creates a service.
    pub fn create_service(
        &self,
        service: impl Into<ServiceName>,
        spec: &ServiceSpec,
    ) -> Result<()> {
        self.write_service(Method::Post, service.into(), spec)
    }

    /// Updates a service's settings.
    pub fn update_service(
        &self,
        service: impl Into<ServiceName>,
        spec: &ServiceSpec,
    ) -> Result<()> {
        self.write_service(Method::Put, service.into(), spec)
    }

    fn write_service(
        &self,
        method: Method,
        service: ServiceName,
        spec: &ServiceSpec,
    ) -> Result<()> {
        let key = self.resolve(service)?;
        let t = spec.protect_threshold;
        if !(0.0..=1.0).contains(&t) {
            return Err(Error::invalid(
                "protect_threshold",
                format!("{t} is not in 0..=1"),
            ));
        }
        let metadata = serde_json::to_string(&spec.metadata).unwrap_or_else(|_| "{}".into());
        let req = service_request(method, &key)
            .param("protectThreshold", t.to_string())
            .param("metadata", metadata)
            .opt_param("selector", spec.selector.as_deref());
        self.send(&req).map(drop)
    }

    /// Deletes a service (the server refuses while it has instances).
    pub fn delete_service(&self, service: impl Into<ServiceName>) -> Result<()> {
        let key = self.resolve(service)?;
        self.send(&service_request(Method::Delete, &key)).map(drop)
    }

    /// One page of service names, and how many there are in all.
    pub fn list_services(&self, page: &ServicePage) -> Result<ServiceList> {
        if page.page_no == 0 || page.page_size == 0 {
            return Err(Error::invalid("page", "page_no and page_size start at 1"));
        }
        let config = &self.shared().config;
        let group = page.group.as_deref().unwrap_or(&config.group);
        let namespace = page.namespace.as_deref().unwrap_or(&config.namespace);
        validate::name("group", group)?;
        validate::namespace(namespace)?;
        let req = Request::new(Method::Get, Module::Naming, SERVICE_LIST)
            .param("pageNo", page.page_no.to_string())
            .param("pageSize", page.page_size.to_string())
            .param("groupName", group)
            .nonempty_param("namespaceId", namespace);
        let resp = self.send(&req)?;
        let mut list: ServiceList = serde_json::from_str(&resp.body)
            .map_err(|e| Error::decode("service list", e, &resp.body))?;
        for n in &mut list.names {
            if let (Some(_), bare) = crate::naming::service::split_grouped(n) {
                *n = bare.to_string();
            }
        }
        Ok(list)
    }

    /// The server's own status (`UP` when it serves), from `operator/metrics`.
    pub fn server_status(&self) -> Result<String> {
        let resp = self.send(&Request::new(Method::Get, Module::Naming, METRICS))?;
        let v: serde_json::Value = serde_json::from_str(&resp.body)
            .map_err(|e| Error::decode("server metrics", e, &resp.body))?;
        v.get("status")
            .and_then(|s| s.as_str())
            .map(str::to_string)
            .ok_or_else(|| Error::decode("server metrics", "no `status` field", &resp.body))
    }

    /// `true` when a server answers and says it is `UP`.
    pub fn server_healthy(&self) -> bool {
        matches!(self.server_status().as_deref(), Ok("UP"))
    }

    /// Instances whose health equals `healthy`, enabled and with weight > 0.
    pub fn select_instances(
        &self,
        service: impl Into<ServiceName>,
        clusters: &[&str],
        healthy: bool,
    ) -> Result<Vec<Instance>> {
        let info = self.list_instances(service, clusters, false)?;
        Ok(info
            .hosts
            .into_iter()
            .filter(|h| h.healthy == healthy && h.enabled && h.weight > 0.0)
            .collect())
    }

    /// One healthy, enabled instance, picked at random by weight.
    ///
    /// Fails with [`Error::NoInstanceAvailable`] when there is none.
    pub fn select_one_healthy_instance(
        &self,
        service: impl Into<ServiceName>,
        clusters: &[&str],
    ) -> Result<Instance> {
        let key = self.resolve(service)?;
        validate::clusters(clusters)?;
        let info = self.fetch_instances(&key, clusters, false)?;
        select::weighted_random(&info.hosts)
            .cloned()
            .ok_or_else(|| Error::NoInstanceAvailable {
                service: key.to_string(),
            })
    }

    /// `(host, port)` of every healthy, enabled instance with weight > 0:
    /// the shape generic service-discovery interfaces expect.
    pub fn discover(&self, service: impl Into<ServiceName>) -> Result<Vec<(String, u16)>> {
        Ok(self
            .select_instances(service, &[], true)?
            .into_iter()
            .map(|h| (h.ip, h.port))
            .collect())
    }
}
