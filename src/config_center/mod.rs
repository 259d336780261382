//! The config center: get, publish and remove configs, and watch them with
//! one long poll per watched namespace, with snapshots for when the
//! servers are away.

pub(crate) mod api;
pub(crate) mod event;
pub(crate) mod key;
pub(crate) mod listen;
mod md5;
mod poll;
mod protocol;
mod snapshot;
mod v1;
mod v3;
mod v3_poll;
mod wire;

use std::sync::Arc;

use crate::error::Result;
use crate::events::handler::EventHandler;
use crate::events::watch::{self, Subscription, Watcher};

pub(crate) use event::ConfigEvent;
pub(crate) use key::ConfigKey;
pub(crate) use listen::ConfigWatch;

/// Adds a listener of `key` (its initial event first), and makes sure a
/// long poll of its namespace covers it.
pub(crate) fn subscribe<H: EventHandler<ConfigEvent>>(
    cw: &Arc<ConfigWatch>,
    key: ConfigKey,
    handler: H,
) -> Result<Subscription> {
    let namespace = key.namespace.clone();
    let sub = cw.subscribe(key, handler)?;
    if cw.claim_poller(&namespace) {
        poll::spawn(cw, &namespace)?;
    }
    Ok(sub)
}

/// A watcher fed by a listener of `key`.
pub(crate) fn watch(cw: &Arc<ConfigWatch>, key: ConfigKey) -> Result<Watcher<ConfigEvent>> {
    watch::watcher(|feed| subscribe(cw, key, feed))
}
