"""Benchmark contender: subscriptions of the Python v1 client (nacos-sdk-python 2.0.11).

python_v1_subscribe.py <addr> <prefix> <services> <interval_ms> <idle_s> <changes> <max_wait_s>

Uses `NacosClient.subscribe(listener_fn, listener_interval, service_name=...)`
(nacos/client.py): each call lists the service once, then re-lists it from a
`threading.Timer` every `listener_interval` seconds (one live timer thread
per subscribed service, re-created each tick) and calls the listener with
ADDED / DELETED / MODIFIED per instance. `interval_ms` 0 means the
client's default `listener_interval` (7 s). Same stdout protocol as
`nbench subscribe` (ready line, idle line, result line); latency is
`now - t` for each ADDED instance carrying metadata `t` (epoch µs).
"""
import json
import os
import resource
import sys
import tempfile
import threading
import time

import nacos

from procstat import status
from nacos.listener import SubscribeListener



def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def emit(obj):
    print(json.dumps(obj))
    sys.stdout.flush()


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    addr, prefix = sys.argv[1], sys.argv[2]
    services, interval_ms, idle_s, changes, max_wait_s = (int(x) for x in sys.argv[3:8])
    client = nacos.NacosClient(addr, logDir=tempfile.mkdtemp(prefix="nacos-py-bench-"))
    threads_before = status("Threads")
    latencies = []
    lock = threading.Lock()

    def on_event(event, slc):
        now = time.time_ns() // 1000
        if event != "ADDED":
            return
        t = (slc.instance.get("metadata") or {}).get("t")
        if t is not None:
            with lock:
                latencies.append((now - int(t)) / 1000.0)

    t0 = time.perf_counter()
    for i in range(services):
        listener = SubscribeListener(fn=on_event, listener_name=f"bench-{i}")
        if interval_ms > 0:
            client.subscribe(listener, interval_ms / 1000.0, service_name=f"{prefix}-{i}")
        else:
            client.subscribe(listener, service_name=f"{prefix}-{i}")
    emit({"ready": True, "initial_events": services, "setup_s": time.perf_counter() - t0,
          "threads_before": threads_before})

    from_us = time.time_ns() // 1000
    u0, s0 = usage()
    w0 = time.perf_counter()
    time.sleep(idle_s)
    wall = time.perf_counter() - w0
    u1, s1 = usage()
    emit({"idle": True, "from_us": from_us, "to_us": time.time_ns() // 1000, "wall_s": wall,
          "user_s": u1 - u0, "sys_s": s1 - s0, "threads": status("Threads"), "rss_kb": status("VmRSS")})

    u0, s0 = usage()
    w0 = time.perf_counter()
    deadline = time.monotonic() + max_wait_s
    while time.monotonic() < deadline:
        with lock:
            if len(latencies) >= changes:
                break
        time.sleep(0.02)
    wall = time.perf_counter() - w0
    u1, s1 = usage()
    with lock:
        lat = list(latencies)
    emit({"contender": "python-v1", "services": services, "interval_ms": interval_ms, "subscribed": services,
          "latencies_ms": lat, "wall_s": wall, "user_s": u1 - u0, "sys_s": s1 - s0,
          "threads": status("Threads"), "rss_kb": status("VmRSS")})
    os._exit(0)  # the subscription timers never end on their own


if __name__ == "__main__":
    main()
