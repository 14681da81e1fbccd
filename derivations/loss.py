"""Finite buffers: blocking in M/G/1/K from its embedded chain."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _two_places() -> Derivation:
    from queuemodel.queueing import mg1k

    rho, c, s, x = sp.symbols("rho c s x", positive=True)
    p0, p1 = sp.symbols("pi_0 pi_1", positive=True)
    # Gamma service (mean 1, SCV c): chance of no Poisson(rho) arrival during a service is
    # its Laplace transform at rho.
    k, theta = 1 / c, c
    density = x ** (k - 1) * sp.exp(-x / theta) / (sp.gamma(k) * theta ** k)
    a0 = sp.simplify(sp.integrate(sp.exp(-rho * x) * density, (x, 0, sp.oo), conds="none"))
    # K = 2: a departure leaves 0 or 1 behind.  Cut between 0 and 1: up-crossings from 0
    # (at least one arrival in the next service, 1 - a_0) balance down-crossings from 1
    # (no arrival in the service, a_0).
    cut = sp.Eq(p1 * a0, p0 * (1 - a0))
    sol = sp.solve([cut, sp.Eq(p0 + p1, 1)], [p0, p1], dict=True)[0]
    blocking = 1 - 1 / (sol[p0] + rho)
    derived = sp.simplify(blocking)
    return Derivation(
        name="mg1k_blocking",
        title="Loss at a finite buffer (M/G/1/K, shown for K = 2)",
        assumptions=(
            "Poisson arrivals; one server; gamma service times (mean 1 here: rho is the load) "
            "with SCV c; at most K messages in the system, the one in service included "
            "(the RX ring, the socket buffer); arrivals that find K are lost.",
            "Embedded at departures the number left behind is a Markov chain on 0..K-1; "
            "a_k is the chance of k arrivals during one service, A_k = sum_{m>=k} a_m.",
            "Cut equations: pi_j a_0 = pi_0 A_j + sum_{i=1}^{j-1} pi_i A_{j-i+1} (the "
            "library's recursion, all terms positive); time averages p_j = pi_j / (pi_0 + rho) "
            "for j < K, so blocking = 1 - 1 / (pi_0 + rho) (PASTA).  K = 2 in closed form:",
        ),
        steps=(
            ("no arrival during a gamma service", sp.Eq(sp.Symbol("a_0"), a0)),
            ("the cut between 0 and 1", cut),
            ("departure-epoch law", sp.Eq(sp.Symbol("pi_0"), sol[p0])),
            ("blocking", sp.Eq(sp.Symbol("B"), derived)),
        ),
        derived=derived,
        stated=1 - 1 / ((1 + rho * c) ** (-1 / c) + rho),
        symbols=(rho, c),
        implemented=lambda r_, c_: mg1k(r_, 1.0, c_, 2)[0],
        domain={"rho": (1e-3, 50.0, False), "c": (0.05, 4.0, False)},
        where="queuemodel.queueing.mg1k",
    )


def _geometric_tail() -> Derivation:
    from queuemodel.kernels import _tail_ratio

    rho, c, x, z = sp.symbols("rho c x z", positive=True)
    r = sp.Symbol("r", positive=True)
    # The arrivals during one gamma service (mean 1, SCV c): their generating function
    # is the service's Laplace transform at rho (1 - z).
    k, theta = 1 / c, c
    density = x ** (k - 1) * sp.exp(-x / theta) / (sp.gamma(k) * theta ** k)
    pgf = sp.simplify(sp.integrate(sp.exp(-rho * (1 - z) * x) * density, (x, 0, sp.oo),
                                   conds="none"))
    # Far from 0 the cut equation loses its boundary term: pi_j = sum_i pi_i a_{j-i+1}.
    # pi_j = x^j solves it when x^j = sum_k a_k x^(j-k+1), i.e. 1/x = A(1/x).
    exponential = sp.simplify(pgf.subs(c, 1))
    roots = sp.solve(sp.Eq(z, exponential), z)
    other = [root for root in roots if sp.simplify(root - 1) != 0][0]
    derived = sp.simplify(1 / other)
    return Derivation(
        name="mg1k_tail_ratio",
        title="Where a long M/G/1/K chain's law turns geometric (shown for exponential "
              "service)",
        assumptions=(
            "The departure-epoch chain of the M/G/1/K notes above; away from the empty "
            "state its cut equation loses the term pi_0 A_j and reads pi_j = sum_i pi_i "
            "a_{j-i+1} (a skip-free-to-the-left chain).",
            "A trial solution pi_j = x^j gives x^j = sum_k a_k x^(j-k+1), so z = 1/x solves "
            "z = A(z), with A the generating function of the arrivals during one service. "
            "z = 1 always solves it; the law's ratio is 1/z0 for the other root z0 (below 1 "
            "when rho > 1, above 1 when rho < 1). The library finds z0 by bisection for any "
            "SCV and sums a row as a geometric series once its ratio equals 1/z0 "
            "(kernels.embedded_moments); for exponential service in closed form:",
        ),
        steps=(
            ("arrivals during a gamma service, generating function",
             sp.Eq(sp.Function("A")(z), pgf)),
            ("exponential service (c = 1)", sp.Eq(sp.Function("A")(z), exponential)),
            ("the root of z = A(z) other than 1", sp.Eq(sp.Symbol("z_0"), other)),
            ("the law's ratio from state to state", sp.Eq(r, derived)),
        ),
        derived=derived,
        stated=rho,
        symbols=(rho,),
        implemented=lambda r_: _tail_ratio(float(r_), 1.0),
        domain={"rho": (0.01, 20.0, False)},
        constraint=lambda rho: abs(rho - 1.0) > 1e-3,
        where="queuemodel.kernels._tail_ratio",
    )


def derivations() -> list:
    return [_two_places(), _geometric_tail()]
