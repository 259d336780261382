//! Service addressing (`ServiceName`) and the service-level models.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::naming::instance::Instance;
use crate::serde_util::{comma_joined, comma_list, null_default, string_map};
use crate::settings::Settings;
use crate::validate;

/// The separator Nacos puts between group and service in grouped names.
pub(crate) const GROUP_SEPARATOR: &str = "@@";

/// Which service a call is about: a name, and optionally a group, a
/// namespace and clusters that override the client's defaults.
///
/// Every call that takes a service accepts a plain `&str`, `String` or
/// `&String`, a `(group, name)` pair, or a [`ServiceKey`] from an event:
///
/// ```no_run
/// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
/// use nacos_blocking::ServiceName;
/// client.list_instances("orders")?;
/// client.list_instances(("shop", "orders"))?;
/// client.list_healthy_instances(
///     ServiceName::new("orders").group("shop").namespace("dev").clusters(["zone-a", "zone-b"]),
/// )?;
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName {
    pub(crate) name: String,
    pub(crate) group: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) clusters: Vec<String>,
}

impl ServiceName {
    /// The service `name` in the client's default group and namespace,
    /// all clusters.
    pub fn new(name: impl Into<String>) -> ServiceName {
        ServiceName {
            name: name.into(),
            group: None,
            namespace: None,
            clusters: Vec::new(),
        }
    }

    /// In group `group` instead of the client's default.
    #[must_use]
    pub fn group(mut self, group: impl Into<String>) -> ServiceName {
        self.group = Some(group.into());
        self
    }

    /// In namespace `namespace` instead of the client's default.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> ServiceName {
        self.namespace = Some(namespace.into());
        self
    }

    /// Only these clusters (lists, selections, subscriptions); an empty
    /// list means all. For [`get_instance`](crate::NacosClient::get_instance),
    /// the one cluster the instance is in.
    #[must_use]
    pub fn clusters<I>(mut self, clusters: I) -> ServiceName
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.clusters = clusters.into_iter().map(Into::into).collect();
        self
    }

    /// The bare service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Resolves against the client's defaults and validates every part.
    pub(crate) fn resolve(self, settings: &Settings) -> Result<Target> {
        let service = ServiceKey {
            namespace: self.namespace.unwrap_or_else(|| settings.namespace.clone()),
            group: self.group.unwrap_or_else(|| settings.group.clone()),
            name: self.name,
        };
        validate::name("service_name", &service.name)?;
        validate::name("group", &service.group)?;
        validate::namespace(&service.namespace)?;
        for c in &self.clusters {
            validate::cluster(c)?;
        }
        let mut clusters = self.clusters;
        clusters.sort();
        clusters.dedup();
        Ok(Target { service, clusters })
    }
}

/// A service resolved against the client's defaults, with the clusters
/// asked for (sorted, without duplicates; empty: all).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub(crate) service: ServiceKey,
    pub(crate) clusters: Vec<String>,
}

impl Target {
    /// The clusters, comma-joined, as the server takes them.
    pub(crate) fn clusters_param(&self) -> String {
        self.clusters.join(",")
    }
}

impl From<&str> for ServiceName {
    fn from(name: &str) -> ServiceName {
        ServiceName::new(name)
    }
}

impl From<String> for ServiceName {
    fn from(name: String) -> ServiceName {
        ServiceName::new(name)
    }
}

impl From<&String> for ServiceName {
    fn from(name: &String) -> ServiceName {
        ServiceName::new(name.as_str())
    }
}

/// `(group, name)`.
impl<G: Into<String>, N: Into<String>> From<(G, N)> for ServiceName {
    fn from((group, name): (G, N)) -> ServiceName {
        ServiceName::new(name).group(group)
    }
}

impl From<&ServiceName> for ServiceName {
    fn from(s: &ServiceName) -> ServiceName {
        s.clone()
    }
}

impl From<ServiceKey> for ServiceName {
    fn from(k: ServiceKey) -> ServiceName {
        ServiceName {
            name: k.name,
            group: Some(k.group),
            namespace: Some(k.namespace),
            clusters: Vec::new(),
        }
    }
}

impl From<&ServiceKey> for ServiceName {
    fn from(k: &ServiceKey) -> ServiceName {
        ServiceName::from(k.clone())
    }
}

/// A service fully resolved against the client's defaults: the key that
/// caches, heartbeats and subscriptions use.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceKey {
    /// Namespace id (empty: public).
    pub namespace: String,
    /// Group.
    pub group: String,
    /// Bare service name.
    pub name: String,
}

impl ServiceKey {
    /// A key from its parts (namespace `""` is the public one).
    pub fn new(
        namespace: impl Into<String>,
        group: impl Into<String>,
        name: impl Into<String>,
    ) -> ServiceKey {
        ServiceKey {
            namespace: namespace.into(),
            group: group.into(),
            name: name.into(),
        }
    }

    /// A listed service's key: the group the list gives (`""`: none),
    /// else the one its name carries (`G@@name`), else `fallback`.
    pub(crate) fn listed(namespace: &str, group: &str, name: &str, fallback: &str) -> ServiceKey {
        let (in_name, bare) = split_grouped(name);
        let group = match (group.is_empty(), in_name) {
            (false, _) => group,
            (true, Some(g)) => g,
            (true, None) => fallback,
        };
        ServiceKey::new(namespace, group, bare)
    }

    /// The group and bare name of an answer about this service: the
    /// answer's own where it gives them (its group, else the one its name
    /// carries as `G@@name`), this key's where it leaves them out.
    pub(crate) fn fill(&self, group: &str, name: &str) -> (String, String) {
        let listed = ServiceKey::listed(&self.namespace, group, name, &self.group);
        let name = match listed.name.is_empty() {
            true => self.name.clone(),
            false => listed.name,
        };
        (listed.group, name)
    }

    /// `group@@name`, as the server writes it.
    pub fn grouped_name(&self) -> String {
        // Not `format!`: this runs for every request and beat, and the
        // formatting machinery cost 1,400 instructions where copying two
        // strings into one allocation costs about 100.
        let mut out =
            String::with_capacity(self.group.len() + GROUP_SEPARATOR.len() + self.name.len());
        out.push_str(&self.group);
        out.push_str(GROUP_SEPARATOR);
        out.push_str(&self.name);
        out
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}@@{}", self.group, self.name)
        } else {
            write!(f, "{}/{}@@{}", self.namespace, self.group, self.name)
        }
    }
}

/// Splits `group@@name`; a name without a group is returned as is.
pub(crate) fn split_grouped(name: &str) -> (Option<&str>, &str) {
    match name.split_once(GROUP_SEPARATOR) {
        Some((g, n)) => (Some(g), n),
        None => (None, name),
    }
}

/// A service's instances, as `instance/list` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceInfo {
    /// The bare service name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// The group.
    #[serde(default, deserialize_with = "null_default")]
    pub group_name: String,
    /// The clusters asked for (empty: all). Comma-separated on the wire
    /// and in cache files, as Java writes them.
    #[serde(
        default,
        deserialize_with = "comma_list",
        serialize_with = "comma_joined"
    )]
    pub clusters: Vec<String>,
    /// How long the server suggests caching this answer, in ms.
    #[serde(default, deserialize_with = "null_default")]
    pub cache_millis: u64,
    /// The server's stamps on the answer (epoch ms; a digest where sent):
    /// kept so cache files read as Java's, never shown.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) last_ref_time: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) checksum: String,
    /// The instances. Required: an answer without `hosts` is not a list
    /// answer (a `null` list is empty).
    #[serde(deserialize_with = "null_default")]
    pub hosts: Vec<Instance>,
}

impl ServiceInfo {
    /// A copy narrowed to `clusters` (empty: all), copying only the hosts
    /// kept.
    pub(crate) fn for_clusters(&self, clusters: &[String]) -> ServiceInfo {
        ServiceInfo {
            name: self.name.clone(),
            group_name: self.group_name.clone(),
            clusters: clusters.to_vec(),
            cache_millis: self.cache_millis,
            last_ref_time: self.last_ref_time,
            checksum: self.checksum.clone(),
            hosts: self
                .hosts
                .iter()
                .filter(|h| h.in_clusters(clusters))
                .cloned()
                .collect(),
        }
    }

    /// Fixes up names after decoding: splits a grouped `name`, fills the
    /// group from the key when the server left it out.
    pub(crate) fn normalize(mut self, key: &ServiceKey) -> ServiceInfo {
        (self.group_name, self.name) = key.fill(&self.group_name, &self.name);
        self
    }
}

/// A service's own settings, as `GET /service` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceDetail {
    /// Namespace id.
    #[serde(default, deserialize_with = "null_default")]
    pub namespace_id: String,
    /// Group.
    #[serde(default, deserialize_with = "null_default")]
    pub group_name: String,
    /// Bare service name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Below this share of healthy instances, all are returned as healthy.
    #[serde(default, deserialize_with = "null_default")]
    pub protect_threshold: f64,
    /// Service metadata.
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: HashMap<String, String>,
}

/// Settings for creating or updating a service.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ServiceSpec {
    /// `0.0..=1.0`. Defaults to 0.
    pub protect_threshold: f64,
    /// Service metadata. Defaults to empty.
    pub metadata: HashMap<String, String>,
    /// A selector expression (JSON, e.g. `{"type":"none"}`). Defaults to none.
    pub selector: Option<String>,
}

impl ServiceSpec {
    /// A spec with every field at its default.
    pub fn new() -> ServiceSpec {
        ServiceSpec::default()
    }

    /// Sets the protect threshold.
    #[must_use]
    pub fn protect_threshold(mut self, t: f64) -> ServiceSpec {
        self.protect_threshold = t;
        self
    }

    /// Adds one metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> ServiceSpec {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the selector.
    #[must_use]
    pub fn selector(mut self, selector: impl Into<String>) -> ServiceSpec {
        self.selector = Some(selector.into());
        self
    }
}

/// One page of services.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceList {
    /// How many services there are in all.
    pub count: u64,
    /// The services on this page, each with its namespace and group (the
    /// way to tell them apart in a page of [every
    /// group](ServicePage::all_groups)).
    pub services: Vec<ServiceKey>,
}

impl ServiceList {
    /// The bare names of this page's services, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.services.iter().map(|s| s.name.as_str())
    }
}

/// Which groups a service listing covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Groups {
    /// The client's group.
    #[default]
    Default,
    One(String),
    /// Every group of the namespace.
    All,
}

impl Groups {
    /// The group to list (`None`: every group), checked.
    pub(crate) fn resolve(&self, default: &str) -> Result<Option<String>> {
        let group = match self {
            Groups::All => return Ok(None),
            Groups::Default => default,
            Groups::One(g) => g,
        };
        validate::name("group", group)?;
        Ok(Some(group.to_string()))
    }
}

/// Whose services a page lists: a namespace's, of one group or of every
/// group (`None`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Listing<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) group: Option<&'a str>,
}

/// Which page of service names to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePage {
    pub(crate) page_no: u32,
    pub(crate) page_size: u32,
    pub(crate) groups: Groups,
    pub(crate) namespace: Option<String>,
}

impl ServicePage {
    /// Page `page_no` (from 1) of `page_size` names, in the client's
    /// default group and namespace.
    pub fn new(page_no: u32, page_size: u32) -> ServicePage {
        ServicePage {
            page_no,
            page_size,
            groups: Groups::Default,
            namespace: None,
        }
    }

    /// In group `group`.
    #[must_use]
    pub fn group(mut self, group: impl Into<String>) -> ServicePage {
        self.groups = Groups::One(group.into());
        self
    }

    /// In every group of the namespace: tell the services apart by
    /// [`ServiceList::services`]. v1 servers answer from the console's
    /// catalog (`/v1/ns/catalog/services`: Java 1.x/2.x, r-nacos), v3 ones
    /// from the admin list without a group filter (Java 3.x). Batata (as
    /// of `f896fd1`) reads a missing group as `DEFAULT_GROUP`, so there a
    /// page holds that group's services only.
    #[must_use]
    pub fn all_groups(mut self) -> ServicePage {
        self.groups = Groups::All;
        self
    }

    /// In namespace `namespace`.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> ServicePage {
        self.namespace = Some(namespace.into());
        self
    }
}

#[cfg(test)]
mod tests;
