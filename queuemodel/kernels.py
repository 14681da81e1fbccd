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

The fixed point every query solves (:func:`queuemodel.solver.solve_rate`) runs
here too, one scenario at a time (:func:`core_rates`): in numpy each of its
few iterations paid numpy's per-call overhead on every term.  So do the
other per-scenario passes of a grid block, each of which made several
``(scenarios, stages)`` temporaries in numpy: the stages' cycles
(:func:`stage_cycles`), the receiver's and the sender's accounting
(:func:`account_level`, :func:`account_sender`), each receive CPU's
interrupts, polls, wake-ups and ksoftirqd hand-offs at its own rate
(:func:`level_moments`; the hand-offs' numpy reference is
:func:`queuemodel.solver.ksoftirqd_deferral`) and the
bottleneck's name (:func:`bottleneck_codes`); the DRAM's budget
(:func:`dram_budget`).  A CPU offered a rate inside its overload band
carries it by turns at the band's edges (:func:`band_turns`, the model's
way since 2026-11-28); :func:`banded_flow_rates` (the water level again
where a band holds a CPU at its lower edge) and :func:`core_rates`
``from_below`` (the band's lower edge, climbed to) serve the other ways,
which the model no longer takes.  A CPU below capacity runs faster while its
hyper-thread siblings rest (:func:`smt_speed`; its speed and its load decide
each other, a fixed point per CPU inside :func:`level_moments`).

The formulas are those documented on :func:`queuemodel.flows.aggregate`,
:func:`queuemodel.flows.expected_spread` and :mod:`queuemodel.solver`;
``tests/test_flows.py`` holds the laws they obey, and
``tests/test_properties.py`` holds :func:`core_rates` to the numpy loop.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["band_turns", "smt_speed", "smt_busy", "flow_rates", "banded_flow_rates",
           "spread_moments", "core_rates", "account_level", "level_moments", "account_sender",
           "stage_cycles", "bottleneck_codes", "dram_budget", "embedded_moments"]


def _compiled(func=None, *, inline="never"):
    """``numba.njit`` with the GIL released and the machine code cached on disk.

    Without a writable cache location (numba tries the package's
    ``__pycache__``, then the user's cache directory) numba refuses
    ``cache=True``; the loops are then compiled in memory, once per process.
    ``inline="always"`` compiles a helper into each caller (worth it for one
    called per entry of a hot loop with many arguments).
    """
    if func is None:
        return lambda f: _compiled(f, inline=inline)
    try:
        return numba.njit(cache=True, nogil=True, inline=inline)(func)
    except RuntimeError:
        return numba.njit(nogil=True, inline=inline)(func)


#: An offer this close below a CPU's capacity counts as the capacity itself.
_AT_CAPACITY = 1.0 - 1e-12
#: A CPU this close to fully busy holds its queues full.
_SATURATED = 1.0 - 1e-9
#: A pattern this close to its DRAM budget is held back by the DRAM.
_AT_BUDGET = 1.0 - 1e-9


@_compiled
def _carried(capacity, offer, start, band_low, band_high):
    """What a CPU carries of ``offer``: at most its capacity, never inside its overload band.

    ``start`` is the offer max-min sharing first gave it (:func:`flow_rates`;
    equal to ``offer`` unless :func:`banded_flow_rates` raised the water
    level).  A CPU that started inside or below its band and is now offered
    more than the band's lower edge stays there: its rate climbs from below
    and cannot take one inside the band (max-min keeps its flows there while
    the others climb on).  One that started above the band stays above.
    """
    r = min(capacity, offer)
    if band_low < r and start < band_high and min(capacity, start) < capacity * _AT_CAPACITY:
        r = band_low
    return r


@_compiled(inline="always")
def _livelocked(capacity, offer, waste):
    """What a CPU offered more than ``capacity`` delivers when its softirq keeps
    preempting the reader (``waste > 0``), and the messages its softirq handles.

    The softirq takes every message up to ``capacity * (1 + 1 / waste)``, the
    rate at which it alone fills the CPU, and the reader, which copies what
    it leaves time for, delivers ``capacity - waste * (offer - capacity)``
    (at least 0): with ``s1`` and ``s2`` the softirq's and the reader's
    seconds per message, ``capacity = 1 / (s1 + s2)`` and ``waste = s1 /
    s2``, that is ``(1 - offer * s1) / s2``.  ``waste = 0`` is the capacity
    model's CPU, which drops what it cannot carry before working on it.
    Only for ``offer > capacity``.
    """
    full = capacity * (1.0 + 1.0 / waste) if waste > 0.0 else capacity
    handled = min(offer, full)
    if handled <= capacity:         # no waste, or a reader without work (waste = inf)
        return capacity, capacity
    if handled == full:             # the softirq alone fills the CPU: nothing is read
        return 0.0, handled         # (the formula below leaves a rounding residue)
    return max(0.0, capacity - waste * (handled - capacity)), handled


@_compiled(inline="always")
def _cut_fragments(capacity, offer, ratio, lost, slots):
    """What a CPU offered more than ``capacity`` delivers when its ring cuts datagrams,
    and the messages' worth of fragments its softirq handles.

    A ring that overflows admits runs of ``slots`` fragments, and each run
    holds on average ``lost`` (fragments per datagram less one) fragments of
    datagrams cut at its ends, which the softirq works on up to reassembly
    and the reader never gets: a share ``w = lost * min(1 / slots, x / u -
    1)`` of what it handles is wasted (``x = offer / capacity``, ``u =
    handled / capacity``; a run between drops of less than one fragment
    cuts less often).  The reader's time the wasted datagrams free goes to
    handling more: with ``ratio`` the softirq's over the reader's seconds
    per message (``s1 / s2``; ``inf``: no reader on this CPU), ``u (1 +
    ratio - w) = 1 + ratio``.  Solved together: ``u = (1 + ratio + lost x)
    / (1 + ratio + lost)`` until ``w`` reaches ``lost / slots``, then ``u =
    (1 + ratio) / (1 + ratio - w)``; it delivers ``capacity u (1 - w)``
    (derivation ``fragment_cut_delivery``).  Only for ``offer > capacity``.
    """
    x = offer / capacity
    top = min(1.0, lost / slots)
    if math.isinf(ratio):
        u = 1.0
        w = min(top, lost * (x - 1.0))
    else:
        u = (1.0 + ratio + lost * x) / (1.0 + ratio + lost)
        w = lost * (x / u - 1.0)
        if w > top:
            w = top
            u = (1.0 + ratio) / (1.0 + ratio - w) if 1.0 + ratio - w > 0.0 else x
    u = min(u, x)
    return max(0.0, capacity * u * (1.0 - w)), capacity * u


#: IP identifiers a sender draws from (16 bits): the datagrams after which the same
#: identifier comes round again for the same source, destination and protocol (RFC 791).
IP_ID_SPACE = 65536.0


@_compiled(inline="always")
def _frag_cache_share(handled, wasted, fragments, cache, timeout_s, caches):
    """Share of the time a fragment cache that refuses when full lets fragments in.

    Parameters
    ----------
    handled : float
        Datagrams' worth of fragments a CPU admits per second while its
        cache lets them in.
    wasted : float
        Share of them that belong to datagrams its queue cut
        (:func:`_cut_fragments`): they wait in the cache for ever more.
    fragments : float
        Fragments per datagram.
    cache : float
        Fragments one cache holds (``ipfrag_high_thresh`` over a fragment's
        true size); ``inf``: a cache that evicts instead of refusing.
    timeout_s : float
        Seconds an incomplete datagram waits (``ipfrag_time``).
    caches : float
        Caches the CPU's flows fill: one per flow when each has a network
        namespace of its own, else one.  (Each CPU is taken on its own: CPUs
        that share a namespace's cache fill it sooner than this says.)

    Returns
    -------
    float
        1 while the cut datagrams' fragments held stay under ``cache``;
        else ``cache / (junk * timeout_s)``.

    Notes
    -----
    ``junk = handled * fragments * wasted / caches`` fragments a second
    enter each cache and never complete.  One leaves when it times out, or
    sooner when a later datagram with its IP identifier arrives and is
    admitted (``ip_frag_too_far``: more than ``ipfrag_max_dist``, 64, of the
    source's fragments came between, so the stale queue is purged and the
    new datagram takes its place).  The sender's identifiers come
    round every :data:`IP_ID_SPACE` datagrams it sends, and each time the
    one with this identifier is admitted or not, so that meeting comes
    after a memoryless wait of mean ``wrap = IP_ID_SPACE * caches /
    handled`` (the datagrams of its flows the cache sees): while the cache
    lets fragments in it holds ``junk * life``, ``life = wrap * (1 -
    exp(-timeout_s / wrap))``, the mean of the shorter of the two.  Under
    ``cache`` nothing changes.  Past it (Linux >= 4.17) the cache fills in
    ``cache / junk`` seconds and then refuses every fragment, which also
    stops the collisions: it empties only as its fragments time out, and
    refills as soon as it lets fragments in again.  Held full of waste that
    lives ``timeout_s``, it lets fragments in a share ``f`` of the time
    with ``cache = f * junk * timeout_s`` (derivation
    ``fragment_cache_share``; tests/test_fragment_waste.py holds it to
    ten runs of a real kernel; near the edge, where the waste comes within
    a tenth of ``cache``, a full cache recovers more between timeouts and
    the share is a lower bound).
    """
    return _frag_cache_terms(handled, wasted, fragments, cache, timeout_s, caches)[0]


@_compiled(inline="always")
def _frag_cache_terms(handled, wasted, fragments, cache, timeout_s, caches):
    """:func:`_frag_cache_share`, and the seconds a cache that fills takes to fill
    (``inf`` for one that never does).

    Collisions alone take the waste until the first time out, so it grows as
    ``junk * wrap * (1 - exp(-t / wrap))`` and reaches ``cache`` at ``t =
    -wrap * ln(1 - cache / (junk * wrap))``: ``cache / junk`` for a cache
    small beside ``junk * wrap``, later near the edge, and never past
    ``timeout_s`` (from then on the waste stays at ``junk * life``).
    """
    junk = handled * fragments * wasted / caches
    if junk <= 0.0 or math.isinf(cache):
        return 1.0, math.inf
    wrap = IP_ID_SPACE * caches / handled
    life = wrap * -math.expm1(-timeout_s / wrap)
    if junk * life < cache:
        return 1.0, math.inf
    return cache / (junk * timeout_s), -wrap * math.log1p(-cache / (junk * wrap))


@_compiled(inline="always")
def _overloaded(capacity, offer, ratio, lost, cuts, here):
    """A CPU offered more than ``capacity`` that works on some of what it loses: its
    ring cuts datagrams (``lost > 0``: :func:`_cut_fragments`) or its softirq keeps
    preempting the reader (:func:`_livelocked`, ``ratio`` its waste).

    ``cuts`` is the scenario's row of the cut table (:func:`spread_moments`)
    and ``here`` the flows on the CPU.  A ring that cuts datagrams leaves
    their fragments in the fragment cache; where that refuses when full and
    fills (:func:`_frag_cache_share`: it lets fragments in a share ``f`` of
    the time), the CPU delivers ``f`` of what it would, and for the rest of
    the time its softirq handles fragments only to see them refused (at most
    its rate alone, ``capacity * (1 + 1 / ratio)``) while the reader waits.
    Returns what it delivers, what its softirq handles, ``f`` (1: no cache
    fills) and the seconds its cache takes to fill (:func:`_frag_cache_terms`).
    """
    if lost <= 0.0:
        kept, took = _livelocked(capacity, offer, ratio)
        return kept, took, 1.0, math.inf
    kept, took = _cut_fragments(capacity, offer, ratio, lost, cuts[0])
    if took <= 0.0:
        return kept, took, 1.0, math.inf
    share, fill_s = _frag_cache_terms(took, 1.0 - kept / took, lost + 1.0, cuts[1], cuts[2],
                                      here if cuts[3] > 0.0 else 1.0)
    if share >= 1.0:
        return kept, took, 1.0, math.inf
    alone = 1.0 + 1.0 / ratio if ratio > 0.0 else math.inf
    refused = capacity * min(offer / capacity, alone)
    return share * kept, share * took + (1.0 - share) * refused, share, fill_s


@_compiled
def band_turns(rate, low, high):
    """How a CPU carries ``rate`` inside its overload band ``(low, high)`` by turns.

    Parameters
    ----------
    rate : float
        Messages/s the CPU carries, ``low <= rate < high``.
    low, high : float
        The band's edges (:func:`queuemodel.solver.overload_band`), both
        sustained.

    Returns
    -------
    tuple of float
        The shares of what the CPU carries that the upper and the lower edge
        carry, ``theta * high / rate`` and ``(1 - theta) * low / rate`` (they
        add up to 1): the weights of the edges' work per message.

    Notes
    -----
    The CPU spends a share ``theta = (rate - low) / (high - low)`` of the
    time at the upper edge and the rest at the lower, so that ``theta * high
    + (1 - theta) * low = rate`` (derivations/capacity.py).
    """
    theta = (rate - low) / (high - low)
    return theta * high / rate, (1.0 - theta) * low / rate


@_compiled
def _interrupts(rate, n_wire, bursts, frames_per_burst, napi_load, irq_load, delay_low_s,
                delay_span_s, ramp_low_pps, ramp_inv_width):
    """Interrupts per message at ``rate`` (``solver.interrupts_per_message``), one scenario."""
    if delay_span_s == 0.0:
        tau = delay_low_s
    else:
        ramp = (rate * n_wire - ramp_low_pps) * ramp_inv_width
        tau = delay_low_s + delay_span_s * min(1.0, max(0.0, ramp))
    per_irq = max(1.0, min(frames_per_burst, 1.0 + rate * bursts * tau))
    moderated = bursts / per_irq
    idle = max(0.0, 1.0 - rate * napi_load)
    return idle * moderated / (1.0 + rate * irq_load * moderated)


@_compiled(inline="always")
def _idle_exit(wait_s, residency_s, exit_s):
    """Mean and mean square exit latency after an idle of mean ``wait_s``
    (``solver.idle_exit_moments``)."""
    mean = 0.0
    square = 0.0
    below = 0.0
    for k in range(residency_s.shape[0]):
        if residency_s[k] <= 0.0:
            reached = 1.0
        elif wait_s <= 0.0 or residency_s[k] > 745.0 * wait_s:
            break               # exp underflows to 0 here and for every deeper state
        else:
            reached = math.exp(-residency_s[k] / wait_s)      # wait inf: 1
        mean += (exit_s[k] - below) * reached
        square += (exit_s[k] * exit_s[k] - below * below) * reached
        below = exit_s[k]
    return mean, square


@_compiled(inline="always")
def _steady_exit(available_s, residency_s, exit_s):
    """Exit latency of the deepest idle state whose residency and exit fit in
    ``available_s`` (``solver.steady_idle_exit``)."""
    out = 0.0
    for k in range(residency_s.shape[0]):
        if residency_s[k] + exit_s[k] <= available_s:
            out = max(out, exit_s[k])
    return out


@_compiled(inline="always")
def _sleep_wait(rate, per_delivery, idle, scv):
    """Seconds a sleeping reader waits for the delivery that wakes it, ``g``
    (``solver.wakeups_per_message``), times the deliveries a second; and ``g``."""
    waiting = scv + (1.0 - min(scv, 1.0)) * idle / 2.0
    deliveries = rate * per_delivery
    return waiting, waiting / deliveries if deliveries > 0.0 else np.inf


@_compiled(inline="always")
def _wake_law(rate, per_delivery, other, switch, capacity, latency_s, scv, residency_s, exit_s):
    """Wake-ups per message of the readers (``solver.wakeups_per_message``), each costing
    ``switch`` cycles and reading ``latency_s`` after it, plus the exit latency of the
    idle state it slept in (``residency_s``, ``exit_s``: ``(K,)``), when ``per_delivery``
    deliveries per message, as irregular as ``scv`` says, could wake one; and the mean
    and mean square of that exit latency (0 where the reader never sleeps)."""
    idle = max(0.0, 1.0 - rate * other / capacity)
    if idle <= 0.0:
        return 0.0, 0.0, 0.0
    waiting, wait_s = _sleep_wait(rate, per_delivery, idle, scv)
    # At random an exponential idle, at a steady pace the deepest state that fits in
    # what a gap leaves, mixed between (solver.steady_exit_mix).
    random = min(scv, 1.0)
    exit_mean = exit_square = 0.0
    if random > 0.0:
        exit_mean, exit_square = _idle_exit(wait_s, residency_s, exit_s)
        exit_mean *= random
        exit_square *= random
    if random < 1.0:
        deliveries = rate * per_delivery
        gap = idle / deliveries if deliveries > 0.0 else np.inf
        paced = _steady_exit(gap - latency_s - switch / capacity, residency_s, exit_s)
        exit_mean += (1.0 - random) * paced
        exit_square += (1.0 - random) * paced * paced
    per_sleep = waiting + rate * per_delivery * (latency_s + exit_mean + switch / capacity)
    if per_sleep <= 0.0:
        return per_delivery, exit_mean, exit_square
    return min(per_delivery, per_delivery * idle / per_sleep), exit_mean, exit_square


@_compiled(inline="always")
def _wakes(rate, per_delivery, other, switch, capacity, latency_s, scv, residency_s, exit_s):
    """Wake-ups per message alone (:func:`_wake_law`)."""
    return _wake_law(rate, per_delivery, other, switch, capacity, latency_s, scv,
                     residency_s, exit_s)[0]


@_compiled(inline="always")
def _wake_cycles(rate, ipm, other, switch, capacity, latency_s, scv, residency_s, exit_s):
    """Cycles per message of one reader's wake-ups (``solver.wakeups_per_message`` x switch)."""
    return switch * _wakes(rate, min(1.0, ipm), other, switch, capacity, latency_s, scv,
                           residency_s, exit_s)


@_compiled
def _readers_per_interrupt(flows, packets, run_packets):
    """Readers one polling period delivers to (``solver.readers_per_interrupt``)."""
    if flows <= 1:
        return 1.0
    return max(1.0, flows * (1.0 - (1.0 - 1.0 / flows) ** (packets / run_packets)))


@_compiled(inline="always")
def _asleep(rate, ipm, other, switch, capacity, latency_s, scv, residency_s, exit_s):
    """Chance an interrupt finds the reader asleep (``solver.wakeups_per_message`` / ipm)."""
    if ipm <= 0.0:
        return 0.0
    return min(1.0, _wakes(rate, min(1.0, ipm), other, switch, capacity, latency_s, scv,
                           residency_s, exit_s) / ipm)


@_compiled
def _deferral(ipm, bursts, n_wire, asleep, napi_seconds, weight, stages, max_restart,
              max_time_s, polls_per_run):
    """Chance a polling period ends in ksoftirqd and the share of packets it takes there.

    One scenario of ``solver.ksoftirqd_deferral`` (the reference, with the derivation).
    """
    if stages == 0:
        return 0.0, 0.0
    q = min(1.0, max(0.0, 1.0 - ipm / bursts)) if bursts > 0.0 else 0.0
    b = n_wire / bursts if bursts > 0.0 else 1.0
    awake = min(max_restart + 1.0 - stages, max_restart * polls_per_run / stages)
    batch_s = weight * napi_seconds / n_wire
    if batch_s > 0.0:
        awake = min(awake, max_time_s / batch_s)
    awake = max(1.0, awake)
    chance = 0.0
    share = 0.0
    for case in range(2):
        part = asleep if case == 0 else 1.0 - asleep
        if part <= 0.0:                     # (saves a power; the sums are the same)
            continue
        inline = weight * (1.0 if case == 0 else awake)
        m = np.floor(inline / b * (1.0 + 1e-12))     # solver._WHOLE
        tail = q ** m
        chance += part * tail
        share += part * tail * min(1.0, 1.0 - (inline - b * m) * (1.0 - q) / b)
    return chance, share


@_compiled
def smt_speed(busy, siblings, gain):
    """Speed of a hardware thread, as a share of its core's, while it runs.

    Each of its ``siblings`` (the other busy threads of the core) runs a
    share ``busy`` of the time, independently of it; with ``j`` of them
    running, the ``j + 1`` threads share the core and each gets
    ``(1 + gain * j) / (j + 1)`` of it (:func:`queuemodel.flows.thread_shares`).

    Parameters
    ----------
    busy : float
        Share of the time each sibling runs (0..1).
    siblings : int
        The other busy hardware threads of the core (0 for a thread alone).
    gain : float
        What a second busy thread adds to the core (``Host.smt_gain``).

    Returns
    -------
    float
        The share's mean over ``j ~ Binomial(siblings, busy)``
        (``derivations/sharing.py``, sibling_speed): 1 with no sibling or an
        idle one, ``1 - busy (1 - gain) / 2`` with one, and the share of
        ``siblings + 1`` saturated threads when they never rest.

    Examples
    --------
    >>> smt_speed(0.0, 1, 0.3), smt_speed(1.0, 1, 0.3), round(smt_speed(0.5, 1, 0.3), 3)
    (1.0, 0.65, 0.825)
    """
    if siblings <= 0:
        return 1.0
    if siblings == 1:
        return 1.0 - busy * (1.0 - gain) / 2.0
    # The binomial chances term by term: C(m, j) u^j (1 - u)^(m - j), from j = 0.
    rest = 1.0 - busy
    chance = rest ** siblings
    if rest == 0.0:                             # all siblings always run
        return (1.0 + gain * siblings) / (siblings + 1.0)
    speed = 0.0
    for j in range(siblings + 1):
        speed += chance * (1.0 + gain * j) / (j + 1.0)
        chance *= (siblings - j) / (j + 1.0) * busy / rest
    return speed


@_compiled
def smt_busy(work, siblings, gain):
    """Share of the time a hardware thread is busy doing ``work`` of its core's cycles.

    Parameters
    ----------
    work : float
        Cycles per second the thread's work needs, over its core's (>= 0).
    siblings : int
        The other busy hardware threads of the core, each taken as busy as
        this one.
    gain : float
        What a second busy thread adds to the core (``Host.smt_gain``).

    Returns
    -------
    float
        The ``u`` with ``u * smt_speed(u, siblings, gain) = work``
        (``derivations/sharing.py``); 1 for work the thread cannot do
        beside saturated siblings.  With one sibling it is the root of a
        quadratic, ``2 w / (1 + sqrt(1 - 2 (1 - g) w))``; with more,
        ``u v(u) = g u + (1 - g) (1 - (1 - u)^(m + 1)) / (m + 1)`` is
        concave and rising, so Newton's steps from 0 climb to the root
        without passing it.

    Examples
    --------
    >>> smt_busy(0.3, 0, 0.3), round(smt_busy(0.3, 1, 0.3), 4), smt_busy(0.65, 1, 0.3)
    (0.3, 0.3406, 1.0)
    """
    if siblings <= 0:
        return min(1.0, work)
    if work >= smt_speed(1.0, siblings, gain):
        return 1.0
    if siblings == 1:
        return 2.0 * work / (1.0 + math.sqrt(max(0.0, 1.0 - 2.0 * (1.0 - gain) * work)))
    u = 0.0
    for _ in range(100):
        idle = (1.0 - u) ** siblings
        done = gain * u + (1.0 - gain) * (1.0 - idle * (1.0 - u)) / (siblings + 1.0)
        step = (work - done) / (gain + (1.0 - gain) * idle)
        u = min(1.0, u + step)
        if step <= 1e-15 * u:
            break
    return u


#: Most Newton steps of :func:`_smt_on_line` for a CPU with more than one busy
#: hyper-thread sibling (one sibling has a closed form); a handful reach 1e-15.
_SMT_STEPS = 50


@_compiled
def _smt_on_line(work, rise, siblings, gain, full_speed):
    """The speed ``z`` (over the saturated one) of a CPU that does ``work + rise (z - 1)``
    of its core's cycles at speed ``z``, beside siblings as busy as it.

    Solves ``z = v(u) / v(1)`` with ``u v(u)`` the work (:func:`smt_busy`): with one
    sibling, ``v(u) = 1 - d u`` (``d = (1 - gain) / 2``) makes it a quadratic in ``u``
    (``derivations/sharing.py``, sibling_speed_on_line); with more, Newton's method
    from ``z = 1``.  Work the CPU cannot do at its saturated speed gives 1.
    """
    if siblings == 1:
        d = (1.0 - gain) / 2.0
        b = 1.0 + rise * d / full_speed
        c = work + rise * (1.0 / full_speed - 1.0)
        if c >= b - d:                          # the root is at u >= 1: saturated
            return 1.0
        u = 2.0 * c / (b + math.sqrt(max(0.0, b * b - 4.0 * d * c)))
        return min(1.0 / full_speed, max(1.0, (1.0 - d * u) / full_speed))
    z = 1.0
    for _ in range(_SMT_STEPS):
        u = smt_busy(work + rise * (z - 1.0), siblings, gain)
        if u >= 1.0:
            return 1.0
        v = smt_speed(u, siblings, gain)
        grows = gain + (1.0 - gain) * (1.0 - u) ** siblings       # d(u v(u)) / du
        dz = (grows - v) / u / grows / full_speed * rise          # dS/dz along the line
        move = (v / full_speed - z) / (1.0 - dz)
        z = min(1.0 / full_speed, max(1.0, z + move))
        if abs(move) <= 1e-15 * z:
            break
    return z


@_compiled
def flow_rates(flows, level, count, busy, capacity, per_flow, link, dram, elastic, rate,
               lowest):
    """Every pattern's rate per flow, and each level's lowest offer below capacity.

    Parameters
    ----------
    flows, level, count : numpy.ndarray
        ``(P, J)`` int64: each pattern as runs of ``count`` busy CPUs with
        ``flows`` flows each and ``level`` busy threads on their cores
        (count 0 pads).
    busy : numpy.ndarray
        ``(P,)`` int: busy CPUs of each pattern.
    capacity : numpy.ndarray
        ``(S, T)`` messages/s of a CPU with ``t + 1`` busy threads.
    per_flow, link : numpy.ndarray
        ``(S,)`` the most one flow's sender sends, and the link's total.
    dram : numpy.ndarray
        ``(S, B)`` the most the receiver's DRAM lets a pattern with ``b``
        busy CPUs carry in all (:func:`dram_budget`; ``inf``: no limit).
        Shared max-min by the flows of either protocol, as the link is by
        TCP's.
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
    TCP that would overfill the link (either protocol, the DRAM): ``x =
    min(r, w)`` with the water level ``w`` solving ``f(w) = sum min(R, k w)
    = link``.  ``f`` is increasing,
    concave and piecewise linear (it bends where a CPU fills, ``w = R /
    k``).  Newton's method from ``w = link / sum k``, below the root, stays
    below it (a concave function lies under its tangents) and climbs to it;
    on a linear piece it lands exactly, so it stops after at most one step
    per bend it passes, usually two or three.  (Written in one function:
    handing arrays to a helper per pattern cost more than the arithmetic.)

    Examples
    --------
    One pattern: a CPU with 3 flows and one with 1, each carrying at most 90
    messages/s, a link of 100 and senders without limit: four flows share
    the link, 25 each.

    >>> rate, lowest = np.empty((1, 1)), np.full((1, 1), np.inf)
    >>> flow_rates(np.array([[3, 1]]), np.array([[1, 1]]), np.array([[1, 1]]),
    ...            np.array([2]), np.array([[90.0]]), np.array([np.inf]),
    ...            np.array([100.0]), np.full((1, 3), np.inf), True, rate, lowest)
    >>> float(rate[0, 0]), float(lowest[0, 0])     # the 1-flow CPU is offered 25
    (25.0, 25.0)
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
            held = dram[s, busy[p]]
            budget = min(link_s, held) if elastic else held
            x = r_s
            if total > budget:
                w = budget / growing
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
                    if slope == 0.0 or f >= budget:
                        break
                    step = (budget - f) / slope
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


@_compiled
def _banded_balance(flows, level, count, p, capacity, band_low, band_high, s, w, x0):
    """``sum n carried(R, k w, k x0)`` over pattern ``p``'s CPUs (:func:`banded_flow_rates`)."""
    total = 0.0
    for j in range(flows.shape[1]):
        n = count[p, j]
        if n > 0:
            t = level[p, j] - 1
            total += n * _carried(capacity[s, t], flows[p, j] * w, flows[p, j] * x0,
                                  band_low[s, t], band_high[s, t])
    return total


#: Halvings of the water level in :func:`banded_flow_rates` (from the widest
#: bracket down to adjacent floats; the loop stops there).
_LEVEL_HALVINGS = 200


@_compiled
def banded_flow_rates(flows, level, count, busy, capacity, per_flow, link, dram, band_low,
                      band_high, rate):
    """Rates per flow again where flows share a budget, with every CPU's overload band known.

    :func:`flow_rates` shares the link (TCP) and the DRAM's budget (either
    protocol) max-min before the bands are known; a CPU then offered a rate
    inside its band carries only the band's lower edge (:func:`_carried`),
    and what it gives up would go to no one.  Here the water level ``w``
    climbs from that first level ``x0`` on the balance with the bands in it,
    ``f(w) = sum n carried(R, k w, k x0)``:
    a CPU whose flows reach the band from below stays at its lower edge
    (max-min keeps them there while the others climb on), one that started
    above it stays above, so ``f`` is continuous and non-decreasing, with
    flat pieces; the level is found by bisection, to the largest ``w`` with
    ``f(w) <= budget``.  Patterns with no band on any of their CPUs keep the
    rate ``rate`` holds.

    Parameters
    ----------
    flows, level, count, busy, capacity, per_flow, link, dram :
        As for :func:`flow_rates`, elastic flows (for UDP's, pass an
        infinite ``link``: only the DRAM's budget binds them).
    band_low, band_high : numpy.ndarray
        ``(S, T)`` each level's overload band (``inf``: none).
    rate : numpy.ndarray
        ``(S, P)`` :func:`flow_rates`' rates, updated in place.

    Examples
    --------
    Two CPUs of capacity 120 with one flow each, a link of 140, and a band
    (50, 100) on the second (its core's other thread is busy): sharing
    gives 70 each, inside the band, so the second carries 50 and 20 of the
    link goes unused.  With the band known the first flow takes it: 90 and
    50.

    >>> runs = (np.array([[1, 1]]), np.array([[1, 2]]), np.array([[1, 1]]))
    >>> rate = np.array([[70.0]])
    >>> banded_flow_rates(*runs, np.array([2]), np.array([[120.0, 120.0]]),
    ...                   np.array([np.inf]), np.array([140.0]), np.full((1, 3), np.inf),
    ...                   np.array([[np.inf, 50.0]]), np.array([[np.inf, 100.0]]), rate)
    >>> round(float(rate[0, 0]), 9)
    90.0
    """
    size = capacity.shape[0]
    patterns, width = flows.shape
    for s in range(size):
        r_s = per_flow[s]
        for p in range(patterns):
            banded = False
            top = 0.0                                   # past it every CPU is full
            for j in range(width):
                if count[p, j] > 0:
                    t = level[p, j] - 1
                    if band_low[s, t] < math.inf:
                        banded = True
                    top = max(top, capacity[s, t] / flows[p, j])
            if not banded:
                continue
            budget = min(link[s], dram[s, busy[p]])
            x0 = rate[s, p]
            lo = 0.0
            hi = min(r_s, top)
            if _banded_balance(flows, level, count, p, capacity, band_low, band_high, s, hi,
                               x0) <= budget:
                rate[s, p] = r_s
                continue
            if hi == math.inf:                          # no flow takes more than the budget
                hi = budget
            for _ in range(_LEVEL_HALVINGS):
                mid = 0.5 * (lo + hi)
                if not lo < mid < hi:
                    break
                if _banded_balance(flows, level, count, p, capacity, band_low, band_high, s,
                                   mid, x0) <= budget:
                    lo = mid
                else:
                    hi = mid
            rate[s, p] = lo


@_compiled
def spread_moments(flows, level, count, weight, busy, capacity, rate, start, band_low,
                   band_high, waste, lost, cuts, queue_per_flow, queue_per_cpu, cache,
                   ring, memory, dram, variability, with_memory, convex, quantiles, delivered,
                   variance, spread_at, slowest, pattern_totals, rate_at_level,
                   handled_at_level, dram_per_byte, dram_bound, read_miss, bound_per_byte,
                   budget, cache_bound, cache_fill_s):
    """Expected delivery over the patterns, with its spread and memory traffic.

    Parameters
    ----------
    flows, level, count : numpy.ndarray
        ``(P, J)`` the patterns as runs, as for :func:`flow_rates`.
    weight : numpy.ndarray
        ``(P,)`` probability of each pattern.
    busy : numpy.ndarray
        ``(P,)`` int: busy CPUs of each pattern.
    capacity : numpy.ndarray
        As for :func:`flow_rates`.
    rate : numpy.ndarray
        ``(S, P)`` each pattern's rate per flow (:func:`flow_rates`).
    start : numpy.ndarray
        ``(S, P)`` the rates :func:`flow_rates` first gave (``rate`` itself
        unless :func:`banded_flow_rates` raised them; :func:`_carried`).
    band_low, band_high : numpy.ndarray
        ``(S, T)`` each level's overload band: an offer below capacity and
        strictly inside it is carried at ``band_low`` (``inf``: no band).
    waste : numpy.ndarray
        ``(S, T)`` how a CPU offered more than its capacity carries it
        (:func:`_livelocked`): 0 drops the excess unworked; above 0 its
        softirq keeps preempting the reader, which delivers less the more
        it is offered.  Where ``lost > 0``, the softirq's over the reader's
        seconds per message instead (:func:`_cut_fragments`).
    lost, cuts : numpy.ndarray
        ``(S, T)`` fragments per datagram less one where a CPU's ring cuts
        datagrams when it overflows (0: it drops whole datagrams, or
        livelocks), and ``(S, 4)`` per scenario: the fragments such a ring
        admits at a time, the fragments a fragment cache holds (``inf``:
        one that evicts rather than refuses), the seconds an incomplete
        datagram waits there, and 1 where each flow has a cache of its
        own, else 0 (:func:`_overloaded`).
    queue_per_flow, queue_per_cpu, cache, ring : numpy.ndarray
        ``(S,)`` in messages: the most a flow and a busy CPU keep queued,
        the cache share, and one busy CPU's receive ring.
    memory, dram : numpy.ndarray
        ``(S,)`` the DRAM bandwidth in messages/s and ``(S, B)`` the DRAM
        budget by busy CPUs (:func:`dram_budget`).
    variability : numpy.ndarray
        ``(S,)`` ``(ca2 + cs2) / 2``, the arrivals' and the service's squared
        coefficients of variation averaged (1: Poisson and exponential).
    with_memory : bool
        Whether to compute ``dram_per_byte``.
    convex : bool
        Whether a CPU offered a rate inside its band carries it, by turns at
        the band's two edges (then it holds full queues; what the model
        does), instead of being held at the lower edge (:func:`_carried`).
    quantiles : numpy.ndarray
        ``(Q,)`` probabilities in (0, 1] at which to read the delivery's
        distribution over the patterns.
    delivered, variance, dram_per_byte, dram_bound, read_miss : numpy.ndarray
        ``(S,)`` written: mean delivered messages/s, its variance over the
        patterns, DRAM bytes per delivered byte, the chance the DRAM
        binds, and the chance a delivered byte left the cache before its
        copy (weighted by what each CPU delivers).
    spread_at : numpy.ndarray
        ``(Q, S)`` written: the delivery at each of ``quantiles`` (the
        least pattern total whose cumulative probability reaches it).
    slowest : numpy.ndarray
        ``(S,)`` written: the expected delivery of the slowest flow, each
        CPU's flows sharing what it carries evenly (TCP's water level and
        UDP's even offers both give them equal rates).
    pattern_totals : numpy.ndarray
        ``(S, P)`` written: each pattern's delivery; or ``(0, P)``, not
        kept.
    bound_per_byte : numpy.ndarray
        ``(S,)`` written: DRAM bytes per delivered byte in the patterns the
        DRAM binds (weighted by what they deliver; 0 where none is bound).
    budget : numpy.ndarray
        ``(S,)`` written: the DRAM budget (messages/s, :func:`dram_budget`)
        at each pattern's busy CPUs, their mean over the patterns (``inf``
        without ``with_memory``, or where a pattern's data costs no DRAM
        traffic): what the receiver could deliver before its DRAM binds.
    rate_at_level : numpy.ndarray
        ``(S, T)`` written: expected delivery of the CPUs at each level.
    handled_at_level : numpy.ndarray
        ``(S, T)`` written: the messages their softirq handles (their
        delivery, and more on a livelocked CPU: :func:`_livelocked`).
    cache_bound : numpy.ndarray
        ``(S,)`` written: the chance a full fragment cache holds a CPU back
        (:func:`_frag_cache_share`): the weight of the patterns with such a CPU.
    cache_fill_s : numpy.ndarray
        ``(1, S)`` written: the seconds until a pattern's first fragment cache
        fills (:func:`_frag_cache_terms`), its median over the patterns
        (``inf`` where fewer than half fill one).

    Notes
    -----
    Memory (:mod:`queuemodel.memory`): a CPU at utilisation ``rho`` holds
    ``min(rho + rho^2 v / (1 - rho), limit)`` messages (Kingman's mean queue
    plus the one in service, ``v`` the variability; ``rho / (1 - rho)`` for
    Poisson arrivals and exponential service; the limit when saturated);
    while one waits, all flows write ``total * queued / rate`` messages,
    and it is gone before its copy with probability ``exp(-cache / that)``.
    A buffer is written back unless reused before all busy rings go round:
    ``exp(-cache / (busy * ring))``.  DRAM bytes per byte: ``2 m + (1 - m) b``.
    A pattern that carries its DRAM budget is held back by the DRAM, and its
    bytes cost what the budget assumed (``memory / dram``), their read misses
    too (:func:`dram_budget`'s ``m``).
    """
    size, levels = capacity.shape
    patterns, width = flows.shape
    rates = np.empty(width)
    banded = np.empty(width, dtype=np.bool_)
    totals = np.empty(patterns)
    fills = np.empty(patterns)
    half = np.array([0.5])
    for s in range(size):
        mean = 0.0
        least = 0.0
        traffic = 0.0
        misses = 0.0
        bound = 0.0
        bound_traffic = 0.0
        bound_carried = 0.0
        headroom = 0.0 if with_memory else np.inf
        for t in range(levels):
            rate_at_level[s, t] = 0.0
            handled_at_level[s, t] = 0.0
        cache_bound[s] = 0.0
        for p in range(patterns):
            x = rate[s, p]
            total = 0.0
            worst = np.inf
            refused = False
            earliest = np.inf
            for j in range(width):
                n = count[p, j]
                if n == 0:
                    rates[j] = 0.0
                    continue
                t = level[p, j] - 1
                offer = flows[p, j] * x
                handled = -1.0
                if offer > capacity[s, t] and (waste[s, t] > 0.0 or lost[s, t] > 0.0):
                    # Livelocked or cutting datagrams: fully busy, its softirq working on
                    # more than it delivers.
                    r, handled, share, fill_s = _overloaded(capacity[s, t], offer,
                                                            waste[s, t], lost[s, t], cuts[s],
                                                            flows[p, j])
                    banded[j] = True
                    if share < 1.0:
                        refused = True
                        earliest = min(earliest, fill_s)
                elif convex:
                    # Carried in full; inside its band by turns at the two edges, where
                    # it is as busy as at its capacity.
                    r = min(capacity[s, t], offer)
                    banded[j] = band_low[s, t] <= r < band_high[s, t]
                else:
                    r = _carried(capacity[s, t], offer, flows[p, j] * start[s, p],
                                 band_low[s, t], band_high[s, t])
                    # Held at its band's lower edge, a CPU is as busy as at its capacity.
                    banded[j] = r < min(capacity[s, t], offer)
                rates[j] = r
                worst = min(worst, r / flows[p, j])
                total += n * r
                rate_at_level[s, t] += weight[p] * n * r
                handled_at_level[s, t] += weight[p] * n * (r if handled < 0.0 else handled)
            totals[p] = total
            fills[p] = earliest
            if refused:
                cache_bound[s] += weight[p]
            if pattern_totals.shape[0] > 0:
                pattern_totals[s, p] = total
            mean += weight[p] * total
            least += weight[p] * (worst if worst < np.inf else 0.0)
            if not with_memory:
                continue
            held = dram[s, busy[p]]
            if weight[p] > 0.0:
                headroom += weight[p] * held
            if total <= 0.0:
                continue
            if total >= held * _AT_BUDGET:
                bound += weight[p]
                traffic += weight[p] * total * memory[s] / held
                bound_traffic += weight[p] * total * memory[s] / held
                bound_carried += weight[p] * total
                backlog = queue_per_cpu[s] * busy[p]
                for j in range(width):
                    backlog += count[p, j] * flows[p, j] * queue_per_flow[s]
                if backlog > 0.0:
                    misses += weight[p] * total * math.exp(-cache[s] / backlog)
                continue
            missed = 0.0
            for j in range(width):
                r = rates[j]
                if count[p, j] == 0 or r <= 0.0:
                    continue
                rho = r / capacity[s, level[p, j] - 1]
                limit = flows[p, j] * queue_per_flow[s] + queue_per_cpu[s]
                if rho >= _SATURATED or banded[j]:
                    queued = limit
                else:
                    queued = min(rho + rho * rho * variability[s] / max(1.0 - rho, 1e-300),
                                 limit)
                written = queued * total
                if written > 0.0:
                    exponent = r * cache[s] / written
                    if exponent < 745.0:                  # else exp underflows to 0
                        missed += count[p, j] * r * math.exp(-exponent)
            rings = busy[p] * ring[s]
            write_back = math.exp(-cache[s] / rings) if rings > 0.0 else 0.0
            misses += weight[p] * missed
            miss = missed / total
            traffic += weight[p] * (2.0 * miss + (1.0 - miss) * write_back) * total
        spread = 0.0
        for p in range(patterns):
            spread += weight[p] * (totals[p] - mean) ** 2
        delivered[s] = mean
        variance[s] = spread
        slowest[s] = least
        if patterns == 1:
            for k in range(quantiles.size):
                spread_at[k, s] = totals[0]
        else:
            _pattern_quantiles(totals, weight, quantiles, spread_at, s)
        dram_per_byte[s] = traffic / mean if mean > 0.0 else 0.0
        read_miss[s] = misses / mean if mean > 0.0 else 0.0
        dram_bound[s] = bound
        bound_per_byte[s] = bound_traffic / bound_carried if bound_carried > 0.0 else 0.0
        budget[s] = headroom
        cache_fill_s[0, s] = np.inf
        if cache_bound[s] > 0.0:
            _pattern_quantiles(fills, weight, half, cache_fill_s, s)


@_compiled
def _pattern_quantiles(totals, weight, quantiles, out, s):
    """Write into column ``s`` of ``out`` the least of ``totals`` whose cumulative
    ``weight`` (taken in rising order of ``totals``) reaches each of ``quantiles``."""
    order = np.argsort(totals)
    for k in range(quantiles.size):
        # Weights are counts over draws: a sum may fall short of the exact
        # share by rounding, never by a whole draw.
        goal = quantiles[k] * (1.0 - 1e-12)
        seen = 0.0
        out[k, s] = totals[order[-1]]
        for i in range(order.size):
            seen += weight[order[i]]
            if seen >= goal:
                out[k, s] = totals[order[i]]
                break


@_compiled(inline="always")
def _ramp_piece(rate, n_wire, span_s, ramp_low_pps, inv_width):
    """Where ``rate`` lies on the adaptive moderation ramp: 0 below it (or no ramp),
    1 on it, 2 above it (:func:`core_rates` extrapolates only within 0 or 2)."""
    if span_s == 0.0:
        return 0
    pps = rate * n_wire
    if pps < ramp_low_pps:
        return 0
    return 1 if (pps - ramp_low_pps) * inv_width <= 1.0 else 2


@_compiled
def core_rates(upper, capacity, static, irq_cycles, poll_cycles, poll_floor, switch_cycles,
               latency_s, wake_scv, idle_residency_s, idle_exit_s, n_wire, bursts,
               frames_per_burst, napi_load, irq_load, delay_low_s, delay_span_s, ramp_low_pps,
               ramp_inv_width, max_iterations, rtol, q_max, from_below, out):
    """Largest message rate every core sustains, per scenario (see ``solver.solve_rate``);
    with ``from_below``, the first rate a load climbing from nothing cannot pass.

    Parameters
    ----------
    upper : numpy.ndarray
        ``(N,)`` bound from outside the cores, messages/s.
    capacity, static, irq_cycles, switch_cycles, latency_s, wake_scv : numpy.ndarray
        ``(N, C)`` per core: cycles/s, rate-independent cycles per message,
        cycles per interrupt, cycles per wake-up of a reader there (0: none),
        the seconds from a wake-up to its reading and how irregularly
        messages reach it (``solver.wakeups_per_message``).
    idle_residency_s, idle_exit_s : numpy.ndarray
        ``(J,)`` the host's idle states (``solver.idle_states_s``), which
        every core's reader sleeps in.
    poll_cycles : numpy.ndarray
        ``(C, K)`` cycles per invocation of each NAPI poll stage (0 pads).
    poll_floor : numpy.ndarray
        ``(N, C, K)`` polls per message each poll stage needs when
        batch-limited.
    n_wire, bursts, frames_per_burst, napi_load, irq_load : numpy.ndarray
        ``(N,)`` the interrupt model (``solver.interrupts_per_message``):
        wire packets and bursts per message, moderation frames per burst,
        NAPI cycles per message and per interrupt over the capacity.
    delay_low_s, delay_span_s, ramp_low_pps, ramp_inv_width : numpy.ndarray
        ``(N,)`` the moderation delay, ``low + span * clip((pps - ramp_low)
        * inv_width, 0, 1)`` seconds at ``pps`` wire packets per second.
    max_iterations, rtol, q_max :
        The iteration's limits (``solver``'s constants).
    from_below : bool
        Climb to the smallest fixed point instead of falling to the largest
        (``solver.solve_rate``'s Notes): from the adaptive ramp's start,
        plainly (no tail) through the ramp, and from the top as usual once
        the climb is past it.
    out : numpy.ndarray
        ``(N,)`` written with the rate.

    Notes
    -----
    Per scenario, the monotone iteration ``R <- min(upper, min_k C_k / (a_k
    + o_k(R)))`` from ``min(upper, min_k C_k / a_k)``, with the geometric
    tail added where two steps shrink by a ratio in ``[0, q_max]`` and the
    two steps and the tail's end lie on one side of the adaptive ramp
    (:func:`_ramp_piece`); the
    formulas of ``o_k`` (interrupts, polls, wake-ups) are those of
    ``solver.CoreLoad.terms`` and ``solver.interrupts_per_message``.
    """
    size, cores = capacity.shape
    polls = poll_cycles.shape[1]
    for i in range(size):
        rate = upper[i]
        for c in range(cores):
            if static[i, c] > 0.0:
                rate = min(rate, capacity[i, c] / static[i, c])
        if not math.isfinite(rate):
            out[i] = rate
            continue
        # Below the adaptive ramp the load rises with the rate (solver.overload_band):
        # from below, either it saturates there (the map falls below the ramp's start:
        # one crossing, reached from above as usual) or every rate up to the ramp is
        # sustained and the load climbs on from there.  Through the ramp, where a band
        # can lie, it climbs plainly (an extrapolated step could leap one).
        probe = from_below and delay_span_s[i] > 0.0 and ramp_low_pps[i] / n_wire[i] < rate
        climbing = False
        ramp_top = 0.0
        top = rate
        if probe:
            rate = ramp_low_pps[i] / n_wire[i]
            ramp_top = rate + 1.0 / (ramp_inv_width[i] * n_wire[i])
        last_step = 0.0
        last_piece = -1
        for _ in range(max_iterations):
            current = rate
            piece = _ramp_piece(current, n_wire[i], delay_span_s[i], ramp_low_pps[i],
                                ramp_inv_width[i])
            if piece != last_piece:                 # a ratio across the ramp's kinks
                last_step = 0.0
            last_piece = piece
            ipm = _interrupts(current, n_wire[i], bursts[i], frames_per_burst[i],
                              napi_load[i], irq_load[i], delay_low_s[i], delay_span_s[i],
                              ramp_low_pps[i], ramp_inv_width[i])
            new = upper[i]
            for c in range(cores):
                dyn = irq_cycles[i, c] * ipm
                for k in range(polls):
                    dyn += max(ipm, poll_floor[i, c, k]) * poll_cycles[c, k]
                if switch_cycles[i, c] != 0.0:
                    dyn += _wake_cycles(current, ipm, static[i, c] + dyn, switch_cycles[i, c],
                                        capacity[i, c], latency_s[i, c], wake_scv[i, c],
                                        idle_residency_s, idle_exit_s)
                need = static[i, c] + dyn
                if need > 0.0:
                    new = min(new, capacity[i, c] / need)
            if probe:
                climbing, probe = new >= current, False
            if climbing and new >= ramp_top:
                # Past the ramp no band lies ahead and the load rises to the one fixed
                # point left, the largest: iterate down to it from the top, as usual.
                climbing, rate, last_step = False, top, 0.0
                continue
            step = new - current
            moving = abs(step) > rtol * current
            q = step / last_step if last_step != 0.0 else -1.0
            geometric = moving and 0.0 <= q <= q_max and not climbing and piece != 1
            tail = step * q / (1.0 - q) if geometric else 0.0
            # The tail stays on the piece it was measured on (it could leap a band, or
            # below 0, from another).
            if geometric and not (new + tail > 0.0 and _ramp_piece(
                    new + tail, n_wire[i], delay_span_s[i], ramp_low_pps[i],
                    ramp_inv_width[i]) == piece == _ramp_piece(
                    new, n_wire[i], delay_span_s[i], ramp_low_pps[i], ramp_inv_width[i])):
                geometric, tail = False, 0.0
            rate = min(new + tail, upper[i])
            last_step = 0.0 if geometric else step
            if not moving:
                break
        out[i] = rate


@_compiled
def account_level(static, ipm, polls, poll_index, capacity, rate, handled, cpus, weight,
                  entry_cycles,
                  switch_cycles, hard, poll, cycles_per_unit, cycles_per_invocation, column,
                  time_scale, own, first, seconds, table, mean_table, proc_stat, busy,
                  cpu_busy):
    """Seconds and utilisation of every receive stage on the CPUs of one thread level.

    Parameters
    ----------
    static : numpy.ndarray
        ``(N, S)`` rate-independent cycles per message of each stage.
    ipm, capacity, rate, handled, cpus, weight : numpy.ndarray
        ``(N,)``: interrupts per message (the CPUs' mean, weighted by what
        their softirq handles: :func:`level_moments`), cycles/s of one CPU
        at this level, mean messages/s one such CPU delivers and its
        softirq handles (more only on a livelocked CPU: the interrupt and
        softirq columns are charged at that rate), how many CPUs sit at the
        level, and the weight of one CPU in the mean over busy CPUs.
    polls : numpy.ndarray
        ``(N, K)`` invocations per message of each NAPI poll stage, weighted
        likewise.
    poll_index : numpy.ndarray
        ``(S,)`` int: each poll stage's column of ``polls``.
    entry_cycles, switch_cycles : numpy.ndarray
        ``(N,)`` cycles per message of softirq entries and of the reader's
        wake-ups (weighted likewise).
    hard, poll : numpy.ndarray
        ``(S,)`` bool: the stage is charged per interrupt / is a NAPI poll
        (charged per invocation).
    column : numpy.ndarray
        ``(S,)`` int: each stage's /proc/stat column (0 usr, 1 sys, 2
        softirq, 3 irq).
    cycles_per_unit, cycles_per_invocation : numpy.ndarray
        ``(S,)`` the stages' per-interrupt and per-poll costs.
    time_scale : numpy.ndarray
        ``(N,)`` the share of its seconds at ``capacity`` the interrupted
        CPU really takes, running faster while its hyper-thread siblings
        rest (:func:`level_moments`).
    own : numpy.ndarray
        ``(S + 2,)`` bool: the column is the interrupted CPU's work (scaled
        by ``time_scale``), not a reader's core of its own.
    first : bool
        Whether ``mean_table`` is written (first level) or added to.
    seconds, table : numpy.ndarray
        ``(N, S + 2)`` written: seconds of one CPU per message and its
        utilisation, by stage, then softirq entry and wake-ups.
    mean_table : numpy.ndarray
        ``(N, S + 2)`` receives ``weight * cpus * table``.
    proc_stat : numpy.ndarray
        ``(4, N)`` receives ``cpus`` times each /proc/stat column's share.
    busy : numpy.ndarray
        ``(N,)`` receives ``cpus`` times the CPU's utilisation.
    cpu_busy : numpy.ndarray
        ``(N,)`` written: the utilisation of one CPU at the level.

    Notes
    -----
    The dynamic cost of a stage is ``ipm * cycles_per_unit`` for a
    hard-interrupt stage and ``polls * cycles_per_invocation`` for a poll.
    Because every rate-dependent term is a carried-weighted mean over the
    level's CPUs, ``rate * cycles / capacity`` is the mean of the CPUs' own
    utilisations, each at most 1; at the mean rate it could exceed 1.  The
    ``(N, S)`` numpy form of this loop made a temporary per step.
    """
    size, stages = static.shape
    for i in range(size):
        c = capacity[i]
        n = cpus[i]
        w = weight[i] * n
        used = 0.0
        for k in range(stages + 2):
            if k < stages:
                cycles = static[i, k]
                if poll[k]:
                    cycles += polls[i, poll_index[k]] * cycles_per_invocation[k]
                elif hard[k]:
                    cycles += ipm[i] * cycles_per_unit[k]
                col = column[k]
            elif k == stages:
                cycles = entry_cycles[i] * ipm[i]
                col = 2
            else:
                cycles = switch_cycles[i]
                col = 1
            sec = cycles / c
            if own[k]:
                sec *= time_scale[i]
            u = sec * (handled[i] if col >= 2 else rate[i])
            seconds[i, k] = sec
            table[i, k] = u
            if first:
                mean_table[i, k] = u * w
            else:
                mean_table[i, k] += u * w
            proc_stat[col, i] += n * u
            used += u
        busy[i] += n * used
        cpu_busy[i] = used


@_compiled
def level_moments(flows, level, count, weight, capacity, rate, start, band_low, band_high,
                  waste, lost, cuts, n_wire, bursts, frames_per_burst, napi_load, irq_load,
                  delay_low_s, delay_span_s, ramp_low_pps, ramp_inv_width, poll_floor,
                  app_static, app_irq_cycles, app_poll_cycles, app_poll_floor,
                  app_switch_cycles, app_capacity, limits, flow_static, flow_irq_cycles,
                  smt_gain, flow_poll_cycles, idle_residency_s, idle_exit_s, reader_here, convex,
                  carried, handled, ipm, polls, switch, wakeups, handoffs, deferred, time_scale,
                  wake_delay, wake_delay_square):
    """Rate-dependent work per message of the CPUs at each thread level, weighted by what they carry.

    Parameters
    ----------
    flows, level, count, weight : numpy.ndarray
        The patterns as runs and their probabilities (:func:`spread_moments`).
    capacity, rate, start, band_low, band_high, waste, lost, cuts : numpy.ndarray
        As for :func:`spread_moments`: each CPU carries ``_carried(R, k x, k x0)``,
        or, offered more than ``R`` with ``waste > 0`` or ``lost > 0``,
        :func:`_overloaded`'s delivery; such a CPU is fully busy, and its terms
        are those at ``R``, weighted by the messages its softirq handles.
    n_wire, bursts, frames_per_burst, delay_low_s, delay_span_s, ramp_low_pps, \
ramp_inv_width : numpy.ndarray
        ``(S,)`` the interrupt model (as for :func:`core_rates`).
    napi_load, irq_load : numpy.ndarray
        ``(S, T)`` its loads on a CPU at each thread level.
    poll_floor : numpy.ndarray
        ``(S, K)`` polls per message each NAPI poll stage needs when
        batch-limited.
    app_static, app_irq_cycles, app_switch_cycles : numpy.ndarray
        ``(S,)`` the reader's core: its rate-independent cycles per message,
        cycles per interrupt and cycles per wake-up (0: no reader there).
    app_poll_cycles, app_poll_floor : numpy.ndarray
        ``(K2,)`` and ``(S, K2)`` that core's NAPI polls.
    app_capacity : numpy.ndarray
        ``(S, T)`` that core's cycles/s at each thread level.
    limits : numpy.ndarray
        ``(S, 9)`` NAPI weight, ``__do_softirq``'s run limit, its time
        limit in seconds and the full polls a run's budget allows
        (:func:`_deferral`); then what the wake-ups need: the most
        deliveries one message can make (the units the socket receives per
        message), the cycles of a further ``read()`` beyond the message's
        first, the packets each flow's runs on the wire hold, the
        seconds from a wake-up to the reader's reading, and how irregularly
        messages reach it (``solver.wakeups_per_message``'s ``arrival_scv``).
    flow_static, flow_irq_cycles : numpy.ndarray
        ``(S,)`` the interrupted CPU's own work (its flow core: the reader's
        too when ``reader_here``): rate-independent cycles per message and
        cycles per interrupt.
    smt_gain : numpy.ndarray
        ``(S,)`` what a second busy hardware thread adds (``Host.smt_gain``).
    flow_poll_cycles : numpy.ndarray
        ``(K,)`` cycles per invocation of the flow core's NAPI polls.
    idle_residency_s, idle_exit_s : numpy.ndarray
        ``(J,)`` the idle states a sleeping reader's CPU enters
        (``solver.idle_states_s``).
    reader_here : bool
        Whether the reader runs on the CPU that takes the interrupts (then
        an interrupt that finds it asleep ends the inline runs early).
    convex : bool
        As for :func:`spread_moments`: a CPU carrying ``r`` inside its band
        ``(low, high)`` spends a share ``theta = (r - low) / (high - low)``
        of the time at ``high`` and the rest at ``low``, and its work per
        message is the mix of the two, weighted by what each carries.
    carried, handled, ipm, switch, wakeups : numpy.ndarray
        ``(S, T)`` written: messages/s all of a level's CPUs carry
        (expected) and their softirq handles (more than they carry only
        where they are livelocked), and their interrupts, wake-up cycles
        and wake-ups per message handled.
    polls : numpy.ndarray
        ``(S, T, K)`` written: invocations per message of each poll stage.
    handoffs, deferred : numpy.ndarray
        ``(S, T)`` written: hand-offs to ksoftirqd per message, and the
        share of messages whose polling ksoftirqd does.
    time_scale : numpy.ndarray
        ``(S, T)`` written: the seconds the level's CPUs really spend on
        their own work, over what they would spend at ``app_capacity``
        (the speed of a thread whose siblings never rest): at most 1.
    wake_delay, wake_delay_square : numpy.ndarray
        ``(S, T)`` written: the chance a message's last delivery finds its
        reader asleep (the wake-ups per delivery) times the mean and the
        mean square of the wake-up's latency (``latency_s`` and the exit
        latency of the idle state the reader slept in): the mean and mean
        square of what a message waits for its reader (the latency model;
        the wake-ups of its earlier deliveries pass while the rest of it is
        on its way).

    Notes
    -----
    Each value is ``sum w n r f(r, k) / sum w n r`` over the patterns' runs
    at the level: a CPU carrying ``r`` for ``k`` flows takes ``f(r, k)`` per
    message, so the mean work per second of the level's CPUs is exact, where
    ``f`` at the mean rate is not (``f`` is not linear).  A level that
    carries nothing gets ``f(0, 1)``.

    The wake-ups: a polling period delivers to ``d`` of the CPU's ``k``
    readers (:func:`_readers_per_interrupt`), so ``min(most, d * i)``
    deliveries per message could each wake one (``solver.wakeups_per_message``);
    a wake-up costs two context switches and, when a message takes several
    deliveries, ``read_cycles`` more in the share ``1 - 1 / deliveries`` of
    them that restart a read (the reader's loop calls ``read()`` again).

    Hyper-threads: ``capacity`` is what a CPU sustains at level ``t`` when
    its ``t - 1`` busy siblings never rest (then they are saturated too).
    Below it, a CPU busy a share ``u`` of the time whose siblings are as
    busy as it runs at ``smt_speed(u)`` of its core, faster than at
    capacity: it works at ``z = smt_speed(u) / smt_speed(1)`` times
    ``app_capacity``, which lowers its loads (its NAPI, interrupt and
    reader terms see ``z`` times the cycles per second) and so its ``u``.
    ``z`` is where the two agree (1 at capacity and at a band's edges,
    where ``u = 1``): the terms are worked out at ``z = 1`` and at the
    speed ``z1`` their work gives, taken as linear in ``z`` between the
    two, and the agreement is solved on that line (:func:`_smt_on_line`).
    The fixed point itself, iterated to 1e-13, takes four or five
    evaluations of the terms where this takes two, and moves the paper's
    1-80 flow curves (three paths, both protocols) by at most 2.2e-4 in
    receive CPUs, 7e-4 in interrupts and 3.4e-3 in context switches.
    Every term above is taken at ``z``, and ``time_scale`` is ``sum w u /
    z / sum w u`` over the level's CPUs (``u`` at ``app_capacity``).
    """
    size, levels = capacity.shape
    patterns, width = flows.shape
    k_polls = poll_floor.shape[1]
    # The weight each distinct (level, rate) carries, in an open-addressed table stamped
    # with the scenario; f is worked out once per entry at the end.  Within a scenario the
    # patterns give their CPUs few distinct rates (about a tenth of the runs), and the
    # table has room for twice as many entries as there are runs (each run may make two,
    # at a band's edges, when convex), so it never fills.
    bits_needed = 4
    while (1 << bits_needed) < 2 * (patterns * width + 1) * (2 if convex else 1):
        bits_needed += 1
    slots = 1 << bits_needed
    shift = np.uint64(64 - bits_needed)
    seen = np.empty((levels, slots))
    seen_flows = np.empty((levels, slots), dtype=np.int64)
    held = np.empty((levels, slots))
    stamp = np.full((levels, slots), -1, dtype=np.int64)
    used = np.empty((levels, slots), dtype=np.int64)
    filled = np.zeros(levels, dtype=np.int64)
    key = np.empty(1)
    bits = key.view(np.uint64)
    for s in range(size):
        for t in range(levels):
            filled[t] = 0
            carried[s, t] = 0.0
            handled[s, t] = 0.0
        # Every run of every pattern, then (p >= patterns) rate 0 at each level left empty.
        for p in range(patterns + levels):
            for j in range(width if p < patterns else 1):
                low = high = 0.0
                if p < patterns:
                    if count[p, j] == 0:
                        continue
                    t = level[p, j] - 1
                    here = flows[p, j]
                    offer = flows[p, j] * rate[s, p]
                    if offer > capacity[s, t] and (waste[s, t] > 0.0 or lost[s, t] > 0.0):
                        # Livelocked or cutting datagrams: as busy as at capacity, where
                        # its terms are taken.
                        kept, took, _, _ = _overloaded(capacity[s, t], offer, waste[s, t],
                                                       lost[s, t], cuts[s], here)
                        r = capacity[s, t]
                        carried[s, t] += weight[p] * count[p, j] * kept
                        share = weight[p] * count[p, j] * took
                        handled[s, t] += share
                        if share <= 0.0:
                            continue
                    else:
                        if convex:
                            r = min(capacity[s, t], offer)
                            low, high = band_low[s, t], band_high[s, t]
                        else:
                            r = _carried(capacity[s, t], offer, flows[p, j] * start[s, p],
                                         band_low[s, t], band_high[s, t])
                        share = weight[p] * count[p, j] * r
                        if share <= 0.0:
                            continue
                        carried[s, t] += share
                        handled[s, t] += share
                else:
                    t = p - patterns
                    if filled[t] > 0:
                        continue
                    r = 0.0
                    share = 1.0
                    here = 1
                # Inside its band (convex), a CPU carries r by turns: a share theta of
                # the time at the band's upper edge, the rest at its lower edge, so that
                # theta * high + (1 - theta) * low = r; each edge's entry is weighted by
                # what it carries.
                halves = 2 if low <= r < high else 1
                upper, lower = band_turns(r, low, high) if halves == 2 else (1.0, 0.0)
                for half in range(halves):
                    r_e, share_e = r, share
                    if halves == 2:
                        r_e = high if half == 0 else low
                        share_e = share * (upper if half == 0 else lower)
                    # An entry per distinct (rate, flows on the CPU).
                    key[0] = r_e
                    m = np.int64(((bits[0] ^ np.uint64(here))
                                  * np.uint64(0x9E3779B97F4A7C15)) >> shift)
                    probes = 0                          # bounded, should r ever be NaN
                    while (stamp[t, m] == s and (seen[t, m] != r_e or seen_flows[t, m] != here)
                           and probes < slots):
                        m = (m + 1) & (slots - 1)
                        probes += 1
                    if stamp[t, m] != s:
                        stamp[t, m] = s
                        seen[t, m] = r_e
                        seen_flows[t, m] = here
                        held[t, m] = 0.0
                        used[t, filled[t]] = m
                        filled[t] += 1
                    held[t, m] += share_e
        for t in range(levels):
            total = 0.0
            irqs = 0.0
            wake_cycles = 0.0
            wakes = 0.0
            handed = 0.0
            late = 0.0
            delay = 0.0
            delay_square = 0.0
            at_full = 0.0                       # sum of share x cycles: w u at app_capacity
            at_own = 0.0                        # the same at each CPU's own speed
            full_speed = smt_speed(1.0, t, smt_gain[s])
            for k in range(k_polls):
                polls[s, t, k] = 0.0
            for e in range(filled[t]):
                m = used[t, e]
                r = seen[t, m]
                here = seen_flows[t, m]
                share = held[t, m]
                # The speed z (over the saturated one) solves z = S(x(z)): x(z) is the
                # CPU's work at speed z, in its core's cycles (a faster CPU idles more,
                # so takes more interrupts and wake-ups: x grows slowly with z), and S
                # the speed that work gives beside siblings as busy (_smt_on_line).
                # The terms are worked out at z = 1 and at z1 = S(x(1)); x and every
                # term are taken as linear in z through the two, and z = S(x) solved
                # on that line.
                i, w, cost, asleep, cycles, wl, wl2 = _cpu_terms(
                    r, here, 1.0, s, n_wire[s], bursts[s], frames_per_burst[s],
                    napi_load[s, t], irq_load[s, t], delay_low_s[s], delay_span_s[s],
                    ramp_low_pps[s], ramp_inv_width[s], poll_floor, app_static[s],
                    app_irq_cycles[s], app_poll_cycles, app_poll_floor,
                    app_switch_cycles[s], app_capacity[s, t], limits, flow_static[s],
                    flow_irq_cycles[s], flow_poll_cycles, idle_residency_s, idle_exit_s,
                    reader_here)
                z = 1.0
                # Fully busy (at capacity, or at an edge of its band): its siblings, bound
                # too, never rest, as its capacity takes them (z = 1).
                if not (t == 0 or r <= 0.0 or r >= capacity[s, t] * _AT_CAPACITY
                        or r == band_low[s, t] or r == band_high[s, t]):
                    x = r * cycles * full_speed / app_capacity[s, t]
                    z1 = _smt_on_line(x, 0.0, t, smt_gain[s], full_speed)
                    if z1 > 1.0:
                        i1, w1, cost1, asleep1, cycles1, wl1, wl21 = _cpu_terms(
                            r, here, z1, s, n_wire[s], bursts[s], frames_per_burst[s],
                            napi_load[s, t], irq_load[s, t], delay_low_s[s], delay_span_s[s],
                            ramp_low_pps[s], ramp_inv_width[s], poll_floor, app_static[s],
                            app_irq_cycles[s], app_poll_cycles, app_poll_floor,
                            app_switch_cycles[s], app_capacity[s, t], limits, flow_static[s],
                            flow_irq_cycles[s], flow_poll_cycles, idle_residency_s,
                            idle_exit_s, reader_here)
                        rise = (r * cycles1 * full_speed / app_capacity[s, t] - x) / (z1 - 1.0)
                        z = _smt_on_line(x, rise, t, smt_gain[s], full_speed)
                        part = (z - 1.0) / (z1 - 1.0)
                        i += part * (i1 - i)
                        w += part * (w1 - w)
                        cost += part * (cost1 - cost)
                        asleep += part * (asleep1 - asleep)
                        cycles += part * (cycles1 - cycles)
                        wl += part * (wl1 - wl)
                        wl2 += part * (wl21 - wl2)
                total += share
                irqs += share * i
                for k in range(k_polls):
                    polls[s, t, k] += share * max(i, poll_floor[s, k])
                wakes += share * w
                wake_cycles += share * w * cost
                delay += share * wl
                delay_square += share * wl2
                chance, past = _deferral(i, bursts[s], n_wire[s], asleep, napi_load[s, t] / z,
                                         limits[s, 0], k_polls, limits[s, 1], limits[s, 2],
                                         limits[s, 3])
                handed += share * i * chance
                late += share * past
                at_full += share * cycles
                at_own += share * cycles / z
            ipm[s, t] = irqs / total
            switch[s, t] = wake_cycles / total
            wakeups[s, t] = wakes / total
            handoffs[s, t] = handed / total
            deferred[s, t] = late / total
            time_scale[s, t] = at_own / at_full if at_full > 0.0 else 1.0
            wake_delay[s, t] = delay / total
            wake_delay_square[s, t] = delay_square / total
            for k in range(k_polls):
                polls[s, t, k] /= total


@_compiled(inline="always")
def _cpu_terms(r, here, z, s, n_wire, bursts, frames_per_burst, napi_load, irq_load,
               delay_low_s, delay_span_s, ramp_low_pps, ramp_inv_width, poll_floor, app_static,
               app_irq_cycles, app_poll_cycles, app_poll_floor, app_switch_cycles, app_capacity,
               limits, flow_static, flow_irq_cycles, flow_poll_cycles, idle_residency_s,
               idle_exit_s, reader_here):
    """One CPU of :func:`level_moments` carrying ``r`` for ``here`` flows, running at
    ``z`` times its saturated speed: its interrupts, the readers' wake-ups and cycles
    per wake-up per message, the chance an interrupt finds its reader asleep, its
    own cycles per message (the flow core's, with the reader's wake-ups if it is here),
    and the chance a message's last delivery finds its reader asleep times the mean and
    mean square of the wake-up's latency."""
    i = _interrupts(r, n_wire, bursts, frames_per_burst, napi_load / z, irq_load / z,
                    delay_low_s, delay_span_s, ramp_low_pps, ramp_inv_width)
    w = 0.0
    cost = 0.0
    asleep = 0.0
    wl = 0.0
    wl2 = 0.0
    # The reader's core runs at z too when it is this CPU; elsewhere at its own speed.
    reader_capacity = app_capacity * z if reader_here else app_capacity
    if app_switch_cycles != 0.0 or reader_here:
        dyn = app_irq_cycles * i
        for k in range(app_poll_cycles.shape[0]):
            dyn += max(i, app_poll_floor[s, k]) * app_poll_cycles[k]
        if app_switch_cycles != 0.0:
            packets = n_wire / i if i > 0.0 else np.inf
            deliveries = min(limits[s, 4],
                             i * _readers_per_interrupt(here, packets, limits[s, 6]))
            cost = app_switch_cycles
            if deliveries > 1.0:
                cost += limits[s, 5] * (1.0 - 1.0 / deliveries)
            w, exit_mean, exit_square = _wake_law(r, deliveries, app_static + dyn, cost,
                                                  reader_capacity, limits[s, 7], limits[s, 8],
                                                  idle_residency_s, idle_exit_s)
            # A message is late by a wake-up when its last delivery finds the reader
            # asleep (the others' wake-ups pass while the rest is on its way): the share
            # w / deliveries of the deliveries that do.
            asleep_share = w / deliveries if deliveries > 0.0 else 0.0
            base = limits[s, 7]
            wl = asleep_share * (base + exit_mean)
            wl2 = asleep_share * (base * base + 2.0 * base * exit_mean + exit_square)
        if reader_here:
            asleep = _asleep(r, i, app_static + dyn, app_switch_cycles, reader_capacity,
                             limits[s, 7], limits[s, 8], idle_residency_s, idle_exit_s)
    cycles = flow_static + flow_irq_cycles * i
    for k in range(flow_poll_cycles.shape[0]):
        cycles += max(i, poll_floor[s, k]) * flow_poll_cycles[k]
    if reader_here:
        cycles += w * cost
    return i, w, cost, asleep, cycles, wl, wl2


@_compiled
def account_sender(static, per_core, cores, column, util, proc_stat, total, top):
    """Utilisation of every send stage on a sending core, with its sums and busiest stage.

    Parameters
    ----------
    static : numpy.ndarray
        ``(N, S)`` cycles per message of each send stage.
    per_core, cores : numpy.ndarray
        ``(N,)`` messages per cycle through one sending core, and how many
        sending CPUs are busy.
    column : numpy.ndarray
        ``(S,)`` int: each stage's /proc/stat column (0 usr, 1 sys, 2
        softirq, 3 irq).
    util : numpy.ndarray
        ``(N, S)`` written: ``static * per_core``.
    proc_stat : numpy.ndarray
        ``(4, N)`` written: ``cores`` times each column's share.
    total : numpy.ndarray
        ``(N,)`` written: the core's utilisation.
    top : numpy.ndarray
        ``(N,)`` int written: the first stage with the largest utilisation.
    """
    size, stages = static.shape
    for i in range(size):
        for j in range(4):
            proc_stat[j, i] = 0.0
        used = 0.0
        best = -1.0
        where = 0
        for k in range(stages):
            u = static[i, k] * per_core[i]
            util[i, k] = u
            proc_stat[column[k], i] += u * cores[i]
            used += u
            if u > best:
                best = u
                where = k
        total[i] = used
        top[i] = where


@_compiled
def stage_cycles(units, data, miss_cycles, unit_col, byte_col, per_unit, per_byte, misses, out):
    """Rate-independent cycles per message of every stage.

    Parameters
    ----------
    units, data : numpy.ndarray
        ``(N, U)`` units and ``(N, B)`` bytes per message (``solver.gated_counts``).
    miss_cycles : numpy.ndarray
        ``(N,)`` cycles of one cache miss.
    unit_col, byte_col : numpy.ndarray
        ``(S,)`` int: the column of ``units`` and of ``data`` each stage is
        charged on.
    per_unit, per_byte, misses : numpy.ndarray
        ``(S,)`` cycles per unit, cycles per byte, cache misses per unit.
    out : numpy.ndarray
        ``(N, S)`` written: ``units * per_unit + bytes * per_byte +
        miss_cycles * units * misses``.
    """
    size, stages = out.shape
    for i in range(size):
        for k in range(stages):
            u = units[i, unit_col[k]]
            cycles = u * per_unit[k] + data[i, byte_col[k]] * per_byte[k]
            if misses[k] != 0.0:
                cycles += miss_cycles[i] * (u * misses[k])
            out[i, k] = cycles


@_compiled
def bottleneck_codes(table, role, position, offsets, tx_top, tx_offset, memory_bound,
                     receiver_bound, arriving, sender_rate, link_rate, offered_rate, link_code,
                     offered_code, memory_code, out):
    """Which constraint binds each scenario, as an index into a list of names.

    Parameters
    ----------
    table : numpy.ndarray
        ``(N, K)`` utilisation of each receive column (stages, softirq entry,
        wake-ups) on a typical busy CPU.
    role, position : numpy.ndarray
        ``(K,)`` int: the receive core each column belongs to, and its place
        among that core's columns.
    offsets : numpy.ndarray
        ``(R,)`` int: where each receive core's names start.
    tx_top : numpy.ndarray
        ``(N,)`` int: the busiest send stage.
    tx_offset : int
        Where the send stages' names start; negative when the sender runs on
        the receive flow core (the name is then that core's).
    memory_bound, receiver_bound : numpy.ndarray
        ``(N,)`` bool: the receiver's DRAM bandwidth binds; its CPUs bind.
    arriving, sender_rate, link_rate, offered_rate : numpy.ndarray
        ``(N,)`` messages/s: what reaches the receivers and each limit.
    link_code, offered_code, memory_code : int
        Names of the link, the offered load and the receiver's DRAM.
    out : numpy.ndarray
        ``(N,)`` int written.

    Notes
    -----
    In order: the receiver's DRAM; a bound receiver, named by its busiest core (largest summed
    columns) and that core's busiest column; the senders, the link and the
    offered load, whichever the arriving rate reached within ``1e-7``; else
    the receive flow core.  Ties go to the first.
    """
    size, columns = table.shape
    roles = offsets.size
    sums = np.empty(roles)
    best = np.empty(roles)
    top = np.empty(roles, dtype=np.int64)
    close = 1.0 - 1e-7
    for i in range(size):
        for r in range(roles):
            sums[r] = 0.0
            best[r] = -np.inf
            top[r] = 0
        for k in range(columns):
            r = role[k]
            v = table[i, k]
            sums[r] += v
            if v > best[r]:
                best[r] = v
                top[r] = position[k]
        first = offsets[0] + top[0]
        if memory_bound[i]:
            out[i] = memory_code
        elif receiver_bound[i]:
            busiest = 0
            for r in range(1, roles):
                if sums[r] > sums[busiest]:
                    busiest = r
            out[i] = offsets[busiest] + top[busiest]
        elif arriving[i] >= close * sender_rate[i]:
            out[i] = tx_offset + tx_top[i] if tx_offset >= 0 else first
        elif arriving[i] >= close * link_rate[i]:
            out[i] = link_code
        elif arriving[i] >= close * offered_rate[i]:
            out[i] = offered_code
        else:
            out[i] = first


@_compiled
def dram_budget(flows, queue_per_flow, queue_per_cpu, cache, ring, memory, out):
    """The most the receiver may deliver before its DRAM bandwidth binds, by busy CPUs.

    Parameters
    ----------
    flows : int
        Flows of the scenarios (every pattern holds them all).
    queue_per_flow, queue_per_cpu, cache, ring : numpy.ndarray
        ``(S,)`` as for :func:`spread_moments`, in messages.
    memory : numpy.ndarray
        ``(S,)`` DRAM bandwidth in messages (of frame bytes) per second.
    out : numpy.ndarray
        ``(S, B)`` written: column ``b``, messages/s with ``b`` busy CPUs
        (``inf`` where the data costs no DRAM traffic).

    Notes
    -----
    A receiver the DRAM holds back is the bottleneck, so every busy CPU
    holds its queue limit; with the DRAM serving every CPU alike, a byte
    waits while the whole backlog ``B = flows * queue_per_flow + b *
    queue_per_cpu`` is written, and is gone before its copy with
    probability ``m = exp(-cache / B)``, whatever the rates.  DRAM bytes per
    byte are then ``2 m + (1 - m) w`` (``w = exp(-cache / (b * ring))`` the
    write-back chance, as in :func:`spread_moments`), and the budget is
    ``memory`` over that.  So it depends on a pattern only through its busy
    CPUs.
    """
    size, widths = out.shape
    for s in range(size):
        out[s, 0] = np.inf                  # no busy CPU: no pattern of flows has none
        for b in range(1, widths):
            backlog = flows * queue_per_flow[s] + b * queue_per_cpu[s]
            miss = math.exp(-cache[s] / backlog) if backlog > 0.0 else 0.0
            rings = b * ring[s]
            write_back = math.exp(-cache[s] / rings) if rings > 0.0 else 0.0
            per_byte = 2.0 * miss + (1.0 - miss) * write_back
            out[s, b] = memory[s] / per_byte if per_byte > 0.0 else np.inf


@_compiled(inline="always")
def _log_pgf_gap(z, rho, c):
    """``log z - log A(z)``, with ``A`` the generating function of the arrivals
    during one gamma service (mean ``rho``, squared variation ``c``; Poisson
    for constant service, ``c = 0``)."""
    if c > 0.0:
        return math.log(z) + math.log1p(rho * c * (1.0 - z)) / c
    return math.log(z) + rho * (1.0 - z)


@_compiled(inline="always")
def _tail_ratio(rho, c):
    """The ratio ``1 / z0`` the departure-epoch law of an M/G/1 chain tends to,
    state by state: ``z0 != 1`` solves ``z = A(z)`` (0 when there is none to
    find, at ``rho = 1`` or too near it).

    ``log z - log A(z)`` is concave and 0 at 1, with slope ``1 - rho`` there,
    so its other root lies below 1 when ``rho > 1`` and above when ``rho <
    1``, and bisection finds it.
    """
    if abs(rho - 1.0) < 1e-6 or not rho > 1e-300:   # (next to no arrivals: all at 0)
        return 0.0
    if rho > 1.0:
        lo, hi = 1e-300, 1.0 - 1e-12            # gap < 0 at lo, > 0 just below 1
    else:
        lo = 1.0 + 1e-12                        # gap > 0 just above 1
        pole = rho * c
        if pole > 1e-300:
            hi = 1.0 + 1.0 / pole
            hi = lo + (hi - lo) * (1.0 - 1e-15)  # gap -> -inf at the pole
        else:                                   # Poisson: gap -> -inf as z grows
            hi = 2.0
            for _ in range(1100):               # (doubling past 1e308 gives inf, then nan)
                if not _log_pgf_gap(hi, rho, c) > 0.0:
                    break
                hi *= 2.0
    if (_log_pgf_gap(lo, rho, c) > 0.0) == (_log_pgf_gap(hi, rho, c) > 0.0):
        return 0.0
    below = _log_pgf_gap(lo, rho, c) < 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if (_log_pgf_gap(mid, rho, c) < 0.0) == below:
            lo = mid
        else:
            hi = mid
    return 1.0 / (0.5 * (lo + hi))


#: States in a row whose ratio must equal the tail's before the rest is taken as
#: geometric, and how close (relative) it must be.
_TAIL_STEPS = 4
_TAIL_RTOL = 1e-13
#: Chances of arrivals below this are taken as 0 (the law's other terms are at least
#: 1e-18 of its sum, so these change nothing; as denormals they slowed the steps 40x).
_NEGLIGIBLE = 1e-300


@_compiled(inline="always")
def _mass_beyond(a_k, k, rho, c, complement):
    """The chance of more than ``k`` arrivals during one service, given the chance
    ``a_k`` of exactly ``k`` and ``complement = 1 - sum_{j <= k} a_j``.

    Where that complement is small its rounding (1e-16) would be most of it, and
    would put a floor under every ``A_j``: the terms past ``k`` are summed
    instead, until they add nothing (they fall at least geometrically).
    """
    if complement > 1e-6:
        return complement
    term = a_k
    total = 0.0
    j = k
    while term > 0.0:
        j += 1
        term *= rho * ((j - 1.0) * c + 1.0) / (j * (1.0 + rho * c))
        if term < _NEGLIGIBLE or term < 1e-18 * total:
            break
        total += term
    return total


@_compiled
def embedded_moments(rho, c, k_cap, zero, mean, died):
    """The departure-epoch law of M/G/1/K chains (``queueing.mg1k``), a row each:
    its chance of an empty system, its mean, and whether it died away before ``K``.

    Parameters
    ----------
    rho, c : numpy.ndarray
        ``(N,)`` offered load and squared variation of the (gamma) service.
    k_cap : numpy.ndarray
        ``(N,)`` each chain's ``K`` (int64, >= 1).
    zero, mean : numpy.ndarray
        ``(N,)`` written: ``pi_0`` and ``sum j pi_j`` of the normalised law.
    died : numpy.ndarray
        ``(N,)`` bool, written: the law fell below 1e-18 of its sum and kept
        falling before its last state (what lies beyond ``K`` is less again).

    Notes
    -----
    With ``a_k`` the chance of ``k`` arrivals during one service (negative
    binomial; Poisson at ``c = 0``) and ``A_j = sum_{k >= j} a_k``, the
    unnormalised law is ``pi_0 = 1``, ``pi_j = (pi_0 A_j + sum_{i=1}^{j-1}
    pi_i A_{j-i+1}) / a_0`` for ``j < K``: ``K^2 / 2`` steps.  Three ways
    out:

    * arrival chances under ``_NEGLIGIBLE`` are 0, so past some ``j`` every
      ``A_j`` is 0 and a step sums only the states within that band of it;
    * a falling row that has died away (checked every eighth state: a term
      under 1e-18 of the sum) stops;
    * far from 0 the law is geometric: ``pi_j = x^j`` solves the recursion
      (without its boundary) when ``z = 1 / x`` solves ``z = A(z)``.  Once
      ``_TAIL_STEPS`` states in a row have the ratio ``1 / z0`` of that
      equation's other root (to ``_TAIL_RTOL``), the rest of the row is
      summed as the geometric series it has become, in ``K`` steps.  Exponential
      service is geometric from the start (M/M/1/K); with ``rho`` within
      1e-6 of 1 the ratio tends to 1 too slowly and the recursion runs on.

    The mass beyond ``K`` in every ``A_j`` is :func:`_mass_beyond`'s (summed
    term by term where ``1 - sum a`` would be mostly rounding).  A row whose
    terms grow past 1e200 is rescaled (only ratios are returned).
    Before 2026-11-28 the recursion always ran to its row's ``K``: a loaded
    64-byte UDP receiver with a 64 MiB socket buffer (``K`` of 87k
    datagrams) took 0.45 s.
    """
    size = rho.size
    top = 1
    for n in range(size):
        top = max(top, k_cap[n])
    a = np.empty(top + 1)
    tail = np.empty(top + 1)
    pi = np.empty(top)
    for n in range(size):
        r, cn, k = rho[n], c[n], k_cap[n]
        a[0] = math.exp(-math.log1p(r * cn) / cn) if cn > 0.0 else math.exp(-r)
        total_a = a[0]
        for j in range(1, k + 1):
            a[j] = a[j - 1] * (r * ((j - 1.0) * cn + 1.0) / (j * (1.0 + r * cn)))
            if a[j] < _NEGLIGIBLE:              # (denormals only slow the arithmetic)
                a[j] = 0.0
            total_a += a[j]
        above = _mass_beyond(a[k], k, r, cn, 1.0 - total_a)   # more than K arrivals
        running = above
        band = k + 1                            # A_j = 0 from here on
        for j in range(k, -1, -1):
            running += a[j]
            tail[j] = running if running >= _NEGLIGIBLE else 0.0
            if tail[j] == 0.0:
                band = j
        ratio = _tail_ratio(r, cn)
        a0 = a[0]
        pi[0] = 1.0
        first = 1.0                             # pi_0, rescaled with the rest
        total = 1.0
        weighted = 0.0
        head = 1.0 / a0
        streak = 0
        died[n] = False
        for j in range(1, k):
            acc = 0.0
            for i in range(max(1, j + 2 - band), j):   # A_{j-i+1} = 0 below that i
                acc += pi[i] * tail[j - i + 1]
            col = head * tail[j] + acc / a0
            pi[j] = col
            total += col
            weighted += j * col
            if col > 1e200:                     # keep the unnormalised law finite
                for i in range(j + 1):
                    pi[i] /= col
                total /= col
                weighted /= col
                first /= col
                head = first / a0
                col = 1.0
            if j % 8 == 0 and col < 1e-18 * total and col <= pi[j - 1]:
                died[n] = True
                break
            if ratio > 0.0 and abs(col - pi[j - 1] * ratio) <= _TAIL_RTOL * col:
                streak += 1
            else:
                streak = 0
            if streak >= _TAIL_STEPS:
                term = col
                for m in range(j + 1, k):       # the geometric rest of the row
                    term *= ratio
                    total += term
                    weighted += m * term
                    if term > 1e200:
                        total /= term
                        weighted /= term
                        first /= term
                        term = 1.0
                    elif ratio < 1.0 and term < 1e-18 * total:
                        died[n] = True
                        break
                break
        zero[n] = first / total
        mean[n] = weighted / total


#: Busy-period counts with chances below this (once falling) are moved into the
#: batch law's lump at ``K``; a lump below _LUMP_NEGLIGIBLE is dropped.  Either moves
#: the tails :func:`reader_blocking` uses by less than 1e-20.
_BATCH_NEGLIGIBLE = 1e-25
_LUMP_NEGLIGIBLE = 1e-20
#: How far the arrival laws of :func:`reader_blocking` are written out, at most.
_LAW_LENGTH_CAP = 1 << 20


@_compiled(inline="always")
def _log_rising(s, m):
    """``log Gamma(s + m) - log Gamma(s)`` for ``s > 0`` and whole ``m >= 0``, to
    about 1e-13 wherever ``s`` lies.

    A nearly constant service makes ``s = n / c`` huge, where the difference of
    two lgammas loses its digits (1e-4 at ``s = 1e11``).  Below 64 steps the sum
    ``m log s + sum_i log1p(i / s)``; past them Stirling's series from ``s = 30``
    (its first omitted term is under 3e-14 there), and two lgammas below it.
    """
    if m < 64.0:
        total = m * math.log(s)
        for i in range(1, int(m)):
            total += math.log1p(i / s)
        return total
    if s < 30.0:
        return math.lgamma(s + m) - math.lgamma(s)
    t = s + m
    corr_t = 1.0 / (12.0 * t) - 1.0 / (360.0 * t ** 3) + 1.0 / (1260.0 * t ** 5)
    corr_s = 1.0 / (12.0 * s) - 1.0 / (360.0 * s ** 3) + 1.0 / (1260.0 * s ** 5)
    return m * math.log(s) + (t - 0.5) * math.log1p(m / s) - m + corr_t - corr_s


@_compiled(inline="always")
def _busy_period_count(n, rho, c):
    """Chance that an M/G/1 busy period serves exactly ``n >= 1`` jobs (gamma
    service of load ``rho`` and squared variation ``c``; ``c = 0``: constant).

    Lagrange inversion of ``N(z) = z A(N(z))`` gives ``(1 / n) P(n - 1
    arrivals during n services)``; ``n`` gamma services are one gamma of
    shape ``n / c``, so the count is negative binomial (Poisson at ``c = 0``:
    the Borel law).  Derivation ``busy_period_count``.
    """
    if n == 1:
        if c > 0.0:
            return math.exp(-math.log1p(rho * c) / c)
        return math.exp(-rho)
    if not rho > 0.0:
        return 0.0
    m = n - 1.0
    if c > 0.0:
        shape = n / c
        log_term = (_log_rising(shape, m) - math.lgamma(n)
                    + m * (math.log(rho * c) - math.log1p(rho * c))
                    - shape * math.log1p(rho * c))
    else:
        log_term = -n * rho + m * math.log(n * rho) - math.lgamma(n)
    return math.exp(log_term) / n


@_compiled
def _batch_sizes(rho, c, k, x):
    """Write the busy-period count law into ``x[0..k]`` with every size ``>= k``
    lumped at ``k`` (a batch that large fills the socket whatever its size);
    returns one past the last nonzero entry.

    Terms under _BATCH_NEGLIGIBLE, once falling, join the lump; the lump is
    ``1 - sum`` where that is over 1e-6 (accurate) and else the falling terms
    summed until they vanish, so its rounding never floors a tail.
    """
    x[:] = 0.0
    head = 0.0
    top = 1
    last = 2.0
    for n in range(1, k):
        term = _busy_period_count(n, rho, c)
        if term < _BATCH_NEGLIGIBLE and term <= last:
            break
        x[n] = term
        head += term
        top = n + 1
        last = term
    lump = 1.0 - head
    if lump <= 1e-6:
        lump = 0.0
        n = top
        while True:
            term = _busy_period_count(n, rho, c)
            lump += term
            if term < 1e-18 * lump or term < _NEGLIGIBLE or n > (1 << 26):
                break
            n += 1
    if lump >= _LUMP_NEGLIGIBLE:
        x[k] = lump
        top = k + 1
    return top


@_compiled
def _service_laws(x, top_x, rho, c, start, length, a, s):
    """Write ``a`` (messages arriving in batches ``x`` during one reader service
    of load ``rho``, squared variation ``c``) and ``s`` (a batch plus those:
    ``X + A``) from term ``start`` to term ``length`` (the terms before
    ``start`` already written); returns ``1 - sum`` of each (not below 0).

    Panjer's recursion for a compound negative binomial (Poisson at ``c = 0``)
    count of batches: ``a_j = p sum_i x_i a_{j-i} + (q / j) sum_i i x_i
    a_{j-i}``.
    """
    if c > 0.0:
        p = rho * c / (1.0 + rho * c)
        step_a, step_b = p, (1.0 / c - 1.0) * p
        first = math.exp(-math.log1p(rho * c) / c)
    else:
        step_a, step_b = 0.0, rho
        first = math.exp(-rho)
    if start == 0:
        a[0] = first
    for j in range(max(1, start), length):
        plain = 0.0
        weighted = 0.0
        for i in range(1, min(j, top_x - 1) + 1):
            term = x[i] * a[j - i]
            plain += term
            weighted += i * term
        acc = step_a * plain + step_b * weighted / j
        a[j] = acc if acc >= _NEGLIGIBLE else 0.0
    top_a = 1
    for j in range(length):
        if a[j] > 0.0:
            top_a = j + 1
    for m in range(start, length):
        acc = 0.0
        for i in range(max(1, m - top_a + 1), min(m, top_x - 1) + 1):
            acc += x[i] * a[m - i]
        s[m] = acc if acc >= _NEGLIGIBLE else 0.0
    return max(0.0, 1.0 - a[:length].sum()), max(0.0, 1.0 - s[:length].sum())


@_compiled
def _overloaded_socket_full(r1, c1, r2, c2, r2e, c2e, k, a0):
    """Whether an overloaded socket's law (``r2 / (1 - r1) > 1``) grows so fast that
    its empty state no longer shows in the loss at double precision.

    Runs the departure chain's cut equations (:func:`reader_blocking`) on the
    first ``J`` terms of the laws, which are exact for ``J`` terms (a term of
    index ``j`` needs the batch and arrival laws' terms up to ``j`` only),
    with the tails taken as ``1 - sum`` of the head (0 at the least): for
    ``J = 64``, then four times as many, up to ``K``.  True once ``pi_0``
    (times the first reading's extra, ``1 + r2e - r2``) is under ``1e-17 r2``
    of the law's mass: the loss is then ``1 - 1 / (E[X] r2)``, the fluid
    limit, to the last digit, and the rest of the chain cannot change that
    (its states only add mass).  Costs ``J^2``, where the
    full chain past capacity costs ``K`` times the laws' length (seconds a row
    at ``K`` of 40,000).
    """
    span = 64
    while span < k:
        x = np.zeros(span + 1)
        for n in range(1, span):
            x[n] = _busy_period_count(n, r1, c1)
        a = np.empty(span)
        s = np.empty(span)
        _service_laws(x, span, r2, c2, 0, span, a, s)
        if r2e != r2 or c2e != c2:           # from empty, the first reading's law
            _service_laws(x, span, r2e, c2e, 0, span, np.empty(span), s)
        tail_a = np.empty(span + 1)
        tail_s = np.empty(span + 1)
        head_a = 0.0
        head_s = 0.0
        for m in range(span + 1):
            tail_a[m] = max(0.0, 1.0 - head_a)
            tail_s[m] = max(0.0, 1.0 - head_s)
            if m < span:
                head_a += a[m]
                head_s += s[m]
        pi = np.empty(span)
        pi[0] = 1.0
        first = 1.0
        total = 1.0
        for j in range(span - 2):
            acc = first * tail_s[j + 2]
            for i in range(1, j + 1):
                acc += pi[i] * tail_a[j - i + 2]
            col = acc / a0
            pi[j + 1] = col
            total += col
            if col > 1e200:
                for i in range(j + 2):
                    pi[i] /= col
                total /= col
                first /= col
            if first * abs(1.0 + r2e - r2) < 1e-17 * r2 * total:
                return True
        span *= 4
    return False


@_compiled
def reader_blocking(rho1, c1, rho2, c2, rho2e, c2e, k_cap, loss, died):
    """Loss at a finite socket whose reader runs only while its CPU's softirq
    work is done (``queueing.reader_blocking``), a row at a time.

    Parameters
    ----------
    rho1, c1 : numpy.ndarray
        ``(N,)`` the softirq's load (``rate * softirq_s``) and the squared
        variation of its (gamma) work per message.
    rho2, c2 : numpy.ndarray
        ``(N,)`` the reader's load (``rate * reader_s``) and variation.
    rho2e, c2e : numpy.ndarray
        ``(N,)`` the same for a reading that starts on an empty socket (the
        reader slept: its wake-up is paid there); ``rho2`` and ``c2`` for
        readings that cost alike.
    k_cap : numpy.ndarray
        ``(N,)`` messages the socket holds, the one being read included
        (int64, >= 1).
    loss : numpy.ndarray
        ``(N,)`` written: the share of messages the socket turns away.
    died : numpy.ndarray
        ``(N,)`` bool, written: the law fell away before ``K`` (loss 0).

    Notes
    -----
    Take out the time the softirq is busy: in the reader's time, softirq
    idle periods (exponential, rate ``lambda``) follow each other, and each
    ends with a busy period whose ``X`` messages reach the socket before the
    reader runs again.  So the socket is an M^X/G/1/K queue (partial batch
    acceptance) fed by batches at ``lambda`` of busy-period size.  Embedded
    at the reader's departures, the number left ``0..K-1`` is skip-free
    downwards, so the cut between ``j`` and ``j + 1`` balances:
    ``pi_{j+1} a_0 = pi_0 B_{j+1} + sum_{i=1}^{j} pi_i A_{j-i+2}`` with
    ``A_m = P(A >= m)`` and ``B_m = P(X + A - 1 >= m)`` (from empty, the
    next service starts with a batch).  Only the state ``K - 1`` sees the
    limit, so these are the unlimited queue's equations, and batch sizes
    past ``K`` may be lumped at ``K`` (they change no event ``A >= m``,
    ``m <= K``).  A reading that starts on an empty socket (after a
    departure that left 0, ``pi_0``) is the exceptional one: ``B`` is taken
    with its arrivals.  The reader finishes ``1 / (s + pi_0 (1 / lambda +
    s_e - s))`` messages per unit of its time, of ``lambda E[X]`` offered:
    loss ``1 - 1 / (E[X] (rho2 + pi_0 (1 + rho2e - rho2)))``, ``E[X] = 1 /
    (1 - rho1)``.  The arrival laws are
    written out past ``K`` until their terms vanish, so a tail past ``K`` is
    a sum, not ``1 - sum``.  Steps: the laws' length times ``min(K, the
    batch law's length)``, then ``K`` times the arrival law's length (less
    where the departure law dies away first).  Derivations
    ``busy_period_count`` and ``reader_blocking``.
    """
    size = rho1.size
    for n in range(size):
        r1, r2, k = rho1[n], rho2[n], k_cap[n]
        died[n] = False
        if not r1 < 1.0:                    # the softirq never lets the reader run
            loss[n] = 1.0
            continue
        mean_x = 1.0 / (1.0 - r1)
        a0 = math.exp(-math.log1p(r2 * c2[n]) / c2[n]) if c2[n] > 0.0 else math.exp(-r2)
        r2e, c2e_n = rho2e[n], c2e[n]
        alike = r2e == r2 and c2e_n == c2[n]
        if a0 < 1e-250 or (r2 * mean_x > 1.0 and k > 64 and _overloaded_socket_full(
                r1, c1[n], r2, c2[n], r2e, c2e_n, k, a0)):   # never catches up: pi_0 ~ 0
            loss[n] = max(0.0, 1.0 - 1.0 / (mean_x * r2))
            continue
        x = np.empty(k + 1)
        top_x = _batch_sizes(r1, c1[n], k, x)
        # The arrival laws, written out from a few terms, doubling.  Short of K they
        # stop once their terms have fallen under 1e-20 and the batches are all in; at
        # K or past it, once what lies past K is large enough for 1 - sum to be
        # accurate, or once their terms vanish against it.
        length = min(k + 1, 64)
        done = 0
        a = np.empty(length)
        s = np.empty(length)
        first_a = np.empty(length)          # the first reading's arrivals (if it differs)
        while True:
            if a.size < length:             # keep the terms written, write the rest
                grown_a = np.empty(length)
                grown_s = np.empty(length)
                grown_f = np.empty(length)
                grown_a[:done] = a[:done]
                grown_s[:done] = s[:done]
                grown_f[:done] = first_a[:done]
                a, s, first_a = grown_a, grown_s, grown_f
            left_a, left_s = _service_laws(x, top_x, r2, c2[n], done, length, a, s)
            if not alike:
                left_s = _service_laws(x, top_x, r2e, c2e_n, done, length, first_a, s)[1]
            done = length
            if length >= _LAW_LENGTH_CAP:
                break
            if length <= k:
                if (length > top_x and s[length - 1] < 1e-20 and a[length - 1] < 1e-20
                        and s[length - 1] <= s[length - 2]
                        and a[length - 1] <= a[length - 2]):
                    left_a = left_s = 0.0
                    break
            else:
                head = 0.0
                for m in range(k):
                    head += s[m]
                if 1.0 - head > 1e-6:
                    break                   # 1 - sum is the mass left, to 1e-10 of it
                past_a = past_s = 0.0
                for m in range(k, length):
                    past_a += a[m]
                    past_s += s[m]
                if s[length - 1] <= 1e-18 * past_s and a[length - 1] <= 1e-18 * past_a:
                    left_a = left_s = 0.0
                    break
            length *= 2
        # Tails summed from the top: tail_a[m] = P(A >= m), tail_s[m] = P(X + A >= m),
        # 0 past the laws' length when nothing is left over.
        span = max(length, k + 1)
        tail_a = np.zeros(span + 2)
        tail_s = np.zeros(span + 2)
        tail_a[length] = left_a
        tail_s[length] = left_s
        for m in range(length - 1, -1, -1):
            tail_a[m] = tail_a[m + 1] + a[m]
            tail_s[m] = tail_s[m + 1] + s[m]
        band = span + 2                     # tail_a[m] = 0 from here on
        for m in range(span + 1, -1, -1):
            if tail_a[m] >= _NEGLIGIBLE:
                break
            tail_a[m] = 0.0
            band = m
        pi = np.empty(k)
        pi[0] = 1.0
        first = 1.0
        total = 1.0
        for j in range(k - 1):              # pi_{j+1} from the cut between j and j + 1
            acc = first * tail_s[j + 2]
            for i in range(max(1, j + 3 - band), j + 1):
                acc += pi[i] * tail_a[j - i + 2]
            col = acc / a0
            pi[j + 1] = col
            total += col
            if col > 1e200:                 # keep the unnormalised law finite
                for i in range(j + 2):
                    pi[i] /= col
                total /= col
                first /= col
                col = 1.0
            if (j + 1) % 8 == 0 and col < 1e-18 * total and col <= pi[j]:
                died[n] = True
                break
        if died[n]:
            loss[n] = 0.0
            continue
        loss[n] = min(1.0, max(0.0, 1.0 - 1.0 / (
            mean_x * (r2 + first / total * (1.0 + r2e - r2)))))
