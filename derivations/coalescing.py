"""Segment coalescing: how much a TCP sender puts on the wire back to back, and how
much GRO merges at the receiver when flows share a queue."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _burst() -> Derivation:
    from queuemodel.wire import tcp_burst_bytes

    m, s, k = sp.symbols("m s k", positive=True)
    G = sp.Symbol("G", integer=True, positive=True)     # segments in the largest GSO burst
    # k writes of m bytes gather while the last burst is held (tcp_writes), and leave
    # together; fewer than one write is still a write.  GSO caps any burst.
    gathered = m * sp.Max(1, k)
    derived = sp.Min(G * s, gathered)
    return Derivation(
        name="tcp_burst",
        title="Bytes a TCP sender sends back to back",
        assumptions=(
            "k writes of m bytes leave together (tcp_writes gives k); k <= 1 sends each "
            "write alone.",
            "No burst exceeds the GSO size, G whole segments of s bytes; a bigger write "
            "leaves in GSO segments.",
        ),
        steps=(
            ("gathered writes", sp.Eq(sp.Symbol("B_0"), gathered)),
            ("capped by GSO", sp.Eq(sp.Symbol("B"), derived)),
        ),
        derived=derived,
        stated=sp.Min(G * s, m * sp.Max(1, k)),
        symbols=(m, s, k, G),
        implemented=lambda m_, s_, k_, G_: tcp_burst_bytes(m_, s_, G_ * s_ + s_ / 2, k_),
        domain={"m": (1.0, 262144.0, False), "s": (500.0, 9000.0, False),
                "k": (0.0, 1000.0, False), "G": (1, 64, True)},
        where="queuemodel.wire.tcp_burst_bytes",
    )


def _writes() -> Derivation:
    import numpy as np

    from queuemodel.solver import tcp_writes_per_burst

    k = sp.Symbol("k", positive=True)                   # writes per burst
    # Sender cycles per message: a per message, p per wire packet, r per receive segment,
    # g per burst.  Writes of m bytes; s bytes an MSS; GRO segments of J and GSO segments
    # of G whole MSS.  H = hold x clock: cycles the sender runs while a burst is held.
    a, p, r, g, m, H = sp.symbols("a p r g m H", positive=True)
    s, J, G = sp.symbols("s J G", integer=True, positive=True)
    u, v = m / s, m / (J * s)               # packets, receive segments a message when full
    cost = a + p * sp.Max(u, 1 / k) + r * sp.Max(v, 1 / k) + g / k
    # k c(k) = H: k max(x, 1/k) = max(k x, 1), and a sum of maxes is the max of the four
    # sums, each a rising line in k.
    lines = [a * k + p * (u * k if i else 1) + r * (v * k if j else 1) + g
             for i in (0, 1) for j in (0, 1)]
    roots = [sp.solve(sp.Eq(line, H), k)[0] for line in lines]
    # The max of rising lines reaches H where the first of them does: the smallest root.
    most = sp.Max(1, G * s / m)
    derived = sp.Min(sp.Max(sp.Min(*roots), 1), most)
    stated = sp.Min(most, sp.Max(1, sp.Min(
        (H - g - p - r) / a, (H - g - r) / (a + p * m / s), (H - g - p) / (a + r * m / (J * s)),
        (H - g) / (a + p * m / s + r * m / (J * s)))))

    def implemented(a_, p_, r_, g_, m_, s_, J_, G_, H_):
        # A sender of four stages, charged per message, wire packet, receive segment and
        # burst; a 1 GHz clock, so H cycles are H ns of hold.
        class Side:
            cycles_per_unit = np.array([a_, p_, r_, g_])
            misses_per_unit = np.zeros(4)
            cycles_per_byte = np.zeros(4)
            unit_col = np.arange(4)
            byte_col = np.zeros(4, int)

        class Host:
            ghz, dram_latency_ns, tcp_coalesce_hold_us = 1.0, 0.0, H_ * 1e-3
            mtu, link_segments = s_ + 52, True             # IPv4 20 + TCP 32 (timestamps)
            gso_max_bytes, gro_max_bytes = G_ * s_, J_ * s_
            napi_weight = 1 << 16

        return tcp_writes_per_burst(Side, np.array([m_]), Host, 0)[0]

    return Derivation(
        name="tcp_writes",
        title="TCP writes per burst: the sender's speed over a hold",
        assumptions=(
            "A burst that has left holds the next writes back for a time T (autocorking "
            "until the NIC reports it sent, Nagle's rule until it is acknowledged); the "
            "writes the sender makes meanwhile leave together as the next burst.",
            "The sender writes as fast as its core runs its stages: R = cap / c(k) "
            "messages a second, c(k) its cycles per message when k writes share a burst; "
            "so k = R T, that is k c(k) = H with H = T cap.",
            "Per message it pays a (its bytes included), p per wire packet, r per receive "
            "segment and g per burst.  A burst of k writes of m bytes fills max(m/s, 1/k) "
            "packets and max(m/(J s), 1/k) receive segments a message (MSS s, GRO "
            "segments of J MSS), and 1/k bursts.",
            "At least one write a burst, at most a GSO segment's worth (G MSS).",
        ),
        steps=(
            ("cycles per message", sp.Eq(sp.Symbol("c"), cost)),
            ("k c(k) as rising lines: their max", sp.Eq(sp.Symbol("L"), sp.Max(*lines))),
            ("where each line reaches H", sp.Eq(sp.Symbol("k_j"), sp.Tuple(*roots))),
            ("the max reaches H at the smallest root; clipped to [1, G s / m]",
             sp.Eq(k, derived)),
        ),
        derived=derived,
        stated=stated,
        symbols=(a, p, r, g, m, s, J, G, H),
        implemented=implemented,
        domain={"a": (10.0, 5000.0, False), "p": (0.0, 5000.0, False),
                "r": (0.0, 5000.0, False), "g": (0.0, 20000.0, False),
                "m": (1.0, 70000.0, False), "s": (500, 9000, True), "J": (1, 45, True),
                "G": (1, 45, True), "H": (0.0, 1e6, False)},
        where="queuemodel.solver.tcp_writes_per_burst",
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
    return [_burst(), _writes(), _shared_gro(), _shared_gro_evicted()]
