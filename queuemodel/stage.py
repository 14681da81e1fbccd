"""Stages, paths and workloads: the model's data.

A :class:`Stage` is one piece of kernel or application work that a packet
or message passes through (the driver's receive poll, VXLAN decapsulation,
the copy to user space...).  A :class:`Path` is an ordered tuple of stages
for the sender and for the receiver.  The three paths of the seed paper
are built from a shared library of stages in :mod:`queuemodel.paths`; a
user defines a new path (macvlan, an eBPF shortcut) the same way, without
touching the solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from . import _checks
from .errors import ModelInputError

__all__ = [
    "Stage",
    "Path",
    "Workload",
    "CONTEXTS",
    "UNITS",
    "BATCHINGS",
    "PROTOCOLS",
    "UDP_MAX_PAYLOAD_BYTES",
    "TUNNELS",
    "FLOW_ADDRESSES",
    "STAGE_COSTS",
]

#: How a path wraps a flow's packets on the wire, which decides what the
#: receiver's hashes see: ``"none"``, the flow's own headers; ``"udp"``, a
#: UDP tunnel (VXLAN, Geneve) whose outer source port the sender derives
#: from a hash of the inner flow (RFC 7348 section 5; Linux
#: ``udp_flow_src_port``), so flows differ in that port only.
TUNNELS = ("none", "udp")

#: Whose IP addresses a path's flows carry in their own (inner) headers:
#: ``"shared"``, one pair for every flow (applications on the hosts), or
#: ``"per-flow"``, a pair of their own (a container per endpoint).
FLOW_ADDRESSES = ("shared", "per-flow")

#: Execution contexts, and the /proc/stat column each is accounted to.
CONTEXTS = ("hardirq", "softirq", "syscall", "user")

#: What a stage's per-unit cost is charged on.  ``packet``: each packet as
#: the stage sees it (a wire packet, a GRO or GSO segment, an IP fragment or
#: a reassembled datagram, depending on batching upstream); ``wire_packet``:
#: each packet on the wire whatever the batching; ``message``: each
#: application message; ``interrupt``: each hard interrupt.
UNITS = ("packet", "wire_packet", "message", "interrupt")

#: How a stage changes the granularity of what flows downstream.
#: Receive side: ``gro`` merges TCP wire packets into segments (when the
#: host's GRO is on); ``tunnel_gro`` does so for VXLAN-encapsulated packets
#: only when the NIC also has tunnel offloads; ``reassemble`` turns IP
#: fragments into one datagram; ``gso`` cuts a merged segment that is
#: forwarded out of another device (a bridge port, a container's veth) back
#: into packets in software when that device takes no TSO segments (the
#: host's ``forward_tso`` off; ``validate_xmit_skb``).  Send side: ``gso`` splits TCP segments
#: into wire packets in software unless TSO does it in the NIC;
#: ``tunnel_gso`` likewise for encapsulated segments (hardware needs tunnel
#: offloads); ``fragment`` splits a UDP datagram into IP fragments.
BATCHINGS = ("none", "gro", "tunnel_gro", "reassemble", "gso", "tunnel_gso", "fragment")

PROTOCOLS = ("tcp", "udp")

#: A stage's numeric costs: what a what-if, a lever or a fit may change by name
#: (``"stage.field"``); raising any of them never raises throughput.
STAGE_COSTS = ("cost_cycles_per_unit", "cost_cycles_per_byte", "cost_cycles_per_invocation",
               "cache_misses_per_unit", "flow_state_lines", "shared_lines_per_unit")

#: Largest UDP payload in one IPv4 datagram: 65535 - 20 (IP) - 8 (UDP).
UDP_MAX_PAYLOAD_BYTES = 65507

_RX_BATCHINGS = {"gro", "tunnel_gro", "reassemble", "gso"}
_TX_BATCHINGS = {"gso", "tunnel_gso", "fragment"}
_OFFLOAD_FLAGS = ("rx_csum", "tx_csum", "tso", "gso", "gro", "tunnel_offload")
#: Host flags that decide whether a stage takes its packets from the sending socket.
ORPHAN_FLAGS = ("veth_orphans_skb", "bridge_nf_call_iptables")


def _cache_hash(obj) -> None:
    """Hash a frozen record once (paths are hashed on every prediction's cache lookup)."""
    values = tuple(getattr(obj, f.name) for f in fields(obj))
    object.__setattr__(obj, "_hash", hash((type(obj).__name__, values)))


def _scalar(**spec: Any):
    return field(default=0.0, metadata={"kind": "number", **spec})


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One server of the tandem: a piece of work with per-unit and per-byte costs.

    Parameters
    ----------
    name : str
        Unique within a path side; calibration addresses a cost as
        ``"name.field"``.
    context : {'hardirq', 'softirq', 'syscall', 'user'}
        Where the work runs; decides preemption and the /proc/stat column
        (irq, softirq, sys, usr).
    unit : {'packet', 'wire_packet', 'message', 'interrupt'}
        What ``cost_cycles_per_unit`` is charged on (see :data:`UNITS`).
    cost_cycles_per_unit : float
        CPU cycles per unit (>= 0).
    cost_cycles_per_byte : float
        CPU cycles per payload byte (>= 0).
    cost_cycles_per_invocation : float
        Cycles per NAPI poll of this stage (poll stages only, >= 0).
    cache_misses_per_unit : float
        DRAM misses per unit; each costs ``host.dram_latency_ns * host.ghz``
        cycles (the explicit cache-miss term).
    flow_state_lines : float
        Cache lines of the flow's own state (its socket, its protocol
        control block) the stage touches per unit (>= 0).  Each is missing
        from the core's L2 with the chance the flows sharing the core give
        (:func:`queuemodel.memory.flow_state_miss`) and then costs
        ``host.llc_latency_ns * host.ghz`` cycles.
    shared_lines_per_unit : float
        Cache lines the stage writes per unit that every CPU running it writes
        too: one object for the whole host, not one per flow (>= 0).  A line
        last written by another CPU comes over from that CPU's cache in
        ``host.line_transfer_ns``; the chance is the share of the stage's work
        on other CPUs (:attr:`queuemodel.model.Result.shared_line_remote_fraction`).
        Linux before 4.7 takes and drops a reference on a UDP socket for every
        datagram it delivers to it: for an overlay, the one VXLAN socket.
    poll : bool
        Whether the stage is a NAPI poll loop (the NIC queue, VXLAN's
        gro_cells, the per-CPU backlog); softirq stages only.  Each poll
        stage is polled at least once per interrupt and once per
        ``napi_weight`` packets.
    batching : str
        How the stage changes granularity downstream (see :data:`BATCHINGS`).
    protocols : tuple of str
        Protocols that pass through this stage.
    orphans_skb : bool or str
        Whether the stage takes the packet away from the sending socket
        (``skb_orphan``), or the host flag that says whether it does (one of
        :data:`ORPHAN_FLAGS`): a veth handing the packet to another namespace
        (``dev_forward_skb``) does on kernels before 4.19
        (:attr:`~queuemodel.host.Host.veth_orphans_skb`); a bridge does when
        it hands IPv4 frames to iptables
        (:attr:`~queuemodel.host.Host.bridge_nf_call_iptables`).  The
        socket's send buffer then no longer fills while the packet waits at
        the NIC, so nothing throttles a UDP sender to the link: it sends at
        its CPU's pace and the NIC's queue drops what the link cannot carry.
    reads_received_bytes : bool
        Whether the stage is the first to read the received payload after
        the NIC (or a veth's sender) wrote it: the copy to the application.
        Its per-byte work waits for the bytes that have left the cache
        meanwhile (the read-miss chance of :mod:`queuemodel.memory`), each
        costing ``host.dram_misses_in_flight``' Little's-law penalty.  It
        also writes them into the reader's buffer: two passes over the
        payload through its core's L2 (what pushes the flows' state out,
        :func:`queuemodel.memory.flow_state_miss`).
    offloaded_by : str
        Name of a host flag (``rx_csum``, ``tx_csum``, ``tunnel_offload``...)
        that, when on, moves this stage's work into the NIC; empty for none.
        No offload applies to a fragmented UDP datagram: the NIC never sees
        it whole.
    source : str
        Where the numbers come from.

    Examples
    --------
    >>> from queuemodel.stage import Stage
    >>> s = Stage(name="ipvlan_rx", context="softirq", unit="packet",
    ...           cost_cycles_per_unit=300.0, source="my estimate")
    >>> s.cost_cycles_per_byte
    0.0
    """

    name: str = field(metadata={"kind": "name"})
    context: str = field(metadata={"kind": "choice", "options": CONTEXTS})
    unit: str = field(metadata={"kind": "choice", "options": UNITS})
    cost_cycles_per_unit: float = _scalar(low=0.0)
    cost_cycles_per_byte: float = _scalar(low=0.0)
    cost_cycles_per_invocation: float = _scalar(low=0.0)
    cache_misses_per_unit: float = _scalar(low=0.0)
    flow_state_lines: float = _scalar(low=0.0)
    shared_lines_per_unit: float = _scalar(low=0.0)
    poll: bool = field(default=False, metadata={"kind": "flag"})
    batching: str = field(default="none", metadata={"kind": "choice", "options": BATCHINGS})
    orphans_skb: bool | str = False
    reads_received_bytes: bool = field(default=False, metadata={"kind": "flag"})
    protocols: tuple = PROTOCOLS
    offloaded_by: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        _checks.validate_fields(self, f"stage[{self.name!r}]")
        label = f"stage[{self.name!r}]"
        for name in STAGE_COSTS:
            if np.ndim(getattr(self, name)):
                raise ModelInputError(f"{label}.{name}", getattr(self, name), "a scalar")
        protos = tuple(self.protocols)
        if not protos or any(p not in PROTOCOLS for p in protos):
            raise ModelInputError(f"{label}.protocols", self.protocols,
                                  "a non-empty tuple of 'tcp' and 'udp'")
        object.__setattr__(self, "protocols", protos)
        if not (isinstance(self.orphans_skb, str) and self.orphans_skb in ORPHAN_FLAGS):
            try:                                    # a bool, or a word for one ("on")
                orphans = _checks.flag(f"{label}.orphans_skb", self.orphans_skb)
            except ModelInputError:
                raise ModelInputError(f"{label}.orphans_skb", self.orphans_skb,
                                      "a bool or one of " + ", ".join(ORPHAN_FLAGS)) from None
            object.__setattr__(self, "orphans_skb", orphans)
        if self.offloaded_by not in ("",) + _OFFLOAD_FLAGS:
            raise ModelInputError(f"{label}.offloaded_by", self.offloaded_by,
                                  "'' or one of " + ", ".join(_OFFLOAD_FLAGS))
        if self.cost_cycles_per_invocation and not self.poll:
            raise ModelInputError(f"{label}.cost_cycles_per_invocation",
                                  self.cost_cycles_per_invocation,
                                  "0 unless poll=True (only NAPI polls are invoked in batches)")
        if self.poll and self.context != "softirq":
            # NAPI polls run in the NET_RX softirq (or ksoftirqd for it); the model places
            # them on the flow's interrupted CPU and counts the softirq runs they make.
            raise ModelInputError(f"{label}.poll", self.poll,
                                  "False unless context='softirq' (a NAPI poll is softirq "
                                  "work)")
        if self.unit == "interrupt" and self.context != "hardirq":
            raise ModelInputError(f"{label}.unit", self.unit,
                                  "used only with context='hardirq'")
        _cache_hash(self)

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, kw_only=True)
class Path:
    """A network path: the stages a message passes through on each side.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"docker-overlay"``.
    tx : tuple of Stage
        Sender stages, in the order a message meets them.
    rx : tuple of Stage
        Receiver stages, from the NIC interrupt to the application.
    encap_bytes : int
        Bytes of tunnel headers added to every wire packet (VXLAN: 50).
    tunnel : {'none', 'udp'}
        How the path wraps a flow's packets on the wire (:data:`TUNNELS`);
        with the host's ``rss_udp_ports`` and ``rps`` it decides whether
        the receiver's hashes tell the flows apart
        (:func:`queuemodel.flows.hash_tells_apart`).
    flow_addresses : {'shared', 'per-flow'}
        Whether the flows' own (inner) headers carry one address pair for
        all or a pair per flow (:data:`FLOW_ADDRESSES`); a hash that sees
        them tells per-flow addresses apart, fragments included.
    description : str
        One line for reports.

    Examples
    --------
    >>> from queuemodel.paths import get_path
    >>> [s.name for s in get_path("native").rx][:4]
    ['irq', 'nic_rx', 'csum_rx', 'gro']
    """

    name: str
    tx: tuple
    rx: tuple
    encap_bytes: int = 0
    tunnel: str = "none"
    flow_addresses: str = "shared"
    description: str = ""

    def __post_init__(self) -> None:
        label = f"path[{self.name!r}]"
        if self.tunnel not in TUNNELS:
            raise ModelInputError(f"{label}.tunnel", self.tunnel,
                                  "one of " + ", ".join(TUNNELS))
        if self.flow_addresses not in FLOW_ADDRESSES:
            raise ModelInputError(f"{label}.flow_addresses", self.flow_addresses,
                                  "one of " + ", ".join(FLOW_ADDRESSES))
        if not isinstance(self.name, str) or not self.name:
            raise ModelInputError("path.name", self.name, "a non-empty string")
        for side, allowed in (("tx", _TX_BATCHINGS), ("rx", _RX_BATCHINGS)):
            stages = tuple(getattr(self, side))
            if not stages or not all(isinstance(s, Stage) for s in stages):
                raise ModelInputError(f"{label}.{side}", getattr(self, side),
                                      "a non-empty tuple of Stage")
            names = [s.name for s in stages]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ModelInputError(f"{label}.{side}", sorted(dup),
                                      "stages with unique names")
            for s in stages:
                if s.batching != "none" and s.batching not in allowed:
                    raise ModelInputError(f"{label}.{side}[{s.name!r}].batching", s.batching,
                                          "one of none, " + ", ".join(sorted(allowed)))
                if side == "tx" and s.unit == "interrupt":
                    raise ModelInputError(f"{label}.tx[{s.name!r}].unit", s.unit,
                                          "packet, wire_packet or message on the sender")
            object.__setattr__(self, side, stages)
        enc = _checks.number(f"{label}.encap_bytes", self.encap_bytes, low=0, high=256,
                             integer=True)
        object.__setattr__(self, "encap_bytes", int(enc))
        _cache_hash(self)

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, kw_only=True)
class Workload:
    """What the application does: protocol, message size, flows, offered rate.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : int or array_like
        Bytes per send/receive call (a UDP datagram's payload), >= 1; UDP at
        most 65507.
    flows : int or array_like
        Concurrent flow pairs (1..100000).
    offered_gbps : float or array_like
        Rate each sender tries to send at; ``inf`` (default) means as fast
        as it can (iperf3's TCP default; ``-b 0`` for UDP).
    arrival_scv : float or array_like
        Squared coefficient of variation of the times between a sender's
        messages: 1 (default) Poisson, 0 perfectly paced.  It sets latency and
        loss, how much waits at a receive CPU below capacity (memory traffic,
        and so the copy's DRAM reads: a link-bound flow's packets too, which
        the link interleaves with others'), and how often a reader sleeps
        between deliveries; for that last, a sender offered no rate
        (``inf``) counts as paced, 0 (it sends back to back, as measured).

    Examples
    --------
    >>> Workload(proto="udp", msg_bytes=8192).flows
    1.0
    """

    proto: str
    msg_bytes: Any
    flows: Any = 1
    offered_gbps: Any = float("inf")
    arrival_scv: Any = 1.0

    def __post_init__(self) -> None:
        _checks.choice("workload.proto", self.proto, PROTOCOLS)
        high = UDP_MAX_PAYLOAD_BYTES if self.proto == "udp" else 1 << 40
        allowed_hi = " (UDP: one IPv4 datagram)" if self.proto == "udp" else ""
        try:
            msg = _checks.number("workload.msg_bytes", self.msg_bytes, low=1, high=high,
                                 integer=True)
        except ModelInputError as err:
            raise ModelInputError(err.field, err.value, err.allowed + allowed_hi) from None
        object.__setattr__(self, "msg_bytes", msg)
        object.__setattr__(self, "flows", _checks.number(
            "workload.flows", self.flows, low=1, high=100_000, integer=True))
        object.__setattr__(self, "offered_gbps", _checks.number(
            "workload.offered_gbps", self.offered_gbps, low=0.0, low_open=True,
            allow_inf=True))
        object.__setattr__(self, "arrival_scv", _checks.number(
            "workload.arrival_scv", self.arrival_scv, low=0.0, high=100.0))
