"""Softirq runs: how a chain of NAPI stages turns one polling period into NET_RX runs,
and how much of a period ``__do_softirq`` leaves to ksoftirqd."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _pipeline() -> Derivation:
    from queuemodel.solver import softirq_runs_per_message

    P, n, i, k = sp.symbols("P n i k", positive=True)
    j = sp.Symbol("j", integer=True, positive=True)
    # Run j handles the first stage's pass j (for j <= P) and hands its packets on; stage
    # s (1-based) sees them in run j + s - 1.  The last stage gets the last pass in run
    # P + n - 1, so the pipeline needs that many runs in the period.
    last_run = P + n - 1
    # A run's budget allows k full polls, and the period makes n P of them.
    by_budget = n * P / k
    derived = sp.Max(sp.expand(i * last_run), i * by_budget)   # per message: i periods
    return Derivation(
        name="softirq_runs",
        title="NET_RX softirq runs per polling period (a pipeline of NAPI stages)",
        assumptions=(
            "net_rx_action polls the NAPI instances queued when it starts; one scheduled while "
            "it runs (VXLAN gro_cells, the veth backlog) waits for the next run (Linux 4.4).",
            "A polling period starts with an interrupt and makes P passes over the NIC's ring; "
            "each pass's packets move one stage down the chain per run.",
            "A run stops after the poll that spends netdev_budget: k = ceil(budget / weight) "
            "full polls; each of the n stages makes P full polls per period.",
            "Per message: i interrupts and i P first-stage polls.",
        ),
        steps=(
            ("the first stage's pass j reaches stage s in run", sp.Eq(sp.Symbol("r"),
                                                                      j + sp.Symbol("s") - 1)),
            ("the last pass (j = P) leaves the last stage (s = n) in run",
             sp.Eq(sp.Symbol("R"), last_run)),
            ("runs the budgets need for n P polls", sp.Eq(sp.Symbol("R_b"), by_budget)),
            ("runs per message", sp.Eq(sp.Symbol("runs"), derived)),
        ),
        derived=derived,
        stated=sp.Max(i * P + (n - 1) * i, n * (i * P) / k),
        symbols=(P, n, i, k),
        implemented=lambda P_, n_, i_, k_: softirq_runs_per_message(P_ * i_, i_, int(n_),
                                                                    float(k_)),
        domain={"P": (1.0, 50.0, False), "n": (1, 3, True), "i": (0.0, 10.0, False),
                "k": (1, 6, True)},
        where="queuemodel.solver.softirq_runs_per_message",
    )


def _q_below_one(expr):
    """The branch of a geometric sum that holds for 0 < q < 1."""
    expr = sp.piecewise_fold(expr)
    if isinstance(expr, sp.Piecewise):
        expr = expr.args[0][0]
    return sp.simplify(expr)


def _geometric_period():
    """Symbols and the distribution of bursts in a polling period."""
    q, b = sp.symbols("q b", positive=True)
    f = sp.Symbol("f", nonnegative=True)
    m = sp.Symbol("m", integer=True, nonnegative=True)
    k = sp.Symbol("k", integer=True, positive=True)
    return q, b, f, m, k, (1 - q) * q ** (k - 1)


_DEFERRAL_ASSUMPTIONS = (
    "Linux 4.4 __do_softirq reruns NET_RX while work is left, at most R runs and until "
    "MAX_SOFTIRQ_TIME, and stops after the run in which a task it woke needs the CPU; the "
    "rest goes to ksoftirqd.",
    "The NIC's j-th batch of W packets leaves the last of n NAPI stages in run j + n - 1 "
    "(the pipeline above), so W (R + 1 - n) packets run inline (W if the reader slept, "
    "fewer if the runs' budgets, R k polls for n per batch, or the time limit come first).",
    "A period brings K bursts of b packets, geometric with the model's mean B / i: "
    "P(K = k) = (1 - q) q^(k - 1), q = 1 - i / B, 0 < q < 1.",
    "The inline packets are a = b (m + f): m whole bursts and a fraction f of the next "
    "(m = floor(a / b)).",
)


def _handoff_chance() -> Derivation:
    from queuemodel.solver import ksoftirqd_deferral

    q, b, f, m, k, pk = _geometric_period()
    # sympy leaves the series' limit q**oo standing; it is 0 for 0 < q < 1.
    tail = sp.simplify(sp.summation(pk, (k, m + 1, sp.oo)).replace(
        lambda e: e.is_Pow and e.exp is sp.oo, lambda e: sp.Integer(0)))
    return Derivation(
        name="ksoftirqd_handoff",
        title="Chance a polling period is handed to ksoftirqd",
        assumptions=_DEFERRAL_ASSUMPTIONS,
        steps=(
            ("the period outlasts the inline packets when K > m",
             sp.Eq(sp.Symbol("P(K>m)"), sp.Sum(pk, (k, m + 1, sp.oo)))),
            ("a geometric tail", sp.Eq(sp.Symbol("P(K>m)"), tail)),
        ),
        derived=tail,
        stated=q ** m,
        symbols=(q, b, m, f),
        # The reader asleep: one batch of W = a packets runs inline.
        implemented=lambda q_, b_, m_, f_: ksoftirqd_deferral(
            1.0 - q_, 1.0, b_, 1.0, 0.0, b_ * (m_ + f_), 3, 10, 2e-3)[0],
        domain={"q": (0.01, 0.99, False), "b": (1.0, 64.0, False), "m": (0, 40, True),
                "f": (0.0, 0.99, False)},
        where="queuemodel.solver.ksoftirqd_deferral",
    )


def _deferred_share() -> Derivation:
    from queuemodel.solver import ksoftirqd_deferral

    q, b, f, m, k, pk = _geometric_period()
    a = b * (m + f)
    mean = _q_below_one(sp.summation(b * k * pk, (k, 1, sp.oo)))
    past = _q_below_one(sp.summation((b * k - a) * pk, (k, m + 1, sp.oo)))
    share = sp.simplify(past / mean)
    return Derivation(
        name="ksoftirqd_share",
        title="Share of a period's packets that ksoftirqd processes",
        assumptions=_DEFERRAL_ASSUMPTIONS,
        steps=(
            ("packets per period", sp.Eq(sp.Symbol("E[bK]"), mean)),
            ("packets past the inline ones",
             sp.Eq(sp.Symbol("E_past"), sp.Sum((b * k - a) * pk, (k, m + 1, sp.oo)))),
            ("summed", sp.Eq(sp.Symbol("E_past"), past)),
            ("their share", sp.Eq(sp.Symbol("s"), share)),
        ),
        derived=share,
        stated=q ** m * (1 - f * (1 - q)),
        symbols=(q, b, m, f),
        # The reader awake, no time limit: R + 1 - n = 8 batches of W = a / 8 run inline.
        implemented=lambda q_, b_, m_, f_: ksoftirqd_deferral(
            1.0 - q_, 1.0, b_, 0.0, 0.0, b_ * (m_ + f_) / 8.0, 3, 10, 2e-3)[1],
        domain={"q": (0.01, 0.99, False), "b": (1.0, 64.0, False), "m": (0, 40, True),
                "f": (0.0, 0.99, False)},
        where="queuemodel.solver.ksoftirqd_deferral",
    )


def derivations() -> list:
    return [_pipeline(), _handoff_chance(), _deferred_share()]
