"""Sharing: hyper-thread siblings, spread senders, and the max-min water level of TCP flows."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _siblings() -> Derivation:
    from queuemodel.flows import thread_shares

    g = sp.Symbol("g", nonnegative=True)
    t = sp.Symbol("t", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    # The first busy thread has the core; each further one adds g of a thread.
    core = 1 + sp.summation(g, (i, 2, t))
    derived = sp.simplify(core / t)
    return Derivation(
        name="thread_share",
        title="What each busy hyper-thread gets of its core",
        assumptions=(
            "t busy hardware threads of one physical core together do 1 + g (t - 1) threads' "
            "work: each thread beyond the first adds g (Marr et al., Intel Technology Journal "
            "6(1), 2002: up to ~30 %).",
            "The core's time is shared evenly among its busy threads.",
        ),
        steps=(
            ("the core's throughput with t busy threads", sp.Eq(sp.Symbol("C_t"), core)),
            ("each thread's share", sp.Eq(sp.Symbol("s_t"), derived)),
        ),
        derived=derived,
        stated=(1 + g * (t - 1)) / t,
        symbols=(g, t),
        implemented=lambda g_, t_: thread_shares(g_, int(t_))[int(t_) - 1],
        domain={"g": (0.0, 1.0, False), "t": (1, 8, True)},
        where="queuemodel.flows.thread_shares",
    )


def _senders() -> Derivation:
    from queuemodel.flows import sender_core_units

    n, p, t, g = sp.symbols("N P T g", positive=True)
    # The scheduler gives each client a core of its own while there are idle cores; then
    # it pairs clients with busy ones as hyper-thread siblings (each adding g); beyond the
    # logical CPUs a client adds nothing.
    own = sp.Min(n, p)
    siblings = sp.Max(0, sp.Min(n, p * t) - p)
    derived = own + g * siblings
    return Derivation(
        name="sender_core_units",
        title="Cores' worth of sending N clients get",
        assumptions=(
            "The scheduler spreads runnable clients over idle physical cores first, then over "
            "their idle sibling threads (Linux's load balancer prefers idle cores).",
            "A client alone on a core has the whole core; a sibling adds g of a thread.",
        ),
        steps=(
            ("clients with a physical core of their own", sp.Eq(sp.Symbol("n_1"), own)),
            ("clients on a sibling thread", sp.Eq(sp.Symbol("n_2"), siblings)),
            ("cores' worth", sp.Eq(sp.Symbol("U"), derived)),
        ),
        derived=derived,
        stated=sp.Min(n, p) + g * sp.Max(0, sp.Min(n, p * t) - p),
        symbols=(n, p, t, g),
        implemented=lambda n_, p_, t_, g_: sender_core_units(n_, p_, t_, g_),
        domain={"N": (1, 200, True), "P": (1, 64, True), "T": (1, 4, True),
                "g": (0.0, 1.0, False)},
        where="queuemodel.flows.sender_core_units",
    )


def _water_level() -> Derivation:
    import numpy as np

    from queuemodel.kernels import flow_rates

    def water(c_, k1_, k2_, L_):
        # CPU 1 at capacity c, CPU 2 unlimited (each its own level column); senders unlimited.
        rate = np.empty((1, 1))
        flow_rates(np.array([[int(k1_), int(k2_)]]), np.array([[1, 2]]), np.array([[1, 1]]),
                   np.array([2]), np.array([[c_, np.inf]]), np.array([np.inf]),
                   np.array([L_]), np.full((1, 3), np.inf), True, rate,
                   np.full((1, 2), np.inf))
        return rate[0, 0]

    c, k1, k2, L, x = sp.symbols("c k_1 k_2 L x", positive=True)
    # Max-min fairness: every TCP flow gets x unless its CPU is full.  CPU 1 (capacity c,
    # k_1 flows) fills at x = c / k_1; CPU 2 (k_2 flows) never does here.  On the segment
    # past CPU 1's bend the link is shared as c + k_2 x = L.
    balance = sp.Eq(c + k2 * x, L)
    derived = sp.solve(balance, x)[0]
    return Derivation(
        name="water_level",
        title="The fair share of TCP flows when some CPUs are full (max-min water level)",
        assumptions=(
            "TCP flows share the link max-min fairly: each carries x, or all its CPU can "
            "carry if that is less; x rises until the flows fill the link.",
            "sum_b min(cap_b, k_b x) is increasing, concave and piecewise linear in x, bending "
            "where a CPU fills; the library climbs to the root by Newton's method from below, "
            "which lands exactly on the segment that reaches the link.",
            "Shown for two CPUs where the first is full at the root (c < k_1 x) and the "
            "second is not limited.",
        ),
        steps=(
            ("the link is full past the first bend", balance),
            ("the water level", sp.Eq(x, derived)),
        ),
        derived=derived,
        stated=(L - c) / k2,
        symbols=(c, k1, k2, L),
        implemented=water,
        domain={"c": (0.1, 10.0, False), "k_1": (1, 10, True), "k_2": (1, 10, True),
                "L": (0.1, 100.0, False)},
        constraint=lambda c, k_1, k_2, L: L > c * (1 + k_2 / k_1),   # CPU 1 is full at x
        where="queuemodel.kernels.flow_rates",
    )


def derivations() -> list:
    return [_siblings(), _senders(), _water_level()]
