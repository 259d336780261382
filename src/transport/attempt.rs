//! One attempt on one server: the URL and headers written, the request
//! sent through the agent, and the answer read and classified (done, next
//! server, stop, token refused, gated, too large).

use std::borrow::Cow;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use ureq::http::{HeaderName, HeaderValue};

use crate::error::{snippet, Error};
use crate::secret::redact::redact;
use crate::transport::auth::Token;
use crate::transport::body::{read_capped, BodyError};
use crate::transport::dialect::Dialect;
use crate::transport::server_list::ServerAddr;
use crate::transport::{Attempt, Module, Request, Response, Transport};

/// How much less than the whole `timeout` a request's budget may be and
/// still run on the agent's own timeouts (the budget is computed a few
/// microseconds before the request starts).
const AGENT_TIMEOUT_SLACK: Duration = Duration::from_millis(1);

impl Transport {
    pub(super) fn attempt(
        &self,
        server: &ServerAddr,
        req: &Request,
        dialect: Dialect,
        budget: Duration,
        token: Option<&Token>,
        background: bool,
    ) -> Attempt {
        let phased = background && server.is_ip();
        let started = Instant::now();
        #[cfg(feature = "aksk")]
        let signed = self
            .signer
            .as_ref()
            .map(|s| {
                let resource = match req.module {
                    Module::Config => crate::transport::sign::Resource::Config,
                    Module::Naming => crate::transport::sign::Resource::Naming,
                    Module::Login => crate::transport::sign::Resource::None,
                };
                s.sign(resource, |k| req.param_value(k))
            })
            .unwrap_or_default();
        // The URL is written straight into one string, parsed by nothing:
        // the base is a checked `scheme://host:port`, the context path was
        // normalised by the builder, the path is a constant and the
        // parameters were encoded as they were added. What is added here
        // is encoded by `form_urlencoded`, as the parameters were.
        let query = req.query();
        let mut url = String::with_capacity(
            server.base().len() + self.context_path.len() + req.path.len() + query.len() + 160,
        );
        url.push_str(server.base());
        url.push_str(&self.context_path);
        url.push_str(req.path);
        url.push('?');
        let query_start = url.len();
        url.push_str(query);
        let mut url = {
            let mut q = form_urlencoded::Serializer::for_suffix(url, query_start);
            // 1.4.8 `NamingProxy.injectSecurityInfo` and 2.4.3
            // `AbstractNamingClientProxy.getAppHeaders` add `app` to every
            // naming call's query (Java's default name is "unknown"; we
            // send it only when one is configured).
            if let (Module::Naming, Some(app)) = (req.module, &self.app_name) {
                q.append_pair("app", app);
            }
            #[cfg(feature = "aksk")]
            for (k, v) in &signed.params {
                q.append_pair(k, v);
            }
            q.finish()
        };
        if url.len() == query_start {
            url.pop(); // no query: no `?`
        }
        #[cfg(feature = "aksk")]
        let extra: &[(&'static str, String)] = &signed.headers;
        #[cfg(not(feature = "aksk"))]
        let extra: &[(&'static str, String)] = &[];
        // A form body for POST and PUT even when every parameter is in the
        // query (then empty), as the Java client's `exchangeForm` sends.
        let result = if req.method.has_form() {
            self.exchange(url, &*req.body(), req, (budget, phased), extra, token)
        } else {
            self.exchange(url, (), req, (budget, phased), extra, token)
        };
        let outcome = match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                // 2.4.3 `ConfigServletInner#doGetConfig` L211 and L158
                // (r-nacos sends the first).
                let header = |name: &str| {
                    (req.module == Module::Config)
                        .then(|| resp.headers().get(name))
                        .flatten()
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let (content_md5, config_type) = (header("content-md5"), header("config-type"));
                match read_capped(resp.body_mut(), self.max_response_bytes) {
                    Ok(body) => match self.classify(server, req, dialect, status, body) {
                        Attempt::Done(mut r) => {
                            r.content_md5 = content_md5;
                            r.config_type = config_type;
                            Attempt::Done(r)
                        }
                        other => other,
                    },
                    // Not transient: asking again costs the same.
                    Err(BodyError::TooLarge) => Attempt::Oversize(self.too_large(server.label())),
                    Err(BodyError::Read(e)) => {
                        Attempt::Next(self.transport_error(server, e, budget))
                    }
                }
            }
            Err(e) => Attempt::Next(self.transport_error(server, e, budget)),
        };
        log::debug!(
            "nacos: {:?} {}{} via {} -> {} in {:?}",
            req.method,
            self.context_path,
            req.path,
            server.label(),
            match &outcome {
                Attempt::Done(r) => r.status.to_string(),
                Attempt::Next(e)
                | Attempt::Fail(e)
                | Attempt::Forbidden(e)
                | Attempt::Gone(e)
                | Attempt::Oversize(e) => e.to_string(),
            },
            started.elapsed()
        );
        outcome
    }

    /// Sends one request through the agent. The `http` request is built
    /// here, its standard headers cloned from a map built once: ureq's
    /// `RequestBuilder` moves its whole builder on every `header` call
    /// (together a tenth of a register's instructions).
    fn exchange<B: ureq::AsSendBody>(
        &self,
        url: String,
        body: B,
        req: &Request,
        // The budget, and whether it bounds each phase (see below).
        (budget, phased): (Duration, bool),
        extra: &[(&'static str, String)],
        token: Option<&Token>,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let mut request = ureq::http::Request::new(body);
        *request.method_mut() = req.method.http();
        *request.uri_mut() = ureq::http::Uri::try_from(url).map_err(ureq::http::Error::from)?;
        let headers = request.headers_mut();
        *headers = self.headers.for_request(req.module, req.method.has_form());
        for (k, v) in req.headers.iter().chain(extra) {
            headers.append(
                HeaderName::try_from(*k).map_err(ureq::http::Error::from)?,
                HeaderValue::try_from(v.as_str()).map_err(ureq::http::Error::from)?,
            );
        }
        // The token in headers, never in the URL, so no log line of any
        // crate (ureq logs request URIs at DEBUG) can show it. Each server
        // reads one of them: Java 1.4.8 `NacosAuthManager#resolveToken`
        // `Authorization: Bearer`; Java 2.x/3.x `HttpIdentityContextBuilder`
        // either; r-nacos and batata (`middleware/auth.rs extract_token`)
        // the `accessToken` header first. Marked sensitive: `http`'s
        // `Debug` prints no value.
        if let Some(t) = token {
            for (name, value) in [("accesstoken", &t.value), ("authorization", &t.bearer)] {
                let mut value =
                    HeaderValue::try_from(value.expose()).map_err(ureq::http::Error::from)?;
                value.set_sensitive(true);
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        // ureq resolves the host of every request, and whenever a whole-
        // request timeout applies it does so on a thread of its own, even
        // for an IP address (a thread per request: 70 µs of CPU on a slow
        // VM, and a scheduling round trip on a busy machine). Background
        // work to an IP-literal server (beats, polls: no caller waits on
        // them, and shutdown cuts them short anyway) bounds each phase by
        // the budget instead, which needs no lookup thread; a server that
        // is slow in two phases can stretch such a request to about twice
        // its budget. A caller's call keeps its whole deadline.
        if phased {
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(None)
                .timeout_connect(Some(self.connect_timeout.min(budget)))
                .timeout_send_request(Some(budget))
                .timeout_send_body(Some(budget))
                .timeout_recv_response(Some(budget))
                .timeout_recv_body(Some(budget))
                .build();
            return self.agent.run(request);
        }
        // The agent's own timeouts are the client's `timeout` and
        // `connect_timeout`: a first attempt whose budget is the whole
        // timeout (bar the microseconds spent before it) uses them as they
        // are. Only a shorter or longer budget (a retry, a long poll, a
        // caller's deadline) needs a request-level config, which copies
        // the agent's whole config into the request.
        if budget <= self.timeout && self.timeout - budget <= AGENT_TIMEOUT_SLACK {
            return self.agent.run(request);
        }
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(budget))
            .timeout_connect(Some(self.connect_timeout.min(budget)))
            .build();
        self.agent.run(request)
    }

    fn classify(
        &self,
        server: &ServerAddr,
        req: &Request,
        dialect: Dialect,
        status: u16,
        body: String,
    ) -> Attempt {
        if (200..300).contains(&status) || req.answers.contains(&status) {
            return Attempt::Done(Response {
                status,
                body,
                dialect,
                content_md5: None,
                config_type: None,
            });
        }
        let err = Error::Status {
            status,
            body: snippet(&body),
            server: server.label().to_string(),
        };
        match status {
            403 => Attempt::Forbidden(Error::Auth {
                message: format!("{} answered 403: {}", server.label(), snippet(&body)),
            }),
            500..=599 => Attempt::Next(err),
            410 if dialect == Dialect::V1 => Attempt::Gone(err),
            _ => Attempt::Fail(err),
        }
    }

    pub(super) fn transport_error(
        &self,
        server: &ServerAddr,
        e: ureq::Error,
        budget: Duration,
    ) -> Error {
        let server = server.label().to_string();
        let timed_out = match &e {
            ureq::Error::Timeout(_) => true,
            ureq::Error::Io(io) => matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
            _ => false,
        };
        if timed_out {
            return Error::Timeout {
                deadline: budget,
                server: Some(server),
            };
        }
        transport(server, e)
    }

    pub(super) fn too_large(&self, server: &str) -> Error {
        Error::Transport {
            server: server.to_string(),
            message: format!(
                "response larger than {} bytes (the max_response_bytes limit)",
                self.max_response_bytes
            ),
            source: None,
        }
    }
}

/// A transport error; its text is redacted, and the underlying error is
/// kept as the source only when its own text had nothing to redact.
pub(super) fn transport(server: String, e: ureq::Error) -> Error {
    let text = e.to_string();
    let message = redact(&text);
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = match message {
        Cow::Borrowed(_) => Some(Box::new(e)),
        Cow::Owned(_) => None,
    };
    Error::Transport {
        server,
        message: message.into_owned(),
        source,
    }
}
