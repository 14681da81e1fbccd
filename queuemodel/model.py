"""``predict``: one call from a scenario to a :class:`Result`."""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

import numpy as np

from . import flows as flow_model
from . import memory, wire
from .errors import ModelInputError, QueueModelError, UnknownNameError
from .latency import P99, STATION_NAMES, Station, moderation_wait_s, tandem
from .queueing import gamma_quantile, mg1k, reader_blocking
from .host import HOST_FIELDS, Host
from .hosts import paper_testbed, with_overrides
from .paths import get_path
from .solver import (
    APP_CORE, FEATURE_NAMES, FLOW_CORE, PROC_STAT_COLUMN,
    CompiledSide, CoreLoad, Interrupts, _safe_div, compile_side, gated_counts,
    nic_segments, overload_band, polls_per_run, softirq_runs_per_message, solve_rate,
    _per_side, path_features,
)
from .stage import CONTEXTS, Path, Workload

__all__ = ["predict", "evaluate", "Result", "DEFAULT_MSG_BYTES", "OUTPUT_SCALARS",
           "OUTPUT_MAPS"]

#: iperf3 message sizes the paper used (section 3.1): 128 KB TCP writes, 8 KB UDP datagrams.
DEFAULT_MSG_BYTES = {"tcp": 131072, "udp": 8192}

#: Outputs that are one value per scenario, in the order tables show them.
OUTPUT_SCALARS = ("throughput_gbps", "message_rate_per_s", "wire_packet_rate_per_s",
                  "link_goodput_gbps", "irq_rate_per_s", "softirq_rate_per_s",
                  "context_switch_rate_per_s", "ksoftirqd_rate_per_s", "ksoftirqd_share",
                  "drop_fraction", "sender_drop_fraction", "late_drop_fraction",
                  "loss_fraction", "memory_bandwidth_gbytes_per_s", "read_miss_fraction",
                  "capacity_read_miss_fraction", "flow_state_miss_fraction",
                  "shared_line_remote_fraction", "memory_bound_share", "memory_bound_bytes_per_byte",
                  "memory_budget_gbps", "fragment_cache_bound_share", "fragment_cache_fill_s",
                  "cores_used", "flows_per_busy_cpu", "gro_packets_per_segment",
                  "writes_per_burst", "receiver_cpu_total", "sender_cpu_total", "throughput_stderr_gbps",
                  "throughput_sd_gbps", "throughput_p05_gbps", "throughput_p95_gbps",
                  "slowest_flow_gbps", "queue_stable",
                  "latency_mean_us", "latency_p99_us", "bottleneck")
#: The scalar outputs that may be ``inf`` (JSON null in ``to_dict``): an unstable
#: queue's latency, the fill time of a fragment cache that never fills, the DRAM
#: budget of data that costs the DRAM nothing.
UNBOUNDED_OUTPUTS = ("latency_mean_us", "latency_p99_us", "fragment_cache_fill_s",
                     "memory_budget_gbps")
#: The scalar outputs that are numbers (what levers, attribute and solve can aim at).
NUMERIC_OUTPUTS = tuple(n for n in OUTPUT_SCALARS if n not in ("bottleneck", "queue_stable"))
#: Outputs that map names to values (flattened as ``group.key``).
OUTPUT_MAPS = ("receiver_cpu", "sender_cpu", "core_utilisation", "stages",
               "latency_parts_us")

_CPU_KEYS = ("usr", "sys", "softirq", "irq")
_HARDIRQ = CONTEXTS.index("hardirq")
_SOFTIRQ = CONTEXTS.index("softirq")
_SYSCALL = CONTEXTS.index("syscall")


@dataclass(frozen=True)
class Result:
    """What the model predicts for one scenario (or a grid of them).

    Every numeric attribute is a float for a scalar query and a numpy array
    of the broadcast shape for a grid.

    Attributes
    ----------
    path, proto : str
        The scenario's path and protocol.
    throughput_gbps : float or numpy.ndarray
        Application goodput of all flows together, Gb/s: what the CPUs, the
        link and the senders carry on average (the capacity model), less
        what a livelocked CPU's softirq works on and its reader cannot take
        (``Host.overload_defers_softirq`` false), the datagrams an
        overflowing ring cuts (``Host.ring_cuts_fragments``) and what a
        fragment cache they fill refuses (``Host.frag_cache_refuses``).  The bursts that overfill
        a finite ring or socket below capacity are not subtracted here;
        ``loss_fraction`` says how many datagrams they cost.
    message_rate_per_s : float or numpy.ndarray
        Messages (datagrams) per second delivered to the receiving applications.
    wire_packet_rate_per_s : float or numpy.ndarray
        Wire packets per second that the receiver processes: those of the
        delivered messages, and, on a livelocked CPU
        (``Host.overload_defers_softirq`` false), those its softirq works on
        and its socket then drops, or the admitted fragments of datagrams
        its ring cut (``Host.ring_cuts_fragments``) and those a full fragment
        cache refuses (``Host.frag_cache_refuses``).
    link_goodput_gbps : float or numpy.ndarray
        The link's ceiling for this message size and path, Gb/s.
    bottleneck : str or numpy.ndarray
        ``"host:core:stage"``, e.g. ``"receiver:flow-core:vxlan_rx"`` (the
        binding core and the stage that uses most of it), or
        ``"link:line-rate:-"`` / ``"sender:offered-load:-"``.
    receiver_cpu, sender_cpu : dict
        Busy logical CPUs by /proc/stat column: ``usr``, ``sys``,
        ``softirq``, ``irq``.
    receiver_cpu_total, sender_cpu_total : float or numpy.ndarray
        The sum of those four: busy logical CPUs at each end (what the
        paper's CPU figures plot, and what ``levers`` and ``solve`` can aim
        at).
    stages : dict
        Utilisation of its CPU by each stage, ``"rx:nic_rx"`` etc., plus the
        explicit overheads ``rx:softirq_entry`` and ``rx:context_switch``;
        with several flows, the mean over the busy receive (or send) CPUs.
    core_utilisation : dict
        Mean utilisation of the busy CPUs of each role: ``rx:flow-core``,
        ``rx:app-core`` (absent when the application shares the flow core),
        ``tx:app-core``.
    irq_rate_per_s : float or numpy.ndarray
        Receive hard interrupts per second, all flows (0 over a veth link,
        where ``netif_rx`` starts the polling periods without one).
    softirq_rate_per_s : float or numpy.ndarray
        NET_RX softirq runs per second at the receiver (what /proc/softirqs counts).
    context_switch_rate_per_s : float or numpy.ndarray
        Context switches per second from waking the receiving applications.
    ksoftirqd_rate_per_s : float or numpy.ndarray
        Times per second a receive CPU's NET_RX work outlasts
        ``__do_softirq``'s limits and is handed to ksoftirqd, all CPUs
        (:func:`queuemodel.solver.ksoftirqd_deferral`).  Reported only:
        the switch to ksoftirqd is not charged (see the README).
    ksoftirqd_share : float or numpy.ndarray
        Share of the received messages whose NET_RX polling ksoftirqd does
        (0 to 1); near 1, the receive CPUs poll in ksoftirqd for good.
    drop_fraction : float or numpy.ndarray
        Share of sent messages that never reach the receiving application
        (UDP): dropped by the receiver above its capacity, or, for a sender
        whose packets a stage orphans (:attr:`~queuemodel.stage.Stage.orphans_skb`:
        a veth before Linux 4.19, a bridge that calls iptables), by the
        sending NIC's queue when all flows send more than the link carries.
    sender_drop_fraction : float or numpy.ndarray
        The part of ``drop_fraction`` dropped at the sending NIC's queue
        (share of sent messages); the rest the receiver drops.
    late_drop_fraction : float or numpy.ndarray
        The part of ``drop_fraction`` a receive CPU's softirq worked on
        before it was lost (share of sent messages): receive livelock, where
        the softirq keeps preempting the reader past the CPU's capacity
        (``Host.overload_defers_softirq`` false), or the datagrams a ring
        cut, whose admitted fragments are worked on up to reassembly
        (``Host.ring_cuts_fragments``; counted in messages' worth of those
        fragments), and those a full fragment cache refuses
        (``Host.frag_cache_refuses``); 0 where the receiver drops whole
        datagrams at the ring, unworked.
    memory_bandwidth_gbytes_per_s : float or numpy.ndarray
        DRAM traffic of the received data at the receiver, GB/s: reads of
        frames pushed out of the cache before their copy and write-backs
        (:mod:`queuemodel.memory`).
    read_miss_fraction : float or numpy.ndarray
        Share of the received bytes that left the cache before the
        application's copy read them; the copy pays
        :func:`queuemodel.memory.dram_read_cycles_per_byte` more for each.
        A receive CPU's capacity is taken with its queues full, so at the
        misses of full queues; the share charged is never above that.
    capacity_read_miss_fraction : float or numpy.ndarray
        The share a receive CPU at capacity reads from DRAM: the misses of
        full queues, at which its capacity is solved (the contention one
        more flow's window adds where the receive CPUs bind).
    flow_state_miss_fraction : float or numpy.ndarray
        Chance that a line of a flow's own state (its socket, its protocol
        control block) has left the receive core's L2 when the flow's next
        packet touches it (:func:`queuemodel.memory.flow_state_miss`; mean
        over the flows and the lines the receive stages touch per message);
        each such line costs ``llc_latency_ns``.  It grows with the flows
        that share a core.
    shared_line_remote_fraction : float or numpy.ndarray
        Chance that a line every receive CPU writes (the VXLAN socket's
        reference count on Linux before 4.7: a stage's
        ``shared_lines_per_unit``) was last written by another CPU, so comes
        over from its cache in ``line_transfer_ns``: ``1 - E[k] / N`` for
        ``N`` flows, ``k`` of them on the CPU (0 for one flow, or all on one
        CPU); 0 where no stage writes such a line.
    memory_bound_share : float or numpy.ndarray
        The chance (over the flows' hash outcomes) that the receiver's DRAM
        bandwidth, not a CPU or the link, holds the flows back; the
        bottleneck names the memory when it is at least a half.
    memory_bound_bytes_per_byte : float or numpy.ndarray
        DRAM bytes moved per delivered (application) byte in the hash
        outcomes the DRAM holds back (0 where it holds back none): those
        outcomes deliver the bandwidth over it.  The mean over all outcomes
        is ``memory_bandwidth_gbytes_per_s * 8 / throughput_gbps``; the
        bound ones, whose CPUs hold more in the cache, can move more.
    memory_budget_gbps : float or numpy.ndarray
        What the receiver could deliver (application Gb/s, all flows)
        before its DRAM bandwidth holds it back, the mean over the hash
        outcomes (:func:`queuemodel.kernels.dram_budget`: every busy CPU
        holding its queue limit, each outcome at its own busy CPUs); ``inf``
        where the data costs the DRAM nothing.  Each outcome delivers at
        most its budget, so ``throughput_gbps`` never exceeds this.  The
        budget falls as flows are added: their queues make the backlog a
        byte waits behind, so more bytes leave the cache before their copy.
    fragment_cache_bound_share : float or numpy.ndarray
        The chance (over the flows' hash outcomes) that a fragment cache
        filled by cut datagrams holds a receive CPU back
        (``Host.frag_cache_refuses``; 0 without it); the bottleneck names
        the cache (``receiver:fragment-cache:-``) when it is at least a half.
    fragment_cache_fill_s : float or numpy.ndarray
        Seconds from the start until that cache fills (before it, the flows
        get what they would with a cache that evicts); the median over the
        hash outcomes, ``inf`` where it fills in fewer than half of them
        (:func:`queuemodel.kernels._frag_cache_terms`).
    cores_used : float or numpy.ndarray
        Expected receive logical CPUs the flows' hashes land on.
    flows_per_busy_cpu : float or numpy.ndarray
        Expected flows per busy receive CPU.
    gro_packets_per_segment : float or numpy.ndarray
        Mean wire packets per GRO segment at the receiver: fewer when flows
        share a receive queue and its polls
        (:func:`queuemodel.flows.gro_segments_per_packet`); 1 where no
        stage merges (UDP, GRO off).
    writes_per_burst : float or numpy.ndarray
        TCP writes the sender sends together: those its core makes while
        the last burst holds them back (:func:`queuemodel.solver.tcp_writes_per_burst`);
        1 for UDP, and for TCP writes of a GSO segment or more.
    throughput_stderr_gbps : float or numpy.ndarray
        Standard error of ``throughput_gbps`` from the Monte Carlo over hash
        outcomes (0 when every outcome is the same, as for one flow).
    throughput_sd_gbps : float or numpy.ndarray
        How much the throughput of one placement differs from
        ``throughput_gbps``: the standard deviation over the hash outcomes
        (which CPUs the flows land on; a new set of connections draws
        again).  The mean of ``n`` runs that each draw anew spreads
        ``throughput_sd_gbps / sqrt(n)``.
    throughput_p05_gbps, throughput_p95_gbps : float or numpy.ndarray
        5th and 95th percentiles of the throughput over the hash outcomes
        (:data:`queuemodel.flows.OUTCOME_QUANTILES`): the unlucky and the
        lucky placements.  All three equal ``throughput_gbps`` where every
        outcome is the same (one flow; native UDP, whose flows share one
        hash).
    slowest_flow_gbps : float or numpy.ndarray
        Expected throughput of the slowest flow of a placement: the flows
        on one receive CPU share what it carries evenly, so a flow whose
        hash collides with others' gets a share of its CPU
        (``throughput_gbps / flows`` when every flow fares alike).
    queue_stable : bool or numpy.ndarray
        Whether every queue a message passes stays below full load: the
        offered load is finite and carried in full.  Where it is False the
        latencies are ``inf`` (a queue grows without bound).
    latency_mean_us, latency_p99_us : float or numpy.ndarray
        Mean and 99th percentile of a message's time from the sender's
        ``send`` to the end of the receiver's copy, us
        (:mod:`queuemodel.latency`); ``inf`` when not ``queue_stable``.
    latency_parts_us : dict
        Mean time at each station (:data:`queuemodel.latency.STATION_NAMES`), us.
    loss_fraction : float or numpy.ndarray
        Share of UDP datagrams lost at the finite RX ring and socket buffer
        (M/G/1/K), below capacity as well as above, or at the sending NIC's
        queue (``sender_drop_fraction``); never below
        ``drop_fraction``, to which it tends as the buffers grow.  0 for TCP.
    cpu_utilisation : numpy.ndarray
        Expected utilisation of each receive logical CPU, shape ``(..., L)``
        (CPUs a smaller host lacks read 0); computed when first read.  With
        the readers on cores of their own (``app_on_softirq_core=False``)
        it holds the work on the CPUs the queues interrupt; the readers'
        is ``core_utilisation["rx:app-core"]``, on CPUs the model does not
        place.
    """

    path: str
    proto: str
    throughput_gbps: Any
    message_rate_per_s: Any
    wire_packet_rate_per_s: Any
    link_goodput_gbps: Any
    bottleneck: Any
    receiver_cpu: Mapping[str, Any]
    sender_cpu: Mapping[str, Any]
    stages: Mapping[str, Any]
    core_utilisation: Mapping[str, Any]
    irq_rate_per_s: Any
    softirq_rate_per_s: Any
    context_switch_rate_per_s: Any
    ksoftirqd_rate_per_s: Any
    ksoftirqd_share: Any
    drop_fraction: Any
    sender_drop_fraction: Any
    late_drop_fraction: Any
    memory_bandwidth_gbytes_per_s: Any
    read_miss_fraction: Any
    capacity_read_miss_fraction: Any
    flow_state_miss_fraction: Any
    shared_line_remote_fraction: Any
    memory_bound_share: Any
    memory_bound_bytes_per_byte: Any
    memory_budget_gbps: Any
    fragment_cache_bound_share: Any
    fragment_cache_fill_s: Any
    cores_used: Any
    flows_per_busy_cpu: Any
    gro_packets_per_segment: Any
    writes_per_burst: Any
    receiver_cpu_total: Any
    sender_cpu_total: Any
    throughput_stderr_gbps: Any
    throughput_sd_gbps: Any
    throughput_p05_gbps: Any
    throughput_p95_gbps: Any
    slowest_flow_gbps: Any
    queue_stable: Any
    latency_mean_us: Any
    latency_p99_us: Any
    latency_parts_us: Mapping[str, Any]
    loss_fraction: Any
    cpu_parts: tuple = field(repr=False)
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cpu_utilisation(self) -> np.ndarray:
        """Expected utilisation of each receive logical CPU (see the class docstring)."""
        level_busy, topology, tables = self.cpu_parts
        width = max(t.shape[0] for t in tables)
        padded = np.stack([np.pad(t, ((0, width - t.shape[0]), (0, level_busy.shape[-1]
                                                                  - t.shape[1])))
                           for t in tables])                              # (G, L, T)
        chance = padded[topology]                                         # (..., L, T)
        return np.einsum("...t,...lt->...l", level_busy, chance)

    def outputs(self) -> dict:
        """Every output as a flat mapping: scalars by name, mapped ones as ``group.key``.

        The order is :data:`OUTPUT_SCALARS`, then each of :data:`OUTPUT_MAPS`
        (``receiver_cpu.usr``, ``stages.rx:nic_rx``, ...).  Values are as on
        the result (floats, or arrays for a grid); ``bottleneck`` is text,
        ``queue_stable`` boolean.

        Examples
        --------
        >>> out = predict(path="native", proto="tcp").outputs()
        >>> out["throughput_gbps"] == predict().throughput_gbps, "receiver_cpu.usr" in out
        (True, True)
        """
        flat = {name: getattr(self, name) for name in OUTPUT_SCALARS}
        for group in OUTPUT_MAPS:
            flat.update({f"{group}.{k}": v for k, v in getattr(self, group).items()})
        return flat

    def to_dict(self) -> dict:
        """Plain, JSON-ready dictionary (arrays become nested lists).

        Infinite values (the latency of an unstable queue, an unlimited
        ``offered_gbps`` among the inputs) become ``None`` (JSON ``null``).

        Examples
        --------
        >>> d = predict(path="native", proto="tcp").to_dict()
        >>> sorted(d["receiver_cpu"])
        ['irq', 'softirq', 'sys', 'usr']
        """
        out = {}
        for f in dataclasses.fields(self):
            if f.name != "cpu_parts":
                out[f.name] = _plain(getattr(self, f.name))
        out["cpu_utilisation"] = _plain(self.cpu_utilisation)
        return out


def _plain(value):
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None                 # an infinite latency (unstable queue) is JSON null
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            value = np.where(np.isfinite(value), value.astype(object), None)
        return value.tolist() if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def predict(
    path: str | Path = "native",
    proto: str = "tcp",
    flows=1,
    msg_bytes=None,
    host: Host | None = None,
    offered_gbps=math.inf,
    arrival_scv=1.0,
    **overrides,
) -> Result:
    """Predict throughput, CPU use and the bottleneck of a scenario.

    Parameters
    ----------
    path : str or Path
        ``"native"``, ``"linux-overlay"``, ``"docker-overlay"`` or a
        :class:`~queuemodel.stage.Path` of your own.
    proto : {'tcp', 'udp'}
        Transport protocol.
    flows : int or array_like
        Concurrent flow pairs (>= 1).
    msg_bytes : int or array_like, optional
        Bytes per send/receive call; default the paper's (128 KiB TCP,
        8 KiB UDP).
    host : Host, optional
        Host profile; default :func:`queuemodel.hosts.paper_testbed`.
    offered_gbps : float or array_like
        Rate each sender tries to send, Gb/s; ``inf`` = as fast as it can.
        A finite rate gives latencies and finite-buffer loss.
    arrival_scv : float or array_like
        Variability of the times between a sender's messages (1 = Poisson,
        0 = paced): latency, loss, how much waits at a receive CPU below
        capacity (memory traffic; link-bound flows' too, which the link
        interleaves) and how often a reader sleeps between them
        (:func:`queuemodel.solver.wakeups_per_message`).  For the sleeps, a
        sender offered no rate (``inf``) goes as fast as it can, paced by its
        own CPU: taken as 0.
    **overrides
        Host fields to replace, e.g. ``link_gbps=100`` or ``ghz=np.linspace(2, 4, 5)``.

    Returns
    -------
    Result

    Raises
    ------
    ModelInputError
        For an unknown path, protocol or field, or an out-of-range value.

    Examples
    --------
    >>> r = predict(path="docker-overlay", proto="tcp")
    >>> round(float(r.throughput_gbps), 1), r.bottleneck
    (6.5, 'receiver:flow-core:vxlan_rx')
    >>> import numpy as np
    >>> predict(path="native", proto="tcp", ghz=np.array([1.0, 2.2])).throughput_gbps.shape
    (2,)
    """
    return evaluate(*_scenario(path, proto, flows, msg_bytes, host, offered_gbps, arrival_scv,
                               overrides))


def _scenario(path, proto, flows, msg_bytes, host, offered_gbps, arrival_scv,
              overrides) -> tuple:
    """:func:`predict`'s arguments checked: the path, the workload and the host."""
    resolved = get_path(path)
    base = paper_testbed() if host is None else host
    if not isinstance(base, Host):
        raise UnknownNameError("host", type(base).__name__, "a queuemodel.Host")
    unknown = [k for k in overrides if k not in HOST_FIELDS]
    if unknown:
        raise UnknownNameError("field", unknown[0], "a host field: " + ", ".join(HOST_FIELDS))
    if overrides:
        base = with_overrides(base, overrides)
    if msg_bytes is None and proto in DEFAULT_MSG_BYTES:
        msg_bytes = DEFAULT_MSG_BYTES[proto]
    workload = Workload(proto=proto, msg_bytes=msg_bytes, flows=flows,
                        offered_gbps=offered_gbps, arrival_scv=arrival_scv)
    return resolved, workload, base


#: Scenarios solved together; larger grids are cut into blocks this size so the
#: working arrays stay in cache (about 3x faster per scenario than one huge block).
BLOCK = 16384


def evaluate(path: Path, workload: Workload, host: Host) -> Result:
    """Solve one path for a validated workload and host (the pure core of :func:`predict`).

    Parameters
    ----------
    path : Path
        The path.
    workload : Workload
        The workload.
    host : Host
        The host profile (both ends).

    Returns
    -------
    Result
    """
    return _evaluate(path, workload, host)[0]


def _evaluate(path: Path, workload: Workload, host: Host, keep_outcomes: bool = False) -> tuple:
    """:func:`evaluate`, and with ``keep_outcomes`` (one block of scenarios at most) each
    scenario's throughput in every hash pattern: ``(result, outcomes or None)``, the
    outcomes as :func:`_solve_block` keeps them."""
    proto = workload.proto
    rx = compile_side(path, "rx", proto, host)
    tx = compile_side(path, "tx", proto, host)
    shape, size, flat = _flattener(workload, host)
    h = _FlatHost(host, flat)
    msg = _row(flat(workload.msg_bytes), size)
    flows = _row(flat(workload.flows), size)
    offered = _row(flat(workload.offered_gbps), size)
    arrival_scv = _row(flat(workload.arrival_scv), size)
    # One (N, stages) utilisation table per side, written in place by the blocks.
    rx_table = np.empty((size, len(rx.labels) + 2))
    tx_table = np.empty((size, len(tx.labels)))
    registry: dict = {}                   # chance tables of the topologies met, by identity

    def topology_codes(block):
        codes = np.array([registry.setdefault(id(t), (len(registry), t))[0]
                          for t in block.pop("cpu_tables")])
        return codes[block.pop("topology")]

    def solve(sl):
        part = h if size <= BLOCK else h.take(sl)       # one block: the host as it is
        return _solve_block(path, proto, rx, tx, host, part, msg[sl], flows[sl],
                            offered[sl], arrival_scv[sl], rx_table[sl], tx_table[sl],
                            keep_outcomes)

    def store(block, sl):
        for key, value in block.items():
            if isinstance(value, dict):
                for n, v in value.items():
                    merged[key][n][sl] = v
            else:
                merged[key][sl] = value

    blocks = [slice(start, start + BLOCK) for start in range(0, size, BLOCK)]
    kept = None
    if size <= BLOCK:
        merged = solve(blocks[0])
        merged["topology"] = topology_codes(merged)
        kept = merged.pop("outcomes_gbps", None)
    else:
        merged = {}
        laying_out = threading.Lock()

        def solve_into(sl):
            # Each block writes its outputs into the merged arrays in its own thread (the
            # copying is a third of a large grid's work); the first to finish lays them
            # out, so no thread waits for one block alone.  Its topologies come back.
            block = solve(sl)
            tables, topology = block.pop("cpu_tables"), block.pop("topology")
            with laying_out:
                if not merged:
                    merged.update({k: ({n: np.empty(size, a.dtype) for n, a in v.items()}
                                       if isinstance(v, dict)
                                       else np.empty((size,) + v.shape[1:], v.dtype))
                                   for k, v in block.items()})
            store(block, sl)
            return {"cpu_tables": tables, "topology": topology}

        topologies = np.empty(size, dtype=np.int64)
        for sl, block in zip(blocks, _in_order(solve_into, blocks)):
            topologies[sl] = topology_codes(block)    # in block order: the codes are too
        merged["topology"] = topologies
    rx_labels = [f"rx:{n}" for n in rx.labels] + ["rx:softirq_entry", "rx:context_switch"]
    merged["stages"] = dict(zip(rx_labels, rx_table.T))
    merged["stages"].update(zip((f"tx:{n}" for n in tx.labels), tx_table.T))

    def out(value):
        if shape == ():                     # a scalar query: one float, no reshape
            return float(value[0])
        return np.asarray(value, dtype=float).reshape(shape)

    bottleneck = merged.pop("bottleneck")
    stable = merged.pop("queue_stable").reshape(shape)
    level_busy = merged.pop("level_busy_util")
    topology = merged.pop("topology")
    cpu_tables = tuple(t for _, t in sorted(registry.values(), key=lambda item: item[0]))
    result = Result(
        path=path.name,
        proto=proto,
        bottleneck=bottleneck[0] if shape == () else bottleneck.reshape(shape),
        queue_stable=bool(stable) if shape == () else stable,
        cpu_parts=(level_busy.reshape(shape + level_busy.shape[1:]), topology.reshape(shape),
                   cpu_tables),
        inputs={"flows": workload.flows, "msg_bytes": workload.msg_bytes,
                "offered_gbps": workload.offered_gbps, "arrival_scv": workload.arrival_scv,
                "host": host.name},
        **{k: ({n: out(v) for n, v in value.items()} if isinstance(value, dict) else out(value))
           for k, value in merged.items()},
    )
    _check_finite(result)
    return result, kept


def _in_order(solve, blocks):
    """``solve(block)`` for each block, in order; in threads when there are several.

    Much of a block's work runs in compiled loops and numpy calls that release
    the GIL, so two blocks in two threads overlap.  At most one block per
    thread waits to be merged, which bounds the memory held.  A pool lives for
    one call, as in :func:`queuemodel.flows._in_threads`.
    """
    workers = min(flow_model.THREADS, len(blocks))
    if workers < 2:
        yield from map(solve, blocks)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        pending = deque()
        for block in blocks:
            pending.append(pool.submit(solve, block))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


@dataclass(frozen=True, eq=False)
class _ReceiveBlock:
    """What a receive pass (:func:`_receive`) needs, for a block of scenarios."""

    proto: str
    host: Host
    rx: Any
    tx: Any
    h: Any
    groups: list
    size: int
    base_static: np.ndarray
    tx_static: np.ndarray
    units: np.ndarray
    n_wire: np.ndarray
    burst: np.ndarray
    frame_bytes: np.ndarray
    cap: np.ndarray
    shares: list
    flows: np.ndarray
    offered_rate: np.ndarray
    link_rate: np.ndarray
    send_units: np.ndarray
    waiting: dict
    miss_penalty: Any
    reading: np.ndarray
    wake_scv: np.ndarray
    own_caches: bool = False
    keep_outcomes: bool = False


def _receive_cpus(b: _ReceiveBlock, rx_static) -> list:
    """One receive CPU (cores and interrupts) at each hyper-thread share."""
    return [_receive_cpu(b.rx, b.units, rx_static, b.h, b.cap * s, b.n_wire, b.burst,
                         b.frame_bytes, b.wake_scv)
            for s in b.shares]


def _with_misses(b: _ReceiveBlock, read_miss):
    """The receive stages' static cycles when a share ``read_miss`` of the bytes the
    reading stages read comes from DRAM."""
    if b.miss_penalty is None:
        return b.base_static
    static = b.base_static.copy()
    static[:, b.reading] += read_miss[:, None] * b.miss_penalty
    return static


def _receive(b: _ReceiveBlock, read_miss) -> tuple:
    """One receive pass, with a share ``read_miss`` of the copied bytes read from DRAM.

    Builds one receive CPU at each hyper-thread share that occurs (cores,
    interrupts, capacity), the senders, and the flows' expected spread over
    the CPUs.  Returns the receive stages' static cycles, the CPUs, their
    capacity, the senders' pooled rate, the rate each flow's sender offers
    the receiver and sends, and the spread (:func:`flows.expected_spread`).
    """
    rx, tx, size, proto = b.rx, b.tx, b.size, b.proto
    rx_static = _with_misses(b, read_miss)
    cpus = _receive_cpus(b, rx_static)
    # Below a CPU's capacity its load can rise above 1 over a band of rates (the
    # adaptive moderation ramp: solver.overload_band).  Both edges of the band are
    # sustained; the rates between are not.  A CPU offered a rate in the band carries it
    # by turns at the two edges, fully busy (flows.expected_spread's "convex"; its work
    # per message is the edges' mix): a TCP flow's window swings (slow start overshoots,
    # a reader that falls behind closes it), and a CPU that falls behind a steady UDP
    # offer polls its backlog with interrupts off, cheaper per packet, until it has
    # caught up and interrupts resume.
    capacity = np.column_stack([solve_rate(np.full(size, np.inf), list(cores.values()), irq)
                                for cores, irq in cpus])                     # (N, T)

    # The senders: spread over cores (send_units cores' worth in all).  A UDP sender is
    # not throttled and sends its even share.  TCP senders are: a flow whose receiver
    # is slow leaves its share to the others (hyper-thread siblings lend each other the
    # core), so the sending is one pool shared max-min like the link, at most one core
    # per flow.
    one_core = _safe_div(b.cap, b.tx_static.sum(axis=1))
    if b.host.sender_on_receive_cpu:
        # One kernel: veth's netif_rx runs the receive softirq in the sender's context,
        # so a sender goes as fast as its CPU's flow core (sending and softirq work).
        cores, irq = cpus[0]
        one_core = solve_rate(np.full(size, np.inf), [cores["rx:flow-core"]], irq)
    sender_pool = one_core * b.send_units
    if proto == "udp":
        # A UDP sender sends as fast as its CPU (or its offered rate) lets it.  While its
        # socket owns the packets queued for the link, a full link fills the socket's
        # send buffer and blocks it; once a stage orphans them (a veth into another
        # namespace before Linux 4.19, a bridge that hands frames to iptables: the
        # host's flags say which do) nothing holds it back, and the NIC's queue drops
        # the link's excess.  Either way the receivers are offered what the link carries.
        sends = np.minimum(sender_pool / b.flows, b.offered_rate)
        per_flow = np.minimum(sends, b.link_rate / b.flows)
        if not _orphaned(tx.orphans + rx.orphans, b.host):
            sends = per_flow
        budget = b.link_rate
    else:
        per_flow = sends = np.minimum(one_core, b.offered_rate)
        budget = np.minimum(b.link_rate, sender_pool)

    def band(t, lowest):
        # Solve the band only for scenarios with an offer low enough to fall in it.
        cores, irq = cpus[t]
        return overload_band(list(cores.values()), irq, capacity[:, t], lowest)

    # A UDP reader on its softirq's CPU, offered more than the CPU carries: on a kernel
    # whose softirq keeps preempting it the excess is not dropped unworked (livelock).
    waste = lost = slots = frag_cache = None
    if proto == "udp" and b.host.app_on_softirq_core and not b.host.overload_defers_softirq:
        waste = _livelock_waste(rx, rx_static, cpus, capacity)
    elif proto == "udp" and b.host.ring_cuts_fragments:
        # The queue, not the socket, drops the excess: of datagrams too, fragment by
        # fragment, where the flow core binds (a reader's own core that binds fills its
        # socket instead).
        waste = _livelock_waste(rx, rx_static, cpus, capacity)
        lost = np.zeros(capacity.shape)
        for t, (cores, irq) in enumerate(cpus):
            alone = solve_rate(np.full(size, np.inf), [cores["rx:flow-core"]], irq)
            binds = alone <= capacity[:, t] * (1.0 + 1e-9)
            lost[:, t] = np.where(binds, b.n_wire - 1.0, 0.0)
        waste = np.where(lost > 0.0, waste, 0.0)       # elsewhere: whole datagrams dropped
        # A NIC refills its ring once per poll; a veth pair's backlog queue is taken whole.
        slots = _row(b.h.netdev_max_backlog if b.host.veth_link else b.h.napi_weight, size)
        slots = np.asarray(slots, dtype=float)
        # The cut datagrams' fragments wait in the fragment cache; a kernel whose cache
        # refuses when full (not one that evicts) can fill it (kernels._frag_cache_share).
        # Flows with addresses of their own are containers': each a network namespace
        # with a cache of its own.
        held = (_row(b.h.frag_cache_bytes / b.h.rx_buffer_truesize_bytes, size)
                if b.host.frag_cache_refuses else np.full(size, np.inf))
        frag_cache = np.column_stack((held, _row(b.h.frag_timeout_s, size),
                                      np.full(size, float(b.own_caches))))
    spread = flow_model.expected_spread(proto, b.groups, b.flows, capacity, per_flow, budget,
                                        band, b.waiting, convex=True, waste=waste, lost=lost,
                                        slots=slots, frag_cache=frag_cache,
                                        keep_outcomes=b.keep_outcomes)
    return rx_static, cpus, capacity, sender_pool, per_flow, sends, spread


def _livelock_waste(rx, rx_static, cpus, capacity) -> np.ndarray:
    """Softirq over reader seconds per message on a receive flow core at capacity.

    The softirq's share is the interrupt and softirq stages' cycles with the
    interrupts, polls and softirq entries a CPU at capacity takes per
    message; the reader's, the stages in process context with its wake-ups
    on that core, ``inf`` where it has none (a reader on a core of its own).
    :func:`queuemodel.kernels._livelocked` and ``_cut_fragments`` use the
    ratio.  Returns ``(N, T)``.
    """
    soft_static = rx_static[:, rx.context <= _SOFTIRQ].sum(axis=1)
    waste = np.zeros(capacity.shape)
    for t, (cores, irq) in enumerate(cpus):
        core = cores["rx:flow-core"]
        finite = np.isfinite(capacity[:, t])
        rate = np.where(finite, capacity[:, t], 0.0)     # a level that never occurs
        dyn, switch = core.terms(rate, irq.per_message(rate))
        reader = core.static - soft_static + switch
        waste[:, t] = np.where(finite, _safe_div(soft_static + dyn, reader), 0.0)
    return waste


def _saturated_read_miss(b: _ReceiveBlock) -> np.ndarray:
    """The copy's read-miss chance when every busy receive CPU holds its queue limit.

    As :func:`queuemodel.kernels.dram_budget` has it: with ``B`` busy CPUs
    all saturated, a byte waits while the whole backlog ``flows * per_flow +
    B * per_cpu`` is written and is gone with ``exp(-cache / backlog)``;
    averaged over the hash outcomes, each busy CPU counted once.
    """
    w = b.waiting
    out = np.zeros(b.size)
    for idx, patterns in b.groups:
        counts, cpus = patterns.busy_counts
        backlog = (b.flows[idx, None] * w["per_flow"][idx, None]
                   + counts[None, :] * w["per_cpu"][idx, None])
        miss = np.exp(-np.divide(w["cache"][idx, None], backlog,
                                 out=np.full(backlog.shape, np.inf), where=backlog > 0))
        out[idx] = miss @ cpus / cpus.sum()
    return out


def _solve_block(path, proto, rx, tx, host, h, msg, flows, offered, arrival_scv, rx_out,
                 tx_out, keep_outcomes=False) -> dict:
    """Solve a block of flattened scenarios; every value is an ``(N,)`` array.

    The stages' utilisations are written into ``rx_out`` (receive stages,
    then softirq entry and context switches; the mean over busy receive
    CPUs) and ``tx_out`` (the mean over sending cores).  With
    ``keep_outcomes`` the dict also holds ``outcomes_gbps``: per group of
    scenarios, the patterns' probabilities, the draws behind them and their
    ``(n, P)`` throughputs.
    """
    size = msg.size
    # Small TCP writes gather while a burst that left holds them back: a faster sender
    # gathers more (solver.tcp_writes_per_burst).
    counts, frag, writes = path_features(path, proto, msg, host, h)
    # Where the flows land (fragments hash without ports) decides how many share each
    # receive queue's GRO.
    groups = flow_model.placement_groups(proto, path, host, h, flows, frag > 0)
    layout = _layout(rx)
    merges = layout.merges
    if merges:
        counts[:, 2] = counts[:, 1] * flow_model.gro_segments_per_packet(
            groups, counts[:, 2] / counts[:, 1], h.napi_weight, h.rx_flow_run_packets,
            h.gro_max_flows)
    units, data = gated_counts(counts, frag, msg)
    n_wire = counts[:, 1]
    cap = h.ghz * 1e9
    miss_cycles = h.dram_latency_ns * h.ghz
    # Writes that leave alone (no coalescing) put more packets, so more headers, on the
    # wire than full MSS packets would: the wire arithmetic counts those rows' packets.
    on_wire = _wire_arithmetic(proto, msg, h.mtu, path.encap_bytes, counts[:, 1])
    link_gbps = on_wire(wire.goodput_gbps, h.link_gbps)
    to_rate = 1e9 / (8.0 * msg)
    link_rate = link_gbps * to_rate
    base_static = _stage_cycles(rx, units, data, miss_cycles)    # (N, stages), cached data
    tx_static = _stage_cycles(tx, units, data, miss_cycles)
    # What each stage spends fetching its flows' state back into the core's L2 (the more
    # flows share a core, the more they evict each other's): memory.flow_state_miss.
    state_cycles, state_miss = _flow_state_cycles(rx, groups, units, data, n_wire, h,
                                                  bool(host.app_on_softirq_core))
    # What each stage spends fetching back the lines every CPU writes (a socket all the
    # flows share): the more of the work other CPUs do, the likelier the line is theirs.
    shared_cycles, shared_elsewhere = _shared_line_cycles(rx, groups, units, h)
    if shared_cycles is not None:
        base_static += shared_cycles
    if state_cycles is not None:
        base_static += state_cycles
    else:
        state_miss = np.zeros(size)
    sender_state = _flow_state_cycles(tx, None, units, data, n_wire, h, True)[0]
    if sender_state is not None:
        tx_static += sender_state
    # What each stage that reads the received bytes (the copy) pays per message more
    # when every byte it reads comes from DRAM: (N, R) for the R such stages.
    reading = layout.reading
    miss_penalty = None
    if reading.size:
        per_byte = memory.dram_read_cycles_per_byte(h.ghz, h.dram_latency_ns,
                                                    h.dram_misses_in_flight)
        miss_penalty = (_row(per_byte, size)[:, None]
                        * data[:, rx.byte_col[reading]])
    segmented = proto == "udp" or nic_segments(host) or host.gso
    burst = counts[:, 1] / counts[:, 3] if segmented else np.ones(size)
    threads = max(int(patterns.level.max()) for _, patterns in groups)
    send_units = flow_model.sender_core_units(flows, h.physical_cores, h.threads_per_core,
                                              h.smt_gain)
    # (each packet the arithmetic counts pays the framing once: over a link that carries
    # GSO segments whole that is the MSS packets' count, not the segments')
    frame_bytes = (on_wire(wire.wire_bytes_per_message)
                   - _NOT_IN_MEMORY_BYTES * on_wire.packets)
    cache_bytes, ring_per_cpu = _cache_share(h, host)
    waiting = _waiting_limits(proto, h, msg, n_wire, ring_per_cpu, size)
    waiting["cache"] = _row(cache_bytes / frame_bytes, size)
    waiting["ring"] = _row(ring_per_cpu / frame_bytes, size)
    # DRAM bandwidth is a host-wide limit on the received bytes' traffic.
    waiting["memory"] = _row(h.memory_gbytes_per_s * 1e9 / frame_bytes, size)
    # How bursty a receive CPU's queue is: the senders' arrivals and the service, as the
    # latency model takes them (Kingman).
    waiting["variability"] = _row((arrival_scv + h.service_scv) / 2.0, size)
    block = _ReceiveBlock(
        proto=proto, host=host, rx=rx, tx=tx, h=h, groups=groups, size=size,
        base_static=base_static, tx_static=tx_static, units=units, n_wire=n_wire,
        burst=burst, frame_bytes=on_wire(wire.mean_frame_bytes),
        cap=_row(cap, size),
        shares=[_row(s, size)
                for s in flow_model.thread_shares(h.smt_gain, threads)],
        flows=flows, offered_rate=offered * to_rate, link_rate=link_rate,
        send_units=send_units, waiting=waiting, miss_penalty=miss_penalty, reading=reading,
        # A sender as fast as it can go sends its messages back to back (a steady pace, as
        # measured); one offered a finite load, as its arrival_scv says.
        wake_scv=np.where(np.isfinite(offered), arrival_scv, 0.0),
        own_caches=path.flow_addresses == "per-flow", keep_outcomes=keep_outcomes)
    if miss_penalty is None:        # nothing pays for misses
        charged = saturated = np.zeros(size)
        solved = _receive(block, charged)
    else:
        # A CPU's capacity is what it sustains with its queues full, so with the misses
        # of full queues; below capacity it pays for the misses its own queues give.
        saturated = _saturated_read_miss(block)
        solved = _receive(block, saturated)
        own = solved[-1]["read_miss"]
        # (A CPU at capacity finds its own misses equal to the saturated ones up to
        # rounding: it is charged those exactly.)
        charged = np.where(np.abs(own - saturated) <= 1e-12 * saturated, saturated,
                           np.minimum(own, saturated))
        if not np.array_equal(charged, saturated):
            # Below capacity: the CPUs' work at the misses they pay (a lone saturated
            # flow pays those of full queues, and keeps the pass's CPUs).
            static = _with_misses(block, charged)
            solved = (static, _receive_cpus(block, static)) + solved[2:]
    rx_static, cpus, capacity, sender_pool, per_flow, sends, spread = solved
    total = spread["delivered"]
    # What reaches the receivers, and what leaves the senders' sockets (more, for UDP,
    # where the sending NIC's queue drops the link's excess).
    arriving = total if proto == "tcp" else flows * per_flow
    sent = total if proto == "tcp" else flows * sends

    busy = spread["busy"]
    # A stream socket is told of every segment it receives, a datagram socket of every
    # datagram: the most deliveries (and so wake-ups) one message can make.  A reader
    # woken inside a message calls read() again: what a read costs beyond its bytes.
    deliveries = counts[:, 2] if proto == "tcp" else np.ones(size)
    read_cycles = layout.reread_cycles + layout.reread_misses * miss_cycles
    levels = _account_levels(rx, rx_static, h, host, cap, block.shares, cpus, capacity,
                             spread, rx_out, deliveries, read_cycles)
    receiver_cpu, rx_core_busy, rates, level_util, level_seconds, level_busy, wake_delay = levels
    # Each client has a logical CPU of its own while there are enough (the spread
    # send_units assumes), so min(N, L) sender CPUs are busy at tx_out each: each the
    # same share of the time, beside siblings as busy (flows.sender_busy: all of it when
    # the sending saturates send_units).  A sender that sends without end (every one of
    # its stages free) does no work.
    tx_cycles = tx_static.sum(axis=1)
    send_work = np.multiply(sent, tx_cycles, out=np.zeros(size), where=np.isfinite(sent)) / cap
    per_send_core = np.divide(
        flow_model.sender_busy(send_work, flows, h.physical_cores, h.threads_per_core,
                               h.smt_gain), tx_cycles, out=np.zeros(size), where=tx_cycles > 0)
    sender_cpus = np.minimum(flows, np.multiply(h.physical_cores, h.threads_per_core))
    sender_cpu, tx_core, tx_top = _account_sender(tx, tx_static, per_send_core, sender_cpus,
                                                  tx_out)

    shared = host.app_on_softirq_core
    on_flow = layout.on_flow
    core_util = {}
    if shared:
        core_util["rx:flow-core"] = rx_core_busy / np.maximum(busy, 1e-300)
    else:
        core_util["rx:flow-core"] = _weighted(rx_out, on_flow)
        core_util["rx:app-core"] = _weighted(rx_out, ~on_flow)
    core_util["tx:app-core"] = tx_core

    # level_busy, the mean utilisation of a busy CPU at each thread level, with the
    # chance that each logical CPU sits at that level (from the draws) gives every CPU's
    # expectation.
    topology = np.zeros(size, dtype=np.int64)
    tables = []
    for g, (idx, patterns) in enumerate(groups):
        topology[idx] = g
        tables.append(patterns.cpu_level)

    # Name the busiest stage from the thread level most receive CPUs sit at.
    present = [t for t, table in enumerate(level_util) if table is not None]
    if present == [0]:                  # no hyper-thread siblings busy: the only level
        typical = level_util[0]
    else:
        stage_level = np.argmax(spread["cpus_at_level"], axis=1)
        typical = np.zeros((size, len(rx.labels) + 2))
        for t in present:
            typical = np.where((stage_level == t)[:, None], level_util[t], typical)
    drop = np.maximum(0.0, 1.0 - np.divide(total, sent, out=np.ones(size), where=sent > 0))
    # What livelocked CPUs' softirq handles beyond what they deliver (exactly 0 elsewhere).
    wasted = spread["handled_at_level"].sum(axis=1) - spread["rate_at_level"].sum(axis=1)
    sender_drop = np.maximum(0.0, 1.0 - np.divide(arriving, sent, out=np.ones(size),
                                                  where=sent > 0))
    dram_gbytes = total * frame_bytes * spread["dram_per_byte"] / 1e9
    with np.errstate(over="ignore"):    # a budget past a float's range is no limit: inf
        budget_gbps = spread["budget"] * msg * 8.0 / 1e9
    queueing = _latency(proto, rx, h, host, msg, flows, offered * to_rate, arrival_scv,
                        link_rate, counts, tx_static, cap, send_units, spread, cpus,
                        level_seconds, wake_delay, total, arriving, drop)
    kept = {}
    if keep_outcomes:
        # Each pattern's delivery in Gb/s, with the throughput's own arithmetic.
        kept["outcomes_gbps"] = [(at, weight, draws, totals * msg[at, None] * 8.0 / 1e9)
                                 for at, weight, draws, totals in spread["outcomes_delivered"]]
    return {
        **queueing,
        **kept,
        "throughput_gbps": total * msg * 8.0 / 1e9,
        "throughput_stderr_gbps": spread["delivered_stderr"] * msg * 8.0 / 1e9,
        # (the same arithmetic as the throughput's: one placement's equals it exactly)
        "throughput_sd_gbps": spread["delivered_sd"] * msg * 8.0 / 1e9,
        "throughput_p05_gbps": spread["delivered_at"][0] * msg * 8.0 / 1e9,
        "throughput_p95_gbps": spread["delivered_at"][1] * msg * 8.0 / 1e9,
        "slowest_flow_gbps": spread["slowest"] * msg * 8.0 / 1e9,
        "message_rate_per_s": total,
        # What the receive softirq handles: a livelocked CPU works on more than it
        # delivers (the difference is exactly 0 elsewhere).
        "wire_packet_rate_per_s": (total + wasted) * n_wire,
        "link_goodput_gbps": link_gbps + np.zeros(size),
        "bottleneck": _bottleneck(proto, rx, tx, typical, tx_top, shared, total, arriving,
                                  link_rate, flows * offered * to_rate,
                                  sender_pool, spread["receiver_bound"],
                                  spread["memory_bound"], spread["cache_bound"]),
        "receiver_cpu": receiver_cpu,
        "sender_cpu": sender_cpu,
        "receiver_cpu_total": sum(receiver_cpu.values()),
        "sender_cpu_total": sum(sender_cpu.values()),
        "core_utilisation": core_util,
        # Over a veth link netif_rx starts the polling periods: no hard interrupt.
        "irq_rate_per_s": rates["irq"] * (0.0 if host.veth_link else 1.0),
        "softirq_rate_per_s": rates["softirq"],
        "context_switch_rate_per_s": rates["switch"],
        "ksoftirqd_rate_per_s": rates["ksoftirqd"],
        "ksoftirqd_share": rates["ksoftirqd_share"],
        "drop_fraction": drop,
        "sender_drop_fraction": sender_drop,
        "late_drop_fraction": np.clip(np.divide(wasted, sent, out=np.zeros(size),
                                                where=sent > 0), 0.0, 1.0),
        "memory_bandwidth_gbytes_per_s": dram_gbytes,
        "read_miss_fraction": charged,
        "capacity_read_miss_fraction": saturated,
        "flow_state_miss_fraction": state_miss,
        "shared_line_remote_fraction": shared_elsewhere,
        "memory_bound_share": spread["memory_bound_share"],
        "memory_bound_bytes_per_byte": spread["bound_per_byte"] * frame_bytes / msg,
        "memory_budget_gbps": budget_gbps,
        "fragment_cache_bound_share": spread["cache_bound_share"],
        "fragment_cache_fill_s": spread["cache_fill_s"],
        "cores_used": busy,
        "flows_per_busy_cpu": spread["flows_per_busy"],
        "gro_packets_per_segment": n_wire / counts[:, 2] if merges else np.ones(size),
        "writes_per_burst": writes + np.zeros(size),
        "level_busy_util": level_busy,
        "topology": topology,
        "cpu_tables": tables,
    }


def _wire_arithmetic(proto, msg, mtu, encap_bytes, n_wire):
    """``f(*lead, proto, msg, mtu, encap)`` for a :mod:`queuemodel.wire` function ``f``,
    given ``n_wire`` packets where a TCP message takes more than full MSS packets.
    Its ``packets`` attribute is the packets per message that arithmetic counts (full
    MSS packets where ``n_wire`` is fewer: GSO segments a link carries whole)."""
    alone = None
    counted = n_wire
    if proto == "tcp":
        full = wire.wire_packets_per_message(proto, msg, mtu, encap_bytes)
        more = n_wire > full
        alone = more if more.any() else None
        counted = np.maximum(n_wire, full)

    def on_wire(func, *lead):
        value = func(*lead, proto, msg, mtu, encap_bytes)
        if alone is None:
            return value
        return np.where(alone, func(*lead, proto, msg, mtu, encap_bytes, tcp_packets=n_wire),
                        value)
    on_wire.packets = counted
    return on_wire


#: Bytes of each frame on the wire that never reach memory: preamble and start
#: delimiter, inter-frame gap, and the FCS the NIC strips.
_NOT_IN_MEMORY_BYTES = wire.ETH_PREAMBLE_SFD_BYTES + wire.ETH_IFG_BYTES + wire.ETH_FCS_BYTES


def _orphaned(conditions, host) -> bool:
    """Whether a stage takes the sender's packets from its socket on ``host``
    (``conditions``: ``True`` or host flag names, :attr:`solver.CompiledSide.orphans`)."""
    return any(c is True or bool(getattr(host, c)) for c in conditions)


def _cache_share(h, host):
    """Bytes of cache the received data may occupy, and of receive buffers per busy CPU.

    A NIC writes into its DDIO share of the last-level cache and cycles through
    one ring per busy receive CPU; over a veth pair the sender's copy writes the
    data (anywhere in the cache) and there is no ring (:mod:`queuemodel.memory`).
    """
    if host.veth_link:
        return h.llc_mib * float(1 << 20), 0.0
    return h.llc_mib * float(1 << 20) * h.ddio_share, h.rx_ring * h.rx_buffer_truesize_bytes


def _waiting_limits(proto, h, msg, n_wire, ring_per_cpu, size) -> dict:
    """The most messages a flow and a CPU keep queued at the receiver (when saturated).

    TCP: a full window per flow.  UDP: a full socket buffer per flow (charged
    at each packet's true size) and a full ring per CPU.
    """
    if proto == "tcp":
        per_flow, per_cpu = h.tcp_window_bytes / msg, 0.0
    else:
        per_flow = h.socket_rcvbuf_bytes / (n_wire * h.rx_buffer_truesize_bytes)
        per_cpu = ring_per_cpu / (n_wire * h.rx_buffer_truesize_bytes)
    return {"per_flow": _row(per_flow, size),
            "per_cpu": _row(per_cpu, size)}


def _latency(proto, rx, h, host, msg, flows, per_flow, arrival_scv, link_rate, counts,
             tx_static, cap, send_units, spread, cpus, level_seconds, wake_delay, total,
             arriving, drop) -> dict:
    """Latency and finite-buffer loss of the flows' messages (:mod:`queuemodel.latency`).

    Computed where the offered load is finite and carried in full; elsewhere
    a queue grows without bound: latency ``inf``, ``queue_stable`` False and
    the loss the capacity model's drop fraction.
    """
    size = msg.size
    shared = bool(host.app_on_softirq_core)
    udp = proto == "udp"
    out = {"latency_mean_us": np.full(size, np.inf), "latency_p99_us": np.full(size, np.inf),
           "queue_stable": np.zeros(size, bool),
           "loss_fraction": drop.copy() if udp else np.zeros(size),
           "latency_parts_us": {n: np.full(size, np.inf) for n in STATION_NAMES
                                if not (shared and n in _OWN_CORE_STATIONS)}}
    wanted = flows * per_flow
    live = np.isfinite(per_flow) & (total > 0)
    if not live.any():
        return out
    i = np.flatnonzero(live)
    # Each receive CPU is offered its carried rate scaled by the share the receivers drop
    # overall (exact for one flow; 1 when all that arrives is carried).  A sender that
    # cannot keep up blocks its application rather than losing data.
    scale = np.maximum(1.0, arriving[i] / total[i])
    lam, flows_i, n_wire = per_flow[i], flows[i], counts[i, 1]
    scv = _row(np.asarray(h.service_scv, dtype=float), size)[i]
    ca2 = arrival_scv[i]
    layout = _layout(rx)
    ctx = layout.context
    on_flow = layout.on_flow | shared
    hard_cols = on_flow & (ctx == _HARDIRQ)
    soft_cols = on_flow & (ctx == _SOFTIRQ)
    proc_cols = on_flow & (ctx >= _SYSCALL)
    # The sender's core (shared by several clients when flows outnumber CPUs) and the link,
    # each at the rate the application offers (a saturated one makes the queue unstable).
    tx_s = tx_static[i].sum(axis=1) / (_row(cap, size)[i]
                                        * np.minimum(1.0, send_units[i] / flows_i))
    common = [Station("tx:app-core", lam, tx_s, np.ones_like(lam), None, scv),
              Station("link", flows_i * lam, 1.0 / link_rate[i], np.ones_like(lam), None,
                      np.zeros_like(lam))]
    lam_rx = arriving[i] / flows_i          # what reaches each receiver, messages/s
    ring = np.maximum(1.0, np.floor(_row(h.rx_ring, size)[i] / n_wire))
    # Linux 4.4's __sock_queue_rcv_skb refuses a datagram only once what the socket
    # holds has reached SO_RCVBUF, so the last one it takes may overshoot it: a socket
    # holds ceil(rcvbuf / truesize) messages (floor where the kernel refuses to overshoot).
    whole = np.ceil if host.socket_admits_past_limit else np.floor
    sock = np.maximum(1.0, whole(_row(h.socket_rcvbuf_bytes, size)[i] / (
        n_wire * _row(h.rx_buffer_truesize_bytes, size)[i])))
    first = second = loss = 0.0
    wake_mean, wake_square = (a[i] for a in wake_delay)
    # A flow core of its own sleeps between the messages it serves and its interrupt wakes
    # it, unless the softirq runs in the sending context (one kernel, a veth link).
    irq_wakes = not (shared or host.sender_on_receive_cpu or host.veth_link)
    residency, exit_s = _idle_states(h.idle_states_us)
    stable = total[i] >= wanted[i] * (1.0 - 1e-9)
    parts = {n: 0.0 for n in out["latency_parts_us"]}
    for t, seconds in enumerate(level_seconds):
        if seconds is None:
            continue
        n_t = spread["cpus_at_level"][i, t]
        carried_t = spread["rate_at_level"][i, t]
        weight = carried_t / total[i]
        if not np.any(weight > 0):
            continue
        r_c = np.divide(carried_t, n_t, out=np.zeros(i.size), where=n_t > 0)
        r_t = r_c * scale
        sec = seconds[i]
        hard, soft, proc = (sec[:, m].sum(axis=1) for m in (hard_cols, soft_cols, proc_cols))
        work = hard + soft + proc
        higher = hard + soft if shared else hard
        core_scv = scv * np.divide(hard ** 2 + soft ** 2 + proc ** 2, work ** 2,
                                   out=np.ones(i.size), where=work > 0)
        irq = cpus[t][1].take(i)
        bursts, frames_b, napi_load, irq_load, delay = irq._parts
        ipm = irq.per_message(r_c)
        busy = r_c * napi_load + irq_load * r_c * ipm
        mod_mean, mod_second = moderation_wait_s(r_c, bursts, frames_b, busy,
                                                 delay.seconds(r_c * n_wire))
        stations = common + [
            Station("rx:moderation", r_c, mod_mean, np.ones_like(lam), None, scv,
                    delay_var_s2=np.maximum(mod_second - mod_mean ** 2, 0.0))]
        if not shared:
            irq_mean, irq_square = (_irq_wake_delay(r_t, work, ca2, residency, exit_s)
                                    if irq_wakes else (np.zeros(i.size), np.zeros(i.size)))
            stations.append(Station("rx:irq-wake-up", r_t, irq_mean, np.ones_like(lam), None,
                                    scv, delay_var_s2=np.maximum(irq_square - irq_mean ** 2,
                                                                 0.0)))
        stations += [
            Station("rx:flow-core", r_t, work, np.divide(r_t, arriving[i]), higher,
                    core_scv),
            # A message that finds its reader asleep waits for it to wake: the software
            # path and the exit from the idle state its CPU slept in.
            Station("rx:wake-up", r_c, wake_mean[:, t], np.ones_like(lam), None, scv,
                    delay_var_s2=np.maximum(wake_square[:, t] - wake_mean[:, t] ** 2, 0.0))]
        if not shared:
            app = sec[:, ~on_flow].sum(axis=1)
            stations.append(Station("rx:app-core", lam_rx, app,
                                    lam_rx / np.maximum(r_t, 1e-300), None, scv))
        result = tandem(stations, ca2)
        used = weight > 0
        stable &= result["stable"] | ~used
        w = np.where(used, weight, 0.0)
        m = np.where(used, result["mean_s"], 0.0)
        first = first + w * m
        second = second + w * (np.where(used, result["var_s2"], 0.0) + m * m)
        for name in parts:
            parts[name] = parts[name] + w * np.where(used, result["parts"][name], 0.0)
        if udp:
            if shared:
                # The softirq preempts the reader: it empties the ring at once and the
                # socket receives each of its busy periods as a burst the reader meets
                # later (queueing.reader_blocking).  Where the CPU is offered more than
                # it carries and its softirq defers to ksoftirqd, that picture gives way
                # to the capacity model's (the loss tends to its drop fraction), and the
                # ring and socket are one buffer of the CPU's whole work; where the
                # softirq keeps preempting the reader it holds on past capacity too.
                under = (r_t * work < 1.0) | (not host.overload_defers_softirq)
                soft_work = hard + soft
                soft_scv = scv * np.divide(hard ** 2 + soft ** 2, soft_work ** 2,
                                           out=np.ones(i.size), where=soft_work > 0)
                # Several flows on the CPU: one socket each, read in the order data
                # came; their sockets then lose about what one of their summed size
                # would (7 % and 14 % less than a simulation with 2 and 3 flows,
                # tests/test_oracle.py).
                sockets = np.maximum(1.0, np.floor(
                    sock * np.maximum(1.0, spread["flows_per_busy"][i])))
                u, o = np.flatnonzero(under), np.flatnonzero(~under)
                blocked = np.empty(i.size)
                b_ring, _ = mg1k(r_t[u], soft_work[u], soft_scv[u], ring[u])
                b_sock = reader_blocking(r_t[u] * (1.0 - b_ring), soft_work[u], soft_scv[u],
                                         proc[u], scv[u], sockets[u])
                blocked[u] = 1.0 - (1.0 - b_ring) * (1.0 - b_sock)
                blocked[o] = mg1k(r_t[o], work[o], core_scv[o], (ring + sock)[o])[0]
            else:
                b_ring, _ = mg1k(r_t, work, core_scv, ring)
                b_sock, _ = mg1k(lam_rx * (1.0 - b_ring), app, scv, sock)
                blocked = 1.0 - (1.0 - b_ring) * (1.0 - b_sock)
            loss = loss + w * blocked
    ok = i[stable]
    mean = first[stable]
    var = np.maximum(second[stable] - mean * mean, 0.0)
    out["queue_stable"][ok] = True
    out["latency_mean_us"][ok] = mean * 1e6
    out["latency_p99_us"][ok] = gamma_quantile(mean, var, P99) * 1e6
    for name, value in parts.items():
        out["latency_parts_us"][name][ok] = value[stable] * 1e6
    if udp:
        out["loss_fraction"][i] = np.clip(np.maximum(loss, drop[i]), 0.0, 1.0)
    return out


#: Latency stations only a receiver on a core of its own has (its flow core's wake-ups
#: and the reader's core).
_OWN_CORE_STATIONS = ("rx:irq-wake-up", "rx:app-core")


def _irq_wake_delay(rate, work_s, arrival_scv, residency_s, exit_s) -> tuple:
    """Mean and mean square of what a message waits for its flow core to leave idle.

    The flow core (its reader elsewhere) serves messages arriving at ``rate``,
    ``work_s`` each, and idles between them; a message that finds it idle
    waits for the interrupt to bring it out of the idle state it reached.
    At random arrivals (SCV ``v >= 1``) the share ``1 - rate * work_s`` of
    them find it idle (arrivals see time averages) after an idle of
    exponential length, mean ``1 / rate`` (an M/G/1 queue's idle period:
    :func:`queuemodel.solver.idle_exit_moments`).  At a steady pace (``v =
    0``) every message finds it idle the rest of its gap, ``1 / rate -
    work_s``, the same each time (:func:`queuemodel.solver.steady_idle_exit`).
    Between, the two mix in the shares ``min(v, 1)`` and ``1 - min(v, 1)``,
    as a reader's wake-ups do.  Returns ``(N,)`` arrays, zero at a CPU that
    is never idle.
    """
    from .solver import idle_exit_moments, steady_idle_exit

    random = np.minimum(np.asarray(arrival_scv, dtype=float), 1.0)
    idle = 1.0 - np.clip(rate * work_s, 0.0, 1.0)
    gap = np.divide(1.0, rate, out=np.full(rate.shape, np.inf), where=rate > 0)
    mean, square = idle_exit_moments(gap, residency_s, exit_s)
    paced = steady_idle_exit(np.maximum(gap - work_s, 0.0), residency_s, exit_s)
    return (random * idle * mean + (1.0 - random) * paced,
            random * idle * square + (1.0 - random) * paced * paced)


def _account_levels(rx, rx_static, h, host, cap, shares, cpus, capacity, spread, rx_out,
                    deliveries, read_cycles):
    """Receiver accounting: each hyper-thread level's CPUs, each at its own rate.

    Every level's per-stage utilisation table is weighted by how many
    receive CPUs sit at that level; ``rx_out`` receives the mean over busy
    CPUs.  A stage's rate-dependent work per message (interrupts, polls,
    wake-ups) is the level's CPUs' mean weighted by what each carries
    (:func:`_level_terms`), so a level's utilisation is the mean of its
    CPUs' own.  Returns the /proc/stat columns (summed over CPUs), the
    summed busy time, the event rates, each level's utilisation and seconds
    tables (None if absent), the utilisation of one CPU at each level, and
    ``(N, T)`` the mean and mean square of what a message waits for its
    reader to wake at each level (:func:`_level_terms`).
    The tables are worked out by :func:`queuemodel.kernels.account_level`.
    """
    from . import kernels

    size = rx_static.shape[0]
    level_busy = np.zeros((size, int(np.max(host.threads_per_core))))
    proc_stat = np.zeros((len(_CPU_KEYS), size))
    rx_core_busy = np.zeros(size)
    rates = {k: np.zeros(size) for k in ("irq", "softirq", "switch", "ksoftirqd")}
    late = np.zeros(size)               # messages/s whose polling ksoftirqd does
    layout = _layout(rx)
    polls, poll_index = layout.polls, layout.poll_index
    weight_of_busy = 1.0 / np.maximum(spread["busy"], 1e-300)
    app_core = "rx:flow-core" if host.app_on_softirq_core else "rx:app-core"
    entry_cycles = _row(np.asarray(h.softirq_entry_cycles, dtype=float), size)
    stage_columns = _stage_columns(rx)
    # The interrupted CPU's columns (its stages and softirq entries, and the readers'
    # wake-ups when they run there), which it works faster while its siblings rest.
    own = np.concatenate([layout.on_flow | host.app_on_softirq_core,
                          [True, bool(host.app_on_softirq_core)]])
    level_util, level_seconds = [], []
    first = True
    per_run = polls_per_run(h.netdev_budget, h.napi_weight)   # full polls a run allows
    per_message = _level_terms(cpus, app_core, capacity, spread, h, per_run,
                               host.app_on_softirq_core, deliveries, read_cycles)
    for t in range(len(cpus)):
        n_t = spread["cpus_at_level"][:, t]
        if not n_t.any():
            level_util.append(None)
            level_seconds.append(None)
            continue
        rate_t = np.divide(spread["rate_at_level"][:, t], n_t, out=np.zeros(size), where=n_t > 0)
        # What its softirq handles: more than it delivers only where it is livelocked.
        took_t = np.divide(spread["handled_at_level"][:, t], n_t, out=np.zeros(size),
                           where=n_t > 0)
        ipm, per_poll, switch_cycles, wakes, handoffs, deferred, time_scale = (
            np.ascontiguousarray(a[:, t]) for a in per_message[:7])
        c = _row(cap * shares[t], size)
        # Seconds of this CPU per message, by stage, softirq entry and wake-ups; and its
        # utilisation at the level's rate.
        seconds = np.empty((size, len(rx.labels) + 2))
        table = np.empty_like(seconds)
        kernels.account_level(rx_static, ipm, per_poll, poll_index, c, rate_t, took_t, n_t,
                              weight_of_busy, entry_cycles, switch_cycles, layout.hardirq,
                              rx.poll, rx.cycles_per_unit, rx.cycles_per_invocation,
                              stage_columns, time_scale, own, first, seconds, table, rx_out,
                              proc_stat, rx_core_busy, level_busy[:, t])
        if not host.app_on_softirq_core:
            # The interrupted CPU does only its flow-core stages; the readers' cores of
            # their own are not among the CPUs the queues interrupt.
            level_busy[:, t] = table[:, layout.on_flow].sum(axis=1)
        first = False
        rates["irq"] += n_t * took_t * ipm
        if polls.size:
            runs = softirq_runs_per_message(per_poll[:, 0], ipm, polls.size, per_run)
            rates["softirq"] += n_t * took_t * runs
        rates["switch"] += n_t * took_t * 2.0 * wakes
        rates["ksoftirqd"] += n_t * took_t * handoffs
        late += n_t * took_t * deferred
        level_util.append(table)
        level_seconds.append(seconds)
    if first:
        rx_out[:] = 0.0
    handled = spread["handled_at_level"].sum(axis=1)
    rates["ksoftirqd_share"] = np.divide(late, handled, out=np.zeros(size), where=handled > 0)
    return (dict(zip(_CPU_KEYS, proc_stat)), rx_core_busy, rates, level_util, level_seconds,
            level_busy, per_message[7:])


def _level_terms(cpus, app_core, capacity, spread, h, per_run, reader_here, deliveries,
                 read_cycles):
    """Interrupts, polls, wake-ups and ksoftirqd hand-offs per message at each level.

    Each is the mean over a level's CPUs in every hash outcome, weighted by
    what the CPU carries (:func:`queuemodel.kernels.level_moments`).
    ``deliveries`` is the most deliveries (socket units) one message makes
    and ``read_cycles`` what a further ``read()`` costs.  Returns ``(N, T)``,
    ``(N, T, polls)`` and seven ``(N, T)`` arrays (wake-up cycles, wake-ups,
    hand-offs, the share of messages ksoftirqd polls, the share of its
    saturated seconds an interrupted CPU takes beside resting siblings, and
    the chance a message's last delivery finds its reader asleep times the
    mean and mean square of the wake-up's latency).
    """
    from . import kernels

    size, levels = capacity.shape

    def row(value):
        return flow_model.as_row(value, size)

    def columns_of(values):             # (size, len(values)), scalars broadcast
        values = list(values)
        table = np.empty((size, len(values)))
        for t, value in enumerate(values):
            table[:, t] = value
        return table

    cores, irq = cpus[0]
    flow, app = cores["rx:flow-core"], cores[app_core]
    bursts, frames, _, _, delay = irq._parts
    # What depends on the level: the loads on its capacity.
    napi_load = columns_of(level_irq._parts[2] for _, level_irq in cpus)
    irq_load = columns_of(level_irq._parts[3] for _, level_irq in cpus)
    app_capacity = columns_of(level_cores[app_core].capacity for level_cores, _ in cpus)
    rows = [row(v) for v in (irq.n_wire, bursts, frames)]
    delays = [row(v) for v in (delay.low_s, delay.span_s, delay.rate_low, delay.inv_width)]
    floor = _table(flow.poll_floor, (size, flow.poll_cycles.size))
    app_floor = _table(app.poll_floor, (size, app.poll_cycles.size))
    app_rows = [row(v) for v in (app.static, app.irq_cycles)]
    app_poll_cycles = np.ascontiguousarray(app.poll_cycles, dtype=float)
    app_switch = row(app.switch_cycles)
    flow_rows = [row(v) for v in (flow.static, flow.irq_cycles, h.smt_gain)]
    flow_poll_cycles = np.ascontiguousarray(flow.poll_cycles, dtype=float)
    limits = columns_of([h.napi_weight, h.softirq_max_restart,
                         np.multiply(h.softirq_max_time_ms, 1e-3), per_run, deliveries,
                         read_cycles, h.rx_flow_run_packets,
                         np.multiply(h.wake_latency_us, 1e-6), app.wake_arrival_scv])
    # carried repeats the spread's rate_at_level (tests/test_flows.py holds them equal).
    carried, handled, ipm, switch, wakeups, handoffs, deferred, time_scale, delay, square = (
        np.empty((size, levels)) for _ in range(10))
    idle = _idle_states(h.idle_states_us)
    per_poll = np.empty((size, levels, floor.shape[1]))
    parts, tasks = [], []
    convex = spread["convex"]
    for at, patterns, rate, start in spread["outcomes"]:
        whole = isinstance(at, slice)
        n = rate.shape[0]
        out = (carried, handled, ipm, per_poll, switch, wakeups, handoffs, deferred,
               time_scale, delay, square) \
            if whole else (np.empty((n, levels)), np.empty((n, levels)), np.empty((n, levels)),
                           np.empty((n, levels, floor.shape[1])),
                           *(np.empty((n, levels)) for _ in range(7)))
        inputs = [a if whole else np.ascontiguousarray(a[at]) for a in (
            capacity, spread["band_low"], spread["band_high"], spread["waste"], spread["lost"],
            spread["cuts"], *rows,
            napi_load, irq_load, *delays, floor, *app_rows)]
        inputs[1:1] = [rate, start]             # already the group's rows
        tail = [a if whole else np.ascontiguousarray(a[at])
                for a in (app_floor, app_switch, app_capacity, limits, *flow_rows)]

        def run(sl, patterns=patterns, inputs=inputs, tail=tail, out=out):
            kernels.level_moments(*patterns.runs, patterns.weight,
                                  *(a[sl] for a in inputs),
                                  app_poll_cycles, *(a[sl] for a in tail), flow_poll_cycles,
                                  *idle, reader_here, convex, *(o[sl] for o in out))

        tasks.append((run, n, rate.size))
        parts.append((whole, at, out))
    flow_model._in_threads(tasks)
    for whole, at, out in parts:
        if not whole:
            for full, piece in zip((carried, handled, ipm, per_poll, switch, wakeups,
                                    handoffs, deferred, time_scale, delay, square), out):
                full[at] = piece
    return ipm, per_poll, switch, wakeups, handoffs, deferred, time_scale, delay, square


@functools.lru_cache(maxsize=64)
def _idle_states(states_us: tuple) -> tuple:
    """``Host.idle_states_us`` as the kernels take it (:func:`~queuemodel.solver.idle_states_s`;
    one host's table serves every query, so it is worked out once)."""
    from .solver import idle_states_s

    return idle_states_s(states_us)


def _receive_cpu(rx, units, rx_static, h, capacity, n_wire, burst, frame_bytes, wake_scv):
    """The receive cores and interrupt model of one CPU with ``capacity`` cycles/s
    (``frame_bytes``: the mean frame its queue receives, for the moderation;
    ``wake_scv``: how irregularly messages reach its readers, for their wake-ups)."""
    layout = _layout(rx)
    interrupts = Interrupts(
        n_wire=n_wire,
        burst_packets=burst,
        napi_cycles=_weighted(rx_static, layout.napi),
        per_irq_cycles=layout.per_irq_cycles + h.softirq_entry_cycles,
        capacity=capacity,
        moderation=h,
        frame_bytes=frame_bytes,
    )
    return _rx_cores(rx, units, rx_static, h, capacity, wake_scv), interrupts


class _FlatHost:
    """A host's numeric fields: scalars as floats, arrays broadcast and flattened."""

    def __init__(self, host: Host | None, flat=None):
        if host is None:
            return
        self.__dict__.update(vars(host))
        for name in _array_fields(host):
            setattr(self, name, flat(getattr(host, name)))

    def take(self, sl: slice) -> "_FlatHost":
        """The same host for a block of scenarios."""
        part = _FlatHost(None)
        for name, value in vars(self).items():
            setattr(part, name, value[sl] if isinstance(value, np.ndarray) else value)
        return part


_NUMERIC_HOST_FIELDS = tuple(f.name for f in dataclasses.fields(Host)
                             if f.metadata.get("kind") == "number")
_ARRAY_FIELDS: dict = {}


def _array_fields(host: Host) -> tuple:
    """The names of ``host``'s numeric fields that hold arrays.

    A host is frozen, so this is worked out once per host object (a scalar
    query would otherwise look at every field twice).  The memo holds the
    host, so its identity is not reused while the entry lives.
    """
    hit = _ARRAY_FIELDS.get(id(host))
    if hit is None or hit[0] is not host:
        if len(_ARRAY_FIELDS) >= 256:
            _ARRAY_FIELDS.clear()
        names = tuple(n for n in _NUMERIC_HOST_FIELDS
                      if isinstance(getattr(host, n), np.ndarray))
        hit = _ARRAY_FIELDS[id(host)] = (host, names)
    return hit[1]


def _flattener(workload: Workload, host: Host):
    """Broadcast shape of the numeric inputs, its size, and a function flattening to it."""
    values = [workload.msg_bytes, workload.flows, workload.offered_gbps, workload.arrival_scv]
    values += [getattr(host, name) for name in _array_fields(host)]
    shapes = [v.shape for v in values if isinstance(v, np.ndarray)]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ModelInputError("array inputs", [s for s in shapes if s],
                              "shapes that broadcast together (numpy rules)") from None
    size = int(np.prod(shape)) if shape else 1
    if size == 0:
        raise ModelInputError("array inputs", [s for s in shapes if not all(s)],
                              "at least one scenario (an array with no elements asks nothing)")

    def flat(value):
        if not isinstance(value, np.ndarray):
            return float(value)
        return np.broadcast_to(value, shape).reshape(size)

    return shape, size, flat


class _Layout(NamedTuple):
    """What the solver needs to know of a receive side's structure (:func:`_layout`)."""

    merges: bool                # a stage is charged per GRO segment
    reading: np.ndarray         # stages that read the received bytes first
    reread_cycles: float        # cycles per unit of a further read() call ...
    reread_misses: float        # ... and its cache misses per unit
    on_flow: np.ndarray         # stages on the flow core, softirq entry and switches last
    context: np.ndarray         # each stage's context, the same two last
    polls: np.ndarray           # the poll stages
    poll_index: np.ndarray      # each stage's place among the polls
    hardirq: np.ndarray         # stages charged per interrupt
    napi: np.ndarray            # 1 for the stages a polling period runs, else 0
    per_irq_cycles: float       # an interrupt's own stages and one run of every poll


@_per_side
def _layout(rx: CompiledSide) -> _Layout:
    """A receive side's structure, once per compiled side."""
    rereads = ((rx.feature == FEATURE_NAMES.index("message")) & (rx.core == APP_CORE)
               & (rx.context == CONTEXTS.index("syscall")) & (rx.unit_col < 8))
    return _Layout(
        merges=bool(np.any(rx.feature == FEATURE_NAMES.index("rx_segment"))),
        reading=np.flatnonzero(rx.reads_received),
        reread_cycles=float(rx.cycles_per_unit[rereads].sum()),
        reread_misses=float(rx.misses_per_unit[rereads].sum()),
        on_flow=np.append(rx.core == FLOW_CORE, [True, False]),
        context=np.append(rx.context, [_SOFTIRQ, _SYSCALL]),
        polls=np.flatnonzero(rx.poll),
        poll_index=np.cumsum(rx.poll) - 1,
        hardirq=rx.feature < 0,
        napi=(rx.context <= _SOFTIRQ).astype(float),
        per_irq_cycles=float(np.sum(rx.cycles_per_unit * (rx.feature < 0))
                             + np.sum(rx.cycles_per_invocation * rx.poll)),
    )


def _row(value, size):
    """``value`` broadcast to ``(size,)``; an array of that shape comes back as it is
    (numpy's ``broadcast_to`` takes ~5 us even then, and a scalar query makes dozens)."""
    if type(value) is np.ndarray and value.shape == (size,):
        return value
    if isinstance(value, float) and size <= BLOCK:
        out = np.empty(size)            # several times faster than a broadcast or np.full
        out.fill(value)
        return out
    return np.broadcast_to(value, (size,))


def _table(value, shape):
    """``value`` as a C-contiguous float array of ``shape`` (broadcast and copied if need be)."""
    if (type(value) is np.ndarray and value.shape == shape and value.dtype == np.float64
            and value.flags.c_contiguous):
        return value
    return np.ascontiguousarray(np.broadcast_to(value, shape), dtype=float)


def _weighted(table, weights):
    """``table @ weights`` for an ``(N, K)`` table, without BLAS.

    numpy hands ``@`` to OpenBLAS, whose worker threads spin on the CPUs after
    each call; beside the blocks' own threads they took a third of a large
    grid's time.  ``einsum`` runs the same sums in numpy's own loop.
    """
    return np.einsum("ij,j...->i...", table, np.asarray(weights, dtype=float))


def _stage_cycles(side: CompiledSide, units, data, miss_cycles):
    """Rate-independent cycles per message of every stage, ``(N, stages)``.

    Each stage is charged on one column of ``units`` and one of ``data``
    (:func:`queuemodel.kernels.stage_cycles`).
    """
    from . import kernels

    size = units.shape[0]
    out = np.empty((size, len(side.labels)))
    kernels.stage_cycles(units, data, _row(np.asarray(miss_cycles, dtype=float), size),
                         side.unit_col, side.byte_col, side.cycles_per_unit,
                         side.cycles_per_byte, side.misses_per_unit, out)
    return out


def _flow_state_cycles(side: CompiledSide, groups, units, data, n_wire, h, shared: bool):
    """Cycles per message each stage spends fetching lines of its flow's state the L2 lost.

    A stage touches ``flow_state_lines`` lines of its flow's state per unit;
    each is gone from its core's L2 with :func:`memory.flow_state_miss`'s
    chance and comes back from the last-level cache in ``llc_latency_ns``.
    Per message a core streams each wire packet's headers and descriptors
    (the interrupted core; :data:`memory.PACKET_TOUCHED_BYTES`) and the
    payload once for every stage on it that works per byte (twice for the
    copy, which writes it too).  On the receiver the flows that share a
    core come from the hash outcomes (``groups``: the flows on the CPU times
    its core's busy threads, :attr:`flows.Patterns.core_sharing`); a reader
    on a core of its own, and a sender (``groups`` None), has its core to
    itself.  Returns the cycles ``(N, stages)`` and the chance a line missed,
    ``(N,)``: the mean over the lines the stages touch per message; ``None``
    for both when no stage of the side touches flow state.
    """
    cores = _state_layout(side, shared, groups is None)
    if not cores:
        return None, None
    size = units.shape[0]
    out = np.zeros((size, side.flow_state_lines.size))
    cache = h.l2_kib * 1024.0
    cycles_per_line = h.llc_latency_ns * h.ghz
    missed = touched_lines = 0.0
    for stages, lines, passes, packets, state, alone in cores:
        stream = _weighted(data[:, side.byte_col[passes[0]]], passes[1]) if passes[0].size else 0.0
        if packets:
            stream = stream + n_wire * memory.PACKET_TOUCHED_BYTES
        for i, per_unit in zip(stages, lines):
            touched = units[:, side.unit_col[i]]
            if alone:
                miss = memory.flow_state_miss(1.0, stream, touched, state, cache)
            else:
                miss = np.empty(size)
                for idx, patterns in groups:
                    flows_on_core, chance = patterns.core_sharing
                    miss[idx] = _weighted(memory.flow_state_miss(
                        flows_on_core, _row(stream, size)[idx, None], touched[idx, None],
                        state, _row(cache, size)[idx, None]), chance)
            out[:, i] = touched * per_unit * miss * cycles_per_line
            missed = missed + touched * per_unit * miss
            touched_lines = touched_lines + touched * per_unit
    return out, np.divide(missed, touched_lines, out=np.zeros(size), where=touched_lines > 0)


def _shared_line_cycles(side: CompiledSide, groups, units, h):
    """Cycles per message each receive stage spends on lines every CPU writes.

    A stage writes ``shared_lines`` lines per unit of one host-wide object
    (the VXLAN socket's reference count on Linux before 4.7).  A line is in
    another CPU's cache when that CPU wrote it last: with the flows' work
    spread as the hash outcomes put the flows (a CPU with ``k`` of ``N``
    flows does ``k / N`` of it), the chance for a unit of a flow on such a
    CPU is ``1 - k / N``, and its mean over the flows is ``1 - E[k] / N``
    (:func:`queuemodel.memory.shared_line_remote` of
    :attr:`queuemodel.flows.Patterns.sharing`; zero for one flow, or for
    every flow on one CPU).  Each such line costs ``line_transfer_ns``.
    Two approximations err in opposite directions: a hyper-thread sibling
    counts as another CPU, though it shares the core's cache (fewer
    transfers than counted), and the writes are split by flows, though a
    crowded CPU that binds makes fewer than its flows' share, which evens
    the others' (more).  Returns the cycles ``(N, stages)`` and the chance
    ``(N,)``; ``None`` for the cycles when no stage has shared lines.
    """
    lines = side.shared_lines
    stages = np.flatnonzero(lines > 0)
    size = units.shape[0]
    elsewhere = np.zeros(size)
    if not stages.size:
        return None, elsewhere
    for idx, patterns in groups:
        elsewhere[idx] = memory.shared_line_remote(*patterns.sharing,
                                                   patterns.flows[0].sum())
    out = np.zeros((size, lines.size))
    per_line = h.line_transfer_ns * h.ghz
    for i in stages:
        out[:, i] = units[:, side.unit_col[i]] * lines[i] * elsewhere * per_line
    return out, elsewhere


@_per_side
def _state_layout(side: CompiledSide, shared: bool, alone: bool) -> tuple:
    """Per core of a side whose stages touch flow state: those stages and their lines,
    the payload passes over the byte columns (stages that work per byte; the copy's
    write too), whether the packets come in on it, one flow's state bytes there, and
    whether its flows have it to themselves (the sender's core, a reader's own)."""
    lines = side.flow_state_lines
    interrupted = np.ones(lines.size, bool) if shared else side.core == FLOW_CORE
    cores = []
    for on_core, on_packets_core in ((interrupted, True), (~interrupted, False)):
        stages = np.flatnonzero(on_core & (lines > 0))
        if not stages.size:
            continue
        passes = (side.cycles_per_byte > 0).astype(float) + side.reads_received
        reads = np.flatnonzero(on_core & (passes > 0))
        cores.append((stages, lines[stages], (reads, passes[reads]),
                      on_packets_core or alone, float(lines[on_core].sum())
                      * memory.CACHE_LINE_BYTES, alone or not on_packets_core))
    return tuple(cores)


def _rx_cores(side: CompiledSide, units, static, h, cap, wake_scv):
    """The receive cores as :class:`~queuemodel.solver.CoreLoad` objects, by name."""
    cores = {}
    idle = _idle_states(h.idle_states_us)
    for name, role, mask, poll_cycles, poll_cols, irq in _core_layout(
            side, bool(h.app_on_softirq_core)):
        if role != APP_CORE:
            irq = irq + h.softirq_entry_cycles
        cores[name] = CoreLoad(
            capacity=cap,
            static=_weighted(static, mask),
            irq_cycles=irq,
            poll_cycles=poll_cycles,
            poll_floor=units[:, poll_cols] / np.asarray(h.napi_weight)[..., None],
            switch_cycles=2.0 * h.context_switch_cycles if role != FLOW_CORE else 0.0,
            wake_latency_s=np.multiply(h.wake_latency_us, 1e-6),
            wake_arrival_scv=wake_scv,
            idle_residency_s=idle[0],
            idle_exit_s=idle[1],
        )
    return cores


@_per_side
def _core_layout(side: CompiledSide, shared: bool) -> tuple:
    """Each receive core's name and role (None: the one core does all), which
    stages run on it (a 0/1 weight per stage), its polls' cycles per invocation
    and unit columns, and the cycles of its per-interrupt stages."""
    roles = [("rx:flow-core", None)] if shared else [("rx:flow-core", FLOW_CORE),
                                                      ("rx:app-core", APP_CORE)]
    hardirq = side.feature < 0
    layout = []
    for name, role in roles:
        mask = np.ones_like(side.core, bool) if role is None else side.core == role
        polls = mask & side.poll
        irq_cycles = float(np.sum(side.cycles_per_unit * (hardirq & mask)))
        layout.append((name, role, mask.astype(float), side.cycles_per_invocation[polls],
                       side.unit_col[polls], irq_cycles))
    return tuple(layout)


@_per_side
def _stage_columns(side: CompiledSide):
    """Each stage's /proc/stat column, as an index into ``_CPU_KEYS``."""
    return np.array([_CPU_KEYS.index(PROC_STAT_COLUMN[CONTEXTS[ctx]]) for ctx in side.context],
                    dtype=np.int64)


def _account_sender(side: CompiledSide, static, per_core, cores, util):
    """Sender accounting (:func:`queuemodel.kernels.account_sender`).

    Writes each send stage's utilisation of a sending core into ``util``;
    returns the /proc/stat columns over the ``cores`` busy sending CPUs, the
    core's utilisation and its busiest stage.
    """
    from . import kernels

    size = static.shape[0]
    proc_stat = np.empty((len(_CPU_KEYS), size))
    total = np.empty(size)
    top = np.empty(size, dtype=np.int64)
    kernels.account_sender(static, per_core, _row(cores, size).astype(float),
                           _stage_columns(side), util, proc_stat, total, top)
    return dict(zip(_CPU_KEYS, proc_stat)), total, top


def _bottleneck(proto, rx, tx, rx_table, tx_top, shared, total, arriving, link_rate,
                offered_rate, sender_rate, receiver_bound, memory_bound, cache_bound):
    """Name the binding constraint and, for a core, its busiest stage; ``(N,)`` strings.

    A full fragment cache comes first (``receiver:fragment-cache:-``), then
    the receiver's DRAM bandwidth (``receiver:memory:dram``), then a
    receiver that drops (UDP) or whose CPUs bind (TCP), named by its
    busiest core; then the sender's cores, the link and the offered load,
    whichever the rate reached (:func:`queuemodel.kernels.bottleneck_codes`).
    """
    from . import kernels

    size = total.size
    names, role, position, offsets, tx_offset = _bottleneck_layout(rx, tx, shared)

    def row(value):
        return _row(np.asarray(value, dtype=float), size)

    codes = np.empty(size, dtype=np.int64)
    kernels.bottleneck_codes(rx_table, role, position, offsets,
                             tx_top, tx_offset, memory_bound, receiver_bound, row(arriving),
                             row(sender_rate), row(link_rate), row(offered_rate),
                             len(names) - 4, len(names) - 3, len(names) - 2, codes)
    codes[cache_bound] = len(names) - 1
    return names[codes]


@_per_side
def _bottleneck_layout(rx, tx, shared):
    """The names :func:`_bottleneck` chooses from, and where each receive stage's
    name sits: its core's role, its place among that core's stages, each role's
    first name, and the first sender name (-1: one kernel, the flow core sends)."""
    rx_labels = list(rx.labels) + ["softirq_entry", "context_switch"]
    on_flow = _layout(rx).on_flow
    roles = [("flow-core", np.ones(len(rx_labels), bool))] if shared else [
        ("flow-core", on_flow), ("app-core", ~on_flow)]
    names, offsets = [], []
    role = np.zeros(len(rx_labels), dtype=np.int64)
    position = np.zeros(len(rx_labels), dtype=np.int64)
    for r, (name, mask) in enumerate(roles):
        offsets.append(len(names))
        role[mask] = r
        position[mask] = np.arange(int(mask.sum()))
        names += [f"receiver:{name}:{n}" for n, keep in zip(rx_labels, mask) if keep]
    tx_offset = len(names) if tx.labels else -1
    names += [f"sender:app-core:{n}" for n in tx.labels]
    names += ["link:line-rate:-", "sender:offered-load:-", "receiver:memory:dram",
              "receiver:fragment-cache:-"]
    return (np.array(names, dtype=object), role, position, np.array(offsets, dtype=np.int64),
            tx_offset)


def _check_finite(result: Result) -> None:
    """Refuse to hand out a NaN, a negative or (where none is meant) an infinite number."""
    finite = ("throughput_gbps", "message_rate_per_s", "wire_packet_rate_per_s",
              "irq_rate_per_s", "softirq_rate_per_s", "context_switch_rate_per_s",
              "ksoftirqd_rate_per_s", "ksoftirqd_share",
              "drop_fraction", "sender_drop_fraction", "late_drop_fraction", "loss_fraction",
              "memory_bandwidth_gbytes_per_s", "memory_bound_share",
              "fragment_cache_bound_share",
              "memory_bound_bytes_per_byte", "cores_used",
              "gro_packets_per_segment", "writes_per_burst", "receiver_cpu_total",
              "sender_cpu_total")
    for name in finite + UNBOUNDED_OUTPUTS:
        value = getattr(result, name)
        if isinstance(value, float):        # a scalar query: no numpy call per check
            # (NaN >= 0 is False, so NaN is refused here too.)
            bad = not (value >= 0.0 and (name not in finite or math.isfinite(value)))
        else:
            # Two reductions and no temporaries (a million-row grid checks 18 arrays): the
            # least is NaN if any element is, and NaN >= 0 is False.
            arr = np.asarray(value, dtype=float)
            bad = not arr.min() >= 0.0 or (name in finite and arr.max() == math.inf)
        if bad:
            raise QueueModelError(
                f"internal error: {name} came out non-finite or negative for {result.inputs}; "
                "please report it with the inputs")
