"""NAPI: interrupts only for bursts that find polling idle; wake-ups of the reader."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation, testbed_with as _host


def _napi_interrupts() -> Derivation:
    from queuemodel.solver import interrupts_per_message

    R, m, u, k, C = sp.symbols("R m u k C", positive=True)
    rho, irq = sp.symbols("rho I")
    system = [sp.Eq(rho, u + k * irq / C), sp.Eq(irq, (1 - rho) * R * m)]
    sol = sp.solve(system, [rho, irq], dict=True)[0]
    per_message = sp.simplify(sol[irq] / R)
    return Derivation(
        name="napi_interrupts",
        title="Interrupts per message with NAPI masking",
        assumptions=(
            "While NAPI polls, the queue's interrupt is masked; a burst raises one (after "
            "moderation) only if it finds NAPI idle.",
            "Bursts are Poisson, so they see NAPI idle a fraction 1 - rho of the time (PASTA).",
            "rho = u + k I / C: the rate-independent polling load u = R a / C plus the cycles k "
            "each interrupt adds (hard IRQ, softirq entry, one poll per NAPI stage).",
            "m is the moderation-bound count of interrupts per message, "
            "(n_wire / b) / max(1, min(frames / b, 1 + beta tau)).",
        ),
        steps=(
            ("busy fraction of the polling context", system[0]),
            ("interrupt rate: moderated bursts that find it idle", system[1]),
            ("solved for rho", sp.Eq(rho, sp.simplify(sol[rho]))),
            ("solved for I", sp.Eq(irq, sp.simplify(sol[irq]))),
            ("per message, I / R", sp.Eq(sp.Symbol("i"), per_message)),
        ),
        derived=per_message,
        stated=(1 - u) * m / (1 + k * R * m / C),
        symbols=(R, m, u, k, C),
        # m = n_wire / b when moderation is off (tau = 0) and frames >= b.
        implemented=lambda R_, m_, u_, k_, C_: interrupts_per_message(
            R_, m_, 1.0, u_ * C_ / R_, k_, C_,
            _host(adaptive_moderation=False, irq_moderation_usecs=0.0,
                  irq_moderation_frames=1 << 20)),
        domain={"R": (1.0, 1e7, False), "m": (0.01, 100.0, False), "u": (0.0, 0.999, False),
                "k": (0.0, 1e5, False), "C": (1e8, 1e10, False)},
        where="queuemodel.solver.interrupts_per_message",
    )


def _wakeups() -> Derivation:
    from queuemodel.solver import wakeups_per_message

    R, i, a, s, C = sp.symbols("R i a s C", positive=True)
    rho, W = sp.symbols("rho W")
    per_delivery = sp.Min(1, i)
    system = [sp.Eq(rho, R * a / C + s * W / C), sp.Eq(W, per_delivery * R * (1 - rho))]
    sol = sp.solve(system, [rho, W], dict=True)[0]
    derived = sp.simplify(sol[W] / R)
    return Derivation(
        name="wakeups",
        title="Wake-ups of the receiving application per message",
        assumptions=(
            "The reader sleeps only when its core has nothing to do; deliveries see that a "
            "fraction 1 - rho of the time (PASTA).",
            "rho counts the core's other work, R a / C, and the wake-ups' own cycles, s W / C "
            "(s: two context switches).",
            "A delivery wakes the reader at most once per interrupt and once per message.",
        ),
        steps=(
            ("busy fraction of the reader's core", system[0]),
            ("wake-up rate", system[1]),
            ("solved for W", sp.Eq(W, sp.simplify(sol[W]))),
            ("per message, W / R", sp.Eq(sp.Symbol("w"), derived)),
        ),
        derived=derived,
        stated=sp.Min(1, i) * (1 - R * a / C) / (1 + s * sp.Min(1, i) * R / C),
        symbols=(R, i, a, s, C),
        implemented=wakeups_per_message,
        domain={"R": (1.0, 1e5, False), "i": (0.0, 10.0, False), "a": (1.0, 999.0, False),
                "s": (0.0, 1e5, False), "C": (1e8, 1e10, False)},   # R a < 1e8 <= C
        where="queuemodel.solver.wakeups_per_message",
    )


def derivations() -> list:
    return [_napi_interrupts(), _wakeups()]
