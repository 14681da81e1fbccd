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
            "w = 0 is the other regime, measured on a veth testbed: nothing coalesces and "
            "every write leaves alone (B = min(G s, m)).",
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

    from queuemodel.flows import gro_segments_per_packet

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
        # GRO may hold every flow of the CPU (gro_max_flows >= k): no evictions
        return gro_segments_per_packet(_one_cpu(k_), np.array([a_]), W_, L_, held=k_)[0]

    return Derivation(
        name="shared_gro",
        title="GRO segments per packet when flows share a receive queue",
        assumptions=(
            "k flows share one receive queue; its NAPI polls are full, W packets each, and "
            "GRO flushes every held segment after a full poll (Linux 4.4, HZ < 1000).",
            "Packets come in runs of L of one flow; each run's flow is drawn at random, "
            "independently, among the k.",
            "GRO may hold a segment for every one of the k flows (k <= gro_max_flows; "
            "shared_gro_evicted covers more).",
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


def _one_cpu(k):
    """Placement patterns of one busy CPU that ``k`` flows share."""
    import numpy as np

    from queuemodel.flows import Patterns

    return [(np.arange(1), Patterns(flows=np.array([[int(k)]]), level=np.ones((1, 1), int),
                                    weight=np.ones(1), draws=1, cpu_level=np.zeros((1, 1))))]


def _shared_gro_evicted() -> Derivation:
    import numpy as np

    from queuemodel.flows import gro_segments_per_packet

    k, G = sp.symbols("k G", integer=True, positive=True)   # flows on the CPU; GRO's limit
    W, L = sp.symbols("W L", positive=True)
    j = sp.Symbol("j", positive=True)
    m = W / L
    # Before GRO is full, the held segments are the flows met so far; a run starts a
    # segment with chance 1 - s/k.  With s replaced by its mean k (1 - (1 - 1/k)^j)
    # (the approximation), run j starts one with chance (1 - 1/k)^j, until the mean
    # reaches G at run j*; from then on G are held and a run starts one with 1 - G/k.
    q = sp.Symbol("q", positive=True)                   # 1 - 1/k, a run missing a flow
    first = sp.solve(sp.Eq(k * (1 - q ** j), G), j)[0].subs(q, 1 - 1 / k)
    before = sp.simplify(k * (1 - (1 - 1 / k) ** first))    # sum of (1 - 1/k)^j, j < j*
    after = (m - first) * (1 - G / k)
    # Evictions only add segments, so the count is never below the unlimited one (which
    # the mean-count approximation can undershoot just past j*).
    unlimited = k * (1 - (1 - 1 / k) ** m)
    derived = sp.Max(unlimited, before + after) / W

    def implemented(k_, W_, L_, G_):
        return gro_segments_per_packet(_one_cpu(k_), np.array([1.0 / W_]), W_, L_,
                                       held=G_)[0]

    def beyond_the_limit(k, W, L, G):
        # more flows than GRO holds, and a poll long enough to fill it
        return k > G and W / L > float(np.log1p(-G / k) / np.log1p(-1.0 / k))

    return Derivation(
        name="shared_gro_evicted",
        title="GRO segments per packet when more flows share a queue than GRO holds",
        assumptions=(
            "As for shared_gro, but k > G, GRO's limit on held segments (MAX_GRO_SKBS); a "
            "run of a flow GRO does not hold flushes the oldest segment and starts one.",
            "Until the poll has met G flows, the count met so far is replaced by its mean "
            "(exact for k <= G, an approximation here).",
            "The poll is long enough to fill GRO: W / L > j*.",
        ),
        steps=(
            ("runs until GRO holds G segments", sp.Eq(sp.Symbol("j^*"), first)),
            ("segments started by then", sp.Eq(sp.Symbol("D_0"), before)),
            ("segments started after", sp.Eq(sp.Symbol("D_1"), after)),
            ("never fewer than with no limit", sp.Eq(sp.Symbol("D"), sp.Max(unlimited,
                                                                       before + after))),
            ("segments per packet", sp.Eq(sp.Symbol("s"), derived)),
        ),
        derived=derived,
        stated=sp.Max(k * (1 - (1 - 1 / k) ** (W / L)),
                      G + (W / L - sp.log(1 - G / k) / sp.log(1 - 1 / k)) * (1 - G / k)) / W,
        symbols=(k, W, L, G),
        implemented=implemented,
        domain={"k": (2, 80, True), "W": (8.0, 256.0, False), "L": (1.0, 16.0, False),
                "G": (1, 40, True)},
        constraint=beyond_the_limit,
        where="queuemodel.flows.gro_segments_per_packet",
    )


def derivations() -> list:
    return [_burst(), _shared_gro(), _shared_gro_evicted()]
