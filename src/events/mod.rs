//! Event delivery, the one path every change takes to the user: the
//! [`EventHandler`](handler::EventHandler) trait (closures, channel
//! senders), the per-listener queues drained by a small pool
//! (`delivery.rs`), and the two faces of a subscription, the
//! [`Subscription`](watch::Subscription) guard and the blocking
//! [`Watcher`](watch::Watcher) (`watch.rs`).

pub(crate) mod delivery;
pub(crate) mod handler;
pub mod watch;
