//! Every config-center call of [`NacosClient`]. Each resolves its
//! arguments and delegates.

use super::NacosClient;
use crate::config_center;
use crate::config_center::api::{self, ConfigValue, Publish};
use crate::config_center::event::ConfigEvent;
use crate::config_center::key::{ConfigKey, ConfigName};
use crate::error::Result;
use crate::events::handler::EventHandler;
use crate::events::watch::{Subscription, Watcher};

/// # Configs
impl NacosClient {
    /// The content of a config; `Ok(None)` when it does not exist.
    ///
    /// A file in the [failover dir](crate::ClientBuilder::config_failover_dir)
    /// overrides the server. When every server fails, the last content
    /// fetched (kept on disk) is returned; use
    /// [`get_config_value`](Self::get_config_value) to tell.
    pub fn get_config(&self, config: impl Into<ConfigName>) -> Result<Option<String>> {
        Ok(self.get_config_value(config)?.map(|v| v.content))
    }

    /// Like [`get_config`](Self::get_config), with the MD5 and where the
    /// content came from (server, snapshot or failover file).
    pub fn get_config_value(&self, config: impl Into<ConfigName>) -> Result<Option<ConfigValue>> {
        api::lookup(self.ctx(), &self.config_key(config)?)
    }

    /// Creates or replaces a config. The content travels in the form body.
    /// Empty content is refused (Nacos rejects it).
    pub fn publish_config(
        &self,
        config: impl Into<ConfigName>,
        publish: impl Into<Publish>,
    ) -> Result<()> {
        api::publish(self.ctx(), &self.config_key(config)?, publish.into())
    }

    /// Removes a config. Removing one that does not exist succeeds.
    pub fn remove_config(&self, config: impl Into<ConfigName>) -> Result<()> {
        api::remove(self.ctx(), &self.config_key(config)?)
    }

    /// Hands a config's content to `handler` (a closure
    /// `|event: &ConfigEvent|`, or a channel sender): first one
    /// [initial](ConfigEvent::initial) event with the content now (`None`
    /// when absent; the snapshot's when no server answers), then one event
    /// per change (new MD5), removals included.
    ///
    /// Handlers run on the client's delivery pool: one handler sees its
    /// events one at a time and in order, a slow one delays only itself,
    /// and a panic is logged and the handler lives on.
    ///
    /// Dropping the returned guard unsubscribes; `.detach()` keeps the
    /// handler for the client's life. A handler that needs the client
    /// should capture a [`WeakClient`](crate::WeakClient)
    /// ([`downgrade`](Self::downgrade)), not a clone, or the client and its
    /// threads keep running after the program dropped its own handles.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// use nacos_blocking::ConfigEvent;
    /// client
    ///     .subscribe_config(("app.yaml", "shop"), |event: &ConfigEvent| {
    ///         println!("{} is now {:?}", event.data_id(), event.content);
    ///     })?
    ///     .detach();
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn subscribe_config(
        &self,
        config: impl Into<ConfigName>,
        handler: impl EventHandler<ConfigEvent>,
    ) -> Result<Subscription> {
        let key = self.config_key(config)?;
        config_center::subscribe(&self.inner.configs, key, handler)
    }

    /// A [`Watcher`] of a config: the same events as
    /// [`subscribe_config`](Self::subscribe_config), the initial one first.
    /// Stopping or dropping the watcher unsubscribes.
    pub fn watch_config(&self, config: impl Into<ConfigName>) -> Result<Watcher<ConfigEvent>> {
        let key = self.config_key(config)?;
        config_center::watch(&self.inner.configs, key)
    }

    /// Resolves a config name against the client's defaults and validates it.
    fn config_key(&self, config: impl Into<ConfigName>) -> Result<ConfigKey> {
        config.into().resolve(&self.ctx().settings)
    }
}
