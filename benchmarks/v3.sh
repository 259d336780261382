#!/usr/bin/env bash
# The v1 and v3 rows side by side: this crate's client (Api::Auto) against
# a v1 server (r-nacos) and a v3 server (batata) in one run, alternating
# rounds; writes benchmarks/V3.md.
#
#   bash benchmarks/v3.sh              # 3 rounds (about 6 minutes)
#   V3ROWS_ROUNDS=1 bash benchmarks/v3.sh
#
# Knobs: V3ROWS_ROUNDS (3), V3ROWS_CALLS (1000), V3ROWS_HB_INSTANCES (200),
# V3ROWS_HB_WINDOW (10 s), V3ROWS_CHANGES (20), V3ROWS_MANY_KEYS (1000),
# V3ROWS_MANY_IDLE (10 s), V3ROWS_MANY_CHANGES (10). Needs r-nacos
# (scripts/install-rnacos.sh) and batata (scripts/install-batata.sh).
# Everything it starts is stopped when it exits.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
STARTED=$(date +%s)
say() { printf '[v3.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

RNACOS_BIN="${RNACOS_BIN:-$(command -v rnacos || echo "$HOME/.cargo/bin/rnacos")}"
[ -x "$RNACOS_BIN" ] || { say "r-nacos not found: bash scripts/install-rnacos.sh"; exit 1; }
BATATA_BIN="${BATATA_BIN:-${NACOS_BLOCKING_CACHE:-$HOME/.cache/nacos-blocking}/batata/batata-server}"
[ -x "$BATATA_BIN" ] || { say "batata not found: bash scripts/install-batata.sh"; exit 1; }
BATATA_CONF="${BATATA_CONF:-$(dirname "$BATATA_BIN")/conf}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# batata also listens on port+1000 and port+1001 (gRPC, on 0.0.0.0).
free_block() {
    python3 - <<'PY'
import random, socket
def free(p):
    try:
        s = socket.socket(); s.bind(("0.0.0.0", p)); s.close(); return True
    except OSError:
        return False
while True:
    p = random.randint(20000, 28000)
    if all(free(q) for q in (p, p + 1000, p + 1001)):
        print(p); break
PY
}

WORK="$(mktemp -d /tmp/nb-v3bench.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

V1_PORT=$(free_port); V1_GRPC=$(free_port)
# r-nacos 0.8.8 sometimes loses its raft apply thread at start (a panic at
# raftapply.rs:421): it answers but never applies config writes. "Ready"
# therefore means a config written can be read back; else it starts again
# with a fresh data dir (as benchmarks/run.sh and the test fixture do).
start_rnacos() {
    rm -rf "$WORK/rnacos" && mkdir -p "$WORK/rnacos/data"
    (cd "$WORK/rnacos" && exec env RNACOS_HTTP_PORT=$V1_PORT RNACOS_GRPC_PORT=$V1_GRPC \
        RNACOS_HTTP_CONSOLE_PORT=0 RNACOS_RAFT_NODE_ADDR="127.0.0.1:$V1_GRPC" \
        RNACOS_DATA_DIR="$WORK/rnacos/data" RUST_LOG=warn \
        "$RNACOS_BIN" >"$WORK/rnacos.log" 2>&1) &
    RNACOS_PID=$!
}
rnacos_ready() {
    local base="http://127.0.0.1:$V1_PORT/nacos/v1/cs/configs"
    for _ in $(seq 1 40); do
        if curl -fsS -o /dev/null -d 'dataId=probe&group=bench&content=1' "$base" 2>/dev/null \
            && [ "$(curl -fsS "$base?dataId=probe&group=bench" 2>/dev/null)" = 1 ]; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}
for try in 1 2 3 4 5 6; do
    start_rnacos
    if rnacos_ready; then break; fi
    say "r-nacos start $try kept no writes; starting again"
    kill "$RNACOS_PID" 2>/dev/null || true; wait "$RNACOS_PID" 2>/dev/null || true
done
PIDS+=("$RNACOS_PID")
V3_PORT=$(free_block)
mkdir -p "$WORK/batata" && cp -r "$BATATA_CONF" "$WORK/batata/conf"
(cd "$WORK/batata" && BATATA_SERVER_MAIN_PORT=$V3_PORT BATATA_SERVER_ADDRESS=127.0.0.1 \
    BATATA_SQL_INIT_PLATFORM= BATATA_STANDALONE=true BATATA_CORE_AUTH_ENABLED=false \
    BATATA_CORE_AUTH_ADMIN_ENABLED=false BATATA_CORE_AUTH_CONSOLE_ENABLED=false \
    BATATA_PLUGIN_CONSUL_ENABLED=false BATATA_PLUGIN_APOLLO_ENABLED=false \
    RUST_LOG=warn exec "$BATATA_BIN" -d server >"$WORK/batata.log" 2>&1) &
PIDS+=($!)

say "building the harness (release)"
(cd "$BENCH" && cargo build --release --locked -q --bin v3rows)

ready() { curl -fsS -o /dev/null "$1" 2>/dev/null; }
for _ in $(seq 1 120); do
    ready "http://127.0.0.1:$V3_PORT/nacos/v3/admin/core/state/liveness" && break
    sleep 0.5
done
say "r-nacos on $V1_PORT, batata on $V3_PORT"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH/target/release/v3rows" "127.0.0.1:$V1_PORT" "127.0.0.1:$V3_PORT" "${V3ROWS_ROUNDS:-3}" \
    | tee "$WORK/rows.jsonl"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

RNACOS_VERSION="$("$RNACOS_BIN" -V 2>/dev/null | awk '{print $2}')" || RNACOS_VERSION="?"
python3 - "$WORK/rows.jsonl" "$BENCH/V3.md" "$LOAD_START" "$LOAD_END" "$STARTED" "$RNACOS_VERSION" <<'PY'
import json, statistics, sys, time, platform
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
out, load_start, load_end, started, rver = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
def med(api, what, key):
    xs = [r[key] for r in rows if r["api"] == api and r["what"] == what]
    return statistics.median(xs) if xs else float("nan")
def ratio(what, key):
    a, b = med("v3", what, key), med("v1", what, key)
    return a / b if b else float("nan")
rounds = len([r for r in rows if r["api"] == "v1" and r["what"] == "register"])
w = open(out, "w").write
w("# v1 and v3 side by side\n\n")
w("Generated by `bash benchmarks/v3.sh`: the same client code (`Api::Auto`, release build) against a v1 server, "
  f"r-nacos {rver}, and a v3 server, batata (debug build: its release build takes hours here), on loopback in one run, "
  f"v1 and v3 alternating first; every figure is the median of {rounds} rounds.\n\n")
w(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (took {(time.time() - started) / 60:.1f} min, build included)\n")
w(f"- Machine: {platform.machine()}, {open('/proc/cpuinfo').read().count('processor')} cores; load average {load_start} at start, {load_end} at end\n")
w("- Calls/s depend on the server (r-nacos is a release build, batata a debug build): compare them between APIs with care. "
  "Client CPU per call is this crate's own cost and is what the rows compare.\n\n")
w("| measurement | v1 (r-nacos) | v3 (batata) | v3 ÷ v1 |\n|---|---:|---:|---:|\n")
for what, key, label, fmt in [
    ("register", "calls_per_s", "register, sequential calls/s", "{:,.0f}"),
    ("register", "cpu_us_per_call", "register, client CPU µs/call", "{:.1f}"),
    ("list", "calls_per_s", "list of 200 instances, calls/s", "{:,.0f}"),
    ("list", "cpu_us_per_call", "list of 200 instances, client CPU µs/call", "{:.1f}"),
    ("heartbeat", "cpu_pct", "200 instances beaten every 1 s, client CPU % of a core", "{:.2f}"),
    ("heartbeat", "cpu_us_per_beat", "heartbeat, client CPU µs/beat", "{:.1f}"),
    ("config_watch", "p50_ms", "config watch, publish → event, p50 ms", "{:.1f}"),
    ("config_watch", "p90_ms", "config watch, publish → event, p90 ms", "{:.1f}"),
    ("config_watch_many", "idle_requests_per_s", "1,000 watched configs, nothing changing: client requests/s", "{:.1f}"),
    ("config_watch_many", "p50_ms", "1,000 watched configs, publish → event, p50 ms", "{:.1f}"),
    ("config_watch_many", "p90_ms", "1,000 watched configs, publish → event, p90 ms", "{:.1f}"),
]:
    w(f"| {label} | {fmt.format(med('v1', what, key))} | {fmt.format(med('v3', what, key))} | {ratio(what, key):.2f}× |\n")
p50 = med("v3", "config_watch", "p50_ms")
w(f"\nConfig watch on v3 polls every `config_poll_interval` (1 s by default): the target is p50 ≤ interval + 100 ms = 1,100 ms; "
  f"measured p50 {p50:.0f} ms ({'met' if p50 <= 1100 else 'MISSED'}). v1 pushes through the long poll.\n\n")
many = med("v3", "config_watch_many", "idle_requests_per_s")
w("With 1,000 watched configs, v3 rounds list the namespace's MD5s (`/v3/admin/cs/config/list`, 500 a page) and read only "
  f"what changed: {many:.1f} requests/s idle against the `config_poll_rate` ceiling of 20 (per-key reads would be 1,000/s); "
  "v1 holds one long poll per 3,000 keys.\n\n")
w("On v3, a beat is a full registration call (batata re-creates from it; Java reads only the address), and the instance list "
  "arrives in an envelope: those are the per-call differences.\n\n")
w("Raw rows (one per round):\n\n```\n")
for r in rows:
    w(json.dumps(r) + "\n")
w("```\n")
PY
say "wrote $BENCH/V3.md"
