"""What waking a sleeping reader costs the CPU that wakes it, on this host.

On a one-kernel testbed (two network namespaces over a veth pair) the CPU that
sends a datagram also runs its receive softirq, which queues it on the reader's
socket and, when the reader sleeps, wakes it: on another CPU, when iperf3 is
pinned (client on CPU 0, server on CPU 1).  Each of the client's sends then
does the same work but for that wake-up, so the time between two of its
send calls' returns, with and without a ``sched_waking`` of the server between
them, splits the wake-up's cost to the waker from the rest::

    cost = mean(interval with a waking) - mean(interval without)

The kernel's ``sys_exit`` (the client's calls) and ``sched_waking`` (of the
server) events are traced through a tracefs instance of its own for a short
window in the middle of each run; its clock prints microseconds, which the
means over tens of thousands of intervals average out.  Intervals holding
another call of the client (its select) are left out::

    python tests/waker_cost.py --path linux-overlay,docker-overlay --msg-bytes 64,1024 \\
        --out waker-cost.json

Measured here (Linux 6.18, 2 vCPUs, 2026-11-29; ``tests/data/testbed/
vm-2cpu-waker-cost.json``): see ``tests/test_waker_cost.py``.  Needs root,
iproute2, iperf3 and tracefs; it removes what it builds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from queuemodel.testbed.netns import Testbed

PORT = 5202
#: The send calls on x86-64 (write, sendto, sendmsg); iperf3 3.12 writes.
SEND_SYSCALLS = (1, 44, 46)
INSTANCE = "/sys/kernel/tracing/instances/qmtb-waker"

_EVENT = re.compile(r"^\s*.*?-(\d+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+(sys_exit|sched_waking):"
                    r"\s*(.*)$")


def send_intervals(text: str, client: int, server: int) -> tuple:
    """Seconds between consecutive send returns of ``client``: ``(without, with)`` a
    ``sched_waking`` of ``server`` between them; intervals holding another call of the
    client are left out.

    Examples
    --------
    >>> text = "\\n".join(f"iperf3-{pid} [000] ..... {t}: {event}" for pid, t, event in [
    ...     (6, "1.000000", "sys_exit: NR 1 = 256"), (6, "1.000002", "sys_exit: NR 1 = 256"),
    ...     (6, "1.000003", "sched_waking: comm=iperf3 pid=7 prio=120 target_cpu=001"),
    ...     (6, "1.000005", "sys_exit: NR 1 = 256"), (6, "1.000006", "sys_exit: NR 270 = 1"),
    ...     (6, "1.000008", "sys_exit: NR 1 = 256")])
    >>> [[round(s * 1e6, 3) for s in side] for side in send_intervals(text, 6, 7)]
    [[2.0], [3.0]]
    """
    without, woken = [], []
    last = None
    woke = other = False
    for line in text.splitlines():
        m = _EVENT.match(line)
        if m is None:
            continue
        pid, at, event, rest = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        if event == "sched_waking":
            woke = woke or f"pid={server} " in rest + " "
            continue
        if pid != client:
            continue
        if int(rest.split()[1]) not in SEND_SYSCALLS:
            other = True
            continue
        if last is not None and not other:
            (woken if woke else without).append(at - last)
        last, woke, other = at, False, False
    return without, woken


def row(path: str, msg_bytes: int, gbps: float, without: list, woken: list) -> dict:
    """One run's summary: sends traced, the share with a wake-up, the mean intervals and
    their difference (us)."""
    sends = len(without) + len(woken)
    mean = (lambda xs: statistics.fmean(xs) * 1e6 if xs else None)
    cost = (mean(woken) - mean(without)) if without and woken else None
    return {"path": path, "msg_bytes": msg_bytes, "throughput_gbps": gbps, "sends": sends,
            "woken_share": len(woken) / sends if sends else None,
            "mean_send_us": mean(without), "mean_send_us_woke": mean(woken),
            "wake_cost_us": cost}


def _write(name: str, value: str) -> None:
    with open(os.path.join(INSTANCE, name), "w") as f:
        f.write(value)


def measure(path: str, msg_bytes: int, seconds: int = 3, window_s: float = 0.2) -> dict:
    """One UDP run's row (iperf3 pinned, as fast as it can send), on a testbed built and
    removed around it."""
    with Testbed() as bed:
        client_ns, server_ns, address = bed.endpoints(path)
        server = subprocess.Popen(["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1",
                                   "-B", address, "-p", str(PORT), "-A", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            client = subprocess.Popen(["ip", "netns", "exec", client_ns, "iperf3", "-c", address,
                                       "-p", str(PORT), "-t", str(seconds), "-l",
                                       str(msg_bytes), "-u", "-b", "0", "-J", "-A", "0"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True)
            if os.path.isdir(INSTANCE):
                os.rmdir(INSTANCE)
            os.mkdir(INSTANCE)
            try:
                _write("tracing_on", "0")           # a new instance traces at once
                _write("buffer_size_kb", "32768")
                _write("events/raw_syscalls/sys_exit/filter", f"common_pid == {client.pid}")
                _write("events/sched/sched_waking/filter", f"pid == {server.pid}")
                _write("events/raw_syscalls/sys_exit/enable", "1")
                _write("events/sched/sched_waking/enable", "1")
                time.sleep((seconds - window_s) / 2.0)
                _write("tracing_on", "1")
                time.sleep(window_s)
                _write("tracing_on", "0")
                with open(os.path.join(INSTANCE, "trace")) as trace:
                    text = trace.read()
            finally:
                _write("events/enable", "0")
                os.rmdir(INSTANCE)
            stdout, _ = client.communicate(timeout=seconds + 20)
        finally:
            server.kill()
            server.wait(timeout=10)
    end = json.loads(stdout)["end"]["sum"]
    gbps = end["bits_per_second"] * (1.0 - float(end.get("lost_percent", 0.0)) / 100.0) / 1e9
    return row(path, msg_bytes, gbps, *send_intervals(text, client.pid, server.pid))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", default="native,linux-overlay,docker-overlay")
    parser.add_argument("--msg-bytes", default="64,256,1024")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    for repeat in range(args.repeat):
        for path in args.path.split(","):
            for size in (int(s) for s in args.msg_bytes.split(",")):
                rows.append({**measure(path, size, args.seconds), "repeat": repeat})
                r = rows[-1]
                cost = "-" if r["wake_cost_us"] is None else f"{r['wake_cost_us']:.2f}"
                print(f"{path:15} {size:5d} B: {r['throughput_gbps']:6.3f} Gb/s, "
                      f"{r['woken_share']:.3f} of {r['sends']} sends woke the reader, "
                      f"a send {r['mean_send_us']:.2f} us, a wake-up {cost} us more",
                      flush=True)
    if args.out:
        with open(args.out, "w") as out:
            json.dump({"rows": rows}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
