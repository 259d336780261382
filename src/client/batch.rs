//! Many instances of one service in one call: every instance checked
//! before any request, the requests sent concurrently over the connection
//! pool, one deadline for the whole call, and a result per instance.
//!
//! There is no batch endpoint over HTTP (Java's batch registration is gRPC
//! only), so the call is made of ordinary requests, at most
//! [`CONCURRENCY`] at a time on scoped threads that end with the call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::NacosClient;
use crate::error::{Error, Result};
use crate::heartbeat::BeatKey;
use crate::naming::api;
use crate::naming::instance::Instance;
use crate::naming::service::{ServiceKey, ServiceName};

/// How many requests of one batch call are in flight at most.
const CONCURRENCY: usize = 8;

/// How a batch call went: one result per instance, in the order given.
/// Nothing is half-done silently: every instance is in
/// [`succeeded`](Self::succeeded) or [`failed`](Self::failed).
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Each instance with what became of it.
    pub results: Vec<(Instance, Result<()>)>,
}

impl BatchOutcome {
    /// The instances the server took.
    pub fn succeeded(&self) -> impl Iterator<Item = &Instance> {
        self.results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| i)
    }

    /// The instances that failed, each with its error.
    pub fn failed(&self) -> impl Iterator<Item = (&Instance, &Error)> {
        self.results
            .iter()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
    }

    /// `true` when every instance succeeded.
    pub fn is_complete(&self) -> bool {
        self.results.iter().all(|(_, r)| r.is_ok())
    }
}

/// # Many instances at once
impl NacosClient {
    /// Registers many instances of `service` in one call: each is checked
    /// before any request is sent (one bad instance fails the call with
    /// [`Error::InvalidArgument`] and nothing is sent), then they are
    /// registered concurrently (8 requests at a time) within one
    /// [`timeout`](crate::ClientBuilder::timeout) for the whole call, and
    /// each ephemeral one is heartbeated as
    /// [`register_instance`](Self::register_instance) does. The outcome
    /// says which instances the server took and which failed.
    ///
    /// Python v2: `batch_register_instances`.
    pub fn register_instances(
        &self,
        service: impl Into<ServiceName>,
        instances: &[Instance],
    ) -> Result<BatchOutcome> {
        let key = self.target(service)?.service;
        for (n, inst) in instances.iter().enumerate() {
            api::validate_instance(inst).map_err(|e| at(n, e))?;
        }
        let ctx = self.ctx();
        Ok(self.each(instances, |inst, left| {
            api::register_within(ctx, &key, inst, left)?;
            self.beat_after_register(&key, inst)
        }))
    }

    /// Deregisters many instances of `service` in one call: each is
    /// checked first, the heartbeats of all stop (a beat on the wire is
    /// waited for, up to half the deadline), then the removals go out
    /// concurrently within what is left of one
    /// [`timeout`](crate::ClientBuilder::timeout).
    ///
    /// Python v2: `batch_deregister_instances`.
    pub fn deregister_instances(
        &self,
        service: impl Into<ServiceName>,
        instances: &[Instance],
    ) -> Result<BatchOutcome> {
        let key: ServiceKey = self.target(service)?.service;
        for (n, inst) in instances.iter().enumerate() {
            api::validate_identity(inst).map_err(|e| at(n, e))?;
        }
        let started = Instant::now();
        let half = self.ctx().settings.timeout / 2;
        for inst in instances {
            let left = half.saturating_sub(started.elapsed());
            self.inner
                .heartbeats
                .remove(&BeatKey::new(&key, inst), left);
        }
        let ctx = self.ctx();
        Ok(self.each(instances, |inst, left| {
            api::deregister_within(ctx, &key, inst, left)
        }))
    }

    /// Runs `call` for every instance, [`CONCURRENCY`] at a time, each
    /// with what is left of one deadline for all.
    fn each(
        &self,
        instances: &[Instance],
        call: impl Fn(&Instance, Duration) -> Result<()> + Sync,
    ) -> BatchOutcome {
        let deadline = Instant::now() + self.ctx().settings.timeout;
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(inst) = instances.get(n) else {
                    return done;
                };
                let left = deadline.saturating_duration_since(Instant::now());
                let result = if left.is_zero() {
                    Err(Error::Timeout {
                        deadline: self.ctx().settings.timeout,
                        server: None,
                    })
                } else {
                    call(inst, left)
                };
                done.push((n, result));
            }
        };
        let threads = CONCURRENCY.min(instances.len());
        let mut results: Vec<(usize, Result<()>)> = std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|i| {
                    std::thread::Builder::new()
                        .name(format!("nacos-batch-{i}"))
                        .spawn_scoped(s, work)
                        .ok()
                })
                .collect();
            let mut all = work();
            for h in helpers {
                all.extend(h.join().unwrap_or_default());
            }
            all
        });
        results.sort_by_key(|(n, _)| *n);
        BatchOutcome {
            results: results
                .into_iter()
                .map(|(n, r)| (instances[n].clone(), r))
                .collect(),
        }
    }
}

/// `e` for the `n`th instance of a batch.
fn at(n: usize, e: Error) -> Error {
    match e {
        Error::InvalidArgument { field, reason } => Error::InvalidArgument {
            field,
            reason: format!("instance {n}: {reason}"),
        },
        other => other,
    }
}
