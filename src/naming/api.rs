//! The naming calls: instances, services, server status. Each is a free
//! function over the [`Context`], validated input in, decoded answer out;
//! every request has the shape the Java client gives it (cited per builder).

use crate::context::Context;
use crate::error::{Error, Result};
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::{Instance, InstanceDetail, DEFAULT_CLUSTER};
use crate::naming::service::{
    split_grouped, ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServicePage, ServiceSpec,
    Target,
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

/// Checks what identifies an instance (enough to deregister it).
pub(crate) fn validate_identity(inst: &Instance) -> Result<()> {
    validate::ip(&inst.ip)?;
    validate::port(inst.port)?;
    validate::cluster(&inst.cluster_name)
}

pub(crate) fn register(ctx: &Context, key: &ServiceKey, inst: &Instance) -> Result<()> {
    ctx.send(&register_request(key, inst)).map(drop)
}

pub(crate) fn deregister(ctx: &Context, key: &ServiceKey, inst: &Instance) -> Result<()> {
    ctx.send(&deregister_request(key, inst)).map(drop)
}

/// Deregisters within what is `left` of the caller's deadline.
pub(crate) fn deregister_within(
    ctx: &Context,
    key: &ServiceKey,
    inst: &Instance,
    left: std::time::Duration,
) -> Result<()> {
    ctx.send(&deregister_request(key, inst).within(left))
        .map(drop)
}

pub(crate) fn update(ctx: &Context, key: &ServiceKey, inst: &Instance) -> Result<()> {
    ctx.send(&update_request(key, inst)).map(drop)
}

/// One instance: `GET /instance` for what it says, `instance/list` for
/// what it does not. The cluster is the one the target names (at most
/// one), else the default cluster.
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
    ctx: &Context,
    target: &Target,
    ip: &str,
    port: u16,
) -> Result<Instance> {
    validate::ip(ip)?;
    validate::port(port)?;
    let cluster = match target.clusters.as_slice() {
        [] => DEFAULT_CLUSTER,
        [one] => one.as_str(),
        _ => {
            return Err(Error::invalid(
                "clusters",
                "name at most one cluster to get an instance",
            ))
        }
    };
    let resp = ctx.send(&detail_request(&target.service, ip, port, cluster))?;
    let detail: InstanceDetail =
        serde_json::from_str(&resp.body).map_err(|e| Error::decode("instance", e, &resp.body))?;
    let listed = if detail.enabled.is_some() && detail.ephemeral.is_some() {
        None
    } else {
        let one_cluster = Target {
            service: target.service.clone(),
            clusters: vec![cluster.to_string()],
        };
        query_instances(ctx, &one_cluster)?
            .hosts
            .into_iter()
            .find(|h| h.ip == ip && h.port == port && h.cluster_name == cluster)
    };
    Ok(detail.into_instance(ip, port, cluster, listed.as_ref()))
}

/// The raw `instance/list` answer for `target` (every instance, healthy or not).
pub(crate) fn fetch_instance_list(ctx: &Context, target: &Target) -> Result<String> {
    // 1.4.8 `NamingProxy.queryList` (no `udpPort`/`clientIP`: no UDP push).
    let req = grouped_request(Method::Get, INSTANCE_LIST, &target.service)
        .nonempty_param("clusters", &target.clusters_param())
        .param("healthyOnly", "false");
    Ok(ctx.send(&req)?.body)
}

/// Decodes an `instance/list` answer. It must have the shape of one: an
/// object with a `hosts` list whose every host has an ip and a port.
pub(crate) fn decode_instance_list(target: &Target, body: &str) -> Result<ServiceInfo> {
    // The list's own parser (what `ServiceInfo`'s `Deserialize` accepts,
    // at about half the instructions: see `naming/service/decode.rs`).
    let info = crate::naming::service::parse_instance_list(body)
        .map_err(|e| Error::decode("instance list", e, body))?;
    if let Some(bad) = info.hosts.iter().find(|h| h.ip.is_empty() || h.port == 0) {
        return Err(Error::decode(
            "instance list",
            format!("a host without ip or port ({}:{})", bad.ip, bad.port),
            body,
        ));
    }
    Ok(filter_hosts(
        info.normalize(&target.service),
        &target.clusters,
        false,
    ))
}

/// Every instance of `target` from the server (the cluster filter applied
/// here too, since some servers ignore it).
pub(crate) fn query_instances(ctx: &Context, target: &Target) -> Result<ServiceInfo> {
    let body = fetch_instance_list(ctx, target)?;
    decode_instance_list(target, &body)
}

/// Keeps the hosts in `clusters` (empty: all), and only healthy ones if asked.
pub(crate) fn filter_hosts(
    mut info: ServiceInfo,
    clusters: &[String],
    healthy_only: bool,
) -> ServiceInfo {
    if !clusters.is_empty() {
        info.hosts.retain(|h| clusters.contains(&h.cluster_name));
    }
    if healthy_only {
        info.hosts.retain(|h| h.healthy);
    }
    info
}

/// Sends one beat; a light beat leaves the instance's details out.
pub(crate) fn beat(
    ctx: &Context,
    key: &ServiceKey,
    beat: &BeatInfo,
    light: bool,
) -> Result<BeatResult> {
    let resp = ctx.send(&beat_request(key, beat, light)?)?;
    BeatResult::parse(&resp.body)
}

/// A service's settings.
pub(crate) fn get_service(ctx: &Context, key: &ServiceKey) -> Result<ServiceDetail> {
    let resp = ctx.send(&service_request(Method::Get, key))?;
    let mut detail: ServiceDetail =
        serde_json::from_str(&resp.body).map_err(|e| Error::decode("service", e, &resp.body))?;
    let (group, name) = split_grouped(&detail.name);
    let (group, name) = (group.map(str::to_string), name.to_string());
    detail.name = if name.is_empty() {
        key.name.clone()
    } else {
        name
    };
    if detail.group_name.is_empty() {
        detail.group_name = group.unwrap_or_else(|| key.group.clone());
    }
    Ok(detail)
}

/// Creates (`Post`) or updates (`Put`) a service.
pub(crate) fn write_service(
    ctx: &Context,
    method: Method,
    key: &ServiceKey,
    spec: &ServiceSpec,
) -> Result<()> {
    let t = spec.protect_threshold;
    if !(0.0..=1.0).contains(&t) {
        return Err(Error::invalid(
            "protect_threshold",
            format!("{t} is not in 0..=1"),
        ));
    }
    let metadata = serde_json::to_string(&spec.metadata).unwrap_or_else(|_| "{}".into());
    let req = service_request(method, key)
        .param("protectThreshold", t.to_string())
        .param("metadata", metadata)
        .opt_param("selector", spec.selector.as_deref());
    ctx.send(&req).map(drop)
}

pub(crate) fn delete_service(ctx: &Context, key: &ServiceKey) -> Result<()> {
    ctx.send(&service_request(Method::Delete, key)).map(drop)
}

/// One page of service names, and how many there are in all.
pub(crate) fn list_services(ctx: &Context, page: &ServicePage) -> Result<ServiceList> {
    if page.page_no == 0 || page.page_size == 0 {
        return Err(Error::invalid("page", "page_no and page_size start at 1"));
    }
    let config = &ctx.config;
    let group = page.group.as_deref().unwrap_or(&config.group);
    let namespace = page.namespace.as_deref().unwrap_or(&config.namespace);
    validate::name("group", group)?;
    validate::namespace(namespace)?;
    let req = Request::new(Method::Get, Module::Naming, SERVICE_LIST)
        .param("pageNo", page.page_no.to_string())
        .param("pageSize", page.page_size.to_string())
        .param("groupName", group)
        .nonempty_param("namespaceId", namespace);
    let resp = ctx.send(&req)?;
    let mut list: ServiceList = serde_json::from_str(&resp.body)
        .map_err(|e| Error::decode("service list", e, &resp.body))?;
    for n in &mut list.names {
        if let (Some(_), bare) = split_grouped(n) {
            *n = bare.to_string();
        }
    }
    Ok(list)
}

/// The server's own status (`UP` when it serves), from `operator/metrics`.
pub(crate) fn server_status(ctx: &Context) -> Result<String> {
    let resp = ctx.send(&Request::new(Method::Get, Module::Naming, METRICS))?;
    let v: serde_json::Value = serde_json::from_str(&resp.body)
        .map_err(|e| Error::decode("server metrics", e, &resp.body))?;
    v.get("status")
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::decode("server metrics", "no `status` field", &resp.body))
}
