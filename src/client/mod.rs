//! The client facade: a cheap, `Send + Sync` handle that owns the
//! subsystems and lists every public call, each a short delegation
//! (naming calls in `naming.rs`, config calls in `config.rs`).

mod address_server;
mod batch;
mod config;
mod naming;

pub use batch::BatchOutcome;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::builder::ClientBuilder;
use crate::catalog::Catalogs;
use crate::config_center::ConfigWatch;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::heartbeat::Heartbeats;
use crate::settings::Servers;
use crate::subscribe::Subscriptions;
use crate::threads::Workers;
use crate::util::lock;

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

/// A handle that does not keep the client running: what a listener should
/// hold when it needs the client.
///
/// A listener that captures a [`NacosClient`] clone keeps the client, and
/// so every background thread, alive for as long as the listener is
/// registered: for a detached subscription, forever, even after the
/// program dropped every handle of its own. Capture a `WeakClient` instead
/// ([`NacosClient::downgrade`]) and [`upgrade`](WeakClient::upgrade) it in
/// the listener; once the program's handles are gone, `upgrade` returns
/// `None` and the threads stop.
///
/// ```no_run
/// # let client = nacos_blocking::NacosClient::new("127.0.0.1:8848")?;
/// use nacos_blocking::ServiceEvent;
/// let weak = client.downgrade();
/// client
///     .subscribe("orders", move |event: &ServiceEvent| {
///         if let Some(client) = weak.upgrade() {
///             let _ = client.list_instances("payments");
///         }
///     })?
///     .detach();
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct WeakClient {
    inner: Weak<Inner>,
}

impl WeakClient {
    /// The client, if a [`NacosClient`] handle still exists.
    pub fn upgrade(&self) -> Option<NacosClient> {
        self.inner.upgrade().map(|inner| NacosClient { inner })
    }
}

/// Owned by the client handles only: its `Drop` stops everything.
#[derive(Debug)]
struct Inner {
    ctx: Arc<Context>,
    heartbeats: Arc<Heartbeats>,
    subscriptions: Arc<Subscriptions>,
    catalogs: Catalogs,
    configs: Arc<ConfigWatch>,
    /// The address-server refresh, when the servers come from an endpoint.
    address: Workers,
    /// Set by the first shutdown; later ones return at once.
    stopping: AtomicBool,
    /// Held by the shutdown under way, so a concurrent one waits for it.
    stopped: Mutex<()>,
}

impl Inner {
    /// Deregisters (when asked to), then closes the context (which cuts
    /// every request in flight short) and joins every thread.
    fn stop(&self) -> Vec<String> {
        let _serial = lock(&self.stopped);
        if self.stopping.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if self.ctx.settings.deregister_on_shutdown {
            problems.extend(self.heartbeats.deregister_all());
        }
        self.ctx.close();
        problems.extend(self.address.shutdown());
        problems.extend(self.heartbeats.shutdown());
        // Before the subscriptions: a catalog watch may hold some.
        problems.extend(self.catalogs.shutdown());
        problems.extend(self.subscriptions.shutdown());
        problems.extend(self.configs.shutdown());
        problems.extend(self.ctx.delivery.shutdown());
        problems
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let problems = self.stop();
        if !problems.is_empty() {
            log::warn!("nacos: shutdown incomplete: {}", problems.join("; "));
        }
    }
}

const _: () = {
    const fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<NacosClient>();
};

impl fmt::Debug for NacosClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.ctx.settings;
        f.debug_struct("NacosClient")
            .field("servers", &self.inner.ctx.transport.servers().snapshot())
            .field("namespace", &c.namespace)
            .field("group", &c.group)
            .field("auth", &c.credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Validates the settings and starts the client.
    pub fn build(self) -> Result<NacosClient> {
        NacosClient::start(self)
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

    fn start(builder: ClientBuilder) -> Result<NacosClient> {
        let ctx = Context::new(builder.into_settings()?);
        let subscriptions = Subscriptions::new(ctx.clone());
        let client = NacosClient {
            inner: Arc::new(Inner {
                heartbeats: Heartbeats::new(ctx.clone()),
                catalogs: Catalogs::new(ctx.clone(), subscriptions.clone()),
                subscriptions,
                configs: ConfigWatch::new(ctx.clone()),
                address: Workers::new(),
                stopping: AtomicBool::new(false),
                stopped: Mutex::new(()),
                ctx,
            }),
        };
        let inner = &client.inner;
        if let Servers::Endpoint { url, refresh } = &inner.ctx.settings.servers {
            address_server::start(&inner.ctx, &inner.address, url, *refresh)?;
        }
        Ok(client)
    }

    /// Stops every background thread and waits for them. Requests in flight
    /// are cut short, so this returns within about a second even with a
    /// frozen server. Later calls fail with [`Error::Shutdown`]; calling it
    /// again (from any thread) does nothing.
    ///
    /// Heartbeats stop, so ephemeral instances expire on the server soon
    /// after; with [`deregister_on_shutdown`](ClientBuilder::deregister_on_shutdown)
    /// they are deregistered first, within one call deadline.
    ///
    /// Fails with [`Error::ShutdownIncomplete`] when an instance could not
    /// be deregistered or a thread had panicked; everything is stopped all
    /// the same.
    pub fn shutdown(&self) -> Result<()> {
        let problems = self.inner.stop();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::ShutdownIncomplete { problems })
        }
    }

    /// What this client did since it was built, as numbers: calls, failures
    /// and latency per [`Operation`](crate::metrics::Operation), requests
    /// and failovers per server, logins, idle and changed subscription
    /// polls, events delivered, merged and waiting. Cheap: counters are
    /// kept as the client works, and this copies them.
    ///
    /// ```no_run
    /// # let client = nacos_blocking::NacosClient::new("127.0.0.1:8848")?;
    /// use nacos_blocking::metrics::Operation;
    /// let m = client.metrics();
    /// if let Some(beats) = m.operation(Operation::Beat) {
    ///     println!("{} beats, {} failed, p99 {:?}", beats.calls, beats.failures.total(), beats.p99);
    /// }
    /// println!("{m}"); // a small table
    /// # Ok::<(), nacos_blocking::Error>(())
    /// ```
    pub fn metrics(&self) -> crate::Metrics {
        self.ctx().metrics.snapshot()
    }

    /// A handle that does not keep the client running ([`WeakClient`]):
    /// what a listener should capture when it needs the client.
    pub fn downgrade(&self) -> WeakClient {
        WeakClient {
            inner: Arc::downgrade(&self.inner),
        }
    }

    fn ctx(&self) -> &Arc<Context> {
        &self.inner.ctx
    }
}
