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


def _sibling_speed() -> Derivation:
    from queuemodel.kernels import smt_speed

    u, g = sp.symbols("u g", positive=True)
    m = sp.Symbol("m", integer=True, positive=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    # Each of the m siblings runs a share u of the time, independently of the thread:
    # with j of them running, the thread gets s_{j+1} = (1 + g j) / (j + 1) of the core.
    mean = sp.Sum(sp.binomial(m, j) * u ** j * (1 - u) ** (m - j) * (1 + g * j) / (j + 1),
                  (j, 0, m))
    # (1 + g j) / (j + 1) = g + (1 - g) / (j + 1), and C(m, j) / (j + 1) = C(m + 1, j + 1)
    # / (m + 1), so the 1 / (j + 1) part is a binomial sum over i = j + 1 = 1..m + 1 that
    # lacks only its i = 0 term: (1 - (1 - u)^(m + 1)) / ((m + 1) u).
    identity = sp.Eq(sp.binomial(m, j) / (j + 1), sp.binomial(m + 1, j + 1) / (m + 1))
    assert sp.simplify(sp.combsimp(identity.lhs - identity.rhs)) == 0
    alone = (1 - (1 - u) ** (m + 1)) / ((m + 1) * u)
    derived = g + (1 - g) * alone
    two = sp.simplify(mean.subs(m, 1).doit())
    return Derivation(
        name="sibling_speed",
        title="How fast a hyper-thread runs beside siblings that rest part of the time",
        assumptions=(
            "A CPU below capacity is busy a share u of the time, and so is each of its m busy "
            "sibling threads (those that carry flows too), independently of it.",
            "With j siblings running, the j + 1 threads share the core evenly: each gets "
            "(1 + g j) / (j + 1) of it (thread_share).",
        ),
        steps=(
            ("the thread's mean speed, over the siblings that run beside it",
             sp.Eq(sp.Symbol("v(u)"), mean)),
            ("split (1 + g j) / (j + 1) = g + (1 - g) / (j + 1) and use", identity),
            ("the binomial theorem over i = j + 1 then leaves out only i = 0",
             sp.Eq(sp.Symbol("v(u)"), derived)),
            ("two threads per core (m = 1): the sibling costs (1 - g) / 2 of the core while "
             "it runs", sp.Eq(sp.Symbol("v_2(u)"), two)),
            ("at u = 1 it is the share of m + 1 saturated threads, so the CPU's capacity "
             "(both saturated) is unchanged; below it, a CPU doing x of a core's work is "
             "busy u with u v(u) = x, at most the x / s_{m+1} of a thread beside siblings "
             "that never rest", sp.Eq(sp.Symbol("v(1)"), sp.simplify(derived.subs(u, 1)))),
        ),
        derived=derived,
        stated=g + (1 - g) * (1 - (1 - u) ** (m + 1)) / ((m + 1) * u),
        symbols=(u, m, g),
        implemented=lambda u_, m_, g_: smt_speed(u_, int(m_), g_),
        domain={"u": (1e-3, 1.0, False), "m": (1, 7, True), "g": (0.0, 1.0, False)},
        where="queuemodel.kernels.smt_speed",
    )


def _sibling_speed_on_line() -> Derivation:
    from queuemodel.kernels import _smt_on_line

    w, k, g = sp.symbols("w k g", positive=True)
    u, z = sp.symbols("u z", positive=True)
    d = (1 - g) / 2
    full = 1 - d                          # v(1) = (1 + g) / 2, the saturated speed
    # Two threads per core: v(u) = 1 - d u (sibling_speed, m = 1), and the CPU at speed
    # z = v(u) / v(1) does w + k (z - 1) of its core's cycles, u v(u) of them.
    speed = sp.Eq(z, (1 - d * u) / full)
    work = sp.Eq(u * (1 - d * u), w + k * (z - 1))
    quadratic = sp.expand(work.lhs - work.rhs.subs(z, speed.rhs))
    low_root = min(sp.solve(quadratic, u), key=lambda e: float(e.subs({w: 0.3, k: 0.1,
                                                                        g: 0.3})))
    derived = (1 - d * low_root) / full
    b = 1 + k * d / full
    c = w + k * (1 / full - 1)
    stated = (1 - d * (b - sp.sqrt(b ** 2 - 4 * d * c)) / (2 * d)) / full
    return Derivation(
        name="sibling_speed_on_line",
        title="The speed of a hyper-thread whose work grows with its speed",
        assumptions=(
            "Two threads per core, each busy u, so each runs at v(u) = 1 - (1 - g) u / 2 "
            "of the core (sibling_speed), z = v(u) / v(1) times its saturated speed.",
            "Its work (interrupts and wake-ups included) grows with its speed: taken as "
            "linear, w + k (z - 1) of the core's cycles per second, through two speeds "
            "worked out (kernels.level_moments).",
        ),
        steps=(
            ("the speed its busy share gives", speed),
            ("the work it does in that share", work),
            ("z eliminated, a quadratic in u", sp.Eq(quadratic, 0)),
            ("its smaller root (the larger is above 1), and the speed",
             sp.Eq(z, derived)),
            ("k = 0 is the busy share of a fixed work, 2 w / (1 + sqrt(1 - 2 (1 - g) w)) "
             "(kernels.smt_busy); w + k (1 / v(1) - 1) >= b - d, b = 1 + k d / v(1), "
             "puts the root at u >= 1: the CPU is saturated and z = 1", sp.Eq(z, stated)),
        ),
        derived=derived,
        stated=stated,
        symbols=(w, k, g),
        implemented=lambda w_, k_, g_: _smt_on_line(w_, k_, 1, g_, (1 + g_) / 2),
        domain={"w": (0.01, 0.6, False), "k": (0.0, 0.3, False), "g": (0.05, 0.95, False)},
        constraint=lambda w, k, g: (w + k * (2 / (1 + g) - 1)
                                    < 1 + k * (1 - g) / (1 + g) - (1 - g) / 2 - 1e-6),
        where="queuemodel.kernels._smt_on_line",
    )


def derivations() -> list:
    return [_siblings(), _sibling_speed(), _sibling_speed_on_line(), _senders(), _water_level()]
