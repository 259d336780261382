//! The naming failover switch, laid out as the Java client's
//! (2.4.3 `DiskFailoverDataSource`, 1.4.8 `FailoverReactor`): under the
//! cache dir's `failover/`, a switch file
//! `00-00---000-VIPSRV_FAILOVER_SWITCH-000---00-00` whose line `1` turns
//! failover on (`0`, or no file, off), and one file per service, named by
//! the URL-encoded key `group@@service` (`@@clusters` when the lookup
//! names clusters), holding the service's list as `ServiceInfo` JSON.
//!
//! While the switch is on, lookups and subscriptions of a service with a
//! failover file answer from the file instead of the servers (an operator
//! freezes what clients see while the registry is in trouble); off again,
//! the servers answer. Files of namespaces other than the client's own
//! live in `failover/<namespace>/` (Java keeps one cache dir per
//! namespace).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::disk;
use crate::naming::service::{ServiceInfo, Target};
use crate::settings::Settings;
use crate::util::lock;

/// Java's `UtilAndComs.FAILOVER_SWITCH`.
const SWITCH: &str = "00-00---000-VIPSRV_FAILOVER_SWITCH-000---00-00";

/// How often the switch file is looked at, at most.
const RECHECK: Duration = Duration::from_secs(1);

/// The failover switch and files of one client.
#[derive(Debug)]
pub(crate) struct Failover {
    /// `<cache dir>/failover`, when there is a cache dir.
    dir: Option<PathBuf>,
    /// The client's own namespace: its files are directly in `dir`.
    namespace: String,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    checked: Option<Instant>,
    on: bool,
}

impl Failover {
    pub(crate) fn new(settings: &Settings) -> Failover {
        Failover {
            dir: settings.cache_dir.as_ref().map(|d| d.join("failover")),
            namespace: settings.namespace.clone(),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Whether the switch is on (the file is read again at most once a
    /// second; a change is logged).
    pub(crate) fn active(&self) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        let mut seen = lock(&self.seen);
        if seen.checked.is_some_and(|t| t.elapsed() < RECHECK) {
            return seen.on;
        }
        seen.checked = Some(Instant::now());
        let on = read_switch(&dir.join(SWITCH)).unwrap_or(false);
        if on != seen.on {
            if on {
                log::warn!(
                    "nacos: naming failover is on ({}): services with a failover file answer from it, not from the servers",
                    dir.display()
                );
            } else {
                log::info!("nacos: naming failover is off: the servers answer again");
            }
            seen.on = on;
        }
        on
    }

    /// The failover list of `target` and its file's text, when the switch
    /// is on and the service has a file.
    pub(crate) fn list(&self, target: &Target) -> Option<(ServiceInfo, String)> {
        if !self.active() {
            return None;
        }
        let dir = self.dir.as_ref()?;
        let dir = if target.service.namespace == self.namespace {
            dir.clone()
        } else {
            disk::path_in(dir, &[target.service.namespace.as_str()])
        };
        let mut key = target.service.grouped_name();
        if !target.clusters.is_empty() {
            key = format!("{key}@@{}", target.clusters.join(","));
        }
        let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
        [encoded, key]
            .iter()
            .find_map(|name| read_list(&dir.join(name)))
    }
}

/// The switch: the last line that is `1` or `0` decides (Java reads every
/// line in turn).
fn read_switch(path: &Path) -> Option<bool> {
    let bytes = disk::read_capped(path, 4096).ok()??;
    String::from_utf8_lossy(&bytes)
        .lines()
        .rev()
        .find_map(|l| match l.trim() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        })
}

/// A failover file: the first line that is a `ServiceInfo` with hosts
/// (Java's `DiskCache.parseServiceInfoFromCache`).
fn read_list(path: &Path) -> Option<(ServiceInfo, String)> {
    let bytes = disk::read_capped(path, disk::MAX_FILE_BYTES).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    let info = text
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| serde_json::from_str::<ServiceInfo>(l).ok())?;
    Some((info, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ClientBuilder;
    use crate::naming::service::ServiceKey;

    #[test]
    fn the_switch_and_files_read_as_java_lays_them_out() {
        let dir = std::env::temp_dir().join(format!("nb-failover-{}", crate::util::random_u64()));
        let settings = ClientBuilder::default()
            .server_addr("127.0.0.1")
            .cache_dir(&dir)
            .into_settings()
            .unwrap();
        let f = Failover::new(&settings);
        let target = Target {
            service: ServiceKey::new("", "DEFAULT_GROUP", "orders"),
            clusters: Vec::new(),
        };
        let file = dir.join("failover").join("DEFAULT_GROUP%40%40orders");
        disk::write_atomic(
            &file,
            br#"{"name":"DEFAULT_GROUP@@orders","clusters":"","hosts":[{"ip":"10.1.1.1","port":80,"weight":1.0,"healthy":true,"enabled":true,"ephemeral":true,"clusterName":"DEFAULT","metadata":{}}]}"#,
        )
        .unwrap();
        assert!(f.list(&target).is_none(), "no switch file: off");
        disk::write_atomic(&dir.join("failover").join(SWITCH), b"1\n").unwrap();
        *lock(&f.seen) = Seen::default();
        let (info, _) = f.list(&target).expect("on");
        assert_eq!(info.hosts[0].ip, "10.1.1.1");
        disk::write_atomic(&dir.join("failover").join(SWITCH), b"0\n").unwrap();
        lock(&f.seen).checked = None;
        assert!(f.list(&target).is_none(), "off again");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
