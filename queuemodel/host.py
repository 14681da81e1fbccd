"""The host: CPU, memory, NIC and kernel settings of one machine.

A :class:`Host` describes both ends of the link (the seed paper's two
machines are identical).  It holds no defaults of its own: the values for
the paper's testbed, each with its source, live in
:func:`queuemodel.hosts.paper_testbed`, and a what-if is a
``dataclasses.replace(host, link_gbps=100)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _checks
from .errors import ModelInputError

__all__ = ["Host", "HOST_FIELDS", "RECORDED_ONLY"]


def _num(**spec: Any):
    return field(metadata={"kind": "number", **spec})


def _flag():
    return field(metadata={"kind": "flag"})


@dataclass(frozen=True, kw_only=True)
class Host:
    """One machine and its link, as the model sees it.

    Every numeric field may be a numpy array; the solver broadcasts.

    Parameters
    ----------
    name : str
        A label for reports.
    ghz : float
        Core clock in GHz, 0.001 to 20 (1 MHz to 20 GHz; at a denormal
        clock, below about 1e-308 GHz, the cycle arithmetic overflows).
    physical_cores : int
        Physical cores (>= 1).
    threads_per_core : int
        Hardware threads per core (1 = hyper-threading off).
    smt_gain : float
        Extra throughput a second busy hardware thread adds to its core,
        as a fraction of one thread (0..1): two busy threads get
        ``(1 + smt_gain) / 2`` of the core each, and a thread runs at
        ``1 - u (1 - smt_gain) / 2`` of it while its sibling is busy a
        share ``u`` of the time (:func:`queuemodel.kernels.smt_speed`).
    l1d_kib : float
        Per-core L1 data cache in KiB.  Recorded only: no mechanism reads
        it yet (see :data:`RECORDED_ONLY`).
    l2_kib : float
        Per-core L2 cache in KiB, shared by the core's hardware threads:
        what keeps each flow's state between its packets
        (:func:`queuemodel.memory.flow_state_miss`).
    llc_mib : float
        Shared last-level cache in MiB.
    memory_gbytes_per_s : float
        DRAM bandwidth in GB/s the receiver's packet data may use: a
        host-wide limit on its DRAM traffic (:func:`queuemodel.kernels.dram_budget`).
    dram_latency_ns : float
        Load-to-use latency of a miss that goes to DRAM, in ns (0..1e6); a
        cache miss costs ``dram_latency_ns * ghz`` cycles, charged for a
        stage's ``cache_misses_per_unit`` (0 on every built-in stage).
    dram_misses_in_flight : float
        Cache-line misses one core keeps in flight while it streams (its L2
        superqueue, which the L2 prefetcher fills on a sequential copy;
        1..1024: a stream has at least one).
        By Little's law a core streams at most ``dram_misses_in_flight * 64 /
        dram_latency_ns`` bytes per ns from DRAM, so a byte read from DRAM
        rather than the cache costs ``ghz * dram_latency_ns /
        (dram_misses_in_flight * 64)`` more cycles: charged on the received
        bytes a stage that ``reads_received_bytes`` finds gone from the
        cache (:mod:`queuemodel.memory`).
    llc_latency_ns : float
        Load-to-use latency of an L2 miss the last-level cache serves, in ns
        (0..1e6): what a line of a flow's state the L2 lost costs
        (``llc_latency_ns * ghz`` cycles; a stage's ``flow_state_lines``).
    line_transfer_ns : float
        What a write to a cache line another core holds modified costs, in
        ns (0..1e6): the line comes over from that core's cache (a stage's
        ``shared_lines_per_unit``, a line every receive CPU writes).
    link_gbps : float
        Line rate of the link in Gb/s.
    mtu : int
        IP MTU of the link in bytes (576..9216).
    nic_queues : int
        Receive queues the NIC spreads flows over (RSS).
    rx_ring : int
        Descriptors per receive ring.
    queue_cpus : tuple of int
        Logical CPU that serves each receive queue's interrupt; empty for the
        default spread, queue ``q`` on CPU ``q mod (physical_cores *
        threads_per_core)``.  Logical CPUs ``c`` and ``c + physical_cores``
        are the threads of one core.
    irq_moderation_usecs : float
        Interrupt moderation delay in microseconds (rx-usecs) used when
        adaptive moderation is off.
    irq_moderation_frames : int
        Frames that fire an interrupt at once (rx-frames, >= 1).
    adaptive_moderation : bool
        Whether the driver picks the delay from the packet rate.
    adaptive_rate_low_pps, adaptive_rate_high_pps : float
        Per-queue packet rates between which adaptive moderation moves its
        delay from ``adaptive_usecs_low`` to ``adaptive_usecs_high``.
    adaptive_usecs_low, adaptive_usecs_high : float
        Delays (us) adaptive moderation uses at low and high packet rates.
    adaptive_small_frame_bytes : float
        Adaptive moderation leaves a queue whose frames average this many
        bytes or fewer (as the NIC counts them: Ethernet header to payload,
        no FCS) at ``adaptive_usecs_low`` whatever its rate; 0 never does.
    tso, gso, gro : bool
        TCP segmentation offload, generic segmentation and generic
        receive offload.  With ``tso`` and ``gso`` both off a sender's TCP
        builds sk_buffs of one MSS and nothing segments them (Linux 4.4:
        ``sk_can_gso`` false).  Since "tcp: switch to GSO being always on"
        (Linux 4.19; the version from memory, not read in source) TCP
        builds GSO sk_buffs whatever the device says and a device without
        GSO cuts them in software: such a host is ``tso`` off, ``gso`` on
        (as the testbed fit sets rows with segmentation off).
        TSO works only with ``tx_csum`` on: the kernel drops it from a device
        without transmit checksum offload (``netdev_fix_features``).
    rx_csum, tx_csum : bool
        Checksum offload on receive and transmit (plain, un-tunnelled packets).
    tunnel_offload : bool
        Whether the NIC checksums, segments and hashes the inner packets of
        VXLAN traffic (ConnectX-3 Pro and later; mlx4_en's VXLAN offload
        mode also sets RSS on the inner headers); off means that work is
        done in software and RSS sees the outer headers.  The inner
        checksums, and the VXLAN GRO and TSO that rest on them, work only
        with the checksum offload of their side (``rx_csum``, ``tx_csum``);
        the inner RSS hash works without.
    napi_weight : int
        Packets one NAPI poll may take (>= 1).
    netdev_budget : int
        Packets one NET_RX softirq run may take over all its polls.  Under
        Linux 4.4 a run polls each queued NAPI at most once, so it binds only
        when ``ceil(netdev_budget / napi_weight)`` is below the NAPI stages
        (never with the defaults, 300 and 64); then a polling period needs
        more runs (:func:`queuemodel.solver.softirq_runs_per_message`).
    netdev_budget_jiffies : int
        Jiffies one NET_RX softirq run may last.  Recorded only: a run polls
        each NAPI at most once, a few hundred microseconds at most.
    netdev_max_backlog : int
        Length of the per-CPU backlog queue fed by ``netif_rx`` (veth).
        Recorded only: the model's drops happen at the ring and the socket.
    softirq_max_restart : int
        NET_RX runs ``__do_softirq`` makes in a row before it hands what is
        left to ksoftirqd (>= 1).
    softirq_max_time_ms : float
        Time after which ``__do_softirq`` hands what is left to ksoftirqd,
        ms (> 0).
    rps : bool
        Receive packet steering on: each flow goes to one of all the
        logical CPUs by the NIC's hash (which RPS reuses), not to its
        queue's CPU.  The whole flow moves: in Linux the queue's CPU keeps
        the hard interrupt, the NIC's poll and GRO and hands each packet
        on with an inter-processor interrupt, so a steered flow uses two
        CPUs; the model leaves that split and the IPIs out (one flow's
        split, as RPS makes it: :func:`queuemodel.parallel.rps`).  RPS reuses
        the NIC's hash where the NIC marked it a 4-tuple one, which needs
        ``rx_csum``; otherwise it hashes each packet's own headers, ports
        included (:func:`queuemodel.flows.hash_tells_apart`).
    rss_udp_ports : bool
        Whether the NIC's RSS hash of UDP includes the ports (mlx4_en's
        ``udp_rss``; ``ethtool -N DEV rx-flow-hash udp4 sdfn`` where the
        driver supports it).  Without them, UDP flows between two hosts
        hash alike, overlay flows too (their outer packets are UDP) unless
        the NIC hashes the inner headers (``tunnel_offload``).  IP
        fragments carry no ports and are hashed on the addresses whatever
        this says (:func:`queuemodel.flows.hash_tells_apart`).
    flow_steering : bool
        Explicit per-flow rules (ethtool ntuple / flow director) put flow
        ``i`` on queue ``i mod nic_queues`` instead of the RSS hash.  A rule
        matches what every packet of a flow carries (its ports, a tunnel's
        outer ones, or addresses of its own): the IP fragments of datagrams
        that share one address pair carry none of it and go where RSS puts
        them (native UDP above the MTU is not steered).
    gro_max_bytes, gso_max_bytes : int
        Largest GRO-merged and GSO/TSO segment in bytes.
    rx_flow_run_packets : float
        Packets of one flow that reach a shared receive queue back to back
        before another flow's (how finely the sending NIC interleaves its
        queues); >= 1.  Short runs put many flows in each NAPI poll and
        shorten their GRO segments (:func:`queuemodel.flows.gro_segments_per_packet`);
        runs of ``napi_weight`` packets or more leave GRO as for one flow.
    gro_max_flows : int
        Segments GRO holds at once per NAPI; a packet of another flow
        flushes the oldest (``MAX_GRO_SKBS``).
    tcp_coalesce_hold_us : float
        How long a TCP burst that has left holds the sender's next small
        writes back, in microseconds (autocorking keeps them until the NIC
        reports the burst sent, Nagle's rule until it is acknowledged); the
        writes gathered meanwhile leave together, so a faster sender
        gathers more (:func:`queuemodel.solver.tcp_writes_per_burst`).  0:
        nothing is held, every write leaves as a segment of its own (the
        slow regime of small writes measured over a veth pair, README
        "Small TCP messages on this VM"; what puts a flow in it is open).
    softirq_entry_cycles : float
        Cycles to enter and leave one softirq run (counted per interrupt).
    context_switch_cycles : float
        Cycles of one switch between two tasks on a core, cache refill of
        the direct working set included.
    wake_latency_us : float
        Microseconds from a delivery that wakes a sleeping reader to the
        reader reading; what arrives meanwhile it reads in the same go
        (:func:`queuemodel.solver.wakeups_per_message`).  0: it reads the
        moment it is woken, and sleeps again after every delivery it
        drains.  The software path only: the idle state the reader's CPU
        slept in adds its exit latency (``idle_states_us``).
    idle_states_us : tuple of (float, float)
        The CPU's idle states deeper than polling, as ``(target residency,
        exit latency)`` pairs in microseconds, residencies strictly rising
        and exit latencies never falling (what ``cpuidle`` lists under
        ``/sys/devices/system/cpu/cpu0/cpuidle``; on a VM, what the
        hypervisor does with an idle vCPU).  A CPU idle for ``T`` wakes from
        the deepest state whose residency is at most ``T`` and pays its exit
        latency on top of ``wake_latency_us``
        (:func:`queuemodel.solver.idle_exit_moments`).  Empty: it polls, and
        wakes at once (``intel_idle.max_cstate=0 idle=poll``).
    app_on_softirq_core : bool
        Whether the receiving application runs on the core that does its
        flow's softirq work (the scheduler's wake-affine placement) or on
        a core of its own.
    link_segments : bool
        Whether the link cuts a TSO/GSO segment into MTU-sized frames (a
        NIC does, so the receiver sees wire packets) or carries the
        ``sk_buff`` whole (a veth pair does, so a TCP "wire packet" is a
        GSO segment of up to ``gso_max_bytes``).  IP fragments of a UDP
        datagram are separate packets either way.
    forward_tso : bool
        Whether the devices a receiver forwards a GRO-merged segment out of
        (a Docker bridge's port, a routed container's veth) take it whole,
        as their TSO lets them by default; off (``ethtool -K DEV tso off``),
        the kernel cuts it back into packets in software as it leaves
        (``validate_xmit_skb``), and every stage after works per packet.
    sender_on_receive_cpu : bool
        Whether sender and receiver are one kernel on the same CPUs (a
        namespace testbed over veth): each flow's sending work then runs on
        the CPU that does its receive softirq work (veth's ``netif_rx``
        queues the packet on the sending CPU's backlog), instead of on a
        machine of its own.
    veth_link : bool
        Whether the link is a veth pair rather than a NIC: every path then
        runs without the NIC's stages (:func:`queuemodel.paths.over_veth`:
        no hard IRQ, NIC poll, GRO or TX completion; ``veth_xmit`` and the
        backlog instead).
    veth_orphans_skb : bool
        Whether a packet that a veth hands to another network namespace
        leaves its sending socket's account (the stages whose
        :attr:`~queuemodel.stage.Stage.orphans_skb` names this flag: the
        Docker sender's veth, a veth link): true before Linux 4.19, false
        since.  A packet taken from its socket no longer fills the socket's
        send buffer while it waits at the NIC, so a UDP sender is never held
        to the link and the sending NIC's queue drops the excess; a socket
        that keeps paying for its packets blocks when the link is full.
    bridge_nf_call_iptables : bool
        Whether a bridge hands the IPv4 frames it forwards to iptables
        (``net.bridge.bridge-nf-call-iptables`` with br_netfilter, which
        Docker's networks need), which takes them from their sending socket
        (read in 6.1's source, measured on 6.18; believed, not checked, to be
        in 4.4).
        The stages whose ``orphans_skb`` names this flag: the bridge a
        container's frames leave by.
    service_scv : float
        Squared coefficient of variation of a core's work per message in
        each context (0 = constant, 1 = exponential); used for latency and
        finite-buffer loss only, not for capacity.
    socket_rcvbuf_bytes : int
        A receiving socket's buffer limit in bytes (``SO_RCVBUF``), charged
        at each packet's true size.
    rx_buffer_truesize_bytes : int
        Memory one received wire packet is charged against the socket
        buffer (its receive buffer plus the ``sk_buff``).
    socket_admits_past_limit : bool
        Whether a socket takes a datagram while what it holds is under
        ``SO_RCVBUF``, so the last one taken may overshoot it (Linux 4.4:
        it holds ``ceil(rcvbuf / truesize)``), or refuses one that would
        overshoot (``floor``, at least one).
    overload_defers_softirq : bool
        What a CPU that runs both a UDP flow's softirq work and its reader
        does when offered more than it carries.  True: the softirq work
        moves to ksoftirqd, a thread the scheduler shares with the reader,
        and the ring drops the excess before any work is spent on it; the
        CPU carries its capacity.  False: the softirq keeps preempting the
        reader, handles every message it can and leaves the reader only
        the time it does not use, so the socket drops the rest after the
        softirq has worked on it and delivery falls as the offer grows, to
        nothing once the softirq alone fills the CPU (receive livelock).
    ring_cuts_fragments : bool
        Whether a receive queue that overflows cuts UDP datagrams: it drops
        fragments, not datagrams, and admits them in runs of ``napi_weight``
        (a NIC's ring refilled once per poll; ``netdev_max_backlog`` over a
        veth pair, whose backlog queue is taken whole), so about ``(n - 1)
        / run`` of what it admits belongs to datagrams of ``n`` fragments it
        cut, which the softirq works on and the reader never gets.  False:
        it drops whole datagrams (the capacity model's CPU).  Only where the
        excess is dropped at the queue, not by the socket (livelock).
    frag_cache_bytes : int
        Memory the incomplete datagrams of one network namespace may hold
        (``net.ipv4.ipfrag_high_thresh``), charged at each fragment's
        ``rx_buffer_truesize_bytes``.
    frag_timeout_s : float
        Seconds an incomplete datagram waits for its other fragments
        (``net.ipv4.ipfrag_time``).
    frag_cache_refuses : bool
        What a full fragment cache does.  False: it evicts the oldest
        incomplete datagrams (Linux before 4.17).  True: it refuses every
        new fragment until some time out (Linux 4.17 on).  Matters only
        where rings cut datagrams (``ring_cuts_fragments``), whose
        fragments never complete: when they outgrow the cache, the flow
        delivers only the share of the time the cache lets fragments in
        (:func:`queuemodel.kernels._frag_cache_share`).
    ddio_share : float
        Share of the last-level cache a NIC's writes may allocate into
        (Intel DDIO; :mod:`queuemodel.memory`): how much of what waits for
        the copy stays cached, so the memory traffic and the copy's DRAM
        reads (one native TCP flow: 20.1 Gb/s with no share, 23.0 with 10 %).
    tcp_window_bytes : int
        Bytes a TCP flow keeps queued at a receiver that cannot keep up:
        its full receive window.  It sets how long received bytes wait
        before the copy, so the memory traffic and the copy's DRAM reads
        (a smaller window keeps more of them cached, and the copy goes
        faster).  The model takes the window to cover the flow's
        bandwidth-delay product: it never holds the sender back, so a
        window too small for that gives a rate no real flow reaches.
    """

    name: str = field(metadata={"kind": "name"})
    ghz: Any = _num(low=0.001, high=20.0)
    physical_cores: Any = _num(low=1, high=4096, integer=True)
    threads_per_core: Any = _num(low=1, high=8, integer=True)
    smt_gain: Any = _num(low=0.0, high=1.0)
    l1d_kib: Any = _num(low=0.0, low_open=True)
    l2_kib: Any = _num(low=0.0, low_open=True)
    llc_mib: Any = _num(low=0.0, low_open=True)
    memory_gbytes_per_s: Any = _num(low=0.0, low_open=True)
    dram_latency_ns: Any = _num(low=0.0, high=1e6)
    dram_misses_in_flight: Any = _num(low=1.0, high=1024.0)
    llc_latency_ns: Any = _num(low=0.0, high=1e6)
    line_transfer_ns: Any = _num(low=0.0, high=1e6)
    link_gbps: Any = _num(low=0.0, low_open=True, high=10000.0)
    mtu: Any = _num(low=576, high=9216, integer=True)
    nic_queues: Any = _num(low=1, high=4096, integer=True)
    rx_ring: Any = _num(low=1, high=1 << 20, integer=True)
    queue_cpus: tuple = field(metadata={"kind": "cpus"})
    irq_moderation_usecs: Any = _num(low=0.0, high=1e6)
    irq_moderation_frames: Any = _num(low=1, high=1 << 20, integer=True)
    adaptive_moderation: bool = _flag()
    adaptive_rate_low_pps: Any = _num(low=0.0)
    adaptive_rate_high_pps: Any = _num(low=0.0)
    adaptive_usecs_low: Any = _num(low=0.0, high=1e6)
    adaptive_usecs_high: Any = _num(low=0.0, high=1e6)
    adaptive_small_frame_bytes: Any = _num(low=0.0, high=1e6)
    tso: bool = _flag()
    gso: bool = _flag()
    gro: bool = _flag()
    rx_csum: bool = _flag()
    tx_csum: bool = _flag()
    tunnel_offload: bool = _flag()
    napi_weight: Any = _num(low=1, high=1 << 16, integer=True)
    netdev_budget: Any = _num(low=1, high=1 << 20, integer=True)
    netdev_budget_jiffies: Any = _num(low=1, high=1 << 16, integer=True)
    netdev_max_backlog: Any = _num(low=1, high=1 << 24, integer=True)
    softirq_max_restart: Any = _num(low=1, high=1 << 16, integer=True)
    softirq_max_time_ms: Any = _num(low=0.0, low_open=True, high=1e4)
    rps: bool = _flag()
    rss_udp_ports: bool = _flag()
    flow_steering: bool = _flag()
    gro_max_bytes: Any = _num(low=1, high=1 << 24, integer=True)
    gso_max_bytes: Any = _num(low=1, high=1 << 24, integer=True)
    rx_flow_run_packets: Any = _num(low=1.0, high=1 << 16)
    gro_max_flows: Any = _num(low=1, high=1 << 16, integer=True)
    tcp_coalesce_hold_us: Any = _num(low=0.0, high=1e6)
    softirq_entry_cycles: Any = _num(low=0.0)
    context_switch_cycles: Any = _num(low=0.0)
    wake_latency_us: Any = _num(low=0.0, high=1e6)
    idle_states_us: tuple = field(metadata={"kind": "idle"})
    app_on_softirq_core: bool = _flag()
    link_segments: bool = _flag()
    forward_tso: bool = _flag()
    sender_on_receive_cpu: bool = _flag()
    veth_link: bool = _flag()
    veth_orphans_skb: bool = _flag()
    bridge_nf_call_iptables: bool = _flag()
    service_scv: Any = _num(low=0.0, high=100.0)
    socket_rcvbuf_bytes: Any = _num(low=1, high=1 << 31, integer=True)
    rx_buffer_truesize_bytes: Any = _num(low=1, high=1 << 20, integer=True)
    socket_admits_past_limit: bool = _flag()
    overload_defers_softirq: bool = _flag()
    ring_cuts_fragments: bool = _flag()
    frag_cache_bytes: Any = _num(low=1, high=1 << 40, integer=True)
    frag_timeout_s: Any = _num(low=0.0, low_open=True, high=1e6)
    frag_cache_refuses: bool = _flag()
    ddio_share: Any = _num(low=0.0, high=1.0, low_open=True)
    tcp_window_bytes: Any = _num(low=1, high=1 << 31, integer=True)

    def __post_init__(self) -> None:
        _checks.validate_fields(self, "host")
        _checks.ordered("host.adaptive_rate_high_pps", self.adaptive_rate_high_pps,
                        "adaptive_rate_low_pps", self.adaptive_rate_low_pps)
        logical = int(np.min(np.multiply(self.physical_cores, self.threads_per_core)))
        try:
            cpus = tuple(int(c) for c in self.queue_cpus)
        except (TypeError, ValueError):
            cpus = None
        if cpus is None or any(c < 0 or c >= logical or c != float(x)
                               for c, x in zip(cpus, self.queue_cpus)) or (
                cpus and np.ndim(self.nic_queues) == 0 and len(cpus) != self.nic_queues):
            raise ModelInputError("host.queue_cpus", self.queue_cpus,
                                  f"empty, or one logical CPU in 0..{logical - 1} per queue")
        object.__setattr__(self, "queue_cpus", cpus)
        object.__setattr__(self, "idle_states_us", idle_states(self.idle_states_us))
        _checks.ordered("host.adaptive_usecs_high", self.adaptive_usecs_high,
                        "adaptive_usecs_low", self.adaptive_usecs_low)


def idle_states(value) -> tuple:
    """``value`` as ``Host.idle_states_us``: a tuple of ``(residency, exit)`` float pairs.

    Takes pairs (a tuple or list of them, as a TOML file holds them) or the
    command line's text, ``"residency:exit,residency:exit"`` (``""`` or
    ``"none"``: no idle state to wake from).

    Raises
    ------
    ModelInputError
        Naming ``host.idle_states_us`` unless every pair holds two finite
        numbers >= 0 (at most 1e6 us), residencies strictly rising and exit
        latencies never falling.

    Examples
    --------
    >>> idle_states("20:10, 400:133")
    ((20.0, 10.0), (400.0, 133.0))
    >>> idle_states([[2, 2]])
    ((2.0, 2.0),)
    """
    allowed = ("(residency_us, exit_latency_us) pairs of finite numbers in [0, 1e6], "
               "residencies strictly rising, exit latencies never falling "
               "(text: 'residency:exit,...' or 'none')")
    pairs = value
    try:
        if isinstance(value, str):
            text = value.strip()
            pairs = [] if text.lower() in ("", "none") else [
                item.split(":") for item in text.split(",")]
        states = tuple((float(r), float(e)) for r, e in pairs)
    except (TypeError, ValueError):
        raise ModelInputError("host.idle_states_us", value, allowed) from None
    ok = all(0.0 <= x <= 1e6 for pair in states for x in pair)     # False for NaN
    ok = ok and all(a[0] < b[0] and a[1] <= b[1] for a, b in zip(states, states[1:]))
    if not ok:
        raise ModelInputError("host.idle_states_us", value, allowed)
    return states


HOST_FIELDS = tuple(f.name for f in dataclasses.fields(Host))

#: Host fields the model records but no mechanism reads yet: setting them
#: changes no prediction.  ``tests/test_api.py`` holds this list to what the
#: model does, both ways.
RECORDED_ONLY = ("l1d_kib", "netdev_budget_jiffies", "netdev_max_backlog")
