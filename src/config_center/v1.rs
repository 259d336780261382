//! The config calls in the v1 OpenAPI (`/nacos/v1/cs/configs`), as the
//! Java 1.4.8 client sends them (`ClientWorker`, `NacosConfigService`).

use std::time::Duration;

use crate::config_center::api::Fetched;
use crate::config_center::key::ConfigKey;
use crate::config_center::md5;
use crate::config_center::wire::Wire;
use crate::error::{Error, Result};
use crate::transport::{Method, Module, Request, Response};

const CONFIGS: &str = "/v1/cs/configs";
const LISTENER: &str = "/v1/cs/configs/listener";

/// The v1 API's config calls (see [`Wire`]).
pub(crate) struct V1;

/// A request naming the config as Java's v1 client does: `dataId`,
/// `group`, and `tenant` (left out for the public namespace).
fn config_request(method: Method, key: &ConfigKey) -> Request {
    Request::new(method, Module::Config, CONFIGS)
        .param("dataId", key.data_id.as_str())
        .param("group", key.group.as_str())
        .nonempty_param("tenant", &key.namespace)
}

/// A header MD5 as the server sent it, if it is one (32 hex digits).
fn server_md5(header: Option<String>) -> String {
    header
        .filter(|m| md5::is_hex(m))
        .map(|m| m.to_ascii_lowercase())
        .unwrap_or_default()
}

impl Wire for V1 {
    /// 1.4.8 `ClientWorker.getServerConfig`: 404 is "no such config".
    fn get(&self, key: &ConfigKey) -> Request {
        config_request(Method::Get, key).answers(&[404])
    }

    /// The content is the body; the MD5 the `Content-MD5` header of Java
    /// 2.x+ and r-nacos, the type the `Config-Type` header (Java 2.x+).
    fn decode_get(&self, resp: Response) -> Result<Fetched> {
        if resp.status == 404 {
            return Ok(Fetched::default());
        }
        Ok(Fetched {
            md5: server_md5(resp.content_md5),
            config_type: resp.config_type,
            content: Some(resp.body),
        })
    }

    fn publish(&self, key: &ConfigKey) -> Request {
        config_request(Method::Post, key)
    }

    fn remove(&self, key: &ConfigKey) -> Request {
        config_request(Method::Delete, key)
    }

    fn written(&self, what: &'static str, body: &str) -> Result<()> {
        if body.trim() == "true" {
            Ok(())
        } else {
            Err(Error::decode(what, "expected `true`", body))
        }
    }

    /// As the Java client (1.4.8 `ClientWorker.checkUpdateConfigStr`): the
    /// request carries `Long-Pulling-Timeout: <ms>` (without it a Java 2.x
    /// server takes the short-poll path of
    /// `ConfigServletInner.doPollingConfig`, which answers nowhere usable
    /// from 2.0.4 on). The `tenant` parameter is what the Java client adds
    /// to every config request of a namespaced client (1.4.8
    /// `ServerHttpAgent.injectSecurityInfo`); one Java client has one
    /// namespace, hence one namespace per request.
    fn listen(&self, configs: &str, namespace: &str, hold: Duration) -> Result<Request> {
        Ok(Request::new(Method::Post, Module::Config, LISTENER)
            .param("Listening-Configs", configs)
            .nonempty_param("tenant", namespace)
            .header("Long-Pulling-Timeout", hold.as_millis().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_md5s_are_taken_only_when_they_are_md5s() {
        let md5 = "0123456789ABCDEF0123456789abcdef";
        assert_eq!(server_md5(Some(md5.into())), md5.to_ascii_lowercase());
        for bad in ["", "xyz", &md5[1..], "g123456789abcdef0123456789abcdef"] {
            assert_eq!(server_md5(Some(bad.into())), "", "{bad}");
        }
        assert_eq!(server_md5(None), "");
    }
}
