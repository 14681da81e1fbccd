"""Attribution: how much of an output each contention mechanism accounts for.

"Why is my overlay slow?"  :func:`levers` says what would move an output;
:func:`attribute` says what the output owes to each of the model's
contention mechanisms in one scenario.  Each :class:`Mechanism` names the
inputs that switch it off (steering flows one per queue switches off uneven
hashing, a free context switch switches off the readers' wake-ups...).  The
output with every mechanism on is the scenario's; with every one off, a
baseline; the difference is split among the mechanisms by their **Shapley
values**: each mechanism's change of the output, averaged over every order
in which the mechanisms could be switched on.  The shares add up to the
difference exactly, a mechanism that changes nothing gets exactly zero, and
no order is favoured, which matters because the mechanisms interact (shared
GRO makes more segments, and each segment can wake a reader).

With ``n`` mechanisms this costs ``2 ** n`` predictions (32 for the
defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .errors import ModelInputError, UnknownNameError

__all__ = ["attribute", "Attribution", "Mechanism", "CONTENTION", "MAX_MECHANISMS"]

#: The most mechanisms one attribution takes (2 ** n predictions).
MAX_MECHANISMS = 10


@dataclass(frozen=True)
class Mechanism:
    """A mechanism of the model and the inputs that switch it off.

    Attributes
    ----------
    name : str
        Short name, unique within an attribution.
    off : dict
        Scenario entries (host fields, ``"stage.field"`` costs) that switch
        the mechanism off; where the scenario sets one of them, that value
        is the mechanism switched on.
    description : str
        What the mechanism is, and what switching it off means.
    """

    name: str
    off: Mapping
    description: str = ""


#: The contention terms that grow with flows (issue 3's mechanisms), each with
#: the inputs that take it away.
CONTENTION = (
    Mechanism("uneven hashing", {"flow_steering": True},
              "flows collide on receive CPUs by hash (off: flow i steered to queue i mod "
              "nic_queues, as even as the queues allow)"),
    Mechanism("hyper-thread sharing", {"smt_gain": 1.0},
              "two busy threads of a core share it (off: a second thread as good as a "
              "core of its own)"),
    Mechanism("interleaved flows", {"rx_flow_run_packets": 65536.0},
              "flows that share a queue arrive interleaved: shorter GRO segments, more "
              "readers per polling period (off: runs of a whole poll)"),
    Mechanism("reader wake-ups", {"context_switch_cycles": 0.0},
              "a delivery that finds its reader asleep wakes it (off: free context "
              "switches)"),
    Mechanism("copy's DRAM reads", {"dram_latency_ns": 0.0},
              "the copy pays for received bytes gone from the cache (off: DRAM as fast "
              "as the cache)"),
    Mechanism("flow state in L2", {"llc_latency_ns": 0.0},
              "flows that share a core push each other's socket state out of its L2 "
              "(off: a line refetched from the last-level cache costs nothing)"),
    Mechanism("shared socket line", {"line_transfer_ns": 0.0},
              "every receive CPU writes the one VXLAN socket's reference count, so the "
              "line moves between their caches (off: a transfer costs nothing)"),
)


@dataclass(frozen=True)
class Attribution:
    """An output split among mechanisms (:func:`attribute`).

    Attributes
    ----------
    scenario : dict
        The scenario asked about.
    output : str
        The output split.
    full : float
        Its value with every mechanism on (the scenario's own).
    base : float
        Its value with every mechanism off.
    shares : tuple of (str, float)
        Each mechanism's Shapley value, in the order given; they add up to
        ``full - base``.
    descriptions : dict
        Each mechanism's description.
    """

    scenario: Mapping
    output: str
    full: float
    base: float
    shares: tuple
    descriptions: Mapping = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: the output, both ends and every share."""
        return {"output": self.output, "full": self.full, "base": self.base,
                "shares": {name: value for name, value in self.shares},
                "descriptions": dict(self.descriptions)}

    def table(self) -> str:
        """A readable split, the largest share first."""
        lines = [f"{self.output} = {self.full:.6g}; with every mechanism below off: "
                 f"{self.base:.6g}", f"  {'mechanism':24} {'share':>12} {'of the change':>14}"]
        change = self.full - self.base
        for name, value in sorted(self.shares, key=lambda s: -abs(s[1])):
            if value == 0.0:                # it changes nothing here
                lines.append(f"  {name:24} {'0':>12}")
                continue
            part = f"{value / change:14.1%}" if change else ""
            lines.append(f"  {name:24} {value:+12.4g} {part}")
        lines.append("  (Shapley values: each mechanism's change, averaged over every order "
                     "of switching them on)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def attribute(scenario: Mapping | None = None, output: str = "throughput_gbps",
              mechanisms=CONTENTION) -> Attribution:
    """Split an output of one scenario among the mechanisms that shape it.

    Parameters
    ----------
    scenario : dict, optional
        As for :func:`queuemodel.whatif` (path, proto, flows, msg_bytes,
        host fields, stage costs); default the native TCP flow on the
        paper's testbed.
    output : str
        A numeric output (:data:`queuemodel.model.NUMERIC_OUTPUTS`).
    mechanisms : sequence of Mechanism
        What to split it among (default :data:`CONTENTION`); at most
        :data:`MAX_MECHANISMS`, names unique.

    Returns
    -------
    Attribution

    Raises
    ------
    UnknownNameError
        For an output that is not a numeric output.
    ModelInputError
        For a grid scenario, no or too many mechanisms, a repeated name, an
        off-switch the model refuses, or an output that is not finite in
        every combination (the latency of an unstable queue).

    Notes
    -----
    With ``v(S)`` the output when exactly the mechanisms in ``S`` are on,
    mechanism ``i`` gets ``sum over S not holding i of |S|! (n - |S| - 1)! / n!
    * (v(S + i) - v(S))``.  The shares add up to ``v(all) - v(none)``.

    Examples
    --------
    >>> a = attribute({"path": "native", "proto": "tcp", "flows": 80},
    ...               output="receiver_cpu_total")
    >>> round(a.full, 2), round(a.base, 2)
    (3.6, 1.49)
    >>> shares = dict(a.shares)
    >>> round(shares["reader wake-ups"], 2), round(shares["interleaved flows"], 2)
    (0.86, 0.91)
    >>> round(sum(shares.values()), 9) == round(a.full - a.base, 9)
    True
    """
    from .model import NUMERIC_OUTPUTS
    from .whatif import canonical_scenario, run

    if output not in NUMERIC_OUTPUTS:
        raise UnknownNameError("output", output,
                               "a numeric output: " + ", ".join(NUMERIC_OUTPUTS))
    mechanisms = tuple(mechanisms)
    names = [m.name for m in mechanisms]
    if not 1 <= len(mechanisms) <= MAX_MECHANISMS:
        raise ModelInputError("mechanisms", len(mechanisms),
                              f"1 to {MAX_MECHANISMS} mechanisms (2 ** n predictions)")
    if len(set(names)) != len(names):
        raise ModelInputError("mechanisms", names, "distinct names")
    scenario = canonical_scenario(scenario)
    full = run(scenario)
    if np.ndim(full.throughput_gbps) != 0:
        raise ModelInputError("scenario", {k: v for k, v in scenario.items() if np.ndim(v)},
                              "one scenario: scalar values only (an attribution splits one "
                              "point; sweep a grid with queuemodel.sweep)")
    n = len(mechanisms)
    values = np.empty(1 << n)
    for mask in range(1 << n):               # bit i set: mechanism i on
        changed = dict(scenario)
        for i, mechanism in enumerate(mechanisms):
            if not mask >> i & 1:
                changed.update(mechanism.off)
        values[mask] = float(getattr(full if mask == (1 << n) - 1 else run(changed), output))
    if not np.all(np.isfinite(values)):
        raise ModelInputError("output", output, "an output that is finite with every "
                              "mechanism on or off (this one is not: an unstable queue?)")
    weight = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
              for s in range(n)]
    shares = []
    for i in range(n):
        bit = 1 << i
        total = sum(weight[bin(mask).count("1")] * (values[mask | bit] - values[mask])
                    for mask in range(1 << n) if not mask & bit)
        shares.append((names[i], float(total)))
    return Attribution(scenario=scenario, output=output, full=float(values[-1]),
                       base=float(values[0]), shares=tuple(shares),
                       descriptions={m.name: m.description for m in mechanisms})
