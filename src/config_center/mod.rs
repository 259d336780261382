//! The config center: get, publish and remove configs, and watch them with
//! one long poll per client, with snapshots for when the servers are away.

pub(crate) mod api;
pub(crate) mod event;
pub(crate) mod key;
pub(crate) mod listen;
mod md5;
mod poll;
mod protocol;
mod snapshot;
