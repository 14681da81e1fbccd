"""Host profiles, each number with its source.

:func:`paper_testbed` is the seed paper's machine (Lei et al., HotCloud
2019, section 3.1): two identical servers with a Xeon E5-2630 v4 and a
40 Gb/s Mellanox ConnectX-3, back to back, Linux 4.4.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from pathlib import Path as _FsPath

from .errors import ModelInputError, UnknownNameError
from .host import HOST_FIELDS, Host

__all__ = ["paper_testbed", "load_host", "load_host_text", "load_stage_costs", "host_to_toml",
           "with_overrides"]


@functools.lru_cache(maxsize=1)
def paper_testbed() -> Host:
    """The seed paper's 40 Gb/s testbed (the default host).

    The profile is immutable, so the same object is returned every time.

    Returns
    -------
    Host

    Examples
    --------
    >>> h = paper_testbed()
    >>> h.ghz, h.physical_cores * h.threads_per_core, h.link_gbps
    (2.2, 20.0, 40.0)
    """
    return Host(
        name="paper-testbed (Xeon E5-2630 v4, ConnectX-3 40 GbE, Linux 4.4)",
        # --- CPU: Intel ARK, Xeon E5-2630 v4 (Broadwell-EP) ---------------
        ghz=2.2,                     # ARK: base frequency 2.20 GHz
        physical_cores=10,           # ARK: 10 cores
        threads_per_core=2,          # ARK: Hyper-Threading, 20 threads; paper 3.1
        smt_gain=0.3,                # Marr et al., Intel Technology Journal 6(1), 2002:
                                     # a second hyper-thread adds up to ~30 %
        l1d_kib=32,                  # ARK / Intel optimisation manual: 32 KB L1d per core
        l2_kib=256,                  # Intel optimisation manual (Broadwell): 256 KB L2
                                     # per core, shared by its two threads
        llc_mib=25,                  # ARK: 25 MB shared L3
        memory_gbytes_per_s=68.3,    # 4 channels x 8 B x 2133 MT/s (DDR4-2133, ARK)
        dram_latency_ns=90.0,        # prior: typical local-DRAM load latency of a
                                     # Broadwell-EP socket (Intel MLC idle latency, ~85-95 ns)
        dram_misses_in_flight=16,    # Intel 64 and IA-32 Architectures Optimization Reference
                                     # Manual (Haswell/Broadwell): the L2 superqueue's 16
                                     # entries bound a core's outstanding L2 misses; a
                                     # sequential copy is prefetched by the L2 streamer, so
                                     # this, not the 10 L1D fill buffers, bounds it (Little:
                                     # 16 x 64 B / 90 ns = 11.4 GB/s per core)
        llc_latency_ns=25.0,         # prior: an L3 hit on a Broadwell-EP ring, about 50-65
                                     # core cycles at 2.2 GHz in published load-latency
                                     # measurements (23-30 ns; more the further the slice)
        line_transfer_ns=50.0,       # prior: a write to a line another core holds modified
                                     # takes two LLC trips (llc_latency_ns): to the line's
                                     # slice, whose snoop filter sends the request on to
                                     # the owner, and back with the line (our VM's vCPUs
                                     # hand one over in 59-73 ns:
                                     # tests/line_transfer_experiment.py)
        # --- NIC: Mellanox ConnectX-3, mlx4_en (Linux 4.4) ---------------
        link_gbps=40.0,              # paper 3.1: 40 Gb ConnectX-3
        mtu=1500,                    # paper 3.1
        nic_queues=16,               # paper 3.1: 16 packet queues
        rx_ring=1024,                # mlx4_en default RX ring (MLX4_EN_DEF_RX_RING_SIZE)
        queue_cpus=(),               # default spread: queue q on CPU q mod 20 (one IRQ per
                                     # CPU, as mlx4_en's default affinity hints set them)
        irq_moderation_usecs=16.0,   # mlx4_en default rx-usecs (MLX4_EN_RX_COAL_TIME)
        irq_moderation_frames=44,    # mlx4_en default rx-frames (MLX4_EN_RX_COAL_TARGET)
        adaptive_moderation=True,    # mlx4_en default adaptive-rx on
        adaptive_rate_low_pps=400_000,   # mlx4_en MLX4_EN_RX_RATE_LOW
        adaptive_rate_high_pps=450_000,  # mlx4_en MLX4_EN_RX_RATE_HIGH
        adaptive_usecs_low=0.0,      # mlx4_en MLX4_EN_RX_COAL_TIME_LOW
        adaptive_usecs_high=128.0,   # mlx4_en MLX4_EN_RX_COAL_TIME_HIGH
        adaptive_small_frame_bytes=256,  # mlx4_en MLX4_EN_AVG_PKT_SMALL: Linux 4.4
                                     # mlx4_en_auto_moderation() moves a ring's delay only
                                     # while its mean packet (bytes / packets) exceeds it
        tso=True,                    # ConnectX-3: TSO for plain TCP
        gso=True,                    # Linux default
        gro=True,                    # Linux default; paper: all software optimisations on
        rx_csum=True,                # ConnectX-3: checksum offload for plain TCP/UDP
        tx_csum=True,
        tunnel_offload=False,        # plain ConnectX-3 has no VXLAN offloads (the Pro does)
        # --- Kernel: Linux 4.4 defaults -----------------------------------
        napi_weight=64,              # NAPI_POLL_WEIGHT, include/linux/netdevice.h
        netdev_budget=300,           # net.core.netdev_budget default
        netdev_budget_jiffies=2,     # net_rx_action's time limit (2 jiffies) in 4.4
        netdev_max_backlog=1000,     # net.core.netdev_max_backlog default
        softirq_max_restart=10,      # MAX_SOFTIRQ_RESTART, kernel/softirq.c (4.4)
        softirq_max_time_ms=2.0,     # MAX_SOFTIRQ_TIME = msecs_to_jiffies(2), kernel/softirq.c;
                                     # at Ubuntu's HZ = 250 that is the next tick, 2 ms
                                     # away on average
        rps=False,                   # rps_cpus empty by default
        rss_udp_ports=True,          # mlx4_en module parameter udp_rss, default 1: RSS
                                     # hashes UDP on its ports (en_main.c; en_rx.c sets
                                     # MLX4_RSS_UDP_IPV4), read in Debian's Linux 6.1
                                     # source, not in 4.4's
        flow_steering=False,         # no ntuple rules: RSS hashing (paper 3.2)
        gro_max_bytes=65536,         # skb_gro_receive refuses to grow past 64 KB (4.4)
        gso_max_bytes=65536,         # GSO_MAX_SIZE
        rx_flow_run_packets=1.09,    # FITTED by calibrate() to M4 (MULTIFLOW_FIT); no
                                     # source says how the ConnectX-3 interleaves its
                                     # send queues
        gro_max_flows=8,             # MAX_GRO_SKBS, net/core/dev.c (Linux 4.4)
        tcp_coalesce_hold_us=67.96,  # FITTED by calibrate() to P6 (the UDP/TCP interrupt
                                     # ratio of small messages); no source measures it
        softirq_entry_cycles=500.0,  # prior: irq_exit -> __do_softirq -> net_rx_action
                                     # set-up and tear-down, ~0.2 us
        context_switch_cycles=3300.0,  # prior: ~1.5 us per switch with its cache refill,
                                       # the order reported by Li, Ding & Shen,
                                       # "Quantifying the cost of context switch", ExpCS 2007
        wake_latency_us=2.5,         # measured: the L that fits how often iperf3's server
                                     # blocked on this project's VM (Linux 6.18, 2.2 GHz;
                                     # tests/data/testbed/vm-2cpu-switches.json; traced
                                     # wake-ups took 4.0-4.8 us to the select's return,
                                     # vm-2cpu-wake-times.json); unmeasured on the paper's
                                     # Linux 4.4 host.  The software path: the exit latency
                                     # of the idle state the CPU reached comes on top
        idle_states_us=((2, 2), (20, 10), (100, 40), (400, 133)),
        # (target residency, exit latency) of C1, C1E, C3 and C6: intel_idle's bdw_cstates,
        # the table Linux gives Broadwell-EP (idle_cpu_bdx in Debian's 6.1 source; 4.4's
        # driver takes the same table); the Xeon E5 v4's deepest core state is C6, so
        # C7s-C10 do not apply.  Whether the paper's BIOS left them enabled is not said
        app_on_softirq_core=True,    # kernel wake-affine placement (select_task_rq_fair):
                                     # the woken receiver runs where the softirq woke it;
                                     # paper footnote 3 and claim S8 observe this
        link_segments=True,          # a NIC puts MTU-sized frames on the wire (TSO)
        forward_tso=True,            # kernel default: a veth's features include
        # NETIF_F_GSO_SOFTWARE (NETIF_F_ALL_TSO among them; VETH_FEATURES, drivers/net/
        # veth.c) and a bridge's NETIF_F_GSO_MASK (COMMON_FEATURES, net/bridge/
        # br_device.c; read in 6.1's source), so validate_xmit_skb leaves a forwarded
        # GRO segment whole
        sender_on_receive_cpu=False,  # paper 3.1: two machines, back to back
        veth_link=False,             # paper 3.1: a ConnectX-3 NIC on each machine
        # --- Latency and loss only (not used by any throughput claim) -------
        service_scv=1.0,             # assumption: exponential per-context work per message;
                                     # the paper measures no service-time spread (README:
                                     # Latency and loss, for the sensitivity)
        socket_rcvbuf_bytes=212992,  # net.core.rmem_default (Linux default); iperf3 sets
                                     # no SO_RCVBUF unless given -w
        rx_buffer_truesize_bytes=2304,  # estimate: mlx4_en's 1536 B receive fragment at
                                        # MTU 1500 plus ~768 B of sk_buff and shared info
        veth_orphans_skb=True,       # Linux 4.4 net/core/dev.c __dev_forward_skb ->
        # skb_scrub_packet(skb, xnet=true) -> skb_orphan.  Since 4.19 (commit 9c4c325252c5,
        # "skbuff: preserve sock reference when scrubbing the skb"; 6.1's skb_scrub_packet
        # has no skb_orphan) the socket keeps the packet; measured on 6.18 (2026-11-28):
        # a UDP sender over a veth pair blocked on its default send buffer, idle 90 % of
        # the time, while the backlog behind it never overflowed
        bridge_nf_call_iptables=True,  # Docker's networks run br_netfilter with
        # bridge-nf-call-iptables=1 (the default of a new namespace on 6.18, measured);
        # its setup_pre_routing orphans every IPv4 frame (read in 6.1's source; believed,
        # not checked, to be in 4.4: its source was not at hand), measured on 6.18 by
        # tests/sender_hold.py
        socket_admits_past_limit=True,  # Linux 4.4 __sock_queue_rcv_skb refuses a datagram
                                        # only once sk_rmem_alloc >= sk_rcvbuf
        overload_defers_softirq=True,  # Linux 4.4 with a NAPI NIC: a poll that uses its
        # full weight leaves NET_RX pending and __do_softirq hands it to ksoftirqd, while
        # the NIC's interrupt stays masked; S6 needs it (one Docker UDP flow: its sender
        # offers 5.5 Gb/s, over the 4.8 Gb/s at which its softirq alone would fill the
        # CPU, and the paper measures the CPU's 3.9).  Linux 6.18 with RPS over a veth
        # keeps the softirq in charge (tests/kernel_socket_loss.py): False
        ring_cuts_fragments=False,   # true of mlx4_en on Linux 4.4 (it refills the ring once
        # per poll, so an overflowing ring admits runs of up to 64 frames) and measured on
        # a backlog queue (tests/fragment_waste.py: 7.7 % of 8 KB datagrams' admitted
        # fragments wasted at 64, 0.50 % at 1000); off because it makes delivery fall as
        # the offer passes capacity, which issue 2's laws forbid (README)
        frag_cache_bytes=4194304,    # net.ipv4.ipfrag_high_thresh default, 4 MB, in 4.4
                                     # (ipv4_frags_init_net) as in 6.18
        frag_timeout_s=30.0,         # net.ipv4.ipfrag_time default: IP_FRAG_TIME = 30 s
        frag_cache_refuses=False,    # Linux 4.4: inet_frag_worker evicts the oldest down to
        # ipfrag_low_thresh; 4.17 removed it, and a full cache refuses every fragment until
        # some time out (measured on 6.18: tests/fragment_waste.py --series)
        # --- What waits for the copy (queuemodel.memory): memory traffic and the copy's
        # DRAM reads; no claim is fitted to them ---
        ddio_share=0.1,              # DDIO allocates into 2 of the LLC's 20 ways by default
                                     # (IIO LLC WAYS register; Farshin et al., "Reexamining
                                     # Direct Cache Access to Optimize I/O Intensive
                                     # Applications for Multi-hundred-gigabit Networks",
                                     # USENIX ATC 2020)
        tcp_window_bytes=3145728,    # tcp_rmem[2] = 6 MB (Linux 4.4 default), half of it
                                     # window at tcp_adv_win_scale = 1; autotuning grows a
                                     # slow reader's buffer to the maximum
    )


def with_overrides(host: Host, overrides: dict) -> Host:
    """Return a copy of ``host`` with some fields replaced (validated).

    Parameters
    ----------
    host : Host
        The starting profile.
    overrides : dict
        Field name to new value; values may be strings (from the CLI).

    Returns
    -------
    Host

    Raises
    ------
    UnknownNameError
        If a name is not a host field.
    ModelInputError
        If a value is out of range.

    Examples
    --------
    >>> with_overrides(paper_testbed(), {"link_gbps": "100"}).link_gbps
    100.0
    """
    for key in overrides:
        if key not in HOST_FIELDS:
            raise UnknownNameError("host field", key, "one of " + ", ".join(HOST_FIELDS))
    values = {k: v if k in _NAME_FIELDS else _parse(v) for k, v in overrides.items()}
    return dataclasses.replace(host, **values)


#: Host fields that hold a name, which an override keeps as text.
_NAME_FIELDS = frozenset(f.name for f in dataclasses.fields(Host)
                         if f.metadata.get("kind") == "name")


def load_host(path: str | _FsPath, base: Host | None = None) -> Host:
    """Read a host profile from a TOML file.

    The file holds ``field = value`` pairs (at the top level or under a
    ``[host]`` table); fields it omits come from ``base`` (the paper's
    testbed by default).

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.
    base : Host, optional
        Profile supplying the fields the file omits.

    Returns
    -------
    Host
    """
    try:
        text = _FsPath(path).read_text()
        tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ModelInputError("--host", str(path), f"a readable TOML file ({err})") from None
    return load_host_text(text, base)


def host_to_toml(host: Host) -> str:
    """A ``[host]`` TOML table with every field of ``host`` (read back by :func:`load_host`).

    Parameters
    ----------
    host : Host
        A profile whose numeric fields are scalars.

    Returns
    -------
    str

    Raises
    ------
    ModelInputError
        If a field holds an array (a grid of hosts is not one profile).

    Examples
    --------
    >>> text = host_to_toml(paper_testbed())
    >>> text.splitlines()[0], load_host_text(text) == paper_testbed()
    ('[host]', True)
    """
    import numpy as np

    from ._toml import toml_value

    lines = ["[host]"]
    for f in dataclasses.fields(host):
        value = getattr(host, f.name)
        if isinstance(value, np.ndarray) and value.ndim:
            raise ModelInputError(f"host.{f.name}", value, "a scalar (one profile, not a grid)")
        if f.name == "queue_cpus":
            value = tuple(int(v) for v in value)
        lines.append(f"{f.name} = {toml_value(f'host.{f.name}', value)}")
    return "\n".join(lines) + "\n"


#: Tables of a host profile besides ``[host]`` (:func:`load_stage_costs`; the fit's record).
_PROFILE_TABLES = ("stages", "fit")


def load_host_text(text: str, base: Host | None = None) -> Host:
    """:func:`load_host` from TOML text instead of a file.

    Parameters
    ----------
    text : str
        TOML: ``field = value`` pairs, under ``[host]`` or at the top level
        (where a profile's ``[stages]`` and ``[fit]`` tables are not fields).
    base : Host, optional
        Profile supplying the fields the text omits (the paper's testbed).

    Returns
    -------
    Host
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ModelInputError("host", text[:40], f"TOML ({err})") from None
    data = data["host"] if "host" in data else {k: v for k, v in data.items()
                                                 if k not in _PROFILE_TABLES}
    if isinstance(data.get("queue_cpus"), list):          # TOML arrays read as lists
        data = {**data, "queue_cpus": tuple(data["queue_cpus"])}
    return with_overrides(base or paper_testbed(), data)


def load_stage_costs(path: str | _FsPath) -> dict:
    """The ``[stages]`` table of a profile: ``{"stage.field": value}`` (empty if none).

    :meth:`queuemodel.testbed.fit.DatasetFit.to_toml` writes one when a fit
    freed stage costs; apply it with :func:`queuemodel.calibrate.apply_parameters`
    (every ``queuemodel`` command that takes ``--host`` does).

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.

    Returns
    -------
    dict
    """
    try:
        data = tomllib.loads(_FsPath(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ModelInputError("--host", str(path), f"a readable TOML file ({err})") from None
    stages = data.get("stages", {})
    return {f"{stage}.{name}": value for stage, fields in stages.items()
            for name, value in fields.items()}


def _parse(value):
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"true", "false", "on", "off", "yes", "no"}:
            return text.lower() in {"true", "on", "yes"}
        try:
            return float(text)
        except ValueError:
            return text
    return value
