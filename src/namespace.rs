//! The namespaces of a server: v1 `GET /nacos/v1/console/namespaces`
//! (Java 1.x–3.x `console/.../NamespaceController#getNamespaces`, a
//! `RestResult` `{code: 200, data: [...]}`; r-nacos alike), v3
//! `GET /nacos/v3/admin/core/namespace/list` (Java 3.x
//! `NamespaceControllerV3#getNamespaceList`, a `Result` envelope; batata
//! alike). Nacos 3.0/3.1 refuse the v1 path by default (a CONSOLE_API
//! call: `410`), and the transport then asks the v3 one.

use serde::Deserialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::metrics::Operation;
use crate::serde_util::null_default;
use crate::transport::dialect::Dialect;
use crate::transport::{Method, Module, Request};

const V1_NAMESPACES: &str = "/v1/console/namespaces";
const V3_NAMESPACES: &str = "/v3/admin/core/namespace/list";

/// The id Nacos gives the public namespace. Nacos 1.x/2.x list it with an
/// empty id; it is reported as `public` whatever the server says.
pub(crate) const PUBLIC: &str = "public";

/// One namespace, as [`NacosClient::list_namespaces`](crate::NacosClient::list_namespaces)
/// reports it (Java `api/.../model/response/Namespace`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Namespace {
    /// The id calls name (`"public"` for the public namespace).
    #[serde(rename = "namespace", default, deserialize_with = "null_default")]
    pub id: String,
    /// The name shown in the console.
    #[serde(
        rename = "namespaceShowName",
        default,
        deserialize_with = "null_default"
    )]
    pub name: String,
    /// The description.
    #[serde(rename = "namespaceDesc", default, deserialize_with = "null_default")]
    pub description: String,
    /// How many configs it may hold.
    #[serde(default, deserialize_with = "null_default")]
    pub quota: i64,
    /// How many configs it holds.
    #[serde(rename = "configCount", default, deserialize_with = "null_default")]
    pub config_count: i64,
    /// `0` the public (global) namespace, `1` a private one, `2` a custom one.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub kind: i32,
}

/// Both answers: `{code, message, data: [namespace, ...]}` (v1 code 200,
/// v3 code 0).
#[derive(Deserialize)]
struct Listed {
    code: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<Vec<Namespace>>,
}

pub(crate) fn list(ctx: &Context) -> Result<Vec<Namespace>> {
    let resp = ctx.send(Operation::Server, &|d| {
        Ok(match d {
            Dialect::V1 => Request::new(Method::Get, Module::Naming, V1_NAMESPACES),
            Dialect::V3 => Request::new(Method::Get, Module::Naming, V3_NAMESPACES),
        })
    })?;
    decode(resp.dialect, &resp.body)
}

fn decode(dialect: Dialect, body: &str) -> Result<Vec<Namespace>> {
    let listed: Listed =
        serde_json::from_str(body).map_err(|e| Error::decode("namespaces", e, body))?;
    let ok = match dialect {
        Dialect::V1 => 200,
        Dialect::V3 => 0,
    };
    if listed.code != ok {
        return Err(Error::Api {
            code: listed.code,
            message: listed.message.unwrap_or_default(),
        });
    }
    let mut all = listed.data.unwrap_or_default();
    for ns in &mut all {
        if ns.id.is_empty() {
            ns.id = PUBLIC.to_string();
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_answers_decode_and_the_public_namespace_is_public() {
        // Java 2.4.3 `RestResultUtils.success(list)`: public has an empty id.
        let v1 = r#"{"code":200,"message":null,"data":[
            {"namespace":"","namespaceShowName":"public","namespaceDesc":null,"quota":200,"configCount":3,"type":0},
            {"namespace":"dev","namespaceShowName":"Dev","namespaceDesc":"d","quota":200,"configCount":0,"type":2}]}"#;
        let got = decode(Dialect::V1, v1).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].id.as_str(), got[0].config_count), ("public", 3));
        assert_eq!(
            (got[1].id.as_str(), got[1].name.as_str(), got[1].kind),
            ("dev", "Dev", 2)
        );
        // Java 3.x `Result.success(list)`.
        let v3 = r#"{"code":0,"message":"success","data":[{"namespace":"public","namespaceShowName":"public","namespaceDesc":"Public Namespace","quota":200,"configCount":0,"type":0}]}"#;
        assert_eq!(decode(Dialect::V3, v3).unwrap()[0].id, "public");
        let refused = decode(Dialect::V3, r#"{"code":30000,"message":"no","data":null}"#);
        assert_eq!(refused.unwrap_err().api_code(), Some(30000));
        assert!(decode(Dialect::V1, "<html>").is_err());
    }
}
