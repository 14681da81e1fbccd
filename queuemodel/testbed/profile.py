"""Where a testbed run's CPU time goes, by group of kernel functions, per packet.

``perf record -e cpu-clock -a`` samples every CPU's clock during a run; the
kernel symbols of the samples, grouped by name, tell how the run's cycles
split between copying, TCP, IP, VXLAN, the bridge, socket-buffer
allocation, scheduling and so on.  Divided by the packet rate they are
cycles per packet on this kernel: what the model's per-stage costs stand for
(:mod:`queuemodel.paths`), measured instead of carried over from the paper's.

The groups are approximate.  They go by symbol name (first match in
:data:`GROUPS`), and some work is shared by every stage: allocating and
freeing sk_buffs, locks, softirq and scheduler bookkeeping; those are groups
of their own, not split over the stages.  A VM's idle loop
(``pv_native_safe_halt``) is ``idle``, samples of user space ``user``.

:func:`record_net_rx` traces the NET_RX softirq runs themselves (perf's
``irq:softirq_entry`` and ``irq:softirq_exit`` tracepoints), and
:func:`net_rx_run_seconds` turns the trace into each run's length.
:func:`record_sleeps` traces when given processes go to sleep, are woken and
run again (the ``sched_switch``, ``sched_waking`` and ``sys_exit`` events,
through tracefs), and
:func:`sleeps` turns that into each sleep's wait and wake-up latency.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from typing import Mapping

from .netns import TestbedError

__all__ = ["GROUPS", "parse_report", "group_shares", "cycles_per_packet", "require_perf",
           "record_net_rx", "net_rx_script", "net_rx_runs", "net_rx_run_seconds",
           "record_sleeps", "sleep_trace", "remove_sleep_trace", "sleeps", "record", "report", "format_shares",
           "parse_shares", "cycles_by_workload", "cycles_against", "per_kib",
           "format_cycles_table", "plot_cycles"]

#: Groups of kernel symbols, the first whose pattern matches a symbol takes it.
#: Order matters: a copy that checksums on the way (``csum_partial_copy_generic``)
#: is a copy, a bridge netfilter hook is bridge work, ``__netif_receive_skb`` is
#: the core's receive path, not sk_buff allocation.
GROUPS = (
    ("idle", r"halt|idle|mwait"),
    ("copy", r"copy_user|copy_to_user|copy_from_user|_copy_to_iter|_copy_from_iter|rep_movs|"
             r"memcpy|copy_page|"
             r"datagram_iter|csum_partial_copy|copy_and_csum"),
    ("csum", r"csum"),
    ("vxlan", r"vxlan|udp_tunnel|iptunnel|gro_cell"),
    ("bridge", r"^br_|^__br_|fdb_|nf_hook_bridge"),
    ("veth", r"veth"),
    ("tcp", r"^tcp|^__tcp|inet_csk|tcp4|tcp_v4|inet_lookup"),
    ("udp", r"^udp|^__udp|udp4|udpv4"),
    ("ip", r"^ip_|^__ip|fib_|^ipv4_|inet_gro|inet_gso|^rt_|dst_|nf_hook|nf_conntrack|"
           r"ipt_|nft_|frag"),
    ("netcore", r"netif|net_rx|napi|process_backlog|^dev_|^__dev_|gro|qdisc|sch_|"
                r"validate_xmit|neigh|eth_|rps|enqueue_to_backlog|softnet"),
    ("skb", r"skb|kmem_cache|kfree|kmalloc|__alloc|page_frag|slab|free_unref|folio|"
            r"page_pool|get_page|put_page"),
    ("syscall", r"sys_|syscall|sock|^entry_|^__x64|security_|fput|fdget|inet_sendmsg|"
                r"inet_recvmsg|select|poll"),
    ("sched", r"schedule|sched|wake|spin|irq|softirq|timer|rcu|ktime|enqueue_|dequeue_|"
              r"select_task|finish_task|pick_"),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in GROUPS)
_LINE = re.compile(r"^\s*([\d.]+)%\s+\[(.)\]\s+(\S+)")


def parse_report(text: str) -> dict:
    """``perf report --stdio --sort sym`` output as ``{symbol: percent}``.

    Parameters
    ----------
    text : str
        What perf printed; user-space symbols (``[.]``) are keyed
        ``"user:NAME"``, kernel ones (``[k]``) by their name.

    Returns
    -------
    dict

    Examples
    --------
    >>> parse_report("# Overhead  Symbol\\n    33.21%  [k] pv_native_safe_halt\\n"
    ...              "     0.19%  [.] __select\\n")
    {'pv_native_safe_halt': 33.21, 'user:__select': 0.19}
    """
    out: dict = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            percent, kind, symbol = float(match.group(1)), match.group(2), match.group(3)
            key = symbol if kind == "k" else f"user:{symbol}"
            out[key] = out.get(key, 0.0) + percent
    return out


def group_shares(symbols: Mapping) -> dict:
    """Percent of the samples in each group of :data:`GROUPS` (and ``user``, ``other``).

    Parameters
    ----------
    symbols : dict
        ``{symbol: percent}`` (:func:`parse_report`).

    Returns
    -------
    dict
        Group to percent, largest first; the values add up to the symbols'.

    Examples
    --------
    >>> group_shares({"tcp_v4_rcv": 3.0, "rep_movs_alternative": 2.0, "skb_copy_bits": 1.0,
    ...               "user:iperf_send": 0.5, "mystery": 0.25})
    {'tcp': 3.0, 'copy': 2.0, 'skb': 1.0, 'user': 0.5, 'other': 0.25}
    """
    shares: dict = {}
    for symbol, percent in symbols.items():
        if symbol.startswith("user:"):
            group = "user"
        else:
            group = next((name for name, pattern in _COMPILED if pattern.search(symbol)),
                         "other")
        shares[group] = shares.get(group, 0.0) + percent
    return dict(sorted(shares.items(), key=lambda item: -item[1]))


def cycles_per_packet(shares: Mapping, cpus: int, mhz: float, packets_per_s: float) -> dict:
    """Cycles per packet of each group but ``idle``: its share of all CPUs' cycles over the rate.

    Parameters
    ----------
    shares : dict
        Group to percent of the samples of all CPUs (:func:`group_shares`).
    cpus : int
        CPUs sampled.
    mhz : float
        Their clock.
    packets_per_s : float
        Packets of the run per second (> 0).

    Returns
    -------
    dict

    Examples
    --------
    >>> cycles_per_packet({"tcp": 10.0, "idle": 50.0}, 2, 2500.0, 1e6)
    {'tcp': 500.0}
    """
    cycles_per_s = cpus * mhz * 1e6
    return {group: percent / 100.0 * cycles_per_s / packets_per_s
            for group, percent in shares.items() if group != "idle"}


def cycles_by_workload(rows: list) -> list:
    """Where a message's CPU time went, by group, for each profiled workload of a dataset.

    For every run with a ``profile`` column, each group's cycles (its share
    of the samples times the cycles the CPUs ran: steal taken out, ``idle``
    left out) over the messages delivered (a write for TCP, a datagram for
    UDP; a lost datagram's work is charged to those that arrived); the mean
    over a workload's runs, so the groups add up to the total.  These are
    the machine's own cycles, both ends together, not the paper's.

    Parameters
    ----------
    rows : list of dict
        Dataset rows (:func:`queuemodel.testbed.run.read_dataset`).

    Returns
    -------
    list of dict
        One per workload (path, proto, flows, msg_bytes and, where the rows
        have it, segmentation; in the order first met): those keys,
        ``runs``, ``cycles_per_message`` (group to cycles, largest first),
        ``total_cycles_per_message`` and ``cycles_per_kib`` (the total per
        KiB of messages).  Rows without a profile are left out.

    Examples
    --------
    >>> row = {"path": "native", "proto": "udp", "flows": 1, "msg_bytes": 1024,
    ...        "throughput_gbps": 8.192, "cpus": 2, "cpu_steal": 0.0, "cpu_mhz": 1000.0,
    ...        "profile": "ip=10.00;udp=5.00;idle=50.00"}
    >>> (w,) = cycles_by_workload([row])
    >>> w["path"], w["cycles_per_message"], w["cycles_per_kib"]
    ('native', {'ip': 200.0, 'udp': 100.0}, 300.0)
    """
    from ..errors import ModelInputError

    needed = ("path", "proto", "flows", "msg_bytes", "throughput_gbps", "cpus", "cpu_mhz")
    groups: dict = {}
    for row in rows:
        missing = [c for c in needed if c not in row]
        if missing:
            raise ModelInputError("dataset", f"a row without {missing[0]!r}",
                                  "rows of `queuemodel testbed run` (columns "
                                  + ", ".join(needed) + ")")
        shares = parse_shares(row.get("profile", ""))
        gbps = float(row["throughput_gbps"])
        if not shares or gbps <= 0:
            continue
        key = tuple(row[k] for k in ("path", "proto", "flows", "msg_bytes")) + (
            bool(row.get("segmentation", True)),)
        messages = gbps * 1e9 / 8.0 / float(row["msg_bytes"])
        running = float(row["cpus"]) - float(row.get("cpu_steal", 0.0) or 0.0)
        groups.setdefault(key, []).append(
            cycles_per_packet(shares, running, float(row["cpu_mhz"]), messages))
    out = []
    for (path, proto, flows, size, segmentation), runs in groups.items():
        names = {g for run in runs for g in run}
        mean = {g: sum(run.get(g, 0.0) for run in runs) / len(runs) for g in names}
        mean = dict(sorted(mean.items(), key=lambda item: -item[1]))
        total = sum(mean.values())
        out.append({"path": path, "proto": proto, "flows": int(flows), "msg_bytes": int(size),
                    "segmentation": segmentation, "runs": len(runs),
                    "cycles_per_message": mean, "total_cycles_per_message": total,
                    "cycles_per_kib": total * 1024.0 / float(size)})
    return out


def cycles_against(workloads: list, baseline: str = "native") -> list:
    """What each workload's messages cost beyond the same workload on ``baseline``'s path.

    Parameters
    ----------
    workloads : list of dict
        :func:`cycles_by_workload`'s output.
    baseline : str
        The path to subtract (the same protocol, flows, size and
        segmentation); workloads on it, or without such a twin, are left out.

    Returns
    -------
    list of dict
        As :func:`cycles_by_workload`'s, each number the difference (a
        group the twin lacks counts zero there; negative where the path
        spends less), and ``baseline`` naming the path subtracted.

    Examples
    --------
    >>> base = {"proto": "udp", "flows": 1, "msg_bytes": 1024, "segmentation": True, "runs": 1}
    >>> native = {**base, "path": "native", "cycles_per_message": {"ip": 200.0, "udp": 100.0},
    ...           "total_cycles_per_message": 300.0, "cycles_per_kib": 300.0}
    >>> overlay = {**base, "path": "linux-overlay", "cycles_per_message": {"ip": 500.0,
    ...            "vxlan": 250.0, "udp": 50.0}, "total_cycles_per_message": 800.0,
    ...            "cycles_per_kib": 800.0}
    >>> (extra,) = cycles_against([native, overlay])
    >>> extra["cycles_per_message"], extra["total_cycles_per_message"]
    ({'ip': 300.0, 'vxlan': 250.0, 'udp': -50.0}, 500.0)
    """
    def twin(w):
        return (w["proto"], w["flows"], w["msg_bytes"], w["segmentation"])

    bases = {twin(w): w for w in workloads if w["path"] == baseline}
    out = []
    for w in workloads:
        b = bases.get(twin(w))
        if w["path"] == baseline or b is None:
            continue
        names = set(w["cycles_per_message"]) | set(b["cycles_per_message"])
        extra = {g: w["cycles_per_message"].get(g, 0.0) - b["cycles_per_message"].get(g, 0.0)
                 for g in names}
        extra = dict(sorted(extra.items(), key=lambda item: -item[1]))
        out.append({**w, "baseline": baseline, "cycles_per_message": extra,
                    "total_cycles_per_message": (w["total_cycles_per_message"]
                                                 - b["total_cycles_per_message"]),
                    "cycles_per_kib": w["cycles_per_kib"] - b["cycles_per_kib"]})
    return out


def per_kib(workloads: list) -> list:
    """:func:`cycles_by_workload` (or :func:`cycles_against`) per KiB of messages
    instead of per message, so that workloads of different sizes compare.

    Examples
    --------
    >>> w = {"msg_bytes": 8192, "cycles_per_message": {"ip": 800.0},
    ...      "total_cycles_per_message": 800.0, "cycles_per_kib": 100.0}
    >>> per_kib([w])[0]["cycles_per_message"], per_kib([w])[0]["unit"]
    ({'ip': 100.0}, 'KiB')
    """
    out = []
    for w in workloads:
        share = 1024.0 / float(w["msg_bytes"])
        out.append({**w, "unit": "KiB",
                    "cycles_per_message": {g: c * share
                                           for g, c in w["cycles_per_message"].items()},
                    "total_cycles_per_message": w["total_cycles_per_message"] * share})
    return out


def _per(workloads: list) -> str:
    return "KiB of messages" if workloads[0].get("unit") == "KiB" else "delivered message"


def format_cycles_table(workloads: list, top: int | None = 10) -> str:
    """:func:`cycles_by_workload` (or :func:`cycles_against`) as text: thousands of
    cycles a message, by group.

    The ``top`` groups that weigh most over all workloads (all if None) get
    columns of their own, the others one column, ``rest``.
    """
    if not workloads:
        return ("no profiled runs (record some with `queuemodel testbed run --profile`; "
                "against a path, with it among the runs)")
    shown = _weightiest_groups(workloads, top)
    head = (f"{'path':15} {'proto':5} {'flows':>5} {'bytes':>7} {'gso':3} {'runs':>4} "
            + "".join(f"{g:>8}" for g in shown) + f"{'rest':>8}{'total':>9}{'/KiB':>8}")
    against = workloads[0].get("baseline")
    title = (f"thousands of cycles a {_per(workloads)} (this machine's, both ends), by "
             "group of kernel functions")
    if against:
        title = (f"thousands of cycles a {_per(workloads)} beyond the same workload on "
                 f"{against} (this machine's, both ends), by group of kernel functions")
    lines = [title, head]
    for w in workloads:
        c = w["cycles_per_message"]
        total = w["total_cycles_per_message"]
        rest = total - sum(c.get(g, 0.0) for g in shown)
        rest = 0.0 if abs(rest) <= 1e-9 * max(abs(total), 1.0) else rest
        lines.append(f"{w['path']:15} {w['proto']:5} {w['flows']:5d} {w['msg_bytes']:7d} "
                     f"{'on' if w['segmentation'] else 'off':3} {w['runs']:4d} "
                     + "".join(f"{c.get(g, 0.0) / 1e3:8.2f}" for g in shown)
                     + f"{rest / 1e3:8.2f}{total / 1e3:9.2f}"
                     f"{w['cycles_per_kib'] / 1e3:8.2f}")
    return "\n".join(lines)


def plot_cycles(workloads: list, top: int | None = 8, ax=None):
    """:func:`cycles_by_workload` (or :func:`cycles_against`) as stacked horizontal bars.

    One bar per workload, thousands of cycles a delivered message, a segment
    per group (the ``top`` that weigh most, all if None, the rest as one);
    a negative difference stacks to the left of zero.

    Parameters
    ----------
    workloads : list of dict
        What to draw (at least one).
    top : int or None
        Groups drawn on their own.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes (no pyplot state).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> row = {"path": "native", "proto": "udp", "flows": 1, "msg_bytes": 1024,
    ...        "throughput_gbps": 8.192, "cpus": 2, "cpu_mhz": 1000.0,
    ...        "profile": "ip=10.00;udp=5.00;idle=50.00"}
    >>> ax = plot_cycles(cycles_by_workload([row]))
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['native udp 1024 B x1']
    """
    from ..errors import ModelInputError

    if not workloads:
        raise ModelInputError("workloads", "none", "at least one profiled workload")
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9.0, 1.2 + 0.42 * len(workloads)), dpi=100,
                     layout="constrained")
        ax = fig.subplots()
    shown = _weightiest_groups(workloads, top)
    groups = shown + ["rest"]
    colors = dict(zip(groups, [f"C{i % 10}" for i in range(len(shown))] + ["#bbbbbb"]))
    labels = []
    for row, w in enumerate(workloads):
        c = dict(w["cycles_per_message"])
        values = [c.get(g, 0.0) for g in shown]
        values.append(w["total_cycles_per_message"] - sum(values))
        right = left = 0.0
        for group, value in zip(groups, values):
            start = right if value >= 0 else left
            ax.barh(row, value / 1e3, left=start / 1e3, color=colors[group],
                    label=group if row == 0 else None, edgecolor="white", linewidth=0.4)
            if value >= 0:
                right += value
            else:
                left += value
        labels.append(f"{w['path']} {w['proto']} {w['msg_bytes']} B x{w['flows']}"
                      + ("" if w.get("segmentation", True) else " (no TSO/GSO)"))
    ax.set_yticks(range(len(workloads)), labels)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.6)
    against = workloads[0].get("baseline")
    ax.set_xlabel(f"thousands of cycles a {_per(workloads)}"
                  + (f", beyond {against}'s" if against else "") + " (both ends)")
    ax.legend(loc="lower right", fontsize="small", ncols=2)
    return ax


def _weightiest_groups(workloads: list, top: int | None) -> list:
    """The groups that weigh most over ``workloads`` (each workload's share of its
    absolute cycles, summed), the ``top`` of them (all if None)."""
    overall: dict = {}
    for w in workloads:
        scale = sum(abs(c) for c in w["cycles_per_message"].values()) or 1.0
        for g, c in w["cycles_per_message"].items():
            overall[g] = overall.get(g, 0.0) + abs(c) / scale
    return sorted(overall, key=lambda g: -overall[g])[:top]


def format_shares(shares: Mapping) -> str:
    """``{'tcp': 21.7, ...}`` as the dataset's text ``'tcp=21.7;...'``."""
    return ";".join(f"{group}={percent:.2f}" for group, percent in shares.items())


def parse_shares(text: str) -> dict:
    """The inverse of :func:`format_shares` (empty text: no profile).

    Examples
    --------
    >>> parse_shares("tcp=21.70;idle=8.30")
    {'tcp': 21.7, 'idle': 8.3}
    """
    out = {}
    for part in str(text or "").split(";"):
        group, sep, value = part.partition("=")
        if sep:
            out[group] = float(value)
    return out


def require_perf() -> None:
    """Without perf, raise a ``TestbedError`` that says how to install it."""
    if shutil.which("perf") is None:
        raise TestbedError("testbed: --profile and --softirq-times need perf; install it "
                           "with `apt-get install linux-perf`")


#: The softirq vector of NET_RX (``NET_RX_SOFTIRQ`` in include/linux/interrupt.h).
NET_RX_VEC = 3

_TRACE_LINE = re.compile(r"\[(\d+)\]\s+(\d+\.\d+):\s+(irq:softirq_entry|irq:softirq_exit|"
                         r"sched:sched_waking):\s*(?:vec=(\d+))?")


def record_net_rx(delay_s: float, seconds: float, data_path: str) -> subprocess.Popen:
    """Trace every CPU's NET_RX softirq runs for ``seconds``, starting ``delay_s`` from now.

    ``perf record -a`` of the ``irq:softirq_entry`` and ``irq:softirq_exit``
    tracepoints, filtered to NET_RX.  Tracing costs a little time per run,
    so a traced run goes a little slower; a window in the middle of the run
    keeps its start-up out and the data small.

    Returns
    -------
    subprocess.Popen
        The process; wait for it, then read :func:`net_rx_script`.
    """
    require_perf()
    return _delayed(delay_s, ["perf", "record", "-q", "-a", "-o", data_path,
                              "-e", "irq:softirq_entry", "--filter", f"vec == {NET_RX_VEC}",
                              "-e", "irq:softirq_exit", "--filter", f"vec == {NET_RX_VEC}",
                              "--", "sleep", f"{seconds:g}"])


def net_rx_script(data_path: str) -> str:
    """``perf script`` of a :func:`record_net_rx` recording (CPU, ns time, event, fields)."""
    done = subprocess.run(["perf", "script", "-i", data_path, "-F", "cpu,time,event,trace",
                           "--ns"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise TestbedError(f"testbed: perf script failed: {done.stderr.strip()[:200]}")
    return done.stdout


def net_rx_runs(text: str) -> list:
    """Each NET_RX softirq run in :func:`net_rx_script` text: ``(cpu, seconds, wakings)``.

    A run is an entry and the next exit on the same CPU (softirqs do not nest on
    one CPU); an exit with no entry before it (the trace began inside a run) and
    other vectors are left out.  ``wakings`` counts the ``sched:sched_waking``
    events the CPU recorded during the run (the tasks it woke), where the trace
    has them.

    Examples
    --------
    >>> text = ("[001] 10.000000100: irq:softirq_entry: vec=3 [action=NET_RX]\\n"
    ...         "[001] 10.000000900: sched:sched_waking: comm=iperf3 pid=7\\n"
    ...         "[000] 10.000000200: irq:softirq_exit: vec=3 [action=NET_RX]\\n"
    ...         "[001] 10.000001600: irq:softirq_exit: vec=3 [action=NET_RX]\\n")
    >>> [(cpu, round(s * 1e9), w) for cpu, s, w in net_rx_runs(text)]
    [('001', 1500, 1)]
    """
    started: dict = {}
    runs = []
    for line in text.splitlines():
        m = _TRACE_LINE.search(line)
        if m is None:
            continue
        cpu, at, event = m.group(1), float(m.group(2)), m.group(3)
        if event == "sched:sched_waking":
            if cpu in started:
                started[cpu][1] += 1
        elif int(m.group(4) or -1) != NET_RX_VEC:
            continue
        elif event == "irq:softirq_entry":
            started[cpu] = [at, 0]
        elif cpu in started:
            began, wakings = started.pop(cpu)
            runs.append((cpu, at - began, wakings))
    return runs


def net_rx_run_seconds(text: str) -> list:
    """How long each NET_RX softirq run took (:func:`net_rx_runs`), in seconds."""
    return [seconds for _, seconds, _ in net_rx_runs(text)]


def _delayed(delay_s: float, command: list) -> subprocess.Popen:
    """Start ``command`` ``delay_s`` seconds from now, its output discarded."""
    return subprocess.Popen(["sh", "-c", f'sleep {delay_s:g} && exec "$@"', "sh", *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


#: The tracefs instance :func:`record_sleeps` traces in (its own buffer and events,
#: so the system's trace is left as it was); ``testbed clean`` removes a stale one.
SLEEP_INSTANCE = "/sys/kernel/tracing/instances/qmtb-sleeps"

_SLEEP_SCRIPT = """
set -e
I={instance}
[ ! -d "$I" ] || rmdir "$I"
mkdir "$I"
trap 'echo 0 > "$I/tracing_on"; echo 0 > "$I/events/enable"; rmdir "$I"' EXIT
echo 0 > "$I/tracing_on"
echo 16384 > "$I/buffer_size_kb"
echo '{switched}' > "$I/events/sched/sched_switch/filter"
echo '{woken}' > "$I/events/sched/sched_waking/filter"
echo '{returned}' > "$I/events/raw_syscalls/sys_exit/filter"
echo 1 > "$I/events/sched/sched_switch/enable"
echo 1 > "$I/events/sched/sched_waking/enable"
echo 1 > "$I/events/raw_syscalls/sys_exit/enable"
sleep {delay:g}
echo 1 > "$I/tracing_on"
sleep {seconds:g}
echo 0 > "$I/tracing_on"
cat "$I/trace" > '{out}'
"""


#: The system calls a process sleeps in, on x86-64 (poll, select, epoll_wait, pselect6,
#: ppoll, epoll_pwait; iperf3 3.12 sleeps in pselect6): their return is the trace's mark
#: that a woken process runs again.
SLEEPING_SYSCALLS_X86_64 = (7, 23, 232, 270, 271, 281)


def record_sleeps(delay_s: float, seconds: float, out_path: str, pids) -> subprocess.Popen:
    """Trace when the processes ``pids`` sleep, are woken and run, for ``seconds``.

    Three kernel events, from ``delay_s`` from now, in a tracefs instance of
    its own (the system's trace is left as it was): ``sched_switch`` out of
    one of them (a sleep begins), ``sched_waking`` of one (recorded in the
    waker's context as it begins: the moment the data is handed over) and
    ``sys_exit`` of a system call it sleeps in (on x86-64; elsewhere of any:
    it runs again).  Not the switch back in: on the 6.18 VM neither perf nor
    tracefs recorded a single switch out of the idle task on a busy reader's
    CPU (of tens of thousands a second), which is how a reader on an idle
    CPU comes back.  The trace text goes to ``out_path`` (:func:`sleep_trace`
    waits for it; read it with :func:`sleeps`); its clock prints microseconds.
    A pid is one thread: iperf3 3.12 serves all its streams in its main thread
    (later versions run a thread a stream, which this would not see).

    Returns
    -------
    subprocess.Popen
        The tracing script; wait for it, then read ``out_path``.
    """
    if not os.path.isdir(os.path.dirname(SLEEP_INSTANCE)):
        raise TestbedError("testbed: --wake-times needs tracefs at /sys/kernel/tracing "
                           "(mount -t tracefs none /sys/kernel/tracing)")
    pids = [int(p) for p in pids]
    ours = " || ".join(f"common_pid == {p}" for p in pids)
    returned = f"({ours})"
    if platform.machine() == "x86_64":
        returned += " && (" + " || ".join(f"id == {n}" for n in SLEEPING_SYSCALLS_X86_64) + ")"
    script = _SLEEP_SCRIPT.format(
        instance=SLEEP_INSTANCE, delay=delay_s, seconds=seconds, out=out_path,
        switched=" || ".join(f"prev_pid == {p}" for p in pids),
        woken=" || ".join(f"pid == {p}" for p in pids), returned=returned)
    return subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def sleep_trace(tracer: subprocess.Popen, out_path: str, timeout_s: float) -> str:
    """Wait for a :func:`record_sleeps` tracer and return its trace text; a
    ``TestbedError`` with the shell's complaint if it failed (a kernel without one of
    the events, tracefs read-only)."""
    _, complaint = tracer.communicate(timeout=timeout_s)
    if tracer.returncode != 0 or not os.path.exists(out_path):
        raise TestbedError("testbed: the sleep trace failed: "
                           + (complaint.strip().splitlines() or ["no message"])[-1][:200])
    with open(out_path, encoding="utf-8", errors="replace") as trace:
        return trace.read()


def remove_sleep_trace() -> bool:
    """Remove the tracefs instance of a :func:`record_sleeps` that was killed; whether
    there was one."""
    if not os.path.isdir(SLEEP_INSTANCE):
        return False
    for switch in ("tracing_on", "events/enable"):
        with open(os.path.join(SLEEP_INSTANCE, switch), "w") as f:
            f.write("0")
    os.rmdir(SLEEP_INSTANCE)
    return True


_TRACE_EVENT = re.compile(r"^\s*.*?-(\d+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+"
                          r"(sched_switch|sched_waking|sys_exit):\s*(.*)$")
_FIELD = re.compile(r"(\w+)=(\S+)")


def sleeps(text: str, pid: int) -> list:
    """Each sleep of process ``pid`` in a :func:`record_sleeps` trace: ``(wait, latency)``.

    A sleep begins when ``pid`` switches out in a sleeping state (not ``R``:
    preempted), ``wait`` lasts until the first ``sched_waking`` of it after
    that, ``latency`` from then until its system call returns; seconds.  A
    waking may come first, when the waker catches the process between
    leaving the run queue and switching out (only a process on its way to
    sleep can be woken): that sleep waits 0 and its latency runs from the
    switch.  (A waking that finds it not yet off the run queue keeps it
    running; no switch follows, and the next return clears it.)  A sleep
    the trace cuts (it began before the trace or ends after it) is left
    out.

    Examples
    --------
    >>> text = ("iperf3-7 [001] d..2. 5.000000: sched_switch: prev_comm=iperf3 prev_pid=7 "
    ...         "prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120\\n"
    ...         "iperf3-6 [000] d.s4. 5.000004: sched_waking: comm=iperf3 pid=7 prio=120 "
    ...         "target_cpu=001\\n"
    ...         "iperf3-7 [001] ..... 5.000007: sys_exit: NR 270 = 1\\n")
    >>> [(round(w * 1e6, 3), round(l * 1e6, 3)) for w, l in sleeps(text, 7)]
    [(4.0, 3.0)]
    """
    asleep = woken = early = None
    out = []
    for line in text.splitlines():
        m = _TRACE_EVENT.match(line)
        if m is None:
            continue
        current, at, event = int(m.group(1)), float(m.group(2)), m.group(3)
        fields = dict(_FIELD.findall(m.group(4)))
        if event == "sched_waking":
            if int(fields.get("pid", -1)) != pid:
                continue
            if asleep is None:
                early = at                      # on its way to sleep: see the switch
            elif woken is None:
                woken = at
        elif event == "sched_switch":
            if int(fields.get("prev_pid", -1)) == pid:
                sleeping = not fields.get("prev_state", "R").startswith("R")
                asleep = at if sleeping else None
                woken = early if sleeping else None
                early = None
        elif current == pid:                    # its system call returns: it runs
            if asleep is not None and woken is not None:
                out.append((max(0.0, woken - asleep), at - max(woken, asleep)))
            asleep = woken = early = None
    return out


def record(seconds: float, data_path: str) -> subprocess.Popen:
    """Start sampling every CPU for ``seconds`` (``perf record -e cpu-clock -a``).

    Parameters
    ----------
    seconds : float
        How long to sample.
    data_path : str
        Where perf writes its data.

    Returns
    -------
    subprocess.Popen
        The perf process; wait for it, then read the report with
        ``perf report -i data_path --stdio --sort sym``.

    Raises
    ------
    TestbedError
        Without perf.
    """
    require_perf()
    return subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-a", "-o", data_path,
                             "--", "sleep", f"{seconds:g}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report(data_path: str) -> str:
    """``perf report --stdio --sort sym`` of a recording, as text."""
    done = subprocess.run(["perf", "report", "-i", data_path, "--stdio", "--sort", "sym",
                           "--percent-limit", "0.01"], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise TestbedError(f"testbed: perf report failed: {done.stderr.strip()[:200]}")
    return done.stdout
