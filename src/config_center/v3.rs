//! The config calls in the v3 API (Nacos 3.x, batata): reads through the
//! client open API (Java 3.x `ConfigOpenApiController`, `GET
//! /nacos/v3/client/cs/config`), writes through the admin API
//! (`ConfigControllerV3`, `/nacos/v3/admin/cs/config`). v3 has no
//! listener: watches poll (see `poll.rs`).
//!
//! Java's `ConfigFormV3.validate` requires `groupName` (and copies it into
//! `group`); batata requires `group`. Both are sent. The namespace is
//! `namespaceId` (not v1's `tenant`), left out for the public namespace.

use serde::Deserialize;

use crate::config_center::key::ConfigKey;
use crate::envelope::{self, RESOURCE_NOT_FOUND};
use crate::error::Result;
use crate::serde_util::null_default;
use crate::transport::{Method, Module, Request};

const CLIENT_CONFIG: &str = "/v3/client/cs/config";
const ADMIN_CONFIG: &str = "/v3/admin/cs/config";

fn config_request(method: Method, path: &'static str, key: &ConfigKey) -> Request {
    Request::new(method, Module::Config, path)
        .param("dataId", key.data_id.as_str())
        .param("group", key.group.as_str())
        .param("groupName", key.group.as_str())
        .nonempty_param("namespaceId", &key.namespace)
}

/// A read; a missing config is `20004`, with HTTP 200 (Java) or 404.
pub(crate) fn get_request(key: &ConfigKey) -> Request {
    config_request(Method::Get, CLIENT_CONFIG, key).answers(&[404])
}

/// What a read found: the content and the MD5 the server computed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) content: String,
    /// Empty when the server sent none.
    pub(crate) md5: String,
    /// The config's type (`ConfigQueryResponse.contentType`), if sent.
    pub(crate) config_type: Option<String>,
}

#[derive(Deserialize)]
struct ConfigData {
    #[serde(default, deserialize_with = "null_default")]
    content: String,
    #[serde(default, deserialize_with = "null_default")]
    md5: String,
    #[serde(default, rename = "contentType")]
    content_type: Option<String>,
}

/// Decodes a read: `None` when the config does not exist.
pub(crate) fn decode_get(body: &str) -> Result<Option<Found>> {
    match envelope::open::<ConfigData>("config", body)? {
        Ok(Some(d)) => Ok(Some(Found {
            content: d.content,
            md5: d.md5,
            config_type: d.content_type.filter(|t| !t.is_empty()),
        })),
        Ok(None) => Ok(None),
        Err(r) if r.code == RESOURCE_NOT_FOUND => Ok(None),
        Err(r) => Err(r.into()),
    }
}

/// A publish: the content in the form body.
pub(crate) fn publish_request(
    key: &ConfigKey,
    content: &str,
    config_type: Option<&str>,
    app_name: Option<&str>,
) -> Request {
    config_request(Method::Post, ADMIN_CONFIG, key)
        .param("content", content)
        .opt_param("type", config_type)
        .opt_param("appName", app_name)
}

pub(crate) fn remove_request(key: &ConfigKey) -> Request {
    config_request(Method::Delete, ADMIN_CONFIG, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_decode_content_md5_and_not_found() {
        let found = decode_get(
            r#"{"code":0,"message":"success","data":{"content":"a=1","md5":"x","type":"text"}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((found.content.as_str(), found.md5.as_str()), ("a=1", "x"));
        let missing = r#"{"code":20004,"message":"resource not found","data":null}"#;
        assert_eq!(decode_get(missing).unwrap(), None);
        assert!(decode_get(r#"{"code":30000,"message":"boom"}"#).is_err());
        assert!(decode_get("config data not exist").is_err());
    }
}
