//! Watching configs: one long poll per watched namespace, each on a
//! thread of its own, so a poll one server holds for one namespace never
//! delays another's.
//!
//! # Threads: one per watched namespace
//!
//! A blocking request cannot be told about a key added after it was sent,
//! so a key added while its namespace's poll is held is covered by a fresh
//! poll, at once:
//!
//! - The first key of a namespace starts that namespace's poll thread,
//!   `nacos-cfg-<n>`, which long-polls every watched key of the namespace
//!   (each request holds up to the client's `long_poll_timeout`; past
//!   [`BATCH`](crate::config_center::protocol::BATCH) keys the batches go
//!   out concurrently, as Java runs one `LongPollingRunnable` per batch).
//! - A key added to a namespace whose poll is in flight bumps the
//!   namespace's generation and starts another thread for it, which (after
//!   `poll::DEBOUNCE`, so a burst of adds makes one request) sends a fresh
//!   long poll with every key of the namespace. When the older poll comes
//!   back, its thread sees a newer one in flight and ends. So an idle
//!   namespace has exactly one long poll in flight and one thread, and a
//!   change to a key is seen within one round trip of the server
//!   answering, whenever and wherever the key was added.
//! - When a namespace's last key goes, its thread ends once its poll
//!   returns (at most `long_poll_timeout` later).
//! - Listeners run on the client's delivery pool (see `delivery.rs`).
//!
//! On a reported change the content is fetched and delivered once per new
//! MD5 (a change seen by two polls is delivered once). Removing a watcher
//! takes effect at once: its sink is dropped from the state, so nothing
//! more is delivered to it, and a key nobody watches is left out of the
//! next poll.
//!
//! Every thread is joined on shutdown: a long poll in flight is cut short
//! by the context's close, which shuts its socket down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::config_center::api;
use crate::config_center::event::ConfigEvent;
use crate::config_center::key::ConfigKey;
use crate::config_center::snapshot;
use crate::config_center::v3_poll::V3Polls;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::events::delivery::Listener;
use crate::events::handler::EventHandler;
use crate::events::watch::Subscription;
use crate::threads::Workers;
use crate::util::lock;

/// One watched key.
#[derive(Debug)]
struct Entry {
    /// MD5 of the content last seen (empty: none).
    md5: String,
    /// The content last seen, for the initial event of a later listener.
    content: Option<String>,
    /// Its type, as the server last said it.
    config_type: Option<String>,
    sinks: Vec<(u64, Arc<Listener<ConfigEvent>>)>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<ConfigKey, Entry>,
    next_id: u64,
    /// How each watched namespace is polled.
    spaces: HashMap<String, Space>,
    closed: bool,
}

/// The polls of one namespace.
#[derive(Debug, Default)]
struct Space {
    /// Bumped whenever a key of the namespace is added.
    gen: u64,
    /// The generations of its polls in flight (or pausing).
    in_flight: Vec<u64>,
    /// A thread was started to poll it afresh and has not polled yet.
    pending: bool,
    /// When a key was last added.
    last_add: Option<Instant>,
}

/// The config watches of one client: the watched keys, their threads.
#[derive(Debug)]
pub(crate) struct ConfigWatch {
    pub(crate) ctx: Arc<Context>,
    pub(crate) workers: Workers,
    me: Weak<ConfigWatch>,
    state: Mutex<State>,
    /// Held while fetching and applying a change, so two threads that see
    /// the same change apply it in order and deliver it once. Never held
    /// while user code runs.
    process: Mutex<()>,
    /// Numbers the poll threads (`nacos-cfg-<n>`).
    threads: AtomicU64,
    /// The pace and list refusals of polling v3 servers.
    pub(crate) v3: V3Polls,
}

impl ConfigWatch {
    pub(crate) fn new(ctx: Arc<Context>) -> Arc<ConfigWatch> {
        Arc::new_cyclic(|me| ConfigWatch {
            v3: V3Polls::new(ctx.settings.config_poll_rate),
            ctx,
            workers: Workers::new(),
            me: me.clone(),
            state: Mutex::new(State::default()),
            process: Mutex::new(()),
            threads: AtomicU64::new(0),
        })
    }

    /// Held while a change is fetched and applied (see `process`).
    pub(crate) fn process_lock(&self) -> MutexGuard<'_, ()> {
        lock(&self.process)
    }

    pub(crate) fn is_watched(&self, key: &ConfigKey) -> bool {
        self.state().entries.contains_key(key)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Ends every watch (watchers see the end, listeners get nothing
    /// more), then stops and joins the threads; returns what went wrong.
    pub(crate) fn shutdown(&self) -> Vec<String> {
        let entries = {
            let mut st = self.state();
            st.closed = true;
            std::mem::take(&mut st.entries)
        };
        for entry in entries.values() {
            entry.sinks.iter().for_each(|(_, l)| l.remove());
        }
        self.workers.shutdown()
    }

    fn remove(&self, key: &ConfigKey, id: u64) {
        let mut st = self.state();
        let Some(entry) = st.entries.get_mut(key) else {
            return;
        };
        if let Some(i) = entry.sinks.iter().position(|(i, _)| *i == id) {
            entry.sinks.remove(i).1.remove();
        }
        if entry.sinks.is_empty() {
            st.entries.remove(key);
        }
    }

    /// Whether `namespace` needs a fresh poll thread now: a key was added
    /// that no poll in flight (or about to start) covers. Marks one as
    /// pending, so a burst of adds starts one thread.
    pub(crate) fn claim_poller(&self, namespace: &str) -> bool {
        let mut st = self.state();
        if st.closed {
            return false;
        }
        let space = st.spaces.entry(namespace.to_string()).or_default();
        let newest = space.in_flight.iter().max().copied();
        if space.pending || newest.is_some_and(|g| g >= space.gen) {
            return false;
        }
        space.pending = true;
        true
    }

    /// How long until `namespace` has had no key added for `quiet`.
    pub(crate) fn quiet_in(&self, namespace: &str, quiet: Duration) -> Duration {
        let st = self.state();
        let last = st.spaces.get(namespace).and_then(|s| s.last_add);
        last.map_or(Duration::ZERO, |t| {
            (t + quiet).saturating_duration_since(Instant::now())
        })
    }

    /// A number for the next poll thread's name.
    pub(crate) fn next_thread(&self) -> u64 {
        self.threads.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers the next long poll of `namespace` and returns its
    /// generation and keys; `None` when this thread should end: the
    /// namespace has no key left, or a newer poll is in flight, or a fresh
    /// thread is about to poll it. `fresh` is the thread started by
    /// [`claim_poller`](Self::claim_poller), on its first poll.
    pub(crate) fn start_poll(
        &self,
        namespace: &str,
        fresh: bool,
    ) -> Option<(u64, Vec<(ConfigKey, String)>)> {
        let mut guard = self.state();
        let st = &mut *guard;
        let space = st.spaces.get_mut(namespace)?;
        if fresh {
            space.pending = false;
        }
        let newest = space.in_flight.iter().max().copied();
        let items: Vec<(ConfigKey, String)> = st
            .entries
            .iter()
            .filter(|(k, _)| k.namespace == namespace)
            .map(|(k, e)| (k.clone(), e.md5.clone()))
            .collect();
        let taken = st.closed
            || items.is_empty()
            || (!fresh && space.pending)
            || newest.is_some_and(|g| g >= space.gen);
        if taken {
            if items.is_empty() && space.in_flight.is_empty() && !space.pending {
                st.spaces.remove(namespace);
            }
            return None;
        }
        let gen = space.gen;
        space.in_flight.push(gen);
        Some((gen, items))
    }

    pub(crate) fn end_poll(&self, namespace: &str, gen: u64) {
        let mut st = self.state();
        if let Some(space) = st.spaces.get_mut(namespace) {
            if let Some(i) = space.in_flight.iter().position(|g| *g == gen) {
                space.in_flight.swap_remove(i);
            }
        }
    }

    #[cfg(test)]
    fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Records what the server now says about `key`; queues an event for
    /// every listener if its MD5 is new. Returns whether it delivered.
    ///
    /// The MD5 is the server's where it sent one ([`api::Fetched`]), so a
    /// config the server keeps encrypted is compared by the MD5 the server
    /// compares in its long poll, and an unchanged one stays quiet.
    pub(crate) fn apply(&self, key: &ConfigKey, fetched: api::Fetched) -> bool {
        let md5 = fetched.md5_or_own();
        let (content, config_type) = (fetched.content, fetched.config_type);
        let mut st = self.state();
        let Some(entry) = st.entries.get_mut(key) else {
            return false;
        };
        if entry.md5 == md5 {
            return false;
        }
        log::debug!("nacos: config {key} changed (md5 {md5:?})");
        self.ctx.metrics.config_changed();
        entry.md5 = md5;
        entry.content = content.clone();
        entry.config_type = config_type.clone();
        let event = Arc::new(
            ConfigEvent::changed(key.clone(), content)
                .with_md5(entry.md5.clone())
                .with_type(config_type),
        );
        // Queued under the state lock (queuing never blocks), so a listener
        // added meanwhile gets either this change or an initial event that
        // already shows it, never neither.
        for (_, l) in &entry.sinks {
            l.push(event.clone(), &self.ctx.delivery);
        }
        true
    }

    /// Adds a listener of `key`: it first gets an initial event with the
    /// current content, then one event per change.
    pub(crate) fn subscribe<H: EventHandler<ConfigEvent>>(
        self: &Arc<Self>,
        key: ConfigKey,
        handler: H,
    ) -> Result<Subscription> {
        let listener = Listener::new(handler);
        let mut fetched: Option<api::Fetched> = None;
        let id = loop {
            // The first listener of a key starts from what is there now;
            // asked outside the lock.
            if fetched.is_none() && !self.state().entries.contains_key(&key) {
                fetched = Some(initial_content(&self.ctx, &key)?);
            }
            let mut st = self.state();
            if st.closed {
                return Err(Error::Shutdown);
            }
            let is_new = !st.entries.contains_key(&key);
            if is_new && fetched.is_none() {
                continue; // its last listener left meanwhile: ask again
            }
            st.next_id += 1;
            let id = st.next_id;
            let space = st.spaces.entry(key.namespace.clone()).or_default();
            if is_new {
                space.gen += 1;
                space.last_add = Some(Instant::now());
            }
            let entry = st.entries.entry(key.clone()).or_insert_with(|| {
                let first = fetched.take().expect("fetched for a new key");
                Entry {
                    md5: first.md5_or_own(),
                    content: first.content,
                    config_type: first.config_type,
                    sinks: Vec::new(),
                }
            });
            let initial = ConfigEvent::current(key.clone(), entry.content.clone())
                .with_md5(entry.md5.clone())
                .with_type(entry.config_type.clone());
            listener.push(Arc::new(initial), &self.ctx.delivery);
            entry.sinks.push((id, listener.clone()));
            break id;
        };
        let me = self.me.clone();
        let what = format!("config {key}");
        Ok(Subscription::new(what, move || {
            if let Some(cw) = me.upgrade() {
                cw.remove(&key, id);
            }
        }))
    }
}

/// What a new watch starts from: the server's answer, else the
/// snapshot's content when no server answers.
fn initial_content(ctx: &Context, key: &ConfigKey) -> Result<api::Fetched> {
    match api::fetch(ctx, key) {
        Ok(fetched) => Ok(fetched),
        Err(e) if e.is_unavailable() => {
            log::warn!(
                "nacos: config {key}: servers unavailable ({e}); watching from the snapshot"
            );
            Ok(api::Fetched {
                content: snapshot::saved(&ctx.settings, key),
                ..api::Fetched::default()
            })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(data_id: &str) -> ConfigKey {
        ConfigKey {
            namespace: String::new(),
            group: "G".into(),
            data_id: data_id.into(),
        }
    }

    fn watch() -> Arc<ConfigWatch> {
        let config = crate::builder::ClientBuilder::default()
            .server_addr("127.0.0.1")
            .into_settings()
            .unwrap();
        ConfigWatch::new(Context::new(config))
    }

    fn add(cw: &ConfigWatch, data_id: &str, sinks: Vec<(u64, Arc<Listener<ConfigEvent>>)>) {
        add_in(cw, "", data_id, sinks);
    }

    fn add_in(
        cw: &ConfigWatch,
        namespace: &str,
        data_id: &str,
        sinks: Vec<(u64, Arc<Listener<ConfigEvent>>)>,
    ) {
        let mut st = cw.state();
        let space = st.spaces.entry(namespace.to_string()).or_default();
        space.gen += 1;
        st.entries.insert(
            ConfigKey {
                namespace: namespace.into(),
                ..key(data_id)
            },
            Entry {
                md5: String::new(),
                content: None,
                config_type: None,
                sinks,
            },
        );
    }

    fn names(items: &[(ConfigKey, String)]) -> Vec<&str> {
        let mut v: Vec<&str> = items.iter().map(|(k, _)| k.data_id.as_str()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_key_added_during_a_poll_is_covered_at_once() {
        let cw = watch();
        assert!(cw.start_poll("", true).is_none(), "nothing to watch");
        add(&cw, "a", vec![]);
        assert!(cw.claim_poller(""), "the first key starts a thread");
        assert!(!cw.claim_poller(""), "one is pending already");
        let (g1, items) = cw.start_poll("", true).unwrap();
        assert_eq!(names(&items), ["a"]);
        assert!(!cw.claim_poller(""), "one poll covers everything");
        // Added while the first poll is held: a fresh poll at once.
        add(&cw, "b", vec![]);
        assert!(cw.claim_poller(""));
        add(&cw, "c", vec![]);
        assert!(!cw.claim_poller(""), "a burst of adds makes one poll");
        let (g2, items) = cw.start_poll("", true).unwrap();
        assert_eq!(names(&items), ["a", "b", "c"]);
        // The older poll returns and finds a newer one in flight: it ends.
        cw.end_poll("", g1);
        assert!(cw.start_poll("", false).is_none());
        // The newer one goes on polling.
        cw.end_poll("", g2);
        let (g3, _) = cw.start_poll("", false).unwrap();
        // Another namespace has polls of its own.
        add_in(&cw, "dev", "x", vec![]);
        assert!(cw.claim_poller("dev"));
        let (_, items) = cw.start_poll("dev", true).unwrap();
        assert_eq!(names(&items), ["x"]);
        assert!(!cw.claim_poller(""), "public is covered by its own poll");
        cw.end_poll("", g3);
        // Its last key gone, the namespace's thread ends.
        cw.state().entries.retain(|k, _| !k.namespace.is_empty());
        assert!(cw.start_poll("", false).is_none());
        assert!(!cw.state().spaces.contains_key(""), "forgotten");
    }

    #[test]
    fn each_new_md5_is_delivered_once() {
        let cw = watch();
        let (tx, rx) = crossbeam_channel::unbounded();
        add(&cw, "a", vec![(1, Listener::new(tx))]);
        let got = |content: Option<&str>, md5: &str| api::Fetched {
            config_type: None,
            content: content.map(str::to_string),
            md5: md5.to_string(),
        };
        assert!(cw.apply(&key("a"), got(Some("v1"), "")));
        assert!(!cw.apply(&key("a"), got(Some("v1"), "")));
        assert!(cw.apply(&key("a"), got(None, "")));
        assert!(!cw.apply(&key("a"), got(None, "")));
        assert!(!cw.apply(&key("unwatched"), got(Some("x"), "")));
        // The server's MD5 decides: the text of an encrypted config hashes
        // otherwise, and is the same config as long as the server says so.
        let stored = "0123456789abcdef0123456789abcdef";
        assert!(cw.apply(&key("a"), got(Some("secret"), stored)));
        assert!(!cw.apply(&key("a"), got(Some("secret"), stored)));
        let got: Vec<ConfigEvent> = (0..3)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(2)).unwrap())
            .collect();
        assert_eq!(got[0].content.as_deref(), Some("v1"));
        assert_eq!(got[0].md5, crate::config_center::md5::hex("v1"));
        assert!(got[1].is_absent() && !got[1].initial);
        assert_eq!(got[2].md5, "0123456789abcdef0123456789abcdef");
        cw.remove(&key("a"), 1);
        assert!(
            cw.state().entries.is_empty(),
            "last watcher gone: key dropped"
        );
        assert!(cw.shutdown().is_empty());
        assert!(cw.is_closed());
        assert!(cw.ctx.delivery.shutdown().is_empty());
    }
}
