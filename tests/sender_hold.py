"""Is a UDP sender held back by a full link, or does the link's queue drop its excess?

A measurement on this machine's kernel (root, iproute2, tc and iperf3), not a pytest
test.  It builds the namespace testbed (:class:`queuemodel.testbed.netns.Testbed`), puts
a token-bucket qdisc on the sending side of its link veth (``--rate``, a queue of
``--limit`` bytes: the "link"), and sends unlimited UDP (``iperf3 -u -b 0``) over the
Docker overlay (container -> veth -> bridge -> VXLAN -> link) and the Linux overlay
(the host's VXLAN device -> link), with the sending namespace's
``net.bridge.bridge-nf-call-iptables`` on and off.

A sender whose socket still owns its packets while they wait at the link fills its
send buffer and blocks: it sends at the link's rate and the qdisc drops nothing.  One
whose packets a stage took from the socket (``skb_orphan``) sends as fast as its CPU
goes and the qdisc drops the rest (``Stage.orphans_skb``, ``Host.veth_orphans_skb``,
``Host.bridge_nf_call_iptables``).

On the project's VM (Linux 6.18, 2026-11-29, 300 Mb/s, a 1 MB queue; eight runs, 1,400 B
and 8 KB datagrams; two saved in ``tests/data/sender_hold/`` with ``--out``) the Docker
overlay's sender sent 2.0-4.0 Gb/s at 100 % of its CPU and the queue dropped 86-92 % with
bridge-nf-call-iptables=1, and 0.28 Gb/s with nothing dropped with it off; the Linux
overlay's sent 0.28 Gb/s either way, at 4-11 % of its CPU.
The veth alone keeps the socket (since 4.19); br_netfilter's ``setup_pre_routing``
orphans every IPv4 frame the bridge hands to iptables.  With 8 KB datagrams the dropped
fragments cut nearly every datagram, and the receiver's fragment cache, full of their
pieces, refused the rest: 0-47 % of what was sent arrived.

With ``--cut-rates R1,R2,...`` it measures instead how many fragmented datagrams the
link's queue leaves whole: the Docker sender against a token bucket at each rate, the
receiver's fragment cache made too large to fill (``ipfrag_high_thresh`` 4 GB,
``ipfrag_time`` 2 s), so that only the cuts count.  With ``x`` the frames offered over
the frames admitted, the datagrams reassembled over the link's share of those sent
(2026-11-29, 3 s each): 6 fragments (8 KB): x 1.12 -> 0.76, 1.18 -> 0.84, 2.00 -> 0.27,
3.96 -> 0.036, 9.65 -> 0.015, 18.6 -> 0.023; 3 fragments (4 KB): x 1.02 -> 0.97, 2.32
-> 0.42, 4.27 -> 0.063, 11.2 -> 0.019.  A second set, 8 KB: x 1.33 -> 0.53, 1.99 ->
0.48, 2.55 -> 0.19, 5.50 -> 0.025, 9.04 -> 0.018; with a 64 KB queue (``--limit 64kb``)
x 1.49 -> 0.35, 1.74 -> 0.57, 2.05 -> 0.11, 9.86 -> 0.010, 22.3 -> 0.006: the queue's
size changes little, and runs near x = 2 scatter by 2-4x (the sender's CPU, shared with
the receiver on this 2-vCPU VM, sends in spurts).  Fragments dropped one by one at random would
leave ``x ** (1 - n)``: 0.03 at x 2 for 6 fragments, where 0.27 survived; and about 2 %
survive however heavy the overload.  The model drops whole datagrams at the sending
NIC, as if the queue never cut one.

Usage: ``python tests/sender_hold.py [--rate 300mbit] [--limit 1mb] [--bytes 8192]
[--seconds 3] [--cut-rates 1000mbit,700mbit,300mbit]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from queuemodel.testbed.netns import PREFIX, Testbed  # noqa: E402

#: (path, client namespace, server namespace, server address) in the testbed.
PATHS = (("docker-overlay", f"{PREFIX}-c1", f"{PREFIX}-c2", "198.18.2.2"),
         ("linux-overlay", f"{PREFIX}-h1", f"{PREFIX}-h2", "198.18.1.2"))


def _run(*args: str, netns: str | None = None) -> str:
    cmd = (["ip", "netns", "exec", netns] if netns else []) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def _qdisc(netns: str, dev: str) -> tuple:
    """(packets sent, packets dropped) by the device's root qdisc."""
    q = json.loads(_run("tc", "-s", "-j", "qdisc", "show", "dev", dev, netns=netns))[0]
    return q["packets"], q["drops"]


def _reassembled(netns: str) -> int:
    """IP datagrams the namespace has reassembled (``Ip: ReasmOKs``)."""
    rows = [line.split() for line in _run("cat", "/proc/net/snmp", netns=netns).splitlines()]
    head, values = rows[0], rows[1]
    return int(values[head.index("ReasmOKs")])


def _link(host: str, link: str, rate: str, limit: str) -> None:
    """The token bucket that plays the link, on the sending side of the link veth."""
    _run("tc", "qdisc", "replace", "dev", link, "root", "tbf", "rate", rate, "burst", "64kb",
         "limit", limit, netns=host)


def _send(path: tuple, host: str, link: str, msg_bytes: int, seconds: float) -> tuple:
    """One unlimited iperf3 UDP run over ``path`` (a row of :data:`PATHS`): iperf3's
    ``end`` section, the frames the link's queue admitted and dropped, and the datagrams
    the receiving namespace reassembled."""
    _, client, server, address = path
    listener = subprocess.Popen(["ip", "netns", "exec", server, "iperf3", "-s", "-1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    (sent0, dropped0), whole0 = _qdisc(host, link), _reassembled(server)
    out = json.loads(_run("iperf3", "-c", address, "-u", "-b", "0", "-l", str(msg_bytes),
                          "-t", str(seconds), "-J", netns=client))["end"]
    listener.wait(timeout=30)
    (sent1, dropped1), whole1 = _qdisc(host, link), _reassembled(server)
    return out, sent1 - sent0, dropped1 - dropped0, whole1 - whole0


def measure(rate: str, limit: str, msg_bytes: int, seconds: float) -> list:
    """One row per path and bridge-nf-call-iptables setting (see the module's text)."""
    rows = []
    with Testbed():
        host, link = f"{PREFIX}-h1", f"{PREFIX}-l1"
        _link(host, link, rate, limit)
        for call_iptables in (1, 0):
            _run("sysctl", "-qw", f"net.bridge.bridge-nf-call-iptables={call_iptables}",
                 netns=host)
            for row in PATHS:
                out, admitted, dropped, whole = _send(row, host, link, msg_bytes, seconds)
                rows.append(dict(
                    path=row[0], bridge_nf_call_iptables=call_iptables,
                    sent_gbps=out["sum_sent"]["bits_per_second"] / 1e9,
                    sender_cpu=out["cpu_utilization_percent"]["host_total"] / 100.0,
                    qdisc_drop=dropped / max(admitted + dropped, 1),
                    received=out["sum_received"]["packets"],
                    reassembled=whole, sent=out["sum_sent"]["packets"]))
                rows[-1]["received_gbps"] = (out["sum_received"]["bytes"] * 8
                                             / out["sum_received"]["seconds"] / 1e9)
                print(f"bridge-nf-call-iptables={call_iptables} {row[0]:15s} sent "
                      f"{rows[-1]['sent_gbps']:6.3f} Gb/s (sender CPU "
                      f"{rows[-1]['sender_cpu']:4.0%}), the link's queue dropped "
                      f"{rows[-1]['qdisc_drop']:6.1%}, received "
                      f"{rows[-1]['received_gbps']:6.3f} Gb/s", flush=True)
                if whole < rows[-1]["sent"] * 0.5 and msg_bytes > 1400:
                    # Cut datagrams fill the receiver's fragment cache (Linux >= 4.17):
                    # wait until they time out, or the next run meets a full cache.
                    time.sleep(31)
    return rows


def cut_survival(msg_bytes: int, rates: list, seconds: float = 3.0,
                 limit: str = "1mb") -> list:
    """Datagrams the link's queue leaves whole, per token-bucket rate (module text)."""
    rows = []
    with Testbed():
        host, link = f"{PREFIX}-h1", f"{PREFIX}-l1"
        server = PATHS[0][2]
        # A cache too large to fill: the cut datagrams' pieces must not shut out the rest.
        _run("sysctl", "-qw", "net.ipv4.ipfrag_high_thresh=4000000000", netns=server)
        _run("sysctl", "-qw", "net.ipv4.ipfrag_time=2", netns=server)
        for rate in rates:
            _link(host, link, rate, limit)
            out, admitted, dropped, whole = _send(PATHS[0], host, link, msg_bytes, seconds)
            datagrams = out["sum_sent"]["packets"]
            x = (admitted + dropped) / max(admitted, 1)
            n = round((admitted + dropped) / max(datagrams, 1))
            kept = whole / max(datagrams / x, 1.0)
            rows.append(dict(rate=rate, limit=limit, fragments=n, overload=x, kept=kept))
            print(f"rate {rate:9s} {n} fragments, overload x {x:5.2f}: {kept:6.3f} of the link's "
                  f"share reassembled (x ** (1 - n): {x ** (1 - n):6.3f})", flush=True)
            time.sleep(3)                       # the cut datagrams time out (2 s)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", default="300mbit", help="the link's rate (tc syntax)")
    parser.add_argument("--limit", default="1mb", help="the link queue's bytes (tc syntax)")
    parser.add_argument("--bytes", type=int, default=8192, help="UDP datagram bytes")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--cut-rates", default="", help="measure the cuts at these rates")
    parser.add_argument("--out", default="", help="also write the rows to this JSON file")
    args = parser.parse_args()
    if args.cut_rates:
        rows = cut_survival(args.bytes, args.cut_rates.split(","), args.seconds, args.limit)
    else:
        rows = measure(args.rate, args.limit, args.bytes, args.seconds)
    if args.out:
        import os
        import platform

        meta = dict(kernel=platform.release(), cpus=os.cpu_count(), rate=args.rate,
                    limit=args.limit, msg_bytes=args.bytes, seconds=args.seconds,
                    date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        Path(args.out).write_text(json.dumps(dict(meta, rows=rows), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
