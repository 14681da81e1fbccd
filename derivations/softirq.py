"""Softirq runs: how a chain of NAPI stages turns one polling period into NET_RX runs."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _pipeline() -> Derivation:
    from queuemodel.solver import softirq_runs_per_message

    P, n, i = sp.symbols("P n i", positive=True)
    j = sp.Symbol("j", integer=True, positive=True)
    # Run j handles the first stage's pass j (for j <= P) and hands its packets on; stage
    # s (1-based) sees them in run j + s - 1.  The last stage gets the last pass in run
    # P + n - 1, so that is the number of runs in the period.
    last_run = P + n - 1
    per_interrupt = sp.simplify(last_run)
    derived = sp.expand(i * per_interrupt)      # per message: i periods of P passes each
    return Derivation(
        name="softirq_runs",
        title="NET_RX softirq runs per polling period (a pipeline of NAPI stages)",
        assumptions=(
            "net_rx_action polls the NAPI instances queued when it starts; one scheduled while "
            "it runs (VXLAN gro_cells, the veth backlog) waits for the next run (Linux 4.4).",
            "A polling period starts with an interrupt and makes P passes over the NIC's ring; "
            "each pass's packets move one stage down the chain per run.",
            "Per message: i interrupts and i P first-stage polls, so runs = polls + (n - 1) i.",
        ),
        steps=(
            ("the first stage's pass j reaches stage s in run", sp.Eq(sp.Symbol("r"),
                                                                      j + sp.Symbol("s") - 1)),
            ("the last pass (j = P) leaves the last stage (s = n) in run",
             sp.Eq(sp.Symbol("R"), last_run)),
            ("runs per message", sp.Eq(sp.Symbol("runs"), derived)),
        ),
        derived=derived,
        stated=i * P + (n - 1) * i,
        symbols=(P, n, i),
        implemented=lambda P_, n_, i_: softirq_runs_per_message(P_ * i_, i_, int(n_)),
        domain={"P": (1.0, 50.0, False), "n": (1, 3, True), "i": (0.0, 10.0, False)},
        where="queuemodel.solver.softirq_runs_per_message",
    )


def derivations() -> list:
    return [_pipeline()]
