//! The v3 answer envelope `{"code": 0, "message": "success", "data": ...}`
//! (Java 3.x `api/.../model/v2/Result.java`) and its error codes
//! (`api/.../model/v2/ErrorCode.java`).

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{snippet, Error, Result};

/// Success.
pub(crate) const SUCCESS: i64 = 0;
/// `ACCESS_DENIED`: the user lacks the rights.
pub(crate) const ACCESS_DENIED: i64 = 10001;
/// `RESOURCE_NOT_FOUND`: e.g. a config get of a missing config (HTTP 200
/// in Java's `ConfigOpenApiController`, 404 in the admin instance detail).
pub(crate) const RESOURCE_NOT_FOUND: i64 = 20004;
/// `INSTANCE_NOT_FOUND`: a heartbeat for an instance the server does not
/// know (HTTP 200): register again.
pub(crate) const INSTANCE_NOT_FOUND: i64 = 21003;

#[derive(Deserialize)]
struct Envelope<T> {
    code: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default = "none")]
    data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// A v3 answer that is not a success: its code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        let message = snippet(&r.message);
        if r.code == ACCESS_DENIED {
            Error::Auth {
                message: format!("code {}: {message}", r.code),
            }
        } else {
            Error::Api {
                code: r.code,
                message,
            }
        }
    }
}

/// Opens an envelope: its data (which may be absent) on success, the
/// refusal otherwise. A body that is no envelope is a decode error, a JSON
/// array among them (serde would read `[0]` as the struct's fields in
/// order: a success).
pub(crate) fn open<T: DeserializeOwned>(
    what: &'static str,
    body: &str,
) -> Result<std::result::Result<Option<T>, Refusal>> {
    if !body.trim_start().starts_with('{') {
        return Err(Error::decode(what, "not a JSON object", body));
    }
    let env: Envelope<T> = serde_json::from_str(body).map_err(|e| Error::decode(what, e, body))?;
    if env.code == SUCCESS {
        Ok(Ok(env.data))
    } else {
        Ok(Err(Refusal {
            code: env.code,
            message: env.message.unwrap_or_default(),
        }))
    }
}

/// The data of a successful answer; a refusal or missing data is an error.
pub(crate) fn data<T: DeserializeOwned>(what: &'static str, body: &str) -> Result<T> {
    match open::<T>(what, body)? {
        Ok(Some(data)) => Ok(data),
        Ok(None) => Err(Error::decode(what, "a success without data", body)),
        Err(refusal) => Err(refusal.into()),
    }
}

/// A write's answer: any success (`data` is `"ok"` in Java, `true` in
/// batata) is done.
pub(crate) fn done(what: &'static str, body: &str) -> Result<()> {
    match open::<serde::de::IgnoredAny>(what, body)? {
        Ok(_) => Ok(()),
        Err(refusal) => Err(refusal.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_open_as_java_writes_them() {
        // serde reads a struct from an array too: `[0]` is no success.
        assert!(open::<String>("x", "[0]").is_err());
        assert!(open::<String>("x", " [0, null, \"ok\"]").is_err());
        assert_eq!(
            data::<String>("x", r#"{"code":0,"message":"success","data":"ok"}"#).unwrap(),
            "ok"
        );
        done("x", r#"{"code":0,"message":"success","data":true}"#).unwrap();
        let r = open::<String>(
            "x",
            r#"{"code":21003,"message":"instance not found","data":null}"#,
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(r.code, INSTANCE_NOT_FOUND);
        let e: Error = r.into();
        assert_eq!(e.api_code(), Some(21003));
        assert!(e.to_string().contains("instance not found"), "{e}");
        let denied: Error = Refusal {
            code: ACCESS_DENIED,
            message: "no".into(),
        }
        .into();
        assert!(denied.is_auth());
        assert!(data::<String>("x", "<html>").is_err());
        assert!(data::<String>("x", r#"{"code":0,"data":null}"#).is_err());
    }

    #[test]
    fn a_refusal_never_keeps_a_secret() {
        let body = r#"{"code":30000,"message":"bad request ?accessToken=tok-1&password=pw-2"}"#;
        let e = data::<String>("x", body).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("tok-1") && !shown.contains("pw-2"),
            "{shown}"
        );
    }
}
