"""The model of a namespace testbed, fitted to its dataset.

A testbed (:mod:`queuemodel.testbed.netns`) is one kernel on a few CPUs,
usually a VM's.  The model describes it with the same stages and solver as
the paper's two machines, changed where the hardware differs:

* the link is a veth pair (:func:`queuemodel.paths.over_veth`): no NIC
  interrupt, poll, GRO or line rate, and a TCP segment crosses whole
  (``link_segments`` off);
* one kernel sends and receives: a flow's sending runs on the CPU that
  does its receive softirq work (``sender_on_receive_cpu``), because
  ``netif_rx`` queues the packet on the sending CPU's backlog;
* iperf3 serves every stream of a run from one thread before version 3.16
  (its 3.16 release notes: "-P" streams now get a thread each), so a run
  has one sending and one reading thread however many flows it has, and
  from 3.16 one of each per flow (:func:`app_threads`);
* the scheduler spreads the sending threads one per CPU (``flow_steering``
  over one "queue" per thread, at most one per CPU), and a reading thread
  gets a CPU of its own while there are at least two CPUs per thread (its
  wake-up finds an idle one), else it runs beside its flows' softirq work;
* a hypervisor takes some of each CPU (steal, measured in every row): the
  model's clock is the nominal clock times the share left;
* a run with segmentation off (``testbed run --segmentation off``) moves
  MSS-sized packets over the link: no TSO, ``link_segments`` on
  (:func:`testbed_host_for`);
* the machine may do the same kernel work in more cycles than the paper's
  (a newer kernel, speculation mitigations, virtualised memory): one
  factor, ``cycles_scale``, multiplies every stage cost (the clock is
  divided by it).

:func:`calibrate_dataset` fits ``cycles_scale`` (or any of :data:`FREE`) to
the rows a selector picks and predicts every other row.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import CalibrationError, ModelInputError
from ..host import Host
from ..hosts import paper_testbed
from ..paths import MORE_PATHS, PATHS, get_path, over_veth
from ..stage import Path

__all__ = ["FREE", "DEFAULT_FREE", "UNIT_FREE", "DEFAULT_SELECTOR",
           "REQUIRED_COLUMNS", "app_threads", "testbed_host", "testbed_host_for",
           "fitted_host", "segmented", "link_offloads", "scale_unit_costs", "testbed_paths",
           "predict_row",
           "MEASURED_STAGES", "MEASURED_BY", "measured_cycles_per_packet",
           "MEASURED_MESSAGE_STAGES", "measured_ns_per_message", "MEASURED_DATAGRAM_STAGES",
           "measured_datagram_ratios", "kernel_version", "UDP_LOOKUP_WITHOUT_REFERENCE",
           "parse_selector", "select", "calibrate_dataset", "DatasetFit"]

#: The fitted numbers: a name, and the parameters that take its value.
#: ``cycles_scale`` multiplies every cost of every stage (the host's clock
#: is divided by it): how much slower than the paper's machine this one does
#: kernel work.  ``unit_cycles_scale`` multiplies, on top of it, every cost
#: that is not per byte (per packet, per message, per poll, per softirq
#: entry and context switch): how much slower the machine is at per-packet
#: work than at copying and checksumming.  ``tcp_cycles_per_packet`` is TCP's
#: cost per segment on both ends.  VXLAN decapsulation and the bridge are
#: what the overlays add.  Single-flow TCP with 128 KB writes moves 64 KB
#: skbs over a veth, so it sees per-byte work mostly and cannot pin
#: per-packet costs one by one; one factor for all of them is what it can pin.
FREE = {
    "cycles_scale": (),
    "unit_cycles_scale": (),
    "tcp_cycles_per_packet": ("tcp_tx.cost_cycles_per_unit", "tcp_rx.cost_cycles_per_unit"),
    "vxlan_rx_cycles_per_packet": ("vxlan_rx.cost_cycles_per_unit",),
    "bridge_cycles_per_packet": ("bridge.cost_cycles_per_unit",),
}

#: What :func:`calibrate_dataset` fits unless told otherwise: ``cycles_scale``
#: alone, every per-packet cost keeping its prior (fitted to the paper's
#: MTU-sized packets).  Over a veth, TCP moves GSO skbs whole (52-57 KB per
#: packet on the link, counted on this project's VM), so the overlay TCP rows
#: see per-skb costs that they cannot tell from per-byte ones; fitted there,
#: VXLAN and bridge costs per 52 KB skb, charged per 1.4 KB UDP fragment,
#: predicted 8 KB UDP on the overlays 13-40 % too slow on the saved datasets
#: (README).
DEFAULT_FREE = ("cycles_scale",)

#: The factor on every cost that is not per byte (:func:`scale_unit_costs`).
#: With ``tcp_cycles_per_packet`` it is what TCP run with segmentation off
#: (``testbed run --segmentation off``) could pin: those runs move one
#: 1448-byte packet per sk_buff from the first device on, so per-packet work
#: dominates them, and they are the only rows that see TCP's cost per
#: MSS-sized packet (the paper's TCP priors are per TSO/GRO segment: its NIC
#: segmented and merged).  Not freed by default: on the saved datasets no
#: choice of these with ``cycles_scale`` fits both kinds of TCP rows (the
#: overlays' per-packet costs do not scale like native's; README), and
#: freeing them made the predictions worse than ``cycles_scale`` alone.
UNIT_FREE = "unit_cycles_scale"

_BOUNDS = {"cycles_scale": (0.02, 50.0), "unit_cycles_scale": (0.02, 50.0),
           "tcp_cycles_per_packet": (1e-3, 1e7),
           "vxlan_rx_cycles_per_packet": (1e-3, 1e7),
           "bridge_cycles_per_packet": (1e-3, 1e7)}

#: Columns a dataset row needs (``cpu_steal`` is optional, 0 when absent).
REQUIRED_COLUMNS = ("path", "proto", "flows", "msg_bytes", "throughput_gbps", "cpus",
                    "cpu_mhz")

#: The issue's calibration set: single-flow TCP on the three paths, as they run by
#: default (segmentation on; rows with it off are predicted).
DEFAULT_SELECTOR = "path=*,proto=tcp,flows=1,segmentation=True"


def testbed_paths(paths: Mapping | None = None) -> dict:
    """The built-in paths with a veth pair for their link.

    What a host with ``veth_link`` set runs anyway (the solver applies
    :func:`~queuemodel.paths.over_veth` itself); for looking at the stages.

    Parameters
    ----------
    paths : dict, optional
        Paths to convert (default every built-in path: the paper's and
        :data:`~queuemodel.paths.MORE_PATHS`).

    Returns
    -------
    dict
        Name to :class:`~queuemodel.stage.Path`.
    """
    return {name: over_veth(p) for name, p in (paths or {**PATHS, **MORE_PATHS}).items()}


def app_threads(flows: int, iperf3_version: str = "") -> int:
    """Sending (and reading) threads of an iperf3 run with ``flows`` streams.

    iperf3 before 3.16 serves all streams of a test from one thread (a
    ``select`` loop); 3.16 gives each stream its own.  An unknown version
    counts as a thread per stream.

    Examples
    --------
    >>> app_threads(4, "3.12"), app_threads(4, "3.16"), app_threads(4)
    (1, 4, 4)
    """
    parts = str(iperf3_version).split(".")
    try:
        version = (int(parts[0]), int(parts[1].split("-")[0].split("+")[0]))
    except (ValueError, IndexError):
        return int(flows)
    return 1 if version < (3, 16) else int(flows)


def testbed_host(cpus: int, mhz: float, steal_fraction: float = 0.0, flows: int = 1,
                 cycles_scale: float = 1.0, threads: int | None = None) -> Host:
    """A host profile for a namespace testbed on ``cpus`` logical CPUs.

    Parameters
    ----------
    cpus : int
        Logical CPUs of the machine (>= 1).
    mhz : float
        Nominal clock from ``/proc/cpuinfo``.
    steal_fraction : float
        Share of each CPU a hypervisor took during the run (0..1).
    flows : int
        Flow pairs of the run.
    cycles_scale : float
        This machine's cycles per cycle of the paper machine's kernel work (> 0).
    threads : int, optional
        Sending threads, and as many reading threads (:func:`app_threads`);
        default one per flow.  They decide how many CPUs carry sending and
        receive softirq work, and whether readers get CPUs of their own.

    Returns
    -------
    Host

    Examples
    --------
    >>> h = testbed_host(2, 2500.0, 0.2)
    >>> h.ghz, h.sender_on_receive_cpu, h.app_on_softirq_core
    (2.0, True, False)
    """
    if not (isinstance(cpus, (int, np.integer)) and cpus >= 1):
        raise ModelInputError("cpus", cpus, "an integer >= 1")
    if not (isinstance(mhz, (int, float)) and 0 < mhz < 20000):
        raise ModelInputError("cpu_mhz", mhz, "a clock in (0, 20000) MHz")
    if not 0.0 <= steal_fraction < 1.0:
        raise ModelInputError("steal_fraction", steal_fraction, "a share in [0, 1)")
    if not (math.isfinite(cycles_scale) and 0.01 <= cycles_scale <= 100):
        raise ModelInputError("cycles_scale", cycles_scale, "a factor in [0.01, 100]")
    threads = int(flows) if threads is None else threads
    if not (isinstance(threads, (int, np.integer)) and 1 <= threads <= max(int(flows), 1)):
        raise ModelInputError("threads", threads, f"an integer in 1..flows ({flows})")
    return dataclasses.replace(
        paper_testbed(),
        name=f"namespace testbed ({cpus} CPUs at {mhz:.0f} MHz, veth link)",
        ghz=mhz / 1000.0 * (1.0 - steal_fraction) / cycles_scale,  # the cycles left
        physical_cores=int(cpus), threads_per_core=1, smt_gain=0.0,
        link_gbps=10000.0,           # a veth has no line rate; 10 Tb/s never binds
        link_segments=False,         # veth carries the GSO sk_buff whole
        sender_on_receive_cpu=True,  # one kernel: netif_rx runs on the sending CPU
        veth_link=True,              # every path without the NIC's stages (over_veth)
        nic_queues=min(int(threads), int(cpus)), queue_cpus=(), flow_steering=True, rps=False,
        # the scheduler, not a hash, spreads sending threads: one "queue" per thread
        # (at most one per CPU), flow i on queue i mod queues
        adaptive_moderation=False, irq_moderation_usecs=0.0, irq_moderation_frames=1,
        # no NIC, no moderation: netif_rx raises NET_RX at once for every packet
        tunnel_offload=True,         # veth's hw_enc_features: encapsulated GSO and
                                     # checksums pass unsegmented and unchecked
        app_on_softirq_core=2 * int(threads) > int(cpus),
        socket_admits_past_limit=False,  # measured on the VM's Linux 6.18 (2026-11-28): a
        # 100,000 B socket held six 16,640 B loopback datagrams (99,840 B) and refused
        # the seventh
        frag_cache_refuses=True,     # measured on the same kernel (tests/fragment_waste.py
        # --series): a full fragment cache refused every fragment for 30 s
        veth_orphans_skb=False,      # the same kernel: a UDP sender blocked on its send
        # buffer while its packets waited behind the veth (Linux >= 4.19; hosts.py)
        bridge_nf_call_iptables=True,  # the testbed's namespaces keep the default, 1
        # (tests/sender_hold.py); the veth link never fills, so neither flag matters here
        idle_states_us=VM_IDLE_STATES_US,
    )


#: How this project's VM (KVM, Linux 6.18 guest, 2 vCPUs) wakes a vCPU that idled:
#: ``(residency, exit latency)`` in us over the wake-up after a short idle, read from
#: ``tests/data/testbed/vm-2cpu-wake-curve.json`` (medians of 2,000 pipe wake-ups a gap,
#: both ways round): 4.8-6.2 us after up to 200 us idle, 18.1-20.4 us after 250-500 us
#: (14 more: past KVM's halt polling, 200 us by default, the host deschedules the vCPU),
#: 154-166 us after 3 ms (155 more; the host's own CPU idles deeper), with the medians
#: after 1 ms split between the two (54 and 140 us): the deeper step placed there.
#: The guest has no cpuidle driver of its own (``/sys/devices/system/cpu/cpuidle``:
#: ``none``).  A machine that is not this VM idles otherwise: a profile of its own
#: should say how (``Host.idle_states_us``).
VM_IDLE_STATES_US = ((200.0, 14.0), (1000.0, 155.0))


def testbed_host_for(row: Mapping, cycles_scale: float = 1.0) -> Host:
    """:func:`testbed_host` for one dataset row (CPUs, clock, steal, flows, iperf3).

    A pinned run (``testbed run --pin``) has its sending and its reading on one
    CPU each, whatever iperf3's threads.  A TCP run with ``TCP_NODELAY``
    (``nodelay`` column true) holds no write back (``tcp_coalesce_hold_us``
    0): Nagle's rule is off, and over the testbed's veth pairs autocorking
    gathers nothing (``vm-2cpu-autocork.json``: switched off it changed no
    run, and without Nagle every 128 B write left alone: the receiving
    namespace takes each sent sk_buff off the socket as soon as the softirq
    its send raised has run, so there is hardly ever one queued for
    autocorking to wait on).  A run with segmentation off
    (``segmentation`` column false) has no TSO, and its link carries
    MSS-sized packets (``link_segments``).  GSO stays on: since Linux 4.19
    ("tcp: switch to GSO being always on") TCP builds GSO sk_buffs whatever
    the device says, and a device without GSO cuts them in software when
    they leave by it.  The model cuts them at its ``gso`` stage, after an
    overlay's encapsulation; the kernel cuts them at the first device (the
    container's veth, the VXLAN device), so an overlay's sending stages
    before ``gso`` are charged per sk_buff where the kernel pays per packet.
    Its devices take no TSO segments either (``forward_tso`` off), so a
    segment the Docker overlay's VXLAN device merged is cut back into
    packets where the bridge forwards it out of the container's veth.
    The link's own offloads, where the row recorded them (``offloads``:
    :func:`link_offloads`), are read too: a sending end without a transmit
    checksum leaves the checksum to the sender and TSO off with it
    (``tx_csum``; :func:`queuemodel.solver.nic_segments`), and one without
    TSO cuts the segments before the link.
    """
    cpus, flows = int(row["cpus"]), int(row["flows"])
    steal = float(row.get("cpu_steal", 0.0)) / cpus
    threads = 1 if _flag(row.get("pinned", False)) else app_threads(
        flows, row.get("iperf3_version", ""))
    host = testbed_host(cpus, float(row["cpu_mhz"]), min(max(steal, 0.0), 0.95), flows,
                        float(cycles_scale), threads)
    if not segmented(row):
        host = dataclasses.replace(host, tso=False, gso=True, link_segments=True,
                                   forward_tso=False)
    if _flag(row.get("nodelay", False)):
        host = dataclasses.replace(host, tcp_coalesce_hold_us=0.0)
    link = link_offloads(row)
    if link.get("tx-checksumming") is False:
        host = dataclasses.replace(host, tx_csum=False, link_segments=True)
    # (TSO itself is tx-tcp-segmentation; the aggregate line, all a row recorded before
    # 2026-11-30, stays on while any TSO sub-feature is)
    if link.get("tx-tcp-segmentation", link.get("tcp-segmentation-offload")) is False:
        host = dataclasses.replace(host, tso=False, link_segments=True)
    return host


def link_offloads(row: Mapping) -> dict:
    """The link's offloads a row recorded (its ``offloads`` column,
    ``name=on;name=off;...``, :data:`queuemodel.testbed.run.OFFLOADS`), as
    ``{name: on}``; empty where the row has none.

    Parameters
    ----------
    row : dict
        A dataset row.

    Returns
    -------
    dict

    Examples
    --------
    >>> link_offloads({"offloads": "tx-checksumming=off;rx-checksumming=on"})
    {'tx-checksumming': False, 'rx-checksumming': True}
    >>> link_offloads({})
    {}
    """
    out = {}
    for part in str(row.get("offloads") or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name] = value.strip().lower() == "on"
    return out


def nagle(row: Mapping) -> bool:
    """Whether a row ran with Nagle's rule (no ``TCP_NODELAY``; the default, and every
    UDP row): runs with and without it are different workloads to the model."""
    return not _flag(row.get("nodelay", False))


def segmented(row: Mapping) -> bool:
    """Whether a row ran with TSO and GSO on (the default; older datasets lack the column)."""
    value = row.get("segmentation", True)
    return _flag(value) or str(value).strip().lower() in ("on", "")


def scale_unit_costs(paths: Mapping, host: Host, factor: float) -> tuple:
    """Paths and host with every cost that is not per byte ``factor`` times as large.

    Per unit (packet, message, interrupt) and per poll on every stage, after
    the link is made a veth pair (so its stages scale too), and the host's
    softirq entry and context switch.

    Parameters
    ----------
    paths : dict
        Name to :class:`~queuemodel.stage.Path`.
    host : Host
        A testbed host (``veth_link`` on).
    factor : float
        The ``unit_cycles_scale`` (> 0).

    Returns
    -------
    tuple
        ``(paths, host)``, new objects.

    Examples
    --------
    >>> from queuemodel.paths import PATHS
    >>> host = testbed_host(2, 2000.0)
    >>> paths, scaled = scale_unit_costs(PATHS, host, 0.5)
    >>> [s.cost_cycles_per_unit for s in paths["native"].rx if s.name == "tcp_rx"]
    [1250.0]
    >>> scaled.context_switch_cycles == host.context_switch_cycles / 2
    True
    """
    def scale(stages):
        return tuple(dataclasses.replace(
            s, cost_cycles_per_unit=s.cost_cycles_per_unit * factor,
            cost_cycles_per_invocation=s.cost_cycles_per_invocation * factor) for s in stages)

    out = {}
    for name, path in paths.items():
        path = over_veth(path) if host.veth_link else path
        out[name] = dataclasses.replace(path, tx=scale(path.tx), rx=scale(path.rx))
    host = dataclasses.replace(host, softirq_entry_cycles=host.softirq_entry_cycles * factor,
                               context_switch_cycles=host.context_switch_cycles * factor)
    return out, host


def _flag(value) -> bool:
    """A dataset's boolean, from JSON (a bool) or CSV (its text)."""
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def fitted_host(rows: list, cycles_scale: float = 1.0, unit_cycles_scale: float = 1.0) -> Host:
    """The machine a dataset measured, as one host profile.

    Its CPUs and the median clock of the rows, no steal (a profile of the
    machine, not of one run), one sending and one reading thread.

    Parameters
    ----------
    rows : list of dict
        Dataset rows (``cpus`` and ``cpu_mhz`` columns).
    cycles_scale : float
        Fitted factor, folded into the clock.
    unit_cycles_scale : float
        Fitted factor on costs that are not per byte; the host takes its
        share (softirq entry, context switch), the stages theirs
        (:meth:`DatasetFit.to_toml`).

    Returns
    -------
    Host
    """
    cpus = int(np.median([int(r["cpus"]) for r in rows]))
    mhz = float(np.median([float(r["cpu_mhz"]) for r in rows]))
    host = testbed_host(cpus, mhz, 0.0, 1, float(cycles_scale), 1)
    if unit_cycles_scale != 1.0:
        host = scale_unit_costs({}, host, float(unit_cycles_scale))[1]
    return dataclasses.replace(host, name=f"namespace testbed ({cpus} CPUs at {mhz:.0f} MHz, "
                                          f"veth link), cycles_scale {cycles_scale:.3g}")


def predict_row(row: Mapping, paths: Mapping | None = None, values: Mapping | None = None):
    """The model's :class:`~queuemodel.model.Result` for one dataset row.

    Parameters
    ----------
    row : dict
        A row of :func:`queuemodel.testbed.run.measure`.
    paths : dict, optional
        Paths by name (default the built-in ones; the testbed host runs
        them over its veth link).
    values : dict, optional
        Fitted costs by :data:`FREE` name.

    Returns
    -------
    queuemodel.model.Result
    """
    from ..calibrate import apply_parameters
    from ..model import predict

    paths = paths or {**PATHS, **MORE_PATHS}
    values = dict(values or {})
    host = testbed_host_for(row, values.pop("cycles_scale", 1.0))
    kernel = _kernel_stages(row, paths)
    if kernel:
        paths, host = apply_parameters(kernel, paths, host)
    unit_scale = values.pop("unit_cycles_scale", 1.0)
    # Fitted costs first, then the factor on every cost that is not per byte; a cost a
    # profile or iperf3's own time measured (a stage.field name) is the machine's
    # already and keeps its value.
    fitted = {k: v for k, v in values.items() if k in FREE}
    measured = {k: v for k, v in values.items() if k not in FREE}
    if fitted:
        paths, host = apply_parameters(_expand(fitted), paths, host)
    if unit_scale != 1.0:
        paths, host = scale_unit_costs(paths, host, unit_scale)
    if measured:
        paths, host = apply_parameters(measured, paths, host)
    return predict(path=paths[row["path"]], proto=row["proto"], flows=int(row["flows"]),
                   msg_bytes=int(row["msg_bytes"]), host=host)


#: Linux 4.7 ("udp: no longer use SLAB_DESTROY_BY_RCU") stopped taking a reference on a
#: UDP socket per datagram, so from it on no receive CPU writes the VXLAN socket's
#: reference count per packet (the paper's 4.4 does: ``VXLAN_RX.shared_lines_per_unit``).
UDP_LOOKUP_WITHOUT_REFERENCE = (4, 7)


def kernel_version(row: Mapping) -> tuple:
    """``(major, minor)`` of the kernel a row ran on, from its ``kernel`` column
    (``uname -r``); ``None`` where the row does not say.

    Examples
    --------
    >>> kernel_version({"kernel": "6.18.44-fc-v782"}), kernel_version({})
    ((6, 18), None)
    """
    found = re.match(r"(\d+)\.(\d+)", str(row.get("kernel") or ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def _kernel_stages(row: Mapping, paths: Mapping) -> dict:
    """Stage values that differ on the row's kernel from the paper's Linux 4.4: the
    VXLAN socket's shared line on 4.7 and later (a row that names no kernel is taken
    to be recent: the testbed needs today's iproute2 and namespaces)."""
    version = kernel_version(row)
    runs_vxlan = any(s.name == "vxlan_rx" for p in paths.values() if isinstance(p, Path)
                     for s in p.rx)
    if runs_vxlan and (version is None or version >= UDP_LOOKUP_WITHOUT_REFERENCE):
        return {"vxlan_rx.shared_lines_per_unit": 0.0}
    return {}


_KEY = ("path", "proto", "flows", "msg_bytes")


def _configurations(rows: list) -> dict:
    """Row indices by workload (repeated runs of one workload together), in order."""
    groups: dict = {}
    for i, row in enumerate(rows):
        key = tuple(_text(row[k]) for k in _KEY) + (segmented(row), nagle(row))
        groups.setdefault(key, []).append(i)
    return groups


def _run_entry(row: Mapping, result) -> dict:
    """Measured and modelled numbers of one run."""
    entry = {"measured_gbps": float(row["throughput_gbps"]),
             "model_gbps": float(result.throughput_gbps),
             "bottleneck": str(result.bottleneck),
             "measured_cpus": sum(float(row.get(f"cpu_{k}", 0.0))
                                  for k in ("usr", "sys", "softirq", "irq")),
             "model_cpus": float(sum(result.receiver_cpu.values())
                                 + sum(result.sender_cpu.values()))}
    if row["proto"] == "udp":
        loss = float(row.get("loss_fraction", 0.0))
        entry["measured_sent_gbps"] = entry["measured_gbps"] / max(1.0 - loss, 1e-9)
        entry["model_sent_gbps"] = entry["model_gbps"] / max(
            1.0 - float(result.drop_fraction), 1e-9)
    return {**{k: row[k] for k in _KEY}, "segmentation": segmented(row), "nagle": nagle(row),
            **entry}


def _summarise(runs: list, fitted: bool) -> dict:
    """One workload's runs: medians, the measured range, the error of the medians."""
    out = {k: runs[0][k] for k in _KEY + ("segmentation", "nagle")}
    out.update(role="fitted" if fitted else "predicted", runs=len(runs),
               bottleneck=runs[0]["bottleneck"])
    for key in runs[0]:
        if key.endswith(("_gbps", "_cpus")):
            out[key] = float(np.median([r[key] for r in runs]))
    measured = [r["measured_gbps"] for r in runs]
    out.update(measured_low_gbps=min(measured), measured_high_gbps=max(measured),
               error=out["model_gbps"] / out["measured_gbps"] - 1.0)
    out["within_range"] = bool(out["measured_low_gbps"] <= out["model_gbps"]
                               <= out["measured_high_gbps"])
    return out


def _expand(values: Mapping) -> dict:
    """``stage.field`` costs from :data:`FREE` names (a ``stage.field`` name stands for itself)."""
    out = {}
    for name, value in values.items():
        for target in (FREE[name] if name in FREE else (name,)):
            out[target] = value
    return out


#: Groups of kernel functions (:mod:`~queuemodel.testbed.profile`) whose time
#: belongs to stages of their own, and those stages.  With profiled runs of TCP
#: with segmentation off in a dataset, :func:`calibrate_dataset` sets these
#: stages' per-packet costs from what the group took per packet there (both
#: ends, every traversal), shared among the stages in the ratio of the paper's
#: priors: measured on the machine, not fitted, and not the paper's.
MEASURED_STAGES = {"vxlan": ("vxlan_rx", "vxlan_tx", "vxlan_gro"), "bridge": ("bridge",)}

#: The profile groups each :data:`MEASURED_STAGES` entry is measured by.  VXLAN's
#: stages take the tunnel's outer UDP too (``udp_rcv`` before ``vxlan_rcv``,
#: ``udp_tunnel_xmit_skb``): on the TCP rows that measure them the ``udp`` group
#: holds nothing else.
MEASURED_BY = {"vxlan": ("vxlan", "udp"), "bridge": ("bridge",)}


def measured_cycles_per_packet(rows: list) -> dict:
    """Cycles per 1-MSS packet of each :data:`MEASURED_STAGES` group, on this machine.

    The median over the rows that can show it: profiled single-flow TCP
    with segmentation off on a path that has the group's stages.  The
    cycles are those the CPUs ran (the hypervisor's steal taken out).

    Parameters
    ----------
    rows : list of dict
        Dataset rows (a ``profile`` column from ``testbed run --profile``).

    Returns
    -------
    dict
        Group to cycles per packet; groups no row shows are absent.
    """
    from ..wire import tcp_mss_bytes
    from .profile import cycles_per_packet, parse_shares

    found: dict = {}
    for row in rows:
        shares = parse_shares(row.get("profile", ""))
        if not shares or row["proto"] != "tcp" or int(row["flows"]) != 1 or segmented(row):
            continue
        path = get_path(row["path"])
        names = {s.name for s in path.tx + path.rx}
        mss = float(tcp_mss_bytes(testbed_host_for(row).mtu, path.encap_bytes))
        packets = float(row["throughput_gbps"]) * 1e9 / 8.0 / mss
        running = float(row["cpus"]) - float(row.get("cpu_steal", 0.0))
        per_packet = cycles_per_packet(shares, running, float(row["cpu_mhz"]), packets)
        for group, stages in MEASURED_STAGES.items():
            # a path shows a group if it runs the group's stages (VXLAN: both overlays)
            if names.issuperset(stages[:1]) and group in per_packet:
                found.setdefault(group, []).append(
                    sum(per_packet.get(g, 0.0) for g in MEASURED_BY[group]))
    return {group: float(np.median(v)) for group, v in found.items()}


#: Groups of kernel functions whose time belongs to the IP and UDP stages, every
#: path's (the same kernel code runs for an outer, an inner or a forwarded packet).
#: They are measured on profiled single-flow native UDP rows, the one workload
#: where these groups hold nothing else: no tunnel's outer UDP, no TCP, and the
#: fragments show IP's per-packet work.  With such rows :func:`calibrate_dataset`
#: scales the group's stages by what the group took per datagram over what the
#: model charges them there (their units, fragments included, counted by the model).
MEASURED_DATAGRAM_STAGES = {
    "udp": ("udp_tx", "udp_rx"),
    "ip": ("ip_tx", "ip_fragment", "ip_rx", "ip_defrag", "outer_ip_tx", "inner_ip_rx",
           "ip_forward"),
}


def measured_datagram_ratios(rows: list) -> dict:
    """This machine's cycles per paper cycle of each :data:`MEASURED_DATAGRAM_STAGES` group.

    For each profiled single-flow native UDP row, the cycles the group's
    kernel functions took per datagram (the CPUs ran them: steal taken out)
    over the paper cycles the model charges the group's stages per datagram
    in that workload at their priors; the median over the rows.  Divided by
    ``cycles_scale`` it is the factor on the group's priors.

    Parameters
    ----------
    rows : list of dict
        Dataset rows (a ``profile`` column from ``testbed run --profile``).

    Returns
    -------
    dict
        Group to ratio; groups no row shows are absent.
    """
    from .profile import cycles_per_packet, parse_shares

    found: dict = {}
    for row in rows:
        shares = parse_shares(row.get("profile", ""))
        if (not shares or row["path"] != "native" or row["proto"] != "udp"
                or int(row["flows"]) != 1):
            continue
        datagrams = float(row["throughput_gbps"]) * 1e9 / 8.0 / float(row["msg_bytes"])
        running = float(row["cpus"]) - float(row.get("cpu_steal", 0.0))
        measured = cycles_per_packet(shares, running, float(row["cpu_mhz"]), datagrams)
        charged = _charged_cycles_per_message(row)
        for group, stages in MEASURED_DATAGRAM_STAGES.items():
            model = sum(charged.get(name, 0.0) for name in stages)
            if group in measured and model > 0:
                found.setdefault(group, []).append(measured[group] / model)
    return {group: float(np.median(v)) for group, v in found.items()}


def _charged_cycles_per_message(row: Mapping) -> dict:
    """Paper cycles the model charges each stage (by name, both ends) per message of
    ``row``'s workload at the priors: a stage's utilisation times its CPU's cycles
    over the message rate."""
    result = predict_row(row)
    rate = float(result.message_rate_per_s)
    cycles_per_s = testbed_host_for(row).ghz * 1e9
    out: dict = {}
    for key, util in result.stages.items():
        name = key.split(":")[-1].split(".")[-1]
        out[name] = out.get(name, 0.0) + float(util) * cycles_per_s / rate
    return out


def _datagram_costs(ratios: Mapping, cycles_scale: float) -> dict:
    """``stage.cost_cycles_per_unit`` (paper cycles) of the IP and UDP stages from
    :func:`measured_datagram_ratios`."""
    from ..calibrate import get_parameter

    paths = {**PATHS, **MORE_PATHS}
    out = {}
    for group, ratio in ratios.items():
        for stage in MEASURED_DATAGRAM_STAGES[group]:
            name = f"{stage}.cost_cycles_per_unit"
            out[name] = float(get_parameter(name, paths) * ratio / cycles_scale)
    return out


#: iperf3's own CPU time a message (``testbed run``'s ``server_cpu_usr`` ...
#: ``client_cpu_sys`` columns, its getrusage) and the message stages it is made of:
#: with such rows :func:`calibrate_dataset` sets these stages' per-message costs from
#: it, shared in the ratio of the priors, the copy of the message taken out: measured
#: on the machine, not fitted.  Each end's user time sets its own iperf3 loop
#: (``app`` the server's, ``app_tx`` the client's).
MEASURED_MESSAGE_STAGES = {
    "server_cpu_usr": ("app",),
    "client_cpu_usr": ("app_tx",),
    "server_cpu_sys": ("select", "recv_syscall"),
    "client_cpu_sys": ("select_tx", "send_syscall"),
}


def measured_ns_per_message(rows: list) -> dict:
    """iperf3's CPU time a message on this machine, by column of
    :data:`MEASURED_MESSAGE_STAGES`, and the message size it was read at.

    The median over the rows that show a message's own work: single-flow
    TCP at the smallest size with these columns, writes smaller than an MSS
    that left in full MSS segments (where a segment carries a write or a
    few, or a write fills segments of its own, the processes'
    system time holds each segment's softirq work: over a veth the receive
    softirq runs in the writer's system call and an acknowledgement's in
    the reader's).  Times are CPU time actually run, so the hypervisor's
    steal is no part of them.

    Parameters
    ----------
    rows : list of dict
        Dataset rows.

    Returns
    -------
    dict
        Column to nanoseconds a message, and ``"msg_bytes"``; empty if no
        row shows them.

    Examples
    --------
    >>> row = {"proto": "tcp", "flows": 1, "path": "native", "msg_bytes": 128,
    ...        "throughput_gbps": 1.024, "tcp_sender_segments_per_s": 90000.0,
    ...        "server_cpu_usr": 0.15, "server_cpu_sys": 0.7, "client_cpu_usr": 0.06,
    ...        "client_cpu_sys": 0.25, "cpus": 2, "cpu_mhz": 2100.0}
    >>> {k: round(v) for k, v in measured_ns_per_message([row]).items()}
    {'server_cpu_usr': 150, 'client_cpu_usr': 60, 'server_cpu_sys': 700, 'client_cpu_sys': 250, 'msg_bytes': 128}
    """
    from ..wire import tcp_mss_bytes

    usable = []
    for row in rows:
        if (row["proto"] != "tcp" or int(row["flows"]) != 1
                or any(row.get(c) is None or row.get(c) == "" for c in MEASURED_MESSAGE_STAGES)
                or not row.get("tcp_sender_segments_per_s")):
            continue
        messages = float(row["throughput_gbps"]) * 1e9 / 8.0 / float(row["msg_bytes"])
        mss = float(tcp_mss_bytes(testbed_host_for(row).mtu, get_path(row["path"]).encap_bytes))
        full = float(row["msg_bytes"]) / mss        # MSS segments a write fills
        # A write of an MSS or more has segments of its own, whose softirq work its
        # system time holds: only smaller writes that share segments show their own.
        if full < 1.0 and float(row["tcp_sender_segments_per_s"]) / messages <= 1.1 * full:
            usable.append((float(row["msg_bytes"]), row, messages))
    if not usable:
        return {}
    smallest = min(size for size, _, _ in usable)
    chosen = [(row, messages) for size, row, messages in usable if size == smallest]
    out = {column: float(np.median([float(row[column]) / messages * 1e9
                                    for row, messages in chosen]))
           for column in MEASURED_MESSAGE_STAGES}
    out["msg_bytes"] = smallest
    return out


def _message_costs(per_message: Mapping, rows: list, cycles_scale: float) -> dict:
    """``stage.cost_cycles_per_unit`` (paper cycles) from iperf3's measured time a
    message, at the dataset's clock (the median of its rows')."""
    from ..paths import COPY_CYCLES_PER_BYTE, DOCKER_OVERLAY

    if not per_message:
        return {}
    mhz = float(np.median([float(row["cpu_mhz"]) for row in rows]))
    copy = COPY_CYCLES_PER_BYTE * per_message["msg_bytes"]     # paper cycles, each end
    stages = {s.name: s for s in DOCKER_OVERLAY.tx + DOCKER_OVERLAY.rx}
    out = {}
    for column, names in MEASURED_MESSAGE_STAGES.items():
        cycles = per_message[column] * mhz / 1000.0 / cycles_scale   # paper cycles
        if column.endswith("_sys"):
            cycles = max(cycles - copy, 0.0)
        prior = sum(stages[n].cost_cycles_per_unit for n in names)
        for name in names:
            out[f"{name}.cost_cycles_per_unit"] = float(
                cycles * stages[name].cost_cycles_per_unit / prior)
    return out


def _measured_costs(per_packet: Mapping, cycles_scale: float) -> dict:
    """``stage.cost_cycles_per_unit`` (paper cycles) from measured cycles per packet."""
    from ..paths import DOCKER_OVERLAY

    out = {}
    traversals = DOCKER_OVERLAY.tx + DOCKER_OVERLAY.rx      # every stage of every group
    for group, measured in per_packet.items():
        stages = [s for s in traversals if s.name in MEASURED_STAGES[group]]
        factor = measured / cycles_scale / sum(s.cost_cycles_per_unit for s in stages)
        for stage in stages:
            cost = float(stage.cost_cycles_per_unit * factor)
            out[f"{stage.name}.cost_cycles_per_unit"] = cost
    return out


def parse_selector(text: str) -> dict:
    """``'path=*,proto=tcp,flows=1'`` to ``{'path': '*', 'proto': 'tcp', 'flows': '1'}``.

    Values are shell-style patterns matched against the row's value as text.

    Examples
    --------
    >>> parse_selector("path=*,proto=tcp")
    {'path': '*', 'proto': 'tcp'}
    """
    out = {}
    for part in str(text).split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ModelInputError("--fit", text, "comma-separated COLUMN=PATTERN pairs, "
                                  "e.g. 'path=*,proto=tcp,flows=1'")
        out[key.strip()] = value.strip()
    return out


def select(rows: list, selector: Mapping) -> list:
    """Indices of the rows whose columns match every pattern of ``selector``."""
    for key in selector:
        if rows and key not in rows[0]:
            raise ModelInputError("--fit", key, "a dataset column: " + ", ".join(rows[0]))
    return [i for i, row in enumerate(rows)
            if all(fnmatch.fnmatchcase(_text(row[k]), p) for k, p in selector.items())]


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class DatasetFit:
    """Outcome of :func:`calibrate_dataset`.

    Attributes
    ----------
    values : dict
        Fitted costs by :data:`FREE` name, and stage costs measured from
        profiles by ``stage.field`` name (:data:`MEASURED_STAGES`,
        :data:`MEASURED_DATAGRAM_STAGES`).
    priors : dict
        Their values before the fit (the paper's).
    rows : list of dict
        Per workload (path, protocol, flows, size; repeated runs of it
        together): ``role`` ('fitted' if the selector picked any of its
        runs, else 'predicted'), ``runs``, the median measured and the
        median predicted Gb/s (each run predicted with its own clock and
        steal), the measured range (``measured_low_gbps``,
        ``measured_high_gbps``) and whether the model lies in it
        (``within_range``), the relative error of the medians, the busiest
        constraint, and the median CPUs busy (usr + sys + softirq + irq,
        summed over CPUs; never fitted); for UDP also the rate the sender
        put out (measured: goodput over one minus loss).
    success : bool
        Whether the optimiser converged.
    host : Host or None
        The fitted machine as a host profile (:func:`fitted_host`): the
        dataset's CPUs and clock, no steal, ``cycles_scale`` folded into
        the clock; the stage costs a fit freed are in ``values``.
    """

    values: Mapping
    priors: Mapping
    rows: list
    success: bool
    host: Host | None = None

    def predictions(self) -> list:
        """The rows not used by the fit."""
        return [r for r in self.rows if r["role"] == "predicted"]

    def table(self) -> str:
        """A plain-text table of every row, fitted ones marked."""
        head = (f"{'path':15s} {'proto':5s} {'flows':>5s} {'bytes':>7s} {'gso':3s} {'nagle':5s} "
                f"{'role':9s} {'runs':>4s} {'Gb/s':>6s} {'range':>13s} {'model':>6s} {'error':>7s} "
                f"{'CPUs':>5s} {'model':>5s}")
        lines = [head]
        for r in self.rows:
            spread = f"{r['measured_low_gbps']:.1f}-{r['measured_high_gbps']:.1f}"
            lines.append(f"{r['path']:15s} {r['proto']:5s} {int(r['flows']):5d} "
                         f"{int(r['msg_bytes']):7d} {'on' if r['segmentation'] else 'off':3s} "
                         f"{'on' if r.get('nagle', True) else 'off':5s} "
                         f"{r['role']:9s} {r['runs']:4d} "
                         f"{r['measured_gbps']:6.2f} {spread:>13s} {r['model_gbps']:6.2f} "
                         f"{r['error']:+7.1%} {r['measured_cpus']:5.2f} {r['model_cpus']:5.2f}")
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: how far the predicted workloads' medians are from the model.

        Examples
        --------
        >>> fit = DatasetFit({}, {}, [dict(path="native", proto="udp", flows=1, role="predicted",
        ...                                 error=-0.12), dict(path="native", proto="tcp", flows=1,
        ...                                 role="fitted", error=0.01)], True)
        >>> fit.summary()
        '1 predicted workloads: largest error -12.0 % (native udp, 1 flow), median |error| 12.0 %'
        """
        predicted = self.predictions()
        if not predicted:
            return "no predicted workloads: every row was used by the fit"
        worst = max(predicted, key=lambda r: abs(r["error"]))
        middle = float(np.median([abs(r["error"]) for r in predicted]))
        flows = int(worst["flows"])
        off = ("" if worst.get("segmentation", True) else ", segmentation off") + (
            "" if worst.get("nagle", True) else ", Nagle off")
        return (f"{len(predicted)} predicted workloads: largest error "
                f"{100 * worst['error']:+.1f} % ({worst['path']} {worst['proto']}, "
                f"{flows} flow{'s' if flows != 1 else ''}{off}), median |error| "
                f"{100 * middle:.1f} %")

    def to_toml(self) -> str:
        """The fitted machine as a host profile (``queuemodel predict --host FILE``).

        A ``[host]`` table with every field (:func:`queuemodel.hosts.host_to_toml`),
        a ``[stages]`` table with the stage costs the fit freed, and ``[fit]``
        with the fitted numbers and their priors (for the record).
        """
        from ..hosts import host_to_toml

        if self.host is None:
            raise CalibrationError("calibrate: this fit carries no host profile")
        fitted = sum(r["role"] == "fitted" for r in self.rows)
        lines = ["# queuemodel host profile of a namespace testbed, fitted by",
                 f"# queuemodel.testbed.fit.calibrate_dataset to {fitted} workloads;",
                 "# cycles_scale is folded into ghz.  One sending and one reading thread",
                 "# serve every flow (iperf3 before 3.16); with a thread per flow set",
                 "# nic_queues = min(flows, CPUs), and app_on_softirq_core = true once",
                 "# flows > CPUs / 2.", host_to_toml(self.host).rstrip("\n")]
        stages: dict = {}
        for name, value in _stage_costs(self.values).items():
            stage, field_name = name.split(".", 1)
            stages.setdefault(stage, {})[field_name] = value
        for stage, fields in stages.items():
            lines.append(f"\n[stages.{stage}]")
            lines += [f"{k} = {v!r}" for k, v in fields.items()]
        lines.append("\n[fit]")
        lines += [f"{k} = {v!r}   # prior {self.priors[k]!r}" for k, v in self.values.items()]
        return "\n".join(lines) + "\n"


def _stage_costs(values: Mapping) -> dict:
    """``stage.field`` costs a fit sets: the freed ones, the measured ones (as measured),
    and with ``unit_cycles_scale`` every other per-unit and per-poll cost scaled (the
    link's veth stages included), as :func:`predict_row` applies them.

    A field is left out where two stages share a name but not its value; it
    keeps its prior in a profile.
    """
    costs = _expand({k: v for k, v in values.items() if k in FREE and FREE[k]})
    measured = {k: v for k, v in values.items() if k not in FREE}
    unit = float(values.get(UNIT_FREE, 1.0))
    if unit == 1.0:
        return {**costs, **measured}
    seen: dict = {}
    for path in testbed_paths().values():
        for stage in path.tx + path.rx:
            for name in ("cost_cycles_per_unit", "cost_cycles_per_invocation"):
                key = f"{stage.name}.{name}"
                seen.setdefault(key, set()).add(costs.get(key, getattr(stage, name)))
    scaled = {key: next(iter(v)) * unit for key, v in seen.items()
              if len(v) == 1 and next(iter(v)) > 0}
    return {**costs, **scaled, **measured}      # measured costs are not scaled (predict_row)


def calibrate_dataset(rows: list, selector: str | Mapping = DEFAULT_SELECTOR,
                      free: tuple | None = None, measure: bool = True) -> DatasetFit:
    """Fit the testbed's costs to the selected rows and predict the others.

    Parameters
    ----------
    rows : list of dict
        A dataset (:func:`queuemodel.testbed.run.read_dataset`).
    selector : str or dict
        Which rows to fit (:func:`parse_selector`); default single-flow TCP.
    free : tuple of str, optional
        Names from :data:`FREE` to fit; at most as many as selected rows
        (default :data:`DEFAULT_FREE`).
    measure : bool
        Set the :data:`MEASURED_STAGES` costs from the dataset's profiled
        runs of TCP with segmentation off, where it has them
        (:func:`measured_cycles_per_packet`), the
        :data:`MEASURED_DATAGRAM_STAGES` costs from its profiled native UDP
        runs (:func:`measured_datagram_ratios`), and the
        :data:`MEASURED_MESSAGE_STAGES` costs from iperf3's own CPU time a
        message, where rows record it (:func:`measured_ns_per_message`);
        their ``stage.field`` values join ``values``.

    Returns
    -------
    DatasetFit

    Raises
    ------
    CalibrationError
        If fewer rows are selected than costs are free, or a name is unknown.

    Notes
    -----
    Least squares on ``log(model / measured)`` of the throughput over
    every selected run (repeats of a workload all count, so the fit aims at
    their geometric mean), the costs in log space (they are positive), from
    their priors.  The table then reports each workload once, by medians.
    """
    from scipy.optimize import least_squares

    from ..calibrate import get_parameter

    if isinstance(selector, str):
        selector = parse_selector(selector)
    unknown = [n for n in (free or ()) if n not in FREE]
    if unknown:
        raise CalibrationError(f"calibrate: unknown cost {unknown[0]!r}; "
                               f"choose from {', '.join(FREE)}")
    if not rows:
        raise CalibrationError("calibrate: the dataset has no rows")
    missing = [c for c in REQUIRED_COLUMNS if c not in rows[0]]
    if missing:
        raise CalibrationError(f"calibrate: the dataset lacks column {missing[0]!r} "
                               "(re-measure with `queuemodel testbed run`)")
    # Rows measured before the column existed ran with segmentation on.
    rows = [{**row, "segmentation": segmented(row)} for row in rows]
    chosen = select(rows, selector)
    free = DEFAULT_FREE if free is None else tuple(free)
    if len(chosen) < len(free):
        raise CalibrationError(f"calibrate: {len(chosen)} rows match the selector, "
                               f"fewer than the {len(free)} costs to fit")
    for row in rows:
        if float(row["throughput_gbps"]) <= 0:
            raise CalibrationError(f"calibrate: a row has no throughput: {row['path']} "
                                   f"{row['proto']} {row['flows']} flows")
    paths = {**PATHS, **MORE_PATHS}
    priors = {n: get_parameter(FREE[n][0], paths) if FREE[n] else 1.0 for n in free}
    x0 = np.log(list(priors.values()))
    # Stage costs a profile measured (none freed by name is measured as well).
    freed = {t.split(".")[0] for n in free for t in FREE[n]}
    per_packet = {g: c for g, c in measured_cycles_per_packet(rows).items()
                  if not freed.intersection(MEASURED_STAGES[g])} if measure else {}
    per_message = measured_ns_per_message(rows) if measure else {}
    if any(freed.intersection(names) for names in MEASURED_MESSAGE_STAGES.values()):
        per_message = {}
    per_datagram = {g: r for g, r in measured_datagram_ratios(rows).items()
                    if not freed.intersection(MEASURED_DATAGRAM_STAGES[g])} if measure else {}
    fixed: dict = {}

    def residuals(x):
        values = {**dict(zip(free, np.exp(x))), **fixed}
        return np.log([predict_row(rows[i], paths, values).throughput_gbps
                       / float(rows[i]["throughput_gbps"]) for i in chosen])

    # Bounds keep the search inside what the model accepts (cycles_scale divides every
    # row's clock, which a Host keeps at most 20 GHz); a cost the chosen rows do not see
    # keeps its prior (zero gradient).
    bounds = dict(_BOUNDS)
    fastest = max(testbed_host_for(row).ghz for row in rows)
    bounds["cycles_scale"] = (max(_BOUNDS["cycles_scale"][0], fastest / 20.0 * (1 + 1e-9)),
                              _BOUNDS["cycles_scale"][1])
    low = np.log([bounds[n][0] for n in free])
    high = np.log([bounds[n][1] for n in free])
    # Measured cycles become paper cycles through cycles_scale, which the fit moves:
    # alternate the two until they agree (a few rounds; the costs move it little).
    for _ in range(6 if per_packet or per_message or per_datagram else 1):
        fit = least_squares(residuals, np.clip(x0, low, high), bounds=(low, high),
                            method="trf", xtol=1e-10, ftol=1e-10, diff_step=1e-6)
        scale = dict(zip(free, np.exp(fit.x))).get("cycles_scale", 1.0)
        new = {**_measured_costs(per_packet, scale),
               **_message_costs(per_message, rows, scale),
               **_datagram_costs(per_datagram, scale)}
        settled = all(abs(v / fixed.get(k, np.inf) - 1.0) < 1e-6 for k, v in new.items())
        fixed = new
        x0 = fit.x
        if settled:
            break
    values = {**{n: float(v) for n, v in zip(free, np.exp(fit.x))}, **fixed}
    priors.update({k: get_parameter(k, paths) for k in fixed})
    if not all(math.isfinite(v) for v in values.values()):
        raise CalibrationError("calibrate: the fit diverged")
    runs = [_run_entry(row, predict_row(row, paths, values)) for row in rows]
    table = [_summarise([runs[i] for i in members], any(i in chosen for i in members))
             for members in _configurations(rows).values()]
    return DatasetFit(values=values, priors=priors, rows=table, success=bool(fit.success),
                      host=fitted_host(rows, values.get("cycles_scale", 1.0),
                                       values.get(UNIT_FREE, 1.0)))
