"""Segment coalescing: how much a TCP sender puts on the wire back to back, and how
much GRO merges at the receiver when flows share a queue."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _burst() -> Derivation:
    from queuemodel.wire import tcp_burst_bytes

    m, s, w = sp.symbols("m s w", positive=True)
    G = sp.Symbol("G", integer=True, positive=True)     # segments in the largest GSO burst
    # Writes of m bytes queue in the socket; a busy reader opens the window w segments at
    # a time, and everything queued up to that window leaves together.  A write bigger
    # than the window still goes whole (the window waits for it); GSO caps any burst.
    window = w * s
    released = sp.Max(m, window)
    derived = sp.Min(G * s, released)
    return Derivation(
        name="tcp_burst",
        title="Bytes a TCP sender sends back to back (segment coalescing)",
        assumptions=(
            "The reader is slower than the sender (the flow is receiver-bound), so the send "
            "queue is never empty and the sender waits for window updates.",
            "Each update opens w segments of s bytes (an effective number: the window a "
            "reader frees between two updates; fitted by calibrate() to claim P6).",
            "A write larger than that leaves whole; no burst exceeds the GSO size, G whole "
            "segments.",
        ),
        steps=(
            ("window opened per update", sp.Eq(sp.Symbol("W"), window)),
            ("released per update: the window, or one write if bigger",
             sp.Eq(sp.Symbol("B_0"), released)),
            ("capped by GSO", sp.Eq(sp.Symbol("B"), derived)),
        ),
        derived=derived,
        stated=sp.Min(G * s, sp.Max(m, w * s)),
        symbols=(m, s, w, G),
        implemented=lambda m_, s_, w_, G_: tcp_burst_bytes(m_, s_, G_ * s_ + s_ / 2, w_),
        domain={"m": (1.0, 262144.0, False), "s": (500.0, 9000.0, False),
                "w": (1.0, 64.0, False), "G": (1, 64, True)},
        where="queuemodel.wire.tcp_burst_bytes",
    )


def _shared_gro() -> Derivation:
    import numpy as np

    from queuemodel.flows import Patterns, gro_segments_per_packet

    k = sp.Symbol("k", integer=True, positive=True)     # flows sharing the CPU's queue
    W, L, a = sp.symbols("W L a", positive=True)        # poll, run (packets); alone
    i = sp.Symbol("i", integer=True, positive=True)
    m = W / L                                           # runs in one full poll
    # A run belongs to any one flow with chance 1/k, independently of the others, so a
    # flow is missing from all m runs with chance (1 - 1/k)^m; by linearity the poll
    # holds the sum of the k flows' chances of showing up.
    absent = (1 - 1 / k) ** m
    distinct = sp.Sum(1 - absent, (i, 1, k)).doit()
    # GRO holds one segment per flow and flushes them all after the full poll: a flow
    # that shows up starts one segment in it; a flow alone merges as it would anyway.
    derived = sp.Max(a, distinct / W)

    def implemented(k_, W_, L_, a_):
        flows = np.array([[int(k_)]])
        groups = [(np.arange(1), Patterns(flows=flows, level=np.ones((1, 1), int),
                                          weight=np.ones(1), draws=1,
                                          cpu_level=np.zeros((1, 1))))]
        return gro_segments_per_packet(groups, np.array([a_]), W_, L_)[0]

    return Derivation(
        name="shared_gro",
        title="GRO segments per packet when flows share a receive queue",
        assumptions=(
            "k flows share one receive queue; its NAPI polls are full, W packets each, and "
            "GRO flushes every held segment after a full poll (Linux 4.4, HZ < 1000).",
            "Packets come in runs of L of one flow; each run's flow is drawn at random, "
            "independently, among the k.",
            "GRO holds a segment for every flow in the poll (its limit of 8 is not reached).",
            "A flow alone forms a segments per packet (a >= 1 / W).",
        ),
        steps=(
            ("runs in a full poll", sp.Eq(sp.Symbol("m"), m)),
            ("a given flow shows up in none of them", sp.Eq(sp.Symbol("p_0"), absent)),
            ("flows in the poll, one segment each", sp.Eq(sp.Symbol("D"), distinct)),
            ("segments per packet", sp.Eq(sp.Symbol("s"), derived)),
        ),
        derived=derived,
        stated=sp.Max(a, k * (1 - (1 - 1 / k) ** (W / L)) / W),
        symbols=(k, W, L, a),
        implemented=implemented,
        domain={"k": (2, 40, True), "W": (8.0, 256.0, False), "L": (1.0, 64.0, False),
                "a": (1.0 / 8.0, 1.0, False)},
        where="queuemodel.flows.gro_segments_per_packet",
    )


def derivations() -> list:
    return [_burst(), _shared_gro()]
