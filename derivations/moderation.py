"""Interrupt moderation: how many packet bursts share one interrupt."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation, testbed_with as _host


def _renewal() -> Derivation:
    from queuemodel.solver import packets_per_interrupt

    beta, tau_us, t = sp.symbols("beta tau_us t", positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    tau = tau_us / sp.Integer(10**6)
    wait = sp.integrate(t * beta * sp.exp(-beta * t), (t, 0, sp.oo))
    extra = sp.simplify(sp.summation(k * (beta * tau) ** k * sp.exp(-beta * tau)
                                     / sp.factorial(k), (k, 0, sp.oo)))
    cycle = wait + tau
    per_irq = sp.simplify(beta * cycle)
    rate = sp.simplify(1 / cycle)
    return Derivation(
        name="moderation_renewal",
        title="Packets per interrupt under moderation (a renewal argument)",
        assumptions=(
            "Bursts (here single packets) arrive as a Poisson process of rate beta while the "
            "interrupt is armed.",
            "The first arrival arms a timer of tau; the interrupt fires when it expires and "
            "takes every packet that came meanwhile.",
            "The frame limit fires it early: the library caps the count at `frames` "
            "(min(frames, 1 + beta tau)), a deterministic approximation of the truncated mean.",
        ),
        steps=(
            ("mean wait for the arming arrival", sp.Eq(sp.Symbol("E[W]"), wait)),
            ("mean further arrivals in the window (Poisson mean)", sp.Eq(sp.Symbol("E[K]"), extra)),
            ("mean cycle: wait + window", sp.Eq(sp.Symbol("E[T]"), cycle)),
            ("interrupt rate (renewal reward)", sp.Eq(sp.Symbol("r_irq"), rate)),
            ("arrivals per interrupt = beta E[T] = 1 + E[K]", sp.Eq(sp.Symbol("n"), per_irq)),
        ),
        derived=per_irq,
        stated=1 + beta * tau_us / 10**6,
        symbols=(beta, tau_us),
        implemented=lambda b, tu: packets_per_interrupt(
            b, _host(adaptive_moderation=False, irq_moderation_usecs=float(tu),
                     irq_moderation_frames=1 << 20)),
        domain={"beta": (1.0, 1e8, False), "tau_us": (0.0, 1000.0, False)},
        where="queuemodel.solver.packets_per_interrupt",
    )


def _adaptive_ramp() -> Derivation:
    from queuemodel.solver import moderation_delay_us

    lam, lo, hi, t_lo, t_hi = sp.symbols("lam r_lo r_hi tau_lo tau_hi", positive=True)
    a, b = sp.symbols("a b")
    line = a + b * lam
    sol = sp.solve([sp.Eq(line.subs(lam, lo), t_lo), sp.Eq(line.subs(lam, hi), t_hi)], [a, b])
    derived = sp.simplify(line.subs(sol))
    return Derivation(
        name="adaptive_moderation",
        title="Adaptive moderation delay between the two rate thresholds",
        assumptions=(
            "Like mlx4_en's auto-moderation: tau_lo at or below r_lo packets/s, tau_hi at or "
            "above r_hi, and a straight line between.",
            "For a ring whose frames average more than adaptive_small_frame_bytes (256, "
            "mlx4_en's MLX4_EN_AVG_PKT_SMALL); one of smaller frames keeps tau_lo at any "
            "rate (queuemodel.solver.moderation_delay_us's frame_bytes).",
        ),
        steps=(
            ("a line through (r_lo, tau_lo) and (r_hi, tau_hi)", sp.Eq(sp.Symbol("tau"), line)),
            ("its coefficients", sp.Eq(sp.Symbol("(a, b)"), sp.Tuple(sol[a], sol[b]))),
            ("delay on the ramp", sp.Eq(sp.Symbol("tau"), derived)),
        ),
        derived=derived,
        stated=t_lo + (lam - lo) / (hi - lo) * (t_hi - t_lo),
        symbols=(lam, lo, hi, t_lo, t_hi),
        implemented=lambda l_, lo_, hi_, tl, th: moderation_delay_us(
            l_, _host(adaptive_moderation=True, adaptive_rate_low_pps=float(lo_),
                      adaptive_rate_high_pps=float(hi_), adaptive_usecs_low=float(tl),
                      adaptive_usecs_high=float(th))),
        # Disjoint ranges keep every draw on the ramp: r_lo < lam < r_hi, tau_lo <= tau_hi.
        domain={"r_lo": (1e3, 1e5, False), "lam": (1.001e5, 2e5, False),
                "r_hi": (2.001e5, 1e6, False), "tau_lo": (0.0, 100.0, False),
                "tau_hi": (100.0, 500.0, False)},
        where="queuemodel.solver.moderation_delay_us",
    )




def _bursts() -> Derivation:
    from queuemodel.solver import interrupts_per_message

    n, b, beta, tau_us, frames = sp.symbols("n b beta tau_us F", positive=True)
    tau = tau_us / sp.Integer(10**6)
    bursts = n / b                              # bursts per message
    per_irq_window = 1 + beta * tau             # renewal result above, in bursts
    per_irq = sp.Max(1, sp.Min(frames / b, per_irq_window))
    derived = bursts / per_irq
    return Derivation(
        name="burst_moderation",
        title="Interrupts per message when packets arrive in bursts",
        assumptions=(
            "A message's n wire packets reach the NIC in n / b back-to-back bursts of b "
            "packets (a TSO segment, or a datagram's fragments), bursts arriving as a Poisson "
            "process of rate beta.",
            "Moderation holds the interrupt for tau after the arming burst (1 + beta tau bursts "
            "share it), unless F frames, F / b bursts, fire it first; a burst never splits.",
            "With NAPI idle (no polling load), this is the count the NAPI correction scales.",
        ),
        steps=(
            ("bursts per message", sp.Eq(sp.Symbol("m_b"), bursts)),
            ("bursts per interrupt", sp.Eq(sp.Symbol("q"), per_irq)),
            ("interrupts per message", sp.Eq(sp.Symbol("m"), derived)),
        ),
        derived=derived,
        stated=(n / b) / sp.Max(1, sp.Min(frames / b, 1 + beta * tau_us / 10**6)),
        symbols=(n, b, beta, tau_us, frames),
        # With no polling load and free interrupts, interrupts_per_message is exactly m.
        implemented=lambda n_, b_, beta_, tu, f_: interrupts_per_message(
            beta_ * b_ / n_, n_, b_, 0.0, 0.0, 2.2e9,
            _host(adaptive_moderation=False, irq_moderation_usecs=float(tu),
                  irq_moderation_frames=int(f_))),
        domain={"n": (1.0, 100.0, False), "b": (1.0, 64.0, False), "beta": (1.0, 1e7, False),
                "tau_us": (0.0, 500.0, False), "F": (1, 256, True)},
        constraint=lambda n, b, beta, tau_us, F: b <= n,
        where="queuemodel.solver.interrupts_per_message",
    )


def _wait() -> Derivation:
    from queuemodel.latency import moderation_wait_s

    beta, tau_us, u, x = sp.symbols("beta tau_us u x", positive=True)
    tau = tau_us / sp.Integer(10**6)
    n = 1 + beta * tau                              # bursts per window (renewal result)
    # The arming burst waits the whole window; a Poisson arrival inside it is uniform on
    # (0, tau) and waits what is left of it.
    others = sp.integrate((tau - x) / tau, (x, 0, tau))
    per_window = tau + (n - 1) * others
    derived_s = sp.simplify((1 - u) * per_window / n)
    derived = sp.simplify(derived_s * 10**6)
    return Derivation(
        name="moderation_wait",
        title="How long a packet waits for its interrupt under moderation",
        assumptions=(
            "Bursts arrive as a Poisson process of rate beta; a share u of them find NAPI "
            "polling (PASTA) and are picked up by the running poll without waiting.",
            "The others join a moderation window: the arming burst waits tau, the 1 + beta tau "
            "window's other bursts arrive uniformly in it and wait what is left.",
            "Here the timer ends the window; when the frame count F ends it first the library "
            "uses the window (F - 1) / beta in the same formula (and the mean square "
            "w^2 (1 + (n - 1)/3) / n for the spread).",
        ),
        steps=(
            ("mean wait of a burst arriving inside the window", sp.Eq(sp.Symbol("E[w]"), others)),
            ("total wait of one window's bursts", sp.Eq(sp.Symbol("S_w"), per_window)),
            ("mean wait per burst, us", sp.Eq(sp.Symbol("D"), derived)),
        ),
        derived=derived,
        stated=(1 - u) * tau_us * (beta * tau_us / 10**6 + 2) / (2 * (1 + beta * tau_us / 10**6)),
        symbols=(beta, tau_us, u),
        implemented=lambda b_, t_, u_: moderation_wait_s(b_, 1.0, 1e12, u_, t_ * 1e-6)[0] * 1e6,
        domain={"beta": (1.0, 1e7, False), "tau_us": (0.0, 500.0, False), "u": (0.0, 1.0, False)},
        where="queuemodel.latency.moderation_wait_s",
    )


def derivations() -> list:
    return [_renewal(), _adaptive_ramp(), _bursts(), _wait()]
