"""Many flows: where the hashes put them, what hyper-threads leave, how they share.

The mechanism, for ``N`` flow pairs on one receiver:

1. **Placement.**  The NIC hashes each flow to one of ``nic_queues`` receive
   queues (RSS), and queue ``q`` interrupts logical CPU ``queue_cpus[q]``
   (default ``q mod logical CPUs``).  Whether the hash tells the flows apart
   depends on what it sees (:func:`hash_tells_apart`): unless the flows have
   addresses of their own (containers), they share one pair, so only ports
   tell them apart -- TCP's always, UDP's when the NIC hashes them
   (``rss_udp_ports``), an overlay's outer UDP source port likewise, an IP
   fragment's never (it has none).  Flows it cannot tell apart all land on
   one queue.  With RPS on, the same hash (RPS reuses the NIC's) places
   each flow on one of all the logical CPUs.  With flow steering on (explicit
   ntuple / flow-director rules), flow ``i`` goes to queue ``i mod
   nic_queues`` and nothing is left to chance.  The expectation over the hash
   outcomes is taken by a seeded Monte Carlo of :data:`SAMPLES` draws: the
   same inputs always give the same answer, the standard error is reported,
   and every host draws the same hash values (common random numbers), so a
   what-if that changes the queues or the CPUs is not blurred by a new draw.
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

6. **Shared GRO.**  Flows that share a receive queue share its NAPI polls,
   and GRO flushes every segment after each full poll: the more flows a
   poll carries, the fewer packets each segment merges, and every stage
   charged per segment works harder (:func:`gro_segments_per_packet`; a
   mean over the flows' CPUs, applied to every CPU of the scenario).

7. **Readers' wake-ups.**  A polling period delivers to every reader whose
   flow it carries packets of (:func:`queuemodel.solver.readers_per_interrupt`,
   runs of ``rx_flow_run_packets`` as for shared GRO), and a reader that
   sleeps is woken by each delivery: a CPU's ``k`` flows cost it more
   switches the more of them a period holds (accounted per CPU, at its
   own rate and flow count, in :func:`queuemodel.kernels.level_moments`).
   A CPU at capacity never sleeps, so this changes only what CPUs below
   capacity spend.

DRAM traffic and bandwidth are :mod:`queuemodel.memory`'s, and so is what
the copy pays for the received bytes it reads from DRAM (more of them as
more flows write into the cache while a byte waits), and what the flows'
state costs when the flows sharing a core push it out of the core's L2
(:func:`queuemodel.memory.flow_state_miss`, with the flows on a core from
:attr:`Patterns.core_sharing`).  Not modelled: the L1, a reader that
sleeps while its core serves the others (a delivery finds its reader asleep
only when the core is idle), the work lost on packets dropped after the
softirq (receive livelock), and the datagrams a full ring cuts, whose other
fragments are worked on but never reassembled (README).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["SAMPLES", "SEED", "OUTCOME_QUANTILES", "Placement", "Patterns", "place",
           "thread_shares", "sender_busy", "sender_core_units", "gro_segments_per_packet",
           "aggregate", "placement_groups", "hash_tells_apart", "expected_spread"]

#: Monte Carlo draws of the hash outcome per scenario (standard error reported).
SAMPLES = 512
#: Where the spread of a scenario's delivery over its hash outcomes is read:
#: the 5th and 95th percentiles (``throughput_p05_gbps``, ``throughput_p95_gbps``).
OUTCOME_QUANTILES = (0.05, 0.95)
#: Seed of the draws: one stream of hash values for every host and scenario, so the
#: same inputs always give the same placement and two hosts are compared on the same
#: hash outcomes.
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
        Whether the hash tells these flows apart (:func:`hash_tells_apart`).
    rps : bool
        Whether RPS places the flows, by the same hash, on all logical CPUs
        instead of the NIC's queues' CPUs.
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

    The share while all ``t`` run at once: what a CPU at thread level ``t``
    sustains (its siblings at capacity too).  Below capacity the siblings
    rest part of the time and the CPU runs faster
    (:func:`queuemodel.kernels.smt_speed`).

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


def sender_busy(work, n_flows, physical_cores, threads_per_core, smt_gain):
    """Share of the time each busy sending CPU runs, for ``work`` cores' worth of sending.

    Parameters
    ----------
    work : float or numpy.ndarray
        Cycles per second the clients' sending needs, over one core's (at
        most :func:`sender_core_units`).
    n_flows : float or numpy.ndarray
        Flow pairs (one client each).
    physical_cores, threads_per_core : float or numpy.ndarray
        The sender's topology.
    smt_gain : float or numpy.ndarray
        What a second busy thread adds.

    Returns
    -------
    numpy.ndarray or float
        The ``u`` every busy sending CPU shares: the ``n = min(N, P T)``
        busy CPUs sit evenly on the ``P`` cores (``t`` or ``t + 1`` per
        core), each busy ``u`` beside siblings as busy, so one with ``m``
        siblings does ``u v_m(u)`` of a core (``derivations/sharing.py``,
        sibling_speed), and ``sum u v(u) = work`` is solved by Newton's
        method (concave and rising in ``u``: the steps from 0 climb to the
        root).  At ``work = sender_core_units`` it is 1, the saturated
        pool; with no CPU sharing its core, ``work / n``.

    Examples
    --------
    >>> float(sender_busy(4.0, 8, 10, 2, 0.3))            # a core each: 0.5 each
    0.5
    >>> float(sender_busy(13.0, 20, 10, 2, 0.3))          # the saturated pool
    1.0
    >>> round(float(sender_busy(2.0, 20, 10, 2, 0.3)), 4)  # light, beside siblings
    0.1038
    """
    work = np.asarray(work, dtype=float)
    n = np.minimum(n_flows, np.multiply(physical_cores, threads_per_core))
    u = np.divide(work, n, out=np.zeros(np.broadcast(work, n).shape), where=n > 0)
    shared = np.greater(n, physical_cores)          # else a core each: busy its work
    if shared.any():
        shared = np.broadcast_to(shared, u.shape)
        work, n, cores, g = (np.broadcast_to(np.asarray(a, dtype=float), u.shape)[shared]
                             for a in (work, n, physical_cores, smt_gain))
        low = np.floor(n / cores)                    # busy threads on most cores (>= 1)
        rich = n - low * cores                       # cores with one more

        def done(x):               # the cores' work at busy share x, and its slope
            total = slope = 0.0
            for count, threads in ((cores - rich, low), (rich, low + 1.0)):
                idle = np.power(1.0 - x, threads - 1.0)
                total = total + count * (g * threads * x
                                         + (1.0 - g) * (1.0 - idle * (1.0 - x)))
                slope = slope + count * threads * (g + (1.0 - g) * idle)
            return total, slope

        x = np.zeros(n.shape)
        for _ in range(60):
            total, slope = done(x)
            # (No slope only at x = 1 with no SMT gain: every thread of the pool busy, all
            # of the time, which is where too much work leaves it.)
            step = np.divide(work - total, slope, out=np.zeros(x.shape), where=slope > 0)
            x = np.clip(x + step, 0.0, 1.0)
            if np.all(np.abs(step) <= 1e-15 * np.maximum(x, 1e-300)):
                break
        u[shared] = x
    return u if u.ndim else float(u)


#: Flows drawn at a time; draws are nested, so a larger draw serves every smaller count.
_DRAW_BLOCK = 128


def _hashes(rows: int, samples: int) -> np.ndarray:
    """``(rows, samples)`` uniform hash values in [0, 1): one flow's a row, seeded by
    :data:`SEED` alone, so every host draws the same ones (common random numbers: what
    differs between two hosts' answers is theirs, not the draws').  A first row is the
    same whatever the rows."""
    return np.random.default_rng(SEED).random((rows, samples))


@functools.lru_cache(maxsize=64)
def _draws(n_flows, physical_cores, threads_per_core, nic_queues, spreads, rps, queue_cpus,
           samples, steered=False) -> np.ndarray:
    """``(n_flows, samples)`` logical CPU of each flow in each draw (see :func:`place`)."""
    logical = physical_cores * threads_per_core
    cpu_of_queue = (np.asarray(queue_cpus, dtype=int) if queue_cpus
                    else np.arange(nic_queues) % logical)
    if steered:                       # a rule per flow: no hash, every draw the same
        queues = np.repeat((np.arange(n_flows) % nic_queues)[:, None], samples, axis=1)
        return cpu_of_queue[queues]
    bins = logical if rps else nic_queues
    # A flow's bin is where its hash value (:func:`_hashes`) falls among the bins: a map
    # that relabels the default's CPUs (sibling pairs to sibling pairs) gives the
    # default's answer exactly.
    hashes = _hashes(n_flows if spreads else 1, samples)
    drawn = np.minimum((hashes * bins).astype(np.int64), bins - 1)
    if not spreads:                   # one hash value for all: one bin for all
        drawn = np.repeat(drawn, n_flows, axis=0)
    return drawn if rps else cpu_of_queue[drawn]


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

    @functools.cached_property
    def busy(self) -> np.ndarray:
        """Busy CPUs in each pattern (int64; shared, so not to be written)."""
        return (self.flows > 0).sum(axis=1).astype(np.int64)

    @functools.cached_property
    def busy_counts(self) -> tuple:
        """The busy-CPU counts that occur and the expected busy CPUs at each:
        ``(counts, cpus)``, with ``cpus[i]`` = chance of ``counts[i]`` busy x ``counts[i]``."""
        counts, inverse = np.unique(self.busy, return_inverse=True)
        cpus = np.bincount(inverse.reshape(-1), weights=self.weight * self.busy)
        return counts.astype(float), cpus

    @functools.cached_property
    def means(self) -> tuple:
        """Expected busy CPUs, flows per busy CPU, and busy CPUs at each thread level.

        Over the patterns (weighted); the last is ``(T,)``, ``T`` the most busy
        threads any core has.
        """
        w = self.weight
        at_level = np.array([(self.level == t).sum(axis=1) @ w
                             for t in range(1, int(self.level.max()) + 1)])
        return float(self.busy @ w), float((self.flows.sum(axis=1) / self.busy) @ w), at_level

    @functools.cached_property
    def runs(self) -> tuple:
        """Each pattern as runs of equal busy CPUs: ``(flows, level, count)``.

        Three ``(P, J)`` int64 arrays: ``count`` neighbouring CPUs with
        ``flows`` flows each and ``level`` busy threads on their cores
        (count 0 pads).  Equal CPUs do equal work, so the compiled loops
        (:mod:`queuemodel.kernels`) visit each run once.
        """
        flows, level = self.flows, self.level
        busy = flows > 0
        starts = busy.copy()
        starts[:, 1:] &= (flows[:, 1:] != flows[:, :-1]) | (level[:, 1:] != level[:, :-1])
        run = np.cumsum(starts, axis=1) - 1
        shape = (flows.shape[0], max(1, int(starts.sum(axis=1).max())))
        out = [np.zeros(shape, np.int64) for _ in range(3)]
        rows, cols = np.nonzero(busy)
        out[0][rows, run[rows, cols]] = flows[rows, cols]
        out[1][rows, run[rows, cols]] = level[rows, cols]
        np.add.at(out[2], (rows, run[rows, cols]), 1)
        return tuple(out)

    @functools.cached_property
    def core_sharing(self) -> tuple:
        """How many flows share a flow's physical core: ``(K, q)``, the values and chances.

        A CPU's flows times its core's busy threads, the siblings taken as
        loaded as the CPU (the patterns keep no more of them); ``q[j]`` is
        the chance that a flow picked at random sits on a core with ``K[j]``
        (:func:`queuemodel.memory.flow_state_miss`: the core's L2 holds
        their state).
        """
        on_core = self.flows * self.level
        chance = np.bincount(on_core.ravel(),
                             weights=np.repeat(self.weight, on_core.shape[1])
                             * self.flows.ravel() / self.flows[0].sum())
        k = np.flatnonzero(chance[1:]) + 1
        return k.astype(float), chance[k]

    @functools.cached_property
    def sharing(self) -> tuple:
        """How many flows share a flow's CPU: ``(k, q)``, the values and their chances.

        ``q[j]`` is the chance that a flow picked at random (all draws,
        every flow equally) sits on a CPU with ``k[j]`` flows.
        """
        flows = self.flows
        # Every draw places all N flows: a CPU with k of them holds k / N of a draw's flows.
        chance = np.bincount(flows.ravel(), weights=np.repeat(self.weight, flows.shape[1])
                             * flows.ravel() / flows[0].sum())
        k = np.flatnonzero(chance[1:]) + 1
        return k.astype(float), chance[k]


def gro_segments_per_packet(groups: list, alone, napi_weight, run_packets, held=np.inf):
    """GRO segments per wire packet when flows share a receive queue.

    Linux 4.4's GRO holds one segment per flow while a NAPI poll lasts and,
    with HZ below 1000, flushes them all after every full poll of
    ``napi_weight`` packets (``napi_poll`` in net/core/dev.c).  A poll of a
    queue that ``k`` flows share carries runs of ``run_packets`` packets of
    one flow after another (how finely the sending NIC's queues, and any
    switch on the way, interleave the flows), each from a flow drawn at
    random, so it
    carries ``m = napi_weight / run_packets`` runs from
    ``d(k) = k (1 - (1 - 1/k) ** m)`` distinct flows (``d(1) = 1``) and
    starts ``d(k)`` segments.  GRO holds at most ``held`` segments
    (``MAX_GRO_SKBS``, 8 in 4.4) and flushes the oldest to start another:
    once a poll has met ``held`` flows, after ``j* = log(1 - held/k) /
    log(1 - 1/k)`` runs, a run starts a segment with chance ``1 - held/k``,
    so ``d(k) = held + (m - j*) (1 - held/k)`` when ``m > j*`` (and never
    less than without the limit: evictions only add segments).  A flow's
    packets then form at least ``d(k) / napi_weight`` segments per packet,
    and never fewer than when it is alone.

    Parameters
    ----------
    groups : list
        From :func:`placement_groups`.
    alone : numpy.ndarray
        ``(S,)`` segments per wire packet of a flow alone on its CPU
        (``1 / 45`` for full 64 KB segments of 1448-byte packets).
    napi_weight, run_packets : float or numpy.ndarray
        Packets per full poll, and per run of one flow (scalars or ``(S,)``).
    held : float or numpy.ndarray
        Segments GRO holds at once (``host.gro_max_flows``); default no limit.

    Returns
    -------
    numpy.ndarray
        ``(S,)``: ``sum_k q(k) max(alone, d(k) / napi_weight)``, with
        ``q(k)`` the chance a flow shares its CPU with ``k - 1`` others
        (:attr:`Patterns.sharing`).  The mean is over packets, so the
        segments all CPUs form add up when the flows carry equal rates.

    Notes
    -----
    Every poll is taken as full (what a CPU near its capacity sees); a CPU
    far from it polls fewer packets per flow, so its segments are shorter
    still.  The limit on held segments uses the mean number of flows met
    so far in place of its distribution (exact while ``k <= held``;
    ``derivations/coalescing.py``).

    Examples
    --------
    >>> groups = [(np.arange(1), _patterns(1, 10, 2, 16, True, False, (), False))]
    >>> float(gro_segments_per_packet(groups, np.array([1 / 45]), 64, 1.0)[0]) == 1 / 45
    True
    >>> pats = Patterns(flows=np.array([[4]]), level=np.array([[1]]), weight=np.array([1.0]),
    ...                 draws=1, cpu_level=np.zeros((20, 1)))
    >>> round(float(gro_segments_per_packet([(np.arange(1), pats)], np.array([1 / 45]),
    ...                                     64, 1.0)[0]) * 64, 3)    # 4 flows in every poll
    4.0
    """
    alone = np.asarray(alone, dtype=float)
    # One entry per (scenario, flows on a CPU) pair of every group with a shared CPU.
    rows, ks, qs = [], [], []
    for idx, patterns in groups:
        if patterns.flows.max() == 1:      # no CPU shared: every flow is alone
            continue
        k, q = patterns.sharing
        idx = np.arange(alone.size)[idx]
        rows.append(np.repeat(idx, k.size))
        ks.append(np.tile(k, idx.size))
        qs.append(np.tile(q, idx.size))
    if not rows:
        return alone.copy()
    row, k, q = (np.concatenate(parts) for parts in (rows, ks, qs))

    def at(value):
        value = np.asarray(value, dtype=float)
        return value[row] if value.ndim else value

    weight = at(napi_weight)
    runs = weight / at(run_packets)
    # k (1 - (1 - 1/k) ** m); a flow alone (k = 1) starts one segment per poll
    per_run = np.log1p(-1.0 / np.maximum(k, 2.0))
    distinct = np.where(k == 1.0, 1.0, k * -np.expm1(runs * per_run))
    # Past `held` flows met, a run of a flow not held evicts one and starts anew.
    full = np.minimum(at(held) / k, 1.0)
    crowded = full < 1.0
    if crowded.any():
        first = np.log1p(-np.where(crowded, full, 0.0)) / per_run          # j*
        evicting = np.maximum(0.0, runs - first) * (1.0 - full)
        # Evictions only add segments: never fewer than without the limit (the mean-count
        # approximation can dip a hair below it just past j*).
        distinct = np.where(crowded, np.maximum(distinct, np.minimum(distinct, full * k)
                                                + evicting), distinct)
    mean = np.bincount(row, weights=q * np.maximum(alone[row], distinct / weight),
                       minlength=alone.size)
    shared = np.zeros(alone.size, dtype=bool)
    shared[row] = True
    # at most one segment per packet (the chances sum to 1 only to rounding)
    return np.where(shared, np.minimum(mean, np.maximum(alone, 1.0)), alone)


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
    ``sum min(R, k * x) = link``: ``f(x) = sum min(R, k x)`` is increasing,
    concave and piecewise linear, bending where a CPU fills (``x = R / k``),
    and Newton's method from below lands on its root exactly.  The rate per
    flow of each pattern comes from :func:`queuemodel.kernels.flow_rates`,
    which :func:`expected_spread` uses without building this array.

    Examples
    --------
    >>> pats = Patterns(flows=np.array([[3, 1]]), level=np.array([[1, 1]]),
    ...                 weight=np.array([1.0]), draws=1, cpu_level=np.zeros((2, 1)))
    >>> aggregate(pats, np.array([[90.0]]), np.array([1e9]), np.array([100.0]),
    ...           elastic=True).tolist()             # four flows share 100: 75 and 25
    [[[75.0, 25.0]]]
    """
    from .kernels import flow_rates

    capacity = np.ascontiguousarray(capacity, dtype=float)
    size = capacity.shape[0]
    rate = np.empty((size, patterns.weight.size))
    busy = np.asarray(patterns.busy, dtype=np.int64)
    flow_rates(*patterns.runs, busy, capacity, as_row(per_flow, size), as_row(link, size),
               np.full((size, int(busy.max()) + 1), np.inf), bool(elastic), rate,
               np.full(capacity.shape, np.inf))
    k, level = patterns.flows[None], patterns.level[None]
    cap = np.take_along_axis(capacity[:, None, :], np.maximum(level - 1, 0), axis=2)
    with np.errstate(invalid="ignore"):         # an idle pad times an unlimited rate
        return np.where(k > 0, np.minimum(cap, k * rate[..., None]), 0.0)


#: Threads the compiled loops may use (they release the GIL), and the (scenario,
#: pattern) pairs that make a second thread worth starting (about 20 ms of work).
THREADS = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
              else os.cpu_count() or 1)
_PAIRS_PER_THREAD = 100_000


def _in_threads(tasks: list) -> None:
    """Run ``(run, rows, pairs)`` tasks: ``run(part)`` over slices covering ``rows`` scenarios.

    ``pairs`` is a task's (scenario, pattern) pairs of work.  With enough
    work in all, the tasks are cut into about equal parts and run in threads
    (the compiled loops release the GIL).  The pool lives for one call only,
    so a forked process never inherits a pool whose threads it lacks, and
    calls from several threads at once stay independent.
    """
    total = sum(pairs for _, _, pairs in tasks)
    workers = int(min(THREADS, max(1, total // _PAIRS_PER_THREAD)))
    if workers == 1:
        for run, _, _ in tasks:
            run(slice(None))
        return
    parts = []
    for run, rows, pairs in tasks:
        cuts = int(min(rows, max(1, round(workers * pairs / total))))
        bounds = np.linspace(0, rows, cuts + 1).astype(int)
        parts += [(run, slice(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda part: part[0](part[1]), parts))


def as_row(value, size):
    """``value`` as a contiguous float ``(size,)`` array (what the compiled loops take).

    A scalar is filled in, in a third of the time of broadcasting and
    copying (a scalar query makes dozens), and always writable: a broadcast
    of one element is already contiguous, so it used to stay a read-only
    view and gave the compiled loops a second set of argument types.
    """
    if isinstance(value, (float, int)):
        out = np.empty(size)            # a third of the time np.full takes
        out.fill(value)
        return out
    if (type(value) is np.ndarray and value.shape == (size,) and value.dtype == np.float64
            and value.flags.c_contiguous):
        return value                    # already one: skip numpy's general path (~5 us)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=float), (size,)))


def hash_tells_apart(proto: str, tunnel: str, fragmented, rss_udp_ports: bool,
                     inner_rss: bool = False, own_addresses: bool = False) -> np.ndarray:
    """Whether the NIC's receive hash tells the flows apart.

    Unless each flow pair has addresses of its own (``own_addresses``:
    containers with private IPs), the flows run between one pair of
    addresses (the paper's native and Linux overlay set-ups, sections 3.1-3.2),
    so only ports can tell them apart:

    * TCP: the NIC hashes its 4-tuple (mlx4_en's RSS mask always has
      ``MLX4_RSS_TCP_IPV4``).
    * UDP: the NIC hashes the ports only if ``rss_udp_ports`` (mlx4_en's
      ``udp_rss``).  A datagram above the MTU leaves as IP fragments,
      which carry no ports: the NIC hashes them as plain IP.
    * A UDP tunnel (``tunnel="udp"``, VXLAN): the NIC sees whole outer UDP
      datagrams between the two hosts whose source port the sender derived
      from the inner flow, so the flows differ in that port alone --
      unless the NIC hashes the inner headers (``inner_rss``; mlx4_en does
      in its VXLAN offload mode, ``MLX4_RSS_BY_INNER_HEADERS``), when the
      rules above apply to the inner packet.

    RPS adds no distinction of its own: it reuses the NIC's hash of any
    TCP or UDP packet whose checksum the NIC checked (mlx4_en marks it
    ``PKT_HASH_TYPE_L4`` whatever fields it covered, and ``skb_get_hash``
    recomputes only other hashes), and a fragment's recomputed hash
    covers the addresses alone (``__skb_flow_dissect`` stops at a
    fragment's IP header).  A NIC that checks no checksums (the host's
    ``rx_csum`` off) marks no hash as a 4-tuple one, so RPS hashes every
    packet's own headers again, ports included where it has them
    (:func:`placement_groups` asks with ``rss_udp_ports`` on and the
    outer headers).

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        The flows' protocol.
    tunnel : {'none', 'udp'}
        :attr:`queuemodel.stage.Path.tunnel`.
    fragmented : bool or array_like
        Whether a datagram leaves as IP fragments (UDP above the MTU).
    rss_udp_ports : bool
        Whether the NIC hashes UDP ports.
    inner_rss : bool
        Whether the NIC hashes a tunnel's inner headers.
    own_addresses : bool
        Whether each flow pair has IP addresses of its own
        (:attr:`queuemodel.stage.Path.flow_addresses`).

    Returns
    -------
    numpy.ndarray
        Booleans, the shape of ``fragmented``.

    Examples
    --------
    >>> bool(hash_tells_apart("udp", "none", True, True))            # 8 KB native
    False
    >>> bool(hash_tells_apart("udp", "none", False, True))           # 1 KB native
    True
    >>> bool(hash_tells_apart("tcp", "udp", False, False))           # VXLAN, no UDP RSS
    False
    >>> bool(hash_tells_apart("udp", "udp", True, False, inner_rss=True, own_addresses=True))
    True
    """
    fragmented = np.asarray(fragmented, dtype=bool)
    if tunnel == "udp" and not inner_rss:          # the outer headers
        return np.full(fragmented.shape, bool(rss_udp_ports))
    if own_addresses or proto == "tcp":            # the flow's own headers
        return np.ones(fragmented.shape, dtype=bool)
    return ~fragmented & bool(rss_udp_ports)


def placement_groups(proto: str, path, host, h, flows, fragmented) -> list:
    """Group scenarios by what decides their placement, and draw each group's patterns.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        With the path, decides whether the hash tells flows apart.
    path : Path
        Supplies :attr:`~queuemodel.stage.Path.tunnel` and
        :attr:`~queuemodel.stage.Path.flow_addresses`.
    host : Host
        Supplies ``rps``, ``queue_cpus``, ``flow_steering``, ``rss_udp_ports`` and
        ``tunnel_offload``.
    h : object
        The host's numeric fields, scalars or ``(S,)`` arrays.
    flows : numpy.ndarray
        ``(S,)`` flow pairs per scenario.
    fragmented : bool or numpy.ndarray
        Whether each scenario's datagrams leave as IP fragments.

    Returns
    -------
    list of (numpy.ndarray, Patterns)
        Scenario indices and their patterns.
    """
    size = flows.size
    own = path.flow_addresses == "per-flow"
    if host.rps and not host.rx_csum:
        # RPS rehashes what the NIC did not mark as a 4-tuple hash: the flow dissector
        # sees every packet's ports, a tunnel's outer ones (mlx4_en sets the L4 hash
        # type only with its checksum checked: en_rx.c, read in Linux 6.1).
        spreads = hash_tells_apart(proto, path.tunnel, fragmented, True, own_addresses=own)
    else:
        spreads = hash_tells_apart(proto, path.tunnel, fragmented, host.rss_udp_ports,
                                   inner_rss=host.tunnel_offload, own_addresses=own)
    # A steering rule matches fields every packet of the flow carries: its ports where
    # there are any (a tunnel's outer ones included), its addresses where they are its
    # own.  The fragments of datagrams between one address pair carry neither, so they
    # go where RSS puts them, as if there were no rules (the first fragments, which have
    # the ports, would follow the rules: left out).
    steered = host.flow_steering & hash_tells_apart(
        proto, path.tunnel, fragmented, True, inner_rss=host.tunnel_offload,
        own_addresses=own)
    inputs = (flows, h.physical_cores, h.threads_per_core, h.nic_queues, spreads, steered)
    key = tuple(_the_one_value(v) for v in inputs)
    if None not in key:
        return [(np.arange(size), _patterns(*map(int, key[:4]), bool(key[4]), host.rps,
                                            host.queue_cpus, bool(key[5])))]
    keys = np.column_stack([np.broadcast_to(np.asarray(v, dtype=float), (size,))
                            for v in inputs]).astype(np.int64)
    unique, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    return [(np.flatnonzero(group == g), _patterns(*map(int, key[:4]), bool(key[4]),
                                                   host.rps, host.queue_cpus, bool(key[5])))
            for g, key in enumerate(unique)]


def _the_one_value(value):
    """The value every scenario has (a Python number), or None where they differ."""
    if not isinstance(value, np.ndarray):
        return value
    first = value.flat[0].item()
    if value.size == 1 or bool((value == first).all()):
        return first
    return None


def _one_per_key(maxsize):
    """``functools.lru_cache`` that computes a missing entry under a lock.

    Blocks of a large grid solved in threads at once then get one object
    per key, never two equal ones: a result numbers its topologies by the
    identity of their tables (``model.evaluate``), so the same inputs give
    the same numbering.
    """
    def wrap(func):
        cached = functools.lru_cache(maxsize=maxsize)(func)
        lock = threading.Lock()

        @functools.wraps(func)
        def once(*args):
            with lock:
                return cached(*args)

        once.cache_clear, once.cache_info = cached.cache_clear, cached.cache_info
        return once

    return wrap


@_one_per_key(maxsize=4096)
def _patterns(n, cores, threads, queues, spreads, rps, queue_cpus, steered) -> Patterns:
    """Patterns of one topology (cached: the draws are seeded, so they never change)."""
    return Patterns.of(place(n, cores, threads, queues, spreads, rps, queue_cpus,
                             steered=steered))


def expected_spread(proto: str, groups: list, flows, capacity, per_flow, link,
                    band=None, waiting=None, convex=False, waste=None, lost=None,
                    slots=None, frag_cache=None, keep_outcomes=False) -> dict:
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
    band : callable, optional
        ``band(t, lowest)`` gives the overload band ``(low, high)``, two
        ``(S,)`` arrays, of a CPU at thread level ``t + 1``, given the
        lowest offer below capacity any such CPU gets in each scenario
        (``inf`` where none).  Below a CPU's capacity an offer is usually
        carried, but not always: where interrupt moderation switches off at
        low rates, a CPU can carry its full capacity yet not a slightly
        lower offer (the overhead per message grows).  An offer strictly
        inside the band is carried at ``low`` (the largest rate below it
        the CPU sustains; :func:`queuemodel.solver.overload_band`).  The
        water level of the flows sharing a budget (an elastic flow's link
        and DRAM, UDP's DRAM) is then found again with the bands in it
        (:func:`queuemodel.kernels.banded_flow_rates`), so what a banded CPU
        gives up goes to the other flows.  Default: every offer is carried.
        With ``convex``, offers inside a band are carried too (see there):
        the bands then change only what a CPU's work per message is.
    waiting : dict, optional
        For the memory traffic (:mod:`queuemodel.memory`), ``(S,)`` arrays in
        messages: ``per_flow`` and ``per_cpu``, the most data a flow and a
        CPU keep queued at the receiver (a TCP window; a socket buffer and a
        ring), ``ring``, the receive buffers one busy CPU's ring cycles
        through, ``cache``, the cache share the NIC writes into,
        ``memory``, the receiver's DRAM bandwidth in messages per second,
        and optionally ``variability``, ``(ca2 + cs2) / 2`` of the messages'
        arrivals and service at a receive CPU (default 1: Poisson arrivals,
        exponential service).
    convex : bool, optional
        A CPU offered a rate inside its band carries it by turns at the
        band's two edges, where it sustains its load (what the model does:
        a TCP flow's window swings across the band, and a CPU that falls
        behind a UDP offer polls its backlog with interrupts off until it
        has caught up).  Both edges keep the CPU fully busy, so it never
        works beyond its capacity, and no offer up to capacity is held back:
        a band moves no rate.  (Held at the lower edge, one TCP flow more
        could lose a quarter of the throughput on a host whose band opened.)
    waste : numpy.ndarray, optional
        ``(S, T)``: a CPU offered more than its capacity whose softirq keeps
        preempting its reader works on every message its softirq can take
        and delivers only what the reader's time left over lets it copy:
        ``R - waste * (offer - R)``, at least 0, with ``waste`` its softirq's
        seconds per message over its reader's (receive livelock;
        :func:`queuemodel.kernels._livelocked`).  Default 0: the excess is
        dropped before any work is spent on it, and the CPU carries ``R``.
    lost, slots : numpy.ndarray, optional
        ``(S, T)`` and ``(S,)``: where ``lost > 0`` a CPU offered more than
        its capacity has a ring that admits ``slots`` fragments at a time and
        cuts datagrams of ``lost + 1`` fragments, whose other fragments its
        softirq works on in vain (:func:`queuemodel.kernels._cut_fragments`);
        ``waste`` then holds its softirq's seconds per message over its
        reader's.  Default 0: no datagram is cut.
    frag_cache : numpy.ndarray, optional
        ``(S, 3)``: where a ring cuts datagrams, the fragments the fragment
        cache holds before it refuses more, the seconds an incomplete
        datagram waits there, and 1 where each flow has a cache of its own
        (a network namespace per flow), else 0
        (:func:`queuemodel.kernels._frag_cache_share`).  Default: a cache
        that evicts rather than refuses (``inf`` fragments).
    keep_outcomes : bool, optional
        Also return, per group, every pattern's delivery (``outcomes_delivered``).

    Returns
    -------
    dict
        ``delivered`` and its Monte Carlo ``delivered_stderr``; how it
        spreads over the hash outcomes: ``delivered_sd`` (their standard
        deviation) and ``delivered_at`` (``(Q, S)``, at each of
        :data:`OUTCOME_QUANTILES`); ``slowest``, the expected delivery of
        the slowest flow (a CPU's flows share what it carries evenly); ``busy``
        (expected busy receive CPUs) and ``flows_per_busy``; per thread level
        ``cpus_at_level``, ``rate_at_level`` and ``handled_at_level``
        (expected CPUs, their summed delivery and the messages their softirq
        handles, which is more where they are livelocked or cut datagrams),
        ``waste``, ``lost`` and ``cuts`` (``(S, 4)``: ``slots`` and
        ``frag_cache`` side by side, as the kernels take them);
        ``receiver_bound`` (whether the receive CPUs, not
        the link or the senders, set the rate); with ``waiting``,
        ``dram_per_byte``: DRAM bytes per delivered byte
        (:func:`queuemodel.memory.dram_bytes_per_byte` on each CPU, weighted
        by what it delivers) and ``read_miss``, the chance a delivered byte
        left the cache before its copy (0 without ``waiting``);
        ``cache_bound_share``, the chance a full fragment cache holds a
        CPU back (with ``frag_cache``), ``cache_bound``, whether that is
        at least a half, and ``cache_fill_s``, the seconds until the first
        cache fills in the median pattern (``inf``: in fewer than half);
        ``memory_bound_share``, the chance the DRAM holds the flows back
        (0 without ``waiting``), ``memory_bound``, whether that is at
        least a half, ``bound_per_byte``, the DRAM bytes per delivered
        byte of the outcomes it holds back (0 where none), and ``budget``,
        the DRAM budget at each outcome's busy CPUs, their mean (``inf``
        without ``waiting``);
        ``outcomes``, per group its scenarios (an index array or a slice), its
        patterns, their ``(n, P)`` rates per flow and the rates sharing first
        gave them (the same array unless bands moved them), with ``band_low``,
        ``band_high`` and ``convex``, for :func:`queuemodel.kernels.level_moments`;
        with ``keep_outcomes``, ``outcomes_delivered``: per group its scenarios,
        its patterns' probabilities, the draws behind them and their ``(n, P)``
        deliveries.

    Notes
    -----
    Each pattern's delivery is :func:`aggregate`'s.  Memory: a CPU at
    utilisation ``rho`` of its capacity holds ``rho + rho^2 v / (1 - rho)``
    messages on average (Kingman's mean queue with the variability ``v``
    and the message in service, messages as jobs, as the latency model has
    it; ``rho / (1 - rho)``, M/M/1, for ``v = 1``), at most its flows' and
    its own queue limits, which it holds when saturated.  While one of its messages
    waits, all flows together write ``delivered * queued / rate`` messages
    into the cache (Little), and the message is gone with probability
    ``exp(-cache / that)``.  A buffer comes back after every busy CPU's
    ring has gone round once.  The DRAM is one more shared server: each
    hash outcome carries at most its budget
    (:func:`queuemodel.kernels.dram_budget`), shared max-min like the link.
    The loops over patterns run compiled (:mod:`queuemodel.kernels`);
    nothing of size (scenarios x patterns) is stored.

    Examples
    --------
    >>> groups = [(np.arange(1), _patterns(4, 10, 2, 16, True, False, (), False))]
    >>> out = expected_spread("udp", groups, np.array([4]), np.array([[100.0, 65.0]]),
    ...                       np.array([50.0]), np.array([1e9]))
    >>> 150.0 < float(out["delivered"][0]) <= 200.0    # a collision caps a CPU at 100
    True
    """
    from .kernels import banded_flow_rates, dram_budget, flow_rates, spread_moments

    size = flows.size
    capacity = np.ascontiguousarray(capacity, dtype=float)
    levels = capacity.shape[1]
    waste = np.zeros(capacity.shape) if waste is None else np.ascontiguousarray(
        np.broadcast_to(waste, capacity.shape), dtype=float)
    lost = np.zeros(capacity.shape) if lost is None else np.ascontiguousarray(
        np.broadcast_to(lost, capacity.shape), dtype=float)
    slots = np.ones(size) if slots is None else as_row(slots, size)
    if frag_cache is None:
        frag_cache = np.tile([np.inf, 1.0, 0.0], (size, 1))
    cuts = np.ascontiguousarray(np.column_stack((slots, np.broadcast_to(frag_cache, (size, 3)))),
                                dtype=float)
    elastic = proto == "tcp"
    per_flow, link = as_row(per_flow, size), as_row(link, size)
    tables = [patterns.runs for _, patterns in groups]
    # A group of every scenario (one topology) is read through views, not copies.
    where = [slice(None) if idx.size == size else idx for idx, _ in groups]
    with_memory = waiting is not None
    if waiting is None:
        zero = np.zeros(size)
        waiting = {"per_flow": zero, "per_cpu": zero, "cache": zero, "ring": zero,
                   "memory": np.full(size, np.inf)}
    waiting = {"variability": 1.0, **waiting}
    waiting = {k: as_row(v, size) for k, v in waiting.items()}
    memory_keys = ("per_flow", "per_cpu", "cache", "ring", "memory")
    rates, drams, lowest = [], [], np.full((size, levels), np.inf)
    subs, tasks = [], []
    for (idx, patterns), at, table in zip(groups, where, tables):
        rate = np.empty((idx.size, patterns.weight.size))
        busy = np.asarray(patterns.busy, dtype=np.int64)
        dram = np.full((idx.size, int(busy.max()) + 1), np.inf)
        sub = np.full((idx.size, levels), np.inf)
        rows = (capacity[at], per_flow[at], link[at])
        limits = tuple(waiting[k][at] for k in memory_keys)

        def run(s, table=table, patterns=patterns, busy=busy, rows=rows, limits=limits,
                rate=rate, dram=dram, sub=sub):
            if with_memory:
                dram_budget(int(patterns.flows[0].sum()), *(a[s] for a in limits), dram[s])
            flow_rates(*table, busy, *(a[s] for a in rows), dram[s], elastic, rate[s],
                       sub[s])

        tasks.append((run, idx.size, rate.size))
        rates.append(rate)
        drams.append(dram)
        subs.append(sub)
    _in_threads(tasks)
    for at, sub in zip(where, subs):
        lowest[at] = sub
    band_low = np.full((size, levels), np.inf)
    band_high = np.full((size, levels), np.inf)
    if band is not None:
        for t in range(levels):
            if np.isfinite(lowest[:, t]).any():
                band_low[:, t], band_high[:, t] = band(t, lowest[:, t])
    # The rates sharing first gave; a CPU's band is judged from where its offer started.
    starts = rates
    if band is not None and not convex and np.isfinite(band_low).any():
        # A CPU held at its band's lower edge leaves its share of what the flows share to
        # the flows elsewhere: an elastic flow's link and DRAM, UDP's DRAM (rare: a few
        # scenarios in a million).  UDP's senders ignore the link: only scenarios whose
        # DRAM budget held a sender below its rate need the pass.
        held = [slice(None) if elastic else
                np.flatnonzero((rate < per_flow[at][:, None]).any(axis=1))
                for at, rate in zip(where, rates)]
        if elastic or any(rows.size for rows in held):
            starts = [rate.copy() for rate in rates]
            shared = link if elastic else np.full(size, np.inf)
            for (_, patterns), at, table, rate, dram, rows in zip(groups, where, tables,
                                                                  rates, drams, held):
                part = rate[rows]
                banded_flow_rates(*table, np.asarray(patterns.busy, dtype=np.int64),
                                  capacity[at][rows], per_flow[at][rows], shared[at][rows],
                                  dram[rows], band_low[at][rows], band_high[at][rows], part)
                rate[rows] = part
    quantiles = np.asarray(OUTCOME_QUANTILES, dtype=float)
    out = {name: np.zeros(size) for name in ("delivered", "delivered_stderr", "delivered_sd",
                                             "slowest", "busy",
                                             "flows_per_busy", "dram_per_byte", "dram_bound",
                                             "read_miss", "bound_per_byte", "budget",
                                             "cache_bound_share", "cache_fill_s")}
    out["cpus_at_level"] = np.zeros((size, levels))
    out["rate_at_level"] = np.zeros((size, levels))
    out["handled_at_level"] = np.zeros((size, levels))
    out["delivered_at"] = np.zeros((quantiles.size, size))
    out["waste"], out["lost"], out["cuts"] = waste, lost, cuts
    results, tasks = [], []
    for (idx, patterns), at, table, rate, start, dram in zip(groups, where, tables, rates,
                                                            starts, drams):
        n = idx.size
        moments = (np.empty(n), np.empty(n), np.empty((quantiles.size, n)), np.empty(n),
                   np.empty((n if keep_outcomes else 0, patterns.weight.size)),
                   np.empty((n, levels)), np.empty((n, levels)),
                   np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n),
                   np.empty(n), np.empty((1, n)))
        rows = (capacity[at], rate, start, band_low[at], band_high[at], waste[at], lost[at],
                cuts[at],
                *(waiting[k][at] for k in memory_keys), dram, waiting["variability"][at])

        def run(s, table=table, patterns=patterns, rows=rows, moments=moments):
            # (The (Q, n) and (1, n) outputs are cut along their second axis: cut along
            # the first, a part after the first got an empty array, its scenarios' fill
            # times were never written and its writes went past the array's end.)
            mean, variance, spread_at, slowest, totals, *rest, fill = moments
            spread_moments(*table, patterns.weight, np.asarray(patterns.busy, dtype=np.int64),
                           *(a[s] for a in rows), with_memory, convex, quantiles,
                           mean[s], variance[s], spread_at[:, s], slowest[s],
                           totals[s] if keep_outcomes else totals, *(m[s] for m in rest),
                           fill[:, s])

        tasks.append((run, n, rate.size))
        results.append(moments)
    _in_threads(tasks)
    kept = []
    for (_, patterns), at, (mean, variance, spread_at, slowest, totals, at_level, handled, dram,
                            bound, miss, bound_dram, budget, refused, fill) in zip(
                                groups, where, results):
        kept.append((at, patterns.weight, patterns.draws, totals))
        out["slowest"][at] = slowest
        out["bound_per_byte"][at] = bound_dram
        out["budget"][at] = budget
        out["delivered"][at] = mean
        out["delivered_sd"][at] = np.sqrt(np.maximum(0.0, variance))
        out["delivered_stderr"][at] = np.sqrt(np.maximum(0.0, variance) / patterns.draws)
        out["delivered_at"][:, at] = spread_at
        out["dram_per_byte"][at] = dram
        out["dram_bound"][at] = bound
        out["cache_bound_share"][at] = refused
        out["cache_fill_s"][at] = fill[0]
        out["read_miss"][at] = miss
        out["rate_at_level"][at] = at_level
        out["handled_at_level"][at] = handled
        mean_busy, flows_per_busy, cpus_at = patterns.means
        out["busy"][at] = mean_busy
        out["flows_per_busy"][at] = flows_per_busy
        top = min(levels, cpus_at.size)
        out["cpus_at_level"][at, :top] = cpus_at[:top]
    # What the accounting needs to weigh each CPU at its own rate.
    out["outcomes"] = [(at, patterns, rate, start) for (_, patterns), at, rate, start
                       in zip(groups, where, rates, starts)]
    out["band_low"], out["band_high"] = band_low, band_high
    if keep_outcomes:
        out["outcomes_delivered"] = kept
    out["convex"] = bool(convex)
    sent = out["delivered"] if proto == "tcp" else flows * per_flow
    ceiling = np.minimum(link, flows * per_flow) if proto == "tcp" else sent
    out["receiver_bound"] = out["delivered"] < (1.0 - 1e-7) * ceiling
    # Named when the DRAM holds back at least half the hash outcomes.
    out["memory_bound_share"] = out.pop("dram_bound")
    out["memory_bound"] = out["memory_bound_share"] >= 0.5
    # Likewise a full fragment cache (kernels._frag_cache_share).
    out["cache_bound"] = out["cache_bound_share"] >= 0.5
    return out
