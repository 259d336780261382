//! Files under the cache dir: safe names and atomic writes.
//!
//! Names that come from users or servers are percent-encoded into a single
//! path component, so `../../x` stays inside the cache dir.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Encodes `name` as one safe path component: `[0-9A-Za-z_-]` and `.` (not
/// leading) are kept, every other byte becomes `%XX`; empty becomes `%`.
pub(crate) fn encode_component(name: &str) -> String {
    if name.is_empty() {
        return "%".to_string();
    }
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes what [`encode_component`] made; `None` for anything else.
pub(crate) fn decode_component(encoded: &str) -> Option<String> {
    if encoded == "%" {
        return Some(String::new());
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `dir/<encoded a>/<encoded b>/...`: always inside `dir`.
pub(crate) fn path_in(dir: &Path, parts: &[&str]) -> PathBuf {
    let mut p = dir.to_path_buf();
    for part in parts {
        p.push(encode_component(part));
    }
    p
}

/// Writes `bytes` to `path` through a temp file and a rename, so readers
/// see the old file or the new one, never a torn one. No `fsync`: these
/// are caches, rewritten on the next answer, and a crash that loses the
/// newest copy leaves the previous one (or none), never a torn file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.{}.{:x}.tmp",
        std::process::id(),
        crate::util::random_u64()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The default cache dir: `$XDG_CACHE_HOME/nacos-blocking`, else
/// `$HOME/.cache/nacos-blocking`, else `<temp>/nacos-blocking`.
pub(crate) fn default_cache_dir() -> PathBuf {
    let from = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from("XDG_CACHE_HOME")
        .or_else(|| from("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("nacos-blocking")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_safe_and_reversible() {
        for name in [
            "../../x",
            "..",
            ".",
            "a/b\\c",
            "DEFAULT_GROUP",
            "é 中",
            "",
            "a%b",
            "x.y",
        ] {
            let e = encode_component(name);
            assert!(
                !e.contains('/') && !e.contains('\\') && !e.starts_with('.'),
                "{e}"
            );
            assert!(e != ".." && e != "." && !e.is_empty());
            assert_eq!(decode_component(&e).as_deref(), Some(name));
        }
        let dir = Path::new("/cache");
        let p = path_in(dir, &["ns", "../../x"]);
        assert!(p.starts_with(dir));
        assert_eq!(p.components().count(), dir.components().count() + 2);
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = std::env::temp_dir().join(format!("nb-disk-{}", crate::util::random_u64()));
        let p = dir.join("sub").join("f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers = std::fs::read_dir(p.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
