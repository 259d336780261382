//! The `Instance` model and its builder.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::{null_default, null_or, string_map};

/// The cluster an instance is in when none is named.
pub const DEFAULT_CLUSTER: &str = "DEFAULT";

/// One instance of a service: where it listens and how it takes traffic.
///
/// Decoding is tolerant: unknown fields are ignored, missing or `null`
/// fields get their defaults, and metadata values that are not strings
/// are kept as their JSON text.
///
/// ```
/// use nacos_blocking::Instance;
/// let inst = Instance::builder("10.0.0.7", 8080)
///     .weight(2.0)
///     .cluster("zone-a")
///     .metadata("version", "1.4")
///     .build();
/// assert_eq!(inst.cluster_name, "zone-a");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Instance {
    /// The server's id for it (`ip#port` on r-nacos, longer on Java Nacos).
    #[serde(default, deserialize_with = "null_default")]
    pub instance_id: Option<String>,
    /// IP address (IPv4 or IPv6 literal) or RFC 1123 host name.
    #[serde(default, deserialize_with = "null_default")]
    pub ip: String,
    /// Port.
    #[serde(default, deserialize_with = "null_default")]
    pub port: u16,
    /// Relative share of traffic, `0..=10000`.
    #[serde(default = "one", deserialize_with = "null_or::<_, _, One>")]
    pub weight: f64,
    /// Whether it passes health checks (as the server reports it).
    #[serde(default = "yes", deserialize_with = "null_or::<_, _, Yes>")]
    pub healthy: bool,
    /// Whether it takes traffic at all.
    #[serde(default = "yes", deserialize_with = "null_or::<_, _, Yes>")]
    pub enabled: bool,
    /// Ephemeral instances live by heartbeats; persistent ones until removed.
    #[serde(default = "yes", deserialize_with = "null_or::<_, _, Yes>")]
    pub ephemeral: bool,
    /// The cluster it belongs to.
    #[serde(
        default = "default_cluster",
        deserialize_with = "null_or::<_, _, Cluster>"
    )]
    pub cluster_name: String,
    /// The grouped service name the server reports (`group@@name`), if any.
    #[serde(default, deserialize_with = "null_default")]
    pub service_name: Option<String>,
    /// Free-form string metadata.
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: HashMap<String, String>,
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_cluster() -> String {
    DEFAULT_CLUSTER.to_string()
}

/// Type-level defaults for [`null_or`].
pub(crate) struct One;
pub(crate) struct Yes;
pub(crate) struct Cluster;
impl crate::serde_util::DefaultValue<f64> for One {
    fn value() -> f64 {
        one()
    }
}
impl crate::serde_util::DefaultValue<bool> for Yes {
    fn value() -> bool {
        yes()
    }
}
impl crate::serde_util::DefaultValue<String> for Cluster {
    fn value() -> String {
        default_cluster()
    }
}

impl Default for Instance {
    fn default() -> Self {
        Instance {
            instance_id: None,
            ip: String::new(),
            port: 0,
            weight: one(),
            healthy: true,
            enabled: true,
            ephemeral: true,
            cluster_name: default_cluster(),
            service_name: None,
            metadata: HashMap::new(),
        }
    }
}

impl Instance {
    /// An instance at `ip:port` with every other field at its default
    /// (weight 1, healthy, enabled, ephemeral, cluster `DEFAULT`).
    pub fn new(ip: impl Into<String>, port: u16) -> Instance {
        Instance {
            ip: ip.into(),
            port,
            ..Instance::default()
        }
    }

    /// A builder for an instance at `ip:port`.
    pub fn builder(ip: impl Into<String>, port: u16) -> InstanceBuilder {
        InstanceBuilder(Instance::new(ip, port))
    }

    /// `true` when it can take traffic: healthy, enabled and weight above 0.
    pub fn is_available(&self) -> bool {
        self.healthy && self.enabled && self.weight > 0.0
    }

    /// `ip:port`.
    pub fn addr(&self) -> String {
        if self.ip.contains(':') {
            format!("[{}]:{}", self.ip, self.port)
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }

    /// The instance's socket address when its `ip` is an IP address;
    /// `None` for a host name (which needs resolving: `(ip, port)` works
    /// with [`std::net::ToSocketAddrs`]). Unlike `addr().parse()`, never
    /// panics on a host name.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        let ip: std::net::IpAddr = self.ip.parse().ok()?;
        Some(std::net::SocketAddr::new(ip, self.port))
    }

    /// Whether the instance is in one of `clusters` (empty: any cluster).
    pub(crate) fn in_clusters(&self, clusters: &[String]) -> bool {
        clusters.is_empty() || clusters.contains(&self.cluster_name)
    }

    /// Identity within a service: ip, port and cluster.
    pub fn same_identity(&self, other: &Instance) -> bool {
        self.ip == other.ip && self.port == other.port && self.cluster_name == other.cluster_name
    }
}

/// The answer of `GET /instance` (Java `InstanceController.detail`), with
/// `enabled` and `ephemeral` kept unknown when the server does not say
/// them (Java Nacos never does; r-nacos does).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceDetail {
    #[serde(default, deserialize_with = "null_default")]
    instance_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    ip: String,
    #[serde(default, deserialize_with = "null_default")]
    port: u16,
    #[serde(default = "one", deserialize_with = "null_or::<_, _, One>")]
    weight: f64,
    #[serde(default = "yes", deserialize_with = "null_or::<_, _, Yes>")]
    healthy: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) enabled: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) ephemeral: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    cluster_name: Option<String>,
    /// Java: `service`; r-nacos: `service` and `serviceName`.
    #[serde(default, deserialize_with = "null_default")]
    service: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    service_name: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    metadata: HashMap<String, String>,
}

impl Instance {
    /// About how many bytes the instance holds (for bounded queues).
    pub(crate) fn weight(&self) -> usize {
        std::mem::size_of::<Instance>()
            + self.ip.len()
            + self.cluster_name.len()
            + self.instance_id.as_ref().map_or(0, String::len)
            + self.service_name.as_ref().map_or(0, String::len)
            + self
                .metadata
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
    }
}

impl InstanceDetail {
    /// Whether the answer names an instance at all: Java (1.4.8, 2.4.3
    /// `InstanceController#detail`, 3.x `InstanceControllerV3#detail`),
    /// r-nacos and batata always send its `ip` and `port`; `{}` or
    /// `{"code":500}` decode into defaults and must not pass for one.
    pub(crate) fn names_an_instance(&self) -> bool {
        !self.ip.is_empty() && self.port != 0
    }

    /// The instance: what the detail says, `enabled`/`ephemeral` it does not
    /// say from `listed` (the same instance in `instance/list`); not listed
    /// means disabled (no server lists disabled instances), with
    /// `ephemeral` at the Nacos default, `true`.
    pub(crate) fn into_instance(
        self,
        ip: &str,
        port: u16,
        cluster: &str,
        listed: Option<&Instance>,
    ) -> Instance {
        Instance {
            instance_id: self
                .instance_id
                .or_else(|| listed.and_then(|l| l.instance_id.clone())),
            ip: if self.ip.is_empty() {
                ip.to_string()
            } else {
                self.ip
            },
            port: if self.port == 0 { port } else { self.port },
            weight: self.weight,
            healthy: self.healthy,
            enabled: self.enabled.unwrap_or(listed.is_some_and(|l| l.enabled)),
            ephemeral: self.ephemeral.unwrap_or(listed.is_none_or(|l| l.ephemeral)),
            cluster_name: self
                .cluster_name
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| cluster.to_string()),
            service_name: self
                .service_name
                .or(self.service)
                .or_else(|| listed.and_then(|l| l.service_name.clone())),
            metadata: self.metadata,
        }
    }
}

/// Builds an [`Instance`]. Values are checked when the instance is sent.
#[derive(Clone, Debug)]
#[must_use]
pub struct InstanceBuilder(Instance);

impl InstanceBuilder {
    /// Relative share of traffic, `0..=10000`. Defaults to 1.
    pub fn weight(mut self, weight: f64) -> Self {
        self.0.weight = weight;
        self
    }

    /// Whether it reports itself healthy. Defaults to `true`.
    pub fn healthy(mut self, healthy: bool) -> Self {
        self.0.healthy = healthy;
        self
    }

    /// Whether it takes traffic. Defaults to `true`.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.0.enabled = enabled;
        self
    }

    /// Ephemeral (heartbeated) or persistent. Defaults to `true`.
    pub fn ephemeral(mut self, ephemeral: bool) -> Self {
        self.0.ephemeral = ephemeral;
        self
    }

    /// The cluster, `[0-9a-zA-Z-]+`. Defaults to `DEFAULT`.
    pub fn cluster(mut self, cluster: impl Into<String>) -> Self {
        self.0.cluster_name = cluster.into();
        self
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.metadata.insert(key.into(), value.into());
        self
    }

    /// Replaces all metadata.
    pub fn metadata_map(mut self, metadata: HashMap<String, String>) -> Self {
        self.0.metadata = metadata;
        self
    }

    /// The instance.
    pub fn build(self) -> Instance {
        self.0
    }
}

/// Metadata as the `metadata` parameter carries it (a JSON object); `{}`
/// without serialising when there is none.
pub(crate) fn metadata_json(metadata: &HashMap<String, String>) -> std::borrow::Cow<'static, str> {
    if metadata.is_empty() {
        return "{}".into();
    }
    serde_json::to_string(metadata)
        .unwrap_or_else(|_| "{}".into())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addr_for_ips_only() {
        let v4 = Instance::new("10.0.0.1", 80);
        assert_eq!(v4.socket_addr(), Some("10.0.0.1:80".parse().unwrap()));
        let v6 = Instance::new("::1", 9);
        assert_eq!(v6.socket_addr(), Some("[::1]:9".parse().unwrap()));
        assert_eq!(Instance::new("orders.local", 80).socket_addr(), None);
    }

    #[test]
    fn decodes_tolerantly() {
        let i: Instance = serde_json::from_str(
            r#"{"ip":"1.2.3.4","port":80,"weight":null,"healthy":null,"clusterName":null,
                "metadata":{"a":"b","n":3,"t":true,"x":null},"unknown":{"deep":[1]}}"#,
        )
        .unwrap();
        assert_eq!(i.weight, 1.0);
        assert!(i.healthy && i.enabled && i.ephemeral);
        assert_eq!(i.cluster_name, DEFAULT_CLUSTER);
        assert_eq!(i.metadata["a"], "b");
        assert_eq!(i.metadata["n"], "3");
        assert_eq!(i.metadata["t"], "true");
        assert!(!i.metadata.contains_key("x"));
        let empty: Instance = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Instance::default());
        let back: Instance = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn detail_leaves_unsaid_fields_to_the_list() {
        // Java `InstanceController.detail`: no `enabled`, no `ephemeral`.
        let java = r#"{"service":"G@@s","ip":"1.2.3.4","port":80,"clusterName":"DEFAULT",
            "weight":2.0,"healthy":false,"instanceId":"id","metadata":{"k":"v"}}"#;
        let d: InstanceDetail = serde_json::from_str(java).unwrap();
        assert_eq!((d.enabled, d.ephemeral), (None, None));
        let listed = Instance::builder("1.2.3.4", 80).ephemeral(false).build();
        let i = d.into_instance("1.2.3.4", 80, "DEFAULT", Some(&listed));
        assert!(i.enabled && !i.ephemeral && !i.healthy);
        assert_eq!((i.weight, i.service_name.as_deref()), (2.0, Some("G@@s")));
        let d: InstanceDetail = serde_json::from_str(java).unwrap();
        let unlisted = d.into_instance("1.2.3.4", 80, "DEFAULT", None);
        assert!(!unlisted.enabled && unlisted.ephemeral);
        // r-nacos says both: they win over the list.
        let r = r#"{"ip":"1.2.3.4","port":80,"enabled":false,"ephemeral":false}"#;
        let d: InstanceDetail = serde_json::from_str(r).unwrap();
        let i = d.into_instance(
            "1.2.3.4",
            80,
            "DEFAULT",
            Some(&Instance::new("1.2.3.4", 80)),
        );
        assert!(!i.enabled && !i.ephemeral);
    }

    #[test]
    fn builder_sets_fields() {
        let i = Instance::builder("::1", 9)
            .weight(0.5)
            .healthy(false)
            .enabled(false)
            .ephemeral(false)
            .cluster("c1")
            .metadata("k", "v")
            .build();
        assert_eq!(i.addr(), "[::1]:9");
        assert!(!i.is_available());
        assert_eq!(i.metadata.len(), 1);
        assert!(i.same_identity(&Instance::builder("::1", 9).cluster("c1").build()));
    }
}
