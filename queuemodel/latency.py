"""Latency and finite-buffer loss: a flow's messages through a tandem of stations.

A message of one flow, offered at a steady rate below the flow's cap,
passes these stations in order (paths as data: the list is built from the
solved scenario, never per path):

1. ``tx:app-core``: the sender's core, every transmit stage (FIFO);
2. ``link``: serialisation of the message's wire bytes (FIFO, constant
   service), shared by all flows;
3. ``rx:moderation``: the wait for the receive interrupt that interrupt
   moderation holds back (a pure delay, :func:`moderation_wait_s`);
4. ``rx:flow-core``: the receive CPU its hash picks, where hard IRQ
   preempts softirq preempts process context
   (:func:`queuemodel.queueing.priority_sojourn_s`);
5. ``rx:wake-up``: the wait for a sleeping reader to wake (a pure delay:
   ``Host.wake_latency_us`` and the exit latency of the idle state its CPU
   slept in, for the messages whose last delivery finds it asleep, a share
   of them :func:`queuemodel.solver.wakeups_per_message` per delivery);
6. ``rx:app-core``: the receiving application's core, when it has one of
   its own (FIFO).

Assumptions, stated once: arrivals to the first station form a renewal
stream with the workload's ``arrival_scv`` (1 = Poisson); each station's
departures feed the next with Whitt's linking equation (and random
thinning where one stream splits over CPUs); a station's work per message
is gamma distributed with SCV ``host.service_scv`` per context segment
(the link's is constant); a message is a store-and-forward job, which is
exact for one-packet messages and overstates a large message's time (its
packets pipeline through the stations); the stations' sojourns are
independent, so means and variances add; the total's tail is a gamma law
with that mean and variance.  Loss: UDP datagrams find finite buffers
(the RX ring before the flow core, the socket receive buffer before the
application).  With the application on a core of its own each is an
M/G/1/K queue at its offered load (:func:`queuemodel.queueing.mg1k`); with
the application under the softirq on one CPU the ring is M/G/1/K of the
softirq work and the socket receives each softirq busy period's messages as
one burst (:func:`queuemodel.queueing.reader_blocking`), below the CPU's
capacity; past it the CPU's whole work and both buffers are one M/G/1/K,
whose loss tends to the capacity model's drop fraction.  TCP never
overflows them (its window throttles the sender), so its loss is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import queueing as q

__all__ = ["Station", "tandem", "moderation_wait_s", "STATION_NAMES"]

#: Stations in the order a message visits them.
STATION_NAMES = ("tx:app-core", "link", "rx:moderation", "rx:irq-wake-up", "rx:flow-core",
                 "rx:wake-up", "rx:app-core")

#: The tail quantile reported as ``latency_p99_us``.
P99 = 0.99


@dataclass(frozen=True)
class Station:
    """One station of the tandem, over a flat array of scenarios.

    Attributes
    ----------
    name : str
        One of :data:`STATION_NAMES`.
    rate : numpy.ndarray
        Messages per second arriving at it (all flows it serves).
    mean_s : numpy.ndarray
        Mean work per message, s (for a delay: its mean).
    share : numpy.ndarray
        Share of the previous station's output this station receives
        (random thinning), or 1.
    higher_s : numpy.ndarray or None
        Work per message that preempts a message's last segment (a
        priority core), else None (FIFO).
    service_scv : numpy.ndarray
        Variability of the work per message.
    delay_var_s2 : numpy.ndarray or None
        For a pure delay (no queue): its variance; else None.
    """

    name: str
    rate: np.ndarray
    mean_s: np.ndarray
    share: np.ndarray
    higher_s: np.ndarray | None
    service_scv: np.ndarray
    delay_var_s2: np.ndarray | None = None


def tandem(stations, arrival_scv):
    """Mean, variance and p99 of the sojourn through stations in tandem.

    Parameters
    ----------
    stations : sequence of Station
        In the order a message visits them; arrays of shape ``(N,)``.
    arrival_scv : numpy.ndarray
        Variability of the arrivals at the first station.

    Returns
    -------
    dict
        ``mean_s``, ``var_s2`` (totals), ``stable`` (every queue below
        full load), ``parts`` (mean sojourn per station name) and ``rho``
        (utilisation per station name).

    Examples
    --------
    >>> one = Station("link", np.array([0.5]), np.array([1.0]), np.array([1.0]), None,
    ...               np.array([1.0]))
    >>> out = tandem([one], np.array([1.0]))           # M/M/1, rho 0.5: T = S / (1 - rho)
    >>> float(out["mean_s"][0]), bool(out["stable"][0])
    (2.0, True)
    """
    ca2 = np.asarray(arrival_scv, dtype=float)
    mean = 0.0
    var = 0.0
    parts, rhos = {}, {}
    stable = True
    for st in stations:
        if st.delay_var_s2 is not None:            # a pure delay: no queue, no change in ca2
            parts[st.name] = st.mean_s
            mean = mean + st.mean_s
            var = var + st.delay_var_s2
            continue
        ca2 = q.split_scv(ca2, st.share)
        rho = q.utilisation(st.rate, st.mean_s)
        wait = q.kingman_wait_s(st.rate, st.mean_s, ca2, st.service_scv)
        spread = q.wait_variance_s2(wait, rho) + st.service_scv * st.mean_s ** 2
        if st.higher_s is None:
            sojourn = wait + st.mean_s
        else:
            sojourn = q.priority_sojourn_s(st.rate, st.mean_s, st.higher_s, ca2, st.service_scv)
            stretch = 1.0 - q.utilisation(st.rate, st.higher_s)
            with np.errstate(divide="ignore", invalid="ignore"):
                spread = np.where(stretch > 0.0, spread / np.maximum(stretch, 1e-300) ** 2,
                                  np.inf)
        ok = (rho < 1.0) & np.isfinite(sojourn)
        stable = stable & ok
        parts[st.name] = np.where(ok, sojourn, np.inf)
        rhos[st.name] = rho
        mean = mean + parts[st.name]
        var = var + np.where(ok, spread, np.inf)
        ca2 = q.departure_scv(rho, ca2, st.service_scv)
    return {"mean_s": mean, "var_s2": var, "stable": stable, "parts": parts, "rho": rhos}


def moderation_wait_s(rate, bursts, frames_per_burst, busy, tau_s):
    """Mean and second moment of a message's wait for its receive interrupt.

    Parameters
    ----------
    rate : numpy.ndarray
        Messages per second on the receive queue.
    bursts : numpy.ndarray
        Line-rate bursts per message (a TSO segment, a fragmented datagram).
    frames_per_burst : numpy.ndarray
        The moderation frame count in bursts (``frames / burst_packets``).
    busy : numpy.ndarray
        Share of time NAPI is polling (interrupts masked), ``0..1``.
    tau_s : numpy.ndarray
        Moderation delay at this packet rate, s.

    Returns
    -------
    mean_s, second_s2 : numpy.ndarray

    Notes
    -----
    A burst that finds NAPI polling is picked up by the running poll and
    waits for no interrupt; one that finds it idle (a share ``1 - busy``,
    PASTA) joins a moderation window.  The window opens with the burst
    that arms the timer and closes after ``tau`` or when the frame count
    is reached, whichever is first: ``w = tau`` if ``1 + beta tau <= f``,
    else ``(f - 1) / beta`` (never below 0), holding ``n = 1 + beta w``
    bursts (``beta = rate * bursts``).  The first waits ``w``; the others
    arrive uniformly in the window and wait ``w / 2`` on average
    (``w^2 / 3`` in square).  Hence mean ``(1 - busy) w (n + 1) / (2 n)``
    and second moment ``(1 - busy) w^2 (1 + (n - 1) / 3) / n``.

    Examples
    --------
    >>> m, s = moderation_wait_s(np.array([1.0]), 1.0, 44.0, 0.0, 16e-6)
    >>> round(float(m[0]) * 1e6, 3)        # a lone packet waits the full 16 us
    16.0
    """
    rate = np.asarray(rate, dtype=float)
    beta = rate * bursts
    tau_s = np.asarray(tau_s, dtype=float)
    f = np.asarray(frames_per_burst, dtype=float)
    by_timer = 1.0 + beta * tau_s <= f
    with np.errstate(divide="ignore", invalid="ignore"):
        by_frames = np.maximum(f - 1.0, 0.0) / np.where(beta > 0.0, beta, 1.0)
    window = np.where(by_timer, tau_s, by_frames)
    n = 1.0 + beta * window
    idle = np.clip(1.0 - np.asarray(busy, dtype=float), 0.0, 1.0)
    mean = idle * window * (n + 1.0) / (2.0 * n)
    second = idle * window * window * (1.0 + (n - 1.0) / 3.0) / n
    return mean, second
