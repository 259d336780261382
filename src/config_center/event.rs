//! What a config listener or watcher receives.

use crate::config_center::key::ConfigKey;
use crate::config_center::md5;
use crate::events::delivery::Coalesce;

/// A config's content as a listener sees it: first the value when the
/// watch starts (`initial`), then once per new MD5.
///
/// `content` is `None` when the config does not exist (it was absent when
/// the watch started, or it was removed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEvent {
    /// Which config.
    pub key: ConfigKey,
    /// The content; `None` when the config does not exist.
    pub content: Option<String>,
    /// Lowercase hex MD5: the server's for the config where it reports one
    /// (what [`Publish::cas_md5`](crate::Publish::cas_md5) compares), else
    /// the content's; empty when it does not exist.
    pub md5: String,
    /// The config's type (`yaml`, `json`, ...) where the server says it.
    pub config_type: Option<String>,
    /// `true` for the first event a listener receives: the value when the
    /// watch started, not a change.
    pub initial: bool,
}

impl ConfigEvent {
    /// The first event of a watch: the current content (`None`: absent).
    /// For unit-testing handlers without a server.
    ///
    /// ```
    /// use nacos_blocking::{ConfigEvent, ConfigKey};
    /// let key = ConfigKey::new("", "DEFAULT_GROUP", "app.yaml");
    /// let first = ConfigEvent::current(key.clone(), Some("a: 1".into()));
    /// let gone = ConfigEvent::changed(key, None);
    /// assert!(first.initial && gone.is_absent());
    /// ```
    pub fn current(key: ConfigKey, content: Option<String>) -> ConfigEvent {
        ConfigEvent {
            initial: true,
            ..ConfigEvent::changed(key, content)
        }
    }

    /// A change: new content, or `None` for a removal.
    pub fn changed(key: ConfigKey, content: Option<String>) -> ConfigEvent {
        ConfigEvent {
            md5: content.as_deref().map(md5::hex).unwrap_or_default(),
            key,
            content,
            config_type: None,
            initial: false,
        }
    }

    /// The same event with the MD5 the server holds for the content (of
    /// the stored, maybe encrypted content).
    pub(crate) fn with_md5(mut self, md5: String) -> ConfigEvent {
        self.md5 = md5;
        self
    }

    /// The same event with the config's type as the server said it.
    pub(crate) fn with_type(mut self, config_type: Option<String>) -> ConfigEvent {
        self.config_type = config_type;
        self
    }

    /// The data id of the config.
    pub fn data_id(&self) -> &str {
        &self.key.data_id
    }

    /// The group of the config.
    pub fn group(&self) -> &str {
        &self.key.group
    }

    /// The namespace (tenant) of the config; empty is public.
    pub fn namespace(&self) -> &str {
        &self.key.namespace
    }

    /// `true` when the config does not exist (absent, or removed).
    pub fn is_absent(&self) -> bool {
        self.content.is_none()
    }
}

/// Past the queue cap, waiting config events merge into the latest content.
impl Coalesce for ConfigEvent {
    fn merge(self, later: ConfigEvent) -> ConfigEvent {
        ConfigEvent {
            initial: self.initial,
            ..later
        }
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<ConfigEvent>()
            + self.content.as_ref().map_or(0, String::len)
            + self.md5.len()
            + self.key.namespace.len()
            + self.key.group.len()
            + self.key.data_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::delivery::merge_all;

    #[test]
    fn configs_keep_the_latest_content() {
        let k = ConfigKey::new("", "G", "d");
        let m = merge_all([
            ConfigEvent::current(k.clone(), Some("a".into())),
            ConfigEvent::changed(k.clone(), Some("b".into())),
            ConfigEvent::changed(k.clone(), None),
            ConfigEvent::changed(k.clone(), Some("c".into())),
        ])
        .unwrap();
        assert_eq!(m, ConfigEvent::current(k, Some("c".into())));
    }
}
