//! Hiding secrets in text that may reach an error or a log line.
//!
//! A server's error page can echo the request (`?accessToken=…`, a login
//! form `password=…`), a login answer carries `"accessToken":"…"`, and a
//! proxy may quote `Authorization: …`. [`redact`] replaces the value of
//! every such key with `<redacted>`, in query-string, JSON and header form,
//! whatever the case of the key. Every server text an error keeps goes
//! through it ([`crate::error::snippet`]).

use std::borrow::Cow;

/// What a secret value is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// Keys (lowercased, `-` and `_` removed) whose values are secret when the
/// key ends with one of them: `accessToken`, `db_password`, `Spas-Signature`.
const SECRET_SUFFIXES: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "secretkey",
    "signature",
    "authorization",
    "credential",
    "credentials",
];

/// Keys that are secret only when they are the whole key (`sk` is the end
/// of `task` and `disk` too).
const SECRET_EXACT: &[&str] = &["sk", "pwd", "cookie"];

/// `text` with the value of every secret key replaced by `<redacted>`:
/// `key=value` (up to `&`, whitespace or punctuation), `"key":"value"`
/// and `Key: value` (up to the end of the line).
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_key_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_key_byte(b[i]) {
            i += 1;
        }
        if !is_secret(&text[start..i]) {
            continue;
        }
        if let Some((from, to)) = value_span(b, i) {
            if to > from {
                out.push_str(&text[copied..from]);
                out.push_str(REDACTED);
                copied = to;
            }
            i = to.max(i);
        }
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_secret(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_EXACT.contains(&norm.as_str()) || SECRET_SUFFIXES.iter().any(|s| norm.ends_with(s))
}

/// Where the value after a key ending at `i` lies, if a `=` or `:` follows.
fn value_span(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let skip_blanks = |mut j: usize| {
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        j
    };
    let mut j = i;
    // The closing quote of a quoted key, possibly escaped (`\"key\":`).
    if b.get(j) == Some(&b'\\') {
        j += 1;
    }
    if matches!(b.get(j), Some(b'"' | b'\'')) {
        j += 1;
    }
    j = skip_blanks(j);
    let sep = *b.get(j)?;
    if sep != b'=' && sep != b':' {
        return None;
    }
    j = skip_blanks(j + 1);
    let escaped = b.get(j) == Some(&b'\\');
    let q = if escaped { j + 1 } else { j };
    if let Some(&quote @ (b'"' | b'\'')) = b.get(q) {
        let from = q + 1;
        let mut k = from;
        while k < b.len() {
            if escaped {
                if b[k] == quote && b[k - 1] == b'\\' {
                    return Some((from, k - 1));
                }
            } else if b[k] == b'\\' {
                k += 1;
            } else if b[k] == quote {
                return Some((from, k));
            }
            k += 1;
        }
        return Some((from, b.len()));
    }
    let stop: &[u8] = if sep == b'=' {
        b"& \t\r\n\"',;}])<>"
    } else {
        // A header value runs to the end of its line.
        b"\r\n\"',}]"
    };
    let to = b[j..]
        .iter()
        .position(|c| stop.contains(c))
        .map_or(b.len(), |p| j + p);
    Some((j, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact(s).into_owned()
    }

    #[test]
    fn query_and_form_values() {
        assert_eq!(
            r("GET /nacos/v1/ns/instance?serviceName=a&accessToken=eyJ.abc-1&x=1 HTTP/1.1"),
            "GET /nacos/v1/ns/instance?serviceName=a&accessToken=<redacted>&x=1 HTTP/1.1"
        );
        assert_eq!(
            r("username=nacos&password=pw%21secret"),
            "username=nacos&password=<redacted>"
        );
        assert_eq!(r("ak=id&SK=s3cr3t&task=1"), "ak=id&SK=<redacted>&task=1");
        assert_eq!(
            r("spring.datasource.password=hunter2\nnext=1"),
            "spring.datasource.password=<redacted>\nnext=1"
        );
    }

    #[test]
    fn json_values_any_case() {
        assert_eq!(
            r(r#"{"accessToken":"abc.def","tokenTtl":18000,"globalAdmin":true}"#),
            r#"{"accessToken":"<redacted>","tokenTtl":18000,"globalAdmin":true}"#
        );
        assert_eq!(
            r(r#"{ "PASSWORD" : "a\"b", "user": "u" }"#),
            r#"{ "PASSWORD" : "<redacted>", "user": "u" }"#
        );
        assert_eq!(
            r(r#"{"msg":"{\"accessToken\":\"tok\"}"}"#),
            r#"{"msg":"{\"accessToken\":\"<redacted>\"}"}"#
        );
        assert_eq!(r(r#"{"secretKey": 12345}"#), r#"{"secretKey": <redacted>}"#);
    }

    #[test]
    fn header_values_to_end_of_line() {
        assert_eq!(
            r("Authorization: Bearer abc def\r\nHost: x\r\nSpas-Signature: c2ln\r\n"),
            "Authorization: <redacted>\r\nHost: x\r\nSpas-Signature: <redacted>\r\n"
        );
        // The token headers this client sends, as an echo shows them.
        assert_eq!(
            r("accesstoken: tok-1\r\nauthorization: Bearer tok-1\r\n"),
            "accesstoken: <redacted>\r\nauthorization: <redacted>\r\n"
        );
    }

    #[test]
    fn harmless_text_is_borrowed() {
        for s in [
            "",
            "no secrets here",
            "token expired",
            "password",
            "tokenTtl=5",
            "é token 中",
            "accessToken=",
        ] {
            assert!(matches!(redact(s), Cow::Borrowed(_)), "{s}");
        }
        assert_eq!(r("é password=中文 x"), "é password=<redacted> x");
        assert_eq!(r("token=\"unterminated"), "token=\"<redacted>");
    }
}
