"""Segment coalescing: how much a TCP sender puts on the wire back to back."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _burst() -> Derivation:
    from queuemodel.wire import tcp_burst_bytes

    m, s, w = sp.symbols("m s w", positive=True)
    G = sp.Symbol("G", integer=True, positive=True)     # segments in the largest GSO burst
    # Writes of m bytes queue in the socket; a busy reader opens the window w segments at
    # a time, and everything queued up to that window leaves together.  A write bigger
    # than the window still goes whole (the window waits for it); GSO caps any burst.
    window = w * s
    released = sp.Max(m, window)
    derived = sp.Min(G * s, released)
    return Derivation(
        name="tcp_burst",
        title="Bytes a TCP sender sends back to back (segment coalescing)",
        assumptions=(
            "The reader is slower than the sender (the flow is receiver-bound), so the send "
            "queue is never empty and the sender waits for window updates.",
            "Each update opens w segments of s bytes (an effective number: the window a "
            "reader frees between two updates; fitted by calibrate() to claim P6).",
            "A write larger than that leaves whole; no burst exceeds the GSO size, G whole "
            "segments.",
        ),
        steps=(
            ("window opened per update", sp.Eq(sp.Symbol("W"), window)),
            ("released per update: the window, or one write if bigger",
             sp.Eq(sp.Symbol("B_0"), released)),
            ("capped by GSO", sp.Eq(sp.Symbol("B"), derived)),
        ),
        derived=derived,
        stated=sp.Min(G * s, sp.Max(m, w * s)),
        symbols=(m, s, w, G),
        implemented=lambda m_, s_, w_, G_: tcp_burst_bytes(m_, s_, G_ * s_ + s_ / 2, w_),
        domain={"m": (1.0, 262144.0, False), "s": (500.0, 9000.0, False),
                "w": (1.0, 64.0, False), "G": (1, 64, True)},
        where="queuemodel.wire.tcp_burst_bytes",
    )


def derivations() -> list:
    return [_burst()]
