//! The naming calls: instances, services, server status. Each is a free
//! function over the [`Context`], validated input in, decoded answer out,
//! written for each server in the API it speaks: the request shapes and
//! answer formats live in `v1.rs` and `v3.rs`, one per API.

use std::time::Duration;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::metrics::Operation;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::{Instance, DEFAULT_CLUSTER};
use crate::naming::service::{
    Listing, ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServicePage, ServiceSpec, Target,
};
use crate::naming::wire::wire;
use crate::transport::dialect::Dialect;
use crate::transport::{Method, Response, Timing};
use crate::validate;

/// Checks every field of an instance that is about to be sent.
pub(crate) fn validate_instance(inst: &Instance) -> Result<()> {
    validate::ip(&inst.ip)?;
    validate::port(inst.port)?;
    validate::weight(inst.weight)?;
    validate::cluster(&inst.cluster_name)?;
    validate::heartbeat_metadata(&inst.metadata)
}

/// Checks what identifies an instance (enough to deregister it).
pub(crate) fn validate_identity(inst: &Instance) -> Result<()> {
    validate::ip(&inst.ip)?;
    validate::port(inst.port)?;
    validate::cluster(&inst.cluster_name)
}

pub(crate) fn register(ctx: &Context, key: &ServiceKey, inst: &Instance) -> Result<()> {
    register_timed(ctx, key, inst, Timing::default())
}

/// Registers within what is `left` of the caller's deadline.
pub(crate) fn register_within(
    ctx: &Context,
    key: &ServiceKey,
    inst: &Instance,
    left: Duration,
) -> Result<()> {
    register_timed(ctx, key, inst, Timing::within(left))
}

fn register_timed(ctx: &Context, key: &ServiceKey, inst: &Instance, timing: Timing) -> Result<()> {
    ctx.send_timed(Operation::Register, timing, &|d| {
        Ok(wire(d).register(key, inst))
    })
    .and_then(|r| written(&r))
}

/// A write's answer: v1 answers `ok` (any 2xx will do, as before), v3 an
/// envelope whose code must be 0.
fn written(resp: &Response) -> Result<()> {
    wire(resp.dialect).written(&resp.body)
}

/// Deregisters within what is `left` of the caller's deadline.
pub(crate) fn deregister_within(
    ctx: &Context,
    key: &ServiceKey,
    inst: &Instance,
    left: Duration,
) -> Result<()> {
    ctx.send_timed(Operation::Deregister, Timing::within(left), &|d| {
        Ok(wire(d).deregister(key, inst))
    })
    .and_then(|r| written(&r))
}

pub(crate) fn update(ctx: &Context, key: &ServiceKey, inst: &Instance) -> Result<()> {
    ctx.send(
        Operation::UpdateInstance,
        &|d| Ok(wire(d).update(key, inst)),
    )
    .and_then(|r| written(&r))
}

/// One instance: `GET /instance` for what it says, `instance/list` for
/// what it does not. The cluster is the one the target names (at most
/// one), else the default cluster.
///
/// Java Nacos's v1 detail answer (1.4.8 and 2.4.3
/// `InstanceController.detail`) carries `ip`, `port`, `clusterName`,
/// `weight`, `healthy` (raw, never lifted by the protect threshold),
/// `instanceId` and `metadata` — not `enabled` or `ephemeral`. Rather than
/// invent them, they are taken from the detail answer when it has them
/// (r-nacos's and every v3 server's do), else from the instance in
/// `instance/list` (`healthyOnly=false`). Both servers leave disabled
/// instances out of the list (1.4.8 `InstanceController.doSrvIpxt`:
/// "remove disabled instance"), so an instance the detail knows but the
/// list lacks is reported `enabled: false`; its `ephemeral` is then unknown
/// and reported as the Nacos default, `true`.
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
    let key = &target.service;
    let resp = ctx.send(Operation::GetInstance, &|d| {
        Ok(wire(d).detail(key, ip, port, cluster))
    })?;
    let detail = wire(resp.dialect).decode_detail(&resp.body)?;
    if !detail.names_an_instance() {
        return Err(Error::decode(
            "instance",
            "the answer names no instance (no ip and port)",
            &resp.body,
        ));
    }
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

/// An answer as a server sent it (an instance list, to be decoded by
/// [`decode_list`]; a page of service names).
#[derive(Debug)]
pub(crate) struct RawList {
    pub(crate) dialect: Dialect,
    pub(crate) body: String,
}

impl RawList {
    /// How deep in the answer the per-answer stamps (`lastRefTime`,
    /// `checksum`) sit: in the top-level object of a v1 answer, in the
    /// envelope's `data` object of a v3 one (batata's; Java's v3 list is a
    /// bare array without stamps).
    pub(crate) fn stamp_depth(&self) -> usize {
        wire(self.dialect).stamp_depth()
    }
}

/// The raw list answer for `target` (every instance, healthy or not),
/// counted as `op` (a caller's list or a subscription's poll).
pub(crate) fn fetch_instance_list(
    ctx: &Context,
    op: Operation,
    target: &Target,
) -> Result<RawList> {
    let resp = ctx.send(op, &|d| Ok(wire(d).list(target)))?;
    Ok(RawList {
        dialect: resp.dialect,
        body: resp.body,
    })
}

/// Decodes a list answer of either API. It must have the shape of one: an
/// object with a `hosts` list (or v3's bare list) whose every host has an
/// ip and a port.
pub(crate) fn decode_list(target: &Target, raw: &RawList) -> Result<ServiceInfo> {
    let info = wire(raw.dialect).decode_list(target, &raw.body)?;
    checked(target, info, &raw.body)
}

/// A decoded list whose every host has an ip and a port, normalized to
/// `target` and filtered to its clusters (some servers ignore the filter).
fn checked(target: &Target, info: ServiceInfo, body: &str) -> Result<ServiceInfo> {
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
    let raw = fetch_instance_list(ctx, Operation::ListInstances, target)?;
    decode_list(target, &raw)
}

/// Keeps the hosts in `clusters` (empty: all), and only healthy ones if asked.
pub(crate) fn filter_hosts(
    mut info: ServiceInfo,
    clusters: &[String],
    healthy_only: bool,
) -> ServiceInfo {
    info.hosts.retain(|h| h.in_clusters(clusters));
    if healthy_only {
        info.hosts.retain(|h| h.healthy);
    }
    info
}

/// Sends one beat; a light beat leaves the instance's details out (v1
/// only: v3 has no light beat).
pub(crate) fn beat(
    ctx: &Context,
    key: &ServiceKey,
    beat: &BeatInfo<'_>,
    light: bool,
) -> Result<BeatResult> {
    let resp = ctx.send(Operation::Beat, &|d| wire(d).beat(key, beat, light))?;
    wire(resp.dialect).decode_beat(&resp.body)
}

/// A service's settings.
pub(crate) fn get_service(ctx: &Context, key: &ServiceKey) -> Result<ServiceDetail> {
    let resp = ctx.send(Operation::Services, &|d| Ok(wire(d).service_get(key)))?;
    wire(resp.dialect).decode_service(key, &resp.body)
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
    ctx.send(Operation::Services, &|d| {
        Ok(wire(d).service_write(method, key, spec))
    })
    .and_then(|r| written(&r))
}

pub(crate) fn delete_service(ctx: &Context, key: &ServiceKey) -> Result<()> {
    ctx.send(Operation::Services, &|d| Ok(wire(d).service_delete(key)))
        .and_then(|r| written(&r))
}

/// One page of service names, and how many there are in all.
pub(crate) fn list_services(ctx: &Context, page: &ServicePage) -> Result<ServiceList> {
    if page.page_no == 0 || page.page_size == 0 {
        return Err(Error::invalid("page", "page_no and page_size start at 1"));
    }
    let settings = &ctx.settings;
    let group = page.groups.resolve(&settings.group)?;
    let namespace = page.namespace.as_deref().unwrap_or(&settings.namespace);
    validate::namespace(namespace)?;
    let of = Listing {
        namespace,
        group: group.as_deref(),
    };
    let raw = fetch_service_page(ctx, Operation::Services, of, page.page_no, page.page_size)?;
    decode_service_page(of, &raw).map(|(list, _)| list)
}

/// Page `no` of `size` of the services `of` lists, as the server sent it
/// (checked by the caller), for [`decode_service_page`]; counted as a call
/// of `op`.
pub(crate) fn fetch_service_page(
    ctx: &Context,
    op: Operation,
    of: Listing<'_>,
    no: u32,
    size: u32,
) -> Result<RawList> {
    let resp = ctx.send(op, &|d| Ok(wire(d).service_list(of, no, size)))?;
    Ok(RawList {
        dialect: resp.dialect,
        body: resp.body,
    })
}

/// Decodes a page [`fetch_service_page`] fetched (keeping only the group's
/// services, where one was asked for: a v3 server's group filter matches
/// any group containing it), and says how many items the page held.
pub(crate) fn decode_service_page(of: Listing<'_>, raw: &RawList) -> Result<(ServiceList, usize)> {
    let mut page = wire(raw.dialect).decode_service_list(of, &raw.body)?;
    let items = page.services.len();
    if let Some(group) = of.group {
        page.services.retain(|s| s.group == group);
    }
    Ok((page, items))
}

/// The server's own status (`UP` when it serves): v1's
/// `operator/metrics`, v3's server state.
pub(crate) fn server_status(ctx: &Context) -> Result<String> {
    let resp = ctx.send(Operation::Server, &|d| Ok(wire(d).status()))?;
    wire(resp.dialect).decode_status(&resp.body)
}
