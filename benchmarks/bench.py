"""Runs every scenario against the r-nacos that run.sh started, then writes
REPORT.md and chart.png.

Scenarios (`--scenarios`, default all): throughput (sequential register and
list), heartbeat (1,000 instances on one client, beats counted by a loopback
proxy), subscribe (1,000 subscribed services, latency of a change made by
another process, idle cost) and footprint.

Each contender runs in a process of its own, once per round; rounds repeat
(5 by default for throughput, 3 for heartbeats, 1 for the long subscription
windows) and every figure is the median over rounds. A ratio
"ours/peer" is computed pair by pair: for each round, our figure divided by
the peer's from the same round, then the median of those ratios.

Invoked by run.sh; see `python bench.py --help` for the knobs.
"""
import argparse
import datetime
import json
import os
import pickle
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Scenarios that exist in the issue but not yet in this tree; each lands with
# the feature it measures and then replaces its row here.
PENDING = []

CONTENDER_LABEL = {
    "ours": "nacos-blocking (this crate)",
    "ureq": "bare ureq (floor)",
    "ureq-json": "bare ureq + JSON parse (info)",
    "ureq-typed": "bare ureq + typed serde (typed floor)",
    "ureq-poll": "bare ureq loop making the same polls (idle-poll floor)",
    "ureq-timeout": "bare ureq + per-request deadline (info)",
    "ureq-wire": "bare ureq sending ours' exact request (info)",
    "ureq-threads": "bare ureq + 4 idle threads in the process (info)",
    "raw": "hand-written request on a TcpStream, no HTTP library (info)",
    "raw-thread": "hand-written request + 1 idle thread in the process (info)",
    "python-v1": "Python v1 (nacos-sdk-python 2.0.11)",
    "nacos-sdk": "nacos-sdk 0.8 (async, gRPC)",
    "nacos-sdk-nodelay": "nacos-sdk 0.8, TCP_NODELAY forced on its socket (info)",
}


SHORT = {"ours": "ours", "python-v1": "Python v1", "nacos-sdk": "nacos-sdk",
         "nacos-sdk-nodelay": "nacos-sdk (nodelay)"}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def run_json(cmd, timeout=600, cpus=None):
    """Runs one contender process (on `cpus` only, when given) and returns
    the JSON line it printed."""
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=pin)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    if p.stderr.strip():
        log(p.stderr.strip()[-500:])
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def percentile(xs, p):
    """Nearest-rank percentile of a list (NaN when empty)."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round((len(xs) - 1) * p)))]


ALL_SCENARIOS = ("throughput", "heartbeat", "subscribe", "config", "footprint")

# Every child process still running when bench.py exits is killed.
CHILDREN = []
# Runs that failed (reported, not fatal, in the heartbeat and subscribe scenarios).
FAILURES = []


def failure_text(e):
    """The first line of a failure (the command and its exit code) and its last line (for a
    Python contender, the exception that ended it)."""
    lines = [l for l in str(e).strip().splitlines() if l.strip()]
    if not lines:
        return "?"
    text = lines[0][:300]
    if len(lines) > 1:
        text += f" ... {lines[-1].strip()[:300]}"
    return text


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass


class Proxy:
    """`nbench proxy`: the counting loopback proxy in front of r-nacos."""

    def __init__(self, nbench, upstream):
        self.p = subprocess.Popen([nbench, "proxy", upstream], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        CHILDREN.append(self.p)
        self.port = json.loads(self.p.stdout.readline())["port"]
        self.addr = f"127.0.0.1:{self.port}"

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


# ---------------------------------------------------------------- throughput

def pin_apart(server_pid):
    """Splits the CPUs between contenders and the server for the
    throughput scenario: the contender process on CPU 0, every thread of
    r-nacos on the others. Returns the contenders' CPU set and a function
    that gives r-nacos all CPUs back, and the split (all None: not
    pinned)."""
    cpus = sorted(os.sched_getaffinity(0))
    if server_pid is None or len(cpus) < 2:
        return None, None, None
    client, server = {cpus[0]}, set(cpus[1:])

    def each_thread(mask):
        for tid in os.listdir(f"/proc/{server_pid}/task"):
            try:
                os.sched_setaffinity(int(tid), mask)
            except (ProcessLookupError, FileNotFoundError):
                pass  # a thread that ended meanwhile

    each_thread(server)
    split = (cpus[0], sorted(server))
    log(f"throughput: contenders pinned to CPU {cpus[0]}, r-nacos (pid {server_pid}) to CPU(s) "
        f"{','.join(map(str, sorted(server)))}")
    return client, lambda: each_thread(set(cpus)), split


def throughput(a, contenders):
    addr = f"127.0.0.1:{a.http_port}"
    list_service = "bench-list"
    log(f"setup: {a.list_instances} persistent instances in {list_service}")
    setup = run_json([a.nbench, "setup-list", addr, list_service, str(a.list_instances)])

    def command(c, op, service, base):
        n, w = str(a.calls), str(a.warmup)
        if c == "nacos-sdk":
            n, w = str(a.sdk_calls), str(min(a.warmup, 10))
        if c == "nacos-sdk-nodelay":
            n, w = str(a.calls), str(min(a.warmup, 10))
        if c in ("ours", "ureq", "ureq-json", "ureq-typed", "ureq-timeout", "ureq-wire", "ureq-threads", "raw",
                 "raw-thread"):
            return [a.nbench, "throughput", c, op, addr, service, n, w, str(base)]
        if c == "python-v1":
            return [a.python, os.path.join(HERE, "contenders", "python_v1.py"), op, addr, service, n, w, str(base)]
        if c == "nacos-sdk":
            return [a.sdk_peer, op, addr, str(a.grpc_port), service, n, w, str(base)]
        if c == "nacos-sdk-nodelay":
            return ["env", "SDK_NODELAY=1", a.sdk_peer, op, addr, str(a.grpc_port), service, n, w, str(base)]
        raise ValueError(c)

    results = {}  # (contender, op) -> [sample per round]
    client_cpus, unpin, a.pinned = pin_apart(a.server_pid)
    try:
        throughput_rounds(a, contenders, command, list_service, results, client_cpus)
    finally:
        if unpin:
            unpin()
    return setup, results


def throughput_rounds(a, contenders, command, list_service, results, cpus):
    """The throughput rounds: every contender, register then list, the
    order rotated each round."""
    for r in range(a.rounds):
        # Rotate the order each round so no contender always goes first.
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for c in order:
            for op in ("register", "list"):
                if op == "register" and c in ("ureq-json", "ureq-typed"):
                    continue  # register bodies are "ok": nothing to parse
                if op == "list" and c in ("raw", "raw-thread"):
                    continue  # they show a thread's cost on a round trip; one operation is enough
                service = f"reg-{c}-{r}" if op == "register" else list_service
                try:
                    # A hung peer (nacos-sdk once sat idle without a connection) costs one run, not the report.
                    s = run_json(command(c, op, service, 30000), timeout=90, cpus=cpus)
                except Exception as e:
                    if not c.startswith("nacos-sdk"):
                        raise
                    log(f"throughput {c} {op} round {r + 1} failed: {e}")
                    FAILURES.append(f"throughput, {CONTENDER_LABEL[c]} {op}, round {r + 1}: "
                                    f"{failure_text(e)}")
                    continue
                if s["ok"] != s["calls"]:
                    raise RuntimeError(f"{c} {op}: only {s['ok']} of {s['calls']} calls succeeded")
                if op == "list" and s["instances_seen"] != a.list_instances:
                    raise RuntimeError(f"{c} list saw {s['instances_seen']} instances, expected {a.list_instances}")
                s["round"] = r
                s["rate"] = s["ok"] / s["wall_s"]
                s["cpu_us"] = (s["user_s"] + s["sys_s"]) / s["calls"] * 1e6
                results.setdefault((c, op), []).append(s)
                log(f"round {r + 1}/{a.rounds} {c:10} {op:8} {s['rate']:8.0f} calls/s "
                    f"{s['cpu_us']:7.1f} us CPU/call  threads {s['threads']} rss {s['rss_kb']} kB")


def paired_ratio(results, ours, peer, key):
    """Median over rounds of ours/peer for one figure, matched by round."""
    by_round = {s["round"]: s[key] for s in results.get(peer, [])}
    ratios = [s[key] / by_round[s["round"]] for s in results.get(ours, []) if by_round.get(s["round"])]
    return median(ratios)


# ---------------------------------------------------------------- heartbeat

HB_CONTENDERS = ["ours", "python-v1"]


def heartbeat(a):
    """Each contender registers `hb_instances` ephemeral instances through the
    counting proxy and lets its client beat them for a window; the proxy
    counts what the server received. A second, short run with one instance
    gives the thread count to compare with."""
    addr = f"127.0.0.1:{a.http_port}"
    proxy = Proxy(a.nbench, addr)
    n, iv = a.hb_instances, a.hb_interval_ms

    def command(c, service, n, warmup, window):
        args = [proxy.addr, service, str(n), str(iv), str(warmup), str(window), "30000"]
        if c == "ours":
            return [a.nbench, "heartbeat", "ours"] + args
        return [a.python, os.path.join(HERE, "contenders", "python_v1_heartbeat.py")] + args

    results = {}
    try:
        for c in HB_CONTENDERS:
            s = run_json(command(c, f"hb1-{c}", 1, 1, 2), timeout=120)
            results.setdefault((c, "one"), []).append(s)
            proxy.ask("clear")
        for r in range(a.hb_rounds):
            order = HB_CONTENDERS[r % 2:] + HB_CONTENDERS[:r % 2]
            for c in order:
                try:
                    s = run_json(command(c, f"hb-{c}-{r}", n, a.hb_warmup, a.hb_window),
                                 timeout=a.hb_window + a.hb_warmup + 300)
                except Exception as e:  # one contender failing must not lose the others' figures
                    log(f"heartbeat {c} round {r + 1} failed: {e}")
                    FAILURES.append(f"heartbeat, {CONTENDER_LABEL[c]}, round {r + 1}: "
                                    f"{failure_text(e)}")
                    proxy.ask("clear")
                    continue
                st = proxy.ask(f"beats {s['from_us']} {s['to_us']} {iv}")
                proxy.ask("clear")
                s.update(round=r, proxy=st, beats_per_s=st["per_s"], expected_per_s=n * 1000 / iv,
                         late_p50=st["late_p50_ms"], late_p99=st["late_p99_ms"],
                         cpu_us_per_beat=(s["user_s"] + s["sys_s"]) / max(st["beats"], 1) * 1e6,
                         cpu_pct=(s["user_s"] + s["sys_s"]) / s["wall_s"] * 100)
                results.setdefault((c, "many"), []).append(s)
                log(f"heartbeat round {r + 1}/{a.hb_rounds} {c:10} {st['per_s']:7.0f} beats/s "
                    f"(of {n * 1000 / iv:.0f}) late p50 {st['late_p50_ms']} p99 {st['late_p99_ms']} ms "
                    f"{s['cpu_us_per_beat']:6.1f} us CPU/beat threads {s['threads']} rss {s['rss_kb']} kB")
    finally:
        proxy.close()
    return results


# ---------------------------------------------------------------- subscribe

def read_line(p, what):
    line = p.stdout.readline()
    if not line:
        p.wait(5)
        p.errf.seek(0)
        err = p.errf.read()
        raise RuntimeError(f"{what}: no output (exit {p.poll()}): {err[-2000:]}")
    return json.loads(line)


def subscribe_run(a, proxy, c, mode, services, changes, gap_ms, idle_s, prefix):
    """One subscriber process: subscribe, idle window, then `changes` changes
    made by `nbench sub-driver` (another process)."""
    interval_ms = {"default": 0, "fast": a.sub_fast_ms}[mode]
    if c == "python-v1" and mode == "default":
        interval_ms = a.sub_default_ms  # its own default is 7 s; compared at the same 10 s
    # From the idle line on: the driver's changes, then two intervals and a margin for the last one.
    wait = changes * gap_ms / 1000 + (a.sub_default_ms if mode == "default" else a.sub_fast_ms) / 1000 * 2 + 10
    args = [prefix, str(services), str(interval_ms), str(idle_s), str(changes), str(int(wait))]
    if c in ("ours", "ureq"):
        cmd = [a.nbench, "subscribe", c, proxy.addr] + args
    elif c == "python-v1":
        cmd = [a.python, os.path.join(HERE, "contenders", "python_v1_subscribe.py"), proxy.addr] + args
    else:
        cmd = [a.sdk_peer, "subscribe", f"127.0.0.1:{a.http_port}", str(a.grpc_port)] + args
    # stderr to a file: a client that logs a lot (Python's timer threads print every failed poll's
    # traceback) must never block on a full pipe.
    errf = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)
    p.errf = errf
    CHILDREN.append(p)
    watchdog = threading.Timer(idle_s + wait + changes * gap_ms / 1000 + 300, p.kill)
    watchdog.start()
    try:
        ready = read_line(p, f"{c} subscribe")
        idle = read_line(p, f"{c} subscribe idle")
        lists = proxy.ask(f"lists {idle['from_us']} {idle['to_us']}") if c != "nacos-sdk" else None
        if changes:
            run_json([a.nbench, "sub-driver", f"127.0.0.1:{a.http_port}", prefix, str(services), str(changes),
                      str(gap_ms)])
        res = read_line(p, f"{c} subscribe result")
        p.wait(30)
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
        errf.seek(0)
        err = errf.read()
        errf.close()
    failures = err.count("Traceback")
    if err.strip():
        log(f"{c} subscribe stderr ({len(err)} bytes, {failures} tracebacks), last lines: " + err.strip()[-300:])
    proxy.ask("clear")
    return {"ready": ready, "idle": idle, "polls_per_s": lists["per_s"] if lists else None, **res,
            "stderr_tracebacks": failures,
            "idle_cpu_pct": (idle["user_s"] + idle["sys_s"]) / idle["wall_s"] * 100,
            "idle_threads": idle["threads"], "idle_rss_kb": idle["rss_kb"]}


def subscribe(a, with_sdk):
    """Per round: each contender subscribes `sub_services` services (default
    interval, then 1 s; nacos-sdk once: it is pushed to, no interval); one
    short run with a single subscription gives the thread count to compare
    with."""
    proxy = Proxy(a.nbench, f"127.0.0.1:{a.http_port}")
    n = a.sub_services
    contenders = ["ours", "python-v1"] + (["nacos-sdk"] if with_sdk else [])
    plan = [("default", a.sub_changes_default, a.sub_gap_default_ms), ("fast", a.sub_changes_fast, a.sub_gap_fast_ms)]
    results = {}
    try:
        for c in contenders:
            try:
                s = subscribe_run(a, proxy, c, "fast", 1, 0, 0, 2, f"sub1-{c}")
                results.setdefault((c, "one"), []).append(s)
            except Exception as e:
                log(f"subscribe (1 service) {c} failed: {e}")
                FAILURES.append(f"subscribe, 1 service, {CONTENDER_LABEL[c]}: {failure_text(e)}")
        for r in range(a.sub_rounds):
            for mode, changes, gap in plan:
                order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
                if mode == "fast":
                    order = order + ["ureq"]  # the idle-poll floor: no listeners, so no changes
                for c in order:
                    if c == "nacos-sdk" and mode != "default":
                        continue  # push: one run serves both tables
                    wanted = 0 if c == "ureq" else changes
                    try:
                        s = subscribe_run(a, proxy, c, mode, n, wanted, gap, a.sub_idle, f"sub-{c}-{mode}-{r}")
                    except Exception as e:  # one contender failing must not lose the others' figures
                        log(f"subscribe {mode} {c} round {r + 1} failed: {e}")
                        FAILURES.append(f"subscribe, {mode} interval, {CONTENDER_LABEL[c]}, round {r + 1}: "
                                        f"{failure_text(e)}")
                        continue
                    s["round"] = r
                    s["expected"] = wanted
                    results.setdefault((c, mode), []).append(s)
                    lat = s["latencies_ms"]
                    log(f"subscribe round {r + 1}/{a.sub_rounds} {mode:7} {c:10} {len(lat)}/{wanted} changes "
                        f"p50 {percentile(lat, .5):.0f} ms p99 {percentile(lat, .99):.0f} ms; idle: "
                        f"{s['polls_per_s'] or 0:.0f} polls/s, CPU {s['idle_cpu_pct']:.1f}% threads "
                        f"{s['idle_threads']} rss {s['idle_rss_kb']} kB")
    finally:
        proxy.close()
    return results


# ---------------------------------------------------------------- config

CFG_CONTENDERS = ["ours", "python-v1", "nacos-sdk"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def proc_tree(pid):
    """`pid` and every descendant of it (from /proc/*/stat)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, i = [pid], 0
    while i < len(out):
        out += kids.get(out[i], [])
        i += 1
    return out


def sample_tree(pid):
    """CPU seconds (user+system), threads and RSS summed over a process and its descendants."""
    pids = proc_tree(pid)
    cpu, threads, rss, alive = 0.0, 0, 0, []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                x = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields after the command: index = field number (proc(5)) - 3.
        cpu += (int(x[11]) + int(x[12])) / CLK_TCK
        threads += int(x[17])
        rss += int(x[21]) * PAGE_KB
        alive.append(p)
    return {"pids": alive, "cpu_s": cpu, "threads": threads, "rss_kb": rss}


def config_run(a, proxy, c, keys, changes, idle_s, prefix, settle):
    """One watcher process: publish `keys` configs, watch them all, then (measured from outside) an idle window,
    then `changes` changes published by `nbench cfg-driver` (another process)."""
    direct = f"127.0.0.1:{a.http_port}"
    run_json([a.nbench, "cfg-setup", direct, prefix, str(keys)])
    if c == "ours":
        cmd = [a.nbench, "config", "ours", proxy.addr, prefix, str(keys)]
    elif c == "python-v1":
        cmd = [a.python, os.path.join(HERE, "contenders", "python_v1_config.py"), proxy.addr, prefix, str(keys)]
    else:
        cmd = [a.sdk_peer, "config", direct, str(a.grpc_port), prefix, str(keys)]
    errf = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf, text=True)
    CHILDREN.append(p)
    lines = queue.Queue()

    def reader():
        for line in p.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()

    def next_json(deadline):
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                p.wait(5)
                errf.seek(0)
                raise RuntimeError(f"{c} config: exited ({p.poll()}): {errf.read()[-2000:]}")
            if line.startswith("{"):
                return json.loads(line)

    tree = [p.pid]
    try:
        ready = next_json(time.monotonic() + 300)
        if not ready or not ready.get("ready"):
            raise RuntimeError(f"{c} config: not ready within 300 s")
        ready_us = time.time_ns() // 1000
        time.sleep(settle)
        s0 = sample_tree(p.pid)
        from_us, w0 = time.time_ns() // 1000, time.monotonic()
        settle_reqs = proxy.ask(f"reqs {ready_us} {from_us}") if c != "nacos-sdk" else None
        time.sleep(idle_s)
        s1 = sample_tree(p.pid)
        to_us, wall = time.time_ns() // 1000, time.monotonic() - w0
        tree = sorted(set(s0["pids"] + s1["pids"]))
        reqs = proxy.ask(f"reqs {from_us} {to_us}") if c != "nacos-sdk" else None
        lat = []
        if changes:
            run_json([a.nbench, "cfg-driver", direct, prefix, str(keys), str(changes), str(a.cfg_gap_ms)])
            deadline = time.monotonic() + a.cfg_wait
            while len(lat) < changes:
                m = next_json(deadline)
                if m is None:
                    break
                if "lat_ms" in m:
                    lat.append(m["lat_ms"])
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait(15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        for pid in tree:  # a child left behind (Python's Manager process) is stopped too
            if pid != p.pid and os.path.exists(f"/proc/{pid}"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        errf.seek(0)
        err = errf.read()
        errf.close()
        proxy.ask("clear")
    if err.strip():
        log(f"{c} config stderr ({len(err)} bytes), last lines: " + err.strip()[-300:])
    cpu = s1["cpu_s"] - s0["cpu_s"]
    polls = reqs.get("POST /nacos/v1/cs/configs/listener", 0) if reqs is not None else None
    return {"ready": ready, "keys": keys, "expected": changes, "latencies_ms": lat, "wall_s": wall,
            "cpu_s": cpu, "cpu_pct": cpu / wall * 100, "cpu_s_per_hour": cpu / wall * 3600,
            "threads": s1["threads"], "rss_kb": s1["rss_kb"], "procs": len(s1["pids"]),
            "reqs": reqs, "polls": polls,
            "other_reqs": (sum(reqs.values()) - polls) if reqs is not None else None,
            "polls_per_min": polls / wall * 60 if reqs is not None else None,
            "settle_reqs": settle_reqs,
            "settle_total": sum(settle_reqs.values()) if settle_reqs is not None else None}


def config(a, with_sdk):
    """Per round: each contender watches `cfg_keys` configs on one client; idle window, then changes. A short
    run with one watched key gives the thread count to compare with."""
    proxy = Proxy(a.nbench, f"127.0.0.1:{a.http_port}")
    contenders = [c for c in CFG_CONTENDERS if c != "nacos-sdk" or with_sdk]
    results = {}
    try:
        for c in contenders:
            try:
                s = config_run(a, proxy, c, 1, 0, 1, f"cfg1-{c}", 2)
                results.setdefault((c, "one"), []).append(s)
                log(f"config (1 key) {c:10} threads {s['threads']} in {s['procs']} process(es), "
                    f"rss {s['rss_kb']} kB")
            except Exception as e:
                log(f"config (1 key) {c} failed: {e}")
                FAILURES.append(f"config, 1 key, {CONTENDER_LABEL[c]}: {failure_text(e)}")
        for r in range(a.cfg_rounds):
            order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
            for c in order:
                try:
                    s = config_run(a, proxy, c, a.cfg_keys, a.cfg_changes, a.cfg_idle, f"cfg-{c}-{r}", a.cfg_settle)
                except Exception as e:
                    log(f"config {c} round {r + 1} failed: {e}")
                    FAILURES.append(f"config, {CONTENDER_LABEL[c]}, round {r + 1}: "
                                    f"{failure_text(e)}")
                    continue
                s["round"] = r
                results.setdefault((c, "many"), []).append(s)
                lat = s["latencies_ms"]
                log(f"config round {r + 1}/{a.cfg_rounds} {c:10} {len(lat)}/{s['expected']} changes "
                    f"p50 {percentile(lat, .5):.0f} ms p99 {percentile(lat, .99):.0f} ms; idle {s['wall_s']:.0f} s: "
                    f"CPU {s['cpu_pct']:.2f}% ({s['cpu_s_per_hour']:.1f} s/h), polls {s['polls']}, "
                    f"other requests {s['other_reqs']}, threads {s['threads']} in {s['procs']} process(es), "
                    f"rss {s['rss_kb']} kB")
    finally:
        proxy.close()
    return results


# ---------------------------------------------------------------- footprint

def crate_count(cwd, extra):
    """Distinct packages in the normal dependency tree, the root excluded."""
    out = sh(["cargo", "tree", "-e", "normal", "--prefix", "none"] + extra, cwd=cwd)
    lines = [l for l in out.splitlines() if l.strip()]
    root = lines[0].split(" (")[0].strip()
    pkgs = {re.sub(r" \((\*|proc-macro|/.*)\)", "", l).strip() for l in lines[1:]}
    pkgs = {p.replace(" (proc-macro)", "") for p in pkgs}
    pkgs.discard(root)
    return len(pkgs), sorted(pkgs)


def file_size(path):
    if not path or not os.path.exists(path):
        return None, None
    size = os.path.getsize(path)
    stripped = None
    if shutil.which("strip"):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "s")
            subprocess.run(["strip", "-o", out, path], check=True)
            stripped = os.path.getsize(out)
    return size, stripped


def footprint(a):
    f = {}
    log("footprint: cargo tree")
    f["ours_tls_on"], f["ours_tls_on_list"] = crate_count(ROOT, [])
    f["ours_tls_off"], f["ours_tls_off_list"] = crate_count(ROOT, ["--no-default-features"])
    f["tls_off_has_rustls"] = any("rustls" in p for p in f["ours_tls_off_list"])
    f["tls_on_has_rustls"] = any("rustls" in p for p in f["ours_tls_on_list"])
    manifest = open(os.path.join(ROOT, "Cargo.toml")).read()
    f["tls_feature"] = bool(re.search(r'^tls\s*=\s*\[\s*"ureq/rustls"', manifest, re.M))
    if a.sdk_dir:
        f["sdk"], f["sdk_list"] = crate_count(a.sdk_dir, ["-p", "nacos-sdk"])
    f["ours_bin"], f["ours_bin_stripped"] = file_size(a.minimal_bin)
    f["sdk_bin"], f["sdk_bin_stripped"] = file_size(a.sdk_minimal_bin)
    if a.skip_clean_build:
        f["ours_build_s"] = None
    else:
        log("footprint: clean release build of the crate (default features)")
        with tempfile.TemporaryDirectory(prefix="nacos-blocking-cleanbuild-") as d:
            t0 = time.monotonic()
            subprocess.run(["cargo", "build", "--release", "--locked", "--lib", "-q"], cwd=ROOT, check=True,
                           env={**os.environ, "CARGO_TARGET_DIR": d})
            f["ours_build_s"] = time.monotonic() - t0
    f["sdk_build_s"] = a.sdk_build_seconds
    return f


# ---------------------------------------------------------------- report

def machine():
    cpu = open("/proc/cpuinfo").read()
    models = re.findall(r"^model name\s*:\s*(.*)$", cpu, re.M)
    model = models[0] if models else platform.processor()
    mem = sh(["free", "-m"]).splitlines()[1].split()
    return {
        "cpu": f"{len(models) or os.cpu_count()} x {model}",
        "mem": f"{mem[1]} MiB total, {mem[6] if len(mem) > 6 else '?'} MiB available",
        "kernel": platform.release(),
        "rustc": sh(["rustc", "--version"]).strip(),
        "python": platform.python_version(),
    }


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def cpu_busy(seconds=1.0):
    """The fraction of all CPUs' time that was not idle over `seconds`."""
    def sample():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(v), v[3] + v[4]  # idle + iowait
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1 - (i1 - i0) / max(1, t1 - t0)


QUIET_BUSY = 0.10   # at most this share of the CPUs busy ...
QUIET_SECONDS = 3   # ... for this many seconds in a row ...


def wait_quiet(limit):
    """Waits until the machine is quiet (the builds run.sh makes just before
    keep it busy for a while); returns (seconds waited, quiet or not)."""
    start, calm = time.time(), 0
    while time.time() - start < limit:
        busy = cpu_busy()
        calm = calm + 1 if busy <= QUIET_BUSY else 0
        if calm >= QUIET_SECONDS:
            return time.time() - start, True
    return time.time() - start, False


def fmt_rate(x):
    return f"{x:,.0f}"


def fmt_ratio(x):
    return "n/a" if x != x else f"{x:.2f}×"


def verdict(ok, text_met, text_missed):
    return f"**met** — {text_met}" if ok else f"**missed** — {text_missed}"


def fmt_ms(x):
    return "n/a" if x is None or x != x else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}")


def write_report(a, info, setup, results, contenders, fp, load_start, load_end, started, elapsed, hb, sub, cfg):
    L = []
    w = L.append
    w("# nacos-blocking benchmarks\n")
    w("Generated by `bash benchmarks/run.sh` (harness in `benchmarks/`: `run.sh` starts the server and builds, "
      "`bench.py` runs the contenders and writes this file, `src/scenario/` holds the Rust scenarios). "
      "Every contender drives the **same** local r-nacos in the **same** run; each contender runs in its own "
      "process per round so CPU figures never mix; every figure is the median of "
      f"{a.rounds} rounds, and every ratio is computed pair by pair (ours ÷ peer within each round, then the "
      "median of those ratios).\n")
    w("Cluster soak figures (`bash scripts/soak.sh`, a three-node r-nacos cluster with random kills, "
      "freezes and restarts) are in [SOAK.md](SOAK.md).\n")
    waited, quiet = getattr(a, "quiet", (None, None))
    loads = (f"Load average {' '.join(load_start)} when measuring began and {' '.join(load_end)} when it "
             "ended, before the footprint's clean build (1, 5, 15 min; the longer averages still carry the "
             "builds `run.sh` makes first, and the run itself keeps about one core busy).")
    if quiet is False:
        w(f"> **Noise warning.** The machine did not become quiet (≤ {QUIET_BUSY:.0%} of the CPUs busy for "
          f"{QUIET_SECONDS} s in a row) within {waited:.0f} s, so measuring began on a busy machine. "
          f"{loads} Absolute figures are noisy; the same-run ratios are the meaningful part.\n")
    else:
        settled = "" if waited is None else (
            f"Measuring began once the machine was quiet (≤ {QUIET_BUSY:.0%} of the CPUs busy for "
            f"{QUIET_SECONDS} s in a row; {waited:.0f} s after the builds). ")
        w(f"> {settled}{loads} On 2 cores the client and r-nacos share the CPU, so calls/s still vary from "
          "round to round: the ratios are computed pair by pair within each round.\n")
    w("## Run\n")
    w(f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')} (took {elapsed / 60:.1f} min, builds included)")
    w(f"- Command: `{a.command}`")
    w(f"- Machine: {info['cpu']}; {info['mem']}; Linux {info['kernel']}")
    w(f"- Toolchain: {info['rustc']}; Python {info['python']}")
    w(f"- Server: r-nacos {a.rnacos_version} on loopback (HTTP {a.http_port}, gRPC {a.grpc_port}), "
      "fresh data dir, started by the script and stopped at exit")
    w(f"- Scenarios run: {', '.join(a.scenario_list)}")
    if a.sdk_build_seconds is not None:
        w(f"- nacos-sdk peer: its first build took {a.sdk_build_seconds:.0f} s on this machine (timed by run.sh when "
          "it happened); a run that has to make that first build (a fresh clone) takes that much longer")
    if getattr(a, "note", ""):
        w(f"- Note: {a.note}")
    if results:
        w(f"- Throughput, per run: {a.calls} timed sequential calls after {a.warmup} untimed warm-up calls "
          f"(nacos-sdk: {a.sdk_calls} timed after {min(a.warmup, 10)}, as each of its calls takes tens of ms here)")
    w("")

    if results:
        throughput_section(w, a, setup, results, contenders)
    if hb:
        heartbeat_section(w, a, hb)
    if sub:
        subscribe_section(w, a, sub, contenders)
    if cfg:
        config_section(w, a, cfg)
    if fp:
        footprint_section(w, a, fp)
    pending_section(w, a)
    targets_section(w, a, setup, results, fp, hb, sub, cfg)
    findings_section(w, a, setup, results, hb, sub, cfg)
    raw_section(w, results, hb, sub, cfg)
    w("![chart](chart.png)\n")
    with open(os.path.join(HERE, "REPORT.md"), "w") as f:
        f.write("\n".join(L))


def throughput_section(w, a, setup, results, contenders):
    w("## Sequential register and list throughput\n")
    w(f"`register`: each call registers a new ephemeral instance (distinct port) of a service of its own. "
      f"`list`: each call lists a service with {setup['instances']} persistent instances "
      "(`healthyOnly=false`, every contender checks it saw all of them). Client CPU is the contender "
      "process's user+system time (getrusage, all threads) over the timed loop, divided by the calls.\n")
    pinned = getattr(a, "pinned", None)
    if pinned:
        w(f"**Client and server on their own cores.** For this scenario every contender process runs on CPU "
          f"{pinned[0]} and every thread of r-nacos on CPU {','.join(map(str, pinned[1]))} (`sched_setaffinity`; "
          "the other scenarios run unpinned). Left to the scheduler, on 2 cores, where it happened to place "
          "the client's and the server's threads decided a sequential loop's rate more than the client's "
          "own work did: a process holding one idle thread made 0.81–0.90× the round trips of the same "
          "process without it against r-nacos (a C client sending the same request by hand, paired runs "
          "outside this report), and not against a single-threaded echo server; pinned apart, 0.99–1.00×. "
          "The rows with idle threads show what is left of that here.\n")
    else:
        w("Client and server were **not** pinned to their own cores in this run (no server pid, or one "
          "CPU): on 2 cores the scheduler's placement of their threads moves a sequential loop's rate by "
          "more than the client's own work does.\n")
    w("The floor is the same HTTP request (method, path, parameters) sent through a bare `ureq` 3 agent with "
      "the same features, reading the body as text and nothing else. For lists the target is the **typed "
      "floor**, `bare ureq + typed serde`: the floor plus `serde_json::from_str` of the body into a plain "
      "derived struct with the fields the client returns (`TypedList`/`TypedHost` in "
      "`src/scenario/throughput.rs`: strings, a `HashMap<String, String>` of metadata per host), i.e. the "
      "least a client that hands back typed instances could do with serde. `bare ureq + JSON parse` is the "
      "floor plus `serde_json::from_str::<Value>`: not a target, it shows what an untyped parse costs.\n")
    for op in ("register", "list"):
        w(f"### {op}\n")
        w("| contender | calls/s (median) | min–max | CPU µs/call (median) | threads | RSS MB | "
          "ours ÷ peer, calls/s | ours ÷ peer, CPU/call |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for c in contenders:
            rs = results.get((c, op))
            if not rs:
                continue
            rates = [s["rate"] for s in rs]
            cpu = median([s["cpu_us"] for s in rs])
            thr = median([s["threads"] for s in rs])
            rss = median([s["rss_kb"] for s in rs]) / 1024
            if c == "ours":
                r1 = r2 = "—"
            else:
                r1 = fmt_ratio(paired_ratio(results, ("ours", op), (c, op), "rate"))
                r2 = fmt_ratio(paired_ratio(results, ("ours", op), (c, op), "cpu_us"))
            w(f"| {CONTENDER_LABEL[c]} | {fmt_rate(median(rates))} | {fmt_rate(min(rates))}–{fmt_rate(max(rates))} "
              f"| {cpu:.1f} | {thr:.0f} | {rss:.1f} | {r1} | {r2} |")
        w("")
    if "nacos-sdk" not in contenders:
        w(f"nacos-sdk: not measured in this run — {a.sdk_note}\n")


def footprint_section(w, a, fp):
    w("## Footprint\n")
    w("Crates: distinct packages in `cargo tree -e normal --prefix none` (deduplicated, the crate itself not "
      "counted). Build: `cargo build --release --locked --lib` of the crate alone into an empty target dir "
      "(all dependencies compiled from source, registry already downloaded), one run. Binary: a minimal "
      "program that registers one instance and lists the service (`benchmarks/src/bin/minimal.rs`, "
      "`benchmarks/peers/nacos-sdk/src/bin/sdk-minimal.rs`), release profile, as built and stripped.\n")
    mb = lambda b: "n/a" if b is None else f"{b / 1e6:.2f} MB"
    secs = lambda s: "n/a" if s is None else f"{s:.0f} s"
    w("| figure | nacos-blocking | nacos-sdk | ours ÷ nacos-sdk |")
    w("|---|---:|---:|---:|")
    sdk = fp.get("sdk")
    ratio = lambda x, y: "n/a" if not x or not y else f"{x / y:.2f}×"
    w(f"| crates, TLS on (default features) | {fp['ours_tls_on']} | {sdk if sdk else 'n/a'} | {ratio(fp['ours_tls_on'], sdk)} |")
    w(f"| crates, TLS off (`--no-default-features`) | {fp['ours_tls_off']} | — | — |")
    w(f"| clean release build | {secs(fp['ours_build_s'])} | {secs(fp['sdk_build_s'])} | "
      f"{ratio(fp['ours_build_s'], fp['sdk_build_s'])} |")
    w(f"| minimal binary | {mb(fp['ours_bin'])} | {mb(fp['sdk_bin'])} | {ratio(fp['ours_bin'], fp['sdk_bin'])} |")
    w(f"| minimal binary, stripped | {mb(fp['ours_bin_stripped'])} | {mb(fp['sdk_bin_stripped'])} | "
      f"{ratio(fp['ours_bin_stripped'], fp['sdk_bin_stripped'])} |")
    w("")
    if fp["sdk_build_s"] is not None:
        w(f"nacos-sdk's build time is {a.sdk_build_note}\n")
    w("Clean build times are single runs on a loaded machine and vary by tens of percent between runs.\n")


def pending_section(w, a):
    skipped = [x for x in ALL_SCENARIOS if x not in a.scenario_list]
    if not PENDING:
        if skipped:
            w(f"Left out of this run by `BENCH_SCENARIOS`: {', '.join(skipped)}.\n")
        return
    w("## Scenarios not yet measured\n")
    w("These scenarios are part of the harness's plan; each is added as its own `nbench` subcommand "
      "(`benchmarks/src/scenario/`) when the feature it measures lands. Nothing is reported for them yet.\n")
    w("| scenario | what it will measure | target | status |")
    w("|---|---|---|---|")
    for name, what, target, why in PENDING:
        w(f"| {name} | {what} | {target} | not yet measured ({why}) |")
    skipped = [x for x in ALL_SCENARIOS if x not in a.scenario_list]
    if skipped:
        w("")
        w(f"Left out of this run by `BENCH_SCENARIOS`: {', '.join(skipped)}.")
    w("")


def targets_section(w, a, setup, results, fp, hb, sub, cfg):
    w("## Targets\n")
    w("| target | measured | verdict |")
    w("|---|---:|---|")
    if results:
        throughput_targets(w, setup, results)
    if fp:
        footprint_targets(w, fp)
    if sub:
        o, f = sub.get(("ours", "fast")), sub.get(("ureq", "fast"))
        if o and f:
            so, sf = sub_stats(sub, "ours", "fast"), sub_stats(sub, "ureq", "fast")
            r = so["idle_cpu"] / sf["idle_cpu"] if sf["idle_cpu"] else float("nan")
            w(f"| idle CPU, {a.sub_services:,} subscriptions at {a.sub_fast_ms / 1000:g} s, ≤ 1.2× the idle-poll "
              f"floor | {fmt_ratio(r)} ({so['idle_cpu']:.1f}% against {sf['idle_cpu']:.1f}% of a core) | " + verdict(
                  r <= 1.2, "an unchanged answer is neither decoded nor diffed nor hashed (finding on idle polls)",
                  f"over by {(r - 1.2) * 100:.0f} points") + " |")
        else:
            w("| idle CPU ≤ 1.2× the idle-poll floor | — | not measured in this run |")
    if hb or sub:
        footprint_runtime_targets(w, a, hb, sub)
    else:
        w("| constant threads and RSS < 10 MB for 1,000 heartbeats / 1,000 subscriptions | — | not measured in this run |")
    if cfg:
        config_targets(w, a, cfg)
    w("")


def throughput_targets(w, setup, results):
    reg_r = paired_ratio(results, ("ours", "register"), ("ureq", "register"), "rate")
    reg_cpu = paired_ratio(results, ("ours", "register"), ("ureq", "register"), "cpu_us")
    typ_r = paired_ratio(results, ("ours", "list"), ("ureq-typed", "list"), "rate")
    typ_cpu = paired_ratio(results, ("ours", "list"), ("ureq-typed", "list"), "cpu_us")
    lst_r = paired_ratio(results, ("ours", "list"), ("ureq", "list"), "rate")
    cpu_r = paired_ratio(results, ("ours", "list"), ("ureq", "list"), "cpu_us")
    w(f"| register throughput ≥ 0.95× the bare-ureq floor | {fmt_ratio(reg_r)} | " + verdict(
        reg_r >= 0.95, ("within 5 points of the floor" if reg_r < 1 else "at or above the floor") + " (finding 3)",
        f"short by {(0.95 - reg_r) * 100:.0f} points (findings 1 and 3)") + " |")
    w(f"| client CPU per register call ≤ 1.1× the bare-ureq floor's | {fmt_ratio(reg_cpu)} | " + verdict(
        reg_cpu <= 1.1, f"{(1.1 - reg_cpu) * 100:.0f} points below the limit (finding 3)",
        f"over by {(reg_cpu - 1.1) * 100:.0f} points: ureq's lookup thread (finding 1), and what else ours "
        "does that the floor does not (finding 3)") + " |")
    w(f"| list throughput ≥ 0.95× the typed floor | {fmt_ratio(typ_r)} | " + verdict(
        typ_r >= 0.95, "within 5 points of the typed floor" if typ_r < 1 else "at or above the typed floor",
        f"short by {(0.95 - typ_r) * 100:.0f} points (findings 1 and 2)") + " |")
    w(f"| (issue 12) client CPU per list call ≤ 1.0× the typed floor's | {fmt_ratio(typ_cpu)} | " + verdict(
        typ_cpu <= 1.0, f"{(1.0 - typ_cpu) * 100:.0f} points below the limit (finding 2)",
        f"over by {(typ_cpu - 1.0) * 100:.0f} points (findings 1 and 2)") + " |")
    to_reg = paired_ratio(results, ("ours", "register"), ("ureq-timeout", "register"), "rate")
    to_reg_cpu = paired_ratio(results, ("ours", "register"), ("ureq-timeout", "register"), "cpu_us")
    w(f"| (info) register against bare ureq with the same per-request deadline: calls/s, CPU per call "
      f"| {fmt_ratio(to_reg)}, {fmt_ratio(to_reg_cpu)} | not a target: "
      "what ours costs beyond ureq's lookup thread, which any ureq client with a deadline pays (finding 1) |")
    w(f"| (info) list against the text-only floor: throughput, CPU per call | {fmt_ratio(lst_r)}, "
      f"{fmt_ratio(cpu_r)} | not a target: that floor does not decode the {setup['instances']}-instance body |")


def hb_med(hb, c, key):
    vals = [s[key] for s in hb.get((c, "many"), []) if s.get(key) is not None]
    return median(vals)


def hb_ratio(hb, peer, key):
    by_round = {s["round"]: s[key] for s in hb.get((peer, "many"), [])}
    return median([s[key] / by_round[s["round"]] for s in hb.get(("ours", "many"), []) if by_round.get(s["round"])])


def heartbeat_section(w, a, hb):
    n, iv = a.hb_instances, a.hb_interval_ms
    w("## Heartbeats\n")
    w(f"Each contender registers {n:,} ephemeral instances on **one** client and lets the client beat them in the "
      f"background, every **{iv} ms** for every contender (each instance also carries "
      f"`preserved.heart.beat.interval={iv}`: r-nacos advises 5,000 ms in every beat answer, which our client "
      "would otherwise adopt after the first beat). After all registrations and a "
      f"{a.hb_warmup} s warm-up, a {a.hb_window} s window is measured. **Beats** are counted where the server "
      "receives them: the contender talks to r-nacos through a counting loopback proxy (`nbench proxy`, "
      "its own process) that forwards bytes untouched and records each `PUT /nacos/v1/ns/instance/beat` with "
      "its arrival time and instance port. **Lateness** is, per instance, the gap between two consecutive beats "
      "received minus the interval (0 = exactly on schedule); p50/p99 over all gaps in the window. **CPU per "
      "beat** is the client process's user+system time (getrusage) over the window divided by the beats the "
      "proxy counted in it. **Threads** and **RSS** are read from `/proc/self/status` at the end of the window; "
      "'threads, 1 instance' is the same program with a single instance, for comparison. "
      f"{a.hb_rounds} rounds, median shown (the order alternates each round).\n")
    w("- nacos-blocking: `NacosClient::builder().heartbeat_interval(..)`, `register_instance` per instance; its "
      "scheduler thread plus a fixed pool of 3 sender threads beat every instance.")
    w("- Python v1: `add_naming_instance(..., heartbeat_interval=s)`, the client's own mechanism in 2.0.11: one "
      "`HeartbeatTask` thread per instance (`nacos/task.py`) calling `send_heartbeat` then sleeping the interval "
      "(so its period is the interval plus the request time).")
    w("- nacos-sdk: **n/a** — over gRPC an ephemeral instance lives as long as the client's connection; there "
      "are no per-instance heartbeats to measure.")
    w("- bare ureq: **n/a** — a floor for 'beat N instances on schedule' would itself be a heartbeat scheduler; "
      "the throughput scenario already gives the raw cost of one request.\n")
    w(f"| contender | beats/s received (expected {n * 1000 / iv:,.0f}) | lateness p50 ms | lateness p99 ms | "
      "CPU µs/beat | CPU % of a core | threads, 1 instance | threads | RSS MB | ours ÷ peer, CPU/beat |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in HB_CONTENDERS:
        rs = hb.get((c, "many"))
        if not rs:
            continue
        one = hb.get((c, "one"), [{}])[0]
        ratio = "—" if c == "ours" else fmt_ratio(hb_ratio(hb, c, "cpu_us_per_beat"))
        w(f"| {CONTENDER_LABEL[c]} | {fmt_rate(hb_med(hb, c, 'beats_per_s'))} | {fmt_ms(hb_med(hb, c, 'late_p50'))} | "
          f"{fmt_ms(hb_med(hb, c, 'late_p99'))} | {hb_med(hb, c, 'cpu_us_per_beat'):.1f} | "
          f"{hb_med(hb, c, 'cpu_pct'):.1f} | {one.get('threads', 'n/a')} | {hb_med(hb, c, 'threads'):.0f} | "
          f"{hb_med(hb, c, 'rss_kb') / 1024:.1f} | {ratio} |")
    w("| nacos-sdk 0.8 (async, gRPC) | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |")
    w("")


def sub_stats(sub, c, mode):
    rs = sub.get((c, mode), [])
    lat = [x for s in rs for x in s["latencies_ms"]]
    return {
        "lat": lat, "got": len(lat), "expected": sum(s["expected"] for s in rs),
        "p50": percentile(lat, .5), "p99": percentile(lat, .99),
        "idle_cpu": median([s["idle_cpu_pct"] for s in rs]),
        "polls": median([s["polls_per_s"] for s in rs if s["polls_per_s"] is not None]),
        "threads": median([s["idle_threads"] for s in rs]), "rss": median([s["idle_rss_kb"] for s in rs]) / 1024,
        "idle_cpu_s": median([s["idle"]["user_s"] + s["idle"]["sys_s"] for s in rs]),
    }


def subscribe_section(w, a, sub, contenders):
    n = a.sub_services
    w("## Subscriptions\n")
    w(f"Each contender subscribes {n:,} services (`<prefix>-0` .. `<prefix>-{n - 1}`, initially empty) on **one** "
      "client, waits until every subscription is set up, then measures an **idle** window of "
      f"{a.sub_idle} s (no changes: client CPU as % of one core, threads and RSS at its end, and the polls per "
      "second the server received, counted by the same loopback proxy as the heartbeats). Then **another "
      "process** (`nbench sub-driver`) makes the changes: change k registers a persistent instance in service "
      "`(k·7919) mod N` with metadata `t` = its wall clock (epoch µs, CLOCK_REALTIME) taken just before the "
      "request; each contender's listener, on seeing that instance added, records `now − t` on the same "
      "machine clock. Latency p50/p99 are over every change of every round (with 10–30 samples a run, p99 is "
      f"close to the maximum). {a.sub_rounds} round(s): the windows are long, so few repetitions.\n")
    w(f"- **Default interval**: nacos-blocking with no `poll_interval` (it follows the server's `cacheMillis`, "
      f"{a.sub_default_ms} ms on r-nacos); Python v1 with `listener_interval={a.sub_default_ms / 1000:g}` "
      f"(its own default is 7 s; set to the same interval). {a.sub_changes_default} changes, "
      f"{a.sub_gap_default_ms} ms apart.")
    w(f"- **1 s interval**: `poll_interval(Some({a.sub_fast_ms} ms))` / `listener_interval={a.sub_fast_ms / 1000:g}`. "
      f"{a.sub_changes_fast} changes, {a.sub_gap_fast_ms} ms apart.")
    w(f"- Idle-poll floor (1 s table only): `nbench subscribe ureq`, one thread and a bare ureq agent making "
      f"the polls ours makes (the same `instance/list` request per service, {n:,} services every "
      f"{a.sub_fast_ms} ms, spread evenly over the interval), reading each body as text and nothing else; it has "
      "no listeners, so it sees no changes. The target: ours' idle CPU ≤ 1.2× this.")
    w("- Python v1: `NacosClient.subscribe(SubscribeListener(fn, name), listener_interval, service_name=...)` "
      "(2.0.11): a `threading.Timer` per service re-lists it every interval (one timer thread alive per "
      "subscription, a new one each tick) and calls the listener per ADDED/DELETED/MODIFIED instance.")
    if "nacos-sdk" in contenders:
        w("- nacos-sdk: `NamingService::subscribe` over gRPC (the server pushes changes; there is no interval, so "
          "one run is shown in both tables). Its listener receives the full list; an instance with `t` seen for "
          "the first time counts as the change. Polls: n/a (no polling).")
    w("")
    for mode, title in (("default", f"default interval ({a.sub_default_ms / 1000:g} s)"),
                        ("fast", f"{a.sub_fast_ms / 1000:g} s interval")):
        w(f"### {title}\n")
        w("| contender | notified / changes | latency p50 ms | latency p99 ms | idle polls/s | idle CPU % of a core "
          "| threads, 1 subscription | threads | RSS MB | ours ÷ peer, idle CPU |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ours = sub_stats(sub, "ours", mode)
        for c in ["ours", "ureq", "python-v1", "nacos-sdk"]:
            m = "default" if c == "nacos-sdk" else mode
            if not sub.get((c, m)):
                continue
            st = sub_stats(sub, c, m)
            one = sub.get((c, "one"), [{}])[0]
            ratio = "—" if c == "ours" else fmt_ratio(ours["idle_cpu"] / st["idle_cpu"] if st["idle_cpu"] else float("nan"))
            label = CONTENDER_LABEL["ureq-poll" if c == "ureq" else c] + (" (push)" if c == "nacos-sdk" else "")
            polls = "n/a" if st["polls"] != st["polls"] else f"{st['polls']:,.0f}"
            notified = "n/a" if c == "ureq" else f"{st['got']} / {st['expected']}"
            w(f"| {label} | {notified} | {fmt_ms(st['p50'])} | {fmt_ms(st['p99'])} | {polls} | "
              f"{st['idle_cpu']:.1f} | {one.get('idle_threads', 'n/a')} | {st['threads']:.0f} | {st['rss']:.1f} | {ratio} |")
        w("")
    w("The ratio column is from the medians of the same run (one round by default: pairing by round is then the "
      "same thing).\n")


# The most threads ours' process can run for heartbeats and for subscriptions, whatever their number: the
# main thread plus each pool at its cap. The pools start one thread and add one only while all theirs are
# busy (src/threads/mod.rs `Pool`), so with one instance the count is lower; what issue 6 asked ("constant
# thread count for 1,000": not one per instance, as the Python v1 client) is that the number never grows
# past a cap that does not depend on how many there are. Caps: src/heartbeat/mod.rs `SENDERS` (3) beside
# the scheduler; src/subscribe/poller.rs `POOL_SIZE` (4) and src/events/delivery.rs `POOL_THREADS` (4)
# beside the scheduler. tests/heartbeat.rs and tests/subscribe_threads.rs pin the same caps.
THREAD_CAPS = {"heartbeats": 1 + 1 + 3, "subscriptions": 1 + 1 + 4 + 4}


def footprint_runtime_targets(w, a, hb, sub):
    for name, res, key_thr, key_rss, kind in (
            ("heartbeats", hb, "threads", "rss_kb", "many"),
            ("subscriptions", sub, "idle_threads", "idle_rss_kb", "fast")):
        if not res or not res.get(("ours", kind)):
            w(f"| constant thread count, {name} | — | not measured in this run |")
            w(f"| RSS < 10 MB, {name} | — | not measured in this run |")
            continue
        count = a.hb_instances if name == "heartbeats" else a.sub_services
        one = res.get(("ours", "one"), [{}])[0].get(key_thr)
        many = max(s[key_thr] for rs in (res.get(("ours", k), []) for k in ("many", "default", "fast")) for s in rs)
        rss = max(s[key_rss] for rs in (res.get(("ours", k), []) for k in ("many", "default", "fast")) for s in rs) / 1024
        cap = THREAD_CAPS[name]
        w(f"| thread count independent of the number (issue 6: 'constant'), {count:,} {name} | {one} threads with 1, "
          f"{many} with {count:,}; the pools' cap is {cap} | " + verdict(
              one is not None and many <= cap,
              ("the same thread count whatever the number" if many == one else
               f"the pools start threads as the work needs them, never more than the cap of {cap}, "
               f"which does not depend on the number (pinned by tests/{'heartbeat' if name == 'heartbeats' else 'subscribe_threads'}.rs)"),
              f"{many} threads with {count:,}, past the pools' cap of {cap}") + " |")
        w(f"| RSS < 10 MB, {count:,} {name} | {rss:.1f} MB (largest of the runs) | " + verdict(
            rss < 10, f"{10 - rss:.1f} MB below the limit",
            f"over by {rss - 10:.1f} MB") + " |")


def heartbeat_findings(item, a, hb):
    if not hb.get(("ours", "many")) or not hb.get(("python-v1", "many")):
        return
    item(f"**Heartbeats: a fixed pool against a thread per instance.** With {a.hb_instances:,} instances beating "
         f"every {a.hb_interval_ms} ms, ours ran {hb_med(hb, 'ours', 'threads'):.0f} threads and "
         f"{hb_med(hb, 'ours', 'rss_kb') / 1024:.1f} MB RSS; the Python v1 client ran "
         f"{hb_med(hb, 'python-v1', 'threads'):.0f} threads (one `HeartbeatTask` per instance) and "
         f"{hb_med(hb, 'python-v1', 'rss_kb') / 1024:.0f} MB, and spent {fmt_ratio(1 / hb_ratio(hb, 'python-v1', 'cpu_us_per_beat'))} "
         "our CPU per beat. Its lateness includes each beat's own request time, since the thread sleeps the "
         "full interval after sending; ours schedules each beat one interval after the previous one was "
         "due (`src/heartbeat/table.rs`), so its lateness is the scheduler's, not the request time, and both figures are "
         "what the server sees.")


def subscribe_findings(item, a, sub):
    f = sub_stats(sub, "python-v1", "fast")
    o = sub_stats(sub, "ours", "fast")
    if not sub.get(("ours", "fast")) or not sub.get(("python-v1", "fast")):
        return
    expected = a.sub_services * 1000 / a.sub_fast_ms
    item(f"**Subscriptions at a 1 s interval: {a.sub_services:,} services mean {expected:,.0f} list requests per "
         f"second.** The server received {o['polls']:,.0f} polls/s from ours and {f['polls']:,.0f} from the "
         f"Python v1 client (whose thread count, {f['threads']:.0f}, grows with the subscriptions: one timer "
         "thread per service). A client that cannot keep up shows it as polls/s below the target and as "
         "higher notification latency.")
    tb = sum(s.get("stderr_tracebacks", 0) for m in ("default", "fast") for s in sub.get(("python-v1", m), []))
    item("**A failed poll ends a Python v1 subscription for good.** `NacosTimer.scheduler` (nacos/timer.py) "
         "re-raises the poll's exception before re-arming its `threading.Timer`, so one failed list request "
         "(e.g. r-nacos answering `408 Request Timeout` to a request whose headers arrive late from a busy "
         f"process) stops that service's polling silently. This run's Python subscribers printed {tb} such "
         "tracebacks. Ours keeps the last list and retries with backoff.")
    fl = sub_stats(sub, "ureq", "fast") if sub.get(("ureq", "fast")) else None
    item("**Idle polls cost what their HTTP costs.** r-nacos (like Java Nacos 1.x) stamps every list answer with "
         "the time (`lastRefTime`, and r-nacos's `checksum` is the same number), so a hash of the body never "
         "matched and every idle poll was decoded and diffed. Ours now keeps the last answer taken and calls a "
         "new one unchanged when its bytes are the same outside those two top-level values "
         "(`src/subscribe/body.rs`: two `memcmp`s, no hashing, no decoding). The scheduler takes due polls "
         "from a queue ordered by time instead of walking every subscription on each wake-up (it did so once "
         "per poll), is woken by a finished poll only when that poll falls due before it planned to look, and "
         "hands out polls due within 10 ms together (within the ±10 % jitter of every interval), so 1,000 "
         "polls a second cost far fewer thread wake-ups than polls."
         + (f" This run: {o['idle_cpu']:.1f}% of a core against {fl['idle_cpu']:.1f}% for the bare-ureq loop "
            "making the same polls." if fl else ""))



def cfg_stats(cfg, c, kind="many"):
    rs = cfg.get((c, kind), [])
    lat = [x for s in rs for x in s["latencies_ms"]]
    med = lambda k: median([s[k] for s in rs if s.get(k) is not None])
    return {"lat": lat, "got": len(lat), "expected": sum(s["expected"] for s in rs),
            "p50": percentile(lat, .5), "p99": percentile(lat, .99),
            "cpu_pct": med("cpu_pct"), "cpu_h": med("cpu_s_per_hour"), "polls_min": med("polls_per_min"),
            "polls": med("polls"), "other": med("other_reqs"), "threads": med("threads"),
            "rss": med("rss_kb") / 1024, "procs": med("procs"), "wall": med("wall_s"),
            "settle": med("settle_total")}


def cfg_ratio(cfg, peer, key):
    """Median over rounds of ours/peer (rounds paired); for latency p50, over each run's p50."""
    def fig(s):
        return percentile(s["latencies_ms"], .5) if key == "p50" else s[key]
    by_round = {s["round"]: fig(s) for s in cfg.get((peer, "many"), [])}
    return median([fig(s) / by_round[s["round"]] for s in cfg.get(("ours", "many"), [])
                   if by_round.get(s["round"])])


def config_section(w, a, cfg):
    n = a.cfg_keys
    w("## Config watching\n")
    w(f"Each contender publishes {n:,} configs (`cfg-<contender>-<round>-0..{n - 1}`, group `bench`, content "
      "`init`; published beforehand by `nbench cfg-setup`, so every key exists) and watches all of them on "
      f"**one** client. After every watch is set up and a {a.cfg_settle} s settle (longer than one 30 s long poll, "
      "so start-up requests are over; the requests received during it are shown in their own column), an "
      "**idle** window of "
      f"{a.cfg_idle} s is measured **from outside the process** (`/proc/<pid>/stat` of the contender and every "
      "descendant process, summed: user+system CPU, threads, RSS at the window's end), while the counting "
      "loopback proxy counts every request the server receives in the window (`POST /nacos/v1/cs/configs/listener` "
      "long polls, and anything else). **CPU s per idle hour** is the window's CPU extrapolated to an hour "
      f"(× 3600 / {a.cfg_idle} s): an extrapolation, not an hour measured; `/proc` counts CPU in 10 ms ticks, so "
      f"one tick in the window is {0.01 * 3600 / a.cfg_idle:.1f} s/h — figures at that level are at the "
      "resolution floor, and a ratio between two of them means nothing. Then **another process** "
      f"(`nbench cfg-driver`) publishes {a.cfg_changes} changes, {a.cfg_gap_ms} ms apart, change k to key "
      "`(k·7919) mod N`, with content `t=<epoch µs>` taken just before the request; each contender's listener "
      "records `now − t` on the same machine clock. Latency p50/p99 are over every change of every round "
      f"(with {a.cfg_changes} samples a run, p99 is close to the maximum); idle figures are medians over "
      f"{a.cfg_rounds} round(s). 'threads, 1 key' is the same program watching a single key.\n")
    w("- nacos-blocking: `add_config_listener((id, group), closure)` per key, default builder settings: "
      "long-poll timeout 30 s (`long_poll_timeout`'s default); one long poll carries every key.")
    w("- Python v1: `add_config_watcher(data_id, group, cb)` with the client's defaults (`pulling_timeout` 30 s, "
      "`pulling_config_size` 3,000, `callback_thread_num` 10). In 2.0.11 each watch first calls `get_config`; "
      "the first one starts a `multiprocessing.Manager()` — a **separate server process** holding the shared "
      "key list — plus a `ThreadPool` of 10 callback threads and a result thread; a puller thread per 3,000 "
      "keys sleeps 1 s, then long-polls every key, then puts every key on a `multiprocessing.Queue`. Its CPU, "
      "threads and RSS below are **the sum of both processes** (the 'processes' column).")
    if cfg.get(("nacos-sdk", "many")) or cfg.get(("nacos-sdk", "one")):
        w("- nacos-sdk: `ConfigService::add_listener` per key over gRPC (listen requests and pushed change "
          "notifications on its gRPC connection, which the HTTP proxy does not see: requests n/a).")
    w("")
    w("| contender | notified / changes | latency p50 ms | latency p99 ms | idle CPU % of a core | "
      "CPU s per idle hour (extrapolated) | long polls in window (per min) | other requests in window | "
      f"requests in the {a.cfg_settle} s after setup | processes | threads, 1 key | threads | RSS MB |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in CFG_CONTENDERS:
        if not cfg.get((c, "many")):
            continue
        st = cfg_stats(cfg, c)
        one = cfg.get((c, "one"), [{}])[0]
        polls = "n/a (gRPC)" if c == "nacos-sdk" else f"{st['polls']:.0f} ({st['polls_min']:.1f})"
        other = "n/a (gRPC)" if c == "nacos-sdk" else f"{st['other']:.0f}"
        settle = "n/a (gRPC)" if c == "nacos-sdk" else f"{st['settle']:.0f}"
        w(f"| {CONTENDER_LABEL[c]} | {st['got']} / {st['expected']} | {fmt_ms(st['p50'])} | {fmt_ms(st['p99'])} | "
          f"{st['cpu_pct']:.2f} | {st['cpu_h']:.1f} | {polls} | {other} | {settle} | {st['procs']:.0f} | "
          f"{one.get('threads', 'n/a')} | {st['threads']:.0f} | {st['rss']:.1f} |")
    w("")
    peers = [c for c in CFG_CONTENDERS if c != "ours" and cfg.get((c, "many"))]
    if cfg.get(("ours", "many")) and peers:
        w("Ratios, ours ÷ peer (paired by round, median over rounds; below 1 means ours is lower, i.e. better):\n")
        w("| peer | latency p50 | CPU per idle hour | threads | RSS |")
        w("|---|---:|---:|---:|---:|")
        for c in peers:
            w(f"| {CONTENDER_LABEL[c]} | {fmt_ratio(cfg_ratio(cfg, c, 'p50'))} | "
              f"{fmt_ratio(cfg_ratio(cfg, c, 'cpu_s_per_hour'))} | {fmt_ratio(cfg_ratio(cfg, c, 'threads'))} | "
              f"{fmt_ratio(cfg_ratio(cfg, c, 'rss_kb'))} |")
        w("")


def config_targets(w, a, cfg):
    rs = cfg.get(("ours", "many"))
    if not rs:
        w("| config: constant thread count / RSS < 10 MB, 1,000 watched keys | — | not measured in this run |")
        return
    one = cfg.get(("ours", "one"), [{}])[0].get("threads")
    many = max(s["threads"] for s in rs)
    rss = max(s["rss_kb"] for s in rs) / 1024
    w(f"| (no issue-6 target for config; same yardstick) constant thread count, {a.cfg_keys:,} watched keys | "
      f"{one} threads with 1 key, {many} with {a.cfg_keys:,} | " + verdict(
          one is not None and many == one, "the same thread count whatever the number of keys",
          f"{many - (one or 0)} more threads with {a.cfg_keys:,} keys than with 1") + " |")
    w(f"| (no issue-6 target for config; same yardstick) RSS < 10 MB, {a.cfg_keys:,} watched keys | "
      f"{rss:.1f} MB (largest of the runs) | " + verdict(rss < 10, f"{10 - rss:.1f} MB below", f"over by {rss - 10:.1f} MB")
      + " |")


def py_drift(cfg, a):
    """Python's latencies, in publish order, grow by a fixed step when its poll cycle (1 s sleep + per-poll
    overhead) is longer than the gap between changes: the step is that overhead."""
    runs = cfg.get(("python-v1", "many"), [])
    steps = [y - x for s in runs for x, y in zip(s["latencies_ms"], s["latencies_ms"][1:])]
    if len(steps) < 3:
        return ""
    step = median(steps)
    rising = sum(1 for d in steps if d > 0) / len(steps)
    if rising < 0.8 or step < 5:
        return ""
    lat = runs[0]["latencies_ms"]
    return (f" In this run Python's latencies rose change after change ({lat[0]:.0f} → {lat[-1]:.0f} ms, "
            f"median step {step:.0f} ms): its poll cycle (1 s sleep, the poll, then a walk of the "
            f"{a.cfg_keys:,}-key `ListProxy` and {a.cfg_keys:,} queue puts) is longer than the {a.cfg_gap_ms} ms "
            "between changes by about that step, so each change finds the puller a little later in its sleep. "
            "The step is Python's per-poll cost for this many keys.")


def config_findings(item, a, cfg):
    o = cfg_stats(cfg, "ours")
    p = cfg_stats(cfg, "python-v1")
    if not cfg.get(("ours", "many")) or not cfg.get(("python-v1", "many")):
        return
    n = f"{a.cfg_keys:,}"
    item(f"**Config watching, idle ({n} keys, {o['wall']:.0f} s window).** The server received {o['polls']:.0f} long "
         f"poll(s) from ours and {p['polls']:.0f} from the Python v1 client in the window (each holds one poll with "
         f"every key for up to 30 s, so ~2 per minute is the expected idle rate; other requests: {o['other']:.0f} "
         f"and {p['other']:.0f}). Ours used {o['cpu_h']:.1f} CPU s per idle hour (extrapolated from "
         f"{o['cpu_pct']:.3f}% of a core) with {o['threads']:.0f} threads and {o['rss']:.1f} MB; Python used "
         f"{p['cpu_h']:.1f} s/h, {p['threads']:.0f} threads and {p['rss']:.1f} MB across {p['procs']:.0f} processes. "
         "Python's cost is structural: its key list lives in a `multiprocessing.Manager` server process, and "
         "iterating that `ListProxy` (`for cache_key in cache_list` in `_do_pulling`) goes through `__getitem__`, "
         "one IPC round trip per key per poll; after every poll it also puts every key, changed or not, on a "
         "`multiprocessing.Queue` that the result thread drains.")
    if o.get("settle") == o.get("settle") and o.get("settle") is not None:
        item(f"**Start-up requests of ours.** In the {a.cfg_settle} s after the {n} watches were set up the server "
             f"received {o['settle']:.0f} requests from ours and {p['settle']:.0f} from Python. Ours adds keys "
             "while its long polls are held: its two poll threads each hold one poll (30 s), so keys added "
             "after both are busy are covered by `nacos-config-check` with non-held checks at growing intervals "
             "(250 ms up to 2 s, `src/config_center/poll.rs`) until a poll thread returns and re-polls with every "
             "key. That is by design (a new watch is live at once), it ends within one long-poll timeout, and the "
             "idle window starts after it.")
    item(f"**Config notification latency.** Ours p50 {fmt_ms(o['p50'])} ms / p99 {fmt_ms(o['p99'])} ms, Python v1 "
         f"p50 {fmt_ms(p['p50'])} / p99 {fmt_ms(p['p99'])} ms ({o['got']}/{o['expected']} and "
         f"{p['got']}/{p['expected']} changes seen). The server answers a held long poll as soon as a watched key "
         "changes; ours then fetches the content, runs the listener on its pool and re-polls at once. Python "
         "fetches the changed key too, but its puller then sleeps 1 s before the next poll (`_do_pulling`), so "
         "a change published during that second waits for it, which can show in its tail."
         + py_drift(cfg, a))
    if cfg.get(("nacos-sdk", "many")):
        s = cfg_stats(cfg, "nacos-sdk")
        one = cfg.get(("nacos-sdk", "one"), [{}])[0].get("threads", "n/a")
        item(f"**nacos-sdk config over gRPC**: p50 {fmt_ms(s['p50'])} / p99 {fmt_ms(s['p99'])} ms, "
             f"{s['cpu_h']:.1f} CPU s per idle hour, {s['threads']:.0f} threads at the end of the idle window "
             f"({one} with 1 key), {s['rss']:.1f} MB. The server pushes a change notification on the gRPC "
             "connection, then the client queries the content. Its disk cache is written with `tokio::fs`, which "
             "runs each file operation on tokio's blocking pool (up to 512 threads, each kept 10 s after its last "
             "task), so setting up many watches at once briefly adds threads, which exit after 10 s idle"
             + ("; they had exited by the end of this window." if s["threads"] <= 2 * (one if isinstance(one, int) else 0)
                else "; some were still alive at the end of this window."))
    item("**r-nacos 0.8.8 sometimes starts without its raft apply thread** (a panic at `raftapply.rs:421` in its "
         "log): `/health` answers and naming works, but config writes are acknowledged (`true`) and never "
         "applied, so every config read is 'not exist'. It happened once while this scenario was developed; "
         "`run.sh` now waits until a config written reads back, and restarts the server with a fresh data dir "
         "otherwise (up to 3 attempts).")


def footprint_targets(w, fp):
    w(f"| fewer than 70 crates in the normal dependency tree, TLS on | {fp['ours_tls_on']} | " + verdict(
        fp["ours_tls_on"] < 70, f"{70 - fp['ours_tls_on']} below the limit",
        f"{fp['ours_tls_on'] - 69} too many") + " |")
    tls_ok = fp["tls_feature"] and fp["tls_on_has_rustls"] and not fp["tls_off_has_rustls"]
    w(f"| a cargo feature turns TLS off | `tls` (default) | " + verdict(
        tls_ok, f"`--no-default-features` drops rustls: {fp['ours_tls_off']} crates instead of {fp['ours_tls_on']}",
        "the tls feature does not remove rustls from the tree") + " |")


def findings_section(w, a, setup, results, hb, sub, cfg):
    w("## Findings\n")
    n = 0

    def item(text):
        nonlocal n
        n += 1
        w(f"{n}. {text}")

    if results:
        to_reg = paired_ratio(results, ("ureq-timeout", "register"), ("ureq", "register"), "rate")
        to_reg_cpu = paired_ratio(results, ("ureq-timeout", "register"), ("ureq", "register"), "cpu_us")
        vs_to_reg = paired_ratio(results, ("ours", "register"), ("ureq-timeout", "register"), "rate")
        vs_to_reg_cpu = paired_ratio(results, ("ours", "register"), ("ureq-timeout", "register"), "cpu_us")
        def med_cpu(c, op):
            return median([x["cpu_us"] for x in results.get((c, op), [])])
        thread_us = med_cpu("ureq-timeout", "list") - med_cpu("ureq", "list")
        less_thread = (med_cpu("ours", "list") - thread_us) / med_cpu("ureq-typed", "list")
        item("**Per-request deadline and ureq's lookup thread: why the register and list targets are missed.** "
             "Every call a caller waits on keeps an exact deadline, given to ureq as `timeout_global(budget)`. "
             "ureq 3 resolves the host of every request, and whenever a timeout applies it does so on a freshly "
             "spawned thread (`resolve_async` in ureq 3.5's `DefaultResolver`), even for an IP literal such as "
             "`127.0.0.1`. Earlier reports avoided that thread with a resolver of the crate's own, plugged in "
             "through ureq's unstable `unversioned` API; issue 20 dropped that API for a caret requirement "
             "(`ureq = \"3.5\"`), and ureq's public configuration has no way around the thread while a "
             "whole-request deadline applies (the lookup's timeout is the least of its own, the per-call and "
             "the global one). So callers' calls pay it: the row 'bare ureq + per-request deadline' made "
             f"{fmt_ratio(to_reg)} of the plain floor's register rate at {fmt_ratio(to_reg_cpu)} its CPU per "
             f"call, and ours made {fmt_ratio(vs_to_reg)} of that row's register rate at {fmt_ratio(vs_to_reg_cpu)} "
             f"its CPU per call. For lists the thread costs {thread_us:.0f} µs of CPU per call (the text-only "
             "floor with and without the deadline, medians); ours less that would be "
             f"{less_thread:.2f}× the typed floor's CPU per call (an estimate). Background requests (heartbeats, "
             "subscription and config polls) to IP-literal servers bound each phase by the budget instead, "
             "with no whole-request timeout and so no thread: that is how the idle subscriptions meet their "
             "target, at the price that a server slow in two phases can hold such a request for up to about "
             "twice its budget (pinned by `tests/deadlines.rs`). The clean fix is a few lines in ureq (no "
             "thread when the host is an IP literal); it was not filed from here.")
        typ_cpu = paired_ratio(results, ("ours", "list"), ("ureq-typed", "list"), "cpu_us")
        item(f"**Lists: serde into the public types, against serde into a plain struct.** Ours decodes the "
             f"~57 KB body of {setup['instances']} instances with `serde_json` into the derived `ServiceInfo` "
             "and `Instance` (issue 20 removed the crate's own one-pass parser, which saved about 15% of a "
             "list call's CPU), then checks every host; the typed floor decodes into a plain struct and "
             "checks nothing. An idle subscription poll still costs no decode (`src/subscribe/body.rs`, "
             f"finding on idle polls). This run: {fmt_ratio(typ_cpu)} the typed floor's CPU per call, the "
             "lookup thread of finding 1 included. What neither can avoid is about 9 allocations per host "
             "(4 strings, a metadata table and its 4 strings): the public types own their strings.")
    if results:
        ours_reg_cpu = median([s["cpu_us"] for s in results.get(("ours", "register"), [])])
        floor_reg_cpu = median([s["cpu_us"] for s in results.get(("ureq", "register"), [])])
        wire_rate = paired_ratio(results, ("ours", "register"), ("ureq-wire", "register"), "rate")
        wire_cpu = paired_ratio(results, ("ours", "register"), ("ureq-wire", "register"), "cpu_us")
        thr_rate = paired_ratio(results, ("ours", "register"), ("ureq-threads", "register"), "rate")
        thr_cpu = paired_ratio(results, ("ours", "register"), ("ureq-threads", "register"), "cpu_us")
        thr_floor = paired_ratio(results, ("ureq-threads", "register"), ("ureq", "register"), "rate")
        raw_thr = paired_ratio(results, ("raw-thread", "register"), ("raw", "register"), "rate")
        raw_thr_cpu = paired_ratio(results, ("raw-thread", "register"), ("raw", "register"), "cpu_us")
        floor_raw = paired_ratio(results, ("ureq", "register"), ("raw", "register"), "rate")
        item(f"**Register: how it reached the floor, and what is left.** Per register call ours used "
             f"{ours_reg_cpu:.0f} µs of CPU against {floor_reg_cpu:.0f} µs for the floor (medians of this run). "
             "Measured with callgrind (instructions of the client process, robust to load; outside this "
             "report), issue 12 took a register from 93k to 54k instructions against the floor's 47k. First "
             "pass: the URL written by hand instead of parsed with `url::Url`, a first attempt on the agent's "
             "timeouts instead of a per-request config, no server address copied per call. Second pass: the "
             "`http` request built directly with its standard headers cloned from a set built once per "
             "client (`src/transport/headers.rs`; ureq's `RequestBuilder` moved its whole builder per "
             "header), the parameters form-encoded into one buffer as they are added with numbers and flags "
             "written without `format!` (`src/transport/form.rs`), the heartbeat entry keeping the instance "
             "and its period only (the beat JSON is built when a full beat is sent) in a table hashed with Fx "
             "instead of SipHash, and socket timeouts kept steady across requests on a keep-alive "
             "connection (a connector of the crate's own, gone with the `unversioned` API in issue 20: ureq "
             "again sets `SO_RCVTIMEO` and `SO_SNDTIMEO` per request). The callgrind table below gives the "
             "instructions per call of this checkout against the last one with those layers. What remains above the floor's "
             "instructions is needed: the heartbeat entry (about 2.6k instructions: the price of beating the "
             "instance), the Java client's headers (written and scanned by ureq and `http`: about 4k), and "
             "the checks of the service name and instance before any request (about 1.2k). Ours wins some "
             "back on the wire: its parameters go in the query, as the Java naming client sends them, so a "
             "register is one `sendto` where the floor's form body makes two. The row 'bare ureq sending "
             "ours' exact request' sends the same bytes as ours (query, headers, request id) without "
             f"timeouts: ours ÷ it is {fmt_ratio(wire_rate)} in calls/s and {fmt_ratio(wire_cpu)} in CPU per "
             "call. **What the floor does not pay: threads.** Ours is a process with threads (the heartbeat "
             "scheduler and its senders start with the first registration), the floor a single-threaded "
             "one. With client and server on their own cores (the scenario's description) that costs "
             "little: the hand-written request with one idle thread made "
             f"{fmt_ratio(raw_thr)} of the calls/s of the same without it, at {fmt_ratio(raw_thr_cpu)} its "
             f"CPU per call, and bare ureq with four idle threads made {fmt_ratio(thr_floor)} of the floor's "
             f"calls/s; ours ÷ that row is {fmt_ratio(thr_rate)} in calls/s and {fmt_ratio(thr_cpu)} in CPU "
             f"per call. The floor itself made {fmt_ratio(floor_raw)} of the hand-written request's calls/s: "
             "what an HTTP library costs a round trip. Runs are 4,000 calls: with 1,000 (about 0.12 s each) "
             "the paired ratio of unchanged code swung between 0.93× and 1.03× in back-to-back runs, as "
             "r-nacos's own background work fell into one contender's run or another's.")
    if ("nacos-sdk", "list") in results:
        per_call_ms = median([s["wall_s"] / s["calls"] for s in results[("nacos-sdk", "list")]]) * 1e3
        fast = results.get(("nacos-sdk-nodelay", "list"))
        fast_ms = median([s["wall_s"] / s["calls"] for s in fast]) * 1e3 if fast else None
        item(f"**nacos-sdk over gRPC takes ~{per_call_ms:.0f} ms per sequential call here, as shipped**, while "
          "using little CPU: Nagle's algorithm meeting delayed ACKs. nacos-sdk 0.8.3 switches `TCP_NODELAY` "
          "off on its gRPC socket (`common/remote/grpc/config.rs:58` defaults `tcp_nodelay` to false and "
          "`tonic.rs:117` applies it over tonic's default of true; no option or variable changes it), so the "
          "last small HTTP/2 frame of each unary call waits for r-nacos's delayed ACK (r-nacos's tonic server "
          "sets `TCP_NODELAY` on its side). The row 'TCP_NODELAY forced' is the same peer with the option set "
          "on its connected gRPC socket from inside its own process after `build()` (`SDK_NODELAY=1`, "
          "`peers/nacos-sdk/src/main.rs`): the peer at its best"
          + (f", ~{fast_ms:.2f} ms per list call." if fast_ms else ".")
          + " The first row is what a user of that crate gets; the second, what its transport can do.")
    if hb:
        heartbeat_findings(item, a, hb)
    if sub:
        subscribe_findings(item, a, sub)
    if cfg:
        config_findings(item, a, cfg)
    w("")


def raw_section(w, results, hb, sub, cfg):
    if FAILURES:
        w("## Failed runs\n")
        w("These runs failed; their figures are missing from the tables above:\n")
        for f in FAILURES:
            w(f"- {f}")
        w("")
    w("## Raw samples\n")
    if results:
        w("Throughput, per-round figures (calls/s, CPU µs per call), in round order:\n")
        for (c, op), rs in sorted(results.items()):
            w(f"- {c} {op}: " + ", ".join(f"{s['rate']:.0f}/{s['cpu_us']:.1f}" for s in sorted(rs, key=lambda s: s["round"])))
        w("")
    if hb:
        w("Heartbeats, per round (beats/s received, lateness p50/p99 ms, CPU µs per beat):\n")
        for (c, kind), rs in sorted(hb.items()):
            if kind == "many":
                w(f"- {c}: " + ", ".join(f"{s['beats_per_s']:.0f}/{fmt_ms(s['late_p50'])}/{fmt_ms(s['late_p99'])}/"
                                        f"{s['cpu_us_per_beat']:.0f}" for s in rs))
        w("")
    if sub:
        w("Subscriptions, every notification latency (ms), per run:\n")
        for (c, mode), rs in sorted(sub.items()):
            if mode != "one":
                for s in rs:
                    w(f"- {c} {mode} (round {s['round'] + 1}): " + ", ".join(f"{x:.0f}" for x in s["latencies_ms"]))
        w("")
    if cfg:
        w("Config watching, per run: every notification latency (ms); requests the server received in the idle "
          "window by method and path:\n")
        for c in CFG_CONTENDERS:
            for s in cfg.get((c, "many"), []):
                w(f"- {c} (round {s['round'] + 1}): " + ", ".join(f"{x:.0f}" for x in s["latencies_ms"])
                  + (f"; idle-window requests: {json.dumps(s['reqs'])}" if s["reqs"] is not None else "")
                  + (f"; requests during the settle: {json.dumps(s['settle_reqs'])}"
                     if s.get("settle_reqs") is not None else ""))
        w("")


def chart(results, contenders, fp, hb=None, sub=None, cfg=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    if results:
        panels += ["rate", "cpu_us"]
    if fp:
        panels.append("crates")
    if hb:
        panels += ["hb_cpu", "hb_mem"]
    if sub:
        panels += ["sub_lat", "sub_mem"]
    if cfg and any(cfg.get((c, "many")) for c in CFG_CONTENDERS):
        panels += ["cfg_lat", "cfg_idle"]
    if not panels:
        return
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4.6 * rows), squeeze=False)
    axes = [ax for row in axes for ax in row]
    for ax in axes[len(panels):]:
        ax.axis("off")
    for ax, panel in zip(axes, panels):
        if panel in ("rate", "cpu_us"):
            title = {"rate": "Throughput, calls/s (higher is better)",
                     "cpu_us": "Client CPU per call, µs (lower is better)"}[panel]
            ops = ("register", "list")
            width = 0.8 / len(contenders)
            for i, c in enumerate(contenders):
                meds, lo, hi = [], [], []
                for op in ops:
                    vals = [s[panel] for s in results.get((c, op), [])]
                    m = median(vals) if vals else 0
                    meds.append(m)
                    lo.append(m - min(vals) if vals else 0)
                    hi.append(max(vals) - m if vals else 0)
                xs = [j + i * width for j in range(len(ops))]
                ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=CONTENDER_LABEL[c])
            ax.set_xticks([j + width * (len(contenders) - 1) / 2 for j in range(len(ops))])
            ax.set_xticklabels(ops)
            ax.set_title(title, fontsize=10)
            ax.set_yscale("log")
            if panel == "rate":
                ax.legend(fontsize=7)
        elif panel == "crates":
            names = ["ours, TLS on", "ours, TLS off"] + (["nacos-sdk"] if fp.get("sdk") else [])
            vals = [fp["ours_tls_on"], fp["ours_tls_off"]] + ([fp["sdk"]] if fp.get("sdk") else [])
            ax.bar(names, vals, color=["tab:blue", "tab:cyan", "tab:red"][:len(vals)])
            ax.axhline(70, color="gray", linestyle="--", linewidth=1)
            ax.text(0, 71, "target: < 70", fontsize=8, color="gray")
            ax.set_title("Crates in the normal dependency tree", fontsize=10)
        elif panel == "hb_cpu":
            cs = [c for c in HB_CONTENDERS if hb.get((c, "many"))]
            ax.bar(["ours" if c == "ours" else "Python v1" for c in cs], [hb_med(hb, c, "cpu_us_per_beat") for c in cs],
                   color=["tab:blue", "tab:green"][:len(cs)])
            ax.set_title("Heartbeats: client CPU per beat, µs (lower is better)", fontsize=10)
        elif panel == "hb_mem":
            cs = [c for c in HB_CONTENDERS if hb.get((c, "many"))]
            xs = range(len(cs))
            ax.bar([x - 0.2 for x in xs], [hb_med(hb, c, "rss_kb") / 1024 for c in cs], 0.4, label="RSS MB")
            ax.bar([x + 0.2 for x in xs], [hb_med(hb, c, "threads") for c in cs], 0.4, label="threads")
            ax.set_xticks(list(xs))
            ax.set_xticklabels(["ours" if c == "ours" else "Python v1" for c in cs])
            ax.set_yscale("log")
            ax.legend(fontsize=7)
            count = hb[(cs[0], "many")][0]["instances"] if cs else 0
            ax.set_title(f"Heartbeats: RSS and threads with {count:,} instances", fontsize=10)
        elif panel == "sub_lat":
            groups = [("default", "default"), ("1 s", "fast")]
            cs = [c for c in ("ours", "python-v1", "nacos-sdk") if any(sub.get((c, m)) for _, m in groups)]
            width = 0.8 / max(len(cs), 1)
            for i, c in enumerate(cs):
                p50, p99 = [], []
                for _, m in groups:
                    st = sub_stats(sub, c, "default" if c == "nacos-sdk" else m)
                    p50.append(st["p50"] if st["p50"] == st["p50"] else 0)
                    p99.append(st["p99"] if st["p99"] == st["p99"] else 0)
                xs = [j + i * width for j in range(len(groups))]
                ax.bar(xs, p50, width, label=CONTENDER_LABEL[c])
                ax.scatter(xs, p99, marker="_", s=200, color="black")
            ax.set_xticks([j + width * (len(cs) - 1) / 2 for j in range(len(groups))])
            ax.set_xticklabels([f"{g} interval" for g, _ in groups])
            ax.set_title("Subscriptions: notification latency, ms (bar p50, dash p99)", fontsize=10)
            ax.legend(fontsize=7)
        elif panel == "sub_mem":
            cs = [c for c in ("ours", "python-v1", "nacos-sdk") if sub.get((c, "fast")) or sub.get((c, "default"))]
            xs = range(len(cs))
            st = [sub_stats(sub, c, "fast" if sub.get((c, "fast")) else "default") for c in cs]
            ax.bar([x - 0.2 for x in xs], [s_["rss"] for s_ in st], 0.4, label="RSS MB")
            ax.bar([x + 0.2 for x in xs], [s_["threads"] for s_ in st], 0.4, label="threads")
            ax.set_xticks(list(xs))
            ax.set_xticklabels([{"ours": "ours", "python-v1": "Python v1", "nacos-sdk": "nacos-sdk"}[c] for c in cs])
            ax.set_yscale("log")
            ax.legend(fontsize=7)
            count = next((s_["services"] for c in cs for m in ("fast", "default") for s_ in sub.get((c, m), [])), 0)
            ax.set_title(f"Subscriptions: RSS and threads (idle), {count:,} services", fontsize=10)
        elif panel == "cfg_lat":
            cs = [c for c in CFG_CONTENDERS if cfg.get((c, "many"))]
            st = [cfg_stats(cfg, c) for c in cs]
            nan0 = lambda x: x if x == x else 0
            xs = range(len(cs))
            colors = {"ours": "tab:blue", "python-v1": "tab:orange", "nacos-sdk": "tab:green"}
            ax.bar(list(xs), [nan0(s_["p50"]) for s_ in st], 0.6, color=[colors[c] for c in cs])
            ax.scatter(list(xs), [nan0(s_["p99"]) for s_ in st], marker="_", s=400, color="black", zorder=3)
            for x, s_ in zip(xs, st):
                if s_["p50"] == s_["p50"]:
                    ax.text(x, nan0(s_["p99"]) * 1.15, f"p50 {fmt_ms(s_['p50'])}\np99 {fmt_ms(s_['p99'])}",
                            ha="center", fontsize=7)
            ax.set_yscale("log")
            ax.set_ylim(top=max([nan0(s_["p99"]) for s_ in st] + [1]) * 4)
            ax.set_xticks(list(xs))
            ax.set_xticklabels([SHORT[c] for c in cs])
            ax.set_title("Config: change-notification latency, ms, log scale\n(bar p50, dash p99; lower is better)",
                         fontsize=10)
        elif panel == "cfg_idle":
            cs = [c for c in CFG_CONTENDERS if cfg.get((c, "many"))]
            st = [cfg_stats(cfg, c) for c in cs]
            xs = range(len(cs))
            ax.bar([x - 0.27 for x in xs], [max(s_["cpu_h"], 0.01) for s_ in st], 0.27, label="CPU s per idle hour (extrap.)")
            ax.bar([x for x in xs], [s_["rss"] for s_ in st], 0.27, label="RSS MB (all processes)")
            ax.bar([x + 0.27 for x in xs], [s_["threads"] for s_ in st], 0.27, label="threads (all processes)")
            ax.set_xticks(list(xs))
            ax.set_xticklabels([SHORT[c] for c in cs])
            ax.set_yscale("log")
            ax.legend(fontsize=7)
            ax.set_title(f"Config: idle cost of {cfg[(cs[0], 'many')][0]['keys']:,} watched keys (lower is better)",
                         fontsize=10)
    fig.suptitle("nacos-blocking vs peers (median of rounds; bars show min–max) — same r-nacos, same run",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "chart.png"), dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--nbench", required=True)
    p.add_argument("--minimal-bin", required=True)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--sdk-peer", default="")
    p.add_argument("--sdk-minimal-bin", default="")
    p.add_argument("--sdk-dir", default="")
    p.add_argument("--sdk-note", default="")
    p.add_argument("--sdk-build-seconds", type=float, default=None)
    p.add_argument("--sdk-build-note", default="")
    p.add_argument("--rnacos-version", default="?")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--calls", type=int, default=4000)
    p.add_argument("--sdk-calls", type=int, default=100,
                   help="timed calls per run for nacos-sdk (its calls take ~44 ms each here)")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--list-instances", type=int, default=200)
    p.add_argument("--skip-clean-build", action="store_true")
    p.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                   help="comma-separated subset of " + ",".join(ALL_SCENARIOS))
    p.add_argument("--hb-instances", type=int, default=1000)
    p.add_argument("--hb-interval-ms", type=int, default=1000)
    p.add_argument("--hb-warmup", type=int, default=3, help="seconds after registration before the window")
    p.add_argument("--hb-window", type=int, default=20, help="measured seconds")
    p.add_argument("--hb-rounds", type=int, default=3)
    p.add_argument("--sub-services", type=int, default=1000)
    p.add_argument("--sub-idle", type=int, default=20, help="idle window, seconds")
    p.add_argument("--sub-rounds", type=int, default=1)
    p.add_argument("--sub-default-ms", type=int, default=10000,
                   help="the default interval (r-nacos cacheMillis); Python v1 is given the same")
    p.add_argument("--sub-fast-ms", type=int, default=1000)
    p.add_argument("--sub-changes-default", type=int, default=10)
    p.add_argument("--sub-changes-fast", type=int, default=30)
    p.add_argument("--sub-gap-default-ms", type=int, default=1000)
    p.add_argument("--sub-gap-fast-ms", type=int, default=300)
    p.add_argument("--cfg-keys", type=int, default=1000)
    p.add_argument("--cfg-idle", type=int, default=60, help="config idle window, seconds")
    p.add_argument("--cfg-settle", type=int, default=32,
                   help="seconds after setup before the idle window (past one long-poll timeout, 30 s)")
    p.add_argument("--cfg-changes", type=int, default=20)
    p.add_argument("--cfg-gap-ms", type=int, default=1000)
    p.add_argument("--cfg-wait", type=int, default=40, help="seconds to wait for the last change after the driver")
    p.add_argument("--cfg-rounds", type=int, default=1)
    p.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""), help="a line for the report's Run section")
    p.add_argument("--command", default="bash benchmarks/run.sh")
    p.add_argument("--started", type=float, default=time.time())
    p.add_argument("--server-pid", type=int, default=None,
                   help="r-nacos's pid: pinned apart from the contenders during the throughput scenario")
    p.add_argument("--quiet-limit", type=float, default=180,
                   help="seconds to wait at most for a quiet machine before measuring")
    if sys.argv[1:] == ["--rerender"]:
        with open(os.path.join(HERE, "target", "last-run.pickle"), "rb") as f:
            d = pickle.load(f)
        FAILURES.extend(d["failures"])
        d["a"].note = os.environ.get("BENCH_NOTE", getattr(d["a"], "note", ""))
        write_report(d["a"], d["info"], d["setup"], d["results"], d["contenders"], d["fp"], *d["load"], d["started"],
                     d["elapsed"], d["hb"], d["sub"], d["cfg"])
        chart(d["results"], d["contenders"], d["fp"], d["hb"], d["sub"], d["cfg"])
        log("rewrote benchmarks/REPORT.md and benchmarks/chart.png from target/last-run.pickle")
        return
    a = p.parse_args()
    # run.sh stops us with SIGTERM: unwind so that `finally` stops every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    a.scenario_list = [x.strip() for x in a.scenarios.split(",") if x.strip()]
    unknown = [x for x in a.scenario_list if x not in ALL_SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {unknown}; choose from {','.join(ALL_SCENARIOS)}")
    if a.sub_changes_default > a.sub_services or a.sub_changes_fast > a.sub_services:
        p.error("changes per run must not exceed --sub-services (each change touches its own service)")
    started = datetime.datetime.fromtimestamp(a.started, datetime.timezone.utc)
    log(f"waiting for a quiet machine (≤ {QUIET_BUSY:.0%} busy for {QUIET_SECONDS} s, at most {a.quiet_limit} s)")
    a.quiet = wait_quiet(a.quiet_limit)
    log(f"quiet after {a.quiet[0]:.0f} s" if a.quiet[1] else f"still busy after {a.quiet[0]:.0f} s; measuring anyway")
    load_start = loadavg()
    load_end = None
    contenders = (["ours", "ureq", "ureq-json", "ureq-typed", "ureq-timeout", "ureq-wire", "ureq-threads",
                   "raw", "raw-thread", "python-v1"]
                  + (["nacos-sdk", "nacos-sdk-nodelay"] if a.sdk_peer else []))
    setup, results, hb, sub, cfg, fp = None, {}, {}, {}, {}, {}
    try:
        if "throughput" in a.scenario_list:
            setup, results = throughput(a, contenders)
        if "heartbeat" in a.scenario_list:
            hb = heartbeat(a)
        if "subscribe" in a.scenario_list:
            sub = subscribe(a, bool(a.sdk_peer))
        if "config" in a.scenario_list:
            cfg = config(a, bool(a.sdk_peer))
        load_end = loadavg()
        if "footprint" in a.scenario_list:
            fp = footprint(a)
    finally:
        kill_children()
    load_end = load_end or loadavg()
    info = machine()
    # Kept (untracked, in target/) so the report can be rewritten without rerunning: bench.py --rerender.
    os.makedirs(os.path.join(HERE, "target"), exist_ok=True)
    with open(os.path.join(HERE, "target", "last-run.pickle"), "wb") as f:
        pickle.dump({"a": a, "info": info, "setup": setup, "results": results, "contenders": contenders, "fp": fp,
                     "load": (load_start, load_end), "started": started, "elapsed": time.time() - a.started,
                     "hb": hb, "sub": sub, "cfg": cfg, "failures": FAILURES}, f)
    write_report(a, info, setup, results, contenders, fp, load_start, load_end, started, time.time() - a.started,
                 hb, sub, cfg)
    chart(results, contenders, fp, hb, sub, cfg)
    log("wrote benchmarks/REPORT.md and benchmarks/chart.png")


if __name__ == "__main__":
    main()
