"""Levers: which inputs move an output, and how much.

"Why is my overlay slow, and what would fix it?"  :func:`levers` answers
the second half for one scenario by asking the model about every input it
has, one at a time:

* every numeric host field with a continuous range and every nonzero stage
  cost of the scenario's path is nudged by ``step`` up and down, and the
  output's **elasticity** ``d ln(output) / d ln(input)`` is the ratio of the
  two log differences (one-sided where a nudge would leave the field's
  range);
* every integer host field that counts things (cores, queues, frames, up to
  ``1 / step``) is moved by **one** (up, or down at the top of its range);
  one that measures a quantity in small units (bytes, ring slots, from
  ``1 / step`` up) is nudged like a continuous one, to the nearest whole
  unit, and gets an elasticity too;
* every on/off host setting is **flipped**;
* every other built-in path (the paper's three and those beyond it,
  :data:`queuemodel.paths.ALL_PATH_NAMES`) is **swapped in**: the fix
  that changes the network's design (host networking, routed containers)
  rather than a setting of it.

Fields the model records but no mechanism reads
(:data:`queuemodel.host.RECORDED_ONLY`) and the flags that describe the
set-up rather than a setting of it (:data:`SETUP_FLAGS`) are left out.  The levers come back
in two groups, each sorted by how much it moves the output: the **changes**
(steps, flips and paths, a relative change of the output) and then the
**dials** (elasticities, a change per % of the input).  The two are not on
one scale, so neither group is ranked against the other.  Each is an ordinary prediction,
so a lever's effect can be checked with :func:`queuemodel.whatif`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .errors import ModelInputError, UnknownNameError
from .stage import STAGE_COSTS

__all__ = ["levers", "Lever", "Levers", "COST_FIELDS", "SETUP_FLAGS"]

#: Stage fields a lever may nudge (every numeric cost of a stage).
COST_FIELDS = STAGE_COSTS

#: Host flags that say how the test set-up is built (a NIC link or a veth pair, one
#: kernel or two, how its kernel counts a socket's buffer and treats an overloaded
#: softirq or receive queue), not a setting of it: flipping one asks about another
#: set-up, so they are no levers.
SETUP_FLAGS = ("link_segments", "sender_on_receive_cpu", "veth_link",
               "socket_admits_past_limit", "overload_defers_softirq", "ring_cuts_fragments",
               "frag_cache_refuses", "veth_orphans_skb", "bridge_nf_call_iptables")


@dataclass(frozen=True)
class Lever:
    """One input and what changing it does to the output.

    Attributes
    ----------
    name : str
        A host field, a stage cost ``"stage.field"``, or ``"path"``.
    kind : {'elasticity', 'step', 'flag', 'path'}
        Nudged by a small factor, moved by one (the idle states: all taken
        away, a CPU that polls), flipped, or another path swapped in.
    value, changed
        The input as it is, and as tried (for an elasticity, the upper nudge).
    before, after : float
        The output at ``value`` and at ``changed``.
    effect : float or None
        For an elasticity, ``d ln(output) / d ln(input)``; otherwise the
        relative change ``after / before - 1``.  None where the output is
        zero or negative at a point used.
    bottleneck : str
        The bottleneck at ``changed`` (what binds once the lever is pulled).
    """

    name: str
    kind: str
    value: Any
    changed: Any
    before: float
    after: float
    effect: float | None
    bottleneck: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Levers:
    """Every lever of one scenario on one output, the strongest first.

    Attributes
    ----------
    scenario : dict
        The scenario asked about.
    output : str
        The output the levers act on.
    before : float
        Its value in the scenario.
    bottleneck : str
        The scenario's bottleneck.
    rows : tuple of Lever
        The changes (kinds step, flag and path), then the elasticities, each
        group sorted by ``abs(effect)``, largest first; None last.
    skipped : tuple of (str, str)
        Levers the model refused (a flip no host allows, say), with the reason.
    """

    scenario: Mapping
    output: str
    before: float
    bottleneck: str
    rows: tuple
    skipped: tuple = ()

    @property
    def changes(self) -> tuple:
        """The levers that step, flip or swap an input (effect: relative change)."""
        return tuple(r for r in self.rows if r.kind != "elasticity" and r.effect is not None)

    @property
    def elasticities(self) -> tuple:
        """The levers nudged by a small factor (effect: elasticity)."""
        return tuple(r for r in self.rows if r.kind == "elasticity" and r.effect is not None)

    def to_dict(self) -> dict:
        """JSON-ready: the output, its value, the bottleneck and every lever."""
        return {"output": self.output, "before": self.before, "bottleneck": self.bottleneck,
                "levers": [row.to_dict() for row in self.rows],
                "skipped": [list(s) for s in self.skipped]}

    def table(self, top: int | None = 15) -> str:
        """A readable list: the ``top`` changes, then the ``top`` elasticities (all if None).

        Parameters
        ----------
        top : int, optional
            How many levers of each group to show.
        """
        lines = [f"{self.output} = {self.before:.6g} (bottleneck {self.bottleneck}); "
                 "what moves it:",
                 f"  {'lever':44} {'kind':10} {'value':>14} {'tried':>14} {'effect':>10}"]
        undefined = tuple(r for r in self.rows if r.effect is None)
        for title, group in (("changes: % change of the output", self.changes),
                             ("dials: elasticity, % change of the output per % of the input",
                              self.elasticities),
                             ("no effect defined (the output is zero at a point used)",
                              undefined)):
            if not group:
                continue
            lines.append(f"  -- {title}")
            for row in group[:top]:
                effect = "" if row.effect is None else (
                    f"{row.effect:+10.3f}" if row.kind == "elasticity"
                    else f"{row.effect:+10.1%}")
                moved = f"  then {row.bottleneck}" if row.bottleneck != self.bottleneck else ""
                lines.append(f"  {row.name:44} {row.kind:10} {_show(row.value):>14} "
                             f"{_show(row.changed):>14} {effect:>10}{moved}")
            if top is not None and len(group) > top:
                lines.append(f"  ({len(group) - top} more)")
        lines.append("  (then: the bottleneck once the lever is pulled)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _show(value) -> str:
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, tuple):                     # the idle states
        return f"{len(value)} states" if value else "polling"
    return f"{value:.6g}"


def levers(scenario: Mapping | None = None, output: str = "throughput_gbps",
           step: float = 0.01) -> Levers:
    """Rank every input of a scenario by how much it moves one output.

    Parameters
    ----------
    scenario : dict, optional
        As for :func:`queuemodel.whatif` (path, proto, flows, msg_bytes,
        host fields, stage costs); default the native TCP flow on the
        paper's testbed.
    output : str
        A numeric output (:data:`queuemodel.model.NUMERIC_OUTPUTS`).
    step : float
        Relative nudge for the elasticities, in (0, 0.5).

    Returns
    -------
    Levers

    Raises
    ------
    UnknownNameError
        For an output that is not a numeric output.
    ModelInputError
        For a step outside (0, 0.5), or a scenario the model refuses.

    Examples
    --------
    >>> lv = levers({"path": "docker-overlay", "proto": "tcp"})
    >>> lv.bottleneck
    'receiver:flow-core:vxlan_rx'
    >>> [(row.name, row.changed) for row in lv.rows[:3]]    # host networking, routed
    [('path', 'native'), ('path', 'routed'), ('tunnel_offload', True)]
    >>> e = {row.name: row.effect for row in lv.rows}
    >>> round(e["ghz"], 2), round(e["vxlan_rx.cost_cycles_per_unit"], 2)   # one core's work
    (0.97, -0.52)
    >>> round(e["dram_latency_ns"], 2)      # the copy's DRAM reads take ns, not cycles
    -0.03
    """
    from .host import HOST_FIELDS, RECORDED_ONLY, Host
    from .model import NUMERIC_OUTPUTS
    from .whatif import _split_scenario, canonical_scenario, run

    if output not in NUMERIC_OUTPUTS:
        raise UnknownNameError("output", output,
                               "a numeric output: " + ", ".join(NUMERIC_OUTPUTS))
    if not (isinstance(step, (int, float)) and 0.0 < step < 0.5):
        raise ModelInputError("step", step, "a number with 0 < step < 0.5")
    scenario = canonical_scenario(scenario)
    kwargs, stages = _split_scenario(scenario)
    base = run(scenario)
    if np.ndim(base.throughput_gbps) != 0:
        raise ModelInputError("scenario", {k: v for k, v in scenario.items() if np.ndim(v)},
                              "one scenario: scalar values only (levers ask about one "
                              "point; sweep a grid with queuemodel.sweep)")
    before = float(getattr(base, output))

    host = kwargs.get("host")
    if host is None:
        from .hosts import paper_testbed

        host = paper_testbed()
    current = {name: kwargs.get(name, getattr(host, name)) for name in HOST_FIELDS}
    meta = {f.name: f.metadata for f in dataclasses.fields(Host)}
    rows, skipped = [], []

    def value_of(name, value):
        result = run({**scenario, name: value})
        return float(getattr(result, output)), str(result.bottleneck)

    for name in HOST_FIELDS:
        kind = meta[name].get("kind")
        if name in RECORDED_ONLY or name in SETUP_FLAGS or kind not in ("number", "flag",
                                                                        "idle"):
            continue
        value = current[name]
        try:
            if kind == "idle":
                if value:                        # idle=poll: the CPUs never sleep deeper
                    rows.append(_relative(name, "step", value, (), before,
                                          value_of(name, ())))
            elif kind == "flag":
                changed = not bool(value)
                rows.append(_relative(name, "flag", bool(value), changed, before,
                                      value_of(name, changed)))
            elif meta[name].get("integer") and value * step >= 1:
                # Bytes or slots: one more says nothing, a share of it does.
                rows.append(_elastic(name, value, step, meta[name], before, value_of,
                                     str(base.bottleneck), whole=True))
            elif meta[name].get("integer"):
                changed = value + 1 if value + 1 <= meta[name].get("high", math.inf) else value - 1
                rows.append(_relative(name, "step", value, changed, before,
                                      value_of(name, changed)))
            elif value != 0:
                rows.append(_elastic(name, value, step, meta[name], before, value_of,
                                     str(base.bottleneck)))
        except ModelInputError as refused:
            skipped.append((name, str(refused)))

    from .calibrate import get_parameter
    from .paths import ALL_PATH_NAMES, get_path, over_veth

    path = get_path(kwargs.get("path", "native"))
    for other in ALL_PATH_NAMES:
        if other == path.name:
            continue
        try:
            rows.append(_relative("path", "path", path.name, other, before,
                                  value_of("path", other)))
        except ModelInputError as refused:   # a stage cost only the scenario's path has
            skipped.append((f"path={other}", str(refused)))
    if host.veth_link:
        path = over_veth(path)
    seen = []
    for stage in path.tx + path.rx:
        for field in COST_FIELDS:
            name = f"{stage.name}.{field}"
            if name in seen:
                continue
            seen.append(name)
            value = float(stages.get(name, get_parameter(name, {path.name: path})))
            if value != 0:
                rows.append(_elastic(name, value, step, {"low": 0.0}, before, value_of,
                                     str(base.bottleneck)))
    # Changes, then dials: a relative change and an elasticity are not on one scale.
    rows.sort(key=lambda r: (r.effect is None, r.kind == "elasticity", -abs(r.effect or 0.0)))
    return Levers(scenario=scenario, output=output, before=before,
                  bottleneck=str(base.bottleneck), rows=tuple(rows), skipped=tuple(skipped))


def _relative(name, kind, value, changed, before, answer) -> Lever:
    after, bottleneck = answer
    ok = before > 0 and after >= 0 and math.isfinite(before) and math.isfinite(after)
    effect = after / before - 1.0 if ok else None
    return Lever(name, kind, value, changed, before, after, effect, bottleneck)


def _elastic(name, value, step, meta, before, value_of, bottleneck, whole=False) -> Lever:
    """The elasticity from nudges up and down (one side where the other leaves the
    range); with ``whole``, nudges to the nearest whole unit."""
    value = float(value)
    low, high = meta.get("low", -math.inf), meta.get("high", math.inf)
    up, down = value * (1 + step), value * (1 - step)
    if whole:
        up, down = float(round(up)), float(round(down))
    if up > high:
        up = value
    if down < low or (meta.get("low_open") and down <= low):
        down = value
    y_up, moved = value_of(name, up) if up != value else (before, bottleneck)
    y_down = value_of(name, down)[0] if down != value else before
    effect = None
    ys = (y_up, y_down, before)
    if min(ys) > 0 and all(math.isfinite(y) for y in ys) and up != down:
        effect = (math.log(y_up) - math.log(y_down)) / (math.log(up) - math.log(down))
    return Lever(name, "elasticity", value, up, before, y_up, effect, moved)
