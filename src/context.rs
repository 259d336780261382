//! The bottom layer: what every subsystem of a client shares.
//!
//! `naming`, `heartbeat`, `subscribe` and `config_center` each own their
//! state and threads and depend on this context (settings, transport and
//! the listener delivery pool) and on the model types, never on the client
//! facade above them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::events::delivery::Delivery;
use crate::metrics::{Operation, Recorder};
use crate::settings::Settings;
use crate::transport::dialect::Dialect;
use crate::transport::{Build, Response, Timing, Transport};

/// The settings, the transport and the delivery pool of one client.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) settings: Settings,
    pub(crate) transport: Transport,
    /// Runs every listener (service and config) on per-listener queues.
    pub(crate) delivery: Delivery,
    /// What the client did, as numbers.
    pub(crate) metrics: Arc<Recorder>,
    closed: AtomicBool,
    /// The heartbeat interval servers advise, in ms (0: none seen yet).
    advised_beat_ms: AtomicU64,
}

impl Context {
    pub(crate) fn new(settings: Settings) -> Arc<Context> {
        let initial = match &settings.servers {
            crate::settings::Servers::Fixed(list) => list.clone(),
            crate::settings::Servers::Endpoint { .. } => Vec::new(),
        };
        let metrics = Arc::new(Recorder::default());
        let transport = Transport::new(&settings, initial, metrics.clone());
        Arc::new(Context {
            settings,
            transport,
            delivery: Delivery::new(metrics.clone()),
            metrics,
            closed: AtomicBool::new(false),
            advised_beat_ms: AtomicU64::new(0),
        })
    }

    /// Sends one call of `op`, written for each server in the API it speaks
    /// (`build`), unless the client is shut down. A call cut short by the
    /// shutdown fails with [`Error::Shutdown`] too.
    pub(crate) fn send(&self, op: Operation, build: Build<'_>) -> Result<Response> {
        self.send_timed(op, Timing::default(), build)
    }

    /// [`send`](Self::send) with a shorter deadline or a hold.
    pub(crate) fn send_timed(
        &self,
        op: Operation,
        timing: Timing,
        build: Build<'_>,
    ) -> Result<Response> {
        if self.is_closed() {
            return Err(Error::Shutdown);
        }
        match self.transport.send(op, timing, build) {
            Err(_) if self.is_closed() => Err(Error::Shutdown),
            other => other,
        }
    }

    /// Whether the servers seen so far include one speaking `dialect`.
    pub(crate) fn speaks(&self, dialect: Dialect) -> bool {
        self.transport.dialects().any_known(dialect)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Refuses new requests and interrupts those in flight (their sockets
    /// are shut down), so every worker blocked in one returns at once.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.transport.interrupt();
    }

    /// Records the heartbeat interval a server advised.
    pub(crate) fn note_beat_interval(&self, interval: Duration) {
        let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.advised_beat_ms.store(ms, Ordering::Relaxed);
    }

    /// The heartbeat interval servers last advised, if any.
    pub(crate) fn advised_beat_interval(&self) -> Option<Duration> {
        match self.advised_beat_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }
}
