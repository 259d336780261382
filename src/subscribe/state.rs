//! `SubscriptionState`: how polling a subscribed service goes.

use std::time::SystemTime;

use crate::naming::service::ServiceKey;

/// How polling a subscribed service goes, as seen by this client.
///
/// Returned by [`NacosClient::subscription_state`](crate::NacosClient::subscription_state).
/// A failed poll keeps the last good list (and delivers nothing), so this
/// is where failures show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionState {
    /// The service.
    pub service: ServiceKey,
    /// The clusters subscribed to (empty: all).
    pub clusters: Vec<String>,
    /// How many instances the last good list has (`None`: no list yet).
    pub instances: Option<usize>,
    /// When a poll last succeeded (`None`: not yet).
    pub last_success: Option<SystemTime>,
    /// Polls failed in a row since the last success.
    pub consecutive_failures: u32,
    /// The most recent failure, kept after a later success. Never holds a
    /// credential.
    pub last_error: Option<String>,
    /// `true` while an empty list is held back by push-empty protection.
    pub holding_empty: bool,
}

impl SubscriptionState {
    /// `true` once a poll has succeeded and the latest did not fail:
    /// `false` before the first poll answered (a list served from the disk
    /// cache is not a poll) and while polls fail.
    pub fn is_ok(&self) -> bool {
        self.last_success.is_some() && self.consecutive_failures == 0
    }
}
