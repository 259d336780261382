//! The one place that picks the v1 or v3 form of a config call: [`Wire`]
//! is what a config call needs from an API generation (the request it
//! sends, how its answer reads), implemented once for v1 (`v1.rs`) and
//! once for v3 (`v3.rs`); [`wire`] gives the implementation a server
//! speaks. The v3 list of a namespace's MD5s has no v1 form and stays a
//! v3 call (`v3_poll.rs`).

use std::time::Duration;

use crate::config_center::api::Fetched;
use crate::config_center::key::ConfigKey;
use crate::config_center::{v1, v3};
use crate::error::Result;
use crate::transport::dialect::Dialect;
use crate::transport::{Request, Response};

/// A config call's request and answer in one API generation.
pub(crate) trait Wire: Sync {
    /// A read (a missing config is an answer, not an error).
    fn get(&self, key: &ConfigKey) -> Request;
    /// What a read found (no content: the config does not exist).
    fn decode_get(&self, resp: Response) -> Result<Fetched>;
    /// A publish of `key`, without what is published: both APIs take the
    /// same parameters for it (`content`, `type`, `appName`), which the
    /// caller adds.
    fn publish(&self, key: &ConfigKey) -> Request;
    fn remove(&self, key: &ConfigKey) -> Request;
    /// A write's answer (v1: `true`; v3: an envelope whose code is 0).
    fn written(&self, what: &'static str, body: &str) -> Result<()>;
    /// A long poll of the encoded `Listening-Configs` of one `namespace`,
    /// held up to `hold` (an error where the API has none: v3 polls).
    fn listen(&self, configs: &str, namespace: &str, hold: Duration) -> Result<Request>;
}

/// The config calls of the API `dialect`.
pub(crate) fn wire(dialect: Dialect) -> &'static dyn Wire {
    match dialect {
        Dialect::V1 => &v1::V1,
        Dialect::V3 => &v3::V3,
    }
}
