//! Watching configs on a server without a long poll (the v3 API: Nacos
//! 3.2+, batata), at a bounded request rate however many keys are watched.
//!
//! Each round of a namespace first asks for the MD5 of every config of the
//! namespace in pages of 500 (`GET /v3/admin/cs/config/list`, Java 3.x
//! `ConfigControllerV3#list`, batata `api/v3/admin/config.rs`),
//! then reads only the keys whose MD5 moved: 1,000 unchanged keys cost two
//! requests a round, not 1,000. The list is an admin API: where it is
//! refused (a user without the read right on the namespace, admin auth on,
//! which is both servers' default) the round reads each watched key
//! instead (`GET /v3/client/cs/config`), and the list is tried again ten
//! minutes later. Reading keys one by one also wins when the namespace
//! holds many more configs than are watched.
//!
//! Every request of these rounds, in all namespaces of the client, waits
//! for a slot of one shared pacer: at most
//! [`config_poll_rate`](crate::ClientBuilder::config_poll_rate) requests a
//! second (20 by default).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config_center::api;
use crate::config_center::key::ConfigKey;
use crate::config_center::listen::ConfigWatch;
use crate::config_center::poll::Outcome as Round;
use crate::config_center::snapshot;
use crate::config_center::v3::{self, LIST_PAGE};
use crate::error::{Error, Result};
use crate::metrics::Operation;
use crate::threads::StopSignal;
use crate::transport::dialect::Dialect;
use crate::util::lock;

/// How long a namespace whose list was refused is read key by key before
/// the list is asked again (rights may have been granted meanwhile).
const REFUSED_FOR: Duration = Duration::from_secs(600);

/// Pages of the list read at most in one round (1,000,000 configs).
const MAX_LIST_PAGES: u64 = 2_000;

/// The pacer and the list's refusals, shared by a client's namespaces.
#[derive(Debug)]
pub(crate) struct V3Polls {
    /// The earliest time the next request may go.
    next_slot: Mutex<Instant>,
    gap: Duration,
    /// Namespaces whose list was refused, and when.
    refused: Mutex<HashMap<String, Instant>>,
    /// How many configs each namespace held at its last listing.
    sizes: Mutex<HashMap<String, u64>>,
}

impl V3Polls {
    pub(crate) fn new(rate: u32) -> V3Polls {
        V3Polls {
            next_slot: Mutex::new(Instant::now()),
            gap: Duration::from_secs(1) / rate.max(1),
            refused: Mutex::new(HashMap::new()),
            sizes: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the next free slot; `true` when told to stop meanwhile.
    fn pace(&self, stop: &StopSignal) -> bool {
        let slot = {
            let mut next = lock(&self.next_slot);
            let slot = (*next).max(Instant::now());
            *next = slot + self.gap;
            slot
        };
        let wait = slot.saturating_duration_since(Instant::now());
        !wait.is_zero() && stop.wait(wait)
    }

    /// Whether a round of `watched` keys of `namespace` should list the
    /// namespace's MD5s (fewer requests than reading each key, and not
    /// refused lately).
    fn lists(&self, namespace: &str, watched: usize) -> bool {
        let mut refused = lock(&self.refused);
        if let Some(at) = refused.get(namespace) {
            if at.elapsed() < REFUSED_FOR {
                return false;
            }
            refused.remove(namespace);
        }
        let pages = lock(&self.sizes)
            .get(namespace)
            .map_or(1, |n| n.div_ceil(u64::from(LIST_PAGE)).max(1));
        pages < watched as u64
    }

    fn refuse(&self, namespace: &str, e: &Error) {
        if lock(&self.refused)
            .insert(namespace.to_string(), Instant::now())
            .is_none()
        {
            log::info!(
                "nacos: the config list of namespace {namespace:?} was refused ({e}); its \
                 watched configs are read one by one (at most config_poll_rate a second) for \
                 the next {} minutes",
                REFUSED_FOR.as_secs() / 60
            );
        }
    }
}

/// One round over `items` (watched keys of one namespace, with the MD5
/// held for each).
pub(super) fn round(cw: &ConfigWatch, items: &[(ConfigKey, String)], stop: &StopSignal) -> Round {
    let Some(namespace) = items.first().map(|(k, _)| k.namespace.clone()) else {
        return Round::default();
    };
    let polls = &cw.v3;
    let suspects: Vec<&(ConfigKey, String)> = if polls.lists(&namespace, items.len()) {
        match listed_md5s(cw, &namespace, stop) {
            Ok(Some(listed)) => items
                .iter()
                .filter(|(k, held)| {
                    let now = listed
                        .get(k.group.as_str())
                        .and_then(|ids| ids.get(k.data_id.as_str()))
                        .map_or("", String::as_str);
                    now != held.as_str()
                })
                .collect(),
            Ok(None) => {
                return Round {
                    shutdown: true,
                    failed: true,
                    ..Round::default()
                }
            }
            Err(e) if refusal(&e) => {
                polls.refuse(&namespace, &e);
                items.iter().collect()
            }
            Err(Error::Shutdown) => {
                return Round {
                    shutdown: true,
                    failed: true,
                    ..Round::default()
                }
            }
            Err(e) => {
                log::warn!("nacos: the config list of namespace {namespace:?} failed: {e}");
                return Round {
                    failed: true,
                    ..Round::default()
                };
            }
        }
    } else {
        items.iter().collect()
    };
    read_each(cw, &suspects, stop)
}

/// A refusal of the list (not an outage): fall back to reading keys.
fn refusal(e: &Error) -> bool {
    e.is_auth()
        || e.api_code().is_some()
        || e.status().is_some_and(|s| (400..500).contains(&s))
        || matches!(e, Error::Decode { .. } | Error::Unsupported { .. })
}

/// Reads each of `keys` and applies those whose MD5 moved.
fn read_each(cw: &ConfigWatch, keys: &[&(ConfigKey, String)], stop: &StopSignal) -> Round {
    let mut out = Round::default();
    for (key, held) in keys {
        if !cw.is_watched(key) {
            continue;
        }
        if cw.v3.pace(stop) {
            out.shutdown = true;
            return out;
        }
        match api::read(&cw.ctx, Operation::ConfigPoll, key) {
            // The server's MD5 is the one held: nothing to decode or hash.
            Ok(f) if !f.md5.is_empty() && f.md5 == *held => {}
            Ok(f) => {
                let _serial = cw.process_lock();
                snapshot::keep(&cw.ctx.settings, key, f.content.as_deref());
                out.delivered |= cw.apply(key, f);
            }
            Err(Error::Shutdown) => {
                out.failed = true;
                out.shutdown = true;
                return out;
            }
            Err(e) => {
                log::warn!("nacos: config {key} could not be read: {e}");
                out.failed = true;
            }
        }
    }
    out
}

/// The MD5 of every config of `namespace`, by group then data id; `None`
/// when told to stop.
type Listed = HashMap<String, HashMap<String, String>>;

fn listed_md5s(cw: &ConfigWatch, namespace: &str, stop: &StopSignal) -> Result<Option<Listed>> {
    let mut md5s = Listed::new();
    let mut page_no = 1u32;
    loop {
        if cw.v3.pace(stop) {
            return Ok(None);
        }
        let resp = cw.ctx.send(Operation::ConfigPoll, &|d| match d {
            Dialect::V3 => Ok(v3::list_request(namespace, page_no)),
            Dialect::V1 => Err(Error::Unsupported {
                what: "the v3 config list on a v1 server".into(),
            }),
        })?;
        let page = v3::decode_list(&resp.body)?;
        let got = page.items.len();
        for (group, data_id, md5) in page.items {
            md5s.entry(group).or_default().insert(data_id, md5);
        }
        let pages = page
            .total
            .div_ceil(u64::from(LIST_PAGE))
            .min(MAX_LIST_PAGES);
        if got == 0 || u64::from(page_no) >= pages {
            lock(&cw.v3.sizes).insert(namespace.to_string(), page.total);
            return Ok(Some(md5s));
        }
        page_no += 1;
    }
}
