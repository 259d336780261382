//! Files under the cache dir: safe names, atomic writes, guarded reads.
//!
//! Names that come from users or servers are percent-encoded into a single
//! path component, so `../../x` stays inside the cache dir. Every file read
//! back goes through [`read_capped`], so a FIFO, a device or a huge file
//! put in its place cannot hang or exhaust the client.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The largest cache, snapshot or failover file read back.
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a file of at most `cap` bytes; `Ok(None)` when there is none.
///
/// Anything but a regular file (a FIFO, a socket, `/dev/zero` behind a
/// symlink, a directory) is an error, checked before opening and again on
/// the opened file, and the file is opened without blocking, so the check
/// cannot be raced into a hang. A file larger than `cap` is an error, and
/// no more than `cap + 1` bytes are ever read.
pub(crate) fn read_capped(path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(meta) => regular(&meta)?,
    }
    let file = match open_nonblocking(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other?,
    };
    let meta = file.metadata()?;
    regular(&meta)?;
    let too_large = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {cap} bytes"),
        )
    };
    if meta.len() > cap {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(Some(buf))
}

fn regular(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({:?})", meta.file_type()),
        ))
    }
}

/// Opens `path` for reading without blocking (`O_NONBLOCK` on Unix):
/// opening a FIFO then returns at once instead of waiting for a writer.
/// Elsewhere the `stat` before opening is the only guard.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

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

/// Creates `dir` and its missing parents, each new one readable by its
/// owner alone (`0700` on Unix, umask aside): cached configs usually hold
/// credentials.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path` through a temp file and a rename, so readers
/// see the old file or the new one, never a torn one. The file is readable
/// by its owner alone (`0600` on Unix), its new directories `0700`. No
/// `fsync`: these are caches, rewritten on the next answer, and a crash
/// that loses the newest copy leaves the previous one (or none), never a
/// torn file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("path has no parent"))?;
    create_private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.{}.{:x}.tmp",
        std::process::id(),
        crate::util::random_u64()
    ));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The default cache dir: `$XDG_CACHE_HOME/nacos-blocking`, else
/// `$HOME/.cache/nacos-blocking`, else none (no shared temporary
/// fallback: the disk cache is then off unless a `cache_dir` is given).
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    let from = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from("XDG_CACHE_HOME")
        .or_else(|| from("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("nacos-blocking"))
}

/// Why a cache dir that exists must not be used: writable by every user
/// (who could plant snapshot or cache files), or owned by another user.
/// `None` when it is fine or does not exist yet. The owner is checked on
/// Linux (against `/proc/self`'s); elsewhere only the mode is.
pub(crate) fn unsafe_cache_dir(dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).ok()?;
        if !meta.is_dir() {
            return Some("it is not a directory".into());
        }
        if meta.mode() & 0o002 != 0 {
            return Some(format!(
                "it is writable by every user (mode {:o}); use a directory only you can write, \
                 e.g. `chmod 700`",
                meta.mode() & 0o7777
            ));
        }
        #[cfg(target_os = "linux")]
        if let Ok(me) = std::fs::metadata("/proc/self") {
            if me.uid() != meta.uid() {
                return Some(format!(
                    "it is owned by another user (uid {}, this process runs as {})",
                    meta.uid(),
                    me.uid()
                ));
            }
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
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
    fn read_capped_refuses_devices_and_large_files() {
        let dir = std::env::temp_dir().join(format!("nb-read-{}", crate::util::random_u64()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        assert!(read_capped(&f, 10).unwrap().is_none());
        write_atomic(&f, b"0123456789").unwrap();
        assert_eq!(read_capped(&f, 10).unwrap().unwrap(), b"0123456789");
        assert_eq!(
            read_capped(&f, 9).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert!(read_capped(&dir, 10).is_err(), "a directory");
        #[cfg(unix)]
        {
            let link = dir.join("zero");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            assert!(read_capped(&link, 10).is_err(), "a device");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn cache_files_are_private_and_open_dirs_refused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("nb-private-{}", crate::util::random_u64()));
        let p = dir.join("a").join("b").join("f");
        write_atomic(&p, b"secret").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        for d in [dir.join("a"), dir.join("a").join("b")] {
            assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o077, 0, "{d:?}");
        }
        assert_eq!(unsafe_cache_dir(&dir.join("a")), None);
        assert_eq!(unsafe_cache_dir(&dir.join("missing")), None);
        std::fs::set_permissions(dir.join("a"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = unsafe_cache_dir(&dir.join("a")).unwrap();
        assert!(why.contains("writable by every user"), "{why}");
        assert!(unsafe_cache_dir(&p).unwrap().contains("not a directory"));
        // Owned by another user: root's /, where it applies.
        if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() != 0) {
            assert!(unsafe_cache_dir(Path::new("/"))
                .unwrap()
                .contains("another user"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
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
