//! Username/password login and access-token reuse.
//!
//! One token is shared by every call and thread of a client. It is
//! refreshed at 90% of its `tokenTtl`; however many threads find it stale
//! at once, only one of them logs in (the others wait for its answer).

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::Credentials;
use crate::error::{Error, Result};

/// A token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: String,
    refresh_at: Instant,
    /// Which login produced it, so a 403 invalidates only the token it saw.
    pub(crate) generation: u64,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("generation", &self.generation)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginAnswer {
    access_token: Option<String>,
    #[serde(default)]
    token_ttl: Option<u64>,
}

/// The login state of one client.
#[derive(Debug)]
pub(crate) struct Auth {
    credentials: Option<Credentials>,
    token: Mutex<Option<Token>>,
    /// Held by the one thread that logs in.
    login: Mutex<u64>,
}

impl Auth {
    pub(crate) fn new(credentials: Option<Credentials>) -> Auth {
        Auth {
            credentials,
            token: Mutex::new(None),
            login: Mutex::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.credentials.is_some()
    }

    fn current(&self) -> Option<Token> {
        let guard = lock(&self.token);
        guard
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .cloned()
    }

    /// A valid token, logging in through `login` if there is none.
    ///
    /// `login(username, password)` sends the login request and returns the
    /// raw answer body.
    pub(crate) fn token(
        &self,
        login: impl FnOnce(&str, &str) -> Result<String>,
    ) -> Result<Option<Token>> {
        let Some(creds) = &self.credentials else {
            return Ok(None);
        };
        if let Some(t) = self.current() {
            return Ok(Some(t));
        }
        let mut generation = lock(&self.login);
        // Another thread may have logged in while we waited.
        if let Some(t) = self.current() {
            return Ok(Some(t));
        }
        let body = login(&creds.username, &creds.password)?;
        let answer: LoginAnswer = serde_json::from_str(&body).map_err(|e| Error::Auth {
            message: format!("unreadable login answer: {e}"),
        })?;
        let value = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Auth {
                message: "login answer has no accessToken".into(),
            })?;
        let ttl = Duration::from_secs(answer.token_ttl.unwrap_or(18_000).max(1));
        *generation += 1;
        let token = Token {
            value,
            refresh_at: Instant::now() + ttl - ttl / 10,
            generation: *generation,
        };
        log::debug!("nacos: logged in (token ttl {}s)", ttl.as_secs());
        *lock(&self.token) = Some(token.clone());
        Ok(Some(token))
    }

    /// Forgets the token of `generation` after the server refused it.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut guard = lock(&self.token);
        if guard.as_ref().map(|t| t.generation) == Some(generation) {
            *guard = None;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn creds() -> Option<Credentials> {
        Some(Credentials {
            username: "u".into(),
            password: "pw-secret".into(),
        })
    }

    #[test]
    fn no_credentials_no_login() {
        let a = Auth::new(None);
        assert!(a.token(|_, _| panic!("must not log in")).unwrap().is_none());
    }

    #[test]
    fn one_login_for_many_threads_and_reuse() {
        let a = Arc::new(Auth::new(creds()));
        let logins = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (a, logins) = (a.clone(), logins.clone());
                std::thread::spawn(move || {
                    a.token(|u, p| {
                        assert_eq!((u, p), ("u", "pw-secret"));
                        logins.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Ok(r#"{"accessToken":"tok","tokenTtl":100}"#.into())
                    })
                    .unwrap()
                    .unwrap()
                    .value
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), "tok");
        }
        assert_eq!(logins.load(Ordering::SeqCst), 1);
        let t = a.token(|_, _| panic!("token is fresh")).unwrap().unwrap();
        assert!(!format!("{t:?}").contains("tok\""));
        a.invalidate(t.generation + 1);
        a.token(|_, _| panic!("other generation kept")).unwrap();
        a.invalidate(t.generation);
        let t2 = a
            .token(|_, _| Ok(r#"{"accessToken":"tok2","tokenTtl":100}"#.into()))
            .unwrap()
            .unwrap();
        assert_eq!(t2.value, "tok2");
        assert!(t2.generation > t.generation);
    }

    #[test]
    fn bad_login_answers_are_auth_errors() {
        let a = Auth::new(creds());
        assert!(a.token(|_, _| Ok("nope".into())).unwrap_err().is_auth());
        assert!(a
            .token(|_, _| Ok(r#"{"tokenTtl":1}"#.into()))
            .unwrap_err()
            .is_auth());
    }
}
