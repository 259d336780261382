"""Benchmark contender: the Python v1 client (nacos-sdk-python 2.0.11).

python_v1.py <register|list> <addr> <service> <calls> <warmup> <port base>

Runs the op sequentially, `warmup` untimed calls first, and prints one JSON
line in the same schema as `nbench throughput`. CPU is this process's
user+system time (getrusage) around the timed loop.
"""
import json
import os
import resource
import sys
import tempfile
import time

import nacos

from procstat import status

GROUP = "DEFAULT_GROUP"
IP = "10.1.0.1"



def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    op, addr, service = sys.argv[1], sys.argv[2], sys.argv[3]
    calls, warmup, base = (int(x) for x in sys.argv[4:7])
    log_dir = tempfile.mkdtemp(prefix="nacos-py-bench-")
    client = nacos.NacosClient(addr, logDir=log_dir)

    def call(i):
        if op == "register":
            ok = client.add_naming_instance(service, IP, base + i, group_name=GROUP)
            if not ok:
                raise RuntimeError("register refused")
            return 0
        if op == "list":
            return len(client.list_naming_instance(service, group_name=GROUP, healthy_only=False)["hosts"])
        raise SystemExit("unknown op " + op)

    seen = 0
    for i in range(warmup):
        seen = call(calls + i)
    ok = 0
    first_err = None
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for i in range(calls):
        try:
            seen = call(i)
            ok += 1
        except Exception as e:  # counted, reported once
            first_err = first_err or e
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    if first_err is not None:
        print(f"python_v1 {op}: {calls - ok} of {calls} calls failed; first: {first_err}", file=sys.stderr)
    print(json.dumps({
        "contender": "python-v1", "op": op, "calls": calls, "ok": ok, "instances_seen": seen,
        "wall_s": wall, "user_s": r1.ru_utime - r0.ru_utime, "sys_s": r1.ru_stime - r0.ru_stime,
        "threads": status("Threads"), "rss_kb": status("VmRSS"),
    }))
    sys.stdout.flush()
    os._exit(0)  # skip the client's background-thread teardown


if __name__ == "__main__":
    main()
