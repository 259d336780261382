//! The naming calls in the v3 API (Nacos 3.x, batata): the client open
//! API `/nacos/v3/client/ns/instance` for instances (Java 3.x
//! `naming/.../controllers/v3/InstanceOpenApiController`), the admin API
//! `/nacos/v3/admin/ns/...` for what the client API lacks
//! (`InstanceControllerV3`, `ServiceControllerV3`). Parameters are the
//! fields of Java's `InstanceForm`/`ServiceForm`, read by Spring from the
//! query or a form body; answers are envelopes (see `transport/envelope.rs`).
//!
//! Where batata differs from Java (its list wraps the hosts in a service
//! object; its heartbeat re-creates an unknown instance instead of
//! answering `21003`), both are accepted.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::naming::beat::{BeatInfo, BeatResult, BEAT_NOT_FOUND};
use crate::naming::instance::{metadata_json, Instance, InstanceDetail};
use crate::naming::service::{
    Listing, ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServiceSpec, Target,
};
use crate::naming::wire::Wire;
use crate::serde_util::{null_default, string_map};
use crate::settings::DEFAULT_GROUP;
use crate::transport::envelope::{self, INSTANCE_NOT_FOUND};
use crate::transport::{Method, Module, Request};

const INSTANCE: &str = "/v3/client/ns/instance";
const INSTANCE_LIST: &str = "/v3/client/ns/instance/list";
const ADMIN_INSTANCE: &str = "/v3/admin/ns/instance";
const ADMIN_SERVICE: &str = "/v3/admin/ns/service";
const ADMIN_SERVICE_LIST: &str = "/v3/admin/ns/service/list";
const STATE: &str = "/v3/admin/core/state";

/// A request naming the service as Java's forms do: `namespaceId`
/// (left out for the public namespace: the server's default, `public`),
/// `groupName` and the bare `serviceName`.
fn service_request(method: Method, path: &'static str, key: &ServiceKey) -> Request {
    Request::new(method, Module::Naming, path)
        .nonempty_param("namespaceId", &key.namespace)
        .param("groupName", key.group.as_str())
        .param("serviceName", key.name.as_str())
}

/// A heartbeat: the registration call with `heartBeat=true`. Java reads
/// only the address from it; the whole instance is sent because batata
/// takes every beat as a registration, resetting whatever is left out
/// (weight, metadata, enabled) to its default.
fn beat_request(key: &ServiceKey, beat: &BeatInfo<'_>) -> Request {
    service_request(Method::Post, INSTANCE, key)
        .param("ip", beat.ip)
        .param("port", beat.port)
        .param("clusterName", beat.cluster)
        .param("weight", beat.weight)
        .param("enabled", beat.enabled)
        .param("ephemeral", "true")
        .param("metadata", metadata_json(beat.metadata))
        .param("heartBeat", "true")
}

/// The `data` of a v3 `instance/list` success: Java's bare list of
/// instances, or batata's service object with `hosts`, told apart by the
/// first token without buffering the answer (as `#[serde(untagged)]`
/// would).
enum V3List {
    Bare(Vec<Instance>),
    Wrapped(ServiceInfo),
}

impl<'de> Deserialize<'de> for V3List {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = V3List;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of instances or a service with `hosts`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<V3List, A::Error> {
                Vec::<Instance>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(V3List::Bare)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<V3List, A::Error> {
                ServiceInfo::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(V3List::Wrapped)
            }
        }
        d.deserialize_any(Shape)
    }
}

/// The service itself, as `ServiceControllerV3.detail` answers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceData {
    #[serde(default, deserialize_with = "null_default")]
    namespace_id: String,
    #[serde(default, deserialize_with = "null_default")]
    group_name: String,
    #[serde(default, deserialize_with = "null_default")]
    service_name: String,
    #[serde(default, deserialize_with = "null_default")]
    name: String,
    #[serde(default, deserialize_with = "null_default")]
    protect_threshold: f64,
    #[serde(default, deserialize_with = "string_map")]
    metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default, deserialize_with = "null_default")]
    total_count: u64,
    #[serde(default, deserialize_with = "null_default")]
    page_items: Vec<PageItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageItem {
    #[serde(default, deserialize_with = "null_default")]
    name: String,
    #[serde(default, deserialize_with = "null_default")]
    group_name: String,
}

/// A get-instance answer that is no instance: not found.
fn not_found(what: &str) -> Error {
    Error::Api {
        code: envelope::RESOURCE_NOT_FOUND,
        message: format!("{what} not found"),
    }
}

/// A request about one instance of `key`: the service's parameters, then
/// the instance's `ip`, `port` and `clusterName`.
fn instance_request(
    method: Method,
    path: &'static str,
    key: &ServiceKey,
    inst: &Instance,
) -> Request {
    service_request(method, path, key)
        .param("ip", inst.ip.as_str())
        .param("port", inst.port)
        .param("clusterName", inst.cluster_name.as_str())
}

/// The v3 API's naming calls (see [`Wire`]).
pub(crate) struct V3;

impl Wire for V3 {
    /// Registration (`heartBeat=false`) in a form body: every field of Java's
    /// `InstanceForm`.
    fn register(&self, key: &ServiceKey, inst: &Instance) -> Request {
        instance_request(Method::Post, INSTANCE, key, inst)
            .param("weight", inst.weight)
            .param("healthy", inst.healthy)
            .param("enabled", inst.enabled)
            .param("ephemeral", inst.ephemeral)
            .param("metadata", metadata_json(&inst.metadata))
            .param("heartBeat", "false")
    }

    /// Removal (query parameters: Java's `DELETE` reads the same form).
    fn deregister(&self, key: &ServiceKey, inst: &Instance) -> Request {
        instance_request(Method::Delete, INSTANCE, key, inst).param("ephemeral", inst.ephemeral)
    }

    /// An update through the admin API (`InstanceControllerV3.update`), which
    /// replaces weight, enabled and metadata: all three are sent.
    fn update(&self, key: &ServiceKey, inst: &Instance) -> Request {
        instance_request(Method::Put, ADMIN_INSTANCE, key, inst)
            .param("weight", inst.weight)
            .param("enabled", inst.enabled)
            .param("ephemeral", inst.ephemeral)
            .param("metadata", metadata_json(&inst.metadata))
    }

    fn written(&self, body: &str) -> Result<()> {
        envelope::done("answer", body)
    }

    /// One instance from the admin API (404 + `20004` when absent).
    fn detail(&self, key: &ServiceKey, ip: &str, port: u16, cluster: &str) -> Request {
        service_request(Method::Get, ADMIN_INSTANCE, key)
            .param("ip", ip)
            .param("port", port)
            .param("clusterName", cluster)
            .answers(&[404])
    }

    fn decode_detail(&self, body: &str) -> Result<InstanceDetail> {
        match envelope::open::<InstanceDetail>("instance", body)? {
            Ok(Some(detail)) => Ok(detail),
            Ok(None) => Err(not_found("instance")),
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// The instance list. Java's `InstanceListForm` takes the clusters as a
    /// comma-separated `clusterName` and ignores `healthyOnly`; batata reads
    /// `clusters` and honours it. Both spellings are sent, `healthyOnly=false`,
    /// and the client filters by health itself.
    fn list(&self, target: &Target) -> Request {
        let clusters = target.clusters_param();
        service_request(Method::Get, INSTANCE_LIST, &target.service)
            .nonempty_param("clusterName", &clusters)
            .nonempty_param("clusters", &clusters)
            .param("healthyOnly", "false")
    }

    /// Decodes a list answer into the v1 model. Disabled instances are left
    /// out, as Java's v3 list and every v1 server do (batata lists them).
    fn decode_list(&self, target: &Target, body: &str) -> Result<ServiceInfo> {
        let data = envelope::data::<V3List>("instance list", body)?;
        let mut info = match data {
            V3List::Wrapped(info) => info,
            V3List::Bare(hosts) => ServiceInfo {
                name: target.service.name.clone(),
                group_name: target.service.group.clone(),
                clusters: target.clusters.clone(),
                hosts,
                ..ServiceInfo::default()
            },
        };
        info.hosts.retain(|h| h.enabled);
        Ok(info)
    }

    fn stamp_depth(&self) -> usize {
        2
    }

    fn beat(&self, key: &ServiceKey, beat: &BeatInfo<'_>, _light: bool) -> Result<Request> {
        // v3 has no light beat.
        Ok(beat_request(key, beat))
    }

    /// A beat's answer: success, or `21003` when the server does not know the
    /// instance (reported as v1's `20404`, so it is registered again). v3
    /// advises no interval.
    fn decode_beat(&self, body: &str) -> Result<BeatResult> {
        match envelope::open::<serde::de::IgnoredAny>("beat answer", body)? {
            Ok(_) => Ok(BeatResult::default()),
            Err(r) if r.code == INSTANCE_NOT_FOUND => Ok(BeatResult {
                code: Some(BEAT_NOT_FOUND),
                ..BeatResult::default()
            }),
            Err(r) => Err(r.into()),
        }
    }

    fn service_get(&self, key: &ServiceKey) -> Request {
        service_request(Method::Get, ADMIN_SERVICE, key)
    }

    fn decode_service(&self, key: &ServiceKey, body: &str) -> Result<ServiceDetail> {
        let data = envelope::data::<ServiceData>("service", body)?;
        let name = [&data.service_name, &data.name]
            .into_iter()
            .find(|n| !n.is_empty())
            .map_or("", |n| n.as_str());
        let (group_name, name) = key.fill(&data.group_name, name);
        Ok(ServiceDetail {
            namespace_id: data.namespace_id,
            group_name,
            name,
            protect_threshold: data.protect_threshold,
            metadata: data.metadata,
        })
    }

    /// Creates (`Post`) or updates (`Put`) a service (`ServiceForm`; the
    /// selector as the JSON `{"type":…,"expression":…}` Java reads).
    fn service_write(&self, method: Method, key: &ServiceKey, spec: &ServiceSpec) -> Request {
        service_request(method, ADMIN_SERVICE, key)
            .param("protectThreshold", spec.protect_threshold.to_string())
            .param("metadata", metadata_json(&spec.metadata))
            .opt_param("selector", spec.selector.as_deref())
    }

    fn service_delete(&self, key: &ServiceKey) -> Request {
        service_request(Method::Delete, ADMIN_SERVICE, key)
    }

    /// One page of services (`ServiceControllerV3.list`: the group filter is
    /// `groupNameParam`; batata reads it too, and refuses a `groupName` beside
    /// it as a duplicate). Without a group (`None`) Java lists every group
    /// (`CatalogServiceV2Impl#patternServices`: no filter when both params are
    /// blank); batata (`f896fd1`, `api/v3/admin/service.rs`
    /// `group_name_or_default`) lists `DEFAULT_GROUP`. Services without
    /// instances are listed, as v1 lists them (`ignoreEmptyService` defaults
    /// to true in Java).
    fn service_list(&self, of: Listing<'_>, page_no: u32, page_size: u32) -> Request {
        Request::new(Method::Get, Module::Naming, ADMIN_SERVICE_LIST)
            .nonempty_param("namespaceId", of.namespace)
            .opt_param("groupNameParam", of.group)
            .param("ignoreEmptyService", "false")
            .param("pageNo", page_no)
            .param("pageSize", page_size)
    }

    /// A page of services, each with its group (the one asked for where an
    /// item leaves it out).
    fn decode_service_list(&self, of: Listing<'_>, body: &str) -> Result<ServiceList> {
        let page = envelope::data::<Page>("service list", body)?;
        let fallback = of.group.unwrap_or(DEFAULT_GROUP);
        let services = page
            .page_items
            .iter()
            .map(|i| ServiceKey::listed(of.namespace, &i.group_name, &i.name, fallback))
            .collect();
        Ok(ServiceList {
            count: page.total_count,
            services,
        })
    }

    fn status(&self) -> Request {
        Request::new(Method::Get, Module::Naming, STATE)
    }

    /// The server state answers only while the server serves: `UP`.
    fn decode_status(&self, body: &str) -> Result<String> {
        envelope::done("server state", body)?;
        Ok("UP".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            service: ServiceKey {
                namespace: String::new(),
                group: "G".into(),
                name: "s".into(),
            },
            clusters: Vec::new(),
        }
    }

    #[test]
    fn lists_decode_from_java_and_batata_shapes() {
        let java = r#"{"code":0,"message":"success","data":[
            {"ip":"1.1.1.1","port":80,"weight":2.0,"healthy":true,"enabled":true,
             "ephemeral":true,"clusterName":"DEFAULT","serviceName":"G@@s","metadata":{"k":"v"}}]}"#;
        let info = V3.decode_list(&target(), java).unwrap();
        assert_eq!(info.hosts.len(), 1);
        assert_eq!((info.name.as_str(), info.group_name.as_str()), ("s", "G"));
        assert_eq!(info.hosts[0].metadata["k"], "v");
        let batata = r#"{"code":0,"message":"success","data":{"name":"s","groupName":"G",
            "hosts":[{"ip":"1.1.1.1","port":80}],"cacheMillis":10000,"lastRefTime":5,"checksum":"c"}}"#;
        let info = V3.decode_list(&target(), batata).unwrap();
        assert_eq!((info.hosts.len(), info.checksum.as_str()), (1, "c"));
        let refused = r#"{"code":21008,"message":"service not found","data":null}"#;
        assert_eq!(
            V3.decode_list(&target(), refused).unwrap_err().api_code(),
            Some(21008)
        );
        assert!(V3
            .decode_list(&target(), r#"{"code":0,"data":{}}"#)
            .is_err());
    }

    #[test]
    fn beats_read_21003_as_register_again() {
        let lost = V3.decode_beat(r#"{"code":21003,"message":"instance not found","data":null}"#);
        assert!(lost.unwrap().instance_not_found());
        let ok = V3
            .decode_beat(r#"{"code":0,"message":"success","data":"ok"}"#)
            .unwrap();
        assert!(!ok.instance_not_found() && ok.interval().is_none());
        assert!(V3
            .decode_beat(r#"{"code":30000,"message":"boom"}"#)
            .is_err());
    }

    #[test]
    fn service_pages_say_each_service_group() {
        let body = r#"{"code":0,"data":{"totalCount":3,"pageItems":[
            {"name":"a","groupName":"G"},{"name":"b","groupName":"OTHER"},{"name":"c"}]}}"#;
        let list = V3
            .decode_service_list(
                Listing {
                    namespace: "ns",
                    group: Some("G"),
                },
                body,
            )
            .unwrap();
        let want = [
            ServiceKey::new("ns", "G", "a"),
            ServiceKey::new("ns", "OTHER", "b"),
            ServiceKey::new("ns", "G", "c"),
        ];
        assert_eq!((list.count, list.services), (3, want.to_vec()));
    }
}
