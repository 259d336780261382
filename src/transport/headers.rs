//! The headers every request carries, as the Java client sends them,
//! built once per client: a request clones the set for its module and
//! method and writes its own request id into it.

use ureq::http::header::CONTENT_TYPE;
use ureq::http::{HeaderMap, HeaderName, HeaderValue};

use super::request::Module;
use crate::util;

/// The `Client-Version` header: the Nacos client version whose HTTP
/// requests this crate reproduces (our own name and version travel in
/// `User-Agent`).
///
/// The Java client sends its bare version here (2.4.3
/// `NamingHttpUtil.builderHeader` and 1.4.8 `ServerHttpAgent.getSpasHeaders`:
/// `Client-Version: VersionUtils.version`, e.g. `2.4.3`), and the config
/// server reads it with `Protocol.getVersionNumber` (2.4.3
/// `config/.../utils/Protocol.java`), which splits on `.` and folds the
/// parts that parse as integers (`sum * 10 + part`), skipping the rest:
/// `2.4.3` reads as 243, `nacos-blocking/0.1.0` as 10 and
/// `Nacos-Rust-Blocking:v2.4.3` as 43. `ConfigServletInner.doPollingConfig`
/// compares that with 204 (2.0.4): below it a short poll's answer goes into
/// `Probe-Modify-Response*` headers. Our listener requests always carry
/// `Long-Pulling-Timeout` and so never take that path, but the value still
/// says which protocol level we speak, so it must parse as a version.
pub(crate) const CLIENT_VERSION: &str = "2.4.3";

// The names of the headers every request carries (the Java client's
// spelling; HTTP/1.1 names are case-insensitive and `http` keeps them
// lower-case), built at compile time.
const CLIENT_VERSION_HEADER: HeaderName = HeaderName::from_static("client-version");
const REQUEST_MODULE_HEADER: HeaderName = HeaderName::from_static("request-module");
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("requestid");
const ACCEPT_CHARSET_HEADER: HeaderName = HeaderName::from_static("accept-charset");
const CLIENT_APPNAME_HEADER: HeaderName = HeaderName::from_static("client-appname");

/// The standard headers of each kind of request: per module, without
/// and with a form body.
#[derive(Debug)]
pub(super) struct StandardHeaders {
    sets: [[HeaderMap; 2]; 3],
}

impl StandardHeaders {
    /// `app` is the `Client-AppName` value: printable ASCII, as the
    /// builder checks, so always a valid header value.
    pub(super) fn new(app: Option<&str>) -> StandardHeaders {
        let app = app.and_then(|a| HeaderValue::from_str(a).ok());
        let set = |module: Module, form: bool| {
            let mut h = HeaderMap::with_capacity(8);
            h.insert(
                CLIENT_VERSION_HEADER,
                HeaderValue::from_static(CLIENT_VERSION),
            );
            h.insert(
                REQUEST_MODULE_HEADER,
                HeaderValue::from_static(module.header()),
            );
            // A place for the request's own id, so writing it replaces a
            // value rather than growing a cloned map.
            h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("-"));
            h.insert(ACCEPT_CHARSET_HEADER, HeaderValue::from_static("UTF-8"));
            if let Some(app) = &app {
                h.insert(CLIENT_APPNAME_HEADER, app.clone());
            }
            if form {
                // What ureq's `send_form` sets (the Java client's
                // `exchangeForm` sends the same type).
                h.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
            }
            h
        };
        let pair = |m: Module| [set(m, false), set(m, true)];
        StandardHeaders {
            sets: [
                pair(Module::Naming),
                pair(Module::Config),
                pair(Module::Login),
            ],
        }
    }

    /// The headers of one request: its module's set, with a fresh
    /// `RequestId` (the Java client sends a new UUID with every request,
    /// 2.4.3 `NamingHttpClientProxy`/`ServerHttpAgent`, and Java servers
    /// log it).
    pub(super) fn for_request(&self, module: Module, form: bool) -> HeaderMap {
        let m = match module {
            Module::Naming => 0,
            Module::Config => 1,
            Module::Login => 2,
        };
        let mut h = self.sets[m][usize::from(form)].clone();
        h.insert(REQUEST_ID_HEADER, util::request_id_header());
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_gets_the_java_headers_and_its_own_id() {
        let std = StandardHeaders::new(Some("shop"));
        let a = std.for_request(Module::Config, true);
        let b = std.for_request(Module::Config, true);
        let names: Vec<&str> = a.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names,
            [
                "client-version",
                "request-module",
                "requestid",
                "accept-charset",
                "client-appname",
                "content-type"
            ]
        );
        assert_eq!(a["request-module"], "Config");
        assert_eq!(a["client-appname"], "shop");
        assert_eq!(a["requestid"].len(), 36);
        assert_ne!(a["requestid"], b["requestid"]);
        let get = StandardHeaders::new(None).for_request(Module::Naming, false);
        assert_eq!(get["request-module"], "Naming");
        assert!(get.get("content-type").is_none() && get.get("client-appname").is_none());
    }
}
