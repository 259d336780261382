"""Benchmark contender: heartbeats of the Python v1 client (nacos-sdk-python 2.0.11).

python_v1_heartbeat.py <addr> <service> <instances> <interval_ms> <warmup_s> <window_s> <port base>

Uses the client's own heartbeat mechanism: `add_naming_instance(...,
heartbeat_interval=s)` starts one `HeartbeatTask` thread per instance
(nacos/task.py), which calls `send_heartbeat` and then sleeps the interval,
forever. Every instance also carries `preserved.heart.beat.interval`, as in
the Rust scenario. Prints one JSON line in the schema of `nbench heartbeat`;
the beats themselves are counted by the proxy in front of r-nacos.
"""
import json
import os
import resource
import sys
import tempfile
import time

import nacos

from procstat import status

IP = "10.4.0.1"



def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    addr, service = sys.argv[1], sys.argv[2]
    n, interval_ms, warmup_s, window_s, base = (int(x) for x in sys.argv[3:8])
    client = nacos.NacosClient(addr, logDir=tempfile.mkdtemp(prefix="nacos-py-bench-"))
    threads_before = status("Threads")
    t0 = time.perf_counter()
    retries = 0
    for i in range(n):
        # The client does not retry a failed registration itself. Under this load (one thread per
        # registered instance, all beating) a request can reach r-nacos too slowly and be answered
        # 408; a user would try again, so the benchmark does, up to 5 times, each retry on stderr (which
        # bench.py logs) and their count in the JSON line (`register_retries`).
        for attempt in range(6):
            try:
                ok = client.add_naming_instance(service, IP, base + i,
                                                metadata={"preserved.heart.beat.interval": str(interval_ms)},
                                                heartbeat_interval=interval_ms / 1000.0)
                break
            except Exception as e:
                if attempt == 5:
                    raise
                print(f"register {i} failed, trying again: {e!r}", file=sys.stderr)
                retries += 1
                time.sleep(0.2)
        if not ok:
            raise RuntimeError("register refused")
    register_s = time.perf_counter() - t0
    time.sleep(warmup_s)
    from_us = time.time_ns() // 1000
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.perf_counter()
    time.sleep(window_s)
    wall = time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    to_us = time.time_ns() // 1000
    print(json.dumps({
        "contender": "python-v1", "instances": n, "interval_ms": interval_ms,
        "beating": sum(1 for t in client.heartbeats.values() if t.is_alive()),
        "failing": None, "never_ok": None, "register_s": register_s, "register_retries": retries, "threads_before": threads_before,
        "from_us": from_us, "to_us": to_us,
        "wall_s": wall, "user_s": r1.ru_utime - r0.ru_utime, "sys_s": r1.ru_stime - r0.ru_stime,
        "threads": status("Threads"), "rss_kb": status("VmRSS"),
    }))
    sys.stdout.flush()
    os._exit(0)  # the heartbeat threads never end on their own


if __name__ == "__main__":
    main()
