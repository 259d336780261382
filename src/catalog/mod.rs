//! The service-catalog watch: events when services appear in or leave a
//! namespace, in one group or in all (matching a name pattern, if given),
//! polled through
//! the paged service list, since plain HTTP has no push. Each watch runs
//! one thread (`nacos-svcs-<n>`) from its start until it is dropped or
//! the client shuts down; an answer identical to the last costs no decode.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{select, Receiver};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::events::delivery::Listener;
use crate::events::handler::EventHandler;
use crate::events::watch::{self, Subscription, Watcher};
use crate::metrics::Operation;
use crate::naming::api::{self, RawList};
use crate::naming::service::{Groups, Listing, ServiceKey, Target};
use crate::subscribe::Subscriptions;
use crate::threads::schedule::backoff;
use crate::threads::{StopSignal, Workers};
use crate::validate;

mod event;

pub use event::CatalogEvent;

/// Names per page of the service list (Java's console pages by 10–100; r-nacos
/// and batata take 500 as well).
const PAGE_SIZE: u32 = 500;

/// Pages read at most in one round: 1,000,000 names. A server that claims
/// more is not believed.
const MAX_PAGES: u64 = 2_000;

/// The most bytes of answers one round keeps (a catalog's pages are kept
/// to compare with the next round's): a server that sends more fails the
/// round instead of growing the client without bound.
const MAX_CATALOG_BYTES: usize = 64 << 20;

/// How often a catalog is polled when neither the watch nor the client
/// (`poll_interval`) says: Java's default `cacheMillis`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Which services a catalog watch follows
/// ([`NacosClient::watch_services`](crate::NacosClient::watch_services)).
///
/// ```
/// use nacos_blocking::ServiceQuery;
/// let q = ServiceQuery::new().group("shop").pattern("order-*");
/// # let _ = q;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceQuery {
    namespace: Option<String>,
    groups: Groups,
    pattern: Option<String>,
    interval: Option<Duration>,
    keep_subscribed: bool,
}

impl ServiceQuery {
    /// Every service of the client's default namespace and group.
    pub fn new() -> ServiceQuery {
        ServiceQuery::default()
    }

    /// In namespace `namespace` (id; `""` or `"public"`: the public one).
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> ServiceQuery {
        self.namespace = Some(namespace.into());
        self
    }

    /// In group `group`.
    #[must_use]
    pub fn group(mut self, group: impl Into<String>) -> ServiceQuery {
        self.groups = Groups::One(group.into());
        self
    }

    /// In every group of the namespace (see
    /// [`ServicePage::all_groups`](crate::ServicePage::all_groups) for
    /// what each server generation answers).
    #[must_use]
    pub fn all_groups(mut self) -> ServiceQuery {
        self.groups = Groups::All;
        self
    }

    /// Only services whose name matches the glob `pattern` (`*` any run of
    /// characters, `?` one, `[a-z]` one of a set). A pattern that does not
    /// parse is refused when the watch starts.
    #[must_use]
    pub fn pattern(mut self, pattern: impl Into<String>) -> ServiceQuery {
        self.pattern = Some(pattern.into());
        self
    }

    /// Polls every `interval` (at least 100 ms) instead of the client's
    /// `poll_interval` (else 10 s).
    #[must_use]
    pub fn every(mut self, interval: Duration) -> ServiceQuery {
        self.interval = Some(interval);
        self
    }

    /// Also subscribes to each matching service while it is there, so its
    /// instances are polled and lookups of it (`select_instances`,
    /// `list_instances`, ...) answer from memory; each such subscription
    /// ends when its service leaves or the watch ends.
    #[must_use]
    pub fn keep_subscribed(mut self, keep: bool) -> ServiceQuery {
        self.keep_subscribed = keep;
        self
    }
}

/// A query checked and resolved against the client's defaults.
struct Resolved {
    namespace: String,
    /// `None`: every group.
    group: Option<String>,
    pattern: Option<glob::Pattern>,
    interval: Duration,
    keep_subscribed: bool,
}

impl Resolved {
    fn new(query: ServiceQuery, ctx: &Context) -> Result<Resolved> {
        let settings = &ctx.settings;
        let namespace = query
            .namespace
            .unwrap_or_else(|| settings.namespace.clone());
        let group = query.groups.resolve(&settings.group)?;
        validate::namespace(&namespace)?;
        let pattern = match query.pattern {
            None => None,
            Some(p) => Some(
                glob::Pattern::new(&p)
                    .map_err(|e| Error::invalid("pattern", format!("{p:?}: {e}")))?,
            ),
        };
        let interval = query
            .interval
            .or(settings.poll_interval)
            .unwrap_or(DEFAULT_INTERVAL);
        if interval < Duration::from_millis(100) {
            return Err(Error::invalid(
                "interval",
                format!("{interval:?} is under the 100 ms floor"),
            ));
        }
        Ok(Resolved {
            namespace,
            group,
            pattern,
            interval,
            keep_subscribed: query.keep_subscribed,
        })
    }

    fn matches(&self, name: &str) -> bool {
        self.pattern.as_ref().is_none_or(|p| p.matches(name))
    }

    /// `namespace/group`, or `namespace (every group)`.
    fn scope(&self) -> String {
        match &self.group {
            Some(g) => format!("{}/{g}", self.namespace),
            None => format!("{} (every group)", self.namespace),
        }
    }
}

/// The catalog watches of one client.
#[derive(Debug)]
pub(crate) struct Catalogs {
    ctx: Arc<Context>,
    subscriptions: Arc<Subscriptions>,
    workers: Workers,
    next: AtomicU64,
}

impl Catalogs {
    pub(crate) fn new(ctx: Arc<Context>, subscriptions: Arc<Subscriptions>) -> Catalogs {
        Catalogs {
            ctx,
            subscriptions,
            workers: Workers::new(),
            next: AtomicU64::new(0),
        }
    }

    /// Starts a watch of `query` delivering to `handler`; the guard ends it.
    pub(crate) fn subscribe(
        &self,
        query: ServiceQuery,
        handler: impl EventHandler<CatalogEvent>,
    ) -> Result<Subscription> {
        let q = Resolved::new(query, &self.ctx)?;
        let what = format!(
            "services of {}{}",
            q.scope(),
            q.pattern
                .as_ref()
                .map_or(String::new(), |p| format!(" matching {p}"))
        );
        let listener = Listener::new(handler);
        // Dropped by the guard: the watch's thread ends at its next wait.
        let (end_tx, end_rx) = crossbeam_channel::bounded::<()>(0);
        let n = self.next.fetch_add(1, Ordering::Relaxed) % 1000;
        let watch = Watch {
            ctx: self.ctx.clone(),
            subscriptions: self.subscriptions.clone(),
            listener: listener.clone(),
            q,
        };
        self.workers.spawn(&format!("svcs-{n}"), move |stop| {
            watch.run(&stop, &end_rx);
        })?;
        Ok(Subscription::new(what, move || {
            drop(end_tx);
            listener.remove();
        }))
    }

    pub(crate) fn watch(&self, query: ServiceQuery) -> Result<Watcher<CatalogEvent>> {
        watch::watcher(|feed| self.subscribe(query, feed))
    }

    /// Stops and joins every watch's thread.
    pub(crate) fn shutdown(&self) -> Vec<String> {
        self.workers.shutdown()
    }
}

/// One watch, owned by its thread.
struct Watch {
    ctx: Arc<Context>,
    subscriptions: Arc<Subscriptions>,
    listener: Arc<Listener<CatalogEvent>>,
    q: Resolved,
}

/// A round's pages as they came, and the services they list.
type Pages = (Vec<String>, Vec<ServiceKey>);

/// What the last round saw.
#[derive(Default)]
struct Seen {
    /// The pages as they came: the same bytes again are decoded no more.
    pages: Vec<String>,
    /// The matching services last reported (`None`: nothing reported yet).
    services: Option<BTreeSet<ServiceKey>>,
    /// An empty catalog that followed a non-empty one, not yet believed.
    empty_once: bool,
    /// The subscriptions kept for matching services.
    kept: HashMap<ServiceKey, Subscription>,
    failures: u32,
}

impl Watch {
    fn run(&self, stop: &StopSignal, end: &Receiver<()>) {
        let mut seen = Seen::default();
        loop {
            self.round(&mut seen);
            // After a failure: one interval, then two, never longer.
            let interval = self.q.interval;
            let wait = backoff(interval, seen.failures, interval * 2);
            select! {
                recv(stop.receiver()) -> _ => return,
                recv(end) -> _ => return,
                default(wait) => {}
            }
        }
    }

    fn round(&self, seen: &mut Seen) {
        match fetch(&self.ctx, &self.q, &seen.pages) {
            Ok(None) => seen.failures = 0,
            Ok(Some((pages, services))) => {
                seen.failures = 0;
                seen.pages = pages;
                let services: BTreeSet<ServiceKey> = services
                    .into_iter()
                    .filter(|s| self.q.matches(&s.name))
                    .collect();
                // A server that restarted empty answers so for a moment
                // (r-nacos, a Java node catching up): an empty catalog
                // after a full one counts only when the next round agrees.
                let was_full = seen.services.as_ref().is_some_and(|n| !n.is_empty());
                if services.is_empty() && was_full && !seen.empty_once {
                    seen.empty_once = true;
                    seen.pages.clear();
                    return;
                }
                seen.empty_once = false;
                self.report(seen, services);
            }
            Err(Error::Shutdown) => {}
            Err(e) => {
                if seen.failures == 0 {
                    log::warn!(
                        "nacos: the services of {} could not be listed: {e}",
                        self.q.scope()
                    );
                }
                seen.failures = seen.failures.saturating_add(1);
            }
        }
    }

    fn report(&self, seen: &mut Seen, services: BTreeSet<ServiceKey>) {
        let Some(event) = CatalogEvent::between(
            &self.q.namespace,
            self.q.group.as_deref(),
            seen.services.as_ref(),
            &services,
        ) else {
            return;
        };
        if self.q.keep_subscribed {
            for gone in &event.removed {
                seen.kept.remove(gone);
            }
            for service in &event.added {
                let target = Target {
                    service: service.clone(),
                    clusters: Vec::new(),
                };
                match self
                    .subscriptions
                    .subscribe(target, |_: &crate::ServiceEvent| {})
                {
                    Ok(sub) => {
                        seen.kept.insert(service.clone(), sub);
                    }
                    Err(e) => log::warn!("nacos: could not subscribe to {service}: {e}"),
                }
            }
        }
        seen.services = Some(services);
        self.listener.push(Arc::new(event), &self.ctx.delivery);
    }
}

/// Every page of `q`'s catalog, or `None` when every page is byte for byte
/// the same as in `last`. A page the same as the last round's is not
/// decoded: its count and items are the last round's, so the round goes on
/// to the next page as the last one did; the pages skipped so far are
/// decoded only when a later page differs.
fn fetch(ctx: &Context, q: &Resolved, last: &[String]) -> Result<Option<Pages>> {
    let of = Listing {
        namespace: &q.namespace,
        group: q.group.as_deref(),
    };
    let mut kept: Vec<RawList> = Vec::new();
    let mut services = Vec::new();
    let mut same = true;
    let mut page_no = 1u32;
    let mut bytes = 0usize;
    let decode = |raw: &RawList, services: &mut Vec<ServiceKey>| {
        #[cfg(test)]
        tests::DECODED.with(|n| n.set(n.get() + 1));
        let (page, got) = api::decode_service_page(of, raw)?;
        services.extend(page.services);
        Ok::<_, Error>((page.count, got))
    };
    loop {
        let raw = api::fetch_service_page(ctx, Operation::CatalogPoll, of, page_no, PAGE_SIZE)?;
        bytes += raw.body.len();
        if bytes > MAX_CATALOG_BYTES {
            return Err(Error::decode(
                "service list",
                format!("the catalog's pages pass {} MiB", MAX_CATALOG_BYTES >> 20),
                &raw.body,
            ));
        }
        let index = page_no as usize - 1;
        if same && last.get(index) == Some(&raw.body) {
            kept.push(raw);
            if index + 1 >= last.len() {
                break;
            }
            page_no += 1;
            continue;
        }
        if same {
            same = false;
            for earlier in &kept {
                decode(earlier, &mut services)?;
            }
        }
        let (count, got) = decode(&raw, &mut services)?;
        kept.push(raw);
        let pages_claimed = count.div_ceil(u64::from(PAGE_SIZE)).min(MAX_PAGES);
        if got == 0 || u64::from(page_no) >= pages_claimed {
            break;
        }
        page_no += 1;
    }
    if same {
        return Ok(None);
    }
    Ok(Some((kept.into_iter().map(|r| r.body).collect(), services)))
}

#[cfg(test)]
mod tests;
