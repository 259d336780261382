"""Benchmark contender: config watching of the Python v1 client (nacos-sdk-python 2.0.11).

python_v1_config.py <addr> <prefix> <keys>

Same stdout protocol as `nbench config ours` (src/scenario/config.rs): watches
`<prefix>-0` .. `<prefix>-{keys-1}` (group `bench`) with
`NacosClient.add_config_watcher(data_id, group, cb)`, prints a ready line, then
one `{"lat_ms": ..}` line per notified change whose content is `t=<epoch µs>`;
exits on `quit` or end of input.

What 2.0.11 does (nacos/client.py): `add_config_watcher` first calls
`get_config` for the key (one request, writes a snapshot); the first watcher
starts a `multiprocessing.Manager()` (a separate server *process* holding the
shared key list), a `multiprocessing.Queue`, a `ThreadPool` of
`callback_thread_num` (10) threads and a result thread; each 3,000 keys
(`pulling_config_size`) get a puller *thread* (`_do_pulling`) that loops:
sleep 1 s, long-poll `POST /nacos/v1/cs/configs/listener` with every key
(`Long-Pulling-Timeout` = `pulling_timeout`, 30 s by default), `get_config` for
each changed key, then put every key of its list on the queue. Defaults are
kept: pulling_timeout 30 s, as for ours.
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

import nacos

from procstat import status

GROUP = "bench"
OUT = threading.Lock()


def emit(obj):
    with OUT:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()



def on_change(params):
    now = time.time_ns() // 1000
    content = params.get("content") or ""
    if content.startswith("t="):
        try:
            t = int(content[2:].strip())
        except ValueError:
            return
        emit({"lat_ms": (now - t) / 1000.0})


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    addr, prefix, keys = sys.argv[1], sys.argv[2], int(sys.argv[3])
    work = tempfile.mkdtemp(prefix="nacos-py-config-bench-")
    client = nacos.NacosClient(addr, logDir=work)
    client.snapshot_base = os.path.join(work, "snapshot")  # not the default ./nacos-data in the cwd
    client.failover_base = os.path.join(work, "failover")
    threads_before = status("Threads")
    t0 = time.perf_counter()
    for i in range(keys):
        client.add_config_watcher(f"{prefix}-{i}", GROUP, on_change)
    emit({"ready": True, "keys": keys, "setup_s": time.perf_counter() - t0, "threads_before": threads_before,
          "pid": os.getpid()})
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    # The puller threads never end on their own; stop the Manager process first so it is not orphaned.
    try:
        client.process_mgr.shutdown()
    except Exception:
        pass
    shutil.rmtree(work, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
