"""NAPI: interrupts only for bursts that find polling idle; wake-ups of the readers, and
the idle states their CPUs wake from."""

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


#: Idle states in the derivations of their exit latency: enough to show the pattern.
_STATES = 3


def _idle_exit(power: int) -> Derivation:
    """The exit latency's mean (``power`` 1) or mean square (2) after an exponential idle."""
    from queuemodel.solver import idle_exit_moments

    g, t = sp.symbols("g t", positive=True)
    r = sp.symbols(f"r1:{_STATES + 1}", positive=True)
    e = sp.symbols(f"e1:{_STATES + 1}", nonnegative=True)
    density = sp.exp(-t / g) / g
    # Between the residencies of states k and k + 1 the CPU reaches state k (none
    # below the first); past the last, the last.
    bounds = (0,) + r + (sp.oo,)
    levels = (0,) + e
    pieces = [sp.integrate(levels[k] ** power * density, (t, bounds[k], bounds[k + 1]))
              for k in range(_STATES + 1)]
    derived = sp.simplify(sum(pieces))
    stated = sum((e[k] ** power - (e[k - 1] if k else 0) ** power) * sp.exp(-r[k] / g)
                 for k in range(_STATES))
    moment = sp.Function("E")(sp.Symbol("X") ** power)
    which = "mean" if power == 1 else "mean square"
    return Derivation(
        name=f"idle_exit_{'mean' if power == 1 else 'square'}",
        title=f"The {which} exit latency of the idle state a sleeping CPU wakes from",
        assumptions=(
            "The CPU idles a time T, exponential with mean g (the wake-up law's wait).",
            "cpuidle puts it in the deepest state whose target residency T reaches: a "
            "governor that predicts the idle well (menu's repeating-interval detection on "
            "a steady flow of deliveries), or a hypervisor that polls an idle vCPU for a "
            "fixed time and then deschedules it.",
            f"States 1..{_STATES} (any number works alike), residencies r1 < r2 < r3, "
            "exit latencies e1 <= e2 <= e3; below r1 the CPU polls and wakes at once.",
        ),
        steps=(
            ("the idle's density", sp.Eq(sp.Symbol("f"), density)),
            (f"the {which} over the states' intervals of T",
             sp.Eq(moment, sum(sp.Integral(levels[k] ** power * density,
                                           (t, bounds[k], bounds[k + 1]))
                               for k in range(_STATES + 1)))),
            ("integrated", sp.Eq(moment, derived)),
            ("as steps at each residency, P(T >= r) = exp(-r / g)", sp.Eq(moment, stated)),
        ),
        derived=derived,
        stated=stated,
        symbols=(g, *r, *e),
        implemented=lambda g_, *table: idle_exit_moments(
            g_, table[:_STATES], table[_STATES:])[power - 1],
        domain={"g": (1e-7, 1e-2, False), "r1": (0.0, 1e-4, False),
                "r2": (1e-4, 1e-3, False), "r3": (1e-3, 1e-2, False),
                "e1": (0.0, 1e-5, False), "e2": (1e-5, 1e-4, False),
                "e3": (1e-4, 1e-3, False)},
        constraint=lambda r1, r2, r3, **_: 0.0 < r1 < r2 < r3,
        where="queuemodel.solver.idle_exit_moments",
    )


def _wakeups() -> Derivation:
    from queuemodel.solver import wakeups_per_message

    R, i, a, s, C, d, m, e, L = sp.symbols("R i a s C d m e L", positive=True)
    v = sp.Symbol("v", nonnegative=True)
    r, x = sp.symbols("r x", nonnegative=True)
    rho, W, g, X = sp.symbols("rho W g X")
    deliveries = sp.Min(m, d * i)
    # A message read in D calls, one of which its own cost counts: D - 1 more, so a
    # share 1 - 1/D of the wake-ups restarts a read (none when D <= 1).
    cost = s + e * sp.Max(0, 1 - 1 / deliveries)
    # (v at most 1 in the steady part: past 1, deliveries burstier than Poisson, the
    # wait is v / (R D))
    wait = (v + (1 - sp.Min(v, 1)) * (1 - R * a / C) / 2) / (R * deliveries)
    system = [sp.Eq(rho, R * a / C + cost * W / C), sp.Eq(1 - rho, W * (g + L + X))]
    sol = sp.solve(system, [rho, W], dict=True)[0]
    # One idle state (residency r, exit latency x) stands for the table: the exit
    # latency's mean after a wait g is x exp(-r / g) (idle_exit_mean).
    # At a steady pace (v = 0) every gap leaves A = F - L - c / C once the delivery is
    # read (F = (1 - u) / (R D)), one length each time: the state is reached when its
    # residency and its exit both fit in A (steady_idle_exit); mixed in the shares
    # min(v, 1) and 1 - min(v, 1).
    free_s = (1 - R * a / C) / (R * deliveries)
    fits = x * sp.Heaviside(free_s - L - cost / C - r - x, 1)
    exit_mean = sp.Min(v, 1) * x * sp.exp(-r / g) + (1 - sp.Min(v, 1)) * fits
    drained = sol[W].subs(X, exit_mean).subs(g, wait) / R
    derived = sp.Min(deliveries, drained)
    D = sp.Symbol("D")
    return Derivation(
        name="wakeups",
        title="Wake-ups of the receiving applications per message",
        assumptions=(
            "A reader that keeps up drains what is queued and sleeps; a delivery wakes it "
            "and it reads L seconds later, then drains what came meanwhile before it "
            "sleeps again.  Each sleep leaves its core idle for the wait g until that "
            "delivery, the latency L and the exit latency X of the idle state the wait "
            "took it to, so W sleeps a second leave it idle W (g + L + X).",
            "X is the mean exit latency of the idle state a sleep reaches, here of one "
            "state (residency r, exit x).  At random the idle is exponential of mean g: x "
            "exp(-r / g) (idle_exit_mean).  At a steady pace each gap leaves the same "
            "A = F - L - c / C, F = (1 - u) / (R D), once its delivery is read: the state "
            "is reached when r + x <= A (steady_idle_exit).  Between, the two mix in the "
            "shares min(v, 1) and 1 - min(v, 1).",
            "Deliveries come R D a second with squared coefficient of variation v.  At a "
            "steady pace (v = 0, a sender as fast as it can go) a reader catches up after "
            "reading a delivery whole, somewhere in the (1 - u) / (R D) of the gap its "
            "reading leaves free, at a phase spread evenly over it: it waits half of "
            "that.  At random (v = 1, Poisson) it waits 1 / (R D) on average, whenever "
            "it starts (memoryless).  g = (v + (1 - min(v, 1)) (1 - u) / 2) / (R D), "
            "u = R a / C, takes both.",
            "A polling period delivers to each of the d readers it carries packets of "
            "(readers_per_interrupt), so a message sees up to d i deliveries; never more "
            "than m, the units its socket is told of (1 per datagram, the segments of a "
            "stream message).  A reader sleeps at most once per delivery.",
            "A wake-up costs s (two context switches); a reader woken inside a message "
            "calls read() again, e cycles, in the share 1 - 1/D of the wake-ups beyond "
            "the message's own read.",
            "rho counts the core's other work, R a / C, and the wake-ups' own cycles.",
        ),
        steps=(
            ("deliveries per message", sp.Eq(D, deliveries)),
            ("cycles per wake-up", sp.Eq(sp.Symbol("c"), cost.subs(deliveries, D))),
            ("busy fraction of the reader's core", system[0]),
            ("its idle share: a wait and two latencies per sleep", system[1]),
            ("solved for W", sp.Eq(W, sp.simplify(sol[W]))),
            ("the wait until the next delivery", sp.Eq(g, wait.subs(deliveries, D))),
            ("the idle state's exit latency after it", sp.Eq(X, exit_mean)),
            ("per message, at most one a delivery", sp.Eq(sp.Symbol("w"), derived)),
        ),
        derived=derived,
        stated=sp.Min(deliveries, deliveries * (1 - R * a / C)
                      / (v + (1 - sp.Min(v, 1)) * (1 - R * a / C) / 2
                         + R * deliveries * (L + exit_mean.subs(g, wait) + cost / C))),
        symbols=(R, i, a, s, C, d, m, e, L, v, r, x),
        implemented=lambda R_, i_, a_, s_, C_, d_, m_, e_, L_, v_, r_, x_: wakeups_per_message(
            R_, i_, a_, s_, C_, readers=d_, most=m_, read_cycles=e_, latency_s=L_,
            arrival_scv=v_, idle_residency_s=[r_], idle_exit_s=[x_]),
        # (i > 0: the derived form divides by D = min(m, d i), the code guards D = 0)
        domain={"R": (1.0, 1e5, False), "i": (1e-3, 10.0, False), "a": (1.0, 999.0, False),
                "s": (0.0, 1e5, False), "C": (1e8, 1e10, False),   # R a < 1e8 <= C
                "d": (1.0, 80.0, False), "m": (0.01, 100.0, False), "e": (0.0, 1e4, False),
                "L": (1e-7, 1e-4, False), "v": (0.0, 2.0, False),
                "r": (1e-7, 1e-3, False), "x": (0.0, 2e-4, False)},
        where="queuemodel.solver.wakeups_per_message",
    )


def _readers() -> Derivation:
    from queuemodel.solver import readers_per_interrupt

    k = sp.Symbol("k", integer=True, positive=True)     # flows (readers) on the CPU
    p, L = sp.symbols("p L", positive=True)             # packets per period, per run
    j = sp.Symbol("j", integer=True, positive=True)
    runs = p / L
    # Each run is one flow's, drawn at random among the k: a given flow is in none of
    # the period's runs with chance (1 - 1/k)^runs; the expected count present is the
    # sum over the flows of the complement.  A period carries one flow at least.
    absent = (1 - 1 / k) ** runs
    present = sp.Sum(1 - absent, (j, 1, k)).doit()
    derived = sp.Max(1, present)
    return Derivation(
        name="readers_per_interrupt",
        title="Readers one polling period delivers to",
        assumptions=(
            "k flows, each with its own reader, share the CPU's receive queue.",
            "A polling period takes p packets (wire packets per message over interrupts "
            "per message) in runs of L packets of one flow; each run's flow is drawn at "
            "random among the k, independently (as for shared GRO).",
            "A period carries packets of one flow at least.",
        ),
        steps=(
            ("runs in a period", sp.Eq(sp.Symbol("n"), runs)),
            ("a given flow is in none of them", sp.Eq(sp.Symbol("p_0"), absent)),
            ("readers the period delivers to", sp.Eq(sp.Symbol("d"), derived)),
        ),
        derived=derived,
        stated=sp.Max(1, k * (1 - (1 - 1 / k) ** (p / L))),
        symbols=(k, p, L),
        implemented=readers_per_interrupt,
        domain={"k": (1, 40, True), "p": (0.1, 500.0, False), "L": (1.0, 64.0, False)},
        where="queuemodel.solver.readers_per_interrupt",
    )


def _irq_wake() -> Derivation:
    """What a message waits for a flow core of its own (its reader elsewhere) to leave idle."""
    import numpy as np

    from queuemodel.model import _irq_wake_delay

    R, w, r, x, t = sp.symbols("R w r x t", positive=True)
    D = sp.Symbol("D")
    # An idle period of a queue fed by Poisson arrivals ends at the next arrival: it is
    # exponential with rate R, whatever the service (memoryless).
    density = R * sp.exp(-R * t)
    exit_mean = sp.integrate(x * density, (t, r, sp.oo))          # the state reached past r
    derived = sp.simplify((1 - R * w) * exit_mean)
    return Derivation(
        name="irq_wake_delay",
        title="The wait for a flow core of its own to leave idle at the interrupt",
        assumptions=(
            "The flow core runs only the interrupt and softirq work of its messages, w "
            "seconds each; its reader sleeps on another CPU.",
            "Messages arrive at random (Poisson) at rate R: one finds the core idle with the "
            "chance 1 - R w (PASTA), and the core's idle periods are exponential with mean "
            "1 / R (an M/G/1 queue's idle period ends at the next arrival).",
            "One idle state (residency r, exit latency x) stands for the table: the wait is "
            "the exit latency's mean after an idle of mean g = 1 / R (idle_exit_mean).",
        ),
        steps=(
            ("the idle period's density", sp.Eq(sp.Symbol("f"), density)),
            ("the exit latency: x once the idle reaches r", sp.Eq(sp.Symbol("E[X]"),
                                                                   exit_mean)),
            ("waited by the messages that find the core idle", sp.Eq(D, derived)),
        ),
        derived=derived,
        stated=(1 - R * w) * x * sp.exp(-r / (1 / R)),
        symbols=(R, w, r, x),
        implemented=lambda R_, w_, r_, x_: _irq_wake_delay(
            np.asarray([R_], dtype=float), np.asarray([w_], dtype=float), np.ones(1),
            np.asarray([r_]), np.asarray([x_]))[0][0],
        domain={"R": (1.0, 1e6, False), "w": (1e-8, 1e-3, False), "r": (1e-7, 1e-2, False),
                "x": (1e-7, 1e-3, False)},
        constraint=lambda R, w, **_: R * w < 1.0,
        where="queuemodel.model._irq_wake_delay",
    )


def derivations() -> list:
    return [_napi_interrupts(), _idle_exit(1), _idle_exit(2), _wakeups(), _readers(),
            _irq_wake()]
