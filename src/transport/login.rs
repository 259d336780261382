//! The login: a token for the calls of a client with credentials (v1
//! `/v1/auth/users/login`, v3 `/v3/auth/user/login`), counted as an
//! [`Operation::Login`], and the error a refusal with a fresh token reads as.

use std::time::{Duration, Instant};

use super::{Bounds, Method, Module, Request, Transport};
use crate::error::{Error, Result};
use crate::metrics::Operation;
use crate::transport::auth::Token;
use crate::transport::dialect::Dialect;

/// 2.4.3 `HttpLoginProcessor.LOGIN_URL` (1.4.8 `SecurityProxy.LOGIN_URL`).
pub(super) const LOGIN_PATH: &str = "/v1/auth/users/login";

/// Java 3.x `UserControllerV3#login` (`/v3/auth/user`): the same
/// parameters and answer (`accessToken`, `tokenTtl`) as v1.
pub(super) const LOGIN_PATH_V3: &str = "/v3/auth/user/login";

impl Transport {
    /// A 403 with a fresh token: the user lacks the rights for the call.
    pub(super) fn denied(&self, message: String) -> Error {
        Error::Auth {
            message: format!(
                "permission denied for user `{}`: {message}",
                self.auth.username().unwrap_or("?")
            ),
        }
    }

    pub(super) fn token(&self, deadline: Instant, total: Duration) -> Result<Option<Token>> {
        self.auth.token(deadline, total, |username, password| {
            // 2.4.3 `HttpLoginProcessor.getResponse` (1.4.8
            // `SecurityProxy.login`): username in the query, password in
            // the form body. Java 3.x reads both with `getParameter`.
            let login = |d: Dialect| {
                let path = match d {
                    Dialect::V1 => LOGIN_PATH,
                    Dialect::V3 => LOGIN_PATH_V3,
                };
                Ok(Request::new(Method::Post, Module::Login, path)
                    .param("username", username)
                    .in_query()
                    .form_param("password", password))
            };
            let started = Instant::now();
            let bounds = Bounds {
                deadline,
                total,
                hold: Duration::ZERO,
                background: false,
            };
            let answer = self.send_once(&login, bounds, None);
            self.metrics.call(
                Operation::Login,
                started.elapsed(),
                answer.as_ref().map(|_| ()),
            );
            Ok(answer?.body)
        })
    }
}
