//! The one place that picks the v1 or v3 form of a naming call: [`Wire`]
//! is what a naming call needs from an API generation (the request it
//! sends, how its answer reads), implemented once for v1 (`v1.rs`) and
//! once for v3 (`v3.rs`); [`wire`] gives the implementation a server
//! speaks.

use crate::error::Result;
use crate::naming::beat::{BeatInfo, BeatResult};
use crate::naming::instance::{Instance, InstanceDetail};
use crate::naming::service::{
    Listing, ServiceDetail, ServiceInfo, ServiceKey, ServiceList, ServiceSpec, Target,
};
use crate::naming::{v1, v3};
use crate::transport::dialect::Dialect;
use crate::transport::{Method, Request};

/// A naming call's request and answer in one API generation.
pub(crate) trait Wire: Sync {
    fn register(&self, key: &ServiceKey, inst: &Instance) -> Request;
    fn deregister(&self, key: &ServiceKey, inst: &Instance) -> Request;
    fn update(&self, key: &ServiceKey, inst: &Instance) -> Request;
    /// A write's answer (v1: any 2xx; v3: an envelope whose code is 0).
    fn written(&self, body: &str) -> Result<()>;
    fn detail(&self, key: &ServiceKey, ip: &str, port: u16, cluster: &str) -> Request;
    fn decode_detail(&self, body: &str) -> Result<InstanceDetail>;
    fn list(&self, target: &Target) -> Request;
    /// An instance list as sent (hosts still to be checked).
    fn decode_list(&self, target: &Target, body: &str) -> Result<ServiceInfo>;
    /// How deep the per-answer stamps (`lastRefTime`, `checksum`) sit: the
    /// top-level object of a v1 answer, the envelope's `data` of a v3 one.
    fn stamp_depth(&self) -> usize;
    /// A beat (a light one leaves the instance's details out, where the
    /// API has light beats).
    fn beat(&self, key: &ServiceKey, beat: &BeatInfo<'_>, light: bool) -> Result<Request>;
    fn decode_beat(&self, body: &str) -> Result<BeatResult>;
    fn service_get(&self, key: &ServiceKey) -> Request;
    fn decode_service(&self, key: &ServiceKey, body: &str) -> Result<ServiceDetail>;
    /// Creates (`Post`) or updates (`Put`) a service.
    fn service_write(&self, method: Method, key: &ServiceKey, spec: &ServiceSpec) -> Request;
    fn service_delete(&self, key: &ServiceKey) -> Request;
    /// Page `page_no` (of `page_size`) of the services `of` lists.
    fn service_list(&self, of: Listing<'_>, page_no: u32, page_size: u32) -> Request;
    /// A page as the server sent it: the total and the page's services,
    /// whatever their group (the caller keeps those it asked for).
    fn decode_service_list(&self, of: Listing<'_>, body: &str) -> Result<ServiceList>;
    fn status(&self) -> Request;
    fn decode_status(&self, body: &str) -> Result<String>;
}

/// The naming calls of the API `dialect`.
pub(crate) fn wire(dialect: Dialect) -> &'static dyn Wire {
    match dialect {
        Dialect::V1 => &v1::V1,
        Dialect::V3 => &v3::V3,
    }
}
