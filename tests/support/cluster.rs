//! A three-node r-nacos raft cluster on loopback, with the faults the
//! cluster drills and the soak inject: kill, freeze, thaw, restart empty.
//!
//! Self-contained but for `super::process`, so `examples/soak.rs` can
//! include it with `#[path]`.
//!
//! Node `i` (id `i + 1`) has its own HTTP and gRPC ports (the gRPC port is
//! set: r-nacos would take HTTP + 1000), no console, and its own data dir.
//! Node 1 initialises the raft group (`RNACOS_RAFT_AUTO_INIT=true`); nodes
//! 2 and 3 join it (`RNACOS_RAFT_JOIN_ADDR`) once it keeps writes. Leader
//! and membership come from `GET /nacos/v1/raft/metrics` (async-raft's
//! `RaftMetrics`: `current_leader`, `state`, `membership_config.members`).

#![allow(dead_code, unreachable_pub, missing_debug_implementations)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::process::{free_port, get_ok_body, http_get, http_post, LogWatch, Proc};

/// How many times the whole cluster is started before giving up.
const ATTEMPTS: u32 = 10;

/// One r-nacos of a cluster.
pub struct Node {
    /// The raft node id (1-based).
    pub id: u64,
    pub http_port: u16,
    pub grpc_port: u16,
    dir: PathBuf,
    proc: Option<Proc>,
    frozen: bool,
    log: LogWatch,
}

impl Node {
    /// `127.0.0.1:<http port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    fn grpc_addr(&self) -> String {
        format!("127.0.0.1:{}", self.grpc_port)
    }

    /// Running and not frozen.
    pub fn is_live(&self) -> bool {
        self.proc.is_some() && !self.frozen
    }

    /// The r-nacos process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(|p| p.pid)
    }

    fn spawn(&mut self, extra: &[(String, String)], join: Option<String>) {
        let data = self.dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut env: Vec<(String, String)> = vec![
            ("RNACOS_HTTP_PORT".into(), self.http_port.to_string()),
            ("RNACOS_GRPC_PORT".into(), self.grpc_port.to_string()),
            ("RNACOS_RAFT_NODE_ID".into(), self.id.to_string()),
            ("RNACOS_RAFT_NODE_ADDR".into(), self.grpc_addr()),
            (
                "RNACOS_DATA_DIR".into(),
                data.to_string_lossy().into_owned(),
            ),
            ("RNACOS_RAFT_AUTO_INIT".into(), join.is_none().to_string()),
        ];
        if let Some(join) = join {
            env.push(("RNACOS_RAFT_JOIN_ADDR".into(), join));
        }
        env.extend(extra.iter().cloned());
        let log = self.dir.join("rnacos.log");
        self.log = LogWatch::new(&log);
        self.proc = Some(Proc::spawn(&self.dir, &log, &env, false));
        self.frozen = false;
    }

    fn kill(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
        self.frozen = false;
    }

    fn healthy(&self) -> bool {
        self.is_live() && http_get(self.http_port, "/health").is_some_and(|b| b.contains("success"))
    }

    /// This node's raft metrics, when it answers.
    pub fn metrics(&self) -> Option<serde_json::Value> {
        if !self.is_live() {
            return None;
        }
        let body = get_ok_body(self.http_port, "/nacos/v1/raft/metrics")?;
        serde_json::from_str(&body).ok()
    }

    fn read_config(&self, data_id: &str) -> Option<String> {
        if !self.is_live() {
            return None;
        }
        get_ok_body(
            self.http_port,
            &format!("/nacos/v1/cs/configs?dataId={data_id}&group=FIXTURE"),
        )
    }

    fn write_config(&self, data_id: &str, content: &str) -> bool {
        self.is_live()
            && http_post(
                self.http_port,
                "/nacos/v1/cs/configs",
                &format!("dataId={data_id}&group=FIXTURE&content={content}"),
            )
            .is_some_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"))
    }
}

/// A running three-node cluster; `Drop` stops every node and removes the
/// data dirs.
pub struct RNacosCluster {
    pub nodes: Vec<Node>,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl RNacosCluster {
    /// Starts a cluster with the default settings.
    pub fn start() -> RNacosCluster {
        RNacosCluster::start_with(&[])
    }

    /// Starts a cluster whose nodes get extra `RNACOS_*` settings, and waits
    /// until a config written through node 1 reads back through every node.
    /// A start that panics or does not converge is thrown away and made
    /// again on fresh ports and data dirs, up to [`ATTEMPTS`] times.
    pub fn start_with(env: &[(&str, &str)]) -> RNacosCluster {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nacos-blocking-cluster-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let mut cluster = RNacosCluster {
            nodes: Vec::new(),
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut report = String::new();
        for attempt in 1..=ATTEMPTS {
            match cluster.try_start(attempt) {
                Ok(()) => return cluster,
                Err(why) => {
                    report.push_str(&format!("--- attempt {attempt}: {why} ---\n"));
                    for n in &cluster.nodes {
                        report.push_str(&format!("node {}:\n{}\n", n.id, n.log.text()));
                    }
                    cluster.stop_all();
                }
            }
        }
        panic!("the r-nacos cluster did not come up in {ATTEMPTS} attempts:\n{report}");
    }

    fn try_start(&mut self, attempt: u32) -> Result<(), String> {
        let _ = std::fs::remove_dir_all(&self.dir);
        self.nodes = (1..=3)
            .map(|id| {
                let dir = self.dir.join(format!("a{attempt}-node{id}"));
                std::fs::create_dir_all(&dir).unwrap();
                Node {
                    id,
                    http_port: free_port(),
                    grpc_port: free_port(),
                    log: LogWatch::new(&dir.join("rnacos.log")),
                    dir,
                    proc: None,
                    frozen: false,
                }
            })
            .collect();
        let env = self.env.clone();
        self.nodes[0].spawn(&env, None);
        let until = Instant::now() + Duration::from_secs(20);
        self.wait("node 1 /health", until, |c| c.nodes[0].healthy())?;
        self.wait("node 1 keeping a write", until, |c| {
            let n = &c.nodes[0];
            n.write_config("cluster-probe", "up")
                && n.read_config("cluster-probe").as_deref() == Some("up")
        })?;
        let join = self.nodes[0].grpc_addr();
        for i in 1..3 {
            self.nodes[i].spawn(&env, Some(join.clone()));
        }
        let until = Instant::now() + Duration::from_secs(40);
        self.wait("three members", until, |c| {
            c.nodes[0].metrics().is_some_and(|m| {
                m["membership_config"]["members"]
                    .as_array()
                    .is_some_and(|a| a.len() == 3)
            })
        })?;
        if !self.converged(until.saturating_duration_since(Instant::now())) {
            return Err("a write did not reach every node".into());
        }
        self.panicked().map_or(Ok(()), Err)
    }

    /// Polls `cond` every 100 ms until it holds; `Err` at once when a log
    /// shows a panic, or when `until` passes.
    fn wait(
        &mut self,
        what: &str,
        until: Instant,
        mut cond: impl FnMut(&RNacosCluster) -> bool,
    ) -> Result<(), String> {
        loop {
            if let Some(p) = self.panicked() {
                return Err(p);
            }
            if cond(self) {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!("{what}: not in time"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The first panic any node's log has shown since it started.
    pub fn panicked(&mut self) -> Option<String> {
        self.nodes
            .iter_mut()
            .find_map(|n| n.log.scan().map(|l| format!("node {} panicked: {l}", n.id)))
    }

    /// A directory removed with the cluster (for clients' caches: drop the
    /// clients first).
    pub fn scratch_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `127.0.0.1:a,127.0.0.1:b,127.0.0.1:c`, for a client's server list.
    pub fn server_addr(&self) -> String {
        self.nodes
            .iter()
            .map(Node::addr)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// How many nodes run unfrozen.
    pub fn live_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_live()).count()
    }

    /// `true` while a majority (2 of 3) runs unfrozen.
    pub fn majority_up(&self) -> bool {
        self.live_count() >= 2
    }

    /// The index of the leader that a majority of the live nodes name, if
    /// there is one now and it is live.
    pub fn leader(&self) -> Option<usize> {
        let mut votes = [0usize; 3];
        for n in &self.nodes {
            if let Some(id) = n.metrics().and_then(|m| m["current_leader"].as_u64()) {
                if (1..=3).contains(&id) {
                    votes[id as usize - 1] += 1;
                }
            }
        }
        (0..3).find(|&i| votes[i] >= 2 && self.nodes[i].is_live())
    }

    /// Waits for [`leader`](Self::leader); panics when there is none in time.
    pub fn wait_leader(&self, within: Duration) -> usize {
        let until = Instant::now() + within;
        loop {
            if let Some(i) = self.leader() {
                return i;
            }
            assert!(Instant::now() < until, "no raft leader within {within:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The index of a live node that is not the leader.
    pub fn a_follower(&self) -> usize {
        let leader = self.wait_leader(Duration::from_secs(30));
        (0..3)
            .find(|&i| i != leader && self.nodes[i].is_live())
            .expect("a live follower")
    }

    /// `true` once a config written through a live node reads back through
    /// every live node (a fresh probe value each call).
    pub fn converged(&self, within: Duration) -> bool {
        static PROBE: AtomicUsize = AtomicUsize::new(0);
        let value = format!("v{}", PROBE.fetch_add(1, Ordering::SeqCst));
        let until = Instant::now() + within;
        let mut written = false;
        loop {
            if !written {
                // Through the leader when there is one (see `thaw`).
                let mut order: Vec<usize> = (0..3).collect();
                if let Some(l) = self.leader() {
                    order.retain(|&i| i != l);
                    order.insert(0, l);
                }
                written = order
                    .iter()
                    .any(|&i| self.nodes[i].write_config("cluster-probe", &value));
            }
            if written
                && self
                    .nodes
                    .iter()
                    .filter(|n| n.is_live())
                    .all(|n| n.read_config("cluster-probe").as_deref() == Some(value.as_str()))
            {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What each node says now: its probe config, raft state, leader and
    /// last applied index (for failure messages).
    pub fn report(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let m = n.metrics();
                format!(
                    "node {} (live {}): probe {:?}, state {}, leader {}, applied {}\n",
                    n.id,
                    n.is_live(),
                    n.read_config("cluster-probe"),
                    m.as_ref().map_or("?".into(), |m| m["state"].to_string()),
                    m.as_ref()
                        .map_or("?".into(), |m| m["current_leader"].to_string()),
                    m.as_ref()
                        .map_or("?".into(), |m| m["last_applied"].to_string()),
                )
            })
            .collect()
    }

    /// Kills node `i` (SIGKILL by its PID).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Freezes node `i` (SIGSTOP): it accepts connections but never answers.
    pub fn freeze(&mut self, i: usize) {
        if let Some(p) = &self.nodes[i].proc {
            p.signal("STOP");
            self.nodes[i].frozen = true;
        }
    }

    /// Lets a frozen node run again (SIGCONT), and waits (up to 30 s) until
    /// it follows the leader the others follow.
    ///
    /// Right after SIGCONT a frozen ex-leader still takes itself for the
    /// leader, and r-nacos 0.8.8 then answers a config write through it
    /// with `true` although the write is never committed: that node keeps
    /// the new value, the others never see it (`ConfigRoute::set_config`
    /// drops the raft error with `.ok()`). The drills and the soak test
    /// the client, not that window, so they wait it out here.
    pub fn thaw(&mut self, i: usize) {
        if let Some(p) = &self.nodes[i].proc {
            p.signal("CONT");
            self.nodes[i].frozen = false;
        }
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let (Some(leader), Some(m)) = (self.leader(), self.nodes[i].metrics()) {
                let follows = m["current_leader"].as_u64() == Some(leader as u64 + 1);
                let role_ok = leader == i || m["state"].as_str() == Some("Follower");
                if follows && role_ok {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts node `i` again on its ports with an empty data dir (killing it
    /// first if it runs). It does not initialise a group of its own; it
    /// asks a live node to let it (back) in, and the leader replicates the
    /// log to it. Returns once it answers `/health`; wait with
    /// [`converged`](Self::converged) for it to catch up.
    pub fn restart_empty(&mut self, i: usize) {
        self.kill(i);
        let _ = std::fs::remove_dir_all(self.nodes[i].dir.join("data"));
        let join = (0..3)
            .filter(|&j| j != i && self.nodes[j].is_live())
            .map(|j| self.nodes[j].grpc_addr())
            .next()
            .unwrap_or_else(|| self.nodes[(i + 1) % 3].grpc_addr());
        let env = self.env.clone();
        self.nodes[i].spawn(&env, Some(join));
        let until = Instant::now() + Duration::from_secs(20);
        while !self.nodes[i].healthy() {
            assert!(
                Instant::now() < until,
                "node {} did not answer /health after its restart:\n{}",
                i + 1,
                self.nodes[i].log.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Node `i`'s log so far (its last 8 KB).
    pub fn log(&self, i: usize) -> String {
        self.nodes[i].log.text()
    }

    fn stop_all(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

impl Drop for RNacosCluster {
    fn drop(&mut self) {
        self.stop_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
