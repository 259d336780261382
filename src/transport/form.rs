//! Request parameters as `application/x-www-form-urlencoded` text, the
//! encoding of Java's `URLEncoder` and of `form_urlencoded`: written
//! straight into the request's buffer, numbers and flags without
//! `format!`.

/// Appends `key=value` (the value form-encoded) to an encoded list.
pub(super) fn push_pair(buf: &mut String, key: &'static str, value: impl ParamValue) {
    // Keys are constants that need no encoding (`dataId`, `Listening-Configs`).
    debug_assert!(
        form_urlencoded::byte_serialize(key.as_bytes()).eq([key]),
        "{key}"
    );
    if !buf.is_empty() {
        buf.push('&');
    }
    buf.push_str(key);
    buf.push('=');
    value.write_to(buf);
}

/// A value a request parameter can take: text (form-encoded), a number
/// or a flag (written as Java's `String.valueOf` and Rust's `Display`
/// agree for it, without going through `format!`).
pub(crate) trait ParamValue {
    /// Appends the value, form-encoded.
    fn write_to(&self, buf: &mut String);
}

impl ParamValue for &str {
    /// `application/x-www-form-urlencoded` by `form_urlencoded`, as Java's
    /// `URLEncoder` writes it too: alphanumerics and `*-._` as they are, a
    /// space as `+`, every other byte as `%XX`.
    fn write_to(&self, buf: &mut String) {
        buf.extend(form_urlencoded::byte_serialize(self.as_bytes()));
    }
}

impl ParamValue for String {
    fn write_to(&self, buf: &mut String) {
        self.as_str().write_to(buf);
    }
}

impl ParamValue for &String {
    fn write_to(&self, buf: &mut String) {
        self.as_str().write_to(buf);
    }
}

impl ParamValue for std::borrow::Cow<'_, str> {
    fn write_to(&self, buf: &mut String) {
        self.as_ref().write_to(buf);
    }
}

impl ParamValue for bool {
    fn write_to(&self, buf: &mut String) {
        buf.push_str(if *self { "true" } else { "false" });
    }
}

impl ParamValue for u64 {
    fn write_to(&self, buf: &mut String) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = *self;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // Only ASCII digits were written.
        buf.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0"));
    }
}

impl ParamValue for u16 {
    fn write_to(&self, buf: &mut String) {
        u64::from(*self).write_to(buf);
    }
}

impl ParamValue for u32 {
    fn write_to(&self, buf: &mut String) {
        u64::from(*self).write_to(buf);
    }
}

impl ParamValue for f64 {
    /// As `Display` writes it (`1`, `0.5`): whole values up to 2^53 as
    /// digits, the rest through `Display`.
    fn write_to(&self, buf: &mut String) {
        let w = *self;
        if w.fract() == 0.0 && w.is_sign_positive() && w <= 9_007_199_254_740_992.0 {
            (w as u64).write_to(buf);
        } else {
            use std::fmt::Write;
            // Writing into a `String` cannot fail.
            let _ = write!(buf, "{w}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(v: impl ParamValue) -> String {
        let mut s = String::new();
        v.write_to(&mut s);
        s
    }

    #[test]
    fn text_is_encoded_as_javas_url_encoder_encodes_it() {
        for (text, java) in [
            ("", ""),
            ("plain", "plain"),
            ("DEFAULT_GROUP@@svc", "DEFAULT_GROUP%40%40svc"),
            ("a b+c&d=e", "a+b%2Bc%26d%3De"),
            ("{\"k\":\"v w\"}", "%7B%22k%22%3A%22v+w%22%7D"),
            ("*-._~!'()", "*-._%7E%21%27%28%29"),
            ("grüße é", "gr%C3%BC%C3%9Fe+%C3%A9"),
            ("x\u{0}y\n", "x%00y%0A"),
            ("%41", "%2541"),
        ] {
            assert_eq!(written(text), java, "{text:?}");
        }
    }

    #[test]
    fn numbers_and_flags_are_written_as_display_writes_them() {
        for n in [0u64, 1, 9, 10, 65_535, u64::MAX] {
            assert_eq!(written(n), n.to_string());
        }
        assert_eq!(written(8848u16), "8848");
        assert_eq!(written(7u32), "7");
        for w in [
            0.0,
            1.0,
            0.5,
            100.0,
            10_000.0,
            1e-7,
            9_007_199_254_740_993.0,
            -0.0,
            -1.5,
        ] {
            assert_eq!(written(w), w.to_string(), "{w}");
        }
        assert_eq!(
            (written(true), written(false)),
            ("true".into(), "false".into())
        );
    }
}
