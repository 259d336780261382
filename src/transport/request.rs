//! One API call as this client sends it, whatever server takes it: the
//! request (method, path, parameters, headers), how long it may take, and
//! the answer.

use std::fmt;
use std::time::Duration;

use crate::dialect::Dialect;
use crate::error::{snippet, Result};

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
            hold: Duration::ZERO,
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
pub(crate) struct Request {
    pub(super) method: Method,
    pub(super) path: &'static str,
    pub(super) module: Module,
    params: Vec<(&'static str, String)>,
    /// Always in the form body (POST and PUT only).
    form: Vec<(&'static str, String)>,
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
            // Room for a registration's dozen parameters at once (growing
            // from empty took three allocations).
            params: Vec::with_capacity(12),
            form: Vec::new(),
            params_in_query: false,
            headers: Vec::new(),
            answers: &[],
        }
    }

    pub(crate) fn param(mut self, key: &'static str, value: impl Into<String>) -> Request {
        self.params.push((key, value.into()));
        self
    }

    /// Adds the parameter only when there is a value (never sends "None").
    pub(crate) fn opt_param(self, key: &'static str, value: Option<impl Into<String>>) -> Request {
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
    pub(crate) fn form_param(mut self, key: &'static str, value: impl Into<String>) -> Request {
        debug_assert!(matches!(self.method, Method::Post | Method::Put));
        self.form.push((key, value.into()));
        self
    }

    /// The value of a parameter (query or form), for signing.
    #[cfg_attr(not(feature = "aksk"), allow(dead_code))]
    pub(crate) fn param_value(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .chain(&self.form)
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters that go in the URL query.
    pub(super) fn query_params(&self) -> &[(&'static str, String)] {
        if self.params_in_query || matches!(self.method, Method::Get | Method::Delete) {
            &self.params
        } else {
            &[]
        }
    }

    /// The fields of the form body (POST and PUT).
    pub(super) fn body_params(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let params: &[(&'static str, String)] = if self.params_in_query {
            &[]
        } else {
            &self.params
        };
        params
            .iter()
            .chain(&self.form)
            .map(|(k, v)| (*k, v.as_str()))
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
        let names =
            |pairs: &[(&'static str, String)]| pairs.iter().map(|p| p.0).collect::<Vec<_>>();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("module", &self.module)
            .field("params", &names(&self.params))
            .field("form", &names(&self.form))
            .field("params_in_query", &self.params_in_query)
            .field("headers", &names(&self.headers))
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
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body", &snippet(&self.body))
            .finish()
    }
}
