//! The config calls in the v3 API (Nacos 3.x, batata): reads through the
//! client open API (Java 3.x `ConfigOpenApiController`, `GET
//! /nacos/v3/client/cs/config`), writes through the admin API
//! (`ConfigControllerV3`, `/nacos/v3/admin/cs/config`). v3 has no
//! listener: watches poll (see `poll.rs`).
//!
//! Java's `ConfigFormV3.validate` requires `groupName` (and copies it into
//! `group`); batata requires `group`. Both are sent. The namespace is
//! `namespaceId` (not v1's `tenant`), left out for the public namespace.

use std::time::Duration;

use serde::Deserialize;

use crate::config_center::api::Fetched;
use crate::config_center::key::ConfigKey;
use crate::config_center::wire::Wire;
use crate::error::{Error, Result};
use crate::serde_util::null_default;
use crate::transport::envelope::{self, RESOURCE_NOT_FOUND};
use crate::transport::{Method, Module, Request, Response};

const CLIENT_CONFIG: &str = "/v3/client/cs/config";
const ADMIN_CONFIG: &str = "/v3/admin/cs/config";
/// Java 3.x `ConfigControllerV3#list` (`@Secured(READ, CONFIG,
/// ADMIN_API)`), batata `api/v3/admin/config.rs`: a page of a namespace's
/// configs, each with the MD5 of its stored content.
const ADMIN_CONFIG_LIST: &str = "/v3/admin/cs/config/list";

/// Configs per page of the list (neither Java nor batata caps `pageSize`).
pub(crate) const LIST_PAGE: u32 = 500;

fn config_request(method: Method, path: &'static str, key: &ConfigKey) -> Request {
    Request::new(method, Module::Config, path)
        .param("dataId", key.data_id.as_str())
        .param("group", key.group.as_str())
        .param("groupName", key.group.as_str())
        .nonempty_param("namespaceId", &key.namespace)
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

/// Page `page_no` of every config of `namespace` (no `dataId` or
/// `groupName`: both servers then filter nothing), `search=accurate`
/// (Java; batata ignores it).
pub(crate) fn list_request(namespace: &str, page_no: u32) -> Request {
    Request::new(Method::Get, Module::Config, ADMIN_CONFIG_LIST)
        .nonempty_param("namespaceId", namespace)
        .param("search", "accurate")
        .param("pageNo", page_no)
        .param("pageSize", LIST_PAGE)
}

/// One page of the config list: `(group, data id, md5)` of each item, and
/// how many configs there are in all.
pub(crate) struct ListedPage {
    pub(crate) items: Vec<(String, String, String)>,
    pub(crate) total: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default, deserialize_with = "null_default")]
    total_count: u64,
    #[serde(default, deserialize_with = "null_default")]
    page_items: Vec<Listed>,
}

/// `ConfigBasicInfo` (Java 3.x `api/config/model`; batata
/// `console/api_model.rs`): the fields a watch needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    #[serde(default, deserialize_with = "null_default")]
    data_id: String,
    #[serde(default, deserialize_with = "null_default")]
    group_name: String,
    #[serde(default, deserialize_with = "null_default")]
    md5: String,
}

pub(crate) fn decode_list(body: &str) -> Result<ListedPage> {
    let page = envelope::data::<Page>("config list", body)?;
    Ok(ListedPage {
        items: page
            .page_items
            .into_iter()
            .map(|l| (l.group_name, l.data_id, l.md5))
            .collect(),
        total: page.total_count,
    })
}

/// The v3 API's config calls (see [`Wire`]).
pub(crate) struct V3;

impl Wire for V3 {
    /// A missing config is `20004`, with HTTP 200 (Java) or 404.
    fn get(&self, key: &ConfigKey) -> Request {
        config_request(Method::Get, CLIENT_CONFIG, key).answers(&[404])
    }

    /// The content and the MD5 the server computed, in the envelope's data.
    fn decode_get(&self, resp: Response) -> Result<Fetched> {
        match envelope::open::<ConfigData>("config", &resp.body)? {
            Ok(Some(d)) => Ok(Fetched {
                content: Some(d.content),
                md5: d.md5,
                config_type: d.content_type.filter(|t| !t.is_empty()),
            }),
            Ok(None) => Ok(Fetched::default()),
            Err(r) if r.code == RESOURCE_NOT_FOUND => Ok(Fetched::default()),
            Err(r) => Err(r.into()),
        }
    }

    /// Through the admin API; the content goes in the form body.
    fn publish(&self, key: &ConfigKey) -> Request {
        config_request(Method::Post, ADMIN_CONFIG, key)
    }

    fn remove(&self, key: &ConfigKey) -> Request {
        config_request(Method::Delete, ADMIN_CONFIG, key)
    }

    fn written(&self, what: &'static str, body: &str) -> Result<()> {
        envelope::done(what, body)
    }

    fn listen(&self, _configs: &str, _namespace: &str, _hold: Duration) -> Result<Request> {
        Err(Error::Unsupported {
            what: "config listening: the v3 API has none (watches poll instead)".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_get(body: &str) -> Result<Fetched> {
        V3.decode_get(Response {
            status: 200,
            body: body.to_string(),
            dialect: crate::transport::dialect::Dialect::V3,
            content_md5: None,
            config_type: None,
        })
    }

    #[test]
    fn reads_decode_content_md5_and_not_found() {
        let found = decode_get(
            r#"{"code":0,"message":"success","data":{"content":"a=1","md5":"x","contentType":"json"}}"#,
        )
        .unwrap();
        assert_eq!(found.content.as_deref(), Some("a=1"));
        assert_eq!(
            (found.md5.as_str(), found.config_type.as_deref()),
            ("x", Some("json"))
        );
        let missing = r#"{"code":20004,"message":"resource not found","data":null}"#;
        assert_eq!(decode_get(missing).unwrap().content, None);
        assert!(decode_get(r#"{"code":30000,"message":"boom"}"#).is_err());
        assert!(decode_get("config data not exist").is_err());
    }
}
