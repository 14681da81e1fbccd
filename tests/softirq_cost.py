"""What a NET_RX softirq run costs on this host, apart from its packets and wake-ups.

On a one-kernel testbed (two network namespaces over a veth pair) the CPU that
sends a packet also runs its receive softirq, one run per ``dev_queue_xmit``
(README, "Softirq runs on this VM").  With TSO and GSO off, TCP's sk_buffs are
cut into MSS-sized packets at the first device, all before that run: so the
link's ``gso_max_size`` sets how many packets a run carries.  Tracing the runs
(perf's ``irq:softirq_entry`` and ``irq:softirq_exit`` for NET_RX) and the
tasks they wake (``sched:sched_waking``, recorded on the waking CPU) over a
range of sizes, a least-squares fit of each setting's mean run length::

    run = a + b * packets per run + c * wakings per run

splits a run's cost into its entry ``a``, its packets ``b`` and the reader's
wake-up ``c``.  iperf3 is pinned (client on CPU 0, where the data's runs are;
server on CPU 1), and only CPU 0's runs count::

    python tests/softirq_cost.py --packets 1,4,8,16,32,44 --out softirq-cost.json

Measured here (Linux 6.18, 2 vCPUs, 2026-11-29; ``tests/data/testbed/
vm-2cpu-softirq-cost.json``): see ``tests/test_softirq_cost.py``.  Needs root,
iproute2, ethtool, iperf3 and perf; it removes what it builds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from queuemodel.testbed.netns import LINK_ENDS, Testbed
from queuemodel.testbed.profile import NET_RX_VEC, net_rx_runs, net_rx_script

PORT = 5201
#: Bytes of headers a GSO sk_buff carries beyond its MSS-sized payloads.
HEADROOM_BYTES = 100
MSS_BYTES = 1448


def fit(rows: list) -> dict:
    """Least squares of the mean run length on packets and wakings per run (us)."""
    a = np.array([[1.0, r["packets_per_run"], r["wakings_per_run"]] for r in rows])
    y = np.array([r["mean_run_us"] for r in rows])
    entry, per_packet, per_waking = np.linalg.lstsq(a, y, rcond=None)[0]
    return {"entry_us": float(entry), "per_packet_us": float(per_packet),
            "per_waking_us": float(per_waking)}


def _row(packets: int, gbps: float, runs: list, window_s: float) -> dict:
    seconds = np.array([s for _, s, _ in runs])
    wakings = np.array([w for _, _, w in runs])
    per_second = len(runs) / window_s
    return {
        "packets_per_skb": packets, "throughput_gbps": gbps, "runs_per_s": per_second,
        # every MSS-sized packet is received in one of CPU 0's runs
        "packets_per_run": gbps * 1e9 / 8.0 / MSS_BYTES / per_second,
        "mean_run_us": float(seconds.mean() * 1e6),
        "wakings_per_run": float(wakings.mean()),
        "mean_run_us_woke": float(seconds[wakings > 0].mean() * 1e6) if wakings.any() else None,
        "mean_run_us_no_waking": (float(seconds[wakings == 0].mean() * 1e6)
                                  if (wakings == 0).any() else None),
    }


def measure(packets: int, seconds: int = 3, window_s: float = 0.5) -> dict:
    """One setting's row, on a testbed built and removed around it."""
    namespace, device = LINK_ENDS["tx"]
    with Testbed() as bed:
        bed.segment(False)
        client, server, address = bed.endpoints("native")
        subprocess.run(["ip", "-n", namespace, "link", "set", device, "gso_max_size",
                        str(packets * MSS_BYTES + HEADROOM_BYTES)], check=True)
        listener = subprocess.Popen(["ip", "netns", "exec", server, "iperf3", "-s", "-1",
                                     "-B", address, "-p", str(PORT), "-A", "1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with tempfile.TemporaryDirectory(prefix="qmtb-cost-") as scratch:
            data = os.path.join(scratch, "trace.data")
            try:
                time.sleep(0.3)
                delay = (seconds - window_s) / 2.0
                tracer = subprocess.Popen(
                    ["sh", "-c", f'sleep {delay:g} && exec "$@"', "sh", "perf", "record", "-q",
                     "-a", "-o", data, "-e", "irq:softirq_entry", "--filter",
                     f"vec == {NET_RX_VEC}", "-e", "irq:softirq_exit", "--filter",
                     f"vec == {NET_RX_VEC}", "-e", "sched:sched_waking", "--", "sleep",
                     f"{window_s:g}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                done = subprocess.run(["ip", "netns", "exec", client, "iperf3", "-c", address,
                                       "-p", str(PORT), "-t", str(seconds), "-l", "131072",
                                       "-J", "-A", "0"], capture_output=True, text=True,
                                      timeout=seconds + 20, check=True)
                tracer.wait(timeout=seconds + 20)
                runs = [r for r in net_rx_runs(net_rx_script(data)) if r[0] == "000"]
            finally:
                listener.kill()
                listener.wait(timeout=10)
    gbps = json.loads(done.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
    return _row(packets, gbps, runs, window_s)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", default="1,4,8,16,32,44",
                        help="MSS-sized packets per sk_buff, comma-separated")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the rows and the fit as JSON")
    args = parser.parse_args(argv)
    rows = []
    for packets in (int(p) for p in args.packets.split(",")):
        rows.append(measure(packets, args.seconds))
        r = rows[-1]
        print(f"{packets:3d} packets an skb: {r['throughput_gbps']:5.2f} Gb/s, "
              f"{r['packets_per_run']:5.2f} packets and {r['wakings_per_run']:.2f} wakings "
              f"a run, {r['mean_run_us']:6.2f} us a run", flush=True)
    result = fit(rows) if len(rows) >= 3 else {}
    print(result)
    if args.out:
        with open(args.out, "w") as out:
            json.dump({"rows": rows, "fit": result}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
