//! The address server: where the server list comes from when the client
//! is given an endpoint instead of a fixed list, refreshed in the background.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;
use crate::error::Result;
use crate::threads::Workers;
use crate::transport::server_list::{self, ServerAddr};

/// Fetches the list once now, then keeps refreshing it on `workers`.
pub(crate) fn start(
    ctx: &Arc<Context>,
    workers: &Workers,
    url: &str,
    refresh: Duration,
) -> Result<()> {
    let ok = refresh_servers(ctx, url);
    let (ctx, url) = (ctx.clone(), url.to_string());
    workers.spawn("srvlist", move |stop| {
        let mut ok = ok;
        // Until the first list arrives, ask again soon.
        let quick = refresh.min(Duration::from_secs(2));
        while !stop.wait(if ok { refresh } else { quick }) {
            ok = refresh_servers(&ctx, &url);
        }
    })
}

/// Asks the address server for the list; `true` when a usable list came back.
fn refresh_servers(ctx: &Context, url: &str) -> bool {
    let body = match ctx.transport.get_plain(url) {
        Ok(b) => b,
        Err(e) => {
            if !ctx.is_closed() {
                log::warn!("nacos: address server {url} failed: {e}");
            }
            return false;
        }
    };
    let mut list: Vec<ServerAddr> = Vec::new();
    // One warning per answer, however many entries are bad.
    let (mut bad, mut first_bad) = (0usize, None);
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match ServerAddr::parse(line, server_list::DEFAULT_PORT) {
            Ok(a) if !list.contains(&a) => list.push(a),
            Ok(_) => {}
            Err(e) => {
                bad += 1;
                first_bad.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_bad {
        log::warn!("nacos: address server {url} sent {bad} bad entries, skipped (the first: {e})");
    }
    if list.is_empty() {
        log::warn!("nacos: address server {url} listed no servers; keeping the old list");
        return false;
    }
    if ctx.transport.servers().replace(list) {
        log::info!(
            "nacos: server list is now {:?}",
            ctx.transport.servers().snapshot()
        );
    }
    true
}
