#!/usr/bin/env bash
# Runs every benchmark scenario against a fresh local r-nacos and writes
# benchmarks/REPORT.md and benchmarks/chart.png.
#
#   bash benchmarks/run.sh            # everything (about 14 min on 2 cores with the nacos-sdk
#                                     # peer already built; its first build adds several minutes)
#   BENCH_SMOKE=1 bash benchmarks/run.sh   # every scenario, tiny counts (~3-4 min): proves it works
#   BENCH_SCENARIOS=heartbeat,subscribe bash benchmarks/run.sh   # only some scenarios
#
# Knobs (environment):
#   BENCH_SCENARIOS     comma-separated subset of throughput,heartbeat,subscribe,config,footprint (default: all)
#   BENCH_SMOKE=1       small counts and short windows everywhere (not for publishing)
#   RNACOS_BIN          r-nacos binary (else `rnacos` on PATH, else ~/.cargo/bin/rnacos)
#   BENCH_ROUNDS        rounds per throughput measurement, median taken (default 7)
#   BENCH_CALLS         timed calls per throughput run (default 4000: shorter runs let r-nacos's own
#                       background work decide a paired ratio; 1000 swung it by +-5 % between runs)
#   BENCH_QUIET_LIMIT   seconds to wait at most, after the builds, for the machine to be quiet (default 180)
#   BENCH_SKIP_SDK=1    leave the async nacos-sdk peer out (its first build takes minutes)
#   BENCH_CALLGRIND_BASE  a commit whose instructions per call are measured beside this checkout's
#   BENCH_SKIP_CLEAN_BUILD=1  skip the clean-build-time figure
#   BENCH_HB_INSTANCES (1000), BENCH_HB_INTERVAL_MS (1000), BENCH_HB_WINDOW (20 s), BENCH_HB_ROUNDS (2)
#   BENCH_SUB_SERVICES (1000), BENCH_SUB_IDLE (20 s), BENCH_SUB_ROUNDS (1),
#   BENCH_SUB_CHANGES_DEFAULT (10), BENCH_SUB_CHANGES_FAST (30)
#   BENCH_CFG_KEYS (1000), BENCH_CFG_IDLE (40 s), BENCH_CFG_CHANGES (20), BENCH_CFG_GAP_MS (1000),
#   BENCH_CFG_ROUNDS (1), BENCH_CFG_SETTLE (32 s: past one 30 s long poll before the idle window)
#
# Everything it starts (r-nacos, contender processes) is stopped when it exits.
set -euo pipefail

STARTED=$(date +%s)
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
COMMAND="bash benchmarks/run.sh"
if env | grep -qE '^BENCH_'; then
    COMMAND="$(env | grep -E '^BENCH_' | sort | tr '\n' ' ')$COMMAND"
fi
SCENARIOS="${BENCH_SCENARIOS:-throughput,heartbeat,subscribe,config,footprint}"
if [ "${BENCH_SMOKE:-}" = 1 ]; then
    : "${BENCH_ROUNDS:=1}" "${BENCH_CALLS:=100}" "${BENCH_HB_INSTANCES:=100}" "${BENCH_HB_WINDOW:=5}"
    : "${BENCH_QUIET_LIMIT:=10}"
    : "${BENCH_HB_ROUNDS:=1}" "${BENCH_SUB_SERVICES:=100}" "${BENCH_SUB_IDLE:=3}"
    : "${BENCH_SUB_CHANGES_DEFAULT:=3}" "${BENCH_SUB_CHANGES_FAST:=5}" "${BENCH_SKIP_CLEAN_BUILD:=1}"
    : "${BENCH_CFG_KEYS:=100}" "${BENCH_CFG_IDLE:=5}" "${BENCH_CFG_CHANGES:=3}" "${BENCH_CFG_SETTLE:=3}"
fi
# The async nacos-sdk peer is only needed by these scenarios.
case ",$SCENARIOS," in *,throughput,*|*,subscribe,*|*,config,*|*,footprint,*) ;; *) BENCH_SKIP_SDK=1 ;; esac

say() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- the server binary
if [ -n "${RNACOS_BIN:-}" ]; then
    [ -x "$RNACOS_BIN" ] || die "RNACOS_BIN=$RNACOS_BIN is not an executable file"
elif command -v rnacos >/dev/null 2>&1; then
    RNACOS_BIN="$(command -v rnacos)"
elif [ -x "$HOME/.cargo/bin/rnacos" ]; then
    RNACOS_BIN="$HOME/.cargo/bin/rnacos"
else
    die "r-nacos (the benchmark server) was not found. Install it with \`bash scripts/install-rnacos.sh\` \
(or \`cargo install --locked rnacos --version '~0.8'\`), or point RNACOS_BIN at the binary."
fi
RNACOS_VERSION="$("$RNACOS_BIN" -V 2>/dev/null | awk '{print $2}')" || RNACOS_VERSION="?"
say "server: $RNACOS_BIN ($RNACOS_VERSION)"

# ---- Python v1 client and matplotlib, in a local virtualenv
VENV="$BENCH/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
say "installing nacos-sdk-python==2.0.11 and matplotlib into the venv"
"$VENV/bin/pip" install -q --disable-pip-version-check "nacos-sdk-python==2.0.11" matplotlib

# ---- the harness (release)
say "building the harness (release)"
(cd "$BENCH" && cargo build --release --locked -q)
NBENCH="$BENCH/target/release/nbench"
MINIMAL="$BENCH/target/release/minimal"

# ---- the async nacos-sdk peer, in a project and target dir of its own
SDK_ARGS=()
SDK_DIR="$BENCH/peers/nacos-sdk"
SDK_TARGET="$BENCH/target/peer-sdk"
if [ "${BENCH_SKIP_SDK:-}" = 1 ]; then
    SDK_ARGS+=(--sdk-note "left out by BENCH_SKIP_SDK=1.")
else
    if [ ! -x "$SDK_TARGET/release/sdk-peer" ] && [ ! -f "$SDK_TARGET/.first-build-seconds" ]; then
        say "first build of the nacos-sdk peer (several minutes; timed: it is the clean build figure)"
        t0=$(date +%s)
        (cd "$SDK_DIR" && cargo build --release --locked -q --target-dir "$SDK_TARGET")
        echo $(( $(date +%s) - t0 )) > "$SDK_TARGET/.first-build-seconds"
        echo "the first build of nacos-sdk and its dependencies on this machine ($(date -u +%Y-%m-%d)), timed by run.sh" \
            > "$SDK_TARGET/.first-build-note"
    else
        say "building the nacos-sdk peer (incremental)"
        (cd "$SDK_DIR" && cargo build --release --locked -q --target-dir "$SDK_TARGET")
    fi
    SDK_ARGS+=(--sdk-peer "$SDK_TARGET/release/sdk-peer" --sdk-minimal-bin "$SDK_TARGET/release/sdk-minimal"
        --sdk-dir "$SDK_DIR")
    if [ -f "$SDK_TARGET/.first-build-seconds" ]; then
        SDK_ARGS+=(--sdk-build-seconds "$(cat "$SDK_TARGET/.first-build-seconds")"
            --sdk-build-note "$(cat "$SDK_TARGET/.first-build-note" 2>/dev/null || echo "its first build on this machine").")
    fi
fi

# ---- a fresh r-nacos on free loopback ports, with its own data dir
free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port)
GRPC_PORT=$(free_port)
while [ "$GRPC_PORT" = "$HTTP_PORT" ]; do GRPC_PORT=$(free_port); done
WORK="$(mktemp -d -t nacos-bench-rnacos.XXXXXX)"
RNACOS_PID=""
BENCH_PID=""
cleanup() {
    if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill "$BENCH_PID" 2>/dev/null || true   # bench.py stops its own children on SIGTERM
        wait "$BENCH_PID" 2>/dev/null || true
    fi
    if [ -n "$RNACOS_PID" ] && kill -0 "$RNACOS_PID" 2>/dev/null; then
        kill "$RNACOS_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$RNACOS_PID" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$RNACOS_PID" 2>/dev/null || true
        wait "$RNACOS_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# r-nacos 0.8.8 sometimes loses its raft apply thread at start (a panic at
# raftapply.rs:421 in its log): /health still answers and naming works, but
# config writes are never applied. So "ready" means a config written can be
# read back; otherwise the server is restarted with a fresh data dir.
start_rnacos() {
    rm -rf "$WORK/data"
    mkdir -p "$WORK/data"
    say "starting r-nacos on 127.0.0.1:$HTTP_PORT (gRPC $GRPC_PORT), data in $WORK/data"
    (
        # An empty working dir: r-nacos reads a .env from there.
        cd "$WORK"
        exec env RNACOS_HTTP_PORT="$HTTP_PORT" RNACOS_GRPC_PORT="$GRPC_PORT" RNACOS_HTTP_CONSOLE_PORT=0 \
            RNACOS_SDK_HOST=127.0.0.1 RNACOS_RAFT_NODE_ADDR="127.0.0.1:$GRPC_PORT" \
            RNACOS_DATA_DIR="$WORK/data" RUST_LOG=warn \
            RNACOS_NAMING_PERPETUAL_INSTANCE_PROBE_INTERVAL_SECOND=0 \
            "$RNACOS_BIN" >"$WORK/rnacos.log" 2>&1
    ) &
    RNACOS_PID=$!
    for _ in $(seq 1 300); do
        # 0: ready; 2: serves but a config written does not read back (a
        # broken start: give up at once and restart); else: not up yet.
        rc=0
        "$VENV/bin/python" - "$HTTP_PORT" <<'EOF' 2>/dev/null || rc=$?
import sys, time, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
body = urllib.request.urlopen(f"{base}/health", timeout=1).read()
if b"success" not in body:
    sys.exit(1)
q = {"dataId": "bench-probe", "group": "bench", "content": "probe"}
urllib.request.urlopen(base + "/nacos/v1/cs/configs", urllib.parse.urlencode(q).encode(), timeout=2).read()
for _ in range(30):
    try:
        got = urllib.request.urlopen(base + "/nacos/v1/cs/configs?dataId=bench-probe&group=bench", timeout=1).read()
        if got == b"probe":
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(2)
EOF
        [ "$rc" = 0 ] && return 0
        [ "$rc" = 2 ] && return 1
        kill -0 "$RNACOS_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
stop_rnacos() {
    kill "$RNACOS_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$RNACOS_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$RNACOS_PID" 2>/dev/null || true
    wait "$RNACOS_PID" 2>/dev/null || true
}
ready=""
for attempt in 1 2 3; do
    if start_rnacos; then ready=1; break; fi
    say "r-nacos attempt $attempt: not ready, or a config written did not read back; restarting it"
    grep -m1 -A1 "panicked" "$WORK/rnacos.log" >&2 || true
    stop_rnacos
done
[ -n "$ready" ] || { cat "$WORK/rnacos.log" >&2 || true; die "r-nacos did not become ready (3 attempts)"; }
say "r-nacos ready (a config written reads back)"

# ---- every scenario, then the report and chart
EXTRA=()
[ "${BENCH_SKIP_CLEAN_BUILD:-}" = 1 ] && EXTRA+=(--skip-clean-build)
# In the background and waited for, so that INT/TERM reach the trap at once.
"$VENV/bin/python" "$BENCH/bench.py" \
    --http-port "$HTTP_PORT" --grpc-port "$GRPC_PORT" \
    --nbench "$NBENCH" --minimal-bin "$MINIMAL" --python "$VENV/bin/python" \
    --rnacos-version "$RNACOS_VERSION" \
    --rounds "${BENCH_ROUNDS:-7}" --calls "${BENCH_CALLS:-4000}" --quiet-limit "${BENCH_QUIET_LIMIT:-180}" \
    --server-pid "$RNACOS_PID" \
    --command "$COMMAND" --started "$STARTED" --scenarios "$SCENARIOS" \
    --hb-instances "${BENCH_HB_INSTANCES:-1000}" --hb-interval-ms "${BENCH_HB_INTERVAL_MS:-1000}" \
    --hb-window "${BENCH_HB_WINDOW:-20}" --hb-rounds "${BENCH_HB_ROUNDS:-2}" \
    --sub-services "${BENCH_SUB_SERVICES:-1000}" --sub-idle "${BENCH_SUB_IDLE:-20}" \
    --sub-rounds "${BENCH_SUB_ROUNDS:-1}" --sub-changes-default "${BENCH_SUB_CHANGES_DEFAULT:-10}" \
    --sub-changes-fast "${BENCH_SUB_CHANGES_FAST:-30}" \
    --cfg-keys "${BENCH_CFG_KEYS:-1000}" --cfg-idle "${BENCH_CFG_IDLE:-40}" \
    --cfg-changes "${BENCH_CFG_CHANGES:-20}" --cfg-gap-ms "${BENCH_CFG_GAP_MS:-1000}" \
    --cfg-rounds "${BENCH_CFG_ROUNDS:-1}" --cfg-settle "${BENCH_CFG_SETTLE:-32}" \
    "${SDK_ARGS[@]}" "${EXTRA[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""

# ---- what has no peer row: batch registration, config latency by case
say "extras: batch registration, config latency across namespaces"
"$NBENCH" extras "127.0.0.1:$HTTP_PORT" | tee "$WORK/extras.jsonl" >&2
python3 - "$WORK/extras.jsonl" "$BENCH/REPORT.md" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
batch = {how: [r["ms"] for r in rows if r["what"] == "batch" and r["how"] == how] for how in ("one_call", "loop")}
cfg = [r for r in rows if r["what"] == "cfg_latency"]
out = ["", "## Batch registration and config latency by case (same run, same r-nacos)", ""]
out.append("1,000 instances of one service, heartbeats off, deregistered between rounds; three rounds each, alternating (`nbench extras`):")
out.append("")
out.append("| | round 1 | round 2 | round 3 | median |")
out.append("|---|---:|---:|---:|---:|")
for how, label in (("one_call", "`register_instances` (one call, 8 at a time)"), ("loop", "`register_instance` loop")):
    xs = batch[how]
    out.append(f"| {label} | " + " | ".join(f"{x:,.0f} ms" for x in xs) + f" | {statistics.median(xs):,.0f} ms |")
r = statistics.median(batch["loop"]) / statistics.median(batch["one_call"])
out.append("")
out.append(f"The one call took {1 / r:.2f}× the loop's time.")
out.append("")
out.append("Config changes published by a second client, seen by a client watching (long poll, 30 s hold):")
out.append("")
out.append("| case | changes | p50 | p99 | max |")
out.append("|---|---:|---:|---:|---:|")
labels = {"one_namespace": "five keys in one namespace",
          "two_namespaces": "five keys in each of two namespaces, changes alternating",
          "key_added_while_held": "a key first watched while its namespace's poll is held, changed at once"}
for c in cfg:
    out.append(f"| {labels[c['case']]} | {c['changes']} | {c['p50_ms']:.1f} ms | {c['p99_ms']:.1f} ms | {c['max_ms']:.1f} ms |")
out.append("")
with open(sys.argv[2], "a") as f:
    f.write("\n".join(out) + "\n")
PY

# ---- instructions per call (callgrind): this checkout, and BENCH_CALLGRIND_BASE if set
if command -v valgrind >/dev/null 2>&1 && [ "${BENCH_SMOKE:-}" != 1 ]; then
    ir_per_call() {  # <nbench> <op> <service>: instructions per call, startup subtracted
        local bin=$1 op=$2 svc=$3 ir=()
        for n in 100 600; do
            valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$bin" throughput ours "$op" \
                "127.0.0.1:$HTTP_PORT" "$svc" "$n" 0 40000 >/dev/null 2>&1
            ir+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/cg.out")")
        done
        echo $(( (ir[1] - ir[0]) / 500 ))
    }
    say "callgrind: instructions per register and list call"
    rows=("| this checkout ($(git -C "$ROOT" rev-parse --short HEAD)) | $(ir_per_call "$NBENCH" register cg-reg-now) | $(ir_per_call "$NBENCH" list bench-list) |")
    if [ -n "${BENCH_CALLGRIND_BASE:-}" ]; then
        base="$WORK/base"
        git -C "$ROOT" worktree add -q --detach "$base" "$BENCH_CALLGRIND_BASE"
        (cd "$base/benchmarks" && CARGO_TARGET_DIR="$BENCH/target/callgrind-base" cargo build --release -q --bin nbench)
        rows=("| ${BENCH_CALLGRIND_BASE} (before) | $(ir_per_call "$BENCH/target/callgrind-base/release/nbench" register cg-reg-base) | $(ir_per_call "$BENCH/target/callgrind-base/release/nbench" list bench-list) |" "${rows[@]}")
        git -C "$ROOT" worktree remove --force "$base"
    fi
    {
        echo
        echo "## Instructions per call (callgrind)"
        echo
        echo "The client process's instructions per sequential call (\`valgrind --tool=callgrind\` on \`nbench throughput ours\`, 600 calls less 100, so start-up cancels out), against the same r-nacos; the list is the 200-instance service of the throughput table."
        echo
        echo "| build | register | list (200 instances) |"
        echo "|---|---:|---:|"
        printf '%s\n' "${rows[@]}"
    } >> "$BENCH/REPORT.md"
fi
say "done in $(( $(date +%s) - STARTED )) s: benchmarks/REPORT.md, benchmarks/chart.png"
