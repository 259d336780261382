//! The MD5 digests the config long poll compares (RustCrypto `md-5`).
//!
//! Nacos identifies a config version by the lowercase hex MD5 of its UTF-8
//! content. MD5 is used here as a checksum only, never for security.

use md5::{Digest, Md5};

/// The lowercase hex MD5 of `text`'s UTF-8 bytes.
pub(crate) fn hex(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// Whether `s` reads as an MD5: 32 hex digits (either case).
pub(crate) fn is_hex(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1321_test_suite() {
        for (input, want) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            assert_eq!(hex(input), want, "{input:?}");
        }
    }
}
