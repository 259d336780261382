//! The client handle: cheap to clone, `Send + Sync`, owns the workers.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::builder::ClientBuilder;
use crate::config::{Config, Servers};
use crate::config_center::listen::ConfigWatch;
use crate::error::{Error, Result};
use crate::heartbeat::{self, Heartbeats};
use crate::server_list;
use crate::subscribe::Subscriptions;
use crate::transport::{Request, Response, Transport};
use crate::worker::Workers;

/// A blocking Nacos client.
///
/// Cloning is cheap (an `Arc`); every clone shares one connection pool, one
/// login and one set of background threads. The threads stop when
/// [`shutdown`](NacosClient::shutdown) is called or the last clone is dropped.
///
/// ```no_run
/// let client = nacos_blocking::NacosClient::new("127.0.0.1:8848")?;
/// for (host, port) in client.discover("orders")? {
///     println!("{host}:{port}");
/// }
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[derive(Clone)]
pub struct NacosClient {
    inner: Arc<Inner>,
}

/// What every thread of a client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) transport: Transport,
    /// Subscriptions, their poll schedule and the local service cache.
    pub(crate) subscriptions: Arc<Subscriptions>,
    /// The beats of registered ephemeral instances.
    pub(crate) heartbeats: Heartbeats,
    /// Watched configs and their long poll.
    pub(crate) config_watch: ConfigWatch,
    closed: AtomicBool,
}

/// Owned by the client handles only: its `Drop` stops the workers.
#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    workers: Workers,
}

impl Inner {
    /// Deregisters every heartbeated instance when asked to (once), then
    /// stops and joins the workers.
    fn stop(&self) {
        if self.shared.config.deregister_on_shutdown && !self.shared.closed.load(Ordering::SeqCst) {
            heartbeat::deregister_all(&self.shared);
        }
        self.shared.closed.store(true, Ordering::SeqCst);
        self.workers.shutdown();
        self.shared.subscriptions.close();
        self.shared.config_watch.close();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

const _: () = {
    const fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<NacosClient>();
};

impl fmt::Debug for NacosClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.shared.config;
        f.debug_struct("NacosClient")
            .field("servers", &self.inner.shared.transport.servers().snapshot())
            .field("namespace", &c.namespace)
            .field("group", &c.group)
            .field("auth", &c.credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl NacosClient {
    /// A client for the given servers (comma-separated `host[:port]`), with
    /// every other setting at its default.
    pub fn new(server_addr: &str) -> Result<NacosClient> {
        ClientBuilder::default().server_addr(server_addr).build()
    }

    /// A builder for every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `NACOS_SERVER_ADDR`, `NACOS_NAMESPACE`,
    /// `NACOS_USERNAME`, `NACOS_PASSWORD` and `NACOS_CONTEXT_PATH`.
    pub fn from_env() -> Result<NacosClient> {
        ClientBuilder::default().env().build()
    }

    pub(crate) fn start(config: Config) -> Result<NacosClient> {
        let initial = match &config.servers {
            Servers::Fixed(list) => list.clone(),
            Servers::Endpoint { .. } => Vec::new(),
        };
        let transport = Transport::new(&config, initial);
        let subscriptions = Subscriptions::new(&config);
        let shared = Arc::new(Shared {
            config,
            transport,
            subscriptions,
            heartbeats: Heartbeats::new(),
            config_watch: ConfigWatch::new(),
            closed: AtomicBool::new(false),
        });
        let client = NacosClient {
            inner: Arc::new(Inner {
                shared,
                workers: Workers::new(),
            }),
        };
        if let Servers::Endpoint { url, refresh } = &client.inner.shared.config.servers {
            let (url, refresh) = (url.clone(), *refresh);
            let ok = refresh_servers(&client.inner.shared, &url);
            let shared = client.inner.shared.clone();
            client.inner.workers.spawn("serverlist", move |stop| {
                let mut ok = ok;
                // Until the first list arrives, ask again soon.
                let quick = refresh.min(std::time::Duration::from_secs(2));
                while !stop.wait(if ok { refresh } else { quick }) {
                    ok = refresh_servers(&shared, &url);
                }
            })?;
        }
        Ok(client)
    }

    /// Stops every background thread and waits for them (a request in flight
    /// ends within its deadline). Later calls fail with [`Error::Shutdown`].
    ///
    /// Heartbeats stop, so ephemeral instances expire on the server soon
    /// after; with [`deregister_on_shutdown`](ClientBuilder::deregister_on_shutdown)
    /// they are deregistered first (within about two call deadlines).
    pub fn shutdown(&self) -> Result<()> {
        self.inner.stop();
        Ok(())
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    pub(crate) fn workers(&self) -> &Workers {
        &self.inner.workers
    }

    /// `true` once shut down.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.shared.closed.load(Ordering::SeqCst)
    }

    /// Sends one request, unless the client is shut down.
    pub(crate) fn send(&self, req: &Request) -> Result<Response> {
        self.inner.shared.send(req)
    }
}

impl Shared {
    pub(crate) fn send(&self, req: &Request) -> Result<Response> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Shutdown);
        }
        self.transport.send(req)
    }
}

/// Asks the address server for the list; `true` when a usable list came back.
fn refresh_servers(shared: &Shared, url: &str) -> bool {
    let body = match shared.transport.get_plain(url) {
        Ok(b) => b,
        Err(e) => {
            log::warn!("nacos: address server {url} failed: {e}");
            return false;
        }
    };
    let mut list = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match server_list::ServerAddr::parse(line, server_list::DEFAULT_PORT) {
            Ok(a) if !list.contains(&a) => list.push(a),
            Ok(_) => {}
            Err(e) => log::warn!("nacos: address server sent a bad entry: {e}"),
        }
    }
    if list.is_empty() {
        log::warn!("nacos: address server {url} listed no servers; keeping the old list");
        return false;
    }
    if shared.transport.servers().replace(list) {
        log::info!(
            "nacos: server list is now {:?}",
            shared.transport.servers().snapshot()
        );
    }
    true
}
