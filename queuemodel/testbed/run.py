"""Run iperf3 over the testbed's paths and record what the kernel counted.

Each run starts one iperf3 server in the receiving namespace and one client
(``-P flows`` parallel streams) in the sending one, with a bounded duration
and a timeout on every process, and reads :mod:`queuemodel.testbed.procfs`
before and after.  A row holds the workload, the goodput iperf3 measured at
the receiver, the CPU time by /proc/stat column (CPUs busy, summed over all
CPUs: sender and receiver share this host; idle and steal, the time a
hypervisor gave to others, too), NET_RX softirqs, hard interrupts, softnet
counters, the receiving namespace's UDP socket-buffer drops per second and
the TCP segments each end sent per second (the sender's data, the
receiver's acknowledgements), how often the sender's autocorking began
holding writes back and the receiver announced a closed window, each
iperf3 process's own user and system time in CPUs (``client_cpu_usr`` ...
``server_cpu_sys``: iperf3's getrusage over the test; the system time holds the softirq work that ran
in the process's context, which /proc/stat counts as softirq) and context
switches a second (``client_voluntary_switches_per_s`` ...
``server_involuntary_switches_per_s``: the times it blocked, and was
preempted), the host's
kernel, CPU model, clock and core count, the link's offload
settings (``ethtool -k``, when ethtool is installed) and whether TSO/GSO
were on, iperf3's version (it decides how many threads serve the streams of
a run), with ``profile`` where the CPU time went
(:mod:`~queuemodel.testbed.profile`), with ``softirq_times`` how long
the NET_RX softirq runs took, and with ``wake_times`` how long each
iperf3 process waited asleep and took to run once woken.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..paths import PATH_NAMES
from . import profile as perf_profile
from .netns import ENDPOINTS, LINK_ENDS, Testbed, TestbedError
from .procfs import delta, parse_snmp, snapshot

__all__ = ["measure", "run_all", "write_dataset", "read_dataset", "host_facts",
           "parse_features", "OFFLOADS"]

_PORT = 5201
_GRACE_S = 10.0


def host_facts() -> dict:
    """Kernel version, CPU model, clock (MHz, first CPU) and logical CPU count."""
    model, mhz = "", 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return {"kernel": platform.release(), "cpu_model": model, "cpu_mhz": mhz,
            "cpus": os.cpu_count() or 0}


#: The counters of a namespace's /proc/net/snmp and /proc/net/netstat a row records,
#: by table: datagrams a full socket buffer refused; TCP segments sent (``OutSegs``
#: counts a GSO sk_buff as the MSS-sized segments it carries, ``tcp_skb_pcount``); the
#: times TCP's autocorking began holding writes back (``TCPAutoCorking``, counted in
#: ``tcp_push`` once until the socket's next sent sk_buff is freed); and the window advertisements that closed the window
#: (``TCPToZeroWindowAdv``: the reader fell a buffer behind).  A kernel without a
#: counter records none (``None`` in the row).
_SNMP_COUNTERS = (("Udp", "RcvbufErrors"), ("Tcp", "OutSegs"),
                  ("TcpExt", "TCPAutoCorking"),
                  ("TcpExt", "TCPToZeroWindowAdv"))


def _snmp_counters(namespace: str) -> dict:
    """The :data:`_SNMP_COUNTERS` of a namespace, keyed ``(table, name)`` (``None``
    for one its kernel lacks)."""
    done = subprocess.run(["ip", "netns", "exec", namespace, "cat", "/proc/net/snmp",
                           "/proc/net/netstat"],
                          capture_output=True, text=True, timeout=_GRACE_S, check=True)
    tables = parse_snmp(done.stdout)
    return {(table, name): tables.get(table, {}).get(name) for table, name in _SNMP_COUNTERS}


def _autocorking(namespace: str, value: int | None = None) -> int | None:
    """A namespace's ``net.ipv4.tcp_autocorking``; with ``value``, set it first.
    ``None`` where the kernel has no such setting (reading only)."""
    # /proc/sys/net shows the reading process's own namespace (no procps needed).
    knob = "/proc/sys/net/ipv4/tcp_autocorking"
    if value is not None:
        done = subprocess.run(["ip", "netns", "exec", namespace, "tee", knob],
                              input=f"{value}\n", capture_output=True, text=True,
                              timeout=_GRACE_S)
        if done.returncode != 0:
            raise TestbedError(f"testbed: cannot set {knob} in {namespace} (a kernel before "
                               f"3.14 has no autocorking): {done.stderr.strip()[:200]}")
    done = subprocess.run(["ip", "netns", "exec", namespace, "cat", knob],
                          capture_output=True, text=True, timeout=_GRACE_S)
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip() else None


def _rate(count, elapsed_s):
    """``count / elapsed_s``, or ``None`` for a counter the kernel lacks."""
    return None if count is None else count / elapsed_s


def _snmp_deltas(namespaces: tuple, before: list) -> list:
    """Each namespace's counters now, less ``before`` (a list like the result)."""
    return [{key: (None if value is None or old[key] is None else value - old[key])
             for key, value in _snmp_counters(ns).items()}
            for ns, old in zip(namespaces, before)]


#: The offloads a row records, by the link end whose setting matters: the sending
#: end's segmentation and transmit checksum, the receiving end's GRO and receive
#: checksum (``ethtool -k`` names; on a veth pair both ends start alike).  TSO itself is
#: ``tx-tcp-segmentation``: the ``tcp-segmentation-offload`` line stays on while any of
#: its sub-features is, and Linux 6.18 keeps ``tx-tcp-accecn-segmentation`` on when it
#: drops TSO for want of a transmit checksum (tests/checksum_experiment.py).
OFFLOADS = {"tx": ("tcp-segmentation-offload", "tx-tcp-segmentation",
                   "generic-segmentation-offload", "tx-checksumming",
                   "tx-udp_tnl-segmentation"),
            "rx": ("generic-receive-offload", "rx-checksumming")}


def parse_features(text: str) -> dict:
    """``ethtool -k`` output as ``{feature: on}``.

    Parameters
    ----------
    text : str
        What ``ethtool -k DEVICE`` printed (indented sub-features included).

    Returns
    -------
    dict
        Feature name to whether it is on.

    Examples
    --------
    >>> parse_features("Features for l1:\\nrx-checksumming: on\\n\\ttx-checksum-ipv4: off [fixed]\\n")
    {'rx-checksumming': True, 'tx-checksum-ipv4': False}
    """
    out = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition(": ")
        if sep and not line.startswith("Features for"):
            out[name] = value.split()[0] == "on"
    return out


def _offloads() -> str:
    """The link's offload settings, ``name=on;...``; empty without ethtool (optional)."""
    if shutil.which("ethtool") is None:
        return ""
    parts = []
    for side, names in OFFLOADS.items():
        namespace, device = LINK_ENDS[side]
        done = subprocess.run(["ip", "netns", "exec", namespace, "ethtool", "-k", device],
                              capture_output=True, text=True, timeout=_GRACE_S)
        features = parse_features(done.stdout) if done.returncode == 0 else {}
        parts += [f"{n}={'on' if features[n] else 'off'}" for n in names if n in features]
    return ";".join(parts)


def _check_iperf3() -> None:
    if shutil.which("iperf3") is None:
        raise TestbedError("testbed: needs iperf3; install it with `apt-get install iperf3`")


def _switches() -> tuple:
    """Voluntary and involuntary context switches of this process's waited-for
    children so far (``getrusage(RUSAGE_CHILDREN)``): the difference across one
    child's wait is that child's, every thread of it.  (``ip netns exec`` runs
    iperf3 in its own process, so the child is iperf3.)"""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_nvcsw, usage.ru_nivcsw


def _minus_switches(after: tuple, before: tuple) -> tuple:
    return tuple(float(a - b) for a, b in zip(after, before))


def _per_second(counts: dict, seconds: float) -> float:
    return sum(counts.values()) / seconds


def measure(bed: Testbed, path: str, proto: str, msg_bytes: int, flows: int = 1,
            seconds: float = 2.0, pin: bool = False, segmentation: bool = True,
            profile: bool = False, nodelay: bool = False,
            softirq_times: bool = False, window_bytes: int | None = None,
            autocorking: bool = True, wake_times: bool = False) -> dict:
    """One iperf3 run on a built testbed; the row of the dataset.

    Parameters
    ----------
    bed : Testbed
        A built testbed (inside ``with Testbed() as bed``).
    path : {'native', 'linux-overlay', 'docker-overlay', 'routed'}
    proto : {'tcp', 'udp'}
    msg_bytes : int
        iperf3's ``-l`` (bytes per write and read).
    flows : int
        Parallel streams (``-P``).
    seconds : float
        Test duration (``-t``); every process is killed after it plus a grace period.
    pin : bool
        Pin the client to CPU 0 and the server to CPU 1 (iperf3 ``-A``; both
        to CPU 0 on a one-CPU machine), instead of leaving them to the
        scheduler, whose choice varies from run to run.
    segmentation : bool
        TSO and GSO on every testbed device (:meth:`~queuemodel.testbed.netns.
        Testbed.segment`); off makes TCP move one MSS-sized packet per
        sk_buff, which exposes per-packet costs.  Recorded in the row.
    profile : bool
        Sample every CPU's clock during the run (``perf record``) and record
        the share of the samples in each group of kernel functions
        (:mod:`~queuemodel.testbed.profile`) as the ``profile`` column.
    nodelay : bool
        Set ``TCP_NODELAY`` on the client's TCP sockets (iperf3 ``-N``):
        Nagle's rule never holds a small write back.  Recorded in the row.
    softirq_times : bool
        Trace the NET_RX softirq runs of every CPU over a window of up to one
        second in the middle of the run (:func:`~queuemodel.testbed.profile.
        record_net_rx`) and record their mean and median length in
        microseconds (``net_rx_run_us``, ``net_rx_run_us_median``; None when
        not traced).  The tracing slows the run a little.
    window_bytes : int, optional
        Each end's socket buffer (iperf3 ``-w``, ``SO_SNDBUF`` and
        ``SO_RCVBUF``; the kernel caps it at ``net.core.wmem_max`` and
        ``rmem_max``, doubles it and turns autotuning off); default the
        kernel's autotuning.  Recorded in the row (None: autotuned).
    autocorking : bool
        TCP's autocorking in the client's namespace (``net.ipv4.tcp_autocorking``,
        a per-namespace setting; on by default in Linux): off, a small write is
        never held back while an earlier sk_buff of its socket is still queued.
        Restored after the run.  Recorded in the row (UDP rows: on, untouched).
    wake_times : bool
        Trace both iperf3 processes' sleeps over a window of up to one second
        in the middle of the run (:func:`~queuemodel.testbed.profile.
        record_sleeps`) and record, per end, the sleeps a second the trace
        saw, the mean and median wait from falling asleep to the wake-up
        (``{end}_sleep_wait_us``) and from the wake-up to running again
        (``{end}_wake_latency_us``); None when not traced or never asleep.

    Returns
    -------
    dict
    """
    _check_iperf3()
    bed.segment(segmentation)
    sampler = tracer = sleeper = sleep_window = None
    client_ns, server_ns, address = bed.endpoints(path)
    cpus = os.cpu_count() or 1
    client_cpu, server_cpu = (["-A", "0"], ["-A", str(min(1, cpus - 1))]) if pin else ([], [])
    uncork = proto == "tcp" and not autocorking
    corked = _autocorking(client_ns) if uncork else None     # to restore
    server = subprocess.Popen(["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-B",
                               address, "-p", str(_PORT)] + server_cpu,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if uncork:
            _autocorking(client_ns, 0)
        time.sleep(0.3)                                 # let the server listen
        args = ["ip", "netns", "exec", client_ns, "iperf3", "-c", address, "-p", str(_PORT),
                "-t", str(int(seconds)), "-l", str(int(msg_bytes)), "-P", str(int(flows)), "-J"
                ] + client_cpu
        if proto == "udp":
            args += ["-u", "-b", "0"]
        elif nodelay:
            args += ["-N"]
        if window_bytes is not None:
            args += ["-w", str(int(window_bytes))]
        namespaces = (client_ns, server_ns)
        snmp_before = [_snmp_counters(ns) for ns in namespaces]
        if profile:
            scratch = tempfile.TemporaryDirectory(prefix="qmtb-perf-")
            data_path = os.path.join(scratch.name, "perf.data")
            sampler = perf_profile.record(seconds, data_path)
        if softirq_times:
            trace_dir = tempfile.TemporaryDirectory(prefix="qmtb-trace-")
            trace_path = os.path.join(trace_dir.name, "trace.data")
            window = min(1.0, seconds / 2.0)
            tracer = perf_profile.record_net_rx((seconds - window) / 2.0, window, trace_path)
        before, start = snapshot(), time.perf_counter()
        waited = _switches()
        client = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        if wake_times:
            sleep_dir = tempfile.TemporaryDirectory(prefix="qmtb-sleeps-")
            sleep_path = os.path.join(sleep_dir.name, "sleeps.txt")
            sleep_window = min(1.0, seconds / 2.0)
            sleeper = perf_profile.record_sleeps((seconds - sleep_window) / 2.0, sleep_window,
                                                 sleep_path, (client.pid, server.pid))
        try:
            stdout, stderr = client.communicate(timeout=seconds + _GRACE_S)
        except subprocess.TimeoutExpired:
            client.kill()
            client.communicate()
            raise TestbedError(f"testbed: iperf3 {path} {proto} did not finish within "
                               f"{seconds + _GRACE_S:g} s") from None
        done = subprocess.CompletedProcess(args, client.returncode, stdout, stderr)
        after, elapsed = snapshot(), time.perf_counter() - start
        client_switches = _minus_switches(_switches(), waited)
        sent, received = _snmp_deltas(namespaces, snmp_before)
        shares = ""
        if sampler is not None:
            sampler.wait(timeout=seconds + _GRACE_S)
            shares = perf_profile.format_shares(perf_profile.group_shares(
                perf_profile.parse_report(perf_profile.report(data_path))))
            scratch.cleanup()
        runs_s = []
        if tracer is not None:
            tracer.wait(timeout=seconds + _GRACE_S)
            runs_s = perf_profile.net_rx_run_seconds(perf_profile.net_rx_script(trace_path))
            trace_dir.cleanup()
        slept = {}
        if sleeper is not None:
            text = perf_profile.sleep_trace(sleeper, sleep_path, seconds + _GRACE_S)
            slept = {"client": perf_profile.sleeps(text, client.pid),
                     "server": perf_profile.sleeps(text, server.pid)}
            sleep_dir.cleanup()
    finally:
        for perf in (sampler, tracer, sleeper):
            if perf is not None and perf.poll() is None:    # iperf3 failed: stop perf
                perf.kill()
                perf.wait(timeout=_GRACE_S)
                if perf is sleeper:                         # its trace's instance too
                    perf_profile.remove_sleep_trace()
        waited = _switches()
        server.kill()
        server.wait(timeout=_GRACE_S)
        server_switches = _minus_switches(_switches(), waited)
        if corked is not None and _autocorking(client_ns) != corked:
            _autocorking(client_ns, corked)
    if done.returncode != 0:
        raise TestbedError(f"testbed: iperf3 {path} {proto} failed: {done.stderr.strip()[:200]}")
    report = json.loads(done.stdout)
    end = report["end"]
    version = str(report.get("start", {}).get("version", "")).removeprefix("iperf").strip()
    if proto == "tcp":
        goodput = end["sum_received"]["bits_per_second"]
        lost = 0.0
    else:
        total = end["sum"]
        lost = float(total.get("lost_percent", 0.0)) / 100.0
        goodput = total["bits_per_second"] * (1.0 - lost)
    # iperf3's own CPU time (getrusage of each end's process over the test), in percent
    # of one CPU: its loop, its system calls and the softirq work run in its context.
    own = end.get("cpu_utilization_percent", {})
    d = delta(before, after)
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = {k: sum(v[k] for c, v in d.stat.items() if c != "cpu") / ticks / elapsed
           for k in ("user", "system", "softirq", "irq", "idle", "steal")}
    return {
        "path": path, "proto": proto, "msg_bytes": int(msg_bytes), "flows": int(flows),
        "seconds": round(elapsed, 3), "throughput_gbps": goodput / 1e9, "loss_fraction": lost,
        "cpu_usr": cpu["user"], "cpu_sys": cpu["system"], "cpu_softirq": cpu["softirq"],
        "cpu_irq": cpu["irq"], "cpu_idle": cpu["idle"], "cpu_steal": cpu["steal"],
        "net_rx_softirq_per_s": _per_second(d.softirqs.get("NET_RX", {}), elapsed),
        "irq_per_s": sum(sum(v["counts"].values()) for v in d.interrupts.values()) / elapsed,
        "softnet_dropped_per_s": sum(r["dropped"] for r in d.softnet) / elapsed,
        "softnet_squeezed_per_s": sum(r["time_squeeze"] for r in d.softnet) / elapsed,
        "udp_rcvbuf_errors_per_s": received["Udp", "RcvbufErrors"] / elapsed,
        # The sender's segments are its data (it receives next to nothing to
        # acknowledge); the receiver's are its acknowledgements.
        "tcp_sender_segments_per_s": sent["Tcp", "OutSegs"] / elapsed,
        "tcp_receiver_segments_per_s": received["Tcp", "OutSegs"] / elapsed,
        "tcp_autocork_per_s": _rate(sent["TcpExt", "TCPAutoCorking"], elapsed),
        "tcp_zero_window_per_s": _rate(received["TcpExt", "TCPToZeroWindowAdv"], elapsed),
        **{f"{who}_cpu_{kind}": (own[key] / 100.0 if key in own else None)
           for who, side in (("client", "host"), ("server", "remote"))
           for kind, key in (("usr", f"{side}_user"), ("sys", f"{side}_system"))},
        # Each iperf3 process's context switches (all its threads): voluntary ones are
        # the times it blocked (a reader with nothing to read), involuntary ones the
        # times something preempted it.  The server's span its whole life, the 0.3 s
        # it listened before the run included (it blocks once there).
        **{f"{who}_{kind}_switches_per_s": count / elapsed
           for who, counts in (("client", client_switches), ("server", server_switches))
           for kind, count in zip(("voluntary", "involuntary"), counts)},
        "iperf3_version": version,
        "pinned": bool(pin),
        "segmentation": bool(segmentation),
        "nodelay": bool(nodelay) and proto == "tcp",
        "autocorking": bool(autocorking) or proto != "tcp",
        "window_bytes": None if window_bytes is None else int(window_bytes),
        "net_rx_run_us": statistics.fmean(runs_s) * 1e6 if runs_s else None,
        "net_rx_run_us_median": statistics.median(runs_s) * 1e6 if runs_s else None,
        **_sleep_columns(slept, sleep_window),
        "profile": shares,
        "offloads": _offloads(),
        **host_facts(),
    }


def _sleep_columns(slept: dict, window_s: float | None) -> dict:
    """Each end's traced sleeps (:func:`~queuemodel.testbed.profile.sleeps`) as columns:
    sleeps a second, and the mean and median wait and wake-up latency in us."""
    row = {}
    for who in ("client", "server"):
        got = slept.get(who, [])
        row[f"{who}_traced_sleeps_per_s"] = len(got) / window_s if window_s else None
        for k, name in ((0, "sleep_wait_us"), (1, "wake_latency_us")):
            values = [pair[k] * 1e6 for pair in got]
            row[f"{who}_{name}"] = statistics.fmean(values) if values else None
            row[f"{who}_{name}_median"] = statistics.median(values) if values else None
    return row


def run_all(paths=PATH_NAMES, protos=("tcp", "udp"), sizes=(131072,), flows=(1,),
            seconds: float = 2.0, repeats: int = 1, pin: bool = False,
            segmentation=(True,), profile: bool = False, nodelay=False,
            softirq_times: bool = False, window_bytes: int | None = None,
            autocorking=(True,), wake_times: bool = False) -> list:
    """Build the testbed, run every combination, remove the testbed; the rows.

    Every combination is checked first (a UDP datagram above 65507 bytes, an
    unknown path or protocol, a flow count below 1 is refused before anything
    is built).

    Parameters
    ----------
    paths, protos, sizes, flows : sequence
        Paths (default the paper's three; ``"routed"`` on request),
        protocols, message sizes (bytes) and flow counts; every combination
        is run.
    seconds : float
        Duration of each run, whole seconds, 1..600 (iperf3 reads -t as an integer).
    repeats : int
        How many times to run the whole set, 1..100.  Each pass runs every
        combination once, so a machine whose speed drifts (a VM's stolen
        time) spreads the drift over all of them; rows carry their
        ``repeat`` number (0, 1, ...).
    pin : bool
        Pin iperf3's client and server to CPUs 0 and 1 (:func:`measure`).
    segmentation : sequence of bool
        TSO/GSO settings to run TCP under (:func:`measure`); UDP, whose
        datagrams are IP-fragmented either way, runs with the first only.
    profile : bool
        Record where each run's CPU time goes (:func:`measure`; needs perf).
    nodelay : bool or sequence of bool
        TCP runs with ``TCP_NODELAY`` (:func:`measure`); a sequence runs TCP
        under each setting in turn.
    softirq_times : bool
        Record how long NET_RX softirq runs take (:func:`measure`; needs perf).
    wake_times : bool
        Record how long each end's sleeps and wake-ups take (:func:`measure`;
        needs perf).
    window_bytes : int, optional
        Each end's socket buffer, 2048..1e9 bytes (:func:`measure`); default
        the kernel's autotuning.
    autocorking : sequence of bool
        TCP's autocorking settings to run TCP under (:func:`measure`).  Each
        pass runs every setting of ``segmentation``, ``nodelay`` and
        ``autocorking`` one after another, so a machine whose state drifts
        between passes shows the settings side by side; UDP runs with the
        first of each only.

    Returns
    -------
    list of dict
        One row per run (:func:`measure`).
    """
    from ..errors import ModelInputError, UnknownNameError
    from ..stage import Workload

    for path in paths:
        if path not in ENDPOINTS:
            raise UnknownNameError("path", path, "one of " + ", ".join(ENDPOINTS))
    for proto in protos:
        for size in sizes:
            for n in flows:
                Workload(proto=proto, msg_bytes=size, flows=n)
    # iperf3 reads -t as whole seconds, and 0 as "without end" (3.12: -t 0.5 never ended).
    if not (float(seconds).is_integer() and 1 <= float(seconds) <= 600):
        raise ModelInputError("seconds", seconds, "a whole number of seconds in 1..600")
    if not (isinstance(repeats, (int, np.integer)) and 1 <= repeats <= 100):
        raise ModelInputError("repeats", repeats, "an integer in 1..100")
    if window_bytes is not None and not (isinstance(window_bytes, (int, np.integer))
                                         and 2048 <= window_bytes <= 10**9):
        raise ModelInputError("window_bytes", window_bytes, "an integer in 2048..1000000000")
    switches = {}
    for name, given in (("segmentation", segmentation), ("nodelay", nodelay),
                        ("autocorking", autocorking)):
        given = (given,) if isinstance(given, (bool, np.bool_)) else given
        switches[name] = tuple(dict.fromkeys(bool(v) for v in given))
        if not switches[name]:
            raise ModelInputError(name, given, "at least one of on, off")
    _check_iperf3()
    if profile or softirq_times:
        perf_profile.require_perf()
    firsts = tuple(v[0] for v in switches.values())
    rows = []
    with Testbed() as bed:
        for repeat in range(int(repeats)):
            for path, proto, size, n, *setting in itertools.product(
                    paths, protos, sizes, flows, *switches.values()):
                if proto == "udp" and tuple(setting) != firsts:
                    continue
                seg, no_delay, cork = setting
                rows.append({**measure(bed, path, proto, size, n, seconds, pin, seg,
                                       profile, no_delay, softirq_times, window_bytes,
                                       autocorking=cork, wake_times=wake_times),
                             "repeat": repeat})
    return rows


def write_dataset(rows: list, target: str | Path) -> list:
    """Write rows as ``TARGET.csv`` and ``TARGET.json`` (one row per run).

    Parameters
    ----------
    rows : list of dict
        From :func:`run_all`.
    target : str or Path
        Base name; a ``.csv`` or ``.json`` suffix is replaced.

    Returns
    -------
    list of Path
        The two files written.
    """
    target = Path(target)
    base = target.with_suffix("") if target.suffix in (".csv", ".json") else target
    columns = list(rows[0]) if rows else []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path, json_path = base.with_suffix(".csv"), base.with_suffix(".json")
    csv_path.write_text(out.getvalue())
    json_path.write_text(json.dumps(rows, indent=1))
    return [csv_path, json_path]


def read_dataset(source: str | Path) -> list:
    """Rows of a dataset written by :func:`write_dataset` (CSV or JSON).

    Parameters
    ----------
    source : str or Path
        A ``.json`` file, or a CSV file (numbers are read back as numbers).

    Returns
    -------
    list of dict
    """
    source = Path(source)
    if source.suffix == ".json":
        return json.loads(source.read_text())
    rows = list(csv.DictReader(io.StringIO(source.read_text())))
    for row in rows:
        for key, value in row.items():
            try:
                row[key] = int(value) if value.isdigit() else float(value)
            except ValueError:
                pass
    return rows
