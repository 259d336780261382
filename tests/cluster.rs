//! Cluster drills: a three-node r-nacos raft cluster loses its leader, a
//! follower, a frozen node, or a node's whole data dir, while clients
//! register and heartbeat ephemeral instances, subscribe to their services
//! and watch configs.
//!
//! The promises checked: no call fails that a live majority could answer
//! within the call's deadline; no instance is lost (no subscription event
//! removes one, and every live node lists every one at the end); no
//! subscription event is empty, lists nobody, or lists an instance nobody
//! registered; and a config published through one node reaches watchers
//! connected through every other node.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use nacos_blocking::{ConfigEvent, Instance, NacosClient, ServiceEvent, Watcher};
use support::cluster::RNacosCluster;
use support::unique;

/// Every call's deadline: generous, but well inside the drills' windows.
const DEADLINE: Duration = Duration::from_secs(8);

/// One drill at a time: each runs three r-nacos nodes and a busy client,
/// and four at once on a small machine make elections (and so the drills'
/// timing) the machine's, not the cluster's.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|p| p.into_inner())
}
/// How long calls keep coming after the fault is injected.
/// Long enough to outlast r-nacos's 15–18 s to notice a dead node.
const FAULT_WINDOW: Duration = Duration::from_secs(20);
/// How long the cluster and the clients may take to settle afterwards.
const SETTLE: Duration = Duration::from_secs(45);
const SERVICES: usize = 3;
const INSTANCES_PER_SERVICE: u16 = 2;

fn client(servers: &str, cache: &Path) -> NacosClient {
    NacosClient::builder()
        .server_addr(servers)
        .timeout(DEADLINE)
        .heartbeat_interval(Duration::from_secs(1))
        .poll_interval(Duration::from_millis(500))
        .cache_dir(cache)
        .build()
        .unwrap()
}

/// A subscribed service: its name, the ports registered in it, its
/// watcher, and the ports its last event listed.
type Watched = (String, BTreeSet<u16>, Watcher<ServiceEvent>, BTreeSet<u16>);

/// The clients, services, subscriptions and config watchers of one drill,
/// and every broken promise seen so far.
///
/// The cluster is the last field: the clients stop before it goes, and the
/// clients' cache dir goes with it.
struct Drill {
    /// Registers and heartbeats; knows all three servers.
    registrar: NacosClient,
    /// Subscribes; knows all three servers.
    subscriber: NacosClient,
    /// Publishes configs; knows all three servers.
    publisher: NacosClient,
    /// One client per node, knowing that node only.
    per_node: Vec<NacosClient>,
    services: Vec<Watched>,
    config: String,
    /// The config watcher through each node.
    config_watchers: Vec<Watcher<ConfigEvent>>,
    /// The newest content each of those watchers has delivered.
    seen_config: Vec<Option<String>>,
    last_published: String,
    next_port: u16,
    broken: Vec<String>,
    /// Ports whose registration failed: it may or may not have happened
    /// (a write that timed out on a frozen node can be applied after all).
    maybe: BTreeSet<u16>,
    /// Calls no live server could answer within their deadline.
    notes: Vec<String>,
    cluster: RNacosCluster,
}

impl Drill {
    fn start() -> Drill {
        let t = Instant::now();
        let cluster = RNacosCluster::start();
        eprintln!("drill: cluster up in {:?}", t.elapsed());
        let all = cluster.server_addr();
        let cache = cluster.scratch_dir("client-cache");
        let registrar = client(&all, &cache);
        let subscriber = client(&all, &cache);
        let publisher = client(&all, &cache);
        let per_node: Vec<_> = cluster
            .nodes
            .iter()
            .map(|n| client(&n.addr(), &cache))
            .collect();
        let config = unique("drill-config");
        publisher.publish_config(config.as_str(), "v0").unwrap();
        let config_watchers = per_node
            .iter()
            .map(|c| c.watch_config(config.as_str()).unwrap())
            .collect();
        let mut drill = Drill {
            cluster,
            registrar,
            subscriber,
            publisher,
            per_node,
            services: Vec::new(),
            config,
            config_watchers,
            seen_config: vec![Some("v0".to_string()); 3],
            last_published: "v0".into(),
            next_port: 20_000,
            broken: Vec::new(),
            notes: Vec::new(),
            maybe: BTreeSet::new(),
        };
        let mut names = Vec::new();
        for s in 0..SERVICES {
            let name = unique(&format!("drill-svc{s}"));
            let mut ports = BTreeSet::new();
            for _ in 0..INSTANCES_PER_SERVICE {
                let port = drill.port();
                drill
                    .registrar
                    .register_instance(name.as_str(), &Instance::builder("10.0.0.1", port).build())
                    .unwrap();
                ports.insert(port);
            }
            names.push((name, ports));
        }
        // r-nacos spreads instances between nodes a moment after a
        // registration answers; subscribe once every node lists them all.
        let listed = (0..3).all(|i| {
            support::eventually(SETTLE, || {
                names.iter().all(|(name, want)| drill.lists(i, name, want))
            })
        });
        assert!(listed, "not every node lists every instance");
        for (name, ports) in names {
            let watcher = drill.subscriber.watch(name.as_str()).unwrap();
            drill.services.push((name, ports, watcher, BTreeSet::new()));
        }
        drill.wait_until("every subscription sees every instance", SETTLE, |d| {
            d.drain_events();
            d.services
                .iter()
                .all(|(_, want, _, seen)| fits(seen, want, &d.maybe))
        });
        drill.wait_until("every config watcher sees v0", SETTLE, |d| {
            d.drain_config_events(&[0, 1, 2])
        });
        assert!(
            drill.broken.is_empty(),
            "before the fault: {:#?}",
            drill.broken
        );
        eprintln!("drill: set up in {:?}", t.elapsed());
        drill
    }

    /// `true` when node `i` lists exactly the instances `want` of `name`.
    fn lists(&self, i: usize, name: &str, want: &BTreeSet<u16>) -> bool {
        self.per_node[i].list_instances(name).is_ok_and(|s| {
            let have = s.hosts.iter().map(|h| h.port).collect();
            fits(&have, want, &self.maybe)
        })
    }

    fn port(&mut self) -> u16 {
        self.next_port += 1;
        self.next_port
    }

    /// Records a broken promise (the drill fails at its end, listing all).
    fn broke(&mut self, what: String) {
        eprintln!("BROKEN: {what}");
        self.broken.push(what);
    }

    /// Reads every pending subscription event and checks it.
    fn drain_events(&mut self) {
        let mut found = Vec::new();
        let maybe = &self.maybe;
        for (name, want, watcher, seen) in &mut self.services {
            while let Ok(ev) = watcher.try_recv() {
                let ports: BTreeSet<u16> = ev.instances.iter().map(|i| i.port).collect();
                if ev.instances.is_empty() {
                    found.push(format!("{name}: an event listing no instance: {ev:?}"));
                }
                if !ev.initial && ev.is_empty() {
                    found.push(format!("{name}: an event with no change: {ev:?}"));
                }
                if let Some(p) = ports
                    .iter()
                    .find(|p| !want.contains(p) && !maybe.contains(p))
                {
                    found.push(format!("{name}: a phantom instance :{p} in {ports:?}"));
                }
                for gone in ev.removed.iter().filter(|i| !maybe.contains(&i.port)) {
                    found.push(format!(
                        "{name}: instance :{} reported removed (lost) at {:?}",
                        gone.port,
                        Instant::now()
                    ));
                }
                *seen = ports;
            }
        }
        for f in found {
            self.broke(f);
        }
    }

    /// Reads pending config events of the watchers through the given nodes;
    /// `true` when each has seen the last published content.
    fn drain_config_events(&mut self, nodes: &[usize]) -> bool {
        let mut all = true;
        for &i in nodes {
            let mut latest = None;
            while let Ok(ev) = self.config_watchers[i].try_recv() {
                latest = Some(ev.content.clone());
            }
            if let Some(c) = latest {
                self.seen_config[i] = c;
            }
            all &= self.seen_config[i].as_deref() == Some(self.last_published.as_str());
        }
        all
    }

    fn wait_until(
        &mut self,
        what: &str,
        within: Duration,
        mut cond: impl FnMut(&mut Drill) -> bool,
    ) {
        let until = Instant::now() + within;
        loop {
            if cond(self) {
                return;
            }
            if Instant::now() >= until {
                let msg = format!("not within {within:?}: {what}");
                self.broke(msg);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One round of calls a live majority can answer: publish a config,
    /// register one more instance per service, list each service.
    fn exercise(&mut self, round: usize) {
        let value = format!("r{round}");
        let config = self.config.clone();
        let publisher = self.publisher.clone();
        let published = self.call("publish_config", || {
            publisher.publish_config(config.as_str(), value.as_str())
        });
        if published {
            self.last_published = value;
        }
        let registrar = self.registrar.clone();
        for s in 0..self.services.len() {
            let port = self.port();
            let name = self.services[s].0.clone();
            let inst = Instance::builder("10.0.0.1", port).build();
            if self.call(&format!("register_instance {name} :{port}"), || {
                registrar.register_instance(name.as_str(), &inst)
            }) {
                self.services[s].1.insert(port);
            } else {
                self.maybe.insert(port);
            }
            self.call(&format!("list_instances {name}"), || {
                registrar.list_instances(name.as_str()).map(drop)
            });
        }
        self.drain_events();
    }

    /// Makes one call; `true` when it succeeded. A failure is judged by
    /// making the same call again until the first call's deadline has
    /// passed: when the cluster answers one of those in time, the client
    /// gave up on a call the live nodes could answer within its deadline,
    /// and the drill fails. When none is answered in time, the servers
    /// could not answer (noted, not a client failure).
    fn call(&mut self, what: &str, mut f: impl FnMut() -> nacos_blocking::Result<()>) -> bool {
        let majority = self.cluster.majority_up();
        let started = Instant::now();
        let err = match f() {
            Ok(()) => return true,
            Err(e) => e,
        };
        let gave_up = started.elapsed();
        let deadline = started + DEADLINE;
        let mut answered = None;
        while Instant::now() < deadline {
            if f().is_ok() {
                answered = Some(started.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        match answered {
            Some(at) if at <= DEADLINE => {
                self.broke(format!(
                    "{what} failed after {gave_up:?} of its {DEADLINE:?} deadline, but the \
                     same call succeeded {at:?} after the first began (majority up: \
                     {majority}): {err}"
                ));
                true
            }
            _ => {
                let note = format!(
                    "{what}: no server could answer within {DEADLINE:?} (majority up: \
                     {majority}); the client gave up after {gave_up:?}: {err}"
                );
                eprintln!("NOTE: {note}");
                self.notes.push(note);
                false
            }
        }
    }

    /// Calls keep coming for [`FAULT_WINDOW`].
    fn exercise_through_fault(&mut self) {
        let until = Instant::now() + FAULT_WINDOW;
        let mut round = 0;
        while Instant::now() < until {
            round += 1;
            self.exercise(round);
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// After the fault: the cluster has a leader and agrees; every live node
    /// lists every instance; every subscription shows every instance; a
    /// config published through one live node reaches the watchers through
    /// every other live node. Then fails the test if any promise broke.
    fn finish(mut self) {
        let live: Vec<usize> = (0..3)
            .filter(|&i| self.cluster.nodes[i].is_live())
            .collect();
        let t = Instant::now();
        self.cluster.wait_leader(SETTLE);
        eprintln!("drill: leader after {:?}", t.elapsed());
        assert!(
            self.cluster.converged(SETTLE),
            "the cluster did not converge within {SETTLE:?}:\n{}\nbroken before:\n{}",
            self.cluster.report(),
            self.broken.join("\n")
        );
        let listed = support::eventually(SETTLE, || {
            live.iter().all(|&i| {
                self.services
                    .iter()
                    .all(|(name, want, _, _)| self.lists(i, name, want))
            })
        });
        if !listed {
            for &i in &live {
                for (name, want, _, _) in &self.services {
                    let have: Option<BTreeSet<u16>> = self.per_node[i]
                        .list_instances(name.as_str())
                        .ok()
                        .map(|s| s.hosts.iter().map(|h| h.port).collect());
                    if !have.as_ref().is_some_and(|h| fits(h, want, &self.maybe)) {
                        let msg = format!(
                            "not within {SETTLE:?}: node {} lists {name} as {have:?}, \
                             want {want:?} (maybe also {:?})",
                            i + 1,
                            self.maybe
                        );
                        self.broken.push(msg);
                    }
                }
            }
        }
        self.wait_until("every subscription sees every instance", SETTLE, |d| {
            d.drain_events();
            d.services
                .iter()
                .all(|(_, want, _, seen)| fits(seen, want, &d.maybe))
        });
        for &from in &live {
            let value = format!("final-from-node{}", from + 1);
            if let Err(e) = self.per_node[from].publish_config(self.config.as_str(), value.as_str())
            {
                self.broke(format!("publish through node {} failed: {e}", from + 1));
                continue;
            }
            self.last_published = value;
            let what = format!(
                "config published through node {} reaches every live node's watcher",
                from + 1
            );
            self.wait_until(&what, SETTLE, |d| d.drain_config_events(&live));
        }
        self.drain_events();
        eprintln!("drill: settled in {:?}", t.elapsed());
        if let Some(p) = self.cluster.panicked() {
            self.broke(p);
        }
        assert!(
            self.broken.is_empty(),
            "broken promises:\n{}",
            self.broken.join("\n")
        );
    }
}

#[test]
fn leader_killed() {
    let _one = one_at_a_time();
    let mut d = Drill::start();
    let leader = d.cluster.wait_leader(SETTLE);
    d.cluster.kill(leader);
    d.exercise_through_fault();
    d.finish();
}

#[test]
fn follower_killed() {
    let _one = one_at_a_time();
    let mut d = Drill::start();
    let follower = d.cluster.a_follower();
    d.cluster.kill(follower);
    d.exercise_through_fault();
    d.finish();
}

#[test]
fn leader_frozen_then_thawed() {
    let _one = one_at_a_time();
    let mut d = Drill::start();
    let leader = d.cluster.wait_leader(SETTLE);
    d.cluster.freeze(leader);
    d.exercise_through_fault();
    d.cluster.thaw(leader);
    d.exercise(1000);
    d.finish();
}

#[test]
fn leader_restarted_with_empty_data_dir() {
    let _one = one_at_a_time();
    let mut d = Drill::start();
    let leader = d.cluster.wait_leader(SETTLE);
    d.cluster.kill(leader);
    d.exercise_through_fault();
    d.cluster.restart_empty(leader);
    d.exercise(1000);
    d.finish();
}

/// `true` when `have` holds every port of `want` and nothing else but
/// ports of `maybe`.
fn fits(have: &BTreeSet<u16>, want: &BTreeSet<u16>, maybe: &BTreeSet<u16>) -> bool {
    want.is_subset(have) && have.iter().all(|p| want.contains(p) || maybe.contains(p))
}
