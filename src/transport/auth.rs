//! Username/password login and access-token reuse.
//!
//! One token is shared by every call and thread of a client. It is
//! refreshed at 90% of its `tokenTtl`; however many threads find it stale
//! at once, only one of them logs in, and the others wait for its answer,
//! each no longer than its own deadline (no lock is held while logging in).
//!
//! A login the server refuses is not repeated at once: for a pause of 1 s,
//! doubling to 30 s while refusals go on, calls fail with its error
//! without asking. Likewise a 403 leads to a new login at most once per
//! such pause, since a 403 that a fresh token also gets is about
//! permissions, not about the token.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::Credentials;
use crate::threads::schedule::backoff;
use crate::util::{self, lock};

/// The pause after a first failure; it doubles with each one after.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The token lifetime assumed when the server gives none (Nacos's default).
const DEFAULT_TTL: Duration = Duration::from_secs(18_000);
/// The range of token lifetimes believed; a server's `tokenTtl` outside
/// it is clamped (and logged).
const MIN_TTL: Duration = Duration::from_secs(1);
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// A token and when to stop using it.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    /// `Bearer <value>`, for the `Authorization` header.
    pub(crate) bearer: Secret,
    refresh_at: Instant,
    /// Which login produced it, so a 403 invalidates only the token it saw.
    pub(crate) generation: u64,
}

/// What the logins of one client have come to.
#[derive(Debug)]
struct State {
    token: Option<Token>,
    generation: u64,
    /// A thread is logging in; the others wait on `Auth::changed`.
    logging_in: bool,
    /// After a failed login: no new login before this instant, and why.
    refused: Option<(Instant, String)>,
    /// Failed logins in a row (their pauses double: [`backoff`]).
    login_failures: u32,
    /// No new login because of a 403 before this instant.
    relogin_after: Option<Instant>,
    /// Re-logins caused by a 403 since a token last worked.
    relogins: u32,
}

/// The login state of one client.
#[derive(Debug)]
pub(crate) struct Auth {
    credentials: Option<Credentials>,
    state: Mutex<State>,
    /// Signalled when a login ends.
    changed: Condvar,
}

impl Auth {
    pub(crate) fn new(credentials: Option<Credentials>) -> Auth {
        Auth {
            credentials,
            state: Mutex::new(State {
                token: None,
                generation: 0,
                logging_in: false,
                refused: None,
                login_failures: 0,
                relogin_after: None,
                relogins: 0,
            }),
            changed: Condvar::new(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.credentials.is_some()
    }

    /// The user logging in, if credentials are set.
    pub(crate) fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.username.as_str())
    }

    /// A valid token, logging in through `login` if there is none.
    ///
    /// `login(username, password)` sends the login request and returns the
    /// raw answer body. While another thread logs in, this waits for its
    /// answer until `deadline` (then a timeout error naming `total`).
    pub(crate) fn token(
        &self,
        deadline: Instant,
        total: Duration,
        login: impl FnOnce(&str, &str) -> Result<String>,
    ) -> Result<Option<Token>> {
        let Some(creds) = &self.credentials else {
            return Ok(None);
        };
        let mut s = lock(&self.state);
        loop {
            let now = Instant::now();
            if let Some(t) = s.token.as_ref().filter(|t| now < t.refresh_at) {
                return Ok(Some(t.clone()));
            }
            if let Some((until, why)) = s.refused.as_ref().filter(|(until, _)| now < *until) {
                return Err(Error::Auth {
                    message: format!(
                        "{why} (no new login for {:?})",
                        until.saturating_duration_since(now)
                    ),
                });
            }
            if !s.logging_in {
                break;
            }
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Err(Error::Timeout {
                    deadline: total,
                    server: None,
                });
            }
            s = self
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        s.logging_in = true;
        drop(s);
        let _done = LoginDone(self);
        let answer = login(&creds.username, creds.password.expose()).and_then(|b| parse_answer(&b));
        let mut s = lock(&self.state);
        match answer {
            Ok((value, ttl)) => {
                s.generation += 1;
                let token = Token {
                    bearer: Secret::new(format!("Bearer {value}")),
                    value: Secret::new(value),
                    refresh_at: util::after(ttl - ttl / 10),
                    generation: s.generation,
                };
                log::debug!("nacos: logged in (token ttl {}s)", ttl.as_secs());
                s.token = Some(token.clone());
                s.refused = None;
                s.login_failures = 0;
                Ok(Some(token))
            }
            // No server answered: the call already spent its deadline
            // trying; the next call may try again.
            Err(e) if e.is_unavailable() => Err(e),
            Err(e) => {
                let why = format!(
                    "login refused for user `{}`: {}",
                    creds.username,
                    match &e {
                        Error::Auth { message } => message.clone(),
                        other => other.to_string(),
                    }
                );
                let e = Error::Auth {
                    message: why.clone(),
                };
                s.login_failures = s.login_failures.saturating_add(1);
                let pause = backoff(FIRST_BACKOFF, s.login_failures, MAX_BACKOFF);
                log::warn!("nacos: login failed ({why}); no new login for {pause:?}");
                s.refused = Some((util::after(pause), why));
                Err(e)
            }
        }
    }

    /// Forgets the token of `generation` after a server refused it with a
    /// 403. `false` when it is kept because a re-login for a 403 happened
    /// less than a pause ago: the 403 is then most likely about
    /// permissions, and another login would not help.
    pub(crate) fn invalidate(&self, generation: u64) -> bool {
        let mut s = lock(&self.state);
        if s.token.as_ref().map(|t| t.generation) != Some(generation) {
            // Already replaced (or dropped): the next `token` call decides.
            return true;
        }
        let now = Instant::now();
        if s.relogin_after.is_some_and(|at| now < at) {
            return false;
        }
        s.token = None;
        s.relogins = s.relogins.saturating_add(1);
        let pause = backoff(FIRST_BACKOFF, s.relogins, MAX_BACKOFF);
        s.relogin_after = Some(util::later(now, pause));
        true
    }

    /// A call with the current token went through: the next 403 may cause
    /// a re-login after the shortest pause again.
    pub(crate) fn token_worked(&self) {
        let mut s = lock(&self.state);
        s.relogins = 0;
    }
}

/// Ends a login (also when the login panics): waiters wake up.
struct LoginDone<'a>(&'a Auth);

impl Drop for LoginDone<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).logging_in = false;
        self.0.changed.notify_all();
    }
}

/// The token and its lifetime from a login answer. Read as loose JSON, so
/// no decoder message can quote the token, and any `tokenTtl` (negative,
/// huge, a float or a string) is taken within `MIN_TTL..=MAX_TTL`.
fn parse_answer(body: &str) -> Result<(String, Duration)> {
    let answer: serde_json::Value = serde_json::from_str(body).map_err(|e| Error::Auth {
        message: format!("unreadable login answer: {e}"),
    })?;
    let value = answer
        .get("accessToken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Auth {
            message: "login answer has no accessToken".into(),
        })?;
    Ok((value.to_string(), ttl_of(answer.get("tokenTtl"))))
}

/// A `tokenTtl` (seconds) within `MIN_TTL..=MAX_TTL`; `DEFAULT_TTL` when
/// there is none or it is not a number.
fn ttl_of(ttl: Option<&serde_json::Value>) -> Duration {
    let secs = match ttl {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(secs) = secs.filter(|s| !s.is_nan()) else {
        return DEFAULT_TTL;
    };
    let clamped = secs.clamp(MIN_TTL.as_secs_f64(), MAX_TTL.as_secs_f64());
    if clamped != secs {
        log::warn!("nacos: server gave tokenTtl {secs}; using {clamped} s");
    }
    Duration::from_secs_f64(clamped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn creds() -> Option<Credentials> {
        Some(Credentials {
            username: "u".into(),
            password: crate::secret::Secret::new("pw-secret"),
        })
    }

    /// `token` with a 10 s deadline.
    fn token(a: &Auth, login: impl FnOnce(&str, &str) -> Result<String>) -> Result<Option<Token>> {
        let total = Duration::from_secs(10);
        a.token(Instant::now() + total, total, login)
    }

    #[test]
    fn no_credentials_no_login() {
        let a = Auth::new(None);
        assert!(token(&a, |_, _| panic!("must not log in"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn one_login_for_many_threads_and_reuse() {
        let a = Arc::new(Auth::new(creds()));
        let logins = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (a, logins) = (a.clone(), logins.clone());
                std::thread::spawn(move || {
                    token(&a, |u, p| {
                        assert_eq!((u, p), ("u", "pw-secret"));
                        logins.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Ok(r#"{"accessToken":"tok","tokenTtl":100}"#.into())
                    })
                    .unwrap()
                    .unwrap()
                    .value
                    .expose()
                    .to_string()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), "tok");
        }
        assert_eq!(logins.load(Ordering::SeqCst), 1);
        let t = token(&a, |_, _| panic!("token is fresh")).unwrap().unwrap();
        assert!(!format!("{t:?}").contains("tok\""));
        assert!(a.invalidate(t.generation + 1));
        token(&a, |_, _| panic!("other generation kept")).unwrap();
        assert!(a.invalidate(t.generation));
        let t2 = token(&a, |_, _| {
            Ok(r#"{"accessToken":"tok2","tokenTtl":100}"#.into())
        })
        .unwrap()
        .unwrap();
        assert_eq!(t2.value.expose(), "tok2");
        assert!(t2.generation > t.generation);
    }

    #[test]
    fn bad_login_answers_are_auth_errors() {
        for body in ["nope", r#"{"tokenTtl":1}"#, r#"{"accessToken":7}"#] {
            let a = Auth::new(creds());
            let e = token(&a, |_, _| Ok(body.into())).unwrap_err();
            assert!(e.is_auth(), "{body}: {e}");
        }
    }

    #[test]
    fn any_token_ttl_is_taken_without_overflow() {
        for ttl in [
            "9223372036854775807",
            "18446744073709551615",
            "-1",
            "-9223372036854775808",
            "0",
            "1e300",
            "0.5",
            "\"18000\"",
            "\"soon\"",
            "null",
        ] {
            let a = Auth::new(creds());
            let body = format!(r#"{{"accessToken":"t","tokenTtl":{ttl}}}"#);
            let t = token(&a, |_, _| Ok(body)).unwrap().unwrap();
            assert!(
                t.refresh_at > Instant::now() - Duration::from_secs(1),
                "{ttl}"
            );
            assert!(
                t.refresh_at <= Instant::now() + MAX_TTL,
                "{ttl}: at most a day"
            );
        }
        assert_eq!(ttl_of(None), DEFAULT_TTL);
        assert_eq!(ttl_of(Some(&serde_json::json!(-5))), MIN_TTL);
        assert_eq!(ttl_of(Some(&serde_json::json!(u64::MAX))), MAX_TTL);
        assert_eq!(
            ttl_of(Some(&serde_json::json!(60))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn waiters_give_up_at_their_own_deadline() {
        let a = Arc::new(Auth::new(creds()));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let slow = {
            let a = a.clone();
            std::thread::spawn(move || {
                token(&a, |_, _| {
                    started_tx.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(1500));
                    Ok(r#"{"accessToken":"late"}"#.into())
                })
            })
        };
        started_rx.recv().unwrap();
        let t0 = Instant::now();
        let total = Duration::from_millis(200);
        let e = a
            .token(Instant::now() + total, total, |_, _| {
                panic!("one login at a time")
            })
            .unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
        assert_eq!(
            slow.join().unwrap().unwrap().unwrap().value.expose(),
            "late"
        );
    }

    #[test]
    fn refused_logins_back_off() {
        let a = Auth::new(creds());
        let refused = || {
            Err(Error::Auth {
                message: "127.0.0.1:1 answered 403: unknown user".into(),
            })
        };
        assert!(token(&a, |_, _| refused()).unwrap_err().is_auth());
        // Within the pause: the last error, no request.
        let e = token(&a, |_, _| panic!("must back off")).unwrap_err();
        assert!(e.is_auth() && e.to_string().contains("unknown user"), "{e}");
        // After it, a new login; a second refusal doubles the pause.
        lock(&a.state).refused.as_mut().unwrap().0 = Instant::now();
        let asked = Instant::now();
        assert!(token(&a, |_, _| refused()).unwrap_err().is_auth());
        let until = lock(&a.state).refused.as_ref().unwrap().0;
        assert!(until >= asked + 2 * FIRST_BACKOFF, "not doubled");
        assert!(
            until <= Instant::now() + 2 * FIRST_BACKOFF,
            "more than doubled"
        );
        assert_eq!(lock(&a.state).login_failures, 2);
        // No server answering is not a refusal.
        let b = Auth::new(creds());
        let down = Error::Timeout {
            deadline: Duration::from_secs(1),
            server: None,
        };
        assert!(token(&b, |_, _| Err(down)).unwrap_err().is_timeout());
        token(&b, |_, _| Ok(r#"{"accessToken":"t"}"#.into())).unwrap();
    }

    #[test]
    fn relogins_for_403_are_spaced() {
        let a = Auth::new(creds());
        let ok = || Ok(r#"{"accessToken":"t","tokenTtl":100}"#.to_string());
        let t = token(&a, |_, _| ok()).unwrap().unwrap();
        assert!(a.invalidate(t.generation), "first 403: log in again");
        let t = token(&a, |_, _| ok()).unwrap().unwrap();
        assert!(!a.invalidate(t.generation), "403 right after: keep it");
        token(&a, |_, _| panic!("token kept")).unwrap();
        lock(&a.state).relogin_after = Some(Instant::now());
        let asked = Instant::now();
        assert!(a.invalidate(t.generation));
        let until = lock(&a.state).relogin_after.unwrap();
        assert!(until >= asked + 2 * FIRST_BACKOFF, "not doubled");
        assert!(
            until <= Instant::now() + 2 * FIRST_BACKOFF,
            "more than doubled"
        );
        assert_eq!(lock(&a.state).relogins, 2);
        a.token_worked();
        assert_eq!(lock(&a.state).relogins, 0);
    }
}
