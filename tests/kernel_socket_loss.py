"""A real kernel's socket loss when NET_RX preempts the reader, against queueing.reader_blocking.

``sudo .venv/bin/python tests/kernel_socket_loss.py [--seconds 8] [RATE:RCVBUF ...]``

Builds two network namespaces joined by a veth pair and steers the receive
side's packets to CPU 1 with RPS, where the receiver is pinned: NET_RX, raised
there by RPS's IPI, preempts the reader as the model's shared CPU has it.  A
Python sender on CPU 0 sends 1000-byte datagrams with exponential gaps
(busy-waiting), or as fast as it can (``RATE`` 0), which is past what CPU 1
can carry: there the kernel's softirq keeps preempting the reader, and what
the reader delivers falls as the offer grows (receive livelock).  Each run
reads CPU 1's softirq time per message offered and reader time per message
read from ``/proc/stat`` and feeds them, with the socket's capacity in
datagrams, to :func:`queuemodel.queueing.reader_blocking`; nothing is
fitted.  It prints the sender's gaps' squared coefficient of variation (1
for Poisson; the model's loss takes 1), how often the reader slept per
datagram read (its voluntary context switches), the measured and modelled
loss, and the datagrams read per second, measured and modelled; then the
model's loss again with the reader's wake-up paid on its first read after
sleeping only (its cost from a line through the runs' reader times).  Needs root, ``ip`` and ``taskset``, and
two CPUs.  Not part of the test suite (it measures a machine); the README's
Latency and loss section quotes a run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from queuemodel.queueing import reader_blocking  # noqa: E402

SENDER, RECEIVER = "qmsa", "qmsb"
ADDRESS, PORT, PAYLOAD_BYTES = "10.9.0.2", 9000, 1000

RECEIVE = """
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[1]))
r.bind((sys.argv[2], int(sys.argv[3])))
r.settimeout(1.0)
print(r.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), flush=True)
n = 0
while True:
    try:
        r.recv(65536)
        n += 1
    except socket.timeout:
        if n:
            break
status = open("/proc/self/status").read().split("voluntary_ctxt_switches:")[1]
print(n, int(status.split()[0]), flush=True)     # reads, and the times it slept
"""

SEND = """
import random, socket, sys, time
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[3], int(sys.argv[4])))
payload, rnd, clock = b"x" * int(sys.argv[5]), random.Random(1), time.perf_counter
start = nxt = last = clock()
sent, gaps, squares = 0, 0.0, 0.0
while nxt < start + seconds:
    if rate > 0:
        nxt += rnd.expovariate(rate)
        while clock() < nxt:
            pass
    else:                   # as fast as it can
        nxt = clock()
    now = clock()
    gap, last = now - last, now
    gaps, squares = gaps + gap, squares + gap * gap
    s.send(payload)
    sent += 1
mean = gaps / sent
print(sent, sent / (clock() - start), squares / sent / (mean * mean) - 1.0, flush=True)
"""

#: Bytes a 1000-byte datagram is charged on this path (SO_MEMINFO on the VM's 6.18).
TRUESIZE_BYTES = 2304


def _sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def set_up():
    """The two namespaces, the veth pair between them, RPS on the receiving end."""
    tear_down()
    _sh("ip", "netns", "add", SENDER)
    _sh("ip", "netns", "add", RECEIVER)
    _sh("ip", "link", "add", "qmva", "netns", SENDER, "type", "veth", "peer", "name", "qmvb",
        "netns", RECEIVER)
    _sh("ip", "-n", SENDER, "addr", "add", "10.9.0.1/24", "dev", "qmva")
    _sh("ip", "-n", RECEIVER, "addr", "add", f"{ADDRESS}/24", "dev", "qmvb")
    for ns, dev in ((SENDER, "qmva"), (RECEIVER, "qmvb")):
        _sh("ip", "-n", ns, "link", "set", dev, "up")
    _sh("ip", "netns", "exec", RECEIVER, "sh", "-c",
        "echo 2 > /sys/class/net/qmvb/queues/rx-0/rps_cpus")


def tear_down():
    for ns in (SENDER, RECEIVER):
        _sh("ip", "netns", "del", ns, check=False)


def _cpu1():
    line = next(l for l in open("/proc/stat") if l.startswith("cpu1 "))
    return [int(v) for v in line.split()[1:]]


def run(rate: float, rcvbuf: int, seconds: float) -> dict:
    """One run: measured loss and costs, and the model's loss from those costs."""
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", RECEIVER, "taskset", "-c", "1", sys.executable, "-c", RECEIVE,
         str(rcvbuf), ADDRESS, str(PORT)], stdout=subprocess.PIPE, text=True)
    granted = int(receiver.stdout.readline())       # the kernel doubles SO_RCVBUF
    before = _cpu1()
    sent, achieved, gap_scv = _sh("ip", "netns", "exec", SENDER, "taskset", "-c", "0",
                                  sys.executable, "-c", SEND, str(rate), str(seconds),
                                  ADDRESS, str(PORT), str(PAYLOAD_BYTES)).split()
    after = _cpu1()
    received, slept = (int(v) for v in receiver.communicate()[0].split()[-2:])
    sent, achieved = int(sent), float(achieved)
    user, _, system, idle, _, irq, softirq = (b - a for a, b in zip(before[:7], after[:7]))
    ticks = sum(b - a for a, b in zip(before[:8], after[:8]))
    softirq_s = (softirq + irq) / 100.0 / sent          # USER_HZ = 100; all that came
    reader_s = (user + system) / 100.0 / max(received, 1)    # only what the socket took
    held = max(1, granted // TRUESIZE_BYTES)              # 6.18 refuses to overshoot
    model = {c: float(reader_blocking(achieved, softirq_s, c, reader_s, c, held))
             for c in (1.0, 0.0)}
    return {"rate_per_s": round(achieved), "held": held, "softirq_us": softirq_s * 1e6,
            "reader_us": reader_s * 1e6, "cpu1_busy": 1.0 - idle / ticks,
            "lost": 1.0 - received / sent, "model_scv1": model[1.0], "model_scv0": model[0.0],
            "gap_scv": float(gap_scv), "read_per_s": achieved * received / sent,
            "wakes_per_read": slept / max(received, 1),
            "model_read_per_s": achieved * (1.0 - model[1.0])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=["80000:10000", "100000:10000",
                                                    "100000:5000", "120000:5000",
                                                    "0:212992", "0:10000"],
                        help="RATE:RCVBUF pairs (datagrams/s, 0 for as fast as the "
                             "sender can : bytes asked for)")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    set_up()
    try:
        print("rate/s  gap SCV  held  softirq_us  reader_us  wakes/read  busy   lost     "
              "model(SCV 1 / 0)   read/s  model read/s")
        results = []
        for pair in args.runs:
            rate, rcvbuf = pair.split(":")
            r = run(float(rate), int(rcvbuf), args.seconds)
            results.append(r)
            print(f"{r['rate_per_s']:6d}  {r['gap_scv']:7.2f}  {r['held']:4d}  "
                  f"{r['softirq_us']:10.2f}  {r['reader_us']:9.2f}  "
                  f"{r['wakes_per_read']:10.3f}  {r['cpu1_busy']:.2f}  "
                  f"{100 * r['lost']:6.2f} %  "
                  f"{100 * r['model_scv1']:.2f} / {100 * r['model_scv0']:.2f} %  "
                  f"{r['read_per_s']:7.0f}  {r['model_read_per_s']:7.0f}", flush=True)
        first_read_pays(results)
    finally:
        tear_down()
    return 0


def first_read_pays(results: list) -> None:
    """The model again with the reader's wake-up paid on its first read only.

    A wake-up's cost is the slope of the runs' reader time per read against
    their sleeps per read (a least-squares line over the runs: fitted to CPU
    times, not to losses); each run's read then costs its own mean less its
    sleeps' share, and a read that starts on an empty socket that plus a
    wake-up (``reader_blocking``'s ``first_reader_s``).
    """
    import numpy as np

    wakes = np.array([r["wakes_per_read"] for r in results])
    means = np.array([r["reader_us"] for r in results])
    if len(results) < 2 or np.ptp(wakes) < 0.1:
        return
    wake_us, read_us = np.polyfit(wakes, means, 1)
    print(f"\na wake-up costs {wake_us:.2f} us, a read {read_us:.2f} us (line through the "
          f"runs' reader time against their sleeps per read); with the wake-up on the "
          f"first read only:")
    print("rate/s  held   lost     model(SCV 1 / 0)")
    for r in results:
        read = max(r["reader_us"] - r["wakes_per_read"] * wake_us, 1e-3) * 1e-6
        model = [float(reader_blocking(r["rate_per_s"], r["softirq_us"] * 1e-6, c, read, c,
                                       r["held"], first_reader_s=read + wake_us * 1e-6))
                 for c in (1.0, 0.0)]
        print(f"{r['rate_per_s']:6d}  {r['held']:4d}  {100 * r['lost']:6.2f} %  "
              f"{100 * model[0]:.2f} / {100 * model[1]:.2f} %", flush=True)


if __name__ == "__main__":
    sys.exit(main())
