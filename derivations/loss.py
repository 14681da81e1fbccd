"""Finite buffers: blocking in M/G/1/K from its embedded chain, and at a socket whose
reader runs under the softirq that fills it."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _gamma_no_arrival(rho, c):
    """Chance of no Poisson arrival (rate rho per unit mean work) during a gamma service
    of mean 1 and SCV c: the service's Laplace transform at rho."""
    x = sp.Symbol("x", positive=True)
    k, theta = 1 / c, c
    density = x ** (k - 1) * sp.exp(-x / theta) / (sp.gamma(k) * theta ** k)
    return sp.simplify(sp.integrate(sp.exp(-rho * x) * density, (x, 0, sp.oo), conds="none"))


def _two_places() -> Derivation:
    from queuemodel.queueing import mg1k

    rho, c = sp.symbols("rho c", positive=True)
    p0, p1 = sp.symbols("pi_0 pi_1", positive=True)
    a0 = _gamma_no_arrival(rho, c)
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


def _busy_period_count() -> Derivation:
    from queuemodel.kernels import _busy_period_count as count

    rho, u, z = sp.symbols("rho u z", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    # Exponential service (mean 1): arrivals during one service, generating function.
    pgf = 1 / (1 + rho * (1 - u))
    # A busy period serves its first job, and for each arrival during that service a
    # busy period of its own: N(z) = z A(N(z)).  Lagrange inversion: P(N = n) is
    # (1/n) [u^(n-1)] A(u)^n, the chance of n - 1 arrivals during n services.
    power = (1 + rho) ** -n * (1 - rho * u / (1 + rho)) ** -n
    coefficient = (sp.binomial(2 * n - 2, n - 1) * (rho / (1 + rho)) ** (n - 1)
                   * (1 + rho) ** -n)
    derived = (coefficient / n).rewrite(sp.gamma)
    # Check the inversion against the functional equation's own series: with w = rho /
    # (1 + rho), N <- z A(N) = z (1 - w) sum_k (w N)^k from 0 fixes one more power of z
    # each time (N has no constant term, so k <= 6 is enough to z^6).
    w = sp.Symbol("w")

    def truncated(poly):
        return sp.Poly(sum(c * z ** i * w ** j for (i, j), c in poly.terms() if i <= 6),
                       z, w)

    root = sp.Poly(0, z, w)
    for _ in range(6):
        total, term = sp.Poly(1, z, w), sp.Poly(1, z, w)
        for _ in range(6):
            term = truncated(term * root * sp.Poly(w, z, w))
            total = total + term
        root = truncated(total * sp.Poly(z * (1 - w), z, w))
    in_w = coefficient.subs(rho, w / (1 - w))
    for m in range(1, 7):
        if sp.cancel(sp.together(root.as_expr().coeff(z, m) - (in_w / n).subs(n, m))) != 0:
            raise AssertionError(f"Lagrange inversion disagrees at n = {m}")
    shape = n            # n services of shape 1 (SCV c = 1) are one gamma of shape n / c
    p = rho / (1 + rho)
    stated = (sp.gamma(n - 1 + shape) / (sp.gamma(shape) * sp.gamma(n))
              * p ** (n - 1) * (1 - p) ** shape / n)
    return Derivation(
        name="busy_period_count",
        title="Messages a softirq busy period handles (shown for exponential work)",
        assumptions=(
            "Poisson arrivals at the softirq; gamma work per message of load rho (mean 1 "
            "here) and SCV c; the softirq serves while anything waits (its ring does not "
            "fill).",
            "A busy period serves its first message and, for each arrival during that "
            "service, a busy period of its own: N(z) = z A(N(z)), with A the generating "
            "function of arrivals during one service. Lagrange inversion gives P(N = n) = "
            "(1/n) P(n - 1 arrivals during n services); n gamma services are one gamma of "
            "shape n / c, so that count is negative binomial (Poisson for constant work: the "
            "Borel law). The library writes the negative binomial for any c "
            "(kernels._busy_period_count); for exponential work (c = 1) in closed form, "
            "checked against the series of N = z A(N) to z^6:",
        ),
        steps=(
            ("arrivals during one exponential service", sp.Eq(sp.Function("A")(u), pgf)),
            ("A(u)^n", sp.Eq(sp.Function("A")(u) ** n, power)),
            ("its coefficient of u^(n-1)", sp.Eq(sp.Symbol("c_n"), coefficient)),
            ("the busy period's count", sp.Eq(sp.Symbol("P_n"), derived)),
        ),
        derived=derived,
        stated=stated,
        symbols=(rho, n),
        implemented=lambda r_, n_: count(int(n_), float(r_), 1.0),
        domain={"rho": (0.01, 0.95, False), "n": (1, 40, True)},
        where="queuemodel.kernels._busy_period_count",
    )


def _reader_two_places() -> Derivation:
    from queuemodel.queueing import reader_blocking

    r1, c1, r2, c2, r2e, c2e = sp.symbols("rho_1 c_1 rho_2 c_2 rho_2e c_2e", positive=True)
    p0, p1 = sp.symbols("pi_0 pi_1", positive=True)
    one = _gamma_no_arrival(r1, c1)         # a busy period of one message: none arrive
    a0 = _gamma_no_arrival(r2, c2)          # no batch arrives during a reading
    e0 = _gamma_no_arrival(r2e, c2e)        # ... during a first reading (on empty)
    # K = 2, in the reader's time (the softirq's busy time taken out): batches of the
    # busy period's size arrive as a Poisson stream at the message rate.  A departure
    # leaves 0 or 1.  From 1 the next leaves 0 if no batch arrives (a_0); from 0 the next
    # service, the first reading (the reader slept), starts with a batch and leaves 0
    # only if that batch is one message and no other arrives.
    cut = sp.Eq(p1 * a0, p0 * (1 - one * e0))
    sol = sp.solve([cut, sp.Eq(p0 + p1, 1)], [p0, p1], dict=True)[0]
    # The reader finishes 1 / (s + pi_0 (1 / lambda + s_e - s)) per unit of its time, of
    # lambda E[X] offered, E[X] = 1 / (1 - rho_1) (the mean busy period's count).
    loss = 1 - (1 - r1) / (r2 + sol[p0] * (1 + r2e - r2))
    derived = sp.simplify(loss)
    stated = 1 - (1 - r1) / (r2 + (1 + r2e - r2) * a0 / (
        a0 + 1 - (1 + r1 * c1) ** (-1 / c1) * (1 + r2e * c2e) ** (-1 / c2e)))
    return Derivation(
        name="reader_blocking",
        title="Loss at a socket read under the softirq that fills it (shown for K = 2)",
        assumptions=(
            "One CPU: each message's softirq work (load rho_1, gamma, SCV c_1) runs ahead "
            "of the reader (preemptive resume), the reader's work per message (load rho_2, "
            "SCV c_2) runs only while no softirq work waits; Poisson arrivals; the socket "
            "holds K messages, the one being read included; the ring does not fill.",
            "With the softirq's busy time taken out, its idle periods (exponential) follow "
            "each other: in the reader's time the messages of each softirq busy period "
            "arrive together, as a Poisson stream of batches at the message rate, a batch "
            "the size of a busy period's count (the derivation above). The socket is an "
            "M^X/G/1/K queue with partial batch acceptance; its departure-epoch chain is "
            "skip-free downwards and its cut equations are the unlimited queue's "
            "(kernels.reader_blocking runs them for any K). A reading that starts on an "
            "empty socket (the reader slept; it pays its wake-up) has load rho_2e and SCV "
            "c_2e. Loss = 1 - (1 - rho_1) / (rho_2 + pi_0 (1 + rho_2e - rho_2)). K = 2 in "
            "closed form:",
        ),
        steps=(
            ("a busy period of one message", sp.Eq(sp.Symbol("x_1"), one)),
            ("no batch during a reading", sp.Eq(sp.Symbol("a_0"), a0)),
            ("... during a first reading", sp.Eq(sp.Symbol("e_0"), e0)),
            ("the cut between 0 and 1", cut),
            ("departure-epoch law", sp.Eq(sp.Symbol("pi_0"), sol[p0])),
            ("loss", sp.Eq(sp.Symbol("B"), derived)),
        ),
        derived=derived,
        stated=stated,
        symbols=(r1, c1, r2, c2, r2e, c2e),
        implemented=lambda a, b, c, d, e, f: reader_blocking(1.0, a, b, c, d, 2,
                                                             first_reader_s=e,
                                                             first_reader_scv=f),
        domain={"rho_1": (1e-3, 0.9, False), "c_1": (0.05, 4.0, False),
                "rho_2": (1e-2, 20.0, False), "c_2": (0.05, 4.0, False),
                "rho_2e": (1e-2, 20.0, False), "c_2e": (0.05, 4.0, False)},
        where="queuemodel.queueing.reader_blocking",
    )


def derivations() -> list:
    return [_two_places(), _geometric_tail(), _busy_period_count(), _reader_two_places()]
