"""Many flows: where the hashes put them, what hyper-threads leave, how they share.

The mechanism, for ``N`` flow pairs on one receiver:

1. **Placement.**  The NIC hashes each flow to one of ``nic_queues`` receive
   queues (RSS), and queue ``q`` interrupts logical CPU ``queue_cpus[q]``
   (default ``q mod logical CPUs``).  Whether the hash tells the flows apart
   depends on what it sees: a path lists the protocols whose flows it
   separates (:attr:`queuemodel.stage.Path.hash_spreads`); flows it cannot
   separate (native UDP: the NIC hashes UDP on the IP pair only) all land on
   one queue.  With RPS on, a second, software hash of the 4-tuple spreads
   every flow over all logical CPUs.  With flow steering on (explicit
   ntuple / flow-director rules), flow ``i`` goes to queue ``i mod
   nic_queues`` and nothing is left to chance.  The expectation over the hash
   outcomes is taken by a seeded Monte Carlo of :data:`SAMPLES` draws: the
   same inputs always give the same answer, and the standard error is
   reported.
2. **Hyper-threads.**  Logical CPU ``c`` is a thread of physical core
   ``c mod physical_cores`` (Linux's numbering).  When ``t`` threads of a
   core are busy each gets ``(1 + smt_gain * (t - 1)) / t`` of the core.
3. **Receivers.**  Each flow's iperf server runs where its softirq work
   does (wake-affine, as for one flow), so a CPU with ``k`` flows carries
   all their work; its capacity ``R_t`` (messages/s) is the one-core fixed
   point at the thread's share of the clock.
4. **Senders.**  The clients spread over distinct physical cores first,
   then over hyper-thread siblings: ``min(N, P) + smt_gain * max(0,
   min(N, L) - P)`` cores' worth of sending.
5. **Sharing.**  UDP senders are not throttled by the receivers: each
   flow arrives at its even share ``r = min(pool / N, link / N, offered)``
   (what a sender sends beyond the link is blocked or dropped at the
   sender, :func:`queuemodel.model.predict`), a CPU delivers
   ``min(R, k * r)``, and the rest is dropped at its ring.  TCP shares the
   cores, the link and the senders' pool max-min fairly: a CPU carries
   ``min(R, k * x)`` with the water level ``x`` at most one sending core
   and set so the total fits both the link and the pool.

Not yet modelled: contention that grows with the flows on a core (the
cycles cache misses and memory bandwidth cost, context switches among
several receivers) and the work lost on packets dropped after the softirq
(receive livelock).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["SAMPLES", "SEED", "Placement", "Patterns", "place", "thread_shares",
           "sender_core_units", "aggregate", "placement_groups", "expected_spread"]

#: Monte Carlo draws of the hash outcome per scenario (standard error reported).
SAMPLES = 512
#: Seed of the draws, combined with the scenario's topology so that the same
#: inputs always give the same placement.
SEED = 20190708


@dataclass(frozen=True)
class Placement:
    """Flows per logical CPU for each Monte Carlo draw of the hashes.

    Attributes
    ----------
    counts : numpy.ndarray
        ``(SAMPLES, L)`` integer flows on each logical CPU.
    level : numpy.ndarray
        ``(SAMPLES, L)`` busy threads on that CPU's physical core (1..T), 0
        where the CPU is idle.
    """

    counts: np.ndarray
    level: np.ndarray


def place(n_flows: int, physical_cores: int, threads_per_core: int, nic_queues: int,
          spreads: bool, rps: bool, queue_cpus: tuple = (), samples: int = SAMPLES,
          steered: bool = False) -> Placement:
    """Draw where ``n_flows`` flows land.

    Parameters
    ----------
    n_flows : int
        Flow pairs (>= 1).
    physical_cores, threads_per_core : int
        The receiver's topology; logical CPUs are numbered so that ``c`` and
        ``c + physical_cores`` are threads of one core.
    nic_queues : int
        Receive queues the NIC hashes into.
    spreads : bool
        Whether the NIC's hash tells these flows apart.
    rps : bool
        Whether a software 4-tuple hash re-steers every flow over all CPUs.
    queue_cpus : tuple of int
        Logical CPU of each queue's interrupt; empty for ``q mod L``.
    samples : int
        Monte Carlo draws.
    steered : bool
        Whether the NIC steers flow ``i`` to queue ``i mod nic_queues`` by an
        explicit rule (ntuple / flow-director steering) instead of hashing.

    Returns
    -------
    Placement

    Examples
    --------
    >>> p = place(80, 10, 2, 16, spreads=False, rps=False)
    >>> int(p.counts.max(axis=1).min())            # all on one CPU in every draw
    80
    >>> p = place(1, 10, 2, 16, spreads=True, rps=False)
    >>> int(p.counts.sum(axis=1).max()), int(p.level.max())
    (1, 1)
    """
    logical = physical_cores * threads_per_core
    # The seed leaves out the flow count and flows are drawn one after another, so the
    # draws are nested: N + 1 flows are the same N flows plus one (adding a flow never
    # reshuffles the others), which keeps curves over N free of sampling jitter.
    drawn = _draws(max(n_flows, _DRAW_BLOCK), physical_cores, threads_per_core, nic_queues,
                   spreads, rps, queue_cpus, samples, steered)
    cpus = drawn[:n_flows].T
    rows = np.arange(samples)[:, None]
    counts = np.bincount((rows * logical + cpus).ravel(),
                         minlength=samples * logical).reshape(samples, logical)
    busy = counts > 0
    core = np.arange(logical) % physical_cores
    threads = busy.reshape(samples, threads_per_core, physical_cores).sum(axis=1)
    level = np.where(busy, threads[:, core], 0)
    return Placement(counts=counts, level=level)


def thread_shares(smt_gain, threads_per_core: int) -> list:
    """Share of a physical core each busy thread gets, for 1..T busy threads.

    Parameters
    ----------
    smt_gain : float or numpy.ndarray
        What a second busy thread adds, as a fraction of one thread.
    threads_per_core : int
        Hardware threads per core.

    Returns
    -------
    list
        Entry ``t - 1`` is ``(1 + smt_gain * (t - 1)) / t``.

    Examples
    --------
    >>> [round(float(s), 2) for s in thread_shares(0.3, 2)]
    [1.0, 0.65]
    """
    return [(1.0 + np.multiply(smt_gain, t - 1)) / t for t in range(1, threads_per_core + 1)]


def sender_core_units(n_flows, physical_cores, threads_per_core, smt_gain):
    """Cores' worth of sending the clients get when the scheduler spreads them.

    Parameters
    ----------
    n_flows : float or numpy.ndarray
        Flow pairs (one client each).
    physical_cores, threads_per_core : float or numpy.ndarray
        The sender's topology.
    smt_gain : float or numpy.ndarray
        What a second busy thread adds.

    Returns
    -------
    numpy.ndarray or float
        ``min(N, P) + smt_gain * max(0, min(N, P * T) - P)``.

    Examples
    --------
    >>> float(sender_core_units(4, 10, 2, 0.3)), float(sender_core_units(80, 10, 2, 0.3))
    (4.0, 13.0)
    """
    logical = np.multiply(physical_cores, threads_per_core)
    return np.minimum(n_flows, physical_cores) + np.multiply(
        smt_gain, np.maximum(0.0, np.minimum(n_flows, logical) - physical_cores))


#: Flows drawn at a time; draws are nested, so a larger draw serves every smaller count.
_DRAW_BLOCK = 128


@functools.lru_cache(maxsize=64)
def _draws(n_flows, physical_cores, threads_per_core, nic_queues, spreads, rps, queue_cpus,
           samples, steered=False) -> np.ndarray:
    """``(n_flows, samples)`` logical CPU of each flow in each draw (see :func:`place`)."""
    logical = physical_cores * threads_per_core
    rng = np.random.default_rng([SEED, physical_cores, threads_per_core, nic_queues,
                                 int(spreads), int(rps), *queue_cpus])
    cpu_of_queue = (np.asarray(queue_cpus, dtype=int) if queue_cpus
                    else np.arange(nic_queues) % logical)
    if steered:                       # a rule per flow: no hash, every draw the same
        queues = np.repeat((np.arange(n_flows) % nic_queues)[:, None], samples, axis=1)
        return cpu_of_queue[queues]
    if rps:
        return rng.integers(logical, size=(n_flows, samples))
    if spreads:
        queues = rng.integers(nic_queues, size=(n_flows, samples))
    else:
        queues = np.repeat(rng.integers(nic_queues, size=(1, samples)), n_flows, axis=0)
    return cpu_of_queue[queues]


@dataclass(frozen=True)
class Patterns:
    """The distinct ways the flows can sit on busy CPUs, with their probabilities.

    Two draws that differ only in which CPUs are busy, not in how many flows
    each carries and how many threads its core runs, are the same pattern.

    Attributes
    ----------
    flows : numpy.ndarray
        ``(P, B)`` flows on each busy CPU (0 pads).
    level : numpy.ndarray
        ``(P, B)`` busy threads on that CPU's core (0 pads).
    weight : numpy.ndarray
        ``(P,)`` probability of each pattern (the share of draws).
    draws : int
        Monte Carlo draws behind the weights.
    cpu_level : numpy.ndarray
        ``(L, T)`` probability that logical CPU ``c`` is busy with ``t`` busy
        threads on its core (what the patterns forget: which CPU is which).
    """

    flows: np.ndarray
    level: np.ndarray
    weight: np.ndarray
    draws: int
    cpu_level: np.ndarray

    @classmethod
    def of(cls, placement: Placement) -> "Patterns":
        """Collapse a :class:`Placement` into its distinct patterns."""
        scale = int(placement.level.max()) + 1
        code = placement.counts * scale + placement.level              # 0 where idle
        code = -np.sort(-code, axis=1)
        code = code[:, : max(1, int((code > 0).sum(axis=1).max()))]
        # Distinct rows through a 1-D view of each row's bytes (much faster than axis=0).
        packed = np.ascontiguousarray(code.astype(np.uint32))
        keys = packed.view(np.dtype((np.void, packed.itemsize * packed.shape[1]))).ravel()
        _, first, count = np.unique(keys, return_index=True, return_counts=True)
        unique = code[first]
        cpu_level = np.stack([(placement.level == t).mean(axis=0)
                              for t in range(1, scale)], axis=1)
        return cls(flows=unique // scale, level=unique % scale,
                   weight=count / code.shape[0], draws=code.shape[0], cpu_level=cpu_level)

    @property
    def busy(self) -> np.ndarray:
        """Busy CPUs in each pattern."""
        return (self.flows > 0).sum(axis=1)


def aggregate(patterns: Patterns, capacity, per_flow, link, elastic: bool):
    """Delivered message rates per busy CPU for every pattern.

    Parameters
    ----------
    patterns : Patterns
        Flows and busy-thread levels per busy CPU, ``(P, B)``.
    capacity : numpy.ndarray
        ``(S, T)``: messages/s a CPU sustains with ``t`` busy threads on its
        core, for ``S`` scenarios.
    per_flow : numpy.ndarray
        ``(S,)``: the most one flow's sender sends (UDP: what it does send).
    link : numpy.ndarray
        ``(S,)``: messages/s the link carries in all.
    elastic : bool
        TCP (max-min fair, the link shared) or UDP (unthrottled senders).

    Returns
    -------
    numpy.ndarray
        ``(S, P, B)`` delivered messages/s of each busy CPU in each pattern.

    Notes
    -----
    UDP: ``min(R, k * r)``.  TCP: ``min(R, k * min(x, r))`` where the water
    level ``x`` is infinite if the link is not full, else the exact root of
    ``sum min(R, k * x) = link`` (:func:`_water_level`).
    """
    k = patterns.flows[None].astype(float)                             # (1, P, B)
    level = patterns.level
    cap = np.where(level > 0, capacity[:, np.maximum(level - 1, 0)], 0.0)  # (S, P, B)
    rate = per_flow[:, None, None]
    delivered = np.minimum(cap, _flows_times(k, rate))
    if not elastic:
        return delivered
    total = delivered.sum(axis=2)                                     # (S, P)
    full = total > link[:, None]
    if full.any():
        level_x = np.where(full, _water_level(cap, k, link), np.inf)
        delivered = np.minimum(cap, _flows_times(k, np.minimum(level_x, per_flow[:, None])[..., None]))
    return delivered


def _dram_of_pattern(patterns: Patterns, capacity, rates, totals, waiting: dict):
    """Per pattern, DRAM bytes per byte times messages/s, summed over its busy CPUs.

    The read-miss chance differs by CPU, the write-back chance only by pattern, and
    the DRAM bytes are affine in the first (:func:`queuemodel.memory.dram_bytes_from`):
    only ``sum(rate * miss)`` needs the per-CPU arrays.
    """
    from .memory import dram_bytes_from, eviction_probability

    level = patterns.level
    cap = capacity[:, np.maximum(level - 1, 0)]                 # (S, P, B); capacity > 0
    rho = rates / cap
    limit = patterns.flows[None] * waiting["per_flow"][:, None, None]
    if np.any(waiting["per_cpu"]):
        limit = limit + (level > 0)[None] * waiting["per_cpu"][:, None, None]
    # queued: rho / (1 - rho) messages (M/M/1), at most the limit, which a saturated
    # CPU holds (in place: these arrays are (scenarios x patterns x CPUs))
    queued = 1.0 - rho
    np.maximum(queued, 1e-300, out=queued)
    np.divide(rho, queued, out=queued)
    np.minimum(queued, limit, out=queued)
    np.copyto(queued, limit, where=rho >= 1.0 - 1e-9)
    # a CPU's message is gone with probability exp(-cache / written), where
    # written = total * queued / rate messages go into the cache while it waits
    np.multiply(queued, totals[..., None], out=queued)
    exponent = np.multiply(rates, waiting["cache"][:, None, None], out=rho)
    np.divide(exponent, queued, out=exponent, where=queued > 0)
    np.copyto(exponent, np.inf, where=queued <= 0)
    np.negative(exponent, out=exponent)
    np.exp(exponent, out=exponent)
    missed = np.einsum("spb,spb->sp", rates, exponent)                  # (S, P)
    rings = patterns.busy[None] * waiting["ring"][:, None]
    write_back = eviction_probability(rings, waiting["cache"][:, None])
    read_miss = np.divide(missed, totals, out=np.zeros_like(missed), where=totals > 0)
    return dram_bytes_from(read_miss, write_back) * totals


def _water_level(cap, k, link):
    """The ``x`` with ``sum_b min(cap_b, k_b * x) = link``, exactly, per (scenario, pattern).

    ``f(x) = sum min(cap, k x)`` is piecewise linear, bending where a CPU fills
    (``x = cap / k``).  With the bends sorted, ``f`` at each bend is the
    capacity of the CPUs already full plus ``x`` times the flows still
    growing; the root lies on the first segment whose end reaches ``link``.
    """
    k = np.broadcast_to(k, cap.shape)
    bend = np.divide(cap, k, out=np.full(cap.shape, np.inf), where=k > 0)
    fills = np.isfinite(bend)                        # an unlimited CPU never fills
    order = np.argsort(bend, axis=2)
    bend = np.take_along_axis(bend, order, axis=2)
    cap_s = np.take_along_axis(np.where(fills, cap, 0.0), order, axis=2)
    k_s = np.take_along_axis(k, order, axis=2)
    filled = np.cumsum(cap_s, axis=2) - cap_s                         # full before this bend
    growing = k_s[..., ::-1].cumsum(axis=2)[..., ::-1]                # flows from here on
    at_bend = filled + np.where(np.isfinite(bend), bend, 0.0) * growing
    target = link[:, None, None]
    reached = (at_bend >= target) & np.isfinite(bend)
    j = np.where(reached.any(axis=2), reached.argmax(axis=2), bend.shape[2] - 1)[..., None]
    base = np.take_along_axis(filled, j, axis=2)[..., 0]
    slope = np.take_along_axis(growing, j, axis=2)[..., 0]
    return np.divide(link[:, None] - base, slope, out=np.full(base.shape, np.inf),
                     where=slope > 0)


def _flows_times(k, rate):
    """``k * rate``, with an idle CPU (``k = 0``) carrying nothing even at unlimited rate."""
    shape = np.broadcast_shapes(k.shape, rate.shape)
    return np.multiply(k, rate, out=np.zeros(shape), where=np.broadcast_to(k > 0, shape))


def placement_groups(proto: str, path, host, h, flows) -> list:
    """Group scenarios by what decides their placement, and draw each group's patterns.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        With the path, decides whether the hash tells flows apart.
    path : Path
        Supplies :attr:`~queuemodel.stage.Path.hash_spreads`.
    host : Host
        Supplies ``rps``, ``queue_cpus``, ``flow_steering`` and ``rss_udp_ports``.
    h : object
        The host's numeric fields, scalars or ``(S,)`` arrays.
    flows : numpy.ndarray
        ``(S,)`` flow pairs per scenario.

    Returns
    -------
    list of (numpy.ndarray, Patterns)
        Scenario indices and their patterns.
    """
    size = flows.size
    spreads = proto in path.hash_spreads or (proto == "udp" and bool(host.rss_udp_ports))
    inputs = (flows, h.physical_cores, h.threads_per_core, h.nic_queues)
    if all(np.ndim(v) == 0 or np.all(v == np.ravel(v)[0]) for v in inputs):
        key = tuple(int(np.ravel(v)[0]) for v in inputs)
        return [(np.arange(size), _patterns(*key, spreads, host.rps, host.queue_cpus,
                                            host.flow_steering))]
    keys = np.column_stack([np.broadcast_to(np.asarray(v, dtype=float), (size,))
                            for v in inputs]).astype(np.int64)
    unique, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    return [(np.flatnonzero(group == g), _patterns(*map(int, key), spreads, host.rps,
                                                   host.queue_cpus, host.flow_steering))
            for g, key in enumerate(unique)]


@functools.lru_cache(maxsize=4096)
def _patterns(n, cores, threads, queues, spreads, rps, queue_cpus, steered) -> Patterns:
    """Patterns of one topology (cached: the draws are seeded, so they never change)."""
    return Patterns.of(place(n, cores, threads, queues, spreads, rps, queue_cpus,
                             steered=steered))


def expected_spread(proto: str, groups: list, flows, capacity, per_flow, link,
                    sustain=None, waiting=None) -> dict:
    """Expected delivery of the flows over the receiver's CPUs, per scenario.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        TCP shares max-min fairly; UDP senders are not throttled.
    groups : list
        From :func:`placement_groups`.
    flows : numpy.ndarray
        ``(S,)`` flow pairs per scenario.
    capacity : numpy.ndarray
        ``(S, T)`` messages/s of one CPU with 1..T busy threads on its core
        (only the levels that occur need be finite).
    per_flow : numpy.ndarray
        ``(S,)`` the most (TCP) or what (UDP) each sender sends.
    link : numpy.ndarray
        ``(S,)`` messages/s all flows together may carry: the link's (for TCP
        also capped by the senders' pooled capacity).
    sustain : callable, optional
        ``sustain(t, scenarios, offered)`` gives the rate a CPU at thread
        level ``t + 1`` of those scenarios actually carries when offered that
        much (at most the offer).  Below a CPU's capacity the offer is usually
        carried, but not always: where interrupt moderation switches off at low
        rates, a CPU can carry its full capacity yet not a slightly lower
        offer (the overhead per message grows).  Default: carried as offered.
    waiting : dict, optional
        For the memory traffic (:mod:`queuemodel.memory`), ``(S,)`` arrays in
        messages: ``per_flow`` and ``per_cpu``, the most data a flow and a
        CPU keep queued at the receiver (a TCP window; a socket buffer and a
        ring), ``ring``, the receive buffers one busy CPU's ring cycles
        through, and ``cache``, the cache share the NIC writes into.

    Returns
    -------
    dict
        ``delivered`` and its Monte Carlo ``delivered_stderr``; ``busy``
        (expected busy receive CPUs) and ``flows_per_busy``; per thread level
        ``cpus_at_level`` and ``rate_at_level`` (expected CPUs and their
        summed delivery); ``receiver_bound`` (whether the receive CPUs, not
        the link or the senders, set the rate); with ``waiting``,
        ``dram_per_byte``: DRAM bytes per delivered byte
        (:func:`queuemodel.memory.dram_bytes_per_byte` on each CPU, weighted
        by what it delivers).

    Notes
    -----
    Memory: a CPU at utilisation ``rho`` of its capacity holds
    ``rho / (1 - rho)`` messages on average (M/M/1, messages as jobs), at
    most its flows' and its own queue limits, which it holds when
    saturated.  While one of its messages waits, all flows together write
    ``delivered * queued / rate`` messages into the cache (Little), and
    the message is gone with probability ``exp(-cache / that)``.  A
    buffer comes back after every busy CPU's ring has gone round once.
    """
    size = flows.size
    levels = capacity.shape[1]
    out = {name: np.zeros(size) for name in ("delivered", "delivered_stderr", "busy",
                                             "flows_per_busy")}
    out["cpus_at_level"] = np.zeros((size, levels))
    out["rate_at_level"] = np.zeros((size, levels))
    all_rates = [aggregate(patterns, capacity[idx], per_flow[idx], link[idx],
                           elastic=proto == "tcp") for idx, patterns in groups]
    if sustain is not None:
        # Check every busy CPU at each thread level in one call per level; a CPU that
        # carries its full capacity (offered at least that) sustains it by definition.
        for t in range(levels):
            picks = [(p.level == t + 1) & (r < capacity[idx, t][:, None, None] * (1 - 1e-12))
                     for (idx, p), r in zip(groups, all_rates)]
            if not any(pick.any() for pick in picks):
                continue
            scenario = np.concatenate([np.broadcast_to(idx[:, None, None], r.shape)[pick]
                                       for (idx, _), r, pick in zip(groups, all_rates, picks)])
            offered = np.concatenate([r[pick] for r, pick in zip(all_rates, picks)])
            carried = sustain(t, scenario, offered)
            start = 0
            for r, pick in zip(all_rates, picks):
                count = int(pick.sum())
                r[pick] = carried[start:start + count]
                start += count
    out["dram_per_byte"] = np.zeros(size)
    for (idx, patterns), rates in zip(groups, all_rates):
        totals = rates.sum(axis=2)                                     # (S_g, P)
        w = patterns.weight
        mean = totals @ w
        if waiting is not None:
            dram = _dram_of_pattern(patterns, capacity[idx], rates, totals,
                                    {k: v[idx] for k, v in waiting.items()})
            out["dram_per_byte"][idx] = np.divide(dram @ w, mean, out=np.zeros(idx.size),
                                                  where=mean > 0)
        out["delivered"][idx] = mean
        out["delivered_stderr"][idx] = np.sqrt(
            np.maximum(0.0, ((totals - mean[:, None]) ** 2) @ w) / patterns.draws)
        out["busy"][idx] = patterns.busy @ w
        out["flows_per_busy"][idx] = (patterns.flows.sum(axis=1) / patterns.busy) @ w
        for t in range(1, min(levels, int(patterns.level.max())) + 1):
            at = patterns.level == t
            out["cpus_at_level"][idx, t - 1] = at.sum(axis=1) @ w
            out["rate_at_level"][idx, t - 1] = (rates * at).sum(axis=2) @ w
    sent = out["delivered"] if proto == "tcp" else flows * per_flow
    ceiling = np.minimum(link, flows * per_flow) if proto == "tcp" else sent
    out["receiver_bound"] = out["delivered"] < (1.0 - 1e-7) * ceiling
    return out
