//! Service registry: instances, services, heartbeats models, selection.

pub(crate) mod api;
pub(crate) mod beat;
pub(crate) mod instance;
pub(crate) mod select;
pub(crate) mod service;
mod v1;
mod v3;
pub(crate) mod wire;
