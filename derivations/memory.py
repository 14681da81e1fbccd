"""DRAM traffic of received bytes: eviction from the DDIO share before reuse."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _dram_per_byte() -> Derivation:
    from queuemodel.memory import dram_bytes_per_byte

    C, W, F, x = sp.symbols("C W F x", positive=True)
    # The bytes written into the cache share between a line's write and its reuse are
    # exponential with mean W; the line is gone if they exceed the share, C bytes.
    density = sp.exp(-x / W) / W
    read_miss = sp.integrate(density, (x, C, sp.oo))
    write_back = read_miss.subs(W, F)
    # Evicted before the copy: written back (1 byte) and read again (1 byte); read in
    # time: written back once later unless the buffer is reused while still cached.
    m, b = sp.symbols("m b", positive=True)
    per_byte = 2 * m + (1 - m) * b
    derived = per_byte.subs({m: read_miss, b: write_back})
    return Derivation(
        name="dram_per_byte",
        title="DRAM bytes per received byte (direct cache access, eviction before reuse)",
        assumptions=(
            "The NIC writes every frame into a C-byte share of the last-level cache (DDIO); "
            "the share is replaced least-recently-used.",
            "The bytes written into the share between a frame's arrival and its copy are "
            "exponential with mean W, the data queued at the receiver; those between two "
            "uses of one receive buffer, with mean F, the rings' footprint.",
            "A line pushed out dirty costs one DRAM write; a copy of a line no longer cached "
            "one DRAM read; a line still cached when its buffer is reused is updated in place.",
        ),
        steps=(
            ("density of the bytes written in between", sp.Eq(sp.Symbol("f(x)"), density)),
            ("read miss: more than C bytes before the copy", sp.Eq(m, read_miss)),
            ("write-back: more than C bytes before the buffer's reuse", sp.Eq(b, write_back)),
            ("DRAM bytes per byte", sp.Eq(sp.Symbol("D"), per_byte)),
        ),
        derived=derived,
        stated=2 * sp.exp(-C / W) + (1 - sp.exp(-C / W)) * sp.exp(-C / F),
        symbols=(W, F, C),
        implemented=lambda W_, F_, C_: dram_bytes_per_byte(W_, F_, C_),
        domain={"W": (1e3, 1e9, False), "F": (1e3, 1e9, False), "C": (1e5, 1e8, False)},
        where="queuemodel.memory.dram_bytes_per_byte",
    )


def _dram_budget() -> Derivation:
    import numpy as np

    from queuemodel.kernels import dram_budget

    def implemented(M_, C_, B_, F_):
        # One busy CPU with one flow whose queue limit is the whole backlog.
        out = np.empty((1, 2))
        dram_budget(1, np.array([B_]), np.array([0.0]), np.array([C_]), np.array([F_]),
                    np.array([M_]), out)
        return out[0, 1]

    M, C, B, F, W, R = sp.symbols("M C B F W R", positive=True)
    # With the DRAM the bottleneck every queue fills; serving every CPU alike, it makes a
    # byte wait while the whole backlog ahead of it is written: W = B.
    m = sp.exp(-C / W).subs(W, B)
    b = sp.exp(-C / F)
    per_byte = 2 * m + (1 - m) * b
    derived = M / per_byte
    return Derivation(
        name="dram_budget",
        title="The delivery a receiver's DRAM bandwidth allows (the DRAM as a shared server)",
        assumptions=(
            "DRAM bytes per byte as in dram_per_byte, with C, B and F counted in messages.",
            "A receiver the DRAM holds back is the bottleneck, so every busy CPU holds its "
            "queue limit (a TCP window per flow; a ring and a socket buffer per flow for "
            "UDP): the backlog B is their sum.",
            "The DRAM serves every CPU alike, so every byte waits equally long: while it "
            "waits the whole backlog is written (W = B), whatever the CPUs' rates.",
            "A rate that needs more than M messages' worth of DRAM traffic per second "
            "cannot be carried; the flows share what can be max-min, as they share a link.",
        ),
        steps=(
            ("read miss with full queues", sp.Eq(sp.Symbol("m"), m)),
            ("write-back before the buffer's reuse", sp.Eq(sp.Symbol("b"), b)),
            ("DRAM bytes per byte", sp.Eq(sp.Symbol("D"), per_byte)),
            ("the most the DRAM lets through", sp.Eq(R, derived)),
        ),
        derived=derived,
        stated=M / (2 * sp.exp(-C / B) + (1 - sp.exp(-C / B)) * sp.exp(-C / F)),
        symbols=(M, C, B, F),
        implemented=implemented,
        domain={"M": (1e3, 1e9, False), "C": (1e2, 1e4, False), "B": (1e2, 1e6, False),
                "F": (1e2, 1e6, False)},
        where="queuemodel.kernels.dram_budget",
    )


def _dram_read_penalty() -> Derivation:
    from queuemodel.memory import CACHE_LINE_BYTES, dram_read_cycles_per_byte

    G, T, N, L, X, lam = sp.symbols("G T N L X lambda", positive=True)
    # Little's law on the misses a core keeps in flight: N lines outstanding, each for T
    # ns, so lambda = N / T lines per ns come in; a byte takes 1 / (lambda L) ns, G cycles
    # per ns.
    rate = sp.solve(sp.Eq(N, lam * T), lam)[0]
    bytes_per_ns = rate * L
    derived = G / bytes_per_ns
    return Derivation(
        name="dram_read_penalty",
        title="Cycles a core spends per byte it reads from DRAM (Little's law on misses)",
        assumptions=(
            "A streaming copy keeps as many cache-line misses outstanding as the core "
            "allows (N: the L2 superqueue, which the L2 streamer fills), each for the DRAM "
            "latency T ns; lines are L bytes.",
            "The copy waits for those lines on top of its own per-byte work on cached data "
            "(the pessimistic reading; an overlapped copy would pay only the larger).",
        ),
        steps=(
            ("Little's law: lines in flight = arrival rate x time in flight",
             sp.Eq(N, lam * T)),
            ("lines per ns", sp.Eq(lam, rate)),
            ("bytes per ns from DRAM", sp.Eq(X, bytes_per_ns)),
            ("cycles per byte at G GHz", sp.Eq(sp.Symbol("c"), derived)),
        ),
        derived=derived.subs(L, CACHE_LINE_BYTES),
        stated=G * T / (N * CACHE_LINE_BYTES),
        symbols=(G, T, N),
        implemented=lambda G_, T_, N_: dram_read_cycles_per_byte(G_, T_, N_),
        domain={"G": (0.5, 6.0, False), "T": (10.0, 400.0, False), "N": (1.0, 64.0, False)},
        where="queuemodel.memory.dram_read_cycles_per_byte",
    )


def _flow_state_miss() -> Derivation:
    from queuemodel.memory import flow_state_miss

    K, s, d, W, C, x, r, D, T = sp.symbols("K s d W C x r D T_C", positive=True)
    # Between two touches of one flow's state its core serves every flow alike: the flow
    # does 1 / d of a message's work, and so does each of the K flows.
    messages = K / d
    reuse = messages * s + (K - 1) * W
    density = sp.exp(-x / D) / D
    gone = sp.integrate(density, (x, C, sp.oo))
    derived = gone.subs(D, reuse)
    # Che's approximation, for comparison: a stream of r s bytes per second fills the
    # cache in T_C = C / (r s); the flow touches its state r d / K times per second.
    che = sp.exp(-(r * d / K) * (C / (r * s)))
    return Derivation(
        name="flow_state_miss",
        title="A flow's state in the per-core L2: gone before the flow touches it again",
        assumptions=(
            "K flows share a core and its C-byte L2 (replaced least-recently-used), each "
            "carrying the same rate; a message's work touches its flow's state d times and "
            "streams s new bytes through the L2 (headers, descriptors, payload).",
            "Between two touches of one flow's state the core does K / d messages' work and "
            "touches each other flow's W bytes of state once.",
            "The bytes touched in between are exponential with that mean, as for the DDIO "
            "share (dram_per_byte).",
        ),
        steps=(
            ("messages' work between two touches of one flow's state",
             sp.Eq(sp.Symbol("M"), messages)),
            ("bytes touched in between (reuse distance)", sp.Eq(D, reuse)),
            ("more than C of them: the line is gone", sp.Eq(sp.Symbol("m"), gone)),
            ("Che's approximation with the stream filling the cache (W = 0) agrees",
             sp.Eq(che, sp.simplify(derived.subs(W, 0)), evaluate=False)),
        ),
        derived=derived,
        stated=sp.exp(-C / (K * s / d + (K - 1) * W)),
        symbols=(K, s, d, W, C),
        implemented=lambda K_, s_, d_, W_, C_: flow_state_miss(K_, s_, d_, W_, C_),
        domain={"K": (1, 200, True), "s": (1e2, 1e6, False), "d": (0.05, 100.0, False),
                "W": (1e1, 1e4, False), "C": (3e4, 4e6, False)},
        where="queuemodel.memory.flow_state_miss",
    )


def _shared_line_remote() -> Derivation:
    from queuemodel.memory import shared_line_remote

    k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    ks = (k1, k2, k3)
    N = sum(ks)
    # Three busy CPUs with k_i of the N flows each; CPU i makes a share p_i = k_i / N of
    # the writes, and a write of CPU i finds the line elsewhere unless the last write
    # was its own (chance p_i, the writes interleaving at random).
    shares = [k / N for k in ks]
    derived = sum(p * (1 - p) for p in shares)

    def implemented(a, b, c):
        # A flow sits on a CPU with k_i flows with chance k_i / N.
        n = a + b + c
        return shared_line_remote([a, b, c], [a / n, b / n, c / n], n)

    return Derivation(
        name="shared_line_remote",
        title="A line every receive CPU writes: last written by another CPU",
        assumptions=(
            "Every CPU that carries flows writes the line in proportion to its flows "
            "(the VXLAN socket's reference count, twice a wire packet): CPU i, with k_i of "
            "the N flows, makes p_i = k_i / N of the writes.",
            "The CPUs' writes interleave at random: the last write before one of CPU i's "
            "was its own with chance p_i.",
            "Three CPUs stand for any number (the sum has one term per CPU).",
        ),
        steps=(
            ("CPU i's share of the writes", sp.Eq(sp.Symbol("p_i"), k1 / N)),
            ("a write finds the line elsewhere, averaged over the writes",
             sp.Eq(sp.Symbol("q"), derived)),
        ),
        derived=derived,
        stated=1 - (k1 * k1 / N + k2 * k2 / N + k3 * k3 / N) / N,
        symbols=ks,
        implemented=implemented,
        domain={"k1": (1, 40, True), "k2": (1, 40, True), "k3": (1, 40, True)},
        where="queuemodel.memory.shared_line_remote",
    )


def derivations() -> list:
    return [_dram_per_byte(), _dram_budget(), _dram_read_penalty(), _flow_state_miss(),
            _shared_line_remote()]
