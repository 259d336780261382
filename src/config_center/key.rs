//! Which config a call is about: `ConfigName` (what users write) and
//! `ConfigKey` (resolved against the client's defaults).

use std::fmt;

use crate::error::Result;
use crate::namespace::PUBLIC;
use crate::settings::Settings;
use crate::validate;

/// Which config a call is about: a data id, and optionally a group and a
/// namespace (tenant) that override the client's defaults.
///
/// Every config call accepts a plain `&str`, `String` or `&String` (a data
/// id in the default group), a `(data_id, group)` pair, or a [`ConfigKey`]
/// from an event:
///
/// ```no_run
/// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
/// use nacos_blocking::ConfigName;
/// client.get_config("app.yaml")?;
/// client.get_config(("app.yaml", "shop"))?;
/// client.get_config(ConfigName::new("app.yaml").group("shop").namespace("dev"))?;
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConfigName {
    data_id: String,
    group: Option<String>,
    namespace: Option<String>,
}

impl ConfigName {
    /// The config `data_id` in the client's default group and namespace.
    pub fn new(data_id: impl Into<String>) -> ConfigName {
        ConfigName {
            data_id: data_id.into(),
            group: None,
            namespace: None,
        }
    }

    /// In group `group` instead of the client's default.
    #[must_use]
    pub fn group(mut self, group: impl Into<String>) -> ConfigName {
        self.group = Some(group.into());
        self
    }

    /// In namespace (tenant) `namespace` instead of the client's default.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> ConfigName {
        self.namespace = Some(namespace.into());
        self
    }

    /// Resolves against the client's defaults and validates every part.
    /// The public namespace is the empty tenant on the wire, however it was
    /// written: Java 2.x does not read `tenant=public` as the public
    /// namespace in a long poll's key (alibaba/nacos #4682; 2.4.3 `MD5Util`
    /// and `GroupKey2`), so such polls would answer "changed" at once,
    /// forever. The Java client's own convention is the empty tenant.
    pub(crate) fn resolve(self, settings: &Settings) -> Result<ConfigKey> {
        let mut namespace = self.namespace.unwrap_or_else(|| settings.namespace.clone());
        if namespace == PUBLIC {
            namespace.clear();
        }
        let key = ConfigKey {
            namespace,
            group: self.group.unwrap_or_else(|| settings.group.clone()),
            data_id: self.data_id,
        };
        validate::name("data_id", &key.data_id)?;
        validate::name("group", &key.group)?;
        validate::namespace(&key.namespace)?;
        Ok(key)
    }
}

impl From<&str> for ConfigName {
    fn from(data_id: &str) -> ConfigName {
        ConfigName::new(data_id)
    }
}

impl From<String> for ConfigName {
    fn from(data_id: String) -> ConfigName {
        ConfigName::new(data_id)
    }
}

impl From<&String> for ConfigName {
    fn from(data_id: &String) -> ConfigName {
        ConfigName::new(data_id.as_str())
    }
}

/// `(data_id, group)`.
impl<D: Into<String>, G: Into<String>> From<(D, G)> for ConfigName {
    fn from((data_id, group): (D, G)) -> ConfigName {
        ConfigName::new(data_id).group(group)
    }
}

impl From<ConfigKey> for ConfigName {
    fn from(k: ConfigKey) -> ConfigName {
        ConfigName {
            data_id: k.data_id,
            group: Some(k.group),
            namespace: Some(k.namespace),
        }
    }
}

impl From<&ConfigName> for ConfigName {
    fn from(c: &ConfigName) -> ConfigName {
        c.clone()
    }
}

impl From<&ConfigKey> for ConfigName {
    fn from(k: &ConfigKey) -> ConfigName {
        ConfigName::new(k.data_id.as_str())
            .group(k.group.as_str())
            .namespace(k.namespace.as_str())
    }
}

/// A config fully resolved against the client's defaults: the key that
/// snapshots, watchers and events use.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigKey {
    /// Namespace (tenant) id; empty is the public namespace.
    pub namespace: String,
    /// Group.
    pub group: String,
    /// Data id.
    pub data_id: String,
}

impl ConfigKey {
    /// A key from its parts (namespace `""` is the public one).
    pub fn new(
        namespace: impl Into<String>,
        group: impl Into<String>,
        data_id: impl Into<String>,
    ) -> ConfigKey {
        ConfigKey {
            namespace: namespace.into(),
            group: group.into(),
            data_id: data_id.into(),
        }
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.group, self.data_id)
        } else {
            write!(f, "{}/{}/{}", self.namespace, self.group, self.data_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ClientBuilder;

    #[test]
    fn resolves_defaults_and_validates() {
        let c = ClientBuilder::default()
            .server_addr("127.0.0.1")
            .namespace("dev")
            .into_settings()
            .unwrap();
        let public = ConfigName::new("a")
            .namespace("public")
            .resolve(&c)
            .unwrap();
        assert_eq!(public.namespace, "", "public is the empty tenant");
        let k = ConfigName::from("a.yaml").resolve(&c).unwrap();
        assert_eq!(
            (k.namespace.as_str(), k.group.as_str()),
            ("dev", "DEFAULT_GROUP")
        );
        let k = ConfigName::from(("a", "G"))
            .namespace("")
            .resolve(&c)
            .unwrap();
        assert_eq!((k.namespace.as_str(), k.group.as_str()), ("", "G"));
        let field = |n: ConfigName| n.resolve(&c).unwrap_err().invalid_field();
        assert_eq!(field(ConfigName::new("")), Some("data_id"));
        assert_eq!(field(ConfigName::new("a b")), Some("data_id"));
        assert_eq!(field(ConfigName::new("a/../b")), Some("data_id"));
        assert_eq!(field(ConfigName::from(("a", "g&h"))), Some("group"));
        assert_eq!(field(ConfigName::from(("a", ""))), Some("group"));
    }
}
