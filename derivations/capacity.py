"""Capacity of a core: the largest sustainable rate, and why iteration finds it."""

from __future__ import annotations

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


def derivations() -> list:
    return [_fixed_point()]
