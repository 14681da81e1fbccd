"""How long a sleeping process takes to run once woken, against how long its CPU idled.

Two processes on two CPUs and a pipe: the waker spins for ``gap`` microseconds (its
partner's CPU idles all that time), writes the time, and the sleeper, blocked in
``read()``, notes how late it got it.  Each gap is run both ways round (waker on CPU 0,
sleeper on CPU 1, and back).  The latency includes Python's own path through
``os.read`` and the clock (about a microsecond), the same for every gap::

    python tests/wake_latency_curve.py --gaps 5,20,50,100,150,200,250,300,500,1000,3000 \\
        --out wake-curve.json

On a VM the host may stop polling for an idle vCPU after a while (KVM's
``halt_poll_ns``, 200 us by default) and deschedule it; a wake-up after that waits
for the host.  Measured here (Linux 6.18, 2 vCPUs, 2026-11-29; ``tests/data/testbed/
vm-2cpu-wake-curve.json``): see ``tests/test_wake_latency_curve.py``.  Needs two
CPUs; no root.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import time


def _spin_us(us: float) -> None:
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


def latencies(gap_us: float, count: int, waker_cpu: int, sleeper_cpu: int) -> list:
    """``count`` wake-up latencies (us) of a sleeper on ``sleeper_cpu`` whose CPU idled
    ``gap_us`` before each wake-up from ``waker_cpu``."""
    ping_r, ping_w = os.pipe()
    back_r, back_w = os.pipe()
    child = os.fork()
    if child == 0:                                  # the sleeper
        try:
            os.sched_setaffinity(0, {sleeper_cpu})
            late = []
            for _ in range(count):
                sent = struct.unpack("q", os.read(ping_r, 8))[0]
                late.append(time.perf_counter_ns() - sent)
            os.write(back_w, struct.pack(f"{count}q", *late))
        finally:
            os._exit(0)
    os.sched_setaffinity(0, {waker_cpu})
    time.sleep(0.05)                                # the sleeper is blocked by now
    for _ in range(count):
        _spin_us(gap_us)
        os.write(ping_w, struct.pack("q", time.perf_counter_ns()))
    data = b""
    while len(data) < 8 * count:
        data += os.read(back_r, 8 * count - len(data))
    os.waitpid(child, 0)
    for fd in (ping_r, ping_w, back_r, back_w):
        os.close(fd)
    return [ns / 1000.0 for ns in struct.unpack(f"{count}q", data)]


def row(gap_us: float, late: list, sleeper_cpu: int) -> dict:
    """A gap's summary: median, mean and 90th percentile latency (us)."""
    ordered = sorted(late)
    return {"gap_us": gap_us, "sleeper_cpu": sleeper_cpu, "count": len(late),
            "median_us": statistics.median(ordered), "mean_us": statistics.fmean(ordered),
            "p90_us": ordered[int(0.9 * (len(ordered) - 1))]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gaps", default="5,20,50,100,150,200,250,300,500,1000,3000",
                        help="idle gaps in microseconds, comma-separated")
    parser.add_argument("--count", type=int, default=2000,
                        help="wake-ups per gap and direction (a quarter past 1 ms)")
    parser.add_argument("--out", default=None, help="write the rows as JSON")
    args = parser.parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        print("needs two CPUs", file=sys.stderr)
        return 2
    rows = []
    for gap in (float(g) for g in args.gaps.split(",")):
        count = args.count if gap < 1000 else max(1, args.count // 4)
        for waker, sleeper in ((0, 1), (1, 0)):
            rows.append(row(gap, latencies(gap, count, waker, sleeper), sleeper))
            r = rows[-1]
            print(f"idle {gap:6.0f} us, sleeper on CPU {sleeper}: median {r['median_us']:6.1f} "
                  f"us, mean {r['mean_us']:6.1f}, p90 {r['p90_us']:6.1f}", flush=True)
    if args.out:
        with open(args.out, "w") as out:
            json.dump({"rows": rows}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
