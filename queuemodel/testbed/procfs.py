"""Readers of the kernel counters a testbed run records before and after each test.

Four files, each parsed from its text (so saved samples can be tested) into
plain data: ``/proc/stat`` (CPU time per logical CPU by column, in clock
ticks), ``/proc/softirqs`` (softirq runs per type and CPU),
``/proc/interrupts`` (hard interrupts per source and CPU) and
``/proc/net/softnet_stat`` (packets processed, dropped and squeezed per CPU).
:func:`snapshot` reads all four; :func:`delta` subtracts two snapshots.

Formats: ``proc(5)`` and ``Documentation/filesystems/proc.rst`` of the Linux
source; softnet_stat's columns are those of ``net/core/net-procfs.c``
(``softnet_seq_show``), whose later kernels append columns the parser keeps
by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelInputError

__all__ = ["parse_stat", "parse_softirqs", "parse_interrupts", "parse_softnet", "parse_snmp",
           "Snapshot",
           "snapshot", "delta", "STAT_COLUMNS", "SOFTNET_COLUMNS"]

#: Columns of a ``cpuN`` line of /proc/stat, in order (clock ticks, USER_HZ).
STAT_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
                "guest", "guest_nice")

#: Columns of /proc/net/softnet_stat, in order (hexadecimal; later kernels add more).
SOFTNET_COLUMNS = ("processed", "dropped", "time_squeeze", "_3", "_4", "_5", "_6", "_7",
                   "cpu_collision", "received_rps", "flow_limit_count", "backlog_len",
                   "cpu_index")


def _bad(name: str, line: str, why: str) -> ModelInputError:
    return ModelInputError(name, line.strip()[:60], why)


def parse_stat(text: str) -> dict:
    """CPU time per logical CPU from /proc/stat.

    Parameters
    ----------
    text : str
        The file's contents.

    Returns
    -------
    dict
        ``{"cpu": {column: ticks}, 0: {...}, 1: {...}, ...}``: the all-CPU line
        under ``"cpu"``, each ``cpuN`` line under ``N``; columns as in
        :data:`STAT_COLUMNS` (absent trailing ones read 0).

    Examples
    --------
    >>> parse_stat("cpu  10 0 5 100 0 1 2 0 0 0\\ncpu0 10 0 5 100 0 1 2 0 0 0\\n")[0]["softirq"]
    2
    """
    out: dict = {}
    for line in text.splitlines():
        words = line.split()
        if not words or not words[0].startswith("cpu"):
            continue
        key = words[0][3:]
        try:
            values = [int(w) for w in words[1:]]
        except ValueError:
            raise _bad("/proc/stat", line, "integers after the cpu label") from None
        values += [0] * (len(STAT_COLUMNS) - len(values))
        out["cpu" if key == "" else int(key)] = dict(zip(STAT_COLUMNS, values))
    if not out:
        raise ModelInputError("/proc/stat", text[:60], "text with cpu lines")
    return out


def _table(name: str, text: str) -> tuple:
    """Header CPU numbers and the data lines of a per-CPU counter table."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].split() or not lines[0].split()[0].startswith("CPU"):
        raise ModelInputError(name, text[:60], "a header line of CPU columns")
    cpus = [int(w[3:]) for w in lines[0].split()]
    return cpus, lines[1:]


def parse_softirqs(text: str) -> dict:
    """Softirq runs per type and logical CPU from /proc/softirqs.

    Parameters
    ----------
    text : str
        The file's contents.

    Returns
    -------
    dict
        ``{type: {cpu: count}}``, e.g. ``out["NET_RX"][0]``.

    Examples
    --------
    >>> parse_softirqs("    CPU0 CPU1\\n NET_RX: 5 7\\n")["NET_RX"]
    {0: 5, 1: 7}
    """
    cpus, rows = _table("/proc/softirqs", text)
    out = {}
    for line in rows:
        label, _, rest = line.partition(":")
        words = rest.split()
        if len(words) < len(cpus):
            raise _bad("/proc/softirqs", line, f"{len(cpus)} counts after the label")
        out[label.strip()] = {cpu: int(w) for cpu, w in zip(cpus, words)}
    return out


def parse_interrupts(text: str) -> dict:
    """Hard interrupts per source and logical CPU from /proc/interrupts.

    Parameters
    ----------
    text : str
        The file's contents.

    Returns
    -------
    dict
        ``{source: {"counts": {cpu: count}, "name": description}}``; a source
        is the IRQ number (``"38"``) or a label (``"LOC"``).  Rows with fewer
        counts than CPUs (``ERR``, ``MIS``: system totals) keep what they have
        under the first CPUs.

    Examples
    --------
    >>> p = parse_interrupts("   CPU0 CPU1\\n 38: 0 5685 PCI-MSIX 1-edge virtio2-input.0\\n")
    >>> p["38"]["counts"][1], p["38"]["name"]
    (5685, 'PCI-MSIX 1-edge virtio2-input.0')
    """
    cpus, rows = _table("/proc/interrupts", text)
    out = {}
    for line in rows:
        label, _, rest = line.partition(":")
        words = rest.split()
        counts = []
        for w in words[: len(cpus)]:
            if not w.isdigit():
                break
            counts.append(int(w))
        if not counts:
            raise _bad("/proc/interrupts", line, "at least one count after the label")
        out[label.strip()] = {"counts": dict(zip(cpus, counts)),
                              "name": " ".join(words[len(counts):])}
    return out


def parse_softnet(text: str) -> list:
    """Per-CPU packet counters from /proc/net/softnet_stat.

    Parameters
    ----------
    text : str
        The file's contents.

    Returns
    -------
    list of dict
        One dict per line (per online CPU, in order) with the columns of
        :data:`SOFTNET_COLUMNS` that the line has (hexadecimal decoded);
        ``processed``, ``dropped`` (backlog full) and ``time_squeeze``
        (a NET_RX run out of budget or time) are always there.

    Examples
    --------
    >>> parse_softnet("0001a2b3 00000000 00000004\\n")[0]["time_squeeze"]
    4
    """
    out = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) < 3:
            raise _bad("/proc/net/softnet_stat", line, "at least three hexadecimal columns")
        try:
            values = [int(w, 16) for w in words]
        except ValueError:
            raise _bad("/proc/net/softnet_stat", line, "hexadecimal columns") from None
        out.append({k: v for k, v in zip(SOFTNET_COLUMNS, values) if not k.startswith("_")})
    return out


def parse_snmp(text: str) -> dict:
    """Protocol counters from /proc/net/snmp (a namespace's own).

    Parameters
    ----------
    text : str
        The file's contents: per protocol, a line of names and a line of
        values, both starting ``Proto:``.

    Returns
    -------
    dict
        ``{"Udp": {"RcvbufErrors": 0, ...}, "Ip": {...}, ...}``.

    Examples
    --------
    >>> parse_snmp("Udp: InDatagrams RcvbufErrors\\nUdp: 10 2\\n")["Udp"]["RcvbufErrors"]
    2
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    out = {}
    for names, values in zip(lines[::2], lines[1::2]):
        if names[0] != values[0] or not names[0].endswith(":") or len(names) != len(values):
            raise _bad("/proc/net/snmp", " ".join(values), "a names line and a values line "
                       "of one protocol, alike in length")
        try:
            out[names[0][:-1]] = {k: int(v) for k, v in zip(names[1:], values[1:])}
        except ValueError:
            raise _bad("/proc/net/snmp", " ".join(values), "integer counters") from None
    if len(lines) % 2:
        raise _bad("/proc/net/snmp", " ".join(lines[-1]), "a values line after each names line")
    return out


@dataclass(frozen=True)
class Snapshot:
    """The four counter files, parsed, at one moment."""

    stat: dict = field(default_factory=dict)
    softirqs: dict = field(default_factory=dict)
    interrupts: dict = field(default_factory=dict)
    softnet: list = field(default_factory=list)


def snapshot(root: str | Path = "/proc") -> Snapshot:
    """Read and parse the four files under ``root`` (a saved copy works too).

    Parameters
    ----------
    root : str or Path
        ``/proc`` on a live system, or a folder holding ``stat``,
        ``softirqs``, ``interrupts`` and ``net/softnet_stat``.

    Returns
    -------
    Snapshot
    """
    root = Path(root)
    read = (lambda *parts: root.joinpath(*parts).read_text())
    return Snapshot(stat=parse_stat(read("stat")), softirqs=parse_softirqs(read("softirqs")),
                    interrupts=parse_interrupts(read("interrupts")),
                    softnet=parse_softnet(read("net", "softnet_stat")))


def _minus(after, before):
    if isinstance(after, dict):
        return {k: _minus(v, before.get(k, 0 if not isinstance(v, (dict, list)) else
                                        type(v)())) for k, v in after.items()
                if not isinstance(v, str)}
    if isinstance(after, list):
        return [_minus(a, b) for a, b in zip(after, before + [{}] * (len(after) - len(before)))]
    return after - before


def delta(before: Snapshot, after: Snapshot) -> Snapshot:
    """Counters accumulated between two snapshots (descriptions dropped).

    Parameters
    ----------
    before, after : Snapshot
        The earlier and the later reading.

    Returns
    -------
    Snapshot

    Examples
    --------
    >>> a = Snapshot(softirqs={"NET_RX": {0: 5}})
    >>> b = Snapshot(softirqs={"NET_RX": {0: 9}})
    >>> delta(a, b).softirqs
    {'NET_RX': {0: 4}}
    """
    return Snapshot(stat=_minus(after.stat, before.stat),
                    softirqs=_minus(after.softirqs, before.softirqs),
                    interrupts=_minus(after.interrupts, before.interrupts),
                    softnet=_minus(after.softnet, before.softnet))
