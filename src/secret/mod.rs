//! Secrets never shown: [`Secret`], a string that must never be shown
//! (passwords, secret keys, tokens), whose `Debug` prints `<redacted>` so
//! every struct holding one can derive `Debug` and stay safe to log; and
//! [`redact`], which hides secrets a server echoes in text bound for an
//! error or a log line.

pub(crate) mod redact;

use std::fmt;

/// A secret value; [`expose`](Secret::expose) is the only way to its text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The text itself, for the one place that sends or signs with it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    #[cfg(feature = "aksk")]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
