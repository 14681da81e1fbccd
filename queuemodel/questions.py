"""The paper's second and third open questions, asked of the model.

* :func:`isolation` (question 2): what dedicated cores per flow do to the
  multi-flow curves and to CPU per Gb/s, against the default hashing.
* :func:`coalescing` (question 3): what GRO across the overlay's stages,
  larger NAPI batches or stronger interrupt moderation do to small-message
  rates, interrupts, softirqs and latency.

Each variant is a change of data (a host field, or a path whose stages are
replaced), evaluated by the one model; nothing here computes a number itself.
The first question (one flow on several cores) is :mod:`queuemodel.parallel`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["isolation", "coalescing", "COALESCING_VARIANTS", "IO_SHARES", "overlay_gro_path"]

#: Message sizes of the paper's small-packet figures, 64 B to 8 KB.
SIZES = 2 ** np.arange(6, 14)


def _cpu_total(result) -> np.ndarray:
    return np.sum([np.asarray(v) for v in result.receiver_cpu.values()], axis=0)


#: Shares of the last-level cache open to the NIC's writes that :func:`isolation`
#: compares: Intel DDIO's default 2 of 20 ways, 4 and 8.
IO_SHARES = (0.1, 0.2, 0.4)


def isolation(path="docker-overlay", proto: str = "tcp", flows=np.arange(1, 17),
              host=None) -> dict:
    """Hashed flows against flows steered one per queue (dedicated cores), and cache shares.

    ``flow_steering=True`` stands for ntuple rules that put flow ``i`` on
    queue ``i`` (so on its own CPU while there are queues and CPUs); the
    default lets RSS hash flows onto queues, where they collide.  For the
    cache, the share of the last-level cache the NIC may write into
    (:data:`IO_SHARES`) is varied for hashed flows: the only cache partition
    the model's memory traffic depends on (:mod:`queuemodel.memory`).

    Parameters
    ----------
    path : str or Path
        The path.
    proto : {'tcp', 'udp'}
        Transport protocol.
    flows : array_like
        Flow pair counts.
    host : Host, optional
        Host profile (default the paper's testbed).

    Returns
    -------
    dict
        ``flows``; for ``hashed`` and ``steered``: ``gbps``,
        ``cpu_per_gbps`` (receive logical CPUs per Gb/s), ``stderr_gbps``,
        ``slowest_flow_gbps`` (the expected slowest flow of a placement:
        isolation, against the even share ``gbps / flows``) and
        ``memory_gbytes_per_s`` (receiver DRAM traffic); ``io_share``:
        ``shares`` and ``memory_gbytes_per_s``, shape ``(shares, flows)``.

    Notes
    -----
    Partitioning the cache among the cores (Intel CAT) leaves the NIC's
    share alone, and the only misses the model charges cycles for are the
    copy's reads of received bytes that left that share: in this model a
    core partition changes neither throughput nor DRAM traffic.  What does
    change them is the NIC's share (a larger one keeps more received bytes
    until their copy, so the copy also runs faster), and keeping receive
    CPUs out of saturation, which steering does.

    Examples
    --------
    >>> out = isolation(flows=[1, 6])
    >>> bool(out["steered"]["gbps"][1] > out["hashed"]["gbps"][1])
    True
    """
    from .model import predict

    flows = np.asarray(flows)
    out = {"flows": flows}
    for name, steer in (("hashed", False), ("steered", True)):
        kw = {} if host is None else {"host": host}
        r = predict(path=path, proto=proto, flows=flows, flow_steering=steer, **kw)
        gbps = np.asarray(r.throughput_gbps, dtype=float)
        out[name] = {"gbps": gbps, "cpu_per_gbps": _cpu_total(r) / gbps,
                     "stderr_gbps": np.asarray(r.throughput_stderr_gbps, dtype=float),
                     "slowest_flow_gbps": np.asarray(r.slowest_flow_gbps, dtype=float),
                     "memory_gbytes_per_s": np.asarray(r.memory_bandwidth_gbytes_per_s,
                                                       dtype=float)}
    shares = np.asarray(IO_SHARES)
    kw = {} if host is None else {"host": host}
    r = predict(path=path, proto=proto, flows=flows[None, :], ddio_share=shares[:, None], **kw)
    out["io_share"] = {"shares": shares, "memory_gbytes_per_s": np.asarray(
        r.memory_bandwidth_gbytes_per_s, dtype=float)}
    return out


def overlay_gro_path(path="docker-overlay"):
    """The path with GRO merging tunnelled packets at the NIC's poll, offloads or not.

    Linux's VXLAN GRO merges encapsulated TCP only when the NIC has
    validated the inner checksum (tunnel offloads); this variant merges
    regardless, so VXLAN, the bridge and veth see 64 KB segments instead
    of wire packets.  UDP is unaffected (no UDP GRO in Linux 4.4).

    Parameters
    ----------
    path : str or Path
        The path to change.

    Returns
    -------
    Path

    Examples
    --------
    >>> overlay_gro_path().name
    'docker-overlay+overlay-gro'
    """
    from .paths import get_path

    base = get_path(path)
    rx = tuple(dataclasses.replace(s, batching="gro") if s.batching == "tunnel_gro" else s
               for s in base.rx)
    return dataclasses.replace(base, name=f"{base.name}+overlay-gro", rx=rx)


#: The coalescing variants: name -> (path transform or None, host changes).
COALESCING_VARIANTS = {
    "as shipped": (None, {}),
    "GRO across the overlay": (overlay_gro_path, {}),
    "NAPI batches of 256": (None, {"napi_weight": 256, "netdev_budget": 1200}),
    "moderation 64 us, fixed": (None, {"adaptive_moderation": False,
                                       "irq_moderation_usecs": 64.0}),
}


def coalescing(path="docker-overlay", proto: str = "udp", sizes=SIZES,
               load_share: float = 0.5) -> dict:
    """Small-message rates, interrupts, softirqs and latency under each coalescing variant.

    Parameters
    ----------
    path : str
        Base path.
    proto : {'tcp', 'udp'}
        Transport protocol.
    sizes : array_like
        Message sizes, bytes.
    load_share : float
        Latency is taken at this share of the *as shipped* cap at each size,
        the same offered load for every variant.

    Returns
    -------
    dict
        ``sizes`` and, per variant name, ``rate_per_s``, ``wire_per_s``, ``irq_per_s``,
        ``softirq_per_s`` (one flow, unlimited sender) and ``latency_us``
        (mean, at the common offered load; ``inf`` if that load is more than
        the variant carries).

    Examples
    --------
    >>> out = coalescing(proto="udp", sizes=[64])
    >>> bool(out["moderation 64 us, fixed"]["irq_per_s"][0] < out["as shipped"]["irq_per_s"][0])
    True
    """
    from .model import predict
    from .paths import get_path

    sizes = np.asarray(sizes)
    shipped = predict(path=path, proto=proto, msg_bytes=sizes)
    offered = load_share * np.asarray(shipped.throughput_gbps, dtype=float)
    out = {"sizes": sizes}
    for name, (transform, changes) in COALESCING_VARIANTS.items():
        p = transform(path) if transform is not None else get_path(path)
        r = predict(path=p, proto=proto, msg_bytes=sizes, **changes)
        lat = predict(path=p, proto=proto, msg_bytes=sizes, offered_gbps=offered, **changes)
        out[name] = {"rate_per_s": np.asarray(r.message_rate_per_s, dtype=float),
                     "wire_per_s": np.asarray(r.wire_packet_rate_per_s, dtype=float),
                     "irq_per_s": np.asarray(r.irq_rate_per_s, dtype=float),
                     "softirq_per_s": np.asarray(r.softirq_rate_per_s, dtype=float),
                     "latency_us": np.asarray(lat.latency_mean_us, dtype=float)}
    return out
