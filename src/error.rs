//! The crate's one error type.

use std::fmt;
use std::time::Duration;

use crate::secret::redact::redact;

/// Shorthand for `Result<T, nacos_blocking::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
///
/// Each error says each fact once: `Display` embeds the cause (the last
/// server's error, the transport's complaint), and [`source`] is empty, as
/// in ureq, so `{:#}` of an `anyhow` chain never repeats it.
///
/// [`source`]: std::error::Error::source
///
/// Messages are short and lowercase. No variant ever carries a password,
/// a secret key or an access token: server texts are cut to a short
/// snippet and URLs are logged and reported without their credentials.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An argument or option was rejected before any request was sent.
    InvalidArgument {
        /// The argument or option at fault, e.g. `"service_name"`.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A server answered with a status other than 200.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The first few hundred bytes of the server's answer.
        body: String,
        /// The server that answered (`host:port`).
        server: String,
    },
    /// The connection failed or broke (refused, reset, DNS, TLS, ...).
    Transport {
        /// The server involved (`host:port`).
        server: String,
        /// What went wrong, as text.
        message: String,
        /// The underlying error, where there is one, for downcasting. Its
        /// text is `message` already, so `source()` leaves it out.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The call did not finish within its deadline.
    Timeout {
        /// The deadline that ran out.
        deadline: Duration,
        /// The server being talked to when it ran out, if any.
        server: Option<String>,
    },
    /// Login failed, or the server refused the credentials.
    Auth {
        /// What the server said (never the credentials themselves).
        message: String,
    },
    /// A server's answer could not be decoded.
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        message: String,
        /// The first few hundred bytes of the body.
        body: String,
    },
    /// Every server was tried and none answered.
    AllServersFailed {
        /// The servers tried, in order (`host:port`).
        tried: Vec<String>,
        /// The last error seen.
        last: Box<Error>,
    },
    /// A selection found no instance that can take traffic.
    NoInstanceAvailable {
        /// The service, as `group@@name`.
        service: String,
    },
    /// The client has been shut down.
    Shutdown,
    /// [`NacosClient::shutdown`](crate::NacosClient::shutdown) stopped
    /// everything, but not everything went well.
    ShutdownIncomplete {
        /// What went wrong: instances not deregistered, threads that panicked.
        problems: Vec<String>,
    },
    /// A background thread could not be started.
    Thread(std::io::Error),
    /// A v3 server refused the call with a Nacos error code in its answer
    /// (`{"code": 21008, "message": ...}`; the codes are Nacos's `ErrorCode`).
    Api {
        /// The Nacos error code, e.g. `21008` (service not found).
        code: i64,
        /// The server's message for it (redacted, cut short).
        message: String,
    },
    /// A compare-and-set publish ([`Publish::cas_md5`](crate::Publish::cas_md5))
    /// lost: the config is no longer the one the caller read.
    Conflict {
        /// What was refused.
        what: String,
    },
    /// The server cannot do this: its API generation lacks the call, or it
    /// speaks neither API this client knows. Never a silent no-op.
    Unsupported {
        /// What could not be done, and why.
        what: String,
    },
}

/// `d` as a person writes it: `3 s`, `1.5 s`, `250 ms`.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let tenths = (ms + 50) / 100;
    if tenths % 10 == 0 {
        format!("{} s", tenths / 10)
    } else {
        format!("{}.{} s", tenths / 10, tenths % 10)
    }
}

/// How much of a server's answer an error keeps.
const SNIPPET_LEN: usize = 256;

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn decode(what: &'static str, message: impl fmt::Display, body: &str) -> Error {
        Error::Decode {
            what,
            message: redact(&message.to_string()).into_owned(),
            body: snippet(body),
        }
    }

    /// `true` when the call ran out of time (directly or on the last server tried).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::AllServersFailed { last, .. } => last.is_timeout(),
            _ => false,
        }
    }

    /// `true` for an argument rejected before any request was sent.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument { .. })
    }

    /// `true` when the credentials were refused or login failed.
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Auth { .. } => true,
            Error::AllServersFailed { last, .. } => last.is_auth(),
            _ => false,
        }
    }

    /// `true` when no server could be reached (connect errors, timeouts).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::AllServersFailed { .. } | Error::Transport { .. } | Error::Timeout { .. }
        )
    }

    /// The HTTP status a server answered with, if that is what failed.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            Error::AllServersFailed { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The Nacos error code a v3 server answered with, if that is what failed.
    pub fn api_code(&self) -> Option<i64> {
        match self {
            Error::Api { code, .. } => Some(*code),
            Error::AllServersFailed { last, .. } => last.api_code(),
            _ => None,
        }
    }

    /// `true` when a compare-and-set publish lost (see [`Error::Conflict`]).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// `true` when the server cannot do what was asked (see [`Error::Unsupported`]).
    pub fn is_unsupported(&self) -> bool {
        match self {
            Error::Unsupported { .. } => true,
            Error::AllServersFailed { last, .. } => last.is_unsupported(),
            _ => false,
        }
    }

    /// The name of the argument at fault, for [`Error::InvalidArgument`].
    pub fn invalid_field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidArgument { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { field, reason } => {
                write!(f, "invalid argument `{field}`: {reason}")
            }
            Error::Status {
                status,
                body,
                server,
            } => write!(f, "server {server} answered {status}: {body}"),
            Error::Transport {
                server, message, ..
            } => write!(f, "transport error talking to {server}: {message}"),
            Error::Timeout { deadline, server } => {
                let deadline = human(*deadline);
                match server {
                    Some(s) => write!(
                        f,
                        "timed out: no answer within the call's deadline of {deadline} (last tried {s})"
                    ),
                    None => write!(f, "timed out: no answer within the call's deadline of {deadline}"),
                }
            }
            Error::Auth { message } => write!(f, "authentication failed: {message}"),
            Error::Decode { what, message, .. } => write!(f, "could not decode {what}: {message}"),
            Error::AllServersFailed { tried, last } => {
                write!(f, "all servers failed (tried {}): {last}", tried.join(", "))
            }
            Error::NoInstanceAvailable { service } => {
                write!(
                    f,
                    "no healthy, enabled instance with weight > 0 in {service}"
                )
            }
            Error::Shutdown => f.write_str("the client has been shut down"),
            Error::ShutdownIncomplete { problems } => {
                write!(f, "shutdown incomplete: {}", problems.join("; "))
            }
            Error::Thread(e) => write!(f, "could not start a background thread: {e}"),
            Error::Api { code, message } => {
                write!(f, "server refused the call: code {code}: {message}")
            }
            Error::Unsupported { what } => write!(f, "not supported: {what}"),
            Error::Conflict { what } => write!(f, "conflict: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// The first [`SNIPPET_LEN`] bytes of `text` (cut on a char boundary),
/// trimmed, with secrets redacted (before the cut, so no half value stays).
pub(crate) fn snippet(text: &str) -> String {
    let text = redact(text.trim());
    let text = text.as_ref();
    if text.len() <= SNIPPET_LEN {
        return text.to_string();
    }
    let mut end = SNIPPET_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert!(
            std::mem::size_of::<Error>() <= 96,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn snippet_cuts_on_char_boundary() {
        let long = "é".repeat(300);
        let s = snippet(&long);
        assert!(s.len() <= SNIPPET_LEN + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert_eq!(snippet("  ok \n"), "ok");
    }

    #[test]
    fn snippets_and_decode_errors_never_keep_secrets() {
        let body = format!(
            "{}?accessToken=tok-123&password=pw-456 {}",
            "x".repeat(240),
            r#"{"accessToken":"tok-789"}"#
        );
        let s = snippet(&body);
        assert!(!s.contains("tok-") && !s.contains("pw-"), "{s}");
        let e = Error::decode("answer", "bad `password=pw-456`", &body);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("tok-") && !shown.contains("pw-"), "{shown}");
    }

    #[test]
    fn deadlines_read_in_human_units() {
        let h = |ms| human(Duration::from_millis(ms));
        assert_eq!(h(3000), "3 s");
        assert_eq!(h(1500), "1.5 s");
        assert_eq!(h(1877), "1.9 s");
        assert_eq!(h(250), "250 ms");
        assert_eq!(h(0), "0 ms");
        assert_eq!(h(90_000), "90 s");
    }

    #[test]
    fn helpers_see_through_all_servers_failed() {
        let e = Error::AllServersFailed {
            tried: vec!["a:1".into(), "b:2".into()],
            last: Box::new(Error::Timeout {
                deadline: Duration::from_secs(1),
                server: Some("b:2".into()),
            }),
        };
        assert!(e.is_timeout());
        assert!(e.to_string().contains("a:1, b:2"));
        // Each fact once: the cause is in the text, not again in source().
        assert!(
            e.to_string()
                .contains("no answer within the call's deadline of 1 s (last tried b:2)"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_none());
        let s = Error::Status {
            status: 500,
            body: "boom".into(),
            server: "a:1".into(),
        };
        assert_eq!(s.status(), Some(500));
        assert!(!s.is_timeout());
    }
}
