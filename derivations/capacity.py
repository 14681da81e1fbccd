"""Capacity of a core: the largest sustainable rate, and why iteration finds it."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ._base import Derivation


class _Core:
    """A core with overhead o(R) = c / R + d, in the protocol solve_rate expects."""

    def __init__(self, capacity, static, per_second, per_message):
        self.capacity = np.array([capacity], float)
        self.static = np.array([static], float)
        self.c, self.d = per_second, per_message

    def overhead(self, rate, ipm):
        return self.c / rate + self.d

    def take(self, idx):
        return self


class _NoInterrupts:
    def per_message(self, rate):
        return np.zeros_like(rate)

    def take(self, idx):
        return self


def _fixed_point() -> Derivation:
    from queuemodel.solver import solve_rate

    R, C, a, c, d = sp.symbols("R C a c d", positive=True)
    o = sp.Function("o")
    T = C / (a + o(R))
    slope = sp.diff(T, R)
    overhead = c / R + d          # a per-second cost c plus a per-message cost d
    equation = sp.Eq(R * (a + overhead), C)
    derived = sp.solve(equation, R)[0]

    def implemented(C_, a_, c_, d_):
        return solve_rate(np.array([np.inf]), [_Core(C_, a_, c_, d_)], _NoInterrupts())[0]

    return Derivation(
        name="core_capacity",
        title="Sustainable message rate of a core (the fixed point)",
        assumptions=(
            "All stages on a core share its C cycles per second; the hard IRQ preempts softirq "
            "preempts process context, but no cycle is lost to the switching except the "
            "explicit overheads.",
            "Per-message work is a (rate-independent) plus o(R), which never grows with R.",
        ),
        steps=(
            ("the core sustains R while R (a + o(R)) <= C; iterate", sp.Eq(sp.Symbol("T(R)"), T)),
            ("slope of the iteration map", sp.Eq(sp.Symbol("T'(R)"), slope)),
            ("o' <= 0 makes T non-decreasing: from R_0 = C / a the iterates fall to the "
             "largest fixed point. Example o(R) = c / R + d:", equation),
            ("its solution", sp.Eq(R, derived)),
        ),
        derived=derived,
        stated=(C - c) / (a + d),
        symbols=(C, a, c, d),
        implemented=implemented,
        # c < 0.95 C: the map's slope at the fixed point is c / C, and within its 2000 steps
        # the plain monotone iteration (no extrapolation is safe for a slope near 1) reaches
        # 1e-9 only for slopes up to about 0.95 (at 0.99 it stops 1.6e-9 short).
        domain={"C": (1e8, 1e10, False), "a": (10.0, 1e6, False), "c": (1.0, 9.5e7, False),
                "d": (0.0, 1e5, False)},
        where="queuemodel.solver.solve_rate",
    )


def _band_by_turns() -> Derivation:
    from queuemodel.kernels import band_turns

    r, L, H, theta = sp.symbols("r L H theta", positive=True)
    mix = sp.Eq(theta * H + (1 - theta) * L, r)
    share = sp.solve(mix, theta)[0]
    upper = sp.simplify(share * H / r)
    lower = sp.simplify((1 - share) * L / r)

    def implemented(r_, L_, H_):
        return band_turns(r_, L_, H_)[0]

    return Derivation(
        name="band_by_turns",
        title="A CPU inside its overload band carries its rate by turns at the edges",
        assumptions=(
            "Between a band's edges L < H (solver.overload_band) the CPU's load is above 1; "
            "at both edges it is 1 (both sustained).",
            "A TCP flow's window swings across the band, and a CPU that falls behind a UDP "
            "offer polls its backlog with interrupts off until it has caught up, so the "
            "CPU spends a share theta of the time at H and the rest at L, and over time "
            "carries the offer r in L <= r < H.",
        ),
        steps=(
            ("the time shares average the rate", mix),
            ("so the share of the time at the upper edge is", sp.Eq(theta, share)),
            ("its load is theta * 1 + (1 - theta) * 1 = 1: fully busy, never over; its "
             "work per message is the edges' weighted by what each carries: the upper "
             "edge carries the share", sp.Eq(sp.Symbol("w_H"), upper)),
            ("and the lower edge the rest (the two add to 1)",
             sp.Eq(sp.Symbol("w_L"), lower)),
            ("check", sp.Eq(sp.simplify(upper + lower), 1)),
        ),
        derived=upper,
        stated=H * (r - L) / (r * (H - L)),
        symbols=(r, L, H),
        implemented=implemented,
        domain={"r": (1e3, 1e7, False), "L": (1e3, 1e7, False), "H": (1e3, 1e7, False)},
        constraint=lambda r, L, H: L <= r < H and H > L * (1 + 1e-6),
        where="queuemodel.kernels.band_turns",
    )


def _livelock() -> Derivation:
    from queuemodel.kernels import _livelocked

    X, s1, s2 = sp.symbols("X s1 s2", positive=True)
    reader_time = 1 - X * s1
    derived = reader_time / s2
    R, w = 1 / (s1 + s2), s1 / s2

    def implemented(X_, s1_, s2_):
        return _livelocked(1.0 / (s1_ + s2_), X_, s1_ / s2_)[0]

    return Derivation(
        name="livelock_delivery",
        title="What a livelocked CPU delivers past its capacity",
        assumptions=(
            "One CPU runs a UDP flow's softirq work (s1 seconds per message, interrupts "
            "included) and its reader (s2); the softirq preempts the reader and never "
            "defers (Host.overload_defers_softirq false), so it works on every message "
            "offered while it can keep up, X s1 < 1.",
            "The reader copies what the time the softirq leaves lets it; the socket drops "
            "the rest, after the softirq's work on it (a fluid picture: a large socket).",
        ),
        steps=(
            ("the softirq takes the share X s1 of the CPU, the reader the rest",
             sp.Eq(sp.Symbol("u_reader"), reader_time)),
            ("so the reader delivers", sp.Eq(sp.Symbol("D"), derived)),
            ("with the CPU's capacity R = 1 / (s1 + s2) and waste w = s1 / s2 that is "
             "(the result below, as coded), R itself at X = R",
             sp.Eq(sp.Symbol("D"), sp.Symbol("R") - sp.Symbol("w") * (X - sp.Symbol("R")))),
            ("and nothing once the softirq alone fills the CPU",
             sp.Eq(sp.Symbol("X_0"), sp.simplify(R * (1 + 1 / w)))),
        ),
        derived=derived,
        stated=R - w * (X - R),
        symbols=(X, s1, s2),
        implemented=implemented,
        domain={"X": (2e5, 1e6, False), "s1": (1e-6, 3e-6, False), "s2": (5e-7, 3e-6, False)},
        # Short of X = 1 / s1, where the delivery is a difference of numbers near R and
        # its rounding (about 1e-16 R) is no longer small against it.
        constraint=lambda X, s1, s2: 1.0 / (s1 + s2) < X < 0.95 / s1,
        where="queuemodel.kernels._livelocked",
    )


def _fragment_cut() -> list:
    from queuemodel.kernels import _cut_fragments

    x, n, B, rho, u, w = sp.symbols("x n B rho u w", positive=True)
    # Fully busy: H s1 + D s2 = 1 with H = u R, D = (1 - w) H, R = 1 / (s1 + s2) and
    # rho = s1 / s2; divided by s2 R = 1 / (1 + rho):
    busy = sp.Eq(u * (rho + 1 - w), 1 + rho)
    cut_partly = n * (x / u - 1)
    u_partly = sp.solve(busy.subs(w, cut_partly), u)[0]
    derived_partly = sp.simplify(u_partly * (1 - cut_partly.subs(u, u_partly)))
    coded_u = (1 + rho + n * x) / (1 + rho + n)
    stated_partly = coded_u * (1 - n * (x / coded_u - 1))
    u_full = sp.solve(busy.subs(w, n / B), u)[0]
    derived_full = sp.simplify(u_full * (1 - n / B))
    stated_full = (1 + rho) / (1 + rho - n / B) * (1 - n / B)

    def u_of(x, n, rho):
        return (1 + rho + n * x) / (1 + rho + n)

    assumptions = (
        "A UDP flow's CPU at capacity R = 1 / (s1 + s2) messages/s is offered x R (x > "
        "1): s1 seconds of softirq work per message's worth of fragments handled, s2 of "
        "work per message delivered (the reader's, rho = s1 / s2; a reader on a core of "
        "its own is rho = inf, u = 1).",
        "Its queue drops fragments and admits them in runs of B (a ring refilled once "
        "per NAPI poll); a run starts and ends at a uniformly placed fragment of a "
        "datagram, so it holds on average n = (fragments per datagram - 1) fragments "
        "of the two datagrams cut at its ends (tests/test_fragment_waste.py checks this "
        "against a simulation and a real kernel).",
        "A fluid picture: the u R messages' worth handled overflow into the x R offered "
        "by x / u - 1 per fragment admitted, and a run between drops of less than one "
        "fragment cuts in proportion, so the wasted share is w = n min(1 / B, x / u - 1).",
    )
    def delivered(x_, rho_, n_, B_):
        return _cut_fragments(1.0, x_, rho_, n_, B_)[0]

    def domain(x_high):
        return {"x": (1.0, x_high, False), "rho": (0.05, 20.0, False), "n": (1, 60, True),
                "B": (8, 2000, True)}

    shared = dict(assumptions=assumptions, symbols=(x, rho, n, B), implemented=delivered,
                  where="queuemodel.kernels._cut_fragments")
    partly = Derivation(
        name="fragment_cut_delivery",
        title="What a CPU whose ring cuts datagrams delivers, just past capacity",
        steps=(
            ("fully busy: handling u R and delivering (1 - w) u R fill the CPU", busy),
            ("just past capacity the waste follows the overflow", sp.Eq(w, cut_partly)),
            ("so the CPU handles", sp.Eq(u, u_partly)),
            ("and delivers, over R", sp.Eq(sp.Symbol("D/R"), derived_partly)),
            ("R itself at x = 1", sp.Eq(derived_partly.subs(x, 1), 1)),
        ),
        derived=derived_partly, stated=stated_partly, domain=domain(1.2),
        constraint=lambda x, rho, n, B: x > 1.0 and (
            n * (x / u_of(x, n, rho) - 1) < min(1.0, n / B)),
        **shared)
    full = Derivation(
        name="fragment_cut_full",
        title="What a CPU whose ring cuts datagrams delivers, well past capacity",
        steps=(
            ("once every run is cut at both ends the waste is its most", sp.Eq(w, n / B)),
            ("so the CPU handles", sp.Eq(u, u_full)),
            ("and delivers, over R, whatever the offer beyond",
             sp.Eq(sp.Symbol("D/R"), derived_full)),
        ),
        derived=derived_full, stated=stated_full, domain=domain(6.0),
        constraint=lambda x, rho, n, B: n < B and (
            n * (x / u_of(x, n, rho) - 1) >= n / B),
        **shared)
    return [partly, full]


#: Where the fragment cache's two derivations draw their points (h, w, n, C, tau, k).
_CACHE_DOMAIN = {"h": (1e3, 1e6, False), "w": (1e-3, 0.5, False), "n": (2, 45, True),
                 "C": (100.0, 1e6, False), "tau": (0.5, 60.0, False), "k": (1, 20, True)}


def _cache_fills(h, w, n, C, tau, k):
    """Whether the waste a cache would hold passes its size (both derivations' region)."""
    from queuemodel.kernels import IP_ID_SPACE

    wrap = IP_ID_SPACE * k / h
    return h * n * w / k * wrap * -math.expm1(-tau / wrap) >= C


def _fragment_cache() -> Derivation:
    from queuemodel.kernels import _frag_cache_share

    h, w, n, C, tau, k, f = sp.symbols("h w n C tau k f", positive=True)
    junk = h * n * w / k
    full = sp.Eq(C, f * junk * tau)
    derived = sp.solve(full, f)[0]

    def implemented(h_, w_, n_, C_, tau_, k_):
        return _frag_cache_share(h_, w_, n_, C_, tau_, k_)

    return Derivation(
        name="fragment_cache_share",
        title="How long a full fragment cache lets fragments in",
        assumptions=(
            "A CPU admits h datagrams' worth of fragments a second while its fragment "
            "cache lets them in; a share w belongs to datagrams its queue cut (n "
            "fragments each), which never complete; its k flows fill k caches (one per "
            "network namespace) or one.",
            "An incomplete datagram leaves the cache when it times out after tau, or "
            "when a later admitted datagram with its IP identifier meets it (the kernel "
            "purges the stale queue, ip_frag_too_far, and the new datagram takes it): "
            "a memoryless wait of mean W = 65536 k / h (the identifiers come round "
            "every 65,536 datagrams sent, and each time that one is admitted or not), "
            "so while fragments get in the cache holds J W (1 - exp(-tau / W)) "
            "fragments of waste.",
            "Past C fragments a cache that refuses when full (Linux >= 4.17) refuses "
            "every fragment, the colliding ones too, until some time out; a fluid "
            "picture: it stays full, and waste enters it only in the share f of the "
            "time it lets fragments in (tests/test_fragment_waste.py holds the result "
            "to ten runs of a real kernel; near its edge the share is a lower bound).",
        ),
        steps=(
            ("waste entering one cache while fragments get in, fragments/s",
             sp.Eq(sp.Symbol("J"), junk)),
            ("held full of waste that lives tau, entering a share f of the time (Little)",
             full),
            ("so the cache lets fragments in a share", sp.Eq(f, derived)),
            ("which is 1 where the waste it would hold for tau just fills it",
             sp.Eq(sp.Symbol("f_edge"), derived.subs(C, junk * tau))),
        ),
        derived=derived,
        stated=C / (junk * tau),
        symbols=(h, w, n, C, tau, k),
        implemented=implemented,
        domain=_CACHE_DOMAIN,
        constraint=_cache_fills,
        where="queuemodel.kernels._frag_cache_share",
    )


def _fragment_cache_fill() -> Derivation:
    from queuemodel.kernels import IP_ID_SPACE, _frag_cache_terms

    h, w, n, C, tau, k, t, W, J, x = sp.symbols("h w n C tau k t W J x", positive=True)
    N = sp.Function("N")
    grows = sp.Eq(N(t).diff(t), J - N(t) / W)
    held = sp.dsolve(grows, N(t), ics={N(0): 0}).rhs
    # Solved for exp(-t / W) (= x), then for t.
    left = sp.solve(sp.Eq(held.subs(sp.exp(-t / W), x), C), x)[0]
    filled = -W * sp.log(sp.simplify(left))
    rates = {J: h * n * w / k, W: sp.Integer(int(IP_ID_SPACE)) * k / h}
    derived = filled.subs(rates)

    def implemented(h_, w_, n_, C_, tau_, k_):
        return _frag_cache_terms(h_, w_, n_, C_, tau_, k_)[1]

    return Derivation(
        name="fragment_cache_fill_time",
        title="How long a fragment cache takes to fill",
        assumptions=(
            "As for the share: waste enters a cache at J = h n w / k fragments a second, "
            "and until the first time-out (tau) leaves only by collisions, each held "
            "fragment at the rate 1 / W (W = 65536 k / h, a memoryless wait).",
            "The cache fills (J W (1 - exp(-tau / W)) >= C), so it does so before tau, "
            "after which the waste held would stay at that level.",
        ),
        steps=(
            ("waste held, from an empty cache", grows),
            ("so", sp.Eq(sp.Symbol("N"), held)),
            ("which reaches C when", sp.Eq(sp.exp(-t / W), left)),
            ("that is at", sp.Eq(t, filled)),
            ("C / J when the cache is small beside J W (first order in C)",
             sp.Eq(sp.Symbol("t_small"), sp.series(filled, C, 0, 2).removeO())),
        ),
        derived=derived,
        stated=(-W * sp.log(1 - C / (J * W))).subs(rates),
        symbols=(h, w, n, C, tau, k),
        implemented=implemented,
        domain=_CACHE_DOMAIN,
        constraint=_cache_fills,
        where="queuemodel.kernels._frag_cache_terms",
    )


def derivations() -> list:
    return [_fixed_point(), _band_by_turns(), _livelock(), *_fragment_cut(), _fragment_cache(),
            _fragment_cache_fill()]
