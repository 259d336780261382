//! One API call as this client sends it, whatever server takes it: the
//! request (method, path, parameters, headers), how long it may take, and
//! the answer.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use super::form::{push_pair, ParamValue};
use crate::error::{snippet, Result};
use crate::transport::dialect::Dialect;

/// How long a call may take, whatever API it is written in.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timing {
    /// The call's deadline when less than the client's `timeout` is left.
    pub(crate) within: Option<Duration>,
    /// The server may hold the request this long before answering (long
    /// poll); it is added to the deadline.
    pub(crate) hold: Duration,
}

impl Timing {
    /// The call must finish within `left` (what is left of a deadline the
    /// caller already spent part of), if that is less than the timeout.
    pub(crate) fn within(left: Duration) -> Timing {
        Timing {
            within: Some(left),
            ..Timing::default()
        }
    }
}

/// Builds a call's request for a server that speaks the given API, or
/// says that API cannot make the call ([`Error::Unsupported`]).
pub(crate) type Build<'a> = &'a dyn Fn(Dialect) -> Result<Request>;

/// The HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub(super) fn http(self) -> ureq::http::Method {
        match self {
            Method::Get => ureq::http::Method::GET,
            Method::Post => ureq::http::Method::POST,
            Method::Put => ureq::http::Method::PUT,
            Method::Delete => ureq::http::Method::DELETE,
        }
    }

    /// The method as written in a request line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// POST and PUT carry a form body; GET and DELETE none.
    pub(super) fn has_form(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }
}

/// Which part of Nacos a request is for (the `Request-Module` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Module {
    Naming,
    Config,
    Login,
}

impl Module {
    pub(super) fn header(self) -> &'static str {
        match self {
            Module::Naming => "Naming",
            Module::Config => "Config",
            Module::Login => "Login",
        }
    }
}

/// One API call. Parameters travel in the query for GET and DELETE and in
/// a form body for POST and PUT, unless [`in_query`](Request::in_query)
/// puts them in the query for every method; [`form_param`](Request::form_param)
/// always goes in the form body. `Debug` names parameters and headers
/// without their values (a login request holds the password).
///
/// Parameters are form-encoded into one buffer as they are added (the
/// encoding Java's `URLEncoder` gives: `+` for a space, `*-._` kept), so
/// a registration's dozen parameters cost one allocation, not a `String`
/// each, and numbers and flags are written without `format!`.
pub(crate) struct Request {
    pub(super) method: Method,
    pub(super) path: &'static str,
    pub(super) module: Module,
    /// `k=v&k=v`, encoded.
    params: String,
    /// Always in the form body (POST and PUT only), encoded.
    form: String,
    params_in_query: bool,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) answers: &'static [u16],
}

impl Request {
    pub(crate) fn new(method: Method, module: Module, path: &'static str) -> Request {
        Request {
            method,
            path,
            module,
            // Room for a registration's parameters at once.
            params: String::with_capacity(256),
            form: String::new(),
            params_in_query: false,
            headers: Vec::new(),
            answers: &[],
        }
    }

    pub(crate) fn param(mut self, key: &'static str, value: impl ParamValue) -> Request {
        push_pair(&mut self.params, key, value);
        self
    }

    /// Adds the parameter only when there is a value (never sends "None").
    pub(crate) fn opt_param(self, key: &'static str, value: Option<impl ParamValue>) -> Request {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }

    /// Adds the parameter only when it is not empty.
    pub(crate) fn nonempty_param(self, key: &'static str, value: &str) -> Request {
        if value.is_empty() {
            self
        } else {
            self.param(key, value)
        }
    }

    /// Sends the parameters in the URL query whatever the method, with an
    /// empty form body for POST and PUT: what the Java naming client does
    /// for every call (1.4.8 `NamingProxy.callServer` and 2.4.3
    /// `NamingHttpClientProxy.callServer` pass `params` as the query of
    /// `exchangeForm`, with only `body` in the form).
    pub(crate) fn in_query(mut self) -> Request {
        self.params_in_query = true;
        self
    }

    /// A field of the form body, whatever [`in_query`](Request::in_query)
    /// says (POST and PUT only).
    pub(crate) fn form_param(mut self, key: &'static str, value: impl ParamValue) -> Request {
        debug_assert!(self.method.has_form());
        push_pair(&mut self.form, key, value);
        self
    }

    /// The value of a parameter (query or form), decoded, for signing.
    #[cfg_attr(not(feature = "aksk"), allow(dead_code))]
    pub(crate) fn param_value(&self, key: &str) -> Option<String> {
        form_urlencoded::parse(self.params.as_bytes())
            .chain(form_urlencoded::parse(self.form.as_bytes()))
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// The encoded parameters that go in the URL query (`k=v&k=v`).
    pub(super) fn query(&self) -> &str {
        if self.params_in_query || !self.method.has_form() {
            &self.params
        } else {
            ""
        }
    }

    /// The encoded form body (POST and PUT): borrowed unless parameters
    /// and form fields must be joined, so an attempt does not copy it.
    pub(super) fn body(&self) -> Cow<'_, str> {
        match (self.params_in_query, self.form.is_empty()) {
            (true, _) => Cow::Borrowed(&self.form),
            (false, true) => Cow::Borrowed(&self.params),
            (false, false) => Cow::Owned(format!("{}&{}", self.params, self.form)),
        }
    }

    pub(crate) fn header(mut self, key: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((key, value.into()));
        self
    }

    /// Non-2xx statuses that are answers rather than failures (e.g. 404).
    pub(crate) fn answers(mut self, statuses: &'static [u16]) -> Request {
        self.answers = statuses;
        self
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn names(pairs: &str) -> Vec<&str> {
            pairs
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split('=').next().unwrap_or(""))
                .collect()
        }
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("module", &self.module)
            .field("params", &names(&self.params))
            .field("form", &names(&self.form))
            .field("params_in_query", &self.params_in_query)
            .field(
                "headers",
                &self.headers.iter().map(|h| h.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A server's answer. `Debug` shows the body redacted (a login answer
/// holds the token).
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: String,
    /// The API the answering server was spoken to in.
    pub(crate) dialect: Dialect,
    /// A config answer's `Content-MD5` header: the MD5 the server holds
    /// for the config (of the stored, maybe encrypted content).
    pub(crate) content_md5: Option<String>,
    /// A config answer's `Config-Type` header (Java 2.x+).
    pub(crate) config_type: Option<String>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body", &snippet(&self.body))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_go_in_the_query_or_the_body_and_decode_back() {
        let get = Request::new(Method::Get, Module::Config, "/p")
            .param("dataId", "a b")
            .param("tenant", "ns");
        assert_eq!(get.query(), "dataId=a+b&tenant=ns");
        assert_eq!(get.param_value("dataId").as_deref(), Some("a b"));
        assert_eq!(get.param_value("group"), None);

        let post = Request::new(Method::Post, Module::Config, "/p")
            .param("content", "x=1&y")
            .form_param("beat", "{}");
        assert_eq!(post.query(), "");
        assert_eq!(post.body(), "content=x%3D1%26y&beat=%7B%7D");
        assert_eq!(post.param_value("beat").as_deref(), Some("{}"));

        let naming = Request::new(Method::Put, Module::Naming, "/p")
            .in_query()
            .param("ip", "1.2.3.4")
            .form_param("beat", "{}");
        assert_eq!(naming.query(), "ip=1.2.3.4");
        assert_eq!(naming.body(), "beat=%7B%7D");
        let debug = format!("{naming:?}");
        assert!(
            debug.contains("[\"ip\"]") && !debug.contains("1.2.3.4"),
            "{debug}"
        );
    }
}
