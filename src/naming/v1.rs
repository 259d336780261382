//! The naming calls in the v1 OpenAPI (`/nacos/v1/ns/...`): each request
//! has the shape the Java client gives it (cited per builder), and each
//! answer is decoded here.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::namespace::PUBLIC;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::{metadata_json, Instance, InstanceDetail};
use crate::naming::service::{
    Listing, ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServiceSpec, Target,
};
use crate::naming::wire::Wire;
use crate::serde_util::null_default;
use crate::settings::DEFAULT_GROUP;
use crate::transport::{Method, Module, Request};

const INSTANCE: &str = "/v1/ns/instance";
const INSTANCE_LIST: &str = "/v1/ns/instance/list";
const INSTANCE_BEAT: &str = "/v1/ns/instance/beat";
const SERVICE: &str = "/v1/ns/service";
const SERVICE_LIST: &str = "/v1/ns/service/list";
const CATALOG_SERVICES: &str = "/v1/ns/catalog/services";
const METRICS: &str = "/v1/ns/operator/metrics";

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

/// A page of one group's services (Java's `ServiceController#list`:
/// `{"count":…,"doms":[…]}`).
#[derive(Deserialize)]
struct Doms {
    #[serde(default, deserialize_with = "null_default")]
    count: u64,
    #[serde(default, deserialize_with = "null_default")]
    doms: Vec<String>,
}

/// The console catalog's page (Java's `ServiceView` list).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    #[serde(default, deserialize_with = "null_default")]
    count: u64,
    #[serde(deserialize_with = "null_default")]
    service_list: Vec<CatalogItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogItem {
    #[serde(default, deserialize_with = "null_default")]
    name: String,
    #[serde(default, deserialize_with = "null_default")]
    group_name: String,
}

/// `req` naming one instance as Java's v1 client does: `clusterName`,
/// `ip`, `port`.
fn with_instance(req: Request, inst: &Instance) -> Request {
    req.param("clusterName", inst.cluster_name.as_str())
        .param("ip", inst.ip.as_str())
        .param("port", inst.port)
}

/// The v1 OpenAPI's naming calls (see [`Wire`]).
pub(crate) struct V1;

impl Wire for V1 {
    /// The registration of an already validated instance: 2.4.3
    /// `NamingHttpClientProxy.registerService` (1.4.8 `NamingProxy.registerService`),
    /// plus `enabled` beside Java's `enable`: r-nacos reads only `enabled`, the
    /// Java server either (`enabled` first).
    fn register(&self, key: &ServiceKey, inst: &Instance) -> Request {
        with_instance(naming_request(Method::Post, INSTANCE, key), inst)
            .param("weight", inst.weight)
            .param("enable", inst.enabled)
            .param("enabled", inst.enabled)
            .param("healthy", inst.healthy)
            .param("ephemeral", inst.ephemeral)
            .param("metadata", metadata_json(&inst.metadata))
    }

    /// The removal of an instance (found by ip, port, cluster and
    /// ephemerality): 2.4.3 `NamingHttpClientProxy.deregisterService`.
    fn deregister(&self, key: &ServiceKey, inst: &Instance) -> Request {
        with_instance(grouped_request(Method::Delete, INSTANCE, key), inst)
            .param("ephemeral", inst.ephemeral)
    }

    /// A change of weight, enabled flag and metadata: 2.4.3
    /// `NamingHttpClientProxy.updateInstance` (bare `serviceName` with
    /// `groupName`, no `healthy`: health is the server's to judge).
    fn update(&self, key: &ServiceKey, inst: &Instance) -> Request {
        let service = Request::new(Method::Put, Module::Naming, INSTANCE)
            .in_query()
            .nonempty_param("namespaceId", &key.namespace)
            .param("serviceName", key.name.as_str())
            .param("groupName", key.group.as_str());
        with_instance(service, inst)
            .param("weight", inst.weight)
            .param("enabled", inst.enabled)
            .param("ephemeral", inst.ephemeral)
            .param("metadata", metadata_json(&inst.metadata))
    }

    fn written(&self, _body: &str) -> Result<()> {
        Ok(())
    }

    /// `GET /instance`: the Java server's `InstanceController.detail` (1.4.8,
    /// 2.4.3) reads `serviceName`, `clusterName`, `ip`, `port`, `namespaceId`.
    fn detail(&self, key: &ServiceKey, ip: &str, port: u16, cluster: &str) -> Request {
        grouped_request(Method::Get, INSTANCE, key)
            .param("clusterName", cluster)
            .param("ip", ip)
            .param("port", port)
    }

    fn decode_detail(&self, body: &str) -> Result<InstanceDetail> {
        serde_json::from_str(body).map_err(|e| Error::decode("instance", e, body))
    }

    /// 1.4.8 `NamingProxy.queryList` (no `udpPort`/`clientIP`: no UDP push).
    fn list(&self, target: &Target) -> Request {
        grouped_request(Method::Get, INSTANCE_LIST, &target.service)
            .nonempty_param("clusters", &target.clusters_param())
            .param("healthyOnly", "false")
    }

    fn decode_list(&self, _target: &Target, body: &str) -> Result<ServiceInfo> {
        serde_json::from_str(body).map_err(|e| Error::decode("instance list", e, body))
    }

    fn stamp_depth(&self) -> usize {
        1
    }

    /// One beat: 1.4.8 `NamingProxy.sendBeat` puts the address in the query
    /// and the beat JSON in the form body (`bodyMap`); a light beat leaves the
    /// body empty.
    fn beat(&self, key: &ServiceKey, beat: &BeatInfo<'_>, light: bool) -> Result<Request> {
        let mut req = grouped_request(Method::Put, INSTANCE_BEAT, key)
            .param("clusterName", beat.cluster)
            .param("ip", beat.ip)
            .param("port", beat.port);
        if !light {
            let json = serde_json::to_string(beat).map_err(|e| Error::decode("beat", e, ""))?;
            req = req.form_param("beat", json);
        }
        Ok(req)
    }

    fn decode_beat(&self, body: &str) -> Result<BeatResult> {
        BeatResult::parse(body)
    }

    fn service_get(&self, key: &ServiceKey) -> Request {
        service_request(Method::Get, key)
    }

    /// A service's settings; the name and group filled in from `key` where
    /// the answer leaves them out.
    fn decode_service(&self, key: &ServiceKey, body: &str) -> Result<ServiceDetail> {
        let mut detail: ServiceDetail =
            serde_json::from_str(body).map_err(|e| Error::decode("service", e, body))?;
        (detail.group_name, detail.name) = key.fill(&detail.group_name, &detail.name);
        Ok(detail)
    }

    fn service_write(&self, method: Method, key: &ServiceKey, spec: &ServiceSpec) -> Request {
        service_request(method, key)
            .param("protectThreshold", spec.protect_threshold.to_string())
            .param("metadata", metadata_json(&spec.metadata))
            .opt_param("selector", spec.selector.as_deref())
    }

    fn service_delete(&self, key: &ServiceKey) -> Request {
        service_request(Method::Delete, key)
    }

    /// One page of the services of `group` in `namespace`
    /// (`/v1/ns/service/list`, bare names), or of every group (`None`): the
    /// console's catalog, which Java 1.4.8 and 2.4.3 (`CatalogController
    /// #listDetail`, `withInstances=false`, no `groupNameParam`) and r-nacos
    /// (`openapi/naming/catalog.rs`) answer with the whole namespace, each
    /// service with its group. The catalog is always told its namespace:
    /// Java reads a missing `namespaceId` as `public`, r-nacos 0.8 as every
    /// namespace.
    fn service_list(&self, of: Listing<'_>, page_no: u32, page_size: u32) -> Request {
        let catalog_namespace = match of.namespace {
            "" => PUBLIC,
            ns => ns,
        };
        let request = match of.group {
            Some(group) => Request::new(Method::Get, Module::Naming, SERVICE_LIST)
                .nonempty_param("namespaceId", of.namespace)
                .param("groupName", group),
            None => Request::new(Method::Get, Module::Naming, CATALOG_SERVICES)
                .param("namespaceId", catalog_namespace)
                .param("withInstances", "false"),
        };
        request
            .param("pageNo", page_no)
            .param("pageSize", page_size)
    }

    /// A page of services: of `group` (`{"count":…,"doms":[…]}`, bare or
    /// grouped names), or of every group (`None`: the catalog's
    /// `{"count":…,"serviceList":[{"name":…,"groupName":…},…]}`, whose list
    /// must be there, so that an answer of another kind is not taken for an
    /// empty namespace).
    fn decode_service_list(&self, of: Listing<'_>, body: &str) -> Result<ServiceList> {
        let namespace = of.namespace;
        let (count, services) = match of.group {
            Some(group) => {
                let list: Doms = serde_json::from_str(body)
                    .map_err(|e| Error::decode("service list", e, body))?;
                let services = list
                    .doms
                    .iter()
                    .map(|n| ServiceKey::listed(namespace, "", n, group));
                (list.count, services.collect())
            }
            None => {
                let catalog: Catalog = serde_json::from_str(body)
                    .map_err(|e| Error::decode("service catalog", e, body))?;
                let services = catalog.service_list.iter().map(|item| {
                    ServiceKey::listed(namespace, &item.group_name, &item.name, DEFAULT_GROUP)
                });
                (catalog.count, services.collect())
            }
        };
        Ok(ServiceList { count, services })
    }

    fn status(&self) -> Request {
        Request::new(Method::Get, Module::Naming, METRICS)
    }

    /// The server's status from `operator/metrics`.
    fn decode_status(&self, body: &str) -> Result<String> {
        let v: serde_json::Value =
            serde_json::from_str(body).map_err(|e| Error::decode("server metrics", e, body))?;
        v.get("status")
            .and_then(|s| s.as_str())
            .map(str::to_string)
            .ok_or_else(|| Error::decode("server metrics", "no `status` field", body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_pages_of_one_group_and_of_every_group() {
        let one = V1.decode_service_list(
            Listing {
                namespace: "ns",
                group: Some("G"),
            },
            r#"{"count":2,"doms":["a","H@@b"]}"#,
        );
        let keys = one.unwrap().services;
        assert_eq!(
            keys,
            [
                ServiceKey::new("ns", "G", "a"),
                ServiceKey::new("ns", "H", "b")
            ]
        );
        // A `null` list is an empty page.
        let none = V1.decode_service_list(
            Listing {
                namespace: "ns",
                group: Some("G"),
            },
            r#"{"count":0,"doms":null}"#,
        );
        assert!(none.unwrap().services.is_empty());

        // Java 1.4.8 `CatalogController#listDetail`: bare name and group.
        let body = r#"{"count":7,"serviceList":[{"name":"a","groupName":"G1","ipCount":0},{"name":"G2@@b"},{"name":"c"}]}"#;
        let all = V1
            .decode_service_list(
                Listing {
                    namespace: "",
                    group: None,
                },
                body,
            )
            .unwrap();
        assert_eq!(all.count, 7);
        let want = [
            ServiceKey::new("", "G1", "a"),
            ServiceKey::new("", "G2", "b"),
            ServiceKey::new("", DEFAULT_GROUP, "c"),
        ];
        assert_eq!(all.services, want);
        let empty = V1.decode_service_list(
            Listing {
                namespace: "",
                group: None,
            },
            r#"{"count":0,"serviceList":null}"#,
        );
        assert!(empty.unwrap().services.is_empty());
        // An answer without the list is not an empty namespace.
        for other in [r#"{}"#, r#"{"count":0,"doms":[]}"#, "[]"] {
            assert!(
                V1.decode_service_list(
                    Listing {
                        namespace: "",
                        group: None
                    },
                    other
                )
                .is_err(),
                "{other}"
            );
        }
    }
}
