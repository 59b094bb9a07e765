"""Reaching a --scheduler that is not one: qualcode's Runner against Dask's own Client, in the same run.

For each endpoint on 127.0.0.1 (a closed port, one that accepts and closes, one that answers garbage, one
that accepts and never answers), a fresh child process connects twice:

* baseline: ``distributed.Client(address, timeout="20s")``, as qualcode did before (the silent endpoint is
  given up after ``--cap`` seconds: Dask waits for its greeting without a timeout);
* qualcode: ``with Runner(scheduler=address)`` (default deadline, ``CONNECT_TIMEOUT_S``).

Printed per endpoint: wall and CPU time from the address to the outcome (imports done before), peak RSS of
the child (with qualcode and Dask imported), and how it ended.
Targets (issue 21): refused in under 10 s with peak RSS under 512 MiB, with a SchedulerError.

    python bench/scheduler_endpoints.py [--cap 60]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
how, address = sys.argv[1], sys.argv[2]
from distributed import Client  # both imported first: the figures time reaching the address, not imports
from qualcode.parallel import Runner
start, cpu = time.monotonic(), time.process_time()
try:
    if how == "baseline":
        Client(address, set_as_default=False, timeout="20s").close()
    else:
        with Runner(scheduler=address):
            pass
    ended = "connected"
except BaseException as exc:
    ended = f"{type(exc).__name__}: {str(exc).splitlines()[0][:90] if str(exc) else ''}"
print(json.dumps({"wall": time.monotonic() - start, "cpu": time.process_time() - cpu, "ended": ended,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def serve(mode: str) -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def loop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if mode == "close":
                conn.close()
                continue
            if mode == "garbage":
                conn.sendall(b"\xff" * 64 + b"HTTP/1.1 200 OK\r\n\r\n" + b"\x00" * 1000)
            held.append(conn)

    threading.Thread(target=loop, daemon=True).start()
    return server, server.getsockname()[1]


def run(how: str, address: str, cap: float) -> dict:
    # Through a shell that forks the child, so that its peak RSS is its own, not this process's.
    try:
        done = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", CHILD, how, address],
                              capture_output=True, text=True, timeout=cap, env={"PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return {"wall": cap, "cpu": float("nan"), "rss_mib": float("nan"), "ended": f"still waiting at {cap:.0f} s"}
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"wall": float("nan"), "cpu": float("nan"),
                                                 "rss_mib": float("nan"), "ended": done.stderr[-200:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=60.0, help="give a hanging child up after this many seconds")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    endpoints = {"refused": (None, closed)}
    for mode in ("close", "garbage", "silent"):
        endpoints[mode] = serve(mode)
    print(f"{'endpoint':9} {'how':9} {'wall s':>7} {'cpu s':>6} {'RSS MiB':>8}  ended")
    for name, (_, port) in endpoints.items():
        for how in ("baseline", "qualcode"):
            r = run(how, f"tcp://127.0.0.1:{port}", args.cap)
            print(f"{name:9} {how:9} {r['wall']:7.1f} {r['cpu']:6.2f} {r['rss_mib']:8.0f}  {r['ended']}", flush=True)


if __name__ == "__main__":
    main()
