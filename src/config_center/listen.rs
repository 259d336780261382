//! Watching configs: one long poll for every watched key of a client.
//!
//! # Threads (a fixed number, however many keys are watched)
//!
//! A blocking request cannot be cancelled, so a long poll in flight cannot
//! be told about a key added after it was sent. Instead of interrupting
//! it, a second poll is issued:
//!
//! - Two poll threads, `nacos-config-poll-0` and `-1`, long-poll every
//!   watched key (in batches of [`BATCH`](crate::config_center::protocol::BATCH) keys), holding
//!   each request up to the client's `long_poll_timeout`. Adding a key
//!   bumps a generation; when the newest poll in flight is older than the
//!   current generation, an idle poll thread (after `poll::DEBOUNCE`, so a
//!   burst of adds makes one request) sends a fresh long poll with every
//!   key. When the older poll comes back, its thread sees a newer one in
//!   flight and goes idle. So an idle client has exactly one long poll in
//!   flight, and a new key is covered by a long poll at once.
//! - `nacos-config-check` handles the rare case of keys added while *both*
//!   poll threads are busy: it checks just those keys with non-held
//!   requests (the server answers at once), at growing intervals from
//!   `poll::CHECK_FIRST` up to `poll::CHECK_MAX`, until a poll thread frees up
//!   and covers them.
//! - Closure listeners run on a small fixed pool (see `deliver.rs`).
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
//! These threads are *detached*: shutdown signals them but does not join
//! them, because one may be blocked in a long poll the server holds for up
//! to the timeout. Once signalled they send nothing more (every request
//! after shutdown fails with `Error::Shutdown`) and exit when the request
//! in flight returns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crossbeam_channel::{Receiver, Sender};

use crate::client::{NacosClient, Shared};
use crate::config_center::api;
use crate::config_center::deliver::{Pool, Serial, Sink};
use crate::config_center::event::{ConfigChange, ConfigEvent};
use crate::config_center::key::{ConfigKey, ConfigName};
use crate::config_center::poll::{check_loop, poll_loop};
use crate::config_center::{md5, snapshot};
use crate::error::{Error, Result};
use crate::watch::{self, Watcher};

/// How many threads long-poll.
pub(crate) const POLLERS: usize = 2;

/// One watched key.
#[derive(Debug)]
struct Entry {
    /// MD5 of the content last seen (empty: none).
    md5: String,
    /// The generation that added it: long polls of this generation or
    /// later include it.
    gen: u64,
    sinks: Vec<(u64, Sink)>,
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

/// The config-watch state of one client (a field of `Shared`).
#[derive(Debug)]
pub(crate) struct ConfigWatch {
    state: Mutex<State>,
    /// Held while fetching and applying a change, so two threads that see
    /// the same change apply it in order and deliver it once. Never held
    /// while user code runs.
    process: Mutex<()>,
    pub(crate) wake_poll: (Sender<()>, Receiver<()>),
    pub(crate) wake_check: (Sender<()>, Receiver<()>),
    pool: Pool,
}

impl ConfigWatch {
    pub(crate) fn new() -> ConfigWatch {
        ConfigWatch {
            state: Mutex::new(State::default()),
            process: Mutex::new(()),
            wake_poll: crossbeam_channel::bounded(1),
            wake_check: crossbeam_channel::bounded(1),
            pool: Pool::new(),
        }
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

    /// Ends every watch: watchers see the end, listeners get nothing more.
    pub(crate) fn close(&self) {
        let entries = {
            let mut st = self.state();
            st.closed = true;
            std::mem::take(&mut st.entries)
        };
        for (_, entry) in entries {
            for (_, sink) in entry.sinks {
                if let Sink::Closure(s) = sink {
                    s.remove();
                }
            }
        }
    }

    fn remove(&self, key: &ConfigKey, id: u64) {
        let mut st = self.state();
        let Some(entry) = st.entries.get_mut(key) else {
            return;
        };
        if let Some(i) = entry.sinks.iter().position(|(i, _)| *i == id) {
            if let (_, Sink::Closure(s)) = entry.sinks.remove(i) {
                s.remove();
            }
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

    /// Records what the server now says about `key`; delivers an event to
    /// every sink if its MD5 is new. Returns whether it delivered.
    pub(crate) fn apply(&self, key: &ConfigKey, content: Option<String>) -> bool {
        let md5 = content.as_deref().map(md5::hex).unwrap_or_default();
        let sinks: Vec<Sink> = {
            let mut st = self.state();
            let Some(entry) = st.entries.get_mut(key) else {
                return false;
            };
            if entry.md5 == md5 {
                return false;
            }
            entry.md5 = md5.clone();
            entry.sinks.iter().map(|(_, s)| s.clone()).collect()
        };
        let kind = if content.is_some() {
            ConfigChange::Changed
        } else {
            ConfigChange::Deleted
        };
        log::debug!("nacos: config {key} {kind:?} (md5 {md5:?})");
        let event = ConfigEvent {
            key: key.clone(),
            kind,
            content,
            md5,
        };
        for sink in &sinks {
            self.pool.deliver(sink, event.clone());
        }
        true
    }
}

/// A closure listener added by
/// [`add_config_listener`](NacosClient::add_config_listener).
///
/// Dropping the handle keeps the listener running (until the client shuts
/// down); call [`remove`](Self::remove) to end it.
#[derive(Debug)]
pub struct ConfigListener {
    shared: Weak<Shared>,
    key: ConfigKey,
    id: u64,
}

impl ConfigListener {
    /// The config this listener watches.
    pub fn key(&self) -> &ConfigKey {
        &self.key
    }

    /// Removes the listener: it runs no more (events already running
    /// finish). Idempotent.
    pub fn remove(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.config_watch.remove(&self.key, self.id);
        }
    }
}

impl NacosClient {
    /// Runs `listener` on every change of a config, with the new content
    /// and MD5, or with a deletion. It starts from the current content (or
    /// the snapshot, when no server answers), so it fires only on changes.
    ///
    /// Listeners run on a small pool of threads of their own: one listener
    /// sees its events one at a time and in order, a slow listener delays
    /// only itself, and a panic is logged and the listener lives on.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
    /// let listener = client.add_config_listener(("app.yaml", "shop"), |event| {
    ///     println!("{} is now {:?}", event.data_id(), event.content);
    /// })?;
    /// // ...
    /// listener.remove();
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn add_config_listener(
        &self,
        config: impl Into<ConfigName>,
        listener: impl FnMut(ConfigEvent) + Send + 'static,
    ) -> Result<ConfigListener> {
        let key = self.resolve_config(config)?;
        let cw = &self.shared().config_watch;
        cw.pool.start(self.workers())?;
        let id = self.add_sink(&key, Sink::Closure(Serial::new(listener)))?;
        Ok(ConfigListener {
            shared: Arc::downgrade(self.shared()),
            key,
            id,
        })
    }

    /// A [`Watcher`] of a config's changes: `next()` blocks until the next
    /// change or deletion. Like
    /// [`add_config_listener`](Self::add_config_listener), it fires only on
    /// changes. Stopping or dropping the watcher unsubscribes.
    pub fn watch_config(&self, config: impl Into<ConfigName>) -> Result<Watcher<ConfigEvent>> {
        let key = self.resolve_config(config)?;
        let id = Arc::new(Mutex::new(None::<u64>));
        let weak = Arc::downgrade(self.shared());
        let (stop_key, stop_id) = (key.clone(), id.clone());
        let (tx, watcher) = watch::channel(move || {
            if let (Some(shared), Some(id)) = (weak.upgrade(), *lock(&stop_id)) {
                shared.config_watch.remove(&stop_key, id);
            }
        });
        *lock(&id) = Some(self.add_sink(&key, Sink::Channel(tx))?);
        Ok(watcher)
    }

    fn add_sink(&self, key: &ConfigKey, sink: Sink) -> Result<u64> {
        let shared = self.shared();
        let cw = &shared.config_watch;
        let mut initial: Option<String> = None;
        let id = loop {
            // The first watcher of a key starts from what is there now, so
            // it fires only on changes; asked outside the lock.
            if initial.is_none() && !cw.state().entries.contains_key(key) {
                initial = Some(initial_md5(shared, key)?);
            }
            let mut st = cw.state();
            if st.closed {
                return Err(Error::Shutdown);
            }
            let is_new = !st.entries.contains_key(key);
            if is_new && initial.is_none() {
                continue; // its last watcher left meanwhile: ask again
            }
            st.next_id += 1;
            let id = st.next_id;
            if is_new {
                st.gen += 1;
            }
            let gen = st.gen;
            let entry = st.entries.entry(key.clone()).or_insert_with(|| Entry {
                md5: initial.take().unwrap_or_default(),
                gen,
                sinks: Vec::new(),
            });
            entry.sinks.push((id, sink));
            break id;
        };
        self.start_config_threads()?;
        let _ = cw.wake_poll.0.try_send(());
        let _ = cw.wake_check.0.try_send(());
        Ok(id)
    }

    fn start_config_threads(&self) -> Result<()> {
        let shared = self.shared();
        let mut st = shared.config_watch.state();
        if st.threads_started {
            return Ok(());
        }
        for i in 0..POLLERS {
            let s = shared.clone();
            self.workers()
                .spawn_detached(&format!("config-poll-{i}"), move |stop| {
                    poll_loop(&s, &stop)
                })?;
        }
        let s = shared.clone();
        self.workers()
            .spawn_detached("config-check", move |stop| check_loop(&s, &stop))?;
        st.threads_started = true;
        Ok(())
    }
}

/// The MD5 a new watcher starts from: the server's content, else the
/// snapshot's when no server answers, else empty.
fn initial_md5(shared: &Shared, key: &ConfigKey) -> Result<String> {
    match api::fetch(shared, key) {
        Ok(content) => Ok(content.as_deref().map(md5::hex).unwrap_or_default()),
        Err(e) if e.is_unavailable() => {
            let path = snapshot::snapshot_path(&shared.config.cache_dir, key);
            log::warn!(
                "nacos: config {key}: servers unavailable ({e}); watching from the snapshot"
            );
            Ok(snapshot::read(&path)
                .as_deref()
                .map(md5::hex)
                .unwrap_or_default())
        }
        Err(e) => Err(e),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

    fn add(cw: &ConfigWatch, data_id: &str, sinks: Vec<(u64, Sink)>) {
        let mut st = cw.state();
        st.gen += 1;
        let gen = st.gen;
        st.entries.insert(
            key(data_id),
            Entry {
                md5: String::new(),
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
        let cw = ConfigWatch::new();
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
        let cw = ConfigWatch::new();
        let (tx, rx) = crossbeam_channel::unbounded();
        add(&cw, "a", vec![(1, Sink::Channel(tx))]);
        assert!(cw.apply(&key("a"), Some("v1".into())));
        assert!(!cw.apply(&key("a"), Some("v1".into())));
        assert!(cw.apply(&key("a"), None));
        assert!(!cw.apply(&key("a"), None));
        assert!(!cw.apply(&key("unwatched"), Some("x".into())));
        let got: Vec<ConfigEvent> = rx.try_iter().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].content.as_deref(), Some("v1"));
        assert_eq!(got[0].md5, md5::hex("v1"));
        assert_eq!(got[1].kind, ConfigChange::Deleted);
        cw.remove(&key("a"), 1);
        assert!(
            cw.state().entries.is_empty(),
            "last watcher gone: key dropped"
        );
        cw.close();
        assert!(cw.is_closed());
    }
}
