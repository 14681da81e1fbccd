"""Waiting and sojourn times: the closed forms behind ``queuemodel.queueing`` and ``latency``."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _gamma_moments():
    """First two moments of a gamma service time with mean m and SCV c, from its density."""
    m, c, s = sp.symbols("m c s", positive=True)
    k, theta = 1 / c, m * c                              # shape and scale
    density = s ** (k - 1) * sp.exp(-s / theta) / (sp.gamma(k) * theta ** k)
    first = sp.simplify(sp.integrate(s * density, (s, 0, sp.oo), conds="none"))
    second = sp.simplify(sp.integrate(s ** 2 * density, (s, 0, sp.oo), conds="none"))
    return m, c, first, second


def _pollaczek_khinchine() -> Derivation:
    from queuemodel.queueing import mg1_wait_s

    lam, W = sp.symbols("lambda W", positive=True)
    m, c, first, second = _gamma_moments()
    rho = lam * first
    residual = second / (2 * first)                  # mean residual service seen at random
    # PASTA: an arrival finds the mean work in system, which in FIFO is its wait:
    # W = rho * residual (the job in service) + L_q * m (those waiting), L_q = lam W (Little).
    balance = sp.Eq(W, rho * residual + lam * W * first)
    derived = sp.simplify(sp.solve(balance, W)[0])
    return Derivation(
        name="pollaczek_khinchine",
        title="M/G/1 mean wait (Pollaczek-Khinchine)",
        assumptions=(
            "Poisson arrivals of rate lambda (PASTA: an arrival sees time averages).",
            "One FIFO server; service times i.i.d. gamma with mean m and squared coefficient "
            "of variation c (only the first two moments matter).",
            "rho = lambda m < 1 (otherwise the wait is infinite and the library says so).",
        ),
        steps=(
            ("gamma service: mean", sp.Eq(sp.Symbol("E[S]"), first)),
            ("second moment", sp.Eq(sp.Symbol("E[S^2]"), second)),
            ("mean residual service of the job an arrival finds in service",
             sp.Eq(sp.Symbol("R"), sp.simplify(residual))),
            ("work found = wait (FIFO), with Little's L_q = lambda W", balance),
            ("solved for W", sp.Eq(W, derived)),
        ),
        derived=derived,
        stated=lam * m ** 2 * (1 + c) / (2 * (1 - lam * m)),
        symbols=(lam, m, c),
        implemented=lambda l_, m_, c_: mg1_wait_s(l_, m_, c_),
        domain={"lambda": (1e-3, 1e6, False), "m": (1e-9, 1e-3, False), "c": (0.0, 4.0, False)},
        constraint=lambda **v: v["lambda"] * v["m"] < 0.999,
        where="queuemodel.queueing.mg1_wait_s",
    )


def _kingman() -> Derivation:
    from queuemodel.queueing import kingman_wait_s

    lam, m, ca, cs = sp.symbols("lambda m c_a c_s", positive=True)
    rho = lam * m
    pk = lam * m ** 2 * (1 + cs) / (2 * (1 - rho))       # result above
    # Kingman: in heavy traffic the wait depends on arrivals and service only through
    # (c_a + c_s); scaling the M/G/1 result (c_a = 1) by that factor gives the G/G/1 form.
    derived = sp.simplify(pk * (ca + cs) / (1 + cs))
    return Derivation(
        name="kingman",
        title="G/G/1 mean wait (Kingman's approximation)",
        assumptions=(
            "Renewal arrivals with SCV c_a, i.i.d. service with SCV c_s, one FIFO server, rho < 1.",
            "The wait scales with (c_a + c_s) / 2 (exact in heavy traffic, Kingman 1961); "
            "at c_a = 1 it is the Pollaczek-Khinchine result exactly.",
        ),
        steps=(
            ("the M/G/1 wait", sp.Eq(sp.Symbol("W_MG1"), pk)),
            ("rescaled from c_a = 1 to c_a", sp.Eq(sp.Symbol("W"), derived)),
            ("at c_a = 1", sp.Eq(sp.Symbol("W"), sp.simplify(derived.subs(ca, 1)))),
        ),
        derived=derived,
        stated=rho / (1 - rho) * (ca + cs) / 2 * m,
        symbols=(lam, m, ca, cs),
        implemented=lambda l_, m_, a_, s_: kingman_wait_s(l_, m_, a_, s_),
        domain={"lambda": (1e-3, 1e6, False), "m": (1e-9, 1e-3, False),
                "c_a": (0.0, 4.0, False), "c_s": (0.0, 4.0, False)},
        constraint=lambda **v: v["lambda"] * v["m"] < 0.999,
        where="queuemodel.queueing.kingman_wait_s",
    )


def _priority() -> Derivation:
    from queuemodel.queueing import priority_sojourn_s

    lam, m, h, ca, cs, T = sp.symbols("lambda m h c_a c_s T", positive=True)
    rho = lam * m
    wait = rho / (1 - rho) * (ca + cs) / 2 * m           # Kingman, all of the core's work
    preempting = lam * h * T                              # higher-priority work arriving meanwhile
    balance = sp.Eq(T, wait + m + preempting)
    derived = sp.simplify(sp.solve(balance, T)[0])
    return Derivation(
        name="priority_sojourn",
        title="Sojourn on one core where hard IRQ preempts softirq preempts the copy",
        assumptions=(
            "One core serves every segment of a message (hard IRQ, softirq, process context) "
            "with preemptive-resume priority; segments of one class are FIFO.",
            "A message brings m seconds of work, h of it at a priority above its last segment.",
            "All work present at its arrival ends before its last segment (earlier last "
            "segments are ahead in FIFO, everything else preempts); of the messages arriving "
            "during its stay only the higher-priority parts (h each) overtake it.",
            "The work found on arrival is the G/G/1 wait of the core's whole work (Kingman; "
            "exact for Poisson arrivals, where it is Pollaczek-Khinchine).",
        ),
        steps=(
            ("work found on arrival", sp.Eq(sp.Symbol("W"), wait)),
            ("sojourn = work found + own work + work that overtakes it", balance),
            ("solved for T", sp.Eq(T, derived)),
        ),
        derived=derived,
        stated=(wait + m) / (1 - lam * h),
        symbols=(lam, m, h, ca, cs),
        implemented=lambda l_, m_, h_, a_, s_: priority_sojourn_s(l_, m_, h_, a_, s_),
        domain={"lambda": (1e-3, 1e6, False), "m": (1e-9, 1e-3, False),
                "h": (0.0, 1e-3, False), "c_a": (0.0, 4.0, False), "c_s": (0.0, 4.0, False)},
        constraint=lambda **v: v["lambda"] * v["m"] < 0.999 and v["h"] <= v["m"],
        where="queuemodel.queueing.priority_sojourn_s",
    )


def _departures() -> Derivation:
    from queuemodel.queueing import departure_scv

    lam, rho, cs, ca = sp.symbols("lambda rho c_s c_a", positive=True)
    mean_s = rho / lam
    second_s = (1 + cs) * mean_s ** 2
    # M/G/1: a departure leaves the system empty with probability 1 - rho; then the next
    # departure waits an Exp(lambda) idle time and a service, otherwise just a service.
    mean_d = mean_s + (1 - rho) / lam
    second_d = second_s + (1 - rho) * (2 * mean_s / lam + 2 / lam ** 2)
    exact = sp.simplify(lam ** 2 * second_d - 1)              # SCV, as E[D] = 1 / lambda
    # Poisson arrivals have SCV 1; the idle-period share 1 - rho^2 carries it, so a renewal
    # stream of SCV c_a puts (1 - rho^2) c_a there instead.
    derived = sp.expand(exact + (1 - rho ** 2) * (ca - 1))
    interpolated = rho ** 2 * cs + (1 - rho ** 2) * ca
    return Derivation(
        name="departure_scv",
        title="Variability of a server's departures (the linking equation)",
        assumptions=(
            "M/G/1 first: the interdeparture time is a service, plus an Exp(lambda) idle "
            "period when the departure leaves the system empty (probability 1 - rho).",
            "For renewal arrivals of SCV c_a, Whitt's interpolation (the queueing network "
            "analyzer, 1983) replaces the idle-period share 1 - rho^2 of Poisson variability "
            "by c_a; interdeparture correlations are ignored.",
        ),
        steps=(
            ("mean interdeparture time", sp.Eq(sp.Symbol("E[D]"), sp.simplify(mean_d))),
            ("its second moment", sp.Eq(sp.Symbol("E[D^2]"), sp.simplify(second_d))),
            ("M/G/1 departure SCV", sp.Eq(sp.Symbol("c_d"), sp.expand(exact))),
            ("with arrival SCV c_a", sp.Eq(sp.Symbol("c_d"), interpolated)),
        ),
        derived=derived,
        stated=interpolated,
        symbols=(rho, ca, cs),
        implemented=lambda r_, a_, s_: departure_scv(r_, a_, s_),
        domain={"rho": (0.0, 1.0, False), "c_a": (0.0, 4.0, False), "c_s": (0.0, 4.0, False)},
        where="queuemodel.queueing.departure_scv",
    )


def _thinning() -> Derivation:
    from queuemodel.queueing import split_scv

    p, c, m = sp.symbols("p c m", positive=True)
    # Keep each arrival with probability p: a kept interval is the sum of N intervals,
    # N geometric on 1, 2, ... with mean 1/p and variance (1 - p)/p^2 (Wald / total variance).
    mean = m / p
    var = (1 / p) * c * m ** 2 + (1 - p) / p ** 2 * m ** 2
    derived = sp.simplify(var / mean ** 2)
    return Derivation(
        name="thinning_scv",
        title="Variability of a stream split at random over CPUs",
        assumptions=(
            "Renewal arrivals with mean interval m and SCV c; each goes to this CPU with "
            "probability p, independently (hash outcomes as random thinning).",
        ),
        steps=(
            ("mean kept interval", sp.Eq(sp.Symbol("E[X_p]"), mean)),
            ("its variance (total variance over the geometric count)",
             sp.Eq(sp.Symbol("Var[X_p]"), var)),
            ("SCV", sp.Eq(sp.Symbol("c_p"), derived)),
        ),
        derived=derived,
        stated=p * c + 1 - p,
        symbols=(c, p),
        implemented=lambda c_, p_: split_scv(c_, p_),
        domain={"c": (0.0, 4.0, False), "p": (1e-3, 1.0, False)},
        where="queuemodel.queueing.split_scv",
    )


def _wait_spread() -> Derivation:
    from queuemodel.queueing import wait_variance_s2

    W, rho, x = sp.symbols("W rho x", positive=True)
    # A Poisson arrival waits with probability rho; a positive wait is Exp with mean W/rho.
    rate = rho / W
    second = rho * sp.integrate(x ** 2 * rate * sp.exp(-rate * x), (x, 0, sp.oo))
    derived = sp.simplify(second - W ** 2)
    return Derivation(
        name="wait_variance",
        title="Spread of the wait (exponential once positive)",
        assumptions=(
            "An arrival waits at all with probability rho (exact for M/G/1).",
            "A positive wait is exponential with mean W / rho (exact for M/M/1; an "
            "approximation otherwise, checked against simulation in tests/test_oracle.py).",
        ),
        steps=(
            ("second moment of the wait", sp.Eq(sp.Symbol("E[W^2]"), sp.simplify(second))),
            ("variance", sp.Eq(sp.Symbol("Var[W]"), derived)),
        ),
        derived=derived,
        stated=W ** 2 * (2 / rho - 1),
        symbols=(W, rho),
        implemented=lambda w_, r_: wait_variance_s2(w_, r_),
        domain={"W": (1e-9, 1.0, False), "rho": (1e-3, 1.0, False)},
        where="queuemodel.queueing.wait_variance_s2",
    )


def _tail() -> Derivation:
    from queuemodel.queueing import gamma_quantile

    m, t = sp.symbols("m t", positive=True)
    q = sp.Rational(99, 100)
    # Two-moment gamma fit: shape m^2/v, scale v/m.  A single exponential station has
    # v = m^2: shape 1, and the quantile solves 1 - exp(-t/m) = q.
    derived = sp.solve(sp.Eq(1 - sp.exp(-t / m), q), t)[0]
    return Derivation(
        name="gamma_tail",
        title="The p99 latency from the mean and variance (two-moment gamma fit)",
        assumptions=(
            "The sojourn through the stations is summed from independent parts (exact for "
            "M/M/1 tandems, Reich 1957); its law is taken as the gamma law with the same "
            "mean and variance (shape m^2/v, scale v/m).",
            "The check below is the one-station exponential case (v = m^2), where the fit is "
            "exact; elsewhere the quantile is scipy's inverse incomplete gamma function.",
        ),
        steps=(
            ("shape and scale", sp.Eq(sp.Symbol("(k, theta)"),
                                      sp.Tuple(sp.Symbol("m^2/v"), sp.Symbol("v/m")))),
            ("exponential case: P(T <= t) = 0.99", sp.Eq(1 - sp.exp(-t / m), q)),
            ("p99", sp.Eq(sp.Symbol("t_99"), derived)),
        ),
        derived=derived,
        stated=m * sp.log(100),
        symbols=(m,),
        implemented=lambda m_: gamma_quantile(m_, m_ * m_, 0.99),
        domain={"m": (1e-9, 1.0, False)},
        where="queuemodel.queueing.gamma_quantile",
    )


def derivations() -> list:
    return [_pollaczek_khinchine(), _kingman(), _priority(), _departures(), _thinning(),
            _wait_spread(), _tail()]
