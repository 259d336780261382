//! The service lists on disk: one file per namespace/group/service under
//! `<cache dir>/naming/`, each name percent-encoded into one component.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::disk;
use crate::naming::service::{ServiceInfo, ServiceKey};

/// `<dir>/naming/<ns>/<group>/<service>`: always inside `dir`.
pub(crate) fn file_for(dir: &Path, key: &ServiceKey) -> PathBuf {
    disk::path_in(dir, &["naming", &key.namespace, &key.group, &key.name])
}

/// Writes a service's last good list, atomically. Failures are logged.
pub(crate) fn store(dir: &Path, key: &ServiceKey, info: &ServiceInfo) {
    let path = file_for(dir, key);
    let result = serde_json::to_vec(info)
        .map_err(std::io::Error::other)
        .and_then(|bytes| disk::write_atomic(&path, &bytes));
    if let Err(e) = result {
        log::warn!("nacos: cannot write {}: {e}", path.display());
    }
}

/// The list kept for `key`, if there is a readable one.
pub(crate) fn load(dir: &Path, key: &ServiceKey) -> Option<ServiceInfo> {
    read(&file_for(dir, key))
}

/// One list file; an unreadable or foreign one is skipped with a log line.
fn read(path: &Path) -> Option<ServiceInfo> {
    let parsed = disk::read_capped(path, disk::MAX_FILE_BYTES)
        .map_err(|e| e.to_string())
        .and_then(|b| match b {
            None => Ok(None),
            Some(b) => serde_json::from_slice::<ServiceInfo>(&b)
                .map(Some)
                .map_err(|e| e.to_string()),
        });
    match parsed {
        Ok(info) => info,
        Err(e) => {
            log::warn!("nacos: skipping {}: {e}", path.display());
            None
        }
    }
}

/// Every service list found under `<dir>/naming/`. Unreadable or foreign
/// files are skipped with a log line.
pub(crate) fn load_all(dir: &Path) -> HashMap<ServiceKey, ServiceInfo> {
    let mut out = HashMap::new();
    let naming = dir.join("naming");
    for (ns, ns_path) in entries(&naming) {
        for (group, group_path) in entries(&ns_path) {
            for (name, path) in entries(&group_path) {
                let key = ServiceKey {
                    namespace: ns.clone(),
                    group: group.clone(),
                    name,
                };
                if let Some(info) = read(&path) {
                    out.insert(key, info);
                }
            }
        }
    }
    if !out.is_empty() {
        log::info!("nacos: loaded {} cached service lists", out.len());
    }
    out
}

/// The decodable entries of a directory (temp files and foreign names skipped).
fn entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            if file.starts_with('.') {
                return None;
            }
            Some((disk::decode_component(&file)?, e.path()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::instance::Instance;

    fn key(name: &str) -> ServiceKey {
        ServiceKey {
            namespace: String::new(),
            group: "DEFAULT_GROUP".into(),
            name: name.into(),
        }
    }

    #[test]
    fn hostile_names_stay_inside_and_round_trip() {
        let dir = std::env::temp_dir().join(format!("nb-naming-{}", crate::util::random_u64()));
        let evil = ServiceKey {
            namespace: "../..".into(),
            group: "..".into(),
            name: "../../x".into(),
        };
        let path = file_for(&dir, &evil);
        assert!(path.starts_with(&dir));
        assert_eq!(path.components().count(), dir.components().count() + 4);
        let info = ServiceInfo {
            hosts: vec![Instance::builder("10.0.0.1", 80).build()],
            ..ServiceInfo::default()
        };
        store(&dir, &evil, &info);
        store(&dir, &key("plain"), &ServiceInfo::default());
        let loaded = load_all(&dir);
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[&evil], info);
        assert!(loaded[&key("plain")].hosts.is_empty());
        assert!(!dir.parent().unwrap().join("x").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_dir_and_garbage_are_skipped() {
        let dir = std::env::temp_dir().join(format!("nb-naming-{}", crate::util::random_u64()));
        assert!(load_all(&dir).is_empty());
        let p = file_for(&dir, &key("bad"));
        disk::write_atomic(&p, b"not json").unwrap();
        assert!(load_all(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
