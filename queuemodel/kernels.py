"""Compiled inner loops (numba) for the parts of the model that loop over hash outcomes.

A multi-flow scenario is averaged over hundreds of hash patterns of up to
``L`` busy CPUs each (:mod:`queuemodel.flows`).  Written with numpy, every
step of that average (each CPU's delivery, the max-min water level, the
memory-traffic terms) made a full ``(scenarios, patterns, CPUs)`` temporary;
here each pattern is worked out in registers and only per-scenario sums are
stored, so memory stays ``O(scenarios)`` and a 10,000-point multi-flow grid
takes a fraction of a second instead of seconds.

This module imports numba, which takes about 0.3 s, so the rest of the
package imports it only when a solver first needs it (``import queuemodel``
stays fast).  The compiled code is cached on disk (numba ``cache=True``): a
fresh install compiles once, later processes load it.

The formulas are those documented on :func:`queuemodel.flows.aggregate` and
:func:`queuemodel.flows.expected_spread`; ``tests/test_flows.py`` holds the
laws they obey.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["flow_rates", "spread_moments"]

_JIT = dict(cache=True, nogil=True, fastmath=False)

#: An offer this close below a CPU's capacity counts as the capacity itself.
_AT_CAPACITY = 1.0 - 1e-12
#: A CPU this close to fully busy holds its queues full.
_SATURATED = 1.0 - 1e-9


@numba.njit(**_JIT)
def flow_rates(flows, level, count, capacity, per_flow, link, elastic, rate, lowest):
    """Every pattern's rate per flow, and each level's lowest offer below capacity.

    Parameters
    ----------
    flows, level, count : numpy.ndarray
        ``(P, J)`` int64: each pattern as runs of ``count`` busy CPUs with
        ``flows`` flows each and ``level`` busy threads on their cores
        (count 0 pads).
    capacity : numpy.ndarray
        ``(S, T)`` messages/s of a CPU with ``t + 1`` busy threads.
    per_flow, link : numpy.ndarray
        ``(S,)`` the most one flow's sender sends, and the link's total.
    elastic : bool
        TCP (max-min fair, link shared) or UDP.
    rate : numpy.ndarray
        ``(S, P)`` written: each pattern's rate per flow ``x``; a CPU with
        ``k`` flows carries ``min(R, k x)``.
    lowest : numpy.ndarray
        ``(S, T)``, filled with ``inf`` by the caller; receives, per
        scenario and thread level, the least any CPU at that level is
        offered below its capacity (``inf`` where every one gets its
        capacity).

    Notes
    -----
    UDP, or TCP that leaves the link room: ``x = r``, what a sender sends.
    TCP that would overfill the link: ``x = min(r, w)`` with the water level
    ``w`` solving ``f(w) = sum min(R, k w) = link``.  ``f`` is increasing,
    concave and piecewise linear (it bends where a CPU fills, ``w = R /
    k``).  Newton's method from ``w = link / sum k``, below the root, stays
    below it (a concave function lies under its tangents) and climbs to it;
    on a linear piece it lands exactly, so it stops after at most one step
    per bend it passes, usually two or three.  (Written in one function:
    handing arrays to a helper per pattern cost more than the arithmetic.)
    """
    size = capacity.shape[0]
    patterns, width = flows.shape
    for s in range(size):
        r_s, link_s = per_flow[s], link[s]
        for p in range(patterns):
            total = 0.0
            growing = 0.0
            for j in range(width):
                n = count[p, j]
                if n > 0:
                    k = flows[p, j]
                    total += n * min(capacity[s, level[p, j] - 1], k * r_s)
                    growing += n * k
            x = r_s
            if elastic and total > link_s:
                w = link_s / growing
                for _ in range(width + 1):
                    f = 0.0
                    slope = 0.0
                    for j in range(width):
                        n = count[p, j]
                        if n == 0:
                            continue
                        k = flows[p, j]
                        cap = capacity[s, level[p, j] - 1]
                        if k * w >= cap:             # full (an unlimited CPU never is)
                            f += n * cap
                        else:
                            f += n * k * w
                            slope += n * k
                    if slope == 0.0 or f >= link_s:
                        break
                    step = (link_s - f) / slope
                    if not w + step > w:
                        break
                    w += step
                x = min(r_s, w)
            rate[s, p] = x
            for j in range(width):
                if count[p, j] > 0:
                    t = level[p, j] - 1
                    r = min(capacity[s, t], flows[p, j] * x)
                    if r < capacity[s, t] * _AT_CAPACITY and r < lowest[s, t]:
                        lowest[s, t] = r


@numba.njit(**_JIT)
def spread_moments(flows, level, count, weight, busy, capacity, rate, band_low, band_high,
                   queue_per_flow, queue_per_cpu, cache, ring, with_memory, delivered,
                   variance, rate_at_level, dram_per_byte):
    """Expected delivery over the patterns, with its spread and memory traffic.

    Parameters
    ----------
    flows, level, count : numpy.ndarray
        ``(P, J)`` the patterns as runs, as for :func:`flow_rates`.
    weight : numpy.ndarray
        ``(P,)`` probability of each pattern.
    busy : numpy.ndarray
        ``(P,)`` busy CPUs of each pattern.
    capacity : numpy.ndarray
        As for :func:`flow_rates`.
    rate : numpy.ndarray
        ``(S, P)`` each pattern's rate per flow (:func:`flow_rates`).
    band_low, band_high : numpy.ndarray
        ``(S, T)`` each level's overload band: an offer below capacity and
        strictly inside it is carried at ``band_low`` (``inf``: no band).
    queue_per_flow, queue_per_cpu, cache, ring : numpy.ndarray
        ``(S,)`` in messages: the most a flow and a busy CPU keep queued,
        the cache share, and one busy CPU's receive ring.
    with_memory : bool
        Whether to compute ``dram_per_byte``.
    delivered, variance, dram_per_byte : numpy.ndarray
        ``(S,)`` written: mean delivered messages/s, its variance over the
        patterns, and DRAM bytes per delivered byte.
    rate_at_level : numpy.ndarray
        ``(S, T)`` written: expected delivery of the CPUs at each level.

    Notes
    -----
    Memory (:mod:`queuemodel.memory`): a CPU at utilisation ``rho`` queues
    ``min(rho / (1 - rho), limit)`` messages (the limit when saturated);
    while one waits, all flows write ``total * queued / rate`` messages,
    and it is gone before its copy with probability ``exp(-cache / that)``.
    A buffer is written back unless reused before all busy rings go round:
    ``exp(-cache / (busy * ring))``.  DRAM bytes per byte: ``2 m + (1 - m) b``.
    """
    size, levels = capacity.shape
    patterns, width = flows.shape
    rates = np.empty(width)
    totals = np.empty(patterns)
    for s in range(size):
        mean = 0.0
        dram = 0.0
        for t in range(levels):
            rate_at_level[s, t] = 0.0
        for p in range(patterns):
            x = rate[s, p]
            total = 0.0
            for j in range(width):
                n = count[p, j]
                if n == 0:
                    rates[j] = 0.0
                    continue
                t = level[p, j] - 1
                r = min(capacity[s, t], flows[p, j] * x)
                if r < capacity[s, t] * _AT_CAPACITY and band_low[s, t] < r < band_high[s, t]:
                    r = band_low[s, t]
                rates[j] = r
                total += n * r
                rate_at_level[s, t] += weight[p] * n * r
            totals[p] = total
            mean += weight[p] * total
            if not with_memory or total <= 0.0:
                continue
            missed = 0.0
            for j in range(width):
                r = rates[j]
                if count[p, j] == 0 or r <= 0.0:
                    continue
                rho = r / capacity[s, level[p, j] - 1]
                limit = flows[p, j] * queue_per_flow[s] + queue_per_cpu[s]
                if rho >= _SATURATED:
                    queued = limit
                else:
                    queued = min(rho / max(1.0 - rho, 1e-300), limit)
                written = queued * total
                if written > 0.0:
                    exponent = r * cache[s] / written
                    if exponent < 745.0:                  # else exp underflows to 0
                        missed += count[p, j] * r * math.exp(-exponent)
            rings = busy[p] * ring[s]
            write_back = math.exp(-cache[s] / rings) if rings > 0.0 else 0.0
            read_miss = missed / total
            dram += weight[p] * (2.0 * read_miss + (1.0 - read_miss) * write_back) * total
        spread = 0.0
        for p in range(patterns):
            spread += weight[p] * (totals[p] - mean) ** 2
        delivered[s] = mean
        variance[s] = spread
        dram_per_byte[s] = dram / mean if mean > 0.0 else 0.0
