"""``predict``: one call from a scenario to a :class:`Result`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from . import wire
from .errors import QueueModelError, UnknownNameError
from .host import HOST_FIELDS, Host
from .hosts import paper_testbed, with_overrides
from .paths import get_path
from .solver import (
    APP_CORE, FLOW_CORE, PROC_STAT_COLUMN, _ALWAYS, _FRAG_ONLY, CompiledSide, compile_side,
    features, interrupts_per_message, solve_rate, wakeups_per_message,
)
from .stage import CONTEXTS, Path, Workload

__all__ = ["predict", "evaluate", "Result", "DEFAULT_MSG_BYTES"]

#: iperf3 message sizes the paper used (section 3.1): 128 KB TCP writes, 8 KB UDP datagrams.
DEFAULT_MSG_BYTES = {"tcp": 131072, "udp": 8192}

_CPU_KEYS = ("usr", "sys", "softirq", "irq")
_SOFTIRQ, _SYSCALL = CONTEXTS.index("softirq"), CONTEXTS.index("syscall")


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
        Application goodput of all flows together, Gb/s.
    message_rate_per_s : float or numpy.ndarray
        Messages (datagrams) per second delivered to the receiving applications.
    wire_packet_rate_per_s : float or numpy.ndarray
        Wire packets per second that the receiver processes.
    link_goodput_gbps : float or numpy.ndarray
        The link's ceiling for this message size and path, Gb/s.
    bottleneck : str or numpy.ndarray
        ``"host:core:stage"``, e.g. ``"receiver:flow-core:vxlan_rx"`` (the
        binding core and the stage that uses most of it), or
        ``"link:line-rate:-"`` / ``"sender:offered-load:-"``.
    receiver_cpu, sender_cpu : dict
        Busy logical CPUs by /proc/stat column: ``usr``, ``sys``,
        ``softirq``, ``irq``.
    stages : dict
        Utilisation of its core by each stage, ``"rx:nic_rx"`` etc., plus
        the explicit overheads ``rx:softirq_entry`` and ``rx:context_switch``.
    core_utilisation : dict
        Utilisation of each busy core: ``rx:flow-core``, ``rx:app-core``
        (absent when the application shares the flow core), ``tx:app-core``.
    irq_rate_per_s : float or numpy.ndarray
        Receive hard interrupts per second, all flows.
    drop_fraction : float or numpy.ndarray
        Share of sent messages the receiver drops (UDP above capacity).
    cores_used : float or numpy.ndarray
        Receive cores the flows are spread over.
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
    drop_fraction: Any
    cores_used: Any
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain, JSON-ready dictionary (arrays become nested lists).

        Examples
        --------
        >>> d = predict(path="native", proto="tcp").to_dict()
        >>> sorted(d["receiver_cpu"])
        ['irq', 'softirq', 'sys', 'usr']
        """
        out = {}
        for f in dataclasses.fields(self):
            out[f.name] = _plain(getattr(self, f.name))
        return out


def _plain(value):
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim else value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def predict(
    path: str | Path = "native",
    proto: str = "tcp",
    flows=1,
    msg_bytes=None,
    host: Host | None = None,
    offered_gbps=math.inf,
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
                        offered_gbps=offered_gbps)
    return evaluate(resolved, workload, base)


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
    proto, msg = workload.proto, np.asarray(workload.msg_bytes, dtype=float)
    rx = compile_side(path, "rx", proto, host)
    tx = compile_side(path, "tx", proto, host)
    counts, frag = features(proto, msg, host, path.encap_bytes)
    n_wire = counts[..., 1]
    cap = np.multiply(host.ghz, 1e9)
    miss_cycles = np.multiply(host.dram_latency_ns, host.ghz)
    cores_used = np.minimum(np.minimum(workload.flows, host.nic_queues), host.physical_cores)

    link_gbps = wire.goodput_gbps(host.link_gbps, proto, msg, host.mtu, path.encap_bytes)
    to_rate = 1e9 / (8.0 * msg)
    link_share = link_gbps * to_rate / cores_used
    offered_share = np.multiply(workload.offered_gbps, to_rate) * workload.flows / cores_used

    rx_units, rx_static = _static(rx, counts, frag, msg, miss_cycles)
    tx_units, tx_static = _static(tx, counts, frag, msg, miss_cycles)
    rx_cores = _rx_cores(rx, rx_units, rx_static, host, cap)
    tx_core = (cap, tx_static.sum(axis=-1), lambda rate, ipm: 0.0)

    napi_cycles = rx_static[..., rx.context <= _SOFTIRQ].sum(axis=-1)
    per_irq_cycles = (np.sum(rx.cycles_per_unit * (rx.feature < 0))
                      + np.sum(rx.cycles_per_invocation * rx.poll)
                      + np.asarray(host.softirq_entry_cycles, float))

    segmented = proto == "udp" or host.tso or host.gso
    burst = counts[..., 1] / counts[..., 3] if segmented else np.ones_like(n_wire)

    def ipm_of(rate):
        return interrupts_per_message(rate, n_wire, burst, napi_cycles, per_irq_cycles, cap,
                                      host)

    upper = np.minimum(link_share, offered_share)
    if proto == "tcp":
        rate_rx = rate_tx = solve_rate(upper, [*rx_cores.values(), tx_core], ipm_of)
    else:
        rate_tx = solve_rate(upper, [tx_core], ipm_of)
        rate_rx = solve_rate(rate_tx, list(rx_cores.values()), ipm_of)

    ipm = ipm_of(rate_rx)
    rx_cycles = rx_static + _rx_dynamic(rx, rx_units, ipm, host)
    entry = np.multiply(host.softirq_entry_cycles, ipm)
    app_static = rx_static[..., _app_core_mask(rx, host)].sum(axis=-1)
    switch = 2.0 * np.multiply(host.context_switch_cycles,
                               wakeups_per_message(rate_rx, ipm, app_static, cap))
    rx_util = rate_rx[..., None] * rx_cycles / np.expand_dims(cap, -1)
    tx_util = rate_tx[..., None] * tx_static / np.expand_dims(cap, -1)
    entry_util = rate_rx * entry / cap
    switch_util = rate_rx * switch / cap

    stages = {f"rx:{n}": rx_util[..., i] for i, n in enumerate(rx.labels)}
    stages["rx:softirq_entry"] = entry_util
    stages["rx:context_switch"] = switch_util
    stages.update({f"tx:{n}": tx_util[..., i] for i, n in enumerate(tx.labels)})

    receiver_cpu = _by_column(rx, rx_util, cores_used)
    receiver_cpu["softirq"] = receiver_cpu["softirq"] + cores_used * entry_util
    receiver_cpu["sys"] = receiver_cpu["sys"] + cores_used * switch_util
    sender_cpu = _by_column(tx, tx_util, cores_used)

    core_util = {}
    shared = host.app_on_softirq_core
    for role, name in ((FLOW_CORE, "rx:flow-core"), (APP_CORE, "rx:app-core")):
        if shared and role == APP_CORE:
            continue
        mask = np.ones_like(rx.core, bool) if shared else rx.core == role
        total = rx_util[..., mask].sum(axis=-1)
        if shared or role == FLOW_CORE:
            total = total + entry_util
        if shared or role == APP_CORE:
            total = total + switch_util
        core_util[name] = total
    core_util["tx:app-core"] = tx_util.sum(axis=-1)

    bottleneck = _bottleneck(
        proto, rx, tx, rx_util, tx_util, entry_util, switch_util, core_util,
        rate_rx, rate_tx, link_share, offered_share, shared,
    )
    throughput = cores_used * rate_rx * msg * 8.0 / 1e9
    result = Result(
        path=path.name,
        proto=proto,
        throughput_gbps=_out(throughput),
        message_rate_per_s=_out(cores_used * rate_rx),
        wire_packet_rate_per_s=_out(cores_used * rate_rx * n_wire),
        link_goodput_gbps=_out(link_gbps),
        bottleneck=bottleneck,
        receiver_cpu={k: _out(v) for k, v in receiver_cpu.items()},
        sender_cpu={k: _out(v) for k, v in sender_cpu.items()},
        stages={k: _out(v) for k, v in stages.items()},
        core_utilisation={k: _out(v) for k, v in core_util.items()},
        irq_rate_per_s=_out(cores_used * rate_rx * ipm),
        drop_fraction=_out(np.where(rate_tx > 0, 1.0 - rate_rx / rate_tx, 0.0)),
        cores_used=_out(cores_used),
        inputs={"flows": workload.flows, "msg_bytes": workload.msg_bytes,
                "offered_gbps": workload.offered_gbps, "host": host.name},
    )
    _check_finite(result)
    return result


def _static(side: CompiledSide, counts, frag, msg, miss_cycles):
    """Units and static cycles per message for every stage of one side."""
    gate = np.where(side.gate == _ALWAYS, 1.0, 0.0) + np.where(
        side.gate == _FRAG_ONLY, 1.0, 0.0) * frag[..., None]
    feature = np.where(side.feature >= 0, side.feature, 0)
    units = counts[..., feature] * gate * (side.feature >= 0)
    per_unit = side.cycles_per_unit + side.misses_per_unit * np.expand_dims(miss_cycles, -1)
    static = units * per_unit + gate * msg[..., None] * side.cycles_per_byte
    return units, static


def _rx_dynamic(side: CompiledSide, units, ipm, host: Host):
    """Rate-dependent cycles per message of each receive stage, given interrupts/message."""
    ipm = np.asarray(ipm)[..., None]
    irq = (side.feature < 0) * side.cycles_per_unit * ipm
    weight = np.expand_dims(np.asarray(host.napi_weight, float), -1)
    polls = np.where(side.poll, np.maximum(ipm, units / weight), 0.0)
    polls = polls * side.cycles_per_invocation
    return irq + polls


def _rx_cores(side: CompiledSide, units, static, host: Host, cap):
    """(capacity, static cycles/message, overhead(ipm)) for each receive core."""
    shared = host.app_on_softirq_core
    roles = [("rx:flow-core", None)] if shared else [("rx:flow-core", FLOW_CORE),
                                                      ("rx:app-core", APP_CORE)]
    cores = {}
    for name, role in roles:
        mask = np.ones_like(side.core, bool) if role is None else side.core == role
        with_flow = role in (None, FLOW_CORE)
        with_app = role in (None, APP_CORE)

        core_static = static[..., mask].sum(axis=-1)

        def overhead(rate, ipm, mask=mask, with_flow=with_flow, with_app=with_app,
                     core_static=core_static):
            dyn = _rx_dynamic(side, units, ipm, host)[..., mask].sum(axis=-1)
            if with_flow:
                dyn = dyn + np.multiply(host.softirq_entry_cycles, ipm)
            if with_app:
                wake = wakeups_per_message(rate, ipm, core_static, cap)
                dyn = dyn + 2.0 * np.multiply(host.context_switch_cycles, wake)
            return dyn

        cores[name] = (cap, core_static, overhead)
    return cores


def _app_core_mask(side: CompiledSide, host: Host):
    """Stages that run on the receiving application's core."""
    if host.app_on_softirq_core:
        return np.ones_like(side.core, bool)
    return side.core == APP_CORE


def _by_column(side: CompiledSide, util, cores_used):
    out = {k: 0.0 for k in _CPU_KEYS}
    for ctx_index, ctx in enumerate(CONTEXTS):
        mask = side.context == ctx_index
        if mask.any():
            out[PROC_STAT_COLUMN[ctx]] = cores_used * util[..., mask].sum(axis=-1)
    return {k: np.asarray(v, float) + np.zeros_like(np.asarray(cores_used, float))
            for k, v in out.items()}


def _bottleneck(proto, rx, tx, rx_util, tx_util, entry_util, switch_util, core_util,
                rate_rx, rate_tx, link_share, offered_share, shared):
    """Name the binding constraint and, for a core, its busiest stage."""
    names, values, busiest = [], [], []
    rx_labels = list(rx.labels) + ["softirq_entry", "context_switch"]
    rx_all = np.concatenate([rx_util, entry_util[..., None], switch_util[..., None]], axis=-1)
    for core_name, util in core_util.items():
        side, role = core_name.split(":")
        if side == "rx":
            if shared:
                mask = np.ones(len(rx_labels), bool)
            else:
                flow = np.append(rx.core == FLOW_CORE, [True, False])
                mask = flow if role == "flow-core" else ~flow
            labels = np.array(rx_labels, dtype=object)[mask]
            top = labels[np.argmax(rx_all[..., mask], axis=-1)]
            host_name = "receiver"
        else:
            labels = np.array(tx.labels, dtype=object)
            top = labels[np.argmax(tx_util, axis=-1)]
            host_name = "sender"
        names.append(np.asarray(f"{host_name}:{role}:" + np.asarray(top, dtype=object),
                                dtype=object))
        values.append(util)
    limit_rate = rate_rx if proto == "tcp" else rate_tx
    names += [np.asarray("link:line-rate:-"), np.asarray("sender:offered-load:-")]
    values += [limit_rate / link_share, limit_rate / offered_share]
    shape = np.broadcast_shapes(*(np.shape(v) for v in values), *(np.shape(n) for n in names))
    stacked = np.stack([np.broadcast_to(np.asarray(v, float), shape) for v in values], -1)
    binding = np.argmax(stacked >= 1.0 - 1e-7, axis=-1)
    none = ~np.any(stacked >= 1.0 - 1e-7, axis=-1)
    binding = np.where(none, np.argmax(stacked, axis=-1), binding)
    all_names = np.stack([np.broadcast_to(np.asarray(n, dtype=object), shape)
                          for n in names], -1)
    chosen = np.take_along_axis(all_names, binding[..., None], -1)[..., 0]
    return chosen.item() if chosen.ndim == 0 else chosen


def _out(value):
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def _check_finite(result: Result) -> None:
    for name in ("throughput_gbps", "message_rate_per_s", "wire_packet_rate_per_s",
                 "irq_rate_per_s", "drop_fraction"):
        arr = np.asarray(getattr(result, name))
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise QueueModelError(
                f"internal error: {name} came out non-finite or negative for {result.inputs}; "
                "please report it with the inputs")
