//! Config files on disk: snapshots of what the server last said, and
//! failover files that users put in place to override the server.
//!
//! Both use the layout `<dir>/<namespace>/<group>/<data id>`, with the
//! public namespace spelled `public` and every part percent-encoded into a
//! single path component (so a name can never leave the dir). Snapshots
//! live in `<cache dir>/config/…`; failover files directly in the failover
//! dir, one file per config holding its raw content.

use std::path::{Path, PathBuf};

use crate::config_center::key::ConfigKey;
use crate::disk;
use crate::settings::Settings;

/// The directory name of the public namespace.
const PUBLIC: &str = "public";

fn parts(key: &ConfigKey) -> [&str; 3] {
    let ns = if key.namespace.is_empty() {
        PUBLIC
    } else {
        key.namespace.as_str()
    };
    [ns, key.group.as_str(), key.data_id.as_str()]
}

/// Where the snapshot of `key` lives under the cache dir.
pub(crate) fn snapshot_path(cache_dir: &Path, key: &ConfigKey) -> PathBuf {
    let [ns, group, data_id] = parts(key);
    disk::path_in(cache_dir, &["config", ns, group, data_id])
}

/// Where a failover file for `key` is looked for.
pub(crate) fn failover_path(failover_dir: &Path, key: &ConfigKey) -> PathBuf {
    disk::path_in(failover_dir, &parts(key))
}

/// The data id prefix of configs the Java encryption plugin keeps
/// encrypted (2.4.3 `EncryptionHandler`: `cipher-`).
const ENCRYPTED_PREFIX: &str = "cipher-";

/// Records what the server answered under the client's cache dir, if it
/// keeps one: a `cipher-` config only when the client opted in
/// (`snapshot_encrypted_configs`); otherwise any snapshot of it is removed.
pub(crate) fn keep(settings: &Settings, key: &ConfigKey, content: Option<&str>) {
    let Some(dir) = &settings.cache_dir else {
        return;
    };
    if key.data_id.starts_with(ENCRYPTED_PREFIX) && !settings.snapshot_encrypted {
        record(dir, key, None);
    } else {
        record(dir, key, content);
    }
}

/// The snapshot [`keep`] last recorded for `key`, if the client keeps a
/// cache dir and one is there.
pub(crate) fn saved(settings: &Settings, key: &ConfigKey) -> Option<String> {
    let dir = settings.cache_dir.as_deref()?;
    read(&snapshot_path(dir, key))
}

/// Records what the server answered: content written atomically, or the
/// snapshot removed when the config is gone. Failures are logged only: a
/// snapshot is a convenience, never a reason to fail a call.
pub(crate) fn record(cache_dir: &Path, key: &ConfigKey, content: Option<&str>) {
    let path = snapshot_path(cache_dir, key);
    let result = match content {
        Some(c) => disk::write_atomic(&path, c.as_bytes()),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    if let Err(e) = result {
        log::warn!("nacos: config snapshot {} not updated: {e}", path.display());
    }
}

/// Reads a whole UTF-8 file (a regular one, of at most
/// [`disk::MAX_FILE_BYTES`]); `None` when absent or unreadable.
pub(crate) fn read(path: &Path) -> Option<String> {
    match disk::read_capped(path, disk::MAX_FILE_BYTES) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(_) => {
                log::warn!("nacos: {} is not UTF-8; ignored", path.display());
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            log::warn!("nacos: {} unreadable: {e}", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: &str, group: &str, data_id: &str) -> ConfigKey {
        ConfigKey::new(ns, group, data_id)
    }

    #[test]
    fn paths_are_encoded_and_stay_inside() {
        let dir = Path::new("/cache");
        assert_eq!(
            snapshot_path(dir, &key("", "DEFAULT_GROUP", "app.yaml")),
            Path::new("/cache/config/public/DEFAULT_GROUP/app.yaml")
        );
        assert_eq!(
            snapshot_path(dir, &key("dev", "g:1", "a")),
            Path::new("/cache/config/dev/g%3A1/a")
        );
        let evil = snapshot_path(dir, &key("..", "../..", "../x"));
        assert!(evil.starts_with("/cache/config"));
        assert_eq!(evil.components().count(), 6, "{evil:?}");
        assert_eq!(
            failover_path(Path::new("/fo"), &key("", "G", ".hidden")),
            Path::new("/fo/public/G/%2Ehidden")
        );
    }

    #[test]
    fn record_writes_and_removes() {
        let dir = std::env::temp_dir().join(format!("nb-snap-{}", crate::util::random_u64()));
        let k = key("", "G", "d");
        record(&dir, &k, Some("héllo\n"));
        assert_eq!(read(&snapshot_path(&dir, &k)).as_deref(), Some("héllo\n"));
        record(&dir, &k, None);
        assert_eq!(read(&snapshot_path(&dir, &k)), None);
        record(&dir, &k, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
