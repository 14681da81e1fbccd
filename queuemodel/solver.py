"""The solver: stages in tandem on shared cores, and the rate they sustain.

How a prediction is made (the derivations live in ``derivations/``):

1. **Granularity.**  Walking a path side in order, each stage sees either
   wire packets, GRO/GSO segments, IP fragments, whole datagrams or
   messages, decided by the batching stages upstream and the host's
   offloads (:func:`compile_side`).  This is structure only, cached per
   (path, protocol, offload flags).
2. **Static work per message.**  A stage costs
   ``units * (cycles_per_unit + misses * dram_latency_ns * ghz)
   + bytes * cycles_per_byte`` cycles per message, where ``units`` is how
   many of its units one message makes (:func:`features`).
3. **Rate-dependent work per message.**  Interrupts: moderation holds an
   interrupt back ``tau`` after the first packet, or until ``frames``
   packets, so ``min(frames, 1 + lambda * tau)`` packets share one
   interrupt (:func:`packets_per_interrupt`); packets of one TSO segment
   or one fragmented datagram arrive back to back and count as one burst;
   and NAPI masks interrupts
   while it polls, so only packets that find it idle raise one
   (:func:`interrupts_per_message`).  Each interrupt costs the
   hard-IRQ stage, one softirq entry, and at least one poll of every NAPI
   stage; a delivery that finds its reader asleep wakes it (two context
   switches, and one more ``read()`` inside a message), at most once per
   unit its socket is told of: a datagram, or a stream's segment
   (:func:`wakeups_per_message`; how many readers one polling period
   delivers to is :func:`readers_per_interrupt`).  These per-message
   overheads fall as the rate grows.
4. **Capacity.**  Hard IRQ preempts softirq preempts process context, but
   all of them share one core's cycles, so the core sustains message rate
   ``R`` while ``R * (static + overhead(R)) <= ghz * 1e9``.  The largest
   such ``R`` is the fixed point of ``R -> cap / (static + overhead(R))``,
   reached monotonically from above because the overhead per message
   never grows with ``R`` (:func:`solve_rate`).
5. **Tandem.**  A flow gets the smallest of: each receiver core's rate,
   the sender core's rate, the link's goodput and the offered rate.  TCP
   is throttled to that minimum end to end; UDP senders are not, so the
   receiver takes what it can and the rest is dropped at the ring.

This module solves one receive CPU (and one sender); :mod:`queuemodel.flows`
places many flows on CPUs and shares the link among them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from . import wire
from .host import Host
from .paths import over_veth
from .stage import CONTEXTS, Path, Stage

__all__ = [
    "CoreLoad",
    "Interrupts",
    "CompiledSide",
    "compile_side",
    "nic_segments",
    "features",
    "path_features",
    "tcp_writes_per_burst",
    "sender_stages",
    "gated_counts",
    "packets_per_interrupt",
    "moderation_delay_us",
    "solve_rate",
    "overload_band",
    "softirq_runs_per_message",
    "polls_per_run",
    "ksoftirqd_deferral",
    "interrupts_per_message",
    "wakeups_per_message",
    "wakeup_cycles",
    "readers_per_interrupt",
    "FEATURE_NAMES",
    "PROC_STAT_COLUMN",
]

#: Per-message counts a stage's unit can be charged on.
FEATURE_NAMES = ("message", "wire_packet", "rx_segment", "tx_segment")
_ONE, _WIRE, _RXSEG, _TXSEG = range(4)
_INTERRUPT = -1

#: Gates: the stage always runs, only for a fragmented datagram, or never
#: (its work is offloaded to the NIC).
_ALWAYS, _FRAG_ONLY, _NEVER = range(3)
#: What each value of :attr:`CompiledSide.gate` means.
GATE_NAMES = ("always", "fragments only", "never")

#: Where each context is accounted in /proc/stat.
PROC_STAT_COLUMN = {"hardirq": "irq", "softirq": "softirq", "syscall": "sys", "user": "usr"}

#: Core roles on a side: the flow's interrupt/softirq core, the application's core.
FLOW_CORE, APP_CORE = 0, 1

_MAX_ITERATIONS = 2000
#: Whole bursts in ``a`` packets are ``floor(a / b * _WHOLE)``: a whole number of
#: bursts that rounding puts a hair below stays whole.
_WHOLE = 1.0 + 1e-12
_RTOL = 1e-11
_Q_MAX = 0.9


@dataclass(frozen=True)
class CompiledSide:
    """One path side reduced to arrays over its active stages.

    Attributes
    ----------
    labels : tuple of str
        Stage names in path order.
    context : numpy.ndarray
        Index into :data:`queuemodel.stage.CONTEXTS` per stage.
    core : numpy.ndarray
        ``FLOW_CORE`` (hard IRQ, softirq) or ``APP_CORE`` (syscall, user).
    feature : numpy.ndarray
        Index into :data:`FEATURE_NAMES`, or -1 for per-interrupt stages.
    gate : numpy.ndarray
        Whether the stage always runs, only for fragmented datagrams, or never.
    cycles_per_unit, cycles_per_byte, cycles_per_invocation, misses_per_unit : numpy.ndarray
        The stages' costs.
    flow_state_lines : numpy.ndarray
        Cache lines of per-flow state each stage touches per unit.
    shared_lines : numpy.ndarray
        Lines per unit each stage writes in common with every other CPU
        (:attr:`queuemodel.stage.Stage.shared_lines_per_unit`).
    poll : numpy.ndarray
        Which stages are NAPI polls.
    unit_col : numpy.ndarray
        Column of the gated count table (:func:`gated_counts`) each stage's
        units are read from: the feature, shifted by 4 when the stage runs
        only for fragmented datagrams, or 8 (always zero) when it never
        runs or is charged per interrupt.
    byte_col : numpy.ndarray
        Column of the gated byte table: 0 always, 1 only when fragmented,
        2 never.
    reads_received : numpy.ndarray
        Which stages read the received payload first
        (:attr:`queuemodel.stage.Stage.reads_received_bytes`).
    orphans : tuple
        What makes a stage of this side take packets from the sending socket
        (:attr:`queuemodel.stage.Stage.orphans_skb`): ``True`` (always) and
        the names of the host flags that decide it, each once.
    """

    labels: tuple
    context: np.ndarray
    core: np.ndarray
    feature: np.ndarray
    gate: np.ndarray
    cycles_per_unit: np.ndarray
    cycles_per_byte: np.ndarray
    cycles_per_invocation: np.ndarray
    misses_per_unit: np.ndarray
    flow_state_lines: np.ndarray
    shared_lines: np.ndarray
    poll: np.ndarray
    unit_col: np.ndarray
    byte_col: np.ndarray
    reads_received: np.ndarray
    orphans: tuple = ()


def gated_counts(counts, fragmented, msg_bytes):
    """Count and byte tables with the fragment-only and never-run gates folded in.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(N, 4)`` per-message counts from :func:`features`.
    fragmented : numpy.ndarray
        ``(N,)``, 1.0 where the datagram is fragmented.
    msg_bytes : numpy.ndarray
        ``(N,)`` message sizes.

    Returns
    -------
    units : numpy.ndarray
        ``(N, 9)``: the counts, the counts times ``fragmented``, and zeros.
    data : numpy.ndarray
        ``(N, 3)``: bytes, bytes times ``fragmented``, and zeros.
    """
    frag = fragmented[:, None]
    zero = np.zeros((counts.shape[0], 1))
    units = np.concatenate([counts, counts * frag, zero], axis=1)
    data = np.concatenate([msg_bytes[:, None], msg_bytes[:, None] * frag, zero], axis=1)
    return units, data


def nic_segments(host: Host) -> bool:
    """Whether the sending NIC cuts TCP segments: its TSO, which needs its transmit
    checksum too (the kernel drops TSO from a device without a checksum feature:
    ``netdev_fix_features``, net/core/dev.c, read in Linux 6.1; that the rule
    is older than 4.4 is from memory, not read in 4.4's source).

    Parameters
    ----------
    host : Host
        Supplies ``tso`` and ``tx_csum``.

    Returns
    -------
    bool

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed, with_overrides
    >>> nic_segments(paper_testbed()), nic_segments(with_overrides(paper_testbed(),
    ...                                                            {"tx_csum": False}))
    (True, False)
    """
    return bool(host.tso and host.tx_csum)


def _offload_flags(host: Host) -> tuple:
    return (nic_segments(host), host.gso, host.gro, host.rx_csum, host.tx_csum,
            host.tunnel_offload, host.sender_on_receive_cpu, host.veth_link, host.forward_tso)


def compile_side(path: Path, side: str, proto: str, host: Host) -> CompiledSide:
    """Decide which unit each stage of one side is charged on, and which run.

    Parameters
    ----------
    path : Path
        The path.
    side : {'tx', 'rx'}
        Sender or receiver.
    proto : {'tcp', 'udp'}
        Transport protocol; stages for the other protocol are dropped.
    host : Host
        Only its offload flags, ``sender_on_receive_cpu`` and ``veth_link``
        matter here.

    Returns
    -------
    CompiledSide

    Notes
    -----
    Receive side: packets start as wire packets.  A ``gro`` stage merges
    TCP packets into segments when GRO is on; ``tunnel_gro`` needs tunnel
    offloads too; ``reassemble`` turns UDP fragments into one datagram;
    ``gso`` cuts merged segments back into wire packets unless the host's
    ``forward_tso`` lets the device they are forwarded out of take them
    whole.  Merging stages are charged on what they take in.  Send side: TCP
    starts as GSO/TSO segments (wire packets if both are off), UDP as one
    datagram.  ``gso`` splits segments into wire packets in software unless
    TSO does it in the NIC (then it costs nothing); ``tunnel_gso`` needs
    tunnel offloads for that; ``fragment`` splits a datagram.  Splitting
    stages are charged on what they put out.  A stage ``offloaded_by`` a
    flag that is on costs nothing, except for a fragmented UDP datagram.

    When the host's ``sender_on_receive_cpu`` is set (one kernel sends and
    receives, as in a namespace testbed), the send side's stages are
    charged to the receive side's flow core, labelled ``sender.NAME``, and
    the send side is left empty: the sender has no CPU of its own.  When
    its ``veth_link`` is set, the path runs without the NIC's stages
    (:func:`queuemodel.paths.over_veth`).

    Examples
    --------
    >>> from queuemodel.paths import LINUX_OVERLAY
    >>> from queuemodel.hosts import paper_testbed
    >>> c = compile_side(LINUX_OVERLAY, "rx", "tcp", paper_testbed())
    >>> dict(zip(c.labels, (FEATURE_NAMES[i] if i >= 0 else "interrupt" for i in c.feature)))["vxlan_rx"]
    'wire_packet'
    """
    return _compile(path, side, proto, _offload_flags(host))


@functools.lru_cache(maxsize=256)
def _compile(path: Path, side: str, proto: str, flags: tuple) -> CompiledSide:
    one_kernel, veth = flags[6], flags[7]
    if veth:
        path = over_veth(path)
    if one_kernel and side == "tx":
        return _pack([])
    rows = [(stage, feature, gate, _core_of(stage, side), stage.name)
            for stage, feature, gate in _walk(path, side, proto, flags)]
    if one_kernel:
        rows = [(stage, feature, gate, FLOW_CORE, "sender." + stage.name)
                for stage, feature, gate in _walk(path, "tx", proto, flags)] + rows
    return _pack(rows)


def sender_stages(path: Path, proto: str, host: Host) -> CompiledSide:
    """The sender's stages, wherever they are charged.

    :func:`compile_side`'s ``"tx"`` side, except on a host whose
    ``sender_on_receive_cpu`` is set: there the send side is empty (its
    stages are charged to the receive side's flow core) and this is them.

    Parameters
    ----------
    path : Path
        The path.
    proto : {'tcp', 'udp'}
        Transport protocol.
    host : Host
        Only its offload flags and ``veth_link`` matter.

    Returns
    -------
    CompiledSide

    Examples
    --------
    >>> from queuemodel.paths import NATIVE
    >>> from queuemodel.hosts import paper_testbed, with_overrides
    >>> one = with_overrides(paper_testbed(), {"sender_on_receive_cpu": True})
    >>> compile_side(NATIVE, "tx", "tcp", one).labels
    ()
    >>> sender_stages(NATIVE, "tcp", one).labels == compile_side(NATIVE, "tx", "tcp",
    ...                                                           paper_testbed()).labels
    True
    """
    flags = _offload_flags(host)
    return _compile(path, "tx", proto, flags[:6] + (False,) + flags[7:])


def _core_of(stage: Stage, side: str) -> int:
    if side == "tx":
        return APP_CORE
    return FLOW_CORE if stage.context in ("hardirq", "softirq") else APP_CORE


def _walk(path: Path, side: str, proto: str, flags: tuple) -> list:
    """``(stage, feature, gate)`` for each stage of one side that runs for ``proto``."""
    tso, gso, gro, rx_csum, tx_csum, tunnel, _one_kernel, _veth, forward_tso = flags
    # A NIC's tunnel offloads ride on its checksum offload on that side: it validates
    # (receiving) or fills in (sending) the inner checksum only with it, and the VXLAN
    # GRO and TSO that rest on that go with it (mlx4_en marks a tunnelled packet's
    # inner checksum checked only under NETIF_F_RXCSUM: en_rx.c, read in Linux 6.1).
    tunnel = tunnel and (rx_csum if side == "rx" else tx_csum)
    flag_on = dict(zip(("tso", "gso", "gro", "rx_csum", "tx_csum", "tunnel_offload"),
                       (tso, gso, gro, rx_csum, tx_csum, tunnel)))
    if side == "rx":
        state = _WIRE
    elif proto == "tcp":
        state = _TXSEG if (tso or gso) else _WIRE
    else:
        state = _ONE
    rows = []
    for stage in getattr(path, side):
        if proto not in stage.protocols:
            continue
        gate = _ALWAYS
        after = state
        charged = state
        kind = stage.batching
        if kind in ("gro", "tunnel_gro"):
            can_merge = proto == "tcp" and gro and (kind == "gro" or tunnel)
            if can_merge and state == _WIRE:
                after = _RXSEG
        elif kind == "reassemble":
            gate = _FRAG_ONLY
            after = _ONE
        elif kind in ("gso", "tunnel_gso"):
            # Sending: the NIC's TSO cuts the segment.  Receiving: the device a merged
            # segment is forwarded out of takes it whole unless its TSO is off.
            hardware = (forward_tso if side == "rx" else tso) and (kind == "gso" or tunnel)
            if hardware:
                gate = _NEVER
            elif state in (_TXSEG, _RXSEG):
                after = charged = _WIRE
            else:
                # Nothing to cut: GRO merged nothing (receiving), or TCP built sk_buffs
                # of one MSS because the device has neither TSO nor GSO (sending; Linux
                # 4.4's sk_can_gso; later kernels build GSO sk_buffs always: Host.gso).
                gate = _NEVER
        elif kind == "fragment":
            gate = _FRAG_ONLY
            after = charged = _WIRE
        if stage.offloaded_by and flag_on[stage.offloaded_by] and gate != _NEVER:
            gate = _FRAG_ONLY if proto == "udp" else _NEVER
        feature = {
            "packet": charged,
            "wire_packet": _WIRE,
            "message": _ONE,
            "interrupt": _INTERRUPT,
        }[stage.unit]
        rows.append((stage, feature, gate))
        state = after
    return rows


def _pack(rows: list) -> CompiledSide:
    def col(fn, dtype=float):
        arr = np.array([fn(s, f, g) for s, f, g, _, _ in rows], dtype=dtype)
        arr.setflags(write=False)
        return arr

    def col_of(values):
        arr = np.array(values, dtype=int)
        arr.setflags(write=False)
        return arr

    unit_col = col(lambda s, f, g: 8 if (f < 0 or g == _NEVER)
                   else f + (4 if g == _FRAG_ONLY else 0), int)
    byte_col = col(lambda s, f, g: g, int)
    return CompiledSide(
        labels=tuple(r[4] for r in rows),
        context=col(lambda s, f, g: CONTEXTS.index(s.context), int),
        core=col_of([r[3] for r in rows]),
        feature=col(lambda s, f, g: f, int),
        gate=col(lambda s, f, g: g, int),
        cycles_per_unit=col(lambda s, f, g: s.cost_cycles_per_unit),
        cycles_per_byte=col(lambda s, f, g: s.cost_cycles_per_byte),
        cycles_per_invocation=col(lambda s, f, g: s.cost_cycles_per_invocation),
        misses_per_unit=col(lambda s, f, g: s.cache_misses_per_unit),
        flow_state_lines=col(lambda s, f, g: s.flow_state_lines),
        shared_lines=col(lambda s, f, g: s.shared_lines_per_unit),
        poll=col(lambda s, f, g: s.poll, bool),
        unit_col=unit_col,
        byte_col=byte_col,
        reads_received=col(lambda s, f, g: s.reads_received_bytes and g != _NEVER, bool),
        orphans=tuple(dict.fromkeys(r[0].orphans_skb for r in rows if r[0].orphans_skb)),
    )


def _per_side(func):
    """Memoise ``func`` of compiled sides and flags: what depends only on a path's
    structure, worked out once instead of at every call.

    The solver's cache (:func:`queuemodel.solver.compile_side`) hands out the
    same side objects again, so they are keyed by identity; the memo holds
    them, so an identity is never reused while its entry lives.  Array
    values come back read-only.
    """
    memo: dict = {}

    @functools.wraps(func)
    def wrapper(*args):
        key = tuple(id(a) if isinstance(a, CompiledSide) else a for a in args)
        hit = memo.get(key)
        if hit is None:
            if len(memo) >= 1024:
                memo.clear()
            value = func(*args)
            _freeze(value)
            hit = memo[key] = (args, value)
        return hit[1]

    return wrapper


def _freeze(value) -> None:
    """Make the arrays in ``value`` (an array or nested tuples of them) read-only."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            _freeze(item)


def features(proto: str, msg_bytes, host: Host, encap_bytes: int, writes_per_burst=1.0):
    """Per-message unit counts and the fragmentation indicator.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : float or numpy.ndarray
        Message size in bytes.
    host : Host
        Supplies ``mtu``, ``gro_max_bytes``, ``gso_max_bytes``, ``napi_weight``
        and ``link_segments``.
    encap_bytes : int
        Tunnel header bytes per packet.
    writes_per_burst : float or numpy.ndarray, optional
        TCP writes that leave together (:func:`tcp_writes_per_burst`); the
        default 1 sends each write alone.  Ignored for UDP.

    Returns
    -------
    counts : numpy.ndarray
        Shape ``(..., 4)``: messages (1), wire packets, receive segments and
        send segments per message (:data:`FEATURE_NAMES`).
    fragmented : numpy.ndarray
        1.0 where a UDP datagram is split into IP fragments, else 0.0.

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed
    >>> counts, frag = features("udp", 8192.0, paper_testbed(), 0)
    >>> counts.tolist(), float(frag)
    ([1.0, 6.0, 6.0, 1.0], 1.0)
    >>> features("tcp", 724.0, paper_testbed(), 0, writes_per_burst=4.0)[0].tolist()
    [1.0, 0.5, 0.25, 0.25]
    """
    n_wire = wire.wire_packets_per_message(proto, msg_bytes, host.mtu, encap_bytes)
    if proto == "tcp":
        mss = wire.tcp_mss_bytes(host.mtu, encap_bytes)
        burst = wire.tcp_burst_bytes(msg_bytes, mss, host.gso_max_bytes, writes_per_burst)
        rx_seg = np.divide(msg_bytes, np.minimum(burst, wire.segment_bytes(
            mss, host.gro_max_bytes, host.napi_weight)))
        tx_seg = np.divide(msg_bytes, burst)
        if not host.link_segments:        # a veth carries the GSO segment whole
            n_wire = rx_seg = np.broadcast_to(tx_seg, np.shape(n_wire))
        else:
            # A burst smaller than the MSS is a wire packet of its own.
            n_wire = np.maximum(n_wire, tx_seg)
        fragmented = np.zeros_like(n_wire)
    else:
        rx_seg = n_wire
        tx_seg = np.ones_like(n_wire)
        fragmented = (n_wire > 1.0).astype(float)
    columns = (1.0, n_wire, rx_seg, tx_seg)
    counts = np.empty(np.broadcast_shapes(*map(np.shape, columns)) + (len(columns),))
    for k, column in enumerate(columns):
        counts[..., k] = column
    return counts, np.asarray(fragmented, dtype=float)


def path_features(path: Path, proto: str, msg_bytes, host: Host, values=None) -> tuple:
    """:func:`features` for ``path``, with the TCP writes a burst gathers worked out
    from its sender (:func:`tcp_writes_per_burst`; 1 for UDP).

    Parameters
    ----------
    path : Path
        The path.
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : float or numpy.ndarray
        Message size in bytes.
    host : Host
        The host (its flags pick the sender's stages).
    values : object, optional
        Where the numeric fields are read from, if not ``host`` (the model's
        flattened host).

    Returns
    -------
    counts, fragmented : numpy.ndarray
        As :func:`features` returns them.
    writes : numpy.ndarray or float
        Writes per burst.

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed
    >>> from queuemodel.paths import NATIVE
    >>> counts, frag, writes = path_features(NATIVE, "udp", 8192.0, paper_testbed())
    >>> counts.tolist(), writes
    ([1.0, 6.0, 6.0, 1.0], 1.0)
    """
    values = host if values is None else values
    writes = (tcp_writes_per_burst(sender_stages(path, proto, host), msg_bytes, values,
                                   path.encap_bytes) if proto == "tcp" else 1.0)
    counts, fragmented = features(proto, msg_bytes, values, path.encap_bytes, writes)
    return counts, fragmented, writes


def tcp_writes_per_burst(tx: "CompiledSide", msg_bytes, host: Host, encap_bytes: int):
    """How many small TCP writes leave together, from the sender's speed.

    A burst that has left holds the writes after it back for
    ``host.tcp_coalesce_hold_us`` (autocorking keeps them until the NIC
    reports the burst sent; Nagle's rule until it is acknowledged), and they
    leave together.  A sender that writes ``R`` messages a second gathers
    ``m = R * hold`` writes a burst; its core writes ``R = cap / c(m)``,
    where ``c(m)``, the sender's stage cycles per message, falls as more
    writes share a burst (its per-segment and per-packet work is shared).
    The fixed point solves ``m c(m) = hold * cap``.  ``m c(m)`` is the
    largest of a few lines in ``m`` (each count of bursts, packets or
    receive segments per message is ``max(1 / m, a floor)``), so the root
    is the smallest of the lines' roots (derivations/coalescing.py,
    ``tcp_writes``).  At least one write (a slow sender, or no hold, sends
    each write alone), at most a GSO segment's worth.

    The sender's flow-state misses (:func:`queuemodel.memory.flow_state_miss`)
    and the receiver's speed are left out: the hold is one number.  (Measured
    on a Linux 6.18 VM, README "Small TCP messages on this VM": a reader that
    binds closes its window and reopens it to 0.6 of its buffer, then
    takes the writer's data in three or four shrinking bursts per buffer;
    a writer that binds has its writes gathered by Nagle's rule for one
    acknowledgement's round trip; autocorking gathered none over a veth.)

    Parameters
    ----------
    tx : CompiledSide
        The sender's stages (:func:`sender_stages`).
    msg_bytes : numpy.ndarray
        Bytes per write.
    host : Host
        Supplies ``ghz``, ``dram_latency_ns``, ``tcp_coalesce_hold_us``,
        ``mtu``, ``gso_max_bytes``, ``gro_max_bytes``, ``napi_weight`` and
        ``link_segments`` (fields may be arrays that broadcast with
        ``msg_bytes``).
    encap_bytes : int
        Tunnel header bytes per packet.

    Returns
    -------
    numpy.ndarray
        Writes per burst, ``>= 1``.

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed, with_overrides
    >>> from queuemodel.paths import get_path
    >>> host = paper_testbed()
    >>> tx = sender_stages(get_path("native"), "tcp", host)
    >>> m = tcp_writes_per_burst(tx, np.array([64.0, 1024.0, 131072.0]), host, 0)
    >>> bool(m[0] > m[1] > 1.0), float(m[2])
    (True, 1.0)
    >>> never = with_overrides(host, {"tcp_coalesce_hold_us": 0.0})
    >>> tcp_writes_per_burst(tx, np.array([64.0]), never, 0).tolist()
    [1.0]
    """
    msg = np.asarray(msg_bytes, dtype=float)
    mss = wire.tcp_mss_bytes(host.mtu, encap_bytes)
    # Cycles per unit of each count column (message, wire packet, receive segment, burst)
    # and per byte: the stages' costs as kernels.stage_cycles charges them.
    per_cycle, per_miss, per_byte = _sender_columns(tx)
    miss = np.multiply(host.dram_latency_ns, host.ghz)
    on = [c + m * miss if m else c for c, m in zip(per_cycle, per_miss)]
    slope = on[0] + msg * per_byte
    hold = np.multiply(host.tcp_coalesce_hold_us, 1e3) * host.ghz       # cycles
    # m c(m) is the largest of a few lines a m + b; the largest reaches the hold's cycles
    # where the first of them does.  Per message a burst of m writes fills max(msg / mss,
    # 1/m) packets, max(msg / gro, 1/m) receive segments and 1/m bursts (over a NIC that
    # cuts segments); over a veth a burst is one packet and one segment.
    lines = [(slope, on[1] + on[2] + on[3])]
    if host.link_segments:
        fill_p = on[1] * msg / mss
        lines.append((slope + fill_p, on[2] + on[3]))
        if np.any(on[2]):
            fill_r = on[2] * msg / wire.segment_bytes(mss, host.gro_max_bytes,
                                                      host.napi_weight)
            lines += [(slope + fill_r, on[1] + on[3]), (slope + fill_p + fill_r, on[3])]
    root = np.inf
    for a, b in lines:
        left = hold - b
        if np.all(a > 0):
            at = left / a
        else:                             # a flat line reaches the hold never, or at once
            at = np.divide(left, a, where=a > 0,
                           out=np.where(left >= 0, np.inf, -np.inf) + np.zeros(np.shape(a)))
        root = np.minimum(root, at)
    most = np.maximum(1.0, wire.segment_bytes(mss, host.gso_max_bytes) / msg)
    return np.minimum(np.maximum(root, 1.0), most)


@_per_side
def _sender_columns(tx: "CompiledSide") -> tuple:
    """Per count column (message, wire packet, receive segment, burst): the side's cycles
    and cache misses per unit; and its cycles per message byte."""
    cycles = tuple(float(tx.cycles_per_unit[tx.unit_col == k].sum()) for k in range(4))
    misses = tuple(float(tx.misses_per_unit[tx.unit_col == k].sum()) for k in range(4))
    return cycles, misses, float(tx.cycles_per_byte[tx.byte_col == 0].sum())


def moderation_delay_us(rate_pps, host: Host, frame_bytes=None):
    """Interrupt moderation delay the NIC applies at a per-queue packet rate.

    Parameters
    ----------
    rate_pps : float or numpy.ndarray
        Packets per second arriving at one receive queue.
    host : Host
        Moderation settings.
    frame_bytes : float or numpy.ndarray, optional
        Mean bytes per frame on the queue, as the NIC counts them (no FCS);
        default: frames above ``adaptive_small_frame_bytes``.

    Returns
    -------
    numpy.ndarray or float
        ``irq_moderation_usecs`` without adaptive moderation; with it, the
        driver's linear ramp from ``adaptive_usecs_low`` (at or below
        ``adaptive_rate_low_pps``) to ``adaptive_usecs_high`` (at or above
        ``adaptive_rate_high_pps``), as mlx4_en's auto-moderation does,
        except on a queue of small frames (``frame_bytes <=
        adaptive_small_frame_bytes``), which keeps ``adaptive_usecs_low``.

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed
    >>> h = paper_testbed()
    >>> [float(moderation_delay_us(r, h)) for r in (1e5, 425e3, 1e6)]
    [0.0, 64.0, 128.0]
    >>> float(moderation_delay_us(1e6, h, frame_bytes=106.0))   # 64-byte datagrams
    0.0
    """
    delay = _DelaySchedule.of(host, frame_bytes)
    return delay.seconds(np.asarray(rate_pps, dtype=float)) * 1e6


class _DelaySchedule:
    """Moderation delay as a function of packet rate, with its constants precomputed.

    ``tau(r) = low_s + span_s * min(1, max(0, (r - rate_low) * inv_width))``;
    without adaptive moderation ``span_s`` is 0 and ``low_s`` the fixed delay.
    A zero-width ramp (equal thresholds) is a step at the threshold.
    """

    __slots__ = ("low_s", "span_s", "rate_low", "inv_width")

    def __init__(self, low_s, span_s, rate_low, inv_width):
        self.low_s, self.span_s, self.rate_low, self.inv_width = low_s, span_s, rate_low, inv_width

    @classmethod
    def of(cls, host, frame_bytes=None) -> "_DelaySchedule":
        if not host.adaptive_moderation:
            return cls(np.multiply(host.irq_moderation_usecs, 1e-6), 0.0, 0.0, 0.0)
        width = np.subtract(host.adaptive_rate_high_pps, host.adaptive_rate_low_pps)
        inv_width = np.divide(1.0, width, out=np.full(np.shape(width), 1e300),
                              where=np.asarray(width) > 0)
        if inv_width.ndim == 0:
            inv_width = float(inv_width)
        span = np.subtract(host.adaptive_usecs_high, host.adaptive_usecs_low) * 1e-6
        if frame_bytes is not None:
            # mlx4_en_auto_moderation (Linux 4.4) moves a ring's delay only while its mean
            # packet exceeds MLX4_EN_AVG_PKT_SMALL; a ring of small frames keeps the low
            # delay at any rate: no ramp.
            span = np.where(np.asarray(frame_bytes) > host.adaptive_small_frame_bytes,
                            span, 0.0)
        return cls(np.multiply(host.adaptive_usecs_low, 1e-6), span,
                   host.adaptive_rate_low_pps, inv_width)

    def seconds(self, rate_pps):
        if np.ndim(self.span_s) == 0 and self.span_s == 0.0:
            return self.low_s + 0.0 * rate_pps
        ramp = np.minimum(1.0, np.maximum(0.0, (rate_pps - self.rate_low) * self.inv_width))
        return self.low_s + self.span_s * ramp

    def take(self, idx) -> "_DelaySchedule":
        return _DelaySchedule(*(_take(getattr(self, n), idx) for n in self.__slots__))


def packets_per_interrupt(rate_pps, host: Host, frame_bytes=None):
    """Packets that share one receive interrupt under moderation.

    Parameters
    ----------
    rate_pps : float or numpy.ndarray
        Packets per second arriving at one receive queue.
    host : Host
        Moderation settings.
    frame_bytes : float or numpy.ndarray, optional
        Mean bytes per frame on the queue (:func:`moderation_delay_us`).

    Returns
    -------
    numpy.ndarray or float
        ``min(frames, 1 + rate * tau)``: the first packet arms the timer,
        the ``rate * tau`` that arrive before it fires share the interrupt,
        and ``frames`` packets fire it early.  Never below 1, never
        decreasing in the rate.

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed
    >>> float(packets_per_interrupt(2e6, paper_testbed()))
    44.0
    """
    tau_s = _DelaySchedule.of(host, frame_bytes).seconds(np.asarray(rate_pps, dtype=float))
    return np.minimum(host.irq_moderation_frames, 1.0 + np.multiply(rate_pps, tau_s))


def interrupts_per_message(rate, n_wire, burst_packets, napi_cycles, per_irq_cycles,
                           capacity, host: Host, frame_bytes=None):
    """Receive interrupts per message under moderation and NAPI.

    Parameters
    ----------
    rate : float or numpy.ndarray
        Messages per second on the queue.
    n_wire : float or numpy.ndarray
        Wire packets per message.
    burst_packets : float or numpy.ndarray
        Packets that reach the NIC back to back, at line rate: a TSO/GSO
        segment's packets, or a datagram's fragments (>= 1).
    napi_cycles : float or numpy.ndarray
        Cycles per message of the hard-IRQ and softirq stages (the work
        done while NAPI is polling), rate-independent part.
    per_irq_cycles : float or numpy.ndarray
        Cycles each interrupt adds to that work (the hard-IRQ stage, one
        softirq entry and one poll of every NAPI stage).
    capacity : float or numpy.ndarray
        Cycles per second of the core.
    host : Host
        Moderation settings.
    frame_bytes : float or numpy.ndarray, optional
        Mean bytes per frame on the queue (:func:`moderation_delay_us`).

    Returns
    -------
    numpy.ndarray or float
        Interrupts per message, ``(1 - u) * m / (1 + k * R * m)``.

    Notes
    -----
    Bursts arrive at ``beta = R * n_wire / b`` per second.  Moderation
    holds an interrupt ``tau`` after the burst that arms it, so
    ``1 + beta * tau`` bursts share it, unless ``frames`` packets
    (``frames / b`` bursts) fire it first; never fewer than one burst:
    ``m = (n_wire / b) / max(1, min(frames / b, 1 + beta * tau))``
    interrupts per message when NAPI is idle.  NAPI masks the interrupt
    while it polls, and a burst finds it idle a fraction ``1 - rho`` of the
    time (PASTA).  With ``rho = u + k * irq_rate``, ``u = R * napi_cycles /
    capacity``, ``k = per_irq_cycles / capacity`` and ``irq_rate = (1 - rho)
    * R * m``, solving for ``irq_rate`` gives the form above.  It never
    grows with ``R`` and falls to zero as polling fills the core.

    Examples
    --------
    >>> from queuemodel.hosts import paper_testbed
    >>> h = paper_testbed()
    >>> float(interrupts_per_message(1e3, 1.0, 1.0, 0.0, 0.0, 2.2e9, h))   # slow: one each
    1.0
    >>> float(interrupts_per_message(1e3, 6.0, 6.0, 0.0, 0.0, 2.2e9, h))   # one burst, one IRQ
    1.0
    >>> float(interrupts_per_message(1e5, 1.0, 1.0, 22000.0, 0.0, 2.2e9, h))  # saturated
    0.0
    """
    return _irq_per_message(
        np.asarray(rate, dtype=float), n_wire, np.divide(n_wire, burst_packets),
        np.divide(host.irq_moderation_frames, burst_packets), np.divide(napi_cycles, capacity),
        np.divide(per_irq_cycles, capacity), _DelaySchedule.of(host, frame_bytes))


def _irq_per_message(rate, n_wire, bursts, frames_per_burst, napi_load, irq_load, delay):
    """:func:`interrupts_per_message` with its rate-independent ratios precomputed."""
    tau_s = delay.seconds(rate * n_wire)
    per_irq = np.maximum(1.0, np.minimum(frames_per_burst, 1.0 + rate * bursts * tau_s))
    moderated = bursts / per_irq
    idle = np.maximum(0.0, 1.0 - rate * napi_load)
    return idle * moderated / (1.0 + rate * irq_load * moderated)


def steady_exit_mix(wait_s, available_s, scv, residency_s=(), exit_s=()):
    """Mean and mean square exit latency of a reader's sleeps: at random (``v >= 1``) after
    an exponential idle of mean ``g`` (:func:`idle_exit_moments`), at a steady pace (``v =
    0``) in the deepest state that fits in what each gap leaves (:func:`steady_idle_exit`),
    and mixed in the shares ``min(v, 1)`` and ``1 - min(v, 1)`` between.

    Examples
    --------
    >>> mean, _ = steady_exit_mix(1e-3, 3e-3, 0.5, [400e-6], [133e-6])
    >>> round(float(mean) * 1e6, 1)                # (133 e^-0.4 + 133) / 2
    111.1
    """
    random = np.minimum(np.asarray(scv, dtype=float), 1.0)
    mean, square = idle_exit_moments(wait_s, residency_s, exit_s)
    paced = steady_idle_exit(available_s, residency_s, exit_s)
    return (random * mean + (1.0 - random) * paced,
            random * square + (1.0 - random) * paced * paced)


def idle_states_s(states_us) -> tuple:
    """``Host.idle_states_us`` as two ``(K,)`` float arrays in seconds: residencies, exits.

    Examples
    --------
    >>> idle_states_s(((20.0, 10.0),))
    (array([2.e-05]), array([1.e-05]))
    """
    table = np.asarray(states_us, dtype=float).reshape(-1, 2) * 1e-6
    return np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])


def idle_exit_moments(wait_s, residency_s=(), exit_s=()):
    """Mean and mean square of the exit latency of the idle state a sleeping CPU wakes from.

    Parameters
    ----------
    wait_s : float or numpy.ndarray
        Mean seconds the CPU idles before the wake-up, ``g``.
    residency_s, exit_s : sequence of float
        The idle states' target residencies ``r_k`` (strictly rising) and
        exit latencies ``e_k`` (never falling), seconds
        (:func:`idle_states_s`).  Empty: the CPU polls and wakes at once.

    Returns
    -------
    tuple of numpy.ndarray
        ``sum_k (e_k - e_{k-1}) exp(-r_k / g)`` and ``sum_k (e_k^2 -
        e_{k-1}^2) exp(-r_k / g)`` with ``e_0 = 0``.

    Notes
    -----
    The CPU idles a time ``T``, exponential with mean ``g`` (the wake-up law's
    wait, :func:`wakeups_per_message`), and ``cpuidle`` puts it in the deepest
    state whose target residency ``T`` reaches (a governor that predicts the
    idle time well: the ``menu`` governor's repeating-interval detection on a
    steady flow of deliveries; a hypervisor that polls an idle vCPU for a
    fixed time and then deschedules it does exactly this).  The exit latency
    is then a step function of ``T``, rising by ``e_k - e_{k-1}`` at ``r_k``,
    and its square likewise by ``e_k^2 - e_{k-1}^2``; ``P(T >= r) = exp(-r /
    g)`` gives both moments (``derivations/idle.py``).  Both rise with ``g``
    from 0 (a CPU that never idles long enough) to ``e_K`` and ``e_K^2``.

    Examples
    --------
    >>> mean, square = idle_exit_moments(1e-3, [400e-6], [133e-6])   # C6 only
    >>> round(float(mean) * 1e6, 1), round(float(square) * 1e12)      # 133 e^-0.4
    (89.2, 11857)
    >>> float(idle_exit_moments(1e-3)[0])                               # polling
    0.0
    """
    g = np.asarray(wait_s, dtype=float)[..., None]
    r = np.asarray(residency_s, dtype=float)
    e = np.asarray(exit_s, dtype=float)
    if r.size == 0:
        zero = np.zeros(g.shape[:-1])
        return zero, zero.copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reached = np.where(r > 0.0, np.exp(-r / g), 1.0)       # g = 0: 0; g = inf: 1
    below = np.concatenate(([0.0], e[:-1]))
    return (np.sum((e - below) * reached, axis=-1),
            np.sum((e * e - below * below) * reached, axis=-1))


def steady_idle_exit(available_s, residency_s=(), exit_s=()):
    """Exit latency of the idle state a steadily fed reader's CPU reaches between deliveries.

    Parameters
    ----------
    available_s : float or numpy.ndarray
        Seconds of each gap left once the reader has read its delivery, been
        woken and switched, ``A = F - L - c / C`` (:func:`wakeups_per_message`).
    residency_s, exit_s : sequence of float
        The idle states (:func:`idle_states_s`).

    Returns
    -------
    numpy.ndarray
        ``e_k`` of the deepest state with ``r_k + e_k <= A`` (0 where none).

    Notes
    -----
    Deliveries a fixed gap apart, each read before the next: the CPU idles
    ``T = A - X`` of every gap, one length each time, and leaving the state
    takes ``X`` of the gap too, so a state fits only if its residency and its
    exit latency both do.  A governor that predicts the steady idle well picks
    the deepest that fits.

    Examples
    --------
    >>> states = ([2e-6, 20e-6, 100e-6, 400e-6], [2e-6, 10e-6, 40e-6, 133e-6])
    >>> [round(float(steady_idle_exit(a, *states)) * 1e6) for a in (3e-6, 5e-6, 100e-6, 1e-3)]
    [0, 2, 10, 133]
    """
    a = np.asarray(available_s, dtype=float)[..., None]
    r = np.asarray(residency_s, dtype=float)
    e = np.asarray(exit_s, dtype=float)
    if r.size == 0:
        return np.zeros(a.shape[:-1])
    # exits never fall, so the deepest state that fits has the largest exit of those that do
    return np.max(np.where(r + e <= a, e, 0.0), axis=-1)


def wakeups_per_message(rate, interrupts, other_cycles, switch_cycles, capacity, readers=1.0,
                        most=1.0, read_cycles=0.0, latency_s=0.0, arrival_scv=0.0,
                        idle_residency_s=(), idle_exit_s=()):
    """Times per message a receiving application is woken from sleep.

    Parameters
    ----------
    rate : float or numpy.ndarray
        Messages per second.
    interrupts : float or numpy.ndarray
        Interrupts per message (:func:`interrupts_per_message`).
    other_cycles : float or numpy.ndarray
        All other cycles per message on the application's core.
    switch_cycles : float or numpy.ndarray
        Cycles one wake-up costs (two context switches: in and out).
    capacity : float or numpy.ndarray
        Cycles per second of that core.
    readers : float or numpy.ndarray, optional
        Readers one polling period delivers to, ``d``
        (:func:`readers_per_interrupt`); 1 for one flow per CPU.
    most : float or numpy.ndarray, optional
        The most deliveries one message can make, ``m``: 1 for a datagram,
        the segments it arrives in for a stream (a stream socket is told of
        every segment).
    read_cycles : float or numpy.ndarray, optional
        Cycles of a ``read()`` beyond its bytes, ``e``: paid again by a
        reader woken inside a message, which calls ``read()`` once more.
    latency_s : float or numpy.ndarray, optional
        Seconds from the delivery that wakes a reader to its reading, ``L``
        (``Host.wake_latency_us``); 0: at once.
    arrival_scv : float or numpy.ndarray, optional
        How irregularly the deliveries come, ``v``: 0 at a steady pace (a
        sender as fast as it can go, the default), 1 at random (Poisson).
    idle_residency_s, idle_exit_s : sequence of float, optional
        The reader's CPU's idle states (:func:`idle_states_s`); a sleep of
        wait ``g`` adds their mean exit latency ``X(g)``
        (:func:`idle_exit_moments`) to ``L``.  Default: none.

    Returns
    -------
    numpy.ndarray or float
        ``min(D, D (1 - u) / (v + (1 - min(v, 1)) (1 - u) / 2 + R D (L + X(g)
        + c / C)))`` with ``D = min(m, d * i)`` deliveries per message, ``u =
        R * other_cycles / C``, the cost of a wake-up ``c = s + e * max(0, 1 -
        1 / D)`` (:func:`wakeup_cycles`) and the wait ``g`` of the Notes.

    Notes
    -----
    A reader that keeps up drains what is queued and sleeps; the next
    delivery wakes it, and it reads only ``L`` later, draining what came
    meanwhile too before it sleeps again.  Each sleep leaves its core idle
    for the wait ``g`` until that delivery and the latency: ``1 - rho = W
    (g + L)`` for ``W`` sleeps a second, where ``rho = u + c * W / C``
    counts the wake-ups' own cycles.  Deliveries come every ``1 / (R D)``
    seconds.  At a steady pace a reader catches up after reading the last
    delivery whole, so somewhere in the part of the gap its reading leaves
    free, ``(1 - u) / (R D)``; at a phase spread evenly over it, it waits
    half of that.  At random (Poisson) it waits ``1 / (R D)`` on average,
    whenever it starts (memoryless).  ``g = (v + (1 - min(v, 1)) (1 - u) /
    2) / (R D)`` takes both, ``v`` the deliveries' squared coefficient of
    variation.  A sleep that long takes the CPU into an idle state it
    leaves ``X(g)`` later on average (:func:`idle_exit_moments`).  Solving
    gives ``W = (1 - u) / (g + L + X(g) + c / C)``, at most one per
    delivery, hence the form above, which never lets the core exceed its
    capacity; without idle states (``X = 0``) it never grows as the reader
    gets busier (with them a busier reader sleeps in shallower states, and
    can sleep more often).  With ``v = 1``, ``L = 0`` and no idle states it is ``D (1 - u) / (1 + c D R / C)``: each delivery
    finds the reader asleep with the core's idle share (PASTA).  A core at
    its capacity wakes no one, so ``d``, ``m`` and ``e`` never change what
    a core sustains, only what a core below capacity spends.  (Measured on
    a VM, README "How often a reader sleeps": iperf3's server slept as
    often as ``min(1, (1 - u) / (R (g + L)))`` a message says with the
    steady ``g`` and one ``L`` of 2.5 us, within 16 % on 15 of 16 workloads
    that sleep; traced, its waits were 0.3-5.2 us, near the steady ``g``,
    and each wake-up took 4.0-4.8 us to the return of its ``select``.  An
    idle share ``1 - u`` of the deliveries, Poisson arrivals' chance of
    finding it asleep, missed 128 KB TCP by 2.9-4.9x.)

    Examples
    --------
    >>> float(wakeups_per_message(1e4, 3.0, 0.0, 0.0, 2.2e9))
    1.0
    >>> float(wakeups_per_message(1e4, 3.0, 0.0, 0.0, 2.2e9, most=90.0))   # a 128 KB write
    3.0

    At 400k datagrams a second from a steady sender, 70 % busy, a 3 us
    latency: each sleep waits 0.3 / 2 of a 2.5 us gap and then 3 us, one
    sleep per (0.15 + 1.2) / 0.3 = 4.5 datagrams.

    >>> round(float(wakeups_per_message(4e5, 1.0, 0.7 * 2.2e9 / 4e5, 0.0, 2.2e9,
    ...                                 latency_s=3e-6)), 6)
    0.222222

    At 100k a second a steady sender leaves the reader 3 us of each 10 us gap,
    all of which the 3 us latency takes: no idle state fits (C1 needs 2 us of
    residency and 2 of exit), and it sleeps 0.3 / 0.45 = 0.67 times a
    datagram.  Poisson datagrams make it wait 10 us on average, long enough
    for C1 a share exp(-0.2) of the time: each sleep lasts 10 + 3 + 1.64 us,
    0.3 / 1.46 = 0.205 a datagram (0.231 on a CPU that polls).

    >>> c1 = dict(latency_s=3e-6, idle_residency_s=[2e-6], idle_exit_s=[2e-6])
    >>> [round(float(wakeups_per_message(1e5, 1.0, 0.7 * 2.2e9 / 1e5, 0.0, 2.2e9,
    ...                                  arrival_scv=v, **c1)), 4) for v in (0.0, 1.0)]
    [0.6667, 0.205]
    """
    per_delivery = np.minimum(most, np.multiply(readers, interrupts))
    cost = wakeup_cycles(switch_cycles, per_delivery, read_cycles)
    idle = np.maximum(0.0, 1.0 - np.multiply(rate, other_cycles) / capacity)
    # A sleep's share of the idle time, per message: the wait (its R D g below), the
    # latency and the wake-up's own cycles, times the deliveries a second.
    steady = 1.0 - np.minimum(arrival_scv, 1.0)
    waiting = np.add(arrival_scv, steady * idle / 2.0)          # R D g
    deliveries = np.multiply(rate, per_delivery)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        wait_s = np.where(deliveries > 0.0, waiting / deliveries, np.inf)
        gap_s = np.where(deliveries > 0.0, idle / deliveries, np.inf)
    exit_s = steady_exit_mix(wait_s, gap_s - np.add(latency_s, np.divide(cost, capacity)),
                             arrival_scv, idle_residency_s, idle_exit_s)[0]
    per_sleep = np.add(waiting, np.multiply(deliveries, np.add(np.add(latency_s, exit_s),
                                                               np.divide(cost, capacity))))
    # (nothing to pay per sleep: every delivery wakes it; 1e-300 keeps that finite)
    return np.minimum(per_delivery, per_delivery * idle / np.maximum(per_sleep, 1e-300))


def wakeup_cycles(switch_cycles, deliveries, read_cycles=0.0):
    """Cycles one wake-up costs: two context switches, and the reads a message restarts.

    Parameters
    ----------
    switch_cycles : float or numpy.ndarray
        Cycles of the two context switches, ``s``.
    deliveries : float or numpy.ndarray
        Deliveries per message, ``D`` (:func:`wakeups_per_message`).
    read_cycles : float or numpy.ndarray, optional
        Cycles of a ``read()`` beyond its bytes, ``e``.

    Returns
    -------
    numpy.ndarray or float
        ``s + e * max(0, 1 - 1 / D)``.

    Notes
    -----
    A message that arrives in ``D > 1`` deliveries is read in ``D`` calls
    when the reader sleeps between them (``read()`` returns what is queued,
    and the reader's loop calls it again for the rest), ``D - 1`` more
    than the one the message's own cost counts: a share ``1 - 1 / D`` of
    its wake-ups restarts a read.

    Examples
    --------
    >>> float(wakeup_cycles(6600.0, 4.0, 2000.0))
    8100.0
    >>> float(wakeup_cycles(6600.0, 0.5, 2000.0))     # a message per delivery or less
    6600.0
    """
    deliveries = np.asarray(deliveries, dtype=float)
    restarted = np.maximum(0.0, 1.0 - np.divide(1.0, deliveries, out=np.ones(deliveries.shape),
                                                 where=deliveries > 0))
    return switch_cycles + np.multiply(read_cycles, restarted)


def readers_per_interrupt(flows, packets, run_packets):
    """Readers one polling period delivers to, when ``flows`` flows share its CPU.

    Parameters
    ----------
    flows : int or numpy.ndarray
        Flows whose packets the CPU receives (each with its own reader), ``k``.
    packets : float or numpy.ndarray
        Packets one polling period takes, ``p`` (wire packets per message
        over interrupts per message).
    run_packets : float or numpy.ndarray
        Packets each flow's runs on the wire hold, ``L``
        (``host.rx_flow_run_packets``).

    Returns
    -------
    numpy.ndarray or float
        ``max(1, k * (1 - (1 - 1 / k) ** (p / L)))``; 1 for one flow.

    Notes
    -----
    The period's ``p / L`` runs each come from one of the ``k`` flows at
    random, so a flow is missing from all of them with chance
    ``(1 - 1 / k) ** (p / L)``; the expected number present is ``k`` times
    the complement (as for the flows one NAPI poll holds,
    :func:`queuemodel.flows.gro_segments_per_packet`).  A period always
    carries at least one flow.

    Examples
    --------
    >>> float(readers_per_interrupt(1, 50.0, 1.0))
    1.0
    >>> round(float(readers_per_interrupt(2, 2.0, 1.0)), 6)     # 2 (1 - 1/4)
    1.5
    """
    k = np.asarray(flows, dtype=float)
    runs = np.divide(packets, run_packets)
    present = k * (1.0 - (1.0 - np.divide(1.0, k, out=np.ones(k.shape), where=k > 0)) ** runs)
    return np.maximum(1.0, present)


def _no_idle_states() -> np.ndarray:
    """No idle state to wake from (a polling CPU): ``CoreLoad``'s default."""
    return np.zeros(0)


@dataclass(frozen=True)
class CoreLoad:
    """The cycles one core spends per message, over a flat array of scenarios.

    Attributes
    ----------
    capacity : float or numpy.ndarray
        Cycles per second, a scalar or shape ``(N,)`` (likewise
        ``irq_cycles`` and ``switch_cycles``).
    static : numpy.ndarray
        Rate-independent cycles per message, ``(N,)``.
    irq_cycles : numpy.ndarray
        Cycles per receive interrupt charged here (hard-IRQ stages and the
        softirq entry), ``(N,)``; zero on a core that takes no interrupt.
    poll_cycles : numpy.ndarray
        Cycles per invocation of each NAPI poll stage on this core, ``(k,)``.
    poll_floor : numpy.ndarray
        Polls per message each poll stage needs when batch-limited
        (units per message / ``napi_weight``), ``(N, k)``.
    switch_cycles : numpy.ndarray
        Cycles per wake-up of the reader (two context switches) if it
        runs on this core, else zero, ``(N,)``.
    wake_latency_s : float or numpy.ndarray
        Seconds from a wake-up to the reader's reading
        (:func:`wakeups_per_message`'s ``latency_s``), a scalar or ``(N,)``.
    wake_arrival_scv : float or numpy.ndarray
        How irregularly messages reach the reader (its ``arrival_scv``): 0
        at a steady pace, 1 at random; a scalar or ``(N,)``.
    idle_residency_s, idle_exit_s : numpy.ndarray
        ``(K,)`` the reader's CPU's idle states (:func:`idle_states_s`);
        default none.
    """

    capacity: np.ndarray
    static: np.ndarray
    irq_cycles: np.ndarray
    poll_cycles: np.ndarray
    poll_floor: np.ndarray
    switch_cycles: np.ndarray
    wake_latency_s: "np.ndarray | float" = 0.0
    wake_arrival_scv: "np.ndarray | float" = 0.0
    idle_residency_s: np.ndarray = field(default_factory=_no_idle_states)
    idle_exit_s: np.ndarray = field(default_factory=_no_idle_states)

    def take(self, idx):
        """The same core for a subset of scenarios."""
        return CoreLoad(_take(self.capacity, idx), self.static[idx], _take(self.irq_cycles, idx),
                        self.poll_cycles, self.poll_floor[idx], _take(self.switch_cycles, idx),
                        _take(self.wake_latency_s, idx), _take(self.wake_arrival_scv, idx),
                        self.idle_residency_s, self.idle_exit_s)

    def terms(self, rate, ipm):
        """Rate-dependent cycles per message: (interrupts and polls, wake-ups).

        Parameters
        ----------
        rate : numpy.ndarray
            Messages per second, ``(N,)``.
        ipm : numpy.ndarray
            Interrupts per message, ``(N,)``.

        Returns
        -------
        tuple of numpy.ndarray
        """
        dyn = self.irq_cycles * ipm
        if self.poll_cycles.size:
            dyn = dyn + np.einsum("ij,j->i", np.maximum(ipm[:, None], self.poll_floor),
                                  self.poll_cycles)
        if np.ndim(self.switch_cycles) == 0 and self.switch_cycles == 0.0:
            return dyn, 0.0 * dyn
        wake = wakeups_per_message(rate, ipm, self.static + dyn, self.switch_cycles,
                                   self.capacity, latency_s=self.wake_latency_s,
                                   arrival_scv=self.wake_arrival_scv,
                                   idle_residency_s=self.idle_residency_s,
                                   idle_exit_s=self.idle_exit_s)
        return dyn, self.switch_cycles * wake

    def overhead(self, rate, ipm):
        """Total rate-dependent cycles per message (never increasing in ``rate``)."""
        dyn, switch = self.terms(rate, ipm)
        return dyn + switch


class Interrupts:
    """What decides the receive interrupt rate, over a flat array of scenarios.

    Parameters
    ----------
    n_wire, burst_packets, napi_cycles, per_irq_cycles, capacity : numpy.ndarray or float
        As in :func:`interrupts_per_message`; arrays are ``(N,)``.
    moderation : object
        Moderation settings with the :class:`~queuemodel.host.Host` field
        names, each a scalar or an ``(N,)`` array.
    frame_bytes : numpy.ndarray or float, optional
        Mean bytes per frame on the queue (:func:`moderation_delay_us`).
    """

    def __init__(self, n_wire, burst_packets, napi_cycles, per_irq_cycles, capacity,
                 moderation, frame_bytes=None, _parts=None):
        self.n_wire = n_wire
        if _parts is None:
            _parts = (np.divide(n_wire, burst_packets),
                      np.divide(moderation.irq_moderation_frames, burst_packets),
                      np.divide(napi_cycles, capacity), np.divide(per_irq_cycles, capacity),
                      _DelaySchedule.of(moderation, frame_bytes))
        self._parts = _parts

    def take(self, idx):
        """The same model for a subset of scenarios."""
        *ratios, delay = self._parts
        return Interrupts(self.n_wire[idx], None, None, None, None, None,
                          _parts=(*(_take(r, idx) for r in ratios), delay.take(idx)))

    def per_message(self, rate):
        """Interrupts per message at these rates (:func:`interrupts_per_message`)."""
        return _irq_per_message(rate, self.n_wire, *self._parts)

    def ramp_piece(self, rate):
        """0 below the adaptive moderation ramp (or without one), 1 on it, 2 above it."""
        delay = self._parts[-1]
        pps = np.multiply(rate, self.n_wire)
        over = (pps - delay.rate_low) * delay.inv_width
        piece = np.where(pps < delay.rate_low, 0, np.where(over <= 1.0, 1, 2))
        return np.where(np.asarray(delay.span_s) == 0.0, 0, piece)


def _take(value, idx):
    """``value[idx]`` for an array over scenarios; a scalar applies to all and stays."""
    return value[idx] if np.ndim(value) else value


def softirq_runs_per_message(first_polls, interrupts, napi_stages, polls_per_run=np.inf):
    """NET_RX softirq runs per message for a chain of NAPI stages.

    Parameters
    ----------
    first_polls : float or numpy.ndarray
        Polls per message of the first NAPI stage (the NIC's): at least one
        per interrupt and one per ``napi_weight`` packets.
    interrupts : float or numpy.ndarray
        Interrupts per message.
    napi_stages : int
        NAPI stages on the receive path (native 1, Linux overlay 2: NIC and
        VXLAN gro_cells, Docker overlay 3: and the veth backlog).
    polls_per_run : float or numpy.ndarray, optional
        Full polls one run's budget allows, ``k = ceil(netdev_budget /
        napi_weight)`` (:func:`polls_per_run`); unlimited by default.

    Returns
    -------
    numpy.ndarray or float
        ``max(first_polls + (napi_stages - 1) * interrupts,
        napi_stages * first_polls / polls_per_run)``.

    Notes
    -----
    ``net_rx_action`` polls the NAPI instances queued when it starts; one
    that gets scheduled while it runs (VXLAN's gro_cells, fed by the NIC's
    poll; the backlog, fed by veth) waits for the next run.  So each pass of
    the first stage starts a run, and the packets it hands on need one more
    run per stage downstream, except where a later pass of the first stage
    shares the run (the stages are then pipelined: ``P`` passes take
    ``P + n - 1`` runs).  A run also stops once its polls have taken
    ``netdev_budget`` packets: at most ``k`` full polls, so the ``n P``
    polls of a period need at least ``n P / k`` runs.  A polling period that
    starts with an interrupt and ends when the ring is empty therefore costs
    ``max(P + n - 1, n P / k)`` runs; with Linux's defaults (``k = 5``) and
    at most three NAPI stages, the pipeline decides.

    Examples
    --------
    >>> float(softirq_runs_per_message(1.0, 1.0, 3))   # one burst per IRQ, Docker: 3 runs
    3.0
    >>> float(softirq_runs_per_message(4.0, 1.0, 3, polls_per_run=1))   # one poll a run
    12.0
    """
    pipelined = first_polls + (napi_stages - 1) * np.asarray(interrupts)
    return np.maximum(pipelined, np.divide(napi_stages * np.asarray(first_polls, dtype=float),
                                           polls_per_run))


def polls_per_run(netdev_budget, napi_weight):
    """Full NAPI polls one NET_RX run makes before its budget is spent.

    Parameters
    ----------
    netdev_budget : float or numpy.ndarray
        Packets one run may take (``net.core.netdev_budget``).
    napi_weight : float or numpy.ndarray
        Packets one poll may take.

    Returns
    -------
    numpy.ndarray or float
        ``ceil(netdev_budget / napi_weight)``: Linux 4.4's
        ``net_rx_action`` subtracts each poll's packets from the budget and
        stops after the poll that takes it to zero or below.

    Examples
    --------
    >>> int(polls_per_run(300, 64))
    5
    """
    return np.ceil(np.divide(netdev_budget, napi_weight))


def ksoftirqd_deferral(interrupts, bursts, n_wire, asleep, napi_seconds, napi_weight,
                       napi_stages, max_restart, max_time_s, polls_per_run=np.inf):
    """How often a polling period ends in ksoftirqd, and the share of packets it takes there.

    Parameters
    ----------
    interrupts : float or numpy.ndarray
        Polling periods (interrupts) per message, ``i``.
    bursts : float or numpy.ndarray
        Bursts per message (back-to-back packets: a TSO segment, a datagram's
        fragments), ``B``; ``i <= B``.
    n_wire : float or numpy.ndarray
        Wire packets per message: a burst is ``b = n_wire / B`` packets.
    asleep : float or numpy.ndarray
        Chance the reader sleeps on this CPU when a period starts (0 if it
        runs elsewhere), ``w``.
    napi_seconds : float or numpy.ndarray
        Seconds of this CPU's interrupt and softirq work per message.
    napi_weight : float or numpy.ndarray
        Packets one NAPI poll may take, ``W``.
    napi_stages : int
        NAPI stages in the chain, ``n`` (0: no polling at all).
    max_restart : float or numpy.ndarray
        NET_RX runs ``__do_softirq`` makes before it gives up, ``R``
        (``MAX_SOFTIRQ_RESTART``).
    max_time_s : float or numpy.ndarray
        Time after which it gives up (``MAX_SOFTIRQ_TIME``), ``T``.
    polls_per_run : float or numpy.ndarray, optional
        Full polls one run's budget allows, ``k`` (:func:`polls_per_run`);
        unlimited by default.

    Returns
    -------
    chance, share : numpy.ndarray
        The chance a period hands work to ksoftirqd, and the share of the
        periods' packets processed there; both in [0, 1].

    Notes
    -----
    Linux 4.4's ``__do_softirq`` runs NET_RX again while a run leaves work
    (a poll that used its full weight re-raises it), at most ``R`` runs and
    until ``T`` has passed, and stops early once a task it woke needs the
    CPU (``need_resched()``); whatever is left it hands to ksoftirqd, a
    thread the scheduler then shares with the reader.  Runs are pipelined
    (:func:`softirq_runs_per_message`): the NIC's ``j``-th batch of ``W``
    packets leaves the last stage in run ``j + n - 1``.  So a period runs in
    the interrupt's context for

    * one batch, if the reader slept on this CPU: the run that delivers the
      first batch wakes it, and waking a task on an idle CPU asks for the
      CPU at once;
    * otherwise ``j = min(R + 1 - n, R k / n, T / t)`` batches (at least
      one): the pipeline, the runs' budgets (``R k`` polls, ``n`` per
      batch) and the time, with ``t = W * napi_seconds / n_wire`` the time
      one batch takes.

    A period brings ``K`` bursts, geometric with the model's mean
    ``B / i`` (the memoryless choice for a given mean): ``P(K > x) = q^x``,
    ``q = 1 - i / B``.  The first ``a = W j`` packets run inline, i.e.
    ``m = floor(a / b)`` whole bursts.  The period is handed on when
    ``K > m``: chance ``q^m``; the packets past ``a`` are, over all
    packets, ``q^m (1 - (a - b m)(1 - q) / b)``
    (``derivations/softirq.py``).  Both are mixed over the reader's state
    with ``w``.  Where no period ever ends (``i = 0``: a saturated CPU
    polls for good) both are 1.

    Examples
    --------
    >>> chance, share = ksoftirqd_deferral(0.5, 1.0, 1.0, 0.0, 1e-6, 64, 1, 10, 2e-3)
    >>> round(float(chance), 6)                 # 2 packets per period: 640 fit inline
    0.0
    >>> chance, share = ksoftirqd_deferral(0.0, 1.0, 1.0, 0.0, 1e-6, 64, 1, 10, 2e-3)
    >>> float(chance), float(share)             # saturated: ksoftirqd polls for good
    (1.0, 1.0)
    """
    i = np.asarray(interrupts, dtype=float)
    bursts = np.asarray(bursts, dtype=float)
    shape = np.broadcast(i, bursts, n_wire, asleep, napi_seconds, napi_weight, max_restart,
                         max_time_s).shape
    if napi_stages == 0:
        return np.zeros(shape), np.zeros(shape)
    q = np.clip(1.0 - np.divide(i, bursts, out=np.ones(shape), where=bursts > 0), 0.0, 1.0)
    b = np.divide(n_wire, bursts, out=np.ones(shape), where=bursts > 0)
    batch_s = np.multiply(napi_weight, napi_seconds) / np.asarray(n_wire, dtype=float)
    by_time = np.divide(max_time_s, batch_s, out=np.full(shape, np.inf), where=batch_s > 0)
    runs = np.asarray(max_restart, dtype=float)
    awake = np.maximum(1.0, np.minimum(np.minimum(runs + 1 - napi_stages,
                                                  runs * np.asarray(polls_per_run) / napi_stages),
                                       by_time))
    chance = np.zeros(shape)
    share = np.zeros(shape)
    for part, batches in ((asleep, 1.0), (1.0 - np.asarray(asleep, dtype=float), awake)):
        inline = np.multiply(napi_weight, batches)
        m = np.floor(inline / b * _WHOLE)
        tail = q ** m
        chance = chance + part * tail
        share = share + part * tail * np.minimum(1.0, 1.0 - (inline - b * m) * (1.0 - q) / b)
    return chance, share


def solve_rate(upper, cores, interrupts, from_below=False):
    """Largest message rate every core sustains, at most ``upper`` (or, ``from_below``,
    the first rate a load climbing from nothing cannot pass).

    Parameters
    ----------
    upper : numpy.ndarray
        Rate bound from outside the cores (link, offered load), messages/s,
        shape ``(N,)``.
    cores : sequence
        One object per core with ``capacity`` and ``static`` arrays
        (cycles/s and cycles/message), an ``overhead(rate, ipm)`` method
        giving the rate-dependent cycles per message (non-increasing in
        the rate) and ``take(idx)`` (e.g. :class:`CoreLoad`).
    interrupts : object
        With ``per_message(rate)`` (non-increasing) and ``take(idx)``
        (e.g. :class:`Interrupts`).
    from_below : bool, optional
        Iterate up from a rate of 0 to the *smallest* fixed point: below
        an overload band (:func:`overload_band`) that is the band's lower
        edge, not the capacity above the band: what a load that climbs
        from nothing and never overshoots would get.  (The model takes the
        capacity and lets a CPU cross a band by turns at its edges,
        :func:`queuemodel.flows.expected_spread`'s ``convex``; this is the
        alternative for analysis.)  Default False.

    Returns
    -------
    numpy.ndarray
        The rate, messages per second, ``(N,)``.

    Notes
    -----
    Each core needs ``R * (a + o(R)) <= C``.  The map
    ``T(R) = min(upper, min_k C_k / (a_k + o_k(R)))`` is non-decreasing
    because every ``o_k`` is non-increasing; from ``R_0 = min(upper,
    C_k / a_k)``, which is at least the answer, the iterates fall
    monotonically to the largest fixed point, the answer.

    Two refinements keep it fast.  Where two successive steps shrink
    geometrically by a ratio ``q <= 0.9``, the remaining geometric tail
    ``step * q / (1 - q)`` is added at once (Aitken's extrapolation), and
    the iteration goes on from there.  Only on one side of the adaptive
    moderation ramp, where the map has one fixed point (steps, tail and its
    end all below the ramp or all above it): there an overshoot lands below
    that fixed point and the iteration climbs back to it, where a tail
    measured across the ramp's kinks could leap a band or fall below 0
    (found 2026-11-28: an 88 ns LLC latency gave one CPU an unlimited
    capacity).  Only where ``T`` nearly touches the
    diagonal (``q`` close to 1, a second fixed point near) does the plain
    monotone iteration run on alone.  And scenarios leave the iteration as they converge
    (relative step below 1e-11), so a few slow ones cost little.  Where the slope of the
    map at the answer is very close to 1 (a tangency, a second fixed point close by), the
    iteration can stop at its step limit a little above the answer: at slope 0.99 about
    2e-9 of it (``derivations/capacity.py`` draws its checks below slope 0.95).

    From below, ``R_0 = 0`` and the same map, non-decreasing, lifts the
    iterates monotonically to the smallest fixed point, plainly (an
    extrapolated step could leap a band).  Near a tangency it can stop at its
    step limit a little below the answer.  The compiled loop saves the climb
    where it is safe: where the load rises with the rate (the delay constant:
    no adaptive ramp, or below it) the fixed point there is the only one, so
    it starts at the ramp's start, iterating down as usual if the load is
    over 1 there, and extrapolates only outside the ramp.

    For :class:`CoreLoad` cores and :class:`Interrupts` (every built-in query) the
    iteration runs compiled, one scenario at a time (:func:`queuemodel.kernels.core_rates`,
    tested against this loop); any other core objects take the numpy loop here.
    """
    upper = np.asarray(upper, dtype=float)
    if isinstance(interrupts, Interrupts) and all(isinstance(c, CoreLoad) for c in cores):
        idle = _idle_table(cores)
        if idle is not None:
            return _solve_compiled(upper, cores, interrupts, from_below, idle)
    rate = upper.copy()
    for core in cores:
        rate = np.minimum(rate, _safe_div(core.capacity, core.static))
    # A scenario no core limits (no work at all, nothing outside) stays unlimited.
    active = np.flatnonzero(np.isfinite(rate))
    q_max = -1.0 if from_below else _Q_MAX
    if from_below:
        rate[active] = 0.0
    sub_cores = [core.take(active) for core in cores]
    sub_irq, sub_upper = interrupts.take(active), upper[active]
    last_step = np.zeros(active.size)
    last_piece = np.full(active.size, -1)

    def piece_of(irq, r):
        # Where r lies on the adaptive ramp (Interrupts.ramp_piece); one piece without it.
        ramp = getattr(irq, "ramp_piece", None)
        return np.zeros(np.shape(r), dtype=int) if ramp is None else ramp(r)

    for _ in range(_MAX_ITERATIONS):
        current = rate[active]
        ipm = sub_irq.per_message(current)
        new = sub_upper
        for core in sub_cores:
            new = np.minimum(new, _safe_div(core.capacity,
                                            core.static + core.overhead(current, ipm)))
        piece = piece_of(sub_irq, current)
        last_step = np.where(piece == last_piece, last_step, 0.0)
        step = new - current
        moving = np.abs(step) > _RTOL * current
        q = np.divide(step, last_step, out=np.full_like(step, -1.0), where=last_step != 0.0)
        geometric = moving & (q >= 0.0) & (q <= q_max) & (piece != 1)
        tail = step * np.divide(q, 1.0 - q, out=np.zeros_like(q), where=geometric)
        # A tail stays on the piece of the ramp it was measured on (and above 0).
        target = new + tail
        geometric &= ((target > 0.0) & (piece_of(sub_irq, target) == piece)
                      & (piece_of(sub_irq, new) == piece))
        tail = np.where(geometric, tail, 0.0)
        rate[active] = np.minimum(new + tail, sub_upper)
        last_step = np.where(geometric, 0.0, step)
        last_piece = piece
        if not moving.any():
            break
        if moving.sum() * 2 < moving.size:          # compact once half have converged
            keep = np.flatnonzero(moving)
            active = active[keep]
            sub_cores = [core.take(keep) for core in sub_cores]
            sub_irq = sub_irq.take(keep)
            sub_upper = sub_upper[keep]
            last_step = last_step[keep]
            last_piece = last_piece[keep]
    return rate


def _solve_compiled(upper, cores, interrupts, from_below=False, idle=None):
    """:func:`solve_rate` for :class:`CoreLoad` cores, one scenario at a time, compiled.

    The same iteration (:func:`queuemodel.kernels.core_rates`) without numpy's
    per-call overhead on each step; it is the path every built-in query takes.
    The generic loop above serves any other core (``derivations/capacity.py``)
    and is the reference the compiled one is tested against.
    """
    from .flows import as_row
    from .kernels import core_rates

    size = upper.size
    width = max([c.poll_cycles.size for c in cores] + [1])

    def row(value):
        return as_row(value, size)

    def column(values):
        values = list(values)
        table = np.empty((size, len(values)))
        for j, value in enumerate(values):
            table[:, j] = value
        return table

    poll_cycles = np.zeros((len(cores), width))
    poll_floor = np.zeros((size, len(cores), width))
    for c, core in enumerate(cores):
        k = core.poll_cycles.size
        poll_cycles[c, :k] = core.poll_cycles
        poll_floor[:, c, :k] = core.poll_floor
    bursts, frames, napi_load, irq_load, delay = interrupts._parts
    out = np.empty(size)
    core_rates(np.ascontiguousarray(upper.reshape(size)), column(c.capacity for c in cores),
               column(c.static for c in cores), column(c.irq_cycles for c in cores),
               poll_cycles, poll_floor, column(c.switch_cycles for c in cores),
               column(c.wake_latency_s for c in cores),
               column(c.wake_arrival_scv for c in cores), *(idle or _idle_table(cores)),
               row(interrupts.n_wire), row(bursts), row(frames), row(napi_load), row(irq_load),
               row(delay.low_s), row(delay.span_s), row(delay.rate_low), row(delay.inv_width),
               _MAX_ITERATIONS, _RTOL, _Q_MAX, from_below, out)
    return out.reshape(upper.shape)


def _idle_table(cores) -> tuple:
    """The idle states the cores' readers sleep in, as the compiled loop takes them: one
    host's, the same on every core that has a reader (none where no core has one; None
    where they differ, which only the numpy loop takes)."""
    tables = [(c.idle_residency_s, c.idle_exit_s) for c in cores
              if not (np.ndim(c.switch_cycles) == 0 and c.switch_cycles == 0.0)]
    if not tables:
        return _no_idle_states(), _no_idle_states()
    residency, exit_s = tables[0]
    if any(not (np.array_equal(r, residency) and np.array_equal(e, exit_s)) for r, e in tables):
        return None
    return (np.ascontiguousarray(residency, dtype=float),
            np.ascontiguousarray(exit_s, dtype=float))


#: Grid points over the adaptive-moderation ramp where the overload band is looked for.
_BAND_POINTS = 64
_BAND_CHUNK = 1024          # scenarios per chunk of the band's grid
_BISECTIONS = 45


def _load(cores, interrupts, rate):
    """The busiest core's cycles needed per cycle available at ``rate`` (<= 1: sustained)."""
    ipm = interrupts.per_message(rate)
    worst = np.zeros_like(rate)
    for core in cores:
        worst = np.maximum(worst, rate * (core.static + core.overhead(rate, ipm))
                           / core.capacity)
    return worst


def overload_band(cores, interrupts, capacity, lowest_offer=None):
    """Offers a CPU cannot carry although they are below its capacity, per scenario.

    Parameters
    ----------
    cores, interrupts :
        As for :func:`solve_rate`, over ``N`` scenarios.
    capacity : numpy.ndarray
        ``(N,)`` the CPU's capacity, :func:`solve_rate` without bound.
    lowest_offer : numpy.ndarray, optional
        ``(N,)`` the smallest offer each scenario will be asked about; a
        scenario whose offers all lie above its ramp is skipped (no band can
        touch them).  Default: every scenario is solved.

    Returns
    -------
    low, high : numpy.ndarray
        ``(N,)``: an offer strictly between them is more than the CPU sustains
        and it carries ``low`` instead (the largest rate below the offer it
        sustains); ``inf`` where there is no such band.

    Notes
    -----
    The busy share ``f(R) = R (a + o(R)) / C`` rises with the rate wherever
    the moderation delay is constant: ``R a`` grows and the interrupt,
    poll and wake-up work per second, ``R o(R)``, cannot fall faster than
    the polling work that replaces it.  Only on the adaptive-moderation ramp,
    where the delay grows with the rate, can the per-message overhead fall
    fast enough for ``f`` to drop: a hump whose top may exceed 1.  The band
    is where it does: found on a grid over the ramp, its lower edge is the
    largest sustainable rate below the hump's top (:func:`solve_rate`
    bounded there), its upper edge the first rate past the top that is
    sustained again (bisection).  With a fixed moderation there is no band.
    """
    size = np.size(capacity)
    low, high = np.full(size, np.inf), np.full(size, np.inf)
    sched = interrupts._parts[-1]
    if np.ndim(sched.span_s) == 0 and sched.span_s == 0.0:
        return low, high
    n_wire = np.broadcast_to(np.asarray(interrupts.n_wire, dtype=float), (size,))
    ramp_low = np.broadcast_to(np.asarray(sched.rate_low, dtype=float), (size,)) / n_wire
    width = np.divide(1.0, sched.inv_width, out=np.zeros(np.shape(sched.inv_width)),
                      where=np.asarray(sched.inv_width) < 1e299)
    ramp_top = ramp_low + np.broadcast_to(width, (size,)) / n_wire
    end = np.minimum(ramp_top, capacity)
    has_ramp = (np.broadcast_to(np.asarray(sched.span_s), (size,)) > 0) & (end > 0)
    if lowest_offer is not None:
        has_ramp &= lowest_offer < end
    idx = np.flatnonzero(has_ramp)
    # The grid holds _BAND_POINTS rows per scenario: solved in chunks, it stays a few MB.
    for first in range(0, idx.size, _BAND_CHUNK):
        _solve_bands(cores, interrupts, idx[first:first + _BAND_CHUNK], ramp_low, end,
                     low, high)
    return low, high


def _solve_bands(cores, interrupts, idx, ramp_low, end, low, high):
    """:func:`overload_band` for the scenarios ``idx``, written into ``low`` and ``high``."""
    start = np.minimum(ramp_low[idx], end[idx])
    grid = start[:, None] + (end[idx] - start)[:, None] * np.linspace(0.0, 1.0, _BAND_POINTS)
    rows = np.repeat(idx, _BAND_POINTS)
    flat_load = _load([c.take(rows) for c in cores], interrupts.take(rows), grid.reshape(-1))
    load = flat_load.reshape(idx.size, _BAND_POINTS)
    peak = np.argmax(load, axis=1)
    over = load[np.arange(idx.size), peak] > 1.0 + 1e-12
    if not over.any():
        return
    hit = idx[over]
    top = grid[over, peak[over]]
    sub_cores = [c.take(hit) for c in cores]
    sub_irq = interrupts.take(hit)
    low[hit] = solve_rate(top, sub_cores, sub_irq)
    bad, good = top.copy(), end[hit].copy()          # load(bad) > 1 >= load(good)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (bad + good)
        ok = _load(sub_cores, sub_irq, mid) <= 1.0 + 1e-12
        good = np.where(ok, mid, good)
        bad = np.where(ok, bad, mid)
    high[hit] = good


def _safe_div(num, den):
    """``num / den`` where ``den > 0``, else ``inf`` (a core with no work never limits)."""
    return np.divide(num, den, out=np.full(np.shape(den), np.inf), where=den > 0)
