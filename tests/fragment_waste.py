"""What an overflowing receive queue wastes on IP fragments, measured on this host.

A UDP datagram above the MTU travels as ``F`` IP fragments, and only a
datagram whose every fragment arrives is delivered.  A receive queue that
overflows drops fragments, not datagrams: the fragments it admits of a
datagram it cut are worked on up to reassembly and then thrown away.  How
many?  A queue that opens ``B`` slots at a time (a NAPI poll refilling the
ring with the buffers it used, ``process_backlog`` taking the whole input
queue) admits runs of ``B`` arriving fragments with drops in between.  A run
starts at a uniformly placed fragment of a datagram and ends likewise, so
it carries on average ``(F - 1) / 2`` fragments of a cut datagram at each
end: a share ``(F - 1) / B`` of the admitted fragments is wasted once at
least one fragment is dropped per run (:func:`expected_waste`; a run
between drops of ``D < 1`` fragments cuts a datagram every ``1 / D`` runs).

This builds two network namespaces joined by a veth pair, steers the
receiving side to CPU 1 with RPS (so its backlog queue is the receive
queue, ``net.core.netdev_max_backlog`` its size ``B``), slows that CPU's
softirq with non-matching ``tc`` filters, and overloads it with 8 KB iperf3
datagrams (six fragments at MTU 1500) from CPU 0 with a send buffer large
enough that the queue, not the socket, holds them back.  It reads the
namespace's IP counters: fragments admitted to reassembly
(``ReasmReqds``), datagrams reassembled (``ReasmOKs``); the wasted share
is ``1 - F * ReasmOKs / ReasmReqds``::

    python tests/fragment_waste.py --backlog 64 --backlog 1000
    python tests/fragment_waste.py --backlog 64 --frag-cache-bytes 4194304 --series 0.1

Measured here (Linux 6.18, 2 vCPUs, 2026-11-28), with a fragment cache
large enough never to fill: 7.7 % at B = 64 and 0.50 % at B = 1000,
against 7.8 % and 0.50 % expected.  With the default 4 MB cache
(``ipfrag_high_thresh``) the cut datagrams' fragments fill it, and since
Linux 4.17 a full cache refuses new fragments until the incomplete ones
time out (``ipfrag_time``, 30 s): at B = 64 nothing was reassembled after
the first half second, 90 % wasted over 4 s (57 % with a 1 s timeout).  Needs root, two CPUs, iproute2 (``ip``, ``tc``) and iperf3;
it restores the sysctls it changes.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

#: Namespaces, devices and addresses this tool creates (RFC 2544's range).
NAMESPACES = ("qmfw-a", "qmfw-b")
ADDRESSES = ("198.19.254.1", "198.19.254.2")
#: Datagram bytes of each run and the fragments it makes at MTU 1500.
DATAGRAM_BYTES = 8192
FRAGMENTS = 6
#: Global sysctls changed during a run (restored after it).
_GLOBAL = ("net.core.netdev_max_backlog", "net.core.wmem_max", "net.core.rmem_max")


def expected_waste(fragments: int, batch: float, overload: float = np.inf) -> float:
    """Share of the admitted fragments that belong to datagrams the queue cut.

    Parameters
    ----------
    fragments : int
        Fragments per datagram ``F`` (1: nothing to cut).
    batch : float
        Slots the queue opens at a time ``B``.
    overload : float
        Offered over carried fragments (> 1 when the queue overflows).

    Returns
    -------
    float
        ``(F - 1) * min(1 / B, overload - 1)``, at most 1.

    Examples
    --------
    >>> round(expected_waste(6, 64), 4), expected_waste(6, 64, overload=1.0)
    (0.0781, 0.0)
    """
    per_run = min(1.0 / batch, max(0.0, overload - 1.0))
    return min(1.0, (fragments - 1) * per_run)


def simulate_waste(fragments: int, batch: int, overload: float, runs: int = 4000,
                   seed: int = 0) -> float:
    """The wasted share in a simulation of the queue (an oracle for :func:`expected_waste`).

    Fragments arrive one after another, datagram by datagram, with
    exponential gaps of mean ``1 / overload`` time units; the server takes
    the whole queue (at most ``batch`` fragments) at once and works one
    time unit per fragment, then takes the queue again (or waits for the
    next arrival).  An arrival that finds ``batch`` fragments queued is
    dropped.  Counted over the datagrams all of whose fragments have arrived.
    """
    rng = np.random.default_rng(seed)
    gaps = iter(rng.exponential(1.0 / overload, size=runs * (batch + 1) * max(2, int(
        np.ceil(overload))) + 16))
    t, index, free_at = next(gaps), 0, 0.0
    admitted = {}                          # datagram -> fragments admitted
    queue = []
    for _ in range(runs):
        # The server takes the queue when it is free, or waits for the next arrival.
        if queue:
            start = free_at
        else:
            queue.append(index)
            start, index, t = t, index + 1, t + next(gaps)
        taken, queue = queue, []
        free_at = start + len(taken)
        for i in taken:
            admitted[i // fragments] = admitted.get(i // fragments, 0) + 1
        while t < free_at:                 # arrivals while it works
            if len(queue) < batch:
                queue.append(index)
            index, t = index + 1, t + next(gaps)
    decided = index // fragments - 1 - (batch + fragments) // fragments  # none still queued
    counts = np.array([admitted.get(d, 0) for d in range(decided)])
    return float(1.0 - counts[counts == fragments].sum() / max(counts.sum(), 1))


def _sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=check).stdout


def _in(ns: str, *args: str, check: bool = True) -> str:
    return _sh("ip", "netns", "exec", ns, *args, check=check)


def _ip_counters(ns: str) -> dict:
    lines = [line.split() for line in _in(ns, "cat", "/proc/net/snmp").splitlines()
             if line.startswith("Ip:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def _remove() -> None:
    for ns in NAMESPACES:
        _sh("ip", "netns", "del", ns, check=False)


@contextlib.contextmanager
def _overloaded_pair(backlog: int, frag_cache_bytes: int, frag_timeout_s: int, filters: int):
    """The two namespaces, the slowed receiving CPU and an iperf3 server (see the
    module); yields the receiving namespace, and removes everything after."""
    if os.geteuid() != 0:
        raise SystemExit("fragment_waste: needs root (network namespaces)")
    missing = [t for t in ("ip", "tc", "iperf3", "taskset") if shutil.which(t) is None]
    if missing or (os.cpu_count() or 1) < 2:
        raise SystemExit(f"fragment_waste: needs two CPUs and {', '.join(missing) or 'them'}")
    saved = {k: _sh("sysctl", "-n", k).strip() for k in _GLOBAL}
    a, b = NAMESPACES
    _remove()
    try:
        for ns in NAMESPACES:
            _sh("ip", "netns", "add", ns)
        _sh("ip", "link", "add", "qmfw0", "netns", a, "type", "veth", "peer", "name", "qmfw1",
            "netns", b)
        for ns, dev, addr in ((a, "qmfw0", ADDRESSES[0]), (b, "qmfw1", ADDRESSES[1])):
            _in(ns, "ip", "addr", "add", addr + "/30", "dev", dev)
            _in(ns, "ip", "link", "set", dev, "up")
            _in(ns, "ip", "link", "set", "lo", "up")
        _in(b, "sh", "-c", "echo 2 > /sys/class/net/qmfw1/queues/rx-0/rps_cpus")
        _in(b, "sysctl", "-qw", f"net.ipv4.ipfrag_high_thresh={frag_cache_bytes}",
            f"net.ipv4.ipfrag_time={frag_timeout_s}")
        _sh("sysctl", "-qw", f"net.core.netdev_max_backlog={backlog}",
            "net.core.wmem_max=33554432", "net.core.rmem_max=33554432")
        _in(b, "tc", "qdisc", "add", "dev", "qmfw1", "ingress")
        with tempfile.NamedTemporaryFile("w", suffix=".tc") as batch:
            for i in range(filters):       # never match: every packet walks them all
                batch.write(f"filter add dev qmfw1 parent ffff: protocol ip prio 1 u32 "
                            f"match ip dst 10.99.{i // 250}.{i % 250 + 1}/32 classid 1:1\n")
            batch.flush()
            _in(b, "tc", "-batch", batch.name)
        _in(b, "taskset", "-c", "0", "iperf3", "-s", "-1", "-D", "-p", "5309")
        subprocess.run(["sleep", "0.5"], check=True)
        yield b
    finally:
        _remove()
        for k, v in saved.items():
            _sh("sysctl", "-qw", f"{k}={v}", check=False)


def _client(seconds: float) -> list:
    """The iperf3 client's command: 8 KB datagrams as fast as CPU 0 sends them."""
    return ["ip", "netns", "exec", NAMESPACES[0], "taskset", "-c", "0", "iperf3", "-c",
            ADDRESSES[1], "-p", "5309", "-u", "-b", "0", "-w", "16M", "-l",
            str(DATAGRAM_BYTES), "-t", str(seconds)]


def measure(backlog: int, seconds: float = 4.0, frag_cache_bytes: int = 1 << 30,
            frag_timeout_s: int = 30, filters: int = 3000) -> dict:
    """One overloaded run through a backlog of ``backlog`` packets (see the module).

    Returns the fragments admitted to reassembly, the datagrams reassembled,
    the reassembly failures, the measured wasted share and the expected one.
    """
    with _overloaded_pair(backlog, frag_cache_bytes, frag_timeout_s, filters) as b:
        before = _ip_counters(b)
        subprocess.run(_client(seconds), capture_output=True, check=True)
        after = _ip_counters(b)
    got = {k: after[k] - before[k] for k in ("ReasmReqds", "ReasmOKs", "ReasmFails")}
    admitted = max(got["ReasmReqds"], 1)
    return {"backlog": backlog, "frag_cache_bytes": frag_cache_bytes,
            "frag_timeout_s": frag_timeout_s, **got,
            "wasted_share": 1.0 - FRAGMENTS * got["ReasmOKs"] / admitted,
            "expected_share": expected_waste(FRAGMENTS, backlog)}


def _frag_memory(ns: str) -> int:
    """Bytes the namespace's incomplete datagrams hold (``/proc/net/sockstat``'s FRAG)."""
    for line in _in(ns, "cat", "/proc/net/sockstat").splitlines():
        if line.startswith("FRAG:"):
            return int(line.split()[4])
    return 0


def measure_series(backlog: int, seconds: float, frag_cache_bytes: int, frag_timeout_s: int,
                   step_s: float = 0.1, filters: int = 3000) -> list:
    """An overloaded run sampled every ``step_s``: how the fragment cache fills.

    Returns ``(seconds since the start, fragments admitted to reassembly,
    datagrams reassembled, incomplete ones timed out, bytes the cache
    holds)`` per sample, counted from the start; :func:`cache_summary`
    reads them.
    """
    with _overloaded_pair(backlog, frag_cache_bytes, frag_timeout_s, filters) as b:
        keys = ("ReasmReqds", "ReasmOKs", "ReasmTimeout")
        first = _ip_counters(b)
        begun = time.monotonic()
        client = subprocess.Popen(_client(seconds), stdout=subprocess.DEVNULL)
        rows = []
        while client.poll() is None:
            time.sleep(step_s)
            now = _ip_counters(b)
            rows.append((round(time.monotonic() - begun, 3),
                         *(now[k] - first[k] for k in keys), _frag_memory(b)))
    return rows


def cache_summary(rows: list, frag_cache_bytes: int) -> dict:
    """What a series (:func:`measure_series`) says about its fragment cache.

    ``full_s``: the first sample at which the cache held 99 % of its limit
    (``None``: never); ``admitted_per_s`` and ``reassembled_per_s``: the
    rates up to the last sample before it first held 90 % (the cache still
    letting every fragment in); ``reassembled``: datagrams over the run;
    ``seconds``: the run's length.
    """
    full = next((r[0] for r in rows if r[4] >= 0.99 * frag_cache_bytes), None)
    early = list(itertools.takewhile(lambda r: r[4] < 0.9 * frag_cache_bytes, rows)) or rows[:1]
    t, admitted, reassembled = early[-1][:3]
    return {"full_s": full, "admitted_per_s": admitted / t, "reassembled_per_s": reassembled / t,
            "reassembled": rows[-1][2], "seconds": rows[-1][0]}


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, action="append",
                        help="netdev_max_backlog of a run (repeatable; default 64 and 1000)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--frag-cache-bytes", type=int, default=1 << 30,
                        help="ipfrag_high_thresh (default 1 GiB: never full)")
    parser.add_argument("--frag-timeout-s", type=int, default=30, help="ipfrag_time")
    parser.add_argument("--series", type=float, metavar="STEP_S",
                        help="sample the counters and the fragment cache every STEP_S "
                             "seconds instead (how a cache that refuses when full fills)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.series:
        for n in args.backlog or [64]:
            rows = measure_series(n, args.seconds, args.frag_cache_bytes, args.frag_timeout_s,
                                  args.series)
            summary = {"backlog": n, "frag_cache_bytes": args.frag_cache_bytes,
                       "frag_timeout_s": args.frag_timeout_s,
                       **cache_summary(rows, args.frag_cache_bytes)}
            if args.json:
                print(json.dumps({**summary, "samples": rows}))
                continue
            print("seconds  admitted  reassembled  timed-out  cache-bytes")
            for r in rows:
                print(f"{r[0]:7.2f}  {r[1]:8d}  {r[2]:11d}  {r[3]:9d}  {r[4]:11d}")
            print(summary)
        return 0
    rows = [measure(n, args.seconds, args.frag_cache_bytes, args.frag_timeout_s)
            for n in (args.backlog or [64, 1000])]
    if args.json:
        print(json.dumps(rows, indent=1))
    for r in rows if not args.json else ():
        print(f"backlog {r['backlog']:5d}: {r['ReasmReqds']} fragments admitted, "
              f"{r['ReasmOKs']} datagrams reassembled, {r['ReasmFails']} failures; "
              f"wasted {r['wasted_share']:.2%} (expected {r['expected_share']:.2%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
