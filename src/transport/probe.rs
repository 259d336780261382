//! Which API a server speaks, found out with a probe on first use
//! (`Api::Auto`; see `dialect.rs` for what the probes mean), and the v1
//! calls a Nacos 3.0/3.1 server gates with `410`, made again in v3.

use std::time::{Duration, Instant};

use crate::error::{snippet, Error, Result};
use crate::transport::auth::Token;
use crate::transport::body::{read_capped, BodyError};
use crate::transport::dialect::{self, Dialect, V1Probe, V3Probe};
use crate::transport::server_list::ServerAddr;
use crate::transport::{Attempt, Build, Request, Transport, CLIENT_VERSION};
use crate::util;

impl Transport {
    /// What `server` speaks: known, or found out with a probe (within
    /// `budget`). A server that cannot be reached is the next server's
    /// turn, as for any request.
    pub(super) fn dialect_of(
        &self,
        server: &ServerAddr,
        budget: Duration,
    ) -> std::result::Result<Dialect, Attempt> {
        if let Some(d) = self.dialects.get(server.label()) {
            return Ok(d);
        }
        let deadline = util::after(budget);
        let v1 = self.probe(server, dialect::V1_PROBE, budget)?;
        if (500..600).contains(&v1.0) {
            // A server in trouble says little about its API: spoken to in
            // v1 this time (its answer to the call is the useful error),
            // probed again next time.
            return Ok(Dialect::V1);
        }
        let v1_read = dialect::read_v1_probe(v1.0, &v1.1);
        let found = if v1_read == V1Probe::Real {
            Some(Dialect::V1)
        } else {
            let left = deadline.saturating_duration_since(Instant::now());
            let v3 = self.probe(server, dialect::V3_PROBE, left)?;
            if (500..600).contains(&v3.0) {
                return Err(Attempt::Next(Error::Status {
                    status: v3.0,
                    body: snippet(&v3.1),
                    server: server.label().to_string(),
                }));
            }
            let v3_read = dialect::read_v3_probe(v3.0, &v3.1);
            if let V3Probe::Serves(Some(version)) = &v3_read {
                log::debug!("nacos: {} states version {version}", server.label());
            }
            let found = dialect::decide(v1_read, &v3_read);
            if found.is_none() {
                return Err(Attempt::Fail(Error::Unsupported {
                    what: format!(
                        "{} speaks neither the Nacos v1 nor the v3 HTTP API \
                         (GET {cp}{} answered {}, GET {cp}{} answered {}); \
                         check the server address and context path",
                        server.label(),
                        dialect::V1_PROBE,
                        v1.0,
                        dialect::V3_PROBE,
                        v3.0,
                        cp = self.context_path,
                    ),
                }));
            }
            found
        };
        let d = found.unwrap_or(Dialect::V1);
        self.dialects.learn(server.label(), d);
        Ok(d)
    }

    /// One probe: the status and body of `GET <path>`, no auth.
    fn probe(
        &self,
        server: &ServerAddr,
        path: &str,
        budget: Duration,
    ) -> std::result::Result<(u16, String), Attempt> {
        let url = format!("{}{}{}", server.base(), self.context_path, path);
        let result = self
            .agent
            .get(&url)
            .header("Client-Version", CLIENT_VERSION)
            .header("RequestId", util::request_id_header())
            .config()
            .timeout_global(Some(budget))
            .timeout_connect(Some(self.connect_timeout.min(budget)))
            .build()
            .call();
        match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                match read_capped(resp.body_mut(), self.max_response_bytes) {
                    Ok(body) => {
                        log::debug!("nacos: probe {path} of {} -> {status}", server.label());
                        Ok((status, body))
                    }
                    Err(BodyError::TooLarge) => {
                        Err(Attempt::Oversize(self.too_large(server.label())))
                    }
                    Err(BodyError::Read(e)) => {
                        Err(Attempt::Next(self.transport_error(server, e, budget)))
                    }
                }
            }
            Err(e) => Err(Attempt::Next(self.transport_error(server, e, budget))),
        }
    }

    /// The request `build` makes for `server` in `dialect`, or in v3 where
    /// that server refused the v1 form of the call (`410`).
    pub(super) fn request_for(
        &self,
        server: &ServerAddr,
        build: Build<'_>,
        dialect: Dialect,
    ) -> Result<(Request, Dialect)> {
        let req = build(dialect)?;
        if dialect == Dialect::V1
            && self
                .dialects
                .is_gated(server.label(), (req.method, req.path))
        {
            return Ok((build(Dialect::V3)?, Dialect::V3));
        }
        Ok((req, dialect))
    }

    /// One attempt; a v1 call the server refuses with `410` (Nacos 3.0/3.1
    /// with API compatibility off) is made again at once in v3, within
    /// what is left of `budget`, and goes to v3 there from then on.
    pub(super) fn attempt_or_v3(
        &self,
        server: &ServerAddr,
        build: Build<'_>,
        req: &Request,
        dialect: Dialect,
        // The budget, and whether the call is background work.
        (budget, background): (Duration, bool),
        token: Option<&Token>,
    ) -> Attempt {
        let started = Instant::now();
        match self.attempt(server, req, dialect, budget, token, background) {
            Attempt::Gone(e) => match build(Dialect::V3) {
                Ok(v3) => {
                    self.dialects.gate(server.label(), (req.method, req.path));
                    let left = budget.saturating_sub(started.elapsed());
                    self.attempt(server, &v3, Dialect::V3, left, token, background)
                }
                // No v3 form: the refusal is the answer.
                Err(_) => Attempt::Fail(e),
            },
            other => other,
        }
    }
}
