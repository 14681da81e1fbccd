"""One-way latency of a light UDP flow over the testbed's paths, against its rate.

A sender in the client namespace (pinned to CPU 0) sends datagrams at random
(Poisson) times, each carrying the ``CLOCK_MONOTONIC`` time it was sent; a reader
in the server namespace (pinned to CPU 1) blocks in ``recv`` and notes how late
each one came.  One kernel, one clock: the difference is the send-to-read latency.
The sender spins between its sends, so its CPU never idles: the receive softirq
runs in its send call at once, and only the reader's CPU sleeps between datagrams,
as long as the gaps leave it.  The lighter the flow, the longer those sleeps and
the later a datagram finds its reader awake::

    python tests/udp_latency.py --path native,docker-overlay \\
        --rates 100,300,1000,3000,10000,30000 --out udp-latency.json

Both ends are Python, so each adds its own microseconds per datagram (the same at
every rate); what the rates change is how long the reader's CPU idles.  Measured
here (Linux 6.18, 2 vCPUs, 2026-11-29; ``tests/data/testbed/vm-2cpu-udp-latency.json``):
see ``tests/test_udp_latency.py``.  Needs root, iproute2 and two CPUs; it removes
what it builds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import time

PORT = 5203


def _spin_until(deadline_ns: int) -> None:
    while time.monotonic_ns() < deadline_ns:
        pass


def send(address: str, rate: float, count: int, size: int, seed: int,
         paced: bool = False) -> None:
    """``count`` datagrams of ``size`` bytes at Poisson times of mean rate ``rate``/s (or
    every ``1 / rate`` s, ``paced``)."""
    os.sched_setaffinity(0, {0})
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = b"\0" * (size - 8)
    at = time.monotonic_ns() + 50_000_000
    for _ in range(count):
        at += int((1.0 / rate if paced else rng.expovariate(rate)) * 1e9)
        _spin_until(at)
        sock.sendto(struct.pack("q", time.monotonic_ns()) + pad, (address, PORT))
    sock.sendto(b"end", (address, PORT))


def receive(address: str, out_path: str) -> None:
    """Read until the sender's ``end``; write each datagram's latency (ns) to a file."""
    os.sched_setaffinity(0, {1})
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((address, PORT))
    late = []
    while True:
        data = sock.recv(65536)
        now = time.monotonic_ns()
        if data == b"end":
            break
        late.append(now - struct.unpack_from("q", data)[0])
    with open(out_path, "w") as f:
        json.dump(late, f)


def row(path: str, rate: float, size: int, late_ns: list, paced: bool = False) -> dict:
    """One rate's summary in microseconds (the first tenth left out: a warm-up)."""
    us = sorted(x / 1e3 for x in late_ns[len(late_ns) // 10:])
    at = (lambda q: us[min(len(us) - 1, int(q * len(us)))])
    return {"path": path, "rate_per_s": rate, "msg_bytes": size, "paced": paced,
            "count": len(us),
            "mean_us": statistics.fmean(us), "median_us": at(0.5), "p90_us": at(0.9),
            "p99_us": at(0.99)}


def measure(path: str, rate: float, size: int = 1024, seconds: float = 2.0,
            seed: int = 0, paced: bool = False) -> dict:
    """One rate's row, on a testbed built and removed around it."""
    from queuemodel.testbed.netns import Testbed

    count = max(200, min(60000, int(rate * seconds)))
    out = f"/tmp/qmtb-udp-latency-{os.getpid()}.json"
    me = os.path.abspath(__file__)
    with Testbed() as bed:
        client_ns, server_ns, address = bed.endpoints(path)
        reader = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, me,
                                   "--role", "receive", "--address", address, "--file", out])
        try:
            time.sleep(0.3)
            subprocess.run(["ip", "netns", "exec", client_ns, sys.executable, me, "--role",
                            "send", "--address", address, "--rate", str(rate), "--count",
                            str(count), "--size", str(size), "--seed", str(seed)]
                           + (["--paced"] if paced else []),
                           check=True, timeout=count / rate + 60)
            reader.wait(timeout=30)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait(timeout=10)
        with open(out) as f:
            late = json.load(f)
        os.remove(out)
    return row(path, rate, size, late, paced)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="native,docker-overlay")
    parser.add_argument("--rates", default="100,300,1000,3000,10000,30000")
    parser.add_argument("--msg-bytes", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--paced", action="store_true",
                        help="send every 1/rate s instead of at Poisson times")
    parser.add_argument("--out")
    parser.add_argument("--role", choices=["send", "receive"], help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "send":
        send(args.address, args.rate, args.count, args.size, args.seed, args.paced)
        return 0
    if args.role == "receive":
        receive(args.address, args.file)
        return 0
    rows = []
    for p in range(args.passes):
        for path in args.path.split(","):
            for rate in (float(r) for r in args.rates.split(",")):
                r = measure(path, rate, args.msg_bytes, args.seconds, seed=p,
                            paced=args.paced)
                print(f"{path:15} {rate:8.0f}/s  mean {r['mean_us']:7.1f}  median "
                      f"{r['median_us']:7.1f}  p90 {r['p90_us']:7.1f}  p99 {r['p99_us']:7.1f} us")
                rows.append(r)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
