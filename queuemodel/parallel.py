"""The paper's first open question: packet-level parallelism for one flow.

One overlay flow is capped by one core because every softirq stage of the
flow runs where its interrupt lands.  Two ways to use ``k`` cores instead:

* **pipeline**: cut the receive path into ``k`` contiguous groups of stages,
  one core each, packets handed from core to core (as RPS hands packets
  from the NIC's core to another, once);
* **spread**: spray the flow's packets over ``k`` cores that each run every
  softirq stage for their share, then put them back in order for the
  transport and the single reading thread.

And what Linux already offers: **RPS** (:func:`rps`), the two-core pipeline
with its cut fixed after the NIC's GRO.

Both start from the model's own cycles per message of every receive stage
at the single-flow operating point (:func:`receive_work`), so whatever the
model says about a path carries over.  What a hand-off costs is a stated
prior (:class:`Handoff`): the cache lines of a packet moving between cores,
and an inter-processor interrupt with a softirq entry per batch of
``napi_weight`` packets.  Rate-dependent overheads (interrupts, wake-ups)
stay at their single-core values, which overstates their share at the
higher rates a split reaches, so the caps are slightly conservative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import number
from .errors import ModelInputError

__all__ = ["Handoff", "receive_work", "pipeline", "rps", "spread", "parallel_caps",
           "ReceiveWork", "Split"]


@dataclass(frozen=True)
class Handoff:
    """What it costs to move a packet (or segment) from one core to another.

    Attributes
    ----------
    lines_per_unit : float
        Cache lines that change core with each unit: prior, the ``sk_buff``
        (4 lines of 64 B) and the headers the next stage reads (2 lines).
    transfer_ns : float
        One cache-to-cache transfer between cores of one socket: prior,
        ~80 ns on Broadwell-EP (Intel MLC loaded-latency figures, 70-100 ns).
    ipi_cycles : float
        Sending and taking one inter-processor interrupt that kicks the next
        core's softirq: prior, ~1 us (2200 cycles at 2.2 GHz), paid once per
        batch of ``napi_weight`` units, as RPS does.
    reorder_cycles_per_unit : float
        Putting sprayed TCP segments back in order (out-of-order queue
        insert and the later in-order splice): prior, 600 cycles per
        segment; UDP keeps no order and pays nothing.
    """

    lines_per_unit: float = 6.0
    transfer_ns: float = 80.0
    ipi_cycles: float = 2200.0
    reorder_cycles_per_unit: float = 600.0

    def cycles_per_unit(self, ghz: float, softirq_entry_cycles: float,
                        napi_weight: float) -> float:
        """Cycles the receiving core pays per unit handed to it."""
        return (self.lines_per_unit * self.transfer_ns * ghz
                + (self.ipi_cycles + softirq_entry_cycles) / napi_weight)


@dataclass(frozen=True)
class ReceiveWork:
    """A receive path reduced to blocks of work per message, in path order.

    Attributes
    ----------
    names : tuple of str
        Block names: the first is the interrupt block (hard IRQ, the NIC's
        poll and its GRO, which run where the interrupt lands); the last, ``reader``, is
        the receiving thread (syscalls, copy, wake-ups); softirq stages between.
    cycles : numpy.ndarray
        Cycles per message of each block.
    units_in : numpy.ndarray
        Units per message (packets, segments or datagrams) entering each block.
    transport : int
        Index of the first block that needs in-order delivery (TCP), or -1.
    rate_per_s : float
        Messages per second of the flow on one core (the model's prediction).
    ceiling_per_s : float
        What the rest of the system allows: the link and the sender.
    ghz, softirq_entry_cycles, napi_weight, msg_bytes : float
        Host and workload values the hand-off and throughput need.
    """

    names: tuple
    cycles: np.ndarray
    units_in: np.ndarray
    transport: int
    rate_per_s: float
    ceiling_per_s: float
    ghz: float
    softirq_entry_cycles: float
    napi_weight: float
    msg_bytes: float


def receive_work(path="docker-overlay", proto: str = "tcp", msg_bytes=None,
                 host=None) -> ReceiveWork:
    """Cycles per message of each receive block of one flow, from the model.

    Parameters
    ----------
    path : str or Path
        The path.
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : int, optional
        Message size (default the paper's).
    host : Host, optional
        Host profile (default the paper's testbed).

    Returns
    -------
    ReceiveWork

    Examples
    --------
    >>> w = receive_work("docker-overlay", "tcp")
    >>> w.names[0], w.names[-1], round(float(w.rate_per_s * w.cycles.sum()) / 2.2e9, 3)
    ('irq+nic_rx+gro', 'reader', 1.0)
    """
    from .hosts import paper_testbed
    from .model import DEFAULT_MSG_BYTES, predict
    from .paths import get_path
    from .solver import compile_side, path_features

    host = host or paper_testbed()
    p = get_path(path)
    msg = float(msg_bytes if msg_bytes is not None else DEFAULT_MSG_BYTES[proto])
    r = predict(path=p, proto=proto, msg_bytes=msg, host=host)
    cap = float(host.ghz) * 1e9
    rate = float(r.message_rate_per_s)
    per_msg = {k[3:]: float(v) * cap / rate for k, v in r.stages.items() if k.startswith("rx:")}
    rx = compile_side(p, "rx", proto, host)
    counts, _, _ = path_features(p, proto, msg, host)
    labels = list(rx.labels)
    batching = {s.name: s.batching for s in p.rx}
    # The interrupt block: the hard IRQ, the NIC's poll and the GRO it calls (with a
    # software checksum GRO validates first), all on the core the NIC interrupts (RPS,
    # too, hands packets on only after GRO).  A GRO behind a poll of its own (VXLAN's
    # gro_cells) is not the NIC's.
    end = int(np.flatnonzero(rx.poll)[0]) + 1 if rx.poll.any() else 1
    for i in range(end, len(labels)):
        if rx.poll[i]:
            break
        if batching.get(labels[i]) in ("gro", "tunnel_gro"):
            end = i + 1
            break
    reader_from = int(np.flatnonzero(rx.context >= 2)[0])
    names, cycles, units = [], [], []
    head = labels[:end]
    names.append("+".join(head))
    cycles.append(sum(per_msg[n] for n in head) + per_msg["softirq_entry"])
    units.append(float(counts[1]))
    for i in range(end, reader_from):
        names.append(labels[i])
        cycles.append(per_msg[labels[i]])
        units.append(float(counts[max(int(rx.feature[i]), 0)]))
    names.append("reader")
    cycles.append(sum(per_msg[n] for n in labels[reader_from:]) + per_msg["context_switch"])
    units.append(float(counts[max(int(rx.feature[reader_from]), 0)]))
    # The transport, which wants its segments in order: the first softirq stage that
    # runs for TCP only and keeps per-flow state (TCP's receive, whatever its name).
    by_name = {s.name: s for s in p.rx}
    transport = next((k for k, n in enumerate(names) if n in by_name
                      and by_name[n].protocols == ("tcp",)
                      and by_name[n].flow_state_lines > 0), -1)
    sent = rate / max(1.0 - float(r.drop_fraction), 1e-300)      # UDP sends what it drops too
    sender = sent / max(float(r.core_utilisation["tx:app-core"]), 1e-300)
    link = float(r.link_goodput_gbps) * 1e9 / (8.0 * msg)
    return ReceiveWork(names=tuple(names), cycles=np.array(cycles), units_in=np.array(units),
                       transport=transport, rate_per_s=rate, ceiling_per_s=min(sender, link),
                       ghz=float(host.ghz), softirq_entry_cycles=float(host.softirq_entry_cycles),
                       napi_weight=float(host.napi_weight), msg_bytes=msg)


@dataclass(frozen=True)
class Split:
    """How ``k`` cores share one flow's receive work, and what that gives.

    Attributes
    ----------
    k : int
        Cores.
    groups : tuple of tuple of str
        Blocks on each core (pipeline), or the blocks every core runs (spread).
    busiest_cycles : float
        Cycles per message of the busiest core.
    throughput_gbps : float
        The flow's goodput: the busiest core's rate, capped by the link and
        the sender.
    limit : str
        ``"cores"``, ``"link or sender"``.
    """

    k: int
    groups: tuple
    busiest_cycles: float
    throughput_gbps: float
    limit: str


def _finish(work: ReceiveWork, k, groups, busiest) -> Split:
    rate = work.ghz * 1e9 / busiest
    limited = rate >= work.ceiling_per_s
    rate = min(rate, work.ceiling_per_s)
    return Split(k=k, groups=tuple(groups), busiest_cycles=float(busiest),
                 throughput_gbps=float(rate * work.msg_bytes * 8.0 / 1e9),
                 limit="link or sender" if limited else "cores")


def pipeline(work: ReceiveWork, k: int, handoff: Handoff = Handoff()) -> Split:
    """The best cut of the receive blocks into at most ``k`` contiguous groups.

    Each group runs on a core of its own; a group that does not start the
    path pays the hand-off for every unit entering it.  The cut minimises
    the busiest core's cycles per message (exact dynamic programme over
    the contiguous partitions).

    Parameters
    ----------
    work : ReceiveWork
        From :func:`receive_work`.
    k : int
        Cores (at most one per block is used).
    handoff : Handoff
        Cost of moving a unit between cores.

    Returns
    -------
    Split

    Examples
    --------
    >>> w = receive_work("docker-overlay", "tcp")
    >>> one = pipeline(w, 1)
    >>> round(float(one.throughput_gbps), 2), len(pipeline(w, 3).groups) <= 3
    (6.46, True)
    """
    k = _cores(k)
    h = handoff.cycles_per_unit(work.ghz, work.softirq_entry_cycles, work.napi_weight)
    c, u = work.cycles, work.units_in
    n = c.size
    prefix = np.concatenate([[0.0], np.cumsum(c)])

    def load(i, j):                      # blocks i..j-1 on one core
        return prefix[j] - prefix[i] + (h * u[i] if i > 0 else 0.0)

    k = max(1, min(int(k), n))
    best = np.full((k + 1, n + 1), np.inf)
    cut = np.zeros((k + 1, n + 1), dtype=int)
    best[0, 0] = 0.0
    for g in range(1, k + 1):
        for j in range(1, n + 1):
            for i in range(g - 1, j):
                value = max(best[g - 1, i], load(i, j))
                if value < best[g, j]:
                    best[g, j], cut[g, j] = value, i
    g = int(np.argmin(best[1:, n])) + 1
    groups, j = [], n
    while g > 0:
        i = cut[g, j]
        groups.append(work.names[i:j])
        j, g = i, g - 1
    return _finish(work, k, groups[::-1], best[1:, n].min())


def rps(work: ReceiveWork, handoff: Handoff = Handoff()) -> Split:
    """What RPS does with one flow: its one cut, right after the NIC's GRO.

    Receive packet steering leaves the interrupt block (hard IRQ, the NIC's
    poll and its GRO) on the core the NIC interrupts and hands every unit GRO
    passes on to the flow's RPS core (``get_rps_cpu``, ``enqueue_to_backlog``,
    an inter-processor interrupt per softirq run), which runs the rest of the
    softirq work; the reader is woken there, where its socket is fed.  So
    for one flow RPS is the two-core pipeline with its cut fixed after the
    first block, whatever the best cut would be (:func:`pipeline`), and the
    hand-off is paid per unit GRO hands on: per wire packet where GRO cannot
    merge them (an overlay's VXLAN packets without tunnel offloads).  The
    model's :attr:`~queuemodel.host.Host.rps` moves a flow's whole work to
    its RPS core instead; this is the split itself.

    Parameters
    ----------
    work : ReceiveWork
        From :func:`receive_work`.
    handoff : Handoff
        Cost of moving a unit between cores.

    Returns
    -------
    Split
        Two groups (one, the whole path, for a path of one block).

    Examples
    --------
    >>> native = rps(receive_work("native", "tcp"))       # 64 KB segments handed on
    >>> round(float(native.throughput_gbps), 1), native.limit
    (37.7, 'link or sender')
    >>> docker = rps(receive_work("docker-overlay", "tcp"))   # every wire packet handed on
    >>> bool(docker.throughput_gbps < pipeline(receive_work("docker-overlay", "tcp"), 1)
    ...      .throughput_gbps)
    True
    """
    c, u = work.cycles, work.units_in
    if c.size < 2:
        return _finish(work, 1, [work.names], float(c.sum()))
    h = handoff.cycles_per_unit(work.ghz, work.softirq_entry_cycles, work.napi_weight)
    busiest = max(float(c[0]), float(c[1:].sum()) + h * float(u[1]))
    return _finish(work, 2, [work.names[:1], work.names[1:]], busiest)


def spread(work: ReceiveWork, k: int, handoff: Handoff = Handoff()) -> Split:
    """Spray the flow's packets over ``k`` cores; one reading thread collects them.

    The interrupt block stays whole on the core the NIC interrupts (one
    queue's interrupt, poll and GRO are serial), which then sprays what GRO
    hands on, like RPS per packet instead of per flow; every core, that one
    included, runs the other softirq blocks for ``1/k`` of the units, and
    the reader runs on one core.  Units handed to other cores
    pay the hand-off; TCP pays the re-ordering cost per unit entering the
    transport.

    Parameters
    ----------
    work : ReceiveWork
        From :func:`receive_work`.
    k : int
        Cores sharing the flow's packets.
    handoff : Handoff
        Cost of moving a unit between cores, and of re-ordering TCP.

    Returns
    -------
    Split

    Examples
    --------
    >>> w = receive_work("docker-overlay", "udp")
    >>> bool(spread(w, 1).throughput_gbps == pipeline(w, 1).throughput_gbps)
    True
    """
    k = _cores(k)
    h = handoff.cycles_per_unit(work.ghz, work.softirq_entry_cycles, work.napi_weight)
    c, u = work.cycles, work.units_in
    if k == 1:
        return _finish(work, 1, [work.names], float(c.sum()))
    reorder = handoff.reorder_cycles_per_unit * u[work.transport] if work.transport > 0 else 0.0
    share = (float(c[1:-1].sum()) + reorder) / k        # each core's part of the middle
    first = float(c[0]) + share                         # the interrupted core keeps 1/k
    other = share + h * u[1] / k                        # the rest take 1/k each, handed over
    # The reader sits on one of the other cores and takes the units the others hand it.
    reader = float(c[-1]) + h * u[-1] * (k - 1) / k
    busiest = max(first, other + reader)
    return _finish(work, k, [work.names], busiest)


def parallel_caps(path="docker-overlay", proto: str = "tcp", ks=range(1, 9),
                  handoff: Handoff = Handoff(), msg_bytes=None, host=None) -> dict:
    """Single-flow throughput for ``k`` cores by pipeline and by spraying.

    Parameters
    ----------
    path : str or Path
        The path.
    proto : {'tcp', 'udp'}
        Transport protocol.
    ks : iterable of int
        Core counts.
    handoff : Handoff
        Hand-off and re-ordering costs.
    msg_bytes : int, optional
        Message size (default the paper's).
    host : Host, optional
        Host profile (default the paper's testbed).

    Returns
    -------
    dict
        ``k``, ``pipeline_gbps``, ``spread_gbps`` (arrays), ``rps_gbps``
        (RPS's own two-core cut, :func:`rps`), the ``splits`` themselves, and
        ``pays_off_until``: for each strategy the largest
        ``k`` whose extra core still adds at least 5 % (beyond it the
        busiest core is one that cannot be split further, or the link or
        the sender binds).

    Examples
    --------
    >>> caps = parallel_caps("docker-overlay", "tcp", ks=[1, 2])
    >>> bool(caps["pipeline_gbps"][1] > caps["pipeline_gbps"][0])
    True
    """
    ks = [_cores(k) for k in ks]
    if not ks:
        raise ModelInputError("ks", ks, "at least one core count")
    work = receive_work(path, proto, msg_bytes, host)
    pipe = [pipeline(work, k, handoff) for k in ks]
    spray = [spread(work, k, handoff) for k in ks]
    steered = rps(work, handoff)
    out = {"k": np.array(ks), "pipeline_gbps": np.array([s.throughput_gbps for s in pipe]),
           "spread_gbps": np.array([s.throughput_gbps for s in spray]),
           "rps_gbps": steered.throughput_gbps,
           "splits": {"pipeline": pipe, "spread": spray, "rps": steered}, "work": work}
    out["pays_off_until"] = {name: _pays_off(ks, out[f"{name}_gbps"])
                             for name in ("pipeline", "spread")}
    return out


def _cores(k) -> int:
    """A core count: an integer >= 1 (a float that is one is accepted)."""
    if isinstance(k, (bool, np.bool_)):
        raise ModelInputError("k", k, "an integer >= 1")
    return int(number("k", k, low=1, high=1_000_000, integer=True))


def _pays_off(ks, gbps, gain: float = 0.05) -> int:
    last = ks[0]
    for prev, k, a, b in zip(ks, ks[1:], gbps, gbps[1:]):
        if b < a * (1.0 + gain):
            break
        last = k
    return last
