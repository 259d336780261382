//! Watching configs: one long poll for every watched key of a client.
//!
//! # Threads (a fixed number, however many keys are watched)
//!
//! A blocking request cannot be cancelled, so a long poll in flight cannot
//! be told about a key added after it was sent. Instead of interrupting
//! it, a second poll is issued:
//!
//! - Two poll threads, `nacos-cfg-lp-0` and `-1`, long-poll every
//!   watched key (in batches of [`BATCH`](crate::config_center::protocol::BATCH) keys), holding
//!   each request up to the client's `long_poll_timeout`. Adding a key
//!   bumps a generation; when the newest poll in flight is older than the
//!   current generation, an idle poll thread (after `poll::DEBOUNCE`, so a
//!   burst of adds makes one request) sends a fresh long poll with every
//!   key. When the older poll comes back, its thread sees a newer one in
//!   flight and goes idle. So an idle client has exactly one long poll in
//!   flight, and a new key is covered by a long poll at once.
//! - `nacos-cfg-check` handles the rare case of keys added while *both*
//!   poll threads are busy: it checks just those keys with non-held
//!   requests (the server answers at once), at growing intervals from
//!   `poll::CHECK_FIRST` up to `poll::CHECK_MAX`, until a poll thread frees up
//!   and covers them.
//! - Listeners run on the client's delivery pool (see `delivery.rs`).
//!
//! More than [`BATCH`](crate::config_center::protocol::BATCH) keys take several requests, which
//! one poll thread sends in turn: a change to a key outside the batch in
//! flight is seen when its batch's turn comes (at most one timeout per
//! earlier batch). Up to 3,000 keys, every change is seen at once.
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
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crossbeam_channel::{Receiver, Sender};

use crate::config_center::api;
use crate::config_center::event::ConfigEvent;
use crate::config_center::key::ConfigKey;
use crate::config_center::{md5, snapshot};
use crate::context::Context;
use crate::delivery::Listener;
use crate::error::{Error, Result};
use crate::handler::EventHandler;
use crate::util::lock;
use crate::watch::Subscription;
use crate::worker::Workers;

/// How many threads long-poll.
pub(crate) const POLLERS: usize = 2;

/// One watched key.
#[derive(Debug)]
struct Entry {
    /// MD5 of the content last seen (empty: none).
    md5: String,
    /// The content last seen, for the initial event of a later listener.
    content: Option<String>,
    /// The generation that added it: long polls of this generation or
    /// later include it.
    gen: u64,
    sinks: Vec<(u64, Arc<Listener<ConfigEvent>>)>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<ConfigKey, Entry>,
    next_id: u64,
    /// Bumped whenever a key is added.
    gen: u64,
    /// The generations of the long polls in flight (or backing off).
    in_flight: Vec<u64>,
    threads_started: bool,
    closed: bool,
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
    pub(crate) wake_poll: (Sender<()>, Receiver<()>),
    pub(crate) wake_check: (Sender<()>, Receiver<()>),
}

impl ConfigWatch {
    pub(crate) fn new(ctx: Arc<Context>) -> Arc<ConfigWatch> {
        Arc::new_cyclic(|me| ConfigWatch {
            ctx,
            workers: Workers::new(),
            me: me.clone(),
            state: Mutex::new(State::default()),
            process: Mutex::new(()),
            wake_poll: crossbeam_channel::bounded(1),
            wake_check: crossbeam_channel::bounded(1),
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

    /// When a new long poll is due (no poll in flight, or the newest is
    /// older than the key set): registers it and returns its generation
    /// and keys.
    pub(crate) fn start_poll(&self) -> Option<(u64, Vec<(ConfigKey, String)>)> {
        let mut st = self.state();
        let newest = st.in_flight.iter().max().copied();
        if st.closed || st.entries.is_empty() || newest.is_some_and(|g| g >= st.gen) {
            return None;
        }
        let gen = st.gen;
        st.in_flight.push(gen);
        let items = st
            .entries
            .iter()
            .map(|(k, e)| (k.clone(), e.md5.clone()))
            .collect();
        Some((gen, items))
    }

    pub(crate) fn end_poll(&self, gen: u64) {
        let mut st = self.state();
        if let Some(i) = st.in_flight.iter().position(|g| *g == gen) {
            st.in_flight.swap_remove(i);
        }
    }

    /// Keys no poll in flight covers, when every poll thread is busy.
    pub(crate) fn uncovered(&self) -> Vec<(ConfigKey, String)> {
        let st = self.state();
        if st.in_flight.len() < POLLERS {
            return Vec::new(); // an idle poll thread covers them
        }
        let newest = st.in_flight.iter().max().copied().unwrap_or(0);
        st.entries
            .iter()
            .filter(|(_, e)| e.gen > newest)
            .map(|(k, e)| (k.clone(), e.md5.clone()))
            .collect()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Records what the server now says about `key`; queues an event for
    /// every listener if its MD5 is new. Returns whether it delivered.
    pub(crate) fn apply(&self, key: &ConfigKey, content: Option<String>) -> bool {
        let md5 = content.as_deref().map(md5::hex).unwrap_or_default();
        let mut st = self.state();
        let Some(entry) = st.entries.get_mut(key) else {
            return false;
        };
        if entry.md5 == md5 {
            return false;
        }
        log::debug!("nacos: config {key} changed (md5 {md5:?})");
        entry.md5 = md5;
        entry.content = content.clone();
        let event = Arc::new(ConfigEvent::changed(key.clone(), content));
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
        let mut fetched: Option<Option<String>> = None;
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
            if is_new {
                st.gen += 1;
            }
            let gen = st.gen;
            let entry = st.entries.entry(key.clone()).or_insert_with(|| {
                let content = fetched.take().flatten();
                Entry {
                    md5: content.as_deref().map(md5::hex).unwrap_or_default(),
                    content,
                    gen,
                    sinks: Vec::new(),
                }
            });
            let initial = ConfigEvent::initial(key.clone(), entry.content.clone());
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

    /// `true` the first time only: the caller starts the threads.
    pub(crate) fn claim_threads(&self) -> bool {
        let mut st = self.state();
        !std::mem::replace(&mut st.threads_started, true)
    }

    /// Tells the poll threads and the checker that a key was added.
    pub(crate) fn wake(&self) {
        let _ = self.wake_poll.0.try_send(());
        let _ = self.wake_check.0.try_send(());
    }
}

/// The content a new watch starts from: the server's, else the
/// snapshot's when no server answers.
fn initial_content(ctx: &Context, key: &ConfigKey) -> Result<Option<String>> {
    match api::fetch(ctx, key) {
        Ok(content) => Ok(content),
        Err(e) if e.is_unavailable() => {
            log::warn!(
                "nacos: config {key}: servers unavailable ({e}); watching from the snapshot"
            );
            Ok(ctx
                .config
                .cache_dir
                .as_deref()
                .and_then(|dir| snapshot::read(&snapshot::snapshot_path(dir, key))))
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
            .into_config()
            .unwrap();
        ConfigWatch::new(Context::new(config))
    }

    fn add(cw: &ConfigWatch, data_id: &str, sinks: Vec<(u64, Arc<Listener<ConfigEvent>>)>) {
        let mut st = cw.state();
        st.gen += 1;
        let gen = st.gen;
        st.entries.insert(
            key(data_id),
            Entry {
                md5: String::new(),
                content: None,
                gen,
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
        assert!(cw.start_poll().is_none(), "nothing to watch");
        add(&cw, "a", vec![]);
        let (g1, items) = cw.start_poll().unwrap();
        assert_eq!(names(&items), ["a"]);
        assert!(cw.start_poll().is_none(), "one poll covers everything");
        // Added while the first poll is in flight: the idle thread polls again.
        add(&cw, "b", vec![]);
        assert!(cw.uncovered().is_empty(), "left to the idle poll thread");
        let (g2, items) = cw.start_poll().unwrap();
        assert_eq!(names(&items), ["a", "b"]);
        // Added while both are in flight: the checker covers it.
        add(&cw, "c", vec![]);
        assert_eq!(names(&cw.uncovered()), ["c"]);
        // The older poll returns; its thread covers everything anew.
        cw.end_poll(g1);
        assert!(cw.uncovered().is_empty());
        let (g3, items) = cw.start_poll().unwrap();
        assert_eq!(names(&items), ["a", "b", "c"]);
        // The other returns and finds a newer poll in flight: it goes idle.
        cw.end_poll(g2);
        assert!(cw.start_poll().is_none());
        cw.end_poll(g3);
        assert!(cw.start_poll().is_some(), "no poll in flight: poll again");
    }

    #[test]
    fn each_new_md5_is_delivered_once() {
        let cw = watch();
        let (tx, rx) = crossbeam_channel::unbounded();
        add(&cw, "a", vec![(1, Listener::new(tx))]);
        assert!(cw.apply(&key("a"), Some("v1".into())));
        assert!(!cw.apply(&key("a"), Some("v1".into())));
        assert!(cw.apply(&key("a"), None));
        assert!(!cw.apply(&key("a"), None));
        assert!(!cw.apply(&key("unwatched"), Some("x".into())));
        let got: Vec<ConfigEvent> = (0..2)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(2)).unwrap())
            .collect();
        assert_eq!(got[0].content.as_deref(), Some("v1"));
        assert_eq!(got[0].md5, md5::hex("v1"));
        assert!(got[1].is_absent() && !got[1].initial);
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
