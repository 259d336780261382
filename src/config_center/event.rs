//! What a config watcher or listener receives.

use crate::config_center::key::ConfigKey;

/// What happened to a watched config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigChange {
    /// Published or changed: [`ConfigEvent::content`] holds the new content.
    Changed,
    /// Removed from the server: no content, empty MD5.
    Deleted,
}

/// One change of a watched config, delivered once per new MD5.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEvent {
    /// Which config.
    pub key: ConfigKey,
    /// Changed or deleted.
    pub kind: ConfigChange,
    /// The new content; `None` when deleted.
    pub content: Option<String>,
    /// Lowercase hex MD5 of the new content; empty when deleted.
    pub md5: String,
}

impl ConfigEvent {
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

    /// `true` for a removal.
    pub fn is_deleted(&self) -> bool {
        self.kind == ConfigChange::Deleted
    }
}
